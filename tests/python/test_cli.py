"""The human CLI (`kevents get|describe|timeline|top|tail|export|import|completion|version`)
against a real hub: golden table output with a fixed clock, round trips, streaming, resume."""

import csv
import io
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import BIN

GOLDEN = Path(__file__).parent / "golden"
NOW = "2026-01-02T12:00:00Z"


def at(clock, day="2026-01-02"):
    return f"{day}T{clock}Z"


def event(namespace, name, kind, obj, type_, reason, message, first, last=None, count=1,
          source="kubelet", host="node-1"):
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"kind": kind, "name": obj, "namespace": namespace if kind != "Node" else "",
                           "apiVersion": "v1", "uid": f"uid-{obj}"},
        "type": type_,
        "reason": reason,
        "message": message,
        "source": {"component": source, "host": host} if host else {"component": source},
        "firstTimestamp": first,
        "lastTimestamp": last or first,
        "count": count,
    }


# A fixed history around NOW: web-0 crash-looping in the morning, a quiet gap, a restart; a node
# going NotReady; a rollout in prod that cannot schedule; one event two days old.
FIXTURE = [
    event("default", "web-0.1", "Pod", "web-0", "Normal", "Scheduled",
          "Successfully assigned default/web-0 to node-1", at("09:00:00"), source="default-scheduler", host=""),
    event("default", "web-0.2", "Pod", "web-0", "Normal", "Pulled",
          'Container image "nginx:1.25" already present on machine', at("09:00:05")),
    event("default", "web-0.3", "Pod", "web-0", "Warning", "BackOff",
          "Back-off restarting failed container web in pod web-0_default", at("09:01:00"), at("09:40:00"), 12),
    event("default", "web-0.4", "Pod", "web-0", "Warning", "Unhealthy",
          'Readiness probe failed: Get "http://10.0.0.7:8080/healthz": dial tcp 10.0.0.7:8080: connect: connection refused',
          at("09:02:00"), at("09:20:00"), 4),
    event("default", "web-0.5", "Pod", "web-0", "Normal", "Started", "Started container web", at("11:30:00")),
    event("default", "worker-1.1", "Node", "worker-1", "Warning", "NodeNotReady",
          "Node worker-1 status is now: NodeNotReady", at("11:40:00"), source="node-controller", host=""),
    event("prod", "api.1", "Deployment", "api", "Normal", "ScalingReplicaSet",
          "Scaled up replica set api-5d8f7b9c4 to 3", at("11:50:00"), source="deployment-controller", host=""),
    event("prod", "api-5d8f7b9c4-x2k4q.1", "Pod", "api-5d8f7b9c4-x2k4q", "Warning", "FailedScheduling",
          "0/3 nodes are available: 3 Insufficient cpu.", at("11:45:00"), at("11:59:00"), 5,
          source="default-scheduler", host=""),
    event("prod", "api-5d8f7b9c4-x2k4q.2", "Pod", "api-5d8f7b9c4-x2k4q", "Warning", "Failed",
          'Error: quota "compute", 50% used, needs 2 cpu\nsecond line: ünïcode ✓ "quoted"', at("11:59:30")),
    event("default", "old.1", "Pod", "batch-7", "Normal", "Completed", "Job completed", at("10:00:00", "2025-12-31")),
]


def cli(hub, *args, check=True, env=None, timeout=60, input=None):
    """Runs `kevents ARGS` against `hub` with the fixed clock; returns the CompletedProcess."""
    full_env = dict(os.environ, KEVENTS_SERVER=hub.url, KEVENTS_NOW=NOW, NO_COLOR="1", **(env or {}))
    proc = subprocess.run([BIN, *args], capture_output=True, text=True, env=full_env, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"kevents {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def assert_golden(name, text):
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it):\n{text}"


def load(hub, events):
    for body in events:
        ns = body["metadata"]["namespace"]
        status, answer, _ = hub.request("POST", f"/api/v1/namespaces/{ns}/events", body)
        assert status == 201, answer


@pytest.fixture
def fixture_hub(hub):
    load(hub, FIXTURE)
    return hub


@pytest.mark.parametrize("name,args", [
    ("get.txt", ["get"]),
    ("get-wide-default.txt", ["get", "-n", "default", "-o", "wide"]),
    ("get-warnings-1h.txt", ["get", "--since", "1h", "--type", "warning"]),
    ("get-for-pod.txt", ["get", "--for", "po/web-0", "--from", at("09:00:30"), "--to", at("10:00:00")]),
    ("describe-web-0.txt", ["describe", "pod/web-0", "-n", "default"]),
    ("timeline-3h.txt", ["timeline", "--since", "3h", "--buckets", "12"]),
    ("top-reasons.txt", ["top", "reasons", "--since", "3h"]),
    ("top-objects-warnings.txt", ["top", "objects", "--since", "1h", "--type", "Warning"]),
    ("top-patterns.txt", ["top", "patterns", "--since", "3h", "--limit", "3"]),
    ("count-reasons-3h.txt", ["count", "reasons", "--since", "3h"]),
    ("count-namespaces-warnings.txt", ["count", "namespaces", "--type", "Warning"]),
])
def test_table_output_matches_golden_files(fixture_hub, name, args):
    assert_golden(name, cli(fixture_hub, *args).stdout)


