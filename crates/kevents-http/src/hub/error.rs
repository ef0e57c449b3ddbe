//! What a hub request can end in besides an answer: the hub's Kubernetes `Status`, a broken
//! connection, or an answer that is not what the API promises.

use serde::Deserialize;

/// A Kubernetes `Status` the hub answered with (every 4xx and 5xx of its API is one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Status {
    /// The HTTP status code.
    #[serde(default)]
    pub code: u16,
    /// The machine-readable reason (`NotFound`, `Forbidden`, `Expired`, …); empty when the
    /// answer was not a `Status` (a proxy's error page).
    #[serde(default)]
    pub reason: String,
    /// The human-readable description.
    #[serde(default)]
    pub message: String,
}

impl Status {
    /// The `Status` in an error answer's body; a body that is not one becomes the message.
    pub fn from_answer(code: u16, body: &[u8]) -> Status {
        match serde_json::from_slice::<Status>(body) {
            Ok(status) if !status.message.is_empty() || !status.reason.is_empty() => {
                Status { code, ..status }
            }
            _ => Status {
                code,
                reason: String::new(),
                message: String::from_utf8_lossy(body).trim().to_string(),
            },
        }
    }
}

/// Why a hub request failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The options do not make a client: a bad URL, an unreadable CA, certificate, key or token
    /// file.
    #[error("hub client configuration: {0}")]
    Config(String),
    /// The hub answered with an error `Status`.
    #[error("hub answered {}: {}", .0.code, .0.message)]
    Api(Status),
    /// The hub could not be reached, the TLS handshake failed, or the connection broke.
    #[error("cannot reach the hub at {url}: {reason}")]
    Transport {
        /// The hub's URL.
        url: String,
        /// What went wrong, as one line.
        reason: String,
    },
    /// The hub's answer is not what its API promises.
    #[error("unexpected hub answer: {0}")]
    Protocol(String),
}

impl HubError {
    /// The `Status` of an error answer.
    pub fn status(&self) -> Option<&Status> {
        match self {
            HubError::Api(status) => Some(status),
            _ => None,
        }
    }

    /// The HTTP code of an error answer.
    pub fn code(&self) -> Option<u16> {
        self.status().map(|s| s.code)
    }

    /// The hub refused the request itself (4xx other than timeouts and rate limits): retrying
    /// the same request will not help until someone fixes the cause.
    pub fn is_refusal(&self) -> bool {
        matches!(self.code(), Some(code) if (400..500).contains(&code) && code != 408 && code != 429)
    }
}
