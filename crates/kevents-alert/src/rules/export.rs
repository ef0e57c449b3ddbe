//! `kevents rules export --format prometheus|prometheus-rule`: the rules as a Prometheus rule
//! file over `kube_event_count`, or as the Prometheus operator's `PrometheusRule` object holding
//! the same groups, for teams that prefer evaluating in Prometheus.

use super::rule::{Condition, Rule};
use kevents_model::{EventMatcher, MatchField};
use serde_json::{json, Map, Value};

fn seconds(micros: i64) -> String {
    format!("{}s", (micros / 1_000_000).max(1))
}

/// The `kube_event_count` label carrying `field`, if any.
fn metric_label(field: MatchField) -> Option<&'static str> {
    match field {
        MatchField::Cluster => Some("cluster"),
        MatchField::Namespace => Some("namespace"),
        MatchField::Kind => Some("involved_object_kind"),
        MatchField::Reason => Some("reason"),
        MatchField::Type => Some("type"),
        MatchField::Source => Some("source"),
        MatchField::Name => None,
    }
}

fn glob_to_regex(glob: &str) -> String {
    glob.chars()
        .map(|c| match c {
            '*' => ".*".to_string(),
            '?' => ".".to_string(),
            c if c.is_alphanumeric() || c == '_' || c == '-' || c == '/' => c.to_string(),
            c => format!("\\{c}"),
        })
        .collect()
}

/// The equivalent label matchers on `kube_event_count`, or `None` when the rule looks at
/// something the metric does not carry (object name, event labels, message).
fn promql_selector(matcher: &EventMatcher) -> Option<String> {
    if matcher.looks_beyond_fields() {
        return None;
    }
    let mut matchers = Vec::new();
    for (field, globs) in matcher.fields() {
        let label = metric_label(*field)?;
        let pattern = globs
            .iter()
            .map(|g| glob_to_regex(g))
            .collect::<Vec<_>>()
            .join("|");
        let exact = globs.len() == 1 && !globs[0].contains(['*', '?']);
        if exact {
            matchers.push(format!("{label}={:?}", globs[0]));
        } else {
            matchers.push(format!("{label}=~{pattern:?}"));
        }
    }
    Some(format!("{{{}}}", matchers.join(",")))
}

/// The PromQL expression of `rule`, or why it has none.
pub fn promql(rule: &Rule) -> Result<String, String> {
    let selector = promql_selector(&rule.matcher).ok_or(
        "it matches on the object name, event labels or message, which kube_event_count does not carry",
    )?;
    let by: Vec<&str> = rule
        .group_by
        .iter()
        .filter_map(|f| metric_label(*f))
        .collect();
    let aggregate = |inner: String| format!("sum by ({}) ({inner})", by.join(", "));
    Ok(match rule.condition {
        Condition::Any => format!(
            "{} > 0",
            aggregate(format!(
                "increase(kube_event_count{selector}[{}])",
                seconds(rule.resolve_after)
            ))
        ),
        Condition::Count { min, window } => format!(
            "{} >= {min}",
            aggregate(format!(
                "increase(kube_event_count{selector}[{}])",
                seconds(window)
            ))
        ),
        Condition::Rate { per_second, window } => format!(
            "{} >= {per_second}",
            aggregate(format!(
                "rate(kube_event_count{selector}[{}])",
                seconds(window)
            ))
        ),
        Condition::Forecast {
            per_second,
            window,
            horizon,
        } => format!(
            "predict_linear({}[{}:{}], {}) >= {per_second}",
            aggregate(format!(
                "rate(kube_event_count{selector}[{}])",
                seconds(window / 10)
            )),
            seconds(window),
            seconds(window / 10),
            horizon / 1_000_000
        ),
        Condition::Lasting(_) => {
            return Err("`lasting` needs the series history, which Prometheus does not have".into())
        }
    })
}

/// Annotation text with kevents' fields replaced by Prometheus template variables where a label
/// carries them.
fn annotation(rule: &Rule, key: &str) -> String {
    let labels: Vec<&str> = rule
        .group_by
        .iter()
        .filter_map(|f| metric_label(*f))
        .collect();
    let mut values = std::collections::BTreeMap::new();
    for field in super::template::FIELDS {
        let label = match *field {
            "kind" => "involved_object_kind",
            other => other,
        };
        let text = if labels.contains(&label) {
            format!("{{{{ $labels.{label} }}}}")
        } else if *field == "count" {
            "{{ $value }}".to_string()
        } else {
            String::new()
        };
        values.insert(*field, text);
    }
    rule.annotations
        .get(key)
        .map(|t| t.render(&values))
        .unwrap_or_default()
}

/// The rule file; rules that cannot be expressed are listed in `skipped` with the reason.
pub fn prometheus_rules(rules: &[Rule]) -> (Value, Vec<(String, String)>) {
    let mut exported = Vec::new();
    let mut skipped = Vec::new();
    for rule in rules {
        match promql(rule) {
            Ok(expr) => {
                let mut entry = Map::new();
                entry.insert("alert".into(), json!(rule.name));
                entry.insert("expr".into(), json!(expr));
                if rule.hold > 0 {
                    entry.insert("for".into(), json!(seconds(rule.hold)));
                }
                if !rule.labels.is_empty() {
                    entry.insert("labels".into(), json!(rule.labels));
                }
                let annotations: Map<String, Value> = rule
                    .annotations
                    .keys()
                    .map(|k| (k.clone(), json!(annotation(rule, k))))
                    .collect();
                if !annotations.is_empty() {
                    entry.insert("annotations".into(), Value::Object(annotations));
                }
                exported.push(Value::Object(entry));
            }
            Err(why) => skipped.push((rule.name.clone(), why)),
        }
    }
    let file = json!({"groups": [{"name": "kevents", "rules": exported}]});
    (file, skipped)
}

/// The Prometheus operator's `PrometheusRule` named `name` whose spec is the rule file of
/// [`prometheus_rules`]; rules that cannot be expressed are listed in `skipped` with the reason.
pub fn prometheus_rule_object(rules: &[Rule], name: &str) -> (Value, Vec<(String, String)>) {
    let (file, skipped) = prometheus_rules(rules);
    let object = json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name},
        "spec": file,
    });
    (object, skipped)
}
