"""Benchmark of the web UI (not a test): a hub holding 1,000,000 events last seen over 30 days,
then, in headless Chromium, the time from navigation to the first rows of the Events view and
to the drawn Timeline of 30 days, and the frame times while scrolling 100,000 rows. The anchor,
measured in the same run, is the API request each view makes, sent from Python: the ratio is
what the page adds to the hub's answer.

    KEVENTS_BIN=target/release/kevents .venv/bin/python tests/python/bench_ui.py [--events N]
"""

import argparse
import re
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from conftest import BIN, Hub
from ui_browser import browser_context

DAY = 86400
STAMP = re.compile(r'"(firstTimestamp|lastTimestamp)":"[^"]*"')


def fill(hub, events):
    """`kevents simulate` events, their times spread evenly over the last 30 days (newest last),
    written as a collector does (batches of 2,000 to the ingest endpoint, cluster `bench`)."""
    now = time.time()
    simulate = subprocess.Popen([BIN, "simulate", "--events", str(events), "--repeat-ratio", "0", "--seed", "3"],
                                stdout=subprocess.PIPE)
    batch = []

    def send():
        body = ('{"events":[' + ",".join(batch) + f'],"cursor":"{len(batch)}"}}').encode()
        request = urllib.request.Request(f"{hub.url}/kevents/v1/clusters/bench/ingest", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=300) as answer:
            answer.read()
        batch.clear()

    for i, line in enumerate(simulate.stdout):
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 30 * DAY + 30 * DAY * i / events))
        line = STAMP.sub(lambda m: f'"{m.group(1)}":"{at}"', line.decode().strip())
        batch.append(line.replace('"metadata":{', f'"metadata":{{"resourceVersion":"{i + 1}",', 1))
        if len(batch) == 2000:
            send()
    if batch:
        send()
    assert simulate.wait() == 0


def api_millis(url, runs=5):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with urllib.request.urlopen(url) as answer:
            answer.read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def page_millis(context, url, mark, runs=5):
    """Median time from navigation start to the performance mark the view sets."""
    times = []
    for _ in range(runs):
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("m => performance.getEntriesByName(m).length > 0", arg=mark, timeout=60_000)
        times.append(page.evaluate("m => performance.getEntriesByName(m)[0].startTime", mark))
        page.close()
    return statistics.median(times)


def scroll_frames(context, url):
    """Frame intervals (ms) while the list of the view at `url` is scrolled through."""
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("main[data-ready='1']", timeout=600_000)
    rows = int(page.locator(".status").inner_text().split()[0])
    frames = page.evaluate("""async () => {
        const list = document.querySelector('.vlist');
        const gaps = [];
        let last = performance.now();
        for (let i = 0; i < 240; i++) {
            list.scrollTop += list.scrollHeight / 300;
            await new Promise(r => requestAnimationFrame(r));
            const now = performance.now();
            gaps.push(now - last);
            last = now;
        }
        return gaps;
    }""")
    page.close()
    return rows, frames


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(Path(tmp) / "data").start()
        try:
            started = time.time()
            fill(hub, args.events)
            print(f"filled {args.events} events over 30 days in {time.time() - started:.0f} s")
            held = api_millis(f"{hub.url}/apis/kevents.io/v1/eventcounts?by=type&since=720h", runs=1)
            events_api = api_millis(f"{hub.url}/api/v1/events?since=1h&limit=500")
            timeline_api = api_millis(f"{hub.url}/apis/kevents.io/v1/eventcounts?by=type&since=720h&step=28800s&limit=0")
            with browser_context() as context:
                events_page = page_millis(context, f"{hub.url}/ui/#/events", "kevents:events-rows")
                timeline_page = page_millis(context, f"{hub.url}/ui/#/timeline?range=30d", "kevents:timeline-drawn")
                rows, frames = scroll_frames(context, f"{hub.url}/ui/#/events?range=72h")
                few, few_frames = scroll_frames(context, f"{hub.url}/ui/#/events?range=72h&reason=Evicted")
            frames.sort()
            few_frames.sort()
            print(f"(a first count of all events took {held:.0f} ms)")
            print(f"Events view, first rows: {events_page:.0f} ms from navigation "
                  f"(anchor: its first list request alone {events_api:.0f} ms; ratio {events_page / events_api:.1f}x)")
            print(f"Timeline 30 days: {timeline_page:.0f} ms from navigation "
                  f"(anchor: its bucketed count alone {timeline_api:.0f} ms; ratio {timeline_page / timeline_api:.1f}x)")
            print(f"Scrolling {rows} rows: frame interval median {statistics.median(frames):.1f} ms, "
                  f"p95 {frames[int(len(frames) * 0.95)]:.1f} ms, worst {frames[-1]:.1f} ms "
                  f"(anchor: the same scroll through {few} rows, median {statistics.median(few_frames):.1f} ms; "
                  f"ratio {statistics.median(frames) / statistics.median(few_frames):.2f}x)")
        finally:
            hub.stop()


if __name__ == "__main__":
    main()
