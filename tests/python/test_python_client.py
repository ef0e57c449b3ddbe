"""The PyPI `kubernetes` client (v37) against the real `kevents serve` binary."""

import datetime
import threading
import time

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

NS = "default"


def apis(hub):
    api_client = client.ApiClient(client.Configuration(host=hub.url))
    return client.CoreV1Api(api_client), client.EventsV1Api(api_client)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def ref(name, ns=NS, kind="Pod"):
    return client.V1ObjectReference(kind=kind, name=name, namespace=ns, api_version="v1", uid=f"uid-{name}")


def core_ev(name, obj="web-0", ns=NS, type="Normal", labels=None, message=None, **extra):
    return client.CoreV1Event(
        metadata=client.V1ObjectMeta(name=name, namespace=ns, labels=labels),
        involved_object=ref(obj, ns),
        reason=extra.pop("reason", "Started"),
        message=message or f"message of {name}",
        type=type,
        source=client.V1EventSource(component="kubelet", host="node-1"),
        first_timestamp=now().replace(microsecond=0),
        last_timestamp=now().replace(microsecond=0),
        count=1,
        **extra,
    )


def new_ev(name, obj="web-0", ns=NS, type="Normal", **extra):
    return client.EventsV1Event(
        metadata=client.V1ObjectMeta(name=name, namespace=ns),
        event_time=extra.pop("event_time", now()),
        reporting_controller="example.com/operator",
        reporting_instance="operator-abc",
        action="Reconcile",
        reason=extra.pop("reason", "Synced"),
        note=extra.pop("note", f"note of {name}"),
        type=type,
        regarding=ref(obj, ns),
        **extra,
    )


def names(event_list):
    return [e.metadata.name for e in event_list.items]


def status_of(call, *args, **kwargs):
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    return info.value.status


def test_core_create_read_list_replace_patch_delete_round_trip(hub):
    core, _ = apis(hub)
    created = core.create_namespaced_event(NS, core_ev("a1", labels={"app": "web"}))
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert created.involved_object.name == "web-0" and created.source.host == "node-1"
    rv1 = int(created.metadata.resource_version)
    core.create_namespaced_event("other", core_ev("b1", ns="other"))

    got = core.read_namespaced_event("a1", NS)
    assert got.metadata.uid == created.metadata.uid and got.message == "message of a1"
    assert got.metadata.labels == {"app": "web"}
    assert names(core.list_namespaced_event(NS)) == ["a1"]
    everywhere = core.list_event_for_all_namespaces()
    assert sorted((e.metadata.namespace, e.metadata.name) for e in everywhere.items) == [
        (NS, "a1"), ("other", "b1")]
    assert int(everywhere.metadata.resource_version) >= rv1 + 1

    got.message, got.count = "replaced", 2
    replaced = core.replace_namespaced_event("a1", NS, got)
    assert replaced.message == "replaced" and replaced.count == 2
    assert int(replaced.metadata.resource_version) > rv1
    assert replaced.metadata.uid == created.metadata.uid

    # A dict is sent as a strategic merge patch: only the named fields change.
    merged = core.patch_namespaced_event("a1", NS, {"count": 3, "metadata": {"labels": {"tier": "1"}}})
    assert merged.count == 3 and merged.message == "replaced" and merged.reason == "Started"
    assert merged.metadata.labels == {"app": "web", "tier": "1"}
    # A list is sent as a JSON patch.
    jsoned = core.patch_namespaced_event("a1", NS, [
        {"op": "replace", "path": "/message", "value": "json-patched"},
        {"op": "remove", "path": "/metadata/labels/tier"}])
    assert jsoned.message == "json-patched" and jsoned.count == 3 and jsoned.metadata.labels == {"app": "web"}
    assert int(jsoned.metadata.resource_version) > int(merged.metadata.resource_version)
    assert core.read_namespaced_event("a1", NS).message == "json-patched"

    generated = core.create_namespaced_event(NS, client.CoreV1Event(
        metadata=client.V1ObjectMeta(generate_name="p-"), involved_object=ref("web-0"), reason="X"))
    assert generated.metadata.name.startswith("p-") and len(generated.metadata.name) == 7

    core.delete_namespaced_event("a1", NS)
    assert status_of(core.read_namespaced_event, "a1", NS) == 404
    assert names(core.list_namespaced_event(NS)) == [generated.metadata.name]


