"""Regression tests, each named after the defect it guards against."""

import json
import socket
import time

from conftest import core_event

CORE = "/api/v1/namespaces/default/events"


def read_watch(hub, query, max_seconds=5.0, max_events=None):
    """Opens a watch with a raw socket; returns (events, ended_by_server) after the stream ends,
    `max_events` arrived, or `max_seconds` passed."""
    sock = socket.create_connection(("127.0.0.1", hub.port), timeout=max_seconds)
    sock.sendall(f"GET {CORE}?watch=true&{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data, ended, deadline = b"", False, time.time() + max_seconds
    try:
        while time.time() < deadline:
            sock.settimeout(max(0.05, deadline - time.time()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                ended = True
                break
            data += chunk
            if data.endswith(b"\r\n0\r\n\r\n"):
                ended = True
                break
            if max_events and data.count(b'{"type"') >= max_events:
                break
    finally:
        sock.close()
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    events = [json.loads(line) for line in _dechunk(body).splitlines() if line.strip()]
    return events, ended


def _dechunk(body):
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        try:
            size = int(size_line, 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


def test_event_grown_past_the_size_limit_by_a_patch_is_refused_and_the_store_recovers(make_hub):
    hub = make_hub().start()
    big = core_event("big", message="x" * 600_000)
    assert hub.request("POST", CORE, big)[0] == 201
    ops = [{"op": "copy", "from": "/message", "path": f"/metadata/annotations/a{i}"} for i in range(3)]
    patch = [{"op": "add", "path": "/metadata/annotations", "value": {}}] + ops
    status, body, _ = hub.request("PATCH", f"{CORE}/big", patch,
                                  headers={"Content-Type": "application/json-patch+json"})
    assert status == 413, body
    assert body["reason"] == "RequestEntityTooLarge"
    assert hub.request("POST", CORE, core_event("after"))[0] == 201
    hub.kill9()
    hub.start()
    assert hub.request("GET", f"{CORE}/big")[1]["message"] == "x" * 600_000
    assert hub.request("GET", f"{CORE}/after")[0] == 200


def test_self_copying_json_patch_is_refused_instead_of_exhausting_memory(hub):
    assert hub.request("POST", CORE, core_event("copier"))[0] == 201
    ops = [{"op": "copy", "from": "", "path": f"/metadata/annotations/c{i}"} for i in range(40)]
    status, body, _ = hub.request("PATCH", f"{CORE}/copier", ops,
                                  headers={"Content-Type": "application/json-patch+json"})
    assert status in (413, 422), body
    assert hub.request("GET", "/readyz")[0] == 200


def test_failed_test_op_after_moving_the_root_does_not_crash_the_server(hub):
    assert hub.request("POST", CORE, core_event("mover"))[0] == 201
    ops = [{"op": "move", "from": "/metadata", "path": ""}, {"op": "test", "path": "/nope", "value": 1}]
    status, body, _ = hub.request("PATCH", f"{CORE}/mover", ops,
                                  headers={"Content-Type": "application/json-patch+json"})
    assert status == 422, body
    assert hub.request("GET", f"{CORE}/mover")[0] == 200


def test_watch_with_timeout_seconds_zero_stays_open(hub):
    rv = hub.request("GET", CORE)[1]["metadata"]["resourceVersion"]
    events, ended = read_watch(hub, f"resourceVersion={rv}&timeoutSeconds=0", max_seconds=1.5)
    assert not ended, "timeoutSeconds=0 means the server default, not an immediate end"
    assert events == []


def test_watch_leaving_a_field_selector_reports_the_last_matching_state(hub):
    assert hub.request("POST", CORE, core_event("flips", type="Warning"))[0] == 201
    rv = hub.request("GET", CORE)[1]["metadata"]["resourceVersion"]
    patch = {"type": "Normal"}
    assert hub.request("PATCH", f"{CORE}/flips", patch,
                       headers={"Content-Type": "application/merge-patch+json"})[0] == 200
    events, _ = read_watch(hub, f"resourceVersion={rv}&fieldSelector=type%3DWarning", max_events=1)
    assert [e["type"] for e in events] == ["DELETED"]
    deleted = events[0]["object"]
    assert deleted["type"] == "Warning", "the object as it last matched"
    assert int(deleted["metadata"]["resourceVersion"]) > int(rv)


def test_watch_from_zero_without_initial_events_starts_now_instead_of_expiring(hub):
    assert hub.request("POST", CORE, core_event("before-watch"))[0] == 201
    events, _ = read_watch(hub, "resourceVersion=0&sendInitialEvents=false&timeoutSeconds=1",
                           max_seconds=3)
    assert events == [], events


def test_put_with_resource_version_zero_is_unconditional(hub):
    status, obj, _ = hub.request("POST", CORE, core_event("put-zero"))
    assert status == 201
    obj["message"] = "replaced"
    obj["metadata"]["resourceVersion"] = "0"
    status, replaced, _ = hub.request("PUT", f"{CORE}/put-zero", obj)
    assert status == 200, replaced
    assert replaced["message"] == "replaced"


def test_invalid_generate_name_create_reports_the_generated_name(hub):
    body = core_event("", namespace="default")
    body["metadata"] = {"generateName": "web-", "namespace": "default"}
    body["involvedObject"]["namespace"] = "elsewhere"
    status, obj, _ = hub.request("POST", CORE, body)
    assert status == 422, obj
    assert obj["details"]["name"].startswith("web-") and len(obj["details"]["name"]) == 9


def test_yaml_bodies_and_yaml_responses_are_supported(hub):
    import yaml

    body = yaml.safe_dump(core_event("from-yaml"))
    status, obj, _ = hub.request("POST", CORE, raw=body.encode(),
                                 headers={"Content-Type": "application/yaml"})
    assert status == 201, obj
    status, text, headers = hub.request("GET", f"{CORE}/from-yaml", headers={"Accept": "application/yaml"})
    assert status == 200
    assert headers["Content-Type"] == "application/yaml"
    parsed = yaml.safe_load(text)
    assert parsed["metadata"]["name"] == "from-yaml" and parsed["eventTime"] is None


def test_dry_run_create_of_an_existing_name_is_already_exists(hub):
    assert hub.request("POST", CORE, core_event("exists-once"))[0] == 201
    status, obj, _ = hub.request("POST", CORE + "?dryRun=All", core_event("exists-once"))
    assert status == 409 and obj["reason"] == "AlreadyExists", obj
