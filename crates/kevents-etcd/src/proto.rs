//! The etcd v3 messages this endpoint speaks, as prost structs with etcd's field numbers (from
//! etcd's `etcdserverpb/rpc.proto` and `mvccpb/kv.proto`); fields the endpoint never reads or
//! sets are left out, so their bytes are skipped on decode.

/// `mvccpb.KeyValue`: a key at one revision.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    /// The key.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// Revision of the key's last creation.
    #[prost(int64, tag = "2")]
    pub create_revision: i64,
    /// Revision of the key's last modification.
    #[prost(int64, tag = "3")]
    pub mod_revision: i64,
    /// Writes since the key was created (1 for a new key).
    #[prost(int64, tag = "4")]
    pub version: i64,
    /// The value, byte for byte as written.
    #[prost(bytes = "vec", tag = "5")]
    pub value: Vec<u8>,
    /// The lease attached to the key; 0 for none.
    #[prost(int64, tag = "6")]
    pub lease: i64,
}

/// `mvccpb.Event.EventType`.
pub const EVENT_PUT: i32 = 0;
/// `mvccpb.Event.EventType`.
pub const EVENT_DELETE: i32 = 1;

/// `mvccpb.Event`: one change of a key, as a watch delivers it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// `EVENT_PUT` or `EVENT_DELETE`.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// The key after the change (for deletes: the key with the delete's revision).
    #[prost(message, optional, tag = "2")]
    pub kv: Option<KeyValue>,
    /// The key before the change, when the watcher asked for it.
    #[prost(message, optional, tag = "3")]
    pub prev_kv: Option<KeyValue>,
}

/// `etcdserverpb.ResponseHeader`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseHeader {
    /// The cluster's ID.
    #[prost(uint64, tag = "1")]
    pub cluster_id: u64,
    /// The answering member's ID.
    #[prost(uint64, tag = "2")]
    pub member_id: u64,
    /// The store's revision when the request was served.
    #[prost(int64, tag = "3")]
    pub revision: i64,
    /// The raft term (always 1: one member, never an election).
    #[prost(uint64, tag = "4")]
    pub raft_term: u64,
}

/// `etcdserverpb.RangeRequest` (sorting and the min/max revision filters are not read).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RangeRequest {
    /// The key, or the start of the range.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// End of the range (exclusive); empty: `key` alone; `\0`: every key from `key` on.
    #[prost(bytes = "vec", tag = "2")]
    pub range_end: Vec<u8>,
    /// Most keys returned; 0: no limit.
    #[prost(int64, tag = "3")]
    pub limit: i64,
    /// Read as of this revision; 0: the current one.
    #[prost(int64, tag = "4")]
    pub revision: i64,
    /// Sort order; only `NONE` and ascending by key (what the apiserver sends) are served.
    #[prost(int32, tag = "5")]
    pub sort_order: i32,
    /// Sort target.
    #[prost(int32, tag = "6")]
    pub sort_target: i32,
    /// Serializable read (every read here is linearizable anyway).
    #[prost(bool, tag = "7")]
    pub serializable: bool,
    /// Return keys without values.
    #[prost(bool, tag = "8")]
    pub keys_only: bool,
    /// Return only the count.
    #[prost(bool, tag = "9")]
    pub count_only: bool,
}

/// `etcdserverpb.RangeResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RangeResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// The keys in range, up to the limit.
    #[prost(message, repeated, tag = "2")]
    pub kvs: Vec<KeyValue>,
    /// True when more keys are in range than returned.
    #[prost(bool, tag = "3")]
    pub more: bool,
    /// How many keys are in range.
    #[prost(int64, tag = "4")]
    pub count: i64,
}

/// `etcdserverpb.PutRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutRequest {
    /// The key.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// The value.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
    /// Lease to attach; 0 for none.
    #[prost(int64, tag = "3")]
    pub lease: i64,
    /// Return the previous key-value.
    #[prost(bool, tag = "4")]
    pub prev_kv: bool,
    /// Keep the current value (refused: the apiserver never sends it).
    #[prost(bool, tag = "5")]
    pub ignore_value: bool,
    /// Keep the current lease (refused: the apiserver never sends it).
    #[prost(bool, tag = "6")]
    pub ignore_lease: bool,
}

/// `etcdserverpb.PutResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// The previous key-value, when asked for and present.
    #[prost(message, optional, tag = "2")]
    pub prev_kv: Option<KeyValue>,
}

/// `etcdserverpb.DeleteRangeRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeleteRangeRequest {
    /// The key, or the start of the range.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// End of the range, as in `RangeRequest`.
    #[prost(bytes = "vec", tag = "2")]
    pub range_end: Vec<u8>,
    /// Return the deleted key-values.
    #[prost(bool, tag = "3")]
    pub prev_kv: bool,
}

