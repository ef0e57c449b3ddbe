//! The objects of one served resource, kept by their owner, with a version counter and a feed
//! of changes for watches.

use parking_lot::RwLock;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Applies a `PATCH` body to the object named: the owner checks it and puts the result.
pub type Patcher = Arc<dyn Fn(&str, &Value) -> Result<(), String> + Send + Sync>;

/// What a watch of served objects receives.
#[derive(Debug, Clone)]
pub(crate) struct ServedChange {
    pub kind: &'static str,
    pub object: Value,
    pub version: u64,
}

/// The objects of one served resource, by (namespace, name).
pub struct ServedObjects {
    pub(super) inner: RwLock<Inner>,
    pub(super) feed: broadcast::Sender<Arc<ServedChange>>,
    patcher: RwLock<Option<Patcher>>,
}

pub(super) struct Inner {
    pub version: u64,
    pub objects: BTreeMap<(String, String), Value>,
}

/// Changes buffered per watcher before a slow one is cut off (it relists).
const FEED_CAPACITY: usize = 4096;

impl Default for ServedObjects {
    fn default() -> Self {
        ServedObjects {
            inner: RwLock::new(Inner {
                version: 0,
                objects: BTreeMap::new(),
            }),
            feed: broadcast::channel(FEED_CAPACITY).0,
            patcher: RwLock::new(None),
        }
    }
}

fn key_of(object: &Value) -> (String, String) {
    let text = |field: &str| {
        object["metadata"][field]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    (text("namespace"), text("name"))
}

impl ServedObjects {
    /// Adds or replaces an object (by `metadata.namespace` and `metadata.name`), giving it the
    /// next resourceVersion; returns that version.
    pub fn put(&self, mut object: Value) -> u64 {
        let mut inner = self.inner.write();
        inner.version += 1;
        let version = inner.version;
        object["metadata"]["resourceVersion"] = Value::String(version.to_string());
        let key = key_of(&object);
        let kind = if inner.objects.insert(key, object.clone()).is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let _ = self.feed.send(Arc::new(ServedChange {
            kind,
            object,
            version,
        }));
        version
    }

    /// Puts objects that already carry their resourceVersion (kept across restarts by their
    /// owner); later versions count on from the largest.
    pub fn restore(&self, objects: impl IntoIterator<Item = Value>) {
        let mut inner = self.inner.write();
        for object in objects {
            let version = object["metadata"]["resourceVersion"]
                .as_str()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            inner.version = inner.version.max(version);
            inner.objects.insert(key_of(&object), object);
        }
    }

    /// Removes an object; watchers see `DELETED`.
    pub fn remove(&self, namespace: &str, name: &str) {
        let mut inner = self.inner.write();
        let Some(mut object) = inner
            .objects
            .remove(&(namespace.to_string(), name.to_string()))
        else {
            return;
        };
        inner.version += 1;
        let version = inner.version;
        object["metadata"]["resourceVersion"] = Value::String(version.to_string());
        let _ = self.feed.send(Arc::new(ServedChange {
            kind: "DELETED",
            object,
            version,
        }));
    }

    /// One object, as stored.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Value> {
        self.inner
            .read()
            .objects
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Every object, in (namespace, name) order.
    pub fn all(&self) -> Vec<Value> {
        self.inner.read().objects.values().cloned().collect()
    }

    /// Who applies a `PATCH` (none: patches are refused).
    pub fn set_patcher(&self, patcher: Patcher) {
        *self.patcher.write() = Some(patcher);
    }

    pub(super) fn patcher(&self) -> Option<Patcher> {
        self.patcher.read().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn put_numbers_versions_and_feeds_added_then_modified() {
        let objects = ServedObjects::default();
        let mut feed = objects.feed.subscribe();
        let run = json!({"metadata": {"namespace": "prod", "name": "r1"}});
        assert_eq!(objects.put(run.clone()), 1);
        assert_eq!(objects.put(run), 2);
        assert_eq!(feed.try_recv().unwrap().kind, "ADDED");
        let modified = feed.try_recv().unwrap();
        assert_eq!(modified.kind, "MODIFIED");
        assert_eq!(modified.object["metadata"]["resourceVersion"], "2");
        objects.remove("prod", "r1");
        assert_eq!(feed.try_recv().unwrap().kind, "DELETED");
        assert!(objects.all().is_empty());
    }

    #[test]
    fn restored_objects_keep_their_versions_and_later_puts_count_on() {
        let objects = ServedObjects::default();
        objects.restore([
            json!({"metadata": {"namespace": "a", "name": "x", "resourceVersion": "41"}}),
        ]);
        assert_eq!(
            objects.get("a", "x").unwrap()["metadata"]["resourceVersion"],
            "41"
        );
        assert_eq!(
            objects.put(json!({"metadata": {"namespace": "a", "name": "y"}})),
            42
        );
    }
}
