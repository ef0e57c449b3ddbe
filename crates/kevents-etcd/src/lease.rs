//! The Lease service's stream (KeepAlive) and the loop that expires leases.

use crate::proto_stream::{LeaseKeepAliveRequest, LeaseKeepAliveResponse};
use crate::server::EtcdServer;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

/// How often leases are checked for expiry.
const EXPIRY_TICK: Duration = Duration::from_millis(500);

/// Answers each keep-alive with the lease's renewed TTL (0 when it does not exist).
pub fn keep_alive(
    server: Arc<EtcdServer>,
    mut requests: Streaming<LeaseKeepAliveRequest>,
) -> ReceiverStream<Result<LeaseKeepAliveResponse, Status>> {
    let (out, responses) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok(Some(request)) = requests.message().await {
            let ttl = server.state.write().keep_alive(request.id, Instant::now());
            let response = LeaseKeepAliveResponse {
                header: Some(crate::config::header(server.current_revision())),
                id: request.id,
                ttl: ttl.unwrap_or(0),
            };
            if out.send(Ok(response)).await.is_err() {
                return;
            }
        }
    });
    ReceiverStream::new(responses)
}

/// Deletes the keys of leases that ran out, twice a second, until `shutdown` changes.
pub async fn expire_periodically(
    server: Arc<EtcdServer>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(EXPIRY_TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let expired = server.expire_leases().await;
                if expired > 0 {
                    tracing::debug!(leases = expired, "etcd leases expired");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
