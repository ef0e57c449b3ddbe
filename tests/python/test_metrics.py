"""/metrics: kube_event_count as event exporters expose it, checked by promtool, scraped by a real
Prometheus whose HighWarningEventRate rule fires into a real Alertmanager."""

import json
import re
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import core_event, free_port, stop_process, wait_http_ready as wait_ready

CORE = "/api/v1/namespaces/default/events"


def scrape(hub, accept=None):
    status, text, headers = hub.request("GET", "/metrics", headers={"Accept": accept} if accept else None)
    assert status == 200
    return text, headers["Content-Type"]


def sample(text, name, **labels):
    """The value of the sample `name` whose labels include `labels`, or None."""
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(4))
    return None


def test_kube_event_count_counts_occurrences_including_count_increments(hub):
    body = core_event("crashloop", reason="BackOff", type="Warning", count=1)
    assert hub.request("POST", CORE, body)[0] == 201
    for count in (2, 5):
        status, _, _ = hub.request("PATCH", f"{CORE}/crashloop", {"count": count},
                                   headers={"Content-Type": "application/strategic-merge-patch+json"})
        assert status == 200
    assert hub.request("POST", CORE, core_event("scheduled"))[0] == 201
    text, content_type = scrape(hub)
    assert content_type.startswith("text/plain; version=0.0.4")
    labels = dict(type="Warning", reason="BackOff", namespace="default", involved_object_kind="Pod",
                  source="default-scheduler", cluster="default")
    deadline = time.time() + 5
    while sample(text, "kube_event_count", **labels) != 5 and time.time() < deadline:
        time.sleep(0.1)
        text, _ = scrape(hub)
    assert sample(text, "kube_event_count", **labels) == 5, text
    assert sample(text, "kube_event_unique_events_total", **labels) == 1
    assert sample(text, "kube_event_count", reason="Scheduled") == 1
    assert sample(text, "kevents_http_requests_total", verb="create", code="201") == 2
    assert sample(text, "kevents_store_events") == 2
    assert sample(text, "kevents_store_hot_events") == 2  # just written: in memory


def test_openmetrics_is_served_when_asked_for(hub):
    text, content_type = scrape(hub, "application/openmetrics-text;version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert text.rstrip().endswith("# EOF")


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")
def test_promtool_accepts_the_exposition(hub):
    for i in range(3):
        assert hub.request("POST", CORE, core_event(f"e{i}", reason=f"Reason{i}"))[0] == 201
    text, _ = scrape(hub)
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_label_selection_and_cardinality_guard(make_hub):
    hub = make_hub(["--metrics-labels", "type,reason", "--metrics-max-series", "2"]).start()
    for i, reason in enumerate(["A", "B", "C", "D"]):
        assert hub.request("POST", CORE, core_event(f"e{i}", reason=reason))[0] == 201
    deadline = time.time() + 5
    while True:
        text, _ = scrape(hub)
        if sample(text, "kube_event_count", reason="other") == 2 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert sample(text, "kube_event_count", type="Normal", reason="A") == 1
    assert sample(text, "kube_event_count", type="Normal", reason="other") == 2, text
    assert sample(text, "kube_event_count", reason="C") is None
    assert sample(text, "kevents_metric_label_folds_total") >= 2
    assert 'namespace="' not in [l for l in text.splitlines() if l.startswith("kube_event_count{")][0]


def http_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@pytest.mark.skipif(shutil.which("prometheus") is None or shutil.which("prometheus-alertmanager") is None,
                    reason="prometheus and prometheus-alertmanager (Debian packages) are not installed")
def test_prometheus_rule_on_kube_event_count_fires_into_alertmanager(hub, tmp_path):
    am_port, prom_port = free_port(), free_port()
    (tmp_path / "am.yml").write_text("route: {receiver: 'null', group_wait: 1s}\nreceivers: [{name: 'null'}]\n")
    (tmp_path / "rules.yml").write_text(
        "groups:\n- name: k8s-events.rules\n  rules:\n  - alert: HighWarningEventRate\n"
        "    expr: rate(kube_event_count{type=\"Warning\"}[20s]) > 0.5\n"
        "    labels: {severity: critical}\n"
        "    annotations: {summary: 'Warning events at {{ $value }}/s'}\n")
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{tmp_path / 'rules.yml'}']\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]}}]}}\n"
        f"scrape_configs: [{{job_name: kevents, static_configs: [{{targets: ['127.0.0.1:{hub.port}']}}]}}]\n")
    check = subprocess.run(["promtool", "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    log = open(tmp_path / "services.log", "wb")
    alertmanager = subprocess.Popen(
        ["prometheus-alertmanager", f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="], stdout=log, stderr=log)
    prometheus = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=log, stderr=log)
    try:
        wait_ready(f"http://127.0.0.1:{am_port}/-/ready", alertmanager)
        wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", prometheus)
        deadline, n, alerts = time.time() + 90, 0, []
        while time.time() < deadline:
            # A Warning storm: about 20 occurrences a second, until the alert arrives.
            for _ in range(4):
                body = core_event(f"storm-{n}", reason="FailedScheduling", type="Warning")
                assert hub.request("POST", CORE, body)[0] == 201
                n += 1
            alerts = http_json(f"http://127.0.0.1:{am_port}/api/v2/alerts")
            if any(a["labels"].get("alertname") == "HighWarningEventRate" for a in alerts):
                break
            time.sleep(0.2)
        fired = [a for a in alerts if a["labels"].get("alertname") == "HighWarningEventRate"]
        assert fired, f"no alert after {n} Warning events; Alertmanager has {alerts}"
        assert fired[0]["labels"]["severity"] == "critical"
        assert fired[0]["labels"]["job"] == "kevents"
        assert fired[0]["status"]["state"] == "active"
    finally:
        for process in (prometheus, alertmanager):
            stop_process(process)
