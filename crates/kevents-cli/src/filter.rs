//! Which events a command looks at: flags turned into the hub's list query (namespace, field and
//! label selectors) plus the checks the hub cannot do (time range on last seen, kind aliases).

use crate::context::{parse_duration, parse_time};
use crate::error::{CliError, Result};
use crate::hub::encode_query;
use clap::Args;
use kevents_model::{EventRecord, Micros};

/// Filters shared by `get`, `timeline`, `top`, `tail` and `export`.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only this namespace (default: all namespaces).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// All namespaces (the default; accepted for kubectl habits).
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Only events last seen within this long before now (90s, 15m, 2h, 3d, 1w).
    #[arg(long, value_parser = parse_duration, conflicts_with = "from")]
    pub since: Option<i64>,
    /// Only events last seen at or after this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<Micros>,
    /// Only events last seen at or before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub to: Option<Micros>,
    /// Only events of this type.
    #[arg(long = "type", value_name = "TYPE", value_parser = ["Normal", "Warning"], ignore_case = true)]
    pub event_type: Option<String>,
    /// Only events with this reason.
    #[arg(long)]
    pub reason: Option<String>,
    /// Only events about this object, as KIND/NAME (pod/web-0, node/worker-1, deploy/web).
    #[arg(long = "for", value_name = "KIND/NAME")]
    pub for_object: Option<String>,
    /// Only events from this cluster (a collected cluster, or the hub's own `--cluster-name`).
    #[arg(long)]
    pub cluster: Option<String>,
    /// Label selector (`app=web,tier!=db`).
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub label_selector: Option<String>,
    /// Field selector, as kubectl's (`involvedObject.kind=Node,reason!=Pulled`).
    #[arg(long, value_name = "SELECTOR")]
    pub field_selector: Option<String>,
    /// Events per list request.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub chunk_size: u32,
}

/// The object `--for` names: a canonical kind and a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectName {
    /// Kind as Kubernetes spells it (`Pod`), or as typed when unknown.
    pub kind: String,
    /// Object name.
    pub name: String,
}

impl ObjectName {
    /// Parses `pod/web-0`, `pods/web-0`, `Pod/web-0`, `deploy/web`.
    pub fn parse(text: &str) -> Result<ObjectName> {
        match text.split_once('/') {
            Some((kind, name)) if !kind.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(ObjectName {
                    kind: canonical_kind(kind),
                    name: name.to_string(),
                })
            }
            _ => Err(CliError::Invalid(format!(
                "expected KIND/NAME (like pod/web-0), got {text:?}"
            ))),
        }
    }
}

/// Maps kubectl's short and plural resource names to a Kind (`po` → `Pod`).
pub fn canonical_kind(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let kind = match lower.as_str() {
        "po" | "pod" | "pods" => "Pod",
        "no" | "node" | "nodes" => "Node",
        "deploy" | "deployment" | "deployments" => "Deployment",
        "rs" | "replicaset" | "replicasets" => "ReplicaSet",
        "sts" | "statefulset" | "statefulsets" => "StatefulSet",
        "ds" | "daemonset" | "daemonsets" => "DaemonSet",
        "job" | "jobs" => "Job",
        "cj" | "cronjob" | "cronjobs" => "CronJob",
        "svc" | "service" | "services" => "Service",
        "pvc" | "persistentvolumeclaim" | "persistentvolumeclaims" => "PersistentVolumeClaim",
        "pv" | "persistentvolume" | "persistentvolumes" => "PersistentVolume",
        "cm" | "configmap" | "configmaps" => "ConfigMap",
        "secret" | "secrets" => "Secret",
        "ns" | "namespace" | "namespaces" => "Namespace",
        "ing" | "ingress" | "ingresses" => "Ingress",
        "hpa" | "horizontalpodautoscaler" | "horizontalpodautoscalers" => "HorizontalPodAutoscaler",
        "ep" | "endpoints" => "Endpoints",
        _ => return text.to_string(),
    };
    kind.to_string()
}

