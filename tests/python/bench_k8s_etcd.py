"""Benchmark: events created through a real kube-apiserver whose `/events` are stored in kevents
(`--etcd-servers-overrides=/events#` at `kevents serve --etcd-listen`) against the same with a
dedicated etcd behind `/events` (the usual events etcd), side by side in one run, on loopback.

    KEVENTS_K8S_BIN=$(scripts/build-k8s | tail -n 1) KEVENTS_BIN=target/release/kevents \\
        .venv/bin/python tests/python/bench_k8s_etcd.py [--events 4000] [--writers 8] [--rounds 3]

One control plane (its main etcd without fsync, as in the tests: it holds everything but the
events), one hub and one dedicated etcd with its default durability (fsync). In each of
`--rounds` interleaved rounds the apiserver is pointed (restarted with the override) at kevents
and at etcd in turn, the side going first alternating, and each run creates the same number of
events from `--writers` keep-alive connections; the table gives the medians of the rounds.
To see both sides' disk as they settle, within minutes: the apiserver compacts every 30 s (its
default is 5 minutes) and the measurement waits for two compactions after the last write (the
hub's store checkpoints after each compaction that follows writes through the endpoint; its
`--checkpoint-log-bytes` stays at its default unless given). Reported: events/s, p50/p99
of the create latency seen by the client, and bytes on disk per event: for kevents the hub's
whole data dir (the etcd view's log, the store's log and its checkpoints); for etcd its data dir
as written, then its database file after a compaction to the current revision and a
defragmentation (the WAL's segments are preallocated to 64 MiB each, so they are counted
apart). The work directory is removed at the end unless KEEP=1.
"""

import argparse
import base64
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import Hub, free_port  # noqa: E402
from controlplane import ControlPlane, Process  # noqa: E402
from k8s_workloads import create_events  # noqa: E402


# The apiserver's --etcd-compaction-interval here (its default is 5 minutes).
COMPACTION_SECONDS = 30


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def disk_bytes(path):
    """Bytes of the files under `path` (apparent sizes)."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def etcd_call(url, method, body):
    req = urllib.request.Request(f"{url}/v3/{method}", data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def start_events_etcd(work, binaries):
    """A dedicated etcd for events, with fsync (etcd's default)."""
    port, peer = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    etcd = Process("events-etcd", [
        str(binaries / "etcd"), "--name", "events", "--data-dir", str(work / "events-etcd"),
        "--listen-client-urls", url, "--advertise-client-urls", url,
        "--listen-peer-urls", f"http://127.0.0.1:{peer}",
        "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
        "--initial-cluster", f"events=http://127.0.0.1:{peer}", "--log-level", "warn",
    ], work).start()
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return etcd, url
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"the events etcd did not start:\n{etcd.log_tail()}")


def run(plane, label, prefix, args):
    names = [f"{prefix}-{i:06d}" for i in range(args.events)]
    create_events(plane, [f"{prefix}-warmup-{i}" for i in range(100)], args.writers)
    times, seconds = create_events(plane, names, args.writers)
    latencies = [acked - sent for sent, acked in times.values()]
    ms = [s * 1000 for s in latencies]
    result = {"label": label, "rate": len(names) / seconds, "p50": statistics.median(ms), "p99": percentile(ms, 99)}
    print(f"{label}: {len(names)} creates in {seconds:.2f} s = {result['rate']:,.0f} events/s; "
          f"latency p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms", flush=True)
    return result


