"""Create and update with protobuf bodies, as client-go's typed clients send them (the
`tools/events` recorder of kube-scheduler and kube-controller-manager among them). The bodies
were written by apimachinery's own encoder (tests/k8s/cmd/protofixtures); what the hub stores
must read back, through JSON and the Python client, as the Go JSON of the same object."""

import json

import kubernetes.client as k8s
import pytest

from conftest import ROOT

FIXTURES = ROOT / "crates" / "kevents-model" / "testdata" / "proto"
CLIENT_GO = {
    "Content-Type": "application/vnd.kubernetes.protobuf",
    "Accept": "application/vnd.kubernetes.protobuf,application/json",
}
EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"
CORE = "/api/v1/namespaces/default/events"


def fixture(name):
    return (FIXTURES / f"{name}.pb").read_bytes(), json.loads((FIXTURES / f"{name}.json").read_text())


def send(hub, method, path, body):
    status, answer, headers = hub.request(method, path, raw=body, headers=CLIENT_GO)
    assert headers["Content-Type"].startswith("application/json"), headers
    return status, answer


def without_server_fields(event):
    event = json.loads(json.dumps(event))
    for field in ("uid", "resourceVersion", "creationTimestamp", "managedFields"):
        event["metadata"].pop(field, None)
    for field in ("apiVersion", "kind"):
        event.pop(field, None)
    # Go's JSON writes zero times as null; the hub leaves them out.
    return {k: v for k, v in event.items() if v is not None}


@pytest.mark.parametrize("prefix", ["", "/clusters/prod"], ids=["root", "cluster"])
def test_recorder_protobuf_create_and_series_update_read_back_as_json(hub, prefix):
    body, go_json = fixture("events-v1-recorded")
    status, created = send(hub, "POST", prefix + EVENTS, body)
    assert status == 201, created
    name = go_json["metadata"]["name"]
    status, read, _ = hub.request("GET", f"{prefix}{EVENTS}/{name}")
    assert status == 200, read
    labels = read["metadata"].pop("labels", {})
    assert labels == ({"kevents.io/cluster": "prod"} if prefix else {})
    assert without_server_fields(read) == without_server_fields(go_json)

    body, go_json = fixture("events-v1-series")
    status, updated = send(hub, "PUT", f"{prefix}{EVENTS}/{name}", body)
    assert status == 200, updated
    assert updated["series"] == go_json["series"] == {"count": 3, "lastObservedTime": "2025-03-14T15:10:56.535897Z"}
    assert updated["metadata"]["annotations"] == {"kevents.dev/note": "ünïcode ✓"}
    assert updated["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]


def test_core_protobuf_create_reads_back_through_the_python_client(hub):
    body, go_json = fixture("core-v1-recorded")
    status, created = send(hub, "POST", CORE, body)
    assert status == 201, created
    api = k8s.CoreV1Api(k8s.ApiClient(k8s.Configuration(host=hub.url)))
    event = api.read_namespaced_event(go_json["metadata"]["name"], "default")
    assert (event.reason, event.message, event.type, event.count) == (
        "BackOff", go_json["message"], "Warning", 7)
    assert (event.source.component, event.source.host) == ("kubelet", "node-1")
    assert event.first_timestamp.isoformat() == "2025-03-14T15:00:00+00:00"
    assert event.involved_object.field_path == "spec.containers{web}"
    assert event.metadata.annotations == {"a": "1", "b": ""}
    assert event.reporting_component == "kubelet"


def test_protobuf_dry_run_stores_nothing(hub):
    body, go_json = fixture("core-v1-recorded")
    status, answer = send(hub, "POST", CORE + "?dryRun=All", body)
    assert status == 201, answer
    assert hub.request("GET", f"{CORE}/{go_json['metadata']['name']}")[0] == 404


@pytest.mark.parametrize("name,path,cut,expected", [
    ("core-v1-pod", CORE, None, "the kind in the body (Pod) does not match the kind of this endpoint (Event)"),
    ("events-v1-recorded", CORE, None, 'no kind "Event" is registered for version "events.k8s.io/v1"'),
    ("events-v1-recorded", EVENTS, 120, "needs"),
    ("events-v1-recorded", EVENTS, 3, "magic"),
], ids=["pod", "other-version", "truncated", "no-magic"])
def test_malformed_or_foreign_protobuf_is_bad_request(hub, name, path, cut, expected):
    body, _ = fixture(name)
    status, answer = send(hub, "POST", path, body[:cut] if cut else body)
    assert (status, answer["reason"]) == (400, "BadRequest"), answer
    assert expected in answer["message"], answer
    _, listed, _ = hub.request("GET", path)
    assert listed["items"] == []


def test_unsupported_body_type_lists_protobuf(hub):
    status, answer, _ = hub.request("POST", CORE, raw=b"x", headers={"Content-Type": "text/plain"})
    assert status == 415
    assert answer["message"].endswith("application/json, application/yaml, application/vnd.kubernetes.protobuf")
