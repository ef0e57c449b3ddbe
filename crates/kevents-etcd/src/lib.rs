//! The etcd v3 endpoint of kevents: serves the subset of etcd's gRPC API that the apiserver
//! uses for `--etcd-servers-overrides=/events#...`, so the apiserver writes its events straight
//! into kevents.
//!
//! One store, two views. The etcd view (`mvcc`, logged by `wal`) keeps every value byte for
//! byte with etcd's revisions, leases and history; each event written through it is also
//! decoded (`codec`) into the hub's store, where series, alerts, sinks and the archive see it
//! and where it stays for the hub's own retention after its etcd lease expires.
#![warn(missing_docs)]

mod codec;
mod commit;
mod config;
mod error;
mod grpc;
mod keys;
mod lease;
mod mirror;
mod mvcc;
pub mod proto;
pub mod proto_stream;
mod record;
mod server;
mod services;
mod tls;
mod view;
mod wal;
mod watch;

#[cfg(test)]
mod grpc_tests;
#[cfg(test)]
mod tests;

pub use codec::{envelope, event_bytes, EventCodec, ProtobufEventCodec, PROTOBUF_MAGIC};
pub use config::{EtcdConfig, CLUSTER_ID, MEMBER_ID};
pub use error::EtcdError;
pub use keys::{KeyKind, KeyPolicy, Refused, COMPACT_REV_KEY};
pub use server::EtcdServer;
pub use services::ETCD_VERSION;
pub use tls::server_config;

use std::sync::Arc;

/// Serves the endpoint on `listener` until `shutdown` changes: gRPC, and the lease expiry loop;
/// then waits (a few seconds at most) for the hub's store to have every answered write.
pub async fn serve(
    listener: tokio::net::TcpListener,
    server: Arc<EtcdServer>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let expiry = tokio::spawn(lease::expire_periodically(server.clone(), shutdown.clone()));
    let mut stop = shutdown;
    grpc::serve(listener, server.clone(), tls, async move {
        let _ = stop.changed().await;
    })
    .await;
    let _ = expiry.await;
    if !server.hub_settled(std::time::Duration::from_secs(10)).await {
        tracing::warn!(
            "stopping before the hub's store has every etcd write; the next start writes them"
        );
    }
}
