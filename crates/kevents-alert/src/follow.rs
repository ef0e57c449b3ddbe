//! Feeds observers (event metrics, the rule engine) from the store's change feed, never
//! skipping a change the store still retains.

use kevents_store::{Change, EventStore};
use std::sync::Arc;

/// Something that accounts for committed changes.
pub trait Observer: Send + Sync {
    /// Called once per committed change, in resourceVersion order.
    fn observe(&self, change: &Change);
}

/// Follows the store's changes after version `from` until `shutdown` turns true or the store
/// closes.
pub async fn follow_store(
    store: impl EventStore,
    observers: Vec<Arc<dyn Observer>>,
    from: u64,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut changes = store.follow(from);
    loop {
        tokio::select! {
            next = changes.next() => match next {
                Some(Ok(change)) => {
                    for observer in &observers {
                        observer.observe(&change);
                    }
                }
                Some(Err(too_old)) => {
                    tracing::warn!(
                        from = too_old.requested,
                        oldest = too_old.oldest,
                        "metrics and alerting fell behind the retained history; some occurrences are not counted"
                    );
                    changes.skip_to(store.resource_version());
                }
                None => return,
            },
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_model::EventRecord;
    use kevents_store::{MemoryStore, Mutation};
    use parking_lot::Mutex;

    /// Records the versions it observes.
    #[derive(Default)]
    struct Versions(Mutex<Vec<u64>>);

    impl Observer for Versions {
        fn observe(&self, change: &Change) {
            self.0.lock().push(change.resource_version);
        }
    }

    fn create(name: &str) -> Mutation {
        Mutation::Create(EventRecord {
            namespace: "ns".into(),
            name: name.into(),
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn observers_see_every_change_after_the_start_once_in_order() {
        let store = MemoryStore::default();
        store.write(create("before")).await.unwrap();
        let from = store.resource_version();
        store.write(create("retained")).await.unwrap();
        let versions = Arc::new(Versions::default());
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let following = tokio::spawn(follow_store(
            store.clone(),
            vec![versions.clone()],
            from,
            shutdown,
        ));
        for i in 0..40 {
            store.write(create(&format!("e{i}"))).await.unwrap();
        }
        let last = store.resource_version();
        let caught_up = async {
            while versions.0.lock().last() != Some(&last) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), caught_up)
            .await
            .expect("the follower reaches the last change");
        stop.send(true).unwrap();
        following.await.unwrap();
        assert_eq!(*versions.0.lock(), ((from + 1)..=last).collect::<Vec<_>>());
    }
}
