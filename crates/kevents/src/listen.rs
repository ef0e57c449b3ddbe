//! The HTTP(S) server loop: accepts connections (TLS handshakes off the accept path, with
//! certificates reloaded when their files change), serves them with hyper under header-read and
//! handshake timeouts, tags each request with its peer, and drains gracefully on shutdown.

use crate::head_errors::StatusOnHeadErrors;
use anyhow::Context;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use kevents_api::Peer;
use parking_lot::RwLock;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// A client must send a complete request head within this time (slowloris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A TLS handshake must finish within this time.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections drain for at most this long at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Certificate and key files, reloaded when they change.
pub struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
    config: RwLock<(Arc<rustls::ServerConfig>, Option<SystemTime>)>,
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn client_verifier(
    ca: &Path,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> anyhow::Result<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in
        CertificateDer::pem_file_iter(ca).with_context(|| format!("reading {}", ca.display()))?
    {
        roots
            .add(certificate.with_context(|| format!("parsing {}", ca.display()))?)
            .with_context(|| format!("adding {} as a client CA", ca.display()))?;
    }
    // Clients without a certificate may still authenticate with a bearer token.
    rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .allow_unauthenticated()
        .build()
        .context("configuring client certificate verification")
}

fn load_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing certificates in {}", cert.display()))?;
    anyhow::ensure!(!certs.is_empty(), "no certificate in {}", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("configuring TLS")?;
    let builder = match client_ca {
        Some(ca) => builder.with_client_cert_verifier(client_verifier(ca, provider)?),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .context("the certificate does not match the private key")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

impl TlsFiles {
    /// Loads the files once; fails on unreadable or mismatched files.
    pub fn load(
        cert: PathBuf,
        key: PathBuf,
        client_ca: Option<PathBuf>,
    ) -> anyhow::Result<TlsFiles> {
        let config = load_config(&cert, &key, client_ca.as_deref())?;
        let stamp = modified(&cert).max(modified(&key));
        Ok(TlsFiles {
            cert,
            key,
            client_ca,
            config: RwLock::new((config, stamp)),
        })
    }

    /// The current configuration, reloading the files if they changed (a bad new pair is
    /// logged and the previous one kept).
    fn current(&self) -> Arc<rustls::ServerConfig> {
        let stamp = modified(&self.cert).max(modified(&self.key));
        {
            let current = self.config.read();
            if current.1 == stamp {
                return current.0.clone();
            }
        }
        let mut current = self.config.write();
        match load_config(&self.cert, &self.key, self.client_ca.as_deref()) {
            Ok(config) => {
                tracing::info!(cert = %self.cert.display(), "reloaded TLS certificate");
                *current = (config, stamp);
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "keeping the previous TLS certificate");
                current.1 = stamp;
            }
        }
        current.0.clone()
    }
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<TlsFiles>>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            if let Err(e) = connection(tcp, remote, app, tls, watcher).await {
                tracing::debug!(%remote, error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
    Ok(())
}

async fn connection(
    tcp: TcpStream,
    remote: SocketAddr,
    app: Router,
    tls: Option<Arc<TlsFiles>>,
    watcher: hyper_util::server::graceful::Watcher,
) -> anyhow::Result<()> {
    let service = move |peer: Peer| {
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(peer.clone());
            app.clone().oneshot(request.map(axum::body::Body::new))
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(kevents_api::MAX_REQUEST_HEAD_BYTES);
    let builder = builder.http1_only();
    match tls {
        Some(tls) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
            let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
                .await
                .context("TLS handshake timed out")?
                .context("TLS handshake failed")?;
            let client = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|certificate| kevents_api::auth::certificate_identity(certificate));
            let peer = Peer {
                address: remote,
                tls: true,
                client,
            };
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(StatusOnHeadErrors::new(stream)),
                service(peer),
            );
            watcher
                .watch(connection.into_owned())
                .await
                .map_err(|e| anyhow::anyhow!(e))
        }
        None => {
            let peer = Peer {
                address: remote,
                tls: false,
                client: None,
            };
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(StatusOnHeadErrors::new(tcp)),
                service(peer),
            );
            watcher
                .watch(connection.into_owned())
                .await
                .map_err(|e| anyhow::anyhow!(e))
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
