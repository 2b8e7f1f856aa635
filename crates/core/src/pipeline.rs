//! The planning pipeline's judgement, in one place: a list of changes
//! judged by the rules of the config in force (safety rails and limits,
//! the access effect's risks, `policy` and `files`), with the review data
//! beside it. `diff` makes the list; every caller that shows or carries out
//! a plan passes it here: a fresh plan, a saved plan judged again, an undo
//! of site changes, the check of `--write-config`'s edits.

use crate::Desired;
use crate::access;
use crate::config::model::Limit;
use crate::live::Live;
use crate::plan::{Plan, Policy, Review, Rule};

/// Judges a list of changes by the rules of `rules` (the config in force
/// now): the safety rails, `limits`, the access effect's risks, `policy`
/// and `files`; with what it does to people. Every plan `apply` carries out
/// passes here: fresh, saved, an undo of site changes, any selection. Marks
/// a change already carries are dropped first: a list made from another
/// config (a baseline) is judged by this one's rules only.
pub fn judge(mut plan: Plan, live: &Live, rules: &Desired) -> (Plan, Review) {
    for step in &mut plan.changes {
        step.blocked = None;
    }
    let policy = Policy::of(rules);
    crate::plan::safety::check(&mut plan, live, &policy);
    // A role renamed on the site is never created again beside it.
    for rename in crate::plan::renamed_roles(&plan, rules, live) {
        let step = &mut plan.changes[rename.create];
        if step.blocked.is_none() {
            step.blocked = Some(
                Rule::RenamedOnSite {
                    role: rename.from,
                    now: rename.to,
                }
                .into(),
            );
        }
    }
    let wide = match rules.limits.wide_grant {
        Some(Limit::Count(n)) => usize::try_from(n).unwrap_or(usize::MAX),
        Some(Limit::Percent(p)) => (live.users.len() as f64 * p / 100.0).floor() as usize,
        None => 100,
    };
    access::annotate(&mut plan, live, wide);
    crate::plan::safety::check_policy(&mut plan, &policy);
    let review = Review {
        access: Some(access::effect(live, &plan)),
        labels: std::collections::BTreeMap::new(),
        renamed: Vec::new(),
    };
    (plan, review)
}
