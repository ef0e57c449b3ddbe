//! A destination's URL, parsed once at configuration time into what a request needs: the address
//! to connect to, the `Host` header, the request path and, for `https://`, the name the server's
//! certificate must carry.

use hyper::Uri;
use rustls::pki_types::ServerName;

/// Why a URL cannot be used as a destination.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Not a URL at all.
    #[error("not a valid URL")]
    Invalid,
    /// A scheme other than `http://` and `https://`, or none.
    #[error("the scheme must be http:// or https://")]
    Scheme,
    /// No host after the scheme.
    #[error("the URL has no host")]
    NoHost,
    /// `user:password@` in the URL; credentials go in headers.
    #[error("credentials in the URL are not supported")]
    Credentials,
    /// A query on a URL that gets a path appended (Alertmanager, Loki).
    #[error("a base URL cannot have a query")]
    QueryInBase,
    /// An `https://` host that cannot be checked against a certificate.
    #[error("the host is not a valid TLS server name")]
    ServerName,
}

/// A parsed `http://` or `https://` URL.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `host:port` of the TCP connection; the port defaults to 80 or 443.
    address: String,
    /// The `Host` header: the URL's authority as written.
    host: String,
    /// Path and query of the request line.
    path: String,
    /// For `https://`: the name verified against the server's certificate (and sent as SNI).
    server_name: Option<ServerName<'static>>,
}

impl Endpoint {
    /// Parses `http[s]://host[:port][/path][?query]`; a non-empty `suffix` is appended to the path
    /// (the API path below a base URL), which then may not have a query.
    pub fn parse(url: &str, suffix: &str) -> Result<Endpoint, UrlError> {
        let uri: Uri = url.parse().map_err(|_| UrlError::Invalid)?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(UrlError::Scheme),
        };
        let authority = uri.authority().ok_or(UrlError::NoHost)?;
        if authority.as_str().contains('@') {
            return Err(UrlError::Credentials);
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let server_name = if https {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            Some(ServerName::try_from(bare.to_string()).map_err(|_| UrlError::ServerName)?)
        } else {
            None
        };
        let path = match (suffix.is_empty(), uri.query()) {
            (true, Some(query)) => format!("{}?{query}", uri.path()),
            (true, None) => uri.path().to_string(),
            (false, None) => format!("{}{suffix}", uri.path().trim_end_matches('/')),
            (false, Some(_)) => return Err(UrlError::QueryInBase),
        };
        Ok(Endpoint {
            address: format!("{host}:{port}"),
            host: authority.as_str().to_string(),
            path,
            server_name,
        })
    }

    /// The same server with another path (and query).
    pub fn with_path(&self, path: &str) -> Endpoint {
        Endpoint {
            path: path.to_string(),
            ..self.clone()
        }
    }

    /// Path and query of requests.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether requests go over TLS.
    pub fn is_https(&self) -> bool {
        self.server_name.is_some()
    }

    pub(super) fn address(&self) -> &str {
        &self.address
    }

    pub(super) fn host(&self) -> &str {
        &self.host
    }

    pub(super) fn server_name(&self) -> Option<&ServerName<'static>> {
        self.server_name.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ports_are_80_for_http_and_443_for_https() {
        let plain = Endpoint::parse("http://am.example/prefix", "/api/v2/alerts").unwrap();
        assert_eq!(plain.address, "am.example:80");
        assert_eq!(plain.host, "am.example");
        assert_eq!(plain.path(), "/prefix/api/v2/alerts");
        assert!(!plain.is_https());
        let tls = Endpoint::parse("https://hooks.example/services/T0/B0", "").unwrap();
        assert_eq!(tls.address, "hooks.example:443");
        assert_eq!(tls.host, "hooks.example");
        assert_eq!(tls.path(), "/services/T0/B0");
        assert!(tls.is_https());
        assert_eq!(
            tls.server_name,
            Some(ServerName::try_from("hooks.example").unwrap())
        );
    }

    #[test]
    fn explicit_ports_and_ip_hosts_are_kept() {
        let es = Endpoint::parse("https://10.0.0.5:9200/", "").unwrap();
        assert_eq!(
            (es.address.as_str(), es.host.as_str()),
            ("10.0.0.5:9200", "10.0.0.5:9200")
        );
        assert_eq!(
            es.server_name,
            Some(ServerName::try_from("10.0.0.5").unwrap())
        );
        let v6 = Endpoint::parse("https://[::1]:8443/hook?team=a", "").unwrap();
        assert_eq!(v6.address, "[::1]:8443");
        assert_eq!(v6.path(), "/hook?team=a");
        assert_eq!(v6.server_name, Some(ServerName::try_from("::1").unwrap()));
    }

    #[test]
    fn base_urls_get_the_suffix_appended_once() {
        let loki = Endpoint::parse("http://127.0.0.1:3100/", "/loki/api/v1/push").unwrap();
        assert_eq!(loki.path(), "/loki/api/v1/push");
        let bare = Endpoint::parse("https://loki.example", "/loki/api/v1/push").unwrap();
        assert_eq!(bare.path(), "/loki/api/v1/push");
        assert_eq!(bare.with_path("/ready").path(), "/ready");
        assert!(bare.with_path("/ready").is_https());
    }

    #[test]
    fn unusable_urls_are_refused_with_a_reason() {
        let refused = |url: &str, suffix: &str| Endpoint::parse(url, suffix).unwrap_err();
        assert_eq!(refused("ftp://am", ""), UrlError::Scheme);
        assert_eq!(refused("am:9093", ""), UrlError::Scheme);
        assert_eq!(refused("http://user:pw@am", ""), UrlError::Credentials);
        assert_eq!(refused("https://user@am", ""), UrlError::Credentials);
        assert_eq!(refused("http://am/x?y=1", "/api"), UrlError::QueryInBase);
        assert_eq!(refused("https://-bad.example", ""), UrlError::ServerName);
        assert_eq!(refused("not a url", ""), UrlError::Invalid);
    }
}
