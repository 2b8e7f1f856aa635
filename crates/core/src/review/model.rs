//! What a review is made from ([`Inputs`]) and what it finds: the
//! population ([`Member`]) and the findings ([`Finding`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use super::inputs::{Activity, Directory};
use super::settings::Settings;
use crate::config::date::Date;
use crate::config::model::Desired;
use crate::config::vocab::{EVERYONE, key};
use crate::live::Live;
use crate::plan::severity::Severity;

/// A commit that touched the config in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    /// Its full hash.
    pub sha: String,
    /// When it was committed (RFC 3339).
    pub date: String,
    /// Its author's name.
    pub author: String,
    /// Its first line.
    pub subject: String,
    /// The pull (or merge) request it came through, when its message says.
    pub pull_request: Option<u64>,
}

/// The pull request a commit message names: GitHub's merge commit (`Merge
/// pull request #12 from ...`) or squash title (`Title (#12)`), or GitLab's
/// merge commit (`See merge request group/project!12`).
pub fn pull_request_of(message: &str) -> Option<u64> {
    let number = |s: &str| {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u64>().ok()
    };
    let first = message.lines().next().unwrap_or_default();
    if let Some(rest) = first.strip_prefix("Merge pull request #") {
        return number(rest);
    }
    if let Some(open) = first
        .trim_end()
        .strip_suffix(')')
        .and_then(|s| s.rfind("(#").map(|i| &s[i + 2..]))
        && !open.is_empty()
        && open.chars().all(|c| c.is_ascii_digit())
    {
        return number(open);
    }
    message
        .lines()
        .find_map(|l| l.trim().strip_prefix("See merge request "))
        .and_then(|r| r.rsplit_once('!'))
        .and_then(|(_, n)| number(n))
}

/// The config's history in the period.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Where it starts (a revision, as given).
    pub since: String,
    /// The commits that touched the config, oldest first.
    pub commits: Vec<Commit>,
    /// (user, role), lower-cased: the memberships some version in the
    /// period gave.
    pub given: HashSet<(String, String)>,
}

/// A membership seen in snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// The user's email, as the site spelled it.
    pub email: String,
    /// The role's name, as the site spelled it.
    pub role: String,
    /// The first snapshot that had it.
    pub first: String,
    /// The last snapshot that had it.
    pub last: String,
}

/// A membership that appeared or went between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteChange {
    /// The snapshot that first showed it.
    pub at: String,
    /// The user's email.
    pub email: String,
    /// The role's name.
    pub role: String,
    /// Given (else taken away).
    pub added: bool,
}

/// What the nightly snapshots of the period showed, gathered one snapshot
/// at a time (oldest first) so that no two are held at once.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// When each snapshot was taken, in the order added.
    pub taken: Vec<String>,
    /// Each membership seen, by (user, role) lower-cased.
    pub memberships: HashMap<(String, String), Sighting>,
    /// Membership changes between consecutive snapshots.
    pub changes: Vec<SiteChange>,
    previous: Option<HashMap<(String, String), (String, String)>>,
}

/// Every (user, role) of a site, lower-cased, with the site's spelling;
/// Everyone left out.
pub fn memberships(live: &Live) -> HashMap<(String, String), (String, String)> {
    let names: HashMap<&str, &str> = live
        .roles
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    let mut out = HashMap::new();
    for u in &live.users {
        for id in &u.roles {
            let Some(name) = names.get(id.as_str()) else {
                continue;
            };
            if key(name) == key(EVERYONE) {
                continue;
            }
            out.insert(
                (key(&u.email), key(name)),
                (u.email.clone(), (*name).to_string()),
            );
        }
    }
    out
}

impl Seen {
    /// Adds the snapshot taken `at`.
    pub fn add(&mut self, at: &str, live: &Live) {
        let now = memberships(live);
        for (k, (email, role)) in &now {
            let s = self
                .memberships
                .entry(k.clone())
                .or_insert_with(|| Sighting {
                    email: email.clone(),
                    role: role.clone(),
                    first: at.to_string(),
                    last: at.to_string(),
                });
            s.last = at.to_string();
        }
        if let Some(prev) = &self.previous {
            let mut changes: Vec<SiteChange> = Vec::new();
            for (k, (email, role)) in &now {
                if !prev.contains_key(k) {
                    changes.push(SiteChange {
                        at: at.to_string(),
                        email: email.clone(),
                        role: role.clone(),
                        added: true,
                    });
                }
            }
            for (k, (email, role)) in prev {
                if !now.contains_key(k) {
                    changes.push(SiteChange {
                        at: at.to_string(),
                        email: email.clone(),
                        role: role.clone(),
                        added: false,
                    });
                }
            }
            changes.sort_by_key(|c| (key(&c.email), key(&c.role)));
            self.changes.extend(changes);
        }
        self.taken.push(at.to_string());
        self.previous = Some(now);
    }
}

