//! A kubeconfig for reading a hub with kubectl: one context per collected cluster (its
//! `/clusters/<name>` API) plus `kevents-all` for every cluster together.

use serde::Serialize;

/// The name of the context that shows every cluster together.
pub const ALL_CONTEXT: &str = "kevents-all";

/// What goes into the kubeconfig.
#[derive(Debug, Clone, Default)]
pub struct HubKubeconfig {
    /// The hub's URL (`http(s)://host:port`).
    pub server: String,
    /// The clusters to give contexts to.
    pub clusters: Vec<String>,
    /// Prefix of the per-cluster context names.
    pub prefix: String,
    /// CA file for an `https://` hub.
    pub certificate_authority: Option<String>,
    /// Bearer token for the hub.
    pub token: Option<String>,
    /// File holding the bearer token.
    pub token_file: Option<String>,
    /// Client certificate for a hub with client-certificate authentication.
    pub client_certificate: Option<String>,
    /// The client certificate's key.
    pub client_key: Option<String>,
}

/// Why no kubeconfig could be written.
#[derive(Debug, thiserror::Error)]
pub enum HubConfigError {
    /// A cluster's context name would be the all-clusters context's.
    #[error("cluster {0:?} would get the context name {ALL_CONTEXT:?}: choose another --prefix")]
    Collision(String),
    /// YAML encoding failed.
    #[error("encoding the kubeconfig: {0}")]
    Encode(String),
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Config {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    clusters: Vec<Named<ClusterEntry>>,
    users: Vec<Named<UserEntry>>,
    contexts: Vec<Named<ContextEntry>>,
    current_context: &'static str,
}

#[derive(Serialize)]
struct Named<T> {
    name: String,
    #[serde(flatten)]
    value: T,
}

#[derive(Serialize)]
struct ClusterEntry {
    cluster: ClusterSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterSpec {
    server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_authority: Option<String>,
}

#[derive(Serialize)]
struct UserEntry {
    user: UserSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct UserSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(rename = "tokenFile", skip_serializing_if = "Option::is_none")]
    token_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_key: Option<String>,
}

#[derive(Serialize)]
struct ContextEntry {
    context: ContextSpec,
}

#[derive(Serialize)]
struct ContextSpec {
    cluster: String,
    user: &'static str,
}

const USER: &str = "kevents";

/// The kubeconfig as YAML.
pub fn render(spec: &HubKubeconfig) -> Result<String, HubConfigError> {
    let server = spec.server.trim_end_matches('/');
    let mut entries = vec![(ALL_CONTEXT.to_string(), server.to_string())];
    for name in &spec.clusters {
        let context = format!("{}{name}", spec.prefix);
        if context == ALL_CONTEXT {
            return Err(HubConfigError::Collision(name.clone()));
        }
        entries.push((context, format!("{server}/clusters/{name}")));
    }
    let config = Config {
        api_version: "v1",
        kind: "Config",
        clusters: entries
            .iter()
            .map(|(name, url)| Named {
                name: name.clone(),
                value: ClusterEntry {
                    cluster: ClusterSpec {
                        server: url.clone(),
                        certificate_authority: spec.certificate_authority.clone(),
                    },
                },
            })
            .collect(),
        users: vec![Named {
            name: USER.into(),
            value: UserEntry {
                user: UserSpec {
                    token: spec.token.clone(),
                    token_file: spec.token_file.clone(),
                    client_certificate: spec.client_certificate.clone(),
                    client_key: spec.client_key.clone(),
                },
            },
        }],
        contexts: entries
            .iter()
            .map(|(name, _)| Named {
                name: name.clone(),
                value: ContextEntry {
                    context: ContextSpec {
                        cluster: name.clone(),
                        user: USER,
                    },
                },
            })
            .collect(),
        current_context: ALL_CONTEXT,
    };
    serde_saphyr::to_string(&config).map_err(|e| HubConfigError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::config::{KubeConfigOptions, Kubeconfig};

    async fn server_of(yaml: &str, context: &str) -> String {
        let kubeconfig = Kubeconfig::from_yaml(yaml).expect("parses as a kubeconfig");
        let options = KubeConfigOptions {
            context: Some(context.into()),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .expect("context loads");
        assert!(config.auth_info.token.is_some());
        config.cluster_url.to_string()
    }

    #[tokio::test]
    async fn one_context_per_cluster_plus_the_root() {
        let yaml = render(&HubKubeconfig {
            server: "http://hub:8080/".into(),
            clusters: vec!["prod".into(), "staging".into()],
            prefix: "kevents-".into(),
            certificate_authority: None,
            token: Some("t0ken".into()),
            ..HubKubeconfig::default()
        })
        .expect("renders");
        assert_eq!(server_of(&yaml, "kevents-all").await, "http://hub:8080/");
        assert_eq!(
            server_of(&yaml, "kevents-prod").await,
            "http://hub:8080/clusters/prod"
        );
        assert_eq!(
            server_of(&yaml, "kevents-staging").await,
            "http://hub:8080/clusters/staging"
        );
        let kubeconfig = Kubeconfig::from_yaml(&yaml).expect("parses");
        assert_eq!(kubeconfig.api_version.as_deref(), Some("v1"));
        assert_eq!(kubeconfig.current_context.as_deref(), Some("kevents-all"));
        assert_eq!(kubeconfig.contexts.len(), 3);
    }

    #[test]
    fn a_cluster_context_may_not_shadow_the_root_context() {
        let error = render(&HubKubeconfig {
            server: "http://hub:8080".into(),
            clusters: vec!["all".into()],
            prefix: "kevents-".into(),
            certificate_authority: None,
            ..HubKubeconfig::default()
        })
        .expect_err("collides");
        assert!(error.to_string().contains("--prefix"), "{error}");
    }

    #[test]
    fn ca_file_is_on_every_cluster_and_no_token_means_no_token() {
        let yaml = render(&HubKubeconfig {
            server: "https://hub:8443".into(),
            clusters: vec!["a".into()],
            prefix: String::new(),
            certificate_authority: Some("/etc/kevents/ca.crt".into()),
            ..HubKubeconfig::default()
        })
        .expect("renders");
        let kubeconfig = Kubeconfig::from_yaml(&yaml).expect("parses");
        for cluster in &kubeconfig.clusters {
            let spec = cluster.cluster.as_ref().expect("cluster spec");
            assert_eq!(
                spec.certificate_authority.as_deref(),
                Some("/etc/kevents/ca.crt")
            );
        }
        assert!(!yaml.contains("token"), "{yaml}");
        assert_eq!(kubeconfig.contexts[1].name, "a");
    }

    #[test]
    fn token_file_and_client_certificate_go_to_the_user() {
        let yaml = render(&HubKubeconfig {
            server: "https://hub:8443".into(),
            clusters: vec!["a".into()],
            prefix: "kevents-".into(),
            token_file: Some("/etc/kevents/token".into()),
            client_certificate: Some("/etc/kevents/client.crt".into()),
            client_key: Some("/etc/kevents/client.key".into()),
            ..HubKubeconfig::default()
        })
        .expect("renders");
        let kubeconfig = Kubeconfig::from_yaml(&yaml).expect("parses");
        let user = kubeconfig.auth_infos[0].auth_info.as_ref().expect("user");
        assert_eq!(user.token_file.as_deref(), Some("/etc/kevents/token"));
        assert_eq!(
            user.client_certificate.as_deref(),
            Some("/etc/kevents/client.crt")
        );
        assert_eq!(user.client_key.as_deref(), Some("/etc/kevents/client.key"));
        assert!(user.token.is_none());
    }
}
