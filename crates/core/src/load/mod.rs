//! Loading a config: one file or a directory of files, merged, validated.
//!
//! YAML parsing lives here and only here (`yaml.rs`), so that the YAML crate
//! can be swapped without touching the rest.

mod convert;
mod yaml;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use convert::{Converter, Fragment, Refs, Setting};
#[cfg(test)]
pub(crate) use convert::{LIMIT_KEYS, PRUNE_KEYS, ROLE_KEYS, SELECTOR_KEYS, TOP_KEYS, USER_KEYS};

use crate::diagnostic::{Diagnostic, FileId, Pos, SourceMap, plural};
use crate::model::{Desired, Limits, Prune, Role, Selectors, User};
use crate::validate;

/// A config that loaded and passed validation, maybe with warnings.
#[derive(Debug)]
pub struct Loaded {
    pub desired: Desired,
    pub sources: SourceMap,
    /// Warnings only: anything worse makes a [`LoadError`].
    pub warnings: Vec<Diagnostic>,
}

/// A config that cannot be used; nothing may be sent to a site.
#[derive(Debug, thiserror::Error)]
#[error("{} in the config", summary(diagnostics))]
pub struct LoadError {
    pub sources: SourceMap,
    /// Errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

/// `3 errors, 1 warning`.
pub fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    match (errors, warnings) {
        (e, 0) => plural(e, "error"),
        (0, w) => plural(w, "warning"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

/// Loads `path`: a file, or a directory whose `*.yaml` / `*.yml` files (all
/// levels down, hidden ones skipped) are merged.
pub fn load_path(path: &Path) -> Result<Loaded, LoadError> {
    match discover(path) {
        Ok(files) => {
            let mut texts = Vec::with_capacity(files.len());
            let mut diagnostics = Vec::new();
            for file in files {
                match fs::read(&file) {
                    Ok(bytes) => match String::from_utf8(bytes) {
                        Ok(text) => texts.push((file, text)),
                        Err(_) => diagnostics.push(
                            Diagnostic::error(format!("`{}` is not UTF-8 text", file.display()))
                                .hint("save the file as UTF-8"),
                        ),
                    },
                    Err(e) => diagnostics.push(read_error(&file, &e)),
                }
            }
            if diagnostics.is_empty() {
                load_texts(texts)
            } else {
                Err(LoadError {
                    sources: SourceMap::default(),
                    diagnostics,
                })
            }
        }
        Err(d) => Err(LoadError {
            sources: SourceMap::default(),
            diagnostics: vec![*d],
        }),
    }
}

fn read_error(path: &Path, e: &io::Error) -> Diagnostic {
    let d = Diagnostic::error(format!("cannot read `{}`: {e}", path.display()));
    match e.kind() {
        io::ErrorKind::NotFound => d.hint(
            "pass the config file or directory with `-f PATH`; the default is `./rolecall.yaml`",
        ),
        io::ErrorKind::PermissionDenied => d.hint("check the file's permissions"),
        _ => d,
    }
}

/// The config files at `path`, sorted, so merging is deterministic.
fn discover(path: &Path) -> Result<Vec<PathBuf>, Box<Diagnostic>> {
    let meta = fs::metadata(path).map_err(|e| Box::new(read_error(path, &e)))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| Box::new(read_error(&dir, &e)))?;
        for entry in entries {
            let entry = entry.map_err(|e| Box::new(read_error(&dir, &e)))?;
            let p = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let meta = fs::metadata(&p).map_err(|e| Box::new(read_error(&p, &e)))?;
            if meta.is_dir() {
                dirs.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                files.push(p);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Box::new(
            Diagnostic::error(format!(
                "no `*.yaml` or `*.yml` files in `{}`",
                path.display()
            ))
            .hint("point `-f` at a config file, or at a directory that holds config files"),
        ));
    }
    Ok(files)
}

/// Loads config texts as if each were a file at its path. The order of the
/// list does not matter to the result.
pub fn load_texts(files: Vec<(PathBuf, String)>) -> Result<Loaded, LoadError> {
    let mut sources = SourceMap::default();
    let mut diagnostics = Vec::new();
    let mut fragments = Vec::new();
    for (path, text) in files {
        let display: Arc<str> = path.display().to_string().into();
        let id = sources.add(path, text);
        match yaml::parse(id, &sources.get(id).text) {
            Ok(Some(root)) => {
                let mut conv = Converter::new(id, display, &mut diagnostics);
                fragments.push((id, conv.file(&root)));
            }
            Ok(None) => fragments.push((id, Fragment::default())),
            Err(e) => {
                diagnostics.push(
                    Diagnostic::error(e.message)
                        .at(e.pos, "")
                        .maybe_hint(e.hint),
                );
                fragments.push((id, Fragment::unreadable()));
            }
        }
    }
    let desired = merge(fragments, &sources, &mut diagnostics);
    if let Some((desired, index)) = &desired {
        validate::check(desired, index, &mut diagnostics);
    }
    diagnostics.sort_by_key(|d| (d.pos.is_some(), d.pos));
    match desired {
        Some((desired, _)) if !diagnostics.iter().any(Diagnostic::is_error) => Ok(Loaded {
            desired,
            sources,
            warnings: diagnostics,
        }),
        _ => Err(LoadError {
            sources,
            diagnostics,
        }),
    }
}

/// Where the entries of a merged config were written, for the checks that
/// look at the whole config.
#[derive(Debug)]
pub(crate) struct Index<'s> {
    pub sources: &'s SourceMap,
    /// Position of each role's key, by role key.
    pub roles: BTreeMap<String, Pos>,
    /// Position of each user's key, by user key.
    pub users: BTreeMap<String, Pos>,
    pub refs: Refs,
    /// Some role could not be read: "not defined" would be a guess.
    pub roles_incomplete: bool,
}

/// Takes a setting that must appear in exactly one file.
fn take_once<T>(
    slot: &mut Option<Setting<T>>,
    name: &str,
    found: Option<Setting<T>>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let Some(found) = found else { return };
    match slot {
        None => *slot = Some(found),
        Some(first) => diagnostics.push(
            Diagnostic::error(format!("`{name}` is set in two places"))
                .at(found.pos, name)
                .related(first.pos, "first set here")
                .hint(format!(
                    "`{name}` belongs in exactly one file: remove one of them"
                )),
        ),
    }
}

fn merge<'s>(
    fragments: Vec<(FileId, Fragment)>,
    sources: &'s SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(Desired, Index<'s>)> {
    let mut site = None;
    let mut actor = None;
    let mut prune: Option<Setting<Prune>> = None;
    let mut protect: Option<Setting<Selectors>> = None;
    let mut ignore: Option<Setting<Selectors>> = None;
    let mut limits: Option<Setting<Limits>> = None;
    let mut roles: BTreeMap<String, (Pos, Role)> = BTreeMap::new();
    let mut users: BTreeMap<String, (Pos, User)> = BTreeMap::new();
    let mut refs = Refs::default();
    let mut roles_incomplete = false;
    let mut unreadable = false;
    let first_file = fragments.first().map(|(id, _)| *id);
    for (_, frag) in fragments {
        take_once(&mut site, "site", frag.site, diagnostics);
        take_once(&mut actor, "actor", frag.actor, diagnostics);
        take_once(&mut prune, "prune", frag.prune, diagnostics);
        take_once(&mut protect, "protect", frag.protect, diagnostics);
        take_once(&mut ignore, "ignore", frag.ignore, diagnostics);
        take_once(&mut limits, "limits", frag.limits, diagnostics);
        for (pos, role) in frag.roles {
            let key = crate::vocab::key(&role.name);
            if let Some((first, first_role)) = roles.get(&key) {
                diagnostics.push(
                    Diagnostic::error(format!("role `{}` is defined twice", role.name))
                        .at(pos, format!("roles[{:?}]", role.name))
                        .related(*first, "first defined here")
                        .hint(if first_role.name == role.name {
                            "merge the two definitions into one".to_string()
                        } else {
                            format!(
                                "role names are compared case-insensitively: `{}` and `{}` are the same role",
                                first_role.name, role.name
                            )
                        }),
                );
                continue;
            }
            roles.insert(key, (pos, role));
        }
        for (pos, user) in frag.users {
            let key = crate::vocab::key(&user.email);
            if let Some((first, first_user)) = users.get(&key) {
                diagnostics.push(
                    Diagnostic::error(format!("user `{}` is defined twice", user.email))
                        .at(pos, format!("users[{:?}]", user.email))
                        .related(*first, "first defined here")
                        .hint(if first_user.email == user.email {
                            "merge the two entries into one".to_string()
                        } else {
                            format!(
                                "emails are compared case-insensitively: `{}` and `{}` are the same user",
                                first_user.email, user.email
                            )
                        }),
                );
                continue;
            }
            users.insert(key, (pos, user));
        }
        roles_incomplete |= frag.roles_incomplete;
        unreadable |= frag.unreadable;
        refs.renames.extend(frag.refs.renames);
    }
    let file = first_file?;
    let missing = |name: &str, example: &str| {
        let pos = Pos {
            file,
            line: 1,
            col: 1,
            len: 1,
        };
        let message = if sources.len() > 1 {
            format!("no file of the config sets `{name}`")
        } else {
            format!("`{name}` is missing")
        };
        Diagnostic::error(message).at(pos, "").hint(format!(
            "add `{name}: {example}` at the top level of one file"
        ))
    };
    // A setting that was present but invalid already has its own error, and
    // one may be in a file that could not be read.
    let given = |set: bool, name: &str| {
        set || unreadable || diagnostics.iter().any(|d| d.path.as_deref() == Some(name))
    };
    let site_given = given(site.is_some(), "site");
    let actor_given = given(actor.is_some(), "actor");
    if !site_given {
        diagnostics.push(missing("site", "<site name from your dashboard URLs>"));
    }
    if !actor_given {
        diagnostics.push(missing("actor", "<email of an admin user>"));
    }
    let index = Index {
        sources,
        roles: roles
            .iter()
            .map(|(k, (pos, _))| (k.clone(), *pos))
            .collect(),
        users: users
            .iter()
            .map(|(k, (pos, _))| (k.clone(), *pos))
            .collect(),
        refs,
        roles_incomplete,
    };
    let desired = Desired {
        site: site.map(|s| s.value).unwrap_or_default(),
        actor: actor.map(|s| s.value).unwrap_or_default(),
        prune: prune.map(|s| s.value).unwrap_or_default(),
        protect: protect.map(|s| s.value).unwrap_or_default(),
        ignore: ignore.map(|s| s.value).unwrap_or_default(),
        limits: limits.map(|s| s.value).unwrap_or_default(),
        roles: roles.into_iter().map(|(k, (_, r))| (k, r)).collect(),
        users: users.into_iter().map(|(k, (_, u))| (k, u)).collect(),
    };
    Some((desired, index))
}
