"""The real kubectl (v1.32) against a real `kevents serve`: output and effects of each command."""

import json
import os
import queue
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from conftest import core_event

HEADER = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
WIDE_HEADER = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE",
               "FIRST SEEN", "COUNT", "NAME"]


def ago(minutes):
    """An RFC 3339 Time `minutes` ago, second precision."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - minutes * 60))


def render(rows):
    """What kubectl's tabwriter prints: each column padded to its widest cell + 3 spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "".join(cell.ljust(w + 3) for cell, w in zip(row, widths)) + row[-1] for row in rows
    ) + "\n"


def post(hub, body, namespace="default", group="core"):
    prefix = "/api/v1" if group == "core" else "/apis/events.k8s.io/v1"
    status, obj, _ = hub.request("POST", f"{prefix}/namespaces/{namespace}/events", body)
    assert status == 201, obj
    return obj


def get(hub, name, namespace="default"):
    return hub.request("GET", f"/api/v1/namespaces/{namespace}/events/{name}")


def backoff(name="web-0.backoff", namespace="default", pod="web-0", **overrides):
    """A Warning repeated 3 times, first 40m ago and last 30m ago, with a subobject and host."""
    body = core_event(
        name, namespace, reason="BackOff", type="Warning", count=3,
        message="Back-off restarting failed container", firstTimestamp=ago(40), lastTimestamp=ago(30),
        source={"component": "kubelet", "host": "node-1"},
        involvedObject={"kind": "Pod", "namespace": namespace, "name": pod, "apiVersion": "v1",
                        "fieldPath": "spec.containers{web}"},
    )
    body.update(overrides)
    return body


def scheduled(name="web-0.scheduled", namespace="default", minutes=45, **overrides):
    body = core_event(name, namespace, firstTimestamp=ago(minutes), lastTimestamp=ago(minutes))
    body.update(overrides)
    return body


def node_not_ready(name="worker-1.notready", namespace="default"):
    return core_event(
        name, namespace, reason="NodeNotReady", type="Warning", message="Node worker-1 status is now: NodeNotReady",
        firstTimestamp=ago(90), lastTimestamp=ago(90), source={"component": "node-controller"},
        involvedObject={"kind": "Node", "name": "worker-1", "uid": "uid-worker-1", "apiVersion": "v1"},
    )


def write_yaml(tmp_path, name, doc):
    path = Path(tmp_path, name)
    path.write_text(yaml.safe_dump(doc))
    return str(path)


# ---- create -f and the server-printed Table --------------------------------------------------

def test_create_from_yaml_with_default_validation_and_get_prints_exact_table(hub, tmp_path):
    path = write_yaml(tmp_path, "ev.yaml", scheduled())
    out = hub.kubectl("create", "-f", path)  # no --validate=false: needs /openapi/v3
    assert out.stdout == "event/web-0.scheduled created\n"
    out = hub.kubectl("get", "events")
    assert out.stdout == render([HEADER, ["45m", "Normal", "Scheduled", "pod/web-0",
                                          "Successfully assigned default/web-0 to node-1"]])
    assert out.stderr == ""


def test_create_from_yaml_rejects_unknown_field_with_strict_server_validation(hub, tmp_path):
    doc = scheduled()
    doc["spec"] = {"replicas": 1}
    out = hub.kubectl("create", "-f", write_yaml(tmp_path, "bad.yaml", doc), check=False)
    assert out.returncode == 1
    assert "Error from server (BadRequest)" in out.stderr
    assert 'strict decoding error: unknown field "spec"' in out.stderr
    assert get(hub, "web-0.scheduled")[0] == 404


def test_get_all_namespaces_adds_namespace_column(hub):
    post(hub, scheduled("a.1", "default"))
    post(hub, scheduled("k.1", "kube-system", involvedObject={"kind": "Pod", "name": "coredns-0",
                                                            "namespace": "kube-system"}), "kube-system")
    out = hub.kubectl("get", "events", "-A")
    assert out.stdout == render([
        ["NAMESPACE"] + HEADER,
        ["default", "45m", "Normal", "Scheduled", "pod/web-0", "Successfully assigned default/web-0 to node-1"],
        ["kube-system", "45m", "Normal", "Scheduled", "pod/coredns-0",
         "Successfully assigned kube-system/web-0 to node-1"],
    ])


