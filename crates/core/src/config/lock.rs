//! `rolecall.lock`: the dashboard each name of a config was pinned to, by
//! id. Dashboards are renamed and duplicated by BI work every day; a config
//! names them for people, the lock keeps each grant on the dashboard it was
//! written for. Committed beside the root file; written by `export`, by
//! `plan --out` and `apply` when a name is resolved for the first time, and
//! by `rolecall lock --update`.
//!
//! JSON, sorted, one pin per line: a lock diffs like the config.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The lock's file name, beside the root file of a config.
pub const LOCK_FILE: &str = "rolecall.lock";

/// The version this rolecall reads and writes.
pub const LOCK_VERSION: u32 = 1;

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
    pub fn new(site: impl Into<String>, dashboards: BTreeMap<String, String>) -> Self {
        Self {
            lock_version: LOCK_VERSION,
            site: site.into(),
            dashboards,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.dashboards.is_empty()
    }

    /// The id `name` is pinned to.
    pub fn pin(&self, name: &str) -> Option<&str> {
        self.dashboards.get(name).map(String::as_str)
    }

    /// Reads a lock; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Lock, String> {
        let lock: Lock = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if lock.lock_version != LOCK_VERSION {
            return Err(format!(
                "a lock of version {}; this rolecall reads version {LOCK_VERSION}",
                lock.lock_version
            ));
        }
        if let Some((name, id)) = lock
            .dashboards
            .iter()
            .find(|(n, id)| n.is_empty() || !is_id(id))
        {
            return Err(format!("`{name}`: `{id}` is not a dashboard id"));
        }
        Ok(lock)
    }

    /// The lock as its file holds it.
    pub fn to_text(&self) -> String {
        let lock = Lock::new(self.site.clone(), self.dashboards.clone());
        let mut text = serde_json::to_string_pretty(&lock).expect("a lock serializes");
        text.push('\n');
        text
    }
}

/// Where the lock of the config at `config` (a file or a directory) is:
/// beside its root file.
pub fn path_for(config: &std::path::Path) -> std::path::PathBuf {
    if config.is_dir() {
        return config.join(LOCK_FILE);
    }
    match config.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.join(LOCK_FILE),
        None => LOCK_FILE.into(),
    }
}

/// What an id of the site looks like: letters, digits, `-` and `_`.
pub fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
