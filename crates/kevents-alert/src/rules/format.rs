//! The rule file format (YAML), parsed strictly: unknown keys, bad durations, regexes, globs and
//! template variables are errors naming the file, line and field.

use kevents_model::{parse_go_duration, MatchSpec};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// A rule file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules, in order.
    pub rules: Vec<RuleSpec>,
}

/// When a rule's group is active.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WhenSpec {
    /// At least this many occurrences within `window`.
    pub count: Option<u64>,
    /// At least this many occurrences per second over `window`.
    pub rate: Option<f64>,
    /// The group's series has lasted longer than this (first to last occurrence).
    pub lasting: Option<Spanned<String>>,
    /// The occurrences per second a linear fit over `window` predicts `horizon` ahead reach
    /// (Prometheus' `predict_linear`).
    pub forecast: Option<f64>,
    /// How far ahead `forecast` looks.
    pub horizon: Option<Spanned<String>>,
    /// The window of `count`, `rate` and `forecast`.
    pub window: Option<Spanned<String>>,
}

/// One rule as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleSpec {
    /// The alert name.
    pub name: Spanned<String>,
    /// Which events count.
    #[serde(default, rename = "match")]
    pub matches: MatchSpec<Spanned<String>>,
    /// The condition; any occurrence when absent.
    pub when: Option<WhenSpec>,
    /// How long the condition must hold before the alert fires.
    #[serde(rename = "for")]
    pub hold: Option<Spanned<String>>,
    /// Without a matching occurrence for this long, an `any` or `lasting` alert resolves.
    pub resolve_after: Option<Spanned<String>>,
    /// Fields that split the rule into alerts (cluster, namespace, kind, name, reason, type, source).
    pub group_by: Option<Vec<String>>,
    /// Extra alert labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations, templated with `{{ field }}`.
    #[serde(default)]
    pub annotations: BTreeMap<String, Spanned<String>>,
}

/// A rule file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {field}: {message}")]
pub struct RuleError {
    /// The file.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// The field, e.g. `rules[2].match.message`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Parses a duration field, reporting its location.
pub fn duration(file: &str, field: &str, value: &Spanned<String>) -> Result<i64, RuleError> {
    parse_go_duration(&value.value)
        .ok()
        .filter(|micros| *micros >= 0)
        .ok_or_else(|| RuleError {
            file: file.to_string(),
            line: value.referenced.line(),
            field: field.to_string(),
            message: format!(
                "invalid duration {:?} (use Go syntax: 30s, 5m, 1h30m)",
                value.value
            ),
        })
}
