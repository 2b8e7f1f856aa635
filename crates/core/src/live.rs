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
