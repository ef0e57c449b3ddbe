"""Sinks end to end: the real hub delivers to a real NATS JetStream server and to loopback
receivers (Elasticsearch and Loki fakes that check the documented wire format, a syslog TCP
receiver, webhook servers), through outages and kill -9."""

import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from collecting import Collector, wait_for, write_kubeconfig, write_source_events
from conftest import BIN, core_event, free_port
from sink_fakes import FakeElasticsearch, FakeLoki, NatsClient, SyslogReceiver, WebhookReceiver

CLUSTER = "default"  # the hub's --cluster-name default, the first part of every idempotency key


def metric(hub, name, sink=None):
    """The value of a metric (of one sink when `sink` is given), or None."""
    _, text, _ = hub.request("GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(name) and (sink is None or f'sink="{sink}"' in line):
            if line[len(name)] in " {":
                return float(line.rsplit(" ", 1)[1])
    return None


def wait_caught_up(hub, sink, timeout=90):
    """Waits until the sink's cursor reaches the store's resourceVersion."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        cursor = metric(hub, "kevents_sink_cursor_resource_version", sink)
        if cursor is not None and cursor == metric(hub, "kevents_store_resource_version"):
            return int(cursor)
        time.sleep(0.2)
    raise AssertionError(f"sink {sink} did not catch up: cursor {cursor}, log:\n{hub.log_path.read_text()[-3000:]}")


def post_events(hub, count, prefix="ev", namespace="default", **overrides):
    for i in range(count):
        status, body, _ = hub.request(
            "POST", f"/api/v1/namespaces/{namespace}/events", core_event(f"{prefix}-{i}", namespace, **overrides))
        assert status == 201, body


def sinks_file(tmp_path, text):
    path = tmp_path / "sinks.yaml"
    path.write_text(text)
    return str(path)


def simulate(hub, events, rate=0):
    return subprocess.Popen([BIN, "simulate", "--to", hub.url, "--events", str(events), "--rate", str(rate),
                             "--duration", "60s"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sinks_check_reports_template_errors_at_load(tmp_path):
    good = sinks_file(tmp_path, "sinks:\n- name: chat\n  slack: {url: 'http://127.0.0.1:9/hook', text: '{{ reason }}: {{ message }}'}\n")
    ok = subprocess.run([BIN, "sinks", "check", good], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "1 sinks OK" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("sinks:\n- name: chat\n  slack: {url: 'http://127.0.0.1:9/hook', text: '{{ reasn }}'}\n")
    failed = subprocess.run([BIN, "sinks", "check", str(bad)], capture_output=True, text=True)
    assert failed.returncode != 0
    assert "sinks[0] (chat): slack.text: unknown template field" in failed.stderr


def test_serve_refuses_a_sinks_file_with_errors(make_hub, tmp_path):
    path = sinks_file(tmp_path, "sinks:\n- name: es\n  elasticsearch: {url: 'http://127.0.0.1:9', colour: red}\n")
    hub = make_hub(["--sinks", path])
    with pytest.raises(RuntimeError, match="exited early"):
        hub.start()
    assert "colour" in hub.log_path.read_text()


def test_webhook_is_signed_and_slack_gets_templated_lines(make_hub, tmp_path):
    hook, slack = WebhookReceiver(secret="s3cret"), WebhookReceiver()
    try:
        path = sinks_file(tmp_path, f"""
sinks:
- name: hook
  webhook: {{url: '{hook.url}/in', hmacSecret: s3cret}}
  batch: {{maxEvents: 4, maxWait: 100ms}}
- name: chat
  match: {{type: Warning}}
  slack: {{url: '{slack.url}/services/x', text: '{{{{ type }}}} {{{{ reason }}}} {{{{ object }}}}: {{{{ message }}}}'}}
""")
        hub = make_hub(["--sinks", path]).start()
        post_events(hub, 10)
        post_events(hub, 2, prefix="warn", type="Warning", reason="BackOff", message="Back-off restarting")
        wait_caught_up(hub, "hook")
        wait_caught_up(hub, "chat")
        assert hook.errors == []
        events = [e for body in hook.bodies for e in body["events"]]
        assert all(body["sink"] == "hook" and len(body["events"]) <= 4 for body in hook.bodies)
        assert len({e["id"] for e in events}) == 12
        assert {e["event"]["metadata"]["name"] for e in events} >= {"ev-0", "warn-1"}
        assert all(e["id"].startswith(f"{CLUSTER}/") and e["emission"] == "first" for e in events)
        lines = [line for body in slack.bodies for line in body["text"].split("\n")]
        assert sorted(lines) == ["Warning BackOff pod/web-0: Back-off restarting"] * 2
    finally:
        hook.close()
        slack.close()


def test_elasticsearch_bulk_retries_429s_and_dead_letters_rejected_items(make_hub, tmp_path):
    es = FakeElasticsearch(reject_reason="Poison", item_429=3)
    es.throttle_next = 2
    try:
        path = sinks_file(tmp_path, f"""
sinks:
- name: es
  elasticsearch: {{url: '{es.url}'}}
  batch: {{maxEvents: 10, maxWait: 100ms}}
  retry: {{initialBackoff: 50ms, maxBackoff: 200ms}}
""")
        hub = make_hub(["--sinks", path]).start()
        post_events(hub, 25)
        post_events(hub, 2, prefix="bad", reason="Poison")
        wait_caught_up(hub, "es")
        assert es.errors == []
        assert "kevents" in es.templates and es.templates["kevents"]["index_patterns"] == ["kevents-*"]
        names = sorted(doc["kubernetes"]["event"]["name"] for doc in es.docs.values())
        assert names == sorted(f"ev-{i}" for i in range(25))
        assert all(doc_id.startswith(f"{CLUSTER}/") for _, doc_id in es.docs)
        dead = [json.loads(line) for line in Path(hub.data_dir, "sinks", "es.deadletter.ndjson").read_text().splitlines()]
        assert sorted(d["envelope"]["event"]["metadata"]["name"] for d in dead) == ["bad-0", "bad-1"]
        assert all("mapper_parsing_exception" in d["error"] for d in dead)
        assert metric(hub, "kevents_sink_events_dead_lettered_total", "es") == 2
        assert metric(hub, "kevents_sink_events_sent_total", "es") == 25
        assert metric(hub, "kevents_sink_events_retried_total", "es") >= len(es.throttled_ids) + 2
    finally:
        es.close()


def test_loki_gets_bounded_stream_labels_and_retries_429(make_hub, tmp_path):
    loki = FakeLoki()
    loki.throttle_next = 1
    try:
        path = sinks_file(tmp_path, f"""
sinks:
- name: loki
  loki: {{url: '{loki.url}', staticLabels: {{job: kevents, env: test}}}}
  batch: {{maxWait: 100ms}}
  retry: {{initialBackoff: 50ms}}
""")
        hub = make_hub(["--sinks", path]).start()
        post_events(hub, 6, namespace="default")
        post_events(hub, 4, namespace="kube-system", type="Warning")
        wait_caught_up(hub, "loki")
        assert loki.errors == []
        assert loki.pushes >= 2
        label_sets = {dict(key)["namespace"]: dict(key) for key in loki.streams}
        assert label_sets["kube-system"] == {"job": "kevents", "env": "test", "cluster": CLUSTER,
                                             "namespace": "kube-system", "type": "Warning", "kind": "Pod"}
        assert set(label_sets) == {"default", "kube-system"}
        assert len({line["id"] for line in loki.lines()}) == 10
    finally:
        loki.close()


def test_syslog_messages_are_rfc5424_in_octet_counted_frames(make_hub, tmp_path):
    receiver = SyslogReceiver()
    try:
        path = sinks_file(tmp_path, f"""
sinks:
- name: syslog
  syslog: {{address: '{receiver.address}', facility: local3}}
  batch: {{maxWait: 100ms}}
""")
        hub = make_hub(["--sinks", path]).start()
        post_events(hub, 5)
        post_events(hub, 3, prefix="w", type="Warning", reason="BackOff", message='quote " and ] inside')
        wait_caught_up(hub, "syslog")
        assert receiver.errors == []
        assert len(receiver.messages) == 8
        warnings = [m for m in receiver.messages if m["params"]["type"] == "Warning"]
        assert {m["pri"] for m in warnings} == {str(19 * 8 + 4)}
        assert {m["pri"] for m in receiver.messages if m not in warnings} == {str(19 * 8 + 6)}
        assert {m["msgid"] for m in warnings} == {"BackOff"}
        assert warnings[0]["msg"] == '\ufeffquote " and ] inside'
        assert all(m["app"] == "kevents" and m["params"]["id"].startswith(f"{CLUSTER}/") for m in receiver.messages)
    finally:
        receiver.close()


def test_syslog_over_tls_verifies_the_receiver(make_hub, tmp_path):
    import ssl

    certs = tmp_path / "certs"
    subprocess.run([BIN, "certs", "generate", "--dir", str(certs)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs / "server.crt", certs / "server.key")
    receiver = SyslogReceiver(tls=context)
    try:
        path = sinks_file(tmp_path, f"""
sinks:
- name: syslog
  syslog: {{address: '{receiver.address}', tls: {{caFile: '{certs / "ca.crt"}'}}}}
  batch: {{maxWait: 100ms}}
""")
        hub = make_hub(["--sinks", path]).start()
        post_events(hub, 4)
        wait_caught_up(hub, "syslog")
        assert receiver.errors == []
        assert len(receiver.messages) == 4
    finally:
        receiver.close()


@pytest.fixture
def nats_server(tmp_path):
    """A real `nats-server -js` (Debian package) on a loopback port; yields the port."""
    binary = shutil.which("nats-server") or ("/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None)
    if binary is None:
        pytest.skip("nats-server (Debian package nats-server) is not installed")
    port = free_port()
    log = open(tmp_path / "nats.log", "wb")
    process = subprocess.Popen([binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path / "js")],
                               stdout=log, stderr=log)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def delivered_versions(ids):
    """resourceVersions of `<cluster>/<uid>/<rv>` ids."""
    return [int(i.rsplit("/", 1)[1]) for i in ids]


def test_kill9_during_delivery_loses_nothing_and_jetstream_dedupes(make_hub, tmp_path, nats_server):
    out = tmp_path / "events.ndjson"
    path = sinks_file(tmp_path, f"""
sinks:
- name: js
  nats: {{url: 'nats://127.0.0.1:{nats_server}', stream: KEVENTS}}
  batch: {{maxEvents: 200, maxWait: 50ms}}
- name: file
  file: {{path: '{out}'}}
  batch: {{maxEvents: 200, maxWait: 50ms}}
""")
    hub = make_hub(["--sinks", path]).start()
    start_rv = int(metric(hub, "kevents_store_resource_version"))
    storm = simulate(hub, 4000, rate=2000)
    time.sleep(2)
    behind = metric(hub, "kevents_store_resource_version") - metric(hub, "kevents_sink_cursor_resource_version", "file")
    assert storm.poll() is None, "the storm is still writing"
    hub.kill9()  # mid-storm and mid-delivery
    storm.wait(timeout=60)
    hub.start()
    simulate(hub, 500).wait(timeout=60)
    final_rv = wait_caught_up(hub, "js")
    wait_caught_up(hub, "file")
    assert metric(hub, "kevents_sink_gap_total", "js") == 0
    expected = set(range(start_rv + 1, final_rv + 1))

    client = NatsClient(nats_server)
    messages = client.stream_messages("KEVENTS")
    client.close()
    ids = [m["data"]["id"] for m in messages]
    assert all(f"Nats-Msg-Id: {m['data']['id']}" in m["headers"] for m in messages)
    assert all(m["subject"] == f"kevents.{CLUSTER}.{m['data']['event']['metadata']['namespace']}.{m['data']['event']['type']}"
               for m in messages)
    assert len(ids) == len(set(ids)), "JetStream deduplicated every redelivery"
    assert set(delivered_versions(ids)) == expected, "every change reached JetStream"

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    file_ids = [line["id"] for line in lines]
    assert set(delivered_versions(file_ids)) == expected, "every change reached the file"
    duplicates = len(file_ids) - len(set(file_ids))
    print(f"\nkill -9 during delivery ({behind:.0f} changes not yet acknowledged by the file sink): "
          f"{len(expected)} changes; JetStream 0 duplicates; "
          f"file sink {duplicates} duplicates (it cannot deduplicate)")


def test_sink_outage_during_a_storm_delivers_everything_afterwards(make_hub, tmp_path):
    es = FakeElasticsearch()
    try:
        path = sinks_file(tmp_path, f"""
sinks:
- name: es
  elasticsearch: {{url: '{es.url}'}}
  batch: {{maxEvents: 300, maxWait: 100ms}}
  retry: {{initialBackoff: 100ms, maxBackoff: 1s}}
""")
        hub = make_hub(["--sinks", path]).start()
        start_rv = int(metric(hub, "kevents_store_resource_version"))
        es.down = True
        storm = simulate(hub, 3000, rate=1000)
        time.sleep(2)
        cursor_during = metric(hub, "kevents_sink_cursor_resource_version", "es")
        lag_during = metric(hub, "kevents_sink_lag_seconds", "es")
        assert cursor_during == start_rv, "nothing acknowledged while the sink is down"
        assert lag_during > 0.5
        storm.wait(timeout=60)
        es.down = False
        final_rv = wait_caught_up(hub, "es")
        assert es.errors == []
        versions = delivered_versions(doc_id for _, doc_id in es.docs)
        assert sorted(versions) == list(range(start_rv + 1, final_rv + 1)), "every change indexed once"
        assert metric(hub, "kevents_sink_events_retried_total", "es") > 0
        assert metric(hub, "kevents_sink_lag_seconds", "es") == 0 or wait_lag_zero(hub)
        print(f"\noutage during storm: {len(versions)} changes indexed; {es.conflicts} redeliveries answered 409")
    finally:
        es.close()


def wait_lag_zero(hub, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if metric(hub, "kevents_sink_lag_seconds", "es") == 0:
            return True
        time.sleep(0.2)
    return False


def test_first_and_summary_sends_one_summary_with_the_new_count(make_hub, tmp_path):
    hook = WebhookReceiver()
    try:
        path = sinks_file(tmp_path, f"""
sinks:
- name: hook
  policy: first-and-summary
  summaryInterval: 2s
  webhook: {{url: '{hook.url}/'}}
  batch: {{maxWait: 50ms}}
""")
        hub = make_hub(["--sinks", path]).start()
        post_events(hub, 1, prefix="repeat")
        for count in range(2, 6):
            status, body, _ = hub.request("PATCH", "/api/v1/namespaces/default/events/repeat-0", {"count": count},
                                          headers={"Content-Type": "application/strategic-merge-patch+json"})
            assert status == 200, body
        wait_caught_up(hub, "hook", timeout=30)
        events = [e for body in hook.bodies for e in body["events"]]
        assert [(e["emission"], e["event"]["count"]) for e in events] == [("first", 1), ("summary", 5)]
    finally:
        hook.close()


def test_dead_letter_and_lag_metrics_are_exported(make_hub, tmp_path):
    path = sinks_file(tmp_path, "sinks:\n- name: out\n  stdout: {}\n")
    hub = make_hub(["--sinks", path]).start()
    _, text, _ = hub.request("GET", "/metrics")
    for name in ("kevents_sink_lag_seconds", "kevents_sink_events_sent_total", "kevents_sink_events_retried_total",
                 "kevents_sink_events_failed_total", "kevents_sink_events_dead_lettered_total", "kevents_sink_gap_total"):
        assert re.search(rf'^{name}{{.*sink="out".*}} ', text, re.M), name


def test_a_route_on_a_cluster_delivers_the_events_collected_from_that_cluster_only(make_hub, tmp_path):
    # Two source clusters (`kevents serve` speaking the Kubernetes API) read by `kevents collect`
    # into a hub of another name; the route names one collected cluster.
    sources = {name: make_hub().start() for name in ("prod-eu", "prod-us")}
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {n: {"server": s.url} for n, s in sources.items()})
    hook = WebhookReceiver()
    try:
        path = sinks_file(tmp_path, f"""
sinks:
- name: eu
  match: {{cluster: prod-eu}}
  webhook: {{url: '{hook.url}/in'}}
  batch: {{maxEvents: 10, maxWait: 100ms}}
""")
        hub = make_hub(["--cluster-name", "hub", "--sinks", path]).start()
        post_events(hub, 2, prefix="own")
        write_source_events(sources, 3)
        collector = Collector(tmp_path, kubeconfig, hub.url, ["--context", "prod-eu", "--context", "prod-us"]).start()
        try:
            wait_for(lambda: len(hub.request("GET", "/api/v1/events")[1]["items"]) == 8, message="8 events on the hub")
            wait_caught_up(hub, "eu")
        finally:
            collector.stop()
        events = [e for body in hook.bodies for e in body["events"]]
        assert sorted(e["event"]["metadata"]["name"] for e in events) == [f"prod-eu-ev-{i}" for i in range(3)]
        assert all(e["cluster"] == "prod-eu" and e["id"].startswith("prod-eu/") for e in events), events
        assert hook.errors == []
    finally:
        hook.close()
