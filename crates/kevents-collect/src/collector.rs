//! One cluster's collector: a watcher task feeding a bounded queue, and a sender that batches
//! what it reads, writes batches into the hub in order and retries a failed batch until the hub
//! takes it. While a batch is being retried nothing is read from the queue, so the watcher
//! waits once the queue is full: memory stays bounded however long the hub is down.

use crate::backoff::Backoff;
use crate::batch::{Accepted, Batch, Batcher, Observation};
use crate::gap::{last_update, ListTracker};
use crate::ingest::{ingest, IngestAnswer};
use crate::metrics::ClusterMetrics;
use crate::sources::Source;
use crate::{CollectError, Settings};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kevents_http::hub::HubClient;
use kevents_model::Micros;
use kube::api::{Api, ApiResource, DynamicObject, TypeMeta};
use kube::runtime::{watcher, WatchStreamExt};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Collects one cluster until `shutdown` turns true.
pub(crate) async fn collect(
    source: Source,
    hub: HubClient,
    settings: Settings,
    metrics: ClusterMetrics,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), CollectError> {
    let cluster = source.name.clone();
    let client = kube::Client::try_from(source.config).map_err(|e| CollectError::Client {
        cluster: cluster.clone(),
        message: e.to_string(),
    })?;
    let mut rng = StdRng::from_os_rng();
    let Some((acknowledged, last_contact)) =
        hub_cursor(&hub, &cluster, &settings, &mut rng, &mut shutdown).await?
    else {
        return Ok(());
    };
    if let Some(cursor) = acknowledged {
        metrics
            .cursor
            .set(i64::try_from(cursor).unwrap_or(i64::MAX));
    }
    tracing::info!(%cluster, context = ?source.context, hub = hub.url(), cursor = ?acknowledged, "collecting events");
    let (sender, receiver) = mpsc::channel(settings.queue.max(1));
    let watch_task = tokio::spawn(watch_events(
        client,
        sender,
        metrics.clone(),
        cluster.clone(),
        ListTracker::new(last_contact),
    ));
    let lag = Arc::new(Lag::default());
    let lag_task = tokio::spawn(report_lag(lag.clone(), metrics.lag.clone()));
    let mut pipeline = Pipeline {
        batcher: Batcher::new(settings.limits, acknowledged),
        backoff: Backoff::new(settings.retry_initial, settings.retry_cap),
        heartbeat_at: Instant::now() + settings.heartbeat,
        cluster,
        hub,
        settings,
        metrics,
        lag,
        rng,
    };
    let result = pipeline.run(receiver, &mut shutdown).await;
    watch_task.abort();
    lag_task.abort();
    pipeline.metrics.lag.set(0.0);
    result
}

