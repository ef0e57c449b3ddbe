//! NATS JetStream over the NATS text protocol: CONNECT, SUB on a reply inbox, HPUB with a
//! `Nats-Msg-Id` header (JetStream drops a repeated ID within the stream's duplicate window),
//! and one JetStream ack per message before the batch counts as delivered.

use crate::delivery::{BoxFuture, Delivery, Encoded, Sink, Verdict};
use crate::layout::{envelope, subject_token};
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// A JetStream publisher.
pub struct Nats {
    /// `host:port`.
    pub address: String,
    /// Subject prefix.
    pub prefix: String,
    /// Stream to create on start, if any.
    pub stream: Option<String>,
    /// Extra CONNECT fields (credentials).
    pub auth: serde_json::Map<String, Value>,
    /// How long a batch waits for its acks.
    pub ack_timeout: Duration,
    /// The connection, opened on demand.
    pub connection: Mutex<Option<Connection>>,
    /// Numbers batches so late acks of an earlier batch are not mistaken for this one's.
    pub batches: AtomicU64,
}

/// An open connection with its reply inbox.
pub struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    inbox: String,
}

/// A message received on the inbox: its subject, header status (e.g. 503: no responders) and
/// payload.
struct Reply {
    subject: String,
    status: Option<u16>,
    payload: Vec<u8>,
}

fn protocol_error(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

impl Connection {
    async fn open(address: &str, auth: &serde_json::Map<String, Value>) -> std::io::Result<Self> {
        let tcp = TcpStream::connect(address).await?;
        tcp.set_nodelay(true)?;
        let (read, writer) = tcp.into_split();
        let mut connection = Connection {
            reader: BufReader::new(read),
            writer,
            inbox: format!("_INBOX.kevents{:016x}", rand::random::<u64>()),
        };
        let mut connect = json!({"verbose": false, "pedantic": false, "headers": true,
            "no_responders": true, "lang": "rust", "name": "kevents",
            "version": env!("CARGO_PKG_VERSION"), "protocol": 1});
        if let Some(fields) = connect.as_object_mut() {
            fields.extend(auth.clone());
        }
        let hello = format!(
            "CONNECT {connect}\r\nPING\r\nSUB {}.> 1\r\n",
            connection.inbox
        );
        connection.writer.write_all(hello.as_bytes()).await?;
        // INFO comes first, then the PONG that confirms CONNECT was accepted.
        loop {
            match connection.next_reply().await? {
                Some(reply) if reply.subject == "PONG" => return Ok(connection),
                _ => continue,
            }
        }
    }

    /// Reads protocol lines until a message arrives; answers PINGs. `Some` with subject `PONG`
    /// reports a PONG; `-ERR` is an error.
    async fn next_reply(&mut self) -> std::io::Result<Option<Reply>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        }
        let line = line.trim_end();
        let mut words = line.split(' ');
        match words.next().unwrap_or("") {
            "PING" => {
                self.writer.write_all(b"PONG\r\n").await?;
                Ok(None)
            }
            "PONG" => Ok(Some(Reply {
                subject: "PONG".into(),
                status: None,
                payload: Vec::new(),
            })),
            "-ERR" => Err(protocol_error(format!("server error: {line}"))),
            op @ ("MSG" | "HMSG") => {
                let fields: Vec<&str> = words.collect();
                let sizes: Vec<usize> = fields.iter().rev().map_while(|f| f.parse().ok()).collect();
                let (header_len, total) = match (op, sizes.as_slice()) {
                    ("MSG", [total, ..]) => (0, *total),
                    ("HMSG", [total, header, ..]) => (*header, *total),
                    _ => return Err(protocol_error(format!("malformed {line:?}"))),
                };
                let mut body = vec![0; total + 2];
                self.reader.read_exact(&mut body).await?;
                body.truncate(total);
                let payload = body.split_off(header_len.min(total));
                let status = std::str::from_utf8(&body)
                    .ok()
                    .and_then(|h| h.lines().next()?.split(' ').nth(1)?.parse().ok());
                Ok(Some(Reply {
                    subject: fields.first().unwrap_or(&"").to_string(),
                    status,
                    payload,
                }))
            }
            _ => Ok(None), // INFO updates and +OK
        }
    }

    /// Publishes `(subject, msg id, payload)` each with its own reply subject and collects the
    /// replies, `None` where none came within `timeout`.
    async fn exchange(
        &mut self,
        batch: u64,
        messages: &[(String, Option<&str>, &[u8])],
        timeout: Duration,
    ) -> std::io::Result<Vec<Option<Reply>>> {
        let mut out = Vec::new();
        for (index, (subject, id, payload)) in messages.iter().enumerate() {
            let reply = format!("{}.{batch}.{index}", self.inbox);
            match id {
                Some(id) => {
                    let headers = format!("NATS/1.0\r\nNats-Msg-Id: {id}\r\n\r\n");
                    let total = headers.len() + payload.len();
                    let line = format!("HPUB {subject} {reply} {} {total}\r\n", headers.len());
                    out.extend_from_slice(line.as_bytes());
                    out.extend_from_slice(headers.as_bytes());
                }
                None => out.extend_from_slice(
                    format!("PUB {subject} {reply} {}\r\n", payload.len()).as_bytes(),
                ),
            }
            out.extend_from_slice(payload);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out).await?;
        let prefix = format!("{}.{batch}.", self.inbox);
        let mut replies: Vec<Option<Reply>> = messages.iter().map(|_| None).collect();
        let mut missing = messages.len();
        let deadline = tokio::time::Instant::now() + timeout;
        while missing > 0 {
            let Ok(next) = tokio::time::timeout_at(deadline, self.next_reply()).await else {
                break;
            };
            let Some(reply) = next? else { continue };
            let index = reply
                .subject
                .strip_prefix(&prefix)
                .and_then(|i| i.parse::<usize>().ok());
            if let Some(slot) = index.and_then(|i| replies.get_mut(i)) {
                if slot.is_none() {
                    missing -= 1;
                }
                *slot = Some(reply);
            }
        }
        Ok(replies)
    }
}

