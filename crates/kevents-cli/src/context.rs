//! What every hub-talking command shares: where the hub is, what "now" is, how to print.

use crate::error::{CliError, Result};
use crate::hub::HubFlags;
use crate::render::Style;
use clap::Args;
use kevents_http::hub::{HubClient, HubOptions};
use kevents_model::Micros;
use std::path::PathBuf;

/// Flags every command that talks to a hub takes.
#[derive(Args, Debug, Clone)]
pub struct HubArgs {
    /// Where the hub is and how to authenticate.
    #[command(flatten)]
    pub hub: HubFlags,
    /// Reach the hub as the current context of this kubeconfig says (its server, CA, token or
    /// client certificate) instead of --server; flags given as well win.
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Compute ages against this instant (RFC 3339) instead of the clock: reproducible output.
    #[arg(long, env = "KEVENTS_NOW", hide = true, global = true, value_parser = parse_time)]
    pub now: Option<Micros>,
}

/// A connected command context.
pub struct Context {
    /// The hub client.
    pub hub: HubClient,
    /// The instant ages and `--since` are measured from.
    pub now: Micros,
    /// Colour and width of stdout.
    pub style: Style,
}

impl HubArgs {
    /// The client options: the flags, over the kubeconfig's current context when one is given.
    pub fn options(&self) -> Result<HubOptions> {
        let flags = self.hub.options();
        let Some(path) = &self.kubeconfig else {
            return Ok(flags);
        };
        let from_file = crate::kubeconfig::read::current_hub(path)?;
        Ok(HubOptions {
            url: self.hub.server.clone().unwrap_or(from_file.url),
            token: flags.token.or(from_file.token),
            token_file: flags.token_file.or(from_file.token_file),
            ca_file: flags.ca_file.or(from_file.ca_file),
            client_certificate: flags.client_certificate.or(from_file.client_certificate),
            client_key: flags.client_key.or(from_file.client_key),
        })
    }

    /// Makes the hub client (from `--kubeconfig` when given) and reads the clock.
    pub async fn connect(&self) -> Result<Context> {
        Ok(Context {
            hub: HubClient::new(&self.options()?)?,
            now: self.now.unwrap_or_else(Micros::now),
            style: Style::stdout(),
        })
    }
}

/// Parses an RFC 3339 timestamp flag.
pub fn parse_time(text: &str) -> std::result::Result<Micros, String> {
    Micros::parse(text)
        .ok_or_else(|| format!("not an RFC 3339 time (like 2026-01-02T15:04:05Z): {text:?}"))
}

/// Parses a duration flag: Go units (`90s`, `1h30m`) plus days and weeks (`2d`, `1w`).
pub fn parse_duration(text: &str) -> std::result::Result<i64, String> {
    let mut hours = 0i64;
    let mut rest = text.trim();
    for (suffix, scale) in [('w', 168), ('d', 24)] {
        if let Some(position) = rest.find(suffix) {
            let number: i64 = rest[..position].parse().map_err(|_| {
                format!("invalid duration {text:?} (examples: 90s, 15m, 2h, 3d, 1w)")
            })?;
            hours += number * scale;
            rest = &rest[position + 1..];
        }
    }
    let micros = if rest.is_empty() {
        0
    } else {
        kevents_model::parse_go_duration(rest)
            .map_err(|_| format!("invalid duration {text:?} (examples: 90s, 15m, 2h, 3d, 1w)"))?
    };
    let total = micros + hours * 3_600_000_000;
    if total <= 0 {
        return Err(format!("duration must be positive: {text:?}"));
    }
    Ok(total)
}

/// Maps a failed runtime start to an error line.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("starting the async runtime", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_days_weeks_and_go_units() {
        assert_eq!(parse_duration("90s"), Ok(90_000_000));
        assert_eq!(parse_duration("2d"), Ok(48 * 3_600_000_000));
        assert_eq!(parse_duration("1w2d3h"), Ok((168 + 48 + 3) * 3_600_000_000));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0s").is_err());
    }
}
