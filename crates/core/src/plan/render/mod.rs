//! A plan for people (text, like Terraform's), for pull requests (markdown)
//! and for machines (JSON, versioned).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use similar::{ChangeTag, TextDiff};

use crate::diagnostic::plural;
use crate::text::clean;

use super::severity::{self, Severity};
use super::{
    Action, Grant, Kind, Label, ObjectRef, Plan, Review, Risk, RoleState, Step, UserState,
};

mod drift;
mod markdown;
mod text;

pub use drift::{drift_markdown, drift_text, worst};
pub use markdown::markdown;
pub use text::text;

/// The longest a markdown plan may be (GitHub comments stop at 65,536).
pub const MARKDOWN_LIMIT: usize = 60_000;

struct Palette {
    add: Style,
    remove: Style,
    change: Style,
    rename: Style,
    note: Style,
    blocked: Style,
    bold: Style,
}

impl Palette {
    fn new(styled: bool) -> Self {
        if !styled {
            let p = Style::new();
            return Self {
                add: p,
                remove: p,
                change: p,
                rename: p,
                note: p,
                blocked: p,
                bold: p,
            };
        }
        Self {
            add: AnsiColor::Green.on_default(),
            remove: AnsiColor::Red.on_default(),
            change: AnsiColor::Yellow.on_default(),
            rename: AnsiColor::Cyan.on_default(),
            note: Style::new().dimmed(),
            blocked: AnsiColor::Red.on_default().bold(),
            bold: Style::new().bold(),
        }
    }
}

/// How a rendered plan tells the reader to lift a limit: the command line
/// gives its own words (a flag), this crate knows none.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// ANSI colors (the stream strips them where color is off).
    pub styled: bool,
    /// What allows a change a limit blocks, e.g. a command line.
    pub lift_limits: &'a str,
    /// List every unmanaged user and role by name (Admin members always are).
    pub show_unmanaged: bool,
}

fn quoted_list<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| clean(i.as_ref()).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `+ a, - b` for the difference of two sets.
fn set_delta<T: Ord + std::fmt::Display>(
    before: &BTreeSet<T>,
    after: &BTreeSet<T>,
    p: &Palette,
) -> String {
    let mut parts: Vec<String> = after
        .difference(before)
        .map(|a| format!("{}+ {}{:#}", p.add, clean(&a.to_string()), p.add))
        .collect();
    parts.extend(
        before
            .difference(after)
            .map(|r| format!("{}- {}{:#}", p.remove, clean(&r.to_string()), p.remove)),
    );
    parts.join(", ")
}

/// A word diff, `[-old-]{+new+}` style, for long text.
fn word_diff(old: &str, new: &str, p: &Palette) -> String {
    let diff = TextDiff::from_words(old, new);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let text = clean(change.value());
        match change.tag() {
            ChangeTag::Equal => out.push_str(&text),
            ChangeTag::Delete => {
                let _ = write!(out, "{}[-{text}-]{:#}", p.remove, p.remove);
            }
            ChangeTag::Insert => {
                let _ = write!(out, "{}{{+{text}+}}{:#}", p.add, p.add);
            }
        }
    }
    out
}

fn is_long(text: &str) -> bool {
    text.chars().count() > 50 || text.contains('\n')
}

/// `dashboards."Revenue" (#4711)`: the config key of its kind, the name
/// and the id.
fn grant_label(object: &ObjectRef, grant: &Grant) -> String {
    format!("{}.{:?} (#{})", object.kind.plural(), grant.name, object.id)
}

fn role_lines(
    before: Option<&RoleState>,
    after: Option<&RoleState>,
    p: &Palette,
    out: &mut Vec<String>,
) {
    match (before, after) {
        (None, Some(a)) => role_created(a, p, out),
        (Some(b), None) => out.push(format!(
            "{}(with {} privileges and grants){:#}",
            p.note,
            b.grant_count(),
            p.note
        )),
        (Some(b), Some(a)) => {
            description_line(&b.description, &a.description, p, out);
            privilege_lines(b, a, p, out);
            grant_lines(b, a, p, out);
        }
        (None, None) => {}
    }
}

