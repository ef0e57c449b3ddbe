use super::*;
use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::path::Path;

const THREE_CONTEXTS: &str = "
apiVersion: v1
kind: Config
current-context: staging
clusters:
- {name: c-prod, cluster: {server: 'https://prod.example:6443'}}
- {name: c-staging, cluster: {server: 'http://127.0.0.1:1'}}
- {name: c-odd, cluster: {server: 'http://127.0.0.1:2'}}
users:
- {name: u, user: {token: secret-token}}
contexts:
- {name: prod, context: {cluster: c-prod, user: u}}
- {name: staging, context: {cluster: c-staging, user: u}}
- {name: Odd_Name, context: {cluster: c-odd, user: u}}
";

fn kubeconfig(text: &str) -> Kubeconfig {
    Kubeconfig::from_yaml(text).expect("test kubeconfig parses")
}

fn contexts(list: &[&str]) -> Selection {
    Selection::Contexts(list.iter().map(|c| c.to_string()).collect())
}

fn flags(list: &[&str]) -> Vec<String> {
    list.iter().map(|f| f.to_string()).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, c)| (n.to_string(), c.to_string()))
        .collect()
}

#[test]
fn default_is_the_current_context_named_after_itself() {
    let planned = plan(&kubeconfig(THREE_CONTEXTS), &Selection::Current, &[]);
    assert_eq!(planned.ok(), Some(pairs(&[("staging", "staging")])));
}

#[test]
fn repeated_context_flags_select_in_order_once_each() {
    let planned = plan(
        &kubeconfig(THREE_CONTEXTS),
        &contexts(&["staging", "prod", "staging"]),
        &[],
    );
    assert_eq!(
        planned.ok(),
        Some(pairs(&[("staging", "staging"), ("prod", "prod")]))
    );
}

#[test]
fn unknown_context_lists_the_ones_there_are() {
    let error =
        plan(&kubeconfig(THREE_CONTEXTS), &contexts(&["dev"]), &[]).expect_err("dev is not there");
    assert_eq!(
        error.to_string(),
        "context \"dev\" is not in the kubeconfig (it has: prod, staging, Odd_Name)"
    );
}

#[test]
fn all_contexts_needs_valid_names_or_a_mapping() {
    let error = plan(&kubeconfig(THREE_CONTEXTS), &Selection::All, &[]).expect_err("Odd_Name");
    assert_eq!(
        error.to_string(),
        "cluster name \"Odd_Name\" (from context \"Odd_Name\"; set one with --cluster-name) is not valid: 'O' is not allowed: a DNS-1123 label has lowercase letters, digits and '-'"
    );
    let planned = plan(
        &kubeconfig(THREE_CONTEXTS),
        &Selection::All,
        &flags(&["Odd_Name=odd"]),
    );
    assert_eq!(
        planned.ok(),
        Some(pairs(&[
            ("prod", "prod"),
            ("staging", "staging"),
            ("odd", "Odd_Name")
        ]))
    );
}

#[test]
fn cluster_name_renames_a_single_context() {
    let planned = plan(
        &kubeconfig(THREE_CONTEXTS),
        &contexts(&["prod"]),
        &flags(&["eu-prod-1"]),
    );
    assert_eq!(planned.ok(), Some(pairs(&[("eu-prod-1", "prod")])));
}

#[test]
fn bare_cluster_name_with_several_contexts_is_refused() {
    let error = plan(
        &kubeconfig(THREE_CONTEXTS),
        &contexts(&["prod", "staging"]),
        &flags(&["one"]),
    )
    .expect_err("ambiguous");
    assert!(error.to_string().contains("use CONTEXT=NAME"), "{error}");
    let error = plan(
        &kubeconfig(THREE_CONTEXTS),
        &contexts(&["prod"]),
        &flags(&["staging=x"]),
    )
    .expect_err("staging is not selected");
    assert!(error.to_string().contains("is not selected"), "{error}");
}

#[test]
fn two_contexts_may_not_share_a_cluster_name() {
    let error = plan(
        &kubeconfig(THREE_CONTEXTS),
        &contexts(&["prod", "staging"]),
        &flags(&["staging=prod"]),
    )
    .expect_err("duplicate");
    assert_eq!(
        error.to_string(),
        "contexts \"prod\" and \"staging\" would both be cluster \"prod\": name them apart with --cluster-name CONTEXT=NAME"
    );
}

#[test]
fn no_current_context_asks_for_a_flag() {
    let text = THREE_CONTEXTS.replace("current-context: staging", "");
    let error = plan(&kubeconfig(&text), &Selection::Current, &[]).expect_err("no current");
    assert!(error.to_string().contains("--context"), "{error}");
}

