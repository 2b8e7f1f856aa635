//! The JSON form of a plan (`format_version` 2): every change flat, with its
//! `op` and the `action`/`kind`/`key`/`id` readers filter on. Reading one
//! back checks that the fields fit the `op`, so a file can hold only what
//! [`super::Change`] can express.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::model::Origin;

use super::{
    Action, Blocked, Change, ChecksumKey, DashboardNote, Edit, FORMAT_VERSION, Kind, Label,
    MadeFrom, Op, Partial, Removal, Review, Risk, RoleChange, RoleState, Step, Summary, Unmanaged,
    UserChange, UserState,
};

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Plan {
    format_version: u32,
    site: String,
    actor: String,
    changes: Vec<WireStep>,
    /// Written for readers; recounted from the changes when read, and
    /// refused if it disagrees.
    #[serde(default)]
    summary: Option<Summary>,
    unmanaged: Unmanaged,
    digests: BTreeMap<ChecksumKey, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partial: Option<Partial>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    made_from: Option<MadeFrom>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access: Option<super::Effect>,
    /// Dashboards the site moved and the lock kept in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dashboards: Vec<DashboardNote>,
}

impl Plan {
    pub(super) fn summary(&self) -> Option<Summary> {
        self.summary
    }
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(untagged)]
enum State {
    Role(RoleState),
    User(UserState),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireStep {
    op: Op,
    action: Action,
    kind: Kind,
    key: String,
    id: Option<String>,
    before: Option<State>,
    after: Option<State>,
    risks: BTreeSet<Risk>,
    source: Option<String>,
    blocked: Option<Blocked>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    labels: Vec<Label>,
    /// From `drift` with a baseline: `site`, `config` or `both` (read back
    /// as nothing: it follows from the labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    /// `critical`, `high`, `normal` or `low` (read back as nothing: it
    /// follows from the change and its labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    severity: Option<super::severity::Severity>,
}

/// Where a drift comes from, by its labels.
fn origin(labels: &[Label]) -> Option<String> {
    let site = labels.contains(&Label::ChangedOnSite);
    let config = labels.contains(&Label::PendingInConfig);
    match (site, config) {
        (true, true) => Some("both".into()),
        (true, false) => Some("site".into()),
        (false, true) => Some("config".into()),
        (false, false) => None,
    }
}

impl WireStep {
    fn new(step: &Step, labels: Vec<Label>) -> Self {
        let c = &step.change;
        let before = c
            .role_before()
            .cloned()
            .map(State::Role)
            .or_else(|| c.user_before().cloned().map(State::User));
        let after = c
            .role_after()
            .cloned()
            .map(State::Role)
            .or_else(|| c.user_after().cloned().map(State::User));
        WireStep {
            op: c.op(),
            action: c.action(),
            kind: c.kind(),
            key: c.key().to_string(),
            id: c.id().map(str::to_string),
            before,
            after,
            risks: step.risks.clone(),
            source: step.source.as_ref().map(ToString::to_string),
            blocked: step.blocked.clone(),
            origin: origin(&labels),
            severity: Some(super::severity::severity(step, &labels)),
            labels,
        }
    }
}

impl Plan {
    pub(super) fn new(plan: &super::Plan, review: &Review) -> Self {
        Plan {
            format_version: FORMAT_VERSION,
            site: plan.site.clone(),
            actor: plan.actor.clone(),
            changes: (plan.changes.iter().enumerate())
                .map(|(i, step)| WireStep::new(step, review.labels_of(plan, i)))
                .collect(),
            summary: Some(plan.summary()),
            unmanaged: plan.unmanaged.clone(),
            digests: plan.digests.clone(),
            partial: plan.partial,
            made_from: plan.made_from.clone(),
            access: review.access.clone(),
            dashboards: plan.dashboards.clone(),
        }
    }
}

/// A step's `file:line` as written: a file's name (escaped as shown: no
/// control character) and a line number from 1.
fn origin_of(source: &str) -> Result<Origin, String> {
    source
        .rsplit_once(':')
        .filter(|(file, line)| {
            !file.is_empty()
                && !file.chars().any(crate::text::is_unsafe)
                && !line.is_empty()
                && line.bytes().all(|b| b.is_ascii_digit())
        })
        .and_then(|(file, line)| {
            Some(Origin {
                file: file.into(),
                line: line.parse().ok().filter(|l| *l > 0)?,
                col: 0,
            })
        })
        .ok_or_else(|| {
            format!(
                "`source` is `file:line`, not `{}`",
                crate::text::clean(source)
            )
        })
}

fn change(w: WireStep) -> Result<(Change, WireMeta), String> {
    let meta = WireMeta {
        risks: w.risks,
        source: w.source.as_deref().map(origin_of).transpose()?,
        blocked: w.blocked,
        labels: w.labels,
    };
    let id = w.id.clone();
    let needs_id = || id.clone().ok_or_else(|| format!("`{}`: no `id`", w.key));
    fn edit<S>(id: String, before: S, after: S) -> Edit<S> {
        Edit { id, before, after }
    }
    fn removal<S>(id: String, before: S) -> Removal<S> {
        Removal { id, before }
    }
    use State::{Role, User};
    let change = match (w.op, w.before, w.after) {
        (Op::CreateRole, None, Some(Role(after))) => Change::Role(RoleChange::Create(after)),
        (Op::UpdateRole, Some(Role(b)), Some(Role(a))) => {
            Change::Role(RoleChange::Update(edit(needs_id()?, b, a)))
        }
        (Op::RenameRole, Some(Role(b)), Some(Role(a))) => {
            Change::Role(RoleChange::Rename(edit(needs_id()?, b, a)))
        }
        (Op::DeleteRole, Some(Role(b)), None) => {
            Change::Role(RoleChange::Delete(removal(needs_id()?, b)))
        }
        (Op::CreateUser, None, Some(User(after))) => Change::User(UserChange::Create(after)),
        (Op::UpdateUser, Some(User(b)), Some(User(a))) => {
            Change::User(UserChange::Update(edit(needs_id()?, b, a)))
        }
        (Op::StripUser, Some(User(b)), Some(User(a))) => {
            Change::User(UserChange::Strip(edit(needs_id()?, b, a)))
        }
        (Op::DeleteUser, Some(User(b)), None) => {
            Change::User(UserChange::Delete(removal(needs_id()?, b)))
        }
        _ => {
            return Err(format!(
                "`{}`: `before` and `after` do not fit the operation",
                w.key
            ));
        }
    };
    change
        .check()
        .map_err(|why| format!("`{}`: {why}", w.key))?;
    if change.action() != w.action || change.kind() != w.kind || change.key() != w.key {
        return Err(format!(
            "`{}`: `action`, `kind` or `key` do not fit the operation",
            w.key
        ));
    }
    if change.id().is_none() && id.is_some() {
        return Err(format!("`{}`: a create has no `id`", w.key));
    }
    Ok((change, meta))
}

struct WireMeta {
    risks: BTreeSet<Risk>,
    source: Option<Origin>,
    blocked: Option<Blocked>,
    labels: Vec<Label>,
}

impl Plan {
    /// The plan and its review; every change read as one of the
    /// operations.
    pub(super) fn read(self) -> Result<(super::Plan, Review), String> {
        let mut labels = BTreeMap::new();
        let mut changes = Vec::with_capacity(self.changes.len());
        for (i, w) in self.changes.into_iter().enumerate() {
            let (change, mut meta) = change(w)?;
            let prerequisite = meta.labels.contains(&Label::Prerequisite);
            meta.labels.retain(|l| *l != Label::Prerequisite);
            if !meta.labels.is_empty() {
                labels.insert(i, meta.labels);
            }
            changes.push(Step {
                change,
                risks: meta.risks,
                source: meta.source,
                blocked: meta.blocked,
                prerequisite,
            });
        }
        let plan = super::Plan {
            site: self.site,
            actor: self.actor,
            changes,
            unmanaged: self.unmanaged,
            digests: self.digests,
            partial: self.partial,
            made_from: self.made_from,
            dashboards: self.dashboards,
        };
        let review = Review {
            access: self.access,
            labels,
            renamed: Vec::new(),
        };
        Ok((plan, review))
    }
}