/// Everything a review is made from.
#[derive(Debug)]
pub struct Inputs<'a> {
    /// The site's name.
    pub site: &'a str,
    /// When the site was read (RFC 3339).
    pub as_of: &'a str,
    /// The day it was read: "today" for every rule.
    pub today: Date,
    /// The site as read.
    pub live: &'a Live,
    /// The config in force (memberships not expired).
    pub desired: &'a Desired,
    /// `review:`.
    pub settings: &'a Settings,
    /// The config's history in the period, when asked for.
    pub history: Option<&'a History>,
    /// The period's snapshots, when given.
    pub seen: Option<&'a Seen>,
    /// The activity log, when given.
    pub activity: Option<&'a Activity>,
    /// The day the activity log starts.
    pub activity_since: Option<Date>,
    /// The directory, when given.
    pub directory: Option<&'a Directory>,
    /// The first day of the period (the previous pack, or the history's
    /// first commit), when known.
    pub period_from: Option<Date>,
}

/// Whether a user's membership comes from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The config gives it.
    Config,
    /// The user is in the config; this membership is not.
    NotInConfig,
    /// The user is not in the config.
    Unmanaged,
    /// The user or the role is in `ignore:`: managed elsewhere.
    Ignored,
    /// The user is in `protect:`: never changed by rolecall, on purpose.
    Protected,
}

impl Source {
    /// As written: `not-in-config`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::NotInConfig => "not-in-config",
            Source::Unmanaged => "unmanaged",
            Source::Ignored => "ignored",
            Source::Protected => "protected",
        }
    }
}

/// One row of the population: a user and one role they hold (Everyone only
/// for a user in no other role). A user's text is shared by their rows, a
/// role's by its members' (a site of 50,000 users has 100,000 rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The user's id on the site.
    pub user_id: Arc<str>,
    /// The email, as the site has it.
    pub email: Arc<str>,
    /// First and last name.
    pub name: Arc<str>,
    /// The role, as the site spells it.
    pub role: Arc<str>,
    /// Admin, or a `privileged:` role.
    pub privileged: bool,
    /// Where the membership comes from.
    pub source: Source,
    /// The config's `until`.
    pub ends: Option<Date>,
    /// Who reviews the role's members.
    pub owners: Arc<[String]>,
    /// `active`, `inactive`, `pending`, `missing`, or empty without a
    /// directory.
    pub directory: Arc<str>,
    /// The last activity: a day, `none since DAY`, or empty without a log.
    pub last_seen: Arc<str>,
}

/// What kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// Inactive in the directory, still on the site.
    Leaver,
    /// Not in the directory at all.
    NotInDirectory,
    /// The config's `until` passed; the site still grants it.
    ExpiredStillGranted,
    /// A membership no version of the config gave.
    SiteOnly,
    /// Seen only in a snapshot of the period.
    Transient,
    /// A user the config does not list.
    UnmanagedUser,
    /// No activity within `dormant_after`.
    Dormant,
    /// `until` within `expiring_within`.
    Expiring,
    /// Fewer Admin members than `min_admins`.
    FewAdmins,
    /// A role no `owners:` glob matches.
    NoOwner,
    /// A grant no member used within `dormant_after`.
    UnusedGrant,
}

impl FindingKind {
    /// Every kind, in report order.
    pub const ALL: [FindingKind; 11] = [
        FindingKind::Leaver,
        FindingKind::NotInDirectory,
        FindingKind::ExpiredStillGranted,
        FindingKind::SiteOnly,
        FindingKind::Transient,
        FindingKind::UnmanagedUser,
        FindingKind::Dormant,
        FindingKind::Expiring,
        FindingKind::FewAdmins,
        FindingKind::NoOwner,
        FindingKind::UnusedGrant,
    ];

    /// As written: `site-only`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Leaver => "leaver",
            FindingKind::NotInDirectory => "not-in-directory",
            FindingKind::ExpiredStillGranted => "expired-still-granted",
            FindingKind::SiteOnly => "site-only",
            FindingKind::Transient => "transient",
            FindingKind::UnmanagedUser => "unmanaged-user",
            FindingKind::Dormant => "dormant",
            FindingKind::Expiring => "expiring",
            FindingKind::FewAdmins => "few-admins",
            FindingKind::NoOwner => "no-owner",
            FindingKind::UnusedGrant => "unused-grant",
        }
    }
}

/// One finding, worded as what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How severe.
    pub severity: Severity,
    /// What kind.
    pub kind: FindingKind,
    /// The user it is about.
    pub user: String,
    /// The role it is about.
    pub role: String,
    /// The dashboard it is about (its id).
    pub dashboard: String,
    /// What happened.
    pub text: String,
}

/// Counts by severity, worst first.
pub fn by_severity(findings: &[Finding]) -> BTreeMap<Severity, usize> {
    let mut out = BTreeMap::new();
    for f in findings {
        *out.entry(f.severity).or_insert(0) += 1;
    }
    out
}

impl Inputs<'_> {
    /// Whether the config in force, or a version of it in the period, gave
    /// the membership (user and role lower-cased).
    pub fn gave(&self, user: &str, role: &str) -> bool {
        (self.desired.users.get(user)).is_some_and(|u| u.roles.contains_key(role))
            || self
                .history
                .is_some_and(|h| h.given.contains(&(user.to_string(), role.to_string())))
    }
}

/// The (user, role) pairs, lower-cased, that the config gives now
/// (memberships past their `until` included: they are the config's too).
pub fn configured(desired: &Desired) -> BTreeSet<(String, String)> {
    desired
        .users
        .iter()
        .flat_map(|(u, user)| user.roles.keys().map(move |r| (u.clone(), r.clone())))
        .collect()
}