/// A CA and a client certificate it signed, as PEM: (ca cert, client cert, client key).
fn pki() -> (String, String, String) {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test ca");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let client_key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "collector");
    let client = params.signed_by(&client_key, &issuer).expect("client");
    (ca.pem(), client.pem(), client_key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write test file");
}

async fn load_all(path: &Path) -> Result<Vec<Source>, SourceError> {
    load(&SourceOptions {
        kubeconfig: Some(path.to_path_buf()),
        selection: Selection::All,
        names: vec![],
    })
    .await
}

#[tokio::test]
async fn token_client_certificate_and_ca_files_resolve_next_to_the_kubeconfig() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = pki();
    write(dir.path(), "ca.crt", &ca);
    write(dir.path(), "client.crt", &cert);
    write(dir.path(), "client.key", &key);
    write(dir.path(), "token", "file-token\n");
    write(
        dir.path(),
        "config",
        "
apiVersion: v1
kind: Config
clusters:
- {name: tls, cluster: {server: 'https://127.0.0.1:6443', certificate-authority: ca.crt}}
- {name: plain, cluster: {server: 'http://127.0.0.1:8080'}}
users:
- {name: cert, user: {client-certificate: client.crt, client-key: client.key}}
- {name: bearer, user: {token: inline-token}}
- {name: bearer-file, user: {tokenFile: token}}
contexts:
- {name: by-cert, context: {cluster: tls, user: cert}}
- {name: by-token, context: {cluster: plain, user: bearer}}
- {name: by-token-file, context: {cluster: tls, user: bearer-file}}
",
    );
    let sources = load_all(&dir.path().join("config")).await.expect("loads");
    let names: Vec<_> = sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["by-cert", "by-token", "by-token-file"]);

    let by_cert = &sources[0].config;
    assert_eq!(by_cert.cluster_url.to_string(), "https://127.0.0.1:6443/");
    assert_eq!(by_cert.root_cert.as_ref().map(Vec::len), Some(1));
    let cert_path = by_cert.auth_info.client_certificate.as_deref();
    assert_eq!(
        cert_path.map(Path::new),
        Some(dir.path().join("client.crt").as_path()),
        "relative paths are relative to the kubeconfig"
    );
    kube::Client::try_from(by_cert.clone()).expect("client with certificate and CA");

    let by_token = &sources[1].config;
    assert!(by_token.auth_info.token.is_some());
    assert!(by_token.root_cert.is_none());
    kube::Client::try_from(by_token.clone()).expect("client with token");

    let by_token_file = &sources[2].config;
    assert_eq!(
        by_token_file.auth_info.token_file.as_deref().map(Path::new),
        Some(dir.path().join("token").as_path())
    );
    kube::Client::try_from(by_token_file.clone()).expect("client with token file");
}

#[tokio::test]
async fn inline_certificate_and_ca_data_are_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = pki();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    write(
        dir.path(),
        "config",
        &format!(
            "
apiVersion: v1
kind: Config
current-context: inline
clusters:
- {{name: c, cluster: {{server: 'https://127.0.0.1:6443', certificate-authority-data: {}}}}}
users:
- {{name: u, user: {{client-certificate-data: {}, client-key-data: {}}}}}
contexts:
- {{name: inline, context: {{cluster: c, user: u}}}}
",
            b64(&ca),
            b64(&cert),
            b64(&key)
        ),
    );
    let sources = load(&SourceOptions {
        kubeconfig: Some(dir.path().join("config")),
        selection: Selection::Current,
        names: vec!["edge-1".into()],
    })
    .await
    .expect("loads");
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].name, "edge-1");
    assert_eq!(sources[0].context.as_deref(), Some("inline"));
    let config = &sources[0].config;
    assert_eq!(config.root_cert.as_ref().map(Vec::len), Some(1));
    assert!(config.auth_info.client_certificate_data.is_some());
    kube::Client::try_from(config.clone()).expect("client from inline data");
}

#[tokio::test]
async fn a_missing_ca_file_names_the_context() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "config",
        "
clusters:
- {name: c, cluster: {server: 'https://127.0.0.1:6443', certificate-authority: nowhere.crt}}
users:
- {name: u, user: {}}
contexts:
- {name: broken, context: {cluster: c, user: u}}
",
    );
    let error = load_all(&dir.path().join("config"))
        .await
        .expect_err("no CA file");
    assert!(
        error.to_string().starts_with("context \"broken\": "),
        "{error}"
    );
}

#[tokio::test]
async fn in_cluster_needs_a_cluster_name() {
    let error = load(&SourceOptions {
        kubeconfig: None,
        selection: Selection::InCluster,
        names: vec![],
    })
    .await
    .expect_err("no name");
    assert!(error.to_string().contains("in-cluster"), "{error}");
}
