//! Lists as of an older resourceVersion: current events with every key changed since replaced
//! by its state then, taken from the change history.

use crate::head::Head;
use crate::{ListQuery, StoredEvent, TooOld};
use kevents_model::EventKey;
use std::collections::BTreeMap;
use std::sync::Arc;

/// For a list as of an older version: the state at that version of every key in the listed
/// range changed since, `None` where the key did not exist then.
pub(crate) fn past_states(
    head: &Head,
    query: &ListQuery<'_>,
) -> Result<BTreeMap<EventKey, Option<Arc<StoredEvent>>>, TooOld> {
    let mut states = BTreeMap::new();
    let Some(at) = query.at.filter(|at| *at < head.resource_version) else {
        return Ok(states);
    };
    let changes = head.changes_after(at).ok_or(TooOld {
        requested: at,
        oldest: head.compacted_rv,
    })?;
    for change in changes {
        let key = change.object.record.key();
        let in_range =
            query.scope.contains(&key) && query.start_after.is_none_or(|after| &key > after);
        if in_range {
            // The first change after `at` holds the state at `at` as its previous state.
            states.entry(key).or_insert_with(|| change.previous.clone());
        }
    }
    Ok(states)
}

/// Current events merged with past states: a key in `past` shows its past state instead.
pub(crate) fn merge_states<'a>(
    current: impl Iterator<Item = Arc<StoredEvent>> + 'a,
    past: BTreeMap<EventKey, Option<Arc<StoredEvent>>>,
) -> impl Iterator<Item = Arc<StoredEvent>> + 'a {
    let mut current = current.peekable();
    let mut past = past.into_iter().peekable();
    std::iter::from_fn(move || loop {
        let order = match (current.peek(), past.peek()) {
            (None, None) => return None,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(event), Some((key, _))) => event.record.key().cmp(key),
        };
        match order {
            std::cmp::Ordering::Less => return current.next(),
            std::cmp::Ordering::Equal => {
                current.next();
                if let Some((_, Some(state))) = past.next() {
                    return Some(state);
                }
            }
            std::cmp::Ordering::Greater => {
                if let Some((_, Some(state))) = past.next() {
                    return Some(state);
                }
            }
        }
    })
}
