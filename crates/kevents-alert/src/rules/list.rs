//! The engine's alerts as a list: every pending and firing alert of the groups it holds, then
//! the recently resolved ones (see [`super::listing`] for what each entry carries).

use super::engine::{firing, RuleEngine};
use super::listing::{value, AlertState, ListedAlert};
use kevents_model::Micros;

impl RuleEngine {
    /// Every pending and firing alert as of the last evaluation, and the recently resolved
    /// ones (newest first), each with the latest events that counted in its group.
    pub fn list(&self, now: Micros) -> Vec<ListedAlert> {
        let rules = self.rules.lock();
        let mut state = self.state.lock();
        let state = &mut *state;
        state.resolved.add(Vec::new(), now, usize::MAX);
        let mut listed = Vec::new();
        for rule in rules.iter() {
            let Some(groups) = state.groups.get(&rule.name) else {
                continue;
            };
            for group in groups.values() {
                let (alert_state, since) = match (group.firing_since, group.pending_since) {
                    (Some(since), _) => (AlertState::Firing, since),
                    (None, Some(since)) => (AlertState::Pending, since),
                    (None, None) => continue,
                };
                let alert = firing(rule, group, since, &self.cluster);
                let active_since = group.pending_since.unwrap_or(since);
                let value = value(rule, group, now);
                listed.push(ListedAlert::of(
                    alert,
                    alert_state,
                    group,
                    active_since,
                    value,
                ));
            }
        }
        listed.extend(state.resolved.alerts.iter().cloned());
        listed
    }
}
