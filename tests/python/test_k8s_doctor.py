"""`kevents doctor` against a real kube-apiserver (its own control plane: `--event-ttl=1m`,
leases not reused past the TTL, no controllers): a healthy cluster, collector and hub report ok
everywhere; a kubeconfig for a ServiceAccount that may list but not watch events is named as an
RBAC problem; a collector stopped for longer than the TTL comes back to a cluster that forgot
events meanwhile, and the hub names the gap (its window and an estimate of the events lost,
checked against the events really lost), counts them in kevents_collector_lost_events_total,
writes an EventsLost event and the built-in rule's alert reaches Alertmanager."""

import json
import subprocess
import threading
import time
import urllib.request

import pytest

from collecting import Collector, wait_for
from conftest import BIN
from k8s_workloads import core_event, write_kubeconfig

TTL_SECONDS = 60


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    from controlplane import BuildUnavailable, ControlPlane

    try:
        plane = ControlPlane(tmp_path_factory.mktemp("k8s-doctor"), event_ttl="1m", controllers=False,
                             apiserver_args=["--lease-reuse-duration-seconds=1"])
    except BuildUnavailable as e:
        pytest.skip(f"no real control plane: {e}")
    try:
        plane.start()
        yield plane
    finally:
        plane.stop()


def namespace(plane, name):
    status, body = plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                "metadata": {"name": name}})
    assert status == 201, body


def create(plane, name, ns):
    status, body = plane.request("POST", f"/api/v1/namespaces/{ns}/events", core_event(name, ns))
    assert status == 201, body


def hub_names(hub, ns, cluster="real"):
    status, body, _ = hub.request("GET", f"/clusters/{cluster}/api/v1/namespaces/{ns}/events")
    return {e["metadata"]["name"] for e in body["items"]} if status == 200 else set()


def doctor(*args):
    result = subprocess.run([BIN, "doctor", "-o", "json", *args], capture_output=True, text=True, timeout=120)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def finding(report, check, subject):
    found = [f for f in report["findings"] if f["check"] == check and f["subject"] == subject]
    assert found, f"no {check} finding about {subject}: {json.dumps(report, indent=1)}"
    return found[0]


def test_a_healthy_cluster_collector_and_hub_are_ok_everywhere(plane, make_hub, tmp_path):
    namespace(plane, "healthy")
    for i in range(5):
        create(plane, f"ok-{i}", "healthy")
    hub = make_hub().start()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", plane)
    collector = Collector(tmp_path, kubeconfig, hub.url, ["--context", "real"]).start()
    try:
        wait_for(lambda: len(hub_names(hub, "healthy")) == 5, timeout=60, message="the events in the hub")
        code, report = doctor("--kubeconfig", str(kubeconfig), "--context", "real", "--server", hub.url)
    finally:
        collector.stop()
    not_ok = [f for f in report["findings"] if f["status"] != "ok"]
    assert code == 0 and not not_ok, json.dumps(not_ok, indent=1)
    checks = {(f["area"], f["check"]) for f in report["findings"]}
    assert {("source", "reachable"), ("source", "rbac"), ("source", "events"), ("source", "event-ttl"),
            ("source", "event-rate"), ("source", "apiserver-metrics"), ("pipeline", "collector-contact"),
            ("pipeline", "collector-lag"), ("pipeline", "gaps"), ("hub", "disk")} <= checks, checks
    evidence = finding(report, "apiserver-metrics", "real")["evidence"]
    assert "0 event requests answered 429, 0 event writes failed otherwise (apiserver_request_total)" in evidence


