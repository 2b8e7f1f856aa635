//! `review propose`: reviewers' decisions as config edits. A revoked
//! membership leaves its entry, an exception is written with its `until`
//! and reason, a kept membership the config lacked is added; a user the
//! config does not list is adopted with the roles they keep. Each edit is
//! made at the entry it is about; every other byte is kept.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::accept::file_for;
use super::import_csv::{self, CsvUser};
use super::yaml::{EntryEdit, apply, membership};
use crate::config::date::Date;
use crate::config::model::Desired;
use crate::config::vocab::{EVERYONE, key};
use crate::diagnostic::{FileId, SourceMap};

/// What a reviewer decided about one membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It stays as it is.
    Keep,
    /// It goes.
    Revoke,
    /// It stays until a day, for a reason.
    Except {
        /// Its last day.
        until: Date,
        /// Why.
        reason: String,
    },
}

/// The decisions about one user.
#[derive(Debug, Clone)]
pub struct UserVerdicts {
    /// The email, as the site has it.
    pub email: String,
    /// Role name (as the site spells it) -> the verdict.
    pub roles: Vec<(String, Verdict)>,
}

/// The edits proposed.
#[derive(Debug, Default)]
pub struct Proposal {
    /// Each file changed, with its new text.
    pub files: BTreeMap<PathBuf, String>,
    /// What each edit carries out, one line each.
    pub done: Vec<String>,
    /// What needs no edit, or a person: one line each.
    pub left: Vec<String>,
}

/// A user entry's edit: its file, its line, the edit.
type Edit = (PathBuf, u32, EntryEdit);

/// Whether a file of the config may hold users (`admin`: users given
/// Admin), as `files:` says; the caller knows where the config's root is.
pub type MayHold<'a> = &'a dyn Fn(&std::path::Path, bool) -> bool;

/// The config edits that carry out `verdicts`; a user adopted gets the
/// names `live` has, in a file that `may_hold` them.
pub fn propose(
    desired: &Desired,
    sources: &SourceMap,
    live: &crate::live::Live,
    verdicts: &[UserVerdicts],
    may_hold: MayHold<'_>,
) -> Proposal {
    let mut out = Proposal::default();
    let mut edits: Vec<Edit> = Vec::new();
    let mut added: BTreeMap<PathBuf, Vec<(CsvUser, Vec<String>)>> = BTreeMap::new();
    for v in verdicts {
        let acts = v.roles.iter().any(|(_, verdict)| *verdict != Verdict::Keep);
        let elsewhere = if desired.ignore.users.is_match(&v.email) {
            Some("in `ignore:`, managed elsewhere")
        } else if desired.protect.users.is_match(&v.email) {
            Some("in `protect:`, never changed by rolecall")
        } else {
            None
        };
        if let Some(why) = elsewhere {
            if acts {
                out.left.push(format!(
                    "`{}`: {why}; carry out its decisions by hand",
                    v.email
                ));
            }
            continue;
        }
        match desired.users.get(&key(&v.email)) {
            Some(user) => {
                if let Some(edit) = managed(user, v, sources, may_hold, &mut out) {
                    edits.push(edit);
                }
            }
            None => {
                let gives_admin = v.roles.iter().any(|(r, verdict)| {
                    key(r) == key(crate::config::vocab::ADMIN) && *verdict != Verdict::Revoke
                });
                let preferred = file_for(desired, sources, &v.email);
                let file = std::iter::once(preferred)
                    .chain((0..sources.len()).map(|i| sources.path(FileId(i)).to_path_buf()))
                    .find(|p| may_hold(p, gives_admin));
                let Some(file) = file else {
                    out.left.push(format!(
                        "`{}`: no file of the config may hold this user{} (`files:`); add it by hand",
                        v.email,
                        if gives_admin { " with Admin" } else { "" }
                    ));
                    continue;
                };
                let (user, items) = adopted(live, v, &mut out);
                added.entry(file).or_default().push((user, items));
            }
        }
    }
    let mut texts: BTreeMap<PathBuf, String> = (0..sources.len())
        .map(|i| {
            let f = sources.get(FileId(i));
            (f.path.clone(), f.text.clone())
        })
        .collect();
    // Bottom-up within a file, so that earlier lines keep their numbers.
    edits.sort_by(|a, b| (&a.0, b.1).cmp(&(&b.0, a.1)));
    for (path, line, edit) in &edits {
        if let Some(text) = texts.get_mut(path) {
            *text = apply(text, *line as usize, edit);
            out.files.insert(path.clone(), text.clone());
        }
    }
    for (path, users) in added {
        let text = texts
            .get(&path)
            .cloned()
            .unwrap_or_else(|| "users:\n".into());
        if let Some(merged) = merge_adopted(&text, &path, &users, &mut out) {
            out.files.insert(path, merged);
        }
    }
    out
}

