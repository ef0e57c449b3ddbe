"""Triggers against local receivers: a webhook once per dedupe key per cooldown, signed, exactly
one CloudEvent id through a `kill -9` and a receiver outage, the kill switch, a storm held to the
rate limit, alerts of the rule engine starting (Slack) and resolving (webhook), dry runs, a watch
of TriggerRuns, and bad trigger files refused with the reason."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from collecting import wait_for
from conftest import BIN, core_event, free_port
from sink_fakes import WebhookReceiver

SECRET = "s3cret"


def write_triggers(path, url, cooldown="1h", rate_limit=None, extra=""):
    rate = f"\n    rateLimit: {{count: {rate_limit}, per: 1m}}" if rate_limit else ""
    Path(path).write_text(
        f"""triggers:
- name: crash-hook
  when:
    event: {{reason: BackOff, kind: Pod, namespace: "prod-*"}}
  action:
    webhook: {{url: "{url}/hook", hmacSecret: {SECRET}}}
  safety:
    cooldown: {cooldown}{rate}
  retry: {{initialBackoff: 200ms, maxBackoff: 1s, maxAttempts: 1000}}
{extra}"""
    )
    return path


def backoff(name, pod, namespace="prod-eu"):
    event = core_event(name, namespace, reason="BackOff", type="Warning",
                       message="Back-off restarting failed container")
    event["involvedObject"] = {"kind": "Pod", "namespace": namespace, "name": pod, "uid": f"uid-{pod}"}
    return event


def post(hub, event):
    status, body, _ = hub.request("POST", f"/api/v1/namespaces/{event['metadata']['namespace']}/events", event)
    assert status == 201, body


def runs(hub):
    status, body, _ = hub.request("GET", "/apis/kevents.io/v1/triggerruns")
    assert status == 200, body
    return body["items"]


def test_webhook_fires_once_per_dedupe_key_per_cooldown_signed_as_a_cloud_event(make_hub, tmp_path):
    receiver = WebhookReceiver(secret=SECRET)
    try:
        triggers = write_triggers(tmp_path / "triggers.yaml", receiver.url, cooldown="6s")
        hub = make_hub(["--triggers", str(triggers)]).start()
        started = time.time()
        for i in range(3):
            post(hub, backoff(f"web-0.{i}", "web-0"))
        post(hub, backoff("web-1.0", "web-1"))
        post(hub, backoff("other.0", "web-2", namespace="dev"))  # outside the namespace glob
        wait_for(lambda: len(receiver.bodies) >= 2, message="two CloudEvents")
        time.sleep(1.5)
        assert len(receiver.bodies) == 2, receiver.bodies
        assert receiver.errors == [], receiver.errors  # every signature verified
        assert {h.get("content-type") for h in receiver.headers} == {"application/cloudevents+json"}
        by_pod = {b["data"]["events"][0]["event"]["involvedObject"]["name"]: b for b in receiver.bodies}
        assert set(by_pod) == {"web-0", "web-1"}
        first = by_pod["web-0"]
        assert first["specversion"] == "1.0" and first["type"] == "io.kevents.trigger"
        assert first["id"].startswith("crash-hook-") and first["id"] != by_pod["web-1"]["id"]
        assert first["data"]["dedupeKey"] == "default/prod-eu/pod/web-0/BackOff"

        # The runs, as kubectl shows them: succeeded, with the suppressed repeats counted.
        def settled():
            items = runs(hub)
            done = [r for r in items if r["status"]["phase"] == "Succeeded"]
            return items if len(done) == 2 and sum(r["status"]["suppressed"]["cooldown"] for r in items) == 2 else None
        items = wait_for(settled, message="two succeeded runs with the repeats counted")
        run = next(r for r in items if r["metadata"]["name"] == first["id"])
        assert run["metadata"]["namespace"] == "prod-eu"
        assert run["spec"]["idempotencyKey"] == first["id"]
        assert run["spec"]["matchedEvents"][0]["name"] == "web-0.0"
        assert run["status"]["attempts"] == 1 and run["status"]["suppressed"]["cooldown"] == 2
        table = hub.kubectl("get", "triggerruns", "-A").stdout
        assert "TRIGGER" in table and "Succeeded" in table and first["id"] in table, table

        # After the cooldown the same key fires again, with a new id.
        time.sleep(max(0.0, started + 7 - time.time()))
        post(hub, backoff("web-0.9", "web-0"))
        wait_for(lambda: len(receiver.bodies) == 3, message="a second firing of web-0")
        assert receiver.bodies[2]["id"] not in {first["id"], by_pod["web-1"]["id"]}
    finally:
        receiver.close()


def test_kill9_between_match_and_delivery_still_delivers_exactly_one_cloud_event_id(make_hub, tmp_path):
    port = free_port()  # nothing listens: the receiver is down
    triggers = write_triggers(tmp_path / "triggers.yaml", f"http://127.0.0.1:{port}")
    data = tmp_path / "data"
    hub = make_hub(["--triggers", str(triggers)], data_dir=data).start()
    post(hub, backoff("web-0.0", "web-0"))
    wait_for(lambda: any(r["status"]["attempts"] >= 1 for r in runs(hub)), message="a failed attempt")
    hub.kill9()
    # Back up, but refusing the first attempt: the retry must carry the same id.
    receiver = WebhookReceiver(secret=SECRET, port=port, fail_first=1)
    try:
        hub.start()
        wait_for(lambda: receiver.bodies, message="the delivery after the restart")
        time.sleep(1.5)
        ids = {b["id"] for b in receiver.bodies + receiver.failed}
        assert len(ids) == 1 and len(receiver.bodies) == 1, (receiver.bodies, receiver.failed)
        assert len(receiver.failed) == 1
        run = wait_for(lambda: [r for r in runs(hub) if r["status"]["phase"] == "Succeeded"], message="success")[0]
        assert run["metadata"]["name"] in ids and run["status"]["attempts"] >= 3
        # A restart re-reads nothing twice: no second firing of the same event.
        hub.stop()
        hub.start()
        time.sleep(2)
        assert len(receiver.bodies) == 1 and len(runs(hub)) == 1
    finally:
        receiver.close()


def test_paused_trigger_does_nothing_until_resumed(make_hub, tmp_path):
    receiver = WebhookReceiver(secret=SECRET)
    try:
        triggers = write_triggers(tmp_path / "triggers.yaml", receiver.url)
        hub = make_hub(["--triggers", str(triggers)]).start()
        switch = [BIN, "triggers", "pause", "crash-hook", "--server", hub.url]
        out = subprocess.run(switch, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and "paused" in out.stdout, out.stderr
        post(hub, backoff("web-0.0", "web-0"))
        trigger = wait_for(lambda: (lambda t: t if t["status"]["suppressed"] == 1 else None)(
            hub.request("GET", "/apis/kevents.io/v1/triggers/crash-hook")[1]), message="a suppressed firing")
        assert trigger["spec"]["paused"] is True and trigger["status"]["runs"] == 0
        assert receiver.bodies == [] and runs(hub) == []
        switch[2] = "resume"
        assert subprocess.run(switch, capture_output=True, timeout=30).returncode == 0
        post(hub, backoff("web-0.1", "web-0"))
        wait_for(lambda: len(receiver.bodies) == 1, message="a firing after resume")
        unknown = subprocess.run([BIN, "triggers", "pause", "nope", "--server", hub.url],
                                 capture_output=True, text=True, timeout=30)
        assert unknown.returncode != 0 and "not found" in unknown.stderr, unknown.stderr
    finally:
        receiver.close()


def test_a_storm_of_10000_matching_events_fires_only_the_rate_limit(make_hub, tmp_path):
    receiver = WebhookReceiver(secret=SECRET)
    try:
        triggers = write_triggers(tmp_path / "triggers.yaml", receiver.url, rate_limit=5)
        hub = make_hub(["--triggers", str(triggers)]).start()
        started = time.time()
        # As a collector writes them: batches of 1,000 from cluster `edge`.
        for start in range(0, 10_000, 1_000):
            batch = []
            for i in range(start, start + 1_000):
                event = backoff(f"storm-{i}.0", f"storm-{i}")
                event["metadata"].update({"uid": f"uid-storm-{i}", "resourceVersion": str(i + 1)})
                batch.append(event)
            status, answer, _ = hub.request("POST", "/kevents/v1/clusters/edge/ingest", {"events": batch})
            assert status == 200 and not answer.get("errors"), answer
        assert time.time() - started < 60, "the storm took more than a minute to write"

        def counted():
            items = runs(hub)
            total = sum(r["status"]["suppressed"]["rateLimit"] for r in items)
            return items if total == 10_000 - len(items) else None
        items = wait_for(counted, timeout=60, message="every suppression counted")
        assert len(items) == 5, [r["metadata"]["name"] for r in items]
        wait_for(lambda: len(receiver.bodies) == 5, message="five deliveries")
        time.sleep(1)
        assert len(receiver.bodies) == 5
        trigger = hub.request("GET", "/apis/kevents.io/v1/triggers/crash-hook")[1]
        assert trigger["status"] == {"runs": 5, "suppressed": 9995}
    finally:
        receiver.close()


@pytest.mark.parametrize(
    "text, reason",
    [
        ("triggers:\n- name: a\n  when: {event: {reason: X}}\n  action: {webhook: {url: 'http://h'}}\n  colour: red\n",
         "unknown field `colour`"),
        ("triggers:\n- name: a\n  when: {event: {reason: X}}\n  action: {slack: {url: 'http://h', text: '{{ nope }}'}}\n",
         "action.slack.text: unknown template field \"nope\""),
        ("triggers:\n- name: a\n  when: {event: {message: '(unclosed'}}\n  action: {webhook: {url: 'http://h'}}\n",
         "when.event.message"),
        ("triggers:\n- name: a\n  when: {event: {reason: X}}\n  action: {webhook: {url: 'ftp://h'}}\n",
         "action.webhook.url"),
        ("triggers:\n- name: a\n  when: {event: {reason: X}}\n  action: {kubernetes: {object: {kind: Job}}}\n",
         "action.kubernetes.object.apiVersion: required"),
        ("triggers:\n- name: Bad_Name\n  when: {event: {reason: X}}\n  action: {webhook: {url: 'http://h'}}\n",
         "name: use 1-40 lowercase"),
    ],
)
def test_bad_trigger_files_are_refused_at_load_with_the_reason(tmp_path, text, reason):
    path = tmp_path / "triggers.yaml"
    path.write_text(text)
    check = subprocess.run([BIN, "triggers", "check", str(path)], capture_output=True, text=True, timeout=30)
    assert check.returncode != 0 and reason in check.stderr, check.stderr
    serve = subprocess.run(
        [BIN, "serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(tmp_path / "data"),
         "--triggers", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert serve.returncode != 0 and reason in serve.stderr, serve.stderr


def test_alert_triggers_fire_once_on_start_and_on_resolve_and_dry_runs_only_record(make_hub, tmp_path):
    slack, hook = WebhookReceiver(), WebhookReceiver(secret=SECRET)
    try:
        rules = tmp_path / "rules.yaml"
        rules.write_text(
            "rules:\n- name: NodeDown\n  match: {reason: NodeNotReady, kind: Node}\n"
            "  groupBy: [cluster, name]\n  resolveAfter: 3s\n"
            "  annotations: {summary: 'Node {{ name }} is not ready'}\n")
        triggers = tmp_path / "triggers.yaml"
        triggers.write_text(f"""triggers:
