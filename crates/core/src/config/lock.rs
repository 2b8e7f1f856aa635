//! The lock: the dashboard each name of a config was pinned to, by id.
//! Dashboards are renamed and duplicated by BI work every day; a config
//! names them for people, the lock keeps each grant on the dashboard it was
//! written for. A directory config has `DIR/rolecall.lock`; a one-file
//! config `NAME.yaml` has `NAME.lock` beside it, so that several one-file
//! configs (one per site) share a folder. Committed with the config;
//! written by `export`, by `plan --out` (once the plan is saved) and
//! `apply` (once confirmed) when a name is resolved for the first time,
//! and by `rolecall lock --update`. It always records its site.
//!
//! JSON, sorted, one pin per line: a lock diffs like the config.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The lock's file name in a config directory.
pub const LOCK_FILE: &str = "rolecall.lock";

/// The extension of a lock file (`NAME.lock` beside `NAME.yaml`).
pub const LOCK_EXTENSION: &str = "lock";

/// The version this rolecall reads and writes.
pub const LOCK_VERSION: u32 = 1;

/// `rolecall.lock`: dashboard names pinned to ids, for one site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    lock_version: u32,
    /// The site whose dashboards these are: a lock of another site (two
    /// configs in one directory, a copied directory) is refused.
    pub site: String,
    /// Dashboard name as the config writes it -> its id on the site.
    pub dashboards: BTreeMap<String, String>,
}

impl Lock {
    /// A lock of `site` with these pins.
    pub fn new(site: impl Into<String>, dashboards: BTreeMap<String, String>) -> Self {
        Self {
            lock_version: LOCK_VERSION,
            site: site.into(),
            dashboards,
        }
    }

    /// Whether it pins nothing.
    pub fn is_empty(&self) -> bool {
        self.dashboards.is_empty()
    }

    /// The id `name` is pinned to.
    pub fn pin(&self, name: &str) -> Option<&str> {
        self.dashboards.get(name).map(String::as_str)
    }

    /// Reads a lock; the error says what is wrong with it, and where
    /// when it can (a name pinned twice).
    pub fn parse(text: &str) -> Result<Lock, LockError> {
        let file: LockFile = serde_json::from_str(text).map_err(|e| LockError {
            message: e.to_string(),
            at: (e.line() > 0).then(|| (e.line(), e.column())),
        })?;
        if file.lock_version != LOCK_VERSION {
            return Err(LockError::new(format!(
                "a lock of version {}; this rolecall reads version {LOCK_VERSION}",
                file.lock_version
            )));
        }
        let mut dashboards = BTreeMap::new();
        for (name, id) in file.dashboards.0 {
            if name.is_empty() || !is_pinned_id(&id) {
                return Err(LockError::new(format!(
                    "`{}`: `{}` is not a dashboard id",
                    crate::text::clean(&name),
                    crate::text::clean(&id)
                )));
            }
            if dashboards.insert(name.clone(), id).is_some() {
                return Err(LockError {
                    message: format!(
                        "`{}` is pinned twice: a name has one pin",
                        crate::text::clean(&name)
                    ),
                    at: key_position(text, &name),
                });
            }
        }
        Ok(Lock {
            lock_version: file.lock_version,
            site: file.site,
            dashboards,
        })
    }

    /// The lock as its file holds it.
    pub fn to_text(&self) -> String {
        let lock = Lock::new(self.site.clone(), self.dashboards.clone());
        let mut text = serde_json::to_string_pretty(&lock).expect("a lock serializes");
        text.push('\n');
        text
    }
}

/// Why a lock cannot be read: the message, and the line and column (1-based)
/// of the entry at fault when it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockError {
    /// What is wrong.
    pub message: String,
    /// The line and column (1-based) of the entry at fault, when known.
    pub at: Option<(usize, usize)>,
}

impl LockError {
    fn new(message: String) -> Self {
        Self { message, at: None }
    }
}

/// A lock as its file holds it: the pins in file order, so that a name
/// written twice is seen (a map would keep the last one in silence).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockFile {
    lock_version: u32,
    /// Absent in the earliest locks: read as none, healed by the next write.
    #[serde(default)]
    site: String,
    dashboards: Pairs,
}

struct Pairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of dashboard names to ids")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Line and column of the last `"name"` the file writes: the second pin of
/// a name pinned twice.
fn key_position(text: &str, name: &str) -> Option<(usize, usize)> {
    let quoted = serde_json::to_string(name).ok()?;
    let at = text.rmatch_indices(&quoted).map(|(i, _)| i).next()?;
    let line = text[..at].matches('\n').count() + 1;
    let col = text[..at]
        .rsplit('\n')
        .next()
        .map_or(0, |l| l.chars().count())
        + 1;
    Some((line, col))
}

/// Where the lock of the config at `config` (a file or a directory) is:
/// `DIR/rolecall.lock` for a directory, `NAME.lock` beside `NAME.yaml`.
pub fn path_for(config: &std::path::Path) -> std::path::PathBuf {
    if config.is_dir() {
        return config.join(LOCK_FILE);
    }
    path_for_file(config)
}

/// The lock beside the one-file config `file` (whether or not it exists):
/// its name with the extension `.lock`.
pub fn path_for_file(file: &std::path::Path) -> std::path::PathBuf {
    if file.file_name().is_none() {
        return file.join(LOCK_FILE);
    }
    file.with_extension(LOCK_EXTENSION)
}

/// Whether `path` names a lock (`*.lock`).
pub fn is_lock(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e == LOCK_EXTENSION)
}

/// An id a lock may pin: whatever the site lists (ids are opaque: `x:1`,
/// `a b`, `é`), bar control characters, which no id of a real site holds
/// and a terminal would act on. The lock is written by rolecall from the
/// site's listing, and must read back what it wrote.
fn is_pinned_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 1024 && !id.chars().any(char::is_control)
}

/// What an id written `"#ID"` in a config looks like: letters, digits, `-`
/// and `_` (a key such as `"#1 Priorities"` is a name that starts with `#`).
pub fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_reads_back_every_id_the_site_may_list() {
        let pins: BTreeMap<String, String> =
            [("Colon", "x:1"), ("Space", "a b"), ("Accent", "é/2")]
                .into_iter()
                .map(|(n, i)| (n.to_string(), i.to_string()))
                .collect();
        let lock = Lock::new("acme", pins);
        let again = Lock::parse(&lock.to_text()).expect("a lock rolecall wrote reads back");
        assert_eq!(again, lock);
        let bad = lock.to_text().replace("x:1", "x\\u001b[2J");
        assert!(Lock::parse(&bad).is_err(), "a control character is no id");
    }
}
