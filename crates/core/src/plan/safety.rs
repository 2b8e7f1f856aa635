//! The safety rules, in one place: [`check`] marks each change a rule stops.
//! `plan` and `apply` both call it, against the live state they just read.
//!
//! Rules are data ([`Rule`]); which command-line flag may lift one is the
//! command line's business. Only the limits ([`Rule::is_limit`]) can be
//! lifted; nothing lifts the others.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Action, Change, Kind, Plan, Risk, RoleChange, Step, UserChange, UserState};
use crate::config::model::{
    Desired, Limit, Limits, Policy, Prune, PruneRoles, PruneUsers, Selectors,
};
use crate::config::vocab::{ADMIN, EVERYONE, is_builtin_role, key};
use crate::live::{Live, LiveRole, LiveUser};
use crate::text::clean;

/// The safety rails: what the rules need to know of the config in force
/// (made with [`Rails::of`]; the config's own `policy:` is [`crate::config::model::Policy`]).
#[derive(Debug, Clone)]
pub struct Rails {
    /// The email every write names; it never loses Admin.
    pub actor: String,
    /// Never touched.
    pub protect: Selectors,
    /// Not counted as live objects for the percentage limits.
    pub ignore: Selectors,
    /// `limits:` of the config.
    pub limits: Limits,
    /// `policy:` of the config.
    pub site: Policy,
    /// Users (keys) whose file `files:` does not let change Admin membership.
    pub no_admin: BTreeSet<String>,
    /// `prune:` of the config, and whether it lists any user or role: a
    /// prune of a config that lists none would take everything.
    pub prune: Prune,
    /// Whether the config lists any user.
    pub lists_users: bool,
    /// Whether the config lists any role.
    pub lists_roles: bool,
    /// Every change puts back what was changed on the site (an undo):
    /// `files:` judges what a file's edit asks, so it does not stop a
    /// revoke of an Admin membership the config never gave. A gain of
    /// Admin stays blocked.
    pub site_made: bool,
}

impl Rails {
    /// The rules as a config sets them.
    pub fn of(desired: &Desired) -> Self {
        Self {
            actor: desired.actor.clone(),
            protect: desired.protect.clone(),
            ignore: desired.ignore.clone(),
            limits: desired.limits,
            site: desired.policy.clone(),
            no_admin: desired
                .users
                .iter()
                .filter(|(_, u)| !u.admin_allowed)
                .map(|(k, _)| k.clone())
                .collect(),
            prune: desired.prune,
            lists_users: !desired.users.is_empty(),
            lists_roles: !desired.roles.is_empty(),
            site_made: false,
        }
    }
}

/// The share of a site's users the plan may take access from (delete,
/// strip, revoke a membership, delete a role they hold or take rights from
/// it) before the
/// changes that do are blocked, on a site of [`MASS_MIN_USERS`] or more,
/// as octoDNS refuses to change more than 30% of a zone.
pub const MASS_SHARE: f64 = 30.0;

/// The size of site from which [`MASS_SHARE`] holds.
pub const MASS_MIN_USERS: usize = 10;

/// What a count is a share of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Counted {
    /// Users.
    Users,
    /// Roles.
    Roles,
    /// Memberships, privileges and grants.
    Grants,
}

/// A count over a limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excess {
    /// Deletes or revokes the plan makes.
    pub count: usize,
    /// Of how many live objects, when the limit is a percentage.
    pub of: Option<(usize, Counted)>,
    /// The limit, as given or by default.
    pub limit: Limit,
    /// The limit is rolecall's default, not the config's.
    pub by_default: bool,
}