- name: page-node-down
  when:
    alert: {{name: [NodeDown], on: firing}}
  action:
    slack: {{url: "{slack.url}/services/T0/B0/X", text: "{{{{ alert }}}}: {{{{ message }}}} ({{{{ cluster }}}})"}}
- name: node-recovered
  when:
    alert: {{name: ["Node*"], labels: {{name: "worker-*"}}, on: resolved}}
  action:
    webhook: {{url: "{hook.url}/hook", hmacSecret: {SECRET}}}
- name: dry-node
  when:
    event: {{reason: NodeNotReady}}
  action:
    webhook: {{url: "{hook.url}/dry"}}
  safety: {{dryRun: true}}
""")
        hub = make_hub(["--triggers", str(triggers), "--rules", str(rules), "--rule-evaluation-interval", "500ms"]).start()
        node = core_event("worker-1.nnr", reason="NodeNotReady", type="Warning",
                          message="Node worker-1 status is now: NodeNotReady")
        node["involvedObject"] = {"kind": "Node", "name": "worker-1"}
        post(hub, node)
        wait_for(lambda: slack.bodies, message="the Slack message")
        assert slack.bodies == [{"text": "NodeDown: Node worker-1 is not ready (default)"}]
        resolved = wait_for(lambda: hook.bodies, timeout=30, message="the resolved CloudEvent")
        assert len(resolved) == 1 and resolved[0]["subject"] == "alert/NodeDown"
        alert = resolved[0]["data"]["alert"]
        assert alert["labels"]["name"] == "worker-1" and alert["endsAt"]
        assert hook.errors == []

        by_trigger = {r["spec"]["trigger"]: r for r in runs(hub)}
        assert set(by_trigger) == {"page-node-down", "node-recovered", "dry-node"}
        dry = by_trigger["dry-node"]
        assert dry["status"]["phase"] == "DryRun" and dry["status"]["attempts"] == 0
        assert by_trigger["page-node-down"]["spec"]["alert"]["labels"]["alertname"] == "NodeDown"
        assert all(b.get("data", {}).get("trigger") != "dry-node" for b in hook.bodies)

        # TriggerRuns are watchable: a watch lists every run first, then ends at its timeout.
        status, text, _ = hub.request("GET", "/apis/kevents.io/v1/triggerruns?watch=1&timeoutSeconds=1")
        lines = [json.loads(line) for line in (text if isinstance(text, str) else json.dumps(text)).splitlines() if line]
        assert status == 200 and {line["type"] for line in lines} == {"ADDED"} and len(lines) == 3

        # A restart sends the resolved alert no more and fires nothing twice.
        hub.stop()
        hub.start()
        time.sleep(3)
        assert len(slack.bodies) == 1 and len(hook.bodies) == 1 and len(runs(hub)) == 3
    finally:
        slack.close()
        hook.close()
