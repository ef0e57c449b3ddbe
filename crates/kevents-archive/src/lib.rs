//! Tiered storage for kevents: event versions archived as Parquet objects in S3-compatible
//! object storage (or a local directory), partitioned by cluster and date, listed in a
//! manifest, readable by DuckDB and Spark, and read back for `kevents archive restore`.
//!
//! [`columns`] (and, with the `parquet` feature, [`table`]) is the one event table layout:
//! archive objects and `kevents export --format csv|parquet` use it.
#![warn(missing_docs)]

pub mod columns;
#[cfg(feature = "store")]
pub mod location;
#[cfg(feature = "store")]
pub mod manifest;
#[cfg(feature = "store")]
pub mod reader;
#[cfg(feature = "parquet")]
pub mod table;
#[cfg(feature = "store")]
pub mod writer;

#[cfg(feature = "store")]
pub use location::{ArchiveConfig, Location};
#[cfg(feature = "store")]
pub use writer::Archiver;

/// An archive that cannot be opened, written or read.
#[cfg(feature = "store")]
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
    Table(#[from] table::TableError),
    /// The archive holds something this kevents cannot read.
    #[error("damaged archive: {0}")]
    Corrupt(String),
}

#[cfg(feature = "store")]
impl ArchiveError {
    fn store(url: &str, object: &str, source: object_store::Error) -> ArchiveError {
        ArchiveError::Store {
            url: url.to_string(),
            object: object.to_string(),
            source,
        }
    }
}
