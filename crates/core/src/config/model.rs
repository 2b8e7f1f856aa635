//! The desired state: what a config says the site should be.
//!
//! Role names and emails are identities compared case-insensitively: maps are
//! keyed by [`crate::config::vocab::key`], and each value keeps the name as written
//! for display. Every entry remembers where it was written ([`Origin`]) so a
//! plan can say which line of which file a change comes from.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use globset::GlobBuilder;
use serde::{Serialize, Serializer};

use crate::diagnostic::{Pos, SourceMap};
use crate::kinds::ObjectKind;

pub use super::globs::Globs;

/// Where an entry was written: `file:line:col`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The file, as loaded.
    pub file: Arc<str>,
    /// The line, from 1.
    pub line: u32,
    /// The column, from 1.
    pub col: u32,
}

impl Origin {
    /// Where this is in `sources`, `len` characters long.
    pub fn pos(&self, sources: &SourceMap, len: usize) -> Option<Pos> {
        sources.pos_in(&self.file, self.line, self.col, len)
    }
}

/// `file:line`, the file's name with any control or bidirectional
/// character escaped: a file named with a line break must not write lines
/// of its own into a plan.
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", crate::text::clean(&self.file), self.line)
    }
}

/// A whole config, merged from all its files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Desired {
    /// `site:`: the site's name (the segment after `/app/` in a dashboard URL).
    pub site: String,
    /// The admin user sent as `invited_by_email` / `created_by_email` /
    /// `updated_by_email`.
    pub actor: String,
    /// `prune:`: what happens to live objects the config does not list.
    pub prune: Prune,
    /// `protect:`: objects never changed.
    pub protect: Selectors,
    /// `ignore:`: objects not managed and not counted.
    pub ignore: Selectors,
    /// `limits:`: bounds on destructive changes.
    pub limits: Limits,
    /// `files:`: which files of a config directory may hold what; `None`
    /// when the root file does not say (any file may hold entries).
    pub files: Option<FileRules>,
    /// `policy:`: rules a plan must keep, whatever the entries say.
    pub policy: Policy,
    /// `review:`: how access reviews are run (defaults when absent).
    pub review: crate::review::settings::Settings,
    /// Keyed by lower-cased role name.
    pub roles: BTreeMap<String, Role>,
    /// Keyed by lower-cased email.
    pub users: BTreeMap<String, User>,
    /// `rolecall.lock` beside the root file: dashboard names pinned to ids.
    #[serde(skip)]
    pub lock: crate::config::lock::Lock,
    /// Memberships past their `until` ([`Desired::expire`]): user key ->
    /// role keys. They are not in `users`; a plan tags their revocation.
    #[serde(skip)]
    pub expired: BTreeMap<String, BTreeSet<String>>,
}

impl Desired {
    /// Every origin's file renamed by `rename` (a baseline read out of git
    /// into a scratch directory is shown as `REV:path`).
    pub fn rename_files(&mut self, rename: impl Fn(&str) -> String) {
        let renamed = |o: &mut Origin| o.file = rename(&o.file).into();
        for role in self.roles.values_mut() {
            renamed(&mut role.origin);
            role.grants
                .values_mut()
                .for_each(|g| renamed(&mut g.origin));
        }
        for user in self.users.values_mut() {
            renamed(&mut user.origin);
            user.roles.values_mut().for_each(|r| renamed(&mut r.origin));
        }
    }

    /// Takes out every membership whose `until` is before `today`: the
    /// config no longer wants it. Call once, before planning.
    pub fn expire(&mut self, today: crate::config::date::Date) {
        for (user_key, user) in &mut self.users {
            let gone: Vec<String> = user
                .roles
                .iter()
                .filter(|(_, r)| r.until.is_some_and(|until| until < today))
                .map(|(k, _)| k.clone())
                .collect();
            for role in gone {
                user.roles.remove(&role);
                self.expired
                    .entry(user_key.clone())
                    .or_default()
                    .insert(role);
            }
        }
    }

