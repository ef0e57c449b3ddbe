"""Raw-HTTP bad input: every rejection is an apiserver-shaped `Status`, and none of it hurts the store.

One hub serves the whole module. It is seeded with good events first; the last test checks that
after the barrage the server still answers and those events are exactly as they were.
"""

import json
import re
import socket
from urllib.parse import quote

import pytest

from conftest import Hub, core_event

CORE = "/api/v1/namespaces/default/events"
NEW = "/apis/events.k8s.io/v1/namespaces/default/events"
GOOD = ["good-1", "good-2", "good-3"]
PATCH_TYPES = ("application/json-patch+json, application/merge-patch+json, "
               "application/strategic-merge-patch+json, application/apply-patch+yaml")
CONFLICT = ('Operation cannot be fulfilled on events "{}": the object has been modified; '
            "please apply your changes to the latest version and try again")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("bad-input") / "data").start()
    try:
        for name in GOOD:
            body = core_event(name)
            body["metadata"]["labels"] = {"set": "good"}
            status, obj, _ = hub.request("POST", CORE, body)
            assert status == 201, obj
        snapshot = {name: hub.request("GET", f"{CORE}/{name}")[1] for name in GOOD}
        yield hub, snapshot
    finally:
        hub.stop()


@pytest.fixture
def hub(seeded):
    return seeded[0]


def assert_status(response, code, reason, message=None, prefix=None):
    """The response is a Failure `Status` with this code and reason (and message, if given)."""
    status, body, headers = response
    assert status == code, body
    assert isinstance(body, dict), f"not JSON: {body!r}"
    assert headers.get("Content-Type", "").startswith("application/json"), headers.get("Content-Type")
    assert (body.get("kind"), body.get("apiVersion")) == ("Status", "v1"), body
    assert body.get("status") == "Failure", body
    assert body.get("code") == code, body
    assert body.get("reason") == reason, body
    if message is not None:
        assert body.get("message") == message
    if prefix is not None:
        assert body.get("message", "").startswith(prefix), body.get("message")
    return body


def post_raw(hub, raw, path=CORE, content_type="application/json"):
    return hub.request("POST", path, raw=raw, headers={"Content-Type": content_type})


# ---- bodies that are not an Event ---------------------------------------------------------------

UNRECOGNIZED = ("the object provided is unrecognized (must be of type Event): "
                "couldn't get version/kind; json parse error: ")


@pytest.mark.parametrize("raw", [b'{"metadata": {"name": "trunc"', b"not json at all", b""],
                         ids=["truncated", "garbage", "empty"])
def test_malformed_json_body_is_bad_request(hub, raw):
    assert_status(post_raw(hub, raw), 400, "BadRequest", prefix=UNRECOGNIZED)


def test_json_array_body_is_bad_request(hub):
    raw = json.dumps([core_event("in-array")]).encode()
    assert_status(post_raw(hub, raw), 400, "BadRequest", prefix=UNRECOGNIZED)
    assert hub.request("GET", f"{CORE}/in-array")[0] == 404


def test_wrong_kind_is_bad_request(hub):
    body = core_event("a-pod", kind="Pod")
    assert_status(hub.request("POST", CORE, body), 400, "BadRequest",
                  prefix='Pod in version "v1" cannot be handled as a Event: ')
    assert hub.request("GET", f"{CORE}/a-pod")[0] == 404


def test_wrong_api_version_is_bad_request(hub):
    body = core_event("v2-event", apiVersion="v2")
    assert_status(hub.request("POST", CORE, body), 400, "BadRequest",
                  prefix='Event in version "v2" cannot be handled as a Event: ')
    assert hub.request("GET", f"{CORE}/v2-event")[0] == 404


def raw_post(hub, path, body, expect_continue=False):
    """POSTs over a bare socket, tolerating the server closing while the body is still being
    sent (urllib gives up with EPIPE then); returns (status, parsed JSON body, header text).
    With `expect_continue` only the headers go out, as curl does before a 100 Continue."""
    with socket.create_connection(("127.0.0.1", hub.port), timeout=30) as sock:
        expect = "Expect: 100-continue\r\n" if expect_continue else ""
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{expect}\r\n")
        try:
            sock.sendall(head.encode() + (b"" if expect_continue else body))
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = b""
        try:
            while chunk := sock.recv(65536):
                response += chunk
                header, sep, rest = response.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", header)
                if sep and length and len(rest) >= int(length.group(1)):
                    break
        except ConnectionResetError:
            pass
    header, _, rest = response.partition(b"\r\n\r\n")
    status = int(header.split()[1]) if header else 0
    return status, json.loads(rest) if rest else None, header.decode(errors="replace")


