//! The population (who holds which role, from where) and the findings:
//! each rule of the review, worded as what happened.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::inputs::Status;
use std::sync::Arc;

use super::model::{Finding, FindingKind, Inputs, Member, Source, memberships};
use crate::config::date::Date;
use crate::config::vocab::{ADMIN, EVERYONE, key};
use crate::kinds::ObjectKind;
use crate::live::{LiveRole, LiveUser};
use crate::plan::severity::Severity;

fn is_everyone(name: &str) -> bool {
    key(name) == key(EVERYONE)
}

fn is_admin(name: &str) -> bool {
    key(name) == key(ADMIN)
}

impl Inputs<'_> {
    fn is_service(&self, email: &str) -> bool {
        self.settings.service_accounts.is_match(email)
    }

    /// `active`, `inactive`, `pending`, `missing`, or empty without a
    /// directory.
    fn directory_word(&self, email: &str) -> String {
        match self.directory {
            None => String::new(),
            Some(d) => match d.people.get(&key(email)) {
                Some(p) => p.status.as_str().to_string(),
                None if self.is_service(email) => "service-account".into(),
                None => "missing".into(),
            },
        }
    }

    /// The last activity, as the population shows it.
    fn last_seen_word(&self, email: &str) -> String {
        let Some(a) = self.activity else {
            return String::new();
        };
        match (a.last_seen.get(&key(email)), self.activity_since) {
            (Some(d), _) => d.to_string(),
            (None, Some(since)) => format!("none since {since}"),
            (None, None) => "none in the log".into(),
        }
    }

    fn source(&self, user: &LiveUser, role: &str) -> Source {
        let d = self.desired;
        if d.ignore.users.is_match(&user.email) || d.ignore.roles.is_match(role) {
            return Source::Ignored;
        }
        if d.protect.users.is_match(&user.email) {
            return Source::Protected;
        }
        match d.users.get(&key(&user.email)) {
            None => Source::Unmanaged,
            Some(u) if is_everyone(role) || u.roles.contains_key(&key(role)) => Source::Config,
            Some(_) => Source::NotInConfig,
        }
    }

    fn ends(&self, email: &str, role: &str) -> Option<Date> {
        (self.desired.users.get(&key(email)))
            .and_then(|u| u.roles.get(&key(role)))
            .and_then(|m| m.until)
    }
}

/// Every user of the site, once per role they hold; a user in no role but
/// Everyone, once with Everyone. Sorted by email, then role.
pub fn population(inputs: &Inputs<'_>) -> Vec<Member> {
    let mut users: Vec<&LiveUser> = inputs.live.users.iter().collect();
    users.sort_by(|a, b| (key(&a.email), &a.id).cmp(&(key(&b.email), &b.id)));
    // Each role's name and owners, once.
    let mut roles: HashMap<&str, (Arc<str>, Arc<[String]>)> = HashMap::new();
    for r in &inputs.live.roles {
        roles.insert(
            r.id.as_str(),
            (
                Arc::from(r.name.as_str()),
                Arc::from(inputs.settings.owners.of(&r.name)),
            ),
        );
    }
    let everyone: (Arc<str>, Arc<[String]>) = (
        Arc::from(EVERYONE),
        Arc::from(inputs.settings.owners.of(EVERYONE)),
    );
    let mut out = Vec::with_capacity(users.len() * 2);
    for user in users {
        let mut held: Vec<&(Arc<str>, Arc<[String]>)> = (user.roles.iter())
            .filter_map(|id| roles.get(id.as_str()))
            .filter(|(n, _)| !is_everyone(n))
            .collect();
        held.sort_by_key(|(n, _)| key(n));
        if held.is_empty() {
            held.push(&everyone);
        }
        let name: Arc<str> = Arc::from(format!("{} {}", user.first_name, user.last_name).trim());
        let email: Arc<str> = Arc::from(user.email.as_str());
        let user_id: Arc<str> = Arc::from(user.id.as_str());
        let directory: Arc<str> = Arc::from(inputs.directory_word(&user.email));
        let last_seen: Arc<str> = Arc::from(inputs.last_seen_word(&user.email));
        for (role, owners) in held {
            out.push(Member {
                user_id: user_id.clone(),
                email: email.clone(),
                name: name.clone(),
                role: role.clone(),
                privileged: inputs.settings.is_privileged(role),
                source: inputs.source(user, role),
                ends: inputs.ends(&user.email, role),
                owners: owners.clone(),
                directory: directory.clone(),
                last_seen: last_seen.clone(),
            });
        }
    }
    out
}

