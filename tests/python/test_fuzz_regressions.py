"""Regression tests for defects found by the fuzz targets (fuzz/, run by scripts/fuzz), each named
after the behaviour it guards and sent to a real hub over HTTP.

A JSON patch can nest the patched document without bound: `copy` of a subtree into itself doubles
its depth per operation, and `add` can stack values inside values added earlier. The body decoder
stops at 128 levels, but the patch result bypasses it, and a few thousand levels overflow a 2 MiB
tokio worker stack while the document is cloned, serialized or dropped: the whole hub aborts.
The minimized fuzz input is fuzz/seeds/patch/nesting-deeper-than-a-body.
"""

import http.client
import json

import pytest

from conftest import core_event

CORE = "/api/v1/namespaces/default/events"
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def nested(levels):
    """`{"a": {"a": ... {}}}`, `levels` objects deep."""
    value = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def copy_into_itself(levels=100, doublings=11):
    """Adds a `levels`-deep chain at /x, then copies /x below its own innermost object
    `doublings` times: about 410 KB of patch, 200,000 levels deep, and copies well under the
    3 MiB document size limit."""
    ops = [{"op": "add", "path": "/x", "value": nested(levels)}]
    keys = levels - 1  # "a" keys from /x down to the innermost object
    for _ in range(doublings):
        ops.append({"op": "copy", "from": "/x", "path": "/x" + "/a" * (keys + 1)})
        keys = 2 * keys + 1
    return ops


def stacked_adds(levels=120, count=140):
    """Adds a `levels`-deep chain inside the previous one, `count` times: about 2.5 MB of patch,
    16,800 levels deep, no copy at all."""
    return [
        {"op": "add", "path": "/x" + "/a" * (levels * k), "value": nested(levels)}
        for k in range(count)
    ]


@pytest.mark.parametrize("make_ops", [copy_into_itself, stacked_adds],
                         ids=["copy-into-itself", "stacked-adds"])
def test_json_patch_nesting_the_event_deeper_than_a_body_may_is_refused_and_the_hub_stays_up(
        make_hub, make_ops):
    hub = make_hub().start()
    assert hub.request("POST", CORE, core_event("deep"))[0] == 201
    before = hub.request("GET", f"{CORE}/deep")[1]
    raw = json.dumps(make_ops()).encode()
    try:
        status, body, _ = hub.request("PATCH", f"{CORE}/deep", raw=raw, headers=JSON_PATCH)
    except (OSError, http.client.HTTPException) as e:
        hub.proc.wait(timeout=10)
        log = hub.log_path.read_text(errors="replace")[-600:]
        pytest.fail(f"the hub dropped the connection ({e!r}), exit code {hub.proc.returncode}:\n{log}")
    assert status in (400, 413, 422), body
    assert (body.get("kind"), body.get("status")) == ("Status", "Failure"), body
    assert hub.proc.poll() is None
    assert hub.request("GET", f"{CORE}/deep")[1] == before
