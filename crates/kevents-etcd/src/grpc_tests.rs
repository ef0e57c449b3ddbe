//! The endpoint over gRPC on loopback, as a client sees it: a Watch stream (start revision,
//! prev_kv, progress notifications and RequestProgress, a compacted start revision) and TLS
//! with client certificates.

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

/// A Watch stream: requests go in through the sender, answers come out of the stream.
struct Watch {
    requests: tokio::sync::mpsc::Sender<WatchRequest>,
    responses: tonic::Streaming<WatchResponse>,
}

impl Watch {
    async fn open(client: &mut Client) -> Watch {
        client.ready().await.unwrap();
        let (requests, outgoing) = tokio::sync::mpsc::channel(16);
        let path = PathAndQuery::from_static("/etcdserverpb.Watch/Watch");
        let codec = ProstCodec::<WatchRequest, WatchResponse>::default();
        let outgoing = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(outgoing));
        let responses = client.streaming(outgoing, path, codec).await.unwrap();
        Watch {
            requests,
            responses: responses.into_inner(),
        }
    }

    async fn send(&self, request: WatchRequestUnion) {
        let request = WatchRequest {
            request_union: Some(request),
        };
        self.requests.send(request).await.unwrap();
    }

    async fn create(&self, create: WatchCreateRequest) {
        self.send(WatchRequestUnion::Create(create)).await;
    }

    async fn next(&mut self) -> WatchResponse {
        let next = tokio::time::timeout(Duration::from_secs(30), self.responses.message());
        next.await.expect("an answer within 30 s").unwrap().unwrap()
    }

    /// The events of the next answers to watch `id`, until `count` arrived.
    async fn events(&mut self, id: i64, count: usize) -> Vec<Event> {
        let mut events = Vec::new();
        while events.len() < count {
            let response = self.next().await;
            assert_eq!(response.watch_id, id, "{response:?}");
            events.extend(response.events);
        }
        events
    }
}