def test_delete_collection_removes_only_selected_events(hub):
    core, _ = apis(hub)
    for i, app in enumerate(["a", "a", "b"]):
        core.create_namespaced_event(NS, core_ev(f"dc{i}", labels={"app": app}))
    core.create_namespaced_event("keep", core_ev("dc9", ns="keep", labels={"app": "a"}))
    core.delete_collection_namespaced_event(NS, label_selector="app=a")
    assert names(core.list_namespaced_event(NS)) == ["dc2"]
    assert names(core.list_namespaced_event("keep")) == ["dc9"]
    core.delete_collection_namespaced_event(NS)
    assert core.list_namespaced_event(NS).items == []


def test_events_v1_crud_with_series_and_reporting_fields(hub):
    _, events = apis(hub)
    t0 = now()
    created = events.create_namespaced_event(NS, new_ev("n1", event_time=t0))
    assert created.event_time == t0  # MicroTime keeps microseconds
    assert created.reporting_controller == "example.com/operator"
    assert created.reporting_instance == "operator-abc" and created.action == "Reconcile"
    assert created.regarding.name == "web-0" and created.note == "note of n1" and created.series is None

    seen = now()
    patched = events.patch_namespaced_event("n1", NS, {"series": {"count": 2, "lastObservedTime": seen.isoformat()}})
    assert patched.series.count == 2 and patched.series.last_observed_time == seen
    assert patched.note == "note of n1" and patched.event_time == t0
    got = events.read_namespaced_event("n1", NS)
    assert got.series.count == 2 and int(got.metadata.resource_version) > int(created.metadata.resource_version)

    with_series = events.create_namespaced_event(NS, new_ev(
        "n2", series=client.EventsV1EventSeries(count=5, last_observed_time=seen)))
    assert with_series.series.count == 5
    listed = events.list_namespaced_event(NS)
    assert names(listed) == ["n1", "n2"] and listed.items[1].series.count == 5
    assert [e.metadata.name for e in events.list_event_for_all_namespaces().items] == ["n1", "n2"]

    # Through events.k8s.io/v1, the note (like every field but series) is immutable.
    assert status_of(events.patch_namespaced_event, "n1", NS, {"note": "changed"}) == 422
    events.delete_namespaced_event("n1", NS)
    assert status_of(events.read_namespaced_event, "n1", NS) == 404
    assert names(events.list_namespaced_event(NS)) == ["n2"]


def test_both_groups_show_the_same_stored_events(hub):
    core, events = apis(hub)
    legacy = core.create_namespaced_event(NS, core_ev("legacy", obj="db-0", type="Warning"))
    assert legacy.event_time is None
    fresh = events.create_namespaced_event(NS, new_ev("fresh", obj="api-0"))

    seen_new = {e.metadata.name: e for e in events.list_namespaced_event(NS).items}
    as_new = seen_new["legacy"]
    assert as_new.note == legacy.message and as_new.type == "Warning" and as_new.reason == "Started"
    assert as_new.regarding.to_dict() == legacy.involved_object.to_dict()
    assert as_new.deprecated_count == 1 and as_new.deprecated_source.component == "kubelet"
    # eventTime is filled for a legacy event so the client can deserialize it.
    assert as_new.event_time is not None
    assert as_new.metadata.resource_version == legacy.metadata.resource_version
    assert events.read_namespaced_event("legacy", NS).note == legacy.message

    as_core = {e.metadata.name: e for e in core.list_namespaced_event(NS).items}["fresh"]
    assert as_core.message == fresh.note and as_core.involved_object.to_dict() == fresh.regarding.to_dict()
    assert as_core.reporting_component == fresh.reporting_controller
    assert as_core.reporting_instance == fresh.reporting_instance and as_core.action == "Reconcile"
    assert as_core.event_time == fresh.event_time and as_core.metadata.uid == fresh.metadata.uid

    # A change through one group is visible through the other.
    core.patch_namespaced_event("fresh", NS, {"metadata": {"labels": {"seen": "core"}}})
    assert events.read_namespaced_event("fresh", NS).metadata.labels == {"seen": "core"}


