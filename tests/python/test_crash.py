"""Crash safety of the real binary: kill -9 mid-write, torn log tails, graceful SIGTERM."""

import http.client
import json
import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest

from conftest import core_event

NS = "crash"
SEED = int(os.environ.get("KEVENTS_CRASH_SEED", "20240611"))
EVENTS = f"/api/v1/namespaces/{NS}/events"


def content(obj):
    return {"message": obj.get("message"), "count": obj.get("count"),
            "labels": obj["metadata"].get("labels")}


class Writer(threading.Thread):
    """Sole writer of its own events: creates, updates (PUT/patches) and deletes them.

    `acked[name]` is the last acknowledged state ({content, rv}) or None once a delete was
    acknowledged; `maybe[name]` is the write in flight when the server died (op, content).
    """

    def __init__(self, hub, tid, rng, floor_rv):
        super().__init__(daemon=True)
        self.hub, self.tid, self.rng, self.floor_rv = hub, tid, rng, floor_rv
        self.acked, self.maybe, self.failures = {}, {}, []
        self.stop_flag = threading.Event()
        self.seq = 0

    def live(self):
        return [n for n, s in self.acked.items() if s is not None]

    def run(self):
        while not self.stop_flag.is_set():
            if not self.step():
                return

    def step(self):
        live, roll = self.live(), self.rng.random()
        if not live or roll < 0.4:
            self.seq += 1
            name = f"w{self.tid}-{self.rng.randrange(1 << 30):08x}-{self.seq}"
            body = core_event(name, NS, message=f"{name} v1", count=1)
            body["metadata"]["labels"] = {"writer": str(self.tid)}
            return self.send(name, "create", content(body), "POST", EVENTS, body, 201)
        name = self.rng.choice(live)
        state = self.acked[name]
        if roll > 0.9:
            return self.send(name, "delete", None, "DELETE", f"{EVENTS}/{name}", None, 200)
        count = state["content"]["count"] + 1
        new = dict(state["content"], message=f"{name} v{count}", count=count)
        how = self.rng.choice(["put", "merge", "strategic", "json"])
        path, headers = f"{EVENTS}/{name}", None
        if how == "put":
            body = core_event(name, NS, message=new["message"], count=count)
            body["metadata"].update(labels=new["labels"], resourceVersion=str(state["rv"]))
            return self.send(name, "update", new, "PUT", path, body, 200)
        if how == "json":
            body = [{"op": "replace", "path": "/message", "value": new["message"]},
                    {"op": "replace", "path": "/count", "value": count}]
        else:
            body = {"message": new["message"], "count": count}
        kind = {"json": "json-patch", "merge": "merge-patch", "strategic": "strategic-merge-patch"}[how]
        headers = {"Content-Type": f"application/{kind}+json"}
        return self.send(name, "update", new, "PATCH", path, body, 200, headers)

    def send(self, name, op, new, method, path, body, expect, headers=None):
        self.maybe[name] = (op, new)
        try:
            status, obj, _ = self.hub.request(method, path, body, headers)
        except Exception:  # noqa: BLE001 - connection lost: the write may or may not have landed
            return False
        if status != expect:  # refused: nothing was written
            self.failures.append(f"{method} {name}: {status} {obj}")
            self.maybe.pop(name)
            return True
        self.maybe.pop(name)
        if op == "delete":
            self.acked[name] = None
            return True
        rv = int(obj["metadata"]["resourceVersion"])
        if rv <= self.floor_rv:
            self.failures.append(f"{name}: acked resourceVersion {rv} <= {self.floor_rv} seen before")
        if content(obj) != new:
            self.failures.append(f"{name}: response {content(obj)} != sent {new}")
        self.acked[name] = {"content": new, "rv": rv}
        return True


def list_all(hub):
    status, body, _ = hub.request("GET", EVENTS)
    assert status == 200, body
    names = [i["metadata"]["name"] for i in body["items"]]
    assert len(names) == len(set(names)), f"an event is listed twice: {names}"
    paged, token = [], ""
    while True:
        status, page, _ = hub.request("GET", f"{EVENTS}?limit=7" + (f"&continue={token}" if token else ""))
        assert status == 200, page
        paged += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert sorted(paged) == sorted(names), "paged list differs from the full list"
    return {i["metadata"]["name"]: i for i in body["items"]}, int(body["metadata"]["resourceVersion"])


