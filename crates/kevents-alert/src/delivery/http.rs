//! A minimal HTTP/1.1 client for posting JSON to a receiver: `http://` only, one connection per
//! request, every request bounded by [`REQUEST_TIMEOUT`].

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long one request may take, from connecting to reading the response.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a response body is kept for logs.
const RESPONSE_BODY_LIMIT: usize = 64 * 1024;
const LOGGED_BODY_CHARS: usize = 200;

/// A receiver's URL, parsed once at configuration time.
#[derive(Clone, Debug)]
pub(super) struct Endpoint {
    /// `host:port`, as the TCP connection and the `Host` header need it.
    authority: String,
    /// Path and query of the request line.
    path: String,
}

/// Why a URL cannot be used as a receiver.
pub(super) type UrlProblem = &'static str;

impl Endpoint {
    /// Parses an `http://host[:port][/path]` URL; `suffix` is appended to its path (for the
    /// Alertmanager API below a base URL).
    pub(super) fn parse(url: &str, suffix: &str) -> Result<Endpoint, UrlProblem> {
        let uri: Uri = url.parse().map_err(|_| "not a valid URL")?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(
                    "https is not supported: use http:// (a TLS-terminating proxy if needed)",
                )
            }
            _ => return Err("the scheme must be http://"),
        }
        let authority = uri.authority().ok_or("the URL has no host")?;
        if authority.as_str().contains('@') {
            return Err("credentials in the URL are not supported");
        }
        if authority.host().is_empty() {
            return Err("the URL has no host");
        }
        let port = authority.port_u16().unwrap_or(80);
        let base_path = uri.path().trim_end_matches('/');
        let path = match (suffix.is_empty(), uri.query()) {
            (true, Some(query)) => format!("{}?{query}", uri.path()),
            (true, None) => uri.path().to_string(),
            (false, None) => format!("{base_path}{suffix}"),
            (false, Some(_)) => return Err("a base URL cannot have a query"),
        };
        Ok(Endpoint {
            authority: format!("{}:{port}", authority.host()),
            path,
        })
    }
}

/// What the receiver answered.
#[derive(Debug)]
pub(super) struct Response {
    /// The HTTP status.
    pub(super) status: StatusCode,
    /// The start of the body, for logs.
    pub(super) body: String,
}

/// Why no response was received.
#[derive(Debug, thiserror::Error)]
pub(super) enum HttpError {
    /// The TCP connection failed.
    #[error("connect: {0}")]
    Connect(#[source] std::io::Error),
    /// The HTTP exchange failed.
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// The request could not be built (a header value with forbidden characters).
    #[error("request: {0}")]
    Request(#[from] hyper::http::Error),
    /// No complete response within [`REQUEST_TIMEOUT`].
    #[error("no response within {}s", REQUEST_TIMEOUT.as_secs())]
    Timeout,
}

/// POSTs a JSON body with extra headers and returns the receiver's status.
pub(super) async fn post_json(
    endpoint: &Endpoint,
    headers: &[(&'static str, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<Response, HttpError> {
    tokio::time::timeout(timeout, exchange(endpoint, headers, body))
        .await
        .unwrap_or(Err(HttpError::Timeout))
}

async fn exchange(
    endpoint: &Endpoint,
    headers: &[(&'static str, String)],
    body: Bytes,
) -> Result<Response, HttpError> {
    let stream = TcpStream::connect(&endpoint.authority)
        .await
        .map_err(HttpError::Connect)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;

    let mut request = Request::post(endpoint.path.as_str())
        .header(HOST, endpoint.authority.as_str())
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, concat!("kevents/", env!("CARGO_PKG_VERSION")));
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let request = request.body(Full::new(body))?;

    let exchange = async move {
        let response = sender.send_request(request).await?;
        let status = response.status();
        // The body only serves the log line; a broken or oversized body does not change the status.
        let body = match Limited::new(response.into_body(), RESPONSE_BODY_LIMIT)
            .collect()
            .await
        {
            Ok(collected) => String::from_utf8_lossy(&collected.to_bytes())
                .chars()
                .take(LOGGED_BODY_CHARS)
                .collect(),
            Err(_) => String::new(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertmanager_base_url_gets_the_api_path_appended() {
        let endpoint = Endpoint::parse("http://127.0.0.1:9093/", "/api/v2/alerts").unwrap();
        assert_eq!(endpoint.authority, "127.0.0.1:9093");
        assert_eq!(endpoint.path, "/api/v2/alerts");
        let prefixed = Endpoint::parse("http://am.example/prefix", "/api/v2/alerts").unwrap();
        assert_eq!(prefixed.authority, "am.example:80");
        assert_eq!(prefixed.path, "/prefix/api/v2/alerts");
    }

    #[test]
    fn webhook_url_keeps_its_path_and_query() {
        let endpoint = Endpoint::parse("http://[::1]:8080/hook?team=a", "").unwrap();
        assert_eq!(endpoint.authority, "[::1]:8080");
        assert_eq!(endpoint.path, "/hook?team=a");
    }

    #[test]
    fn https_and_other_schemes_are_rejected_with_a_reason() {
        let https = Endpoint::parse("https://am:9093", "").unwrap_err();
        assert!(https.contains("https"), "{https}");
        assert!(Endpoint::parse("ftp://am", "").is_err());
        assert!(Endpoint::parse("am:9093", "").is_err());
        assert!(Endpoint::parse("http://user:pw@am", "").is_err());
    }
}