def point_apiserver_at(plane, url):
    plane.etcd_servers_overrides = f"/events#{url}"
    plane.restart_apiserver()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=4000, help="events created per round and backend")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each: kevents and etcd)")
    parser.add_argument("--checkpoint-log-bytes", type=int, default=None,
                        help="the hub's --checkpoint-log-bytes (default: the hub's own, 128 MiB)")
    args = parser.parse_args()
    per_round = args.events + 100
    work = Path(tempfile.mkdtemp(prefix="kevents-bench-etcd-"))
    hub_port = free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    hub_args = ["--etcd-listen", f"127.0.0.1:{hub_port}"]
    if args.checkpoint_log_bytes:
        hub_args += ["--checkpoint-log-bytes", str(args.checkpoint_log_bytes)]
    hub = Hub(work / "hub", hub_args)
    plane = ControlPlane(work / "k8s", controllers=False,
                         apiserver_args=["--max-requests-inflight", "1000",
                                         "--etcd-compaction-interval", f"{COMPACTION_SECONDS}s"],
                         etcd_servers_overrides=f"/events#{hub_url}")
    events_etcd = None
    results = {"kevents": [], "etcd": []}
    try:
        hub.start()
        plane.start()
        events_etcd, etcd_url = start_events_etcd(work, plane.bin)
        pointed = "kevents"
        for round_number in range(1, args.rounds + 1):
            # The side that goes first alternates, so neither always runs on a warmer machine.
            order = ["kevents", "etcd"] if round_number % 2 else ["etcd", "kevents"]
            for side in order:
                if side != pointed:
                    point_apiserver_at(plane, hub_url if side == "kevents" else etcd_url)
                    pointed = side
                label = f"round {round_number}: {side} behind /events"
                results[side].append(run(plane, label, f"{side[0]}{round_number}", args))

        total = per_round * args.rounds
        # The apiserver compacts to the revision of its previous tick: two ticks after the last
        # write, the etcd view's log is one snapshot of the live events.
        if pointed != "kevents":
            point_apiserver_at(plane, hub_url)
        time.sleep(2 * COMPACTION_SECONDS + 10)
        hub_bytes = disk_bytes(hub.data_dir)
        etcd_log = disk_bytes(Path(hub.data_dir) / "etcd")
        print(f"kevents: {hub_bytes:,} bytes in the hub's data dir = {hub_bytes / total:,.0f} bytes/event, "
              f"{etcd_log / total:,.0f} of them the etcd view's log; by file:", flush=True)
        for path in sorted(Path(hub.data_dir).rglob("*")):
            if path.is_file() and path.stat().st_size > hub_bytes / 100:
                print(f"  {path.relative_to(hub.data_dir)}: {path.stat().st_size:,} bytes "
                      f"= {path.stat().st_size / total:,.0f} bytes/event", flush=True)
        data = work / "events-etcd"
        written = disk_bytes(data)
        wal = disk_bytes(data / "member" / "wal")
        key = base64.b64encode(b"/").decode()
        revision = int(etcd_call(etcd_url, "kv/range", {"key": key, "limit": 1, "count_only": True})["header"]["revision"])
        etcd_call(etcd_url, "kv/compaction", {"revision": str(revision), "physical": True})
        etcd_call(etcd_url, "maintenance/defragment", {})
        db = disk_bytes(data / "member" / "snap")
        print(f"etcd: {written:,} bytes in its data dir as written ({wal:,} of them WAL, preallocated), "
              f"= {written / total:,.0f} bytes/event; after compaction and defrag: db {db:,} bytes "
              f"= {db / total:,.0f} bytes/event, + WAL {wal / total:,.0f} bytes/event", flush=True)

        def median(side, field):
            return statistics.median(r[field] for r in results[side])

        print()
        print(f"{args.rounds} interleaved rounds of {args.events} events, {args.writers} writers; medians of the rounds")
        print("| behind /events | events/s | p50 ms | p99 ms | bytes on disk per event |")
        print("|---|---|---|---|---|")
        print(f"| kevents | {median('kevents', 'rate'):,.0f} | {median('kevents', 'p50'):.1f} | "
              f"{median('kevents', 'p99'):.1f} | {hub_bytes / total:,.0f} (hub data dir, etcd view log included) |")
        print(f"| etcd | {median('etcd', 'rate'):,.0f} | {median('etcd', 'p50'):.1f} | {median('etcd', 'p99'):.1f} | "
              f"{written / total:,.0f} as written; {db / total:,.0f} db after compact+defrag, "
              f"+ {wal / total:,.0f} WAL |")
        rates = [k["rate"] / e["rate"] for k, e in zip(results["kevents"], results["etcd"])]
        print(f"ratios kevents/etcd: throughput {median('kevents', 'rate') / median('etcd', 'rate'):.2f}x "
              f"(per round: {', '.join(f'{r:.2f}x' for r in rates)}), "
              f"p50 {median('kevents', 'p50') / median('etcd', 'p50'):.2f}x, "
              f"disk {hub_bytes / written:.3f}x of etcd as written, {hub_bytes / max(db, 1):.3f}x of its compacted db")
    finally:
        plane.stop()
        if events_etcd:
            events_etcd.stop()
        hub.stop()
        if os.environ.get("KEEP"):
            print(f"(work dir kept: {work})")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
