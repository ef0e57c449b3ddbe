"""Benchmark: `kevents collect` from a real kube-apiserver into a hub, against the apiserver's own
watch as the anchor (both measured in the same run, on loopback).

    KEVENTS_K8S_BIN=$(scripts/build-k8s | tail -n 1) .venv/bin/python tests/python/bench_k8s_collect.py \
        [--events 4000] [--writers 8]

1. Live: writers create events in the apiserver while a watch on the apiserver (the anchor) and
   a watch on the hub (`/clusters/real/…`, fed by the collector) note when each event arrives.
   Reported: the apiserver's create rate, and p50/p99 of (arrival - create acknowledged) for
   the direct watch and for the hub.
2. Backlog: the collector is stopped, as many events again are created, the collector starts
   and lists them: events/s until the hub holds them all.
"""

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collecting import Collector  # noqa: E402
from conftest import Hub  # noqa: E402
from controlplane import ControlPlane  # noqa: E402
from k8s_workloads import create_events, write_kubeconfig  # noqa: E402


def watch_arrivals(open_stream, arrivals, prefix, stop):
    """Reads a watch stream, noting the first arrival time of each event named `prefix…`."""
    with open_stream() as stream:
        for line in stream:
            if stop.is_set():
                return
            event = json.loads(line)
            name = event.get("object", {}).get("metadata", {}).get("name", "")
            if name.startswith(prefix) and name not in arrivals:
                arrivals[name] = time.monotonic()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--writers", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kevents-bench-collect-"))
    plane = ControlPlane(work / "k8s", controllers=False, apiserver_args=["--max-requests-inflight", "1000"])
    hub = Hub(work / "hub")
    collector = None
    stop = threading.Event()
    try:
        plane.start()
        hub.start()
        collector = Collector(work, write_kubeconfig(work / "kubeconfig", plane), hub.url,
                              ["--context", "real", "--batch-size", "500"]).start()
        rv = plane.get("/api/v1/namespaces/default/events?limit=1")[1]["metadata"]["resourceVersion"]
        direct, mirrored = {}, {}

        def apiserver_watch():
            req = urllib.request.Request(
                f"{plane.server}/api/v1/namespaces/default/events?watch=1&resourceVersion={rv}",
                headers={"Authorization": f"Bearer {plane.token}"})
            return urllib.request.urlopen(req, timeout=600, context=plane.ssl_context())

        def hub_watch():
            return urllib.request.urlopen(f"{hub.url}/clusters/real/api/v1/namespaces/default/events?watch=1",
                                          timeout=600)

        for target in (lambda: watch_arrivals(apiserver_watch, direct, "live-", stop),
                       lambda: watch_arrivals(hub_watch, mirrored, "live-", stop)):
            threading.Thread(target=target, daemon=True).start()
        time.sleep(1)
        names = [f"live-{i:06d}" for i in range(args.events)]
        times, seconds = create_events(plane, names, args.writers)
        acknowledged = {name: acked for name, (_, acked) in times.items()}
        deadline = time.time() + 120
        while len(mirrored) < len(names) and time.time() < deadline:
            time.sleep(0.2)
        stop.set()
        print(f"apiserver creates: {len(names)} events in {seconds:.2f} s = {len(names) / seconds:,.0f} events/s "
              f"({args.writers} writers)")
        for label, arrivals in (("apiserver watch (anchor)", direct), ("hub via collector", mirrored)):
            lags = [(arrivals[n] - acknowledged[n]) * 1000 for n in names if n in arrivals]
            if not lags:
                print(f"{label}: nothing arrived")
                continue
            print(f"{label}: {len(lags)}/{len(names)} arrived; lag p50 {statistics.median(lags):.1f} ms, "
                  f"p99 {percentile(lags, 99):.1f} ms, max {max(lags):.1f} ms")

        collector.stop()
        backlog = [f"backlog-{i:06d}" for i in range(args.events)]
        create_events(plane, backlog, args.writers)
        started = time.monotonic()
        collector.start()
        expected = len(names) + len(backlog)
        while time.monotonic() - started < 300:
            status, body, _ = hub.request("GET", "/clusters/real/api/v1/namespaces/default/events?limit=1")
            held = int(hub.request("GET", "/apis/kevents.io/v1/eventcounts?by=cluster")[1]["items"][0]["events"]) \
                if status == 200 else 0
            if held >= expected:
                break
            time.sleep(0.1)
        seconds = time.monotonic() - started
        print(f"backlog: {len(backlog)} events listed and collected in {seconds:.2f} s "
              f"= {len(backlog) / seconds:,.0f} events/s (including the collector's start)")
    finally:
        stop.set()
        if collector:
            collector.stop()
        hub.stop()
        plane.stop()


if __name__ == "__main__":
    main()
