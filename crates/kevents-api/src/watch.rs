//! Watch streams: newline-delimited JSON events, from a version or from the current state,
//! with selector transitions, bookmarks, timeouts, and a clean end on shutdown.

use crate::error::ApiError;
use crate::error::Reply;
use crate::filter::Filter;
use crate::negotiate::Representation;
use crate::query::IncludeObject;
use crate::state::SharedState;
use crate::table::{Row, Table};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use futures::FutureExt;
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord, Micros};
use kevents_store::{Change, ChangeType, WatchFrom};
use serde_json::json;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

/// Chunks buffered per watcher before the sender waits on a slow client (at most 128 KiB).
const STREAM_BUFFER: usize = 4;

/// A chunk of several lines stops growing past this size: chunks are copies (a single line is
/// sent as it is, often shared between watchers), and a slow client holds up to
/// `STREAM_BUFFER` of them.
const MAX_CHUNK_BYTES: usize = 32 * 1024;

/// Lines handed to the response together: for a burst of changes, one channel send, one
/// wake-up and one write instead of one each per line.
#[derive(Default)]
struct Chunk {
    lines: Vec<Bytes>,
    len: usize,
}

impl Chunk {
    fn push(&mut self, line: Bytes) {
        self.len += line.len();
        self.lines.push(line);
    }

    fn into_bytes(mut self) -> Option<Bytes> {
        if self.lines.len() <= 1 {
            return self.lines.pop();
        }
        let mut joined = Vec::with_capacity(self.len);
        for line in &self.lines {
            joined.extend_from_slice(line);
        }
        Some(Bytes::from(joined))
    }
}

/// One line of a watch stream.
#[derive(serde::Serialize)]
struct WatchEvent<'a, T> {
    #[serde(rename = "type")]
    kind: &'a str,
    object: T,
}

struct Encoder {
    group: ApiGroup,
    representation: Representation,
    include: IncludeObject,
    columns_sent: bool,
    cluster_column: Option<String>,
}

impl Encoder {
    fn event(&mut self, kind: &str, event: &EventRecord) -> Bytes {
        let mut line = match self.representation {
            // Watch streams are JSON lines; YAML has no stream form (as upstream).
            Representation::Json | Representation::Yaml => serde_json::to_vec(&WatchEvent {
                kind,
                object: EventView::new(event, self.group),
            }),
            Representation::Table => {
                let table = Table {
                    rows: vec![Row {
                        event,
                        group: self.group,
                        include: self.include,
                        now: Micros::now(),
                        cluster_column: self.cluster_column.as_deref(),
                    }],
                    metadata: json!({"resourceVersion": event.resource_version.to_string()}),
                    with_columns: !self.columns_sent,
                    cluster_column: self.cluster_column.is_some(),
                };
                self.columns_sent = true;
                serde_json::to_vec(&WatchEvent {
                    kind,
                    object: table,
                })
            }
        }
        .expect("watch events always serialize");
        line.push(b'\n');
        Bytes::from(line)
    }

    fn bookmark(&self, resource_version: u64, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": resource_version.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let line = json!({
            "type": "BOOKMARK",
            "object": {"kind": "Event", "apiVersion": self.group.api_version(), "metadata": metadata},
        });
        let mut bytes = serde_json::to_vec(&line).expect("bookmarks always serialize");
        bytes.push(b'\n');
        Bytes::from(bytes)
    }
}

