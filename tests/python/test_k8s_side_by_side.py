"""The same events written to a real kube-apiserver and to a hub give the same kubectl output
(`get events` default, `-o wide`, `--sort-by`, field selectors, `kubectl events`, `get event
NAME -o yaml`, errors), up to server-generated values: uid, resourceVersion, creation time and
ages. Differences that are kept on purpose are listed in docs/api-compatibility.md."""

import re
import time

import pytest
import yaml

from k8s_workloads import core_event

NS = "side-by-side"

AGE = re.compile(r"(?<![\w-])(\d+d)?(\d+h)?(\d+m)?(\d+s)?(?![\w-])")


def ago(minutes):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - minutes * 60))


def events():
    """A small, varied set: pods and nodes, Normal and Warning, counts, a sub-object."""
    bodies = []
    web = core_event("web-0.17a1", NS, count=3, message="Back-off restarting failed container", object_name="web-0")
    web.update(firstTimestamp=ago(52), lastTimestamp=ago(3))
    web["involvedObject"]["fieldPath"] = "spec.containers{app}"
    bodies.append(web)
    # Events about cluster-scoped objects live in `default` (the apiserver refuses them elsewhere).
    node = core_event("worker-1.17a2", "default", reason="NodeNotReady", kind="Node", object_name="worker-1",
                      message="Node worker-1 status is now: NodeNotReady")
    node["involvedObject"].pop("namespace")
    node["source"] = {"component": "node-controller"}
    node.update(firstTimestamp=ago(20), lastTimestamp=ago(20))
    bodies.append(node)
    scheduled = core_event("web-1.17a3", NS, reason="Scheduled", object_name="web-1",
                           message=f"Successfully assigned {NS}/web-1 to node-1")
    scheduled.update(type="Normal", source={"component": "default-scheduler"}, firstTimestamp=ago(10),
                     lastTimestamp=ago(10))
    bodies.append(scheduled)
    pulled = core_event("web-1.17a4", NS, reason="Pulled", object_name="web-1",
                        message='Container image "app:1" already present on machine')
    pulled.update(type="Normal", firstTimestamp=ago(9), lastTimestamp=ago(9))
    bodies.append(pulled)
    return bodies


@pytest.fixture(scope="module")
def both(control_plane, tmp_path_factory):
    """(apiserver kubectl, hub kubectl), each holding the same events in namespace NS."""
    from conftest import Hub

    hub = Hub(tmp_path_factory.mktemp("sbs") / "data").start()
    try:
        control_plane.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        for body in events():
            path = f"/api/v1/namespaces/{body['metadata']['namespace']}/events"
            status, answer = control_plane.request("POST", path, body)
            assert status == 201, answer
            status, answer, _ = hub.request("POST", path, body)
            assert status == 201, answer
        yield control_plane.kubectl, hub.kubectl
    finally:
        hub.stop()


SERVER_GENERATED = re.compile(r"^\s*(Resource Version|UID|Creation Timestamp):")


def normalise(text):
    """Ages become `<age>`, column padding one space, and `describe`'s server-generated lines
    go, so only content is compared."""
    lines = []
    for line in text.strip().splitlines():
        if SERVER_GENERATED.match(line):
            continue
        line = AGE.sub(lambda m: "<age>" if m.group(0) else "", line)
        line = re.sub(r"<age> \(x(\d+) over <age>\)", r"<age> (x\1 over <age>)", line)
        lines.append(" ".join(line.split()))
    return "\n".join(lines)


COMMANDS = [
    ["get", "events", "-n", NS],
    ["get", "events", "-n", NS, "-o", "wide"],
    ["get", "events", "-n", NS, "--sort-by=.lastTimestamp"],
    ["get", "events", "-n", NS, "--sort-by=.count"],
    ["get", "events", "-n", NS, "--field-selector", "type=Warning"],
    ["get", "events", "-n", "default", "--field-selector", "involvedObject.kind=Node,involvedObject.name=worker-1"],
    ["get", "events", "-n", NS, "--field-selector", "reason!=Scheduled"],
    ["get", "events", "-A", "--field-selector", f"metadata.namespace={NS}"],
    ["get", "events", "-n", NS, "-o", "name"],
    ["get", "events", "-n", NS, "-o", "custom-columns=NAME:.metadata.name,COUNT:.count,REASON:.reason"],
    ["get", "event", "web-0.17a1", "-n", NS],
    ["get", "events.v1.events.k8s.io", "-n", NS],
    ["get", "events.v1.events.k8s.io", "-n", NS, "-o", "wide"],
    ["get", "events", "-n", NS, "--field-selector", "involvedObject.name=web-0"],
    ["get", "events", "-n", NS, "-l", "app=none"],
    ["get", "events", "-n", "no-events-here"],
    ["events", "-n", NS],
    ["events", "-n", NS, "--types=Warning"],
    ["events", "-n", NS, "--for", "pod/web-0"],
    ["events", "-n", "default", "--for", "node/worker-1"],
    ["describe", "event", "web-0.17a1", "-n", NS],
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_kubectl_output_matches_the_apiserver(both, args):
    apiserver, hub = both
    expected, got = apiserver(*args), hub(*args)
    assert normalise(got.stdout) == normalise(expected.stdout)
    assert normalise(got.stderr) == normalise(expected.stderr)


# Errors: the same message for the same mistake.
ERRORS = [
    ["get", "event", "missing", "-n", NS],
    ["get", "event", "missing", "-n", "no-such-namespace"],
    ["get", "events", "-n", NS, "--field-selector", "spec.nothing=x"],
    ["get", "events", "-n", NS, "--field-selector", "involvedObject.kind"],
    ["delete", "event", "missing", "-n", NS],
]


@pytest.mark.parametrize("args", ERRORS, ids=[" ".join(c) for c in ERRORS])
def test_kubectl_errors_match_the_apiserver(both, args):
    apiserver, hub = both
    expected, got = apiserver(*args, check=False), hub(*args, check=False)
    assert (got.returncode != 0) == (expected.returncode != 0)
    assert normalise(got.stderr) == normalise(expected.stderr)


def test_get_event_yaml_matches_the_apiserver(both):
    apiserver, hub = both
    server_generated = {"uid", "resourceVersion", "creationTimestamp", "managedFields"}

    def document(kubectl):
        doc = yaml.safe_load(kubectl("get", "event", "web-0.17a1", "-n", NS, "-o", "yaml").stdout)
        for key in server_generated:
            doc["metadata"].pop(key, None)
        return doc

    assert document(hub) == document(apiserver)


def test_namespaces_with_events_are_served_read_only(both):
    apiserver, hub = both
    assert hub("get", "namespaces", "-o", "name").stdout.split() == ["namespace/default", f"namespace/{NS}"]
    for field in ("{.status.phase}", "{.metadata.labels}", "{.spec}"):
        assert hub("get", "namespace", NS, "-o", f"jsonpath={field}").stdout == \
            apiserver("get", "namespace", NS, "-o", f"jsonpath={field}").stdout
    refused = hub("delete", "namespace", NS, check=False)
    assert refused.returncode != 0 and "MethodNotAllowed" in refused.stderr, refused.stderr
