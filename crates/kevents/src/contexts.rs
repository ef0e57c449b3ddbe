//! The flags that choose source clusters from a kubeconfig, shared by `kevents collect` and
//! `kevents doctor` (which names clusters the way the collector does).

use clap::Args;
use kevents_collect::{Selection, SourceOptions};
use std::path::PathBuf;

/// Which kubeconfig contexts, and their names on the hub.
#[derive(Args, Debug)]
pub struct ContextFlags {
    /// kubeconfig to read contexts from (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// A source cluster's context; repeat for several (default: the current context).
    #[arg(long = "context", value_name = "CONTEXT")]
    pub contexts: Vec<String>,
    /// Every context of the kubeconfig.
    #[arg(long, conflicts_with = "contexts")]
    pub all_contexts: bool,
    /// The cluster's name on the hub (a DNS-1123 label; default: the context name). `NAME` with
    /// one context, `CONTEXT=NAME` (repeatable) with several.
    #[arg(long = "cluster-name", value_name = "NAME")]
    pub cluster_names: Vec<String>,
}

impl ContextFlags {
    /// The sources these flags choose (`in_cluster`: the pod's own cluster instead).
    pub fn options(&self, in_cluster: bool) -> SourceOptions {
        let selection = if in_cluster {
            Selection::InCluster
        } else if self.all_contexts {
            Selection::All
        } else if !self.contexts.is_empty() {
            Selection::Contexts(self.contexts.clone())
        } else {
            Selection::Current
        };
        SourceOptions {
            kubeconfig: self.kubeconfig.clone(),
            selection,
            names: self.cluster_names.clone(),
        }
    }
}
