//! A trigger as written becomes a [`TriggerSpec`]: its match compiled, its templates parsed,
//! its URLs and durations checked. Anything wrong is an error naming the field.

use crate::config::{ActionConfig, AlertEdge, TriggerConfig};
use crate::safety::Limits;
use crate::template::{parse_action, parse_key, DocumentTemplate};
use kevents_alert::rules::glob_match;
use kevents_http::{Client, Endpoint};
use kevents_model::Template;
use kevents_sink::progress::Backoff;
use kevents_sink::route::Route;
use kevents_sink::sinks::duration;
use std::path::PathBuf;
use std::time::Duration;

/// The default dedupe key: one firing per object and reason.
pub const DEFAULT_DEDUPE_KEY: &str = "{{ cluster }}/{{ namespace }}/{{ object }}/{{ reason }}";

/// The default Slack message.
pub const DEFAULT_SLACK_TEXT: &str =
    "{{ trigger }}: {{ type }} {{ reason }} {{ object }} in {{ cluster }}/{{ namespace }} (x{{ count }}): {{ message }}";

/// The loaded triggers, replaced whole on reload.
pub type TriggerSet = std::sync::Arc<Vec<std::sync::Arc<TriggerSpec>>>;

/// A trigger ready to run.
#[derive(Debug)]
pub struct TriggerSpec {
    /// Unique name.
    pub name: String,
    /// What fires it.
    pub when: When,
    /// What it does.
    pub action: Action,
    /// The dedupe key's template.
    pub dedupe_key: Template,
    /// Cooldown, rate limit, series count.
    pub limits: Limits,
    /// Record only.
    pub dry_run: bool,
    /// Retry backoff.
    pub backoff: Backoff,
    /// Attempts before the run fails.
    pub max_attempts: u32,
}

/// What fires a trigger.
#[derive(Debug)]
pub enum When {
    /// Changes of events the route takes.
    Event(Route),
    /// Alerts starting or resolving.
    Alert(AlertMatch),
}

/// Which alerts fire a trigger, and on which edge.
#[derive(Debug)]
pub struct AlertMatch {
    /// Globs of the rule name (none: any).
    pub names: Vec<String>,
    /// Globs of label values.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Starting or resolving.
    pub edge: AlertEdge,
}

impl AlertMatch {
    /// True when `alert` is one of these, on this edge.
    pub fn matches(&self, alert: &kevents_alert::Alert) -> bool {
        let edge = if alert.is_resolved() {
            AlertEdge::Resolved
        } else {
            AlertEdge::Firing
        };
        let name = alert.labels.get("alertname").map_or("", String::as_str);
        edge == self.edge
            && (self.names.is_empty() || self.names.iter().any(|n| glob_match(n, name)))
            && self.labels.iter().all(|(label, pattern)| {
                glob_match(pattern, alert.labels.get(label).map_or("", String::as_str))
            })
    }
}

/// The default dedupe key of alert triggers: one firing per alert instance.
pub const DEFAULT_ALERT_DEDUPE_KEY: &str = "{{ fingerprint }}";

/// A compiled action.
#[derive(Debug)]
pub enum Action {
    /// POST a CloudEvent.
    Webhook {
        /// Where to.
        client: Client,
        /// The URL, for the run's record.
        url: String,
        /// Signing secret.
        hmac_secret: Option<String>,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Request timeout.
        timeout: Duration,
    },
    /// Create an object.
    Kubernetes {
        /// The kubeconfig context; `None`: the collector's credentials for the event's cluster.
        context: Option<String>,
        /// The kubeconfig holding the context.
        kubeconfig: Option<PathBuf>,
        /// The object.
        object: DocumentTemplate,
    },
    /// Post to Slack.
    Slack {
        /// Where to.
        client: Client,
        /// The URL, for the run's record.
        url: String,
        /// The message.
        text: Template,
        /// Request timeout.
        timeout: Duration,
    },
}