/// A safety rule a change breaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum Rule {
    /// Admin and Everyone are never deleted or renamed.
    BuiltinRole {
        /// Its name.
        role: String,
    },
    /// Admin's privileges and dashboard grants are never changed.
    AdminRights,
    /// `protect:` objects are never changed.
    Protected {
        /// The `protect:` pattern that matches it.
        pattern: String,
    },
    /// The actor never loses Admin.
    ActorKeepsAdmin {
        /// The actor's email.
        actor: String,
    },
    /// The site never ends with no Admin member.
    LastAdmin,
    /// `limits.max_deletes`.
    MaxDeletes(Excess),
    /// `limits.max_revokes`.
    MaxRevokes(Excess),
    /// `policy.email_domains`: a user outside them.
    EmailDomain {
        /// The user's email.
        email: String,
    },
    /// `policy.everyone_never`: Everyone would gain this action.
    EveryoneNever {
        /// The action.
        action: String,
    },
    /// `policy.block_risks`: the change carries this risk.
    BlockedRisk {
        /// The risk.
        risk: Risk,
    },
    /// `files:` does not let the user's file change Admin membership.
    AdminOutsideFiles {
        /// The user's email.
        email: String,
    },
    /// `prune:` on while the config lists no object of that kind: the
    /// plan would take every one.
    PruneEverything {
        /// Of which kind.
        what: Counted,
    },
    /// `limits.max_users_losing_access` (default: [`MASS_SHARE`] of a site
    /// of [`MASS_MIN_USERS`] or more).
    MassUsers(Excess),
    /// The role to create is on the site under another name (renamed
    /// there): creating it again would move its members off the live role
    /// and what it holds.
    RenamedOnSite {
        /// The name the config gives it.
        role: String,
        /// Its name on the site.
        now: String,
    },
}

impl Rule {
    /// Whether a user may lift it (the limits); nothing lifts the others.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            Rule::MaxDeletes(_) | Rule::MaxRevokes(_) | Rule::MassUsers(_)
        )
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::BuiltinRole { role } => {
                write!(f, "the role `{}` is never deleted or renamed", clean(role))
            }
            Rule::AdminRights => {
                f.write_str("the Admin role's privileges and grants are never changed")
            }
            Rule::Protected { pattern } => write!(f, "`protect: {}`", clean(pattern)),
            Rule::ActorKeepsAdmin { actor } => {
                write!(f, "the actor `{}` must keep the Admin role", clean(actor))
            }
            Rule::LastAdmin => f.write_str("the site must keep at least one Admin member"),
            Rule::MaxDeletes(e) => excess(f, "max_deletes", "deletes", e),
            Rule::MaxRevokes(e) => excess(f, "max_revokes", "revokes", e),
            Rule::EmailDomain { email } => write!(
                f,
                "policy.email_domains: `{}` is outside the domains the config allows",
                clean(email)
            ),
            Rule::EveryoneNever { action } => write!(
                f,
                "policy.everyone_never: Everyone would gain `{}`",
                clean(action)
            ),
            Rule::AdminOutsideFiles { email } => write!(
                f,
                "files: the file that lists `{}` may not change who holds Admin",
                clean(email)
            ),
            Rule::PruneEverything { what } => {
                let (what, prune) = match what {
                    Counted::Roles => ("roles", "prune.roles"),
                    Counted::Users | Counted::Grants => ("users", "prune.users"),
                };
                write!(
                    f,
                    "the config lists no {what} while `{prune}` is on: it would take every one (the wrong `-f`, or a file not read?)"
                )
            }
            Rule::MassUsers(e) => {
                let default = if e.by_default {
                    format!(" by default on a site of {MASS_MIN_USERS} users or more")
                } else {
                    String::new()
                };
                match e.of {
                    Some((of, _)) => write!(
                        f,
                        "max_users_losing_access: {} of {of} users ({:.0}%) would lose access, {} allowed{default}",
                        e.count,
                        percent(e.count, of),
                        e.limit
                    ),
                    None => write!(
                        f,
                        "max_users_losing_access: {} users would lose access, {} allowed",
                        e.count, e.limit
                    ),
                }
            }
            Rule::RenamedOnSite { role, now } => write!(
                f,
                "the role `{}` is on the site as `{}` (renamed there): creating it again would move its members off what that role holds; rename it back with `renamed_from: [{}]` on `{}`, or accept the new name (`rolecall drift --baseline-rev REV --write-config`)",
                clean(role),
                clean(now),
                clean(now),
                clean(role)
            ),
            Rule::BlockedRisk { risk } => {
                write!(
                    f,
                    "policy.block_risks: the change is tagged `{}`",
                    risk.as_str()
                )
            }
        }
    }
}

