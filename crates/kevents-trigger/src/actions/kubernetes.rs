//! The Kubernetes action: create the run's object in the event's cluster, through a kubeconfig
//! context named in the trigger or the credentials of the hub's collector for that cluster.
//! The object's name carries the idempotency key, so an attempt after a restart that finds it
//! already there (with the same key in its labels) counts as done, never as a second object.

use super::outcome::Outcome;
use crate::run::ObjectRef;
use kube::api::{Api, DynamicObject, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::discovery::Scope;
use kube::core::GroupVersionKind;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The label carrying a created object's idempotency key.
pub const KEY_LABEL: &str = "kevents.io/idempotency-key";
/// The label naming the trigger that created an object.
pub const TRIGGER_LABEL: &str = "kevents.io/trigger";
/// The label naming the run that created an object.
pub const RUN_LABEL: &str = "kevents.io/trigger-run";

/// The credentials the hub has for clusters, and clients made from them.
pub struct Clusters {
    /// The collectors' configurations, by cluster name.
    collectors: HashMap<String, kube::Config>,
    /// The kubeconfig read for contexts a trigger names without its own file.
    default_kubeconfig: Option<PathBuf>,
    clients: tokio::sync::Mutex<HashMap<String, kube::Client>>,
}

impl Clusters {
    /// Credentials from the hub's collectors (cluster name → configuration), and the
    /// kubeconfig contexts are read from by default.
    pub fn new(
        collectors: HashMap<String, kube::Config>,
        default_kubeconfig: Option<PathBuf>,
    ) -> Clusters {
        Clusters {
            collectors,
            default_kubeconfig,
            clients: Default::default(),
        }
    }

    async fn client(
        &self,
        context: Option<&str>,
        kubeconfig: Option<&Path>,
        cluster: &str,
    ) -> Result<kube::Client, String> {
        let file = kubeconfig.or(self.default_kubeconfig.as_deref());
        let cache_key = match context {
            Some(context) => format!(
                "context\0{}\0{context}",
                file.map(|f| f.display().to_string()).unwrap_or_default()
            ),
            None => format!("cluster\0{cluster}"),
        };
        if let Some(client) = self.clients.lock().await.get(&cache_key) {
            return Ok(client.clone());
        }
        let config = match context {
            Some(context) => {
                let kubeconfig = match file {
                    Some(path) => Kubeconfig::read_from(path),
                    None => Kubeconfig::read(),
                }
                .map_err(|e| format!("reading the kubeconfig: {e}"))?;
                let options = KubeConfigOptions {
                    context: Some(context.to_string()),
                    ..Default::default()
                };
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| format!("kubeconfig context {context:?}: {e}"))?
            }
            None => self.collectors.get(cluster).cloned().ok_or_else(|| {
                format!("no credentials for cluster {cluster:?}: the hub collects no cluster of that name; name a kubeconfig context in the trigger")
            })?,
        };
        let client = kube::Client::try_from(config).map_err(|e| format!("making a client: {e}"))?;
        self.clients.lock().await.insert(cache_key, client.clone());
        Ok(client)
    }

    /// Creates `object` (already rendered, named and labelled) in `cluster`.
    pub async fn create(
        &self,
        context: Option<&str>,
        kubeconfig: Option<&Path>,
        cluster: &str,
        object: &serde_json::Value,
    ) -> Outcome {
        let client = match self.client(context, kubeconfig, cluster).await {
            Ok(client) => client,
            Err(message) => return Outcome::Fail(message),
        };
        let object: DynamicObject = match serde_json::from_value(object.clone()) {
            Ok(object) => object,
            Err(e) => {
                return Outcome::Fail(format!(
                    "the rendered object is not a Kubernetes object: {e}"
                ))
            }
        };
        let Some(types) = object.types.clone() else {
            return Outcome::Fail("the rendered object has no apiVersion and kind".into());
        };
        let (group, version) = match types.api_version.split_once('/') {
            Some((group, version)) => (group.to_string(), version.to_string()),
            None => (String::new(), types.api_version.clone()),
        };
        let gvk = GroupVersionKind::gvk(&group, &version, &types.kind);
        let (resource, capabilities) = match kube::discovery::pinned_kind(&client, &gvk).await {
            Ok(found) => found,
            Err(kube::Error::Discovery(e)) => {
                return Outcome::Fail(format!(
                    "the cluster does not serve {} {}: {e}",
                    types.api_version, types.kind
                ))
            }
            Err(e) => return classify(e),
        };
        let namespace = object.metadata.namespace.clone().unwrap_or_default();
        let api: Api<DynamicObject> = match capabilities.scope {
            Scope::Namespaced => Api::namespaced_with(client, &namespace, &resource),
            Scope::Cluster => Api::all_with(client, &resource),
        };
        let name = object.metadata.name.clone().unwrap_or_default();
        let reference = |created: &DynamicObject| ObjectRef {
            api_version: types.api_version.clone(),
            kind: types.kind.clone(),
            namespace: created.metadata.namespace.clone().unwrap_or_default(),
            name: created.metadata.name.clone().unwrap_or_default(),
            uid: created.metadata.uid.clone().unwrap_or_default(),
        };
        match api.create(&PostParams::default(), &object).await {
            Ok(created) => Outcome::Done {
                message: format!("created {} {}", types.kind, name),
                created: Some(reference(&created)),
            },
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let ours = object
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(KEY_LABEL));
                match api.get(&name).await {
                    Ok(existing)
                        if existing
                            .metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get(KEY_LABEL))
                            == ours =>
                    {
                        Outcome::Done {
                            message: format!(
                                "{} {} was already created by this run",
                                types.kind, name
                            ),
                            created: Some(reference(&existing)),
                        }
                    }
                    Ok(_) => Outcome::Fail(format!(
                        "{} {name} already exists and was not created by this run",
                        types.kind
                    )),
                    Err(e) => classify(e),
                }
            }
            Err(e) => classify(e),
        }
    }
}

/// An error of the apiserver conversation: 429 and 5xx and transport errors may pass; any
/// other answer (forbidden, invalid, not found) is final and carries the apiserver's message.
fn classify(error: kube::Error) -> Outcome {
    match error {
        kube::Error::Api(status) => {
            let message = format!("{} ({}): {}", status.reason, status.code, status.message);
            if status.code == 429 || status.code >= 500 {
                Outcome::Retry(message)
            } else {
                Outcome::Fail(message)
            }
        }
        other => Outcome::Retry(other.to_string()),
    }
}
