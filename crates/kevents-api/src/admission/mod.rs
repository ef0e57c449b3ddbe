//! What happens to an event write before it is stored, beyond validation: the EventRateLimit
//! admission plugin's token buckets (`429 TooManyRequests` with `Retry-After`), server-side
//! dedup (`--dedupe=identical|similar`: a create becomes a count increment of an existing
//! event) and storm folding (a series' occurrences past a per-minute threshold go into one
//! aggregate record). All off unless configured.

mod decisions;
mod fold;
pub(crate) mod task;

use crate::error::ApiError;
use crate::guaranteed::increment;
use crate::series::SeriesState;
use axum::http::StatusCode;
use decisions::Decisions;
use kevents_correlate::dedupe::{apply_increment, DedupeConfig, DedupeDecision, Deduplicator};
use kevents_correlate::fold::FoldConfig;
use kevents_correlate::ratelimit::{RateLimitConfig, RateLimitRequest, RateLimiter};
use kevents_correlate::EventRef;
use kevents_model::{ApiGroup, EventKey, EventRecord, Micros};
use kevents_store::Store;
use parking_lot::Mutex;
use prometheus_client::registry::Registry;

/// Settings of the write-time correlation.
#[derive(Clone, Debug, Default)]
pub struct AdmissionConfig {
    /// EventRateLimit limits, when configured.
    pub rate_limit: Option<RateLimitConfig>,
    /// Server-side dedup.
    pub dedupe: DedupeConfig,
    /// Storm folding, when on.
    pub fold: Option<FoldConfig>,
}

/// The write-time correlation state, shared by every write.
#[derive(Default)]
pub struct Admission {
    rate_limiter: Option<Mutex<RateLimiter>>,
    dedupe: Option<Mutex<Deduplicator>>,
    folding: Option<Mutex<fold::Folding>>,
    decisions: Decisions,
}

/// What a create becomes.
pub(crate) enum Outcome {
    /// Store `record` (possibly changed), then report it with [`Admission::stored`].
    Store(
        Box<EventRecord>,
        Option<kevents_correlate::dedupe::DedupeKey>,
    ),
    /// Already handled: answer with this event (an existing one, counted up).
    Answered(Box<EventRecord>),
}

impl Admission {
    /// The state for `config`.
    pub fn new(config: AdmissionConfig) -> Admission {
        Admission {
            rate_limiter: config
                .rate_limit
                .as_ref()
                .map(|c| Mutex::new(RateLimiter::new(c))),
            dedupe: (config.dedupe.mode != kevents_correlate::dedupe::DedupeMode::Off)
                .then(|| Mutex::new(Deduplicator::new(config.dedupe))),
            folding: config.fold.map(|c| Mutex::new(fold::Folding::new(c))),
            decisions: Decisions::default(),
        }
    }

    /// Registers `kevents_correlation_decisions_total{decision}`.
    pub fn register(&self, registry: &mut Registry) {
        self.decisions.register(registry);
    }

    /// Event writes EventRateLimit refused (`429`) so far.
    pub fn rate_limited(&self) -> u64 {
        self.decisions.get("rate_limited")
    }

    /// Charges a write of `event` by `user` to the EventRateLimit buckets.
    pub(crate) fn check_rate(&self, event: &EventRecord, user: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.rate_limiter else {
            return Ok(());
        };
        let request = RateLimitRequest {
            cluster: &event.cluster,
            namespace: &event.namespace,
            user,
            event,
        };
        let refused = limiter.lock().check(&request, std::time::Instant::now());
        refused.map_err(|refused| {
            self.decisions.count("rate_limited");
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                format!("Too many requests: {refused}"),
            )
            .with_details(serde_json::json!({"retryAfterSeconds": refused.retry_after_seconds}))
        })
    }

    /// Decides what a create of `record` becomes, performing counting writes itself.
    pub(crate) async fn create(
        &self,
        store: &Store,
        series: &SeriesState,
        group: ApiGroup,
        mut record: EventRecord,
    ) -> Result<Outcome, ApiError> {
        let now = Micros::now();
        let mut dedupe_key = None;
        if let Some(dedupe) = &self.dedupe {
            let decision = dedupe.lock().decide(&record.cluster, &record, now);
            match decision {
                DedupeDecision::Create { key } => dedupe_key = Some(key),
                DedupeDecision::CreateCombined { key, message } => {
                    self.decisions.count("combined");
                    record.message = message;
                    dedupe_key = Some(key);
                }
                DedupeDecision::Increment {
                    key,
                    target,
                    add,
                    message,
                } => {
                    let target =
                        EventKey::in_cluster(&record.cluster, target.namespace, target.name);
                    let incremented = increment(store, group, &target, |held| {
                        apply_increment(held, add, now, message.as_deref())
                    })
                    .await?;
                    match incremented {
                        Some(event) => {
                            self.decisions.count("deduplicated");
                            return Ok(Outcome::Answered(Box::new(event)));
                        }
                        None => {
                            dedupe.lock().forget(key);
                            dedupe_key = Some(key);
                        }
                    }
                }
            }
        }
        if let Some(folding) = &self.folding {
            let series = series.series_id(&record.cluster, &record);
            if let Some(answer) =
                fold::offer(&self.decisions, folding, store, group, &record, series, now).await?
            {
                return Ok(Outcome::Answered(Box::new(answer)));
            }
        }
        Ok(Outcome::Store(Box::new(record), dedupe_key))
    }

    /// Reports a create that was stored, so later identical ones count on it.
    pub(crate) fn stored(
        &self,
        key: Option<kevents_correlate::dedupe::DedupeKey>,
        event: &EventRecord,
    ) {
        if let (Some(dedupe), Some(key)) = (&self.dedupe, key) {
            dedupe
                .lock()
                .created(key, EventRef::of(event), Micros::now());
        }
    }
}