fn role_created(a: &RoleState, p: &Palette, out: &mut Vec<String>) {
    if !a.description.is_empty() {
        out.push(format!(
            "{}+{:#} description: {:?}",
            p.add, p.add, a.description
        ));
    }
    for (t, actions) in &a.privileges {
        out.push(format!(
            "{}+{:#} privileges.{t}: {}",
            p.add,
            p.add,
            quoted_list(actions)
        ));
    }
    for (id, g) in &a.grants {
        out.push(format!(
            "{}+{:#} {}: {}",
            p.add,
            p.add,
            grant_label(id, g),
            quoted_list(&g.actions)
        ));
    }
}

fn description_line(old: &str, new: &str, p: &Palette, out: &mut Vec<String>) {
    if old == new {
        return;
    }
    if is_long(old) || is_long(new) {
        out.push(format!(
            "{}~{:#} description: {}",
            p.change,
            p.change,
            word_diff(old, new, p)
        ));
    } else {
        out.push(format!(
            "{}~{:#} description: {old:?} -> {new:?}",
            p.change, p.change
        ));
    }
}

fn privilege_lines(b: &RoleState, a: &RoleState, p: &Palette, out: &mut Vec<String>) {
    let types: BTreeSet<&String> = b.privileges.keys().chain(a.privileges.keys()).collect();
    let none = BTreeSet::new();
    for t in types {
        let old = b.privileges.get(t).unwrap_or(&none);
        let new = a.privileges.get(t).unwrap_or(&none);
        if old != new {
            out.push(format!(
                "{}~{:#} privileges.{t}: {}",
                p.change,
                p.change,
                set_delta(old, new, p)
            ));
        }
    }
}

fn grant_lines(b: &RoleState, a: &RoleState, p: &Palette, out: &mut Vec<String>) {
    let ids: BTreeSet<&ObjectRef> = b.grants.keys().chain(a.grants.keys()).collect();
    for id in ids {
        let line = match (b.grants.get(id), a.grants.get(id)) {
            (None, Some(g)) => (&p.add, "+", g, quoted_list(&g.actions)),
            (Some(g), None) => (&p.remove, "-", g, quoted_list(&g.actions)),
            (Some(old), Some(new)) if old.actions != new.actions => (
                &p.change,
                "~",
                new,
                set_delta(&old.actions, &new.actions, p),
            ),
            _ => continue,
        };
        let (style, mark, g, actions) = line;
        out.push(format!(
            "{style}{mark}{style:#} {}: {actions}",
            grant_label(id, g)
        ));
    }
}

fn user_lines(
    before: Option<&UserState>,
    after: Option<&UserState>,
    p: &Palette,
    out: &mut Vec<String>,
) {
    match (before, after) {
        (None, Some(a)) => {
            let name = format!("{} {}", a.first_name, a.last_name);
            out.push(format!("{}+{:#} name: {name:?}", p.add, p.add));
            if !a.roles.is_empty() {
                out.push(format!(
                    "{}+{:#} roles: {}",
                    p.add,
                    p.add,
                    quoted_list(a.role_names())
                ));
            }
        }
        (Some(b), None) => {
            if !b.roles.is_empty() {
                out.push(format!(
                    "{}(member of {}){:#}",
                    p.note,
                    quoted_list(b.role_names()),
                    p.note
                ));
            }
        }
        (Some(b), Some(a)) => {
            for (field, old, new) in [
                ("first_name", &b.first_name, &a.first_name),
                ("last_name", &b.last_name, &a.last_name),
            ] {
                if old != new {
                    out.push(format!(
                        "{}~{:#} {field}: {old:?} -> {new:?}",
                        p.change, p.change
                    ));
                }
            }
            let (old, new) = (b.role_names(), a.role_names());
            if old != new {
                out.push(format!(
                    "{}~{:#} roles: {}",
                    p.change,
                    p.change,
                    set_delta(&old, &new, p)
                ));
            }
        }
        (None, None) => {}
    }
}

