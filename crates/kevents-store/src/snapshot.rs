//! Lists as of an older resourceVersion: current events with every key changed since replaced
//! by its state then, taken from the change history.

use crate::history::History;
use crate::{ListPage, ListQuery, StoredEvent, TooOld};
use kevents_model::{EventKey, EventRecord};
use std::collections::BTreeMap;
use std::sync::Arc;

/// For a list as of an older version: the state at that version of every key in the listed
/// range changed since, `None` where the key did not exist then.
/// `resource_version` is the store's.
pub(crate) fn past_states(
    history: &History,
    resource_version: u64,
    query: &ListQuery<'_>,
) -> Result<BTreeMap<EventKey, Option<Arc<StoredEvent>>>, TooOld> {
    let mut states = BTreeMap::new();
    let Some(at) = query.at.filter(|at| *at < resource_version) else {
        return Ok(states);
    };
    let changes = history.after(at)?;
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

/// The page of `query` from `candidates` (in key order, as of the listed version, possibly
/// more than the query selects): the events about the asked object, accepted by its fields,
/// last seen in its window and accepted by `filter`, up to its limit. `resource_version`:
/// the store's, for a list of the current state.
pub(crate) fn page(
    candidates: impl Iterator<Item = Arc<StoredEvent>>,
    query: &ListQuery<'_>,
    filter: impl Fn(&EventRecord) -> bool,
    resource_version: u64,
) -> ListPage {
    let about = |e: &Arc<StoredEvent>| {
        query
            .object_name
            .is_none_or(|name| e.record.involved_object.name == name)
            && query.fields.is_none_or(|f| f.matches(&e.record))
            && query.seen.is_none_or(|w| w.contains(e.record.seen_at()))
    };
    let mut matching = candidates.filter(|e| about(e) && filter(&e.record));
    let mut items = Vec::new();
    for event in matching.by_ref() {
        items.push(event);
        if query.limit.is_some_and(|l| items.len() >= l) {
            break;
        }
    }
    let full = query.limit.is_some_and(|l| items.len() >= l);
    let continue_after = if full && matching.next().is_some() {
        items.last().map(|e| e.record.key())
    } else {
        None
    };
    ListPage {
        items,
        resource_version: query.at.unwrap_or(resource_version),
        continue_after,
    }
}
