//! A saved plan is carried out only if planning again, now, gives the plan
//! that was reviewed, change for change (before and after), with the same
//! risks and the same access effect. Other config entries and other objects
//! may have changed since: two pull requests merged one after the other both
//! apply.
//!
//! When a change differs, the question is why. Each change is judged on its
//! own: the live object against the change's `before` (recomputed from the
//! site now, never a digest the file asserts), and the config entry behind it
//! against the one it was planned from. One of them differs: the plan is
//! stale. Neither does, yet the change does: the file was edited. A `before`
//! that the file's own record of the object does not back (the object has
//! not moved since it was read) is an edit too: a change added by hand
//! cannot pass for a stale one by claiming another past.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rolecall_core::SourceMap;
use rolecall_core::live::Live;
use rolecall_core::model::{Desired, SETTINGS};
use rolecall_core::plan::{Befores, Change, Kind, MadeFrom, Plan, Step, digest_key};
use rolecall_core::vocab::key;

/// Why a change of a saved plan is stale: what moved since it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// The object was deleted on the site.
    Gone { kind: Kind, key: String },
    /// The object is not as the change's `before` shows it.
    Changed { kind: Kind, key: String },
    /// The plan creates it, and it exists now.
    Created { kind: Kind, key: String },
    /// The config entry behind it is not the one planned from.
    Config { entry: String },
    /// The settings (`prune`, `protect`, `ignore`, `limits`, `actor`) changed.
    Settings,
    /// A change the plan made now has and the file has not, on an object
    /// that changed on the site since.
    New { change: String },
    /// The risks or the access effect differ and other objects of the site
    /// changed since (they count in both).
    Elsewhere { what: String },
}

impl fmt::Display for Stale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stale::Gone { kind, key } => write!(f, "{kind} {key:?} is no longer on the site"),
            Stale::Changed { kind, key } => {
                write!(f, "{kind} {key:?} changed on the site since the plan was made")
            }
            Stale::Created { kind, key } => write!(
                f,
                "{kind} {key:?} was created on the site since the plan was made"
            ),
            Stale::Config { entry } => {
                write!(f, "the config entry of {entry} changed since the plan was made")
            }
            Stale::Settings => f.write_str(
                "the config's settings (prune, protect, ignore, limits, actor) changed since the plan was made",
            ),
            Stale::New { change } => write!(
                f,
                "not in the reviewed plan, the site changed since: {change}"
            ),
            Stale::Elsewhere { what } => write!(
                f,
                "{what} is not the reviewed one: other objects changed on the site since"
            ),
        }
    }
}

/// Why a saved plan is not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Made by a rolecall that recorded no config entries: plan again.
    Unjudgeable,
    /// The site or the config changed since the plan was made: plan again.
    Stale(Vec<Stale>),
    /// Neither the site nor the config explains a difference: the file was
    /// edited (what else it claims moved is not to be believed).
    Edited(Vec<String>),
}

/// The config and the site now.
#[derive(Debug)]
pub struct Now<'a> {
    pub desired: &'a Desired,
    pub sources: &'a SourceMap,
    pub live: &'a Live,
}

/// Which object a change is about: its id, or the name it creates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Id(String),
    New(String),
}

fn ident(step: &Step) -> (Kind, Ident) {
    let id = match step.change.id() {
        Some(id) => Ident::Id(id.to_string()),
        None => Ident::New(key(step.key())),
    };
    (step.kind(), id)
}

/// The saved change and the fresh one on the same object, either missing.
type Pair<'p> = (Option<&'p Step>, Option<&'p Step>);

/// What a reviewer saw of a change: the operation, its before and after,
/// its risks (its source line may move; blocks are checked again).
fn same(a: &Step, b: &Step) -> bool {
    a.change == b.change && a.risks == b.risks
}

/// Compares a saved plan with a plan made now from the config on disk
/// (`fresh`, its safety rules and access effect computed against `now`).
pub fn compare(saved: &Plan, fresh: &Plan, now: &Now<'_>) -> Result<(), Refusal> {
    let Some(made_from) = saved.made_from.as_ref().filter(|m| !m.entries.is_empty()) else {
        return Err(Refusal::Unjudgeable);
    };
    let judge = Judge {
        made_from,
        now,
        befores: Befores::new(now.desired, now.sources, now.live),
        objects: now.live.object_digests(),
    };
    let mut stale: Vec<Stale> = Vec::new();
    let mut edited: Vec<String> = Vec::new();
    let mut index: BTreeMap<(Kind, Ident), Pair<'_>> = BTreeMap::new();
    for step in &saved.changes {
        let slot = index.entry(ident(step)).or_default();
        if slot.0.replace(step).is_some() {
            edited.push(format!("the file changes {} twice", step.describe()));
        }
    }
    for step in &fresh.changes {
        index.entry(ident(step)).or_default().1 = Some(step);
    }
    for (s, f) in index.values() {
        let (s, f) = (*s, *f);
        if let (Some(s), Some(f)) = (s, f)
            && same(s, f)
        {
            continue;
        }
        let why = judge.why(s, f);
        if why.is_empty() {
            edited.push(difference(s, f));
        }
        stale.extend(why);
    }
    if edited.is_empty() && stale.is_empty() && saved.access != fresh.access {
        match judge.site_moved() {
            true => stale.push(Stale::Elsewhere {
                what: "the access effect".into(),
            }),
            false => edited.push("its access effect is not the one of its changes".into()),
        }
    }
    dedup(&mut stale);
    match (edited.is_empty(), stale.is_empty()) {
        (true, true) => Ok(()),
        (true, false) => Err(Refusal::Stale(stale)),
        (false, _) => Err(Refusal::Edited(edited)),
    }
}

