//! Syslog RFC 5424 over TCP or TLS with octet-counting framing. Syslog has no
//! acknowledgement, so a broken connection resends the batch.

use crate::delivery::{all, BoxFuture, Delivery, Encoded, Sink, Verdict};
use crate::layout::SyslogLayout;
use crate::sinks::common::joined;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;

/// A byte stream to the receiver (TCP or TLS).
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Connection = Box<dyn Stream>;

/// True when the receiver has closed the connection (or it failed). Syslog receivers never
/// write, so a read that is ready means end of stream; checking before a batch avoids writing
/// into a connection whose peer is gone, where the kernel would accept and then drop the data.
async fn closed_by_peer(connection: &mut Connection) -> bool {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(std::time::Duration::ZERO, connection.read(&mut byte)).await {
        Err(_) => false,
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) => false,
    }
}

/// Syslog over TCP (or TLS), one connection kept open between batches.
pub struct Syslog {
    /// `host:port`.
    pub address: String,
    /// The message layout.
    pub layout: SyslogLayout,
    /// TLS settings, when the receiver speaks RFC 5425.
    pub tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
    /// The open connection, if any.
    pub connection: Mutex<Option<Connection>>,
}

impl Syslog {
    async fn connect(&self) -> std::io::Result<Connection> {
        let tcp = tokio::net::TcpStream::connect(&self.address).await?;
        tcp.set_nodelay(true)?;
        Ok(match &self.tls {
            Some((connector, name)) => Box::new(connector.connect(name.clone(), tcp).await?),
            None => Box::new(tcp),
        })
    }
}

impl Sink for Syslog {
    fn encode(&self, delivery: Delivery) -> Result<Encoded, (Delivery, String)> {
        let payload = Bytes::from(self.layout.frame(&delivery));
        Ok(Encoded {
            delivery,
            payload,
            key: String::new(),
        })
    }

    fn send<'a>(&'a self, batch: &'a [Encoded]) -> BoxFuture<'a, Vec<Verdict>> {
        Box::pin(async move {
            let mut slot = self.connection.lock().await;
            if let Some(connection) = slot.as_mut() {
                if closed_by_peer(connection).await {
                    *slot = None;
                }
            }
            let connection = match slot.as_mut() {
                Some(connection) => connection,
                None => match self.connect().await {
                    Ok(connection) => slot.insert(connection),
                    Err(e) => {
                        return all(batch.len(), Verdict::Retry(format!("connect: {e}")));
                    }
                },
            };
            let data = joined(batch);
            let written = tokio::time::timeout(std::time::Duration::from_secs(30), async {
                connection.write_all(&data).await?;
                connection.flush().await
            })
            .await
            .unwrap_or_else(|_| Err(std::io::Error::other("write timed out")));
            match written {
                Ok(()) => all(batch.len(), Verdict::Delivered),
                Err(e) => {
                    // The receiver may have part of the batch: resending it can duplicate.
                    *slot = None;
                    all(batch.len(), Verdict::Retry(format!("write: {e}")))
                }
            }
        })
    }
}