/// The edit of a user the config lists: its memberships as written, less
/// the revoked, exceptions with their `until`, kept ones it lacked added.
fn managed(
    user: &crate::config::model::User,
    v: &UserVerdicts,
    sources: &SourceMap,
    may_hold: MayHold<'_>,
    out: &mut Proposal,
) -> Option<Edit> {
    let roles: Vec<&(String, Verdict)> = v
        .roles
        .iter()
        .filter(|(r, _)| key(r) != key(EVERYONE))
        .collect();
    let mut items: Vec<(usize, String)> = Vec::new();
    let mut done = Vec::new();
    let mut changed = false;
    let mut written: Vec<&crate::config::model::Membership> = user.roles.values().collect();
    written.sort_by_key(|m| m.index);
    for m in written {
        let verdict = roles
            .iter()
            .find(|(r, _)| key(r) == key(&m.name))
            .map(|(_, v)| v);
        match verdict {
            Some(Verdict::Revoke) => {
                changed = true;
                done.push(format!("`{}`: `{}` revoked", v.email, m.name));
            }
            Some(Verdict::Except { until, reason }) => {
                changed |= m.until != Some(*until) || m.reason.as_deref() != Some(reason);
                items.push((m.index, membership(&m.name, Some(*until), Some(reason))));
                done.push(format!(
                    "`{}`: `{}` kept until {until} (exception)",
                    v.email, m.name
                ));
            }
            _ => items.push((m.index, membership(&m.name, m.until, m.reason.as_deref()))),
        }
    }
    for (role, verdict) in roles
        .iter()
        .filter(|(r, _)| !user.roles.contains_key(&key(r)))
    {
        let (until, reason) = match verdict {
            Verdict::Revoke => {
                out.left.push(format!(
                    "`{}`: `{role}` is not in the config: the next plan revokes it",
                    v.email
                ));
                continue;
            }
            Verdict::Keep => (None, None),
            Verdict::Except { until, reason } => (Some(*until), Some(reason.as_str())),
        };
        changed = true;
        items.push((usize::MAX, membership(role, until, reason)));
        let how = until.map_or_else(
            || "kept".to_string(),
            |u| format!("kept until {u} (exception)"),
        );
        done.push(format!(
            "`{}`: `{role}` {how}, added to the config",
            v.email
        ));
    }
    if !changed {
        return None;
    }
    if user.shared {
        out.left.push(format!(
            "`{}`: its entry defines or uses a YAML anchor or alias; edit it by hand",
            v.email
        ));
        return None;
    }
    let pos = user.origin.pos(sources, 1)?;
    if !admin_may_go(user, v, &roles, sources.path(pos.file), may_hold, out) {
        return None;
    }
    out.done.extend(done);
    items.sort_by_key(|(i, _)| *i);
    Some((
        sources.path(pos.file).to_path_buf(),
        user.origin.line,
        EntryEdit::User {
            roles: items.into_iter().map(|(_, t)| t).collect(),
            first: None,
            last: None,
        },
    ))
}

