//! What a hub client is made from: the hub's URL and the credentials to reach it with.

use std::path::PathBuf;

/// How to reach a hub.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// `http://host:port` or `https://host:port`, optionally with a path the API lives under
    /// (`https://hub:8443/clusters/prod`).
    pub url: String,
    /// Bearer token.
    pub token: Option<String>,
    /// File holding the bearer token, read again when it changes; `token` wins over it.
    pub token_file: Option<PathBuf>,
    /// CA certificate (PEM) of an `https://` hub; without it, the system's roots.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM), for a hub with client-certificate authentication.
    pub client_certificate: Option<PathBuf>,
    /// The client certificate's key (PEM).
    pub client_key: Option<PathBuf>,
}