/// Findings of the review, most severe first, then by kind, user, role.
pub fn findings(inputs: &Inputs<'_>, population: &[Member]) -> Vec<Finding> {
    let mut out = Vec::new();
    // The population is sorted by email: a user's rows are together.
    for members in population.chunk_by(|a, b| Arc::ptr_eq(&a.email, &b.email)) {
        let members: Vec<&Member> = members.iter().collect();
        user_findings(inputs, &members, &mut out);
    }
    membership_findings(inputs, population, &mut out);
    site_findings(inputs, &mut out);
    out.sort_by(|a, b| {
        (a.severity, a.kind, key(&a.user), key(&a.role), &a.dashboard).cmp(&(
            b.severity,
            b.kind,
            key(&b.user),
            key(&b.role),
            &b.dashboard,
        ))
    });
    out
}

fn finding(severity: Severity, kind: FindingKind, user: &str, role: &str, text: String) -> Finding {
    Finding {
        severity,
        kind,
        user: user.to_string(),
        role: role.to_string(),
        dashboard: String::new(),
        text,
    }
}

/// `Admin, Finance` or `an account (no role but Everyone)`.
fn holding(members: &[&Member]) -> String {
    let roles: Vec<&str> = (members.iter())
        .map(|m| &*m.role)
        .filter(|r| !is_everyone(r))
        .collect();
    if roles.is_empty() {
        "an account on the site (no role but Everyone)".into()
    } else {
        format!("{} on the site", roles.join(", "))
    }
}

/// The worst of a user's roles: critical with Admin, high with a
/// privileged role, else `otherwise`.
fn by_privilege(members: &[&Member], otherwise: Severity) -> Severity {
    if members.iter().any(|m| is_admin(&m.role)) {
        Severity::Critical
    } else if members.iter().any(|m| m.privileged) {
        Severity::High
    } else {
        otherwise
    }
}

/// Leaver, not in the directory, unmanaged, dormant: one per user.
fn user_findings(inputs: &Inputs<'_>, members: &[&Member], out: &mut Vec<Finding>) {
    let first = members[0];
    let email: &str = &first.email;
    let service = inputs.is_service(email);
    if let Some(dir) = inputs.directory {
        match dir.people.get(&key(email)) {
            Some(p) if p.status == Status::Inactive => {
                let left = p.left_on.map_or(String::new(), |d| format!(" (left {d})"));
                let severity = if members.iter().any(|m| m.privileged) {
                    Severity::Critical
                } else {
                    Severity::High
                };
                out.push(finding(
                    severity,
                    FindingKind::Leaver,
                    email,
                    "",
                    format!(
                        "`{email}` is inactive in the directory{left} and still holds {}",
                        holding(members)
                    ),
                ));
            }
            None if !service => out.push(finding(
                by_privilege(members, Severity::Normal),
                FindingKind::NotInDirectory,
                email,
                "",
                format!(
                    "`{email}` is not in the directory and holds {}",
                    holding(members)
                ),
            )),
            _ => {}
        }
    }
    if first.source == Source::Unmanaged {
        out.push(finding(
            by_privilege(members, Severity::Normal),
            FindingKind::UnmanagedUser,
            email,
            "",
            format!(
                "`{email}` is not in the config and holds {}",
                holding(members)
            ),
        ));
    }
    if let Some(a) = inputs.activity
        && !service
    {
        let limit = inputs
            .today
            .plus_days(-i64::from(inputs.settings.dormant_after));
        let text = match (a.last_seen.get(&key(email)), inputs.activity_since) {
            (Some(d), _) if *d >= limit => None,
            (Some(d), _) => Some(format!(
                "`{email}` was last active on {d} ({} days before {}) and holds {}",
                d.days_to(inputs.today),
                inputs.today,
                holding(members)
            )),
            // A log that starts after the dormancy limit cannot tell.
            (None, Some(since)) if since > limit => None,
            (None, Some(since)) => Some(format!(
                "`{email}` has no activity since {since} and holds {}",
                holding(members)
            )),
            (None, None) => Some(format!(
                "`{email}` has no activity in the log and holds {}",
                holding(members)
            )),
        };
        if let Some(text) = text {
            out.push(finding(
                if members.iter().any(|m| m.privileged) {
                    Severity::High
                } else {
                    Severity::Normal
                },
                FindingKind::Dormant,
                email,
                "",
                text,
            ));
        }
    }
}

