//! kube-rs 5 against a real `kevents serve`: typed CRUD on both event groups, list paging and
//! selectors, `kube::runtime::watcher`, the events `Recorder`, and Status errors.

mod hub;

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Result;
use futures::{Stream, StreamExt};
use hub::{api_status, core_event, new_event, pod_ref, Hub};
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event as RecordedEvent, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use kube::ResourceExt;
use serde_json::json;

const NS: &str = "compat";
const STEP: Duration = Duration::from_secs(10);

fn names<K: ResourceExt>(items: &[K]) -> BTreeSet<String> {
    items.iter().map(|e| e.name_any()).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test]
async fn core_v1_event_create_get_patch_replace_delete_roundtrip() -> Result<()> {
    let hub = Hub::start().await?;
    let api: Api<CoreEvent> = Api::namespaced(hub.client()?, NS);
    let pp = PostParams::default();

    let created = api
        .create(&pp, &core_event(NS, "web-0.1", "web-0", &[]))
        .await?;
    assert_eq!(created.name_any(), "web-0.1");
    assert!(created.metadata.uid.is_some(), "server sets uid");
    assert!(
        created.metadata.creation_timestamp.is_some(),
        "server sets creationTimestamp"
    );
    let rv1 = created
        .resource_version()
        .expect("server sets resourceVersion");

    let got = api.get("web-0.1").await?;
    assert_eq!(got.involved_object, pod_ref(NS, "web-0"));
    assert_eq!(
        got.message.as_deref(),
        Some("Successfully assigned compat/web-0")
    );
    assert_eq!(got.count, Some(1));

    let merge = json!({"message": "merged", "count": 2, "metadata": {"labels": {"step": "merge"}}});
    let merged = api
        .patch("web-0.1", &PatchParams::default(), &Patch::Merge(&merge))
        .await?;
    assert_eq!(merged.message.as_deref(), Some("merged"));
    assert_eq!(merged.count, Some(2));
    assert_eq!(
        merged.labels().get("step").map(String::as_str),
        Some("merge")
    );
    assert_ne!(
        merged.resource_version(),
        Some(rv1.clone()),
        "patch bumps resourceVersion"
    );

    // What client-go's legacy recorder sends for a repeated event.
    let strategic = json!({"count": 3, "lastTimestamp": "2030-01-01T00:00:00Z"});
    let patched = api
        .patch(
            "web-0.1",
            &PatchParams::default(),
            &Patch::Strategic(&strategic),
        )
        .await?;
    assert_eq!(patched.count, Some(3));
    assert_eq!(
        patched.message.as_deref(),
        Some("merged"),
        "untouched fields are kept"
    );
    assert_eq!(
        patched.labels().get("step").map(String::as_str),
        Some("merge")
    );

    let mut edited = api.get("web-0.1").await?;
    assert_eq!(edited.count, Some(3));
    edited.message = Some("replaced".into());
    let replaced = api.replace("web-0.1", &pp, &edited).await?;
    assert_eq!(replaced.message.as_deref(), Some("replaced"));
    assert_ne!(replaced.resource_version(), edited.resource_version());
    assert_eq!(
        api.get("web-0.1").await?.message.as_deref(),
        Some("replaced")
    );

    api.delete("web-0.1", &DeleteParams::default()).await?;
    assert_eq!(api_status(api.get("web-0.1").await).code, 404);
    Ok(())
}

