//! The endpoint against a real store: the transaction shapes the apiserver sends (create if
//! absent, compare-and-swap on mod_revision, conditional delete, the compactor's), reads at
//! past revisions, bad input, leases and recovery.

use crate::codec::envelope;
use crate::proto::{
    compare_result, compare_target, Compare, KeyValue, PutRequest, RangeRequest, Request,
    RequestOp, Response, TargetUnion, TxnRequest,
};
use crate::{EtcdConfig, EtcdError, EtcdServer, EventCodec};
use kevents_model::EventKey;
use kevents_model::EventRecord;
use kevents_store::{Store, StoreConfig};
use std::sync::Arc;

mod bad_input;
mod history;
mod leases;
mod recovery;
/// The endpoint's semantics do not depend on the Event message: this codec checks the envelope
/// and takes the record's identity from the key (`ProtobufEventCodec` is tested in `codec`).
pub(crate) struct KeyOnlyCodec;

impl EventCodec for KeyOnlyCodec {
    fn decode(&self, namespace: &str, name: &str, value: &[u8]) -> Result<EventRecord, String> {
        crate::codec::event_bytes(value)?;
        Ok(EventRecord {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            ..Default::default()
        })
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    server: Arc<EtcdServer>,
}

async fn open(dir: tempfile::TempDir) -> Fixture {
    let store = Store::open(StoreConfig::new(dir.path().join("store"))).unwrap();
    let server = EtcdServer::open(
        EtcdConfig::new(dir.path().join("etcd")),
        store.clone(),
        Arc::new(KeyOnlyCodec),
    )
    .await
    .unwrap();
    Fixture {
        _dir: dir,
        store,
        server,
    }
}

async fn fixture() -> Fixture {
    open(tempfile::tempdir().unwrap()).await
}

/// Waits until the hub's store has every write answered so far (it gets them after the answer).
async fn settled(server: &EtcdServer) {
    assert!(
        server.hub_settled(std::time::Duration::from_secs(30)).await,
        "the hub's store caught up"
    );
}

fn key(name: &str) -> Vec<u8> {
    format!("/registry/events/default/{name}").into_bytes()
}

fn value(text: &str) -> Vec<u8> {
    envelope(text.as_bytes())
}

fn op(request: Request) -> RequestOp {
    RequestOp {
        request: Some(request),
    }
}

fn mod_is(key: &[u8], revision: i64) -> Compare {
    Compare {
        result: compare_result::EQUAL,
        target: compare_target::MOD,
        key: key.to_vec(),
        target_union: Some(TargetUnion::ModRevision(revision)),
        range_end: Vec::new(),
    }
}

fn get(key: &[u8]) -> Request {
    Request::Range(RangeRequest {
        key: key.to_vec(),
        ..Default::default()
    })
}

/// The apiserver's `OptimisticPut`: put if the mod revision is still `expected`, else read.
fn optimistic_put(key: &[u8], value: Vec<u8>, expected: i64, lease: i64) -> TxnRequest {
    TxnRequest {
        compare: vec![mod_is(key, expected)],
        success: vec![op(Request::Put(PutRequest {
            key: key.to_vec(),
            value,
            lease,
            ..Default::default()
        }))],
        failure: vec![op(get(key))],
    }
}

/// The apiserver's `OptimisticDelete`.
fn optimistic_delete(key: &[u8], expected: i64) -> TxnRequest {
    TxnRequest {
        compare: vec![mod_is(key, expected)],
        success: vec![op(Request::DeleteRange(crate::proto::DeleteRangeRequest {
            key: key.to_vec(),
            ..Default::default()
        }))],
        failure: vec![op(get(key))],
    }
}

fn read(
    server: &EtcdServer,
    request: RangeRequest,
) -> Result<crate::proto::RangeResponse, EtcdError> {
    crate::services::range(server, request)
}

fn one(server: &EtcdServer, key: &[u8]) -> Option<KeyValue> {
    read(
        server,
        RangeRequest {
            key: key.to_vec(),
            ..Default::default()
        },
    )
    .unwrap()
    .kvs
    .pop()
}

fn failure_kv(response: &crate::proto::TxnResponse) -> Option<KeyValue> {
    match response.responses.first().and_then(|r| r.response.clone()) {
        Some(Response::Range(range)) => range.kvs.into_iter().next(),
        _ => None,
    }
}

#[tokio::test]
async fn create_if_absent_then_compare_and_swap_then_conditional_delete_as_the_apiserver_sends_them(
) {
    let f = fixture().await;
    let k = key("pod.1");
    let created = f
        .server
        .txn(optimistic_put(&k, value("one"), 0, 0))
        .await
        .unwrap();
    assert!(created.succeeded);
    let revision = created.header.unwrap().revision;
    let kv = one(&f.server, &k).unwrap();
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (revision, revision, 1)
    );
    assert_eq!(
        kv.value,
        value("one"),
        "etcd reads return the bytes written"
    );
    settled(&f.server).await;
    let hub = f.store.get(&EventKey::new("default", "pod.1")).unwrap();
    assert_eq!(hub.record.source_resource_version, revision.to_string());

