//! A plan: the typed changes that make a site equal to a config, in the order
//! they must run, each with its risks, its source line and whether a safety
//! rule blocks it. A plan is a value: serialised (`--out`), rendered
//! ([`render`]), applied by one function.

mod diff;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use diff::{Policy, Selector, diff};

/// The version of the JSON plan format.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Rename,
    Update,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Role,
    User,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Role => "role",
            Kind::User => "user",
        })
    }
}

/// Why a change deserves a reviewer's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// A user gains the Admin role.
    AdminGrant,
    /// The Admin role's own rights change.
    AdminRole,
    /// The Everyone role changes: it applies to every user.
    Everyone,
    /// A membership, privilege or dashboard grant is taken away.
    Revoke,
    /// A user keeps the account but loses every role (`prune.users: strip`).
    StripUser,
    DeleteUser,
    DeleteRole,
    RenameRole,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::AdminGrant => "admin-grant",
            Risk::AdminRole => "admin-role",
            Risk::Everyone => "everyone",
            Risk::Revoke => "revoke",
            Risk::StripUser => "strip-user",
            Risk::DeleteUser => "delete-user",
            Risk::DeleteRole => "delete-role",
            Risk::RenameRole => "rename-role",
        }
    }
}

/// A safety rule that stops a change from being applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    /// The rule and the numbers: `max_deletes: 12 deletes, 10 allowed`.
    pub rule: String,
    /// The flag that would allow it, if any may.
    pub allow_with: Option<String>,
}

/// A dashboard grant as a plan shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grant {
    /// The dashboard's name on the site.
    pub name: String,
    pub actions: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleState {
    pub name: String,
    pub description: String,
    /// Actions per object type.
    pub privileges: BTreeMap<String, BTreeSet<String>>,
    /// Grants per dashboard id.
    pub dashboards: BTreeMap<String, Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Role names, Everyone left out (every user has it). Memberships of
    /// ignored roles are kept as they are.
    pub roles: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum State {
    Role(RoleState),
    User(UserState),
}

impl State {
    pub fn as_role(&self) -> Option<&RoleState> {
        match self {
            State::Role(r) => Some(r),
            State::User(_) => None,
        }
    }

    pub fn as_user(&self) -> Option<&UserState> {
        match self {
            State::User(u) => Some(u),
            State::Role(_) => None,
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub action: Action,
    pub kind: Kind,
    /// Email, or role name (the new one for a rename).
    pub key: String,
    /// The live object's id; `None` for a create.
    pub id: Option<String>,
    pub before: Option<State>,
    pub after: Option<State>,
    pub risks: BTreeSet<Risk>,
    /// `file:line` of the config entry behind it; `None` for a prune.
    pub source: Option<String>,
    /// Set when a safety rule stops it.
    pub blocked: Option<Blocked>,
    /// Notes for the reader, such as `drift`'s "changed on the site".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl Change {
    pub fn is_risky(&self) -> bool {
        !self.risks.is_empty()
    }

    /// The order changes run in: roles created, renamed, updated; users
    /// created, updated; users deleted; roles deleted.
    pub fn phase(&self) -> u8 {
        match (self.kind, self.action) {
            (Kind::Role, Action::Create | Action::Rename | Action::Update) => 0,
            (Kind::User, Action::Create | Action::Update | Action::Rename) => 1,
            (Kind::User, Action::Delete) => 2,
            (Kind::Role, Action::Delete) => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub rename: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmanaged {
    pub users: usize,
    pub roles: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub site: String,
    /// The admin every write names (`invited_by_email` and the like).
    pub actor: String,
    pub changes: Vec<Change>,
    pub summary: Summary,
    pub unmanaged: Unmanaged,
    /// Digest of each live object the plan touches (`user:<id>`,
    /// `role:<id>`), to refuse applying a stale plan.
    pub digests: BTreeMap<String, String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn is_blocked(&self) -> bool {
        self.changes.iter().any(|c| c.blocked.is_some())
    }

    pub(crate) fn summarize(changes: &[Change]) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
                Action::Rename => s.rename += 1,
            }
        }
        s
    }
}

#[cfg(test)]
mod tests;
