"""`anomalies` (kevents.io/v1): a hub with three days of ordinary history (written with past
timestamps), then one incident of each kind, read with kubectl (get, -o wide, watch) and the
Python client, across a restart; and the learned patterns that make 30 kubelet messages with
short ids one series."""

import os
import subprocess
import time
from datetime import datetime, timedelta, timezone

from kubernetes import client as k8s

from conftest import BIN, core_event

ANOMALIES = "/apis/kevents.io/v1/anomalies"


def stamp(at):
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(hub, name, namespace, reason, message, type_, kind, obj, at, count=1, component="kubelet"):
    body = core_event(name, namespace, reason=reason, message=message, type=type_, count=count,
                      firstTimestamp=stamp(at), lastTimestamp=stamp(at))
    body["involvedObject"] = {"kind": kind, "namespace": namespace, "name": obj, "uid": f"uid-{obj}"}
    body["source"] = {"component": component}
    status, answer, _ = hub.request("POST", f"/api/v1/namespaces/{namespace}/events", body)
    assert status == 201, answer


def ordinary_history(hub, now):
    """Three days: every hour two readiness warnings in `web`, every five minutes a Job of a CronJob."""
    start = now.replace(minute=30, second=0) - timedelta(days=3)
    hour = 0
    while start + timedelta(hours=hour) < now - timedelta(minutes=40):
        at = start + timedelta(hours=hour)
        event(hub, f"web-1.h{hour}", "web", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
              "Warning", "Pod", "web-1", at, count=2)
        for run in range(12):
            event(hub, f"backup.h{hour}-{run}", "jobs", "SuccessfulCreate", f"Created job backup-{2900000 + hour * 12 + run}",
                  "Normal", "CronJob", "backup", at + timedelta(minutes=5 * run - 30), component="cronjob-controller")
        hour += 1
    return hour


def anomalies(hub):
    status, body, _ = hub.request("GET", ANOMALIES)
    assert status == 200, body
    # A spike is found in its namespace and, spread or not, in the cluster.
    return {(a["spec"]["kind"], "cluster" if "in the cluster" in a["status"]["message"] else a["metadata"]["namespace"]): a
            for a in body["items"]}


def wait_for(condition, what, timeout=45):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def incidents(hub, now):
    # A crash-loop storm in `web`: 40 readiness warnings this minute, usually 2 an hour.
    event(hub, "web-2.storm", "web", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
          "Warning", "Pod", "web-2", now, count=40)
    # A failure message never seen before.
    event(hub, "web-3.mount", "web", "FailedMount", 'MountVolume.SetUp failed for volume "certs" : secret "certs" not found',
          "Warning", "Pod", "web-3", now)
    # The first Warning for a key resource.
    event(hub, "api.deadline", "payments", "ProgressDeadlineExceeded", 'Deployment "api" has timed out progressing.',
          "Warning", "Deployment", "api", now, component="deployment-controller")


