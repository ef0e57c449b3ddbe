"""`/apis/kevents.io/v1/eventcounts` through the real binary: live events counted by a field
over a window of last-seen times equal counting the listed events, for hot and cold events
(cold files answer from their time index), after patches and deletes; bad parameters get a
400 Status and the hub keeps serving."""

import collections
import datetime
import time
import urllib.parse
from pathlib import Path

from conftest import core_event

COLD = ["--cold-after", "1ms", "--hot-events", "20", "--checkpoint-log-bytes", "64KiB"]
REASONS = ["BackOff", "Pulled", "FailedScheduling", "Unhealthy", "Killing"]
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def stamp(minutes_ago):
    return (NOW - datetime.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(i):
    namespace = ["alpha", "beta", "gamma"][i % 3]
    body = core_event(f"ev-{i:04d}", namespace, count=1 + i % 4)
    body["reason"] = REASONS[i % 5]
    body["type"] = "Warning" if i % 2 else "Normal"
    body["involvedObject"]["name"] = f"pod-{i % 30}"
    body["involvedObject"]["kind"] = "Node" if i % 7 == 0 else "Pod"
    # Ten minutes apart, five minutes off the hour, so no event sits on a window's edge.
    body["firstTimestamp"] = body["lastTimestamp"] = stamp(5 + 10 * (i % 60))
    return body


def listed(hub):
    items, token = [], None
    while True:
        path = "/api/v1/events?limit=250" + (f"&continue={token}" if token else "")
        status, body, _ = hub.request("GET", path)
        assert status == 200, body
        items += body["items"]
        token = body["metadata"].get("continue")
        if not token:
            return items


def expected(items, by, minutes=None, namespace=None, keep=lambda item: True):
    counts = collections.defaultdict(lambda: [0, 0])
    for item in items:
        seen = datetime.datetime.strptime(item["lastTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc
        )
        if minutes is not None and seen < NOW - datetime.timedelta(minutes=minutes):
            continue
        if namespace and item["metadata"]["namespace"] != namespace:
            continue
        if not keep(item):
            continue
        total = counts[by(item)]
        total[0] += 1
        total[1] += max(item.get("count") or 1, 1)
    return {value: tuple(total) for value, total in counts.items()}


def counted(hub, path):
    status, body, _ = hub.request("GET", path)
    assert status == 200, body
    assert body["kind"] == "EventCountList"
    result = {item["value"]: (item["events"], item["occurrences"]) for item in body["items"]}
    events = [item["events"] for item in body["items"]]
    assert events == sorted(events, reverse=True)
    assert body["total"]["events"] == sum(events)
    return result


def test_event_counts_equal_counting_the_listed_events_hot_and_cold(make_hub):
    hub = make_hub(COLD).start()
    for i in range(420):
        status, body, _ = hub.request("POST", f"/api/v1/namespaces/{event(i)['metadata']['namespace']}/events", event(i))
        assert status == 201, body
    deadline = time.time() + 20
    while not list(Path(hub.data_dir, "wal").glob("cold-*.blk")) and time.time() < deadline:
        time.sleep(0.2)
    assert list(Path(hub.data_dir, "wal").glob("cold-*.blk")), "no event reached the cold tier"
    # Cold events written again (count raised, seen now) or deleted.
    for i in range(0, 420, 11):
        ns = event(i)["metadata"]["namespace"]
        patch = {"count": 40, "lastTimestamp": stamp(1)}
        status, body, _ = hub.request("PATCH", f"/api/v1/namespaces/{ns}/events/ev-{i:04d}", patch,
                                      {"Content-Type": "application/merge-patch+json"})
        assert status == 200, body
    for i in range(3, 420, 13):
        ns = event(i)["metadata"]["namespace"]
        status, body, _ = hub.request("DELETE", f"/api/v1/namespaces/{ns}/events/ev-{i:04d}")
        assert status == 200, body

    items = listed(hub)
    reason = lambda item: item["reason"]
    assert counted(hub, "/apis/kevents.io/v1/eventcounts") == expected(items, reason)
    assert counted(hub, "/apis/kevents.io/v1/eventcounts?by=reason&since=3h") == expected(
        items, reason, minutes=180
    )
    assert counted(hub, "/apis/kevents.io/v1/namespaces/beta/eventcounts?by=type&since=2h") == expected(
        items, lambda item: item["type"], minutes=120, namespace="beta"
    )
    warnings = urllib.parse.quote("type=Warning,involvedObject.kind!=Node")
    assert counted(hub, f"/apis/kevents.io/v1/eventcounts?by=namespace&fieldSelector={warnings}") == expected(
        items, lambda item: item["metadata"]["namespace"],
        keep=lambda item: item["type"] == "Warning" and item["involvedObject"]["kind"] != "Node",
    )
    # A field the time index does not hold: counted from the blocks, same answer.
    assert counted(hub, "/apis/kevents.io/v1/eventcounts?by=involvedObject.name&since=4h") == expected(
        items, lambda item: item["involvedObject"]["name"], minutes=240
    )
    # A window with from and to.
    window = f"from={stamp(300)}&to={stamp(100)}"
    body = counted(hub, f"/apis/kevents.io/v1/eventcounts?by=reason&{window}")
    in_window = [item for item in items if stamp(300) <= item["lastTimestamp"] <= stamp(100)]
    assert body == expected(in_window, reason)
    # The hub's own events are counted under its cluster name.
    assert counted(hub, "/apis/kevents.io/v1/eventcounts?by=cluster") == expected(
        items, lambda item: "default"
    )
    assert counted(hub, "/apis/kevents.io/v1/eventcounts?fieldSelector=cluster%3Ddefault") == expected(
        items, reason
    )
    # A limit returns the first values and sums the rest.
    status, limited, _ = hub.request("GET", "/apis/kevents.io/v1/eventcounts?by=object&limit=3")
    assert status == 200, limited
    by_object = expected(items, lambda item: item["involvedObject"]["name"])
    assert len(limited["items"]) == 3
    assert limited["more"]["values"] == len(by_object) - 3
    shown = sum(item["events"] for item in limited["items"])
    assert shown + limited["more"]["events"] == limited["total"]["events"] == len(items)
    # kubectl reaches it as a raw path.
    out = hub.kubectl("get", "--raw", "/apis/kevents.io/v1/eventcounts?by=reason&since=3h").stdout
    assert '"EventCountList"' in out


def test_event_counts_refuse_bad_parameters_with_a_status(hub):
    status, body, _ = hub.request("POST", "/api/v1/namespaces/default/events", core_event("one"))
    assert status == 201, body
    for query, words in [
        ("by=colour", "not a field events can be counted by"),
        ("since=yesterday", "not a duration"),
        ("from=tuesday", "not an RFC 3339 time"),
        ("since=1h&from=2026-01-01T00:00:00Z", "exclude each other"),
        ("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from is after to"),
        ("labelSelector=app%3Dweb", "fields only"),
        ("fieldSelector=colour%3Dred", "colour"),
        ("by=name", "name of its own"),
        ("since=-1h", "not a duration back from now"),
        ("limit=many", "not a number"),
    ]:
        status, body, _ = hub.request("GET", f"/apis/kevents.io/v1/eventcounts?{query}")
        assert status == 400, (query, body)
        assert body["kind"] == "Status" and body["reason"] == "BadRequest", body
        assert words in body["message"], (query, body["message"])
    assert counted(hub, "/apis/kevents.io/v1/eventcounts?by=reason") == {"Scheduled": (1, 1)}