def verify_and_adopt(writers, stored):
    """Checks `stored` against what the writers know, then adopts it as the acknowledged state."""
    problems, known = [], set()
    for w in writers:
        problems += w.failures
        for name in set(w.acked) | set(w.maybe):
            known.add(name)
            acked, maybe, item = w.acked.get(name), w.maybe.get(name), stored.get(name)
            got = content(item) if item else None
            options = [acked["content"] if acked else None]
            if maybe:
                options.append(maybe[1])
            if got not in options:
                problems.append(f"{name}: stored {got}, acknowledged {acked}, in flight {maybe}")
            elif item is not None and acked is not None:
                rv = int(item["metadata"]["resourceVersion"])
                if got == acked["content"] and rv != acked["rv"]:
                    problems.append(f"{name}: resourceVersion {rv} != acknowledged {acked['rv']}")
                if got != acked["content"] and rv <= acked["rv"]:
                    problems.append(f"{name}: newer content at older resourceVersion {rv}")
            if item is not None:
                w.acked[name] = {"content": got, "rv": int(item["metadata"]["resourceVersion"])}
            elif name in w.acked:
                w.acked[name] = None  # deleted (acknowledged, or the delete in flight landed)
        w.maybe.clear()
        w.failures = []
    problems += [f"{n}: stored but never written" for n in set(stored) - known]
    return problems


def run_writers(hub, writers_rng, floor_rv, carry, threads=4):
    writers = []
    for tid in range(threads):
        w = Writer(hub, tid, random.Random(writers_rng.random()), floor_rv)
        if tid in carry:
            w.acked, w.seq = carry[tid].acked, carry[tid].seq
        writers.append(w)
    for w in writers:
        w.start()
    return writers


def stop_writers(writers):
    for w in writers:
        w.stop_flag.set()
    for w in writers:
        w.join(30)
        assert not w.is_alive(), "a writer hung"


def restart(make_hub, hub):
    return make_hub(data_dir=hub.data_dir, port=hub.port).start()


def test_kill9_mid_write_loses_no_acknowledged_write(make_hub):
    rng = random.Random(SEED)
    hub = make_hub().start()
    carry, floor_rv, max_acked, total = {}, 0, 0, 0
    for round_no in range(5):
        writers = run_writers(hub, rng, floor_rv, carry)
        time.sleep(rng.uniform(0.3, 1.5))
        hub.kill9()
        stop_writers(writers)
        acked_rvs = [s["rv"] for w in writers for s in w.acked.values() if s]
        max_acked = max([max_acked] + acked_rvs)
        total += sum(1 for w in writers for s in w.acked.values() if s)
        hub = restart(make_hub, hub)
        stored, list_rv = list_all(hub)
        assert list_rv >= max_acked, f"round {round_no}: resourceVersion went back to {list_rv} < {max_acked}"
        problems = verify_and_adopt(writers, stored)
        assert not problems, f"round {round_no} (seed {SEED}):\n" + "\n".join(problems[:20])
        carry, floor_rv = {w.tid: w for w in writers}, list_rv
    assert total > 20, "the writers barely wrote anything; the test proves little"
    # A clean stop and start keeps the same state.
    assert hub.stop() == 0
    hub = restart(make_hub, hub)
    again, list_rv = list_all(hub)
    assert {n: content(i) for n, i in again.items()} == {n: content(i) for n, i in stored.items()}
    assert list_rv >= floor_rv


def newest_segment(data_dir):
    segments = sorted(Path(data_dir, "wal").glob("*.log"))
    assert segments, "no log segment in the data directory"
    return segments[-1]


def write_some(hub, prefix, n=12):
    acked = {}
    for i in range(n):
        name = f"{prefix}-{i}"
        status, obj, _ = hub.request("POST", EVENTS, core_event(name, NS, count=1))
        assert status == 201, obj
        if i % 3 == 0:
            status, obj, _ = hub.request("PATCH", f"{EVENTS}/{name}", {"count": 7, "message": "patched"},
                                         {"Content-Type": "application/merge-patch+json"})
            assert status == 200, obj
        acked[name] = content(obj)
    return acked


