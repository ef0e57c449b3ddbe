//! Per-sink metrics, labelled `sink` (the name) and `sink_type`, registered into the hub's registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// The labels of every sink metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabels {
    /// The sink's name.
    pub sink: String,
    /// The sink's type (`elasticsearch`, `nats`, ...).
    pub sink_type: String,
}

/// The metric families shared by all sinks.
#[derive(Clone, Default)]
pub struct SinkMetrics {
    lag: Family<SinkLabels, Gauge<f64, AtomicU64>>,
    sent: Family<SinkLabels, Counter>,
    retried: Family<SinkLabels, Counter>,
    failed: Family<SinkLabels, Counter>,
    dead_lettered: Family<SinkLabels, Counter>,
    gaps: Family<SinkLabels, Counter>,
    cursor: Family<SinkLabels, Gauge>,
    held: Family<SinkLabels, Gauge>,
    held_bytes: Family<SinkLabels, Gauge>,
    sent_early: Family<SinkLabels, Counter>,
    /// Every sink's counters, for readers other than `/metrics` (`/doctor`).
    sinks: Arc<Mutex<Vec<(SinkLabels, SinkCounters)>>>,
}

impl SinkMetrics {
    /// Registers the families.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kevents_sink_lag_seconds",
            "Age of the oldest change not yet acknowledged by the sink (0 when caught up)",
            self.lag.clone(),
        );
        registry.register(
            "kevents_sink_events_sent",
            "Events the sink acknowledged",
            self.sent.clone(),
        );
        registry.register(
            "kevents_sink_events_retried",
            "Events sent again after a failed attempt",
            self.retried.clone(),
        );
        registry.register(
            "kevents_sink_events_failed",
            "Failed attempts to send an event (retried or dead-lettered)",
            self.failed.clone(),
        );
        registry.register(
            "kevents_sink_events_dead_lettered",
            "Events rejected for good and written to the dead-letter file",
            self.dead_lettered.clone(),
        );
        registry.register(
            "kevents_sink_gap",
            "Times the sink fell behind the retained history and caught up from current state",
            self.gaps.clone(),
        );
        registry.register(
            "kevents_sink_cursor_resource_version",
            "The resourceVersion up to which the sink has delivered everything",
            self.cursor.clone(),
        );
        registry.register(
            "kevents_sink_held_events",
            "Events held back by the update policy (summaries and finals not yet due)",
            self.held.clone(),
        );
        registry.register(
            "kevents_sink_held_bytes",
            "Bytes of the events held back by the update policy (bounded by maxHeldBytes)",
            self.held_bytes.clone(),
        );
        registry.register(
            "kevents_sink_events_sent_early",
            "Held events sent before they were due because maxHeld or maxHeldBytes was reached",
            self.sent_early.clone(),
        );
    }

    /// The metrics of one sink.
    pub fn for_sink(&self, sink: &str, kind: &str) -> SinkCounters {
        let labels = SinkLabels {
            sink: sink.to_string(),
            sink_type: kind.to_string(),
        };
        let counters = SinkCounters {
            lag: self.lag.get_or_create(&labels).clone(),
            sent: self.sent.get_or_create(&labels).clone(),
            retried: self.retried.get_or_create(&labels).clone(),
            failed: self.failed.get_or_create(&labels).clone(),
            dead_lettered: self.dead_lettered.get_or_create(&labels).clone(),
            gaps: self.gaps.get_or_create(&labels).clone(),
            cursor: self.cursor.get_or_create(&labels).clone(),
            held: self.held.get_or_create(&labels).clone(),
            held_bytes: self.held_bytes.get_or_create(&labels).clone(),
            sent_early: self.sent_early.get_or_create(&labels).clone(),
        };
        let mut sinks = self.sinks.lock().unwrap_or_else(|e| e.into_inner());
        sinks.retain(|(l, _)| *l != labels);
        sinks.push((labels, counters.clone()));
        counters
    }

    /// Every sink's labels and counters, in the order the sinks started.
    pub fn sinks(&self) -> Vec<(SinkLabels, SinkCounters)> {
        self.sinks.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// One sink's metrics.
#[derive(Clone, Debug, Default)]
pub struct SinkCounters {
    /// `kevents_sink_lag_seconds`.
    pub lag: Gauge<f64, AtomicU64>,
    /// `kevents_sink_events_sent_total`.
    pub sent: Counter,
    /// `kevents_sink_events_retried_total`.
    pub retried: Counter,
    /// `kevents_sink_events_failed_total`.
    pub failed: Counter,
    /// `kevents_sink_events_dead_lettered_total`.
    pub dead_lettered: Counter,
    /// `kevents_sink_gap_total`.
    pub gaps: Counter,
    /// `kevents_sink_cursor_resource_version`.
    pub cursor: Gauge,
    /// `kevents_sink_held_events`.
    pub held: Gauge,
    /// `kevents_sink_held_bytes`.
    pub held_bytes: Gauge,
    /// `kevents_sink_events_sent_early_total`.
    pub sent_early: Counter,
}
