//! Input that etcd or the hub's API refuses is refused here too, before it reaches the log:
//! lease TTLs past etcd's maximum, keys the hub could not address its event by.

use super::{fixture, key, one, open, optimistic_put, settled, value, Fixture};
use crate::EtcdError;
use kevents_model::EventKey;

#[tokio::test]
async fn a_lease_ttl_past_etcds_maximum_is_refused_and_the_view_stays_usable() {
    let f = fixture().await;
    // Before: the deadline `now + i64::MAX seconds` overflowed in the commit loop, after the
    // grant was logged, so the endpoint died and every restart died replaying it.
    for ttl in [i64::MAX, 9_000_000_001] {
        let refused = f.server.grant(0, ttl).await;
        assert_eq!(refused, Err(EtcdError::LeaseTtlTooLarge), "ttl {ttl}");
        let status = tonic::Status::from(EtcdError::LeaseTtlTooLarge);
        assert_eq!(status.code(), tonic::Code::OutOfRange);
        assert_eq!(status.message(), "etcdserver: too large lease TTL");
    }
    let (lease, ttl) = f.server.grant(0, 9_000_000_000).await.unwrap();
    assert_eq!(ttl, 9_000_000_000);
    f.server
        .txn(optimistic_put(&key("a"), value("a"), 0, lease))
        .await
        .unwrap();
    let Fixture {
        _dir,
        store,
        server,
    } = f;
    drop(server);
    store.close().await;
    let Fixture {
        _dir,
        store,
        server,
    } = open(_dir).await;
    assert_eq!(one(&server, &key("a")).map(|kv| kv.lease), Some(lease));
    assert_eq!(
        server
            .state
            .write()
            .keep_alive(lease, std::time::Instant::now()),
        Some(ttl)
    );
    store.close().await;
}

#[tokio::test]
async fn keys_whose_event_the_api_could_not_address_are_refused() {
    let f = fixture().await;
    let long = "n".repeat(66_000);
    for (namespace, name) in [
        ("default", long.as_str()),
        ("Not_A_Namespace", "a"),
        ("default", ".."),
    ] {
        let key = format!("/registry/events/{namespace}/{name}").into_bytes();
        let refused = f.server.txn(optimistic_put(&key, value("x"), 0, 0)).await;
        assert!(
            matches!(refused, Err(EtcdError::Malformed { .. })),
            "{namespace}/{}",
            &name[..name.len().min(10)]
        );
        assert!(f.store.get(&EventKey::new(namespace, name)).is_none());
    }
    let fits = "n".repeat(8192);
    f.server
        .txn(optimistic_put(&key(&fits), value("x"), 0, 0))
        .await
        .unwrap();
    settled(&f.server).await;
    assert!(f.store.get(&EventKey::new("default", &fits)).is_some());
    f.store.close().await;
}
