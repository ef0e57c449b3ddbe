"""Outgoing HTTPS: a webhook sink and an alert webhook deliver to HTTPS receivers on loopback
whose certificate comes from a private CA (`kevents certs generate`). With the CA file they
deliver; without it every attempt fails with a logged TLS error and is retried, and once the CA
file is configured nothing is lost."""

import ssl
import subprocess
import time

import pytest

from conftest import BIN, core_event
from sink_fakes import WebhookReceiver

CORE = "/api/v1/namespaces/default/events"


@pytest.fixture
def certs(tmp_path):
    """A CA and a server certificate for localhost, 127.0.0.1 and ::1."""
    directory = tmp_path / "certs"
    subprocess.run([BIN, "certs", "generate", "--dir", str(directory)], check=True, capture_output=True)
    return directory


@pytest.fixture
def receivers(certs):
    """An HTTPS receiver for the sink and one for alert notifications."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs / "server.crt", certs / "server.key")
    sink, alerts = WebhookReceiver(tls=context), WebhookReceiver(tls=context)
    yield sink, alerts
    sink.close()
    alerts.close()


def wait_for(predicate, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def hub_args(tmp_path, sink, alerts, ca_file):
    """Flags for a hub with a webhook sink to `sink` and alert webhooks to `alerts` (by name,
    so the certificate's DNS name is checked), trusting `ca_file` when given."""
    ca_line = f", caFile: '{ca_file}'" if ca_file else ""
    sinks = tmp_path / "sinks.yaml"
    sinks.write_text(f"""
sinks:
- name: hook
  webhook: {{url: '{sink.url}/in'{ca_line}}}
  batch: {{maxWait: 100ms}}
  retry: {{initialBackoff: 100ms, maxBackoff: 500ms}}
""")
    alert_url = alerts.url.replace("127.0.0.1", "localhost") + "/hook"
    args = ["--sinks", str(sinks), "--webhook-url", alert_url, "--rule-evaluation-interval", "200ms"]
    if ca_file:
        args += ["--webhook-ca-file", str(ca_file)]
    return args


def post(hub, names, **overrides):
    for name in names:
        status, body, _ = hub.request("POST", CORE, core_event(name, **overrides))
        assert status == 201, body


def sink_names(receiver):
    return sorted(e["event"]["metadata"]["name"] for body in receiver.bodies for e in body["events"])


def alert_names(receiver):
    return {a["labels"]["alertname"] for body in receiver.bodies if body["status"] == "firing"
            for a in body["alerts"]}


def test_webhook_sink_and_alert_webhook_deliver_over_https_with_a_ca_file(make_hub, tmp_path, certs, receivers):
    sink, alerts = receivers
    assert sink.url.startswith("https://")
    hub = make_hub(hub_args(tmp_path, sink, alerts, certs / "ca.crt")).start()
    post(hub, ["ev-0", "ev-1"])
    post(hub, ["evicted"], reason="Evicted", type="Warning", message="The node was low on memory")
    wait_for(lambda: len(sink_names(sink)) == 3, "the sink's events")
    assert sink_names(sink) == ["ev-0", "ev-1", "evicted"]
    assert all(body["sink"] == "hook" for body in sink.bodies)
    assert wait_for(lambda: "Evicted" in alert_names(alerts), "the Evicted alert")
    assert sink.errors == [] and alerts.errors == []
    assert "TLS handshake" not in hub.log_path.read_text()


def test_without_the_ca_delivery_fails_with_a_tls_error_and_nothing_is_lost(make_hub, tmp_path, certs, receivers):
    sink, alerts = receivers
    hub = make_hub(hub_args(tmp_path, sink, alerts, ca_file=None)).start()
    post(hub, ["ev-0", "ev-1"])
    post(hub, ["evicted"], reason="Evicted", type="Warning", message="The node was low on memory")

    sink_port, alerts_port = sink.url.rsplit(":", 1)[1], alerts.url.rsplit(":", 1)[1]
    sink_error = f"TLS handshake with 127.0.0.1:{sink_port}: invalid peer certificate: UnknownIssuer"
    alert_error = f"TLS handshake with localhost:{alerts_port}: invalid peer certificate: UnknownIssuer"
    log = lambda: hub.log_path.read_text()  # noqa: E731
    wait_for(lambda: log().count(sink_error) >= 2, "the sink's retried TLS failures")
    wait_for(lambda: alert_error in log(), "the alert webhook's TLS failure")
    sink_lines = [line for line in log().splitlines() if sink_error in line]
    assert all("delivery failed; retrying" in line for line in sink_lines), sink_lines
    assert any("alert delivery failed; retrying" in line for line in log().splitlines() if alert_error in line)
    assert sink.bodies == [] and alerts.bodies == []
    hub.stop()

    fixed = make_hub(hub_args(tmp_path, sink, alerts, certs / "ca.crt"), data_dir=hub.data_dir).start()
    post(fixed, ["ev-2"])
    wait_for(lambda: len(sink_names(sink)) == 4, "the held back events")
    assert sink_names(sink) == ["ev-0", "ev-1", "ev-2", "evicted"]
    assert wait_for(lambda: "Evicted" in alert_names(alerts), "the Evicted alert after the fix")
    assert sink.errors == [] and alerts.errors == []


def test_a_bad_ca_file_is_refused_at_load_naming_the_file(make_hub, tmp_path, certs, receivers):
    sink, alerts = receivers
    bogus = tmp_path / "not-a-ca.pem"
    bogus.write_text("this is not PEM\n")
    hub_args(tmp_path, sink, alerts, bogus)
    check = subprocess.run([BIN, "sinks", "check", str(tmp_path / "sinks.yaml")], capture_output=True, text=True)
    assert check.returncode != 0
    assert f"sinks[0] (hook): webhook.caFile: CA file {bogus}: no PEM CERTIFICATE found" in check.stderr

    hub = make_hub(["--webhook-url", alerts.url + "/hook", "--webhook-ca-file", str(bogus)])
    with pytest.raises(RuntimeError, match="exited early"):
        hub.start()
    assert f"CA file {bogus}: no PEM CERTIFICATE found" in hub.log_path.read_text()
