//! Loading a config: one file or a directory of files, merged, validated.
//!
//! YAML parsing lives here and only here (`yaml.rs`), so that the YAML crate
//! can be swapped without touching the rest.

mod bytes;
pub(crate) mod convert;
mod ownership;
mod yaml;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use convert::{Converter, Fragment, Refs, Setting};
#[cfg(test)]
pub(crate) use convert::{
    LIMIT_KEYS, POLICY_KEYS, PRUNE_KEYS, REVIEW_KEYS, ROLE_KEYS, SELECTOR_KEYS, TOP_KEYS, USER_KEYS,
};
use ownership::Layout;

use crate::config::lock;
use crate::config::lock::{LOCK_FILE, Lock};
use crate::config::model::{Desired, FileRules, Limits, Policy, Prune, Role, Selectors, User};
use crate::config::validate::{self, Index};
use crate::diagnostic::{Diagnostic, FileId, Pos, SourceMap, plural};

/// A config that loaded and passed validation, maybe with warnings.
#[derive(Debug)]
pub struct Loaded {
    /// The config, merged from every file.
    pub desired: Desired,
    /// Every file read, for positions in messages.
    pub sources: SourceMap,
    /// Warnings only: anything worse makes a [`LoadError`].
    pub warnings: Vec<Diagnostic>,
    /// Files of a config directory that are not `*.yaml`/`*.yml`.
    pub skipped: Vec<PathBuf>,
}

impl Loaded {
    /// A checksum of each file read, by its path relative to `root` (the file
    /// or directory the config was loaded from): what a saved plan records,
    /// so that `apply` can tell that the config changed, and which file.
    pub fn file_checksums(&self, root: &Path) -> BTreeMap<String, String> {
        (0..self.sources.len())
            .map(|i| {
                let file = self.sources.get(FileId(i));
                let relative = file
                    .path
                    .strip_prefix(root)
                    .ok()
                    .filter(|p| !p.as_os_str().is_empty())
                    .or_else(|| file.path.file_name().map(Path::new))
                    .unwrap_or(&file.path);
                let name = relative.to_string_lossy().replace('\\', "/");
                (name, crate::kinds::checksum(&file.text))
            })
            .collect()
    }
}

/// A config that cannot be used; nothing may be sent to a site.
#[derive(Debug, thiserror::Error)]
#[error("{} in the config", summary(diagnostics))]
pub struct LoadError {
    /// Every file read, for positions in messages.
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

/// How to load: bounds on what is read.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Bytes of one file (default 64 MiB); a larger file is refused unread.
    pub max_file_bytes: usize,
    /// How the caller raises the limit (e.g. a flag), for the hint.
    pub raise_with: Option<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 << 20,
            raise_with: None,
        }
    }
}

/// Loads `path`: a file, or a directory whose `*.yaml` / `*.yml` files (all
/// levels down, hidden ones skipped, extensions in any case) are merged.
pub fn load_path(path: &Path) -> Result<Loaded, LoadError> {
    load_path_with(path, &LoadOptions::default())
}

/// [`load_path`] with explicit bounds.
pub fn load_path_with(path: &Path, options: &LoadOptions) -> Result<Loaded, LoadError> {
    let found = discover(path).map_err(|diagnostics| LoadError {
        sources: SourceMap::default(),
        diagnostics,
    })?;
    let mut texts = Vec::with_capacity(found.files.len());
    let mut diagnostics = Vec::new();
    for file in found.files {
        match read_text(&file, options) {
            Ok(text) => texts.push((file, text)),
            Err(d) => diagnostics.push(*d),
        }
    }
    if !diagnostics.is_empty() {
        return Err(LoadError {
            sources: SourceMap::default(),
            diagnostics,
        });
    }
    let dir = path.is_dir().then_some(path);
    // The config's lock, if there is one.
    let lock_path = crate::config::lock::path_for(path);
    let mut moved = None;
    if dir.is_none() && !lock_path.exists() {
        // rolecall 0.1 put a one-file config's lock in `rolecall.lock`.
        let old = path.with_file_name(LOCK_FILE);
        if old != lock_path && old.is_file() {
            moved = Some(
                Diagnostic::warning(format!(
                    "`{}` is not read for `{}`: a one-file config's lock is `{}`",
                    crate::text::path(&old),
                    crate::text::path(path),
                    crate::text::path(&lock_path)
                ))
                .hint(format!(
                    "if it is this config's lock, rename it: `git mv {} {}`",
                    crate::text::path(&old),
                    crate::text::path(&lock_path)
                )),
            );
        }
    }
    if let Ok(meta) = fs::symlink_metadata(&lock_path) {
        if !meta.is_file() {
            return Err(LoadError {
                sources: SourceMap::default(),
                diagnostics: vec![Diagnostic::error(format!(
                    "`{}` is not a regular file",
                    crate::text::path(&lock_path)
                ))
                .hint("the lock is a plain file beside the root file: `rolecall lock --update` writes it")],
            });
        }
        match read_text(&lock_path, options) {
            Ok(text) => texts.push((lock_path, text)),
            Err(d) => {
                return Err(LoadError {
                    sources: SourceMap::default(),
                    diagnostics: vec![*d],
                });
            }
        }
    }
    let mut loaded = load_texts_in(texts, dir)?;
    loaded.skipped = found.skipped;
    loaded.warnings.extend(moved);
    Ok(loaded)
}

