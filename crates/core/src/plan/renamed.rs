//! A role renamed on the site: the config still names it as it was, the
//! site holds it under another name. A plan alone shows a role to create
//! and a membership change per member; this finds the pair by the role's
//! id on the site (the role its members hold), so that drift tells it as
//! what it is and `--write-config` accepts it whole or not at all.

use std::collections::BTreeSet;

use super::{Change, Label, Plan, Review, RoleChange, UserChange};
use crate::Desired;
use crate::config::vocab::{is_builtin_role, key};
use crate::live::Live;

/// A role the config names `from` that the site holds as `to` (id `id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRename {
    /// The change that creates `from` (by its index in the plan).
    pub create: usize,
    /// The name the config gives it.
    pub from: String,
    /// Its name on the site.
    pub to: String,
    /// Its id on the site.
    pub id: String,
    /// The changes that move its members from `to` to `from`.
    pub members: Vec<usize>,
}

impl std::fmt::Display for SiteRename {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clean = crate::text::code_text;
        write!(
            f,
            "role `{}` was renamed on the site to `{}`",
            clean(&self.from),
            clean(&self.to)
        )
    }
}

/// The roles of the config renamed on the site: a role the plan creates
/// (changed on the site, by the baseline's labels) and one live role the
/// config does not list whose rights, description and members (those the
/// config lists) are exactly the config's for it.
pub fn renamed_on_site(
    plan: &Plan,
    review: &Review,
    desired: &Desired,
    live: &Live,
) -> Vec<SiteRename> {
    renamed_roles(plan, desired, live, Members::MayBeNone)
        .into_iter()
        .filter(|r| {
            let labels = review.labels_of(plan, r.create);
            labels.contains(&Label::ChangedOnSite) && !labels.contains(&Label::PendingInConfig)
        })
        .collect()
}

/// How sure a match must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    /// The config gives the role members, the live role has exactly them:
    /// sure enough to block a create made from the config as it is.
    Listed,
    /// None may be listed (the site is known to have moved: a baseline
    /// says the change was made there).
    MayBeNone,
}

/// Every role the plan would create that the site holds under another
/// name, whoever moved: creating it again would split its members from
/// what the live role holds (rights rolecall does not manage among them).
pub fn renamed_roles(
    plan: &Plan,
    desired: &Desired,
    live: &Live,
    sure: Members,
) -> Vec<SiteRename> {
    let mut out = Vec::new();
    for (i, step) in plan.changes.iter().enumerate() {
        let Change::Role(RoleChange::Create(wanted)) = &step.change else {
            continue;
        };
        let members: BTreeSet<String> = (desired.users.values())
            .filter(|u| u.roles.contains_key(&key(&wanted.name)))
            .map(|u| key(&u.email))
            .collect();
        if members.is_empty() && sure == Members::Listed {
            continue;
        }
        let candidates: Vec<_> = (live.roles.iter())
            .filter(|r| {
                !desired.roles.contains_key(&key(&r.name))
                    && !is_builtin_role(&r.name)
                    && !desired.ignore.roles.is_match(&r.name)
                    && r.description == wanted.description
                    && r.same_rights(wanted)
            })
            .filter(|r| {
                // Its members the config lists (others are left alone).
                let on_site: BTreeSet<String> = (live.users.iter())
                    .filter(|u| u.roles.contains(&r.id))
                    .map(|u| key(&u.email))
                    .filter(|e| desired.users.contains_key(e))
                    .collect();
                on_site == members
            })
            .collect();
        let [role] = candidates.as_slice() else {
            continue;
        };
        let moves = (plan.changes.iter().enumerate())
            .filter(|(_, s)| match &s.change {
                Change::User(UserChange::Update(e)) => {
                    e.before
                        .roles
                        .iter()
                        .any(|r| r.id.as_deref() == Some(&role.id))
                        && e.after
                            .roles
                            .iter()
                            .any(|r| key(&r.name) == key(&wanted.name))
                }
                _ => false,
            })
            .map(|(j, _)| j)
            .collect();
        out.push(SiteRename {
            create: i,
            from: wanted.name.clone(),
            to: role.name.clone(),
            id: role.id.clone(),
            members: moves,
        });
    }
    out
}
