//! The undo of changes made on the site (`apply --only-origin site`): the
//! plan that puts back the config as last applied (the baseline), kept only
//! where the site and the config in force still disagree, and judged by the
//! config in force.

use std::collections::BTreeSet;

use crate::Desired;
use crate::config::vocab::key;
use crate::diagnostic::Diagnostic;
use crate::live::Live;
use crate::plan::{
    Change, Kind, Members, Plan, Review, RoleRef, Selection, Step, UserChange, UserState,
};

/// The undo, with the config's own plan (what is pending in it).
#[derive(Debug)]
pub struct Undo {
    /// What puts back what the site changed, judged by the config's rules.
    pub plan: Plan,
    /// What it does to people.
    pub review: Review,
    /// The config's plan against the site now.
    pub config: Plan,
}

/// Which config did not plan against the site.
#[derive(Debug)]
pub enum UndoError {
    /// The config as last applied; its diagnostics.
    Baseline(Vec<Diagnostic>),
    /// The config in force; its diagnostics.
    Config(Vec<Diagnostic>),
}

/// The undo of the site's changes since `baseline` was applied, where the
/// config in force (`config`) still agrees with the baseline; judged by the
/// config's rules ([`super::judge_undo`]).
pub fn undo(
    (baseline, baseline_sources): (&Desired, &crate::SourceMap),
    (config, config_sources): (&Desired, &crate::SourceMap),
    live: &Live,
    selection: &Selection,
) -> Result<Undo, UndoError> {
    let (mut plan, _) =
        super::plan(baseline, baseline_sources, live, selection).map_err(UndoError::Baseline)?;
    let (all, _) =
        super::plan(config, config_sources, live, selection).map_err(UndoError::Config)?;
    // Only what the site and the config disagree on: where both moved the
    // same way (a role both dropped), nothing is undone.
    let differ: BTreeSet<(Kind, String)> = (all.changes.iter())
        .map(|s| (s.kind(), key(s.key())))
        .chain(
            all.changes
                .iter()
                .filter_map(|s| s.change.renamed_from().map(|old| (s.kind(), key(old)))),
        )
        .collect();
    plan.changes.retain(|s| {
        differ.contains(&(s.kind(), key(s.key())))
            || s.change
                .renamed_from()
                .is_some_and(|o| differ.contains(&(s.kind(), key(o))))
    });
    // Within a user, each membership on its own: one the config moved the
    // same way as the site stays as the site has it.
    plan.changes = (plan.changes.into_iter())
        .filter_map(|step| undo_site_only(step, &all))
        .collect();
    // Judged by the rules of the config in force now, not the baseline's,
    // and what the kept changes do to people, not what the whole baseline
    // would.
    let (mut plan, review) = super::judge_undo(plan, live, config);
    // Every change here was made on the site: a role it would create that
    // the site holds under another name was renamed there.
    super::block_renamed(&mut plan, config, live, Members::MayBeNone);
    Ok(Undo {
        plan,
        review,
        config: all,
    })
}

/// A change of the plan that makes the site equal to the baseline (the
/// config as last applied), kept only where the site and the config (its
/// plan: `config`) still disagree: a user's membership that the config
/// moved the same way as the site is left as the site has it. `None` when
/// nothing is left to undo.
pub fn undo_site_only(step: Step, config: &Plan) -> Option<Step> {
    let Change::User(UserChange::Update(e)) = &step.change else {
        return Some(step);
    };
    let site = &e.before;
    let wanted = config
        .changes
        .iter()
        .find(|c| c.kind() == Kind::User && c.change.id() == Some(e.id.as_str()))
        .and_then(|c| c.change.user_after())?;
    let has = |state: &UserState, name: &str| state.role_names().contains(name);
    let mut roles: BTreeSet<RoleRef> = BTreeSet::new();
    for r in site.roles.iter().chain(&e.after.roles) {
        let (on_site, baseline) = (has(site, &r.name), has(&e.after, &r.name));
        let keep = if on_site != baseline && has(wanted, &r.name) != on_site {
            baseline
        } else {
            on_site
        };
        if keep {
            roles.insert(r.clone());
        }
    }
    let after = UserState {
        roles,
        ..e.after.clone()
    };
    if after == *site {
        return None;
    }
    let change = Change::update_user(e.id.clone(), site.clone(), after);
    Some(Step { change, ..step })
}
