//! How the client proves who it is and whom it trusts: the TLS configuration (the hub's CA, a
//! client certificate) and the bearer token, fixed or read from a file that may be rotated.

use super::error::HubError;
use super::options::HubOptions;
use crate::tls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio_rustls::TlsConnector;

/// The TLS connector of an `https://` hub: with a CA file, only that CA is trusted (as kubectl
/// does with `--certificate-authority`); without one, the system's roots.
pub(super) fn connector(options: &HubOptions) -> Result<TlsConnector, HubError> {
    let roots = match &options.ca_file {
        Some(path) => tls::ca_file_roots(path),
        None => tls::system_roots_and(None),
    }
    .map_err(|e| HubError::Config(e.to_string()))?;
    let builder = tls::client_builder(roots);
    let mut config = match (&options.client_certificate, &options.client_key) {
        (Some(certificate), Some(key)) => builder
            .with_client_auth_cert(read_certificates(certificate)?, read_key(key)?)
            .map_err(|e| {
                HubError::Config(format!(
                    "client certificate {} with key {}: {e}",
                    certificate.display(),
                    key.display()
                ))
            })?,
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(HubError::Config(
                "a client certificate needs its key, and a key its certificate".into(),
            ))
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

fn unreadable(path: &Path, what: &str, why: impl std::fmt::Display) -> HubError {
    HubError::Config(format!("{what} {}: {why}", path.display()))
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, HubError> {
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, "client certificate", e))?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(path, "client certificate", e))?;
    if certificates.is_empty() {
        return Err(unreadable(
            path,
            "client certificate",
            "no PEM CERTIFICATE found",
        ));
    }
    Ok(certificates)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, HubError> {
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, "client key", e))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| unreadable(path, "client key", e))
}

/// The bearer token of each request.
pub(super) enum Token {
    /// No `Authorization` header.
    None,
    /// The same token every time.
    Fixed(String),
    /// A file's contents, read again whenever its modification time changes (a mounted
    /// service-account or secret token is replaced in place).
    File {
        path: PathBuf,
        read: Mutex<Option<(SystemTime, String)>>,
    },
}

impl Token {
    /// A given token wins over a token file, as in a kubeconfig; the file is read once now so
    /// that a missing file fails at start.
    pub(super) fn new(options: &HubOptions) -> Result<Token, HubError> {
        if let Some(token) = &options.token {
            return Ok(Token::Fixed(token.trim().to_string()));
        }
        let Some(path) = &options.token_file else {
            return Ok(Token::None);
        };
        let token = Token::File {
            path: path.clone(),
            read: Mutex::new(None),
        };
        token.current()?;
        Ok(token)
    }

    /// The token to send now.
    pub(super) fn current(&self) -> Result<Option<String>, HubError> {
        match self {
            Token::None => Ok(None),
            Token::Fixed(token) => Ok(Some(token.clone())),
            Token::File { path, read } => {
                let modified = std::fs::metadata(path)
                    .and_then(|m| m.modified())
                    .map_err(|e| unreadable(path, "token file", e))?;
                let mut read = read.lock().expect("the token cache is never poisoned");
                if let Some((when, token)) = read.as_ref() {
                    if *when == modified {
                        return Ok(Some(token.clone()));
                    }
                }
                let token = std::fs::read_to_string(path)
                    .map_err(|e| unreadable(path, "token file", e))?
                    .trim()
                    .to_string();
                *read = Some((modified, token.clone()));
                Ok(Some(token))
            }
        }
    }
}
