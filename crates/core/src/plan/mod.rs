//! A plan: the typed changes that make a site equal to a config, in the order
//! they must run, each with its risks, its source line and whether a safety
//! rule blocks it. A plan is a value: serialised (a saved plan), rendered
//! ([`render`]), applied by one function (the engine's `execute`).
//!
//! A [`Change`] is one operation the API can carry out, nested per
//! resource ([`RoleChange`], [`UserChange`]); a [`Step`] is a change with what the reviewer
//! needs to know about it.

mod change;
mod diff;
pub mod effect;
pub mod pins;
mod renamed;
pub mod render;
pub mod safety;
mod select;
pub mod severity;
mod simulate;
mod wire;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::model::Origin;

pub use crate::kinds::{ChecksumKey, Kind, ObjectKind, ObjectRef, Risk};
pub use crate::live::KeptRights;
pub use change::{Change, Edit, Op, Removal, RoleChange, UserChange};
pub use diff::{Befores, Selection, Selector, diff};
pub use effect::{Access, Effect};
pub use renamed::{Members, SiteRename, renamed_on_site, renamed_roles};
pub use safety::{Blocked, Rails, Rule};
pub use simulate::simulate;

/// The version of the JSON plan format. Version 2 made each change a typed
/// operation (`op`) and memberships role references (`{"name", "id"}`).
pub const FORMAT_VERSION: u32 = 2;

/// What a change does, as a word: the summary counts these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Something new on the site.
    Create,
    /// A role under a new name.
    Rename,
    /// Fields of something that exists.
    Update,
    /// Something taken off the site.
    Delete,
}

impl Action {
    /// The mark a plan shows: `+`, `~`, `-`, `>`.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Rename => ">",
        }
    }
}

/// A note `drift` puts on a change: where the difference comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Label {
    /// The site no longer matches the config as last applied.
    ChangedOnSite,
    /// The config changed since it was last applied.
    PendingInConfig,
    /// Not selected itself: a selected change needs it (a role to create or
    /// rename before a user is given it).
    Prerequisite,
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Label::ChangedOnSite => "changed on the site (it no longer matches the baseline)",
            Label::PendingInConfig => "pending in config (the config changed since the baseline)",
            Label::Prerequisite => "included: a selected change needs it",
        })
    }
}

/// A grant on one object as a plan shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grant {
    /// The object's name on the site.
    pub name: String,
    /// The actions granted on it.
    pub actions: BTreeSet<String>,
}

/// A role as a plan shows it: before or after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleState {
    /// As written (on the site, or in the config for a new name).
    pub name: String,
    /// Its description.
    pub description: String,
    /// Actions per object type.
    pub privileges: BTreeMap<String, BTreeSet<String>>,
    /// Grants per object: written one map per kind keyed by id, the
    /// dashboards' under `dashboards` as format 2 writes them.
    #[serde(flatten, with = "crate::kinds::by_kind::dashboards")]
    pub grants: BTreeMap<ObjectRef, Grant>,
}

impl RoleState {
    /// Privileges and grant actions in all.
    pub fn grant_count(&self) -> usize {
        self.privileges.values().map(BTreeSet::len).sum::<usize>()
            + self.grants.values().map(|g| g.actions.len()).sum::<usize>()
    }
}

/// A role a membership names: its live id when it exists on the site, or
/// only its name when the plan creates it (the executor learns the id when
/// the create succeeds). The name is the one the role has once the plan is
/// applied (a rename applied).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoleRef {
    /// The role's name once the plan is applied.
    pub name: String,
    /// Its live id; `None` when the plan creates it.
    pub id: Option<String>,
}

impl RoleRef {
    /// A role that exists on the site.
    pub fn live(name: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            id: Some(id.into()),
        }
    }

    /// A role the plan creates.
    pub fn new_role(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            id: None,
        }
    }
}

/// A user as a plan shows it: before or after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    /// The email, as the site has it (or the config, for a new user).
    pub email: String,
    /// The first name.
    pub first_name: String,
    /// The last name.
    pub last_name: String,
    /// Everyone left out (every user has it). Memberships of ignored roles
    /// are kept as they are.
    pub roles: BTreeSet<RoleRef>,
}