/// `etcdserverpb.DeleteRangeResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeleteRangeResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// How many keys were deleted.
    #[prost(int64, tag = "2")]
    pub deleted: i64,
    /// The deleted key-values, when asked for.
    #[prost(message, repeated, tag = "3")]
    pub prev_kvs: Vec<KeyValue>,
}

/// `etcdserverpb.RequestOp`: one operation of a transaction.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestOp {
    /// The operation.
    #[prost(oneof = "Request", tags = "1, 2, 3, 4")]
    pub request: Option<Request>,
}

/// The operations a `RequestOp` holds.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Request {
    /// A read.
    #[prost(message, tag = "1")]
    Range(RangeRequest),
    /// A write.
    #[prost(message, tag = "2")]
    Put(PutRequest),
    /// A delete.
    #[prost(message, tag = "3")]
    DeleteRange(DeleteRangeRequest),
    /// A nested transaction (refused: the apiserver never sends one).
    #[prost(message, tag = "4")]
    Txn(TxnRequest),
}

/// `etcdserverpb.ResponseOp`: the answer to one `RequestOp`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseOp {
    /// The answer.
    #[prost(oneof = "Response", tags = "1, 2, 3")]
    pub response: Option<Response>,
}

/// The answers a `ResponseOp` holds.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Response {
    /// To a read.
    #[prost(message, tag = "1")]
    Range(RangeResponse),
    /// To a write.
    #[prost(message, tag = "2")]
    Put(PutResponse),
    /// To a delete.
    #[prost(message, tag = "3")]
    DeleteRange(DeleteRangeResponse),
}

/// `Compare.CompareResult`.
pub mod compare_result {
    /// `=`.
    pub const EQUAL: i32 = 0;
    /// `>`.
    pub const GREATER: i32 = 1;
    /// `<`.
    pub const LESS: i32 = 2;
    /// `!=`.
    pub const NOT_EQUAL: i32 = 3;
}

/// `Compare.CompareTarget`.
pub mod compare_target {
    /// The key's version.
    pub const VERSION: i32 = 0;
    /// The key's create revision.
    pub const CREATE: i32 = 1;
    /// The key's mod revision.
    pub const MOD: i32 = 2;
    /// The key's value.
    pub const VALUE: i32 = 3;
    /// The key's lease.
    pub const LEASE: i32 = 4;
}

/// `etcdserverpb.Compare`: one condition of a transaction.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Compare {
    /// How to compare (`compare_result`).
    #[prost(int32, tag = "1")]
    pub result: i32,
    /// What to compare (`compare_target`).
    #[prost(int32, tag = "2")]
    pub target: i32,
    /// The key compared.
    #[prost(bytes = "vec", tag = "3")]
    pub key: Vec<u8>,
    /// The value compared against.
    #[prost(oneof = "TargetUnion", tags = "4, 5, 6, 7, 8")]
    pub target_union: Option<TargetUnion>,
    /// A range of keys (refused: the apiserver compares single keys).
    #[prost(bytes = "vec", tag = "64")]
    pub range_end: Vec<u8>,
}

/// The value a `Compare` compares against.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum TargetUnion {
    /// A version.
    #[prost(int64, tag = "4")]
    Version(i64),
    /// A create revision.
    #[prost(int64, tag = "5")]
    CreateRevision(i64),
    /// A mod revision.
    #[prost(int64, tag = "6")]
    ModRevision(i64),
    /// A value.
    #[prost(bytes = "vec", tag = "7")]
    Value(Vec<u8>),
    /// A lease.
    #[prost(int64, tag = "8")]
    Lease(i64),
}

/// `etcdserverpb.TxnRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TxnRequest {
    /// Conditions; all must hold for `success` to run, else `failure` runs.
    #[prost(message, repeated, tag = "1")]
    pub compare: Vec<Compare>,
    /// Operations when the conditions hold.
    #[prost(message, repeated, tag = "2")]
    pub success: Vec<RequestOp>,
    /// Operations otherwise.
    #[prost(message, repeated, tag = "3")]
    pub failure: Vec<RequestOp>,
}

/// `etcdserverpb.TxnResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TxnResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// True when the conditions held.
    #[prost(bool, tag = "2")]
    pub succeeded: bool,
    /// One answer per operation run.
    #[prost(message, repeated, tag = "3")]
    pub responses: Vec<ResponseOp>,
}

/// `etcdserverpb.CompactionRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CompactionRequest {
    /// Forget history before this revision.
    #[prost(int64, tag = "1")]
    pub revision: i64,
    /// Wait until the compaction is on disk (it always is when answered here).
    #[prost(bool, tag = "2")]
    pub physical: bool,
}

/// `etcdserverpb.CompactionResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CompactionResponse {
    /// Header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
}
