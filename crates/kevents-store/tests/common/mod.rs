//! Helpers shared by the store's integration tests.

use kevents_model::EventRecord;
use kevents_store::{EventStore, Mutation};

/// An event `name` in `namespace` with `message`, everything else defaulted.
pub fn record(namespace: &str, name: &str, message: &str) -> EventRecord {
    EventRecord {
        namespace: namespace.into(),
        name: name.into(),
        uid: format!("uid-{name}"),
        message: message.into(),
        ..Default::default()
    }
}

/// Creates an event and returns its resourceVersion.
#[allow(dead_code)] // not every test binary creates through this
pub async fn create(store: &impl EventStore, namespace: &str, name: &str) -> u64 {
    store
        .write(Mutation::Create(record(namespace, name, "m")))
        .await
        .expect("create")
        .object
        .record
        .resource_version
}