@pytest.mark.parametrize("expect_continue", [False, True], ids=["whole-body", "expect-100-continue"])
def test_oversize_body_is_request_entity_too_large(hub, expect_continue):
    body = json.dumps(core_event("huge", message="x" * (3 * 1024 * 1024))).encode()
    status, obj, header = raw_post(hub, CORE, body, expect_continue)
    assert status == 413, (header, obj)
    assert "application/json" in header
    assert obj == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "Request entity too large: limit is 3145728",
                   "reason": "RequestEntityTooLarge", "code": 413}
    assert hub.request("GET", f"{CORE}/huge")[0] == 404


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_post_with_unsupported_content_type_is_415(hub, content_type):
    raw = json.dumps(core_event("plain")).encode()
    assert_status(post_raw(hub, raw, content_type=content_type), 415, "UnsupportedMediaType",
                  prefix="the body of the request was in an unknown format - accepted media types include: "
                         "application/json")
    assert hub.request("GET", f"{CORE}/plain")[0] == 404


def test_protobuf_only_accept_is_not_acceptable(hub):
    response = hub.request("GET", CORE, headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert_status(response, 406, "NotAcceptable",
                  prefix="only the following media types are accepted: application/json")


# ---- field validation ---------------------------------------------------------------------------

def test_unknown_field_with_strict_validation_is_rejected(hub):
    body = core_event("strict-1", spec={"replicas": 1})
    body["involvedObject"]["colour"] = "red"
    response = hub.request("POST", CORE + "?fieldValidation=Strict", body)
    assert_status(response, 400, "BadRequest",
                  message='Event in version "v1" cannot be handled as a Event: strict decoding error: '
                          'unknown field "involvedObject.colour", unknown field "spec"')
    assert hub.request("GET", f"{CORE}/strict-1")[0] == 404


def test_unknown_field_with_warn_validation_is_accepted_with_warning_header(hub):
    status, obj, headers = hub.request("POST", CORE + "?fieldValidation=Warn", core_event("warned-1", spec={}))
    assert status == 201, obj
    assert headers.get_all("Warning") == ['299 - "unknown field \\"spec\\""']
    assert "spec" not in obj
    assert hub.request("GET", f"{CORE}/warned-1")[0] == 200


def test_unknown_field_validation_value_is_bad_request(hub):
    response = hub.request("POST", CORE + "?fieldValidation=Loose", core_event("loose-1"))
    assert_status(response, 400, "BadRequest")
    assert hub.request("GET", f"{CORE}/loose-1")[0] == 404


# ---- semantic validation ------------------------------------------------------------------------

def test_missing_name_and_generate_name_is_invalid(hub):
    body = core_event("")
    del body["metadata"]["name"]
    status = assert_status(hub.request("POST", CORE, body), 422, "Invalid",
                           message='Event "" is invalid: metadata.name: Required value: name or generateName is required')
    assert status["details"]["kind"] == "Event"
    assert status["details"].get("name", "") == ""
    assert status["details"]["causes"] == [{"reason": "FieldValueRequired", "field": "metadata.name",
                                            "message": "Required value: name or generateName is required"}]


def test_namespace_mismatch_is_bad_request(hub):
    body = core_event("elsewhere", namespace="kube-system")
    assert_status(hub.request("POST", CORE, body), 400, "BadRequest",
                  message="the namespace of the provided object does not match the namespace sent on the request")
    assert hub.request("GET", "/api/v1/namespaces/kube-system/events/elsewhere")[0] == 404


def test_put_with_name_different_from_url_is_bad_request(hub):
    body = core_event("other-name")
    assert_status(hub.request("PUT", f"{CORE}/good-1", body), 400, "BadRequest",
                  message="the name of the object (other-name) does not match the name on the URL (good-1)")


def test_events_k8s_io_create_without_event_time_is_invalid(hub):
    body = {
        "metadata": {"name": "no-time"}, "regarding": {"kind": "Pod", "namespace": "default", "name": "web-0"},
        "reason": "Started", "note": "started", "type": "Normal", "action": "Start",
        "reportingController": "example.com/ctl", "reportingInstance": "ctl-1",
    }
    status = assert_status(hub.request("POST", NEW, body), 422, "Invalid")
    assert status["message"].endswith('"no-time" is invalid: eventTime: Required value'), status["message"]
    assert status["details"]["name"] == "no-time"
    assert status["details"]["causes"] == [{"reason": "FieldValueRequired", "field": "eventTime",
                                            "message": "Required value"}]
    assert hub.request("GET", f"{NEW}/no-time")[0] == 404


# ---- conflicts and missing objects --------------------------------------------------------------

def test_duplicate_create_is_already_exists(hub):
    status = assert_status(hub.request("POST", CORE, core_event("good-1", message="duplicate")), 409,
                           "AlreadyExists", message='events "good-1" already exists')
    assert status["details"] == {"name": "good-1", "kind": "events"}


def test_stale_resource_version_on_put_is_conflict(hub):
    current = hub.request("GET", f"{CORE}/good-2")[1]
    stale = json.loads(json.dumps(current))
    stale["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) - 1)
    stale["message"] = "should never be stored"
    status = assert_status(hub.request("PUT", f"{CORE}/good-2", stale), 409, "Conflict",
                           message=CONFLICT.format("good-2"))
    assert status["details"] == {"name": "good-2", "kind": "events"}


def test_get_missing_is_not_found_with_resource_kind(hub):
    status = assert_status(hub.request("GET", f"{CORE}/ghost"), 404, "NotFound", message='events "ghost" not found')
    assert status["details"] == {"name": "ghost", "kind": "events"}
    status = assert_status(hub.request("GET", f"{NEW}/ghost"), 404, "NotFound",
                           message='events.events.k8s.io "ghost" not found')
    assert status["details"] == {"name": "ghost", "group": "events.k8s.io", "kind": "events"}


@pytest.mark.parametrize("content_type,body", [
    ("application/merge-patch+json", b'{"message": "x"}'),
    ("application/strategic-merge-patch+json", b'{"message": "x"}'),
    ("application/json-patch+json", b'[{"op": "replace", "path": "/message", "value": "x"}]'),
])
def test_patch_missing_event_is_not_found(hub, content_type, body):
    response = hub.request("PATCH", f"{CORE}/ghost", raw=body, headers={"Content-Type": content_type})
    status = assert_status(response, 404, "NotFound", message='events "ghost" not found')
    assert status["details"] == {"name": "ghost", "kind": "events"}


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/yaml"])
def test_patch_with_unsupported_content_type_is_415(hub, content_type):
    response = hub.request("PATCH", f"{CORE}/good-3", raw=b'{"message": "x"}', headers={"Content-Type": content_type})
    assert_status(response, 415, "UnsupportedMediaType",
                  message=f"the body of the request was in an unknown format - accepted media types include: {PATCH_TYPES}")


@pytest.mark.parametrize("content_type,body", [
    ("application/merge-patch+json", b'{"message": '),
    ("application/strategic-merge-patch+json", b"[1, 2]"),
    ("application/json-patch+json", b'{"op": "replace"'),
])
def test_malformed_patch_body_is_bad_request(hub, content_type, body):
    response = hub.request("PATCH", f"{CORE}/good-3", raw=body, headers={"Content-Type": content_type})
    assert_status(response, 400, "BadRequest")


def test_json_patch_with_failing_test_op_is_invalid(hub):
    body = b'[{"op": "test", "path": "/reason", "value": "Nope"}, {"op": "replace", "path": "/message", "value": "x"}]'
    response = hub.request("PATCH", f"{CORE}/good-3", raw=body, headers={"Content-Type": "application/json-patch+json"})
    assert_status(response, 422, "Invalid")


def test_delete_missing_is_not_found(hub):
    assert_status(hub.request("DELETE", f"{CORE}/ghost"), 404, "NotFound", message='events "ghost" not found')


# ---- routing --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/namespaces/default/pods", "/apis/apps/v1/deployments",
                                  "/api/v2/events", "/nonsense"])
