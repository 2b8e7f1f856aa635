//! `drift --write-config`: the smallest edits of a config that accept what
//! was changed on the site, so that those changes no longer plan. Each edit
//! is made at the entry it is about (its file and line); every other byte of
//! every file is kept, comments included.
//!
//! Accepted: a user's roles and names changed on the site (the entry's
//! `roles:` and name lines), a user added on the site (an entry appended to
//! the file that holds users of that domain, or `into`), a user deleted on
//! the site (its entry removed), a role's description, privileges and
//! grants changed on the site (its entry written again, the lists in the
//! order the entry wrote them), a role renamed on the site (its key and
//! every member, or none of it). Roles created or deleted on the site, the
//! memberships that name them, memberships written with `until`, and
//! entries that define or use a YAML anchor or alias (an edit
//! there would change other entries too) are left for a person: each is
//! listed with why.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::yaml::{EntryEdit, apply, entry_lines, key_line, scalar, written_items};
use crate::adopt::import_csv::{self, CsvUser};
use crate::config::model::{Desired, User};
use crate::config::vocab::key;
use crate::diagnostic::{FileId, SourceMap};
use crate::plan::{Change, Label, Plan, Review, RoleChange, SiteRename, UserChange, UserState};

/// What `accept` did.
#[derive(Debug, Default)]
pub struct Accepted {
    /// Each file changed, by its path as loaded, with its new text.
    pub files: BTreeMap<PathBuf, String>,
    /// What was accepted, one line each.
    pub accepted: Vec<String>,
    /// What was not, with why.
    pub left: Vec<String>,
    /// The plan's changes accepted (by index): the edited config must plan
    /// to the plan without exactly these.
    pub steps: Vec<usize>,
}

/// Why an entry that defines or uses a YAML anchor or alias (the loader
/// says which) is not edited on its own.
const SHARED: &str = "its entry defines or uses a YAML anchor or alias (`&`, `*`): an edit there would change other entries too; accept it by hand";

/// The edits being gathered: per entry, and users to add per file.
struct Gather<'a> {
    desired: &'a Desired,
    sources: &'a SourceMap,
    review: &'a Review,
    into: Option<&'a Path>,
    /// Roles (keys) whose create or delete is left for a person: a
    /// membership naming one is left too, never half of it accepted.
    left_roles: BTreeSet<String>,
    edits: Vec<(PathBuf, u32, EntryEdit)>,
    added: BTreeMap<PathBuf, Vec<CsvUser>>,
    out: Accepted,
}

impl<'a> Gather<'a> {
    /// One change of the plan (at `index`), accepted or left with why.
    fn change(&mut self, index: usize, step: &crate::plan::Step) {
        let what = step.describe();
        let accepted = match &step.change {
            Change::User(UserChange::Update(e)) => self.user_update(&what, e),
            Change::User(UserChange::Create(after)) => {
                let Some((user, path)) = entry(self.desired, self.sources, &after.email) else {
                    return;
                };
                if user.shared {
                    self.out.left.push(format!("{what}: {SHARED}"));
                    return;
                }
                self.edits.push((path, user.origin.line, EntryEdit::Remove));
                let line = format!("{what}: not on the site, removed from the config");
                self.out.accepted.push(line);
                true
            }
            Change::User(UserChange::Delete(r)) => {
                self.add_user(&r.before);
                let line = format!("{what}: added on the site, added to the config");
                self.out.accepted.push(line);
                true
            }
            Change::User(UserChange::Strip(e)) => {
                self.add_user(&e.before);
                let line = format!("{what}: given roles on the site, added to the config");
                self.out.accepted.push(line);
                true
            }
            Change::Role(RoleChange::Update(e)) => self.role_update(&what, e),
            Change::Role(RoleChange::Create(_)) => match self.renamed(index) {
                Some(rename) => self.rename(&what, &rename),
                None => {
                    self.out.left.push(format!(
                        "{what}: a role deleted on the site (or renamed there with other changes); accept it by hand"
                    ));
                    false
                }
            },
            Change::Role(RoleChange::Rename(_) | RoleChange::Delete(_)) => {
                self.out.left.push(format!(
                    "{what}: a role created or renamed on the site; accept it by hand"
                ));
                false
            }
        };
        if accepted {
            self.out.steps.push(index);
        }
    }

