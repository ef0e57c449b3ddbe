//! The hub client against a scripted HTTP/1.1 server on loopback: connections are kept alive
//! and shared by clones, error answers become `Status` errors, the URL's path prefixes requests.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves keep-alive HTTP/1.1 on loopback: answers each request (no bodies expected) with
/// `answer(request line)`, counts the connections accepted. Returns the URL.
async fn serve(
    answer: fn(&str) -> (u16, &'static str),
) -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = tokio::spawn(async move {
        loop {
            let (mut tcp, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0; 4096];
                loop {
                    while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head: Vec<u8> = buffer.drain(..end + 4).collect();
                        let head = String::from_utf8_lossy(&head).into_owned();
                        let (status, body) = answer(head.lines().next().unwrap_or(""));
                        let reply = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if tcp.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    match tcp.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => buffer.extend_from_slice(&chunk[..read]),
                    }
                }
            });
        }
    });
    (url, accepted, server)
}

fn client(url: &str) -> HubClient {
    HubClient::new(&HubOptions {
        url: url.to_string(),
        ..HubOptions::default()
    })
    .unwrap()
}

#[tokio::test]
async fn sequential_requests_and_clones_reuse_one_keep_alive_connection() {
    let (url, accepted, server) = serve(|_| (200, r#"{"ok":true}"#)).await;
    let hub = client(&url);
    for _ in 0..20 {
        let answer: serde_json::Value = hub.get("/version").await.unwrap();
        assert_eq!(answer["ok"], true);
    }
    let clone = hub.clone();
    let _: serde_json::Value = clone.get("/version").await.unwrap();
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    server.abort();
}

#[tokio::test]
async fn error_answers_become_the_hubs_status() {
    let (url, _, server) = serve(|line| {
        if line.contains("/missing") {
            (
                404,
                r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"events \"x\" not found","reason":"NotFound","code":404}"#,
            )
        } else {
            (502, "bad gateway")
        }
    })
    .await;
    let hub = client(&url);
    match hub.get::<serde_json::Value>("/missing").await {
        Err(HubError::Api(status)) => assert_eq!(
            status,
            Status {
                code: 404,
                reason: "NotFound".into(),
                message: "events \"x\" not found".into()
            }
        ),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let proxy = hub.get::<serde_json::Value>("/other").await.unwrap_err();
    assert_eq!(proxy.code(), Some(502));
    assert_eq!(proxy.to_string(), "hub answered 502: bad gateway");
    assert!(!proxy.is_refusal(), "a 5xx is worth retrying");
    server.abort();
}

#[tokio::test]
async fn the_urls_path_prefixes_every_request() {
    let (url, _, server) = serve(|line| {
        if line.starts_with("GET /clusters/prod/api/v1/events ") {
            (200, r#"{"items":[]}"#)
        } else {
            (
                404,
                r#"{"kind":"Status","reason":"NotFound","message":"wrong path","code":404}"#,
            )
        }
    })
    .await;
    let hub = client(&format!("{url}/clusters/prod/"));
    let list: serde_json::Value = hub.get("/api/v1/events").await.unwrap();
    assert_eq!(list["items"], serde_json::json!([]));
    server.abort();
}

#[tokio::test]
async fn an_unreachable_hub_is_a_transport_error_naming_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    match client(&url).get::<serde_json::Value>("/version").await {
        Err(HubError::Transport { url: named, .. }) => assert_eq!(named, url),
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(matches!(
        HubClient::new(&HubOptions {
            url: "ftp://hub".into(),
            ..HubOptions::default()
        }),
        Err(HubError::Config(_))
    ));
}
