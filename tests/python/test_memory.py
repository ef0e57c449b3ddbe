"""Memory is bounded in bytes: one large event updated many times keeps the hub's resident
memory within the configured watch history plus a margin, and gives it back once the history
expires (issue 27: 1,000 updates of a 900 KB event took RSS from 231 MB to 1.1 GB, and kept it
after the delete)."""

import time

from conftest import core_event

CORE = "/api/v1/namespaces/default/events"
MIB = 1 << 20
HISTORY_BYTES = 64 * MIB
# What the hub may hold beyond the history: the live event and its encodings, request and
# response buffers, the log writer's frame buffer, and allocator slack.
MARGIN = 64 * MIB
# After the history expires the hub holds no old versions: what remains above the baseline is
# allocator slack and buffers kept for reuse.
RETURNED_WITHIN = 48 * MIB
TTL_SECONDS = 20
GIVE_BACK_WITHIN_SECONDS = 10


def metric(hub, name):
    _, metrics, _ = hub.request("GET", "/metrics")
    return next(
        float(line.split()[1]) for line in metrics.splitlines() if line.startswith(f"{name} ")
    )


def history_bytes(hub):
    return int(metric(hub, "kevents_watch_history_bytes"))


def rss(hub):
    with open(f"/proc/{hub.proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def mib(value):
    return f"{value / MIB:.0f} MiB"


def test_updates_of_a_large_event_keep_memory_within_the_history_bytes_and_expiry_returns_it(
    make_hub,
):
    hub = make_hub(
        ["--watch-history-bytes", f"{HISTORY_BYTES}", "--event-ttl", f"{TTL_SECONDS}s"]
    ).start()
    assert hub.request("POST", CORE, core_event("big", message="m" * 900_000))[0] == 201
    patch = {"Content-Type": "application/strategic-merge-patch+json"}
    for count in range(2, 12):
        assert hub.request("PATCH", f"{CORE}/big", {"count": count}, headers=patch)[0] == 200
    baseline = rss(hub)
    peak = baseline
    started = time.monotonic()
    for count in range(12, 1012):
        status, answer, _ = hub.request("PATCH", f"{CORE}/big", {"count": count}, headers=patch)
        assert status == 200, answer
        if count % 50 == 0:
            peak = max(peak, rss(hub))
    peak = max(peak, rss(hub))
    print(f"1,000 updates in {time.monotonic() - started:.1f} s")
    held = history_bytes(hub)
    assert held <= HISTORY_BYTES
    growth = peak - baseline
    print(f"baseline {mib(baseline)}, peak {mib(peak)}, growth {mib(growth)}, history {mib(held)}")
    assert growth < HISTORY_BYTES + MARGIN, f"grew {mib(growth)}"

    assert hub.request("DELETE", f"{CORE}/big")[0] == 200
    time.sleep(TTL_SECONDS + 1)
    # History is trimmed at a commit: any write after the TTL drops the expired changes.
    assert hub.request("POST", CORE, core_event("small"))[0] == 201
    trimmed = time.monotonic()
    # The hub gives the memory back within a few of its one-second looks at what it holds,
    # however busy the machine: its idle workers collect the pages other threads freed.
    while True:
        time.sleep(0.5)
        held, after = history_bytes(hub), rss(hub)
        if held < MIB and after - baseline < RETURNED_WITHIN:
            break
        if time.monotonic() - trimmed > GIVE_BACK_WITHIN_SECONDS:
            break
    print(
        f"after delete and expiry {mib(after)} ({mib(after - baseline)} above the baseline),"
        f" {time.monotonic() - trimmed:.1f} s after the trim"
    )
    assert held < MIB
    assert after - baseline < RETURNED_WITHIN, f"kept {mib(after - baseline)}"


def test_events_with_huge_messages_keep_series_and_alert_groups_within_their_bytes(
    make_hub, tmp_path
):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n- name: Huge\n  match: {reason: Huge}\n")
    series_bytes, alert_bytes = 2 * MIB, 1 * MIB
    hub = make_hub(
        [
            "--series-max-bytes", f"{series_bytes}",
            "--alert-max-bytes", f"{alert_bytes}",
            "--rules", str(rules),
            "--builtin-rules", "false",
        ]
    ).start()
    # 40 objects, each its own series and alert group, each with a 200 KB message: about
    # 16 MB of series text and 8 MB of alert text without the bounds.
    for i in range(40):
        pod = f"huge-{i}"
        body = core_event(
            f"{pod}.1",
            reason="Huge",
            type="Warning",
            message=f"{i} " + "m" * 200_000,
            involvedObject={"kind": "Pod", "namespace": "default", "name": pod, "uid": pod},
        )
        assert hub.request("POST", CORE, body)[0] == 201
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        metric(hub, "kevents_series_evicted_total") < 30
        or metric(hub, "kevents_alert_group_overflow_total") < 30
    ):
        time.sleep(0.2)
    assert metric(hub, "kevents_series_bytes") <= series_bytes
    assert metric(hub, "kevents_series_evicted_total") >= 30
    assert 0 < metric(hub, "kevents_alert_group_bytes") <= alert_bytes
    assert metric(hub, "kevents_alert_group_overflow_total") >= 30
    status, answer, _ = hub.request(
        "GET", "/apis/kevents.io/v1/namespaces/default/eventseries"
    )
    assert status == 200, answer
    held = [s["metadata"]["name"] for s in answer["items"]]
    assert 1 <= len(held) <= 10, held
