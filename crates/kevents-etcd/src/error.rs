//! The endpoint's errors, and the one place they become gRPC statuses (with etcd's own texts
//! where clients match on them).

use crate::keys::Refused;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdError {
    /// A key outside what the endpoint serves.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// A value that is not an event in the apiserver's storage encoding.
    #[error("kevents cannot store the value of {key}: {reason}")]
    Malformed {
        /// The key.
        key: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// A value larger than the endpoint accepts.
    #[error(
        "etcdserver: request is too large ({bytes} bytes of value; kevents accepts up to {limit})"
    )]
    TooLarge {
        /// Bytes sent.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A read or watch before the compacted revision.
    #[error("etcdserver: mvcc: required revision has been compacted")]
    Compacted,
    /// A read at a revision not reached yet.
    #[error("etcdserver: mvcc: required revision is a future revision")]
    FutureRevision,
    /// A lease that does not exist (or expired).
    #[error("etcdserver: requested lease not found")]
    LeaseNotFound,
    /// A lease TTL above etcd's maximum ([`crate::config::MAX_LEASE_TTL`]).
    #[error("etcdserver: too large lease TTL")]
    LeaseTtlTooLarge,
    /// Two writes of one key in one transaction.
    #[error("etcdserver: duplicate key given in txn request")]
    DuplicateKey,
    /// A request shape the endpoint does not serve.
    #[error("kevents does not serve {0}")]
    Unsupported(String),
    /// The etcd view's log or the hub's store failed.
    #[error("kevents could not store the change: {0}")]
    Storage(String),
}

impl From<EtcdError> for tonic::Status {
    fn from(error: EtcdError) -> tonic::Status {
        let message = error.to_string();
        match error {
            EtcdError::Refused(_)
            | EtcdError::Malformed { .. }
            | EtcdError::TooLarge { .. }
            | EtcdError::DuplicateKey => tonic::Status::invalid_argument(message),
            EtcdError::Compacted | EtcdError::FutureRevision | EtcdError::LeaseTtlTooLarge => {
                tonic::Status::out_of_range(message)
            }
            EtcdError::LeaseNotFound => tonic::Status::not_found(message),
            EtcdError::Unsupported(_) => tonic::Status::unimplemented(message),
            EtcdError::Storage(_) => tonic::Status::unavailable(message),
        }
    }
}
