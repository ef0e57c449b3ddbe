//! Outgoing HTTP/1.1: the client of alert delivery and the HTTP event sinks (`http://` and
//! `https://`: rustls, system roots plus an optional CA file, one connection per request, every
//! request bounded by a timeout from connecting to reading the whole response), the HMAC
//! signature both kinds of webhook carry, and the client of a kevents hub ([`hub`]: token, CA,
//! client certificate, keep-alive, `Status` errors, watch streams).
#![warn(missing_docs)]

mod endpoint;
pub mod hub;
mod signature;
pub mod tls;

#[cfg(test)]
mod tests;

pub use endpoint::{Endpoint, UrlError};
pub use hyper::Method;
pub use signature::{signature, SIGNATURE_HEADER};
pub use tls::CaFileError;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Largest response body read by default (bulk answers list every item).
const DEFAULT_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Sends requests to one server, over TLS for `https://`.
#[derive(Clone)]
pub struct Client {
    endpoint: Endpoint,
    tls: Option<TlsConnector>,
    body_limit: usize,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Client {
    /// A client for `endpoint`. For `https://` it trusts the system's root certificates and those
    /// of `ca_file`; a given `ca_file` is read (and refused when unusable) for `http://` too, so a
    /// broken file is found at load rather than when the URL changes.
    pub fn new(endpoint: Endpoint, ca_file: Option<&Path>) -> Result<Client, CaFileError> {
        let tls = if endpoint.is_https() {
            let mut config = tls::client_config(tls::system_roots_and(ca_file)?);
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(TlsConnector::from(Arc::new(config)))
        } else {
            if let Some(path) = ca_file {
                tls::load_ca_file(path)?;
            }
            None
        };
        Ok(Client {
            endpoint,
            tls,
            body_limit: DEFAULT_BODY_LIMIT,
        })
    }

    /// Reads at most `limit` bytes of response bodies; a longer body reads as empty.
    pub fn with_body_limit(mut self, limit: usize) -> Client {
        self.body_limit = limit;
        self
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends one request and reads the whole response, all within `timeout`.
    pub async fn send(
        &self,
        request: Request<'_>,
        timeout: Duration,
    ) -> Result<Response, HttpError> {
        tokio::time::timeout(timeout, self.exchange(request))
            .await
            .unwrap_or(Err(HttpError::Timeout(timeout)))
    }

    async fn exchange(&self, request: Request<'_>) -> Result<Response, HttpError> {
        let request = self.build(request)?;
        let address = self.endpoint.address();
        let tcp = TcpStream::connect(address)
            .await
            .map_err(|source| HttpError::Connect {
                address: address.to_string(),
                source,
            })?;
        match (&self.tls, self.endpoint.server_name()) {
            (Some(connector), Some(name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|source| HttpError::Tls {
                        address: address.to_string(),
                        source,
                    })?;
                self.over(TokioIo::new(stream), request).await
            }
            _ => self.over(TokioIo::new(tcp), request).await,
        }
    }

    fn build(&self, request: Request<'_>) -> Result<hyper::Request<Full<Bytes>>, HttpError> {
        let mut builder = hyper::Request::builder()
            .method(request.method)
            .uri(request.path.unwrap_or(self.endpoint.path()))
            .header(HOST, self.endpoint.host())
            .header(CONTENT_TYPE, request.content_type)
            .header(USER_AGENT, concat!("kevents/", env!("CARGO_PKG_VERSION")));
        for (name, value) in request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        Ok(builder.body(Full::new(request.body))?)
    }

    async fn over<Io>(
        &self,
        io: Io,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<Response, HttpError>
    where
        Io: hyper::rt::Read + hyper::rt::Write + Unpin,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
        let limit = self.body_limit;
        let exchange = async move {
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let body = match Limited::new(response.into_body(), limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => Bytes::new(),
            };
            Ok::<_, HttpError>(Response { status, body })
        };
        // The connection is driven here rather than spawned, so the timeout also ends it.
        let mut connection = std::pin::pin!(connection);
        let mut exchange = std::pin::pin!(exchange);
        tokio::select! {
            biased;
            result = &mut exchange => result,
            ended = &mut connection => {
                ended?;
                exchange.await
            }
        }
    }
}

/// One request to a [`Client`]'s server.
#[derive(Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: Method,
    /// Path and query; the endpoint's when `None`.
    pub path: Option<&'a str>,
    /// The `Content-Type` of `body`.
    pub content_type: &'a str,
    /// Further headers.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: Bytes,
}

impl<'a> Request<'a> {
    /// `POST` of a JSON body to the endpoint's path.
    pub fn post_json(body: Bytes, headers: &'a [(String, String)]) -> Request<'a> {
        Request {
            method: Method::POST,
            path: None,
            content_type: "application/json",
            headers,
            body,
        }
    }
}

/// A response: status and body.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The body, empty when longer than the client's limit.
    pub body: Bytes,
}

impl Response {
    /// The start of the body as text, for logs and error messages.
    pub fn snippet(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(300)
            .collect()
    }

    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why no response came back.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The TCP connection failed.
    #[error("connect to {address}: {source}")]
    Connect {
        /// `host:port`.
        address: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TLS handshake failed: most often the server's certificate is not signed by a trusted
    /// CA (`caFile`) or not valid for the URL's host.
    #[error("TLS handshake with {address}: {source}")]
    Tls {
        /// `host:port`.
        address: String,
        /// The rustls error, wrapped by tokio-rustls.
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// The request could not be built (a header with forbidden characters).
    #[error("request: {0}")]
    Request(#[from] hyper::http::Error),
    /// No complete response in time.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}
