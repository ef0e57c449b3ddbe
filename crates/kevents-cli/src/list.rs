//! Reading events from the hub: transparent paging over `limit`/`continue`, and decoding list
//! items into [`EventRecord`]s.

use crate::error::{CliError, Result};
use crate::filter::{last_seen, Filter};
use crate::hub::encode_query;
use kevents_http::hub::HubClient;
use kevents_model::wire::decode_event;
use kevents_model::{ApiGroup, EventRecord, Micros};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// One page of a list answer, items kept as raw JSON (export copies them unparsed).
#[derive(Deserialize)]
pub struct Page {
    /// The list's metadata.
    #[serde(default)]
    pub metadata: ListMeta,
    /// The events, as the hub sent them.
    #[serde(default)]
    pub items: Vec<Box<RawValue>>,
}

/// `metadata` of a list answer.
#[derive(Deserialize, Default)]
pub struct ListMeta {
    /// The snapshot's resourceVersion (watches start from it).
    #[serde(default, rename = "resourceVersion")]
    pub resource_version: String,
    /// The token for the next page; empty on the last.
    #[serde(default, rename = "continue")]
    pub continue_token: String,
}

/// Walks the pages of one list query.
pub struct Lister {
    path: String,
    continue_token: Option<String>,
    done: bool,
}

impl Lister {
    /// A lister for `filter`'s query.
    pub fn new(filter: &Filter) -> Lister {
        Lister {
            path: filter.list_path.clone(),
            continue_token: None,
            done: false,
        }
    }

    /// The next page, or `None` after the last.
    pub async fn next_page(&mut self, hub: &HubClient) -> Result<Option<Page>> {
        if self.done {
            return Ok(None);
        }
        let path = match &self.continue_token {
            Some(token) => format!("{}&continue={}", self.path, encode_query(token)),
            None => self.path.clone(),
        };
        let page: Page = hub.get(&path).await?;
        if page.metadata.continue_token.is_empty() {
            self.done = true;
        } else {
            self.continue_token = Some(page.metadata.continue_token.clone());
        }
        Ok(Some(page))
    }
}

/// Decodes one list item (core/v1 or events.k8s.io/v1) with the server-owned metadata kept.
pub fn decode(value: Value) -> std::result::Result<EventRecord, String> {
    let metadata = value.get("metadata");
    let text = |field: &str| {
        metadata
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let creation = text("creationTimestamp").and_then(|t| Micros::parse(&t));
    let group = match value.get("apiVersion").and_then(Value::as_str) {
        Some("events.k8s.io/v1") => ApiGroup::Events,
        _ => ApiGroup::Core,
    };
    let decoded = decode_event(group, value).map_err(|e| e.to_string())?;
    let mut record = decoded.record;
    record.uid = decoded.uid.unwrap_or_default();
    record.resource_version = decoded
        .resource_version
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    record.creation_timestamp = creation;
    Ok(record)
}

/// Decodes a raw list item.
pub fn decode_raw(raw: &RawValue) -> Result<EventRecord> {
    let value: Value =
        serde_json::from_str(raw.get()).map_err(|e| CliError::Protocol(e.to_string()))?;
    decode(value).map_err(CliError::Protocol)
}

/// Every event matching `filter`, oldest last-seen first; also returns the list's resourceVersion.
pub async fn collect(hub: &HubClient, filter: &Filter) -> Result<(Vec<EventRecord>, String)> {
    let mut lister = Lister::new(filter);
    let mut records = Vec::new();
    let mut resource_version = String::new();
    while let Some(page) = lister.next_page(hub).await? {
        if resource_version.is_empty() {
            resource_version = page.metadata.resource_version.clone();
        }
        for raw in &page.items {
            let record = decode_raw(raw)?;
            if filter.matches(&record) {
                records.push(record);
            }
        }
    }
    sort_by_last_seen(&mut records);
    Ok((records, resource_version))
}

/// Sorts by last seen, then namespace and name, so output is stable.
pub fn sort_by_last_seen(records: &mut [EventRecord]) {
    records.sort_by(|a, b| {
        (last_seen(a), &a.namespace, &a.name).cmp(&(last_seen(b), &b.namespace, &b.name))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decode_keeps_server_owned_metadata() {
        let record = decode(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "a", "namespace": "default", "uid": "u-1", "resourceVersion": "7",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "involvedObject": {"kind": "Pod", "name": "web-0"},
            "reason": "BackOff", "type": "Warning", "count": 3,
            "lastTimestamp": "2026-01-01T00:05:00Z"
        }))
        .unwrap();
        assert_eq!((record.uid.as_str(), record.resource_version), ("u-1", 7));
        assert_eq!(
            record.creation_timestamp,
            Micros::parse("2026-01-01T00:00:00Z")
        );
        assert_eq!(record.occurrences(), 3);
    }
}