def test_get_wide_shows_subobject_source_first_seen_count_and_name(hub):
    post(hub, backoff())
    post(hub, node_not_ready())
    out = hub.kubectl("get", "events", "-o", "wide")
    assert out.stdout == render([
        WIDE_HEADER,
        ["30m", "Warning", "BackOff", "pod/web-0", "spec.containers{web}", "kubelet, node-1",
         "Back-off restarting failed container", "40m", "3", "web-0.backoff"],
        ["90m", "Warning", "NodeNotReady", "node/worker-1", "", "node-controller",
         "Node worker-1 status is now: NodeNotReady", "90m", "1", "worker-1.notready"],
    ])


def test_get_single_event_by_short_name(hub):
    post(hub, backoff())
    post(hub, scheduled())
    out = hub.kubectl("get", "ev", "web-0.backoff")
    assert out.stdout == render([HEADER, ["30m", "Warning", "BackOff", "pod/web-0",
                                          "Back-off restarting failed container"]])


def test_get_on_empty_namespace_says_no_resources_found(hub):
    out = hub.kubectl("get", "events")
    assert out.stdout == ""
    assert out.stderr == "No resources found in default namespace.\n"


def test_output_json_yaml_and_name(hub):
    created = post(hub, backoff())
    post(hub, scheduled())
    listed = json.loads(hub.kubectl("get", "events", "-o", "json").stdout)
    assert listed["kind"] == "List"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["web-0.backoff", "web-0.scheduled"]
    item = listed["items"][0]
    assert item["kind"] == "Event" and item["apiVersion"] == "v1"
    assert item["metadata"]["uid"] == created["metadata"]["uid"]
    assert item["involvedObject"]["fieldPath"] == "spec.containers{web}"
    assert (item["count"], item["source"]) == (3, {"component": "kubelet", "host": "node-1"})
    one = yaml.safe_load(hub.kubectl("get", "ev", "web-0.backoff", "-o", "yaml").stdout)
    assert one == item
    out = hub.kubectl("get", "events", "-o", "name")
    assert out.stdout == "event/web-0.backoff\nevent/web-0.scheduled\n"


# ---- selecting and paging ----------------------------------------------------------------------

def test_sort_by_creation_timestamp_orders_by_server_creation_time(hub):
    post(hub, scheduled("zz.first"))
    first_second = int(time.time())
    while int(time.time()) <= first_second:  # the next creationTimestamp must be a later second
        time.sleep(0.02)
    post(hub, scheduled("aa.second"))
    names = hub.kubectl("get", "events", "-o", "name").stdout.split()
    assert names == ["event/aa.second", "event/zz.first"]
    out = hub.kubectl("get", "events", "--sort-by=.metadata.creationTimestamp", "-o", "wide")
    assert [line.split()[-1] for line in out.stdout.splitlines()[1:]] == ["zz.first", "aa.second"]


def test_field_selector_type_warning(hub):
    post(hub, backoff())
    post(hub, scheduled())
    post(hub, node_not_ready())
    out = hub.kubectl("get", "events", "--field-selector", "type=Warning", "-o", "name")
    assert out.stdout == "event/web-0.backoff\nevent/worker-1.notready\n"


def test_field_selector_on_involved_object_kind_and_name(hub):
    post(hub, backoff())
    post(hub, node_not_ready())
    post(hub, scheduled("worker-2.x", involvedObject={"kind": "Node", "name": "worker-2"}))
    out = hub.kubectl("get", "events", "--field-selector", "involvedObject.kind=Node,involvedObject.name=worker-1")
    assert out.stdout == render([HEADER, ["90m", "Warning", "NodeNotReady", "node/worker-1",
                                          "Node worker-1 status is now: NodeNotReady"]])


def test_namespace_flag_lists_only_that_namespace(hub):
    post(hub, scheduled("d.1"))
    post(hub, backoff("k.1", "kube-system", pod="coredns-0"), "kube-system")
    out = hub.kubectl("get", "events", "-n", "kube-system", "-o", "name")
    assert out.stdout == "event/k.1\n"
    assert hub.kubectl("get", "events", "-n", "kube-public").stderr == "No resources found in kube-public namespace.\n"


