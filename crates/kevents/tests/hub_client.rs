//! The one hub client (`kevents_http::hub`) against a real `kevents serve` with TLS: the hub's
//! CA with a bearer token (fixed, or a file that is rotated), a client certificate, the hub's
//! error answers as typed `Status` errors, the JSON verbs, and watch streams.

use kevents_http::hub::{HubClient, HubError, HubOptions, HubRequest, Status};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "s3cret-token";

/// A `kevents serve` with TLS, a token file and client-certificate authentication; both the
/// token's user and the client certificate's are in `system:masters`.
struct SecureHub {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SecureHub {
    async fn start() -> SecureHub {
        let dir = tempfile::tempdir().expect("temporary directory");
        let certs = dir.path().join("certs");
        let generated = Command::new(env!("CARGO_BIN_EXE_kevents"))
            .args(["certs", "generate", "--dir"])
            .arg(&certs)
            .args(["--client", "carol", "--client-group", "system:masters"])
            .output()
            .expect("kevents certs generate runs");
        assert!(generated.status.success(), "{generated:?}");
        let tokens = dir.path().join("tokens.csv");
        std::fs::write(&tokens, format!("{TOKEN},alice,u1,\"system:masters\"\n")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_kevents"))
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--tls-cert-file")
            .arg(certs.join("server.crt"))
            .arg("--tls-private-key-file")
            .arg(certs.join("server.key"))
            .arg("--client-ca-file")
            .arg(certs.join("ca.crt"))
            .arg("--token-auth-file")
            .arg(&tokens)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("kevents serve starts");
        let hub = SecureHub { child, port, dir };
        let client = hub.client(hub.with_token());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match client.send(HubRequest::get("/readyz")).await {
                Ok(answer) if answer.status == 200 => return hub,
                _ if Instant::now() > deadline => panic!("the hub did not become ready"),
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The URL and the hub's CA, no credentials.
    fn anonymous(&self) -> HubOptions {
        HubOptions {
            url: format!("https://127.0.0.1:{}", self.port),
            ca_file: Some(self.file("certs/ca.crt")),
            ..HubOptions::default()
        }
    }

    fn with_token(&self) -> HubOptions {
        HubOptions {
            token: Some(TOKEN.into()),
            ..self.anonymous()
        }
    }

    fn client(&self, options: HubOptions) -> HubClient {
        HubClient::new(&options).expect("the client's files load")
    }
}

impl Drop for SecureHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn event(name: &str, message: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "default"},
        "reason": "Started",
        "message": message,
        "type": "Normal",
        "count": 1,
        "firstTimestamp": "2026-01-02T15:04:05Z",
        "lastTimestamp": "2026-01-02T15:04:05Z",
        "source": {"component": "kubelet"},
    })
}

const EVENTS: &str = "/api/v1/namespaces/default/events";

fn api_status(result: Result<Value, HubError>) -> Status {
    match result {
        Err(HubError::Api(status)) => status,
        other => panic!("expected an error Status, got {other:?}"),
    }
}

#[tokio::test]
async fn ca_and_token_reach_a_tls_hub_through_every_verb_and_errors_are_its_status() {
    let hub = SecureHub::start().await;
    let client = hub.client(hub.with_token());

    let created: Value = client.post(EVENTS, &event("web.1", "first")).await.unwrap();
    assert_eq!(created["metadata"]["name"], "web.1");
    let path = format!("{EVENTS}/web.1");
    let fetched: Value = client.get(&path).await.unwrap();
    assert_eq!(fetched["message"], "first");

    let patched: Value = client
        .patch(&path, &json!({"message": "patched"}))
        .await
        .unwrap();
    assert_eq!(patched["message"], "patched");
    let mut replaced = patched.clone();
    replaced["message"] = json!("replaced");
    let replaced: Value = client.put(&path, &replaced).await.unwrap();
    assert_eq!(replaced["message"], "replaced");

    let conflict = api_status(client.post(EVENTS, &event("web.1", "again")).await);
    assert_eq!(
        (conflict.code, conflict.reason.as_str()),
        (409, "AlreadyExists")
    );
    let invalid = api_status(
        client
            .get(&format!("{EVENTS}?fieldSelector=color%3Dred"))
            .await,
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (400, "BadRequest"));
    assert!(invalid.message.contains("color"), "{invalid:?}");

    let _: Value = client.delete(&path).await.unwrap();
    let gone = api_status(client.get(&path).await);
    assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"));
    assert!(
        HubError::Api(gone).is_refusal(),
        "a 404 is not worth retrying"
    );

    // Every request of this client went over the keep-alive connections it keeps.
    let clusters = client.clusters().await.unwrap();
    assert!(clusters.iter().all(|c| c.lost_events == 0), "{clusters:?}");
    assert!(client.cluster("nowhere").await.unwrap().is_none());
}

#[tokio::test]
async fn without_credentials_or_with_the_wrong_ca_the_hub_is_not_reached() {
    let hub = SecureHub::start().await;
    let anonymous = api_status(hub.client(hub.anonymous()).get(EVENTS).await);
    assert_eq!(
        (anonymous.code, anonymous.reason.as_str()),
        (401, "Unauthorized")
    );

    let system_roots = hub.client(HubOptions {
        ca_file: None,
        ..hub.with_token()
    });
    match system_roots.get::<Value>(EVENTS).await {
        Err(HubError::Transport { reason, .. }) => {
            assert!(reason.contains("TLS handshake"), "{reason}")
        }
        other => panic!("a certificate no trusted CA signed was accepted: {other:?}"),
    }

    let plain = hub.client(HubOptions {
        url: format!("http://127.0.0.1:{}", hub.port),
        ..hub.with_token()
    });
    assert!(plain.get::<Value>(EVENTS).await.is_err());

    let missing_key = HubClient::new(&HubOptions {
        client_certificate: Some(hub.file("certs/client.crt")),
        ..hub.anonymous()
    });
    assert!(matches!(missing_key, Err(HubError::Config(_))));
    let missing_ca = HubClient::new(&HubOptions {
        ca_file: Some(hub.file("certs/nowhere.crt")),
        ..hub.anonymous()
    });
    match missing_ca {
        Err(HubError::Config(why)) => assert!(why.contains("nowhere.crt"), "{why}"),
        other => panic!("a missing CA file was accepted: {other:?}"),
    }
}

#[tokio::test]
async fn a_client_certificate_authenticates_without_a_token() {
    let hub = SecureHub::start().await;
    let client = hub.client(HubOptions {
        client_certificate: Some(hub.file("certs/client.crt")),
        client_key: Some(hub.file("certs/client.key")),
        ..hub.anonymous()
    });
    let created: Value = client
        .post(EVENTS, &event("cert.1", "by certificate"))
        .await
        .unwrap();
    assert_eq!(created["message"], "by certificate");
    let list: Value = client.get(EVENTS).await.unwrap();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_rotated_token_file_is_read_again() {
    let hub = SecureHub::start().await;
    let token_file = hub.file("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let client = hub.client(HubOptions {
        token_file: Some(token_file.clone()),
        ..hub.anonymous()
    });
    let _: Value = client.get(EVENTS).await.unwrap();

    std::fs::write(&token_file, "revoked\n").unwrap();
    // A rotation changes the file's time; make it differ even on a coarse clock.
    let file = std::fs::File::options()
        .write(true)
        .open(&token_file)
        .unwrap();
    file.set_modified(std::time::SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    let refused = api_status(client.get(EVENTS).await);
    assert_eq!(refused.code, 401);
}

#[tokio::test]
async fn a_watch_streams_the_events_written_after_it_opened() {
    let hub = SecureHub::start().await;
    let client = hub.client(hub.with_token());
    let list: Value = client.get(EVENTS).await.unwrap();
    let version = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let mut watch = client
        .stream(&format!("{EVENTS}?watch=true&resourceVersion={version}"))
        .await
        .unwrap();
    let _: Value = client
        .post(EVENTS, &event("watched.1", "seen"))
        .await
        .unwrap();
    let line = tokio::time::timeout(Duration::from_secs(30), watch.next_line())
        .await
        .expect("a watch event within 30 s")
        .unwrap()
        .expect("the stream is open");
    let added: Value = serde_json::from_slice(&line).unwrap();
    assert_eq!(added["type"], "ADDED");
    assert_eq!(added["object"]["metadata"]["name"], "watched.1");

    let anonymous = hub.client(hub.anonymous());
    match anonymous.stream(&format!("{EVENTS}?watch=true")).await {
        Err(HubError::Api(status)) => assert_eq!(status.code, 401),
        Err(other) => panic!("expected 401, got {other:?}"),
        Ok(_) => panic!("an anonymous watch was served"),
    }
}
