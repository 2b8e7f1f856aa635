//! Glob patterns of names (`protect:`, `ignore:`, `review.owners`), matched
//! case-insensitively.

use std::fmt;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Serialize, Serializer};

/// A list of glob patterns, matched case-insensitively.
#[derive(Clone, Default)]
pub struct Globs {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Globs {
    /// Compiles the patterns; the error names the first one that does not
    /// parse, by index.
    pub fn new(patterns: Vec<String>) -> Result<Self, (usize, globset::Error)> {
        let mut builder = GlobSetBuilder::new();
        for (i, p) in patterns.iter().enumerate() {
            let glob = GlobBuilder::new(p)
                .case_insensitive(true)
                .literal_separator(false)
                .build()
                .map_err(|e| (i, e))?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|e| (0, e))?;
        Ok(Self { patterns, set })
    }

    /// Checks one pattern without keeping it.
    pub fn check(pattern: &str) -> Result<(), globset::Error> {
        GlobBuilder::new(pattern).build().map(drop)
    }

    /// Whether `name` matches (case-insensitively).
    pub fn is_match(&self, name: &str) -> bool {
        self.set.is_match(name)
    }

    /// The first pattern that matches `name`.
    pub fn first_match(&self, name: &str) -> Option<&str> {
        self.first_index(name).map(|i| self.patterns[i].as_str())
    }

    /// The index of the first pattern that matches `name`.
    pub fn first_index(&self, name: &str) -> Option<usize> {
        self.set.matches(name).into_iter().min()
    }
}

impl fmt::Debug for Globs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.patterns).finish()
    }
}

impl PartialEq for Globs {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}

impl Serialize for Globs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.patterns.serialize(s)
    }
}
