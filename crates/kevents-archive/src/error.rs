//! The archive's error.

use crate::table::TableError;

/// An archive that cannot be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A setting is wrong.
    #[error("archive: {0}")]
    Config(String),
    /// The object store failed.
    #[error("{url}: {object}: {source}")]
    Store {
        /// The archive's URL.
        url: String,
        /// The object, relative to the archive.
        object: String,
        /// What the store said.
        source: object_store::Error,
    },
    /// Rows could not be encoded.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The archive holds something this kevents cannot read.
    #[error("damaged archive: {0}")]
    Corrupt(String),
}

impl ArchiveError {
    pub(crate) fn store(url: &str, object: &str, source: object_store::Error) -> ArchiveError {
        ArchiveError::Store {
            url: url.to_string(),
            object: object.to_string(),
            source,
        }
    }
}