/// Whether an edit that adds Admin to `user`'s entry may be made in its
/// file (`files:`); if not, it is left for a person, said why.
fn admin_may_go(
    user: &crate::config::model::User,
    v: &UserVerdicts,
    roles: &[&(String, Verdict)],
    file: &std::path::Path,
    may_hold: MayHold<'_>,
    out: &mut Proposal,
) -> bool {
    let adds_admin = roles.iter().any(|(r, verdict)| {
        key(r) == key(crate::config::vocab::ADMIN)
            && *verdict != Verdict::Revoke
            && !user.roles.contains_key(&key(r))
    });
    if adds_admin && !may_hold(file, true) {
        out.left.push(format!(
            "`{}`: keeping Admin means writing it in `{}`, which `files:` does not let give Admin; add it by hand where it may",
            v.email,
            crate::text::path(file)
        ));
        return false;
    }
    true
}

/// A user the config does not list, adopted with the roles they keep (and
/// the names the site has): the entry, and its memberships as flow items.
fn adopted(
    live: &crate::live::Live,
    v: &UserVerdicts,
    out: &mut Proposal,
) -> (CsvUser, Vec<String>) {
    let kept: Vec<&(String, Verdict)> = (v.roles.iter())
        .filter(|(r, verdict)| key(r) != key(EVERYONE) && *verdict != Verdict::Revoke)
        .collect();
    let items: Vec<String> = kept
        .iter()
        .map(|(r, verdict)| match verdict {
            Verdict::Except { until, reason } => membership(r, Some(*until), Some(reason)),
            _ => membership(r, None, None),
        })
        .collect();
    let names: Vec<&str> = kept.iter().map(|(r, _)| r.as_str()).collect();
    out.done.push(format!(
        "`{}`: adopted into the config with {}",
        v.email,
        if names.is_empty() {
            "no role (the next plan takes every role away)".to_string()
        } else {
            names.join(", ")
        }
    ));
    let on_site = live.users.iter().find(|u| key(&u.email) == key(&v.email));
    let user = CsvUser {
        line: 0,
        email: v.email.clone(),
        first_name: on_site.map(|u| u.first_name.clone()).unwrap_or_default(),
        last_name: on_site.map(|u| u.last_name.clone()).unwrap_or_default(),
        roles: names.iter().map(|n| n.to_string()).collect(),
    };
    (user, items)
}