def test_rbac_without_watch_on_events_is_a_problem(plane, tmp_path):
    plane.apply({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "list-only", "namespace": "default"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "events-list-only"},
         "rules": [{"apiGroups": [""], "resources": ["events"], "verbs": ["list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "events-list-only"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "events-list-only"},
         "subjects": [{"kind": "ServiceAccount", "name": "list-only", "namespace": "default"}]},
    ]})
    token = plane.kubectl("create", "token", "list-only", "-n", "default").stdout.strip()
    kubeconfig = write_kubeconfig(tmp_path / "limited", plane, context="limited", token=token)
    code, report = doctor("--kubeconfig", str(kubeconfig), "--context", "limited", "--no-hub")
    assert code == 2, report
    rbac = finding(report, "rbac", "limited")
    assert rbac["status"] == "problem"
    assert "may not watch events" in rbac["summary"], rbac
    assert "list events: allowed (SelfSubjectAccessReview)" in rbac["evidence"]
    assert "watch events: denied (SelfSubjectAccessReview)" in rbac["evidence"]
    assert "[list, watch]" in rbac["action"]
    # Listing works, and the apiserver's metrics are simply not readable for this user.
    assert finding(report, "events", "limited")["status"] == "ok"
    assert "not readable" in finding(report, "apiserver-metrics", "limited")["summary"]


def test_a_collector_away_longer_than_the_event_ttl_is_a_named_gap(plane, make_hub, alertmanager, tmp_path):
    namespace(plane, "gap")
    hub = make_hub(["--alertmanager-url", alertmanager]).start()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", plane)
    collector = Collector(tmp_path, kubeconfig, hub.url, ["--context", "real"]).start()
    created, stop = [], threading.Event()

    def write_steadily():
        while not stop.is_set():
            name = f"ev-{len(created):04d}"
            create(plane, name, "gap")
            created.append(name)
            stop.wait(1.0)

    writer = threading.Thread(target=write_steadily)
    writer.start()
    try:
        wait_for(lambda: len(hub_names(hub, "gap")) >= 5, timeout=60, message="the first events in the hub")
        collector.kill9()
        time.sleep(TTL_SECONDS + 15)
        collector.start()
        gaps = wait_for(lambda: (f := finding(hub.request("GET", "/doctor")[1], "gaps", "real"))["status"] == "problem"
                        and f, timeout=60, message="the gap on /doctor")
    finally:
        stop.set()
        writer.join()
    wait_for(lambda: {e["metadata"]["name"] for e in plane.events("gap")} <= hub_names(hub, "gap"), timeout=60,
             message="the hub to hold what the apiserver still holds")
    lost = set(created) - hub_names(hub, "gap")
    estimate = int(gaps["summary"].split("about ")[1].split(" ")[0])
    assert len(lost) >= 5, f"the outage should have cost events: {len(created)} created, none lost"
    assert len(lost) / 3 <= estimate <= len(lost) * 3 + 3, (estimate, sorted(lost))
    assert "the cluster forgot them before its collector saw them" in gaps["summary"]
    assert "keep the collector running" in gaps["action"]

    code, report = doctor("--kubeconfig", str(kubeconfig), "--context", "real", "--server", hub.url)
    collector.stop()
    assert code == 2, report
    window = finding(report, "gaps", "real")["evidence"][0]
    assert " to " in window and f"about {estimate} events" in window, window

    _, metrics, _ = hub.request("GET", "/metrics")
    assert f'kevents_collector_lost_events_total{{cluster="real"}} {estimate}' in metrics
    assert 'kevents_collector_gaps_total{cluster="real"} 1' in metrics
    _, own, _ = hub.request("GET", "/api/v1/namespaces/default/events")
    lost_events = [e for e in own["items"] if e["reason"] == "EventsLost"]
    assert [e["involvedObject"]["name"] for e in lost_events] == ["real"], own["items"]
    assert f"about {estimate} events" in lost_events[0]["message"]

    def alert_names():
        with urllib.request.urlopen(f"{alertmanager}/api/v2/alerts", timeout=5) as r:
            return {a["labels"]["alertname"] for a in json.load(r)}

    wait_for(lambda: "EventsLost" in alert_names(), timeout=30, message="the EventsLost alert in Alertmanager")
