"""The rule engine at scale: an idle hub holding 100,000 events does (almost) nothing, a restart in
the middle of a storm gives the same firing alerts and series counts as a hub that never stopped,
and a storm of crash-looping pods is a handful of alerts."""

import json
import os
import time

from conftest import core_event
from sink_fakes import FakeHttp, _json

CORE = "/api/v1/namespaces/{}/events"


def ingest(hub, cluster, events):
    status, answer, _ = hub.request("POST", f"/kevents/v1/clusters/{cluster}/ingest", {"events": events})
    assert status == 200, answer
    return answer


def crash_event(i, namespace="default", rv=None, count=1):
    pod = f"web-{i}"
    body = core_event(f"{pod}.{i:x}", namespace, reason="BackOff", type="Warning",
                      message="Back-off restarting failed container web in pod " + pod, count=count)
    body["involvedObject"].update({"name": pod, "uid": f"uid-{pod}"})
    body["source"] = {"component": "kubelet", "host": f"node-{i % 50}"}
    if rv is not None:
        body["metadata"].update({"uid": f"uid-e-{i}", "resourceVersion": str(rv)})
    return body


def fill(hub, events, batch=2_000):
    """Writes `events` crash-looping pods' events through the collector ingest path."""
    for start in range(0, events, batch):
        items = [crash_event(i, namespace=f"team-{i % 20}", rv=i + 1) for i in range(start, min(start + batch, events))]
        answer = ingest(hub, "prod", items)
        assert not answer.get("errors"), answer["errors"][:3]


def cpu_seconds(pid):
    """The process's user + system CPU time so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(hub, name):
    _, text, _ = hub.request("GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_an_idle_hub_holding_100000_events_uses_almost_no_cpu(make_hub):
    hub = make_hub(["--rule-evaluation-interval", "1s"]).start()
    fill(hub, 100_000)
    assert metric(hub, "kevents_store_events") == 100_000
    # Let the last evaluation and the writes' aftermath settle, then sample 6 s of no traffic.
    time.sleep(3)
    before, started = cpu_seconds(hub.proc.pid), time.monotonic()
    time.sleep(6)
    used = (cpu_seconds(hub.proc.pid) - before) / (time.monotonic() - started)
    # The target is < 2% of a core in a release build; a debug build is several times slower,
    # so 5% here still fails a hub that evaluates everything it holds every second.
    assert used < 0.05, f"an idle hub used {used:.1%} of a core"
    assert metric(hub, "kevents_alerts_firing") >= 1, "the storm raised alerts"


class Webhook(FakeHttp):
    """Records every alert a webhook is told is firing."""

    def __init__(self):
        super().__init__()
        self.firing = set()

    def handle(self, method, path, headers, body):
        payload = json.loads(body)
        with self.lock:
            for alert in payload["alerts"]:
                key = tuple(sorted(alert["labels"].items()))
                if payload["status"] == "firing":
                    self.firing.add(key)
                else:
                    self.firing.discard(key)
        return _json(200, {})


RULES = """rules:
- name: PodCrashLoop
  match: {type: Warning, reason: BackOff}
  when: {count: 3, window: 10m}
  groupBy: [namespace, name]
- name: NamespaceStorm
  match: {type: Warning}
  when: {count: 40, window: 10m}
  groupBy: [namespace]
"""


def storm(hub, round_no):
    """One round of a storm: every pod of `round_no`'s set restarts once more."""
    for i in range(60):
        if round_no == 2 and i % 2:
            continue  # the last round reaches only half of the pods
        body = crash_event(i, namespace=f"team-{i % 3}")
        body["metadata"]["name"] = f"web-{i}.r{round_no}"
        status, answer, _ = hub.request("POST", CORE.format(f"team-{i % 3}"), body)
        assert status == 201, answer


