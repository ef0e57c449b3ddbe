//! Reads how to reach the hub from a kubeconfig's current context (`--kubeconfig`): the
//! cluster's server and CA, the user's token, token file or client certificate. Relative paths
//! are resolved against the kubeconfig's directory, as kubectl does.

use crate::error::{CliError, Result};
use kevents_http::hub::HubOptions;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Kubeconfig {
    #[serde(default)]
    current_context: String,
    #[serde(default)]
    contexts: Vec<Named<ContextSpec>>,
    #[serde(default)]
    clusters: Vec<Named<ClusterSpec>>,
    #[serde(default)]
    users: Vec<Named<UserSpec>>,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "context", alias = "user")]
    spec: Option<T>,
}

#[derive(Deserialize)]
struct ContextSpec {
    cluster: String,
    #[serde(default)]
    user: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterSpec {
    server: String,
    #[serde(default)]
    certificate_authority: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct UserSpec {
    #[serde(default)]
    token: Option<String>,
    #[serde(default, rename = "tokenFile")]
    token_file: Option<PathBuf>,
    #[serde(default)]
    client_certificate: Option<PathBuf>,
    #[serde(default)]
    client_key: Option<PathBuf>,
}

/// The hub that the current context of the kubeconfig at `path` names.
pub fn current_hub(path: &Path) -> Result<HubOptions> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("reading kubeconfig {}", path.display()), e))?;
    let directory = path.parent().unwrap_or(Path::new("."));
    hub_of(&text, directory)
        .map_err(|why| CliError::Invalid(format!("kubeconfig {}: {why}", path.display())))
}

fn hub_of(text: &str, directory: &Path) -> std::result::Result<HubOptions, String> {
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
    let cluster = config
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.spec.as_ref())
        .ok_or_else(|| format!("cluster {:?} not found", context.cluster))?;
    let user = match &context.user {
        Some(name) => config
            .users
            .iter()
            .find(|u| u.name == *name)
            .and_then(|u| u.spec.as_ref())
            .ok_or_else(|| format!("user {name:?} not found"))?,
        None => &UserSpec::default(),
    };
    let resolve = |file: &Option<PathBuf>| file.as_ref().map(|f| directory.join(f));
    Ok(HubOptions {
        url: cluster.server.clone(),
        token: user.token.clone(),
        token_file: resolve(&user.token_file),
        ca_file: resolve(&cluster.certificate_authority),
        client_certificate: resolve(&user.client_certificate),
        client_key: resolve(&user.client_key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_context_names_the_server() {
        let text = "apiVersion: v1\nkind: Config\ncurrent-context: hub\ncontexts:\n- name: hub\n  context: {cluster: kevents}\nclusters:\n- name: other\n  cluster: {server: 'http://10.0.0.1:1'}\n- name: kevents\n  cluster: {server: 'http://127.0.0.1:9000'}\nusers: []\n";
        let hub = hub_of(text, Path::new("/etc")).expect("reads");
        assert_eq!(hub.url, "http://127.0.0.1:9000");
        assert_eq!((hub.token, hub.ca_file), (None, None));
        assert_eq!(
            hub_of("current-context: x\n", Path::new(".")).map(|h| h.url),
            Err("context \"x\" not found".to_string())
        );
    }

    #[test]
    fn credentials_come_from_the_context_user_relative_to_the_file() {
        let text = "current-context: hub\ncontexts:\n- name: hub\n  context: {cluster: kevents, user: me}\nclusters:\n- name: kevents\n  cluster: {server: 'https://hub:8443', certificate-authority: ca.crt}\nusers:\n- name: other\n  user: {token: wrong}\n- name: me\n  user: {tokenFile: token, client-certificate: /abs/client.crt, client-key: client.key}\n";
        let hub = hub_of(text, Path::new("/etc/kevents")).expect("reads");
        assert_eq!(hub.url, "https://hub:8443");
        assert_eq!(hub.token, None);
        assert_eq!(hub.token_file, Some(PathBuf::from("/etc/kevents/token")));
        assert_eq!(hub.ca_file, Some(PathBuf::from("/etc/kevents/ca.crt")));
        assert_eq!(
            hub.client_certificate,
            Some(PathBuf::from("/abs/client.crt"))
        );
        assert_eq!(
            hub.client_key,
            Some(PathBuf::from("/etc/kevents/client.key"))
        );
        let missing = text.replace("user: me", "user: you");
        assert_eq!(
            hub_of(&missing, Path::new(".")).map(|h| h.url),
            Err("user \"you\" not found".to_string())
        );
    }
}
