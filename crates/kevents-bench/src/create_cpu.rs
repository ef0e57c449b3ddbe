//! CPU time per create (`--create-cpu`): the real `kevents serve` with its defaults and the
//! echo route, each in a process of its own, take the same creates from the same client in
//! alternating rounds; each one's user + system CPU time over a round (`/proc/PID/stat`),
//! divided by the requests of the round, is what one request costs it. The echo route's cost
//! is the floor any HTTP handler pays on this machine (connection, parsing, the socket round
//! trip), measured in the same run.

use crate::echo::EchoProcess;
use crate::hub::{free_address, Hub};
use crate::process::cpu_seconds;
use bytes::Bytes;
use kevents_model::{EventRecord, Micros};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the scenario runs.
pub struct Options {
    /// The `kevents` binary.
    pub kevents: PathBuf,
    /// Creates per round and server.
    pub creates: u64,
    /// Rounds (each server takes `creates` per round).
    pub rounds: usize,
    /// Concurrent keep-alive connections.
    pub concurrency: usize,
}

/// One server's round: CPU microseconds per request and requests per second.
#[derive(Clone, Copy)]
pub struct Round {
    /// The server's CPU time over the round per request, in microseconds.
    pub cpu_micros: f64,
    /// Requests per second over the round.
    pub rate: f64,
}

/// Sends `bodies` to `address` and measures the CPU time process `pid` spent meanwhile.
pub async fn measure(
    pid: u32,
    address: SocketAddr,
    bodies: &Arc<Vec<(String, Bytes)>>,
    concurrency: usize,
) -> anyhow::Result<Round> {
    let before = cpu_seconds(pid);
    let rate = crate::http::post_all(address, bodies, concurrency).await?;
    let spent = cpu_seconds(pid) - before;
    Ok(Round {
        cpu_micros: spent * 1e6 / bodies.len().max(1) as f64,
        rate,
    })
}

/// The median of `values` (0 when empty).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Runs the scenario with the hub's data in `scratch` and prints its table.
pub async fn run(options: &Options, scratch: &Path) -> anyhow::Result<()> {
    let (hub, _) = Hub::start(&options.kevents, &scratch.join("hub"), free_address()?).await?;
    let echo = EchoProcess::start()?;
    let mut workload = kevents_simulate::Workload::new(11, Micros::now());
    // A warm-up round first (connections, allocator, the hub's first series), not counted.
    let batches: Vec<Arc<Vec<(String, Bytes)>>> = (0..=options.rounds as u64)
        .map(|round| {
            let first = round * options.creates;
            let events: Vec<EventRecord> = (first..first + options.creates)
                .map(|i| workload.event(i))
                .collect();
            crate::http::create_requests(&events)
        })
        .collect();
    let (mut hub_rounds, mut echo_rounds) = (Vec::new(), Vec::new());
    println!(
        "| round | kevents serve: CPU µs per create | creates/s | echo route: CPU µs per request | requests/s | ratio |"
    );
    println!("|---|---|---|---|---|---|");
    for (round, bodies) in batches.iter().enumerate() {
        // The side going first alternates, so neither always meets a warmer machine.
        let (hub_round, echo_round) = if round % 2 == 0 {
            let h = measure(hub.pid(), hub.address, bodies, options.concurrency).await?;
            let e = measure(echo.pid(), echo.address, bodies, options.concurrency).await?;
            (h, e)
        } else {
            let e = measure(echo.pid(), echo.address, bodies, options.concurrency).await?;
            let h = measure(hub.pid(), hub.address, bodies, options.concurrency).await?;
            (h, e)
        };
        let label = if round == 0 {
            "warm-up".to_string()
        } else {
            round.to_string()
        };
        println!(
            "| {label} | {:.1} | {:.0} | {:.1} | {:.0} | {:.2}x |",
            hub_round.cpu_micros,
            hub_round.rate,
            echo_round.cpu_micros,
            echo_round.rate,
            hub_round.cpu_micros / echo_round.cpu_micros
        );
        if round > 0 {
            hub_rounds.push(hub_round);
            echo_rounds.push(echo_round);
        }
    }
    let hub_cpu = median(hub_rounds.iter().map(|r| r.cpu_micros).collect());
    let echo_cpu = median(echo_rounds.iter().map(|r| r.cpu_micros).collect());
    println!(
        "| median of {} rounds of {} creates, {} connections | **{hub_cpu:.1}** | {:.0} | **{echo_cpu:.1}** | {:.0} | **{:.2}x** |",
        hub_rounds.len(),
        options.creates,
        options.concurrency,
        median(hub_rounds.iter().map(|r| r.rate).collect()),
        median(echo_rounds.iter().map(|r| r.rate).collect()),
        hub_cpu / echo_cpu
    );
    hub.stop()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
