//! The `syslog:` settings and the sink they build.

use super::sink::Syslog;
use crate::layout::SyslogLayout;
use kevents_http::tls;
use rustls::pki_types::ServerName;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Syslog RFC 5424 over TCP with octet-counting framing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyslogConfig {
    /// `host:port` of the receiver.
    pub address: String,
    /// Facility name (default `user`): kern, user, daemon, auth, syslog, local0..local7.
    pub facility: Option<String>,
    /// APP-NAME (default `kevents`).
    pub app_name: Option<String>,
    /// Structured-data ID (default `kevents@32473`).
    pub sd_id: Option<String>,
    /// TLS (RFC 5425) when set.
    pub tls: Option<TlsConfig>,
}

/// TLS client settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsConfig {
    /// CA certificates (PEM) that sign the receiver's certificate.
    pub ca_file: PathBuf,
    /// Name to verify (default: the host of `address`).
    pub server_name: Option<String>,
}

/// Syslog settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SyslogConfigError {
    /// Not one of the RFC 5424 facility names.
    #[error("syslog.facility: unknown facility {0:?}")]
    Facility(String),
    /// The address has no port.
    #[error("syslog.address {0:?}: use host:port")]
    Address(String),
    /// The CA file cannot be read.
    #[error("syslog.tls.caFile: {0}")]
    CaFile(String),
    /// The name to verify is not a DNS name or IP address.
    #[error("tls.serverName {0:?} is not a valid name")]
    ServerName(String),
}

impl SyslogConfig {
    /// The sink these settings describe; it connects on its first batch.
    pub fn build(&self) -> Result<Syslog, SyslogConfigError> {
        let facility_name = self.facility.as_deref().unwrap_or("user");
        let facility = SyslogLayout::facility_number(facility_name)
            .ok_or_else(|| SyslogConfigError::Facility(facility_name.to_string()))?;
        if !self.address.contains(':') {
            return Err(SyslogConfigError::Address(self.address.clone()));
        }
        let tls = self
            .tls
            .as_ref()
            .map(|tls| tls_connector(tls, &self.address))
            .transpose()?;
        Ok(Syslog {
            address: self.address.clone(),
            layout: SyslogLayout {
                facility,
                app_name: self.app_name.clone().unwrap_or_else(|| "kevents".into()),
                sd_id: self.sd_id.clone().unwrap_or_else(|| "kevents@32473".into()),
            },
            tls,
            connection: Default::default(),
        })
    }
}

fn tls_connector(
    tls: &TlsConfig,
    address: &str,
) -> Result<(tokio_rustls::TlsConnector, ServerName<'static>), SyslogConfigError> {
    let roots =
        tls::ca_file_roots(&tls.ca_file).map_err(|e| SyslogConfigError::CaFile(e.to_string()))?;
    let host = match &tls.server_name {
        Some(name) => name.clone(),
        None => address
            .rsplit_once(':')
            .map(|(host, _)| host.trim_matches(['[', ']']).to_string())
            .unwrap_or_default(),
    };
    let name =
        ServerName::try_from(host.clone()).map_err(|_| SyslogConfigError::ServerName(host))?;
    let config = tls::client_config(roots);
    Ok((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
}
