"""`--retention-size` through the real binary: once the store outgrows the limit, the events
written longest ago are deleted (the newest stay) until the data directory fits in it."""

import random
import time
from pathlib import Path

from conftest import core_event

NS = "retention"
EVENTS = f"/api/v1/namespaces/{NS}/events"
LIMIT = 256 * 1024


def wal_bytes(data_dir):
    # What the limit covers: log segments and checkpoints.
    return sum(
        p.stat().st_size
        for p in Path(data_dir, "wal").iterdir()
        if p.suffix in (".log", ".blk", ".ckpt")
    )


def test_oldest_events_go_when_the_store_outgrows_its_size(make_hub):
    hub = make_hub(["--retention-size", "256KiB"]).start()
    rng = random.Random(11)
    written = []
    for i in range(1200):
        # Random text, so sealed blocks stay large enough to need deleting.
        message = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(400))
        status, body, _ = hub.request("POST", EVENTS, core_event(f"ev-{i:05d}", NS, message=message))
        assert status == 201, body
        written.append(body["metadata"]["name"])

    deadline = time.time() + 30
    while time.time() < deadline:
        status, body, _ = hub.request("GET", EVENTS)
        assert status == 200
        left = [item["metadata"]["name"] for item in body["items"]]
        if len(left) < len(written) and wal_bytes(hub.data_dir) <= LIMIT:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"nothing was deleted: {len(left)} events, {wal_bytes(hub.data_dir)} bytes")
    assert left, "only as many as needed go"
    # The survivors are exactly the newest: a suffix of the write order.
    assert sorted(left) == written[len(written) - len(left):]
    hub.stop()