def test_machine_formats(fixture_hub):
    names = cli(fixture_hub, "get", "-n", "prod", "-o", "name").stdout.split()
    assert names == ["event/api.1", "event/api-5d8f7b9c4-x2k4q.1", "event/api-5d8f7b9c4-x2k4q.2"]
    lines = cli(fixture_hub, "get", "-o", "ndjson").stdout.splitlines()
    assert len(lines) == len(FIXTURE) and all(json.loads(line)["kind"] == "Event" for line in lines)
    yaml_out = cli(fixture_hub, "get", "--for", "node/worker-1", "-o", "yaml").stdout
    assert "kind: EventList" in yaml_out and "reason: NodeNotReady" in yaml_out


def test_count_matches_the_fixture_and_refuses_label_selectors(fixture_hub):
    answer = json.loads(cli(fixture_hub, "count", "types", "--since", "3h", "-o", "json").stdout)
    expected = {}
    for body in FIXTURE:
        if body["lastTimestamp"] >= at("09:00:00"):
            events, occurrences = expected.get(body["type"], (0, 0))
            expected[body["type"]] = (events + 1, occurrences + max(body.get("count") or 1, 1))
    assert {i["value"]: (i["events"], i["occurrences"]) for i in answer["items"]} == expected
    refused = cli(fixture_hub, "count", "-l", "app=web", check=False)
    assert refused.returncode != 0 and "fields only" in refused.stderr


def test_json_output_round_trips_through_import(fixture_hub, make_hub, tmp_path):
    dump = tmp_path / "events.json"
    dump.write_text(cli(fixture_hub, "get", "-o", "json").stdout)
    other = make_hub().start()
    first = cli(other, "import", str(dump))
    assert first.stdout.splitlines()[0] == f"imported {len(FIXTURE)}, skipped 0 (already present), rejected 0"
    again = cli(other, "import", str(dump))
    assert again.stdout.splitlines()[0] == f"imported 0, skipped {len(FIXTURE)} (already present), rejected 0"

    def content(hub):
        items = json.loads(cli(hub, "get", "-o", "json").stdout)["items"]
        for item in items:
            for server_owned in ("uid", "resourceVersion", "creationTimestamp"):
                item["metadata"].pop(server_owned, None)
        return sorted(items, key=lambda i: i["metadata"]["name"])

    assert content(other) == content(fixture_hub)
    # Importing into the hub the dump came from adds nothing either (same uids).
    assert cli(fixture_hub, "import", str(dump)).stdout.startswith(f"imported 0, skipped {len(FIXTURE)}")


def test_import_reports_rejections_with_reasons(hub, tmp_path):
    good = FIXTURE[0]
    changed = json.loads(json.dumps(good))
    changed["message"] = "something else"
    lines = [json.dumps(good), "{not json", json.dumps({"kind": "Pod", "metadata": {"name": "p"}}),
             json.dumps(changed), json.dumps(FIXTURE[1])]
    path = tmp_path / "mixed.ndjson"
    path.write_text("\n".join(lines) + "\n")
    proc = cli(hub, "import", str(path), "--concurrency", "1", check=False)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == "imported 2, skipped 0 (already present), rejected 3"
    assert "line 2: invalid JSON" in proc.stdout
    assert "line 3: not an Event (kind Pod)" in proc.stdout
    assert "line 4: default/web-0.1: already exists with different content" in proc.stdout
    assert proc.stderr.strip() == "Error: 3 event(s) rejected"


def test_kubectl_style_list_is_importable(hub, tmp_path):
    listing = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
               "items": [dict(FIXTURE[5], metadata={"name": "w.1", "namespace": "default", "uid": "x",
                                                    "resourceVersion": "99", "creationTimestamp": NOW,
                                                    "managedFields": []})]}
    (tmp_path / "list.json").write_text(json.dumps(listing, indent=2))
    assert cli(hub, "import", str(tmp_path / "list.json")).stdout.startswith("imported 1, skipped 0")