fn error_line(error: &ApiError) -> Bytes {
    let mut bytes = serde_json::to_vec(&json!({"type": "ERROR", "object": error.to_status()}))
        .expect("Status always serializes");
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// Encoded watch lines of recent changes, shared by every watcher in the process, so that a
/// change is serialized once per API group rather than once per watcher (with a thousand
/// watchers, serialization was most of the cost of a change). Entries hold their change, so a
/// change's address identifies it for as long as it is here.
struct SharedLines {
    lines: Option<std::collections::HashMap<(usize, ApiGroup), Bytes>>,
    /// Oldest first, for eviction; holds the changes so their addresses stay theirs, with the
    /// bytes each entry keeps alive.
    order: std::collections::VecDeque<(Arc<Change>, ApiGroup, usize)>,
    /// Bytes the entries keep alive: their lines and their changes' events.
    bytes: usize,
}

/// Lines kept; watchers within about this many changes of the newest share them.
const SHARED_LINES: usize = 8192;

/// Most bytes the shared lines keep alive (lines and the events of their changes): 8,192
/// changes of large events would otherwise hold gigabytes. The newest line is always kept.
const SHARED_LINES_BYTES: usize = 64 << 20;

static LINES: parking_lot::Mutex<SharedLines> = parking_lot::Mutex::new(SharedLines {
    lines: None,
    order: std::collections::VecDeque::new(),
    bytes: 0,
});

/// Bytes an entry of the shared lines keeps alive.
fn shared_bytes(change: &Change, line: &Bytes) -> usize {
    let previous = change
        .previous
        .as_ref()
        .map_or(0, |p| p.record.approximate_bytes());
    line.len() + change.object.record.approximate_bytes() + previous
}

/// The JSON line of `change` as `group` shows it, encoded by `encode` the first time.
fn shared_line(change: &Arc<Change>, group: ApiGroup, encode: impl FnOnce() -> Bytes) -> Bytes {
    let key = (Arc::as_ptr(change) as usize, group);
    if let Some(line) = LINES.lock().lines.as_ref().and_then(|l| l.get(&key)) {
        return line.clone();
    }
    let line = encode();
    let mut shared = LINES.lock();
    let SharedLines {
        lines,
        order,
        bytes,
    } = &mut *shared;
    let lines = lines.get_or_insert_with(Default::default);
    if lines.insert(key, line.clone()).is_none() {
        let held = shared_bytes(change, &line);
        *bytes += held;
        order.push_back((change.clone(), group, held));
    }
    while order.len() > SHARED_LINES || (*bytes > SHARED_LINES_BYTES && order.len() > 1) {
        if let Some((old, old_group, held)) = order.pop_front() {
            lines.remove(&(Arc::as_ptr(&old) as usize, old_group));
            *bytes -= held;
        }
    }
    line
}

/// How a change looks to a watcher with a filter: selector transitions become ADDED/DELETED.
/// The flag is true when the line is the change as it happened (the same for every watcher).
fn visible(
    change: &Change,
    filter: &Filter,
) -> Option<(&'static str, Arc<kevents_store::StoredEvent>, bool)> {
    let now_matches = filter.matches(&change.object.record);
    let was_matching = change
        .previous
        .as_ref()
        .is_some_and(|p| filter.matches(&p.record));
    let (kind, object, natural) = match change.change_type {
        ChangeType::Added if now_matches => ("ADDED", change.object.clone(), true),
        ChangeType::Deleted if was_matching => ("DELETED", change.object.clone(), true),
        ChangeType::Modified => match (was_matching, now_matches) {
            (true, true) => ("MODIFIED", change.object.clone(), true),
            (false, true) => ("ADDED", change.object.clone(), false),
            // Like etcd's watcher: the last state that matched, at the change's version.
            (true, false) => {
                let previous = change.previous.as_ref()?;
                let mut last = (**previous).clone();
                last.record.resource_version = change.resource_version;
                ("DELETED", Arc::new(last), false)
            }
            (false, false) => return None,
        },
        _ => return None,
    };
    Some((kind, object, natural))
}

/// One watcher's stream: sends what the subscription yields until the client goes away.
struct Stream {
    sender: mpsc::Sender<Bytes>,
    encoder: Encoder,
    filter: Filter,
    bookmark_interval: Duration,
}

impl Stream {
    async fn send(&self, line: Bytes) -> Result<(), ()> {
        self.sender.send(line).await.map_err(|_| ())
    }

    /// The line for a change this watcher sees, shared with other watchers when it is the
    /// change as it happened in plain JSON.
    fn line(&mut self, change: &Arc<Change>) -> Option<Bytes> {
        let (kind, object, natural) = visible(change, &self.filter)?;
        if natural && self.encoder.representation == Representation::Json {
            let group = self.encoder.group;
            let encoder = &mut self.encoder;
            return Some(shared_line(change, group, || {
                encoder.event(kind, &object.record)
            }));
        }
        Some(self.encoder.event(kind, &object.record))
    }

    /// Adds the line of `change` (if this watcher sees it and has not yet) to `chunk`.
    fn take(&mut self, change: &Arc<Change>, last_rv: &mut u64, chunk: &mut Chunk) {
        if change.resource_version <= *last_rv {
            return;
        }
        *last_rv = change.resource_version;
        if let Some(line) = self.line(change) {
            chunk.push(line);
        }
    }

    /// Streams `subscription`, skipping changes up to `seen_through` (a version the client
    /// named, possibly ahead of the store's).
    async fn run(
        mut self,
        subscription: kevents_store::Subscription,
        seen_through: u64,
    ) -> Result<(), ()> {
        let options = &self.filter.options;
        let bookmarks = options.allow_bookmarks;
        let initial_end_bookmark = bookmarks && options.send_initial_events == Some(true);
        let mut last_rv = subscription.resource_version.max(seen_through);
        for event in &subscription.initial {
            if self.filter.matches(&event.record) {
                let line = self.encoder.event("ADDED", &event.record);
                self.send(line).await?;
            }
        }
        if initial_end_bookmark {
            self.send(self.encoder.bookmark(last_rv, true)).await?;
        }
        for change in &subscription.backlog {
            // Only a version ahead of the store's when the watch began skips any.
            if change.resource_version <= seen_through {
                continue;
            }
            last_rv = change.resource_version;
            if let Some(line) = self.line(change) {
                self.send(line).await?;
            }
        }
        let mut live = subscription.live;
        let interval = self.bookmark_interval;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            tokio::select! {
                received = live.recv() => match received {
                    Ok(change) => {
                        // Changes committed together arrive together: what is already queued
                        // goes out as one chunk (one wake-up and one write per burst, not per
                        // change).
                        let mut chunk = Chunk::default();
                        self.take(&change, &mut last_rv, &mut chunk);
                        let mut ended = None;
                        while chunk.len < MAX_CHUNK_BYTES {
                            match live.try_recv() {
                                Ok(change) => self.take(&change, &mut last_rv, &mut chunk),
                                Err(broadcast::error::TryRecvError::Empty) => break,
                                Err(broadcast::error::TryRecvError::Lagged(_)) => {
                                    ended = Some(Err(()));
                                    break;
                                }
                                Err(broadcast::error::TryRecvError::Closed) => {
                                    ended = Some(Ok(()));
                                    break;
                                }
                            }
                        }
                        if let Some(bytes) = chunk.into_bytes() {
                            self.send(bytes).await?;
                        }
                        if let Some(ended) = ended {
                            if ended.is_err() {
                                tracing::debug!("dropping a watcher that fell behind");
                            }
                            return ended;
                        }
                    }
                    // Too slow to keep up: end the stream; the client resumes from the last
                    // version it saw, which the history still holds.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        tracing::debug!("dropping a watcher that fell behind");
                        return Err(());
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                _ = ticker.tick(), if bookmarks => {
                    // Current up to the store's version once nothing is waiting, even when
                    // the changes since were outside this watch (a resume from the bookmark
                    // then stays inside the retained history).
                    if let Some(current) = live.caught_up() {
                        last_rv = last_rv.max(current);
                    }
                    self.send(self.encoder.bookmark(last_rv, false)).await?;
                }
                _ = self.sender.closed() => return Ok(()),
            }
        }
    }
}

/// Resolves when the server starts shutting down (never, if the signal's sender is gone).
pub(crate) async fn stopping(mut shutdown: tokio::sync::watch::Receiver<bool>) {
    if shutdown.wait_for(|stopping| *stopping).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Starts a watch response.
pub fn start(
    state: SharedState,
    group: ApiGroup,
    filter: Filter,
    representation: Representation,
) -> Reply {
    let options = &filter.options;
    let send_initial = options
        .send_initial_events
        .unwrap_or(matches!(options.resource_version_number, None | Some(0)));
    let current = state.store.resource_version();
    let requested = options.resource_version_number.unwrap_or(0);
    // Like the apiserver's watch cache: initial events at a version the store has not reached
    // are a 504 (it waits 3 s first); a plain watch from such a version is accepted and sees
    // only the changes after it.
    if send_initial && requested > current {
        return Err(ApiError::too_large_resource_version(requested, current));
    }
    let from = match (send_initial, requested) {
        (true, _) => WatchFrom::InitialState,
        (false, rv) if rv > current => WatchFrom::After(current),
        (false, rv) if rv > 0 => WatchFrom::After(rv),
        // "0" without initial events: from any point, so from now.
        (false, _) => WatchFrom::After(current),
    };
    let seen_through = if send_initial { 0 } else { requested };
    let encoder = Encoder {
        group,
        representation,
        include: options.include_object,
        columns_sent: false,
        cluster_column: crate::clusters::cluster_column(&state),
    };
    let (sender, receiver) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    let scan = filter.scan_scope();
    match state.store.subscribe(from, scan.as_scope()) {
        Err(too_old) => {
            // Like the apiserver: a 200 stream whose only event is a 410 Expired error.
            let line = error_line(&ApiError::expired(too_old.to_string()));
            tokio::spawn(async move {
                let _ = sender.send(line).await;
            });
        }
        Ok(subscription) => {
            let timeout = options
                .timeout_seconds
                .filter(|seconds| *seconds > 0)
                .map(Duration::from_secs);
            let stream = Stream {
                sender,
                encoder,
                filter,
                bookmark_interval: state.config.bookmark_interval,
            };
            let stop = stopping(state.shutdown.clone());
            let watchers = state.metrics.watchers.clone();
            let panics = state.metrics.clone();
            // Ending on timeout or shutdown drops the stream, even mid-send to a client that
            // stopped reading.
            tokio::spawn(async move {
                watchers.inc();
                let deadline = async move {
                    match timeout {
                        Some(t) => tokio::time::sleep(t).await,
                        None => std::future::pending().await,
                    }
                };
                let run = AssertUnwindSafe(stream.run(subscription, seen_through)).catch_unwind();
                tokio::select! {
                    ran = run => if ran.is_err() {
                        panics.handler_panicked();
                    },
                    _ = deadline => {}
                    _ = stop => {}
                }
                watchers.dec();
            });
        }
    }
    let stream = ReceiverStream::new(receiver);
    let body = Body::from_stream(futures::StreamExt::map(stream, Ok::<Bytes, std::io::Error>));
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(response)
}

#[cfg(test)]
#[path = "watch_tests.rs"]
mod tests;
