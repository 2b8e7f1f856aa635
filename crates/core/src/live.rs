//! The live site as the diff sees it: what the API client read, in plain
//! types (this crate knows no HTTP).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Live {
    pub users: Vec<LiveUser>,
    pub roles: Vec<LiveRole>,
    pub dashboards: Vec<LiveDashboard>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveUser {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Role ids, Everyone included.
    pub roles: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveRole {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Actions per object type.
    pub privileges: BTreeMap<String, BTreeSet<String>>,
    /// Actions per dashboard id.
    pub grants: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveDashboard {
    pub id: String,
    pub name: String,
}

impl LiveRole {
    /// Whether this role gives exactly the privileges and dashboard grants
    /// `state` says (lists of no action count as absent).
    pub fn same_rights(&self, state: &crate::plan::RoleState) -> bool {
        fn non_empty(
            m: &BTreeMap<String, BTreeSet<String>>,
        ) -> BTreeMap<&String, &BTreeSet<String>> {
            m.iter().filter(|(_, a)| !a.is_empty()).collect()
        }
        let wanted = LiveRole::from_state(self.id.clone(), state);
        non_empty(&self.privileges) == non_empty(&wanted.privileges)
            && non_empty(&self.grants) == non_empty(&wanted.grants)
    }

    /// The live role a plan's role state describes, under `id`.
    pub fn from_state(id: String, state: &crate::plan::RoleState) -> Self {
        Self {
            id,
            name: state.name.clone(),
            description: state.description.clone(),
            privileges: state.privileges.clone(),
            grants: state
                .dashboards
                .iter()
                .map(|(d, g)| (d.clone(), g.actions.clone()))
                .collect(),
        }
    }
}

impl Live {
    /// A digest of the whole site, whatever order it was listed in: a saved
    /// plan records it, so that `apply` can tell "the site changed" from
    /// "the plan file was edited".
    pub fn digest(&self) -> String {
        let mut users: Vec<&LiveUser> = self.users.iter().collect();
        users.sort_by(|a, b| a.id.cmp(&b.id));
        let mut roles: Vec<&LiveRole> = self.roles.iter().collect();
        roles.sort_by(|a, b| a.id.cmp(&b.id));
        let mut dashboards: Vec<&LiveDashboard> = self.dashboards.iter().collect();
        dashboards.sort_by(|a, b| a.id.cmp(&b.id));
        digest(&(users, roles, dashboards))
    }
}

impl Live {
    /// A digest of each user, role (by [`crate::plan::digest_key`]) and
    /// dashboard (`dashboard:<id>`).
    pub fn object_digests(&self) -> BTreeMap<String, String> {
        use crate::plan::{Kind, digest_key};
        let users = self
            .users
            .iter()
            .map(|u| (digest_key(Kind::User, &u.id), digest(u)));
        let roles = self
            .roles
            .iter()
            .map(|r| (digest_key(Kind::Role, &r.id), digest(r)));
        let dashboards = self
            .dashboards
            .iter()
            .map(|d| (format!("dashboard:{}", d.id), digest(d)));
        users.chain(roles).chain(dashboards).collect()
    }
}

impl Live {
    /// The site as it would be once `plan` is carried out, the way the
    /// executor does it: a role the plan creates gets the id `new:<name>`, a
    /// membership without an id names a role the plan creates, every user
    /// stays in Everyone.
    pub fn after(&self, plan: &crate::plan::Plan) -> Live {
        use crate::plan::Change;
        use crate::vocab::{EVERYONE, key};
        // By id, so that each change is one lookup (a plan may touch
        // thousands of users of a site of hundreds of thousands).
        let mut users: BTreeMap<String, LiveUser> = self
            .users
            .iter()
            .map(|u| (u.id.clone(), u.clone()))
            .collect();
        let mut roles: BTreeMap<String, LiveRole> = self
            .roles
            .iter()
            .map(|r| (r.id.clone(), r.clone()))
            .collect();
        let everyone = self
            .roles
            .iter()
            .find(|r| key(&r.name) == key(EVERYONE))
            .map(|r| r.id.clone());
        let mut created: BTreeMap<String, String> = BTreeMap::new();
        let mut deleted_roles = BTreeSet::new();
        for step in &plan.changes {
            match &step.change {
                Change::DeleteRole { id, .. } => {
                    roles.remove(id);
                    deleted_roles.insert(id.clone());
                }
                Change::DeleteUser { id, .. } => {
                    users.remove(id);
                }
                Change::CreateRole { after }
                | Change::UpdateRole { after, .. }
                | Change::RenameRole { after, .. } => {
                    let id = step
                        .change
                        .id()
                        .map_or_else(|| format!("new:{}", after.name), str::to_string);
                    created.insert(key(&after.name), id.clone());
                    roles.insert(id.clone(), LiveRole::from_state(id, after));
                }
                Change::CreateUser { after }
                | Change::UpdateUser { after, .. }
                | Change::StripUser { after, .. } => {
                    let mut member: BTreeSet<String> = after
                        .roles
                        .iter()
                        .filter_map(|r| {
                            r.id.clone().or_else(|| created.get(&key(&r.name)).cloned())
                        })
                        .collect();
                    member.extend(everyone.clone());
                    let id = step
                        .change
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
            dashboards: self.dashboards.clone(),
        }
    }
}

/// A stable digest of a live object (FNV-1a over its canonical JSON), so a
/// saved plan can tell whether the object changed since.
pub fn digest<T: Serialize>(object: &T) -> String {
    let json = serde_json::to_vec(object).expect("live objects serialize");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in json {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