/// The cursor the hub holds for the cluster and when it last heard from a collector of it,
/// asked until the hub answers; `None` on shutdown.
async fn hub_cursor(
    hub: &HubClient,
    cluster: &str,
    settings: &Settings,
    rng: &mut StdRng,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<Option<(Option<u64>, Option<Micros>)>, CollectError> {
    let mut backoff = Backoff::new(settings.retry_initial, settings.retry_cap);
    loop {
        match hub.cluster(cluster).await {
            Ok(Some(status)) if status.own => {
                return Err(CollectError::OwnCluster(cluster.to_string()))
            }
            // An unreadable cursor only costs a full resend, which the hub deduplicates.
            Ok(status) => {
                let cursor = status
                    .as_ref()
                    .and_then(|s| s.cursor.as_ref()?.parse().ok());
                let contact = status.and_then(|s| Micros::parse(s.last_contact.as_deref()?));
                return Ok(Some((cursor, contact)));
            }
            Err(e) => {
                let delay = backoff.next_delay(rng);
                tracing::warn!(%cluster, error = %e, retry_in = ?delay, "reading the cluster's cursor from the hub");
                tokio::select! {
                    _ = stopped(shutdown) => return Ok(None),
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Resolves once shutdown was asked for (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// Watches core/v1 Events in all namespaces and queues what it sees. The watcher relists by
/// itself after `410 Expired` or a broken watch; replays are harmless downstream. Each list's
/// report (and the span the source forgot before it, if any) follows the list.
async fn watch_events(
    client: kube::Client,
    sender: mpsc::Sender<Observation>,
    metrics: ClusterMetrics,
    cluster: String,
    mut lists: ListTracker,
) {
    let resource = ApiResource::erase::<Event>(&());
    // Dynamic objects keep every field as the source sent it, known to k8s-openapi or not.
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    let mut stream = std::pin::pin!(stream);
    while let Some(next) = stream.next().await {
        let observation = match next {
            Ok(watcher::Event::Init) => {
                metrics.relists.inc();
                lists.list_started();
                Observation::ListStarted
            }
            Ok(watcher::Event::InitApply(object)) => {
                lists.listed(last_update(&object.data).or_else(|| {
                    object
                        .metadata
                        .creation_timestamp
                        .as_ref()
                        .map(|t| Micros::from_jiff(t.0))
                }));
                observed(object, true)
            }
            Ok(watcher::Event::InitDone) => {
                tracing::debug!(%cluster, "list complete");
                if sender.send(Observation::ListDone).await.is_err() {
                    return;
                }
                match lists.list_done(Micros::now()) {
                    Some(report) => {
                        if let Some(gap) = report.gap {
                            tracing::warn!(%cluster, from = %gap.from.to_time_string(), to = %gap.to.to_time_string(), lost_events = gap.lost_events, "the cluster forgot events before the collector saw them (away longer than its --event-ttl)");
                        }
                        Observation::Listed(report)
                    }
                    None => continue,
                }
            }
            Ok(watcher::Event::Apply(object)) => {
                lists.watched(Micros::now());
                observed(object, false)
            }
            // The source deleting an event (its --event-ttl) is not mirrored: the hub is the
            // long-term history and expires events under its own TTL.
            Ok(watcher::Event::Delete(_)) => {
                lists.watched(Micros::now());
                continue;
            }
            Err(e) => {
                metrics.watch_errors.inc();
                // A refusal does not pass by itself, but fixing the RBAC or the credentials
                // resumes collection without a restart, so it is retried like the rest.
                match crate::refusal::refusal(&e) {
                    Some(message) => tracing::error!(%cluster, "{message}; retrying"),
                    None => tracing::warn!(%cluster, error = %e, "watching events (retrying)"),
                }
                continue;
            }
        };
        if sender.send(observation).await.is_err() {
            return;
        }
    }
}

fn observed(mut object: DynamicObject, listed: bool) -> Observation {
    let resource_version = object
        .metadata
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok());
    // Listed items carry no apiVersion/kind; the hub decodes a complete core/v1 Event.
    object.types = Some(TypeMeta {
        api_version: "v1".into(),
        kind: "Event".into(),
    });
    let json = serde_json::to_vec(&object).expect("a decoded JSON object encodes again");
    Observation::Event {
        json,
        resource_version,
        listed,
        received: Instant::now(),
    }
}

/// When the oldest event not yet acknowledged by the hub was received.
#[derive(Default)]
struct Lag {
    oldest: Mutex<Option<Instant>>,
}

impl Lag {
    fn set(&self, oldest: Option<Instant>) {
        *self.oldest.lock().unwrap_or_else(|e| e.into_inner()) = oldest;
    }

    fn seconds(&self) -> f64 {
        let oldest = *self.oldest.lock().unwrap_or_else(|e| e.into_inner());
        oldest.map_or(0.0, |t| t.elapsed().as_secs_f64())
    }
}

/// Keeps the lag gauge moving while the sender is blocked on a hub that does not answer.
async fn report_lag(
    lag: Arc<Lag>,
    gauge: prometheus_client::metrics::gauge::Gauge<f64, std::sync::atomic::AtomicU64>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        gauge.set(lag.seconds());
    }
}

struct Pipeline {
    cluster: String,
    hub: HubClient,
    settings: Settings,
    metrics: ClusterMetrics,
    batcher: Batcher,
    backoff: Backoff,
    lag: Arc<Lag>,
    rng: StdRng,
    heartbeat_at: Instant,
}

impl Pipeline {
    async fn run(
        &mut self,
        mut receiver: mpsc::Receiver<Observation>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), CollectError> {
        let mut flush_at: Option<Instant> = None;
        loop {
            let wake = flush_at.unwrap_or(self.heartbeat_at);
            let flush = tokio::select! {
                _ = stopped(shutdown) => return Ok(()),
                observation = receiver.recv() => {
                    let Some(observation) = observation else {
                        return Err(CollectError::WatcherStopped(self.cluster.clone()));
                    };
                    let is_event = matches!(observation, Observation::Event { .. });
                    let accepted = self.batcher.observe(observation);
                    self.lag.set(self.batcher.oldest_pending());
                    match accepted {
                        Accepted::Skipped => {
                            if is_event {
                                self.metrics.skipped.inc();
                            }
                            false
                        }
                        Accepted::Queued => {
                            flush_at.get_or_insert(Instant::now() + self.settings.linger);
                            false
                        }
                        Accepted::Full => true,
                    }
                }
                // Due: the pending batch waited long enough, or a heartbeat reports liveness.
                _ = tokio::time::sleep_until(wake.into()) => true,
            };
            if flush {
                flush_at = None;
                if !self.flush(shutdown).await {
                    return Ok(());
                }
            }
        }
    }

    /// Sends the pending batch; `false` if shut down meanwhile (the batch is not lost: the
    /// hub's cursor does not cover it, so the next start sends it again).
    ///
    /// A batch with events is retried until the hub takes it, and meanwhile nothing is read
    /// from the queue. A batch without events (a heartbeat, or a list's cursor) is tried once:
    /// on failure its cursor goes back to the batcher and the queue keeps being read, so events
    /// that arrive during the outage are counted in the lag.
    async fn flush(&mut self, shutdown: &mut watch::Receiver<bool>) -> bool {
        let batch = self.batcher.take();
        loop {
            let lag = batch.oldest.map_or(0.0, |t| t.elapsed().as_secs_f64());
            match ingest(&self.hub, &self.cluster, batch.body(lag)).await {
                Ok(answer) => {
                    self.acknowledged(&batch, &answer);
                    return true;
                }
                Err(e) => {
                    self.metrics.retried.inc();
                    let delay = self.backoff.next_delay(&mut self.rng);
                    if e.is_refusal() {
                        tracing::error!(cluster = %self.cluster, error = %e, retry_in = ?delay, events = batch.events.len(), "the hub refused a batch; retrying, nothing is dropped");
                    } else {
                        tracing::warn!(cluster = %self.cluster, error = %e, retry_in = ?delay, events = batch.events.len(), "sending a batch to the hub");
                    }
                    if batch.events.is_empty() {
                        self.batcher.requeue(&batch);
                        self.heartbeat_at = Instant::now() + delay;
                        return true;
                    }
                    self.lag.set(batch.oldest);
                    tokio::select! {
                        _ = stopped(shutdown) => return false,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    fn acknowledged(&mut self, batch: &Batch, answer: &IngestAnswer) {
        let stored = answer.cursor.as_deref().and_then(|c| c.parse().ok());
        self.batcher.acknowledge(batch, stored);
        if let Some(cursor) = self.batcher.acknowledged() {
            self.metrics
                .cursor
                .set(i64::try_from(cursor).unwrap_or(i64::MAX));
        }
        self.metrics.sent.inc_by(batch.events.len() as u64);
        self.metrics.batches.inc();
        self.metrics.rejected.inc_by(answer.errors.len() as u64);
        for refused in answer.errors.iter().take(5) {
            tracing::warn!(cluster = %self.cluster, index = refused.index, message = %refused.message, "the hub refused an event");
        }
        if self.backoff.failures() > 0 {
            tracing::info!(cluster = %self.cluster, failures = self.backoff.failures(), "the hub is reachable again");
        }
        self.backoff.reset();
        self.heartbeat_at = Instant::now() + self.settings.heartbeat;
        self.lag.set(self.batcher.oldest_pending());
    }
}
