"""`kevents doctor` against hubs with faults, through the real binary (the hub's `/doctor` and the
command's table, JSON and exit code): a fresh hub is ok everywhere; a hub near its
`--retention-size`, a sink whose destination is down (backlog growing) and event writes refused
by the rate limit are each found and named. The source-cluster checks and a collector's gap run
against a real kube-apiserver in test_k8s_doctor.py."""

import json
import random
import subprocess

from collecting import wait_for
from conftest import BIN, core_event, free_port


def doctor(hub, *args):
    """(exit code, report) of `kevents doctor --no-sources -o json` against `hub`."""
    result = subprocess.run([BIN, "doctor", "--no-sources", "--server", hub.url, "-o", "json", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def finding(report, check, subject="hub"):
    found = [f for f in report["findings"] if f["check"] == check and f["subject"] == subject]
    assert found, f"no {check} finding about {subject}: {json.dumps(report, indent=1)}"
    return found[0]


def hub_finding(hub, check, subject="hub"):
    status, body, _ = hub.request("GET", "/doctor")
    assert status == 200, body
    return finding(body, check, subject)


def test_a_fresh_hub_is_ok_everywhere_and_exits_0(make_hub):
    hub = make_hub().start()
    hub.request("POST", "/api/v1/namespaces/default/events", core_event("one"))
    code, report = doctor(hub)
    assert code == 0, report
    assert report["status"] == "ok"
    assert {f["status"] for f in report["findings"]} == {"ok"}
    assert {"reachable", "writes", "disk", "history", "corrupt-blocks", "rate-limited-writes"} <= \
        {f["check"] for f in report["findings"]}
    table = subprocess.run([BIN, "doctor", "--no-sources", "--server", hub.url], capture_output=True, text=True,
                           timeout=60)
    assert table.returncode == 0
    assert table.stdout.splitlines()[-1].endswith("0 warnings, 0 problems"), table.stdout


def test_a_hub_near_its_retention_size_is_named(make_hub):
    hub = make_hub(["--retention-size", "512KiB"]).start()
    rng = random.Random(7)
    for step in range(150):
        for i in range(10):
            message = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(400))
            n = step * 10 + i
            body = core_event(f"fill-{n:05d}", "fill", message=message,
                              involvedObject={"kind": "Pod", "namespace": "fill", "name": f"pod-{n}", "apiVersion": "v1"})
            status, answer, _ = hub.request("POST", "/api/v1/namespaces/fill/events", body)
            assert status == 201, answer
        if hub_finding(hub, "disk")["status"] == "warning":
            break
    else:
        raise AssertionError("1500 events never brought the store near 512KiB")
    code, report = doctor(hub)
    assert code == 1, report
    disk = finding(report, "disk")
    assert disk["status"] == "warning"
    assert "of --retention-size" in disk["summary"], disk
    assert "--retention-size" in disk["action"]
    assert "of 0.5 MiB on disk" in disk["evidence"][0], disk


def test_a_sink_whose_destination_is_down_is_named_with_a_growing_backlog(make_hub, tmp_path):
    closed = free_port()  # nothing listens there
    sinks = tmp_path / "sinks.yaml"
    sinks.write_text(f"""
sinks:
- name: hook
  webhook: {{url: 'http://127.0.0.1:{closed}/in'}}
  batch: {{maxEvents: 10, maxWait: 100ms}}
""")
    hub = make_hub(["--sinks", str(sinks)]).start()
    for i in range(5):
        assert hub.request("POST", "/api/v1/namespaces/default/events", core_event(f"a-{i}"))[0] == 201
    behind = wait_for(lambda: (f := hub_finding(hub, "sink-backlog", "sink hook"))["status"] != "ok" and f,
                      timeout=60, message="the sink to fall behind")
    assert "not taking events" in behind["summary"], behind
    backlog = int(behind["summary"].split(" with ")[1].split(" changes")[0])
    for i in range(5):
        assert hub.request("POST", "/api/v1/namespaces/default/events", core_event(f"b-{i}"))[0] == 201
    code, report = doctor(hub)
    assert code >= 1, report
    later = finding(report, "sink-backlog", "sink hook")
    assert later["status"] in ("warning", "problem")
    assert int(later["summary"].split(" with ")[1].split(" changes")[0]) >= backlog + 5, (behind, later)
    assert "failed attempts" in later["evidence"][0]
    assert "destination" in later["action"]


def test_writes_refused_by_the_rate_limit_are_named(make_hub, tmp_path):
    config = tmp_path / "eventratelimit.yaml"
    config.write_text(
        "apiVersion: eventratelimit.admission.k8s.io/v1alpha1\nkind: Configuration\n"
        "limits:\n- type: Namespace\n  qps: 1\n  burst: 3\n")
    hub = make_hub(["--event-rate-limit-config", str(config)]).start()
    codes = [hub.request("POST", "/api/v1/namespaces/noisy/events", core_event(f"e{i}", "noisy"))[0]
             for i in range(8)]
    refused = codes.count(429)
    assert refused >= 4, codes
    code, report = doctor(hub)
    assert code == 1, report
    limited = finding(report, "rate-limited-writes")
    assert limited["status"] == "warning"
    assert f"{refused} event writes refused by EventRateLimit" in limited["evidence"][0], limited
