//! TLS with client certificates, as etcd's `--client-cert-auth`.

use super::*;

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
