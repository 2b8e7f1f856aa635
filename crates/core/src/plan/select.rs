//! Which changes a plan holds: `--target` / `--exclude` selectors, and the
//! changes a selected one needs (a role created or renamed first).

use globset::{GlobBuilder, GlobMatcher};

use super::{Change, Kind, Partial, RoleChange, RoleRef, Step};
use crate::config::vocab::key;
use crate::diagnostic::Diagnostic;

/// Selects changes by kind and name: `user:GLOB` or `role:GLOB`.
#[derive(Debug, Clone)]
pub struct Selector {
    /// Users or roles.
    pub kind: Kind,
    /// The glob, as written.
    pub pattern: String,
    matcher: GlobMatcher,
}

impl Selector {
    /// Whether `name` (an email or a role name) matches its pattern.
    pub fn matches_pattern(&self, name: &str) -> bool {
        self.matcher.is_match(name)
    }

    /// `user:GLOB` or `role:GLOB`; why not, in words.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (kind, pattern) = match text.split_once(':') {
            Some(("user", p)) => (Kind::User, p),
            Some(("role", p)) => (Kind::Role, p),
            _ => {
                return Err(format!(
                    "`{text}` is not a selector: write `user:GLOB` or `role:GLOB`, e.g. `user:*@acme.com` or `role:Finance*`"
                ));
            }
        };
        let matcher = GlobBuilder::new(pattern)
            .case_insensitive(true)
            .build()
            .map_err(|e| format!("`{pattern}` is not a valid glob: {}", e.kind()))?
            .compile_matcher();
        Ok(Self {
            kind,
            pattern: pattern.to_string(),
            matcher,
        })
    }

    /// Whether a user (by email) or a role (by name) is selected.
    pub fn matches_name(&self, kind: Kind, name: &str) -> bool {
        self.kind == kind && self.matcher.is_match(name)
    }

    fn matches(&self, change: &Change) -> bool {
        // A rename is selected by its new or its old name.
        self.kind == change.kind()
            && (self.matcher.is_match(change.key())
                || change
                    .renamed_from()
                    .is_some_and(|o| self.matcher.is_match(o)))
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.pattern)
    }
}

/// The changes a partial plan keeps: those a target selects (all of them
/// when there is no target) and no exclude does.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--target`: only these, and what they need.
    pub targets: Vec<Selector>,
    /// `--exclude`: never these.
    pub excludes: Vec<Selector>,
}

impl Selection {
    /// Whether it selects everything.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }

    fn excludes(&self, change: &Change) -> bool {
        self.excludes.iter().any(|s| s.matches(change))
    }

    fn selects(&self, change: &Change) -> bool {
        (self.targets.is_empty() || self.targets.iter().any(|s| s.matches(change)))
            && !self.excludes(change)
    }
}

/// Whether `step` makes the role `r` exist under its name: a create of a
/// role the membership names, or the rename of the role it points at.
fn provides(step: &Step, r: &RoleRef) -> bool {
    match (&step.change, &r.id) {
        (Change::Role(RoleChange::Create(after)), None) => key(&after.name) == key(&r.name),
        (Change::Role(RoleChange::Rename(e)), Some(rid)) => e.id == *rid,
        _ => false,
    }
}

/// The selected changes, with what they need: a user given a role that the
/// plan creates or renames needs that change too, which is kept (labelled a
/// prerequisite) or, if excluded, is an error.
pub(super) fn select(
    steps: Vec<Step>,
    selection: &Selection,
) -> Result<(Vec<Step>, Option<Partial>), Vec<Diagnostic>> {
    if selection.is_empty() {
        return Ok((steps, None));
    }
    let keep: Vec<bool> = steps.iter().map(|s| selection.selects(&s.change)).collect();
    let mut pulled = vec![false; steps.len()];
    let mut errors = Vec::new();
    for (_, step) in steps.iter().enumerate().filter(|(i, _)| keep[*i]) {
        let Some(after) = step.change.user_after() else {
            continue;
        };
        for r in &after.roles {
            let Some(j) = steps.iter().position(|s| provides(s, r)) else {
                continue;
            };
            if keep[j] || pulled[j] {
                continue;
            }
            if selection.excludes(&steps[j].change) {
                errors.push(
                    Diagnostic::error(format!(
                        "the change to {} `{}` needs role `{}` {}, which the selection excludes",
                        step.kind(),
                        step.key(),
                        r.name,
                        if r.id.is_none() {
                            "created first"
                        } else {
                            "renamed first"
                        }
                    ))
                    .hint("exclude that change too, or stop excluding the role"),
                );
                continue;
            }
            pulled[j] = true;
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let of = steps.len();
    let kept: Vec<Step> = steps
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep[*i] || pulled[*i])
        .map(|(i, mut s)| {
            s.prerequisite = pulled[i];
            s
        })
        .collect();
    let partial = Partial {
        changes: kept.len(),
        of,
    };
    Ok((kept, Some(partial)))
}