fn events_prefix() -> WatchCreateRequest {
    WatchCreateRequest {
        key: b"/registry/events/".to_vec(),
        range_end: b"/registry/events0".to_vec(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_replays_from_its_start_revision_with_prev_kv_reports_progress_and_is_canceled_when_compacted(
) {
    let e = endpoint(None).await;
    let a1 = put(&e.server, "a", "one").await;
    let b1 = put(&e.server, "b", "one").await;
    let a2 = put(&e.server, "a", "two").await;
    let delete = DeleteRangeRequest {
        key: key("b"),
        ..Default::default()
    };
    let deleted = crate::services::delete_range(&e.server, delete).await;
    let b_gone = deleted.unwrap().header.unwrap().revision;
    let mut client = connect(e.address, None).await.unwrap();
    let mut watch = Watch::open(&mut client).await;

    // From b's creation, with previous values: b put, a updated (prev: "one"), b deleted.
    let from_b = WatchCreateRequest {
        start_revision: b1,
        prev_kv: true,
        progress_notify: true,
        ..events_prefix()
    };
    watch.create(from_b).await;
    let created = watch.next().await;
    assert!(created.created && !created.canceled, "{created:?}");
    let id = created.watch_id;
    let events = watch.events(id, 3).await;
    let seen: Vec<(i32, Vec<u8>, i64)> = events
        .iter()
        .map(|e| {
            let kv = e.kv.clone().unwrap();
            (e.r#type, kv.key, kv.mod_revision)
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (EVENT_PUT, key("b"), b1),
            (EVENT_PUT, key("a"), a2),
            (EVENT_DELETE, key("b"), b_gone),
        ]
    );
    assert!(events[0].prev_kv.is_none(), "b was new");
    let previous = events[1].prev_kv.clone().unwrap();
    assert_eq!(
        (previous.mod_revision, previous.value),
        (a1, event_value("one"))
    );
    assert_eq!(events[2].prev_kv.clone().unwrap().mod_revision, b1);

    // Idle: a progress notification at the current revision, with no events.
    let progress = watch.next().await;
    assert_eq!(progress.watch_id, id);
    assert!(progress.events.is_empty());
    assert_eq!(progress.header.unwrap().revision, b_gone);

    // A new write reaches the watch, then RequestProgress answers with watch ID -1 at it.
    let c1 = put(&e.server, "c", "one").await;
    let events = watch.events(id, 1).await;
    assert_eq!(events[0].kv.clone().unwrap().mod_revision, c1);
    watch
        .send(WatchRequestUnion::Progress(WatchProgressRequest {}))
        .await;
    let answer = loop {
        let response = watch.next().await;
        if response.watch_id == -1 {
            break response;
        }
        assert!(response.events.is_empty(), "{response:?}");
    };
    assert_eq!(answer.header.unwrap().revision, c1);

    // After a compaction, a watch from before it is canceled with the compact revision.
    crate::services::compact(
        &e.server,
        crate::proto::CompactionRequest {
            revision: a2,
            physical: false,
        },
    )
    .await
    .unwrap();
    let from_the_start = WatchCreateRequest {
        start_revision: a1,
        watch_id: 7,
        ..events_prefix()
    };
    watch.create(from_the_start).await;
    let canceled = loop {
        let response = watch.next().await;
        if response.watch_id == 7 && response.canceled {
            break response;
        }
    };
    assert_eq!(canceled.compact_revision, a2);
    assert!(canceled.cancel_reason.contains("compacted"), "{canceled:?}");
}

/// A CA that signs certificates.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl Ca {
    fn new() -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let pem = params.self_signed(&key).unwrap().pem();
        Ca { params, key, pem }
    }

    /// A certificate for `names` and its key, as PEM.
    fn sign(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A client that trusts `ca` for the server and presents `identity` (certificate, key).
fn client_tls(ca: &Ca, identity: Option<(String, String)>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    config
}

/// A Range over a new connection; the error when the connection or the call fails.
async fn range_over(address: SocketAddr, tls: rustls::ClientConfig) -> Result<i64, String> {
    let mut client = connect(address, Some(tls)).await?;
    let answer = range(&mut client, &key("a")).await;
    answer.map(|r| r.count).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_client_ca_only_clients_with_a_certificate_it_signed_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, other_ca) = (Ca::new(), Ca::new());
    let (server_cert, server_key) = ca.sign(&["localhost"]);
    let tls = crate::server_config(
        &write(dir.path(), "server.crt", &server_cert),
        &write(dir.path(), "server.key", &server_key),
        Some(&write(dir.path(), "ca.crt", &ca.pem)),
    )
    .unwrap();
    let e = endpoint(Some(tls)).await;
    put(&e.server, "a", "one").await;

    let signed = client_tls(&ca, Some(ca.sign(&["apiserver-etcd-client"])));
    assert_eq!(range_over(e.address, signed).await, Ok(1));
    let without = range_over(e.address, client_tls(&ca, None)).await;
    assert!(
        without.is_err(),
        "a client without a certificate was served"
    );
    let foreign = client_tls(&ca, Some(other_ca.sign(&["apiserver-etcd-client"])));
    let refused = range_over(e.address, foreign).await;
    assert!(
        refused.is_err(),
        "a client with another CA's certificate was served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_over_grpc_is_a_status_with_a_message_and_changes_nothing() {
    let e = endpoint(None).await;
    put(&e.server, "a", "one").await;
    let before = e.server.current_revision();
    let mut client = connect(e.address, None).await.unwrap();
    let put_path = "/etcdserverpb.KV/Put";
    let txn_path = "/etcdserverpb.KV/Txn";
    let put_of = |key: Vec<u8>, value: Vec<u8>| PutRequest {
        key,
        value,
        ..Default::default()
    };
    let refused = |status: Status, code: tonic::Code, text: &str| {
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().contains(text), "{status:?}");
    };
    let outside = put_of(b"/registry/pods/default/web".to_vec(), event_value("pod"));
    let answer = call::<_, PutResponse>(&mut client, put_path, outside).await;
    refused(
        answer.unwrap_err(),
        tonic::Code::InvalidArgument,
        "/registry/events/",
    );
    for value in [
        b"{\"kind\":\"Event\"}".to_vec(),
        b"k8s\0\xff\xff\x01".to_vec(),
    ] {
        let answer = call::<_, PutResponse>(&mut client, put_path, put_of(key("b"), value)).await;
        refused(
            answer.unwrap_err(),
            tonic::Code::InvalidArgument,
            "cannot store",
        );
    }
    // Past the value limit, and past the message limit as well (refused by the codec).
    for (kib, code) in [
        (1540, tonic::Code::InvalidArgument),
        (2048, tonic::Code::OutOfRange),
    ] {
        let huge = put_of(key("b"), envelope(&vec![b'x'; kib * 1024]));
        let answer = call::<_, PutResponse>(&mut client, put_path, huge).await;
        refused(answer.unwrap_err(), code, "too large");
    }
    let shapes = [
        // A compare over a range of keys.
        TxnRequest {
            compare: vec![Compare {
                key: key("a"),
                range_end: key("z"),
                target_union: Some(TargetUnion::Version(1)),
                ..Default::default()
            }],
            ..Default::default()
        },
        // A put that keeps the old value.
        TxnRequest {
            success: vec![RequestOp {
                request: Some(Request::Put(PutRequest {
                    ignore_value: true,
                    ..put_of(key("a"), event_value("x"))
                })),
            }],
            ..Default::default()
        },
        // A nested transaction.
        TxnRequest {
            success: vec![RequestOp {
                request: Some(Request::Txn(TxnRequest::default())),
            }],
            ..Default::default()
        },
    ];
    for shape in shapes {
        let answer = call::<_, TxnResponse>(&mut client, txn_path, shape).await;
        refused(
            answer.unwrap_err(),
            tonic::Code::Unimplemented,
            "kevents does not serve",
        );
    }
    let defragment = "/etcdserverpb.Maintenance/Defragment";
    let answer = call::<_, StatusResponse>(&mut client, defragment, StatusRequest {}).await;
    refused(answer.unwrap_err(), tonic::Code::Unimplemented, defragment);

    assert_eq!(e.server.current_revision(), before);
    let all = RangeRequest {
        key: b"/registry/events/".to_vec(),
        range_end: b"/registry/events0".to_vec(),
        ..Default::default()
    };
    let answer: RangeResponse = call(&mut client, "/etcdserverpb.KV/Range", all)
        .await
        .unwrap();
    assert_eq!(answer.kvs.len(), 1);
    assert_eq!(answer.kvs[0].value, event_value("one"));
    assert_eq!(
        e.store.stats().events,
        1,
        "the hub holds only the good event"
    );
}