fn excess(f: &mut fmt::Formatter<'_>, name: &str, noun: &str, e: &Excess) -> fmt::Result {
    let default = if e.by_default { " by default" } else { "" };
    let (count, limit) = (e.count, e.limit);
    match e.of {
        None => write!(f, "{name}: {count} {noun}, {limit} allowed{default}"),
        Some((of, what)) => {
            let (what, verb) = match what {
                Counted::Users => ("users", " deleted"),
                Counted::Roles => ("roles", " deleted"),
                Counted::Grants => ("memberships and grants", ""),
            };
            let pct = percent(count, of);
            write!(
                f,
                "{name}: {count} of {of} {what} ({pct:.0}%){verb}, {limit} allowed{default}"
            )
        }
    }
}

/// The rule that stops a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blocked {
    /// The rule.
    #[serde(flatten)]
    pub rule: Rule,
    /// The rule in words, for readers of the JSON plan.
    #[serde(default)]
    pub message: String,
}

impl From<Rule> for Blocked {
    fn from(rule: Rule) -> Self {
        Self {
            message: rule.to_string(),
            rule,
        }
    }
}

fn percent(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}

/// The live state, indexed for the rules.
struct Site<'a> {
    users: HashMap<&'a str, &'a LiveUser>,
    roles: HashMap<&'a str, &'a LiveRole>,
    admin_id: Option<&'a str>,
}

impl<'a> Site<'a> {
    fn new(live: &'a Live) -> Self {
        Self {
            users: live.users.iter().map(|u| (u.id.as_str(), u)).collect(),
            roles: live.roles.iter().map(|r| (r.id.as_str(), r)).collect(),
            admin_id: live
                .roles
                .iter()
                .find(|r| key(&r.name) == key(ADMIN))
                .map(|r| r.id.as_str()),
        }
    }

    fn is_admin(&self, state: &UserState) -> bool {
        state.roles.iter().any(|r| match (&r.id, self.admin_id) {
            (Some(id), Some(admin)) => id == admin,
            _ => key(&r.name) == key(ADMIN),
        })
    }

    fn live_is_admin(&self, user: &LiveUser) -> bool {
        self.admin_id.is_some_and(|a| user.roles.contains(a))
    }

    /// The names (emails) a change touches: its own, and the live object's
    /// that its id points at.
    fn names<'s>(&'s self, change: &'s Change) -> Vec<&'s str> {
        let mut names = vec![change.key()];
        names.extend(change.renamed_from());
        if let Some(id) = change.id() {
            match change.kind() {
                Kind::Role => names.extend(self.roles.get(id).map(|r| r.name.as_str())),
                Kind::User => names.extend(self.users.get(id).map(|u| u.email.as_str())),
            }
        }
        names
    }
}

/// Marks every change of `plan` that a rule stops (a change already marked
/// keeps its mark). Nothing is written while any change is marked.
pub fn check(plan: &mut Plan, live: &Live, policy: &Rails) {
    let site = Site::new(live);
    for step in plan.changes.iter_mut().filter(|s| s.blocked.is_none()) {
        step.blocked = builtin(&site, &step.change)
            .or_else(|| admin_rights(&site, &step.change))
            .or_else(|| protected(&site, policy, &step.change))
            .map(Blocked::from);
    }
    guard_admins(&site, policy, live, &mut plan.changes);
    prune_everything(policy, &mut plan.changes);
    limit_deletes(policy.limits, policy, live, &mut plan.changes);
    limit_revokes(policy.limits, live, &mut plan.changes);
    limit_users(policy, live, &mut plan.changes);
}

