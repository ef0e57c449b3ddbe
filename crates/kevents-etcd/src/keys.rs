//! Which keys this endpoint serves: the apiserver's events (`<prefix>/events/<namespace>/<name>`),
//! its health key and its compaction key. Everything else is refused, so an apiserver pointed
//! here for more than `/events` fails loudly instead of storing other objects.

/// The key the apiserver's compactor keeps its last compaction in (not under the prefix).
pub const COMPACT_REV_KEY: &[u8] = b"compact_rev_key";

/// What a served key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// An event, with its namespace and name.
    Event {
        /// `metadata.namespace`.
        namespace: String,
        /// `metadata.name`.
        name: String,
    },
    /// The compactor's key: kept in the etcd view only.
    Compaction,
    /// The health check's key (`<prefix>/health`): read, never written.
    Health,
}

/// A key or range outside what this endpoint serves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kevents serves only the apiserver's events on this endpoint (keys under {events}); {what} refused: point --etcd-servers-overrides=/events#... at kevents, and everything else at etcd")]
pub struct Refused {
    events: String,
    what: String,
}

/// The keys served, for an apiserver `--etcd-prefix`.
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    events: Vec<u8>,
    health: Vec<u8>,
}

impl KeyPolicy {
    /// The policy for the apiserver's `--etcd-prefix` (`/registry` by default).
    pub fn new(prefix: &str) -> KeyPolicy {
        let prefix = prefix.trim_end_matches('/');
        KeyPolicy {
            events: format!("{prefix}/events/").into_bytes(),
            health: format!("{prefix}/health").into_bytes(),
        }
    }

    fn refuse(&self, what: String) -> Refused {
        Refused {
            events: String::from_utf8_lossy(&self.events).into_owned(),
            what,
        }
    }

    /// Classifies one key; fails for keys not served.
    pub fn classify(&self, key: &[u8]) -> Result<KeyKind, Refused> {
        if key == COMPACT_REV_KEY {
            return Ok(KeyKind::Compaction);
        }
        if key == self.health.as_slice() {
            return Ok(KeyKind::Health);
        }
        let refused = || self.refuse(format!("key {:?}", String::from_utf8_lossy(key)));
        let rest = key
            .strip_prefix(self.events.as_slice())
            .ok_or_else(refused)?;
        let rest = std::str::from_utf8(rest).map_err(|_| refused())?;
        match rest.split_once('/') {
            Some((namespace, name))
                if !namespace.is_empty() && !name.is_empty() && !name.contains('/') =>
            {
                Ok(KeyKind::Event {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                })
            }
            _ => Err(refused()),
        }
    }

    /// Checks a read or watch of `key` up to `range_end` (etcd's range conventions): a single
    /// served key, or a range inside the events prefix.
    pub fn check_range(&self, key: &[u8], range_end: &[u8]) -> Result<(), Refused> {
        if range_end.is_empty() {
            return self.classify(key).map(|_| ());
        }
        let events_end = prefix_end(&self.events);
        let inside = key.starts_with(&self.events) || key == &self.events[..self.events.len() - 1];
        if inside && range_end != b"\0" && range_end <= events_end.as_slice() {
            return Ok(());
        }
        Err(self.refuse(format!(
            "range [{:?}, {:?})",
            String::from_utf8_lossy(key),
            String::from_utf8_lossy(range_end)
        )))
    }
}

/// The end of the range of keys starting with `prefix` (etcd's `GetPrefixRangeEnd`).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// True when `key` is in `[start, range_end)` by etcd's conventions (empty end: `start` alone;
/// `\0`: every key from `start` on).
pub fn in_range(key: &[u8], start: &[u8], range_end: &[u8]) -> bool {
    match range_end {
        [] => key == start,
        [0] => key >= start,
        end => key >= start && key < end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_served_and_others_refused_with_a_message() {
        let policy = KeyPolicy::new("/registry");
        assert_eq!(
            policy
                .classify(b"/registry/events/default/pod.17a")
                .unwrap(),
            KeyKind::Event {
                namespace: "default".into(),
                name: "pod.17a".into()
            }
        );
        assert_eq!(
            policy.classify(b"compact_rev_key").unwrap(),
            KeyKind::Compaction
        );
        assert_eq!(
            policy.classify(b"/registry/health").unwrap(),
            KeyKind::Health
        );
        let refused = policy.classify(b"/registry/pods/default/web").unwrap_err();
        let message = refused.to_string();
        assert!(message.contains("/registry/events/"), "{message}");
        assert!(message.contains("/registry/pods/default/web"), "{message}");
        assert!(policy.classify(b"/registry/events/default").is_err());
        assert!(policy.classify(b"/registry/events/default/a/b").is_err());
    }

    #[test]
    fn ranges_must_stay_inside_the_events_prefix() {
        let policy = KeyPolicy::new("/registry/");
        policy
            .check_range(b"/registry/events/", b"/registry/events0")
            .unwrap();
        policy
            .check_range(b"/registry/events/ns/", b"/registry/events/ns0")
            .unwrap();
        assert!(policy.check_range(b"/registry/", b"/registry0").is_err());
        assert!(policy.check_range(b"/registry/events/", b"\0").is_err());
        assert_eq!(prefix_end(b"/registry/events/"), b"/registry/events0");
        assert!(in_range(b"/a/b", b"/a/", b"/a0"));
        assert!(!in_range(b"/b", b"/a/", b"/a0"));
    }
}