    /// A warning for each membership that ended before `today` (a plan
    /// revokes it) or ends within `days` of it: what `validate` says.
    pub fn endings(
        &self,
        today: crate::config::date::Date,
        days: i64,
        sources: &SourceMap,
    ) -> Vec<crate::diagnostic::Diagnostic> {
        use crate::diagnostic::Diagnostic;
        let mut out = Vec::new();
        for user in self.users.values() {
            for r in user.roles.values() {
                let Some(until) = r.until else { continue };
                let left = today.days_to(until);
                let (message, hint) = if left < 0 {
                    (
                        format!(
                            "`{}`'s membership of `{}` ended on {until}",
                            user.email, r.name
                        ),
                        "a plan revokes it (tagged `expired`): remove it from the config, or move `until` to keep it",
                    )
                } else if left <= days {
                    (
                        format!(
                            "`{}`'s membership of `{}` ends on {until} ({})",
                            user.email,
                            r.name,
                            match left {
                                0 => "today is its last day".to_string(),
                                1 => "in 1 day".to_string(),
                                n => format!("in {n} days"),
                            }
                        ),
                        "after that day a plan revokes it; move `until` to keep it longer",
                    )
                } else {
                    continue;
                };
                let actor_admin = crate::config::vocab::key(&user.email)
                    == crate::config::vocab::key(&self.actor)
                    && crate::config::vocab::key(&r.name)
                        == crate::config::vocab::key(crate::config::vocab::ADMIN);
                let hint = if actor_admin {
                    "the actor must keep Admin: after that day every plan is blocked; give the actor Admin without `until`"
                } else {
                    hint
                };
                let mut d = Diagnostic::warning(message).hint(hint);
                if let Some(pos) = r.origin.pos(sources, r.name.chars().count()) {
                    d = d.at(pos, String::new());
                }
                out.push(d);
            }
        }
        out
    }

    /// The settings as one checksum: a change to any of them may change any
    /// change of a plan.
    pub fn settings_checksum(&self) -> String {
        let settings = (
            &self.site,
            &self.actor,
            &self.prune,
            &self.protect,
            &self.ignore,
            &self.limits,
            &self.files,
            &self.policy,
        );
        // The lock decides which dashboard a name grants on: a setting too
        // (left out when empty, so configs without one checksum as before).
        match self.lock.is_empty() {
            true => crate::kinds::checksum(&settings),
            false => crate::kinds::checksum(&(settings, &self.lock.dashboards)),
        }
    }

    /// The key of a config entry in [`Desired::entry_checksums`]: `role:<name>`
    /// or `user:<email>`, case folded.
    pub fn entry_key(kind: crate::kinds::Kind, name: &str) -> String {
        format!("{kind}:{}", crate::config::vocab::key(name))
    }

    /// The checksum of one entry as parsed, `None` when the config has none.
    pub fn entry_checksum(&self, entry: &str) -> Option<String> {
        if entry == SETTINGS {
            return Some(self.settings_checksum());
        }
        let (kind, name) = entry.split_once(':')?;
        match kind {
            "role" => self.roles.get(name).map(crate::kinds::checksum),
            "user" => self.users.get(name).map(crate::kinds::checksum),
            _ => None,
        }
    }

    /// A checksum of each entry (and of the settings, as `settings`), from the
    /// parsed config: comments, order and layout change none.
    pub fn entry_checksums(&self) -> BTreeMap<String, String> {
        let roles = self
            .roles
            .iter()
            .map(|(k, r)| (format!("role:{k}"), crate::kinds::checksum(r)));
        let users = self
            .users
            .iter()
            .map(|(k, u)| (format!("user:{k}"), crate::kinds::checksum(u)));
        roles
            .chain(users)
            .chain([(SETTINGS.to_string(), self.settings_checksum())])
            .collect()
    }
}

/// The key of the settings in [`Desired::entry_checksums`].
pub const SETTINGS: &str = "settings";

/// What a file may hold, by `files:` in the root file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum May {
    /// Role definitions.
    Roles,
    /// User entries.
    Users,
    /// Users given the Admin role (with `users`).
    Admin,
}

impl May {
    /// Every kind, in order.
    pub const ALL: [May; 3] = [May::Roles, May::Users, May::Admin];

