//! The history window is bounded in bytes as well as in revisions.

use super::{key, one, optimistic_put, read, value, KeyOnlyCodec};
use crate::proto::RangeRequest;
use crate::{EtcdConfig, EtcdError, EtcdServer};
use kevents_store::{Store, StoreConfig};
use std::sync::Arc;

#[tokio::test]
async fn large_values_compact_the_history_past_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path().join("store"))).unwrap();
    let mut config = EtcdConfig::new(dir.path().join("etcd"));
    config.history_bytes_limit = 256 << 10;
    let server = EtcdServer::open(config, store, Arc::new(KeyOnlyCodec))
        .await
        .unwrap();
    let (big, mut revision, mut first) = (key("big"), 0, 0);
    for round in 0..10 {
        let text = format!("{round}{}", "v".repeat(60 << 10));
        let response = server
            .txn(optimistic_put(&big, value(&text), revision, 0))
            .await
            .unwrap();
        revision = response.header.unwrap().revision;
        first = if round == 0 { revision } else { first };
        // Each change holds the value before and after: about 120 KiB.
        assert!(
            server.history_bytes() <= 256 << 10,
            "{}",
            server.history_bytes()
        );
    }
    assert!(server.history_bytes() > 0);
    let past = RangeRequest {
        key: big.clone(),
        revision: first,
        ..Default::default()
    };
    assert!(matches!(read(&server, past), Err(EtcdError::Compacted)));
    assert_eq!(one(&server, &big).map(|kv| kv.mod_revision), Some(revision));
}