def test_csv_quotes_commas_newlines_quotes_and_unicode(fixture_hub, tmp_path):
    out = tmp_path / "events.csv"
    cli(fixture_hub, "export", "-n", "prod", "-o", str(out))
    raw = out.read_bytes().decode("utf-8")
    assert '"Error: quota ""compute"", 50% used, needs 2 cpu\nsecond line: ünïcode ✓ ""quoted"""' in raw
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert len(rows) == 3
    failed = next(r for r in rows if r["reason"] == "Failed")
    assert failed["message"] == FIXTURE[8]["message"]
    assert failed["object_kind"] == "Pod" and failed["count"] == "1"
    assert failed["last_seen"] == "2026-01-02T11:59:30.000000Z"
    printed = list(csv.DictReader(io.StringIO(cli(fixture_hub, "get", "-n", "prod", "-o", "csv").stdout, newline="")))
    assert sorted(printed, key=lambda r: r["name"]) == sorted(rows, key=lambda r: r["name"])


def test_export_formats_and_time_filter(fixture_hub, tmp_path):
    cli(fixture_hub, "export", "--since", "1h", "-o", str(tmp_path / "recent.ndjson"))
    recent = [json.loads(line) for line in (tmp_path / "recent.ndjson").read_text().splitlines()]
    assert sorted(e["reason"] for e in recent) == ["Failed", "FailedScheduling", "NodeNotReady", "ScalingReplicaSet", "Started"]
    cli(fixture_hub, "export", "--format", "json", "-o", str(tmp_path / "all.json"))
    assert len(json.loads((tmp_path / "all.json").read_text())["items"]) == len(FIXTURE)
    proc = cli(fixture_hub, "export", "-o", str(tmp_path / "all.parquet"), check=False)
    if proc.returncode == 0:
        assert (tmp_path / "all.parquet").read_bytes()[:4] == b"PAR1"
    else:
        assert "without parquet support" in proc.stderr