    // A second create fails and answers with the current value, changing nothing.
    let again = f
        .server
        .txn(optimistic_put(&k, value("two"), 0, 0))
        .await
        .unwrap();
    assert!(!again.succeeded);
    assert_eq!(failure_kv(&again).unwrap().value, value("one"));
    assert_eq!(f.server.current_revision(), revision);

    // Compare-and-swap: a stale revision fails, the current one succeeds.
    let updated = f
        .server
        .txn(optimistic_put(&k, value("two"), revision, 0))
        .await
        .unwrap();
    assert!(updated.succeeded);
    let stale = f
        .server
        .txn(optimistic_put(&k, value("three"), revision, 0))
        .await
        .unwrap();
    assert!(!stale.succeeded);
    let kv = one(&f.server, &k).unwrap();
    assert_eq!(
        (kv.create_revision, kv.version, kv.value.clone()),
        (revision, 2, value("two"))
    );
    settled(&f.server).await;
    let hub = f.store.get(&EventKey::new("default", "pod.1")).unwrap();
    assert_eq!(
        hub.record.source_resource_version,
        kv.mod_revision.to_string()
    );

    // A conditional delete with a stale revision fails; with the current one it deletes from
    // both views.
    assert!(
        !f.server
            .txn(optimistic_delete(&k, revision))
            .await
            .unwrap()
            .succeeded
    );
    assert!(
        f.server
            .txn(optimistic_delete(&k, kv.mod_revision))
            .await
            .unwrap()
            .succeeded
    );
    assert!(one(&f.server, &k).is_none());
    settled(&f.server).await;
    assert!(f.store.get(&EventKey::new("default", "pod.1")).is_none());
}

#[tokio::test]
async fn ranges_honour_prefix_limit_count_keys_only_and_past_revisions() {
    let f = fixture().await;
    let mut revisions = Vec::new();
    for name in ["a", "b", "c"] {
        let response = f
            .server
            .txn(optimistic_put(&key(name), value(name), 0, 0))
            .await
            .unwrap();
        revisions.push(response.header.unwrap().revision);
    }
    let prefix = RangeRequest {
        key: b"/registry/events/".to_vec(),
        range_end: b"/registry/events0".to_vec(),
        ..Default::default()
    };
    let page = read(
        &f.server,
        RangeRequest {
            limit: 2,
            ..prefix.clone()
        },
    )
    .unwrap();
    assert_eq!((page.kvs.len(), page.more, page.count), (2, true, 3));
    let counted = read(
        &f.server,
        RangeRequest {
            count_only: true,
            ..prefix.clone()
        },
    )
    .unwrap();
    assert_eq!((counted.kvs.len(), counted.count), (0, 3));
    let keys = read(
        &f.server,
        RangeRequest {
            keys_only: true,
            ..prefix.clone()
        },
    )
    .unwrap();
    assert!(keys.kvs.iter().all(|kv| kv.value.is_empty()));
    // As of the first write, only `a` existed.
    let past = read(
        &f.server,
        RangeRequest {
            revision: revisions[0],
            ..prefix.clone()
        },
    )
    .unwrap();
    assert_eq!(
        past.kvs.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>(),
        vec![key("a")]
    );
    let future = read(
        &f.server,
        RangeRequest {
            revision: revisions[2] + 1,
            ..prefix.clone()
        },
    );
    assert_eq!(future.unwrap_err(), EtcdError::FutureRevision);
    f.server.compact(revisions[2]).await.unwrap();
    let compacted = read(
        &f.server,
        RangeRequest {
            revision: revisions[0],
            ..prefix.clone()
        },
    );
    assert_eq!(compacted.unwrap_err(), EtcdError::Compacted);
    assert_eq!(read(&f.server, prefix).unwrap().count, 3);
}

