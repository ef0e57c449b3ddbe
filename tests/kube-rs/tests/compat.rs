//! kube-rs 5 against a real `kevents serve`: typed CRUD on both event groups, list paging and
//! selectors, `kube::runtime::watcher`, the events `Recorder`, and Status errors.

mod hub;

use std::collections::BTreeSet;

use anyhow::Result;
use futures::StreamExt;
use hub::Hub;
use hub::{core_event, expect_status, fields, label, names, new_event, next_event, pod_ref, set};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
};
use kube::runtime::events::{Event as RecordedEvent, EventType, Recorder, Reporter};
use kube::runtime::watcher::{self, watcher, Event::*};
use kube::ResourceExt;
use serde_json::json;

const NS: &str = "compat";

#[tokio::test]
async fn core_v1_event_create_get_patch_replace_delete_roundtrip() -> Result<()> {
    let hub = Hub::start().await?;
    let (api, _) = hub.apis(NS)?;
    let (pp, pa) = (PostParams::default(), PatchParams::default());

    let created = api
        .create(&pp, &core_event(NS, "web.1", "web", &[]))
        .await?;
    assert_eq!(created.name_any(), "web.1");
    assert!(created.metadata.uid.is_some(), "server sets uid");
    let stamped = created.metadata.creation_timestamp.is_some();
    assert!(stamped, "server sets creationTimestamp");
    let rv1 = created.resource_version();
    assert!(rv1.is_some(), "server sets resourceVersion");

    let got = api.get("web.1").await?;
    assert_eq!(got.involved_object, pod_ref(NS, "web"));
    let message = got.message.as_deref();
    assert_eq!(message, Some("Successfully assigned compat/web"));
    assert_eq!(got.count, Some(1));

    let merge = json!({"message": "merged", "count": 2, "metadata": {"labels": {"step": "m"}}});
    let merged = api.patch("web.1", &pa, &Patch::Merge(merge)).await?;
    assert_eq!(merged.message.as_deref(), Some("merged"));
    assert_eq!(merged.count, Some(2));
    assert_eq!(label(&merged, "step").as_deref(), Some("m"));
    assert_ne!(
        merged.resource_version(),
        rv1,
        "patch bumps resourceVersion"
    );

    // What client-go's legacy recorder sends for a repeated event.
    let strategic = json!({"count": 3, "lastTimestamp": "2030-01-01T00:00:00Z"});
    let patched = api
        .patch("web.1", &pa, &Patch::Strategic(strategic))
        .await?;
    assert_eq!(patched.count, Some(3));
    let message = patched.message.as_deref();
    assert_eq!(message, Some("merged"), "untouched fields are kept");
    assert_eq!(label(&patched, "step").as_deref(), Some("m"));

    let mut edited = api.get("web.1").await?;
    assert_eq!(edited.count, Some(3));
    edited.message = Some("replaced".into());
    let replaced = api.replace("web.1", &pp, &edited).await?;
    assert_eq!(replaced.message.as_deref(), Some("replaced"));
    assert_ne!(replaced.resource_version(), edited.resource_version());
    let reread = api.get("web.1").await?;
    assert_eq!(reread.message.as_deref(), Some("replaced"));

    api.delete("web.1", &DeleteParams::default()).await?;
    expect_status(api.get("web.1").await, 404, "NotFound");
    Ok(())
}

#[tokio::test]
async fn core_v1_list_filters_by_field_and_label_selectors() -> Result<()> {
    let hub = Hub::start().await?;
    let (api, new_api) = hub.apis(NS)?;
    let pp = PostParams::default();
    for (name, pod, tier) in [
        ("a.1", "pod-a", "web"),
        ("a.2", "pod-a", "db"),
        ("b.1", "pod-b", "web"),
    ] {
        api.create(&pp, &core_event(NS, name, pod, &[("tier", tier)]))
            .await?;
    }

    let by_field = api.list(&fields("involvedObject.name=pod-a")).await?;
    assert_eq!(names(&by_field.items), set(&["a.1", "a.2"]));
    let list_rv = by_field.metadata.resource_version;
    assert!(list_rv.is_some(), "lists carry a resourceVersion");
    let by_label = api.list(&ListParams::default().labels("tier=web")).await?;
    assert_eq!(names(&by_label.items), set(&["a.1", "b.1"]));
    let set_based = ListParams::default().labels("tier in (db,cache)");
    assert_eq!(names(&api.list(&set_based).await?.items), set(&["a.2"]));
    let both = fields("involvedObject.name=pod-a").labels("tier=web");
    assert_eq!(names(&api.list(&both).await?.items), set(&["a.1"]));
    let negated = api.list(&fields("involvedObject.name!=pod-a")).await?;
    assert_eq!(names(&negated.items), set(&["b.1"]));

    let regarding = new_api.list(&fields("regarding.name=pod-b")).await?;
    assert_eq!(names(&regarding.items), set(&["b.1"]));
    Ok(())
}