/// The config a command reads when none is named: `dir/rolecall.yaml` (or
/// `.yml`) alone, or `dir` as a whole when that file is the root of a
/// directory config: another config file beside it or in a folder under it
/// holds `roles:` or `users:`. Never the root file alone of a directory
/// config: a plan of it lists no one, and `prune` would strip or delete
/// everyone. (Other YAML files, `docker-compose.yml` beside a one-file
/// config, do not make it a directory.)
pub fn default_config(dir: &Path) -> PathBuf {
    let root = ["rolecall.yaml", "rolecall.yml"]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file());
    let Some(root) = root else {
        return dir.join("rolecall.yaml");
    };
    match discover(dir) {
        Ok(found) if found.files.iter().any(|f| f != &root && is_fragment(f)) => dir.to_path_buf(),
        // A directory that cannot be read whole: the file, whose load says
        // what it can.
        _ => root,
    }
}

/// Whether a file holds config entries: a `roles:` or `users:` key at the
/// start of a line, in its first 64 KiB, and no `site:` (a file with its
/// own site is another config, `staging.yaml` beside `rolecall.yaml`).
fn is_fragment(path: &Path) -> bool {
    use std::io::Read as _;
    let mut head = Vec::new();
    let read = fs::File::open(path).and_then(|f| f.take(64 << 10).read_to_end(&mut head));
    let text = String::from_utf8_lossy(&head);
    read.is_ok()
        && text
            .lines()
            .any(|l| l.starts_with("roles:") || l.starts_with("users:"))
        && !text.lines().any(|l| l.starts_with("site:"))
}

/// The directory whose config `file` is the root file of, if it is one: a
/// `rolecall.yaml` (or `.yml`) with files of entries beside or under it.
/// `-f DIR/rolecall.yaml` means the directory's config: read alone, it
/// lists no one, and a lock written from it would drop every pin.
pub fn directory_of_root(file: &Path) -> Option<PathBuf> {
    let name = file.file_name()?.to_str()?;
    if !matches!(name, "rolecall.yaml" | "rolecall.yml") || !file.is_file() {
        return None;
    }
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    (default_config(&dir) == dir).then_some(dir)
}

