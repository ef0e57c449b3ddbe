//! Query parameters of list, watch and write requests, parsed once at the edge.

use crate::error::{ApiError, ApiResult};
use base64::Engine;
use kevents_model::{parse_go_duration, ApiGroup, EventKey, FieldSelector, LabelSelector, Micros};
use kevents_store::TimeWindow;
use serde_json::json;
use std::collections::HashMap;

/// `resourceVersionMatch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionMatch {
    /// `NotOlderThan`.
    NotOlderThan,
    /// `Exact`.
    Exact,
}

/// Options of a list or watch.
#[derive(Debug, Default)]
pub struct ListOptions {
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `limit` (0 = none).
    pub limit: Option<usize>,
    /// Decoded `continue` token.
    pub continue_from: Option<ContinueToken>,
    /// `resourceVersion` as sent ("" when absent).
    pub resource_version: String,
    /// Parsed `resourceVersion`, when set and not "".
    pub resource_version_number: Option<u64>,
    /// `resourceVersionMatch`.
    pub version_match: Option<VersionMatch>,
    /// `watch=true`.
    pub watch: bool,
    /// `allowWatchBookmarks=true`.
    pub allow_bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// `timeoutSeconds`.
    pub timeout_seconds: Option<u64>,
    /// `includeObject` for Table responses.
    pub include_object: IncludeObject,
    /// `since` or `from`/`to` (a kevents extension): only events last seen in this window; a
    /// continue token's window wins over the request's.
    pub seen: Option<TimeWindow>,
}

/// What a Table row carries in `object`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    /// Nothing.
    None,
    /// `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    /// The full object.
    Object,
}

/// Position of a paged list: the version of its first page and the last key returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContinueToken {
    /// The list's resourceVersion.
    pub resource_version: u64,
    /// The last key of the previous page.
    pub after: EventKey,
    /// The list's window of last-seen times, resolved once (`since` is relative to the first
    /// page's time), so every page of one list asks for the same window.
    pub seen: Option<TimeWindow>,
}

impl ContinueToken {
    /// Encodes like the apiserver: unpadded URL-safe base64 of a small JSON document.
    pub fn encode(&self) -> String {
        // The apiserver's start key is `namespace/name`; a collected event's is prefixed with its
        // cluster (neither contains a `/`).
        let start = match self.after.cluster.as_str() {
            "" => format!("{}/{}\u{0}", self.after.namespace, self.after.name),
            cluster => format!(
                "{cluster}/{}/{}\u{0}",
                self.after.namespace, self.after.name
            ),
        };
        let mut doc = json!({"v": "meta.k8s.io/v1", "rv": self.resource_version, "start": start});
        if let Some(seen) = self.seen {
            doc["seenFrom"] = json!(seen.from.map(|t| t.0));
            doc["seenTo"] = json!(seen.to.map(|t| t.0));
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(doc.to_string())
    }

    /// Decodes a token made by [`ContinueToken::encode`].
    pub fn decode(token: &str) -> Result<ContinueToken, String> {
        let invalid = |why: String| format!("continue key is not valid: {why}");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|e| invalid(e.to_string()))?;
        let doc: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        if doc["v"] != "meta.k8s.io/v1" {
            return Err(invalid(format!(
                "server does not recognize this encoded version {}",
                doc["v"]
            )));
        }
        let resource_version = doc["rv"].as_u64().filter(|rv| *rv > 0).ok_or_else(|| {
            invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into())
        })?;
        let start = doc["start"].as_str().unwrap_or("");
        let start = start.strip_suffix('\u{0}').unwrap_or(start);
        let after = match start.split('/').collect::<Vec<_>>().as_slice() {
            [namespace, name] => EventKey::new(*namespace, *name),
            [cluster, namespace, name] if !cluster.is_empty() => {
                EventKey::in_cluster(*cluster, *namespace, *name)
            }
            _ => {
                return Err(invalid(
                    "encoded start key empty (version meta.k8s.io/v1)".into(),
                ))
            }
        };
        let time = |name: &str| doc[name].as_i64().map(Micros);
        let windowed = doc.get("seenFrom").is_some() || doc.get("seenTo").is_some();
        Ok(ContinueToken {
            resource_version,
            after,
            seen: windowed.then(|| TimeWindow {
                from: time("seenFrom"),
                to: time("seenTo"),
            }),
        })
    }
}