/// The heading of a change: `# user "x" will be updated`.
fn heading(c: &Step) -> String {
    let what = match (c.action(), c.kind()) {
        (Action::Create, _) => "will be created".to_string(),
        (Action::Update, Kind::User) if c.risks.contains(&Risk::StripUser) => {
            "will lose every role (prune.users: strip)".to_string()
        }
        (Action::Update, _) => "will be updated".to_string(),
        (Action::Delete, Kind::User) => {
            "will be deleted (not in the config; prune.users: delete)".to_string()
        }
        (Action::Delete, Kind::Role) => {
            "will be deleted (not in the config; prune.roles: delete)".to_string()
        }
        (Action::Rename, _) => {
            let old = c.change.renamed_from().unwrap_or_default();
            format!("will be renamed from {old:?}")
        }
    };
    format!("# {} {:?} {what}", c.kind(), c.key())
}

/// The lines of one change, without indentation.
fn change_lines(c: &Step, labels: &[Label], p: &Palette, o: &Options<'_>) -> Vec<String> {
    let mut head = heading(c);
    if let Some(source) = &c.source {
        let _ = write!(head, "  ({source})");
    }
    if !c.risks.is_empty() {
        let risks: Vec<&str> = c.risks.iter().map(|r| r.as_str()).collect();
        let _ = write!(head, "  [{}]", risks.join(", "));
    }
    let mut lines = vec![format!("{}{head}{:#}", p.note, p.note)];
    for label in labels {
        lines.push(format!("{}# {label}{:#}", p.note, p.note));
    }
    let style = match c.action() {
        Action::Create => &p.add,
        Action::Update => &p.change,
        Action::Delete => &p.remove,
        Action::Rename => &p.rename,
    };
    let title = match c.change.renamed_from() {
        Some(old) => format!("{} {:?} -> {:?}", c.kind(), old, c.key()),
        None => format!("{} {:?}", c.kind(), c.key()),
    };
    lines.push(format!(
        "{style}{}{style:#} {}{title}{:#}",
        c.action().symbol(),
        p.bold,
        p.bold
    ));
    let mut body = Vec::new();
    let ch = &c.change;
    match c.kind() {
        Kind::Role => role_lines(ch.role_before(), ch.role_after(), p, &mut body),
        Kind::User => user_lines(ch.user_before(), ch.user_after(), p, &mut body),
    }
    if let Some(b) = &c.blocked {
        let allow = if b.rule.is_limit() {
            format!("; allow with {}", o.lift_limits)
        } else {
            " (no flag overrides this)".to_string()
        };
        body.push(format!(
            "{}! blocked by {}{allow}{:#}",
            p.blocked, b.rule, p.blocked
        ));
    }
    lines.extend(body.into_iter().map(|l| format!("    {l}")));
    lines
}

fn summary_line(plan: &Plan) -> String {
    let s = plan.summary();
    format!(
        "Plan: {} to create, {} to update, {} to delete, {} to rename.",
        s.create, s.update, s.delete, s.rename
    )
}

fn unmanaged_line(plan: &Plan) -> Option<String> {
    let u = &plan.unmanaged;
    if u.users.is_empty() && u.roles.is_empty() {
        return (!u.kept.is_empty())
            .then(|| "Not managed by this config (kept as it is):".to_string());
    }
    Some(format!(
        "Not managed by this config (left alone): {}, {}.",
        plural(u.users.len(), "user"),
        plural(u.roles.len(), "role")
    ))
}