#[tokio::test]
async fn core_v1_list_filters_by_field_and_label_selectors() -> Result<()> {
    let hub = Hub::start().await?;
    let client = hub.client()?;
    let api: Api<CoreEvent> = Api::namespaced(client.clone(), NS);
    let pp = PostParams::default();
    api.create(&pp, &core_event(NS, "a.1", "pod-a", &[("tier", "web")]))
        .await?;
    api.create(&pp, &core_event(NS, "a.2", "pod-a", &[("tier", "db")]))
        .await?;
    api.create(&pp, &core_event(NS, "b.1", "pod-b", &[("tier", "web")]))
        .await?;

    let by_field = api
        .list(&ListParams::default().fields("involvedObject.name=pod-a"))
        .await?;
    assert_eq!(names(&by_field.items), set(&["a.1", "a.2"]));
    let by_label = api.list(&ListParams::default().labels("tier=web")).await?;
    assert_eq!(names(&by_label.items), set(&["a.1", "b.1"]));
    let set_based = api
        .list(&ListParams::default().labels("tier in (db,cache)"))
        .await?;
    assert_eq!(names(&set_based.items), set(&["a.2"]));
    let both = ListParams::default()
        .fields("involvedObject.name=pod-a")
        .labels("tier=web");
    assert_eq!(names(&api.list(&both).await?.items), set(&["a.1"]));
    let negated = api
        .list(&ListParams::default().fields("involvedObject.name!=pod-a"))
        .await?;
    assert_eq!(names(&negated.items), set(&["b.1"]));
    assert!(
        by_field.metadata.resource_version.is_some(),
        "lists carry a resourceVersion"
    );

    let new_api: Api<NewEvent> = Api::namespaced(client, NS);
    let regarding = new_api
        .list(&ListParams::default().fields("regarding.name=pod-b"))
        .await?;
    assert_eq!(names(&regarding.items), set(&["b.1"]));
    Ok(())
}

#[tokio::test]
async fn core_v1_list_limit_and_continue_visit_every_event_once() -> Result<()> {
    let hub = Hub::start().await?;
    let api: Api<CoreEvent> = Api::namespaced(hub.client()?, NS);
    let mut expected = BTreeSet::new();
    for i in 0..7 {
        let name = format!("page.{i}");
        api.create(&PostParams::default(), &core_event(NS, &name, "pager", &[]))
            .await?;
        expected.insert(name);
    }

    let (mut seen, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let mut lp = ListParams::default().limit(3);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = api.list(&lp).await?;
        pages += 1;
        assert!(
            page.items.len() <= 3,
            "page {pages} has {} items",
            page.items.len()
        );
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
    let api: Api<NewEvent> = Api::namespaced(hub.client()?, NS);
    let pp = PostParams::default();

    let created = api.create(&pp, &new_event(NS, "img.1", "web-1")).await?;
    assert!(created.metadata.uid.is_some() && created.resource_version().is_some());
    let got = api.get("img.1").await?;
    assert_eq!(got.note.as_deref(), Some("Container image pulled"));
    assert_eq!(got.regarding, Some(pod_ref(NS, "web-1")));
    assert_eq!(
        got.reporting_controller.as_deref(),
        Some("compat.test/kubelet")
    );
    assert_eq!(got.event_time, created.event_time);

    let series = json!({"series": {"count": 2, "lastObservedTime": "2030-01-01T00:00:00.000001Z"}});
    let patched = api
        .patch("img.1", &PatchParams::default(), &Patch::Merge(&series))
        .await?;
    assert_eq!(patched.series.as_ref().map(|s| s.count), Some(2));
    let labels = json!({"metadata": {"labels": {"seen": "yes"}}});
    let patched = api
        .patch("img.1", &PatchParams::default(), &Patch::Strategic(&labels))
        .await?;
    assert_eq!(
        patched.labels().get("seen").map(String::as_str),
        Some("yes")
    );
    assert_eq!(patched.series.as_ref().map(|s| s.count), Some(2));

    let mut edited = patched.clone();
    edited.series.as_mut().expect("series kept").count = 5;
    let replaced = api.replace("img.1", &pp, &edited).await?;
    assert_eq!(replaced.series.as_ref().map(|s| s.count), Some(5));
    assert_eq!(replaced.note, got.note);

    api.delete("img.1", &DeleteParams::default()).await?;
    let status = api_status(api.get("img.1").await);
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    Ok(())
}

#[tokio::test]
async fn event_written_in_one_group_is_read_in_the_other_with_mapped_fields() -> Result<()> {
    let hub = Hub::start().await?;
    let client = hub.client()?;
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), NS);
    let new: Api<NewEvent> = Api::namespaced(client, NS);
    let pp = PostParams::default();

    let legacy = core
        .create(&pp, &core_event(NS, "legacy.1", "db-0", &[]))
        .await?;
    let seen = new.get("legacy.1").await?;
    assert_eq!(seen.note, legacy.message, "note == message");
    assert_eq!(seen.regarding.as_ref(), Some(&legacy.involved_object));
    assert_eq!(seen.reason, legacy.reason);
    assert_eq!(seen.deprecated_count, Some(1));
    assert_eq!(seen.deprecated_source, legacy.source);
    assert_eq!(seen.metadata.uid, legacy.metadata.uid, "one stored object");
    let listed = new.list(&ListParams::default()).await?;
    assert_eq!(names(&listed.items), set(&["legacy.1"]));

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

