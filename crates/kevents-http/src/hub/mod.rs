//! The client of a kevents hub, shared by the CLI, the collectors and the simulator: `http://`
//! or `https://` (the hub's CA, a client certificate), a bearer token or token file, keep-alive
//! connections reused across requests and tasks, JSON requests whose error answers become the
//! hub's `Status`, and watch streams on connections of their own.

mod clusters;
mod credentials;
mod error;
mod options;
mod stream;
#[cfg(test)]
mod tests;

pub use clusters::{ClusterGap, ClusterStatus};
pub use error::{HubError, Status};
pub use options::HubOptions;
pub use stream::WatchStream;

use crate::endpoint::Endpoint;
use bytes::Bytes;
use credentials::Token;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::Method;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The longest a request may take from sending to the last byte of its answer: a hub that
/// stops answering (stopped, partitioned) must fail the request so that the caller retries.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Idle connections kept for reuse; more concurrent requests open more, then close them.
const IDLE_CONNECTIONS: usize = 16;

/// A client of one hub. Cheap to clone; clones share their connections.
#[derive(Clone)]
pub struct HubClient {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    endpoint: Endpoint,
    /// Prefix of every request path: the URL's path without its trailing `/`.
    base: String,
    tls: Option<TlsConnector>,
    token: Token,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

/// One request: method, path (below the hub URL's path), body and its type.
#[derive(Debug, Clone)]
pub struct HubRequest<'a> {
    /// The method.
    pub method: Method,
    /// Path and query.
    pub path: &'a str,
    /// The `Content-Type` of `body`.
    pub content_type: &'a str,
    /// The `Accept` header.
    pub accept: &'a str,
    /// The body (empty for none).
    pub body: Bytes,
}