/// The unmanaged objects by name (all with `show_unmanaged`; Admin members
/// always, tagged `unmanaged-admin`), one line each, without markup.
fn unmanaged_items(plan: &Plan, o: &Options<'_>) -> Vec<String> {
    let u = &plan.unmanaged;
    let user = |x: &super::UnmanagedUser| {
        let roles = if x.roles.is_empty() {
            String::new()
        } else {
            format!(" (roles: {})", quoted_list(&x.roles))
        };
        let tags: Vec<&str> = x.risks.iter().map(|r| r.as_str()).collect();
        let tag = if tags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", tags.join(", "))
        };
        format!("user {:?}{roles}{tag}", x.email)
    };
    let mut lines: Vec<String> = u
        .users
        .iter()
        .filter(|x| o.show_unmanaged || x.admin)
        .map(user)
        .collect();
    if o.show_unmanaged {
        lines.extend(u.roles.iter().map(|r| format!("role {r:?}")));
    }
    lines.extend(u.kept.iter().map(ToString::to_string));
    lines
}

fn blocked_line(plan: &Plan, o: &Options<'_>) -> Option<String> {
    let n = plan.changes.iter().filter(|c| c.blocked.is_some()).count();
    (n > 0).then(|| {
        let limit = plan
            .changes
            .iter()
            .any(|c| c.blocked.as_ref().is_some_and(|b| b.rule.is_limit()));
        let how = if limit {
            format!(
                " Review them, then run {} if they are intended.",
                o.lift_limits
            )
        } else {
            String::new()
        };
        format!(
            "Blocked: {n} change{} break{} a safety rule; apply will write nothing.{how}",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" }
        )
    })
}

/// Access gained and lost, grouped by action: `Access: 140 users gain
/// download_pdf on 12 dashboards.`
fn access_lines(review: &Review) -> Vec<String> {
    let Some(effect) = review.access.as_ref().filter(|e| !e.is_empty()) else {
        return Vec::new();
    };
    let group = |gains: &[super::Access], verb: (&str, &str)| -> Vec<String> {
        let mut by_action: std::collections::BTreeMap<&str, (BTreeSet<&str>, BTreeSet<&str>)> =
            std::collections::BTreeMap::new();
        for g in gains {
            let entry = by_action.entry(&g.action).or_default();
            entry.0.insert(&g.user);
            entry.1.insert(&g.dashboard_id);
        }
        by_action
            .into_iter()
            .map(|(action, (users, dashboards))| {
                let verb = if users.len() == 1 { verb.0 } else { verb.1 };
                format!(
                    "  {} {verb} {} on {}",
                    plural(users.len(), "user"),
                    clean(action),
                    plural(dashboards.len(), "dashboard")
                )
            })
            .collect()
    };
    let mut lines = vec![access_summary(effect)];
    lines.extend(group(&effect.gained, ("gains", "gain")));
    lines.extend(group(&effect.lost, ("loses", "lose")));
    lines
}

/// `Access (cross-role, admins left out): 140 users gain actions on
/// dashboards, 3 users lose some.`
fn access_summary(effect: &super::Effect) -> String {
    let users = |g: &[super::Access]| {
        g.iter()
            .map(|x| x.user.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    };
    let (gain, lose) = (users(&effect.gained), users(&effect.lost));
    format!(
        "Access (cross-role, admins left out): {} {} actions on dashboards, {} {} some.",
        plural(gain, "user"),
        if gain == 1 { "gains" } else { "gain" },
        plural(lose, "user"),
        if lose == 1 { "loses" } else { "lose" }
    )
}

/// ` (partial plan: 3 of 11 changes)` for a plan of a selection.
fn partial_note(plan: &Plan) -> String {
    plan.partial.map_or_else(String::new, |p| {
        format!(" (partial plan: {} of {} changes)", p.changes, p.of)
    })
}

/// For a plan made from a snapshot: when the site was as planned against.
fn recorded_note(plan: &Plan) -> Option<String> {
    let taken = plan.made_from.as_ref()?.snapshot.as_ref()?;
    Some(format!(
        "Planned against the site as recorded at {} (a snapshot of {}, checksum {}), not read now: `rolecall apply` checks each change against the live site.",
        clean(&taken.at),
        clean(&taken.endpoint),
        clean(&taken.digest)
    ))
}

/// The plan and its review as versioned, stable JSON.
pub fn json(plan: &Plan, review: &Review) -> String {
    plan.to_json(review)
}