impl UserState {
    /// The names of its roles.
    pub fn role_names(&self) -> BTreeSet<&str> {
        self.roles.iter().map(|r| r.name.as_str()).collect()
    }
}

/// When a change runs: roles created, renamed, updated; users created,
/// updated; users deleted; roles deleted. A phase starts when the one before
/// it has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Roles created, renamed, updated (users need them first).
    RoleWrites,
    /// Users created and updated.
    UserWrites,
    /// Users deleted.
    UserDeletes,
    /// Roles deleted (after their members moved).
    RoleDeletes,
}

impl Phase {
    /// Every phase, in the order they run.
    pub const ALL: [Phase; 4] = [
        Phase::RoleWrites,
        Phase::UserWrites,
        Phase::UserDeletes,
        Phase::RoleDeletes,
    ];
}

fn removed<T: Ord>(before: &BTreeSet<T>, after: &BTreeSet<T>) -> usize {
    before.difference(after).count()
}

/// Privilege and grant actions a role loses.
pub(crate) fn revoked_in_role(before: &RoleState, after: &RoleState) -> usize {
    let empty = BTreeSet::new();
    let privileges: usize = before
        .privileges
        .iter()
        .map(|(t, a)| removed(a, after.privileges.get(t).unwrap_or(&empty)))
        .sum();
    let grants: usize = before
        .grants
        .iter()
        .map(|(id, g)| {
            removed(
                &g.actions,
                after.grants.get(id).map_or(&empty, |g| &g.actions),
            )
        })
        .sum();
    privileges + grants
}

/// A change and what a reviewer needs to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What it does.
    pub change: Change,
    /// Why a reviewer should look (tags of [`Risk`]).
    pub risks: BTreeSet<Risk>,
    /// The config entry behind it; `None` for a prune. A plan file keeps
    /// its `file:line` (read back with column 0).
    pub source: Option<Origin>,
    /// Set when a safety rule stops it ([`safety::check`]).
    pub blocked: Option<Blocked>,
    /// Not selected itself: a selected change needs it (written as the
    /// label [`Label::Prerequisite`]).
    pub prerequisite: bool,
}

impl Step {
    /// A change with its risks and the config line it comes from.
    pub fn new(change: Change, risks: BTreeSet<Risk>, source: Option<Origin>) -> Self {
        Self {
            change,
            risks,
            source,
            blocked: None,
            prerequisite: false,
        }
    }

    /// Whether it carries any risk.
    pub fn is_risky(&self) -> bool {
        !self.risks.is_empty()
    }

    /// Whether it is on a role or a user.
    pub fn kind(&self) -> Kind {
        self.change.kind()
    }

    /// What it does, as a word.
    pub fn action(&self) -> Action {
        self.change.action()
    }

    /// The name of what it is on (a role's name, a user's email).
    pub fn key(&self) -> &str {
        self.change.key()
    }

    /// `+ user "jane@acme.com"`: one line for reports.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {:?}",
            self.action().symbol(),
            self.kind(),
            self.key()
        )
    }
}

/// The changes of a plan, counted by what they do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Roles and users created.
    pub create: usize,
    /// Roles and users updated (strips included).
    pub update: usize,
    /// Roles and users deleted.
    pub delete: usize,
    /// Roles renamed.
    pub rename: usize,
}

/// What the site has that the config does not list (and does not ignore):
/// left alone, and named so that a reviewer can see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmanaged {
    /// Users the config does not list.
    pub users: Vec<UnmanagedUser>,
    /// Role names.
    pub roles: Vec<String>,
    /// Roles holding privileges or grants on object types rolecall does not
    /// manage (Topics, Spaces): kept as they are on every write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<KeptRights>,
}

/// A live user the config does not list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmanagedUser {
    /// The email.
    pub email: String,
    /// Role names, Everyone left out.
    pub roles: Vec<String>,
    /// A member of Admin that `protect` does not name: always shown, tagged
    /// `unmanaged-admin`, and drift.
    pub admin: bool,
    /// `unmanaged-admin` for such a member.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub risks: BTreeSet<Risk>,
}

impl Unmanaged {
    /// Admin members the config neither lists nor protects.
    pub fn admins(&self) -> impl Iterator<Item = &UnmanagedUser> {
        self.users.iter().filter(|u| u.admin)
    }
}

