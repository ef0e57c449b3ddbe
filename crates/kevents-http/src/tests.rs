//! The client against an HTTPS server on loopback with a certificate from a test CA.

use super::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A CA and a server certificate it signed for `localhost`.
pub(super) struct TestCa {
    pub(super) ca_pem: String,
    server_pem: String,
    server_key_pem: String,
}

impl TestCa {
    pub(super) fn new() -> TestCa {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&server_key, &Issuer::from_params(&ca_params, &ca_key))
            .unwrap();
        TestCa {
            ca_pem: ca.pem(),
            server_pem: server.pem(),
            server_key_pem: server_key.serialize_pem(),
        }
    }

    fn ca_file(&self) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &self.ca_pem).unwrap();
        file
    }

    /// Serves HTTPS on loopback: answers each request `200` with its body, and sends the request
    /// head (up to the blank line) to the returned channel. Returns the port.
    async fn serve(&self) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let certs = vec![CertificateDer::from_pem_slice(self.server_pem.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (heads, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let mut request = Vec::new();
                let mut chunk = [0; 4096];
                while !request.ends_with(b"{}") {
                    let read = tls.read(&mut chunk).await.unwrap();
                    if read == 0 {
                        break;
                    }
                    request.extend_from_slice(&chunk[..read]);
                }
                let text = String::from_utf8_lossy(&request).into_owned();
                let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                tls.write_all(answer.as_bytes()).await.unwrap();
                tls.shutdown().await.ok();
                heads.send(head.to_string()).ok();
            }
        });
        (port, received)
    }
}

fn post(client: &Client) -> impl std::future::Future<Output = Result<Response, HttpError>> + '_ {
    client.send(
        Request::post_json(Bytes::from_static(b"{}"), &[]),
        Duration::from_secs(5),
    )
}

#[tokio::test]
async fn https_with_the_ca_file_delivers_and_sends_the_host_name() {
    let ca = TestCa::new();
    let (port, mut heads) = ca.serve().await;
    let ca_file = ca.ca_file();
    let endpoint = Endpoint::parse(&format!("https://localhost:{port}/hook"), "").unwrap();
    let client = Client::new(endpoint, Some(ca_file.path())).unwrap();
    let response = post(&client).await.unwrap();
    assert_eq!((response.status, &response.body[..]), (200, &b"{}"[..]));
    let head = heads.recv().await.unwrap();
    assert!(head.starts_with("POST /hook HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains(&format!("host: localhost:{port}\r\n")),
        "{head}"
    );
}

#[tokio::test]
async fn https_without_the_ca_is_a_tls_error() {
    let ca = TestCa::new();
    let (port, _heads) = ca.serve().await;
    let endpoint = Endpoint::parse(&format!("https://localhost:{port}/"), "").unwrap();
    let client = Client::new(endpoint, None).unwrap();
    let error = post(&client).await.unwrap_err();
    assert!(matches!(error, HttpError::Tls { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with("TLS handshake with localhost:"),
        "{message}"
    );
    assert!(message.contains("UnknownIssuer"), "{message}");
}

#[tokio::test]
async fn https_checks_the_host_name_against_the_certificate() {
    let ca = TestCa::new();
    let (port, _heads) = ca.serve().await;
    let ca_file = ca.ca_file();
    // The certificate is for `localhost`, not for the address.
    let endpoint = Endpoint::parse(&format!("https://127.0.0.1:{port}/"), "").unwrap();
    let client = Client::new(endpoint, Some(ca_file.path())).unwrap();
    let message = post(&client).await.unwrap_err().to_string();
    assert!(
        message.contains("certificate not valid for name \"127.0.0.1\""),
        "{message}"
    );
}

#[test]
fn a_bad_ca_file_is_refused_for_http_urls_too() {
    let endpoint = Endpoint::parse("http://127.0.0.1:1/", "").unwrap();
    let error = Client::new(endpoint, Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("CA file /nonexistent/ca.pem: "),
        "{error}"
    );
}
