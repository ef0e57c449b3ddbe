"""Questions over time through the real binary, for hot and cold events (cold files answer from
their time index), after patches and deletes: `/apis/kevents.io/v1/eventcounts` (live events
counted by a field over a window of last-seen times) equals counting the listed events, and a
list with `since` or `from`/`to` holds exactly the listed events last seen in the window, page
after page; bad parameters get a 400 Status and the hub keeps serving."""

import collections
import datetime
import json
import os
import subprocess
import time
import urllib.parse
from pathlib import Path

from conftest import BIN, core_event

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


def listed(hub, path="/api/v1/events?limit=250"):
    items, token = [], None
    while True:
        path_now = path + (f"&continue={token}" if token else "")
        status, body, _ = hub.request("GET", path_now)
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


def assert_bad_requests(hub, paths_and_words):
    """Each GET is a 400 BadRequest Status whose message holds the words."""
    for path, words in paths_and_words:
        status, body, _ = hub.request("GET", path)
        assert status == 400, (path, body)
        assert body["kind"] == "Status" and body["reason"] == "BadRequest", body
        assert words in body["message"], (path, body["message"])


def counted(hub, path):
    status, body, _ = hub.request("GET", path)
    assert status == 200, body
    assert body["kind"] == "EventCountList"
    result = {item["value"]: (item["events"], item["occurrences"]) for item in body["items"]}
    events = [item["events"] for item in body["items"]]
    assert events == sorted(events, reverse=True)
    assert body["total"]["events"] == sum(events)
    return result


def write_history(make_hub):
    """A hub with 420 events ten minutes apart over ten hours, most in the cold tier, some of
    them patched (seen a minute ago) or deleted since. Times are relative to now, taken here:
    the suite may reach this module long after it was imported."""
    global NOW
    NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
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

    return hub


def test_event_counts_equal_counting_the_listed_events_hot_and_cold(make_hub):
    hub = write_history(make_hub)
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
    assert_bad_requests(hub, [
        ("/apis/kevents.io/v1/eventcounts?by=colour", "not a field events can be counted by"),
        ("/apis/kevents.io/v1/eventcounts?since=yesterday", "not a duration"),
        ("/apis/kevents.io/v1/eventcounts?from=tuesday", "not an RFC 3339 time"),
        ("/apis/kevents.io/v1/eventcounts?since=1h&from=2026-01-01T00:00:00Z", "exclude each other"),
        ("/apis/kevents.io/v1/eventcounts?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from is after to"),
        ("/apis/kevents.io/v1/eventcounts?labelSelector=app%3Dweb", "fields only"),
        ("/apis/kevents.io/v1/eventcounts?fieldSelector=colour%3Dred", "colour"),
        ("/apis/kevents.io/v1/eventcounts?by=name", "name of its own"),
        ("/apis/kevents.io/v1/eventcounts?since=-1h", "not a duration back from now"),
        ("/apis/kevents.io/v1/eventcounts?limit=many", "not a number"),
    ])
    assert counted(hub, "/apis/kevents.io/v1/eventcounts?by=reason") == {"Scheduled": (1, 1)}


def seen(item):
    return item.get("lastTimestamp") or item["deprecatedLastTimestamp"]


def test_windowed_lists_hold_the_listed_events_last_seen_in_the_window(make_hub):
    hub = write_history(make_hub)
    items = listed(hub)
    names = lambda found: [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in found]
    since = lambda minutes: [item for item in items if seen(item) >= stamp(minutes)]
    assert 0 < len(since(180)) < len(items)
    # Pages of 7 follow the continue token, which keeps the first page's window.
    assert names(listed(hub, "/api/v1/events?limit=7&since=3h")) == names(since(180))
    assert names(listed(hub, "/api/v1/events?since=3h")) == names(since(180))
    window = f"from={stamp(300)}&to={stamp(100)}"
    in_window = [item for item in items if stamp(300) <= seen(item) <= stamp(100)]
    assert names(listed(hub, f"/api/v1/events?limit=5&{window}")) == names(in_window)
    warnings = urllib.parse.quote("type=Warning")
    beta = [item for item in since(240) if item["metadata"]["namespace"] == "beta" and item["type"] == "Warning"]
    assert beta
    path = f"/api/v1/namespaces/beta/events?limit=4&since=4h&fieldSelector={warnings}"
    assert names(listed(hub, path)) == names(beta)
    # events.k8s.io/v1 lists the same events.
    path = f"/apis/events.k8s.io/v1/namespaces/beta/events?since=4h&fieldSelector={warnings}"
    assert names(listed(hub, path)) == names(beta)
    # kubectl reaches it as a raw path; the Table printing works on a windowed list.
    out = hub.kubectl("get", "--raw", "/api/v1/namespaces/beta/events?since=4h").stdout
    assert json.loads(out)["items"]
    status, table, _ = hub.request(
        "GET", "/api/v1/events?since=3h",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    assert status == 200 and table["kind"] == "Table" and len(table["rows"]) == len(since(180))
    # The kevents CLI asks the hub for the window.
    out = subprocess.run(
        [BIN, "get", "-n", "gamma", "--since", "3h", "-o", "json"],
        capture_output=True, text=True, check=True, env=dict(os.environ, KEVENTS_SERVER=hub.url),
    ).stdout
    gamma = [item for item in since(180) if item["metadata"]["namespace"] == "gamma"]
    assert sorted(i["metadata"]["name"] for i in json.loads(out)["items"]) == sorted(
        i["metadata"]["name"] for i in gamma
    )
    # A deletecollection with a window deletes only the events in it.
    old = [item for item in items if item["metadata"]["namespace"] == "alpha" and seen(item) <= stamp(400)]
    assert old
    status, body, _ = hub.request("DELETE", f"/api/v1/namespaces/alpha/events?to={stamp(400)}")
    assert status == 200, body
    assert sorted(names(body["items"])) == sorted(names(old))
    left = listed(hub, "/api/v1/namespaces/alpha/events?limit=100")
    assert names(left) == [n for n in names(items) if n[0] == "alpha" and n not in names(old)]


def test_windowed_lists_refuse_bad_parameters_with_a_status(hub):
    status, body, _ = hub.request("POST", "/api/v1/namespaces/default/events", core_event("one"))
    assert status == 201, body
    assert_bad_requests(hub, [
        ("/api/v1/events?since=yesterday", "not a duration"),
        ("/api/v1/events?since=-2h", "not a duration back from now"),
        ("/api/v1/namespaces/default/events?from=tuesday", "not an RFC 3339 time"),
        ("/api/v1/events?since=1h&from=2026-01-01T00:00:00Z", "exclude each other"),
        ("/apis/events.k8s.io/v1/events?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from is after to"),
        ("/api/v1/events?watch=true&since=1h", "a watch follows every change"),
    ])
    status, body, _ = hub.request("GET", "/api/v1/events?since=1h")
    assert status == 200 and len(body["items"]) == 1, body
