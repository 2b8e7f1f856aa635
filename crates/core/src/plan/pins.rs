//! Which dashboard a name of the config means: through the lock's pin
//! while the pinned dashboard exists, else the one dashboard of that name.
//! One rule for the diff (which grants where) and for the lock (which pins
//! to write).

use std::collections::{BTreeMap, HashMap};

use crate::config::lock::Lock;
use crate::config::model::{Desired, NameOrId};
use crate::kinds::ObjectKind;
use crate::live::Live;

/// What a name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The lock's pin, which exists: with its name now, and the other
    /// dashboards that have the name.
    Pinned {
        id: String,
        now: String,
        others: Vec<String>,
    },
    /// No pin: the only dashboard of that name.
    Unique(String),
    /// The pinned dashboard is gone; the name's only dashboard now, if any.
    Gone { pinned: String, now: Option<String> },
    /// No pin, several dashboards of that name.
    Ambiguous(Vec<String>),
    /// No pin, no dashboard of that name.
    Missing,
}

/// The site's dashboards by id and by name.
#[derive(Debug)]
pub struct Dashboards<'a> {
    pub by_id: HashMap<&'a str, &'a str>,
    pub by_name: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Dashboards<'a> {
    pub fn new(live: &'a Live) -> Self {
        let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
        for d in live.objects_of(ObjectKind::Dashboard) {
            by_name
                .entry(d.name.as_str())
                .or_default()
                .push(d.id.as_str());
        }
        Self {
            by_id: live
                .objects_of(ObjectKind::Dashboard)
                .map(|d| (d.id.as_str(), d.name.as_str()))
                .collect(),
            by_name,
        }
    }

    /// `name` through `lock`.
    pub fn resolve(&self, name: &str, lock: &Lock) -> Resolution {
        let named = self
            .by_name
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default();
        match lock.pin(name) {
            Some(id) if self.by_id.contains_key(id) => Resolution::Pinned {
                id: id.to_string(),
                now: self.by_id[id].to_string(),
                others: named
                    .iter()
                    .filter(|o| **o != id)
                    .map(|o| o.to_string())
                    .collect(),
            },
            Some(gone) => Resolution::Gone {
                pinned: gone.to_string(),
                now: match named {
                    [id] => Some(id.to_string()),
                    _ => None,
                },
            },
            None => match named {
                [] => Resolution::Missing,
                [id] => Resolution::Unique(id.to_string()),
                ids => Resolution::Ambiguous(ids.iter().map(|i| i.to_string()).collect()),
            },
        }
    }

    /// The name a dashboard reference of the config is resolved by, if it
    /// is one: a name, or `"#1"` when no dashboard has the id `1` but one
    /// is named `#1`.
    pub fn name_of<'r>(
        &self,
        dref: &'r NameOrId,
        lock: &Lock,
    ) -> Option<std::borrow::Cow<'r, str>> {
        match dref {
            NameOrId::Name(name) => Some(name.into()),
            NameOrId::Id(id) if lock.pin(&format!("#{id}")).is_some() => {
                Some(format!("#{id}").into())
            }
            NameOrId::Id(id) if self.by_id.contains_key(id.as_str()) => None,
            NameOrId::Id(id) => {
                let name = format!("#{id}");
                self.by_name
                    .contains_key(name.as_str())
                    .then_some(name.into())
            }
        }
    }
}

/// What changed in a lock made again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    /// The lock as it should be.
    pub lock: Lock,
    /// Names pinned for the first time (or again, their pinned dashboard
    /// gone), with their id.
    pub added: Vec<(String, String)>,
    /// Names the config no longer uses.
    pub removed: Vec<String>,
    /// Names that resolve to nothing the lock can pin (ambiguous, missing,
    /// or a pinned dashboard gone): the plan says why.
    pub unresolved: Vec<String>,
}

/// The lock for `desired` against `live`: every pin whose dashboard exists
/// is kept (a rename or a duplicate on the site moves no grant); a name
/// without one is pinned to the only dashboard of that name; names the
/// config no longer uses are dropped.
pub fn pins(desired: &Desired, live: &Live) -> Pins {
    let dashboards = Dashboards::new(live);
    let mut names: Vec<String> = desired
        .roles
        .values()
        .flat_map(|r| r.grants.keys())
        .filter(|d| d.kind == ObjectKind::Dashboard)
        .filter_map(|d| {
            dashboards
                .name_of(&d.name, &desired.lock)
                .map(|n| n.into_owned())
        })
        .collect();
    names.sort();
    names.dedup();
    let mut out = Pins::default();
    let mut kept = BTreeMap::new();
    for name in &names {
        match dashboards.resolve(name, &desired.lock) {
            Resolution::Pinned { id, .. } => {
                kept.insert(name.clone(), id);
            }
            Resolution::Unique(id) => {
                out.added.push((name.clone(), id.clone()));
                kept.insert(name.clone(), id);
            }
            // Made again on purpose: the pinned dashboard is gone, and the
            // name has one dashboard now.
            Resolution::Gone { now: Some(id), .. } => {
                out.added.push((name.clone(), id.clone()));
                kept.insert(name.clone(), id);
            }
            Resolution::Gone { now: None, .. } | Resolution::Ambiguous(_) | Resolution::Missing => {
                out.unresolved.push(name.clone());
            }
        }
    }
    out.removed = desired
        .lock
        .dashboards
        .keys()
        .filter(|n| names.binary_search(n).is_err())
        .cloned()
        .collect();
    out.lock = Lock::new(desired.site.clone(), kept);
    out
}
