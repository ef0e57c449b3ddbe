"""client-go's own recorders (tools/record for core/v1, tools/events for events.k8s.io/v1, in
tests/k8s/cmd/recorder) write to a hub over TLS with a token exactly as they write to a real
kube-apiserver: the same events, counts, aggregated messages and series; and a `kill -9` of the
hub in the middle loses nothing the recorder was told was stored."""

import json
import ssl
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import BIN, Hub, free_port

ADMIN_TOKEN = "recorder-token-5f2a9c"


@pytest.fixture(scope="module")
def recorder_bin():
    from controlplane import BuildUnavailable, binaries

    try:
        return binaries() / "recorder"
    except BuildUnavailable as e:
        pytest.skip(f"no client-go recorder: {e}")


@pytest.fixture
def tls_hub(tmp_path):
    """A hub serving TLS with a token in `system:masters` (allowed everything, as on the apiserver)."""
    certs = tmp_path / "certs"
    subprocess.run([BIN, "certs", "generate", "--dir", str(certs)], check=True, capture_output=True)
    (tmp_path / "tokens.csv").write_text(f'{ADMIN_TOKEN},recorder,uid-recorder,"system:masters"\n')
    hub = TlsHub(tmp_path / "data", certs, [
        "--tls-cert-file", str(certs / "server.crt"), "--tls-private-key-file", str(certs / "server.key"),
        "--token-auth-file", str(tmp_path / "tokens.csv")])
    hub.start()
    yield hub
    hub.stop()


class TlsHub(Hub):
    """A hub on https (readiness is checked over TLS), read with the admin token."""

    def __init__(self, data_dir, certs, extra_args):
        super().__init__(data_dir, extra_args)
        self.ca_file = certs / "ca.crt"
        self.url = f"https://127.0.0.1:{self.port}"

    def get(self, path):
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        with urllib.request.urlopen(req, timeout=30, context=ssl.create_default_context(cafile=str(self.ca_file))) as r:
            return json.loads(r.read())


def record(recorder_bin, tmp_path, server, token, ca_file, api, namespace, *extra, timeout=180):
    acks = tmp_path / f"acks-{api}-{namespace}-{free_port()}.jsonl"
    proc = subprocess.run([str(recorder_bin), "-server", server, "-token", token, "-ca-file", str(ca_file),
                           "-api", api, "-namespace", namespace, "-acks", str(acks), *extra],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in acks.read_text().splitlines()] if acks.exists() else []


def core_summary(items):
    """What a core/v1 recorder's events say, without server-generated values: per (object,
    reason, message) the count, and the number of events carrying it."""
    summary = {}
    for e in items:
        key = (e["involvedObject"]["name"], e["type"], e["reason"], e["message"], e["source"].get("component"))
        summary.setdefault(key, []).append(e.get("count"))
    return {k: sorted(v) for k, v in summary.items()}


def series_summary(items):
    summary = {}
    for e in items:
        key = (e["regarding"]["name"], e["type"], e["reason"], e.get("note"), e.get("action"),
               e.get("reportingController"))
        summary.setdefault(key, []).append((e.get("series") or {}).get("count"))
    return {k: sorted(v, key=lambda c: c or 0) for k, v in summary.items()}


def test_core_recorder_writes_to_a_hub_as_to_the_apiserver(control_plane, tls_hub, recorder_bin, tmp_path):
    ns = "rec-core"
    control_plane.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    record(recorder_bin, tmp_path, control_plane.server, control_plane.token, control_plane.ca_file, "core", ns)
    record(recorder_bin, tmp_path, tls_hub.url, ADMIN_TOKEN, tls_hub.ca_file, "core", ns)
    apiserver = core_summary(control_plane.events(ns))
    hub = core_summary(tls_hub.get(f"/api/v1/namespaces/{ns}/events")["items"])
    assert hub == apiserver
    # The correlator did its work on both: a count PATCHed up and similar messages combined.
    assert any(counts == [8] for (obj, _, reason, _, _), counts in hub.items() if reason == "BackOff")
    assert any(message.startswith("(combined from similar events)") for (_, _, _, message, _) in hub)


def test_events_recorder_writes_series_to_a_hub_as_to_the_apiserver(control_plane, tls_hub, recorder_bin, tmp_path):
    ns = "rec-series"
    control_plane.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    record(recorder_bin, tmp_path, control_plane.server, control_plane.token, control_plane.ca_file, "events", ns)
    record(recorder_bin, tmp_path, tls_hub.url, ADMIN_TOKEN, tls_hub.ca_file, "events", ns)
    status, body = control_plane.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events")
    assert status == 200, body
    apiserver = series_summary(body["items"])
    hub = series_summary(tls_hub.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events")["items"])
    assert hub == apiserver
    assert any(count == 2 for counts in hub.values() for count in counts), "a repeated event became a series"


def test_recorder_loses_nothing_acknowledged_across_a_hub_kill(tls_hub, recorder_bin, tmp_path):
    ns = "rec-kill"
    result = {}

    def run():
        result["acks"] = record(recorder_bin, tmp_path, tls_hub.url, ADMIN_TOKEN, tls_hub.ca_file, "core", ns,
                                "-rounds", "6", "-pods", "20", "-pause", "30ms", "-retry", "500ms", "-quiet", "4s")

    writer = threading.Thread(target=run)
    writer.start()
    time.sleep(2)
    tls_hub.kill9()
    time.sleep(1)
    tls_hub.start()
    writer.join(timeout=240)
    assert not writer.is_alive()
    acks = result["acks"]
    assert len(acks) > 50
    stored = {e["metadata"]["name"]: e.get("count") or 1
              for e in tls_hub.get(f"/api/v1/namespaces/{ns}/events")["items"]}
    lost = [a for a in acks if a["name"] not in stored or stored[a["name"]] < a["count"]]
    assert not lost, f"{len(lost)} acknowledged writes missing after kill -9, e.g. {lost[:3]}"
