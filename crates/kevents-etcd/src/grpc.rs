//! The gRPC server: HTTP/2 (cleartext, or TLS with client certificates) and routing by method
//! path to the etcd services over tonic's server codec. No code is generated: each method is
//! one line of the route table, and a method not in it answers `Unimplemented` with its name.

use crate::error::EtcdError;
use crate::server::EtcdServer;
use crate::{lease, services, watch};
use futures::Stream;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic::{Status, Streaming};
use tonic_prost::ProstCodec;

/// A TLS handshake must finish within this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type Reply = http::Response<Body>;

async fn unary<Req, Resp, F, Fut>(
    server: &Arc<EtcdServer>,
    request: http::Request<Incoming>,
    handler: F,
) -> Reply
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    F: Fn(Arc<EtcdServer>, Req) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Resp, EtcdError>> + Send + 'static,
{
    let max = server.config.max_value_bytes + 64 * 1024;
    let server = server.clone();
    let service = tower::service_fn(move |request: tonic::Request<Req>| {
        let answer = handler(server.clone(), request.into_inner());
        async move { answer.await.map(tonic::Response::new).map_err(Status::from) }
    });
    let mut grpc = tonic::server::Grpc::new(ProstCodec::<Resp, Req>::default())
        .apply_max_message_size_config(Some(max), None);
    grpc.unary(service, request).await
}

async fn streaming<Req, Resp, F, S>(
    server: &Arc<EtcdServer>,
    request: http::Request<Incoming>,
    handler: F,
) -> Reply
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    F: Fn(Arc<EtcdServer>, Streaming<Req>) -> S + Clone + Send + 'static,
    S: Stream<Item = Result<Resp, Status>> + Send + 'static,
{
    let server = server.clone();
    let service = tower::service_fn(move |request: tonic::Request<Streaming<Req>>| {
        let responses = handler(server.clone(), request.into_inner());
        async move { Ok::<_, Status>(tonic::Response::new(responses)) }
    });
    let mut grpc = tonic::server::Grpc::new(ProstCodec::<Resp, Req>::default());
    grpc.streaming(service, request).await
}

/// Routes one request to its method.
async fn route(server: Arc<EtcdServer>, request: http::Request<Incoming>) -> Reply {
    let path = request.uri().path().to_owned();
    let s = &server;
    match path.as_str() {
        "/etcdserverpb.KV/Range" => {
            unary(s, request, |s, r| async move { services::range(&s, r) }).await
        }
        "/etcdserverpb.KV/Put" => {
            unary(s, request, |s, r| async move { services::put(&s, r).await }).await
        }
        "/etcdserverpb.KV/DeleteRange" => {
            unary(s, request, |s, r| async move {
                services::delete_range(&s, r).await
            })
            .await
        }
        "/etcdserverpb.KV/Txn" => unary(s, request, |s, r| async move { s.txn(r).await }).await,
        "/etcdserverpb.KV/Compact" => {
            unary(
                s,
                request,
                |s, r| async move { services::compact(&s, r).await },
            )
            .await
        }
        "/etcdserverpb.Watch/Watch" => streaming(s, request, watch::serve).await,
        "/etcdserverpb.Lease/LeaseGrant" => {
            unary(s, request, |s, r| async move {
                services::lease_grant(&s, r).await
            })
            .await
        }
        "/etcdserverpb.Lease/LeaseRevoke" => {
            unary(s, request, |s, r| async move {
                services::lease_revoke(&s, r).await
            })
            .await
        }
        "/etcdserverpb.Lease/LeaseKeepAlive" => streaming(s, request, lease::keep_alive).await,
        "/etcdserverpb.Lease/LeaseTimeToLive" => {
            unary(s, request, |s, r| async move {
                services::lease_time_to_live(&s, r)
            })
            .await
        }
        "/etcdserverpb.Maintenance/Status" => {
            unary(s, request, |s, r| async move { services::status(&s, r) }).await
        }
        "/etcdserverpb.Cluster/MemberList" => {
            unary(
                s,
                request,
                |s, r| async move { services::member_list(&s, r) },
            )
            .await
        }
        method => Status::unimplemented(format!(
            "kevents does not implement the etcd method {method}: it serves the subset of etcd v3 \
             the apiserver uses for /registry/events/"
        ))
        .into_http(),
    }
}

/// Serves gRPC on `listener` until `shutdown` resolves; with `tls`, clients must present a
/// certificate its verifier accepts.
pub async fn serve(
    listener: TcpListener,
    server: Arc<EtcdServer>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "etcd endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return,
        };
        let _ = tcp.set_nodelay(true);
        let server = server.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let server = server.clone();
                async move { Ok::<_, Infallible>(route(server, request).await) }
            });
            let builder = auto::Builder::new(TokioExecutor::new()).http2_only();
            let served = match tls {
                Some(tls) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%remote, %error, "etcd endpoint: TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    }
                }
                None => builder.serve_connection(TokioIo::new(tcp), service).await,
            };
            if let Err(error) = served {
                tracing::debug!(%remote, %error, "etcd endpoint: connection ended");
            }
        });
    }
}