/// A prune (a change with no config entry behind it) of a kind the config
/// lists none of, with `prune` on for that kind.
fn prune_everything(policy: &Rails, steps: &mut [Step]) {
    let users = policy.prune.users != PruneUsers::Keep && !policy.lists_users;
    let roles = policy.prune.roles != PruneRoles::Keep && !policy.lists_roles;
    for step in steps
        .iter_mut()
        .filter(|s| s.blocked.is_none() && s.source.is_none() && !s.prerequisite)
    {
        let what = match step.kind() {
            Kind::User if users => Counted::Users,
            Kind::Role if roles && step.action() == Action::Delete => Counted::Roles,
            Kind::User | Kind::Role => continue,
        };
        step.blocked = Some(Rule::PruneEverything { what }.into());
    }
}

/// The users a change takes access from: deleted, stripped, a membership
/// revoked, or a member of a role deleted or losing privileges or grants.
fn users_losing<'a>(live: &'a Live, change: &'a Change) -> Vec<&'a str> {
    let members = |id: &str| -> Vec<&'a str> {
        (live.users.iter())
            .filter(|u| u.roles.contains(id))
            .map(|u| u.id.as_str())
            .collect()
    };
    match change {
        Change::User(UserChange::Delete(r)) => vec![r.id.as_str()],
        Change::User(UserChange::Update(e) | UserChange::Strip(e)) if change.revokes() > 0 => {
            vec![e.id.as_str()]
        }
        Change::Role(RoleChange::Update(e) | RoleChange::Rename(e)) if change.revokes() > 0 => {
            members(&e.id)
        }
        Change::Role(RoleChange::Delete(r)) => members(&r.id),
        Change::User(_) | Change::Role(_) => Vec::new(),
    }
}

/// `limits.max_users_losing_access`: by default, more than [`MASS_SHARE`]
/// of a site's users (of [`MASS_MIN_USERS`] or more; ignored ones not
/// counted) losing access blocks every change that takes some.
fn limit_users(policy: &Rails, live: &Live, steps: &mut [Step]) {
    let of = live
        .users
        .iter()
        .filter(|u| !policy.ignore.users.is_match(&u.email))
        .count();
    let losing: BTreeSet<&str> = steps
        .iter()
        .flat_map(|s| users_losing(live, &s.change))
        .collect();
    let n = losing.len();
    let share = |p: f64, by_default: bool| {
        (percent(n, of) > p).then_some(Excess {
            count: n,
            of: Some((of, Counted::Users)),
            limit: Limit::Percent(p),
            by_default,
        })
    };
    let excess = match policy.limits.max_users_losing_access {
        Some(Limit::Count(max)) => over_count(n, max, false),
        Some(Limit::Percent(p)) => share(p, false),
        None if of < MASS_MIN_USERS => None,
        None => share(MASS_SHARE, true),
    };
    let Some(rule) = excess.map(Rule::MassUsers) else {
        return;
    };
    block_where(steps, Some(rule), |c| !users_losing(live, c).is_empty());
}

fn builtin(site: &Site<'_>, change: &Change) -> Option<Rule> {
    if !matches!(change.action(), Action::Delete | Action::Rename) || change.kind() != Kind::Role {
        return None;
    }
    site.names(change)
        .into_iter()
        .skip(usize::from(change.action() == Action::Rename))
        .find(|n| is_builtin_role(n))
        .map(|role| Rule::BuiltinRole {
            role: role.to_string(),
        })
}

/// A role update that would change Admin's rights (compared with the live
/// role, not with what the plan says it was).
fn admin_rights(site: &Site<'_>, change: &Change) -> Option<Rule> {
    let after = change.role_after()?;
    if !site.names(change).iter().any(|n| key(n) == key(ADMIN)) {
        return None;
    }
    let live = change.id().and_then(|id| site.roles.get(id));
    (!live.is_some_and(|l| l.same_rights(after))).then_some(Rule::AdminRights)
}

fn protected(site: &Site<'_>, policy: &Rails, change: &Change) -> Option<Rule> {
    let globs = match change.kind() {
        Kind::Role => &policy.protect.roles,
        Kind::User => &policy.protect.users,
    };
    site.names(change)
        .into_iter()
        .find_map(|n| globs.first_match(n))
        .map(|pattern| Rule::Protected {
            pattern: pattern.to_string(),
        })
}

