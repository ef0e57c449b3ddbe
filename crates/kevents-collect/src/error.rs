//! Why collection stops.

use kevents_http::hub::HubError;

/// Why collection stopped.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The hub client could not be built.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// A cluster's client could not be built from its configuration.
    #[error("cluster {cluster:?}: {message}")]
    Client {
        /// The cluster.
        cluster: String,
        /// What failed.
        message: String,
    },
    /// A cluster's watcher ended, which kube-rs's watcher never does on its own.
    #[error("cluster {0:?}: the watch stopped")]
    WatcherStopped(String),
    /// The cluster name is the hub's own (`kevents serve --cluster-name`).
    #[error("cluster {0:?} is the hub's own cluster name (its --cluster-name): collect it under another name with --cluster-name")]
    OwnCluster(String),
    /// A collector task panicked.
    #[error("a collector task failed: {0}")]
    Task(String),
    /// No cluster to collect from.
    #[error("no cluster to collect from")]
    NoSources,
}
