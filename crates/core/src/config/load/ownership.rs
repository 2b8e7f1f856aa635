//! Who may write what: settings live only in a config's root file, and
//! `files:` in the root file says which other files may hold roles, users,
//! or users given Admin. A pull request that edits a team's file cannot
//! define a role, hide an Admin with `ignore`, or grant Admin, whatever
//! CODEOWNERS lets it merge.

use std::path::Path;

use super::convert::Fragment;
use crate::config::model::{FileRules, May};
use crate::config::vocab::{ADMIN, key};
use crate::diagnostic::{Diagnostic, FileId, Pos, SourceMap};

/// Where a config's root file and root directory are.
#[derive(Debug)]
pub(super) struct Layout {
    /// The file that holds the settings, if the config has one.
    pub root: Option<FileId>,
    /// What `files:` globs are relative to.
    dir: Option<std::path::PathBuf>,
    /// For messages: `rolecall.yaml`.
    root_name: String,
}

/// Whether `path` is named like a root file.
fn is_root_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n == "rolecall.yaml" || n == "rolecall.yml")
}

impl Layout {
    /// The root of a config: its only file; or `dir/rolecall.yaml` of a
    /// config directory; or, for texts given without a directory, the
    /// `rolecall.yaml` nearest the top.
    pub(super) fn of(sources: &SourceMap, dir: Option<&Path>) -> Self {
        let paths: Vec<&Path> = (0..sources.len())
            .map(|i| sources.get(FileId(i)).path.as_path())
            .collect();
        let root = if paths.len() == 1 && dir.is_none() {
            Some(0)
        } else {
            paths
                .iter()
                .enumerate()
                .filter(|(_, p)| is_root_name(p))
                .filter(|(_, p)| dir.is_none_or(|d| p.parent() == Some(d)))
                .min_by_key(|(_, p)| p.components().count())
                .map(|(i, _)| i)
        };
        let dir = dir
            .map(Path::to_path_buf)
            .or_else(|| root.and_then(|i| paths[i].parent().map(Path::to_path_buf)));
        Self {
            root: root.map(FileId),
            dir,
            root_name: "rolecall.yaml".into(),
        }
    }

    /// A file's path relative to the config root, `/`-separated.
    pub(super) fn relative(&self, sources: &SourceMap, id: FileId) -> String {
        let path = &sources.get(id).path;
        let relative = self
            .dir
            .as_deref()
            .and_then(|d| path.strip_prefix(d).ok())
            .unwrap_or(path);
        relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Every setting a file other than the root file sets: an error at its key.
pub(super) fn settings_outside_root(
    frag: &Fragment,
    layout: &Layout,
    sources: &SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let set = [
        ("site", frag.site.as_ref().map(|s| s.pos)),
        ("actor", frag.actor.as_ref().map(|s| s.pos)),
        ("prune", frag.prune.as_ref().map(|s| s.pos)),
        ("protect", frag.protect.as_ref().map(|s| s.pos)),
        ("ignore", frag.ignore.as_ref().map(|s| s.pos)),
        ("limits", frag.limits.as_ref().map(|s| s.pos)),
        ("files", frag.files.as_ref().map(|s| s.pos)),
        ("policy", frag.policy.as_ref().map(|s| s.pos)),
        ("review", frag.review.as_ref().map(|s| s.pos)),
    ];
    for (name, pos) in set {
        let Some(pos) = pos else { continue };
        let file = crate::text::path(&sources.get(pos.file).path);
        let (message, hint) = match layout.root {
            Some(root) => (
                format!(
                    "`{name}` is set in `{file}`: settings live only in the config's root file `{}`",
                    crate::text::path(&sources.get(root).path)
                ),
                format!("move `{name}` to the root file, whose owners review every setting"),
            ),
            None => (
                format!(
                    "`{name}` is set in `{file}`: settings live only in the config's root file, and this config has no `{}` at its top",
                    layout.root_name
                ),
                format!(
                    "create `{}` at the top of the config directory and move the settings (`site`, `actor`, ...) there",
                    layout.root_name
                ),
            ),
        };
        diagnostics.push(Diagnostic::error(message).at(pos, name).hint(hint));
    }
}

/// What `files:` lets a file hold, as words: `users, admin`.
fn words(may: &std::collections::BTreeSet<May>) -> String {
    may.iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The entries of a file that `files:` does not let it hold: an error at
/// each, naming the rule and the globs that matched.
pub(super) fn check(
    frag: &mut Fragment,
    relative: &str,
    rules: &FileRules,
    files_pos: Pos,
    sources: &SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let (may, globs) = rules.allowed(relative);
    let given = if globs.is_empty() {
        "no glob of `files:` matches it, so it may hold nothing".to_string()
    } else {
        let globs: Vec<String> = globs.iter().map(|g| format!("`{g}`")).collect();
        format!(
            "`files:` lets it hold [{}] (by {})",
            words(&may),
            globs.join(", ")
        )
    };
    let shown = crate::text::clean(relative);
    let mut refuse = |pos: Pos, path: String, what: &str, hint: String| {
        diagnostics.push(
            Diagnostic::error(format!("`{shown}` may not {what}: {given}"))
                .at(pos, path)
                .related(files_pos, "`files:` is set here")
                .hint(hint),
        );
    };
    let elsewhere = |what: &str| {
        format!(
            "move it to a file that `files:` lets hold {what}, or ask the owners of the root file to change `files:`"
        )
    };
    if !may.contains(&May::Roles) {
        for (pos, role) in &frag.roles {
            refuse(
                *pos,
                format!("roles[{:?}]", role.name),
                "define roles",
                elsewhere("roles"),
            );
        }
    }
    for (pos, user) in &mut frag.users {
        // Revoking Admin is the site's to tell: `plan` blocks it (exit 3).
        user.admin_allowed = may.contains(&May::Admin);
        let path = format!("users[{:?}]", user.email);
        if !may.contains(&May::Users) {
            refuse(*pos, path, "hold users", elsewhere("users"));
            continue;
        }
        if may.contains(&May::Admin) {
            continue;
        }
        if let Some(r) = user.roles.get(&key(ADMIN)) {
            let at = r
                .origin
                .pos(sources, r.name.chars().count())
                .unwrap_or(*pos);
            refuse(
                at,
                format!("{path}.roles"),
                "give the Admin role",
                elsewhere("users given Admin (`[users, admin]`)"),
            );
        }
    }
}
