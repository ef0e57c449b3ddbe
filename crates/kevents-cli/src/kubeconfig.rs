//! Reads the hub URL from a kubeconfig's current context (`--kubeconfig`).

use crate::error::{CliError, Result};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Kubeconfig {
    #[serde(default)]
    current_context: String,
    #[serde(default)]
    contexts: Vec<Named<ContextSpec>>,
    #[serde(default)]
    clusters: Vec<Named<ClusterSpec>>,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "context")]
    spec: Option<T>,
}

#[derive(Deserialize)]
struct ContextSpec {
    cluster: String,
}

#[derive(Deserialize)]
struct ClusterSpec {
    server: String,
}

/// The `server` of the cluster that the current context of the kubeconfig at `path` names.
pub fn current_server(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("reading kubeconfig {}", path.display()), e))?;
    server_of(&text)
        .map_err(|why| CliError::Invalid(format!("kubeconfig {}: {why}", path.display())))
}

fn server_of(text: &str) -> std::result::Result<String, String> {
    let config: Kubeconfig = serde_saphyr::from_str(text)
        .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())?;
    if config.current_context.is_empty() {
        return Err("no current-context".into());
    }
    let context = config
        .contexts
        .iter()
        .find(|c| c.name == config.current_context)
        .and_then(|c| c.spec.as_ref())
        .ok_or_else(|| format!("context {:?} not found", config.current_context))?;
    config
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.spec.as_ref())
        .map(|c| c.server.clone())
        .ok_or_else(|| format!("cluster {:?} not found", context.cluster))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_context_names_the_server() {
        let text = "apiVersion: v1\nkind: Config\ncurrent-context: hub\ncontexts:\n- name: hub\n  context: {cluster: kevents, user: me}\nclusters:\n- name: other\n  cluster: {server: 'http://10.0.0.1:1'}\n- name: kevents\n  cluster: {server: 'http://127.0.0.1:9000'}\nusers: []\n";
        assert_eq!(server_of(text), Ok("http://127.0.0.1:9000".to_string()));
        assert_eq!(
            server_of("current-context: x\n"),
            Err("context \"x\" not found".to_string())
        );
    }
}
