//! A saved plan is carried out only if planning again, now, gives the plan
//! that was reviewed, change for change (before and after), with the same
//! risks and the same access effect. Other config entries and other objects
//! may have changed since: two pull requests merged one after the other both
//! apply. A change the site already shows (an interrupted apply of the same
//! plan, a stacked pull request that made it too) is done, not a difference.
//!
//! When a change differs, the question is why. Each change is judged on its
//! own: the live object against the change's `before` (recomputed from the
//! site now), the objects it names (a user's roles, a role's dashboards), and
//! the config entry behind it against the one it was planned from. One of
//! them moved: the plan is stale. None did, yet the change differs: the file
//! was edited. Whether an object moved is read from the site now and the
//! file's record of the objects as they were read; a `before` the record does
//! not back is an edit, so a change added by hand cannot pass for stale by
//! claiming another past, unless the record is forged too. That, no check
//! can tell from an honest plan of that past; what runs is always the plan
//! made now, and a stale plan only leads to a new one to review.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::SourceMap;
use crate::access::{Access, Effect};
use crate::config::model::{Desired, SETTINGS};
use crate::config::vocab::key;
use crate::live::Live;
use crate::plan::{
    Befores, Change, ChecksumKey, Edit, Kind, MadeFrom, Plan, Review, RoleChange, RoleRef, Step,
    UserChange, UserState,
};