/// A file's text, read no further than the size limit.
fn read_text(file: &Path, options: &LoadOptions) -> Result<String, Box<Diagnostic>> {
    use std::io::Read as _;
    let cap = options.max_file_bytes;
    let mut bytes = Vec::new();
    fs::File::open(file)
        .and_then(|f| f.take(cap as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| Box::new(read_error(file, &e)))?;
    if bytes.len() > cap {
        let raise = options
            .raise_with
            .as_deref()
            .map_or_else(String::new, |how| {
                format!("; if it really is, raise the limit with {how}")
            });
        return Err(Box::new(
            Diagnostic::error(format!(
                "`{}` is larger than {cap} bytes: it was not read",
                crate::text::path(file)
            ))
            .hint(format!("a config file is text of a few MB at most{raise}")),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        Box::new(
            Diagnostic::error(format!("`{}` is not UTF-8 text", crate::text::path(file)))
                .hint("save the file as UTF-8"),
        )
    })
}

fn read_error(path: &Path, e: &io::Error) -> Diagnostic {
    let d = Diagnostic::error(format!("cannot read `{}`: {e}", crate::text::path(path)));
    match e.kind() {
        io::ErrorKind::NotFound => d.hint(
            "pass the config file or directory with `-f PATH`; the default is `./rolecall.yaml`",
        ),
        io::ErrorKind::PermissionDenied => d.hint("check the file's permissions"),
        _ => d,
    }
}

/// What a directory holds: the config files, sorted so that merging is
/// deterministic, and the other files (skipped; `validate -v` lists them).
struct Found {
    files: Vec<PathBuf>,
    skipped: Vec<PathBuf>,
}

/// `.yaml` or `.yml`, in any case (`.YAML` from some editors).
fn is_config_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// The config files under `path`. Only regular files and directories are
/// read: a symlink (which a pull request can point at `/proc/self/environ`
/// or anywhere else) or a special file is an error naming it, all of them
/// together.
fn discover(path: &Path) -> Result<Found, Vec<Diagnostic>> {
    let meta = fs::symlink_metadata(path).map_err(|e| vec![read_error(path, &e)])?;
    if let Some(refused) = not_a_file(path, &meta, path) {
        return Err(vec![refused]);
    }
    if !meta.is_dir() {
        return Ok(Found {
            files: vec![path.to_path_buf()],
            skipped: Vec::new(),
        });
    }
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut refused = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| vec![read_error(&dir, &e)])?;
        for entry in entries {
            let entry = entry.map_err(|e| vec![read_error(&dir, &e)])?;
            let p = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let meta = fs::symlink_metadata(&p).map_err(|e| vec![read_error(&p, &e)])?;
            if meta.is_dir() {
                dirs.push(p);
            } else if !is_config_file(&p) && !meta.file_type().is_symlink() {
                skipped.push(p);
            } else if let Some(d) = not_a_file(&p, &meta, path) {
                refused.push(d);
            } else {
                files.push(p);
            }
        }
    }
    if !refused.is_empty() {
        refused.sort_by(|a, b| a.message.cmp(&b.message));
        return Err(refused);
    }
    files.sort();
    skipped.sort();
    if files.is_empty() {
        return Err(vec![
            Diagnostic::error(format!(
                "no `*.yaml` or `*.yml` files in `{}`",
                crate::text::path(path)
            ))
            .hint("point `-f` at a config file, or at a directory that holds config files"),
        ]);
    }
    Ok(Found { files, skipped })
}

/// Why `path` (under the config `root`) is not read, if it is a symlink or
/// neither a regular file nor a directory. Where a link inside the root
/// points is said; where one outside points is not followed, nor shown.
fn not_a_file(path: &Path, meta: &fs::Metadata, root: &Path) -> Option<Diagnostic> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        let inside = fs::canonicalize(path).ok().and_then(|target| {
            let root = fs::canonicalize(root).ok()?;
            let relative = target.strip_prefix(&root).ok()?;
            Some(relative.display().to_string())
        });
        let (message, hint) = match inside {
            Some(target) if path != root => (
                format!(
                    "`{}` is a symbolic link (to `{target}` in the config): config files are read only as regular files",
                    crate::text::path(path)
                ),
                "replace the link with the file itself, or remove it".to_string(),
            ),
            _ => (
                format!(
                    "`{}` is a symbolic link: config files are read only as regular files and directories, never through a link",
                    crate::text::path(path)
                ),
                "a link could make rolecall read any file of the machine it runs on: replace it with the file or directory itself".to_string(),
            ),
        };
        return Some(Diagnostic::error(message).hint(hint));
    }
    if kind.is_file() || kind.is_dir() {
        return None;
    }
    Some(
        Diagnostic::error(format!(
            "`{}` is not a regular file (a device, socket or pipe)",
            crate::text::path(path)
        ))
        .hint("a config file is plain text: remove it, or give it another extension than .yaml"),
    )
}