/// Reads a JetStream publish ack: `{"stream","seq"[,"duplicate"]}` or `{"error":{...}}`.
fn ack_verdict(reply: Option<Reply>) -> Verdict {
    let Some(reply) = reply else {
        return Verdict::Retry("no JetStream ack in time".into());
    };
    if reply.status == Some(503) {
        return Verdict::Retry("no JetStream stream listens on the subject (no responders)".into());
    }
    let ack: Value = serde_json::from_slice(&reply.payload).unwrap_or(Value::Null);
    let error = &ack["error"];
    if error.is_object() {
        let reason = format!(
            "JetStream error {}: {}",
            error["err_code"],
            error["description"].as_str().unwrap_or("")
        );
        return match error["code"].as_u64() {
            Some(503) | Some(500) | Some(408) | Some(429) => Verdict::Retry(reason),
            _ => Verdict::Reject(reason),
        };
    }
    if ack["seq"].is_u64() {
        Verdict::Delivered
    } else {
        Verdict::Retry(format!(
            "unexpected ack: {}",
            String::from_utf8_lossy(&reply.payload)
        ))
    }
}

impl Nats {
    /// The subject of an event: `<prefix>.<cluster>.<namespace>.<type>`.
    pub fn subject(&self, delivery: &Delivery) -> String {
        let record = &delivery.event.record;
        format!(
            "{}.{}.{}.{}",
            self.prefix,
            subject_token(&delivery.cluster),
            subject_token(&record.namespace),
            subject_token(&record.event_type)
        )
    }

    async fn exchange(
        &self,
        messages: &[(String, Option<&str>, &[u8])],
    ) -> Result<Vec<Option<Reply>>, String> {
        let mut slot = self.connection.lock().await;
        if slot.is_none() {
            let opened = Connection::open(&self.address, &self.auth).await;
            *slot = Some(opened.map_err(|e| format!("connect to {}: {e}", self.address))?);
        }
        let connection = slot.as_mut().expect("opened above");
        let batch = self.batches.fetch_add(1, Ordering::Relaxed);
        let result = connection.exchange(batch, messages, self.ack_timeout).await;
        result.map_err(|e| {
            *slot = None;
            format!("connection lost: {e}")
        })
    }
}

impl Sink for Nats {
    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
        let key = self.subject(&delivery);
        let payload = Bytes::from(envelope(&delivery).to_string());
        Ok(Encoded {
            delivery,
            payload,
            key,
        })
    }

    fn prepare(&self) -> BoxFuture<'_, Verdict> {
        Box::pin(async move {
            let Some(stream) = &self.stream else {
                return Verdict::Delivered;
            };
            let config = json!({"name": stream, "subjects": [format!("{}.>", self.prefix)],
                "storage": "file", "duplicate_window": 120_000_000_000u64});
            let body = config.to_string();
            let request = [(
                format!("$JS.API.STREAM.CREATE.{stream}"),
                None,
                body.as_bytes(),
            )];
            match self.exchange(&request).await {
                Err(e) => Verdict::Retry(e),
                Ok(mut replies) => {
                    let reply: Value = replies
                        .pop()
                        .flatten()
                        .and_then(|r| serde_json::from_slice(&r.payload).ok())
                        .unwrap_or(Value::Null);
                    match &reply["error"] {
                        Value::Null if reply.is_object() => Verdict::Delivered,
                        // 10058: a stream of that name exists; it is used as it is.
                        error if error["err_code"] == 10058 => Verdict::Delivered,
                        Value::Null => Verdict::Retry("no answer from the JetStream API".into()),
                        error => Verdict::Reject(format!("creating stream {stream}: {error}")),
                    }
                }
            }
        })
    }

    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(async move {
            let messages: Vec<(String, Option<&str>, &[u8])> = batch
                .iter()
                .map(|item| {
                    (
                        item.key.clone(),
                        Some(item.delivery.id.as_str()),
                        &item.payload[..],
                    )
                })
                .collect();
            match self.exchange(&messages).await {
                Ok(replies) => replies.into_iter().map(ack_verdict).collect(),
                Err(e) => crate::delivery::all(batch.len(), Verdict::Retry(e)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: Option<u16>, payload: &str) -> Option<Reply> {
        Some(Reply {
            subject: String::new(),
            status,
            payload: payload.as_bytes().to_vec(),
        })
    }

    #[test]
    fn jetstream_acks_map_to_verdicts() {
        assert_eq!(
            ack_verdict(reply(None, r#"{"stream":"K","seq":7}"#)),
            Verdict::Delivered
        );
        assert_eq!(
            ack_verdict(reply(None, r#"{"stream":"K","seq":7,"duplicate":true}"#)),
            Verdict::Delivered
        );
        assert!(matches!(
            ack_verdict(reply(Some(503), "")),
            Verdict::Retry(_)
        ));
        assert!(matches!(ack_verdict(None), Verdict::Retry(_)));
        let rejected = ack_verdict(reply(
            None,
            r#"{"error":{"code":400,"err_code":10060,"description":"expected stream does not match"}}"#,
        ));
        assert!(matches!(rejected, Verdict::Reject(r) if r.contains("expected stream")));
    }
}
