//! The destinations, built from their configuration; every setting is checked here, at load.

pub mod archive;
pub mod elasticsearch;
pub mod loki;
pub mod nats;
pub mod stream;
pub mod webhook;

use crate::config::{SinkConfig, TlsConfig};
use crate::delivery::Sink;
use crate::files::RotatingFile;
use crate::layout::SyslogLayout;
use crate::template::Template;
use kevents_http::{tls, Client, Endpoint};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Parses an optional Go duration with a default.
pub fn duration(value: &Option<String>, default: Duration) -> Result<Duration, String> {
    match value {
        None => Ok(default),
        Some(text) => kevents_model::parse_go_duration(text)
            .ok()
            .filter(|micros| *micros > 0)
            .map(|micros| Duration::from_micros(micros as u64))
            .ok_or_else(|| format!("invalid duration {text:?} (use Go syntax: 500ms, 30s, 5m)")),
    }
}

fn basic_auth(user: &Option<String>, password: &Option<String>) -> Vec<(String, String)> {
    use base64::Engine as _;
    match user {
        Some(user) => {
            let pair = format!("{user}:{}", password.as_deref().unwrap_or(""));
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            vec![("authorization".into(), format!("Basic {encoded}"))]
        }
        None => Vec::new(),
    }
}

/// The client of an HTTP sink's `<section>.url`, with `suffix` appended to the URL's path.
fn http_client(
    section: &str,
    url: &str,
    suffix: &str,
    ca_file: &Option<PathBuf>,
) -> Result<Client, String> {
    let endpoint =
        Endpoint::parse(url, suffix).map_err(|e| format!("{section}.url {url:?}: {e}"))?;
    Client::new(endpoint, ca_file.as_deref()).map_err(|e| format!("{section}.caFile: {e}"))
}

fn tls_connector(
    tls: &TlsConfig,
    address: &str,
) -> Result<
    (
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    ),
    String,
