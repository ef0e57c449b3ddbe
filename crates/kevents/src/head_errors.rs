//! Status bodies for the answers the HTTP server gives before the router sees a request.
//!
//! hyper answers a request target longer than its fixed 65,534-byte limit with `414` and a
//! request head larger than its read buffer with `431`, both with an empty body. Clients of the
//! Kubernetes API expect a `Status` object; [`StatusOnHeadErrors`] wraps a connection's stream
//! and rewrites exactly those two automatic answers as the same status with a `Status` body.

use kevents_api::ApiError;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The start of one of hyper's automatic answers, and the error it stands for.
type Automatic = (&'static [u8], fn() -> ApiError);

/// The answers hyper writes on its own, without a body, that get a Status body here.
const AUTOMATIC: [Automatic; 2] = [
    (b"HTTP/1.1 414 ", ApiError::uri_too_long),
    (b"HTTP/1.1 431 ", ApiError::request_head_too_large),
];

/// A connection stream whose automatic `414` and `431` answers carry a `Status` body.
pub struct StatusOnHeadErrors<S> {
    inner: S,
    /// A rewritten answer not yet fully written, and how many bytes of hyper's it replaces.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> StatusOnHeadErrors<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        StatusOnHeadErrors {
            inner,
            pending: None,
        }
    }
}

/// The answer to write instead of `written`, when `written` is one of hyper's automatic
/// answers: a whole response head with `content-length: 0` and nothing after it. Bodies never
/// match: JSON, YAML and the metrics text escape carriage returns, and every
/// response the router builds for these codes has a body.
fn rewritten(written: &[u8]) -> Option<Vec<u8>> {
    let (_, error) = AUTOMATIC
        .iter()
        .find(|(start, _)| written.starts_with(start))?;
    if written.len() > 512 || !written.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(&written[..written.len() - 2]).ok()?;
    let lines: Vec<&str> = head.split_terminator("\r\n").collect();
    if !lines
        .iter()
        .any(|l| l.eq_ignore_ascii_case("content-length: 0"))
    {
        return None;
    }
    let body = serde_json::to_vec(&error().to_status()).expect("Status always serializes");
    let mut answer = Vec::with_capacity(written.len() + body.len() + 64);
    for line in lines
        .iter()
        .filter(|l| !l.eq_ignore_ascii_case("content-length: 0"))
    {
        answer.extend_from_slice(line.as_bytes());
        answer.extend_from_slice(b"\r\n");
    }
    answer.extend_from_slice(b"content-type: application/json\r\n");
    answer.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    answer.extend_from_slice(&body);
    Some(answer)
}

impl<S: AsyncRead + Unpin> AsyncRead for StatusOnHeadErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StatusOnHeadErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.pending.is_none() {
            match rewritten(buf) {
                Some(answer) => self.pending = Some((answer, buf.len())),
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        let this = &mut *self;
        let (answer, replaced) = this.pending.as_mut().expect("set above");
        while !answer.is_empty() {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, answer))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            answer.drain(..n);
        }
        let replaced = *replaced;
        this.pending = None;
        Poll::Ready(Ok(replaced))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    // Writes stay unvectored so that a response head reaches `poll_write` in one piece.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_empty_414_and_431_get_a_status_body() {
        for (code, head) in [
            (414, "HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n"),
            (431, "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n"),
        ] {
            let answer = String::from_utf8(rewritten(head.as_bytes()).unwrap()).unwrap();
            let (head, body) = answer.split_once("\r\n\r\n").unwrap();
            assert!(head.starts_with(&format!("HTTP/1.1 {code} ")));
            assert!(head.contains("date: "));
            assert!(head.contains(&format!("content-length: {}", body.len())));
            let status: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(status["kind"], "Status");
            assert_eq!(status["code"], code);
        }
    }

    #[test]
    fn other_writes_pass_unchanged() {
        for write in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 12\r\n\r\n",
            b"{\"kind\":\"Status\"}",
        ] {
            assert!(rewritten(write).is_none());
        }
    }

    #[tokio::test]
    async fn the_rewritten_answer_is_written_whole() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (client, server) = tokio::io::duplex(16);
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        let writer = tokio::spawn(async move {
            let mut wrapped = StatusOnHeadErrors::new(server);
            wrapped.write_all(head).await.unwrap();
            wrapped.shutdown().await.unwrap();
        });
        let mut received = String::new();
        let mut client = client;
        client.read_to_string(&mut received).await.unwrap();
        writer.await.unwrap();
        assert!(received.starts_with("HTTP/1.1 431 "));
        assert!(received.ends_with('}'), "{received}");
    }
}
