"""Write-time correlation: EventRateLimit (429 + Retry-After), server-side dedup of naive
emitters, client-go-style similar-event aggregation, and storm folding with exact counts."""

import time

from conftest import core_event


def naive(name, message="Back-off restarting failed container", namespace="default", pod="web-0"):
    body = core_event(name, namespace, reason="BackOff", type="Warning", message=message)
    body["involvedObject"] = {"kind": "Pod", "namespace": namespace, "name": pod, "uid": f"uid-{pod}"}
    body["source"] = {"component": "my-operator"}
    return body


def events(hub, namespace="default"):
    status, body, _ = hub.request("GET", f"/api/v1/namespaces/{namespace}/events")
    assert status == 200
    return body["items"]


def test_event_rate_limit_answers_429_with_retry_after(make_hub, tmp_path):
    config = tmp_path / "eventratelimit.yaml"
    config.write_text(
        "apiVersion: eventratelimit.admission.k8s.io/v1alpha1\nkind: Configuration\n"
        "limits:\n- type: Namespace\n  qps: 1\n  burst: 3\n  cacheSize: 100\n")
    hub = make_hub(["--event-rate-limit-config", str(config)]).start()
    codes = [hub.request("POST", "/api/v1/namespaces/noisy/events", naive(f"e{i}", namespace="noisy"))
             for i in range(5)]
    assert [c[0] for c in codes] == [201, 201, 201, 429, 429]
    status, body, headers = codes[3]
    assert body["kind"] == "Status" and body["reason"] == "TooManyRequests"
    assert "limit reached on type Namespace for key noisy" in body["message"]
    assert int(headers["Retry-After"]) >= 1
    assert body["details"]["retryAfterSeconds"] >= 1
    assert hub.request("POST", "/api/v1/namespaces/quiet/events", naive("q", namespace="quiet"))[0] == 201
    assert len(events(hub, "noisy")) == 3, "a refused write stores nothing"
    time.sleep(1.1)
    assert hub.request("POST", "/api/v1/namespaces/noisy/events", naive("later", namespace="noisy"))[0] == 201
    _, metrics, _ = hub.request("GET", "/metrics")
    assert 'kevents_correlation_decisions_total{decision="rate_limited"} 2' in metrics


def test_bad_rate_limit_config_refuses_to_start(make_hub, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("apiVersion: eventratelimit.admission.k8s.io/v1alpha1\nkind: Configuration\nlimits: []\n")
    hub = make_hub(["--event-rate-limit-config", str(config)])
    try:
        hub.start(timeout=10)
        raise AssertionError("started with an invalid configuration")
    except RuntimeError:
        pass
    assert "EventRateLimit" in hub.log_path.read_text()


def test_identical_dedupe_counts_a_naive_emitter_on_one_event(make_hub):
    hub = make_hub(["--dedupe", "identical"]).start()
    answers = [hub.request("POST", "/api/v1/namespaces/default/events", naive(f"naive-{i}")) for i in range(20)]
    assert all(status == 201 for status, _, _ in answers)
    assert answers[-1][1]["count"] == 20, "the answer shows the counted event"
    stored = events(hub)
    assert len(stored) == 1
    assert stored[0]["metadata"]["name"] == "naive-0"
    assert stored[0]["count"] == 20
    # A different message is a different event.
    hub.request("POST", "/api/v1/namespaces/default/events", naive("other", message="Started container"))
    assert len(events(hub)) == 2
    _, series, _ = hub.request("GET", "/apis/kevents.io/v1/eventseries?fieldSelector=reason%3DBackOff")
    assert sorted(s["status"]["count"] for s in series["items"]) == [1, 20]


def test_similar_dedupe_combines_like_client_go(make_hub):
    hub = make_hub(["--dedupe", "similar"]).start()
    for i in range(14):
        status, _, _ = hub.request("POST", "/api/v1/namespaces/default/events",
                                   naive(f"probe-{i}", message=f"Readiness probe failed: status {500 + i}"))
        assert status == 201
    stored = events(hub)
    combined = [e for e in stored if e["message"].startswith("(combined from similar events): ")]
    assert len(combined) == 1, [e["message"] for e in stored]
    assert len(stored) == 10, "nine events as sent, then one combined event counting the rest"
    assert combined[0]["count"] == 5


def test_dedupe_off_stores_every_create(hub):
    for i in range(5):
        hub.request("POST", "/api/v1/namespaces/default/events", naive(f"plain-{i}"))
    assert len(events(hub)) == 5


def test_storm_folding_keeps_counts_exact_and_records_bounded(make_hub):
    hub = make_hub(["--storm-folding", "--storm-fold-threshold", "10"]).start()
    for i in range(60):
        status, answer, _ = hub.request("POST", "/api/v1/namespaces/default/events",
                                        naive(f"storm-{i}", message=f"0/{i + 5} nodes are available"))
        assert status == 201, answer
    deadline = time.time() + 10
    while True:
        stored = events(hub)
        aggregates = [e for e in stored if "kevents.io/folded-series" in (e["metadata"].get("annotations") or {})]
        total = sum(e.get("count") or 1 for e in stored)
        if total == 60 or time.time() > deadline:
            break
        time.sleep(0.3)
    assert total == 60, [(e["metadata"]["name"], e.get("count")) for e in stored]
    assert len(stored) <= 10 + 2, "past the threshold a minute's occurrences share one record"
    assert 1 <= len(aggregates) <= 2
    _, series, _ = hub.request("GET", "/apis/kevents.io/v1/eventseries")
    assert sum(s["status"]["count"] for s in series["items"]) == 60


def test_folding_is_off_by_default(hub):
    for i in range(120):
        hub.request("POST", "/api/v1/namespaces/default/events", naive(f"s-{i}", message=f"0/{i} nodes"))
    assert len(events(hub)) == 120


def test_new_style_series_updates_are_not_double_counted(hub):
    body = {
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "rec.1", "namespace": "default"},
        "eventTime": "2026-11-25T10:00:00.000000Z", "reportingController": "kube-rs",
        "reportingInstance": "ctl-0", "action": "Reconcile", "reason": "Failed", "type": "Warning",
        "regarding": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "uid-web-0"},
        "note": "reconcile failed",
    }
    assert hub.request("POST", "/apis/events.k8s.io/v1/namespaces/default/events", body)[0] == 201
    for count in (2, 3, 4):
        status, _, _ = hub.request(
            "PATCH", "/apis/events.k8s.io/v1/namespaces/default/events/rec.1",
            {"series": {"count": count, "lastObservedTime": f"2026-11-25T10:0{count}:00.000000Z"}},
            headers={"Content-Type": "application/merge-patch+json"})
        assert status == 200
    _, series, _ = hub.request("GET", "/apis/kevents.io/v1/eventseries?fieldSelector=reason%3DFailed")
    assert [(s["status"]["count"], s["status"]["objects"]) for s in series["items"]] == [(4, 1)]
