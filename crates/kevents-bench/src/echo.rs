//! The HTTP floor: an axum route that only reads the body and echoes it back (no decoding, no
//! store, no fsync), served in this process or by a child process of its own, whose CPU time
//! is then measured the way the hub's is.

use anyhow::Context;
use bytes::Bytes;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// The echo route at the path events are created on.
pub fn router() -> axum::Router {
    async fn echo(
        body: Bytes,
    ) -> (
        axum::http::StatusCode,
        [(&'static str, &'static str); 1],
        Bytes,
    ) {
        (
            axum::http::StatusCode::CREATED,
            [("content-type", "application/json")],
            body,
        )
    }
    axum::Router::new().route(
        "/api/v1/namespaces/{namespace}/events",
        axum::routing::post(echo),
    )
}

/// The child's side (`kevents-bench --echo-server`): serves the echo route on a free loopback
/// port, prints the address on stdout and exits when stdin closes (its parent is gone).
pub async fn serve() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    let parent_gone = tokio::task::spawn_blocking(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    });
    tokio::select! {
        served = axum::serve(listener, router()) => Ok(served?),
        _ = parent_gone => Ok(()),
    }
}

/// The echo route served by a child process, killed when dropped.
pub struct EchoProcess {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
}

impl EchoProcess {
    /// Starts `kevents-bench --echo-server` (this binary) and reads its address.
    pub fn start() -> anyhow::Result<EchoProcess> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--echo-server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the echo server")?;
        let stdout = child.stdout.take().context("the echo server's stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        match line.trim().parse() {
            Ok(address) => Ok(EchoProcess { child, address }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(anyhow::anyhow!("the echo server said {line:?}: {e}"))
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EchoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
