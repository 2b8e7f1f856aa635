//! Where a difference comes from, for `drift --baseline`: the site changed
//! since the config was applied, or the config changed since, or both.

use std::collections::BTreeSet;

use crate::Desired;
use crate::config::vocab::key;
use crate::plan::{Change, Kind, Label, Plan, Review};

/// Labels, in `review`, every change of `plan` (the config against the site):
/// [`Label::ChangedOnSite`] when `applied` (the baseline against the site)
/// has a change to the same object, [`Label::PendingInConfig`] when the
/// config's entry differs from the baseline's.
pub fn label(
    plan: &Plan,
    review: &mut Review,
    applied: &Plan,
    desired: &Desired,
    baseline: &Desired,
) {
    let on_site: BTreeSet<(Kind, String)> = applied
        .changes
        .iter()
        .map(|c| (c.kind(), key(c.key())))
        .collect();
    for (i, step) in plan.changes.iter().enumerate() {
        let mut labels = Vec::new();
        let k = key(step.key());
        if on_site.contains(&(step.kind(), k.clone())) {
            labels.push(Label::ChangedOnSite);
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
            labels.push(Label::PendingInConfig);
        }
        if !labels.is_empty() {
            review.labels.insert(i, labels);
        }
    }
}

/// What `--write-config`'s edits would change beyond what they accept:
/// the edited config's plan (`again`) must be `plan` without exactly the
/// changes `accepted` (by index), change for change. One line per
/// difference; empty when it is exactly that.
pub fn leftover(plan: &Plan, accepted: &[usize], again: &Plan) -> Vec<String> {
    let accepted: BTreeSet<usize> = accepted.iter().copied().collect();
    // Both plans are in the same order: one comparison when equal.
    let expected: Vec<&Change> = (plan.changes.iter().enumerate())
        .filter(|(i, _)| !accepted.contains(i))
        .map(|(_, s)| &s.change)
        .collect();
    let found: Vec<&Change> = again.changes.iter().map(|s| &s.change).collect();
    if expected == found {
        return Vec::new();
    }
    let mut differ: Vec<String> = (again.changes.iter())
        .filter(|s| !expected.contains(&&s.change))
        .map(|s| format!("the edited config would plan {}", s.describe()))
        .collect();
    differ.extend(
        (plan.changes.iter().enumerate())
            .filter(|(i, s)| !accepted.contains(i) && !found.contains(&&s.change))
            .map(|(_, s)| format!("{} would change too", s.describe())),
    );
    differ
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::load_texts;
    use crate::live::Live;
    use crate::plan::Selection;
    use crate::testing::{live_role, live_user};

    fn plan_of(yaml: &str, live: &Live) -> Plan {
        let loaded = load_texts(vec![("rolecall.yaml".into(), yaml.into())]).unwrap();
        crate::pipeline::plan(
            &loaded.desired,
            &loaded.sources,
            live,
            &Selection::default(),
        )
        .unwrap()
        .0
    }

    #[test]
    fn an_edit_must_leave_exactly_what_it_did_not_accept() {
        let live = Live {
            roles: vec![
                live_role("r-a", "Admin", "", &[], &[]),
                live_role("r-e", "Everyone", "", &[], &[]),
            ],
            users: vec![live_user("u", "a@acme.com", "A", "B", &["r-a", "r-e"])],
            objects: Vec::new(),
        };
        let head =
            "site: acme\nactor: a@acme.com\nusers:\n  a@acme.com: {roles: [Admin]}\nroles:\n";
        let plan = plan_of(&format!("{head}  X: {{}}\n  Y: {{}}\n"), &live);
        assert_eq!(plan.changes.len(), 2);
        let x = plan.changes.iter().position(|s| s.key() == "X").unwrap();
        // Accepting X's change takes X out of the config: Y is left.
        let edited = plan_of(&format!("{head}  Y: {{}}\n"), &live);
        assert_eq!(leftover(&plan, &[x], &edited), Vec::<String>::new());
        // An edit that took Y out too reached further than it accepted.
        let further = plan_of(
            &format!("{head}  {{}}\n").replace("roles:\n  {}\n", "roles: {}\n"),
            &live,
        );
        let lines = leftover(&plan, &[x], &further);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].ends_with("would change too"), "{lines:?}");
    }
}
