"""`kevents serve --etcd-listen` behind a real kube-apiserver's `--etcd-servers-overrides`:
the apiserver stores its events in kevents instead of etcd. Events written with kubectl and by
the controllers and the scheduler read back through the apiserver, patches and deletes work,
the hub's own API lists the same events, nothing reaches the real etcd under /registry/events/,
and a resource that is not events, pointed at kevents by mistake, is refused with a message."""

import base64
import http.client
import json
import os
import subprocess
import threading
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


def apiserver_names(plane, namespace):
    return {e["metadata"]["name"] for e in plane.events(namespace)}


def create(plane, name, namespace):
    """Creates an event through the apiserver; returns the HTTP status."""
    return plane.request("POST", f"/api/v1/namespaces/{namespace}/events", core_event(name, namespace))[0]


class Watcher:
    """A watch of a namespace's events through the apiserver, as a client keeps one: resumed
    from the last resourceVersion when the stream ends, relisted when the apiserver answers
    410 Gone. Notes each ADDED name, every time it is delivered."""

    def __init__(self, plane, namespace):
        self.plane, self.namespace = plane, namespace
        self.added, self.relists = [], 0
        self.stop = threading.Event()
        status, body = plane.get(f"/api/v1/namespaces/{namespace}/events")
        assert status == 200, body
        self.listed = {e["metadata"]["name"] for e in body["items"]}
        self.resource_version = body["metadata"]["resourceVersion"]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        host, port = self.plane.server.removeprefix("https://").split(":")
        while not self.stop.is_set():
            try:
                connection = http.client.HTTPSConnection(host, int(port), timeout=5,
                                                         context=self.plane.ssl_context())
                connection.request("GET", f"/api/v1/namespaces/{self.namespace}/events?watch=1"
                                   f"&resourceVersion={self.resource_version}&timeoutSeconds=30",
                                   headers={"Authorization": f"Bearer {self.plane.token}"})
                response = connection.getresponse()
                if response.status == 410:
                    self._relist()
                    continue
                for line in response:
                    self._note(json.loads(line))
                    if self.stop.is_set():
                        return
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.5)

    def _note(self, event):
        if event["type"] == "ERROR":
            if event["object"].get("code") == 410:
                self._relist()
            return
        metadata = event["object"]["metadata"]
        self.resource_version = metadata["resourceVersion"]
        if event["type"] == "ADDED":
            self.added.append(metadata["name"])

    def _relist(self):
        status, body = self.plane.get(f"/api/v1/namespaces/{self.namespace}/events")
        if status == 200:
            self.relists += 1
            self.listed |= {e["metadata"]["name"] for e in body["items"]}
            self.resource_version = body["metadata"]["resourceVersion"]

    def seen(self):
        return set(self.added) | self.listed

    def duplicates(self):
        return sorted(name for name in set(self.added) if self.added.count(name) > 1)


class Writer:
    """Creates events through the apiserver in a loop; keeps the names acknowledged (201)."""

    def __init__(self, plane, namespace, prefix):
        self.plane, self.namespace, self.prefix = plane, namespace, prefix
        self.acknowledged, self.failed = [], 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        n = 0
        while not self.stop.is_set():
            name = f"{self.prefix}-{n}"
            n += 1
            try:
                status = create(self.plane, name, self.namespace)
            except OSError:
                status = 0
            if status == 201:
                self.acknowledged.append(name)
            else:
                self.failed += 1

    def wait_for_more(self, count, timeout=60):
        target = len(self.acknowledged) + count
        wait_for(lambda: len(self.acknowledged) >= target, timeout=timeout, message=f"{count} more writes")

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=60)
        return set(self.acknowledged)


def test_kill_9_of_the_hub_and_an_apiserver_restart_lose_no_acknowledged_event(etcd_hub_plane):
    hub, plane = etcd_hub_plane
    ns = "etcd-restarts"
    status, body = plane.request("POST", "/api/v1/namespaces",
                                 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    assert status == 201, body
    watcher = Watcher(plane, ns)
    writer = Writer(plane, ns, "w")
    try:
        time.sleep(1)
        hub.kill9()
        hub.start()
        # The apiserver reconnects to the restarted hub and writes go on.
        time.sleep(2)
        hub.kill9()
        hub.start()
        time.sleep(2)
    finally:
        acknowledged = writer.finish()

    # Every acknowledged event is there, through the apiserver and in the hub.
    wait_for(lambda: acknowledged <= apiserver_names(plane, ns), timeout=30,
             message="the acknowledged events through the apiserver")
    assert acknowledged <= set(names(hub_events(hub, ns)))
    # The watch went on through the restarts (from the apiserver's watch cache, itself resumed
    # on kevents' Watch) and delivered each event once.
    wait_for(lambda: acknowledged <= watcher.seen(), timeout=30, message="the watch sees every event")
    assert watcher.duplicates() == []

    # A restarted apiserver lists the events from kevents again; the watch goes on or relists.
    plane.restart_apiserver()
    assert acknowledged <= apiserver_names(plane, ns)
    assert create(plane, "after-restart", ns) == 201
    wait_for(lambda: "after-restart" in watcher.seen(), timeout=60, message="the watch after the restart")
    watcher.stop.set()
    assert watcher.duplicates() == []
    assert "after-restart" in names(hub_events(hub, ns))