def test_unknown_path_is_not_found_status(hub, path):
    assert_status(hub.request("GET", path), 404, "NotFound", message="the server could not find the requested resource")


@pytest.mark.parametrize("method,path", [("PUT", CORE), ("POST", f"{CORE}/good-1"), ("DELETE", "/api/v1/events"),
                                         ("POST", "/api/v1/events"), ("PATCH", CORE)])
def test_wrong_method_is_method_not_allowed(hub, method, path):
    body = core_event("good-1", message="should never be stored")
    assert_status(hub.request(method, path, body), 405, "MethodNotAllowed",
                  message="the server does not allow this method on the requested resource")


# ---- list options ---------------------------------------------------------------------------------

def list_with(hub, query, path=CORE):
    return hub.request("GET", f"{path}?{query}")


def test_unknown_field_selector_label_is_bad_request(hub):
    assert_status(list_with(hub, "fieldSelector=spec.nodeName%3Dn1"), 400, "BadRequest",
                  message="field label not supported: spec.nodeName")
    # involvedObject.* is the core spelling; events.k8s.io only knows regarding.*
    assert_status(list_with(hub, "fieldSelector=involvedObject.name%3Dweb-0", NEW), 400, "BadRequest",
                  message="field label not supported: involvedObject.name")


def test_malformed_field_selector_is_bad_request(hub):
    assert_status(list_with(hub, "fieldSelector=type"), 400, "BadRequest",
                  message="invalid selector: 'type'; can't understand 'type'")
    assert_status(list_with(hub, "fieldSelector=" + quote("type=Normal,reason")), 400, "BadRequest",
                  message="invalid selector: 'type=Normal,reason'; can't understand 'reason'")


