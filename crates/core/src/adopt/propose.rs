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

/// The config edits that carry out `verdicts`; a user adopted gets the
/// names `live` has.
pub fn propose(
    desired: &Desired,
    sources: &SourceMap,
    live: &crate::live::Live,
    verdicts: &[UserVerdicts],
) -> Proposal {
    let mut out = Proposal::default();
    let mut texts: BTreeMap<PathBuf, String> = (0..sources.len())
        .map(|i| {
            let f = sources.get(FileId(i));
            (f.path.clone(), f.text.clone())
        })
        .collect();
    let mut edits: Vec<(PathBuf, u32, EntryEdit)> = Vec::new();
    let mut added: BTreeMap<PathBuf, Vec<(CsvUser, Vec<String>)>> = BTreeMap::new();
    for v in verdicts {
        let roles: Vec<&(String, Verdict)> = v
            .roles
            .iter()
            .filter(|(r, _)| key(r) != key(EVERYONE))
            .collect();
        if desired.ignore.users.is_match(&v.email) {
            out.left.push(format!(
                "`{}`: in `ignore:`, managed elsewhere; carry out its decisions there",
                v.email
            ));
            continue;
        }
        match desired.users.get(&key(&v.email)) {
            Some(user) => {
                let mut items: Vec<(usize, String)> = Vec::new();
                let mut changed = false;
                let mut written: Vec<&crate::config::model::Membership> =
                    user.roles.values().collect();
                written.sort_by_key(|m| m.index);
                for m in written {
                    let verdict = roles
                        .iter()
                        .find(|(r, _)| key(r) == key(&m.name))
                        .map(|(_, v)| v);
                    match verdict {
                        Some(Verdict::Revoke) => {
                            changed = true;
                            out.done
                                .push(format!("`{}`: `{}` revoked", v.email, m.name));
                        }
                        Some(Verdict::Except { until, reason }) => {
                            changed |=
                                m.until != Some(*until) || m.reason.as_deref() != Some(reason);
                            items.push((m.index, membership(&m.name, Some(*until), Some(reason))));
                            out.done.push(format!(
                                "`{}`: `{}` kept until {until} (exception)",
                                v.email, m.name
                            ));
                        }
                        _ => {
                            items.push((m.index, membership(&m.name, m.until, m.reason.as_deref())))
                        }
                    }
                }
                for (role, verdict) in &roles {
                    if user.roles.contains_key(&key(role)) {
                        continue;
                    }
                    match verdict {
                        Verdict::Revoke => out.left.push(format!(
                            "`{}`: `{role}` is not in the config: the next plan revokes it",
                            v.email
                        )),
                        Verdict::Keep => {
                            changed = true;
                            items.push((usize::MAX, membership(role, None, None)));
                            out.done
                                .push(format!("`{}`: `{role}` kept, added to the config", v.email));
                        }
                        Verdict::Except { until, reason } => {
                            changed = true;
                            items.push((usize::MAX, membership(role, Some(*until), Some(reason))));
                            out.done.push(format!(
                                "`{}`: `{role}` kept until {until} (exception), added to the config",
                                v.email
                            ));
                        }
                    }
                }
                if !changed {
                    continue;
                }
                if user.shared {
                    out.left.push(format!(
                        "`{}`: its entry defines or uses a YAML anchor or alias; edit it by hand",
                        v.email
                    ));
                    out.done
                        .retain(|d| !d.starts_with(&format!("`{}`:", v.email)));
                    continue;
                }
                let Some(pos) = user.origin.pos(sources, 1) else {
                    continue;
                };
                items.sort_by_key(|(i, _)| *i);
                edits.push((
                    sources.path(pos.file).to_path_buf(),
                    user.origin.line,
                    EntryEdit::User {
                        roles: items.into_iter().map(|(_, t)| t).collect(),
                        first: None,
                        last: None,
                    },
                ));
            }
            None => {
                let kept: Vec<&(String, Verdict)> = roles
                    .iter()
                    .copied()
                    .filter(|(_, v)| *v != Verdict::Revoke)
                    .collect();
                let items: Vec<String> = kept
                    .iter()
                    .map(|(r, verdict)| match verdict {
                        Verdict::Except { until, reason } => {
                            membership(r, Some(*until), Some(reason))
                        }
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
                added
                    .entry(file_for(desired, sources, &v.email))
                    .or_default()
                    .push((user, items));
            }
        }
    }
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
        let plain: Vec<CsvUser> = users.iter().map(|(u, _)| u.clone()).collect();
        let merged = match import_csv::merge(&text, &plain) {
            Ok(m) => m,
            Err(e) => {
                for (u, _) in &users {
                    out.left.push(format!(
                        "`{}`: cannot be added to `{}` ({e}); add it by hand",
                        u.email,
                        crate::text::path(&path)
                    ));
                    out.done
                        .retain(|d| !d.starts_with(&format!("`{}`:", u.email)));
                }
                continue;
            }
        };
        // Entries with an exception get their `until` where merge put them.
        let mut merged = merged;
        let keys = crate::config::load::section_keys(&merged, "users").unwrap_or_default();
        let mut at: Vec<(usize, Vec<String>)> = users
            .iter()
            .filter_map(|(u, items)| {
                let line = keys.iter().find(|(e, _)| key(e) == key(&u.email))?.1;
                Some((line as usize, items.clone()))
            })
            .collect();
        at.sort_by(|a, b| b.0.cmp(&a.0));
        for (line, items) in at {
            merged = apply(
                &merged,
                line,
                &EntryEdit::User {
                    roles: items,
                    first: None,
                    last: None,
                },
            );
        }
        out.files.insert(path, merged);
    }
    out
}