/// Any one-document YAML text as JSON (keys as text; `true`, `12`, `~` typed
/// by YAML 1.2's core schema). Not a config: for tools that check other YAML
/// files of a repository, such as CI definitions, with the same parser and
/// limits as configs. The error is `line:col: message`.
pub fn yaml_to_json(text: &str) -> Result<serde_json::Value, String> {
    match yaml::parse(FileId(0), text) {
        Ok(node) => Ok(node.map_or(serde_json::Value::Null, |n| n.to_json())),
        Err(e) => Err(format!("{}:{}: {}", e.pos.line, e.pos.col, e.message)),
    }
}

/// The keys of the mapping under the top-level key `section` of a
/// one-document YAML text, with their lines, in file order (none when the
/// section is absent or empty). The error is `line:col: message`.
pub fn section_keys(text: &str, section: &str) -> Result<Vec<(String, u32)>, String> {
    let node = yaml::parse(FileId(0), text)
        .map_err(|e| format!("{}:{}: {}", e.pos.line, e.pos.col, e.message))?;
    let Some(yaml::Node {
        kind: yaml::NodeKind::Map(top),
        ..
    }) = node
    else {
        return Ok(Vec::new());
    };
    let entries = top.iter().find_map(|(k, v)| match (&k.kind, &v.kind) {
        (yaml::NodeKind::Scalar(k), yaml::NodeKind::Map(entries)) if k.text == section => {
            Some(entries)
        }
        _ => None,
    });
    Ok(entries
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| match &k.kind {
            yaml::NodeKind::Scalar(s) => Some((s.text.clone(), k.pos.line)),
            _ => None,
        })
        .collect())
}

/// Loads config texts as if each were a file at its path. The order of the
/// list does not matter to the result. The root file (the one that holds
/// the settings) is the only file, or the `rolecall.yaml` nearest the top.
pub fn load_texts(files: Vec<(PathBuf, String)>) -> Result<Loaded, LoadError> {
    load_texts_in(files, None)
}