@pytest.mark.parametrize("selector,message", [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("-bad=x", "unable to parse requirement: <nil>: Invalid value: \"-bad\": "),
])
def test_bad_label_selector_is_bad_request(hub, selector, message):
    status = assert_status(list_with(hub, "labelSelector=" + quote(selector)), 400, "BadRequest")
    assert status["message"].startswith(message), status["message"]


def test_bad_continue_token_is_bad_request(hub):
    assert_status(list_with(hub, "limit=1&continue=garbage"), 400, "BadRequest",
                  prefix="invalid continue token: continue key is not valid: ")
    assert_status(list_with(hub, "limit=1&continue=garbage&resourceVersion=5"), 400, "BadRequest",
                  message="specifying resource version is not allowed when using continue")


@pytest.mark.parametrize("path", [CORE, f"{CORE}/good-1"])
def test_unparsable_resource_version_is_bad_request(hub, path):
    assert_status(list_with(hub, "resourceVersion=abc", path), 400, "BadRequest",
                  message='invalid resource version: resourceVersion: Invalid value: "abc": '
                          'strconv.ParseUint: parsing "abc": invalid syntax')


@pytest.mark.parametrize("query,detail", [
    ("resourceVersionMatch=NotOlderThan",
     "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
    ("resourceVersionMatch=Exact&resourceVersion=0",
     'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'),
    ("resourceVersionMatch=Bogus&resourceVersion=1",
     'resourceVersionMatch: Unsupported value: "Bogus": supported values: "Exact", "NotOlderThan", ""'),
])
def test_contradictory_resource_version_match_is_invalid(hub, query, detail):
    status = assert_status(list_with(hub, query), 422, "Invalid",
                           message=f'ListOptions.meta.k8s.io "" is invalid: {detail}')
    assert (status["details"]["group"], status["details"]["kind"]) == ("meta.k8s.io", "ListOptions")
    assert status["details"]["causes"][0]["field"] == "resourceVersionMatch"


# ---- after all of the above ----------------------------------------------------------------------

def test_server_survives_and_good_events_are_unchanged(seeded):
    hub, snapshot = seeded
    assert hub.proc.poll() is None, "kevents exited"
    assert hub.request("GET", "/readyz")[0] == 200
    for name, before in snapshot.items():
        status, now, _ = hub.request("GET", f"{CORE}/{name}")
        assert status == 200 and now == before, name
    status, listed, _ = list_with(hub, "labelSelector=set%3Dgood")
    assert status == 200
    assert listed["items"] == [snapshot[name] for name in GOOD]