#[tokio::test]
async fn core_v1_list_limit_and_continue_visit_every_event_once() -> Result<()> {
    let hub = Hub::start().await?;
    let (api, _) = hub.apis(NS)?;
    let mut expected = BTreeSet::new();
    for i in 0..7 {
        let event = core_event(NS, &format!("page.{i}"), "pager", &[]);
        expected.insert(api.create(&PostParams::default(), &event).await?.name_any());
    }

    let (mut seen, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let mut lp = ListParams::default().limit(3);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = api.list(&lp).await?;
        pages += 1;
        let len = page.items.len();
        assert!(len <= 3, "page {pages} has {len} items");
        seen.extend(page.items.iter().map(|e| e.name_any()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
        assert!(pages < 10, "continue tokens never run out");
    }
    assert_eq!(pages, 3, "7 events with limit 3 make 3 pages");
    assert_eq!(seen.len(), 7, "no event is listed twice: {seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);
    Ok(())
}

#[tokio::test]
async fn events_v1_event_create_get_patch_replace_delete_roundtrip() -> Result<()> {
    let hub = Hub::start().await?;
    let (_, api) = hub.apis(NS)?;
    let (pp, pa) = (PostParams::default(), PatchParams::default());

    let created = api.create(&pp, &new_event(NS, "img.1", "web-1")).await?;
    assert!(created.metadata.uid.is_some() && created.resource_version().is_some());
    let got = api.get("img.1").await?;
    assert_eq!(got.note.as_deref(), Some("Container image pulled"));
    assert_eq!(got.regarding, Some(pod_ref(NS, "web-1")));
    let controller = got.reporting_controller.as_deref();
    assert_eq!(controller, Some("compat.test/kubelet"));
    assert_eq!(got.event_time, created.event_time);

    let when = "2030-01-01T00:00:00.000001Z";
    let series = json!({"series": {"count": 2, "lastObservedTime": when}});
    let patched = api.patch("img.1", &pa, &Patch::Merge(series)).await?;
    assert_eq!(patched.series.as_ref().map(|s| s.count), Some(2));
    let labels = json!({"metadata": {"labels": {"seen": "yes"}}});
    let patched = api.patch("img.1", &pa, &Patch::Strategic(labels)).await?;
    assert_eq!(label(&patched, "seen").as_deref(), Some("yes"));
    assert_eq!(patched.series.as_ref().map(|s| s.count), Some(2));

    let mut edited = patched.clone();
    edited.series.as_mut().expect("series kept").count = 5;
    let replaced = api.replace("img.1", &pp, &edited).await?;
    assert_eq!(replaced.series.as_ref().map(|s| s.count), Some(5));
    assert_eq!(replaced.note, got.note);

    api.delete("img.1", &DeleteParams::default()).await?;
    expect_status(api.get("img.1").await, 404, "NotFound");
    Ok(())
}

#[tokio::test]
async fn event_written_in_one_group_is_read_in_the_other_with_mapped_fields() -> Result<()> {
    let hub = Hub::start().await?;
    let (core, new) = hub.apis(NS)?;
    let pp = PostParams::default();

    let legacy = core
        .create(&pp, &core_event(NS, "old.1", "db-0", &[]))
        .await?;
    let seen = new.get("old.1").await?;
    assert_eq!(seen.note, legacy.message, "note == message");
    assert_eq!(seen.regarding.as_ref(), Some(&legacy.involved_object));
    assert_eq!(seen.reason, legacy.reason);
    assert_eq!(seen.deprecated_count, Some(1));
    assert_eq!(seen.deprecated_source, legacy.source);
    assert_eq!(seen.metadata.uid, legacy.metadata.uid, "one stored object");
    let listed = new.list(&ListParams::default()).await?;
    assert_eq!(names(&listed.items), set(&["old.1"]));

    let modern = new.create(&pp, &new_event(NS, "modern.1", "db-1")).await?;
    let seen = core.get("modern.1").await?;
    assert_eq!(seen.message, modern.note, "message == note");
    assert_eq!(Some(&seen.involved_object), modern.regarding.as_ref());
    assert_eq!(seen.reporting_component, modern.reporting_controller);
    assert_eq!(seen.reporting_instance, modern.reporting_instance);
    assert_eq!(seen.event_time, modern.event_time);
    assert_eq!(seen.action, modern.action);
    Ok(())
}

/// Drives a watcher through its initial list, one create, one patch and one delete.
async fn watcher_sees_initial_list_then_changes(config: watcher::Config) -> Result<()> {
    let hub = Hub::start().await?;
    let (api, _) = hub.apis(NS)?;
    let pp = PostParams::default();
    api.create(&pp, &core_event(NS, "old.1", "w", &[])).await?;
    api.create(&pp, &core_event(NS, "old.2", "w", &[])).await?;
    let mut stream = watcher(api.clone(), config).boxed();

    let first = next_event(&mut stream).await;
    assert!(matches!(first, Init), "expected Init, got {first:?}");
    let mut initial = BTreeSet::new();
    loop {
        match next_event(&mut stream).await {
            InitApply(ev) => assert!(initial.insert(ev.name_any())),
            InitDone => break,
            other => panic!("unexpected event during initial list: {other:?}"),
        }
    }
    assert_eq!(initial, set(&["old.1", "old.2"]));

    api.create(&pp, &core_event(NS, "new.1", "w", &[])).await?;
    match next_event(&mut stream).await {
        Apply(ev) => assert_eq!(ev.name_any(), "new.1"),
        other => panic!("expected Apply(new.1), got {other:?}"),
    }
    let merge = Patch::Merge(json!({"message": "changed"}));
    api.patch("old.2", &PatchParams::default(), &merge).await?;
    match next_event(&mut stream).await {
        Apply(ev) => {
            assert_eq!(ev.name_any(), "old.2");
            assert_eq!(ev.message.as_deref(), Some("changed"));
        }
        other => panic!("expected Apply(old.2), got {other:?}"),
    }
    api.delete("old.1", &DeleteParams::default()).await?;
    match next_event(&mut stream).await {
        Delete(ev) => assert_eq!(ev.name_any(), "old.1"),
        other => panic!("expected Delete(old.1), got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn watcher_list_watch_reports_initial_list_then_apply_and_delete() -> Result<()> {
    watcher_sees_initial_list_then_changes(watcher::Config::default()).await
}

#[tokio::test]
async fn watcher_list_watch_pages_initial_list_with_small_page_size() -> Result<()> {
    watcher_sees_initial_list_then_changes(watcher::Config::default().page_size(1)).await
}

#[tokio::test]
async fn watcher_streaming_list_ends_initial_events_at_bookmark_then_watches() -> Result<()> {
    watcher_sees_initial_list_then_changes(watcher::Config::default().streaming_lists()).await
}

const BACKOFF_NOTE: &str = "Back-off restarting failed container";

fn recorded(reason: &str) -> RecordedEvent {
    RecordedEvent {
        type_: EventType::Warning,
        reason: reason.into(),
        note: Some(BACKOFF_NOTE.into()),
        action: "Restart".into(),
        secondary: None,
    }
}

#[tokio::test]
async fn recorder_repeats_become_one_event_with_series_and_new_reason_adds_event() -> Result<()> {
    let hub = Hub::start().await?;
    let (core, new) = hub.apis(NS)?;
    let controller = "compat-controller";
    let instance = Some("compat-controller-0".to_string());
    let reporter = Reporter {
        controller: controller.into(),
        instance: instance.clone(),
    };
    let recorder = Recorder::new(hub.client()?, reporter);
    let target = pod_ref(NS, "crashy");
    for _ in 0..3 {
        recorder.publish(&recorded("BackOff"), &target).await?;
    }

    // kube-rs: the first publish creates, each repeat merge-patches the whole event with
    // series.count = previous + 1 (2, then 3).
    let about = fields("regarding.name=crashy");
    let events = new.list(&about).await?.items;
    assert_eq!(
        events.len(),
        1,
        "repeats are one event: {:?}",
        names(&events)
    );
    let event = &events[0];
    assert_eq!(event.series.as_ref().map(|s| s.count), Some(3));
    assert_eq!(event.reason.as_deref(), Some("BackOff"));
    assert_eq!(event.note.as_deref(), Some(BACKOFF_NOTE));
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(event.reporting_controller.as_deref(), Some(controller));
    assert_eq!(event.reporting_instance, instance);
    assert!(event.event_time.is_some());
    let named = event.name_any().starts_with("crashy.");
    assert!(named, "name is <regarding>.<hex nanos>");

    let legacy = core.list(&fields("involvedObject.name=crashy")).await?;
    assert_eq!(names(&legacy.items), names(&events));
    let legacy = &legacy.items[0];
    assert_eq!(legacy.involved_object, target);
    assert_eq!(legacy.message, event.note);
    assert_eq!(legacy.reporting_component.as_deref(), Some(controller));
    assert_eq!(legacy.series.as_ref().and_then(|s| s.count), Some(3));

    recorder.publish(&recorded("Killing"), &target).await?;
    let events = new.list(&about).await?.items;
    assert_eq!(events.len(), 2, "a different reason is a new event");
    let reasons: BTreeSet<_> = events.iter().filter_map(|e| e.reason.clone()).collect();
    assert_eq!(reasons, set(&["BackOff", "Killing"]));
    let killing = events
        .iter()
        .find(|e| e.reason.as_deref() == Some("Killing"));
    let series = killing.and_then(|e| e.series.as_ref());
    assert!(series.is_none(), "first occurrence has no series");

    // The hub's own series of these events count every occurrence once: the recorder's
    // series updates are not new occurrences on top of the ones already counted.
    let resource = ApiResource {
        group: "kevents.io".into(),
        version: "v1".into(),
        api_version: "kevents.io/v1".into(),
        kind: "EventSeries".into(),
        plural: "eventseries".into(),
    };
    let series_api: Api<DynamicObject> = Api::namespaced_with(hub.client()?, NS, &resource);
    let derived = series_api.list(&fields("reason=BackOff")).await?.items;
    assert_eq!(derived.len(), 1, "one series for the repeated event");
    let status = &derived[0].data["status"];
    assert_eq!(
        (status["count"].as_u64(), status["objects"].as_u64()),
        (Some(3), Some(1))
    );
    Ok(())
}

#[tokio::test]
async fn missing_event_is_404_not_found_in_both_groups() -> Result<()> {
    let hub = Hub::start().await?;
    let (core, new) = hub.apis(NS)?;

    for status in [
        expect_status(core.get("nope").await, 404, "NotFound"),
        expect_status(new.get("nope").await, 404, "NotFound"),
    ] {
        assert!(status.is_not_found());
        let named = status.message.contains("nope");
        assert!(named, "message names the event: {status:?}");
    }
    let missing = core.get_opt("nope").await?;
    assert!(missing.is_none(), "get_opt maps 404 to None");

    let patch = Patch::Merge(json!({"message": "x"}));
    let patched = core.patch("nope", &PatchParams::default(), &patch).await;
    expect_status(patched, 404, "NotFound");
    let deleted = core.delete("nope", &DeleteParams::default()).await;
    expect_status(deleted, 404, "NotFound");
    Ok(())
}

#[tokio::test]
async fn duplicate_create_is_409_already_exists_and_stale_replace_is_409_conflict() -> Result<()> {
    let hub = Hub::start().await?;
    let (core, new) = hub.apis(NS)?;
    let pp = PostParams::default();

    let first = core.create(&pp, &core_event(NS, "dup.1", "p", &[])).await?;
    let again = core.create(&pp, &core_event(NS, "dup.1", "p", &[])).await;
    assert!(expect_status(again, 409, "AlreadyExists").is_already_exists());
    let again = new.create(&pp, &new_event(NS, "dup.1", "p")).await;
    expect_status(again, 409, "AlreadyExists");

    let merge = Patch::Merge(json!({"count": 2}));
    core.patch("dup.1", &PatchParams::default(), &merge).await?;
    let mut stale = first;
    stale.message = Some("from a stale read".into());
    let stale_write = core.replace("dup.1", &pp, &stale).await;
    assert!(expect_status(stale_write, 409, "Conflict").is_conflict());
    let count = core.get("dup.1").await?.count;
    assert_eq!(count, Some(2), "the conflicting write is dropped");
    Ok(())
}