def test_each_kind_is_found_served_to_kubectl_and_the_python_client_and_kept_across_a_restart(make_hub):
    hub = make_hub(["--key-resource", "*/payments/Deployment/api"]).start()
    now = datetime.now(timezone.utc)
    hours = ordinary_history(hub, now)
    # The CronJob's last Job was 40 minutes ago: it usually creates one every 5.
    assert hours >= 70
    incidents(hub, now)
    found = wait_for(lambda: (lambda a: a if len(a) >= 6 else None)(anomalies(hub)), "six anomalies")
    # The key resource's Warning is also a pattern never seen before.
    assert set(found) == {("RateSpike", "web"), ("RateSpike", "cluster"), ("NewPattern", "web"),
                          ("FirstWarning", "payments"), ("NewPattern", "payments"), ("RateDrop", "jobs")}, found
    spike = found[("RateSpike", "web")]
    assert spike["spec"]["reason"] == "Unhealthy" and spike["status"]["state"] == "Open"
    assert spike["status"]["observedFiveMinutes"] == 40
    assert spike["status"]["baseline"]["perMinute"] < 0.1 and spike["status"]["score"] >= 6
    assert {"namespace": "web", "name": "web-2.storm"} in spike["status"]["events"]
    drop = found[("RateDrop", "jobs")]
    assert drop["spec"]["template"] == "Created job backup-<n>"
    assert drop["status"]["baseline"]["perMinute"] == 0.2, drop["status"]["baseline"]
    assert found[("FirstWarning", "payments")]["spec"]["object"] == "Deployment/api"
    assert found[("NewPattern", "web")]["status"]["events"] == [{"namespace": "web", "name": "web-3.mount"}]

    # Each is also an EventAnomaly event (for the built-in rule of that name), not itself an anomaly.
    recorded = wait_for(lambda: (lambda items: items if len(items) == 6 else None)(
        hub.request("GET", "/api/v1/events?fieldSelector=reason%3DEventAnomaly")[1]["items"]), "six EventAnomaly events")
    assert {e["involvedObject"]["name"] for e in recorded} == {a["metadata"]["name"] for a in found.values()}
    assert set(anomalies(hub)) == set(found)
    cli = subprocess.run([BIN, "anomalies", "--server", hub.url, "--since", "1h"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert cli[0].split() == ["STARTED", "STATE", "KIND", "NAMESPACE", "REASON", "SCORE", "MESSAGE"], cli
    assert sorted(line.split()[2] for line in cli[1:]) == sorted(k for k, _ in found), cli
    table = hub.kubectl("get", "anomalies", "-A").stdout.splitlines()
    assert table[0].split()[:6] == ["NAMESPACE", "NAME", "KIND", "REASON", "SCORE", "STATE"], table[0]
    # The storm is a spike in `web` and in the cluster.
    assert len(table) == 7 and all("Open" in line for line in table[1:]), table
    wide = hub.kubectl("get", "anomalies", "-A", "-o", "wide").stdout.splitlines()
    assert "BASELINE/MIN" in wide[0] and "EVENTS" in wide[0], wide[0]
    api = k8s.CustomObjectsApi(k8s.ApiClient(k8s.Configuration(host=hub.url)))
    listed = api.list_cluster_custom_object("kevents.io", "v1", "anomalies")
    assert {a["spec"]["kind"] for a in listed["items"]} == {k for k, _ in found}
    one = api.get_namespaced_custom_object("kevents.io", "v1", "jobs", "anomalies", drop["metadata"]["name"])
    assert one["status"]["message"].startswith("SuccessfulCreate Created job backup-<n> stopped")

    watch = subprocess.Popen(
        ["kubectl", "--server", hub.url, "--cache-dir", str(hub.kube_dir / "cache"),
         "get", "anomalies", "-n", "jobs", "--watch", "--no-headers"],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, KUBECONFIG=str(hub.kube_dir / "config")))
    try:
        assert "Open" in watch.stdout.readline(), "the open drop first"
        # The CronJob runs again: the drop ends, and the watch shows it.
        event(hub, "backup.now", "jobs", "SuccessfulCreate", "Created job backup-3000000", "Normal", "CronJob", "backup",
              datetime.now(timezone.utc), component="cronjob-controller")
        line = wait_for(lambda: (lambda l: l if "Ended" in l else None)(watch.stdout.readline()), "the drop to end")
        assert drop["metadata"]["name"] in line
    finally:
        watch.kill()
        watch.wait()

    hub.stop()
    hub.start()
    again = wait_for(lambda: (lambda a: a if len(a) >= 5 else None)(anomalies(hub)), "the anomalies after a restart")
    assert again[("RateSpike", "web")]["metadata"]["name"] == spike["metadata"]["name"]
    assert again[("RateSpike", "web")]["status"]["baseline"] == spike["status"]["baseline"], \
        "the baseline is rebuilt from the stored events"
    assert again[("NewPattern", "web")]["metadata"]["name"] == found[("NewPattern", "web")]["metadata"]["name"]


def test_thirty_kubelet_messages_with_short_ids_are_one_series_and_one_pattern(hub):
    now = datetime.now(timezone.utc)
    for i in range(30):
        short_id = f"{0x1a3f2 + i * 0x1b7:x}-{i % 8}"
        event(hub, f"web-0.{i}", "default", "FailedSync",
              f'Error syncing pod, skipping: failed to "StartContainer" for "web" ({short_id})',
              "Warning", "Pod", "web-0", now)
    status, body, _ = hub.request("GET", "/apis/kevents.io/v1/namespaces/default/eventseries")
    assert status == 200, body
    series = [(s["spec"]["template"], s["status"]["count"]) for s in body["items"]]
    assert series == [('Error syncing pod, skipping: failed to "*" for "*" <*>', 30)], series
    status, patterns, _ = hub.request("GET", "/apis/kevents.io/v1/eventpatterns")
    assert [p["status"]["count"] for p in patterns["items"]] == [30]