impl Action {
    /// `webhook`, `kubernetes` or `slack`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Webhook { .. } => "webhook",
            Action::Kubernetes { .. } => "kubernetes",
            Action::Slack { .. } => "slack",
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn client(section: &str, url: &str, ca_file: &Option<PathBuf>) -> Result<Client, String> {
    let endpoint = Endpoint::parse(url, "").map_err(|e| format!("{section}.url {url:?}: {e}"))?;
    Client::new(endpoint, ca_file.as_deref()).map_err(|e| format!("{section}.caFile: {e}"))
}

fn action(config: ActionConfig) -> Result<Action, String> {
    let given = [
        config.webhook.is_some(),
        config.kubernetes.is_some(),
        config.slack.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err("action: give exactly one of webhook, kubernetes, slack".into());
    }
    if let Some(c) = config.webhook {
        return Ok(Action::Webhook {
            client: client("action.webhook", &c.url, &c.ca_file)?,
            url: c.url,
            hmac_secret: c.hmac_secret,
            headers: c.headers.into_iter().collect(),
            timeout: duration(&c.timeout, Duration::from_secs(10))
                .map_err(|e| format!("action.webhook.timeout: {e}"))?,
        });
    }
    if let Some(c) = config.slack {
        let text = c.text.as_deref().unwrap_or(DEFAULT_SLACK_TEXT);
        return Ok(Action::Slack {
            client: client("action.slack", &c.url, &c.ca_file)?,
            url: c.url,
            text: parse_action(text).map_err(|e| format!("action.slack.text: {e}"))?,
            timeout: duration(&c.timeout, Duration::from_secs(10))
                .map_err(|e| format!("action.slack.timeout: {e}"))?,
        });
    }
    let c = config.kubernetes.expect("exactly one action is given");
    for field in ["apiVersion", "kind"] {
        if c.object[field].as_str().is_none_or(str::is_empty) {
            return Err(format!("action.kubernetes.object.{field}: required"));
        }
    }
    if !c.object["metadata"].is_object() && !c.object["metadata"].is_null() {
        return Err("action.kubernetes.object.metadata: must be a map".into());
    }
    Ok(Action::Kubernetes {
        context: c.context,
        kubeconfig: c.kubeconfig,
        object: DocumentTemplate::parse(&c.object, "action.kubernetes.object")?,
    })
}

/// Compiles one trigger.
pub fn compile(config: TriggerConfig) -> Result<TriggerSpec, String> {
    let valid_name = !config.name.is_empty()
        && config.name.len() <= 40
        && config
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !config.name.starts_with('-')
        && !config.name.ends_with('-');
    if !valid_name {
        return Err(
            "name: use 1-40 lowercase letters, digits or `-` (it names runs and objects)".into(),
        );
    }
    let when = match (config.when.event, config.when.alert) {
        (Some(event), None) => {
            When::Event(
                Route::compile(event).map_err(|e| match e.strip_prefix("match") {
                    Some(rest) => format!("when.event{rest}"),
                    None => format!("when.event: {e}"),
                })?,
            )
        }
        (None, Some(alert)) if config.when.series.is_none() => When::Alert(AlertMatch {
            names: alert.name,
            labels: alert.labels,
            edge: alert.on,
        }),
        (None, Some(_)) => return Err("when.series: only with when.event".into()),
        _ => return Err("when: give exactly one of event, alert".into()),
    };
    let series = match config.when.series {
        Some(s) if s.count == 0 => return Err("when.series.count: at least 1".into()),
        Some(s) => Some((
            s.count,
            micros(
                duration(&Some(s.within), Duration::ZERO)
                    .map_err(|e| format!("when.series.within: {e}"))?,
            ),
        )),
        None => None,
    };
    let safety = config.safety;
    let rate_limit = match safety.rate_limit {
        Some(r) if r.count == 0 => return Err("safety.rateLimit.count: at least 1".into()),
        Some(r) => Some((
            r.count,
            micros(
                duration(&r.per, Duration::from_secs(60))
                    .map_err(|e| format!("safety.rateLimit.per: {e}"))?,
            ),
        )),
        None => None,
    };
    let default_dedupe = match when {
        When::Event(_) => DEFAULT_DEDUPE_KEY,
        When::Alert(_) => DEFAULT_ALERT_DEDUPE_KEY,
    };
    let dedupe = safety.dedupe_key.as_deref().unwrap_or(default_dedupe);
    let retry = config.retry;
    Ok(TriggerSpec {
        name: config.name,
        when,
        action: action(config.action)?,
        dedupe_key: parse_key(dedupe).map_err(|e| format!("safety.dedupeKey: {e}"))?,
        limits: Limits {
            cooldown: micros(
                duration(&safety.cooldown, Duration::from_secs(600))
                    .map_err(|e| format!("safety.cooldown: {e}"))?,
            ),
            rate_limit,
            series,
        },
        dry_run: safety.dry_run,
        backoff: Backoff {
            initial: duration(&retry.initial_backoff, Duration::from_secs(1))
                .map_err(|e| format!("retry.initialBackoff: {e}"))?,
            max: duration(&retry.max_backoff, Duration::from_secs(60))
                .map_err(|e| format!("retry.maxBackoff: {e}"))?,
        },
        max_attempts: match retry.max_attempts {
            Some(0) => u32::MAX,
            Some(n) => n,
            None => 10,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kevents_model::Micros;

    fn alert(name: &str, resolved: bool) -> kevents_alert::Alert {
        kevents_alert::Alert {
            labels: [("alertname", name), ("severity", "critical")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: Default::default(),
            starts_at: Micros(1),
            ends_at: resolved.then_some(Micros(2)),
            generator_url: String::new(),
        }
    }

    #[test]
    fn alert_matches_take_name_globs_label_globs_and_one_edge() {
        let matcher = AlertMatch {
            names: vec!["Node*".into()],
            labels: [("severity".to_string(), "crit*".to_string())].into(),
            edge: AlertEdge::Firing,
        };
        assert!(matcher.matches(&alert("NodeDown", false)));
        assert!(!matcher.matches(&alert("NodeDown", true)), "resolved");
        assert!(!matcher.matches(&alert("PodDown", false)), "name");
        let resolved = AlertMatch {
            names: Vec::new(),
            labels: [("team".to_string(), "*".to_string())].into(),
            edge: AlertEdge::Resolved,
        };
        assert!(
            resolved.matches(&alert("Anything", true)),
            "a missing label is empty, which `*` takes"
        );
    }

    #[test]
    fn a_trigger_needs_exactly_one_of_event_and_alert() {
        let parse = |when: &str| {
            crate::parse(
                "t.yaml",
                &format!("triggers:\n- name: a\n  when: {when}\n  action: {{webhook: {{url: 'http://h'}}}}\n"),
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
        };
        assert!(parse("{event: {reason: X}}").is_ok());
        assert!(parse("{alert: {name: [X]}}").is_ok());
        assert!(parse("{}")
            .unwrap_err()
            .contains("exactly one of event, alert"));
        assert!(parse("{alert: {}, series: {count: 2, within: 1m}}")
            .unwrap_err()
            .contains("when.series: only with when.event"));
    }
}