    /// As written in `files:`.
    pub fn as_str(self) -> &'static str {
        match self {
            May::Roles => "roles",
            May::Users => "users",
            May::Admin => "admin",
        }
    }
}

/// One `files:` entry: a glob over paths relative to the config root.
#[derive(Debug, Clone)]
pub struct FileRule {
    /// The glob as written.
    pub glob: String,
    matcher: globset::GlobMatcher,
    /// What the files it matches may hold.
    pub may: BTreeSet<May>,
}

impl FileRule {
    /// The rule; the error is the glob's.
    pub fn new(glob: &str, may: BTreeSet<May>) -> Result<Self, globset::Error> {
        let matcher = GlobBuilder::new(glob)
            .literal_separator(true)
            .build()?
            .compile_matcher();
        Ok(Self {
            glob: glob.to_string(),
            matcher,
            may,
        })
    }

    /// Whether it matches a path relative to the config root.
    pub fn is_match(&self, relative: &str) -> bool {
        self.matcher.is_match(relative)
    }
}

impl PartialEq for FileRule {
    fn eq(&self, other: &Self) -> bool {
        self.glob == other.glob && self.may == other.may
    }
}

impl Serialize for FileRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.glob, &self.may).serialize(s)
    }
}

/// `files:` of the root file, in the order written.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileRules(pub Vec<FileRule>);

impl FileRules {
    /// What a file (its path relative to the config root, `/`-separated)
    /// may hold, with the globs that say so; nothing when none matches.
    pub fn allowed(&self, relative: &str) -> (BTreeSet<May>, Vec<&str>) {
        let mut may = BTreeSet::new();
        let mut globs = Vec::new();
        for rule in self.0.iter().filter(|r| r.is_match(relative)) {
            may.extend(rule.may.iter().copied());
            globs.push(rule.glob.as_str());
        }
        (may, globs)
    }
}

/// `policy:` of the root file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Policy {
    /// Lower-cased domains; empty: any. A user outside them is blocked.
    pub email_domains: Vec<String>,
    /// Actions Everyone may never gain, as a privilege or a grant.
    pub everyone_never: BTreeSet<String>,
    /// Risk tags (`everyone-exposure`...) that block the change they tag.
    pub block_risks: BTreeSet<crate::kinds::Risk>,
}

/// What happens to live objects the config does not list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Prune {
    /// Users the config does not list.
    pub users: PruneUsers,
    /// Roles the config does not list.
    pub roles: PruneRoles,
}

/// What `prune.users` does to unlisted users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PruneUsers {
    /// Leave unlisted users alone (`false`, the default).
    #[default]
    Keep,
    /// Delete unlisted users.
    Delete,
    /// Keep the account but take every role but Everyone away.
    Strip,
}

/// What `prune.roles` does to unlisted roles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PruneRoles {
    /// Leave them alone (`false`, the default).
    #[default]
    Keep,
    /// Delete them (never Admin or Everyone).
    Delete,
}

/// Glob patterns over user emails and role names (`protect`, `ignore`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Selectors {
    /// Users, by email.
    pub users: Globs,
    /// Roles, by name.
    pub roles: Globs,
}

/// Bounds on destructive changes; `None` means the built-in default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Limits {
    /// At most this many deletes in one plan (default: 10, and 25% of the live objects).
    pub max_deletes: Option<Limit>,
    /// At most this many revokes in one plan.
    pub max_revokes: Option<Limit>,
    /// Users who lose access (deleted, stripped, a membership revoked, or
    /// a member of a deleted role); default 30% of a site of 10 or more.
    pub max_users_losing_access: Option<Limit>,
    /// A change that gives more users than this a new action on a dashboard
    /// is tagged `wide-grant` (default 100); a percentage is of live users.
    pub wide_grant: Option<Limit>,
}

/// A bound: a count, or a percentage of the live objects.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Limit {
    /// At most this many.
    Count(u64),
    /// Percent of the live objects of the kind concerned, 0 to 100.
    Percent(f64),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Count(n) => write!(f, "{n}"),
            Limit::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// A role as the config wants it. Absent lists mean empty: a listed role is
