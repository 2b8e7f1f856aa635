//! How much a difference matters, and what happened, in the words a
//! reviewer reads first. A plan says what rolecall will do; drift says what
//! someone did: `jane@acme.com` was given Admin on the site.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Action, Change, Label, Risk, RoleChange, Step, UserChange};
use crate::config::vocab::{ADMIN, EVERYONE, key};
use crate::text::code_text;

/// Ordered most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Admin gained outside the config, a change made on the site that
    /// exposes Everyone, an Admin member nobody manages.
    Critical,
    /// Deletes, wide grants, Admin given or taken by the config.
    High,
    /// Memberships, privileges and grants given or taken.
    Normal,
    /// Descriptions and names only.
    Low,
}

impl Severity {
    /// As written: `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Normal => "normal",
            Severity::Low => "low",
        }
    }
}

/// Whether the difference may have been made on the site: labelled so, or
/// not known to be only pending in the config (no baseline).
fn site_made(labels: &[Label]) -> bool {
    labels.contains(&Label::ChangedOnSite) || !labels.contains(&Label::PendingInConfig)
}

/// Role names of a user state, case folded.
fn roles_of(state: &super::UserState) -> BTreeSet<String> {
    state.roles.iter().map(|r| key(&r.name)).collect()
}

/// The severity of a change, with its drift labels.
pub fn severity(step: &Step, labels: &[Label]) -> Severity {
    let admin = key(ADMIN);
    match &step.change {
        // The site has Admin where the config does not give it.
        Change::User(UserChange::Update(e) | UserChange::Strip(e))
            if roles_of(&e.before).contains(&admin)
                && !roles_of(&e.after).contains(&admin)
                && site_made(labels) =>
        {
            return Severity::Critical;
        }
        Change::User(UserChange::Delete(r))
            if roles_of(&r.before).contains(&admin) && site_made(labels) =>
        {
            return Severity::Critical;
        }
        // Everyone gives more on the site than the config says.
        Change::Role(RoleChange::Update(e) | RoleChange::Rename(e))
            if key(&e.before.name) == key(EVERYONE)
                && super::revoked_in_role(&e.before, &e.after) > 0
                && site_made(labels) =>
        {
            return Severity::Critical;
        }
        _ => {}
    }
    let high = [
        Risk::DeleteUser,
        Risk::DeleteRole,
        Risk::StripUser,
        Risk::WideGrant,
        Risk::EveryoneExposure,
        Risk::AdminGrant,
        Risk::AdminRole,
        Risk::UnmanagedAdmin,
        Risk::UnmanagedRights,
    ];
    if step.risks.iter().any(|r| high.contains(r)) || step.action() == Action::Delete {
        return Severity::High;
    }
    if only_names(&step.change) {
        return Severity::Low;
    }
    Severity::Normal
}

/// A change of descriptions or names only: no right moves.
fn only_names(change: &Change) -> bool {
    match change {
        Change::Role(RoleChange::Update(e) | RoleChange::Rename(e)) => {
            e.before.privileges == e.after.privileges
                && e.before.grants.keys().eq(e.after.grants.keys())
                && e.before
                    .grants
                    .values()
                    .zip(e.after.grants.values())
                    .all(|(b, a)| b.actions == a.actions)
        }
        Change::User(UserChange::Update(e)) => e.before.roles == e.after.roles,
        Change::Role(RoleChange::Create(_) | RoleChange::Delete(_))
        | Change::User(UserChange::Create(_) | UserChange::Strip(_) | UserChange::Delete(_)) => {
            false
        }
    }
}

/// Names as code spans (a markdown report keeps them inert: no link, no
/// mention, no emphasis), comma-separated.
fn list(names: &BTreeSet<&str>) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", code_text(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the site shows that the config does not, as something someone did
/// on the site (the plan's change read backwards).
fn site_story(step: &Step) -> String {
    let who = |name: &str| format!("`{}`", code_text(name));
    match &step.change {
        Change::User(UserChange::Update(e) | UserChange::Strip(e)) => {
            let before = e.before.role_names();
            let after = e.after.role_names();
            let given: BTreeSet<&str> = before.difference(&after).copied().collect();
            let lost: BTreeSet<&str> = after.difference(&before).copied().collect();
            let mut parts = Vec::new();
            if !given.is_empty() {
                parts.push(format!("was given {}", list(&given)));
            }
            if !lost.is_empty() {
                parts.push(format!("lost {}", list(&lost)));
            }
            if e.before.first_name != e.after.first_name || e.before.last_name != e.after.last_name
            {
                parts.push("was renamed".to_string());
            }
            format!(
                "{} {} on the site",
                who(&e.after.email),
                parts.join(" and ")
            )
        }
        Change::User(UserChange::Create(after)) => {
            format!(
                "{} is not on the site (deleted there, or never created)",
                who(&after.email)
            )
        }
        Change::User(UserChange::Delete(r)) => {
            format!("{} was added on the site", who(&r.before.email))
        }
        Change::Role(RoleChange::Create(after)) => {
            format!(
                "role {} is not on the site (deleted there, or never created)",
                who(&after.name)
            )
        }
        Change::Role(RoleChange::Delete(r)) => {
            format!("role {} was created on the site", who(&r.before.name))
        }
        Change::Role(RoleChange::Rename(e)) => format!(
            "role {} is named {} on the site",
            who(&e.after.name),
            who(&e.before.name)
        ),
        Change::Role(RoleChange::Update(e)) => {
            format!("role {} was changed on the site", who(&e.after.name))
        }
    }
}

