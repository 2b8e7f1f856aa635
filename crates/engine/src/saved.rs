//! A saved plan is carried out only if planning again, now, gives the same
//! plan: the same changes, the same digests. Whatever a file says, what runs
//! is what the config and the site give.

use std::collections::BTreeMap;
use std::fmt;

use rolecall_core::live::Live;
use rolecall_core::plan::{Kind, Plan, Step};
use rolecall_core::vocab::key;

use crate::stale::{Stale, stale};

/// How a saved plan and a fresh plan of the same config differ, one line
/// per change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// In the file, not in a fresh plan.
    OnlyInFile(String),
    /// In a fresh plan, not in the file.
    MissingFromFile(String),
    /// In both, not the same (ids, states, risks, blocks).
    Differs(String),
    /// The same changes, other digests.
    Digests,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::OnlyInFile(c) => write!(f, "in the file, not in a plan made now: {c}"),
            Difference::MissingFromFile(c) => {
                write!(f, "in a plan made now, not in the file: {c}")
            }
            Difference::Differs(c) => {
                write!(f, "not the same in the file as in a plan made now: {c}")
            }
            Difference::Digests => {
                f.write_str("the digests of the objects it touches are not the site's")
            }
        }
    }
}

/// Why a saved plan is not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The site changed since the plan was made: plan again.
    SiteChanged {
        /// The objects the plan touches that changed, if any.
        stale: Vec<Stale>,
        differences: Vec<Difference>,
    },
    /// The site is as it was and the config is the same, yet the file holds
    /// another plan: it was edited.
    Edited { differences: Vec<Difference> },
}

/// Compares a saved plan with a plan made now from the same config
/// (`fresh`, its safety rules checked against `live`).
pub fn compare(saved: &Plan, fresh: &Plan, live: &Live) -> Result<(), Refusal> {
    if saved.changes == fresh.changes && saved.digests == fresh.digests {
        return Ok(());
    }
    let differences = differences(saved, fresh);
    let site_changed = saved
        .made_from
        .as_ref()
        .is_none_or(|m| m.site_digest != live.digest());
    if site_changed {
        Err(Refusal::SiteChanged {
            stale: stale(saved, live),
            differences,
        })
    } else {
        Err(Refusal::Edited { differences })
    }
}

fn differences(saved: &Plan, fresh: &Plan) -> Vec<Difference> {
    let index = |plan: &Plan| -> BTreeMap<(Kind, String), Vec<Step>> {
        let mut map: BTreeMap<(Kind, String), Vec<Step>> = BTreeMap::new();
        for step in &plan.changes {
            map.entry((step.kind(), key(step.key())))
                .or_default()
                .push(step.clone());
        }
        map
    };
    let (old, new) = (index(saved), index(fresh));
    let mut out = Vec::new();
    for (k, steps) in &old {
        let describe = steps[0].describe();
        match new.get(k) {
            None => out.push(Difference::OnlyInFile(describe)),
            Some(now) if now != steps => out.push(Difference::Differs(describe)),
            Some(_) => {}
        }
    }
    for (k, steps) in &new {
        if !old.contains_key(k) {
            out.push(Difference::MissingFromFile(steps[0].describe()));
        }
    }
    if out.is_empty() && saved.digests != fresh.digests {
        out.push(Difference::Digests);
    }
    out
}
