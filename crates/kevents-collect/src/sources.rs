//! Which clusters to collect from — kubeconfig contexts or the pod's in-cluster service account —
//! and the name each one has on the hub.
//!
//! Connection details (server, CA, token, token file, client certificate, exec plugins) are
//! kube-rs's: a context here becomes exactly the `kube::Config` that kubectl-alike tools use.

use kevents_model::validate_cluster_name;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Which contexts to collect from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The kubeconfig's current context (or in-cluster config when there is no kubeconfig).
    Current,
    /// These contexts, in this order.
    Contexts(Vec<String>),
    /// Every context of the kubeconfig.
    All,
    /// The service account of the pod the collector runs in.
    InCluster,
}

/// Where the sources come from.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// `--kubeconfig`; otherwise `KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// The contexts.
    pub selection: Selection,
    /// `--cluster-name`: `NAME` when one context is selected, or `CONTEXT=NAME`.
    pub names: Vec<String>,
}

/// One cluster to collect from.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its name on the hub (a DNS-1123 label).
    pub name: String,
    /// The kubeconfig context it came from (`None` in-cluster).
    pub context: Option<String>,
    /// How to reach it.
    pub config: kube::Config,
}

/// Why the sources could not be determined.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The kubeconfig could not be read or parsed.
    #[error("kubeconfig: {0}")]
    Kubeconfig(#[source] KubeconfigError),
    /// A selected context does not exist.
    #[error("context {context:?} is not in the kubeconfig (it has: {available})")]
    UnknownContext {
        /// The context asked for.
        context: String,
        /// The contexts the kubeconfig has.
        available: String,
    },
    /// No context was asked for and the kubeconfig names no current one.
    #[error("the kubeconfig has no current-context: pass --context NAME or --all-contexts")]
    NoCurrentContext,
    /// `--all-contexts` on a kubeconfig without contexts.
    #[error("the kubeconfig has no contexts")]
    NoContexts,
    /// A cluster name is not a DNS-1123 label.
    #[error("cluster name {name:?}{origin} is not valid: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Where it came from, e.g. ` (from context "Prod_1"; set one with --cluster-name)`.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two sources would share one cluster name.
    #[error("contexts {first:?} and {second:?} would both be cluster {name:?}: name them apart with --cluster-name CONTEXT=NAME")]
    DuplicateName {
        /// The shared name.
        name: String,
        /// The first context.
        first: String,
        /// The second context.
        second: String,
    },
    /// A `--cluster-name` that does not fit the selection.
    #[error("--cluster-name {0}")]
    NameFlag(String),
    /// A context's connection settings could not be loaded (missing file, bad PEM, …).
    #[error("context {context:?}: {source}")]
    Context {
        /// The context.
        context: String,
        /// What failed.
        #[source]
        source: KubeconfigError,
    },
    /// In-cluster configuration is not available.
    #[error("in-cluster configuration: {0}")]
    InCluster(#[source] kube::config::InClusterError),
}

/// Picks the contexts of `kubeconfig` that `selection` names and gives each its cluster name:
/// `(name, context)` pairs in selection order.
pub fn plan(
    kubeconfig: &Kubeconfig,
    selection: &Selection,
    names: &[String],
) -> Result<Vec<(String, String)>, SourceError> {
    let available = || {
        let names: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        if names.is_empty() {
            "no contexts".to_string()
        } else {
            names.join(", ")
        }
    };
    let exists = |context: &str| kubeconfig.contexts.iter().any(|c| c.name == context);
    let contexts: Vec<String> = match selection {
        Selection::Current | Selection::InCluster => {
            let current = kubeconfig
                .current_context
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or(SourceError::NoCurrentContext)?;
            vec![current]
        }
        Selection::Contexts(list) => {
            let mut unique = Vec::new();
            for context in list {
                if !unique.contains(context) {
                    unique.push(context.clone());
                }
            }
            unique
        }
        Selection::All => kubeconfig.contexts.iter().map(|c| c.name.clone()).collect(),
    };
    if contexts.is_empty() {
        return Err(SourceError::NoContexts);
    }
    if let Some(missing) = contexts.iter().find(|c| !exists(c)) {
        return Err(SourceError::UnknownContext {
            context: missing.clone(),
            available: available(),
        });
    }
    let chosen = chosen_names(&contexts, names)?;
    let mut planned: Vec<(String, String)> = Vec::new();
    for context in contexts {
        let (name, origin) = match chosen.get(&context) {
            Some(name) => (name.clone(), " (from --cluster-name)".to_string()),
            None => (
                context.clone(),
                format!(" (from context {context:?}; set one with --cluster-name)"),
            ),
        };
        validate_cluster_name(&name).map_err(|reason| SourceError::InvalidName {
            name: name.clone(),
            origin,
            reason,
        })?;
        if let Some((_, first)) = planned.iter().find(|(n, _)| *n == name) {
            return Err(SourceError::DuplicateName {
                name,
                first: first.clone(),
                second: context,
            });
        }
        planned.push((name, context));
    }
    Ok(planned)
}

/// Reads `--cluster-name` flags: a bare `NAME` for a single context, else `CONTEXT=NAME`.
fn chosen_names(
    contexts: &[String],
    flags: &[String],
) -> Result<BTreeMap<String, String>, SourceError> {
    let mut chosen = BTreeMap::new();
    for flag in flags {
        let (context, name) = match flag.split_once('=') {
            Some((context, name)) => {
                if !contexts.iter().any(|c| c == context) {
                    return Err(SourceError::NameFlag(format!(
                        "{flag:?}: context {context:?} is not selected"
                    )));
                }
                (context.to_string(), name.to_string())
            }
            None if contexts.len() == 1 && flags.len() == 1 => (contexts[0].clone(), flag.clone()),
            None => {
                return Err(SourceError::NameFlag(format!(
                "{flag:?}: a bare name needs exactly one context; with several, use CONTEXT=NAME"
            )))
            }
        };
        if chosen.insert(context.clone(), name).is_some() {
            return Err(SourceError::NameFlag(format!(
                "{flag:?}: context {context:?} is named twice"
            )));
        }
    }
    Ok(chosen)
}

/// Resolves the sources: reads the kubeconfig (or the in-cluster service account) and builds
/// one `kube::Config` per selected context.
pub async fn load(options: &SourceOptions) -> Result<Vec<Source>, SourceError> {
    if options.selection == Selection::InCluster {
        return in_cluster(&options.names);
    }
    let kubeconfig = match &options.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).map_err(SourceError::Kubeconfig)?,
        None => match Kubeconfig::read() {
            Ok(kubeconfig) => kubeconfig,
            // Inside a pod without a kubeconfig, "the current cluster" is the pod's own.
            Err(_) if options.selection == Selection::Current && in_cluster_available() => {
                return in_cluster(&options.names);
            }
            Err(e) => return Err(SourceError::Kubeconfig(e)),
        },
    };
    let mut sources = Vec::new();
    for (name, context) in plan(&kubeconfig, &options.selection, &options.names)? {
        let select = KubeConfigOptions {
            context: Some(context.clone()),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &select)
            .await
            .map_err(|source| SourceError::Context {
                context: context.clone(),
                source,
            })?;
        sources.push(Source {
            name,
            context: Some(context),
            config,
        });
    }
    Ok(sources)
}

fn in_cluster_available() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
}

fn in_cluster(names: &[String]) -> Result<Vec<Source>, SourceError> {
    let [name] = names else {
        return Err(SourceError::NameFlag(
            "NAME is required once with in-cluster configuration (there is no context to name the cluster after)".into(),
        ));
    };
    validate_cluster_name(name).map_err(|reason| SourceError::InvalidName {
        name: name.clone(),
        origin: " (from --cluster-name)".into(),
        reason,
    })?;
    let config = kube::Config::incluster().map_err(SourceError::InCluster)?;
    Ok(vec![Source {
        name: name.clone(),
        context: None,
        config,
    }])
}

#[cfg(test)]
#[path = "sources_tests.rs"]
mod tests;
