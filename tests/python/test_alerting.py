"""kevents' own rule engine: built-in rules fire into a real Alertmanager and resolve, webhook
delivery survives a failing receiver, rule files are validated, reloaded and exported."""

import hashlib
import hmac
import http.server
import json
import shutil
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import BIN, core_event

CORE = "/api/v1/namespaces/default/events"


def am_alerts(am_url):
    with urllib.request.urlopen(f"{am_url}/api/v2/alerts", timeout=5) as response:
        return json.loads(response.read())


def wait_for(predicate, timeout=30, interval=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def alert_named(alerts, name, **labels):
    return [a for a in alerts if a["labels"].get("alertname") == name
            and all(a["labels"].get(k) == v for k, v in labels.items())]


def node_event(name, reason="NodeNotReady"):
    body = core_event(name, reason=reason, type="Warning", message=f"Node worker-1 status is now: {reason}")
    body["involvedObject"] = {"kind": "Node", "name": "worker-1", "apiVersion": "v1"}
    return body


def test_builtin_rules_fire_into_alertmanager_with_labels_and_annotations(make_hub, alertmanager, tmp_path):
    # NodeNotReady is overridden with a short resolveAfter so the resolve is observable.
    override = tmp_path / "fast.yaml"
    override.write_text(
        "rules:\n- name: NodeNotReady\n  match: {reason: [NodeNotReady, NodeStatusUnknown], kind: Node}\n"
        "  groupBy: [cluster, name]\n  resolveAfter: 3s\n  labels: {severity: critical}\n"
        "  annotations: {summary: 'Node {{ name }} is not ready'}\n")
    hub = make_hub(["--alertmanager-url", alertmanager, "--rules", str(override),
                    "--cluster-name", "prod", "--alert-resend-interval", "1s"]).start()
    sched = core_event("web-0.sched", reason="FailedScheduling", type="Warning",
                       message="0/3 nodes are available: 3 Insufficient cpu.")
    oom = core_event("db-0.oom", reason="OOMKilling", type="Warning", message="Memory cgroup out of memory: Killed process 42 (postgres)")
    oom["involvedObject"]["name"] = "db-0"
    for body in (sched, oom, node_event("worker-1.nnr")):
        assert hub.request("POST", CORE, body)[0] == 201

    alerts = wait_for(lambda: (lambda a: a if len(alert_named(a, "FailedScheduling")) and len(alert_named(a, "OOMKilled"))
                                and len(alert_named(a, "NodeNotReady")) else None)(am_alerts(alertmanager)))
    assert alerts, am_alerts(alertmanager)
    sched_alert = alert_named(alerts, "FailedScheduling")[0]
    assert sched_alert["labels"] == {"alertname": "FailedScheduling", "cluster": "prod", "namespace": "default",
                                     "reason": "FailedScheduling", "severity": "warning"}
    assert sched_alert["annotations"]["summary"] == "Pods in default cannot be scheduled: Pod/web-0"
    assert "0/3 nodes are available" in sched_alert["annotations"]["description"]
    oom_alert = alert_named(alerts, "OOMKilled")[0]
    assert oom_alert["annotations"]["summary"] == "Out of memory in default: Pod/db-0"
    assert "postgres" in oom_alert["annotations"]["description"]
    node_alert = alert_named(alerts, "NodeNotReady")[0]
    assert node_alert["labels"] == {"alertname": "NodeNotReady", "cluster": "prod", "name": "worker-1",
                                    "severity": "critical"}
    assert node_alert["annotations"]["summary"] == "Node worker-1 is not ready"

    # No more NodeNotReady occurrences: the alert resolves in Alertmanager.
    resolved = wait_for(lambda: not alert_named(am_alerts(alertmanager), "NodeNotReady"), timeout=20)
    assert resolved, am_alerts(alertmanager)
    assert alert_named(am_alerts(alertmanager), "FailedScheduling"), "the others keep firing"


class Receiver(http.server.BaseHTTPRequestHandler):
    """Records webhook POSTs; answers 503 to the first `failures` of them."""

    failures = 0
    received = []

    def do_POST(self):  # noqa: N802 (http.server naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if cls.failures > 0:
            cls.failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        cls.received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_delivery_retries_a_failing_receiver_and_signs_the_body(make_hub):
    Receiver.failures, Receiver.received = 3, []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        hub = make_hub(["--webhook-url", url, "--webhook-hmac-secret", "s3cret"]).start()
        assert hub.request("POST", CORE, core_event("evicted", reason="Evicted", type="Warning"))[0] == 201
        assert wait_for(lambda: Receiver.received, timeout=30), "no delivery after the receiver recovered"
        headers, body = Receiver.received[0]
        payload = json.loads(body)
        assert payload["status"] == "firing"
        assert [a["labels"]["alertname"] for a in payload["alerts"]] == ["Evicted"]
        expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        signature = {k.lower(): v for k, v in headers.items()}["x-kevents-signature"]
        assert signature == expected
        assert Receiver.failures == 0, "the failed attempts were retried"
    finally:
        server.shutdown()


def run_kevents(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)


def test_rule_errors_name_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n- name: Slow\n  match: {reason: X}\n  for: soon\n")
    result = run_kevents("rules", "check", str(bad))
    assert result.returncode == 1
    assert f"{bad}:4: rules[0].for: invalid duration" in result.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("rules:\n- name: A\n  colour: red\n")
    result = run_kevents("rules", "check", str(unknown))
    assert result.returncode == 1 and "colour" in result.stderr
    ok = tmp_path / "ok.yaml"
    ok.write_text("rules:\n- name: Mine\n  match: {reason: X}\n")
    result = run_kevents("rules", "check", str(ok))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("rules OK")


def test_hub_refuses_to_start_with_a_broken_rule_file(make_hub, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n- name: A\n  match: {message: '(unclosed'}\n")
    hub = make_hub(["--rules", str(bad)])
    with pytest.raises(RuntimeError) as failure:
        hub.start(timeout=10)
    assert "rules[0].match.message" in str(failure.value)


def test_rule_files_are_reloaded_and_a_broken_edit_keeps_the_old_rules(make_hub, alertmanager, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n- name: First\n  match: {reason: Foo}\n")
    hub = make_hub(["--alertmanager-url", alertmanager, "--rules", str(rules), "--builtin-rules=false",
                    "--alert-resend-interval", "1s"]).start()
    assert hub.request("POST", CORE, core_event("foo-1", reason="Foo"))[0] == 201
    assert wait_for(lambda: alert_named(am_alerts(alertmanager), "First"))
    rules.write_text("rules:\n- name: First\n  for: [not a duration\n")
    time.sleep(3)
    status, text, _ = hub.request("GET", "/metrics")
    assert 'kevents_rule_reloads_total{result="failure"}' in text
    assert alert_named(am_alerts(alertmanager), "First"), "a broken edit keeps the old rules"
    rules.write_text("rules:\n- name: Second\n  match: {reason: Bar}\n")
    assert wait_for(lambda: not alert_named(am_alerts(alertmanager), "First"), timeout=20), "removed rule resolves"
    assert hub.request("POST", CORE, core_event("bar-1", reason="Bar"))[0] == 201
    assert wait_for(lambda: alert_named(am_alerts(alertmanager), "Second"))


def test_alert_state_survives_a_restart_without_refiring(make_hub, alertmanager, tmp_path):
    hub = make_hub(["--alertmanager-url", alertmanager, "--alert-resend-interval", "1s"])
    hub.start()
    assert hub.request("POST", CORE, core_event("sched", reason="FailedScheduling", type="Warning"))[0] == 201
    first = wait_for(lambda: alert_named(am_alerts(alertmanager), "FailedScheduling"))
    started = first[0]["startsAt"]
    hub.stop()
    hub.start()
    time.sleep(2.5)
    again = alert_named(am_alerts(alertmanager), "FailedScheduling")
    assert again and again[0]["startsAt"] == started, "the same alert, not a new one"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")
def test_exported_prometheus_rules_pass_promtool(tmp_path):
    result = run_kevents("rules", "export", "--format", "prometheus")
    assert result.returncode == 0, result.stderr
    exported = tmp_path / "exported.yml"
    exported.write_text(result.stdout)
    assert "alert: HighWarningEventRate" in result.stdout
    check = subprocess.run(["promtool", "check", "rules", str(exported)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_key_resources_get_warning_gauges_and_key_only_rules(make_hub, alertmanager, tmp_path):
    rules = tmp_path / "key.yaml"
    rules.write_text("rules:\n- name: KeyResourceWarning\n  match: {keyResources: true, type: Warning}\n")
    hub = make_hub(["--key-resource", "*/default/StatefulSet/postgres-*", "--rules", str(rules),
                    "--builtin-rules=false", "--alertmanager-url", alertmanager]).start()
    db = core_event("pg.1", reason="Unhealthy", type="Warning")
    db["involvedObject"] = {"kind": "StatefulSet", "namespace": "default", "name": "postgres-main"}
    web = core_event("web.1", reason="Unhealthy", type="Warning")
    for body in (db, web):
        assert hub.request("POST", CORE, body)[0] == 201
    labels = 'cluster="default",namespace="default",kind="StatefulSet",name="postgres-main"'
    assert wait_for(lambda: f"kevents_key_resource_warnings_24h{{{labels}}} 1" in hub.request("GET", "/metrics")[1])
    metrics = hub.request("GET", "/metrics")[1]
    assert "kevents_key_resource_seconds_since_last_warning{" + labels + "}" in metrics
    assert 'name="web-0"' not in [l for l in metrics.splitlines() if l.startswith("kevents_key_resource")]
    alerts = wait_for(lambda: alert_named(am_alerts(alertmanager), "KeyResourceWarning"))
    assert [a["labels"]["name"] for a in alerts] == ["postgres-main"]
