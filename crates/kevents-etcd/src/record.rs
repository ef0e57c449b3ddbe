//! One committed change of the etcd view, as its log records it (a prost message, so values
//! stay the bytes the apiserver wrote). Replaying the records rebuilds the view.

use crate::proto::KeyValue;

/// A lease as granted.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseGrant {
    /// Its ID.
    #[prost(int64, tag = "1")]
    pub id: i64,
    /// Its time to live in seconds.
    #[prost(int64, tag = "2")]
    pub ttl: i64,
}

/// A change of the etcd view: keys written and deleted at one revision, leases granted and
/// revoked, the compaction point; or, with `snapshot`, the whole view as of `revision`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Record {
    /// The revision after the change (unchanged when no key changed).
    #[prost(int64, tag = "1")]
    pub revision: i64,
    /// Keys written, each with its revisions, version, value and lease.
    #[prost(message, repeated, tag = "2")]
    pub puts: Vec<KeyValue>,
    /// Keys deleted.
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub deletes: Vec<Vec<u8>>,
    /// Leases granted.
    #[prost(message, repeated, tag = "4")]
    pub grants: Vec<LeaseGrant>,
    /// Leases revoked or expired.
    #[prost(int64, repeated, tag = "5")]
    pub revokes: Vec<i64>,
    /// History before this revision is forgotten (0: unchanged).
    #[prost(int64, tag = "6")]
    pub compacted: i64,
    /// The record holds the whole view: what came before it is replaced.
    #[prost(bool, tag = "7")]
    pub snapshot: bool,
}

impl Record {
    /// True when the record changes keys (and so takes a new revision).
    pub fn changes_keys(&self) -> bool {
        !self.puts.is_empty() || !self.deletes.is_empty()
    }
}

/// The records of one append, as a compressed frame of the log holds them.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RecordBatch {
    /// In order.
    #[prost(message, repeated, tag = "1")]
    pub records: Vec<Record>,
}
