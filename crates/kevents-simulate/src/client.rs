//! A minimal keep-alive HTTP/1.1 client for sending events to a hub over plain HTTP.

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use kevents_model::wire::EventView;
use kevents_model::{ApiGroup, EventRecord};
use serde_json::json;
use std::net::SocketAddr;

/// One connection to a hub.
pub struct HubClient {
    host: String,
    sender: http1::SendRequest<Full<Bytes>>,
}

/// Resolves `http://host:port` (a path after it is ignored).
pub async fn resolve(url: &str) -> anyhow::Result<(SocketAddr, String)> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("only http:// hub URLs are supported, got {url:?}");
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let with_port = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let address = tokio::net::lookup_host(&with_port)
        .await
        .with_context(|| format!("resolving {authority}"))?
        .next()
        .with_context(|| format!("no address for {authority}"))?;
    Ok((address, authority.to_string()))
}

impl HubClient {
    /// Opens a connection.
    pub async fn connect(address: SocketAddr, host: &str) -> anyhow::Result<HubClient> {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .with_context(|| format!("connecting to {address}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(HubClient {
            host: host.to_string(),
            sender,
        })
    }

    /// Sends a request; returns the status and body.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        accept: &str,
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("content-type", content_type)
            .header("accept", accept)
            .body(Full::new(body))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Creates `event` through core/v1; returns the HTTP status.
    pub async fn create(&mut self, event: &EventRecord) -> anyhow::Result<u16> {
        let body = serde_json::to_vec(&EventView::new(event, ApiGroup::Core))?;
        let path = format!("/api/v1/namespaces/{}/events", event.namespace);
        let (status, _) = self
            .request(
                "POST",
                &path,
                "application/json",
                "application/json",
                body.into(),
            )
            .await?;
        Ok(status)
    }

    /// Records a repeat like client-go's legacy recorder: a strategic merge PATCH of `count`,
    /// `lastTimestamp` and `message`, falling back to a create when the event is gone.
    pub async fn repeat(&mut self, event: &EventRecord) -> anyhow::Result<u16> {
        let patch = json!({
            "count": event.count,
            "lastTimestamp": event.last_timestamp.map(|t| t.to_time_string()),
            "message": event.message,
        });
        let path = format!(
            "/api/v1/namespaces/{}/events/{}",
            event.namespace, event.name
        );
        let (status, _) = self
            .request(
                "PATCH",
                &path,
                "application/strategic-merge-patch+json",
                "application/json",
                serde_json::to_vec(&patch)?.into(),
            )
            .await?;
        if status == 404 {
            return self.create(event).await;
        }
        Ok(status)
    }
}