    /// The role renamed on the site whose create is the change at `index`.
    fn renamed(&self, index: usize) -> Option<SiteRename> {
        (self.review.renamed.iter())
            .find(|r| r.create == index)
            .cloned()
    }

    /// A role renamed on the site: its key written as the site names it
    /// (its members follow through their own changes).
    fn rename(&mut self, what: &str, rename: &SiteRename) -> bool {
        let Some((role, path)) = self.role_entry(what, &rename.from) else {
            return false;
        };
        self.edits
            .push((path, role.origin.line, EntryEdit::Rekey(scalar(&rename.to))));
        self.out.accepted.push(format!(
            "{what}: {rename}: its entry and {} renamed",
            crate::diagnostic::plural(rename.members.len(), "member")
        ));
        true
    }

    /// A role whose description, privileges or grants changed on the site:
    /// its entry written again as the site has it.
    fn role_update(&mut self, what: &str, e: &crate::plan::Edit<crate::plan::RoleState>) -> bool {
        let Some((role, path)) = self.role_entry(what, &e.after.name) else {
            return false;
        };
        let written = entry_lines(self.sources, &path, role.origin.line);
        let edit = EntryEdit::Replace(role_lines(role, &e.before, &written));
        self.edits.push((path, role.origin.line, edit));
        self.out
            .accepted
            .push(format!("{what}: as the site has it"));
        true
    }

    /// The config's entry of the role `name` and its file, if it can be
    /// edited on its own (else it is left for a person, with why).
    fn role_entry(
        &mut self,
        what: &str,
        name: &str,
    ) -> Option<(&'a crate::config::model::Role, PathBuf)> {
        let role = self.desired.roles.get(&key(name))?;
        let pos = role.origin.pos(self.sources, 1)?;
        let path = self.sources.path(pos.file).to_path_buf();
        if role.shared {
            self.out.left.push(format!("{what}: {SHARED}"));
            return None;
        }
        Some((role, path))
    }

    /// A user whose roles or names changed on the site: its entry as the
    /// site has it (not one written with `until`: that is for a person).
    fn user_update(&mut self, what: &str, e: &crate::plan::Edit<UserState>) -> bool {
        let site = &e.before;
        let Some((user, path)) = entry(self.desired, self.sources, &site.email) else {
            return false;
        };
        // A membership that ended is the config's doing, never the site's.
        let expired = self.desired.expired.contains_key(&key(&site.email));
        if expired
            || user
                .roles
                .values()
                .any(|r| r.until.is_some() || r.reason.is_some())
        {
            self.out.left.push(format!(
                "{what}: its roles are written with `until`; accept it by hand"
            ));
            return false;
        }
        if let Some(role) = (e.before.roles.iter())
            .chain(&e.after.roles)
            .find(|r| self.left_roles.contains(&key(&r.name)))
        {
            self.out.left.push(format!(
                "{what}: it names the role `{}`, which is left for a person; accept both by hand",
                crate::text::code_text(&role.name)
            ));
            return false;
        }
        if user.shared {
            self.out.left.push(format!("{what}: {SHARED}"));
            return false;
        }
        let edit = EntryEdit::User {
            roles: (site_roles(self.desired, user, site).iter())
                .map(|r| scalar(r))
                .collect(),
            first: user.first_name.as_ref().map(|_| site.first_name.clone()),
            last: user.last_name.as_ref().map(|_| site.last_name.clone()),
        };
        self.edits.push((path, user.origin.line, edit));
        self.out
            .accepted
            .push(format!("{what}: as the site has it"));
        true
    }