fn dedup(stale: &mut Vec<Stale>) {
    let mut seen = BTreeSet::new();
    stale.retain(|s| seen.insert(s.to_string()));
}

/// One line for a change the file and a plan made now disagree on.
fn difference(saved: Option<&Step>, fresh: Option<&Step>) -> String {
    match (saved, fresh) {
        (Some(s), None) => format!("in the file, not in a plan made now: {}", s.describe()),
        (None, Some(f)) => format!("in a plan made now, not in the file: {}", f.describe()),
        (Some(s), Some(_)) => format!(
            "not the same in the file as in a plan made now: {}",
            s.describe()
        ),
        (None, None) => String::new(),
    }
}

struct Judge<'a> {
    made_from: &'a MadeFrom,
    now: &'a Now<'a>,
    befores: Befores<'a>,
    objects: BTreeMap<String, String>,
}

impl Judge<'_> {
    /// What moved behind a change the file and a plan made now disagree on;
    /// empty when nothing did.
    fn why(&self, saved: Option<&Step>, fresh: Option<&Step>) -> Vec<Stale> {
        let mut why = Vec::new();
        if let Some(s) = saved {
            why.extend(self.site_against_before(s));
        }
        if saved.is_none()
            && let Some(f) = fresh
            && self.object_moved(f)
        {
            why.push(Stale::New {
                change: f.describe(),
            });
        }
        for step in saved.into_iter().chain(fresh) {
            why.extend(self.config_moved(step));
        }
        if why.is_empty()
            && let (Some(s), Some(f)) = (saved, fresh)
            && s.change == f.change
            && self.site_moved()
        {
            why.push(Stale::Elsewhere {
                what: format!("the risks of {}", s.describe()),
            });
        }
        why
    }

    /// The live object against the saved change's `before`.
    fn site_against_before(&self, step: &Step) -> Option<Stale> {
        let (kind, name) = (step.kind(), step.key().to_string());
        let Some(id) = step.change.id() else {
            return self
                .befores
                .exists(kind, &name)
                .then_some(Stale::Created { kind, key: name });
        };
        let matches = match &step.change {
            Change::UpdateRole { before, .. }
            | Change::RenameRole { before, .. }
            | Change::DeleteRole { before, .. } => self.befores.role(id).map(|now| now == *before),
            Change::UpdateUser { before, .. }
            | Change::StripUser { before, .. }
            | Change::DeleteUser { before, .. } => self.befores.user(id).map(|now| now == *before),
            Change::CreateRole { .. } | Change::CreateUser { .. } => Some(true),
        };
        // The file's own record of the object must agree that it moved: a
        // `before` made up in the file is an edit, not a site that changed.
        let k = digest_key(kind, id);
        let recorded = self.made_from.objects.get(&k);
        let moved = recorded.is_some() && recorded != self.objects.get(&k);
        match matches {
            None if moved => Some(Stale::Gone { kind, key: name }),
            Some(false) if moved => Some(Stale::Changed { kind, key: name }),
            _ => None,
        }
    }

    /// For a change only a plan made now has: whether its object is not as
    /// it was read when the plan was made (or, for a create, whether an
    /// object of its kind was deleted since).
    fn object_moved(&self, step: &Step) -> bool {
        let kind = step.kind();
        match step.change.id() {
            Some(id) => {
                let k = digest_key(kind, id);
                self.made_from.objects.get(&k) != self.objects.get(&k)
            }
            None => {
                let prefix = digest_key(kind, "");
                self.made_from
                    .objects
                    .keys()
                    .any(|k| k.starts_with(&prefix) && !self.objects.contains_key(k))
            }
        }
    }

    /// The config entries behind a change (its name, and a renamed role's
    /// old name) and the settings, against those planned from.
    fn config_moved(&self, step: &Step) -> Vec<Stale> {
        let desired = self.now.desired;
        let mut names = vec![step.key().to_string()];
        names.extend(step.change.renamed_from().map(str::to_string));
        let mut out = Vec::new();
        for name in names {
            let entry = Desired::entry_key(step.kind(), &name);
            if self.made_from.entries.get(&entry) != desired.entry_digest(&entry).as_ref() {
                out.push(Stale::Config {
                    entry: format!("{} {name:?}", step.kind()),
                });
            }
        }
        if self.made_from.entries.get(SETTINGS) != Some(&desired.settings_digest()) {
            out.push(Stale::Settings);
        }
        out
    }

    /// Whether any user, role or dashboard of the site is not as it was read
    /// when the plan was made.
    fn site_moved(&self) -> bool {
        self.made_from.objects != self.objects
    }
}

/// What a saved plan records of the config and the site it was made from,
/// beyond the endpoint: the entries and objects [`compare`] judges by.
pub fn record(made_from: &mut MadeFrom, desired: &Desired, live: &Live) {
    made_from.entries = desired.entry_digests();
    made_from.objects = live.object_digests();
    made_from.site_digest = live.digest();
}