def test_label_selector(hub):
    post(hub, scheduled("web.1", metadata={"name": "web.1", "labels": {"app": "web"}}))
    post(hub, scheduled("db.1", metadata={"name": "db.1", "labels": {"app": "db"}}))
    post(hub, scheduled("none.1"))
    assert hub.kubectl("get", "events", "-l", "app=web", "-o", "name").stdout == "event/web.1\n"
    assert hub.kubectl("get", "events", "-l", "app!=web", "-o", "name").stdout == "event/db.1\nevent/none.1\n"


def test_chunk_size_pages_through_all_events_printing_each_once(hub):
    names = [f"web-0.{i}" for i in range(7)]
    for name in names:
        post(hub, scheduled(name))
    out = hub.kubectl("get", "events", "--chunk-size=2", "-o", "wide", "-v=6")
    rows = [line.split()[-1] for line in out.stdout.splitlines()[1:]]
    assert rows == names
    # kubectl up to 1.32 logs `GET URL 200 OK`, later ones `"Response" verb="GET" url="URL" status="200 OK"`.
    requests = re.findall(
        r'GET"? (?:url=")?\S+/api/v1/namespaces/default/events\?([^"\s]+)"? (?:status=")?200', out.stderr)
    assert len(requests) == 4, out.stderr
    assert all("limit=2" in q for q in requests)
    assert all("continue=" in q for q in requests[1:])


# ---- describe / delete --------------------------------------------------------------------------

def test_describe_event(hub):
    post(hub, backoff())
    out = hub.kubectl("describe", "event", "web-0.backoff").stdout
    for pattern in [r"^Name:\s+web-0\.backoff$", r"^Namespace:\s+default$", r"^Count:\s+3$",
                    r"^Reason:\s+BackOff$", r"^Message:\s+Back-off restarting failed container$",
                    r"^Type:\s+Warning$", r"^Involved Object:$", r"^  Kind:\s+Pod$", r"^  Name:\s+web-0$",
                    r"^  Field Path:\s+spec\.containers\{web\}$", r"^  Host:\s+node-1$", r"^Events:\s+<none>$"]:
        assert re.search(pattern, out, re.M), (pattern, out)


def test_delete_event_removes_it(hub):
    post(hub, backoff())
    post(hub, scheduled())
    out = hub.kubectl("delete", "event", "web-0.backoff")
    assert out.stdout == 'event "web-0.backoff" deleted\n'
    assert get(hub, "web-0.backoff")[0] == 404
    out = hub.kubectl("get", "ev", "web-0.backoff", check=False)
    assert out.returncode == 1
    assert out.stderr == 'Error from server (NotFound): events "web-0.backoff" not found\n'
    assert hub.kubectl("get", "events", "-o", "name").stdout == "event/web-0.scheduled\n"


def test_delete_all_events_in_namespace(hub):
    for name in ["a.1", "b.1", "c.1"]:
        post(hub, scheduled(name))
    post(hub, backoff("k.1", "kube-system", pod="coredns-0"), "kube-system")
    out = hub.kubectl("delete", "events", "--all")
    assert out.stdout == 'event "a.1" deleted\nevent "b.1" deleted\nevent "c.1" deleted\n'
    assert hub.kubectl("get", "events").stderr == "No resources found in default namespace.\n"
    assert hub.kubectl("get", "events", "-A", "-o", "name").stdout == "event/k.1\n"


# ---- watch ---------------------------------------------------------------------------------------

class LineReader:
    """Reads a subprocess's stdout on a thread so the test can wait with a timeout."""

    def __init__(self, stream):
        self.lines, self.seen = queue.Queue(), []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, needle, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            self.seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"{needle!r} not printed within {timeout}s; got {self.seen}")