/// What a saved plan was made from. `apply` carries a saved plan out only
/// against the same config and the same site, and only if planning again
/// gives the same plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MadeFrom {
    /// The API endpoint read (for a sandbox, its local address).
    pub endpoint: String,
    /// Made against a throw-away sandbox: never applied to a real site.
    pub sandbox: bool,
    /// A checksum of each config file, by its path relative to the config.
    pub config: BTreeMap<String, String>,
    /// The commit of the config's git work tree, if any (for the reader).
    pub git_commit: Option<String>,
    /// A checksum of the whole site as read ([`crate::live::Live::checksum`]).
    pub site_digest: String,
    /// The selection the plan was made with (`user:GLOB`, `role:GLOB`).
    #[serde(default)]
    pub targets: Vec<String>,
    /// The selection's excludes (`--exclude`).
    #[serde(default)]
    pub excludes: Vec<String>,
    /// A checksum of each config entry as parsed (comments and layout left
    /// out), by [`crate::config::model::Desired::entry_checksums`]'s keys: `apply`
    /// tells a change whose config entry changed since (stale) from one that
    /// was edited in the file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub entries: BTreeMap<String, String>,
    /// A checksum of each live object as read: what
    /// tells, for a change a plan made now has and the file has not, whether
    /// the site changed since.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub objects: BTreeMap<ChecksumKey, String>,
    /// Set when the plan was made from a snapshot, with no credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Taken>,
}

/// Where and when a snapshot of a site was taken (`rolecall export --format
/// snapshot`, `apply`/`drift --snapshot-out`); never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taken {
    /// The API endpoint it was read from.
    pub endpoint: String,
    /// [`crate::live::Live::checksum`] of what was read.
    pub digest: String,
    /// UTC, RFC 3339 (`2026-12-01T09:30:00Z`).
    pub at: String,
}

/// A plan of some of the changes (a selection was given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    /// Changes in this plan, prerequisites included.
    pub changes: usize,
    /// Changes in the plan of the whole config.
    pub of: usize,
}

/// A plan: the changes that make the site equal to the config, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The site the plan is for.
    pub site: String,
    /// The admin every write names (`invited_by_email` and the like).
    pub actor: String,
    /// The changes, in the order they are shown and run (by phase).
    pub changes: Vec<Step>,
    /// What the site has that the config does not list.
    pub unmanaged: Unmanaged,
    /// Digest of each live object the plan touches, to
    /// refuse applying a stale plan.
    pub digests: BTreeMap<ChecksumKey, String>,
    /// Set when the plan is of a selection of the changes.
    pub partial: Option<Partial>,
    /// Set on a plan made to be saved.
    pub made_from: Option<MadeFrom>,
    /// Dashboards the site moved that the lock kept the grants on.
    pub dashboards: Vec<DashboardNote>,
}

/// A dashboard the config names that the site moved, kept in place by the
/// lock (`rolecall.lock`): the grants stay on the dashboard they were
/// written for. `drift` reports each; the config should follow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "note", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DashboardNote {
    /// The pinned dashboard has another name now.
    Renamed {
        /// The pinned dashboard's id.
        id: String,
        /// As the config writes it.
        name: String,
        /// As the site shows it now.
        now: String,
    },
    /// Other dashboards have the name too.
    Ambiguous {
        /// The pinned dashboard's id.
        id: String,
        /// The name, as the config writes it.
        name: String,
        /// The other dashboards of that name.
        others: Vec<String>,
    },
    /// The pinned dashboard is gone from the site: its grants are dropped
    /// (never moved to another dashboard of that name, `now`).
    Gone {
        /// The id that was pinned.
        id: String,
        /// The name, as the config writes it.
        name: String,
        /// The only dashboard of that name now, if any.
        now: Option<String>,
    },
}

