//! `kevents-collect`: watches the Events of one or more Kubernetes clusters with kube-rs and
//! writes them into a kevents hub, exactly once.
//!
//! Exactly once rests on two things the hub provides: an idempotent upsert keyed by
//! (cluster, namespace, name) that applies a source object only if its resourceVersion is newer
//! than the one held, and a durable per-cluster cursor ("every source change up to this
//! resourceVersion is applied"), stored after the events it covers. The collector keeps no state
//! of its own: on start it reads the cursor, lists the cluster and sends whatever the cursor
//! does not cover, then follows the watch. A crash, a relist after `410 Expired` or a lost answer
//! only ever resends versions the hub then skips.
#![warn(missing_docs)]

pub mod backoff;
pub mod batch;
mod collector;
mod error;
pub mod gap;
pub mod ingest;
pub mod metrics;
mod refusal;
mod settings;
pub mod sources;

pub use batch::BatchLimits;
pub use error::CollectError;
pub use metrics::CollectorMetrics;
pub use settings::Settings;
pub use sources::{Selection, Source, SourceError, SourceOptions};

use kevents_http::hub::{HubClient, HubOptions};
use std::future::Future;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Everything a collector run needs.
#[derive(Clone)]
pub struct CollectConfig {
    /// The clusters to collect from.
    pub sources: Vec<Source>,
    /// The hub to write into.
    pub hub: HubOptions,
    /// Loop tuning.
    pub settings: Settings,
    /// Where the per-cluster metrics go.
    pub metrics: CollectorMetrics,
}

/// Collects every source into the hub until `shutdown` resolves. Returns early with an error if
/// one cluster's collector cannot run; the others are stopped then.
pub async fn run(
    config: CollectConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), CollectError> {
    if config.sources.is_empty() {
        return Err(CollectError::NoSources);
    }
    let hub = HubClient::new(&config.hub)?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for source in config.sources {
        let metrics = config.metrics.cluster(&source.name);
        tasks.spawn(collector::collect(
            source,
            hub.clone(),
            config.settings,
            metrics,
            stopped.clone(),
        ));
    }
    let mut shutdown = std::pin::pin!(shutdown);
    let outcome = tokio::select! {
        _ = &mut shutdown => Ok(()),
        Some(joined) = tasks.join_next() => flatten(joined),
    };
    let _ = stop.send(true);
    let mut result = outcome;
    while let Some(joined) = tasks.join_next().await {
        if let (Ok(()), Err(e)) = (&result, flatten(joined)) {
            result = Err(e);
        }
    }
    result
}

fn flatten(
    joined: Result<Result<(), CollectError>, tokio::task::JoinError>,
) -> Result<(), CollectError> {
    joined.map_err(|e| CollectError::Task(e.to_string()))?
}