def test_field_selectors_per_group(hub):
    core, events = apis(hub)
    core.create_namespaced_event(NS, core_ev("f1", obj="web-0", type="Warning"))
    core.create_namespaced_event(NS, core_ev("f2", obj="web-1"))
    events.create_namespaced_event(NS, new_ev("f3", obj="web-1", type="Warning"))

    assert names(core.list_namespaced_event(NS, field_selector="involvedObject.name=web-1")) == ["f2", "f3"]
    assert names(core.list_namespaced_event(NS, field_selector="type=Warning")) == ["f1", "f3"]
    assert names(core.list_event_for_all_namespaces(
        field_selector="type=Warning,involvedObject.name=web-1")) == ["f3"]
    assert names(core.list_namespaced_event(NS, field_selector="type!=Warning")) == ["f2"]
    assert names(events.list_namespaced_event(NS, field_selector="regarding.name=web-0")) == ["f1"]
    assert names(events.list_namespaced_event(NS, field_selector="type=Warning")) == ["f1", "f3"]

    with pytest.raises(ApiException) as info:
        events.list_namespaced_event(NS, field_selector="involvedObject.name=web-0")
    assert info.value.status == 400 and "field label not supported" in info.value.body
    assert status_of(core.list_namespaced_event, NS, field_selector="regarding.name=web-0") == 400


def test_label_selectors(hub):
    core, events = apis(hub)
    for name, labels in [("l1", {"app": "web", "tier": "front"}), ("l2", {"app": "db"}), ("l3", None)]:
        core.create_namespaced_event(NS, core_ev(name, labels=labels))
    assert names(core.list_namespaced_event(NS, label_selector="app=web")) == ["l1"]
    assert names(core.list_namespaced_event(NS, label_selector="app in (web,db)")) == ["l1", "l2"]
    assert names(core.list_namespaced_event(NS, label_selector="!app")) == ["l3"]
    assert names(core.list_namespaced_event(NS, label_selector="app,tier!=front")) == ["l2"]
    assert names(events.list_namespaced_event(NS, label_selector="app=db")) == ["l2"]
    assert status_of(core.list_namespaced_event, NS, label_selector="app in (") == 400


