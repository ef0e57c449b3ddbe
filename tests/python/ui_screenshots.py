"""Takes the screenshots of docs/ui.md: a hub filled by `kevents simulate` plus a week of
history and one crash-looping rollout, each view in Chromium (headless, the system browser).

    .venv/bin/python tests/python/ui_screenshots.py docs/ui [NAME...]

With names (e.g. `alerts`), only those screenshots are taken.
"""

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conftest import BIN, Hub, core_event
from ui_browser import browser_context, open_view, sign_in

DAY = 86400


def stamp(at):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def post(hub, event):
    status, answer, _ = hub.request("POST", f"/api/v1/namespaces/{event['metadata']['namespace']}/events", event)
    assert status == 201, answer


def history(hub, now):
    """A week of events with bursts, so the timeline has a shape."""
    rng = random.Random(7)
    shapes = [("Scheduled", "Normal", "Successfully assigned {ns}/{pod} to node-{n}"),
              ("Pulled", "Normal", "Container image \"registry.example.com/app:v1.{n}\" already present"),
              ("BackOff", "Warning", "Back-off restarting failed container app in pod {pod}"),
              ("FailedScheduling", "Warning", "0/{n} nodes are available: 3 Insufficient cpu.")]
    for i in range(1500):
        burst = rng.random() < 0.3
        at = now - (rng.uniform(2 * DAY, 2.2 * DAY) if burst else rng.uniform(0, 7 * DAY))
        reason, kind, template = rng.choice(shapes[2:] if burst else shapes)
        ns = rng.choice(["payments", "checkout", "search"])
        pod = f"api-6d5f7c9b8-{rng.randrange(16**5):05x}"
        event = core_event(f"hist-{i}", ns, reason=reason, type=kind,
                           message=template.format(ns=ns, pod=pod, n=rng.randrange(1, 99)),
                           involvedObject={"kind": "Pod", "namespace": ns, "name": pod, "apiVersion": "v1"},
                           firstTimestamp=stamp(at), lastTimestamp=stamp(at))
        post(hub, event)


def rollout(hub, now):
    """Deployment web → ReplicaSet web-7d9f8b6c5 → a crash-looping pod, as their controllers
    report them."""
    ns, rs, pod = "checkout", "web-7d9f8b6c5", "web-7d9f8b6c5-x2x4q"
    post(hub, core_event("web.1", ns, reason="ScalingReplicaSet", message=f"Scaled up replica set {rs} to 3",
                         involvedObject={"kind": "Deployment", "namespace": ns, "name": "web", "apiVersion": "apps/v1"},
                         source={"component": "deployment-controller"},
                         firstTimestamp=stamp(now - 5400), lastTimestamp=stamp(now - 5400)))
    post(hub, core_event("web-rs.1", ns, reason="SuccessfulCreate", message=f"Created pod: {pod}",
                         involvedObject={"kind": "ReplicaSet", "namespace": ns, "name": rs, "apiVersion": "apps/v1"},
                         source={"component": "replicaset-controller"},
                         firstTimestamp=stamp(now - 5390), lastTimestamp=stamp(now - 5390)))
    obj = {"kind": "Pod", "namespace": ns, "name": pod, "apiVersion": "v1"}
    for i, (reason, kind, message, first, last, count) in enumerate([
            ("Scheduled", "Normal", f"Successfully assigned {ns}/{pod} to node-4", 5380, 5380, 1),
            ("Pulled", "Normal", "Container image \"registry.example.com/web:v2.1\" already present", 5370, 300, 14),
            ("Started", "Normal", "Started container web", 5360, 290, 14),
            ("BackOff", "Warning", f"Back-off restarting failed container web in pod {pod}", 5300, 3600, 21),
            ("BackOff", "Warning", f"Back-off restarting failed container web in pod {pod}", 1800, 60, 9)]):
        post(hub, core_event(f"{pod}.{i}", ns, reason=reason, type=kind, message=message, involvedObject=obj,
                             source={"component": "kubelet"}, count=count,
                             firstTimestamp=stamp(now - first), lastTimestamp=stamp(now - last)))
    return ns, pod


def main(out, only=()):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    hub = Hub(Path(tempfile.mkdtemp()) / "data").start()
    try:
        now = time.time()
        history(hub, now)
        ns, pod = rollout(hub, now)
        subprocess.run([BIN, "simulate", "--to", hub.url, "--events", "3000", "--rate", "0"],
                       check=True, capture_output=True)
        views = [("events", "#/events?range=24h", (1280, 600), "light"),
                 ("events-grouped-dark", "#/events?range=24h&type=Warning&group=1", (1280, 500), "dark"),
                 ("timeline", "#/timeline?range=7d", (1280, 800), "light"),
                 ("object", f"#/object?kind=Pod&ns={ns}&name={pod}", (1280, 800), "light"),
                 ("patterns", "#/patterns", (1280, 600), "dark"),
                 ("clusters", "#/clusters", (1280, 500), "light"),
                 ("alerts", "#/alerts", (1280, 800), "light"),
                 ("events-phone", "#/events?range=24h", (390, 760), "light")]
        for name, view, size, scheme in views:
            if only and name not in only:
                continue
            with browser_context(viewport=size, color_scheme=scheme) as context:
                page = context.new_page()
                sign_in(page, hub.url, None, "#/events")
                open_view(page, hub.url, view)
                if name == "alerts":
                    # An alert opened, with the events that caused it.
                    firing = page.locator(".alert-group[data-state='firing'] tr.alert-row")
                    crashing = firing.filter(has_text="CrashLoopBackOff")
                    (crashing if crashing.count() else firing).first.click()
                    page.locator(".alert-detail").wait_for()
                page.wait_for_timeout(300)
                page.screenshot(path=str(out / f"{name}.png"))
                print(out / f"{name}.png")
    finally:
        hub.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/ui", sys.argv[2:])
