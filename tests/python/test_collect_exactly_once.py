"""Exactly once under chaos: the Python client creates events and patches their counts in two
source clusters while the collector and the hub are each `kill -9`ed and restarted, and a source
is pushed into `410 Expired` (short watch history, many writes while the watch is away). At the
end the hub holds exactly the source events: same names, same counts, nothing extra."""

import random
import signal
import threading
import time

from collecting import Collector, core_api, event_body, wait_converged, wait_for, write_kubeconfig

HISTORY = 20


class Writer:
    """Creates events and bumps counts (count++, like client-go's recorder) in one source."""

    def __init__(self, name, source, seed):
        self.name, self.source = name, source
        self.api = core_api(source.url)
        self.random = random.Random(seed)
        self.counts = {}

    def step(self):
        if not self.counts or self.random.random() < 0.4:
            event = f"{self.name}-{len(self.counts):04d}"
            self.api.create_namespaced_event("default", event_body(event, message=f"{event} x1"))
            self.counts[event] = 1
        else:
            event = self.random.choice(sorted(self.counts))
            self.counts[event] += 1
            count = self.counts[event]
            self.api.patch_namespaced_event(event, "default", {
                "count": count, "message": f"{event} x{count}",
                "lastTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    def write(self, n):
        for _ in range(n):
            self.step()


def test_exactly_once_through_kills_restarts_and_expired_watches(make_hub, tmp_path):
    sources = {name: make_hub(["--watch-history", str(HISTORY)]).start() for name in ("a", "b")}
    hub = make_hub().start()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {n: {"server": s.url} for n, s in sources.items()})
    collector = Collector(tmp_path, kubeconfig, hub.url, ["--all-contexts", "--batch-size", "25"])
    writers = {name: Writer(name, source, seed) for seed, (name, source) in enumerate(sources.items())}
    urls = {name: source.url for name, source in sources.items()}

    def write_all(n):
        for writer in writers.values():
            writer.write(n)

    def restart_collector():
        collector.kill9()
        collector.start()

    try:
        write_all(30)
        collector.start()
        write_all(20)

        # 1. The collector dies mid-stream; many writes (beyond the watch history) while it is down.
        collector.kill9()
        write_all(3 * HISTORY)
        collector.start()
        write_all(10)

        # 2. The hub dies while events keep coming; the collector retries, nothing is dropped.
        hub.kill9()
        write_all(30)
        hub.start()
        write_all(10)

        # 3. The hub dies in the middle of batches: a writer runs while it is killed and restarted.
        background = threading.Thread(target=write_all, args=(40,))
        background.start()
        time.sleep(0.3)
        hub.kill9()
        time.sleep(0.5)
        hub.start()
        background.join()

        # 4. Source "a" restarts and changes more than its watch history before the collector's
        #    watch comes back: resuming gets 410 Expired and the watcher relists.
        wait_converged(hub, urls)
        lists_before = collector.metric("kevents_collector_lists_total", "a")
        sources["a"].kill9()
        time.sleep(1.5)  # the watch fails a few times, so its retry backoff grows
        # Paused, the collector cannot come back before the writes push its version out of the
        # history, however slow the machine (a resume in the middle would find it still there).
        collector.proc.send_signal(signal.SIGSTOP)
        try:
            sources["a"].start()
            writers["a"].write(3 * HISTORY)
        finally:
            collector.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: collector.metric("kevents_collector_lists_total", "a") > lists_before, timeout=60,
                 message="a relist of source a after 410 Expired")
        assert "Expired" in collector.log()
        write_all(10)

        # 5. Both die at once, then the collector again right after its restart.
        collector.kill9()
        hub.kill9()
        write_all(20)
        hub.start()
        collector.start()
        time.sleep(0.5)
        restart_collector()
        write_all(10)

        views = wait_converged(hub, urls, timeout=120)
        for name, writer in writers.items():
            source_view, hub_view = views[name]
            expected = {("default", event): (count, f"{event} x{count}") for event, count in writer.counts.items()}
            assert source_view == expected, f"source {name} is not what was written"
            assert hub_view == expected, f"hub view of {name} differs"
        total = sum(len(w.counts) for w in writers.values())
        status, listing, _ = hub.request("GET", "/api/v1/events")
        collected = [e for e in listing["items"] if e["metadata"]["labels"].get("kevents.io/cluster") in urls]
        assert len(collected) == total, "no extra events anywhere on the hub"
        skipped = sum(collector.metric("kevents_collector_events_skipped_total", n) for n in urls)
        print(f"{total} events, {sum(sum(w.counts.values()) for w in writers.values())} occurrences; "
              f"the last collector skipped {skipped:.0f} already-applied events")
    finally:
        collector.stop()
