//! The etcd v3 messages of the Watch, Lease, Maintenance and Cluster services (see `proto`).

use crate::proto::{Event, ResponseHeader};

/// `etcdserverpb.WatchRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchRequest {
    /// What the client asks.
    #[prost(oneof = "WatchRequestUnion", tags = "1, 2, 3")]
    pub request_union: Option<WatchRequestUnion>,
}

/// The requests a `WatchRequest` holds.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum WatchRequestUnion {
    /// Start a watch.
    #[prost(message, tag = "1")]
    Create(WatchCreateRequest),
    /// Stop a watch.
    #[prost(message, tag = "2")]
    Cancel(WatchCancelRequest),
    /// Ask for a progress notification on every watch of the stream.
    #[prost(message, tag = "3")]
    Progress(WatchProgressRequest),
}

/// `etcdserverpb.WatchCreateRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchCreateRequest {
    /// The key, or the start of the range.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// End of the range, as in `RangeRequest`.
    #[prost(bytes = "vec", tag = "2")]
    pub range_end: Vec<u8>,
    /// First revision to deliver; 0: changes after the current one.
    #[prost(int64, tag = "3")]
    pub start_revision: i64,
    /// Send empty responses now and then with the current revision.
    #[prost(bool, tag = "4")]
    pub progress_notify: bool,
    /// Event types not to deliver (0: no puts, 1: no deletes).
    #[prost(int32, repeated, tag = "5")]
    pub filters: Vec<i32>,
    /// Deliver each key's previous value with its change.
    #[prost(bool, tag = "6")]
    pub prev_kv: bool,
    /// The watch ID the client chose; 0: the server picks.
    #[prost(int64, tag = "7")]
    pub watch_id: i64,
}

/// `etcdserverpb.WatchCancelRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchCancelRequest {
    /// Which watch.
    #[prost(int64, tag = "1")]
    pub watch_id: i64,
}

/// `etcdserverpb.WatchProgressRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchProgressRequest {}

/// `etcdserverpb.WatchResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WatchResponse {
    /// Header; its revision is what a progress notification reports.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// Which watch; -1 for a progress notification answering `WatchProgressRequest`.
    #[prost(int64, tag = "2")]
    pub watch_id: i64,
    /// The answer to a create.
    #[prost(bool, tag = "3")]
    pub created: bool,
    /// The watch ended (cancelled, or compacted past its position).
    #[prost(bool, tag = "4")]
    pub canceled: bool,
    /// Set when the watch ended because its start revision was compacted.
    #[prost(int64, tag = "5")]
    pub compact_revision: i64,
    /// Why the watch ended.
    #[prost(string, tag = "6")]
    pub cancel_reason: String,
    /// The changes, in revision order.
    #[prost(message, repeated, tag = "11")]
    pub events: Vec<Event>,
}

/// `etcdserverpb.LeaseGrantRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseGrantRequest {
    /// Time to live in seconds.
    #[prost(int64, tag = "1")]
    pub ttl: i64,
    /// The ID the client chose; 0: the server picks.
    #[prost(int64, tag = "2")]
    pub id: i64,
}

/// `etcdserverpb.LeaseGrantResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseGrantResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// The lease's ID.
    #[prost(int64, tag = "2")]
    pub id: i64,
    /// Its time to live in seconds.
    #[prost(int64, tag = "3")]
    pub ttl: i64,
    /// An error text (unused: errors are gRPC statuses).
    #[prost(string, tag = "4")]
    pub error: String,
}

/// `etcdserverpb.LeaseRevokeRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseRevokeRequest {
    /// Which lease.
    #[prost(int64, tag = "1")]
    pub id: i64,
}

/// `etcdserverpb.LeaseRevokeResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseRevokeResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
}

/// `etcdserverpb.LeaseKeepAliveRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseKeepAliveRequest {
    /// Which lease.
    #[prost(int64, tag = "1")]
    pub id: i64,
}

/// `etcdserverpb.LeaseKeepAliveResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseKeepAliveResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// Which lease.
    #[prost(int64, tag = "2")]
    pub id: i64,
    /// Its renewed time to live in seconds; 0 when it does not exist.
    #[prost(int64, tag = "3")]
    pub ttl: i64,
}

/// `etcdserverpb.LeaseTimeToLiveRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseTimeToLiveRequest {
    /// Which lease.
    #[prost(int64, tag = "1")]
    pub id: i64,
    /// List the keys attached to it.
    #[prost(bool, tag = "2")]
    pub keys: bool,
}

/// `etcdserverpb.LeaseTimeToLiveResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LeaseTimeToLiveResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// Which lease.
    #[prost(int64, tag = "2")]
    pub id: i64,
    /// Seconds left; -1 when it does not exist.
    #[prost(int64, tag = "3")]
    pub ttl: i64,
    /// The time to live it was granted with.
    #[prost(int64, tag = "4")]
    pub granted_ttl: i64,
    /// The keys attached, when asked for.
    #[prost(bytes = "vec", repeated, tag = "5")]
    pub keys: Vec<Vec<u8>>,
}

/// `etcdserverpb.StatusRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusRequest {}

/// `etcdserverpb.StatusResponse` (the fields a client reads of a one-member cluster).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// The etcd version this endpoint answers as.
    #[prost(string, tag = "2")]
    pub version: String,
    /// Bytes of the etcd view's log on disk.
    #[prost(int64, tag = "3")]
    pub db_size: i64,
    /// The leader's member ID (this member).
    #[prost(uint64, tag = "4")]
    pub leader: u64,
    /// The raft index (the revision).
    #[prost(uint64, tag = "5")]
    pub raft_index: u64,
    /// The raft term.
    #[prost(uint64, tag = "6")]
    pub raft_term: u64,
    /// The applied raft index (the revision).
    #[prost(uint64, tag = "7")]
    pub raft_applied_index: u64,
    /// Bytes in use (as `db_size`).
    #[prost(int64, tag = "9")]
    pub db_size_in_use: i64,
}

/// `etcdserverpb.Member`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Member {
    /// The member's ID.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// Its name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Peer URLs (none: there are no peers).
    #[prost(string, repeated, tag = "3")]
    pub peer_urls: Vec<String>,
    /// Client URLs.
    #[prost(string, repeated, tag = "4")]
    pub client_urls: Vec<String>,
}

/// `etcdserverpb.MemberListRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberListRequest {
    /// Linearizable read (every read here is).
    #[prost(bool, tag = "1")]
    pub linearizable: bool,
}

/// `etcdserverpb.MemberListResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberListResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// The members: this one.
    #[prost(message, repeated, tag = "2")]
    pub members: Vec<Member>,
}