def assert_present(hub, acked):
    stored, _ = list_all(hub)
    missing = {n: c for n, c in acked.items() if n not in stored or content(stored[n]) != c}
    assert not missing, f"acknowledged events lost or changed: {sorted(missing)}"


GARBAGE = {
    "short-header": bytes([0x2A, 0x00, 0x00]),
    "random-bytes": random.Random(SEED).randbytes(300),
    "bad-checksum": (40).to_bytes(4, "little") + (12345).to_bytes(4, "little") + b"{" * 40,
    "overlong-length": (1 << 20).to_bytes(4, "little") + b"\x01\x02\x03\x04" + b"x" * 50,
    "zero-filled": bytes(4096),
}


@pytest.mark.parametrize("garbage", sorted(GARBAGE))
def test_torn_log_tail_is_cut_off_and_writes_continue(make_hub, garbage):
    hub = make_hub().start()
    acked = write_some(hub, "before")
    hub.kill9()
    with open(newest_segment(hub.data_dir), "ab") as f:
        f.write(GARBAGE[garbage])
    hub = restart(make_hub, hub)
    assert_present(hub, acked)
    status, obj, _ = hub.request("GET", f"{EVENTS}/before-0")
    assert status == 200 and obj["count"] == 7
    acked.update(write_some(hub, "after", n=4))
    assert_present(hub, acked)
    # The writes after the cut are readable after another crash.
    hub.kill9()
    hub = restart(make_hub, hub)
    assert_present(hub, acked)


def test_sigterm_ends_watches_cleanly_and_keeps_acknowledged_writes(make_hub):
    hub = make_hub().start()
    _, listed, _ = hub.request("GET", EVENTS)
    watch_result = {"lines": [], "clean": None}

    def watcher():
        conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=20)
        try:
            conn.request("GET", f"{EVENTS}?watch=true&resourceVersion={listed['metadata']['resourceVersion']}")
            resp = conn.getresponse()
            while True:
                line = resp.readline()
                if not line:
                    break
                watch_result["lines"].append(json.loads(line))
            watch_result["clean"] = True
        except Exception as e:  # noqa: BLE001 - the assertion below reports it
            watch_result["clean"] = e
        finally:
            conn.close()

    watch_thread = threading.Thread(target=watcher, daemon=True)
    watch_thread.start()
    writers = run_writers(hub, random.Random(SEED + 1), 0, {}, threads=3)
    deadline = time.time() + 10
    while len(watch_result["lines"]) < 10 and time.time() < deadline:
        time.sleep(0.05)
    assert len(watch_result["lines"]) >= 10, "the watch saw no writes"

    started = time.time()
    hub.proc.send_signal(signal.SIGTERM)
    code = hub.proc.wait(timeout=10)
    took = time.time() - started
    stop_writers(writers)
    watch_thread.join(10)
    assert code == 0 and took < 5, f"exit code {code} after {took:.1f}s"
    assert watch_result["clean"] is True, f"the watch stream did not end cleanly: {watch_result['clean']!r}"

    hub = restart(make_hub, hub)
    stored, _ = list_all(hub)
    # Whatever a watcher was told about was durable: stored state is at least as new (a write
    # that finished after the watch ended, such as a delete, may have superseded it).
    deleted = {n for w in writers for n, s in w.acked.items() if s is None}
    deleted |= {n for w in writers for n, (op, _) in w.maybe.items() if op == "delete"}
    final = {e["object"]["metadata"]["name"]: e for e in watch_result["lines"]}
    for name, event in final.items():
        if event["type"] == "DELETED":
            assert name not in stored, f"{name}: watched DELETED but present after restart"
        elif name not in stored:
            assert name in deleted, f"{name}: watched {event['type']} but lost after restart"
        else:
            watched_rv = int(event["object"]["metadata"]["resourceVersion"])
            stored_rv = int(stored[name]["metadata"]["resourceVersion"])
            assert stored_rv >= watched_rv, f"{name}: stored {stored_rv} older than watched {watched_rv}"
            if stored_rv == watched_rv:
                assert content(stored[name]) == content(event["object"]), name
    problems = verify_and_adopt(writers, stored)
    assert not problems, "\n".join(problems[:20])
