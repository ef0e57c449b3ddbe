//! A minimal HTTP/1.1 client for the HTTP sinks: `http://` only, one connection per request,
//! each bounded by a timeout. (The same pattern as kevents-alert's alert delivery client,
//! which is private to that crate; this one also returns the full body for bulk answers.)

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::net::TcpStream;

/// Largest response body read (bulk answers list every item).
const RESPONSE_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A parsed `http://` base URL.
#[derive(Clone, Debug)]
pub struct Endpoint {
    authority: String,
    path: String,
}

impl Endpoint {
    /// Parses `http://host[:port][/path][?query]`; `suffix` is appended to the path.
    pub fn parse(url: &str, suffix: &str) -> Result<Endpoint, String> {
        let uri: Uri = url
            .parse()
            .map_err(|_| format!("{url:?} is not a valid URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                "{url:?}: https is not supported; use http:// (a TLS-terminating proxy if needed)"
            ))
            }
            _ => return Err(format!("{url:?}: the scheme must be http://")),
        }
        let authority = uri
            .authority()
            .filter(|a| !a.host().is_empty() && !a.as_str().contains('@'))
            .ok_or_else(|| format!("{url:?}: needs a host and no credentials in the URL"))?;
        let port = authority.port_u16().unwrap_or(80);
        let base = uri.path().trim_end_matches('/');
        let path = match uri.query() {
            Some(query) if suffix.is_empty() => format!("{}?{query}", uri.path()),
            Some(_) => return Err(format!("{url:?}: a base URL cannot have a query")),
            None if suffix.is_empty() => uri.path().to_string(),
            None => format!("{base}{suffix}"),
        };
        Ok(Endpoint {
            authority: format!("{}:{port}", authority.host()),
            path,
        })
    }

    /// The same server with another path.
    pub fn with_path(&self, path: &str) -> Endpoint {
        Endpoint {
            authority: self.authority.clone(),
            path: path.to_string(),
        }
    }

    /// The path of requests.
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// A response: status and body.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// The start of the body as text, for error messages.
    pub fn snippet(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(300)
            .collect()
    }
}

/// Why no response came back.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The TCP connection failed.
    #[error("connect: {0}")]
    Connect(#[source] std::io::Error),
    /// The exchange failed.
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// The request could not be built (a header with forbidden characters).
    #[error("request: {0}")]
    Request(#[from] hyper::http::Error),
    /// No complete response in time.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

/// Sends one request and reads the whole response.
pub async fn send(
    method: Method,
    endpoint: &Endpoint,
    content_type: &str,
    headers: &[(String, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<Response, HttpError> {
    tokio::time::timeout(
        timeout,
        exchange(method, endpoint, content_type, headers, body),
    )
    .await
    .unwrap_or(Err(HttpError::Timeout(timeout)))
}

async fn exchange(
    method: Method,
    endpoint: &Endpoint,
    content_type: &str,
    headers: &[(String, String)],
    body: Bytes,
) -> Result<Response, HttpError> {
    let stream = TcpStream::connect(&endpoint.authority)
        .await
        .map_err(HttpError::Connect)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let mut request = Request::builder()
        .method(method)
        .uri(endpoint.path.as_str())
        .header(HOST, endpoint.authority.as_str())
        .header(CONTENT_TYPE, content_type)
        .header(USER_AGENT, concat!("kevents/", env!("CARGO_PKG_VERSION")));
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request.body(Full::new(body))?;
    let exchange = async move {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = match Limited::new(response.into_body(), RESPONSE_BODY_LIMIT)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(_) => Bytes::new(),
        };
        Ok::<_, HttpError>(Response { status, body })
    };
    // Driven here rather than spawned, so the timeout also ends the connection.
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
    fn endpoints_append_suffixes_and_refuse_https() {
        let loki = Endpoint::parse("http://127.0.0.1:3100/", "/loki/api/v1/push").unwrap();
        assert_eq!(
            (loki.authority.as_str(), loki.path()),
            ("127.0.0.1:3100", "/loki/api/v1/push")
        );
        let hook = Endpoint::parse("http://hooks.local/in?x=1", "").unwrap();
        assert_eq!(
            (hook.authority.as_str(), hook.path()),
            ("hooks.local:80", "/in?x=1")
        );
        assert!(Endpoint::parse("https://es:9200", "")
            .unwrap_err()
            .contains("https"));
        assert!(Endpoint::parse("http://u:p@es:9200", "").is_err());
        assert!(Endpoint::parse("es:9200", "").is_err());
    }
}
