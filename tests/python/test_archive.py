"""The archive end to end: the real hub archives events as Parquet into a real S3-compatible
server (moto's standalone server from PyPI, on loopback), `kevents archive list|restore` read
them back into a fresh hub through its API, DuckDB counts the same events, and a kill -9 during
archiving loses nothing."""

import json
import os
import subprocess
import sys
import time

import boto3
import duckdb
import pytest

from conftest import BIN, core_event, free_port, stop_process, wait_http_ready

BUCKET = "kevents-archive"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
# The latest version of each event; an event updated several times has a row per version.
LATEST = """
    SELECT * FROM read_parquet('{files}')
    QUALIFY row_number() OVER (PARTITION BY cluster, namespace, name, uid ORDER BY resource_version DESC) = 1
"""


class S3:
    """moto's S3 server on a free loopback port, with one bucket."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = open(tmp_path / f"moto-{self.port}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=self.log, env=dict(os.environ, **CREDENTIALS))
        wait_http_ready(self.endpoint + "/moto-api/", self.process)
        self.client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
                                   aws_secret_access_key="testing", region_name="us-east-1")
        self.client.create_bucket(Bucket=BUCKET)

    def stop(self):
        stop_process(self.process)
        self.log.close()

    def download(self, prefix, into):
        """Copies every object under `prefix` into the directory `into`; returns the Parquet glob."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                target = into / item["Key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                self.client.download_file(BUCKET, item["Key"], str(target))
        return str(into / prefix / "**" / "*.parquet")


@pytest.fixture
def s3(tmp_path):
    server = S3(tmp_path)
    yield server
    server.stop()


def archive_sinks(tmp_path, s3, prefix, batch="{maxEvents: 50, maxWait: 200ms}"):
    path = tmp_path / f"sinks-{prefix}.yaml"
    path.write_text(f"""
sinks:
- name: history
  archive:
    url: s3://{BUCKET}/{prefix}
    endpoint: {s3.endpoint}
    allowHttp: true
    accessKeyId: testing
    secretAccessKey: testing
  batch: {batch}
  retry: {{initialBackoff: 50ms, maxBackoff: 500ms}}
""")
    return str(path)


def archive_cli(s3, prefix, *args, check=True):
    command = [BIN, "archive", *args, "--url", f"s3://{BUCKET}/{prefix}", "--endpoint", s3.endpoint, "--allow-http"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=dict(os.environ, **CREDENTIALS))
    if check:
        assert proc.returncode == 0, f"{' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc


def metric(hub, name, sink=None):
    _, text, _ = hub.request("GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(name) and line[len(name)] in " {" and (sink is None or f'sink="{sink}"' in line):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_archived(hub, timeout=90):
    """Waits until the archive's cursor reaches the store's resourceVersion; returns it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        cursor = metric(hub, "kevents_sink_cursor_resource_version", "history")
        if cursor is not None and cursor == metric(hub, "kevents_store_resource_version"):
            return int(cursor)
        time.sleep(0.2)
    raise AssertionError(f"archive did not catch up, log:\n{hub.log_path.read_text()[-3000:]}")


def events_by_name(hub):
    status, body, _ = hub.request("GET", "/api/v1/events")
    assert status == 200, body
    return {(e["metadata"]["namespace"], e["metadata"]["name"]): e for e in body["items"]}


def what_matters(event):
    return {key: event.get(key) for key in
            ("reason", "message", "type", "involvedObject", "source", "count", "firstTimestamp", "lastTimestamp")}


def test_archive_round_trip_restores_the_same_events_and_duckdb_counts_them(make_hub, tmp_path, s3):
    hub = make_hub(["--sinks", archive_sinks(tmp_path, s3, "hub-a")]).start()
    for i in range(40):
        status, body, _ = hub.request("POST", f"/api/v1/namespaces/ns-{i % 3}/events",
                                      core_event(f"ev-{i}", f"ns-{i % 3}", reason=f"Reason{i % 4}"))
        assert status == 201, body
    versions = 40
    for i in range(10):  # updated several times: a row per archived version
        namespace = f"ns-{i % 3}"
        for count in (2, 3, 4):
            _, event, _ = hub.request("GET", f"/api/v1/namespaces/{namespace}/events/ev-{i}")
            event["count"] = count
            event["lastTimestamp"] = f"2026-01-02T10:0{count}:00Z"
            status, body, _ = hub.request("PUT", f"/api/v1/namespaces/{namespace}/events/ev-{i}", event)
            assert status == 200, body
            versions += 1
            time.sleep(0.25)  # let the updates land in separate batches
    wait_archived(hub)
    original = events_by_name(hub)

    listed = json.loads(archive_cli(s3, "hub-a", "list", "-o", "json").stdout)["objects"]
    assert sum(o["rows"] for o in listed) == versions
    assert all(o["path"].startswith(f"cluster=default/date={o['date']}/") for o in listed)
    assert {o["date"] for o in listed} >= {"2026-01-02"}, "updated events are filed under their last occurrence"
    table = archive_cli(s3, "hub-a", "list").stdout
    assert f"{len(listed)} objects, {versions} rows" in table, table
    day = json.loads(archive_cli(s3, "hub-a", "list", "-o", "json", "--from", "2026-01-02T00:00:00Z",
                                 "--to", "2026-01-02T23:59:59Z").stdout)["objects"]
    assert 0 < len(day) < len(listed)

    fresh = make_hub().start()
    restored = archive_cli(s3, "hub-a", "restore", "--server", fresh.url)
    assert "restored 40, skipped 0 (already present), rejected 0" in restored.stdout, restored.stdout
    copy = events_by_name(fresh)
    assert copy.keys() == original.keys()
    for key, event in original.items():
        assert what_matters(copy[key]) == what_matters(event), key
    assert copy[("ns-0", "ev-0")]["count"] == 4

    again = archive_cli(s3, "hub-a", "restore", "--server", fresh.url)
    assert "restored 0, skipped 40" in again.stdout, again.stdout
    assert len(events_by_name(fresh)) == 40

    files = s3.download("hub-a", tmp_path / "objects")
    db = duckdb.connect()
    assert db.execute(f"SELECT count(*) FROM read_parquet('{files}')").fetchone()[0] == versions
    assert db.execute(f"SELECT count(*) FROM ({LATEST.format(files=files)})").fetchone()[0] == 40
    latest = db.execute(f"SELECT count, strftime(last_seen, '%Y-%m-%d %H:%M') FROM ({LATEST.format(files=files)}) "
                        "WHERE namespace = 'ns-0' AND name = 'ev-0'").fetchone()
    assert latest == (4, "2026-01-02 10:04")


def test_restore_of_a_range_brings_back_only_that_range(make_hub, tmp_path, s3):
    hub = make_hub(["--sinks", archive_sinks(tmp_path, s3, "ranged")]).start()
    for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
        for i in range(5):
            stamp = f"{day}T12:00:0{i}Z"
            body = core_event(f"{day}-{i}", firstTimestamp=stamp, lastTimestamp=stamp)
            assert hub.request("POST", "/api/v1/namespaces/default/events", body)[0] == 201
    wait_archived(hub)
    fresh = make_hub().start()
    restored = archive_cli(s3, "ranged", "restore", "--server", fresh.url, "--from", "2026-01-02T00:00:00Z",
                           "--to", "2026-01-02T23:59:59Z", "--cluster", "default")
    assert "restored 5," in restored.stdout, restored.stdout
    assert sorted(name for _, name in events_by_name(fresh)) == [f"2026-01-02-{i}" for i in range(5)]
    other = archive_cli(s3, "ranged", "restore", "--server", fresh.url, "--cluster", "prod")
    assert "restored 0, skipped 0" in other.stdout


def test_kill9_during_archiving_loses_nothing(make_hub, tmp_path, s3):
    # Large, slow batches: a kill finds events read from the feed but not yet in an object.
    hub = make_hub(["--sinks", archive_sinks(tmp_path, s3, "crash", "{maxEvents: 1000, maxWait: 1s}")]).start()
    start_rv = int(metric(hub, "kevents_store_resource_version"))
    storm = subprocess.Popen([BIN, "simulate", "--to", hub.url, "--events", "4000", "--rate", "2000",
                              "--duration", "60s"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(2)
    behind = metric(hub, "kevents_store_resource_version") - metric(
        hub, "kevents_sink_cursor_resource_version", "history")
    assert storm.poll() is None, "the storm is still writing"
    hub.kill9()  # mid-storm and mid-archiving
    storm.wait(timeout=60)
    hub.start()
    subprocess.run([BIN, "simulate", "--to", hub.url, "--events", "500", "--rate", "0", "--duration", "60s"],
                   capture_output=True, timeout=120, check=True)
    final_rv = wait_archived(hub)
    assert metric(hub, "kevents_sink_gap_total", "history") == 0

    files = s3.download("crash", tmp_path / "objects")
    db = duckdb.connect()
    archived = {rv for (rv,) in db.execute(
        f"SELECT resource_version FROM read_parquet('{files}')").fetchall()}
    expected = set(range(start_rv + 1, final_rv + 1))
    assert archived == expected, (f"every change reached the archive: missing {sorted(expected - archived)[:20]}, "
                                  f"unexpected {sorted(archived - expected)[:20]}")
    rows, distinct = db.execute(
        f"SELECT count(*), count(DISTINCT (uid, resource_version)) FROM read_parquet('{files}')"
    ).fetchone()
    live = events_by_name(hub)
    latest = db.execute(f"SELECT namespace, name, count FROM ({LATEST.format(files=files)})").fetchall()
    assert len(latest) == len(live), "the dedup query counts the hub's events"
    assert all(live[(ns, name)]["count"] == count for ns, name, count in latest)
    print(f"\nkill -9 during archiving ({behind:.0f} changes not yet archived): {final_rv - start_rv} changes, "
          f"{rows - distinct} archived twice (removed by the dedup query)")


def test_a_bad_archive_setting_is_refused_at_load(tmp_path):
    path = tmp_path / "sinks.yaml"
    path.write_text("sinks:\n- name: history\n  archive: {url: 'file://relative/dir'}\n")
    proc = subprocess.run([BIN, "sinks", "check", str(path)], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "sinks[0] (history): archive.url" in proc.stderr, proc.stderr
    path.write_text("sinks:\n- name: history\n  archive: {url: 's3://b/p', options: {aws_colour: red}}\n")
    proc = subprocess.run([BIN, "sinks", "check", str(path)], capture_output=True, text=True)
    assert "unknown S3 setting" in proc.stderr, proc.stderr


def test_archive_serve_answers_kubectl_for_an_archived_range(make_hub, tmp_path, s3):
    hub = make_hub(["--sinks", archive_sinks(tmp_path, s3, "served")]).start()
    for day in ("2026-01-01", "2026-01-02"):
        for i in range(4):
            stamp = f"{day}T08:00:0{i}Z"
            body = core_event(f"{day}-{i}", firstTimestamp=stamp, lastTimestamp=stamp, reason="BackOff",
                              type="Warning")
            assert hub.request("POST", "/api/v1/namespaces/default/events", body)[0] == 201
    wait_archived(hub)
    assert hub.stop() == 0
    port = free_port()
    command = [BIN, "archive", "serve", "--url", f"s3://{BUCKET}/served", "--endpoint", s3.endpoint,
               "--allow-http", "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-02T23:59:59Z",
               "--listen", f"127.0.0.1:{port}"]
    log = open(tmp_path / "archive-serve.log", "w+")
    served = subprocess.Popen(command, stdout=log, stderr=log, env=dict(os.environ, **CREDENTIALS))
    try:
        deadline = time.time() + 60
        while "serving the archived range" not in (tmp_path / "archive-serve.log").read_text():
            assert served.poll() is None, (tmp_path / "archive-serve.log").read_text()
            assert time.time() < deadline, (tmp_path / "archive-serve.log").read_text()
            time.sleep(0.2)
        out = subprocess.run(["kubectl", "--server", f"http://127.0.0.1:{port}", "get", "events", "-A",
                              "-o", "json"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        items = json.loads(out.stdout)["items"]
        assert sorted(i["metadata"]["name"] for i in items) == [f"2026-01-02-{i}" for i in range(4)]
        assert {i["reason"] for i in items} == {"BackOff"}
        table = subprocess.run(["kubectl", "--server", f"http://127.0.0.1:{port}", "get", "events", "-A",
                                "--field-selector", "type=Warning"], capture_output=True, text=True, timeout=60)
        assert table.returncode == 0 and table.stdout.count("BackOff") == 4, table.stdout + table.stderr
    finally:
        served.terminate()
        code = served.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "archive-serve.log").read_text()
