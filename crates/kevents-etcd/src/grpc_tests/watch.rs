//! A Watch stream as the apiserver's watch cache uses it.

use super::*;

/// A Watch stream: requests go in through the sender, answers come out of the stream.
struct Watch {
    requests: tokio::sync::mpsc::Sender<WatchRequest>,
    responses: tonic::Streaming<WatchResponse>,
}

impl Watch {
    async fn open(client: &mut Client) -> Watch {
        client.ready().await.unwrap();
        let (requests, outgoing) = tokio::sync::mpsc::channel(16);
        let path = PathAndQuery::from_static("/etcdserverpb.Watch/Watch");
        let codec = ProstCodec::<WatchRequest, WatchResponse>::default();
        let outgoing = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(outgoing));
        let responses = client.streaming(outgoing, path, codec).await.unwrap();
        Watch {
            requests,
            responses: responses.into_inner(),
        }
    }

    async fn send(&self, request: WatchRequestUnion) {
        let request = WatchRequest {
            request_union: Some(request),
        };
        self.requests.send(request).await.unwrap();
    }

    async fn create(&self, create: WatchCreateRequest) {
        self.send(WatchRequestUnion::Create(create)).await;
    }

    async fn next(&mut self) -> WatchResponse {
        let next = tokio::time::timeout(Duration::from_secs(30), self.responses.message());
        next.await.expect("an answer within 30 s").unwrap().unwrap()
    }

    /// The events of the next answers to watch `id`, until `count` arrived.
    async fn events(&mut self, id: i64, count: usize) -> Vec<Event> {
        let mut events = Vec::new();
        while events.len() < count {
            let response = self.next().await;
            assert_eq!(response.watch_id, id, "{response:?}");
            events.extend(response.events);
        }
        events
    }
}

fn events_prefix() -> WatchCreateRequest {
    WatchCreateRequest {
        key: b"/registry/events/".to_vec(),
        range_end: b"/registry/events0".to_vec(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_replays_from_its_start_revision_with_prev_kv_reports_progress_and_is_canceled_when_compacted(
) {
    let e = endpoint(None).await;
    let a1 = put(&e.server, "a", "one").await;
    let b1 = put(&e.server, "b", "one").await;
    let a2 = put(&e.server, "a", "two").await;
    let delete = DeleteRangeRequest {
        key: key("b"),
        ..Default::default()
    };
    let deleted = crate::services::delete_range(&e.server, delete).await;
    let b_gone = deleted.unwrap().header.unwrap().revision;
    let mut client = connect(e.address, None).await.unwrap();
    let mut watch = Watch::open(&mut client).await;

    // From b's creation, with previous values: b put, a updated (prev: "one"), b deleted.
    let from_b = WatchCreateRequest {
        start_revision: b1,
        prev_kv: true,
        progress_notify: true,
        ..events_prefix()
    };
    watch.create(from_b).await;
    let created = watch.next().await;
    assert!(created.created && !created.canceled, "{created:?}");
    let id = created.watch_id;
    let events = watch.events(id, 3).await;
    let seen: Vec<(i32, Vec<u8>, i64)> = events
        .iter()
        .map(|e| {
            let kv = e.kv.clone().unwrap();
            (e.r#type, kv.key, kv.mod_revision)
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (EVENT_PUT, key("b"), b1),
            (EVENT_PUT, key("a"), a2),
            (EVENT_DELETE, key("b"), b_gone),
        ]
    );
    assert!(events[0].prev_kv.is_none(), "b was new");
    let previous = events[1].prev_kv.clone().unwrap();
    assert_eq!(
        (previous.mod_revision, previous.value),
        (a1, event_value("one"))
    );
    assert_eq!(events[2].prev_kv.clone().unwrap().mod_revision, b1);

    // Idle: a progress notification at the current revision, with no events.
    let progress = watch.next().await;
    assert_eq!(progress.watch_id, id);
    assert!(progress.events.is_empty());
    assert_eq!(progress.header.unwrap().revision, b_gone);

    // A new write reaches the watch, then RequestProgress answers with watch ID -1 at it.
    let c1 = put(&e.server, "c", "one").await;
    let events = watch.events(id, 1).await;
    assert_eq!(events[0].kv.clone().unwrap().mod_revision, c1);
    watch
        .send(WatchRequestUnion::Progress(WatchProgressRequest {}))
        .await;
    let answer = loop {
        let response = watch.next().await;
        if response.watch_id == -1 {
            break response;
        }
        assert!(response.events.is_empty(), "{response:?}");
    };
    assert_eq!(answer.header.unwrap().revision, c1);

    // After a compaction, a watch from before it is canceled with the compact revision.
    crate::services::compact(
        &e.server,
        crate::proto::CompactionRequest {
            revision: a2,
            physical: false,
        },
    )
    .await
    .unwrap();
    let from_the_start = WatchCreateRequest {
        start_revision: a1,
        watch_id: 7,
        ..events_prefix()
    };
    watch.create(from_the_start).await;
    let canceled = loop {
        let response = watch.next().await;
        if response.watch_id == 7 && response.canceled {
            break response;
        }
    };
    assert_eq!(canceled.compact_revision, a2);
    assert!(canceled.cancel_reason.contains("compacted"), "{canceled:?}");
}
