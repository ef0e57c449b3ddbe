"""`eventseries` and `eventpatterns` (kevents.io/v1): series derived server-side from every
stored event, read with kubectl and the Python client."""

import json
import threading
import time

from kubernetes import client as k8s

from conftest import core_event


def pod_event(name, pod, reason, message, count=1, namespace="default", kind="Pod", uid=None):
    body = core_event(name, namespace, reason=reason, message=message, type="Warning", count=count)
    body["involvedObject"] = {"kind": kind, "namespace": namespace, "name": pod, "uid": uid or f"uid-{pod}",
                              "apiVersion": "v1"}
    body["source"] = {"component": "kubelet", "host": "node-1"}
    return body


def series_items(hub, path="/apis/kevents.io/v1/eventseries", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, body, _ = hub.request("GET", path + (f"?{query}" if query else ""))
    assert status == 200, body
    return body["items"]


def crash_loop(hub, pod, restarts, namespace="default"):
    """A kubelet crash loop as client-go records it: one event, then PATCHes raising its count."""
    name = f"{pod}.17a{len(pod)}"
    message = f"Back-off restarting failed container web in pod {pod}_{namespace}(uid-{pod})"
    status, _, _ = hub.request("POST", f"/api/v1/namespaces/{namespace}/events",
                               pod_event(name, pod, "BackOff", message, namespace=namespace))
    assert status == 201
    for count in range(2, restarts + 1):
        status, _, _ = hub.request(
            "PATCH", f"/api/v1/namespaces/{namespace}/events/{name}",
            {"count": count, "lastTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            headers={"Content-Type": "application/strategic-merge-patch+json"})
        assert status == 200


def test_crash_loops_are_one_series_per_pod_and_one_pattern(hub):
    crash_loop(hub, "web-7d9f8b6c5d-x2x4q", 6)
    crash_loop(hub, "web-7d9f8b6c5d-k9p2m", 3)
    crash_loop(hub, "api-5b7c9d-qq7w1", 2, namespace="api")
    items = series_items(hub)
    counts = sorted((i["spec"]["involvedObject"]["name"], i["status"]["count"]) for i in items)
    assert counts == [("api-5b7c9d-qq7w1", 2), ("web-7d9f8b6c5d-k9p2m", 3), ("web-7d9f8b6c5d-x2x4q", 6)]
    for item in items:
        assert item["kind"] == "EventSeries" and item["apiVersion"] == "kevents.io/v1"
        assert item["status"]["objects"] == 1, "PATCHed count updates are not new objects"
        assert sum(m["count"] for m in item["status"]["perMinute"]) == item["status"]["count"]
    web = {i["spec"]["template"] for i in items if i["metadata"]["namespace"] == "default"}
    assert len(web) == 1, web
    status, patterns, _ = hub.request("GET", "/apis/kevents.io/v1/eventpatterns")
    summary = [(p["spec"]["reason"], p["status"]["objects"], p["status"]["count"]) for p in patterns["items"]]
    assert summary == [("BackOff", 2, 9), ("BackOff", 1, 2)], summary
    out = hub.kubectl("get", "eventseries", "-A", "--sort-by=.status.count").stdout.splitlines()
    assert out[0].split()[:3] == ["NAMESPACE", "NAME", "LAST"], out[0]
    assert [line.split()[2] for line in out[1:]] == ["0s", "0s", "0s"] or len(out) == 4
    ordered = [line.split()[1].split(".")[0] for line in out[1:]]
    assert ordered == ["api-5b7c9d-qq7w1", "web-7d9f8b6c5d-k9p2m", "web-7d9f8b6c5d-x2x4q"], out
    patterns_out = hub.kubectl("get", "eventpatterns").stdout
    assert "BackOff" in patterns_out and " 9 " in patterns_out, patterns_out


def test_different_reasons_and_objects_are_not_merged(hub):
    hub.request("POST", "/api/v1/namespaces/default/events",
                pod_event("a.1", "web-0", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503"))
    hub.request("POST", "/api/v1/namespaces/default/events",
                pod_event("a.2", "web-0", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500"))
    hub.request("POST", "/api/v1/namespaces/default/events",
                pod_event("a.3", "web-0", "Killing", "Stopping container web"))
    hub.request("POST", "/api/v1/namespaces/default/events",
                pod_event("a.4", "web-1", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503"))
    items = series_items(hub, "/apis/kevents.io/v1/namespaces/default/eventseries")
    summary = sorted((i["spec"]["involvedObject"]["name"], i["spec"]["reason"], i["status"]["count"]) for i in items)
    assert summary == [("web-0", "Killing", 1), ("web-0", "Unhealthy", 2), ("web-1", "Unhealthy", 1)]
    only = series_items(hub, fieldSelector="reason%3DUnhealthy,involvedObject.name%3Dweb-0")
    assert [i["status"]["count"] for i in only] == [2]
    status, body, _ = hub.request("GET", "/apis/kevents.io/v1/eventseries?fieldSelector=color%3Dblue")
    assert status == 400 and body["kind"] == "Status" and "field label not supported" in body["message"]


def test_failed_scheduling_storm_counts_exactly(hub):
    errors = []

    def emit(worker):
        for i in range(50):
            body = core_event(f"pending-{worker}.{i}", reason="FailedScheduling", type="Warning",
                              message=f"0/{40 + i} nodes are available: {i} Insufficient cpu.")
            body["involvedObject"] = {"kind": "Pod", "namespace": "default", "name": "pending-0", "uid": "uid-p0"}
            body["source"] = {"component": "default-scheduler"}
            status, answer, _ = hub.request("POST", "/api/v1/namespaces/default/events", body)
            if status != 201:
                errors.append(answer)

    threads = [threading.Thread(target=emit, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    items = series_items(hub, fieldSelector="reason%3DFailedScheduling")
    assert len(items) == 1, [i["spec"]["template"] for i in items]
    assert (items[0]["status"]["count"], items[0]["status"]["objects"]) == (200, 200)
    assert items[0]["status"]["ratePerMinute"] >= 1


def test_get_by_name_and_not_found(hub):
    crash_loop(hub, "web-0", 2)
    name = series_items(hub)[0]["metadata"]["name"]
    status, one, _ = hub.request("GET", f"/apis/kevents.io/v1/namespaces/default/eventseries/{name}")
    assert status == 200 and one["status"]["count"] == 2
    status, missing, _ = hub.request("GET", "/apis/kevents.io/v1/namespaces/other/eventseries/" + name)
    assert status == 404 and missing["reason"] == "NotFound"
    status, missing, _ = hub.request("GET", "/apis/kevents.io/v1/namespaces/default/eventseries/nope")
    assert status == 404
    out = hub.kubectl("get", "eventseries", name, "-n", "default", "-o", "jsonpath={.status.count}").stdout
    assert out == "2"


def test_series_watch_sees_count_updates(hub):
    crash_loop(hub, "web-0", 1)
    status, listed, _ = hub.request("GET", "/apis/kevents.io/v1/eventseries")
    rv = listed["metadata"]["resourceVersion"]
    results = {}

    def watch():
        results["watch"] = hub.request(
            "GET", f"/apis/kevents.io/v1/eventseries?watch=true&resourceVersion={rv}&timeoutSeconds=2")

    thread = threading.Thread(target=watch)
    thread.start()
    time.sleep(0.5)
    hub.request("PATCH", "/api/v1/namespaces/default/events/web-0.17a5", {"count": 4},
                headers={"Content-Type": "application/merge-patch+json"})
    thread.join()
    status, body, _ = results["watch"]
    lines = [json.loads(line) for line in body.strip().splitlines()] if isinstance(body, str) else [body]
    assert [(l["type"], l["object"]["status"]["count"]) for l in lines] == [("MODIFIED", 4)], lines


def test_series_read_after_write_sees_the_write(hub):
    """A list right after an acknowledged write accounts for it (the series are fed asynchronously)."""
    started = time.monotonic()
    for i in range(40):
        crash_loop(hub, f"rw-{i}", 1)
        names = {s["spec"]["involvedObject"]["name"] for s in series_items(hub)}
        assert f"rw-{i}" in names, i
    # Catching up is immediate, never the bounded wait.
    assert time.monotonic() - started < 20


def test_series_survive_restart_and_are_scoped_by_cluster(make_hub):
    hub = make_hub().start()
    crash_loop(hub, "web-0", 3)
    source = core_event("web-0.x", reason="BackOff", type="Warning", message="Back-off restarting failed container")
    source["metadata"].update({"uid": "s-1", "resourceVersion": "5"})
    source["count"] = 7
    status, _, _ = hub.request("POST", "/kevents/v1/clusters/prod/ingest", {"events": [source]})
    assert status == 200
    hub.kill9()
    hub.start()
    everything = series_items(hub)
    assert sorted(i["status"]["count"] for i in everything) == [3, 7]
    prod = series_items(hub, "/clusters/prod/apis/kevents.io/v1/eventseries")
    assert [(i["spec"]["cluster"], i["status"]["count"]) for i in prod] == [("prod", 7)]
    assert prod[0]["metadata"]["labels"]["kevents.io/cluster"] == "prod"
    own = series_items(hub, fieldSelector="cluster%3Ddefault")
    assert [i["status"]["count"] for i in own] == [3]


def test_python_client_reads_series_as_custom_objects(hub):
    crash_loop(hub, "web-0", 5)
    api = k8s.CustomObjectsApi(k8s.ApiClient(k8s.Configuration(host=hub.url)))
    listed = api.list_cluster_custom_object("kevents.io", "v1", "eventseries")
    assert [i["status"]["count"] for i in listed["items"]] == [5]
    paged = api.list_namespaced_custom_object("kevents.io", "v1", "default", "eventseries", limit=1)
    assert len(paged["items"]) == 1
