//! What a plan does to people's access: the actions users gain and lose
//! ([`effect`]), and the role changes that expose a new action widely
//! ([`annotate`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Access, Effect, Evaluator, Model};
use crate::config::vocab::{EVERYONE, key};
use crate::live::{Live, LiveRole, LiveUser};

/// Users whose access a plan may change: their memberships change, or a
/// role of theirs (before or after) does.
fn touched(live: &Live, after: &Live, plan: &crate::plan::Plan) -> BTreeSet<String> {
    let role_ids: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|s| s.kind() == crate::plan::Kind::Role)
        .filter_map(|s| s.change.id())
        .collect();
    let everyone = live
        .roles
        .iter()
        .any(|r| role_ids.contains(r.id.as_str()) && key(&r.name) == key(EVERYONE));
    let mut users: BTreeSet<String> = plan
        .changes
        .iter()
        .filter(|s| s.kind() == crate::plan::Kind::User)
        .map(|s| key(s.key()))
        .collect();
    let created: BTreeSet<&str> = after
        .roles
        .iter()
        .filter(|r| !live.roles.iter().any(|l| l.id == r.id))
        .map(|r| r.id.as_str())
        .collect();
    for u in live.users.iter().chain(&after.users) {
        if everyone
            || u.roles
                .iter()
                .any(|r| role_ids.contains(r.as_str()) || created.contains(r.as_str()))
        {
            users.insert(key(&u.email));
        }
    }
    users
}

/// The access a plan gains and loses, cross-role.
pub fn effect(live: &Live, plan: &crate::plan::Plan) -> Effect {
    let after = crate::plan::simulate(live, plan);
    let (old, new) = (
        Evaluator::new(live, Model::CrossRole),
        Evaluator::new(&after, Model::CrossRole),
    );
    fn by_key(l: &Live) -> HashMap<String, &LiveUser> {
        l.users.iter().map(|u| (key(&u.email), u)).collect()
    }
    let (was, is) = (by_key(live), by_key(&after));
    let mut out = Effect::default();
    for k in touched(live, &after, plan) {
        let before = was.get(&k).copied();
        let now = is.get(&k).copied();
        if before.is_some_and(|u| old.is_admin(u)) || now.is_some_and(|u| new.is_admin(u)) {
            continue;
        }
        let pairs =
            |e: &Evaluator<'_>, u: Option<&LiveUser>| u.map(|u| e.pairs(u)).unwrap_or_default();
        let (a, b) = (pairs(&old, before), pairs(&new, now));
        let email = now.or(before).map(|u| u.email.clone()).unwrap_or_default();
        let gain = |(d, action): &(String, String), e: &Evaluator<'_>| Access {
            user: email.clone(),
            dashboard_id: d.clone(),
            dashboard: e.dashboard_name(d),
            action: action.clone(),
        };
        out.gained.extend(b.difference(&a).map(|p| gain(p, &new)));
        out.lost.extend(a.difference(&b).map(|p| gain(p, &old)));
    }
    out
}

/// Whether a role change gives something its role did not give before.
fn adds_rights(change: &crate::plan::Change) -> bool {
    let Some(after) = change.role_after() else {
        return false;
    };
    let empty = crate::plan::RoleState {
        name: String::new(),
        description: String::new(),
        privileges: BTreeMap::new(),
        grants: BTreeMap::new(),
    };
    let before = change.role_before().unwrap_or(&empty);
    after
        .privileges
        .iter()
        .any(|(t, a)| !before.privileges.get(t).is_some_and(|b| a.is_subset(b)))
        || after.grants.iter().any(|(d, g)| {
            !before
                .grants
                .get(d)
                .is_some_and(|b| g.actions.is_subset(&b.actions))
        })
}

/// Tags the role changes of `plan` that expose a new action to every user
/// (`everyone-exposure`) or give one to more than `wide` users
/// (`wide-grant`). What the plan does to access is [`effect`], beside it.
pub fn annotate(plan: &mut crate::plan::Plan, live: &Live, wide: usize) {
    use crate::plan::{Kind, Risk};
    let old = Evaluator::new(live, Model::CrossRole);
    for i in 0..plan.changes.len() {
        let step = &plan.changes[i];
        if step.kind() != Kind::Role || !adds_rights(&step.change) {
            continue;
        }
        let (Some(id), Some(after)) = (step.change.id(), step.change.role_after()) else {
            continue; // a role created alone has no members yet
        };
        let everyone = old.everyone_id == Some(id);
        // The change alone, against the site as it is: its members gain?
        let changed = old.with_role(LiveRole::from_state(id.to_string(), after));
        let gainers = live
            .users
            .iter()
            .filter(|u| (everyone || u.roles.contains(id)) && !old.is_admin(u))
            .filter(|u| !old.pairs(u).is_superset(&changed.pairs(u)))
            .count();
        let risks = &mut plan.changes[i].risks;
        if everyone {
            risks.insert(Risk::EveryoneExposure);
        }
        if gainers > wide {
            risks.insert(Risk::WideGrant);
        }
    }
}
