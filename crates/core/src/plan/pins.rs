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
        /// The pinned dashboard.
        id: String,
        /// Its name now.
        now: String,
        /// The other dashboards of the name.
        others: Vec<String>,
    },
    /// No pin: the only dashboard of that name.
    Unique(String),
    /// The pinned dashboard is gone; the name's only dashboard now, if any.
    Gone {
        /// The id the lock pins.
        pinned: String,
        /// The only dashboard of the name now, if any.
        now: Option<String>,
    },
    /// No pin, several dashboards of that name.
    Ambiguous(Vec<String>),
    /// No pin, no dashboard of that name.
    Missing,
}

/// The site's dashboards by id and by name.
#[derive(Debug)]
pub struct Dashboards<'a> {
    /// Dashboard id -> name.
    pub by_id: HashMap<&'a str, &'a str>,
    /// Dashboard name -> ids.
    pub by_name: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Dashboards<'a> {
    /// The dashboards of `live`.
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

/// The dashboard names the config's grants are resolved by (through its
/// lock), unsorted.
fn config_names(desired: &Desired, dashboards: &Dashboards<'_>) -> Vec<String> {
    (desired.roles.values())
        .flat_map(|r| r.grants.keys())
        .filter(|d| d.kind == ObjectKind::Dashboard)
        .filter_map(|d| {
            dashboards
                .name_of(&d.name, &desired.lock)
                .map(|n| n.into_owned())
        })
        .collect()
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
    let mut names = config_names(desired, &dashboards);
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

/// The lock with the names `desired` resolves for the first time pinned
/// (a gone pin is left for `lock --update`), recording the site it was read
/// from; `None` when that changes nothing.
pub fn with_new_pins(desired: &Desired, live: &Live) -> Option<Lock> {
    let pins = pins(desired, live);
    if pins.added.is_empty() {
        return None;
    }
    let mut lock = desired.lock.clone();
    // Always the site it was read from (a first lock has none yet).
    lock.site.clone_from(&desired.site);
    for (name, id) in &pins.added {
        if lock.pin(name).is_none() {
            lock.dashboards.insert(name.clone(), id.clone());
        }
    }
    (lock != desired.lock).then_some(lock)
}

/// Why a name cannot be pinned again (`lock --update --repin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepinError {
    /// The lock has no pin of that name.
    NotPinned(String),
    /// The site has no one dashboard of that name now.
    NotOne(String),
    /// The config no longer names it (a plain `lock --update` drops its pin).
    NotUsed(String),
}

/// `desired` with the pins of `repin` taken out of its lock, so that they
/// resolve by name again; each must then resolve to one dashboard.
pub fn unpin(desired: &Desired, live: &Live, repin: &[String]) -> Result<Desired, RepinError> {
    let mut desired = desired.clone();
    let dashboards = Dashboards::new(live);
    let used = config_names(&desired, &dashboards);
    for name in repin {
        if desired.lock.pin(name).is_some() && !used.contains(name) {
            return Err(RepinError::NotUsed(name.clone()));
        }
        if desired.lock.dashboards.remove(name).is_none() {
            return Err(RepinError::NotPinned(name.clone()));
        }
        if !matches!(
            dashboards.resolve(name, &desired.lock),
            Resolution::Unique(_)
        ) {
            return Err(RepinError::NotOne(name.clone()));
        }
    }
    Ok(desired)
}

/// A pin whose dashboard the site names otherwise now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenamedPin {
    /// The name as the config writes it.
    pub name: String,
    /// The pinned dashboard.
    pub id: String,
    /// Its name on the site now.
    pub now: String,
    /// The one other dashboard that has the name now, if one does (a pin
    /// that `--repin` can make again).
    pub other: Option<String>,
}

/// The pins of `lock` whose dashboard the site names otherwise now: the
/// config should follow, or the pin be made again.
pub fn renamed_pins(lock: &Lock, live: &Live) -> Vec<RenamedPin> {
    let dashboards = Dashboards::new(live);
    (lock.dashboards.keys())
        .filter_map(|name| match dashboards.resolve(name, lock) {
            Resolution::Pinned { id, now, others } if now != *name => Some(RenamedPin {
                name: name.clone(),
                id,
                now,
                other: match others.as_slice() {
                    [other] => Some(other.clone()),
                    _ => None,
                },
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::load_texts;
    use crate::live::LiveObject;

    fn desired(lock: &[(&str, &str)]) -> Desired {
        let yaml = "site: acme\nactor: a@acme.com\nroles:\n  R:\n    dashboards:\n      Revenue: [read_dashboards]\n      Costs: [read_dashboards]\nusers:\n  a@acme.com: {roles: [Admin]}\n";
        let mut d = load_texts(vec![("rolecall.yaml".into(), yaml.into())])
            .unwrap()
            .desired;
        d.lock = Lock::new(
            "acme",
            lock.iter()
                .map(|(n, i)| (n.to_string(), i.to_string()))
                .collect(),
        );
        d
    }

    fn live(dashboards: &[(&str, &str)]) -> Live {
        Live {
            objects: (dashboards.iter())
                .map(|(id, name)| LiveObject::dashboard(*id, *name))
                .collect(),
            ..Live::default()
        }
    }

    #[test]
    fn new_names_are_pinned_and_pins_are_kept() {
        let site = live(&[("1", "Revenue"), ("2", "Costs"), ("3", "Revenue 2")]);
        let lock = with_new_pins(&desired(&[("Revenue", "3")]), &site).unwrap();
        assert_eq!(lock.pin("Revenue"), Some("3"), "a pin that exists is kept");
        assert_eq!(lock.pin("Costs"), Some("2"), "a new name is pinned");
        assert_eq!(lock.site, "acme");
        let all = desired(&[("Revenue", "1"), ("Costs", "2")]);
        assert_eq!(
            with_new_pins(&all, &site),
            None,
            "nothing new: no lock to write"
        );
    }

    #[test]
    fn a_renamed_pin_is_reported_and_can_be_made_again() {
        let site = live(&[("1", "Revenue (old)"), ("2", "Costs"), ("3", "Revenue")]);
        let d = desired(&[("Revenue", "1"), ("Costs", "2")]);
        assert_eq!(
            renamed_pins(&d.lock, &site),
            [RenamedPin {
                name: "Revenue".into(),
                id: "1".into(),
                now: "Revenue (old)".into(),
                other: Some("3".into()),
            }]
        );
        let again = unpin(&d, &site, &["Revenue".into()]).unwrap();
        assert_eq!(again.lock.pin("Revenue"), None);
        assert_eq!(
            unpin(&d, &site, &["Sales".into()]).unwrap_err(),
            RepinError::NotPinned("Sales".into())
        );
        let mut gone = d.clone();
        gone.lock.dashboards.insert("Old".into(), "1".into());
        assert_eq!(
            unpin(&gone, &site, &["Old".into()]).unwrap_err(),
            RepinError::NotUsed("Old".into()),
            "a pin the config no longer uses is not made again"
        );
        let twice = live(&[
            ("1", "Revenue (old)"),
            ("2", "Costs"),
            ("3", "Revenue"),
            ("4", "Revenue"),
        ]);
        assert_eq!(
            unpin(&d, &twice, &["Revenue".into()]).unwrap_err(),
            RepinError::NotOne("Revenue".into())
        );
    }
}
