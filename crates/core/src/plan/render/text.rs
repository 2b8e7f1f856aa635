//! A plan as text, for a terminal or a log.

use super::*;

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

/// What the config does not manage, as text: the count, then the names.
pub(super) fn text_unmanaged(plan: &Plan, o: &Options<'_>, out: &mut String) {
    if let Some(line) = unmanaged_line(plan) {
        let _ = writeln!(out, "{line}");
    }
    for item in unmanaged_items(plan, o) {
        let _ = writeln!(out, "  {item}");
    }
}
