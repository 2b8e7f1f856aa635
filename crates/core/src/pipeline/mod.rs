//! The planning pipeline, in one place: diff -> safety -> annotate ->
//! policy -> review data. [`plan`] is what every caller uses: a fresh plan,
//! a saved plan judged again ([`saved`]), an undo of site changes
//! ([`undo()`]), the check of `drift --write-config`'s edits
//! ([`drift::leftover`]). [`judge`] is its second half, for a list of
//! changes made elsewhere (a baseline's, a filtered one): judged by the
//! rules of the config in force, with the review data beside it.

pub mod drift;
pub mod saved;
pub mod undo;

pub use undo::{Undo, UndoError, undo};

use crate::Desired;
use crate::SourceMap;
use crate::access;
use crate::config::model::Limit;
use crate::diagnostic::Diagnostic;
use crate::live::Live;
use crate::plan::{Plan, Rails, Review, Rule, Selection};

/// The plan for `desired` against `live` (within `selection`), with every
/// safety rule checked, and beside it what it does to people's access; or
/// the errors of a config that does not fit the site (dashboards, roles,
/// the actor), positioned in `sources`.
pub fn plan(
    desired: &Desired,
    sources: &SourceMap,
    live: &Live,
    selection: &Selection,
) -> Result<(Plan, Review), Vec<Diagnostic>> {
    let plan = crate::plan::diff(desired, sources, live, selection)?;
    Ok(judge(plan, live, desired))
}

/// Judges a list of changes by the rules of `rules` (the config in force
/// now): the safety rails, `limits`, the access effect's risks, `policy`
/// and `files`; with what it does to people. Every plan `apply` carries out
/// passes here: fresh, saved, an undo of site changes, any selection. Marks
/// a change already carries are dropped first: a list made from another
/// config (a baseline) is judged by this one's rules only.
pub fn judge(plan: Plan, live: &Live, rules: &Desired) -> (Plan, Review) {
    judge_by(plan, live, rules, Rails::of(rules))
}

/// [`judge`] for an undo of site changes (`apply --only-origin site`): each
/// change puts back the config as last applied, so `files:` (which judges
/// what a file's edit asks) does not stop taking away an Admin membership
/// someone gave on the site. Every other rule holds, and no file may give
/// Admin.
pub fn judge_undo(plan: Plan, live: &Live, rules: &Desired) -> (Plan, Review) {
    let policy = Rails {
        site_made: true,
        ..Rails::of(rules)
    };
    judge_by(plan, live, rules, policy)
}

fn judge_by(mut plan: Plan, live: &Live, rules: &Desired, policy: Rails) -> (Plan, Review) {
    for step in &mut plan.changes {
        step.blocked = None;
    }
    crate::plan::safety::check(&mut plan, live, &policy);
    block_renamed(&mut plan, rules, live, crate::plan::Members::Listed);
    tag_unmanaged_rights(&mut plan, live);
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

/// Tags `unmanaged-rights` each change that takes away a membership of a
/// role holding rights rolecall does not manage, or deletes such a role:
/// the people concerned lose what no plan shows line by line.
fn tag_unmanaged_rights(plan: &mut Plan, live: &Live) {
    use crate::plan::{Change, RoleChange, UserChange};
    let holding: std::collections::BTreeSet<&str> = (live.roles.iter())
        .filter(|r| !r.kept.is_empty())
        .map(|r| r.id.as_str())
        .collect();
    if holding.is_empty() {
        return;
    }
    for step in &mut plan.changes {
        let loses = match &step.change {
            Change::User(UserChange::Update(e) | UserChange::Strip(e)) => (e.before.roles.iter())
                .filter_map(|r| r.id.as_deref())
                .filter(|id| holding.contains(id))
                .any(|id| !e.after.roles.iter().any(|a| a.id.as_deref() == Some(id))),
            Change::User(UserChange::Delete(r)) => (r.before.roles.iter())
                .any(|x| x.id.as_deref().is_some_and(|id| holding.contains(id))),
            Change::Role(RoleChange::Delete(r)) => holding.contains(r.id.as_str()),
            Change::User(UserChange::Create(_))
            | Change::Role(RoleChange::Create(_) | RoleChange::Update(_) | RoleChange::Rename(_)) => {
                false
            }
        };
        if loses {
            step.risks.insert(crate::plan::Risk::UnmanagedRights);
        }
    }
}

/// Blocks the create of each role the site holds under another name
/// ([`crate::plan::renamed_roles`]): it is never created again beside it.
pub fn block_renamed(plan: &mut Plan, rules: &Desired, live: &Live, sure: crate::plan::Members) {
    for rename in crate::plan::renamed_roles(plan, rules, live, sure) {
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
}
