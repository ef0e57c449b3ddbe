//! Trust for outgoing TLS: the system's root certificates (the OS store, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`), plus a PEM CA file per destination for private CAs. Certificates are always
//! verified, host names included.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Why a CA file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("CA file {}: {reason}", path.display())]
pub struct CaFileError {
    /// The file as configured.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

/// Reads the certificates of a PEM file; refuses a file without any, and certificates that
/// cannot serve as trust anchors.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaFileError> {
    let problem = |reason: String| CaFileError {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| problem(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(format!("not a valid PEM file: {e}")))?;
    if certs.is_empty() {
        return Err(problem("no PEM CERTIFICATE found".into()));
    }
    let mut check = RootCertStore::empty();
    for (index, cert) in certs.iter().enumerate() {
        check
            .add(cert.clone())
            .map_err(|e| problem(format!("certificate {}: {e}", index + 1)))?;
    }
    Ok(certs)
}

/// Trust anchors of only the given CA file (for receivers that must not trust public CAs).
pub fn ca_file_roots(path: &Path) -> Result<RootCertStore, CaFileError> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(load_ca_file(path)?);
    Ok(roots)
}

/// The system's root certificates plus those of `ca_file`.
pub fn system_roots_and(ca_file: Option<&Path>) -> Result<RootCertStore, CaFileError> {
    let mut roots = system_roots().clone();
    if let Some(path) = ca_file {
        roots.add_parsable_certificates(load_ca_file(path)?);
    }
    Ok(roots)
}

/// A client configuration verifying servers against `roots`: rustls with the `ring` provider,
/// TLS 1.2 and 1.3, no client certificate.
pub fn client_config(roots: RootCertStore) -> rustls::ClientConfig {
    client_builder(roots).with_no_client_auth()
}

/// [`client_config`] before its client certificate is chosen.
pub fn client_builder(
    roots: RootCertStore,
) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .with_root_certificates(roots)
}

/// The system store, read once per process: reading and parsing it takes milliseconds and every
/// https destination needs it.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(%error, "reading the system's root certificates");
        }
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            tracing::warn!(
                "no system root certificates found; https destinations need a caFile \
                 (or SSL_CERT_FILE pointing at a CA bundle)"
            );
        }
        tracing::debug!(added, ignored, "system root certificates loaded");
        roots
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(contents: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), contents).unwrap();
        file
    }

    #[test]
    fn a_pem_ca_file_is_loaded() {
        let ca = file(crate::tests::TestCa::new().ca_pem.as_bytes());
        assert_eq!(load_ca_file(ca.path()).unwrap().len(), 1);
        assert_eq!(ca_file_roots(ca.path()).unwrap().len(), 1);
        let with_system = system_roots_and(Some(ca.path())).unwrap();
        assert_eq!(with_system.len(), system_roots().len() + 1);
    }

    #[test]
    fn bad_ca_files_are_refused_naming_the_file() {
        let missing = Path::new("/nonexistent/kevents-ca.pem");
        let error = load_ca_file(missing).unwrap_err().to_string();
        assert!(
            error.starts_with("CA file /nonexistent/kevents-ca.pem: "),
            "{error}"
        );

        let empty = file(b"");
        let error = load_ca_file(empty.path()).unwrap_err().to_string();
        assert!(
            error.contains(&empty.path().display().to_string()),
            "{error}"
        );
        assert!(error.ends_with("no PEM CERTIFICATE found"), "{error}");

        let key_only = file(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        let error = load_ca_file(key_only.path()).unwrap_err().to_string();
        assert!(error.ends_with("no PEM CERTIFICATE found"), "{error}");

        let broken = file(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n");
        let error = load_ca_file(broken.path()).unwrap_err().to_string();
        assert!(error.contains("not a valid PEM file"), "{error}");

        let not_der = file(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let error = load_ca_file(not_der.path()).unwrap_err().to_string();
        assert!(error.contains("certificate 1: "), "{error}");
    }
}
