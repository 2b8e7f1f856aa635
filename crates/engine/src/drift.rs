//! Where a difference comes from, for `drift --baseline`: the site changed
//! since the config was applied, or the config changed since, or both.

use std::collections::BTreeSet;

use rolecall_core::Desired;
use rolecall_core::plan::{Kind, Label, Plan};
use rolecall_core::vocab::key;

/// Labels every change of `plan` (the config against the site):
/// [`Label::ChangedOnSite`] when `applied` (the baseline against the site)
/// has a change to the same object, [`Label::PendingInConfig`] when the
/// config's entry differs from the baseline's.
pub fn label(plan: &mut Plan, applied: &Plan, desired: &Desired, baseline: &Desired) {
    let on_site: BTreeSet<(Kind, String)> = applied
        .changes
        .iter()
        .map(|c| (c.kind(), key(c.key())))
        .collect();
    for step in &mut plan.changes {
        let k = key(step.key());
        if on_site.contains(&(step.kind(), k.clone())) {
            step.labels.push(Label::ChangedOnSite);
        }
        // Compared as written, wherever written: origins are not part of it.
        let entry = |d: &Desired| {
            match step.kind() {
                Kind::User => d.users.get(&k).map(serde_json::to_value),
                Kind::Role => d.roles.get(&k).map(serde_json::to_value),
            }
            .and_then(Result::ok)
        };
        let differs = entry(desired) != entry(baseline);
        if differs {
            step.labels.push(Label::PendingInConfig);
        }
    }
}