/// `since` (a Go duration back from `now`: `1h`, `90m`) or `from`/`to` (RFC 3339): a window
/// of last-seen times, or `None` when the request sets none of them.
pub fn seen_window(query: &HashMap<String, String>, now: Micros) -> ApiResult<Option<TimeWindow>> {
    let time = |name: &str| match query.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => Micros::parse_window_bound(text).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name}: {text:?} is not an RFC 3339 time (2026-01-02T15:04:05Z)"
            ))
        }),
    };
    let mut from = time("from")?;
    let to = time("to")?;
    if let Some(since) = query.get("since").filter(|s| !s.is_empty()) {
        if from.is_some() {
            return Err(ApiError::bad_request("since and from exclude each other"));
        }
        let length = parse_go_duration(since)
            .ok()
            .filter(|length| *length >= 0)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "since: {since:?} is not a duration back from now (24h, 90m)"
                ))
            })?;
        from = Some(Micros(to.unwrap_or(now).0.saturating_sub(length)));
    }
    if let (Some(from), Some(to)) = (from, to) {
        if from.0 > to.0 {
            return Err(ApiError::bad_request("from is after to"));
        }
    }
    Ok((from.is_some() || to.is_some()).then_some(TimeWindow { from, to }))
}

/// Largest page a list returns; a larger `limit` gets this many items and a continue token.
pub const MAX_PAGE_SIZE: usize = 10_000;

/// Parses a raw query string into key/value pairs (last value wins).
pub fn parse_query(raw: Option<&str>) -> ApiResult<HashMap<String, String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?;
    Ok(pairs.into_iter().collect())
}

fn flag(query: &HashMap<String, String>, name: &str) -> ApiResult<Option<bool>> {
    match query.get(name).map(String::as_str) {
        None | Some("") => Ok(None),
        Some("true") | Some("1") => Ok(Some(true)),
        Some("false") | Some("0") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad_request(format!(
            "{name}: invalid value {other:?}: must be true or false"
        ))),
    }
}

fn number(query: &HashMap<String, String>, name: &str) -> ApiResult<Option<u64>> {
    match query.get(name).map(String::as_str) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(|n| Some(n.max(0) as u64))
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "{name}: invalid value {text:?}: must be an integer"
                ))
            }),
    }
}

/// Parses a resourceVersion, as the apiserver words the failure.
pub fn parse_resource_version(text: &str) -> ApiResult<u64> {
    text.parse::<u64>().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid resource version: resourceVersion: Invalid value: {text:?}: \
             strconv.ParseUint: parsing {text:?}: invalid syntax"
        ))
    })
}