/// Whether a user change leaves the user an admin, and whether it was one.
fn admin_before_after(site: &Site<'_>, change: &Change) -> (bool, bool) {
    let before = change.user_before().is_some_and(|b| site.is_admin(b))
        || change
            .id()
            .and_then(|id| site.users.get(id))
            .is_some_and(|u| site.live_is_admin(u));
    let after = change.user_after().is_some_and(|a| site.is_admin(a));
    (before, after)
}

/// The actor keeps Admin, and the site keeps at least one Admin member.
fn guard_admins(site: &Site<'_>, policy: &Rails, live: &Live, steps: &mut [Step]) {
    let actor = key(&policy.actor);
    let mut admins: BTreeSet<String> = live
        .users
        .iter()
        .filter(|u| site.live_is_admin(u))
        .map(|u| key(&u.email))
        .collect();
    for step in steps.iter_mut().filter(|s| s.kind() == Kind::User) {
        let (was, is) = admin_before_after(site, &step.change);
        let names: Vec<String> = site.names(&step.change).into_iter().map(key).collect();
        if is {
            admins.insert(key(step.key()));
            continue;
        }
        for n in &names {
            admins.remove(n);
        }
        if was && names.contains(&actor) && step.blocked.is_none() {
            step.blocked = Some(
                Rule::ActorKeepsAdmin {
                    actor: policy.actor.clone(),
                }
                .into(),
            );
        }
    }
    if !admins.is_empty() {
        return;
    }
    for step in steps.iter_mut().filter(|s| s.kind() == Kind::User) {
        let (was, is) = admin_before_after(site, &step.change);
        if was && !is && step.blocked.is_none() {
            step.blocked = Some(Rule::LastAdmin.into());
        }
    }
}

fn block_where(steps: &mut [Step], rule: Option<Rule>, applies: impl Fn(&Change) -> bool) {
    let Some(rule) = rule else { return };
    for step in steps
        .iter_mut()
        .filter(|s| s.blocked.is_none() && applies(&s.change))
    {
        step.blocked = Some(rule.clone().into());
    }
}

/// `count` over a limit of `n`.
fn over_count(count: usize, n: u64, by_default: bool) -> Option<Excess> {
    (count as u64 > n).then_some(Excess {
        count,
        of: None,
        limit: Limit::Count(n),
        by_default,
    })
}

/// Deletes beyond `max_deletes` (default: 10, and 25% of the live objects
/// of a kind) block every delete.
fn limit_deletes(limits: Limits, policy: &Rails, live: &Live, steps: &mut [Step]) {
    let deleted = |kind: Kind| {
        steps
            .iter()
            .filter(|s| s.kind() == kind && s.action() == Action::Delete)
            .count()
    };
    let (users, roles) = (deleted(Kind::User), deleted(Kind::Role));
    let live_users = live
        .users
        .iter()
        .filter(|u| !policy.ignore.users.is_match(&u.email))
        .count();
    let live_roles = live
        .roles
        .iter()
        .filter(|r| !policy.ignore.roles.is_match(&r.name))
        .count();
    let over_share = |p: f64, by_default: bool| {
        [
            (users, live_users, Counted::Users),
            (roles, live_roles, Counted::Roles),
        ]
        .into_iter()
        .find(|(n, of, _)| percent(*n, *of) > p)
        .map(|(count, of, what)| Excess {
            count,
            of: Some((of, what)),
            limit: Limit::Percent(p),
            by_default,
        })
    };
    let count = |n, by_default| over_count(users + roles, n, by_default);
    let excess = match limits.max_deletes {
        Some(Limit::Count(n)) => count(n, false),
        Some(Limit::Percent(p)) => over_share(p, false),
        None => count(10, true).or_else(|| over_share(25.0, true)),
    };
    block_where(steps, excess.map(Rule::MaxDeletes), |c| {
        c.action() == Action::Delete
    });
}