def firing_after_storm(make_hub, tmp_path, restart):
    rules = tmp_path / f"rules-{restart}.yaml"
    rules.write_text(RULES)
    receiver = Webhook()
    try:
        args = ["--builtin-rules=false", "--rules", str(rules), "--webhook-url", receiver.url + "/hook"]
        hub = make_hub(args).start()
        for round_no in range(3):
            storm(hub, round_no)
            if restart and round_no == 1:
                time.sleep(1.5)  # the first alerts are delivered before the stop
                hub.stop()
                hub.start()
        deadline = time.time() + 20
        while time.time() < deadline and len(receiver.firing) < 33:
            time.sleep(0.2)
        time.sleep(2)
        assert metric(hub, "kevents_alerts_firing") == len(receiver.firing)
        status, listed, _ = hub.request("GET", "/apis/kevents.io/v1/eventseries")
        assert status == 200, listed
        series = {(s["metadata"]["namespace"], s["spec"]["involvedObject"]["name"], s["spec"]["reason"]): s["status"]["count"]
                  for s in listed["items"]}
        return receiver.firing, series
    finally:
        receiver.close()


def test_a_restart_in_the_middle_of_a_storm_gives_the_same_firing_alerts_and_series(make_hub, tmp_path):
    steady, steady_series = firing_after_storm(make_hub, tmp_path, restart=False)
    restarted, restarted_series = firing_after_storm(make_hub, tmp_path, restart=True)
    assert len(steady_series) == 60 and sum(steady_series.values()) == 150, "one series per pod, every restart counted"
    assert restarted_series == steady_series
    pods = {dict(a)["name"] for a in steady if dict(a)["alertname"] == "PodCrashLoop"}
    assert pods == {f"web-{i}" for i in range(0, 60, 2)}, "the third restart of each pod fires"
    assert {dict(a)["namespace"] for a in steady if dict(a)["alertname"] == "NamespaceStorm"} == {
        "team-0", "team-1", "team-2"}
    assert restarted == steady
    assert not os.path.exists(os.path.join(tmp_path, "data-1", "alerts", "state.json"))


def test_a_storm_of_crash_looping_pods_is_a_handful_of_alerts(make_hub):
    hub = make_hub(["--cluster-name", "hub"]).start()
    for round_no in range(3):
        items = []
        for i in range(10_000):
            body = crash_event(i, namespace=f"team-{i % 4}", rv=round_no * 10_000 + i + 1)
            body["metadata"]["name"] = f"web-{i}.r{round_no}"
            body["metadata"]["uid"] = f"uid-{i}-{round_no}"
            items.append(body)
        for start in range(0, len(items), 2_000):
            assert not ingest(hub, "prod", items[start:start + 2_000]).get("errors")
    deadline = time.time() + 20
    while time.time() < deadline and not metric(hub, "kevents_alerts_firing"):
        time.sleep(0.2)
    time.sleep(1.5)
    firing = metric(hub, "kevents_alerts_firing")
    # CrashLoopBackOff per namespace and reason, HighWarningEventRate for the cluster.
    assert 1 <= firing <= 10, firing


def test_a_restarted_hub_reports_its_firing_alerts_once_it_says_the_alert_groups_are_rebuilt(
    make_hub, tmp_path
):
    """The moment `kevents_rebuilding{part="alert_groups"}` reads 0, the firing alerts are the
    rebuilt ones, even with a long evaluation interval (they once read 0 until its next tick)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    hub = make_hub(["--builtin-rules=false", "--rules", str(rules)]).start()
    for round_no in range(3):
        storm(hub, round_no)
    deadline = time.time() + 20
    while time.time() < deadline and metric(hub, "kevents_alerts_firing") != 33:
        time.sleep(0.2)
    assert metric(hub, "kevents_alerts_firing") == 33, "30 pods and 3 namespaces fire"
    hub.stop()
    hub.extra_args += ["--rule-evaluation-interval", "1h"]
    hub.start()
    deadline = time.time() + 20
    while True:
        _, text, _ = hub.request("GET", "/metrics")
        samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and line[0] != "#")
        if float(samples['kevents_rebuilding{part="alert_groups"}']) == 0:
            break
        assert float(samples["kevents_alerts_firing"]) == 0, "nothing fires before the rebuild"
        assert time.time() < deadline, "the alert groups were never rebuilt"
        time.sleep(0.05)
    assert float(samples["kevents_alerts_firing"]) == 33, samples["kevents_alerts_firing"]