/// Expired still granted, site-only, transient, expiring.
fn membership_findings(inputs: &Inputs<'_>, population: &[Member], out: &mut Vec<Finding>) {
    let today = inputs.today;
    for m in population.iter().filter(|m| !is_everyone(&m.role)) {
        let severity = if is_admin(&m.role) {
            Severity::Critical
        } else if m.privileged {
            Severity::High
        } else {
            Severity::Normal
        };
        if let Some(until) = m.ends {
            if until < today {
                out.push(finding(
                    Severity::Critical,
                    FindingKind::ExpiredStillGranted,
                    &m.email,
                    &m.role,
                    format!(
                        "`{}`'s membership of `{}` ended on {until} in the config, and the site still grants it",
                        m.email, m.role
                    ),
                ));
            } else if today.days_to(until) <= i64::from(inputs.settings.expiring_within) {
                out.push(finding(
                    Severity::Low,
                    FindingKind::Expiring,
                    &m.email,
                    &m.role,
                    format!(
                        "`{}`'s membership of `{}` ends on {until} ({} days after {today})",
                        m.email,
                        m.role,
                        today.days_to(until)
                    ),
                ));
            }
        }
        if m.source == Source::NotInConfig && !inputs.gave(&key(&m.email), &key(&m.role)) {
            let versions = if inputs.history.is_some() {
                "no version of the config in the period gave it"
            } else {
                "the config does not give it"
            };
            out.push(finding(
                severity,
                FindingKind::SiteOnly,
                &m.email,
                &m.role,
                format!(
                    "`{}` holds `{}` on the site, and {versions}",
                    m.email, m.role
                ),
            ));
        }
    }
    if let Some(seen) = inputs.seen {
        let on_site = memberships(inputs.live);
        let mut transient: Vec<_> = (seen.memberships.iter())
            .filter(|(k, _)| !on_site.contains_key(*k) && !inputs.gave(&k.0, &k.1))
            .map(|(_, s)| s)
            .collect();
        transient.sort_by_key(|s| (key(&s.email), key(&s.role)));
        for s in transient {
            let severity = if is_admin(&s.role) {
                Severity::Critical
            } else if inputs.settings.is_privileged(&s.role) {
                Severity::High
            } else {
                Severity::Normal
            };
            let when = if s.first == s.last {
                format!("on {}", s.first)
            } else {
                format!("from {} to {}", s.first, s.last)
            };
            out.push(finding(
                severity,
                FindingKind::Transient,
                &s.email,
                &s.role,
                format!(
                    "`{}` held `{}` on the site {when} (nightly snapshots), and no version of the config gave it",
                    s.email, s.role
                ),
            ));
        }
    }
}

/// Few admins, roles with no owner, grants nobody used.
fn site_findings(inputs: &Inputs<'_>, out: &mut Vec<Finding>) {
    let live = inputs.live;
    let admin = live.roles.iter().find(|r| is_admin(&r.name));
    let admins = admin.map_or(0, |a| {
        live.users
            .iter()
            .filter(|u| u.roles.contains(&a.id))
            .count()
    });
    if admins < inputs.settings.min_admins {
        out.push(finding(
            Severity::High,
            FindingKind::FewAdmins,
            "",
            ADMIN,
            format!(
                "the site has {} (review.min_admins is {})",
                crate::plural(admins, "Admin member"),
                inputs.settings.min_admins
            ),
        ));
    }
    let mut roles: Vec<&LiveRole> = live.roles.iter().collect();
    roles.sort_by_key(|r| key(&r.name));
    for role in &roles {
        if inputs.settings.owners.of(&role.name).is_empty() {
            out.push(finding(
                Severity::Low,
                FindingKind::NoOwner,
                "",
                &role.name,
                format!(
                    "no `review.owners` glob matches the role `{}`: nobody reviews its members",
                    role.name
                ),
            ));
        }
    }
    let Some(activity) = inputs.activity.filter(|a| a.per_dashboard) else {
        return;
    };
    let limit = inputs
        .today
        .plus_days(-i64::from(inputs.settings.dormant_after));
    let emails: Vec<String> = live.users.iter().map(|u| key(&u.email)).collect();
    let mut members: HashMap<&str, Vec<&str>> = HashMap::new();
    for (u, email) in live.users.iter().zip(&emails) {
        for r in &u.roles {
            members.entry(r.as_str()).or_default().push(email);
        }
    }
    let names: BTreeMap<&str, &str> = (live.objects_of(ObjectKind::Dashboard))
        .map(|d| (d.id.as_str(), d.name.as_str()))
        .collect();
    for role in roles
        .iter()
        .filter(|r| !is_admin(&r.name) && !is_everyone(&r.name))
    {
        let ids: BTreeSet<&str> = (role.grants.keys())
            .filter(|o| o.kind == ObjectKind::Dashboard)
            .map(|o| o.id.as_str())
            .collect();
        let emails = members.get(role.id.as_str()).map_or(&[][..], Vec::as_slice);
        for id in ids {
            let used = emails.iter().any(|e| {
                (activity.dashboards.get(*e))
                    .and_then(|d| d.get(id))
                    .is_some_and(|d| *d >= limit)
            });
            if used {
                continue;
            }
            let name = names.get(id).copied().unwrap_or("");
            let mut f = finding(
                Severity::Low,
                FindingKind::UnusedGrant,
                "",
                &role.name,
                format!(
                    "`{}` grants the dashboard `{name}` (#{id}), and none of its {} opened it since {limit}",
                    role.name,
                    crate::plural(emails.len(), "member")
                ),
            );
            f.dashboard = id.to_string();
            out.push(f);
        }
    }
}
