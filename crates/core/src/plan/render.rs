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

/// The plan as text; with `styled`, ANSI colors (the stream strips them
/// where color is off).
pub fn text(plan: &Plan, review: &Review, o: &Options<'_>) -> String {
    let p = Palette::new(o.styled);
    let mut out = String::new();
    let partial = partial_note(plan);
    if let Some(note) = recorded_note(plan) {
        let _ = writeln!(out, "{note}\n");
    }
    for note in &plan.dashboards {
        let _ = writeln!(out, "{}warning{:#}: {note}", p.blocked, p.blocked);
    }
    if !plan.dashboards.is_empty() {
        out.push('\n');
    }
    if plan.is_empty() {
        let what = if partial.is_empty() {
            "the config"
        } else {
            "the config for the selection"
        };
        let _ = writeln!(
            out,
            "No changes: the site `{}` matches {what}.{partial}",
            plan.site
        );
    } else {
        let _ = writeln!(
            out,
            "rolecall will make these changes to the site `{}`{partial}:\n",
            plan.site
        );
        for (i, c) in plan.changes.iter().enumerate() {
            for line in change_lines(c, &review.labels_of(plan, i), &p, o) {
                let _ = writeln!(out, "  {line}");
            }
            out.push('\n');
        }
        let _ = writeln!(out, "{}{}{:#}", p.bold, summary_line(plan), p.bold);
    }
    for line in access_lines(review) {
        let _ = writeln!(out, "{line}");
    }
    text_unmanaged(plan, o, &mut out);
    if let Some(line) = blocked_line(plan, o) {
        let _ = writeln!(out, "{}{line}{:#}", p.blocked, p.blocked);
    }
    out
}

/// The plan and its review as versioned, stable JSON.
pub fn json(plan: &Plan, review: &Review) -> String {
    plan.to_json(review)
}

/// What the config does not manage, as text: the count, then the names.
fn text_unmanaged(plan: &Plan, o: &Options<'_>, out: &mut String) {
    if let Some(line) = unmanaged_line(plan) {
        let _ = writeln!(out, "{line}");
    }
    for item in unmanaged_items(plan, o) {
        let _ = writeln!(out, "  {item}");
    }
}

/// What the config does not manage, as markdown (after `lead`): the count,
/// then the names as a list.
fn markdown_unmanaged(plan: &Plan, o: &Options<'_>, lead: &str, out: &mut String) {
    if let Some(line) = unmanaged_line(plan) {
        let _ = writeln!(out, "{lead}{line}");
    }
    for item in unmanaged_items(plan, o) {
        let _ = writeln!(out, "- {}", escape(&item));
    }
}