impl<'a> HubRequest<'a> {
    /// A request with a JSON body (or none) that accepts JSON.
    pub fn json(method: Method, path: &'a str, body: impl Into<Bytes>) -> HubRequest<'a> {
        HubRequest {
            method,
            path,
            content_type: "application/json",
            accept: "application/json",
            body: body.into(),
        }
    }

    /// A `GET` accepting JSON.
    pub fn get(path: &'a str) -> HubRequest<'a> {
        HubRequest::json(Method::GET, path, Bytes::new())
    }
}

/// A whole answer, whatever its status.
#[derive(Debug)]
pub struct HubResponse {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

impl HubResponse {
    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The answer's JSON on success; its `Status` as [`HubError::Api`] otherwise.
    pub fn json<T: DeserializeOwned>(&self, path: &str) -> Result<T, HubError> {
        if !self.is_success() {
            return Err(HubError::Api(Status::from_answer(self.status, &self.body)));
        }
        serde_json::from_slice(&self.body).map_err(|e| HubError::Protocol(format!("{path}: {e}")))
    }
}

impl HubClient {
    /// Builds the client: parses the URL, reads the CA, the client certificate and the token
    /// file now (a bad one fails here, not at the first request); connects lazily.
    pub fn new(options: &HubOptions) -> Result<HubClient, HubError> {
        let url = options.url.trim_end_matches('/').to_string();
        let endpoint = Endpoint::parse(&options.url, "")
            .map_err(|e| HubError::Config(format!("hub URL {:?}: {e}", options.url)))?;
        let tls = if endpoint.is_https() {
            Some(credentials::connector(options)?)
        } else {
            None
        };
        let base = endpoint.path().trim_end_matches('/').to_string();
        Ok(HubClient {
            inner: Arc::new(Inner {
                url,
                base,
                tls,
                token: Token::new(options)?,
                endpoint,
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The hub's URL, for messages.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    fn transport(&self, reason: impl ToString) -> HubError {
        HubError::Transport {
            url: self.inner.url.clone(),
            reason: reason.to_string(),
        }
    }

    /// A new connection (TCP, then TLS for `https://`), driven by a task of its own.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, HubError> {
        let endpoint = &self.inner.endpoint;
        let tcp = TcpStream::connect(endpoint.address())
            .await
            .map_err(|e| self.transport(e))?;
        let _ = tcp.set_nodelay(true);
        match (&self.inner.tls, endpoint.server_name()) {
            (Some(connector), Some(name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| self.transport(format!("TLS handshake: {e}")))?;
                let (sender, connection) = http1::handshake(TokioIo::new(tls))
                    .await
                    .map_err(|e| self.transport(e))?;
                tokio::spawn(connection);
                Ok(sender)
            }
            _ => {
                let (sender, connection) = http1::handshake(TokioIo::new(tcp))
                    .await
                    .map_err(|e| self.transport(e))?;
                tokio::spawn(connection);
                Ok(sender)
            }
        }
    }

    fn build(&self, request: &HubRequest<'_>) -> Result<hyper::Request<Full<Bytes>>, HubError> {
        let mut builder = hyper::Request::builder()
            .method(request.method.clone())
            .uri(format!("{}{}", self.inner.base, request.path))
            .header(HOST, self.inner.endpoint.host())
            .header(ACCEPT, request.accept)
            .header(USER_AGENT, concat!("kevents/", env!("CARGO_PKG_VERSION")));
        if !request.body.is_empty() {
            builder = builder.header(CONTENT_TYPE, request.content_type);
        }
        if let Some(token) = self.inner.token.current()? {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        builder
            .body(Full::new(request.body.clone()))
            .map_err(|e| HubError::Config(format!("request {}: {e}", request.path)))
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<SendRequest<Full<Bytes>>>> {
        self.inner
            .idle
            .lock()
            .expect("the idle connections are never poisoned")
    }

    /// Sends a request on an idle keep-alive connection (or a new one) and reads the whole
    /// answer within 30 s. A reused connection the hub closed meanwhile is retried once on a new
    /// one (the request never reached the hub).
    pub async fn send(&self, request: HubRequest<'_>) -> Result<HubResponse, HubError> {
        tokio::time::timeout(EXCHANGE_TIMEOUT, self.exchange(&request))
            .await
            .unwrap_or_else(|_| {
                Err(self.transport(format!("no answer within {EXCHANGE_TIMEOUT:?}")))
            })
    }

    async fn exchange(&self, request: &HubRequest<'_>) -> Result<HubResponse, HubError> {
        loop {
            let reused = self.idle().pop();
            let (mut sender, fresh) = match reused {
                Some(sender) if !sender.is_closed() => (sender, false),
                Some(_) => continue,
                None => (self.connect().await?, true),
            };
            if sender.ready().await.is_err() {
                if fresh {
                    return Err(self.transport("the connection closed at once"));
                }
                continue;
            }
            match sender.send_request(self.build(request)?).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = response
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| self.transport(e))?
                        .to_bytes();
                    let mut idle = self.idle();
                    if idle.len() < IDLE_CONNECTIONS {
                        idle.push(sender);
                    }
                    return Ok(HubResponse { status, body });
                }
                Err(e) if !fresh && (e.is_canceled() || e.is_closed()) => continue,
                Err(e) => return Err(self.transport(e)),
            }
        }
    }

    /// Sends `body` (JSON) with `method` and parses the JSON answer; an error answer becomes
    /// [`HubError::Api`] with the hub's `Status`.
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: impl Into<Bytes>,
    ) -> Result<T, HubError> {
        self.send(HubRequest::json(method, path, body))
            .await?
            .json(path)
    }

    /// `GET` of a JSON document.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, HubError> {
        self.request(Method::GET, path, Bytes::new()).await
    }

    /// `POST` of a JSON value; returns the answer.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, HubError> {
        self.request(Method::POST, path, to_json(body)?).await
    }

    /// `PUT` of a JSON value (a whole object); returns the answer.
    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, HubError> {
        self.request(Method::PUT, path, to_json(body)?).await
    }

    /// A JSON merge patch (`application/merge-patch+json`) of the object at `path`; returns the
    /// patched object.
    pub async fn patch<T: DeserializeOwned>(
        &self,
        path: &str,
        patch: &impl Serialize,
    ) -> Result<T, HubError> {
        let request = HubRequest {
            content_type: "application/merge-patch+json",
            ..HubRequest::json(Method::PATCH, path, to_json(patch)?)
        };
        self.send(request).await?.json(path)
    }

    /// `DELETE` of the object at `path`; returns the answer (the object or a `Status`).
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, HubError> {
        self.request(Method::DELETE, path, Bytes::new()).await
    }

    /// Opens a streaming `GET` (a watch) on a connection of its own, with no time limit; an
    /// error answer becomes [`HubError::Api`].
    pub async fn stream(&self, path: &str) -> Result<WatchStream, HubError> {
        let mut sender = self.connect().await?;
        let response = sender
            .send_request(self.build(&HubRequest::get(path))?)
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let body = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return Err(HubError::Api(Status::from_answer(status, &body)));
        }
        Ok(WatchStream::new(response.into_body()))
    }
}

fn to_json(body: &impl Serialize) -> Result<Vec<u8>, HubError> {
    serde_json::to_vec(body).map_err(|e| HubError::Config(format!("encoding the request: {e}")))
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient")
            .field("url", &self.inner.url)
            .finish()
    }
}