> {
    use rustls::pki_types::ServerName;
    let roots = tls::ca_file_roots(&tls.ca_file).map_err(|e| format!("syslog.tls.caFile: {e}"))?;
    let host = match &tls.server_name {
        Some(name) => name.clone(),
        None => address
            .rsplit_once(':')
            .map(|(host, _)| host.trim_matches(['[', ']']).to_string())
            .unwrap_or_default(),
    };
    let name = ServerName::try_from(host.clone())
        .map_err(|_| format!("tls.serverName {host:?} is not a valid name"))?;
    let config = tls::client_config(roots);
    Ok((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
}

/// Builds the sink a config describes; returns it with its type name.
pub fn build(config: &SinkConfig) -> Result<(Arc<dyn Sink>, &'static str), String> {
    let given = [
        config.webhook.is_some(),
        config.slack.is_some(),
        config.elasticsearch.is_some(),
        config.loki.is_some(),
        config.syslog.is_some(),
        config.stdout.is_some(),
        config.file.is_some(),
        config.nats.is_some(),
        config.archive.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(
            "give exactly one of webhook, slack, elasticsearch, loki, syslog, stdout, file, nats, archive"
                .into(),
        );
    }
    if let Some(c) = &config.archive {
        let location = kevents_archive::Location::open(c).map_err(|e| match e {
            kevents_archive::ArchiveError::Config(message) => format!("archive.{message}"),
            other => format!("archive: {other}"),
        })?;
        return Ok((
            Arc::new(archive::ArchiveSink::new(kevents_archive::Archiver::new(
                location,
            ))),
            "archive",
        ));
    }
    if let Some(c) = &config.webhook {
        let headers = c.headers.iter().map(|(k, v)| (k.clone(), v.clone()));
        return Ok((
            Arc::new(webhook::Webhook {
                name: config.name.clone(),
                client: http_client("webhook", &c.url, "", &c.ca_file)?,
                hmac_secret: c.hmac_secret.clone(),
                headers: headers.collect(),
                timeout: duration(&c.timeout, Duration::from_secs(10))
                    .map_err(|e| format!("webhook.timeout: {e}"))?,
            }),
            "webhook",
        ));
    }
    if let Some(c) = &config.slack {
        let text = c.text.as_deref().unwrap_or(webhook::DEFAULT_SLACK_TEXT);
        return Ok((
            Arc::new(webhook::Slack {
                client: http_client("slack", &c.url, "", &c.ca_file)?,
                text: Template::parse(text).map_err(|e| format!("slack.text: {e}"))?,
                timeout: duration(&c.timeout, Duration::from_secs(10))
                    .map_err(|e| format!("slack.timeout: {e}"))?,
            }),
            "slack",
        ));
    }
    if let Some(c) = &config.elasticsearch {
        let client = http_client("elasticsearch", &c.url, "", &c.ca_file)?;
        let index = c.index.clone().unwrap_or_else(|| "kevents-%Y.%m.%d".into());
        let sample = crate::layout::index_name(&index, kevents_model::Micros(0));
        if sample.is_empty()
            || sample
                .chars()
                .any(|ch| ch.is_ascii_uppercase() || "\\/*?\"<>| ,#".contains(ch))
        {
            return Err(format!("elasticsearch.index {index:?}: index names are lowercase without \\ / * ? \" < > | , # or spaces"));
        }
        let template = c.template_name.clone().unwrap_or_else(|| "kevents".into());
        return Ok((
            Arc::new(elasticsearch::Elasticsearch {
                client,
                index,
                template: c.install_template.unwrap_or(true).then_some(template),
                headers: basic_auth(&c.username, &c.password),
                timeout: duration(&c.timeout, Duration::from_secs(30))
                    .map_err(|e| format!("elasticsearch.timeout: {e}"))?,
            }),
            "elasticsearch",
        ));
    }
    if let Some(c) = &config.loki {
        let labels: Vec<String> = match &c.labels {
            Some(labels) => labels.clone(),
            None => loki::DEFAULT_LABELS.iter().map(|s| s.to_string()).collect(),
        };
        if let Some(bad) = labels
            .iter()
            .find(|l| !loki::LABEL_FIELDS.contains(&l.as_str()))
        {
            return Err(format!(
                "loki.labels: {bad:?} is not a bounded field; use some of {}",
                loki::LABEL_FIELDS.join(", ")
            ));
        }
        let static_labels = c
            .static_labels
            .clone()
            .unwrap_or_else(|| BTreeMap::from([("job".to_string(), "kevents".to_string())]));
        if let Some(bad) = static_labels.keys().find(|k| !loki::valid_label_name(k)) {
            return Err(format!(
                "loki.staticLabels: {bad:?} is not a valid label name"
            ));
        }
        let headers = c
            .tenant
            .iter()
            .map(|t| ("x-scope-orgid".to_string(), t.clone()));
        return Ok((
            Arc::new(loki::Loki {
                client: http_client("loki", &c.url, "/loki/api/v1/push", &c.ca_file)?,
                labels,
                static_labels,
                headers: headers.collect(),
                timeout: duration(&c.timeout, Duration::from_secs(10))
                    .map_err(|e| format!("loki.timeout: {e}"))?,
            }),
            "loki",
        ));
    }
    if let Some(c) = &config.syslog {
        let facility_name = c.facility.as_deref().unwrap_or("user");
        let facility = SyslogLayout::facility_number(facility_name)
            .ok_or_else(|| format!("syslog.facility: unknown facility {facility_name:?}"))?;
        if !c.address.contains(':') {
            return Err(format!("syslog.address {:?}: use host:port", c.address));
        }
        let tls = c
            .tls
            .as_ref()
            .map(|tls| tls_connector(tls, &c.address))
            .transpose()?;
        return Ok((
            Arc::new(stream::Syslog {
                address: c.address.clone(),
                layout: SyslogLayout {
                    facility,
                    app_name: c.app_name.clone().unwrap_or_else(|| "kevents".into()),
                    sd_id: c.sd_id.clone().unwrap_or_else(|| "kevents@32473".into()),
                },
                tls,
                connection: Default::default(),
            }),
            "syslog",
        ));
    }
    if config.stdout.is_some() {
        return Ok((Arc::new(stream::Stdout), "stdout"));
    }
    if let Some(c) = &config.file {
        let max_bytes = c.max_size_mib.unwrap_or(100).max(1) * 1024 * 1024;
        let file = RotatingFile::new(c.path.clone(), max_bytes, c.max_backups.unwrap_or(5));
        return Ok((
            Arc::new(stream::FileSink {
                file: Arc::new(parking_lot::Mutex::new(file)),
            }),
            "file",
        ));
    }
    let c = config.nats.as_ref().expect("exactly one sink type is set");
    let address = c
        .url
        .strip_prefix("nats://")
        .ok_or_else(|| format!("nats.url {:?}: use nats://host[:port]", c.url))?
        .trim_end_matches('/');
    let address = if address.contains(':') {
        address.to_string()
    } else {
        format!("{address}:4222")
    };
    let prefix = c.subject_prefix.clone().unwrap_or_else(|| "kevents".into());
    if prefix.is_empty() || prefix.contains(['*', '>', ' ']) || prefix.ends_with('.') {
        return Err(format!(
            "nats.subjectPrefix {prefix:?}: needs plain subject tokens"
        ));
    }
    let mut auth = serde_json::Map::new();
    for (key, value) in [
        ("auth_token", &c.token),
        ("user", &c.user),
        ("pass", &c.password),
    ] {
        if let Some(value) = value {
            auth.insert(key.into(), value.clone().into());
        }
    }
    Ok((
        Arc::new(nats::Nats {
            address,
            prefix,
            stream: c.stream.clone(),
            auth,
            ack_timeout: duration(&c.ack_timeout, Duration::from_secs(10))
                .map_err(|e| format!("nats.ackTimeout: {e}"))?,
            connection: Default::default(),
            batches: Default::default(),
        }),
        "nats",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_auth_header_is_standard_base64() {
        let header = super::basic_auth(&Some("elastic".into()), &Some("changeme".into()));
        assert_eq!(header[0].1, "Basic ZWxhc3RpYzpjaGFuZ2VtZQ==");
        assert!(super::basic_auth(&None, &None).is_empty());
    }
}
