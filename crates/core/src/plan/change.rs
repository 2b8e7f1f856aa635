//! One operation on the site, nested per resource: a [`Change`] is a
//! [`RoleChange`] or a [`UserChange`], each with one variant per call the
//! API can make. Every accessor matches every variant (no wildcard arm), so
//! a new operation does not compile until each says what it is.
//!
//! The constructors hold each variant's invariant (an update keeps the
//! name, a rename changes it, a strip only takes roles away);
//! [`Change::check`] tells whether a change read from a file holds them.

use std::collections::BTreeSet;

use super::{Action, Kind, Phase, RoleRef, RoleState, UserState, revoked_in_role};

/// An existing object, as it is and as the change leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit<S> {
    pub id: String,
    pub before: S,
    pub after: S,
}

/// An existing object that the change deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal<S> {
    pub id: String,
    pub before: S,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChange {
    Create(RoleState),
    /// The same name (as spelled on the site), other fields change.
    Update(Edit<RoleState>),
    /// A new name, with whatever else changes in the same call.
    Rename(Edit<RoleState>),
    Delete(Removal<RoleState>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    Create(UserState),
    Update(Edit<UserState>),
    /// `prune.users: strip`: the account stays, its managed roles go.
    Strip(Edit<UserState>),
    Delete(Removal<UserState>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Role(RoleChange),
    User(UserChange),
}

impl Change {
    pub fn create_role(after: RoleState) -> Self {
        Change::Role(RoleChange::Create(after))
    }

    /// An update, or a rename when the name changes (in any way: the diff
    /// keeps the site's spelling when only the case differs).
    pub fn edit_role(id: String, before: RoleState, after: RoleState) -> Self {
        let renamed = before.name != after.name;
        let edit = Edit { id, before, after };
        Change::Role(match renamed {
            true => RoleChange::Rename(edit),
            false => RoleChange::Update(edit),
        })
    }

    pub fn delete_role(id: String, before: RoleState) -> Self {
        Change::Role(RoleChange::Delete(Removal { id, before }))
    }

    pub fn create_user(after: UserState) -> Self {
        Change::User(UserChange::Create(after))
    }

    /// An update of a user's names and roles; the email is the account's.
    pub fn update_user(id: String, before: UserState, after: UserState) -> Self {
        let after = UserState {
            email: before.email.clone(),
            ..after
        };
        Change::User(UserChange::Update(Edit { id, before, after }))
    }

    /// The account stays with only the memberships of `kept` it has.
    pub fn strip_user(id: String, before: UserState, kept: &BTreeSet<RoleRef>) -> Self {
        let after = UserState {
            roles: before.roles.intersection(kept).cloned().collect(),
            ..before.clone()
        };
        Change::User(UserChange::Strip(Edit { id, before, after }))
    }

    pub fn delete_user(id: String, before: UserState) -> Self {
        Change::User(UserChange::Delete(Removal { id, before }))
    }

    /// Whether the change holds its variant's invariant (what the
    /// constructors guarantee): for a change read from a file.
    pub fn check(&self) -> Result<(), &'static str> {
        let ok = match self {
            Change::Role(RoleChange::Update(e)) => e.before.name == e.after.name,
            Change::Role(RoleChange::Rename(e)) => e.before.name != e.after.name,
            Change::Role(RoleChange::Create(_) | RoleChange::Delete(_)) => true,
            Change::User(UserChange::Update(e)) => e.before.email == e.after.email,
            Change::User(UserChange::Strip(e)) => {
                e.after.roles.is_subset(&e.before.roles)
                    && e.after
                        == (UserState {
                            roles: e.after.roles.clone(),
                            ..e.before.clone()
                        })
            }
            Change::User(UserChange::Create(_) | UserChange::Delete(_)) => true,
        };
        match ok {
            true => Ok(()),
            false => Err(match self {
                Change::Role(_) => "an update keeps the role's name and a rename changes it",
                Change::User(_) => {
                    "an update keeps the user's email and a strip only takes roles away"
                }
            }),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Change::Role(_) => Kind::Role,
            Change::User(_) => Kind::User,
        }
    }

    pub fn action(&self) -> Action {
        match self {
            Change::Role(RoleChange::Create(_)) | Change::User(UserChange::Create(_)) => {
                Action::Create
            }
            Change::Role(RoleChange::Update(_))
            | Change::User(UserChange::Update(_) | UserChange::Strip(_)) => Action::Update,
            Change::Role(RoleChange::Rename(_)) => Action::Rename,
            Change::Role(RoleChange::Delete(_)) | Change::User(UserChange::Delete(_)) => {
                Action::Delete
            }
        }
    }

    /// The operation: its name in the JSON plan and the audit log.
    pub fn op(&self) -> Op {
        match self {
            Change::Role(RoleChange::Create(_)) => Op::CreateRole,
            Change::Role(RoleChange::Update(_)) => Op::UpdateRole,
            Change::Role(RoleChange::Rename(_)) => Op::RenameRole,
            Change::Role(RoleChange::Delete(_)) => Op::DeleteRole,
            Change::User(UserChange::Create(_)) => Op::CreateUser,
            Change::User(UserChange::Update(_)) => Op::UpdateUser,
            Change::User(UserChange::Strip(_)) => Op::StripUser,
            Change::User(UserChange::Delete(_)) => Op::DeleteUser,
        }
    }

    pub fn phase(&self) -> Phase {
        match self {
            Change::Role(RoleChange::Delete(_)) => Phase::RoleDeletes,
            Change::Role(RoleChange::Create(_) | RoleChange::Update(_) | RoleChange::Rename(_)) => {
                Phase::RoleWrites
            }
            Change::User(UserChange::Delete(_)) => Phase::UserDeletes,
            Change::User(UserChange::Create(_) | UserChange::Update(_) | UserChange::Strip(_)) => {
                Phase::UserWrites
            }
        }
    }

    /// Email, or role name (the new one for a rename).
    pub fn key(&self) -> &str {
        match self {
            Change::Role(r) => &r.shown().name,
            Change::User(u) => &u.shown().email,
        }
    }

    /// The live object's id; `None` for a create.
    pub fn id(&self) -> Option<&str> {
        match self {
            Change::Role(r) => r.id(),
            Change::User(u) => u.id(),
        }
    }

    pub fn role_before(&self) -> Option<&RoleState> {
        match self {
            Change::Role(r) => r.before(),
            Change::User(_) => None,
        }
    }

    pub fn role_after(&self) -> Option<&RoleState> {
        match self {
            Change::Role(r) => r.after(),
            Change::User(_) => None,
        }
    }

    pub fn user_before(&self) -> Option<&UserState> {
        match self {
            Change::User(u) => u.before(),
            Change::Role(_) => None,
        }
    }

    pub fn user_after(&self) -> Option<&UserState> {
        match self {
            Change::User(u) => u.after(),
            Change::Role(_) => None,
        }
    }

    /// The old name of a renamed role.
    pub fn renamed_from(&self) -> Option<&str> {
        match self {
            Change::Role(RoleChange::Rename(e)) => Some(&e.before.name),
            Change::Role(RoleChange::Create(_) | RoleChange::Update(_) | RoleChange::Delete(_))
            | Change::User(_) => None,
        }
    }

    /// Memberships, privileges and grants this change takes away (a
    /// delete's are counted by its risk, not here).
    pub fn revokes(&self) -> usize {
        match self {
            Change::Role(RoleChange::Update(e) | RoleChange::Rename(e)) => {
                revoked_in_role(&e.before, &e.after)
            }
            Change::User(UserChange::Update(e) | UserChange::Strip(e)) => e
                .before
                .role_names()
                .difference(&e.after.role_names())
                .count(),
            Change::Role(RoleChange::Create(_) | RoleChange::Delete(_))
            | Change::User(UserChange::Create(_) | UserChange::Delete(_)) => 0,
        }
    }
}

/// What every resource's change can say about itself.
macro_rules! states {
    ($change:ident, $state:ty, $special:ident) => {
        impl $change {
            pub fn id(&self) -> Option<&str> {
                match self {
                    $change::Create(_) => None,
                    $change::Update(e) | $change::$special(e) => Some(&e.id),
                    $change::Delete(r) => Some(&r.id),
                }
            }

            pub fn before(&self) -> Option<&$state> {
                match self {
                    $change::Create(_) => None,
                    $change::Update(e) | $change::$special(e) => Some(&e.before),
                    $change::Delete(r) => Some(&r.before),
                }
            }

            pub fn after(&self) -> Option<&$state> {
                match self {
                    $change::Create(after) => Some(after),
                    $change::Update(e) | $change::$special(e) => Some(&e.after),
                    $change::Delete(_) => None,
                }
            }

            /// The state a reader names the change by: the after, or a
            /// delete's before.
            pub fn shown(&self) -> &$state {
                match self {
                    $change::Create(after) => after,
                    $change::Update(e) | $change::$special(e) => &e.after,
                    $change::Delete(r) => &r.before,
                }
            }
        }
    };
}

states!(RoleChange, RoleState, Rename);
states!(UserChange, UserState, Strip);

/// A change's operation, as the JSON plan and the audit log name it:
/// `create-role`, `strip-user`...
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    CreateRole,
    UpdateRole,
    RenameRole,
    DeleteRole,
    CreateUser,
    UpdateUser,
    StripUser,
    DeleteUser,
}

impl Op {
    /// As written: `create-role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::CreateRole => "create-role",
            Op::UpdateRole => "update-role",
            Op::RenameRole => "rename-role",
            Op::DeleteRole => "delete-role",
            Op::CreateUser => "create-user",
            Op::UpdateUser => "update-user",
            Op::StripUser => "strip-user",
            Op::DeleteUser => "delete-user",
        }
    }
}