impl ListOptions {
    /// Parses list/watch options for `group`.
    pub fn parse(query: &HashMap<String, String>, group: ApiGroup) -> ApiResult<ListOptions> {
        let mut options = ListOptions {
            watch: flag(query, "watch")?.unwrap_or(false),
            allow_bookmarks: flag(query, "allowWatchBookmarks")?.unwrap_or(false),
            send_initial_events: flag(query, "sendInitialEvents")?,
            timeout_seconds: number(query, "timeoutSeconds")?,
            limit: number(query, "limit")?
                .filter(|l| *l > 0)
                .map(|l| (l as usize).min(MAX_PAGE_SIZE)),
            ..ListOptions::default()
        };
        if let Some(text) = query.get("fieldSelector") {
            options.fields = FieldSelector::parse(text, group)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
        }
        if let Some(text) = query.get("labelSelector") {
            options.labels =
                LabelSelector::parse(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
        }
        options.resource_version = query.get("resourceVersion").cloned().unwrap_or_default();
        if !options.resource_version.is_empty() {
            options.resource_version_number =
                Some(parse_resource_version(&options.resource_version)?);
        }
        options.version_match = match query.get("resourceVersionMatch").map(String::as_str) {
            None | Some("") => None,
            Some("NotOlderThan") => Some(VersionMatch::NotOlderThan),
            Some("Exact") => Some(VersionMatch::Exact),
            Some(other) => {
                return Err(ApiError::invalid_list_options(
                    "resourceVersionMatch",
                    "FieldValueNotSupported",
                    &format!(
                        "Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\", \"\""
                    ),
                ))
            }
        };
        let forbidden = |detail: &str| {
            ApiError::invalid_list_options(
                "resourceVersionMatch",
                "FieldValueForbidden",
                &format!("Forbidden: {detail}"),
            )
        };
        if options.version_match.is_some() && options.resource_version.is_empty() && !options.watch
        {
            return Err(forbidden(
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            ));
        }
        if options.version_match == Some(VersionMatch::Exact)
            && options.resource_version_number == Some(0)
        {
            return Err(forbidden(
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            ));
        }
        if let Some(token) = query.get("continue").filter(|t| !t.is_empty()) {
            if options.resource_version_number.is_some_and(|rv| rv != 0) {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            options.continue_from = Some(
                ContinueToken::decode(token)
                    .map_err(|e| ApiError::bad_request(format!("invalid continue token: {e}")))?,
            );
        }
        options.seen = match &options.continue_from {
            Some(token) if token.seen.is_some() => token.seen,
            _ => seen_window(query, Micros::now())?,
        };
        if options.seen.is_some() && options.watch {
            return Err(ApiError::bad_request(
                "since, from and to select a list of events last seen in a window; a watch \
                 follows every change (leave them out, or list first)",
            ));
        }
        options.include_object = match query.get("includeObject").map(String::as_str) {
            None | Some("") | Some("Metadata") => IncludeObject::Metadata,
            Some("Object") => IncludeObject::Object,
            Some("None") => IncludeObject::None,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "unrecognized includeObject value: {other:?}"
                )))
            }
        };
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let token = ContinueToken {
            resource_version: 42,
            after: EventKey::new("kube-system", "node-1.17a"),
            seen: None,
        };
        assert_eq!(ContinueToken::decode(&token.encode()), Ok(token));
        let collected = ContinueToken {
            resource_version: 7,
            after: EventKey::in_cluster("prod", "default", "web.1"),
            seen: None,
        };
        assert_eq!(ContinueToken::decode(&collected.encode()), Ok(collected));
        for seen in [
            TimeWindow {
                from: Some(Micros(1_767_225_600_000_000)),
                to: None,
            },
            TimeWindow {
                from: None,
                to: Some(Micros(5)),
            },
        ] {
            let windowed = ContinueToken {
                resource_version: 9,
                after: EventKey::new("default", "web.2"),
                seen: Some(seen),
            };
            assert_eq!(ContinueToken::decode(&windowed.encode()), Ok(windowed));
        }
        assert!(ContinueToken::decode("garbage").is_err());
        assert!(ContinueToken::decode("!!!").is_err());
    }

    #[test]
    fn bad_parameters_are_bad_requests() {
        let parse = |pairs: &[(&str, &str)]| {
            let query = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            ListOptions::parse(&query, ApiGroup::Core)
        };
        assert_eq!(parse(&[("resourceVersion", "abc")]).unwrap_err().code, 400);
        assert_eq!(parse(&[("continue", "abc")]).unwrap_err().code, 400);
        assert_eq!(
            parse(&[("fieldSelector", "spec.x=1")]).unwrap_err().code,
            400
        );
        assert_eq!(parse(&[("labelSelector", "a in (")]).unwrap_err().code, 400);
        assert_eq!(parse(&[("limit", "x")]).unwrap_err().code, 400);
        assert_eq!(parse(&[("since", "yesterday")]).unwrap_err().code, 400);
        assert_eq!(parse(&[("since", "-1h")]).unwrap_err().code, 400);
        assert_eq!(parse(&[("from", "2026-13-01")]).unwrap_err().code, 400);
        assert_eq!(
            parse(&[("since", "1h"), ("from", "2026-01-01T00:00:00Z")])
                .unwrap_err()
                .code,
            400
        );
        assert_eq!(
            parse(&[
                ("from", "2026-01-02T00:00:00Z"),
                ("to", "2026-01-01T00:00:00Z")
            ])
            .unwrap_err()
            .code,
            400
        );
        assert_eq!(
            parse(&[("since", "1h"), ("watch", "true")])
                .unwrap_err()
                .code,
            400
        );
        let window = parse(&[
            ("from", "2026-01-01T00:00:00Z"),
            ("to", "2026-01-02T00:00:00Z"),
        ])
        .unwrap()
        .seen
        .unwrap();
        assert_eq!(window.from, Micros::parse("2026-01-01T00:00:00Z"));
        assert_eq!(window.to, Micros::parse("2026-01-02T00:00:00Z"));
        let since = parse(&[("since", "90m")]).unwrap().seen.unwrap();
        let back = Micros::now().0 - since.from.unwrap().0;
        assert!((90 * 60_000_000..91 * 60_000_000).contains(&back), "{back}");
        assert_eq!(since.to, None);
        assert_eq!(parse(&[]).unwrap().seen, None);
        assert_eq!(
            parse(&[("resourceVersionMatch", "Exact")])
                .unwrap_err()
                .code,
            422
        );
        let ok = parse(&[
            ("limit", "500"),
            ("resourceVersion", "0"),
            ("watch", "true"),
        ])
        .unwrap();
        assert_eq!(ok.limit, Some(500));
        assert_eq!(ok.resource_version_number, Some(0));
        assert!(ok.watch);
    }
}
