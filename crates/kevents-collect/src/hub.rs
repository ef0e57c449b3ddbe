//! The hub's cluster endpoints (`/kevents/v1/clusters…`) through kube-rs's HTTP client, which
//! brings TLS, bearer tokens, token files and client certificates exactly as for a cluster.

use http::{Method, Request};
use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach the hub.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// `http://host:port` or `https://host:port`.
    pub url: String,
    /// Bearer token.
    pub token: Option<String>,
    /// File holding the bearer token (re-read when it changes).
    pub token_file: Option<PathBuf>,
    /// CA certificate (PEM) to verify an `https://` hub with.
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for a hub with client-certificate authentication.
    pub client_certificate: Option<PathBuf>,
    /// The client certificate's key (PEM).
    pub client_key: Option<PathBuf>,
}

/// A hub's answer to an ingest request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestAnswer {
    /// Events applied (new, or newer than the hub's version).
    #[serde(default)]
    pub applied: u64,
    /// Events the hub already had at that version or newer.
    #[serde(default)]
    pub skipped: u64,
    /// The cursor the hub now stores for the cluster.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Events refused one by one (not applied).
    #[serde(default)]
    pub errors: Vec<IngestError>,
}

/// One refused event of an ingest request.
#[derive(Debug, Clone, Deserialize)]
pub struct IngestError {
    /// Its position in the request.
    pub index: usize,
    /// Why.
    pub message: String,
}

/// What the hub knows about one cluster.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// The cluster name.
    pub name: String,
    /// The stored cursor (source resourceVersion), if any.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Events the hub holds for it.
    #[serde(default)]
    pub events: u64,
    /// When a collector last wrote (RFC 3339).
    #[serde(default)]
    pub last_contact: Option<String>,
    /// The lag its collector last reported.
    #[serde(default)]
    pub lag_seconds: Option<f64>,
    /// Events received per minute, recently.
    #[serde(default)]
    pub rate_per_minute: Option<f64>,
    /// The hub's own cluster (its `--cluster-name`), which no collector may write into.
    #[serde(default)]
    pub own: bool,
    /// The kevents version its collector last named.
    #[serde(default)]
    pub collector_version: Option<String>,
}

#[derive(Deserialize)]
struct ClusterList {
    #[serde(default)]
    items: Vec<ClusterStatus>,
}

/// Why a hub request failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The hub options do not make a client (bad URL, unreadable CA or certificate).
    #[error("hub client configuration: {0}")]
    Config(String),
    /// The hub answered with an error status.
    #[error("hub answered {code}: {message}")]
    Api {
        /// HTTP status.
        code: u16,
        /// The `Status` message.
        message: String,
    },
    /// The hub could not be reached or the connection broke.
    #[error("hub unreachable: {0}")]
    Transport(String),
    /// The hub's answer was not what the contract says.
    #[error("unexpected hub answer: {0}")]
    Protocol(String),
}

/// A client for the hub's cluster endpoints.
#[derive(Clone)]
pub struct HubClient {
    client: kube::Client,
    url: String,
}

impl HubClient {
    /// Builds the client (no request is made yet).
    pub async fn new(options: &HubOptions) -> Result<HubClient, HubError> {
        let kubeconfig = hub_kubeconfig(options);
        let mut config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| HubError::Config(e.to_string()))?;
        // A hub that stops answering (stopped, partitioned) must fail the attempt so that the
        // batch is retried; ingest answers come after one fsync, well within this.
        config.read_timeout = Some(Duration::from_secs(30));
        config.reset_reader_on_write = true;
        let client = kube::Client::try_from(config).map_err(|e| HubError::Config(e.to_string()))?;
        Ok(HubClient {
            client,
            url: options.url.trim_end_matches('/').to_string(),
        })
    }

    /// The hub's URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn request<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
    ) -> Result<T, HubError> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            // The hub's doctor pairs this version with its own.
            .header(
                "user-agent",
                concat!("kevents-collect/", env!("CARGO_PKG_VERSION")),
            )
            .body(body)
            .map_err(|e| HubError::Config(format!("request {path}: {e}")))?;
        self.client.request(request).await.map_err(|e| match e {
            kube::Error::Api(status) => HubError::Api {
                code: status.code,
                message: status.message.clone(),
            },
            kube::Error::SerdeError(e) => HubError::Protocol(format!("{path}: {e}")),
            other => HubError::Transport(other.to_string()),
        })
    }

    /// Writes a batch (a body made by [`crate::batch::Batch::body`]) for `cluster`.
    pub async fn ingest(&self, cluster: &str, body: Vec<u8>) -> Result<IngestAnswer, HubError> {
        self.request(
            Method::POST,
            &format!("/kevents/v1/clusters/{cluster}/ingest"),
            body,
        )
        .await
    }

    /// What the hub knows about `cluster`; `None` when it has never heard of it.
    pub async fn cluster(&self, cluster: &str) -> Result<Option<ClusterStatus>, HubError> {
        match self
            .request(
                Method::GET,
                &format!("/kevents/v1/clusters/{cluster}"),
                vec![],
            )
            .await
        {
            Ok(status) => Ok(Some(status)),
            Err(HubError::Api { code: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A JSON document the hub serves at `path` (e.g. `/doctor`).
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, HubError> {
        self.request(Method::GET, path, vec![]).await
    }

    /// Sends a JSON merge patch of the object at `path` (a hub resource such as
    /// `/apis/kevents.io/v1/triggers/NAME`) and returns the patched object.
    pub async fn patch(
        &self,
        path: &str,
        patch: &serde_json::Value,
    ) -> Result<serde_json::Value, HubError> {
        let body = serde_json::to_vec(patch).expect("JSON values serialize");
        self.request(Method::PATCH, path, body).await
    }

    /// Every cluster the hub knows.
    pub async fn clusters(&self) -> Result<Vec<ClusterStatus>, HubError> {
        let list: ClusterList = self
            .request(Method::GET, "/kevents/v1/clusters", vec![])
            .await?;
        Ok(list.items)
    }
}

impl HubError {
    /// The hub refused the request itself (4xx other than timeouts and rate limits): retrying
    /// the same request will not help until someone fixes the cause.
    pub fn is_refusal(&self) -> bool {
        matches!(self, HubError::Api { code, .. } if (400..500).contains(code) && *code != 408 && *code != 429)
    }
}

/// The hub as a one-context kubeconfig, so kube-rs loads its CA, token and certificate files.
fn hub_kubeconfig(options: &HubOptions) -> Kubeconfig {
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.to_string_lossy().into_owned());
    Kubeconfig {
        clusters: vec![NamedCluster {
            name: "hub".into(),
            cluster: Some(Cluster {
                server: Some(options.url.clone()),
                certificate_authority: path(&options.ca_file),
                ..Cluster::default()
            }),
            other: Default::default(),
        }],
        auth_infos: vec![NamedAuthInfo {
            name: "hub".into(),
            auth_info: Some(AuthInfo {
                token: options.token.clone().map(Into::into),
                token_file: path(&options.token_file),
                client_certificate: path(&options.client_certificate),
                client_key: path(&options.client_key),
                ..AuthInfo::default()
            }),
            other: Default::default(),
        }],
        contexts: vec![NamedContext {
            name: "hub".into(),
            context: Some(Context {
                cluster: "hub".into(),
                user: Some("hub".into()),
                ..Context::default()
            }),
            other: Default::default(),
        }],
        current_context: Some("hub".into()),
        ..Kubeconfig::default()
    }
}
