//! A small HTTP/1.1 client for the hub: JSON requests on a keep-alive connection, and
//! line-delimited watch streams on connections of their own.

use crate::error::{CliError, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::net::SocketAddr;

/// A hub reachable at `http://host:port`.
pub struct Hub {
    url: String,
    address: SocketAddr,
    host: String,
    sender: Option<http1::SendRequest<Full<Bytes>>>,
}

/// A response whose body is read as it arrives (watch streams).
pub struct Stream {
    body: Incoming,
    buffer: Vec<u8>,
}

impl Hub {
    /// Resolves `url` (only `http://` is supported); connects lazily on the first request.
    pub async fn new(url: &str) -> Result<Hub> {
        let url = url.trim_end_matches('/').to_string();
        let connect_error = |reason: String| CliError::Connect {
            url: url.clone(),
            reason,
        };
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(connect_error("only http:// hub URLs are supported".into()));
        };
        let authority = rest.split('/').next().unwrap_or(rest).to_string();
        let with_port = if authority.contains(':') {
            authority.clone()
        } else {
            format!("{authority}:80")
        };
        let address = tokio::net::lookup_host(&with_port)
            .await
            .map_err(|e| connect_error(e.to_string()))?
            .next()
            .ok_or_else(|| connect_error("no address for the host".into()))?;
        Ok(Hub {
            url,
            address,
            host: authority,
            sender: None,
        })
    }

    /// The base URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn connect_error(&self, reason: impl ToString) -> CliError {
        CliError::Connect {
            url: self.url.clone(),
            reason: reason.to_string(),
        }
    }

    async fn open(&self) -> Result<http1::SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(self.address)
            .await
            .map_err(|e| self.connect_error(e))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.connect_error(e))?;
        tokio::spawn(connection);
        Ok(sender)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Request<Full<Bytes>>> {
        Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("kevents-cli/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(body.map(Bytes::from).unwrap_or_default()))
            .map_err(|e| CliError::Invalid(format!("bad request path {path:?}: {e}")))
    }

    /// Sends a request on the keep-alive connection (reconnecting once if the hub closed it);
    /// returns the status and the whole body.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes)> {
        for attempt in 0..2 {
            let mut sender = match self.sender.take() {
                Some(sender) if !sender.is_closed() => sender,
                _ => self.open().await?,
            };
            if sender.ready().await.is_err() {
                continue;
            }
            let request = self.request(method, path, body.clone())?;
            match sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let bytes = response
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| self.connect_error(e))?
                        .to_bytes();
                    self.sender = Some(sender);
                    return Ok((status, bytes));
                }
                // A keep-alive connection the hub closed meanwhile: try once on a new one.
                Err(e) if attempt == 0 && (e.is_canceled() || e.is_closed()) => continue,
                Err(e) => return Err(self.connect_error(e)),
            }
        }
        Err(self.connect_error("the connection was closed"))
    }

    /// GETs `path` and parses the JSON answer; a non-2xx answer becomes [`CliError::Api`].
    pub async fn get_json(&mut self, path: &str) -> Result<Value> {
        let (status, body) = self.send("GET", path, None).await?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| CliError::Protocol(format!("{path}: {e}")))
    }

    /// Opens a streaming GET on a new connection; non-2xx answers become [`CliError::Api`].
    pub async fn stream(&self, path: &str) -> Result<Stream> {
        let mut sender = self.open().await?;
        let request = self.request("GET", path, None)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| self.connect_error(e))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let body = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return Err(api_error(status, &body));
        }
        Ok(Stream {
            body: response.into_body(),
            buffer: Vec::new(),
        })
    }
}

impl Stream {
    /// The next line of the body, without its newline; `None` when the stream ended.
    pub async fn next_line(&mut self) -> std::result::Result<Option<Vec<u8>>, String> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return Ok(Some(line[..line.len() - 1].to_vec()));
            }
            match self.body.frame().await {
                None => {
                    if self.buffer.is_empty() {
                        return Ok(None);
                    }
                    return Ok(Some(std::mem::take(&mut self.buffer)));
                }
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

/// Turns an error answer into one line: the `Status` message when there is one.
pub fn api_error(code: u16, body: &[u8]) -> CliError {
    let message = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    CliError::Api { code, message }
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
