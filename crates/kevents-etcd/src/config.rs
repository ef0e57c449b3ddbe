//! The endpoint's settings and the identity it reports (one member of a one-member cluster).

use crate::proto::ResponseHeader;
use std::path::PathBuf;
use std::time::Duration;

/// The cluster ID this endpoint reports.
pub const CLUSTER_ID: u64 = 0x6b65_7665_6e74_7301;
/// The member ID this endpoint reports.
pub const MEMBER_ID: u64 = 0x6b65_7665_6e74_7302;

/// The longest lease TTL in seconds, etcd's `MaxLeaseTTL`; a longer one is refused as etcd
/// refuses it (and a lease deadline stays far from the clock's range).
pub const MAX_LEASE_TTL: i64 = 9_000_000_000;

/// Settings of the endpoint.
#[derive(Debug, Clone)]
pub struct EtcdConfig {
    /// Directory of the etcd view's log.
    pub data_dir: PathBuf,
    /// The apiserver's `--etcd-prefix`.
    pub prefix: String,
    /// The hub cluster events written here belong to (`""`: the hub's own).
    pub cluster: String,
    /// Most revisions of history kept for reads at past revisions and watch resume.
    pub history_limit: usize,
    /// Most bytes of history kept (keys and values before and after each change); the oldest
    /// revisions are compacted past it.
    pub history_bytes_limit: usize,
    /// Largest value accepted (etcd's default request limit is 1.5 MiB).
    pub max_value_bytes: usize,
    /// Interval of progress notifications on watches that ask for them.
    pub progress_interval: Duration,
    /// Shortest lease granted, in seconds.
    pub min_lease_ttl: i64,
    /// The URLs MemberList reports.
    pub client_urls: Vec<String>,
}

impl EtcdConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> EtcdConfig {
        EtcdConfig {
            data_dir: data_dir.into(),
            prefix: "/registry".into(),
            cluster: String::new(),
            history_limit: 100_000,
            history_bytes_limit: 64 << 20,
            max_value_bytes: 1536 * 1024,
            progress_interval: Duration::from_secs(5),
            min_lease_ttl: 5,
            client_urls: Vec::new(),
        }
    }
}

/// A response header at `revision`.
pub fn header(revision: i64) -> ResponseHeader {
    ResponseHeader {
        cluster_id: CLUSTER_ID,
        member_id: MEMBER_ID,
        revision,
        raft_term: 1,
    }
}