    /// A user the site has and the config does not: added to `into`, else
    /// to the file of its domain.
    fn add_user(&mut self, site: &UserState) {
        let user = CsvUser {
            line: 0,
            email: site.email.clone(),
            first_name: site.first_name.clone(),
            last_name: site.last_name.clone(),
            roles: site_roles_of(self.desired, site).into_iter().collect(),
        };
        let path = self.into.map_or_else(
            || file_for(self.desired, self.sources, &site.email),
            Path::to_path_buf,
        );
        self.added.entry(path).or_default().push(user);
    }

    /// The edits made to the files' texts.
    fn finish(mut self) -> Accepted {
        let mut texts: BTreeMap<PathBuf, String> = (0..self.sources.len())
            .map(|i| {
                let f = self.sources.get(FileId(i));
                (f.path.clone(), f.text.clone())
            })
            .collect();
        // Bottom-up within a file, so that earlier lines keep their numbers.
        self.edits.sort_by(|a, b| (&a.0, b.1).cmp(&(&b.0, a.1)));
        for (path, line, edit) in &self.edits {
            let Some(text) = texts.get_mut(path) else {
                continue;
            };
            *text = apply(text, *line as usize, edit);
            self.out.files.insert(path.clone(), text.clone());
        }
        for (path, users) in std::mem::take(&mut self.added) {
            let text = (texts.get(&path).cloned()).unwrap_or_else(|| "users:\n".to_string());
            match import_csv::merge(&text, &users) {
                Ok(merged) => {
                    texts.insert(path.clone(), merged.clone());
                    self.out.files.insert(path, merged);
                }
                Err(e) => {
                    for u in &users {
                        self.out.left.push(format!(
                            "+ user {:?}: cannot add to `{}` ({e}); pass `--into FILE`",
                            u.email,
                            crate::text::path(&path)
                        ));
                        let email = format!("{:?}", u.email);
                        self.out.accepted.retain(|a| !a.contains(&email));
                    }
                }
            }
        }
        self.out
    }
}

/// Config edits accepting the site's changes: with a baseline, the changes
/// made on the site only (one pending in the config too is a conflict for
/// a person); without one, every difference. `into`: the file new users go
/// to (a path as loaded); else the file holding most users of their domain,
/// else the root file.
pub fn accept(
    desired: &Desired,
    sources: &SourceMap,
    live: &crate::live::Live,
    plan: &Plan,
    review: &Review,
    baseline: bool,
    into: Option<&Path>,
) -> Accepted {
    let taken = |i: usize| {
        let labels = review.labels_of(plan, i);
        let site_only =
            labels.contains(&Label::ChangedOnSite) && !labels.contains(&Label::PendingInConfig);
        !baseline || site_only
    };
    // The roles created, renamed or deleted that are not accepted whole,
    // and the config's roles the site does not have (a protected one has
    // no change of its own).
    let on_site: BTreeSet<String> = live.roles.iter().map(|r| key(&r.name)).collect();
    let accepted_from: BTreeSet<String> = (review.renamed.iter())
        .filter(|r| taken(r.create))
        .map(|r| key(&r.from))
        .collect();
    let mut left_roles: BTreeSet<String> = (desired.roles.keys())
        .filter(|k| !on_site.contains(*k) && !accepted_from.contains(*k))
        .cloned()
        .collect();
    left_roles.extend(
        (plan.changes.iter().enumerate())
            .filter(|(i, s)| {
                s.kind() == crate::plan::Kind::Role
                    && s.action() != crate::plan::Action::Update
                    && !review.renamed.iter().any(|r| r.create == *i && taken(*i))
            })
            .flat_map(|(_, s)| {
                let names = [
                    s.change.role_after().map(|r| r.name.clone()),
                    s.change.renamed_from().map(str::to_string),
                    match &s.change {
                        Change::Role(RoleChange::Delete(r)) => Some(r.before.name.clone()),
                        _ => None,
                    },
                ];
                names.into_iter().flatten().map(|n| key(&n))
            }),
    );
    let mut gather = Gather {
        desired,
        sources,
        review,
        into,
        left_roles,
        edits: Vec::new(),
        added: BTreeMap::new(),
        out: Accepted::default(),
    };
    for (i, step) in plan.changes.iter().enumerate() {
        if taken(i) {
            gather.change(i, step);
        }
    }
    gather.finish()
}