/// A resolved filter: the list path to ask the hub, and the client-side checks.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Namespace, if restricted.
    pub namespace: Option<String>,
    /// Path and query of the first list request (without `continue`).
    pub list_path: String,
    /// Events last seen before this are dropped.
    pub from: Option<Micros>,
    /// Events last seen after this are dropped.
    pub to: Option<Micros>,
    /// Kind of `--for`, checked case-insensitively (the hub's selector is exact).
    pub kind: Option<String>,
}

impl FilterArgs {
    /// Resolves the flags against `now`.
    pub fn resolve(&self, now: Micros) -> Result<Filter> {
        if let Some(cluster) = &self.cluster {
            let valid = !cluster.is_empty()
                && cluster
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                return Err(CliError::Invalid(format!(
                    "--cluster {cluster:?}: cluster names are lowercase letters, digits and '-'"
                )));
            }
        }
        let mut fields: Vec<String> = Vec::new();
        if let Some(event_type) = &self.event_type {
            let canonical = if event_type.eq_ignore_ascii_case("warning") {
                "Warning"
            } else {
                "Normal"
            };
            fields.push(format!("type={canonical}"));
        }
        if let Some(reason) = &self.reason {
            fields.push(format!("reason={}", escape_selector_value(reason)));
        }
        let object = self
            .for_object
            .as_deref()
            .map(ObjectName::parse)
            .transpose()?;
        if let Some(object) = &object {
            fields.push(format!(
                "involvedObject.name={}",
                escape_selector_value(&object.name)
            ));
        }
        if let Some(extra) = self.field_selector.as_deref().filter(|s| !s.is_empty()) {
            fields.push(extra.to_string());
        }
        // A cluster is a whole Kubernetes API of its own under `/clusters/{name}`.
        let mut list_path = match &self.cluster {
            Some(cluster) => format!("/clusters/{cluster}"),
            None => String::new(),
        };
        match &self.namespace {
            Some(namespace) => list_path.push_str(&format!(
                "/api/v1/namespaces/{}/events",
                encode_query(namespace)
            )),
            None => list_path.push_str("/api/v1/events"),
        }
        list_path.push_str(&format!("?limit={}", self.chunk_size));
        if !fields.is_empty() {
            list_path.push_str(&format!(
                "&fieldSelector={}",
                encode_query(&fields.join(","))
            ));
        }
        if let Some(labels) = self.label_selector.as_deref().filter(|s| !s.is_empty()) {
            list_path.push_str(&format!("&labelSelector={}", encode_query(labels)));
        }
        let from = self.since.map(|since| Micros(now.0 - since)).or(self.from);
        // The hub picks the window's events from its time index; the same times are checked
        // again here (an apiserver ignores the parameters).
        for (name, time) in [("from", from), ("to", self.to)] {
            if let Some(time) = time {
                let text = time.to_micro_time_string();
                list_path.push_str(&format!("&{name}={}", encode_query(&text)));
            }
        }
        Ok(Filter {
            namespace: self.namespace.clone(),
            list_path,
            from,
            to: self.to,
            kind: object.map(|o| o.kind),
        })
    }
}