/// What the config asks for that the site does not have yet.
fn config_story(step: &Step) -> String {
    let who = |name: &str| format!("`{}`", code_text(name));
    match &step.change {
        Change::User(UserChange::Update(e) | UserChange::Strip(e)) => {
            let before = e.before.role_names();
            let after = e.after.role_names();
            let gets: BTreeSet<&str> = after.difference(&before).copied().collect();
            let loses: BTreeSet<&str> = before.difference(&after).copied().collect();
            let mut parts = Vec::new();
            if !gets.is_empty() {
                parts.push(format!("gets {}", list(&gets)));
            }
            if !loses.is_empty() {
                parts.push(format!("loses {}", list(&loses)));
            }
            if parts.is_empty() {
                parts.push("gets another name".to_string());
            }
            format!("{} {}", who(&e.after.email), parts.join(" and "))
        }
        Change::User(UserChange::Create(after)) => format!("{} is new", who(&after.email)),
        Change::User(UserChange::Delete(r)) => format!("{} goes", who(&r.before.email)),
        Change::Role(RoleChange::Create(after)) => format!("role {} is new", who(&after.name)),
        Change::Role(RoleChange::Delete(r)) => format!("role {} goes", who(&r.before.name)),
        Change::Role(RoleChange::Rename(e)) => format!(
            "role {} is renamed {}",
            who(&e.before.name),
            who(&e.after.name)
        ),
        Change::Role(RoleChange::Update(e)) => format!("role {} changes", who(&e.after.name)),
    }
}

/// What the site shows that the config does not, told with no claim of who
/// moved (no baseline, or both moved).
fn neutral_story(step: &Step) -> String {
    let who = |name: &str| format!("`{}`", code_text(name));
    match &step.change {
        Change::User(UserChange::Update(e) | UserChange::Strip(e)) => {
            let site = e.before.role_names();
            let config = e.after.role_names();
            let only_site: BTreeSet<&str> = site.difference(&config).copied().collect();
            let only_config: BTreeSet<&str> = config.difference(&site).copied().collect();
            let mut parts = Vec::new();
            if !only_site.is_empty() {
                parts.push(format!(
                    "has {} on the site, not in the config",
                    list(&only_site)
                ));
            }
            if !only_config.is_empty() {
                parts.push(format!(
                    "has {} in the config, not on the site",
                    list(&only_config)
                ));
            }
            if parts.is_empty() {
                parts.push("has another name on the site".to_string());
            }
            format!("{} {}", who(&e.after.email), parts.join(", and "))
        }
        Change::User(UserChange::Create(after)) => {
            format!("{} is in the config, not on the site", who(&after.email))
        }
        Change::User(UserChange::Delete(r)) => {
            format!("{} is on the site, not in the config", who(&r.before.email))
        }
        Change::Role(RoleChange::Create(after)) => {
            format!(
                "role {} is in the config, not on the site",
                who(&after.name)
            )
        }
        Change::Role(RoleChange::Delete(r)) => {
            format!(
                "role {} is on the site, not in the config",
                who(&r.before.name)
            )
        }
        Change::Role(RoleChange::Rename(e)) => format!(
            "role {} of the config is named {} on the site",
            who(&e.after.name),
            who(&e.before.name)
        ),
        Change::Role(RoleChange::Update(e)) => format!(
            "role {} differs between the site and the config",
            who(&e.after.name)
        ),
    }
}

/// What a difference is, in words, by where it comes from.
pub fn story(step: &Step, labels: &[Label]) -> String {
    let site = labels.contains(&Label::ChangedOnSite);
    let config = labels.contains(&Label::PendingInConfig);
    match (site, config) {
        (true, true) => format!(
            "{} (changed on the site and in the config)",
            neutral_story(step)
        ),
        (false, true) => format!("pending in the config: {}", config_story(step)),
        (true, false) => site_story(step),
        // No baseline: who moved is not known.
        (false, false) => neutral_story(step),
    }
}

/// Changes in the order of a report: most severe first, then the plan's.
pub fn order(steps: &[Step], labels: impl Fn(usize) -> Vec<Label>) -> Vec<(usize, Severity)> {
    let mut order: Vec<(usize, Severity)> = (0..steps.len())
        .map(|i| (i, severity(&steps[i], &labels(i))))
        .collect();
    order.sort_by_key(|(i, s)| (*s, *i));
    order
}