def test_get_watch_prints_an_event_created_later(hub):
    post(hub, scheduled())
    env = dict(os.environ, KUBECONFIG=str(Path(hub.kube_dir, "config")), NO_COLOR="1")
    proc = subprocess.Popen(
        ["kubectl", "--server", hub.url, "--cache-dir", str(Path(hub.kube_dir, "cache")), "get", "events", "--watch"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        reader = LineReader(proc.stdout)
        assert re.fullmatch(r"LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE", reader.wait_for("LAST SEEN"))
        reader.wait_for("pod/web-0")  # the initial list is done; what follows comes from the watch
        post(hub, backoff("web-1.backoff", pod="web-1"))
        line = reader.wait_for("pod/web-1")
        assert re.fullmatch(r"30m\s+Warning\s+BackOff\s+pod/web-1\s+Back-off restarting failed container", line)
        assert proc.poll() is None, "kubectl get --watch ended on its own"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---- kubectl events (client-side view) -----------------------------------------------------------

def test_kubectl_events_shows_repeat_count_and_span(hub):
    post(hub, backoff(firstTimestamp=ago(10), lastTimestamp=ago(5)))
    post(hub, scheduled(minutes=45))
    lines = hub.kubectl("events").stdout.splitlines()
    assert re.fullmatch(r"LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE", lines[0])
    # oldest first; kind keeps its case
    assert re.fullmatch(r"45m\s+Normal\s+Scheduled\s+Pod/web-0\s+Successfully assigned default/web-0 to node-1",
                        lines[1])
    assert re.fullmatch(r"5m(\d+s)? \(x3 over 10m\)\s+Warning\s+BackOff\s+Pod/web-0\s+"
                        r"Back-off restarting failed container", lines[2])
    assert len(lines) == 3


def test_kubectl_events_for_pod_filters_object_and_types(hub):
    post(hub, backoff())
    post(hub, scheduled())
    post(hub, backoff("web-1.backoff", pod="web-1"))
    post(hub, node_not_ready())
    out = hub.kubectl("events", "--for", "pod/web-0", "--types=Warning")
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stdout
    assert re.fullmatch(r"30m \(x3 over 40m\)\s+Warning\s+BackOff\s+Pod/web-0\s+Back-off restarting failed container",
                        lines[1])


def test_kubectl_events_on_empty_namespace(hub):
    out = hub.kubectl("events")
    assert (out.stdout, out.stderr) == ("", "No events found in default namespace.\n")


# ---- patch / label / annotate / apply ------------------------------------------------------------

def test_patch_merge_json_and_strategic(hub):
    post(hub, backoff())
    assert hub.kubectl("patch", "event", "web-0.backoff", "--type=merge",
                       "-p", '{"message":"merged","source":{"host":null}}').stdout == "event/web-0.backoff patched\n"
    assert hub.kubectl("patch", "event", "web-0.backoff", "--type=json",
                       "-p", '[{"op":"replace","path":"/reason","value":"Killing"},'
                             '{"op":"test","path":"/count","value":3}]').stdout == "event/web-0.backoff patched\n"
    assert hub.kubectl("patch", "event", "web-0.backoff", "-p",
                       '{"count":4,"lastTimestamp":"2030-01-01T00:00:00Z"}').stdout == "event/web-0.backoff patched\n"
    _, obj, _ = get(hub, "web-0.backoff")
    assert (obj["message"], obj["reason"], obj["count"]) == ("merged", "Killing", 4)
    assert obj["lastTimestamp"] == "2030-01-01T00:00:00Z"
    assert obj["source"] == {"component": "kubelet"}
    failed = hub.kubectl("patch", "event", "web-0.backoff", "--type=json",
                         "-p", '[{"op":"test","path":"/count","value":99}]', check=False)
    assert failed.returncode == 1, failed.stdout
    assert get(hub, "web-0.backoff")[1]["count"] == 4


def test_patch_missing_event_is_not_found(hub):
    out = hub.kubectl("patch", "event", "ghost", "--type=merge", "-p", '{"message":"x"}', check=False)
    assert out.returncode == 1
    assert out.stderr == 'Error from server (NotFound): events "ghost" not found\n'


def test_label_and_annotate(hub):
    post(hub, backoff())
    assert hub.kubectl("label", "event", "web-0.backoff", "tier=frontend").stdout == "event/web-0.backoff labeled\n"
    assert hub.kubectl("annotate", "event", "web-0.backoff", "owner=team-a").stdout == "event/web-0.backoff annotated\n"
    assert hub.kubectl("get", "events", "-l", "tier=frontend", "-o", "name").stdout == "event/web-0.backoff\n"
    meta = get(hub, "web-0.backoff")[1]["metadata"]
    assert meta["labels"] == {"tier": "frontend"} and meta["annotations"] == {"owner": "team-a"}
    assert hub.kubectl("label", "event", "web-0.backoff", "tier-").stdout == "event/web-0.backoff unlabeled\n"
    assert "labels" not in get(hub, "web-0.backoff")[1]["metadata"]


def test_client_side_apply_twice_updates_and_records_last_applied(hub, tmp_path):
    doc = scheduled("web-0.applied")
    path = write_yaml(tmp_path, "ev.yaml", doc)
    assert hub.kubectl("apply", "-f", path).stdout == "event/web-0.applied created\n"
    doc["message"] = "reassigned to node-2"
    doc["metadata"]["labels"] = {"app": "web"}
    path = write_yaml(tmp_path, "ev.yaml", doc)
    assert hub.kubectl("apply", "-f", path).stdout == "event/web-0.applied configured\n"
    assert hub.kubectl("apply", "-f", path).stdout == "event/web-0.applied unchanged\n"
    obj = get(hub, "web-0.applied")[1]
    assert obj["message"] == "reassigned to node-2"
    assert obj["metadata"]["labels"] == {"app": "web"}
    last = json.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["message"] == "reassigned to node-2" and last["metadata"]["name"] == "web-0.applied"


def test_server_side_apply_creates_then_updates(hub, tmp_path):
    doc = scheduled("web-0.ssa")
    path = write_yaml(tmp_path, "ev.yaml", doc)
    assert hub.kubectl("apply", "--server-side", "-f", path).stdout == "event/web-0.ssa serverside-applied\n"
    created = get(hub, "web-0.ssa")[1]
    assert created["reason"] == "Scheduled" and created["involvedObject"]["name"] == "web-0"
    doc["message"] = "changed by apply"
    path = write_yaml(tmp_path, "ev.yaml", doc)
    assert hub.kubectl("apply", "--server-side", "-f", path).stdout == "event/web-0.ssa serverside-applied\n"
    updated = get(hub, "web-0.ssa")[1]
    assert updated["message"] == "changed by apply"
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])