def peak_rss_kib(args, env):
    """Runs a command and returns its peak resident memory in KiB (from wait4)."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, proc.stderr.read()
    return usage.ru_maxrss


def test_export_streams_in_constant_memory(hub, tmp_path):
    generated = subprocess.run([BIN, "simulate", "--events", "5000", "--repeat-ratio", "0", "--seed", "7"],
                               capture_output=True, check=True).stdout
    (tmp_path / "load.ndjson").write_bytes(generated)
    assert cli(hub, "import", "--concurrency", "32", str(tmp_path / "load.ndjson"), timeout=120).stdout.startswith(
        "imported 5000,")
    env = dict(os.environ, KEVENTS_SERVER=hub.url)
    small = peak_rss_kib([BIN, "export", "--chunk-size", "100", "-n", "api", "-o", str(tmp_path / "small.ndjson")], env)
    full = peak_rss_kib([BIN, "export", "--chunk-size", "100", "-o", str(tmp_path / "full.ndjson")], env)
    full_csv = peak_rss_kib([BIN, "export", "--chunk-size", "100", "-o", str(tmp_path / "full.csv")], env)
    exported = (tmp_path / "full.ndjson").read_bytes()
    assert exported.count(b"\n") == 5000
    assert len(exported) > 3_000_000
    assert (tmp_path / "small.ndjson").read_bytes().count(b"\n") < 600
    # 5,000 events are over 3 MB of JSON (tens of MB decoded); streaming in pages of 100 keeps the
    # process at its small-export size. (A 1,000,000-event export is measured in docs/cli.md.)
    assert full < small + 4 * 1024, (small, full)
    assert full_csv < small + 4 * 1024, (small, full_csv)
    # The absolute bound is loose and grows with the binary, whose own mapped pages count towards
    # RSS (a debug build is over 100 MiB); the relative bounds above are what catch buffering.
    assert full < os.path.getsize(BIN) // 1024 + 64 * 1024, full


class Lines:
    """Reads a child's stdout lines on a thread, so tests can wait with a timeout."""

    def __init__(self, proc):
        self.queue = queue.Queue()
        threading.Thread(target=self._pump, args=(proc.stdout,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.queue.put(line.rstrip("\n"))

    def take(self, n, timeout=20):
        out = []
        deadline = time.time() + timeout
        while len(out) < n:
            try:
                out.append(self.queue.get(timeout=max(0.0, deadline - time.time())))
            except queue.Empty:
                raise AssertionError(f"wanted {n} lines, got {out}")
        return out


def tail_event(i):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return event("default", f"tail-{i}", "Pod", f"web-{i}", "Warning" if i % 2 else "Normal", f"Reason{i}",
                 f"message {i}", now)


def test_tail_follows_in_order_and_survives_a_hub_restart(hub):
    load(hub, [tail_event(0)])
    proc = subprocess.Popen([BIN, "tail", "--lines", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, KEVENTS_SERVER=hub.url))
    try:
        lines = Lines(proc)
        assert "Reason0: message 0" in lines.take(1)[0]
        load(hub, [tail_event(i) for i in range(1, 6)])
        got = lines.take(5)
        hub.stop()
        hub.start()
        load(hub, [tail_event(i) for i in range(6, 11)])
        got += lines.take(5)
        assert [line.split("  ")[-1] for line in got] == [f"Reason{i}: message {i}" for i in range(1, 11)]
        assert "  Warning  default  pod/web-1  " in got[0] and "\x1b[" not in "".join(got)
        proc.send_signal(subprocess.signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


# A tmux server of the tests' own, so no other tmux user and no earlier run can interfere.
TMUX_SOCKET = f"kevents-tests-{os.getpid()}"


def tmux(*args):
    done = subprocess.run(["tmux", "-L", TMUX_SOCKET, *args], capture_output=True, text=True)
    assert done.returncode == 0, f"tmux {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture
def tmux_session():
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (Debian: apt-get install tmux)")
    yield f"kevents-cli-{os.getpid()}"
    subprocess.run(["tmux", "-L", TMUX_SOCKET, "kill-server"], capture_output=True)
    socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.getuid()}")
    (socket_dir / TMUX_SOCKET).unlink(missing_ok=True)


def wait_pane(session, predicate, timeout=15, escapes=False):
    deadline = time.time() + timeout
    while True:
        screen = tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", session)
        if predicate(screen) or time.time() > deadline:
            return screen
        time.sleep(0.1)


def test_terminal_tail_and_timeline_under_tmux(fixture_hub, tmux_session):
    env = f"env -u NO_COLOR TERM=xterm-256color KEVENTS_SERVER={fixture_hub.url}"
    tmux("new-session", "-d", "-s", tmux_session, "-x", "80", "-y", "30", f"{env} {BIN} tail --lines 2; echo EXIT=$?; sleep 30")
    screen = wait_pane(tmux_session, lambda s: "FailedScheduling" in s)
    assert "Failed: Error: quota" in screen and "FailedScheduling" in screen
    load(fixture_hub, [tail_event(1)])
    screen = wait_pane(tmux_session, lambda s: "Reason1" in s, escapes=True)
    assert "\x1b[33m" in screen, "Warning is coloured on a terminal"
    plain = tmux("capture-pane", "-p", "-t", tmux_session)
    assert all(len(line) <= 80 for line in plain.splitlines()), plain
    assert any(line.endswith("…") for line in plain.splitlines()), "long lines are cut to the width"
    tmux("send-keys", "-t", tmux_session, "C-c")
    assert "EXIT=0" in wait_pane(tmux_session, lambda s: "EXIT=" in s)

    # A new session before the old one goes: killing the last session stops the server, and a
    # session started while it stops fails.
    timeline = f"{tmux_session}-timeline"
    tmux("new-session", "-d", "-s", timeline, "-x", "100", "-y", "30",
         f"{env} KEVENTS_NOW={NOW} {BIN} timeline --since 3h --buckets 6; sleep 30")
    tmux("kill-session", "-t", tmux_session)
    screen = wait_pane(timeline, lambda s: "Warning  ░ Normal" in s, escapes=True)
    assert "\x1b[33m" in screen
    plain = tmux("capture-pane", "-p", "-t", timeline)
    assert "6 buckets of 30m from 2026-01-02 09:00:00 to 2026-01-02 12:00:00 UTC" in plain
    assert "BackOff" in plain and "█" in plain and "░" in plain


def test_usage_errors_exit_2_and_hub_errors_exit_1_on_one_line(hub):
    bad = cli(hub, "get", "--since", "soon", check=False)
    assert bad.returncode == 2 and "invalid duration" in bad.stderr
    assert cli(hub, "top", "colours", check=False).returncode == 2
    down = subprocess.run([BIN, "get", "--server", "http://127.0.0.1:9"], capture_output=True, text=True)
    assert down.returncode == 1
    assert down.stderr.count("\n") == 1 and down.stderr.startswith("Error: cannot reach the hub at http://127.0.0.1:9")
    selector = cli(hub, "get", "--field-selector", "color=blue", check=False)
    assert selector.returncode == 1
    assert selector.stderr.strip() == 'Error: the hub answered 400: field label not supported: color'
    cluster = cli(hub, "get", "--cluster", "Prod/x", check=False)
    assert cluster.returncode == 1 and "--cluster" in cluster.stderr


def test_help_completion_and_version(hub):
    for command in ["get", "describe", "timeline", "top", "tail", "export", "import", "completion", "version"]:
        assert "Examples:" in cli(hub, command, "--help").stdout, command
    assert "complete -F _kevents" in cli(hub, "completion", "bash").stdout
    assert "#compdef kevents" in cli(hub, "completion", "zsh").stdout
    assert "complete -c kevents" in cli(hub, "completion", "fish").stdout
    lines = cli(hub, "version").stdout.splitlines()
    assert lines[0].startswith("kevents 0.") and lines[1].startswith("hub v1.") and hub.url in lines[1]
    assert cli(hub, "version", "--client").stdout.count("\n") == 1