#[tokio::test]
async fn a_revoked_lease_deletes_from_the_etcd_view_and_the_hub_keeps_the_event() {
    let f = fixture().await;
    let (lease, ttl) = f.server.grant(0, 60).await.unwrap();
    assert_eq!(ttl, 60);
    f.server
        .txn(optimistic_put(&key("leased"), value("l"), 0, lease))
        .await
        .unwrap();
    let revision = f.server.revoke(&[lease]).await.unwrap();
    assert!(one(&f.server, &key("leased")).is_none());
    settled(&f.server).await;
    assert!(f.store.get(&EventKey::new("default", "leased")).is_some());
    let changes = f.server.state.read().changes_from(revision).unwrap();
    assert_eq!(changes[0].events[0].r#type, crate::proto::EVENT_DELETE);
    assert_eq!(
        f.server.revoke(&[lease]).await.unwrap_err(),
        EtcdError::LeaseNotFound
    );
}

#[tokio::test]
async fn the_compactors_transaction_bumps_the_version_of_its_key() {
    let f = fixture().await;
    let compactor = |expected: i64, rev: i64| TxnRequest {
        compare: vec![Compare {
            result: compare_result::EQUAL,
            target: compare_target::VERSION,
            key: crate::COMPACT_REV_KEY.to_vec(),
            target_union: Some(TargetUnion::Version(expected)),
            range_end: Vec::new(),
        }],
        success: vec![op(Request::Put(PutRequest {
            key: crate::COMPACT_REV_KEY.to_vec(),
            value: rev.to_string().into_bytes(),
            ..Default::default()
        }))],
        failure: vec![op(get(crate::COMPACT_REV_KEY))],
    };
    assert!(f.server.txn(compactor(0, 0)).await.unwrap().succeeded);
    let lost = f.server.txn(compactor(0, 5)).await.unwrap();
    assert!(!lost.succeeded);
    assert_eq!(failure_kv(&lost).unwrap().version, 1);
    assert!(f.server.txn(compactor(1, 5)).await.unwrap().succeeded);
}

#[tokio::test]
async fn a_reopened_endpoint_has_every_acknowledged_write_and_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let f = open(dir).await;
    let first = f
        .server
        .txn(optimistic_put(&key("a"), value("a"), 0, 0))
        .await
        .unwrap();
    let first = first.header.unwrap().revision;
    f.server
        .txn(optimistic_put(&key("b"), value("b"), 0, 0))
        .await
        .unwrap();
    f.server
        .txn(optimistic_delete(&key("a"), first))
        .await
        .unwrap();
    let revision = f.server.current_revision();
    let Fixture {
        _dir,
        store,
        server,
    } = f;
    drop(server);
    store.close().await;
    let store = Store::open(StoreConfig::new(path.join("store"))).unwrap();
    let server = EtcdServer::open(
        EtcdConfig::new(path.join("etcd")),
        store.clone(),
        Arc::new(KeyOnlyCodec),
    )
    .await
    .unwrap();
    assert_eq!(server.current_revision(), revision);
    assert!(one(&server, &key("a")).is_none());
    assert_eq!(one(&server, &key("b")).unwrap().value, value("b"));
    // Watches resume from any revision after the first.
    let changes = server.state.read().changes_from(first + 1).unwrap();
    assert_eq!(changes.len(), 2);
    assert!(store.get(&EventKey::new("default", "b")).is_some());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_each_get_their_own_revision_and_a_race_on_one_key_has_one_winner() {
    let f = fixture().await;
    let creates = (0..64).map(|i| {
        let server = f.server.clone();
        tokio::spawn(async move {
            let k = key(&format!("many.{i}"));
            let answer = server.txn(optimistic_put(&k, value("v"), 0, 0)).await;
            (k, answer.unwrap())
        })
    });
    let mut revisions = Vec::new();
    let created = futures::future::join_all(creates).await;
    settled(&f.server).await;
    for created in created {
        let (k, answer) = created.unwrap();
        assert!(answer.succeeded);
        let revision = answer.header.unwrap().revision;
        assert_eq!(one(&f.server, &k).unwrap().mod_revision, revision);
        let name = String::from_utf8(k)
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let hub = f.store.get(&EventKey::new("default", &name)).unwrap();
        assert_eq!(hub.record.source_resource_version, revision.to_string());
        revisions.push(revision);
    }
    revisions.sort_unstable();
    revisions.dedup();
    assert_eq!(revisions.len(), 64, "one revision per write");
    // Compare-and-swaps racing on one key: exactly one sees the revision it expects.
    let k = key("raced");
    let base = f
        .server
        .txn(optimistic_put(&k, value("0"), 0, 0))
        .await
        .unwrap()
        .header
        .unwrap()
        .revision;
    let racers = (0..8).map(|i| {
        let (server, k) = (f.server.clone(), k.clone());
        tokio::spawn(async move {
            let txn = optimistic_put(&k, value(&i.to_string()), base, 0);
            server.txn(txn).await.unwrap().succeeded
        })
    });
    let won = futures::future::join_all(racers).await;
    assert_eq!(won.into_iter().filter(|w| *w.as_ref().unwrap()).count(), 1);
    assert_eq!(one(&f.server, &k).unwrap().version, 2);
}
