//! A simple in-memory model of the store (a `BTreeMap` per version) and random operations on
//! both, shared by the property tests.

use kevents_model::{EventKey, EventRecord, Micros};
use kevents_store::{ChangeType, Mutation, Scope, StoredEvent};
use proptest::prelude::*;
use std::collections::BTreeMap;

pub mod crash;

pub const CLUSTERS: [&str; 2] = ["", "east"];
pub const NAMESPACES: [&str; 2] = ["a", "b"];
pub const NAMES: [&str; 4] = ["e0", "e1", "e2", "e3"];
pub const OBJECTS: [&str; 2] = ["web", "db"];
pub const TTL: i64 = 3600 * 1_000_000;

/// The scopes reads are checked in.
pub const SCOPES: [Scope<'static>; 6] = [
    Scope::ALL,
    Scope {
        cluster: Some(""),
        namespace: None,
    },
    Scope {
        cluster: Some("east"),
        namespace: None,
    },
    Scope {
        cluster: None,
        namespace: Some("a"),
    },
    Scope {
        cluster: Some("east"),
        namespace: Some("b"),
    },
    Scope {
        cluster: Some(""),
        namespace: Some("a"),
    },
];

/// Which resourceVersion precondition a write carries.
#[derive(Debug, Clone, Copy)]
pub enum Pre {
    None,
    Current,
    Stale,
}

/// One operation of a run.
#[derive(Debug, Clone)]
pub enum Op {
    Create {
        key: usize,
        msg: u8,
        object: usize,
    },
    Update {
        key: usize,
        msg: u8,
        object: usize,
        pre: Pre,
    },
    Delete {
        key: usize,
        pre: Pre,
    },
    /// Expire with the clock set so that the `pick`-th oldest event (by last write) and all
    /// older ones have run out.
    Expire {
        pick: usize,
    },
    Checkpoint,
    Restart,
    /// Copy the data directory as a kill -9 would leave it, with a torn frame of `torn` bytes
    /// appended to the last segment when set.
    Crash {
        torn: Option<u8>,
    },
}

/// An operation and the parameters of the reads checked around it.
#[derive(Debug, Clone)]
pub struct Step {
    pub op: Op,
    pub scope: usize,
    pub limit: usize,
    pub by_object: Option<usize>,
    pub back: u64,
}

fn pre() -> impl Strategy<Value = Pre> {
    prop_oneof![Just(Pre::None), Just(Pre::Current), Just(Pre::Stale)]
}

fn op() -> impl Strategy<Value = Op> {
    let keys = CLUSTERS.len() * NAMESPACES.len() * NAMES.len();
    prop_oneof![
        6 => (0..keys, any::<u8>(), 0..OBJECTS.len())
            .prop_map(|(key, msg, object)| Op::Create { key, msg, object }),
        5 => (0..keys, any::<u8>(), 0..OBJECTS.len(), pre())
            .prop_map(|(key, msg, object, pre)| Op::Update { key, msg, object, pre }),
        2 => (0..keys, pre()).prop_map(|(key, pre)| Op::Delete { key, pre }),
        1 => (0..8usize).prop_map(|pick| Op::Expire { pick }),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Restart),
        1 => proptest::option::of(1..40u8).prop_map(|torn| Op::Crash { torn }),
    ]
}

/// A run of steps.
pub fn steps(max: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = (
        op(),
        0..SCOPES.len(),
        1..4usize,
        proptest::option::of(0..OBJECTS.len()),
        0..24u64,
    )
        .prop_map(|(op, scope, limit, by_object, back)| Step {
            op,
            scope,
            limit,
            by_object,
            back,
        });
    proptest::collection::vec(step, 1..max)
}

/// The key with index `index`.
pub fn key(index: usize) -> EventKey {
    let name = NAMES[index % NAMES.len()];
    let namespace = NAMESPACES[(index / NAMES.len()) % NAMESPACES.len()];
    let cluster = CLUSTERS[(index / NAMES.len() / NAMESPACES.len()) % CLUSTERS.len()];
    EventKey::in_cluster(cluster, namespace, name)
}

/// A record for `key` as a client would send it.
pub fn record(key: &EventKey, uid: String, msg: u8, object: usize) -> EventRecord {
    let mut record = EventRecord {
        cluster: key.cluster.clone(),
        namespace: key.namespace.clone(),
        name: key.name.clone(),
        uid,
        message: format!("message {msg}"),
        reason: if msg.is_multiple_of(2) {
            "Started"
        } else {
            "BackOff"
        }
        .into(),
        event_type: if msg.is_multiple_of(3) {
            "Warning"
        } else {
            "Normal"
        }
        .into(),
        count: i32::from(msg % 5),
        first_timestamp: Some(Micros(1_700_000_000_000_000 + i64::from(msg) * 1_000_000)),
        ..Default::default()
    };
    record.involved_object.name = OBJECTS[object].into();
    record.involved_object.kind = "Pod".into();
    record
}