/// A role entry as the site has it, by depth: its description, privileges
/// and grants (each dashboard by id where the config names it by id, else
/// by its name on the site), and the config's `renamed_from`.
fn role_lines(
    role: &crate::config::model::Role,
    site: &crate::plan::RoleState,
    written: &[String],
) -> Vec<(usize, String)> {
    use crate::config::model::{NameOrId, ObjectName};
    use crate::kinds::ObjectKind;
    // The entry's own order of keys and of list items is kept; what is
    // new comes after, sorted.
    let at = |k: &str| key_line(written, k).unwrap_or(usize::MAX);
    let list_of = |k: &str, items: &BTreeSet<String>| {
        let mut items: Vec<&String> = items.iter().collect();
        let order = written_items(written, k);
        items.sort_by_key(|a| order.iter().position(|o| o == *a).unwrap_or(usize::MAX));
        let items: Vec<String> = items.iter().map(|a| scalar(a)).collect();
        format!("[{}]", items.join(", "))
    };
    let mut out = vec![(0, format!("{}:", scalar(&role.name)))];
    if !site.description.is_empty() {
        out.push((1, format!("description: {}", scalar(&site.description))));
    }
    let mut privileges: Vec<_> = (site.privileges.iter())
        .filter(|(_, a)| !a.is_empty())
        .map(|(ty, actions)| (scalar(ty), actions))
        .collect();
    privileges.sort_by_key(|(k, _)| at(k));
    if !privileges.is_empty() {
        out.push((1, "privileges:".to_string()));
        for (ty, actions) in privileges {
            out.push((2, format!("{ty}: {}", list_of(&ty, actions))));
        }
    }
    let mut grants: Vec<_> = (site.grants.iter())
        .filter(|(o, g)| o.kind == ObjectKind::Dashboard && !g.actions.is_empty())
        .map(|(o, grant)| {
            let id = &o.id;
            let by_id =
                (role.grants).contains_key(&ObjectName::dashboard(NameOrId::Id(id.clone())));
            let k = if by_id || grant.name.starts_with('#') {
                format!("\"#{id}\"")
            } else {
                scalar(&grant.name)
            };
            (k, &grant.actions)
        })
        .collect();
    grants.sort_by_key(|(k, _)| at(k));
    if !grants.is_empty() {
        out.push((1, "dashboards:".to_string()));
        for (k, actions) in grants {
            out.push((2, format!("{k}: {}", list_of(&k, actions))));
        }
    }
    if !role.renamed_from.is_empty() {
        let names: Vec<String> = role.renamed_from.iter().map(|n| scalar(n)).collect();
        out.push((1, format!("renamed_from: [{}]", names.join(", "))));
    }
    out
}

/// The config's entry of a user, and the file that holds it.
fn entry<'d>(
    desired: &'d Desired,
    sources: &SourceMap,
    email: &str,
) -> Option<(&'d User, PathBuf)> {
    let user = desired.users.get(&key(email))?;
    let pos = user.origin.pos(sources, 1)?;
    Some((user, sources.path(pos.file).to_path_buf()))
}

/// The roles a site's user state has that the config manages (memberships
/// of ignored roles stay out), in the config's spelling where it has one.
fn site_roles_of(desired: &Desired, state: &UserState) -> Vec<String> {
    state
        .roles
        .iter()
        .filter(|r| !desired.ignore.roles.is_match(&r.name))
        .map(|r| {
            desired
                .roles
                .get(&key(&r.name))
                .map_or_else(|| r.name.clone(), |role| role.name.clone())
        })
        .collect()
}

