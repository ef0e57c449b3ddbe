"""The cold tier through the real binary: events moved out of memory into sealed files are still
listed, selected, patched and deleted like any other, and survive kill -9 in the middle of
ingest and checkpoints."""

import threading
import time
import urllib.parse
from pathlib import Path

from conftest import core_event

NS = "cold"
EVENTS = f"/api/v1/namespaces/{NS}/events"
# Every checkpoint moves every event to the cold tier; checkpoints come every 64 KiB of log.
COLD = ["--cold-after", "1ms", "--hot-events", "20", "--checkpoint-log-bytes", "64KiB"]


def cold_files(hub):
    return sorted(Path(hub.data_dir, "wal").glob("cold-*.blk"))


def list_names(hub, query=""):
    names, token = {}, None
    while True:
        path = f"{EVENTS}?limit=97{query}" + (f"&continue={token}" if token else "")
        status, body, _ = hub.request("GET", path)
        assert status == 200, body
        for item in body["items"]:
            names[item["metadata"]["name"]] = item
        token = body["metadata"].get("continue")
        if not token:
            return names


def event(i):
    body = core_event(f"cold-{i:04d}", NS, count=1)
    body["involvedObject"]["name"] = f"pod-{i % 40}"
    body["message"] = f"message {i}"
    return body


def test_cold_events_list_select_patch_and_delete_like_hot_ones(make_hub):
    hub = make_hub(COLD).start()
    for i in range(600):
        status, body, _ = hub.request("POST", EVENTS, event(i))
        assert status == 201, body
    deadline = time.time() + 20
    while not cold_files(hub) and time.time() < deadline:
        time.sleep(0.2)
    assert cold_files(hub), "no event reached the cold tier"
    listed = list_names(hub)
    assert sorted(listed) == [f"cold-{i:04d}" for i in range(600)]
    about = list_names(hub, "&fieldSelector=involvedObject.name%3Dpod-7")
    assert sorted(about) == [f"cold-{i:04d}" for i in range(7, 600, 40)]

    # Writes to cold events: the new version replaces the cold one, once.
    status, patched, _ = hub.request("PATCH", f"{EVENTS}/cold-0003", {"count": 9},
                                     {"Content-Type": "application/merge-patch+json"})
    assert status == 200 and patched["count"] == 9, patched
    status, _, _ = hub.request("DELETE", f"{EVENTS}/cold-0004")
    assert status == 200
    status, again, _ = hub.request("POST", EVENTS, event(3))
    assert status == 409 and again["reason"] == "AlreadyExists", again
    listed = list_names(hub)
    assert len(listed) == 599 and listed["cold-0003"]["count"] == 9 and "cold-0004" not in listed

    # A restart reads the tiers back: same events, same versions.
    assert hub.stop() == 0
    hub = make_hub(COLD, data_dir=hub.data_dir, port=hub.port).start()
    after = list_names(hub)
    assert {n: i["metadata"]["resourceVersion"] for n, i in after.items()} == \
        {n: i["metadata"]["resourceVersion"] for n, i in listed.items()}
    out = hub.kubectl("get", "events", "-n", NS, "--field-selector", "involvedObject.name=pod-3",
                      "-o", "name").stdout.split()
    assert len(out) == 15


def varied(i):
    """Events whose selectable fields vary independently, so selectors cut across blocks."""
    body = event(i)
    body["type"] = "Warning" if i % 3 == 0 else "Normal"
    body["reason"] = ["BackOff", "Pulled", "FailedScheduling", "Unhealthy"][i % 4]
    body["source"] = {"component": "kubelet"} if i % 5 else {}
    if i % 5 == 0:
        body["reportingComponent"] = "default-scheduler"
    body["involvedObject"]["kind"] = "Node" if i % 7 == 0 else "Pod"
    return body


def test_field_selectors_on_cold_events_match_what_the_events_say(make_hub):
    # Selectors are checked on cold blocks' columns before events are built: every kind of
    # term must select exactly what the events themselves say, through kubectl and raw lists.
    hub = make_hub(COLD).start()
    bodies = [varied(i) for i in range(400)]
    for body in bodies:
        status, created, _ = hub.request("POST", EVENTS, body)
        assert status == 201, created
    deadline = time.time() + 20
    while not cold_files(hub) and time.time() < deadline:
        time.sleep(0.2)
    assert cold_files(hub), "no event reached the cold tier"
    hub.request("POST", EVENTS, varied(400))  # one more, so some events are hot too
    bodies.append(varied(400))

    def source(b):
        return b["source"].get("component") or b.get("reportingComponent", "")

    cases = {
        "type=Warning": lambda b: b["type"] == "Warning",
        "type=Warning,reason!=BackOff": lambda b: b["type"] == "Warning" and b["reason"] != "BackOff",
        "reason=FailedScheduling,involvedObject.kind=Node":
            lambda b: b["reason"] == "FailedScheduling" and b["involvedObject"]["kind"] == "Node",
        "source=default-scheduler": lambda b: source(b) == "default-scheduler",
        "involvedObject.name=pod-7,type!=Normal":
            lambda b: b["involvedObject"]["name"] == "pod-7" and b["type"] != "Normal",
        "metadata.name=cold-0123": lambda b: b["metadata"]["name"] == "cold-0123",
    }
    for selector, wanted in cases.items():
        expected = sorted(b["metadata"]["name"] for b in bodies if wanted(b))
        assert expected, selector
        query = "&fieldSelector=" + urllib.parse.quote(selector)
        assert sorted(list_names(hub, query)) == expected, selector
        out = hub.kubectl("get", "events", "-A", "--field-selector", selector,
                          "-o", "name").stdout.split()
        assert sorted(n.split("/")[-1] for n in out) == expected, selector


def test_kill9_during_ingest_and_checkpoints_keeps_every_acknowledged_write(make_hub):
    hub = make_hub(COLD).start()
    acked = {}
    for round_no in range(3):
        stop = threading.Event()

        def writer(offset):
            i = 0
            while not stop.is_set():
                n = round_no * 100_000 + offset * 10_000 + i
                try:
                    status, body, _ = hub.request("POST", EVENTS, event(n))
                except OSError:
                    return
                if status == 201:
                    acked[body["metadata"]["name"]] = body["metadata"]["resourceVersion"]
                i += 1

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(3)]
        for t in threads:
            t.start()
        time.sleep(2.5)
        hub.kill9()
        stop.set()
        for t in threads:
            t.join(10)
        hub = make_hub(COLD, data_dir=hub.data_dir, port=hub.port).start()
        stored = list_names(hub)
        lost = [n for n in acked if n not in stored]
        assert not lost, f"round {round_no}: {len(lost)} acknowledged events lost, e.g. {lost[:5]}"
        changed = [n for n, rv in acked.items() if stored[n]["metadata"]["resourceVersion"] != rv]
        assert not changed, changed[:5]
    assert cold_files(hub), "no checkpoint moved events to the cold tier during the test"
    assert len(acked) > 300, "the writers barely wrote anything; the test proves little"
