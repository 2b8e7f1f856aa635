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
    /// The object's id on the site.
    pub id: String,
    /// As it is now.
    pub before: S,
    /// As the change leaves it.
    pub after: S,
}

/// An existing object that the change deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal<S> {
    /// The object's id on the site.
    pub id: String,
    /// As it is now.
    pub before: S,
}

/// A change of one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChange {
    /// A new role.
    Create(RoleState),
    /// The same name (as spelled on the site), other fields change.
    Update(Edit<RoleState>),
    /// A new name, with whatever else changes in the same call.
    Rename(Edit<RoleState>),
    /// A role taken off the site; its members lose it.
    Delete(Removal<RoleState>),
}

/// A change of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// A new user (invited).
    Create(UserState),
    /// Names or memberships change.
    Update(Edit<UserState>),
    /// `prune.users: strip`: the account stays, its managed roles go.
    Strip(Edit<UserState>),
    /// An account deleted.
    Delete(Removal<UserState>),
}

/// One change of a plan: on a role or on a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// On a role.
    Role(RoleChange),
    /// On a user.
    User(UserChange),
}

impl Change {
    /// The create of a role.
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

    /// The delete of a role.
    pub fn delete_role(id: String, before: RoleState) -> Self {
        Change::Role(RoleChange::Delete(Removal { id, before }))
    }

    /// The create of a user.
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

    /// The delete of a user.
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

    /// Whether it is on a role or a user.
    pub fn kind(&self) -> Kind {
        match self {
            Change::Role(_) => Kind::Role,
            Change::User(_) => Kind::User,
        }
    }

    /// What it does, as a word.
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

    /// When it runs.
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

    /// The role as it is, for a change of a role that exists.
    pub fn role_before(&self) -> Option<&RoleState> {
        match self {
            Change::Role(r) => r.before(),
            Change::User(_) => None,
        }
    }

    /// The role as the change leaves it, unless deleted.
    pub fn role_after(&self) -> Option<&RoleState> {
        match self {
            Change::Role(r) => r.after(),
            Change::User(_) => None,
        }
    }

    /// The user as it is, for a change of a user that exists.
    pub fn user_before(&self) -> Option<&UserState> {
        match self {
            Change::User(u) => u.before(),
            Change::Role(_) => None,
        }
    }

    /// The user as the change leaves it, unless deleted.
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
            /// The live id of what it is on; `None` for a create.
            pub fn id(&self) -> Option<&str> {
                match self {
                    $change::Create(_) => None,
                    $change::Update(e) | $change::$special(e) => Some(&e.id),
                    $change::Delete(r) => Some(&r.id),
                }
            }

            /// The state before, for a change of what exists.
            pub fn before(&self) -> Option<&$state> {
                match self {
                    $change::Create(_) => None,
                    $change::Update(e) | $change::$special(e) => Some(&e.before),
                    $change::Delete(r) => Some(&r.before),
                }
            }

            /// The state after, unless deleted.
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
    /// `create-role`.
    CreateRole,
    /// `update-role`.
    UpdateRole,
    /// `rename-role`.
    RenameRole,
    /// `delete-role`.
    DeleteRole,
    /// `create-user`.
    CreateUser,
    /// `update-user`.
    UpdateUser,
    /// `strip-user`.
    StripUser,
    /// `delete-user`.
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
