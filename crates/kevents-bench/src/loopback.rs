//! Requests to the hub (or etcd's JSON gateway) under test, on loopback, through the hub client.

use bytes::Bytes;
use kevents_http::hub::{HubClient, HubOptions, HubRequest};
use kevents_http::Method;
use std::net::SocketAddr;

/// A client of the plain-HTTP server at `address`; its clones share keep-alive connections.
pub fn client(address: SocketAddr) -> anyhow::Result<HubClient> {
    Ok(HubClient::new(&HubOptions {
        url: format!("http://{address}"),
        ..HubOptions::default()
    })?)
}

/// One request, answered with its status and body whatever the status.
pub(crate) trait Exchange {
    /// Sends `body` as `content_type` accepting `accept`.
    async fn exchange(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        accept: &str,
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)>;
}

impl Exchange for HubClient {
    async fn exchange(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        accept: &str,
        body: Bytes,
    ) -> anyhow::Result<(u16, Bytes)> {
        let request = HubRequest {
            method: Method::from_bytes(method.as_bytes())?,
            path,
            content_type,
            accept,
            body,
        };
        let response = self.send(request).await?;
        Ok((response.status, response.body))
    }
}