/// [`site_roles_of`], keeping the order the entry wrote its roles in.
fn site_roles(desired: &Desired, user: &User, site: &UserState) -> Vec<String> {
    let wanted = site_roles_of(desired, site);
    let mut written: Vec<(usize, &str)> = user
        .roles
        .values()
        .filter(|r| wanted.iter().any(|w| key(w) == key(&r.name)))
        .map(|r| (r.index, r.name.as_str()))
        .collect();
    written.sort();
    let mut out: Vec<String> = written.into_iter().map(|(_, n)| n.to_string()).collect();
    for w in wanted {
        if !out.iter().any(|o| key(o) == key(&w)) {
            out.push(w);
        }
    }
    out
}

/// The file a new user goes to: the one holding most users of its domain,
/// else the one holding most users, else the first.
pub(super) fn file_for(desired: &Desired, sources: &SourceMap, email: &str) -> PathBuf {
    let domain = |e: &str| e.rsplit_once('@').map(|(_, d)| key(d)).unwrap_or_default();
    let mut by_file: BTreeMap<PathBuf, (usize, usize)> = BTreeMap::new();
    for user in desired.users.values() {
        let Some(pos) = user.origin.pos(sources, 1) else {
            continue;
        };
        let slot = by_file
            .entry(sources.path(pos.file).to_path_buf())
            .or_default();
        slot.1 += 1;
        if domain(&user.email) == domain(email) {
            slot.0 += 1;
        }
    }
    by_file
        .into_iter()
        .max_by_key(|(path, counts)| (*counts, std::cmp::Reverse(path.clone())))
        .map(|(path, _)| path)
        .unwrap_or_else(|| sources.path(FileId(0)).to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: &[&str]) -> EntryEdit {
        EntryEdit::User {
            roles: roles.iter().map(|r| r.to_string()).collect(),
            first: None,
            last: None,
        }
    }

    /// Each layout of an entry: only its roles change, comments and the
    /// lines around stay.
    #[test]
    fn entries_are_edited_in_place() {
        let flow_line = "users:\n  jane@acme.com:  # lead\n    first_name: Jane\n    roles: [A]  # why\n  li@acme.com: {}\n";
        assert_eq!(
            apply(flow_line, 2, &user(&["A", "Data Analyst"])),
            "users:\n  jane@acme.com:  # lead\n    first_name: Jane\n    roles: [A, Data Analyst]  # why\n  li@acme.com: {}\n"
        );
        let block_list =
            "users:\n  jane@acme.com:\n    roles:\n      - A\n      - B\n\n  li@acme.com: {}\n";
        assert_eq!(
            apply(block_list, 2, &user(&["B"])),
            "users:\n  jane@acme.com:\n    roles: [B]\n\n  li@acme.com: {}\n"
        );
        let flow_map = "users:\n  jane@acme.com: {first_name: Jane, roles: [A], last_name: Doe}\n";
        assert_eq!(
            apply(flow_map, 2, &user(&[])),
            "users:\n  jane@acme.com: {first_name: Jane, roles: [], last_name: Doe}\n"
        );
        let no_roles = "users:\n  jane@acme.com: {first_name: Jane}\n";
        assert_eq!(
            apply(no_roles, 2, &user(&["A"])),
            "users:\n  jane@acme.com: {first_name: Jane, roles: [A]}\n"
        );
        // A CRLF file stays CRLF.
        let crlf = "users:\r\n  jane@acme.com:\r\n    roles: [A]\r\n";
        assert_eq!(
            apply(crlf, 2, &user(&["B"])),
            "users:\r\n  jane@acme.com:\r\n    roles: [B]\r\n"
        );
        let removed = "users:\n  jane@acme.com:\n    roles: [A]\n  # next\n  li@acme.com: {}\n";
        assert_eq!(
            apply(removed, 2, &EntryEdit::Remove),
            "users:\n  # next\n  li@acme.com: {}\n"
        );
    }
}
