"""`kevents serve --etcd-listen` behind a real kube-apiserver's `--etcd-servers-overrides`:
the apiserver stores its events in kevents instead of etcd. Events written with kubectl and by
the controllers and the scheduler read back through the apiserver, patches and deletes work,
the hub's own API lists the same events, nothing reaches the real etcd under /registry/events/,
and a resource that is not events, pointed at kevents by mistake, is refused with a message."""

import base64
import json
import os
import subprocess
import time

import pytest

from collecting import wait_for
from conftest import Hub, free_port
from k8s_workloads import core_event, start_workloads


@pytest.fixture(scope="module")
def etcd_hub_plane(tmp_path_factory):
    """A hub serving etcd, and a control plane whose events (and, by mistake, pod templates)
    are stored in it."""
    from controlplane import BuildUnavailable, ControlPlane

    base = tmp_path_factory.mktemp("etcd")
    etcd_port = free_port()
    hub = Hub(base / "data", ["--etcd-listen", f"127.0.0.1:{etcd_port}"])
    endpoint = f"http://127.0.0.1:{etcd_port}"
    try:
        plane = ControlPlane(base / "k8s", etcd_servers_overrides=f"/events#{endpoint},/podtemplates#{endpoint}")
    except BuildUnavailable as e:
        pytest.skip(f"no real control plane: {e}")
    hub.start()
    try:
        plane.start()
        plane.register_node("node-1")
        yield hub, plane
    finally:
        plane.stop()
        hub.stop()


def names(items):
    return sorted(e["metadata"]["name"] for e in items)


def contents(items):
    """What the events say (name, object, reason, message, count, uid), server fields aside."""
    return sorted((e["metadata"]["name"], e["involvedObject"]["name"], e.get("reason"), e.get("message"),
                   e.get("count"), e["metadata"].get("uid")) for e in items)


def hub_events(hub, namespace):
    status, body, _ = hub.request("GET", f"/api/v1/namespaces/{namespace}/events")
    assert status == 200, body
    return body["items"]


def etcd_count(plane, prefix):
    key = base64.b64encode(prefix.encode()).decode()
    end = base64.b64encode(prefix[:-1].encode() + bytes([ord(prefix[-1]) + 1])).decode()
    return int(plane.etcd("kv/range", {"key": key, "range_end": end, "count_only": True}).get("count", 0))


def test_the_apiserver_stores_its_events_in_kevents(etcd_hub_plane, tmp_path):
    hub, plane = etcd_hub_plane
    ns = "etcd-view"
    start_workloads(plane, ns)

    # kubectl create / get / patch / delete through the apiserver.
    manifest = tmp_path / "event.json"
    manifest.write_text(json.dumps(core_event("by-kubectl", ns, message="written through etcd")))
    plane.kubectl("create", "-f", str(manifest))
    got = json.loads(plane.kubectl("get", "event", "by-kubectl", "-n", ns, "-o", "json").stdout)
    assert got["message"] == "written through etcd"
    first_rv = int(got["metadata"]["resourceVersion"])
    plane.kubectl("patch", "event", "by-kubectl", "-n", ns, "--type", "merge",
                  "-p", json.dumps({"count": 7, "message": "patched"}))
    got = json.loads(plane.kubectl("get", "event", "by-kubectl", "-n", ns, "-o", "json").stdout)
    assert (got["count"], got["message"]) == (7, "patched")
    assert int(got["metadata"]["resourceVersion"]) > first_rv
    gone = core_event("to-delete", ns)
    manifest.with_name("gone.json").write_text(json.dumps(gone))
    plane.kubectl("create", "-f", str(manifest.with_name("gone.json")))
    plane.kubectl("delete", "event", "to-delete", "-n", ns)
    missing = plane.kubectl("get", "event", "to-delete", "-n", ns, check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr, missing.stderr

    # The controllers' and the scheduler's events arrive, stored in kevents.
    wait_for(lambda: {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "FailedScheduling"}
             <= {e["reason"] for e in plane.events(ns)}, timeout=90, message="controller events")
    table = plane.kubectl("get", "events", "-n", ns).stdout
    assert "FailedScheduling" in table and "patched" in table, table

    # The hub's own API lists the same events, whole (decoded from the apiserver's protobuf),
    # with their series; the real etcd holds none.
    wait_for(lambda: contents(hub_events(hub, ns)) == contents(plane.events(ns)), timeout=30,
             message="the hub lists the apiserver's events")
    status, series, _ = hub.request("GET", f"/apis/kevents.io/v1/namespaces/{ns}/eventseries")
    assert status == 200, series
    assert {"FailedScheduling", "Scheduled"} <= {s["spec"]["reason"] for s in series["items"]}, series
    assert "to-delete" not in names(hub_events(hub, ns))
    assert etcd_count(plane, "/registry/events/") == 0
    assert etcd_count(plane, "/registry/pods/") > 0

    # A watch through the apiserver (served from its watch cache, fed by kevents' Watch) sees
    # a new event.
    env = dict(os.environ, KUBECONFIG=str(plane.kubeconfig))
    watch = subprocess.Popen(["kubectl", "get", "events",
                              "-n", ns, "--watch-only", "-o", "name", "--request-timeout", "20s"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(2)
        manifest.write_text(json.dumps(core_event("watched", ns)))
        plane.kubectl("create", "-f", str(manifest))
        line = watch.stdout.readline()
        assert line.strip() == "event/watched", line
    finally:
        watch.kill()
        watch.wait()


def test_a_resource_other_than_events_is_refused_with_a_message(etcd_hub_plane, tmp_path):
    hub, plane = etcd_hub_plane
    template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t", "namespace": "default"},
                "template": {"spec": {"containers": [{"name": "c", "image": "registry.invalid/c:1"}]}}}
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    refused = plane.kubectl("create", "-f", str(path), check=False)
    assert refused.returncode != 0
    assert "kevents serves only the apiserver's events" in refused.stderr, refused.stderr
    assert "/registry/podtemplates/default/t" in refused.stderr, refused.stderr
    status, body, _ = hub.request("GET", "/api/v1/events")
    assert status == 200 and all(e["metadata"]["name"] != "t" for e in body["items"])
