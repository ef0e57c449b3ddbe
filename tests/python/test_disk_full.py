"""A full disk through the real binary: the hub's data directory is a small tmpfs; writes past
its end get a `507 InsufficientStorage` Status and `/readyz` turns 503, reads keep answering with
every acknowledged event, readiness and writes return once space is freed, and a restart finds
everything intact.

Needs permission to mount a tmpfs (root); skipped with the reason otherwise."""

import os
import random
import subprocess

import pytest

from conftest import core_event

NS = "full"
EVENTS = f"/api/v1/namespaces/{NS}/events"


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "data"
    mount_point.mkdir()
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
            capture_output=True, text=True, timeout=30,
        )
    except OSError as e:
        pytest.skip(f"cannot run mount: {e}")
    if result.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        # Lazily, so a hub that is still shutting down cannot leave the mount behind.
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, timeout=30)


def event(i, rng):
    # Random text so no layer compresses the disk full sooner or later than expected.
    message = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(900))
    return core_event(f"fill-{i:05d}", NS, message=message)


def names(hub):
    status, body, _ = hub.request("GET", EVENTS)
    assert status == 200, body
    return sorted(item["metadata"]["name"] for item in body["items"])


def test_full_disk_answers_507_keeps_reads_and_resumes(make_hub, small_disk):
    ballast = small_disk / "ballast.bin"
    ballast.write_bytes(os.urandom(1024 * 1024))
    hub = make_hub(data_dir=small_disk).start()
    rng = random.Random(7)
    acked = []
    for i in range(20_000):
        status, body, _ = hub.request("POST", EVENTS, event(i, rng))
        if status != 201:
            break
        acked.append(body["metadata"]["name"])
    else:
        pytest.fail("a 3 MiB disk never filled")
    assert status == 507, body
    assert body["kind"] == "Status" and body["reason"] == "InsufficientStorage", body
    assert body["code"] == 507
    assert acked, "some writes fit before the disk filled"

    # Reads keep working: every acknowledged event, nothing of the refused one.
    assert names(hub) == sorted(acked)
    status, one, _ = hub.request("GET", f"{EVENTS}/{acked[0]}")
    assert status == 200 and one["metadata"]["name"] == acked[0]
    status, _, _ = hub.request("POST", EVENTS, event(len(acked), rng))
    assert status == 507, "still full"
    # Not ready while the disk takes no writes, so a Service sends writes elsewhere.
    status, body, _ = hub.request("GET", "/readyz")
    assert status == 503, body

    # Space returns: ready again at once, and writes resume.
    ballast.unlink()
    status, body, _ = hub.request("GET", "/readyz")
    assert status == 200, body
    status, body, _ = hub.request("POST", EVENTS, event(len(acked), rng))
    assert status == 201, body
    acked.append(body["metadata"]["name"])
    hub.stop()

    # Nothing stored was damaged.
    hub = make_hub(data_dir=small_disk).start()
    assert names(hub) == sorted(acked)
    status, _, _ = hub.request("POST", EVENTS, event(len(acked), rng))
    assert status == 201
    hub.stop()
