//! The site as a plan leaves it, the way the executor carries it out: what
//! the access effect of a plan and the property tests compare against.

use std::collections::{BTreeMap, BTreeSet};

use super::{Change, Plan, RoleChange, RoleState, UserChange};
use crate::config::vocab::{EVERYONE, key};
use crate::live::{Live, LiveRole, LiveUser};

impl LiveRole {
    /// Whether this role gives exactly the privileges and dashboard grants
    /// `state` says (lists of no action count as absent).
    pub fn same_rights(&self, state: &RoleState) -> bool {
        fn non_empty<K: Ord>(m: &BTreeMap<K, BTreeSet<String>>) -> BTreeMap<&K, &BTreeSet<String>> {
            m.iter().filter(|(_, a)| !a.is_empty()).collect()
        }
        let wanted = LiveRole::from_state(self.id.clone(), state);
        non_empty(&self.privileges) == non_empty(&wanted.privileges)
            && non_empty(&self.grants) == non_empty(&wanted.grants)
    }

    /// The live role a plan's role state describes, under `id`.
    pub fn from_state(id: String, state: &RoleState) -> Self {
        Self {
            id,
            name: state.name.clone(),
            description: state.description.clone(),
            privileges: state.privileges.clone(),
            grants: state
                .grants
                .iter()
                .map(|(d, g)| (d.clone(), g.actions.clone()))
                .collect(),
            kept: crate::live::Kept::default(),
        }
    }
}

/// The site as it would be once `plan` is carried out, the way the
/// executor does it: a role the plan creates gets the id `new:<name>`, a
/// membership without an id names a role the plan creates, every user
/// stays in Everyone.
pub fn simulate(live: &Live, plan: &Plan) -> Live {
    // By id, so that each change is one lookup (a plan may touch
    // thousands of users of a site of hundreds of thousands).
    let mut users: BTreeMap<String, LiveUser> = live
        .users
        .iter()
        .map(|u| (u.id.clone(), u.clone()))
        .collect();
    let mut roles: BTreeMap<String, LiveRole> = live
        .roles
        .iter()
        .map(|r| (r.id.clone(), r.clone()))
        .collect();
    let everyone = live
        .roles
        .iter()
        .find(|r| key(&r.name) == key(EVERYONE))
        .map(|r| r.id.clone());
    let mut created: BTreeMap<String, String> = BTreeMap::new();
    let mut deleted_roles = BTreeSet::new();
    for step in &plan.changes {
        match &step.change {
            Change::Role(RoleChange::Delete(r)) => {
                roles.remove(&r.id);
                deleted_roles.insert(r.id.clone());
            }
            Change::User(UserChange::Delete(r)) => {
                users.remove(&r.id);
            }
            Change::Role(
                change @ (RoleChange::Create(_) | RoleChange::Update(_) | RoleChange::Rename(_)),
            ) => {
                let after = change.shown();
                let id = change
                    .id()
                    .map_or_else(|| format!("new:{}", after.name), str::to_string);
                created.insert(key(&after.name), id.clone());
                // What rolecall does not manage is sent back as it was.
                let kept = roles.get(&id).map(|r| r.kept.clone()).unwrap_or_default();
                let mut role = LiveRole::from_state(id.clone(), after);
                role.kept = kept;
                roles.insert(id, role);
            }
            Change::User(
                change @ (UserChange::Create(_) | UserChange::Update(_) | UserChange::Strip(_)),
            ) => {
                let after = change.shown();
                let mut member: BTreeSet<String> = after
                    .roles
                    .iter()
                    .filter_map(|r| r.id.clone().or_else(|| created.get(&key(&r.name)).cloned()))
                    .collect();
                member.extend(everyone.clone());
                let id = change
                    .id()
                    .map_or_else(|| format!("new:{}", after.email), str::to_string);
                let user = LiveUser {
                    id: id.clone(),
                    email: after.email.clone(),
                    first_name: after.first_name.clone(),
                    last_name: after.last_name.clone(),
                    roles: member,
                };
                users.insert(id, user);
            }
        }
    }
    let mut users: Vec<LiveUser> = users.into_values().collect();
    if !deleted_roles.is_empty() {
        for u in &mut users {
            u.roles.retain(|r| !deleted_roles.contains(r));
        }
    }
    Live {
        users,
        roles: roles.into_values().collect(),
        objects: live.objects.clone(),
    }
}
