//! TLS for the endpoint, like etcd's `--cert-file`, `--key-file` and `--trusted-ca-file` with
//! `--client-cert-auth`: with a client CA, every client must present a certificate it signed.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// The server configuration for a certificate, its key and an optional client CA.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let read = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        format!("reading the {what} {}: {e}", path.display())
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| read("certificate", cert, &e))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let private_key = PrivateKeyDer::from_pem_file(key).map_err(|e| read("key", key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for certificate in
                CertificateDer::pem_file_iter(ca).map_err(|e| read("client CA", ca, &e))?
            {
                let certificate = certificate.map_err(|e| read("client CA", ca, &e))?;
                roots
                    .add(certificate)
                    .map_err(|e| read("client CA", ca, &e))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| e.to_string())?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certs, private_key)
        .map_err(|e| format!("the certificate does not match the key: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}
