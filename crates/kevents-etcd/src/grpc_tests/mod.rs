//! The endpoint over gRPC on loopback, as a client sees it: a Watch stream (start revision,
//! prev_kv, progress notifications and RequestProgress, a compacted start revision), TLS with
//! client certificates, and bad input.

use crate::codec::envelope;
use crate::proto::{
    Compare, DeleteRangeRequest, Event, PutRequest, PutResponse, RangeRequest, RangeResponse,
    Request, RequestOp, TargetUnion, TxnRequest, TxnResponse, EVENT_DELETE, EVENT_PUT,
};
use crate::proto_stream::{
    StatusRequest, StatusResponse, WatchCreateRequest, WatchProgressRequest, WatchRequest,
    WatchRequestUnion, WatchResponse,
};
use crate::tests::KeyOnlyCodec;
use crate::{EtcdConfig, EtcdServer};
use http::uri::PathAndQuery;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kevents_store::{Store, StoreConfig};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tonic::body::Body;
use tonic::Status;
use tonic_prost::ProstCodec;
use tower::util::BoxCloneService;

mod bad_input;
mod tls;
mod watch;

type Client = tonic::client::Grpc<
    BoxCloneService<http::Request<Body>, http::Response<Incoming>, hyper::Error>,
>;

/// A hub store and the endpoint serving on loopback (stops with the test's runtime).
struct Endpoint {
    _dir: tempfile::TempDir,
    store: Store,
    server: Arc<EtcdServer>,
    address: SocketAddr,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn endpoint(tls: Option<Arc<rustls::ServerConfig>>) -> Endpoint {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path().join("store"))).unwrap();
    let mut config = EtcdConfig::new(dir.path().join("etcd"));
    config.progress_interval = Duration::from_millis(200);
    let server = EtcdServer::open(config, store.clone(), Arc::new(KeyOnlyCodec))
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(crate::serve(listener, server.clone(), tls, stopped));
    Endpoint {
        _dir: dir,
        store,
        server,
        address,
        _stop: stop,
    }
}

async fn handshake<I>(io: I) -> Result<Client, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let service = tower::service_fn(move |request: http::Request<Body>| {
        let mut sender = sender.clone();
        async move { sender.send_request(request).await }
    });
    let origin = http::Uri::from_static("http://localhost");
    Ok(tonic::client::Grpc::with_origin(
        BoxCloneService::new(service),
        origin,
    ))
}

/// An HTTP/2 connection to the endpoint, over TLS with `tls`.
async fn connect(address: SocketAddr, tls: Option<rustls::ClientConfig>) -> Result<Client, String> {
    let tcp = TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    match tls {
        None => handshake(TokioIo::new(tcp)).await,
        Some(config) => {
            let name = ServerName::try_from("localhost").unwrap();
            let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            handshake(TokioIo::new(stream)).await
        }
    }
}

/// Calls a unary method.
async fn call<Req, Resp>(
    client: &mut Client,
    path: &'static str,
    request: Req,
) -> Result<Resp, Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    client
        .ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let path = PathAndQuery::from_static(path);
    let codec = ProstCodec::<Req, Resp>::default();
    let answer = client
        .unary(tonic::Request::new(request), path, codec)
        .await;
    answer.map(tonic::Response::into_inner)
}

async fn range(client: &mut Client, key: &[u8]) -> Result<RangeResponse, Status> {
    let request = RangeRequest {
        key: key.to_vec(),
        ..Default::default()
    };
    call(client, "/etcdserverpb.KV/Range", request).await
}

fn key(name: &str) -> Vec<u8> {
    format!("/registry/events/default/{name}").into_bytes()
}

/// A value in the apiserver's envelope (the endpoint's codec here reads only the envelope).
fn event_value(message: &str) -> Vec<u8> {
    envelope(message.as_bytes())
}

async fn put(server: &EtcdServer, name: &str, message: &str) -> i64 {
    let request = PutRequest {
        key: key(name),
        value: event_value(message),
        ..Default::default()
    };
    let answer = crate::services::put(server, request).await.unwrap();
    answer.header.unwrap().revision
}