/// authoritative.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    /// As written.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Role-wide actions per object type (`Dashboard`).
    pub privileges: BTreeMap<String, BTreeSet<String>>,
    /// Grants per object, as the config names it (`dashboards:`; written
    /// under that key, as a config's checksum always was).
    #[serde(flatten, serialize_with = "named_objects")]
    pub grants: BTreeMap<ObjectName, ObjectGrant>,
    /// Live role names to rename into this one instead of delete + create.
    pub renamed_from: Vec<String>,
    /// Where the entry is written.
    #[serde(skip)]
    pub origin: Origin,
    /// Its entry defines or uses a YAML anchor or alias: an edit of its
    /// text would change other entries too.
    #[serde(skip)]
    pub shared: bool,
}

/// An object as the config names it: by `#id` or by name; resolved
/// against the site (names through the lock) by `plan`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameOrId {
    /// `"#4711"`.
    Id(String),
    /// `Revenue Overview`: must match exactly one object of its kind on the site.
    Name(String),
}

impl fmt::Display for NameOrId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameOrId::Id(id) => write!(f, "#{id}"),
            NameOrId::Name(name) => f.write_str(name),
        }
    }
}

impl Serialize for NameOrId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An object a role's grant is on, as the config names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectName {
    /// What it is: the key it is written under (`dashboards:`).
    pub kind: ObjectKind,
    /// How the config names it.
    pub name: NameOrId,
}

impl ObjectName {
    /// A dashboard as the config names it.
    pub fn dashboard(name: NameOrId) -> Self {
        Self {
            kind: ObjectKind::Dashboard,
            name,
        }
    }
}

/// As the config writes it under its kind's key: `#4711` or `Revenue`.
impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)
    }
}

/// A role's grants, one map per kind keyed by the name as written
/// (`dashboards:` always, as a config's checksum always had it; another
/// kind under its plural when it has any).
fn named_objects<S: Serializer>(
    grants: &BTreeMap<ObjectName, ObjectGrant>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut out = s.serialize_map(None)?;
    for kind in ObjectKind::ALL {
        let of_kind: BTreeMap<String, &ObjectGrant> = (grants.iter())
            .filter(|(n, _)| n.kind == kind)
            .map(|(n, g)| (n.name.to_string(), g))
            .collect();
        if kind == ObjectKind::Dashboard || !of_kind.is_empty() {
            out.serialize_entry(kind.plural(), &of_kind)?;
        }
    }
    out.end()
}

/// The actions a role's entry grants on one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectGrant {
    /// The actions granted on it.
    pub actions: BTreeSet<String>,
    /// Where it is written.
    #[serde(skip)]
    pub origin: Origin,
}

/// A user as the config wants it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// As written.
    pub email: String,
    /// `None`: not managed by the config (an existing user keeps its name).
    pub first_name: Option<String>,
    /// `None`: not managed by the config.
    pub last_name: Option<String>,
    /// Keyed by lower-cased role name. Everyone is implied and not listed.
    pub roles: BTreeMap<String, Membership>,
    /// Where the entry is written.
    #[serde(skip)]
    pub origin: Origin,
    /// Whether its file may change its Admin membership (`files:` gives the
    /// file `admin`, or there is no `files:`); a plan that would is blocked.
    #[serde(skip)]
    pub admin_allowed: bool,
    /// Its entry defines or uses a YAML anchor or alias: an edit of its
    /// text would change other entries too.
    #[serde(skip)]
    pub shared: bool,
}

/// A user's membership of a role, as the config writes it (by the role's
/// name); it may end. A plan's reference to a role is `plan::RoleRef`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Membership {
    /// The role's name, as written.
    pub name: String,
    /// The last day of the membership (`{role: Auditor, until: 2027-01-31}`):
    /// past it, the membership is not wanted and a plan revokes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<crate::config::date::Date>,
    /// Why the membership is there, for reviewers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where in the user's list it was written, for messages.
    #[serde(skip)]
    pub index: usize,
    /// Where it is written.
    #[serde(skip)]
    pub origin: Origin,
}
