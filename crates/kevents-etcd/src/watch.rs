//! The Watch service: one task per stream serves all of the stream's watches, so events,
//! cancellations and progress notifications leave in revision order. Each watch keeps the next
//! revision it owes; whenever the view's revision moves, every watch catches up from the
//! history (which also covers a watch created at an old revision).

use crate::keys::in_range;
use crate::proto::Event;
use crate::proto_stream::{WatchCreateRequest, WatchRequest, WatchRequestUnion, WatchResponse};
use crate::server::EtcdServer;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

/// The watch ID of a progress notification answering `WatchProgressRequest`.
const PROGRESS_WATCH_ID: i64 = -1;
/// `WatchCreateRequest.FilterType`.
const FILTER_NO_PUT: i32 = 0;
const FILTER_NO_DELETE: i32 = 1;

struct Watcher {
    key: Vec<u8>,
    range_end: Vec<u8>,
    next: i64,
    prev_kv: bool,
    filters: Vec<i32>,
    progress_notify: bool,
}

impl Watcher {
    fn wants(&self, event: &Event) -> bool {
        let key = event.kv.as_ref().map_or(&[][..], |kv| kv.key.as_slice());
        let filtered = match event.r#type {
            crate::proto::EVENT_PUT => self.filters.contains(&FILTER_NO_PUT),
            _ => self.filters.contains(&FILTER_NO_DELETE),
        };
        !filtered && in_range(key, &self.key, &self.range_end)
    }
}

/// One stream's watches.
struct Stream {
    server: Arc<EtcdServer>,
    watchers: BTreeMap<i64, Watcher>,
    next_id: i64,
    out: mpsc::Sender<Result<WatchResponse, Status>>,
}

/// Serves a Watch stream until the client closes it.
pub fn serve(
    server: Arc<EtcdServer>,
    requests: Streaming<WatchRequest>,
) -> ReceiverStream<Result<WatchResponse, Status>> {
    let (out, responses) = mpsc::channel(64);
    let stream = Stream {
        server,
        watchers: BTreeMap::new(),
        next_id: 0,
        out,
    };
    tokio::spawn(stream.run(requests));
    ReceiverStream::new(responses)
}

impl Stream {
    fn response(&self, watch_id: i64, revision: i64) -> WatchResponse {
        WatchResponse {
            header: Some(crate::config::header(revision)),
            watch_id,
            ..Default::default()
        }
    }

    async fn send(&self, response: WatchResponse) -> bool {
        self.out.send(Ok(response)).await.is_ok()
    }

    async fn run(mut self, mut requests: Streaming<WatchRequest>) {
        let mut revisions = self.server.revision.subscribe();
        let mut progress = tokio::time::interval(self.server.config.progress_interval);
        progress.tick().await;
        loop {
            let open = tokio::select! {
                request = requests.message() => match request {
                    Ok(Some(request)) => self.handle(request).await,
                    Ok(None) | Err(_) => false,
                },
                changed = revisions.changed() => changed.is_ok() && self.catch_up().await.is_some(),
                _ = progress.tick() => self.notify_progress().await,
                _ = self.out.closed() => false,
            };
            if !open {
                return;
            }
        }
    }

    async fn handle(&mut self, request: WatchRequest) -> bool {
        match request.request_union {
            Some(WatchRequestUnion::Create(create)) => self.create(create).await,
            Some(WatchRequestUnion::Cancel(cancel)) => {
                let revision = self.server.current_revision();
                if self.watchers.remove(&cancel.watch_id).is_none() {
                    return true;
                }
                let mut response = self.response(cancel.watch_id, revision);
                response.canceled = true;
                response.cancel_reason = "watch canceled by the client".into();
                self.send(response).await
            }
            Some(WatchRequestUnion::Progress(_)) => {
                // Every watch of the stream has delivered all changes up to the revision reported.
                match self.catch_up().await {
                    Some(revision) => self.send(self.response(PROGRESS_WATCH_ID, revision)).await,
                    None => false,
                }
            }
            None => true,
        }
    }

    async fn create(&mut self, create: WatchCreateRequest) -> bool {
        let revision = self.server.current_revision();
        let id = match create.watch_id {
            0 => {
                while self.watchers.contains_key(&self.next_id) {
                    self.next_id += 1;
                }
                self.next_id
            }
            id => id,
        };
        let mut response = self.response(id, revision);
        response.created = true;
        let refused = match self
            .server
            .policy
            .check_range(&create.key, &create.range_end)
        {
            Err(refused) => Some(refused.to_string()),
            Ok(()) if self.watchers.contains_key(&id) => Some(format!("watch ID {id} is in use")),
            Ok(()) => None,
        };
        if let Some(reason) = refused {
            response.canceled = true;
            response.cancel_reason = reason;
            return self.send(response).await;
        }
        self.watchers.insert(
            id,
            Watcher {
                next: match create.start_revision {
                    0 => revision + 1,
                    start => start,
                },
                key: create.key,
                range_end: create.range_end,
                prev_kv: create.prev_kv,
                filters: create.filters,
                progress_notify: create.progress_notify,
            },
        );
        self.send(response).await && self.catch_up().await.is_some()
    }

    /// Sends every watch the changes it is owed; cancels watches whose position was compacted.
    /// Returns the revision every watch has now delivered up to; `None` when the client left.
    async fn catch_up(&mut self) -> Option<i64> {
        let mut responses = Vec::new();
        let mut compacted = Vec::new();
        let revision = {
            let state = self.server.state.read();
            let revision = state.revision;
            for (id, watcher) in &mut self.watchers {
                if watcher.next > revision {
                    continue;
                }
                let changes = match state.changes_from(watcher.next) {
                    Ok(changes) => changes,
                    Err(_) => {
                        compacted.push((*id, state.compacted));
                        continue;
                    }
                };
                let mut events = Vec::new();
                for change in &changes {
                    for event in change.events.iter().filter(|e| watcher.wants(e)) {
                        let mut event = event.clone();
                        if !watcher.prev_kv {
                            event.prev_kv = None;
                        }
                        events.push(event);
                    }
                }
                watcher.next = revision + 1;
                if !events.is_empty() {
                    responses.push(WatchResponse {
                        header: Some(crate::config::header(revision)),
                        watch_id: *id,
                        events,
                        ..Default::default()
                    });
                }
            }
            revision
        };
        for (id, compact_revision) in compacted {
            self.watchers.remove(&id);
            let mut response = self.response(id, self.server.current_revision());
            response.canceled = true;
            response.compact_revision = compact_revision;
            response.cancel_reason =
                "etcdserver: mvcc: required revision has been compacted".into();
            responses.push(response);
        }
        for response in responses {
            if !self.send(response).await {
                return None;
            }
        }
        Some(revision)
    }

    async fn notify_progress(&mut self) -> bool {
        let Some(revision) = self.catch_up().await else {
            return false;
        };
        let ids: Vec<i64> = self
            .watchers
            .iter()
            .filter(|(_, w)| w.progress_notify && w.next > revision)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if !self.send(self.response(id, revision)).await {
                return false;
            }
        }
        true
    }
}