/// `text` with the adopted users appended, each entry's roles then written
/// with their `until` where merge put them; `None` (said why) when they
/// cannot be added.
fn merge_adopted(
    text: &str,
    path: &std::path::Path,
    users: &[(CsvUser, Vec<String>)],
    out: &mut Proposal,
) -> Option<String> {
    let plain: Vec<CsvUser> = users.iter().map(|(u, _)| u.clone()).collect();
    let mut merged = match import_csv::merge(text, &plain) {
        Ok(m) => m,
        Err(e) => {
            for (u, _) in users {
                out.left.push(format!(
                    "`{}`: cannot be added to `{}` ({e}); add it by hand",
                    u.email,
                    crate::text::path(path)
                ));
                out.done
                    .retain(|d| !d.starts_with(&format!("`{}`:", u.email)));
            }
            return None;
        }
    };
    let keys = crate::config::load::section_keys(&merged, "users").unwrap_or_default();
    let mut at: Vec<(usize, Vec<String>)> = users
        .iter()
        .filter_map(|(u, items)| {
            let line = keys.iter().find(|(e, _)| key(e) == key(&u.email))?.1;
            Some((line as usize, items.clone()))
        })
        .collect();
    at.sort_by_key(|(line, _)| std::cmp::Reverse(*line));
    for (line, items) in at {
        let edit = EntryEdit::User {
            roles: items,
            first: None,
            last: None,
        };
        merged = apply(&merged, line, &edit);
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::load_texts;

    fn verdicts(email: &str, roles: &[(&str, Verdict)]) -> UserVerdicts {
        UserVerdicts {
            email: email.into(),
            roles: roles
                .iter()
                .map(|(r, v)| (r.to_string(), v.clone()))
                .collect(),
        }
    }

    /// Each entry's roles change and nothing else: comments, the block
    /// layout, other entries; an entry sharing an anchor is left for a
    /// person; a user the config does not list is adopted.
    #[test]
    fn decisions_become_entry_edits_and_nothing_else_moves() {
        let text = "site: acme\nactor: ada@acme.com\nusers:\n  ada@acme.com: {roles: [Admin]}  # the actor\n  sam@acme.com:\n    # left in September\n    roles:\n      - Admin\n      - Finance\n  li@acme.com: &li {roles: [Finance]}\n  mo@acme.com: *li\n";
        let loaded = load_texts(vec![("rolecall.yaml".into(), text.into())]).unwrap();
        let until = Date::parse("2026-12-31").unwrap();
        let live = crate::live::Live {
            users: vec![crate::testing::live_user(
                "u9",
                "new@acme.com",
                "New",
                "Person",
                &[],
            )],
            ..Default::default()
        };
        let p = propose(
            &loaded.desired,
            &loaded.sources,
            &live,
            &[
                verdicts(
                    "sam@acme.com",
                    &[
                        ("Admin", Verdict::Revoke),
                        (
                            "Finance",
                            Verdict::Except {
                                until,
                                reason: "close".into(),
                            },
                        ),
                    ],
                ),
                verdicts("li@acme.com", &[("Finance", Verdict::Revoke)]),
                verdicts(
                    "new@acme.com",
                    &[("Viewer", Verdict::Keep), ("Admin", Verdict::Revoke)],
                ),
            ],
            &|_, _| true,
        );
        let out = &p.files[std::path::Path::new("rolecall.yaml")];
        assert!(out.starts_with("site: acme\nactor: ada@acme.com\nusers:\n  ada@acme.com: {roles: [Admin]}  # the actor\n  sam@acme.com:\n    # left in September\n    roles: [{role: Finance, until: 2026-12-31, reason: \"close\"}]\n  li@acme.com: &li {roles: [Finance]}\n"), "{out}");
        assert!(
            out.contains("new@acme.com")
                && out.contains("Viewer")
                && !out.contains("roles: [Admin, Viewer]"),
            "{out}"
        );
        assert!(
            p.left
                .iter()
                .any(|l| l.contains("`li@acme.com`") && l.contains("anchor")),
            "{:?}",
            p.left
        );
        let again = load_texts(vec![("rolecall.yaml".into(), out.clone())])
            .unwrap()
            .desired;
        assert_eq!(
            again.users["sam@acme.com"].roles["finance"].until,
            Some(until)
        );
        assert!(!again.users["sam@acme.com"].roles.contains_key("admin"));
        assert_eq!(
            again.users["new@acme.com"].first_name.as_deref(),
            Some("New")
        );
    }

    /// A protected user is carried out by hand, and a user no file may
    /// hold (`files:`) is left for a person, each said why.
    #[test]
    fn protected_users_and_files_that_may_not_hold_them_are_left() {
        let text = "site: acme\nactor: ada@acme.com\nprotect:\n  users: [\"boss@*\"]\nusers:\n  ada@acme.com: {roles: [Admin]}\n";
        let loaded = load_texts(vec![("rolecall.yaml".into(), text.into())]).unwrap();
        let live = crate::live::Live::default();
        let p = propose(
            &loaded.desired,
            &loaded.sources,
            &live,
            &[
                verdicts("boss@acme.com", &[("Admin", Verdict::Revoke)]),
                verdicts("new@acme.com", &[("Admin", Verdict::Keep)]),
            ],
            &|_, admin| !admin,
        );
        assert!(p.files.is_empty(), "{:?}", p.files);
        assert!(
            p.left
                .iter()
                .any(|l| l.contains("`boss@acme.com`: in `protect:`")),
            "{:?}",
            p.left
        );
        assert!(
            p.left.iter().any(|l| l
                .contains("`new@acme.com`: no file of the config may hold this user with Admin")),
            "{:?}",
            p.left
        );
    }
}