/// Why a change of a saved plan is stale: what moved since it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// The object was deleted on the site.
    Gone {
        /// Whether a role or a user.
        kind: Kind,
        /// Its name or email.
        key: String,
    },
    /// The object is not as the change's `before` shows it.
    Changed {
        /// Whether a role or a user.
        kind: Kind,
        /// Its name or email.
        key: String,
    },
    /// The plan creates it, and it exists now.
    Created {
        /// Whether a role or a user.
        kind: Kind,
        /// Its name or email.
        key: String,
    },
    /// The config entry behind it is not the one planned from.
    Config {
        /// The entry, as `role "NAME"` or `user "EMAIL"`.
        entry: String,
    },
    /// The settings (`prune`, `protect`, `ignore`, `limits`, `actor`,
    /// `files`, `policy`) changed.
    Settings,
    /// A change the plan made now has and the file has not, on an object
    /// that changed on the site since.
    New {
        /// The change, described.
        change: String,
    },
    /// The risks or the access effect differ and other objects of the site
    /// changed since (they count in both).
    Elsewhere {
        /// What differs: the risks of a change, or the access effect.
        what: String,
    },
    /// A change of the file that differs from the plan made now, and names
    /// objects (roles of a user, dashboards of a role) changed since.
    Names {
        /// The change, described.
        change: String,
    },
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
                "the config's settings (actor, prune, protect, ignore, limits, files, policy) changed since the plan was made",
            ),
            Stale::New { change } => write!(
                f,
                "not in the reviewed plan, the site changed since: {change}"
            ),
            Stale::Names { change } => write!(
                f,
                "the roles or dashboards it names changed on the site since: {change}"
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
    /// The config on disk.
    pub desired: &'a Desired,
    /// Its files, for positions.
    pub sources: &'a SourceMap,
    /// The site as read now.
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
/// its risks (its source line may move; blocks are checked again). A role
/// the saved plan creates has no id in it; once created (a partial apply, or
/// an earlier plan that created it too) a plan made now names it by its id.
fn same(saved: &Step, fresh: &Step, created: &BTreeSet<String>) -> bool {
    saved.risks == fresh.risks
        && (saved.change == fresh.change || saved.change == without_ids(&fresh.change, created))
}

/// `change` with the ids of the roles named in `created` taken out of its
/// memberships.
fn without_ids(change: &Change, created: &BTreeSet<String>) -> Change {
    let strip = |state: &UserState| {
        let mut state = state.clone();
        state.roles = state
            .roles
            .into_iter()
            .map(|r| match created.contains(&key(&r.name)) {
                true => RoleRef::new_role(r.name),
                false => r,
            })
            .collect();
        state
    };
    let edit = |e: &Edit<UserState>| Edit {
        id: e.id.clone(),
        before: strip(&e.before),
        after: strip(&e.after),
    };
    match change {
        Change::User(UserChange::Create(after)) => Change::User(UserChange::Create(strip(after))),
        Change::User(UserChange::Update(e)) => Change::User(UserChange::Update(edit(e))),
        Change::User(UserChange::Strip(e)) => Change::User(UserChange::Strip(edit(e))),
        Change::User(UserChange::Delete(_)) | Change::Role(_) => change.clone(),
    }
}

/// The access effect of a plan made now against the reviewed one: the
/// same; or, when part of the plan is done already (an earlier, partial
/// apply), no gain that was not reviewed (what is left of a plan can take
/// away in passing what its done part gave).
fn same_effect(fresh: Option<&Effect>, saved: Option<&Effect>, partly_done: bool) -> bool {
    if !partly_done {
        return fresh == saved;
    }
    let Some(fresh) = fresh else { return true };
    let empty = Effect::default();
    let gained: BTreeSet<&Access> = saved.unwrap_or(&empty).gained.iter().collect();
    fresh.gained.iter().all(|g| gained.contains(g))
}

/// Compares a saved plan with a plan made now from the config on disk
/// (`fresh`, its safety rules and access effect computed against `now`);
/// each with the review that travelled beside it.
pub fn compare(
    (saved, saved_review): (&Plan, &Review),
    (fresh, fresh_review): (&Plan, &Review),
    now: &Now<'_>,
) -> Result<(), Refusal> {
    let Some(made_from) = saved.made_from.as_ref().filter(|m| !m.entries.is_empty()) else {
        return Err(Refusal::Unjudgeable);
    };
    let judge = Judge::new(made_from, now);
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
    // A create is matched by name; once made, a plan made now has its id.
    let mut by_name: BTreeMap<(Kind, String), &Step> = BTreeMap::new();
    for step in &fresh.changes {
        by_name.insert((step.kind(), key(step.key())), step);
    }
    let created: BTreeSet<String> = saved
        .changes
        .iter()
        .filter(|s| matches!(s.change, Change::Role(RoleChange::Create(_))))
        .map(|s| key(s.key()))
        .collect();
    let creates: BTreeSet<(Kind, String)> = saved
        .changes
        .iter()
        .filter(|s| s.change.id().is_none())
        .map(|s| (s.kind(), key(s.key())))
        .collect();
    let mut partly_done = false;
    for ((kind, ident), (s, f)) in &index {
        let (s, mut f) = (*s, *f);
        if f.is_none() && matches!(ident, Ident::New(_)) {
            f = s.and_then(|s| by_name.get(&(*kind, key(s.key()))).copied());
        }
        match (s, f) {
            (Some(s), Some(f)) if same(s, f, &created) => continue,
            (Some(s), None) if judge.done(s) => {
                partly_done = true;
                continue;
            }
            // On an object the file creates: judged above, with that create.
            (None, Some(f))
                if f.change.id().is_some() && creates.contains(&(f.kind(), key(f.key()))) =>
            {
                continue;
            }
            _ => {}
        }
        let why = judge.why(s, f);
        if why.is_empty() {
            edited.push(difference(s, f));
        }
        stale.extend(why);
    }
    if edited.is_empty()
        && stale.is_empty()
        && !same_effect(
            fresh_review.access.as_ref(),
            saved_review.access.as_ref(),
            partly_done,
        )
    {
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
    objects: BTreeMap<ChecksumKey, String>,
    /// The kinds of which some recorded object changed or went since.
    kinds_moved: BTreeSet<Kind>,
}

impl<'a> Judge<'a> {
    fn new(made_from: &'a MadeFrom, now: &'a Now<'a>) -> Self {
        let objects = now.live.object_checksums();
        let kinds_moved = [Kind::Role, Kind::User]
            .into_iter()
            .filter(|&kind| {
                made_from
                    .objects
                    .iter()
                    .any(|(k, v)| k.kind() == Some(kind) && objects.get(k) != Some(v))
            })
            .collect();
        Self {
            made_from,
            now,
            befores: Befores::new(now.desired, now.sources, now.live),
            objects,
            kinds_moved,
        }
    }
}

impl Judge<'_> {
    /// Whether the site already is as a saved change leaves it (an earlier,
    /// partial apply of this plan, or another plan that did the same), and
    /// it got so since the plan was made (the file's record says the object
    /// was not yet so): nothing is left to do for it, nothing to refuse.
    fn done(&self, step: &Step) -> bool {
        let befores = &self.befores;
        let kind = step.kind();
        let recorded = |id: &str| {
            self.made_from
                .objects
                .contains_key(&ChecksumKey::of(kind, id))
        };
        let moved = |id: &str| {
            let k = ChecksumKey::of(kind, id);
            self.made_from
                .objects
                .get(&k)
                .is_some_and(|then| self.objects.get(&k) != Some(then))
        };
        let by_names = |a: &UserState, b: &UserState| {
            a.email == b.email
                && a.first_name == b.first_name
                && a.last_name == b.last_name
                && a.role_names() == b.role_names()
        };
        match &step.change {
            Change::Role(RoleChange::Create(after)) => befores
                .id_of(kind, &after.name)
                .is_some_and(|id| !recorded(&id) && befores.role(&id).as_ref() == Some(after)),
            Change::User(UserChange::Create(after)) => {
                befores.id_of(kind, &after.email).is_some_and(|id| {
                    !recorded(&id) && befores.user(&id).is_some_and(|now| by_names(&now, after))
                })
            }
            Change::Role(RoleChange::Update(e) | RoleChange::Rename(e)) => {
                moved(&e.id) && befores.role(&e.id).as_ref() == Some(&e.after)
            }
            Change::User(UserChange::Update(e) | UserChange::Strip(e)) => {
                moved(&e.id)
                    && befores
                        .user(&e.id)
                        .is_some_and(|now| by_names(&now, &e.after))
            }
            Change::Role(RoleChange::Delete(r)) => recorded(&r.id) && befores.role(&r.id).is_none(),
            Change::User(UserChange::Delete(r)) => recorded(&r.id) && befores.user(&r.id).is_none(),
        }
    }

    /// What moved behind a change the file and a plan made now disagree on;
    /// empty when nothing did.
    fn why(&self, saved: Option<&Step>, fresh: Option<&Step>) -> Vec<Stale> {
        let mut why = Vec::new();
        if let Some(s) = saved {
            why.extend(self.site_against_before(s));
        }
        // Else, for a create of the file (it has no `before` to check) or a
        // change only the plan made now has: an object it names (a role of
        // a user, a dashboard of a role, its own) is not as the file
        // recorded it.
        let create = saved.filter(|s| s.change.id().is_none());
        if why.is_empty()
            && (create.is_some_and(|s| self.moved(s))
                || saved.is_some_and(|s| self.names_moved(s))
                || (saved.is_none() && fresh.is_some_and(|f| self.object_moved(f))))
            && let Some(step) = fresh.or(saved)
        {
            why.push(match saved {
                None => Stale::New {
                    change: step.describe(),
                },
                Some(_) => Stale::Names {
                    change: step.describe(),
                },
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
            // Created since: it exists now, and was not read when the plan
            // was made (the file's own record says so).
            let live_id = self.befores.id_of(kind, &name)?;
            let recorded = self
                .made_from
                .objects
                .contains_key(&ChecksumKey::of(kind, &live_id));
            return (!recorded).then_some(Stale::Created { kind, key: name });
        };
        let matches = match &step.change {
            Change::Role(r) => r.before().map_or(Some(true), |before| {
                self.befores.role(id).map(|now| now == *before)
            }),
            Change::User(u) => u.before().map_or(Some(true), |before| {
                self.befores.user(id).map(|now| now == *before)
            }),
        };
        // The file's own record must agree that the object, or one its
        // state names (a role of a user, a dashboard of a role), moved: a
        // `before` made up in the file is an edit, not a site that changed.
        let moved = self.moved(step);
        match matches {
            None if moved => Some(Stale::Gone { kind, key: name }),
            Some(false) if moved => Some(Stale::Changed { kind, key: name }),
            _ => None,
        }
    }

    /// Whether the object a change is on, or an object its states name,
    /// is not as the file recorded it (gone, new, or changed).
    fn moved(&self, step: &Step) -> bool {
        step.change.id().is_some_and(|id| {
            let k = ChecksumKey::of(step.kind(), id);
            self.made_from.objects.get(&k) != self.objects.get(&k)
        }) || self.names_moved(step)
    }

    /// Whether an object a change's states name (a role of a user, a
    /// dashboard of a role), not its own, is not as the file recorded it.
    fn names_moved(&self, step: &Step) -> bool {
        let mut keys = Vec::new();
        for state in [step.change.user_before(), step.change.user_after()]
            .into_iter()
            .flatten()
        {
            keys.extend(
                state
                    .roles
                    .iter()
                    .filter_map(|r| r.id.as_deref())
                    .map(|id| ChecksumKey::of(Kind::Role, id)),
            );
        }
        for state in [step.change.role_before(), step.change.role_after()]
            .into_iter()
            .flatten()
        {
            keys.extend(state.grants.keys().cloned().map(ChecksumKey::Object));
        }
        keys.iter()
            .any(|k| self.made_from.objects.get(k) != self.objects.get(k))
    }

    /// For a change only a plan made now has: whether its object, or one
    /// its states name, is not as it was read when the plan was made (for a
    /// create, whether an object of its kind changed or went since: a role
    /// renamed away, a user deleted).
    fn object_moved(&self, step: &Step) -> bool {
        if step.change.id().is_some() {
            return self.moved(step);
        }
        self.moved(step) || self.kinds_moved.contains(&step.kind())
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
            if self.made_from.entries.get(&entry) != desired.entry_checksum(&entry).as_ref() {
                out.push(Stale::Config {
                    entry: format!("{} {name:?}", step.kind()),
                });
            }
        }
        if self.made_from.entries.get(SETTINGS) != Some(&desired.settings_checksum()) {
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
    made_from.entries = desired.entry_checksums();
    made_from.objects = live.object_checksums();
    made_from.site_digest = live.checksum();
}

#[cfg(test)]
mod tests;
