//! Whether a saved plan still fits the site: every object it touches must be
//! as it was when the plan was made.

use std::collections::HashMap;
use std::fmt;

use rolecall_core::live::{Live, LiveRole, LiveUser, digest};
use rolecall_core::plan::{Kind, Plan, digest_key};
use rolecall_core::vocab::key;

/// An object a saved plan touches that is not as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// Deleted since.
    Gone { kind: Kind, key: String },
    /// Changed since.
    Changed { kind: Kind, key: String },
    /// The plan creates it, and it exists now.
    Created { kind: Kind, key: String },
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stale::Gone { kind, key } => write!(f, "{kind} {key:?} is no longer on the site"),
            Stale::Changed { kind, key } => {
                write!(f, "{kind} {key:?} changed since the plan was made")
            }
            Stale::Created { kind, key } => write!(
                f,
                "{kind} {key:?} was created on the site since the plan was made"
            ),
        }
    }
}

/// The objects `plan` touches that changed since it was made.
pub fn stale(plan: &Plan, live: &Live) -> Vec<Stale> {
    let users: HashMap<&str, &LiveUser> = live.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let roles: HashMap<&str, &LiveRole> = live.roles.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut out = Vec::new();
    for step in &plan.changes {
        let (kind, name) = (step.kind(), step.key().to_string());
        let Some(id) = step.change.id() else {
            let exists = match kind {
                Kind::User => live.users.iter().any(|u| key(&u.email) == key(&name)),
                Kind::Role => live.roles.iter().any(|r| key(&r.name) == key(&name)),
            };
            if exists {
                out.push(Stale::Created { kind, key: name });
            }
            continue;
        };
        let now = match kind {
            Kind::User => users.get(id).map(digest),
            Kind::Role => roles.get(id).map(digest),
        };
        match now {
            None => out.push(Stale::Gone { kind, key: name }),
            Some(now) if plan.digests.get(&digest_key(kind, id)) != Some(&now) => {
                out.push(Stale::Changed { kind, key: name });
            }
            Some(_) => {}
        }
    }
    out
}