/// Next watcher item within [`STEP`]; errors, stream end and timeouts fail the test.
async fn next_event<S>(stream: &mut S) -> watcher::Event<CoreEvent>
where
    S: Stream<Item = watcher::Result<watcher::Event<CoreEvent>>> + Unpin,
{
    match tokio::time::timeout(STEP, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(e))) => panic!("watcher error: {e:?}"),
        Ok(None) => panic!("watcher stream ended"),
        Err(_) => panic!("no watcher event within {STEP:?}"),
    }
}

/// Drives a watcher through its initial list, one create, one patch and one delete.
async fn watcher_sees_initial_list_then_changes(config: watcher::Config) -> Result<()> {
    let hub = Hub::start().await?;
    let api: Api<CoreEvent> = Api::namespaced(hub.client()?, NS);
    let pp = PostParams::default();
    api.create(&pp, &core_event(NS, "old.1", "w", &[])).await?;
    api.create(&pp, &core_event(NS, "old.2", "w", &[])).await?;
    let mut stream = watcher(api.clone(), config).boxed();

    assert!(matches!(
        next_event(&mut stream).await,
        watcher::Event::Init
    ));
    let mut initial = BTreeSet::new();
    loop {
        match next_event(&mut stream).await {
            watcher::Event::InitApply(ev) => assert!(initial.insert(ev.name_any())),
            watcher::Event::InitDone => break,
            other => panic!("unexpected event during initial list: {other:?}"),
        }
    }
    assert_eq!(initial, set(&["old.1", "old.2"]));

    api.create(&pp, &core_event(NS, "new.1", "w", &[])).await?;
    match next_event(&mut stream).await {
        watcher::Event::Apply(ev) => assert_eq!(ev.name_any(), "new.1"),
        other => panic!("expected Apply(new.1), got {other:?}"),
    }
    let merge = json!({"message": "changed"});
    api.patch("old.2", &PatchParams::default(), &Patch::Merge(&merge))
        .await?;
    match next_event(&mut stream).await {
        watcher::Event::Apply(ev) => {
            assert_eq!(ev.name_any(), "old.2");
            assert_eq!(ev.message.as_deref(), Some("changed"));
        }
        other => panic!("expected Apply(old.2), got {other:?}"),
    }
    api.delete("old.1", &DeleteParams::default()).await?;
    match next_event(&mut stream).await {
        watcher::Event::Delete(ev) => assert_eq!(ev.name_any(), "old.1"),
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

fn recorded(reason: &str) -> RecordedEvent {
    RecordedEvent {
        type_: EventType::Warning,
        reason: reason.into(),
        note: Some("Back-off restarting failed container".into()),
        action: "Restart".into(),
        secondary: None,
    }
}

#[tokio::test]
async fn recorder_repeats_become_one_event_with_series_and_new_reason_adds_event() -> Result<()> {
    let hub = Hub::start().await?;
    let client = hub.client()?;
    let reporter = Reporter {
        controller: "compat-controller".into(),
        instance: Some("compat-controller-0".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let target = pod_ref(NS, "crashy");
    for _ in 0..3 {
        recorder.publish(&recorded("BackOff"), &target).await?;
    }

    // kube-rs: the first publish creates, each repeat merge-patches the whole event with
    // series.count = previous + 1 (2, then 3).
    let new: Api<NewEvent> = Api::namespaced(client.clone(), NS);
    let about = ListParams::default().fields("regarding.name=crashy");
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
    assert_eq!(
        event.note.as_deref(),
        Some("Back-off restarting failed container")
    );
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(
        event.reporting_controller.as_deref(),
        Some("compat-controller")
    );
    assert_eq!(
        event.reporting_instance.as_deref(),
        Some("compat-controller-0")
    );
    assert!(event.event_time.is_some());
    assert!(
        event.name_any().starts_with("crashy."),
        "name is <regarding>.<hex nanos>"
    );

    let core: Api<CoreEvent> = Api::namespaced(client, NS);
    let legacy = core
        .list(&ListParams::default().fields("involvedObject.name=crashy"))
        .await?;
    assert_eq!(names(&legacy.items), names(&events));
    let legacy = &legacy.items[0];
    assert_eq!(legacy.involved_object, target);
    assert_eq!(legacy.message, event.note);
    assert_eq!(
        legacy.reporting_component.as_deref(),
        Some("compat-controller")
    );
    assert_eq!(legacy.series.as_ref().and_then(|s| s.count), Some(3));

    recorder.publish(&recorded("Killing"), &target).await?;
    let events = new.list(&about).await?.items;
    assert_eq!(events.len(), 2, "a different reason is a new event");
    let reasons: BTreeSet<_> = events.iter().filter_map(|e| e.reason.clone()).collect();
    assert_eq!(reasons, set(&["BackOff", "Killing"]));
    let killing = events
        .iter()
        .find(|e| e.reason.as_deref() == Some("Killing"));
    assert!(
        killing.and_then(|e| e.series.as_ref()).is_none(),
        "first occurrence has no series"
    );
    Ok(())
}

#[tokio::test]
async fn missing_event_is_404_not_found_in_both_groups() -> Result<()> {
    let hub = Hub::start().await?;
    let client = hub.client()?;
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), NS);
    let new: Api<NewEvent> = Api::namespaced(client, NS);

    for status in [
        api_status(core.get("nope").await),
        api_status(new.get("nope").await),
    ] {
        assert_eq!(
            (status.code, status.reason.as_str()),
            (404, "NotFound"),
            "{status:?}"
        );
        assert!(status.is_not_found());
        assert!(
            status.message.contains("nope"),
            "message names the event: {status:?}"
        );
    }
    assert!(
        core.get_opt("nope").await?.is_none(),
        "get_opt maps 404 to None"
    );

    let patch = json!({"message": "x"});
    let status = api_status(
        core.patch("nope", &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    );
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    let status = api_status(core.delete("nope", &DeleteParams::default()).await);
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    Ok(())
}

#[tokio::test]
async fn duplicate_create_is_409_already_exists_and_stale_replace_is_409_conflict() -> Result<()> {
    let hub = Hub::start().await?;
    let client = hub.client()?;
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), NS);
    let new: Api<NewEvent> = Api::namespaced(client, NS);
    let pp = PostParams::default();

    let first = core.create(&pp, &core_event(NS, "dup.1", "p", &[])).await?;
    let status = api_status(core.create(&pp, &core_event(NS, "dup.1", "p", &[])).await);
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists"),
        "{status:?}"
    );
    assert!(status.is_already_exists());
    let status = api_status(new.create(&pp, &new_event(NS, "dup.1", "p")).await);
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists"),
        "{status:?}"
    );

    let merge = json!({"count": 2});
    core.patch("dup.1", &PatchParams::default(), &Patch::Merge(&merge))
        .await?;
    let mut stale = first;
    stale.message = Some("from a stale read".into());
    let status = api_status(core.replace("dup.1", &pp, &stale).await);
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "Conflict"),
        "{status:?}"
    );
    assert!(status.is_conflict());
    assert_eq!(
        core.get("dup.1").await?.count,
        Some(2),
        "the conflicting write is dropped"
    );
    Ok(())
}
