"""Regressions of the robustness probe (issue 27): no input reaches a panic, every limit answers
with a Status, every stored event is addressable, versions from the future are refused like the
apiserver refuses them. Each test is named after the defect it guards against."""

import base64
import json
import re
import socket

import pytest

from conftest import core_event
from test_regressions import read_watch

CORE = "/api/v1/namespaces/default/events"
EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def panics(hub):
    _, text, _ = hub.request("GET", "/metrics")
    match = re.search(r"^kevents_handler_panics_total (\d+)", text, re.M)
    assert match, "kevents_handler_panics_total is exported"
    return int(match.group(1))


def raw_exchange(hub, request_bytes):
    """Sends raw bytes; returns (status code, parsed body) of the answer."""
    with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as sock:
        sock.sendall(request_bytes)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"content-length: (\d+)", head, re.I)
            if length and len(body) >= int(length.group(1)):
                break
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "replace", "path": "", "value": []}],
        [{"op": "replace", "path": "", "value": 5}],
        [{"op": "replace", "path": "", "value": "str"}],
        [{"op": "replace", "path": "", "value": True}],
        [{"op": "add", "path": "/list", "value": [1]}, {"op": "copy", "from": "/list", "path": ""}],
    ],
    ids=["array", "number", "string", "bool", "copy-of-array"],
)
@pytest.mark.parametrize(
    "path", [CORE + "/ev", EVENTS + "/ev", "/clusters/prod" + CORE + "/ev", CORE + "/ev?dryRun=All"]
)
def test_json_patch_that_makes_the_root_a_non_object_is_invalid_not_a_dropped_connection(
    hub, path, ops
):
    create_path = path.split("/api")[0] + CORE if path.startswith("/clusters") else CORE
    assert hub.request("POST", create_path, core_event("ev"))[0] == 201
    status, answer, _ = hub.request("PATCH", path, ops, headers=JSON_PATCH)
    assert status == 422, answer
    assert answer["kind"] == "Status" and answer["reason"] == "Invalid"
    assert answer["details"]["causes"][0]["field"] == "patch"
    _, event, _ = hub.request("GET", create_path + "/ev")
    assert event["message"].startswith("Successfully assigned")
    assert panics(hub) == 0


def test_handler_panics_counter_is_exported_at_zero(hub):
    assert panics(hub) == 0


def test_a_name_too_long_to_address_is_refused_at_create_with_the_limit(hub):
    status, answer, _ = hub.request("POST", CORE, core_event("n" * 66_000))
    assert status == 422, answer
    assert "must be no more than 8192 bytes" in answer["message"]
    longest = "n" * 8192
    assert hub.request("POST", CORE, core_event(longest))[0] == 201
    assert hub.request("GET", f"{CORE}/{longest}")[0] == 200
    assert hub.request("DELETE", f"{CORE}/{longest}")[0] == 200


def test_uri_too_long_answer_is_a_status(hub):
    target = f"{CORE}/{'n' * 70_000}"
    code, status = raw_exchange(hub, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert code == 414
    assert status["kind"] == "Status" and status["code"] == 414
    assert "65534" in status["message"]


def test_request_head_too_large_answer_is_a_status(hub):
    header = "X-Big: " + "a" * 500_000
    code, status = raw_exchange(hub, f"GET {CORE} HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n".encode())
    assert code == 431
    assert status["kind"] == "Status" and status["code"] == 431


def too_large_resource_version(answer):
    assert answer["kind"] == "Status" and answer["reason"] == "Timeout", answer
    assert answer["message"].startswith("Timeout: Too large resource version: 99999999, current: ")
    assert answer["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


def test_continue_token_from_the_future_is_too_large_resource_version(hub):
    for i in range(3):
        assert hub.request("POST", CORE, core_event(f"e{i}"))[0] == 201
    _, page, _ = hub.request("GET", f"{CORE}?limit=1")
    token = json.loads(base64.urlsafe_b64decode(page["metadata"]["continue"] + "=="))
    token["rv"] = 99999999
    forged = base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")
    status, answer, headers = hub.request("GET", f"{CORE}?limit=1&continue={forged}")
    assert status == 504
    assert headers["Retry-After"] == "1"
    too_large_resource_version(answer)


def test_list_at_a_future_resource_version_is_too_large(hub):
    status, answer, _ = hub.request("GET", f"{CORE}?resourceVersion=99999999")
    assert status == 504
    too_large_resource_version(answer)


def test_watch_with_initial_events_at_a_future_version_is_too_large(hub):
    query = "resourceVersion=99999999&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&allowWatchBookmarks=true"
    status, answer, _ = hub.request("GET", f"{CORE}?watch=true&{query}")
    assert status == 504
    too_large_resource_version(answer)


def test_watch_from_a_future_version_does_not_deliver_older_changes(hub):
    for i in range(3):
        assert hub.request("POST", CORE, core_event(f"old{i}"))[0] == 201
    events, _ = read_watch(hub, "resourceVersion=99999999", max_seconds=1.5)
    assert events == []
    _, listed, _ = hub.request("GET", CORE)
    current = int(listed["metadata"]["resourceVersion"])
    events, _ = read_watch(hub, f"resourceVersion={current - 1}", max_seconds=1.5, max_events=1)
    assert [e["object"]["metadata"]["name"] for e in events] == ["old2"]


def test_the_last_rfc3339_second_is_a_valid_window_bound(hub):
    assert hub.request("POST", CORE, core_event("now"))[0] == 201
    status, listed, _ = hub.request("GET", f"{CORE}?from=9999-12-31T23:59:59Z")
    assert status == 200, listed
    assert listed["items"] == []
    status, listed, _ = hub.request("GET", f"{CORE}?to=9999-12-31T23:59:59Z")
    assert status == 200 and [e["metadata"]["name"] for e in listed["items"]] == ["now"]
