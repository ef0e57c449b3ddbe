//! The flags of every command that talks to a hub (`--server`, `--token`, `--token-file`,
//! `--certificate-authority`, `--client-certificate`, `--client-key`) and the one client they
//! make (`kevents_http::hub::HubClient`).

use crate::error::CliError;
use clap::Args;
use kevents_http::hub::{HubClient, HubError, HubOptions, Status};
use std::path::PathBuf;

/// The hub's URL when neither `--server` nor `KEVENTS_SERVER` names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// How to reach a hub: the flags every command that talks to one flattens.
#[derive(Args, Debug, Clone, Default)]
pub struct HubFlags {
    /// The hub's URL, `http://` or `https://` (default: $KEVENTS_SERVER, else
    /// http://127.0.0.1:8080).
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Bearer token for the hub.
    #[arg(
        long,
        env = "KEVENTS_TOKEN",
        hide_env_values = true,
        global = true,
        alias = "to-token"
    )]
    pub token: Option<String>,
    /// File holding the bearer token (read again when it changes; --token wins).
    #[arg(
        long,
        env = "KEVENTS_TOKEN_FILE",
        global = true,
        alias = "to-token-file",
        value_name = "FILE"
    )]
    pub token_file: Option<PathBuf>,
    /// CA certificate (PEM) of an `https://` hub (default: the system's roots).
    #[arg(
        long,
        env = "KEVENTS_CERTIFICATE_AUTHORITY",
        global = true,
        alias = "to-ca",
        value_name = "FILE"
    )]
    pub certificate_authority: Option<PathBuf>,
    /// Client certificate (PEM) for a hub with client-certificate authentication.
    #[arg(
        long,
        env = "KEVENTS_CLIENT_CERTIFICATE",
        global = true,
        alias = "to-client-certificate",
        requires = "client_key",
        value_name = "FILE"
    )]
    pub client_certificate: Option<PathBuf>,
    /// Key (PEM) of --client-certificate.
    #[arg(
        long,
        env = "KEVENTS_CLIENT_KEY",
        global = true,
        alias = "to-client-key",
        requires = "client_certificate",
        value_name = "FILE"
    )]
    pub client_key: Option<PathBuf>,
}

impl HubFlags {
    /// The hub's URL: `--server`, else `KEVENTS_SERVER`, else http://127.0.0.1:8080.
    pub fn server(&self) -> String {
        self.server
            .clone()
            .or_else(|| {
                std::env::var("KEVENTS_SERVER")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| DEFAULT_SERVER.to_string())
    }

    /// The client options these flags name.
    pub fn options(&self) -> HubOptions {
        HubOptions {
            url: self.server(),
            token: self.token.clone(),
            token_file: self.token_file.clone(),
            ca_file: self.certificate_authority.clone(),
            client_certificate: self.client_certificate.clone(),
            client_key: self.client_key.clone(),
        }
    }

    /// The client (reads the CA, certificate and token files now; connects lazily).
    pub fn client(&self) -> std::result::Result<HubClient, HubError> {
        HubClient::new(&self.options())
    }
}

impl From<HubError> for CliError {
    fn from(error: HubError) -> CliError {
        match error {
            HubError::Config(why) => CliError::Invalid(why),
            HubError::Api(status) => CliError::Api {
                code: status.code,
                message: status.message,
            },
            HubError::Transport { url, reason } => CliError::Connect { url, reason },
            HubError::Protocol(why) => CliError::Protocol(why),
        }
    }
}

/// Turns an error answer into one line: the `Status` message when there is one.
pub fn api_error(code: u16, body: &[u8]) -> CliError {
    HubError::Api(Status::from_answer(code, body)).into()
}

/// Percent-encodes a query parameter value.
pub fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode_query("type=Warning,reason!=X y"),
            "type%3DWarning%2Creason%21%3DX%20y"
        );
    }

    #[test]
    fn status_messages_become_the_error_line() {
        let err = api_error(
            400,
            br#"{"kind":"Status","message":"field label not supported: x"}"#,
        );
        assert_eq!(
            err.to_string(),
            "the hub answered 400: field label not supported: x"
        );
        assert_eq!(
            api_error(502, b"bad gateway\n").to_string(),
            "the hub answered 502: bad gateway"
        );
    }
}