# ---- events.k8s.io/v1 ----------------------------------------------------------------------------

def test_events_k8s_io_event_created_from_yaml_and_read_through_both_groups(hub, tmp_path):
    doc = {
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "worker-1.ready", "namespace": "default"},
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() - 20 * 60)),
        "regarding": {"kind": "Node", "name": "worker-1", "apiVersion": "v1"},
        "reason": "NodeReady", "note": "Node worker-1 status is now: NodeReady", "type": "Normal",
        "action": "StatusChange", "reportingController": "example.com/node-ctl", "reportingInstance": "ctl-1",
    }
    out = hub.kubectl("create", "-f", write_yaml(tmp_path, "new.yaml", doc))
    assert out.stdout == "event.events.k8s.io/worker-1.ready created\n"
    out = hub.kubectl("get", "events.v1.events.k8s.io")
    assert out.stdout == render([HEADER, ["20m", "Normal", "NodeReady", "node/worker-1",
                                          "Node worker-1 status is now: NodeReady"]])
    obj = yaml.safe_load(hub.kubectl("get", "events.v1.events.k8s.io", "worker-1.ready", "-o", "yaml").stdout)
    assert obj["apiVersion"] == "events.k8s.io/v1"
    assert obj["note"] == doc["note"] and obj["regarding"] == doc["regarding"]
    assert obj["eventTime"] == doc["eventTime"]
    core = get(hub, "worker-1.ready")[1]
    assert core["message"] == doc["note"] and core["reportingComponent"] == "example.com/node-ctl"
    wide = hub.kubectl("get", "events", "-o", "wide").stdout.splitlines()[1]
    assert re.fullmatch(r"20m\s+Normal\s+NodeReady\s+node/worker-1\s+example\.com/node-ctl, ctl-1\s+"
                        r"Node worker-1 status is now: NodeReady\s+20m\s+1\s+worker-1\.ready", wide)