/// [`load_texts`] of a config directory `dir`: its root file is
/// `dir/rolecall.yaml` (or `.yml`).
fn load_texts_in(files: Vec<(PathBuf, String)>, dir: Option<&Path>) -> Result<Loaded, LoadError> {
    let mut sources = SourceMap::default();
    let mut diagnostics = Vec::new();
    let mut fragments = Vec::new();
    let (locks, files): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|(path, _)| lock::is_lock(path));
    for (path, text) in files {
        let display: Arc<str> = path.display().to_string().into();
        // A byte-order mark (Windows editors) is not part of the text.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        let id = sources.add(path, text);
        let text = &sources.get(id).text;
        let controls = bytes::control_characters(id, text);
        if !controls.is_empty() {
            // A NUL truncates what a YAML parser reads: never parse past one.
            // Nor quote the file: it may be anything but a config.
            sources.withhold(id);
            diagnostics.extend(controls);
            fragments.push((id, Fragment::unreadable()));
            continue;
        }
        diagnostics.extend(bytes::commented_grants(id, text));
        match yaml::parse(id, text) {
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
    let layout = Layout::of(&sources, dir);
    // After the layout: a lock is never taken for a config file.
    let lock = read_locks(locks, &mut sources, &mut diagnostics);
    let mut desired = merge(fragments, &sources, &layout, &mut diagnostics);
    if let Some((desired, _)) = &mut desired {
        // A lock that records no site (written by rolecall 0.1 before it
        // recorded one) is this config's: the next write records the site.
        if !lock.is_empty()
            && !lock.site.is_empty()
            && !desired.site.is_empty()
            && lock.site != desired.site
        {
            diagnostics.push(
                Diagnostic::error(format!(
                    "the lock of the config is of the site `{}`, not `{}`",
                    crate::text::clean(&lock.site),
                    crate::text::clean(&desired.site)
                ))
                .hint("each config has its own lock (`DIR/rolecall.lock` for a directory, `NAME.lock` beside a file `NAME.yaml`): if this lock was copied from another site's config, remove it and run `rolecall lock --update`"),
            );
        }
        if !lock.is_empty() && lock.site.is_empty() {
            diagnostics.push(
                Diagnostic::warning("the lock of the config records no site (rolecall 0.1 wrote it so)")
                    .hint("`rolecall lock --update` writes it again with the site; until then `lock --check` fails"),
            );
        }
        desired.lock = lock;
    }
    if let Some((desired, index)) = &desired {
        validate::check(desired, index, &mut diagnostics);
    }
    diagnostics.sort_by_key(|d| (d.pos.is_some(), d.pos));
    match desired {
        Some((desired, _)) if !diagnostics.iter().any(Diagnostic::is_error) => Ok(Loaded {
            desired,
            sources,
            warnings: diagnostics,
            skipped: Vec::new(),
        }),
        _ => Err(LoadError {
            sources,
            diagnostics,
        }),
    }
}

/// The config's lock from the lock files given (one at most): an error
/// for each that cannot be read, at its line when the fault has one.
fn read_locks(
    locks: Vec<(PathBuf, String)>,
    sources: &mut SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
) -> Lock {
    let mut lock = Lock::default();
    let mut locks_read = 0;
    for (path, text) in locks {
        match Lock::parse(&text) {
            Ok(read) if locks_read == 0 => {
                locks_read += 1;
                lock = read;
            }
            Ok(_) => diagnostics.push(Diagnostic::error(format!(
                "`{}`: a config has one lock",
                crate::text::path(&path)
            ))),
            Err(why) => {
                let shown = crate::text::path(&path);
                let mut d = Diagnostic::error(format!(
                    "`{shown}` is not a lock rolecall can read: {}",
                    crate::text::clean(&why.message)
                ))
                .hint("fix that line, or remove the lock and run `rolecall lock --update` (it pins each dashboard name of the config to its id)");
                if let Some((line, col)) = why.at {
                    let id = sources.add(path, text);
                    d = d.at(
                        Pos {
                            file: id,
                            line: u32::try_from(line).unwrap_or(u32::MAX),
                            col: u32::try_from(col).unwrap_or(u32::MAX),
                            len: 1,
                        },
                        "",
                    );
                }
                diagnostics.push(d);
            }
        }
    }
    lock
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
        // Set outside the root file: already an error of its own.
        Some(_) if diagnostics.iter().any(|d| d.pos == Some(found.pos)) => {}
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

/// The settings and entries of every file, as they are merged.
#[derive(Default)]
struct Merged {
    site: Option<Setting<String>>,
    actor: Option<Setting<String>>,
    prune: Option<Setting<Prune>>,
    protect: Option<Setting<Selectors>>,
    ignore: Option<Setting<Selectors>>,
    limits: Option<Setting<Limits>>,
    files: Option<Setting<FileRules>>,
    policy: Option<Setting<Policy>>,
    review: Option<Setting<crate::review::settings::Settings>>,
    roles: BTreeMap<String, (Pos, Role)>,
    users: BTreeMap<String, (Pos, User)>,
    refs: Refs,
    roles_incomplete: bool,
    unreadable: bool,
}

/// Inserts an entry unless its key is taken: then an error naming both
/// places. `noun` is `role` or `user`, `what` says what makes two the same.
fn insert_once<T>(
    map: &mut BTreeMap<String, (Pos, T)>,
    (pos, entry): (Pos, T),
    name: impl Fn(&T) -> &str,
    noun: &str,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let written = name(&entry).to_string();
    let key = crate::config::vocab::key(&written);
    let Some((first, first_entry)) = map.get(&key) else {
        map.insert(key, (pos, entry));
        return;
    };
    let first_name = name(first_entry);
    let (section, merge, compared) = match noun {
        "role" => ("roles", "merge the two definitions into one", "role names"),
        _ => ("users", "merge the two entries into one", "emails"),
    };
    let hint = if first_name == written {
        merge.to_string()
    } else {
        format!(
            "{compared} are compared case-insensitively: `{first_name}` and `{written}` are the same {noun}"
        )
    };
    diagnostics.push(
        Diagnostic::error(format!("{noun} `{written}` is defined twice"))
            .at(pos, format!("{section}[{written:?}]"))
            .related(*first, "first defined here")
            .hint(hint),
    );
}

impl Merged {
    fn add(&mut self, frag: Fragment, diagnostics: &mut Vec<Diagnostic>) {
        take_once(&mut self.site, "site", frag.site, diagnostics);
        take_once(&mut self.actor, "actor", frag.actor, diagnostics);
        take_once(&mut self.prune, "prune", frag.prune, diagnostics);
        take_once(&mut self.protect, "protect", frag.protect, diagnostics);
        take_once(&mut self.ignore, "ignore", frag.ignore, diagnostics);
        take_once(&mut self.limits, "limits", frag.limits, diagnostics);
        take_once(&mut self.files, "files", frag.files, diagnostics);
        take_once(&mut self.policy, "policy", frag.policy, diagnostics);
        take_once(&mut self.review, "review", frag.review, diagnostics);
        for role in frag.roles {
            insert_once(&mut self.roles, role, |r| &r.name, "role", diagnostics);
        }
        for user in frag.users {
            insert_once(&mut self.users, user, |u| &u.email, "user", diagnostics);
        }
        self.roles_incomplete |= frag.roles_incomplete;
        self.unreadable |= frag.unreadable;
        self.refs.renames.extend(frag.refs.renames);
    }

    /// `site` and `actor` are required. A setting that was present but
    /// invalid already has its own error, and one may be in a file that
    /// could not be read.
    fn check_required(&self, file: FileId, files: usize, diagnostics: &mut Vec<Diagnostic>) {
        let required = [
            (
                "site",
                self.site.is_some(),
                "<site name from your dashboard URLs>",
            ),
            ("actor", self.actor.is_some(), "<email of an admin user>"),
        ];
        for (name, set, example) in required {
            let given = set
                || self.unreadable
                || diagnostics.iter().any(|d| d.path.as_deref() == Some(name));
            if given {
                continue;
            }
            let pos = Pos {
                file,
                line: 1,
                col: 1,
                len: 1,
            };
            let message = if files > 1 {
                format!("no file of the config sets `{name}`")
            } else {
                format!("`{name}` is missing")
            };
            diagnostics.push(Diagnostic::error(message).at(pos, "").hint(format!(
                "add `{name}: {example}` at the top level of one file"
            )));
        }
    }

    fn finish(self, sources: &SourceMap) -> (Desired, Index<'_>) {
        let index = Index {
            sources,
            roles: positions(&self.roles),
            users: positions(&self.users),
            refs: self.refs,
            roles_incomplete: self.roles_incomplete,
        };
        let desired = Desired {
            site: value(self.site),
            actor: value(self.actor),
            prune: value(self.prune),
            protect: value(self.protect),
            ignore: value(self.ignore),
            limits: value(self.limits),
            files: self.files.map(|s| s.value),
            policy: value(self.policy),
            review: value(self.review),
            roles: self.roles.into_iter().map(|(k, (_, r))| (k, r)).collect(),
            users: self.users.into_iter().map(|(k, (_, u))| (k, u)).collect(),
            lock: Lock::default(),
            expired: BTreeMap::new(),
        };
        (desired, index)
    }
}

fn positions<T>(map: &BTreeMap<String, (Pos, T)>) -> BTreeMap<String, Pos> {
    map.iter().map(|(k, (pos, _))| (k.clone(), *pos)).collect()
}

fn value<T: Default>(setting: Option<Setting<T>>) -> T {
    setting.map(|s| s.value).unwrap_or_default()
}

fn merge<'s>(
    fragments: Vec<(FileId, Fragment)>,
    sources: &'s SourceMap,
    layout: &Layout,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<(Desired, Index<'s>)> {
    let first_file = fragments.first().map(|(id, _)| *id)?;
    let rules = fragments
        .iter()
        .find(|(id, _)| Some(*id) == layout.root)
        .and_then(|(_, f)| f.files.as_ref())
        .map(|s| (s.pos, s.value.clone()));
    let mut merged = Merged::default();
    let mut fragments = fragments;
    // The root file first: its settings are the config's.
    fragments.sort_by_key(|(id, _)| Some(*id) != layout.root);
    for (id, mut frag) in fragments {
        if Some(id) != layout.root {
            ownership::settings_outside_root(&frag, layout, sources, diagnostics);
            if let Some((pos, rules)) = &rules {
                ownership::check(
                    &mut frag,
                    &layout.relative(sources, id),
                    rules,
                    *pos,
                    sources,
                    diagnostics,
                );
            }
        }
        merged.add(frag, diagnostics);
    }
    merged.check_required(first_file, sources.len(), diagnostics);
    Some(merged.finish(sources))
}
