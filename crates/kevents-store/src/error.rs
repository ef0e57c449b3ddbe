//! The error of store operations.

use kevents_model::EventKey;

/// Errors of store operations.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A create named an event that exists.
    #[error("event {0:?} already exists")]
    AlreadyExists(EventKey),
    /// The event does not exist.
    #[error("event {0:?} not found")]
    NotFound(EventKey),
    /// A precondition (resourceVersion or uid) did not hold.
    #[error("event {0:?} was modified concurrently")]
    Conflict(EventKey),
    /// The disk failed; nothing of the request was stored.
    #[error("{context}: {message}")]
    Io {
        /// What the store was doing.
        context: &'static str,
        /// The operating system's error.
        message: String,
        /// True when the disk is full.
        no_space: bool,
    },
    /// The data on disk is damaged beyond a torn tail.
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
    /// The data directory is in use by another process.
    #[error("data directory {0} is locked by another kevents process")]
    Locked(String),
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
    /// The event is larger than the store accepts; nothing was written.
    #[error("the event is {bytes} bytes encoded, more than the limit of {limit}")]
    TooLarge {
        /// Encoded size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// An expiry found the event already changed; nothing was done.
    #[error("skipped")]
    Skipped,
}

impl StoreError {
    pub(crate) fn io(context: &'static str, error: std::io::Error) -> StoreError {
        StoreError::Io {
            context,
            no_space: error.kind() == std::io::ErrorKind::StorageFull,
            message: error.to_string(),
        }
    }
}
