//! Test support: run a real `kevents serve` child process and build kube-rs clients
//! and event objects for it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Event as CoreEvent, EventSource, ObjectReference};
use k8s_openapi::api::events::v1::Event as NewEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use kube::core::Status;
use kube::runtime::watcher;
use kube::{Client, Config, ResourceExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running hub; the child is killed (and reaped) and its temp dir removed on drop.
pub struct Hub {
    child: Child,
    port: u16,
    dir: PathBuf,
}

fn binary() -> PathBuf {
    match std::env::var_os("KEVENTS_BIN") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/kevents"),
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn unique_temp_dir() -> Result<PathBuf> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = Timestamp::now().as_nanosecond();
    let name = format!(
        "kevents-kube-rs-{}-{}-{nanos}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

impl Hub {
    /// Starts `kevents serve` on a free loopback port and waits for `GET /readyz` → 200.
    pub async fn start() -> Result<Hub> {
        let bin = binary();
        if !bin.exists() {
            bail!(
                "kevents binary not found at {} (build it or set KEVENTS_BIN)",
                bin.display()
            );
        }
        let dir = unique_temp_dir()?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.join("server.log"))?;
        let child = Command::new(&bin)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let mut hub = Hub { child, port, dir };
        hub.wait_ready().await?;
        Ok(hub)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("kevents exited early with {status}: {}", self.log());
            }
            if readyz_ok(self.port).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("kevents not ready after 20s: {}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub fn client(&self) -> Result<Client> {
        let url = format!("http://127.0.0.1:{}", self.port).parse()?;
        Ok(Client::try_from(Config::new(url))?)
    }

    /// Namespaced APIs for both groups: (core/v1, events.k8s.io/v1).
    pub fn apis(&self, namespace: &str) -> Result<(Api<CoreEvent>, Api<NewEvent>)> {
        let client = self.client()?;
        Ok((
            Api::namespaced(client.clone(), namespace),
            Api::namespaced(client, namespace),
        ))
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- kevents server log ----\n{}", self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One plain HTTP/1.1 request; true when the status line says 200.
async fn readyz_ok(port: u16) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let request = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut buf)).await;
    matches!(read, Ok(Ok(_))) && buf.starts_with(b"HTTP/1.1 200")
}

/// The Pod an event is about.
pub fn pod_ref(namespace: &str, name: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        uid: Some(format!("uid-{name}")),
        ..Default::default()
    }
}

fn meta(namespace: &str, name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
    let labels: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        labels: (!labels.is_empty()).then_some(labels),
        ..Default::default()
    }
}

/// An old-style core/v1 event (no eventTime), like client-go's legacy recorder sends.
pub fn core_event(namespace: &str, name: &str, pod: &str, labels: &[(&str, &str)]) -> CoreEvent {
    let now = Time(Timestamp::now());
    CoreEvent {
        metadata: meta(namespace, name, labels),
        involved_object: pod_ref(namespace, pod),
        reason: Some("Scheduled".into()),
        message: Some(format!("Successfully assigned {namespace}/{pod}")),
        type_: Some("Normal".into()),
        count: Some(1),
        first_timestamp: Some(now.clone()),
        last_timestamp: Some(now),
        source: Some(EventSource {
            component: Some("compat-scheduler".into()),
            host: None,
        }),
        ..Default::default()
    }
}

/// A new-style events.k8s.io/v1 event with all required fields.
pub fn new_event(namespace: &str, name: &str, pod: &str) -> NewEvent {
    NewEvent {
        metadata: meta(namespace, name, &[]),
        regarding: Some(pod_ref(namespace, pod)),
        event_time: Some(MicroTime(Timestamp::now())),
        reason: Some("Pulled".into()),
        action: Some("Pull".into()),
        note: Some("Container image pulled".into()),
        type_: Some("Normal".into()),
        reporting_controller: Some("compat.test/kubelet".into()),
        reporting_instance: Some("node-1".into()),
        ..Default::default()
    }
}

/// Asserts `kube::Error::Api` with this HTTP code and Status reason; returns the Status.
#[track_caller]
pub fn expect_status<T: Debug>(result: kube::Result<T>, code: u16, reason: &str) -> Status {
    match result {
        Err(kube::Error::Api(status)) => {
            assert_eq!(
                (status.code, status.reason.as_str()),
                (code, reason),
                "{status:?}"
            );
            *status
        }
        other => panic!("expected kube::Error::Api({code} {reason}), got {other:?}"),
    }
}

pub fn fields(selector: &str) -> ListParams {
    ListParams::default().fields(selector)
}

pub fn names<K: ResourceExt>(items: &[K]) -> BTreeSet<String> {
    items.iter().map(|e| e.name_any()).collect()
}

pub fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

pub fn label<K: ResourceExt>(obj: &K, key: &str) -> Option<String> {
    obj.labels().get(key).cloned()
}

/// Next watcher item within 10 s; watcher errors, stream end and timeouts fail the test.
pub async fn next_event<S, K>(stream: &mut S) -> watcher::Event<K>
where
    S: Stream<Item = watcher::Result<watcher::Event<K>>> + Unpin,
{
    let step = Duration::from_secs(10);
    match tokio::time::timeout(step, stream.next()).await {
        Ok(Some(Ok(event))) => event,
        Ok(Some(Err(e))) => panic!("watcher error: {e:?}"),
        Ok(None) => panic!("watcher stream ended"),
        Err(_) => panic!("no watcher event within {step:?}"),
    }
}