impl std::fmt::Display for DashboardNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clean = crate::text::code_text;
        match self {
            DashboardNote::Renamed { id, name, now } => write!(
                f,
                "dashboard #{id} was renamed on the site from `{}` to `{}`: the lock keeps its grants; update the config",
                clean(name),
                clean(now)
            ),
            DashboardNote::Gone { id, name, now } => write!(
                f,
                "dashboard #{id}, which the lock pins `{}` to, is gone from the site: its grants are dropped{}",
                clean(name),
                match now {
                    Some(now) => format!(
                        "; `{}` is now #{now}: `rolecall lock --update` pins it",
                        clean(name)
                    ),
                    None => String::new(),
                }
            ),
            DashboardNote::Ambiguous { id, name, others } => write!(
                f,
                "{} named `{}` now (#{}): the lock keeps the grants on #{id}",
                if others.len() == 1 {
                    "another dashboard is".to_string()
                } else {
                    format!("{} other dashboards are", others.len())
                },
                clean(name),
                others.join(", #")
            ),
        }
    }
}

/// What a reviewer reads beside a plan: what it does to people's access,
/// and where each difference comes from. Made after the plan (by
/// `access::effect` and the engine's `drift::label`) and passed with it to
/// the renderers; a saved plan keeps it for its reader and for `apply`'s
/// comparison. The executor never reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Review {
    /// What the plan does to people's access (`None` when not computed).
    pub access: Option<Effect>,
    /// Drift's notes, per change (by its index in [`Plan::changes`]).
    pub labels: BTreeMap<usize, Vec<Label>>,
    /// Roles of the config renamed on the site ([`renamed_on_site`]).
    pub renamed: Vec<SiteRename>,
}

impl Review {
    /// The notes on the change at `index`, a prerequisite's first.
    pub fn labels_of(&self, plan: &Plan, index: usize) -> Vec<Label> {
        let prerequisite = plan.changes[index]
            .prerequisite
            .then_some(Label::Prerequisite);
        prerequisite
            .into_iter()
            .chain(self.labels.get(&index).into_iter().flatten().copied())
            .collect()
    }
}

/// Why a saved plan cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// Not JSON, or not a plan.
    #[error("not a plan saved by rolecall: {0}")]
    Invalid(#[from] serde_json::Error),
    /// Made by a rolecall that writes another format.
    #[error("a plan of format {found}; this rolecall reads format {FORMAT_VERSION}")]
    Version {
        /// The format the file says it is.
        found: u64,
    },
    /// Parts of the file disagree with each other: it was edited.
    #[error("the plan file was edited: {0}")]
    Edited(String),
}

impl Plan {
    /// Whether it has no change.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether a safety rule blocks any change.
    pub fn is_blocked(&self) -> bool {
        self.changes.iter().any(|c| c.blocked.is_some())
    }

    /// Counted from the changes, never read from a file.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action() {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
                Action::Rename => s.rename += 1,
            }
        }
        s
    }

    /// Lifts the blocks that only a limit set (what the user may allow).
    pub fn lift_limits(&mut self) {
        for step in &mut self.changes {
            if step.blocked.as_ref().is_some_and(|b| b.rule.is_limit()) {
                step.blocked = None;
            }
        }
    }

    /// The plan and its review as versioned, stable JSON.
    pub fn to_json(&self, review: &Review) -> String {
        let mut s = serde_json::to_string_pretty(&wire::Plan::new(self, review))
            .expect("a plan serializes");
        s.push('\n');
        s
    }

    /// A plan saved with [`Plan::to_json`]: the version checked first, then
    /// every change read as one of the operations (an `op` whose fields do
    /// not fit is refused).
    pub fn from_json(text: &str) -> Result<(Plan, Review), PlanFileError> {
        #[derive(Deserialize)]
        struct Version {
            format_version: u64,
        }
        let version: Version = serde_json::from_str(text)?;
        if version.format_version != u64::from(FORMAT_VERSION) {
            return Err(PlanFileError::Version {
                found: version.format_version,
            });
        }
        let plan: wire::Plan = serde_json::from_str(text)?;
        let written = plan.summary();
        let (plan, review) = plan
            .read()
            .map_err(|reason| PlanFileError::Invalid(serde::de::Error::custom(reason)))?;
        if let Some(written) = written
            && written != plan.summary()
        {
            let s = plan.summary();
            return Err(PlanFileError::Edited(format!(
                "its summary does not count its changes ({} to create, {} to update, {} to delete, {} to rename)",
                s.create, s.update, s.delete, s.rename
            )));
        }
        Ok((plan, review))
    }
}

#[cfg(test)]
mod tests;