/// A finding of a drift report: a change (by index), an unmanaged Admin
/// member, or a dashboard the lock kept in place; with its severity.
enum Finding<'p> {
    Change(usize),
    Admin(&'p super::UnmanagedUser),
    Dashboard(&'p super::DashboardNote),
}

/// Every finding of a drift report, most severe first.
fn findings<'p>(plan: &'p Plan, review: &Review) -> Vec<(Severity, Finding<'p>)> {
    let mut out: Vec<(Severity, Finding<'_>)> =
        severity::order(&plan.changes, |i| review.labels_of(plan, i))
            .into_iter()
            .map(|(i, s)| (s, Finding::Change(i)))
            .collect();
    out.extend(
        plan.unmanaged
            .admins()
            .map(|u| (Severity::Critical, Finding::Admin(u))),
    );
    out.extend(plan.dashboards.iter().map(|n| {
        let level = match n {
            super::DashboardNote::Gone { .. } => Severity::High,
            super::DashboardNote::Renamed { .. } | super::DashboardNote::Ambiguous { .. } => {
                Severity::Low
            }
        };
        (level, Finding::Dashboard(n))
    }));
    out.sort_by_key(|(s, _)| *s);
    out
}

/// The most severe finding of a drift report, if any.
pub fn worst(plan: &Plan, review: &Review) -> Option<Severity> {
    findings(plan, review).first().map(|(s, _)| *s)
}

/// `3 differences (1 critical, 2 normal)`.
fn drift_count(findings: &[(Severity, Finding<'_>)]) -> String {
    let mut counts: Vec<String> = Vec::new();
    for level in [
        Severity::Critical,
        Severity::High,
        Severity::Normal,
        Severity::Low,
    ] {
        let n = findings.iter().filter(|(s, _)| *s == level).count();
        if n > 0 {
            counts.push(format!("{n} {}", level.as_str()));
        }
    }
    format!(
        "{} ({})",
        plural(findings.len(), "difference"),
        counts.join(", ")
    )
}

/// The line a finding opens with.
fn finding_line(plan: &Plan, review: &Review, f: &Finding<'_>) -> String {
    match f {
        Finding::Change(i) => match review.renamed.iter().find(|r| r.create == *i) {
            Some(rename) => rename.to_string(),
            None => severity::story(&plan.changes[*i], &review.labels_of(plan, *i)),
        },
        Finding::Admin(u) => format!(
            "`{}` is an Admin member of the site that the config neither lists nor protects",
            clean(&u.email)
        ),
        Finding::Dashboard(n) => n.to_string(),
    }
}

/// A drift report as text: what happened, most severe first, each with the
/// change rolecall would make to undo it.
pub fn drift_text(plan: &Plan, review: &Review, o: &Options<'_>) -> String {
    let p = Palette::new(o.styled);
    let found = findings(plan, review);
    let mut out = if found.is_empty() {
        format!(
            "No drift: the site `{}` matches the config{}.\n",
            plan.site,
            partial_note(plan)
        )
    } else {
        format!(
            "Drift on the site `{}`{}: {}.\n\n",
            plan.site,
            partial_note(plan),
            drift_count(&found)
        )
    };
    for (level, f) in &found {
        let style = if *level <= Severity::High {
            &p.blocked
        } else {
            &p.bold
        };
        let _ = writeln!(
            out,
            "  {style}[{}]{style:#} {}",
            level.as_str(),
            finding_line(plan, review, f)
        );
        if let Finding::Change(i) = f {
            let c = &plan.changes[*i];
            let labels = review.labels_of(plan, *i);
            let what = match (
                labels.contains(&Label::ChangedOnSite),
                labels.contains(&Label::PendingInConfig),
            ) {
                (true, false) => "`rolecall apply` would undo it:",
                (false, true) => "`rolecall apply` would make it:",
                _ => "`rolecall apply` would:",
            };
            let _ = writeln!(out, "    {}{what}{:#}", p.note, p.note);
            for line in change_lines(c, &review.labels_of(plan, *i), &p, o) {
                let _ = writeln!(out, "    {line}");
            }
        }
        out.push('\n');
    }
    text_unmanaged(plan, o, &mut out);
    out
}

/// A drift report for an issue: the findings as a list, most severe first,
/// the changes that would undo them folded.
pub fn drift_markdown(plan: &Plan, review: &Review, o: &Options<'_>) -> String {
    let p = Palette::new(false);
    let found = findings(plan, review);
    let mut out = format!(
        "### rolecall drift for `{}`{}\n\n",
        plan.site,
        partial_note(plan)
    );
    let unmanaged = |out: &mut String| markdown_unmanaged(plan, o, "\n", out);
    if found.is_empty() {
        out.push_str("**No drift.** The site matches the config.\n");
        unmanaged(&mut out);
        return out;
    }
    let _ = writeln!(out, "**{}**\n", drift_count(&found));
    let mut details = String::new();
    for (level, f) in &found {
        let line = format!(
            "- **{}** {}\n",
            level.as_str(),
            with_code_spans(&finding_line(plan, review, f))
        );
        if out.len() + line.len() + details.len() + 400 > MARKDOWN_LIMIT {
            out.push_str("- _more findings are not shown here: run `rolecall drift`_\n");
            break;
        }
        out.push_str(&line);
        if let Finding::Change(i) = f {
            let block = change_lines(&plan.changes[*i], &review.labels_of(plan, *i), &p, o)
                .join("\n")
                .replace("```", "'''");
            if out.len() + details.len() + block.len() + 400 < MARKDOWN_LIMIT {
                details.push_str(&block);
                details.push_str("\n\n");
            }
        }
    }
    unmanaged(&mut out);
    if !details.is_empty() {
        let _ = write!(
            out,
            "\n<details><summary>What <code>rolecall apply</code> would do</summary>\n\n```diff\n{details}```\n\n</details>\n"
        );
    }
    out
}

/// `### rolecall plan for `site``, and for a plan of a snapshot, when the
/// site was as planned against; the dashboards the lock kept in place.
fn markdown_header(plan: &Plan) -> String {
    let mut out = format!(
        "### rolecall plan for `{}`{}\n\n",
        plan.site,
        partial_note(plan)
    );
    if let Some(note) = recorded_note(plan) {
        let _ = writeln!(out, "{}\n", escape(&note));
    }
    if !plan.dashboards.is_empty() {
        out.push_str("> [!WARNING]\n");
        for note in &plan.dashboards {
            let _ = writeln!(out, "> {}", escape(&note.to_string()));
        }
        out.push('\n');
    }
    out
}

/// The plan for a pull-request comment: summary table first, risky changes
/// first, details folded, at most [`MARKDOWN_LIMIT`] characters.
pub fn markdown(plan: &Plan, review: &Review, o: &Options<'_>) -> String {
    let p = Palette::new(false);
    let mut out = markdown_header(plan);
    let unmanaged = |out: &mut String| markdown_unmanaged(plan, o, "", out);
    if plan.is_empty() {
        out.push_str("**No changes.** The site matches the config.\n\n");
        unmanaged(&mut out);
        return out;
    }
    let _ = writeln!(out, "**{}**", summary_line(plan));
    for line in access_lines(review) {
        let line = line.trim_start();
        let bullet = if line.starts_with("Access") { "" } else { "- " };
        let _ = writeln!(out, "{bullet}{}", escape(line));
    }
    unmanaged(&mut out);
    if let Some(line) = blocked_line(plan, o) {
        let _ = writeln!(out, "\n> [!CAUTION]\n> {line}");
    }
    let mut order: Vec<(usize, &Step)> = plan.changes.iter().enumerate().collect();
    // Blocked first, then by severity, risky first; plan order within.
    order.sort_by_key(|(i, c)| {
        let level = severity::severity(c, &review.labels_of(plan, *i));
        (c.blocked.is_none(), level, !c.is_risky())
    });

    let footer_budget = 400;
    let mut table = String::from("\n| | change | risks | source |\n|---|---|---|---|\n");
    let mut details = String::from("\n<details><summary>Details</summary>\n\n```diff\n");
    let details_end = "```\n\n</details>\n";
    let mut shown = 0;
    for &(i, c) in &order {
        let risks: Vec<String> = c
            .risks
            .iter()
            .map(|r| format!("`{}`", r.as_str()))
            .collect();
        let mut risk_cell = risks.join(" ");
        if let Some(b) = &c.blocked {
            let allow = if b.rule.is_limit() {
                format!(" (allow with {})", o.lift_limits)
            } else {
                String::new()
            };
            let _ = write!(
                risk_cell,
                " **blocked**: {}{allow}",
                escape(&b.rule.to_string())
            );
        }
        let mark = if c.blocked.is_some() { "⛔ " } else { "" };
        let row = format!(
            "| {mark}`{}` | {} `{}` | {} | {} |\n",
            c.action().symbol(),
            c.kind(),
            escape(c.key()),
            risk_cell.trim(),
            c.source.as_ref().map_or_else(
                || "prune".to_string(),
                |s| format!("`{}`", escape(&s.to_string()))
            )
        );
        let mut block = change_lines(c, &review.labels_of(plan, i), &p, o).join("\n");
        block.push_str("\n\n");
        let block = block.replace("```", "'''");
        if out.len()
            + table.len()
            + row.len()
            + details.len()
            + block.len()
            + details_end.len()
            + footer_budget
            > MARKDOWN_LIMIT
        {
            break;
        }
        table.push_str(&row);
        details.push_str(&block);
        shown += 1;
    }
    out.push_str(&table);
    out.push_str(&details);
    out.push_str(details_end);
    if shown < order.len() {
        let _ = writeln!(
            out,
            "\n_{} more changes are not shown here to stay under {MARKDOWN_LIMIT} characters; run `rolecall plan` for the whole plan._",
            order.len() - shown
        );
    }
    out
}

/// Markdown for a line whose names are in backticks: each piece escaped
/// ([`escape`]), the names kept as code spans.
fn with_code_spans(line: &str) -> String {
    line.split('`')
        .enumerate()
        .map(|(i, piece)| match i % 2 {
            1 => format!("`{}`", escape(piece)),
            _ => escape(piece),
        })
        .collect()
}

/// Text for a markdown table cell: unsafe characters as escapes, and
/// nothing that ends the cell, a code span or opens HTML.
fn escape(s: &str) -> String {
    clean(s)
        .replace('|', "\\|")
        .replace('`', "'")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