def page_through(list_call, limit, **kwargs):
    seen, pages, token = [], 0, None
    while True:
        page = list_call(limit=limit, _continue=token, **kwargs) if token else list_call(limit=limit, **kwargs)
        assert len(page.items) <= limit
        seen += [(e.metadata.namespace, e.metadata.name) for e in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            return seen, pages
        assert pages < 50, "paging does not terminate"


def test_paging_with_limit_and_continue_visits_each_event_once(hub):
    core, events = apis(hub)
    expected = set()
    for i in range(12):
        ns = ("pa", "pb", "pc")[i % 3]
        core.create_namespaced_event(ns, core_ev(f"pg-{i:02d}", ns=ns, type="Warning" if i % 2 else "Normal"))
        expected.add((ns, f"pg-{i:02d}"))

    for limit in (1, 4, 5, 12, 100):
        seen, pages = page_through(core.list_event_for_all_namespaces, limit)
        assert len(seen) == len(set(seen)) and set(seen) == expected, f"limit={limit}"
        assert pages == max(1, -(-12 // limit)), f"limit={limit}: an empty trailing page or a missing one"
    seen, _ = page_through(core.list_namespaced_event, 3, namespace="pb")
    assert sorted(seen) == sorted(e for e in expected if e[0] == "pb")
    seen, _ = page_through(events.list_event_for_all_namespaces, 2, field_selector="type=Warning")
    assert sorted(seen) == sorted((ns, n) for ns, n in expected if int(n[-2:]) % 2)



def test_continued_pages_show_the_snapshot_of_the_first_page(hub):
    """Upstream: pages after the first are served at the first page's resourceVersion (or 410)."""
    core, _ = apis(hub)
    for i in range(8):
        core.create_namespaced_event(NS, core_ev(f"snap-{i}"))
    first = core.list_namespaced_event(NS, limit=4)
    core.create_namespaced_event(NS, core_ev("snap-9"))
    core.patch_namespaced_event("snap-5", NS, {"message": "changed after the first page"})
    token, later = first.metadata._continue, []
    try:
        while token:
            page = core.list_namespaced_event(NS, limit=4, _continue=token)
            assert page.metadata.resource_version == first.metadata.resource_version
            later += page.items
            token = page.metadata._continue
    except ApiException as e:  # a server that cannot serve the snapshot must say so
        assert e.status == 410
        return
    assert [e.metadata.name for e in later] == [f"snap-{i}" for i in range(4, 8)]
    assert later[1].message == "message of snap-5"


def collect(stream, until, deadline_s=10):
    """Collects (type, name, object) from a watch stream until `until(events)` holds."""
    got, deadline = [], time.time() + deadline_s
    for event in stream:
        got.append((event["type"], event["object"].metadata.name, event["object"]))
        if until(got) or time.time() > deadline:
            break
    return got


def test_watch_streams_added_modified_deleted_from_another_thread(hub):
    core, _ = apis(hub)
    start_rv = core.list_namespaced_event(NS).metadata.resource_version
    errors = []

    def writer():
        try:
            time.sleep(0.3)
            core.create_namespaced_event("elsewhere", core_ev("w-other", ns="elsewhere"))
            core.create_namespaced_event(NS, core_ev("w1"))
            core.patch_namespaced_event("w1", NS, {"message": "patched", "count": 2})
            core.delete_namespaced_event("w1", NS)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    w = watch.Watch()
    thread = threading.Thread(target=writer)
    thread.start()
    got = collect(w.stream(core.list_namespaced_event, NS, resource_version=start_rv, timeout_seconds=10),
                  lambda g: g[-1][0] == "DELETED")
    w.stop()
    thread.join(10)
    assert not errors
    assert [(t, n) for t, n, _ in got] == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]
    added, modified, deleted = (o for _, _, o in got)
    assert modified.message == "patched" and modified.count == 2
    assert deleted.message == "patched"
    rvs = [int(o.metadata.resource_version) for o in (added, modified, deleted)]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3


def test_events_v1_watch_delivers_legacy_core_events_with_event_time(hub):
    core, events = apis(hub)
    start_rv = events.list_namespaced_event(NS).metadata.resource_version
    core.create_namespaced_event(NS, core_ev("legacy-w"))
    events.create_namespaced_event(NS, new_ev("fresh-w"))
    w = watch.Watch()
    got = collect(w.stream(events.list_namespaced_event, NS, resource_version=start_rv, timeout_seconds=3),
                  lambda g: len(g) >= 2)
    w.stop()
    assert sorted((t, n) for t, n, _ in got) == [("ADDED", "fresh-w"), ("ADDED", "legacy-w")]
    legacy = next(o for _, n, o in got if n == "legacy-w")
    assert isinstance(legacy, client.EventsV1Event) and legacy.event_time is not None
    assert legacy.note == "message of legacy-w" and legacy.regarding.name == "web-0"


def test_watch_resumes_from_resource_version_with_only_later_changes(hub):
    core, _ = apis(hub)
    first = core.create_namespaced_event(NS, core_ev("r1"))
    core.create_namespaced_event(NS, core_ev("r2"))
    core.patch_namespaced_event("r1", NS, {"message": "again"})
    w = watch.Watch()
    got = collect(w.stream(core.list_namespaced_event, NS,
                           resource_version=first.metadata.resource_version, timeout_seconds=3),
                  lambda g: len(g) >= 2)
    w.stop()
    assert [(t, n) for t, n, _ in got] == [("ADDED", "r2"), ("MODIFIED", "r1")]
    assert got[1][2].message == "again"

    # Without a resourceVersion the watch starts with the current state as ADDED.
    w = watch.Watch()
    got = collect(w.stream(core.list_namespaced_event, NS, timeout_seconds=3), lambda g: len(g) >= 2)
    w.stop()
    assert sorted((t, n) for t, n, _ in got) == [("ADDED", "r1"), ("ADDED", "r2")]


def test_watch_from_expired_version_raises_410_and_relist_recovers(make_hub):
    hub = make_hub(["--event-ttl", "2s"]).start()
    core, _ = apis(hub)
    start_rv = core.list_namespaced_event(NS).metadata.resource_version
    for i in range(3):
        core.create_namespaced_event(NS, core_ev(f"ttl{i}"))
    # Expiry deletes the events; a watch sees it as DELETED.
    w = watch.Watch()
    got = collect(w.stream(core.list_namespaced_event, NS, resource_version=start_rv, timeout_seconds=10),
                  lambda g: sum(t == "DELETED" for t, _, _ in g) == 3)
    w.stop()
    assert sorted(n for t, n, _ in got if t == "DELETED") == ["ttl0", "ttl1", "ttl2"]
    assert core.list_namespaced_event(NS).items == []

    with pytest.raises(ApiException) as info:
        for _ in watch.Watch().stream(core.list_namespaced_event, NS, resource_version="1", timeout_seconds=5):
            pass
    assert info.value.status == 410

    relisted = core.list_namespaced_event(NS)
    assert relisted.items == []
    core.create_namespaced_event(NS, core_ev("after"))
    w = watch.Watch()
    got = collect(w.stream(core.list_namespaced_event, NS,
                           resource_version=relisted.metadata.resource_version, timeout_seconds=3),
                  lambda g: len(g) >= 1)
    w.stop()
    assert [(t, n) for t, n, _ in got] == [("ADDED", "after")]


def test_api_exception_statuses(hub):
    core, events = apis(hub)
    assert status_of(core.read_namespaced_event, "missing", NS) == 404
    assert status_of(events.read_namespaced_event, "missing", NS) == 404
    assert status_of(core.delete_namespaced_event, "missing", NS) == 404
    assert status_of(core.patch_namespaced_event, "missing", NS, {"count": 2}) == 404

    stored = core.create_namespaced_event(NS, core_ev("dup"))
    with pytest.raises(ApiException) as info:
        core.create_namespaced_event(NS, core_ev("dup", message="second"))
    assert info.value.status == 409 and "AlreadyExists" in info.value.body
    assert core.read_namespaced_event("dup", NS).message == "message of dup"

    stale = core.read_namespaced_event("dup", NS)
    core.patch_namespaced_event("dup", NS, {"count": 5})
    stale.message = "stale write"
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_event("dup", NS, stale)
    assert info.value.status == 409 and "Conflict" in info.value.body
    assert stored.metadata.uid == core.read_namespaced_event("dup", NS).metadata.uid

    # Legacy validation: involvedObject.namespace must match the event's namespace.
    bad = core_ev("bad-ns")
    bad.involved_object.namespace = "elsewhere"
    with pytest.raises(ApiException) as info:
        core.create_namespaced_event(NS, bad)
    assert info.value.status == 422 and "Invalid" in info.value.body
    # events.k8s.io/v1: type must be Normal or Warning; reportingController is required.
    assert status_of(events.create_namespaced_event, NS, new_ev("bad-type", type="Sometimes")) == 422
    no_controller = new_ev("bad-ctrl")
    no_controller.reporting_controller = None
    assert status_of(events.create_namespaced_event, NS, no_controller) == 422
    assert {e.metadata.name for e in core.list_namespaced_event(NS).items} == {"dup"}
