"""`kevents collect` against a real kube-apiserver: the hub holds exactly the events the
apiserver holds (same names, counts and messages) through a `kill -9` of the collector, a
restart of the apiserver and an etcd compaction that makes the collector's resourceVersion too
old (410 Gone, relist, no duplicates); and after the apiserver's `--event-ttl` the hub keeps
what the source forgot."""

import time

import pytest

from collecting import Collector, wait_for
from k8s_workloads import core_event, cronjob, start_workloads, write_kubeconfig


def view(items):
    return {(e["metadata"]["namespace"], e["metadata"]["name"]): (e.get("count"), e.get("message")) for e in items}


def hub_view(hub, namespace, cluster="real"):
    status, body, _ = hub.request("GET", f"/clusters/{cluster}/api/v1/namespaces/{namespace}/events")
    return view(body["items"]) if status == 200 else {}


def wait_mirrored(plane, hub, namespace, timeout=90):
    """Waits until the hub's view of `namespace` equals the apiserver's; returns it. (Other
    tests' namespaces may be deleted meanwhile, and the hub keeps what the source deletes.)"""
    deadline = time.time() + timeout
    while True:
        source, mirrored = view(plane.events(namespace)), hub_view(hub, namespace)
        if source == mirrored:
            return source
        if time.time() > deadline:
            missing = sorted(set(source) - set(mirrored))[:5]
            extra = sorted(set(mirrored) - set(source))[:5]
            stale = [(k, source[k], mirrored[k]) for k in source if k in mirrored and source[k] != mirrored[k]][:5]
            raise AssertionError(f"{len(source)} events in the apiserver, {len(mirrored)} in the hub; "
                                 f"missing {missing}, extra {extra}, different {stale}")
        time.sleep(0.3)


def bump(plane, namespace, name, count):
    status, body = plane.request("PATCH", f"/api/v1/namespaces/{namespace}/events/{name}",
                                 {"count": count, "message": f"{name} x{count}"},
                                 content_type="application/strategic-merge-patch+json")
    assert status == 200, body


def create(plane, namespace, name, **fields):
    status, body = plane.request("POST", f"/api/v1/namespaces/{namespace}/events", core_event(name, namespace, **fields))
    assert status == 201, body


def test_collector_mirrors_a_real_apiserver_through_kills_restarts_and_compaction(control_plane, make_hub, tmp_path):
    plane, ns = control_plane, "collect"
    start_workloads(plane, ns)
    plane.apply(cronjob("tick", ns))
    for i in range(20):
        create(plane, ns, f"ev-{i:02d}")
    hub = make_hub().start()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", plane)
    collector = Collector(tmp_path, kubeconfig, hub.url, ["--context", "real", "--batch-size", "50"]).start()
    try:
        # Controllers' and the scheduler's own events arrive with the hand-written ones.
        wait_for(lambda: {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "FailedScheduling"}
                 <= {e["reason"] for e in plane.events(ns)}, timeout=60, message="controller events")
        first = wait_mirrored(plane, hub, ns)
        assert len(first) >= 25

        # kill -9 of the collector while counts change: nothing lost, nothing doubled.
        collector.kill9()
        for i in range(10):
            bump(plane, ns, f"ev-{i:02d}", 2)
        create(plane, ns, "after-kill")
        collector.start()
        wait_mirrored(plane, hub, ns)

        # The apiserver restarts under the collector's watch.
        plane.restart_apiserver()
        bump(plane, ns, "ev-10", 5)
        create(plane, ns, "after-restart")
        wait_mirrored(plane, hub, ns)

        # The collector is away while etcd compacts past its resourceVersion: 410 Gone, relist.
        lists_before = collector.metric("kevents_collector_lists_total", "real")
        collector.kill9()
        for i in range(10, 20):
            bump(plane, ns, f"ev-{i:02d}", 7)
        create(plane, ns, "after-compaction")
        compacted_at = plane.compact_etcd()
        collector.start()
        mirrored = wait_mirrored(plane, hub, ns)
        assert mirrored[(ns, "ev-15")] == (7, "ev-15 x7")
        assert compacted_at > 0
        # The hub's cursor (a source resourceVersion) is past the compaction: it relisted or
        # resumed beyond it, and never re-applied an older version.
        wait_for(lambda: collector.metric("kevents_collector_cursor", "real") >= compacted_at,
                 message="the collector's cursor past the compaction")
        assert collector.metric("kevents_collector_lists_total", "real") >= lists_before
        # Deletions and the CronJob (created at the start; it fires on the minute) add their own.
        plane.kubectl("scale", "deployment/web", "--replicas=0", "-n", ns)
        wait_for(lambda: {("ReplicaSet", "SuccessfulDelete"), ("CronJob", "SuccessfulCreate")}
                 <= {(e["involvedObject"]["kind"], e["reason"]) for e in plane.events(ns)},
                 timeout=90, interval=1, message="deletion and CronJob events")
        wait_mirrored(plane, hub, ns)
        # Each event is there once, with the apiserver's own name (no duplicates under other names).
        names = [e["metadata"]["name"] for e in hub.request("GET", f"/clusters/real/api/v1/namespaces/{ns}/events")[1]["items"]]
        assert len(names) == len(set(names))
    finally:
        collector.stop()


@pytest.fixture
def short_ttl_plane(tmp_path_factory):
    """A control plane of its own whose apiserver forgets events after a minute."""
    from controlplane import BuildUnavailable, ControlPlane

    try:
        plane = ControlPlane(tmp_path_factory.mktemp("k8s-ttl"), event_ttl="1m", controllers=False)
    except BuildUnavailable as e:
        pytest.skip(f"no real control plane: {e}")
    try:
        yield plane.start()
    finally:
        plane.stop()


def test_hub_keeps_what_the_apiserver_forgot_after_its_event_ttl(short_ttl_plane, make_hub, tmp_path):
    plane = short_ttl_plane
    for i in range(5):
        create(plane, "default", f"short-{i}")
    hub = make_hub().start()
    collector = Collector(tmp_path, write_kubeconfig(tmp_path / "kubeconfig", plane), hub.url,
                          ["--context", "real"]).start()
    try:
        kept = wait_mirrored(plane, hub, "default")
        assert len(kept) == 5
        # etcd's lease expires the events a minute after their last write.
        wait_for(lambda: not plane.events("default"), timeout=150, interval=2,
                 message="the apiserver's --event-ttl to expire the events")
        assert hub_view(hub, "default") == kept
    finally:
        collector.stop()
