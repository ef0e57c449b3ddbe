//! What every handler can reach: the store, the settings and the shared state of the API's
//! parts, and the target a request addresses.

use crate::admission::Admission;
use crate::auth::Security;
use crate::clusters::ClusterRegistry;
use crate::metrics::ApiMetrics;
use crate::series::SeriesState;
use crate::served::ServedObjects;
use kevents_model::ApiGroup;
use kevents_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the API layer.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest accepted request body (the apiserver's default is 3 MiB).
    pub max_body_bytes: usize,
    /// How often a watch that allows bookmarks gets one.
    pub bookmark_interval: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 3 * 1024 * 1024,
            bookmark_interval: Duration::from_secs(60),
        }
    }
}

/// What every handler can reach. The router holds it behind one [`SharedState`], so a request
/// clones one `Arc` rather than each of these fields.
#[derive(Clone)]
pub struct AppState {
    /// The event store.
    pub store: Store,
    /// API settings.
    pub config: Arc<ApiConfig>,
    /// Becomes `true` when the server shuts down; open watches end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The API's own metrics.
    pub metrics: ApiMetrics,
    /// Authentication, authorization, limits and audit.
    pub security: Arc<Security>,
    /// Collected clusters: ingest cursors, lag and contact times.
    pub clusters: Arc<ClusterRegistry>,
    /// Series and patterns derived from the stored events.
    pub series: Arc<SeriesState>,
    /// Rate limits, dedup and storm folding of writes.
    pub admission: Arc<Admission>,
    /// `triggerruns`: one per firing of a trigger, kept by the trigger engine.
    pub trigger_runs: Arc<ServedObjects>,
    /// `triggers`: the loaded triggers and their kill switches, kept by the trigger engine.
    pub triggers: Arc<ServedObjects>,
    /// `alerts`: the rule engine's pending, firing and recently resolved alerts (read-only).
    pub alerts: Arc<ServedObjects>,
}

impl AppState {
    /// A hub over `store` with default settings, no authentication, clusters kept in memory,
    /// unfed series and no write-time correlation: what tests and benchmarks serve; override
    /// fields with struct update syntax.
    pub fn new(store: Store, shutdown: tokio::sync::watch::Receiver<bool>) -> AppState {
        AppState {
            store,
            config: Arc::new(ApiConfig::default()),
            shutdown,
            metrics: ApiMetrics::default(),
            security: Default::default(),
            clusters: Arc::new(ClusterRegistry::in_memory()),
            series: Default::default(),
            admission: Default::default(),
            trigger_runs: Default::default(),
            triggers: Default::default(),
            alerts: Default::default(),
        }
    }

    /// Waits until the series (and the anomalies found in them) reflect every change the
    /// store has committed; a `503` with Retry-After while they are rebuilt after a start.
    pub(crate) async fn series_caught_up(&self) -> Result<(), crate::error::ApiError> {
        self.series.caught_up(self.store.resource_version()).await
    }
}

/// The router's state: every handler and middleware of a request shares one [`AppState`].
pub(crate) type SharedState = Arc<AppState>;

/// The target of a request: API group, cluster scope, namespace and name from the path.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub group: ApiGroup,
    /// The collected cluster of a `/clusters/{name}/…` request (`""`: the hub's own events);
    /// `None` at the root, which reads every cluster and writes the hub's own.
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl Target {
    /// The cluster a write or a single-object read addresses.
    pub fn write_cluster(&self) -> &str {
        self.cluster.as_deref().unwrap_or("")
    }
}