/// Revokes beyond `max_revokes` (default: 50) block every change that
/// revokes.
fn limit_revokes(limits: Limits, live: &Live, steps: &mut [Step]) {
    let revoked: usize = steps.iter().map(|s| s.change.revokes()).sum();
    let grants_live: usize = live.users.iter().map(|u| u.roles.len()).sum::<usize>()
        + live
            .roles
            .iter()
            .map(|r| {
                r.privileges.values().map(BTreeSet::len).sum::<usize>()
                    + r.grants.values().map(BTreeSet::len).sum::<usize>()
            })
            .sum::<usize>();
    let count = |n, by_default| over_count(revoked, n, by_default);
    let excess = match limits.max_revokes {
        Some(Limit::Count(n)) => count(n, false),
        Some(Limit::Percent(p)) => (percent(revoked, grants_live) > p).then_some(Excess {
            count: revoked,
            of: Some((grants_live, Counted::Grants)),
            limit: Limit::Percent(p),
            by_default: false,
        }),
        None => count(50, true),
    };
    block_where(steps, excess.map(Rule::MaxRevokes), |c| c.revokes() > 0);
}

/// `policy:`: marks the changes it forbids. Run after the risks are all
/// known (the access effect adds some); nothing lifts these.
pub fn check_policy(plan: &mut Plan, policy: &Rails) {
    let site = &policy.site;
    // A change a limit marks is judged too: `--allow-mass-delete` lifts the
    // limit, never the policy.
    for step in plan
        .changes
        .iter_mut()
        .filter(|s| s.blocked.as_ref().is_none_or(|b| b.rule.is_limit()))
    {
        let rule = email_domain(site, &step.change)
            .or_else(|| admin_outside_files(policy, &step.change))
            .or_else(|| everyone_never(site, &step.change))
            .or_else(|| {
                step.risks
                    .iter()
                    .find(|r| site.block_risks.contains(r))
                    .map(|risk| Rule::BlockedRisk { risk: *risk })
            });
        if let Some(rule) = rule {
            step.blocked = Some(rule.into());
        }
    }
}

/// A change of a user's Admin membership, given or taken, from a file that
/// `files:` does not give `admin`.
fn admin_outside_files(policy: &Rails, change: &Change) -> Option<Rule> {
    let after = change.user_after()?;
    if !policy.no_admin.contains(&key(&after.email)) {
        return None;
    }
    let admin = |s: Option<&UserState>| {
        s.is_some_and(|s| s.roles.iter().any(|r| key(&r.name) == key(ADMIN)))
    };
    let (had, has) = (admin(change.user_before()), admin(Some(after)));
    let revoke_of_site_made = policy.site_made && had && !has;
    (had != has && !revoke_of_site_made).then(|| Rule::AdminOutsideFiles {
        email: after.email.clone(),
    })
}

/// A user created or updated outside `email_domains`.
fn email_domain(site: &Policy, change: &Change) -> Option<Rule> {
    if site.email_domains.is_empty() {
        return None;
    }
    let email = &change.user_after()?.email;
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    (!site.email_domains.iter().any(|d| key(d) == key(domain))).then(|| Rule::EmailDomain {
        email: email.clone(),
    })
}

/// An action Everyone gains, as a privilege or on a dashboard, that
/// `everyone_never` forbids.
fn everyone_never(site: &Policy, change: &Change) -> Option<Rule> {
    let after = change.role_after()?;
    let before = change.role_before();
    let is_everyone =
        key(&after.name) == key(EVERYONE) || before.is_some_and(|b| key(&b.name) == key(EVERYONE));
    if !is_everyone || site.everyone_never.is_empty() {
        return None;
    }
    let empty = BTreeSet::new();
    let privileges = after.privileges.iter().flat_map(|(t, actions)| {
        let had = before.and_then(|b| b.privileges.get(t)).unwrap_or(&empty);
        actions.difference(had)
    });
    let grants = after.grants.iter().flat_map(|(id, g)| {
        let had = before
            .and_then(|b| b.grants.get(id))
            .map_or(&empty, |g| &g.actions);
        g.actions.difference(had)
    });
    privileges
        .chain(grants)
        .find(|a| site.everyone_never.contains(*a))
        .map(|action| Rule::EveryoneNever {
            action: action.clone(),
        })
}
