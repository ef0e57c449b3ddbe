//! An alert as the rule engine produces it and the delivery sends it: the shape of
//! Alertmanager's v2 `PostableAlert`.

use kevents_model::Micros;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

/// One alert instance: a rule and a group of labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Identity: `alertname`, the rule's labels and the grouping labels.
    pub labels: BTreeMap<String, String>,
    /// Rendered annotations (summary, description, ...).
    pub annotations: BTreeMap<String, String>,
    /// When the alert started firing.
    #[serde(serialize_with = "rfc3339", deserialize_with = "parse_rfc3339")]
    pub starts_at: Micros,
    /// When it resolved; `None` while firing.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "rfc3339_option",
        deserialize_with = "parse_rfc3339_option"
    )]
    pub ends_at: Option<Micros>,
    /// A link back to the hub (the events of the alert's object).
    #[serde(rename = "generatorURL", default)]
    pub generator_url: String,
}

impl Alert {
    /// True once the alert has resolved.
    pub fn is_resolved(&self) -> bool {
        self.ends_at.is_some()
    }

    /// A stable identity of the alert: its labels, as `name=value` pairs joined by `,`.
    pub fn fingerprint(&self) -> String {
        self.labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub(crate) fn rfc3339<S: Serializer>(at: &Micros, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_micro_time_string())
}

pub(crate) fn rfc3339_option<S: Serializer>(
    at: &Option<Micros>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, serializer),
        None => serializer.serialize_none(),
    }
}

fn parse_rfc3339<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Micros, D::Error> {
    let text = String::deserialize(deserializer)?;
    Micros::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("bad time {text:?}")))
}

fn parse_rfc3339_option<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Micros>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|t| {
        Micros::parse(&t).ok_or_else(|| serde::de::Error::custom(format!("bad time {t:?}")))
    })
    .transpose()
}