impl Filter {
    /// The list path for watches: the same selectors, without `limit` and the time window (a
    /// watch follows every change after the list).
    pub fn watch_path(&self, resource_version: &str) -> String {
        let (path, query) = self
            .list_path
            .split_once('?')
            .unwrap_or((&self.list_path, ""));
        let list_only = ["limit=", "from=", "to="];
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && !list_only.iter().any(|name| p.starts_with(name)))
            .collect();
        let mut out = format!(
            "{path}?watch=true&allowWatchBookmarks=true&resourceVersion={}",
            encode_query(resource_version)
        );
        for part in kept {
            out.push('&');
            out.push_str(part);
        }
        out
    }

    /// Whether `record` passes the checks the hub does not do.
    pub fn matches(&self, record: &EventRecord) -> bool {
        if let Some(kind) = &self.kind {
            if !record.involved_object.kind.eq_ignore_ascii_case(kind) {
                return false;
            }
        }
        let last_seen = last_seen(record);
        self.from.is_none_or(|from| last_seen >= from) && self.to.is_none_or(|to| last_seen <= to)
    }

    /// True when every event the hub returns matches (no client-side checks needed).
    pub fn is_server_side_only(&self) -> bool {
        self.kind.is_none() && self.from.is_none() && self.to.is_none()
    }
}

/// When an event last happened; events without any time count as created.
pub fn last_seen(record: &EventRecord) -> Micros {
    record.seen_at()
}

/// When an event first happened (never after [`last_seen`]; the last time when unknown).
pub fn first_seen(record: &EventRecord) -> Micros {
    let last = last_seen(record);
    record.first_seen().unwrap_or(last).min(last)
}

pub(crate) fn escape_selector_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('=', "\\=")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> FilterArgs {
        FilterArgs {
            chunk_size: 500,
            ..FilterArgs::default()
        }
    }

    #[test]
    fn flags_become_one_field_selector() {
        let filter = FilterArgs {
            namespace: Some("prod".into()),
            event_type: Some("warning".into()),
            reason: Some("BackOff".into()),
            for_object: Some("po/web-0".into()),
            ..args()
        }
        .resolve(Micros(0))
        .unwrap();
        assert_eq!(
            filter.list_path,
            "/api/v1/namespaces/prod/events?limit=500&fieldSelector=type%3DWarning%2Creason%3DBackOff%2CinvolvedObject.name%3Dweb-0"
        );
        assert_eq!(filter.kind.as_deref(), Some("Pod"));
        assert_eq!(
            filter.watch_path("42"),
            "/api/v1/namespaces/prod/events?watch=true&allowWatchBookmarks=true&resourceVersion=42&fieldSelector=type%3DWarning%2Creason%3DBackOff%2CinvolvedObject.name%3Dweb-0"
        );
    }

    #[test]
    fn since_is_measured_from_now_on_last_seen() {
        let filter = FilterArgs {
            since: Some(10),
            ..args()
        }
        .resolve(Micros(100))
        .unwrap();
        let mut record = EventRecord {
            last_timestamp: Some(Micros(95)),
            ..EventRecord::default()
        };
        assert!(filter.matches(&record));
        record.last_timestamp = Some(Micros(80));
        assert!(!filter.matches(&record));
        // The hub gets the window as an absolute time, the same for every page; watches
        // follow every change after the list.
        assert_eq!(
            filter.list_path,
            "/api/v1/events?limit=500&from=1970-01-01T00%3A00%3A00.000090Z"
        );
        assert!(!filter.watch_path("3").contains("from="));
    }

    #[test]
    fn cluster_scopes_list_and_watch_paths() {
        let filter = FilterArgs {
            cluster: Some("prod".into()),
            ..args()
        }
        .resolve(Micros(0))
        .unwrap();
        assert_eq!(filter.list_path, "/clusters/prod/api/v1/events?limit=500");
        assert!(filter
            .watch_path("7")
            .starts_with("/clusters/prod/api/v1/events?watch=true"));
        let err = FilterArgs {
            cluster: Some("Prod/x".into()),
            ..args()
        }
        .resolve(Micros(0))
        .unwrap_err();
        assert!(err.to_string().contains("--cluster"));
    }

    #[test]
    fn object_names_need_a_kind_and_a_name() {
        assert_eq!(ObjectName::parse("deploy/web").unwrap().kind, "Deployment");
        assert_eq!(ObjectName::parse("Widget/w").unwrap().kind, "Widget");
        assert!(ObjectName::parse("web-0").is_err());
    }
}