/// A change as the model expects it on a watch.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelChange {
    pub rv: u64,
    pub change_type: ChangeType,
    pub object: StoredEvent,
}

/// The model: every live event, the change log, and the state at every version.
#[derive(Default, Clone)]
pub struct Model {
    pub events: BTreeMap<EventKey, StoredEvent>,
    pub rv: u64,
    pub changes: Vec<ModelChange>,
    pub states: BTreeMap<u64, BTreeMap<EventKey, StoredEvent>>,
    pub uids: u64,
}

impl Model {
    pub fn new() -> Model {
        let mut model = Model {
            rv: 1,
            ..Default::default()
        };
        model.states.insert(1, BTreeMap::new());
        model
    }

    fn commit(&mut self, change_type: ChangeType, object: StoredEvent) {
        self.rv += 1;
        assert_eq!(object.record.resource_version, self.rv);
        let key = object.record.key();
        match change_type {
            ChangeType::Deleted => {
                self.events.remove(&key);
            }
            _ => {
                self.events.insert(key, object.clone());
            }
        }
        self.changes.push(ModelChange {
            rv: self.rv,
            change_type,
            object,
        });
        self.states.insert(self.rv, self.events.clone());
    }

    /// What the store must answer to `mutation`: `Err(())` for a refusal, else the change
    /// (the store's `updated_at` is taken from `stored_at`, the commit time it reports).
    pub fn apply(&mut self, mutation: &Mutation, stored_at: Option<Micros>) -> Result<(), ()> {
        let current = self.events.get(&mutation_key(mutation)).cloned();
        let next = self.rv + 1;
        match (mutation, current) {
            (Mutation::Create(record), None) => {
                let mut record = record.clone();
                record.resource_version = next;
                let at = stored_at.expect("a create that succeeds reports its time");
                self.commit(
                    ChangeType::Added,
                    StoredEvent {
                        record,
                        updated_at: at,
                    },
                );
                Ok(())
            }
            (
                Mutation::Update {
                    record,
                    expected_rv,
                },
                Some(existing),
            ) if expected_rv.is_none_or(|rv| rv == existing.record.resource_version) => {
                let mut record = record.clone();
                record.resource_version = next;
                record.uid = existing.record.uid.clone();
                record.creation_timestamp = existing.record.creation_timestamp;
                let at = stored_at.expect("an update that succeeds reports its time");
                self.commit(
                    ChangeType::Modified,
                    StoredEvent {
                        record,
                        updated_at: at,
                    },
                );
                Ok(())
            }
            (Mutation::Delete { expected_rv, .. }, Some(existing))
                if expected_rv.is_none_or(|rv| rv == existing.record.resource_version) =>
            {
                self.delete(existing);
                Ok(())
            }
            _ => Err(()),
        }
    }

    fn delete(&mut self, existing: StoredEvent) {
        let mut last = existing;
        last.record.resource_version = self.rv + 1;
        self.commit(ChangeType::Deleted, last);
    }

    /// Expires every event whose TTL ran out at `now`, in the store's order: by last write,
    /// then key.
    pub fn expire(&mut self, now: Micros) -> usize {
        let mut due: Vec<StoredEvent> = self
            .events
            .values()
            .filter(|e| e.updated_at.0 + TTL <= now.0)
            .cloned()
            .collect();
        due.sort_by_key(|e| (e.updated_at, e.record.key()));
        let count = due.len();
        for event in due {
            self.delete(event);
        }
        count
    }

    /// The clock at which the `pick`-th oldest live event (by last write) runs out.
    pub fn expiry_clock(&self, pick: usize) -> Micros {
        let mut times: Vec<Micros> = self.events.values().map(|e| e.updated_at).collect();
        times.sort();
        match times.get(pick.min(times.len().saturating_sub(1))) {
            Some(at) => Micros(at.0 + TTL),
            None => Micros(0),
        }
    }

    /// Events of the state at `rv` in `scope`, about `object` when set, in key order.
    pub fn list(&self, rv: u64, scope: Scope<'_>, object: Option<&str>) -> Vec<StoredEvent> {
        self.states[&rv]
            .iter()
            .filter(|(key, _)| scope.contains(key))
            .filter(|(_, e)| object.is_none_or(|o| e.record.involved_object.name == o))
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Changes committed after `rv`.
    pub fn changes_after(&self, rv: u64) -> Vec<ModelChange> {
        self.changes.iter().filter(|c| c.rv > rv).cloned().collect()
    }
}

fn mutation_key(mutation: &Mutation) -> EventKey {
    match mutation {
        Mutation::Create(record) | Mutation::Update { record, .. } => record.key(),
        Mutation::Delete { key, .. } | Mutation::Expire { key, .. } => key.clone(),
    }
}
