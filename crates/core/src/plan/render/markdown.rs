//! A plan as markdown, for a pull request's comment.

use super::*;

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

/// `### rolecall plan for `site``, and for a plan of a snapshot, when the
/// site was as planned against; the dashboards the lock kept in place.
pub(super) fn markdown_header(plan: &Plan) -> String {
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

/// Markdown for a line whose names are in backticks: each piece escaped
/// ([`escape`]), the names kept as code spans.
pub(super) fn with_code_spans(line: &str) -> String {
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
pub(super) fn escape(s: &str) -> String {
    clean(s)
        .replace('|', "\\|")
        .replace('`', "'")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What the config does not manage, as markdown (after `lead`): the count,
/// then the names as a list.
pub(super) fn markdown_unmanaged(plan: &Plan, o: &Options<'_>, lead: &str, out: &mut String) {
    if let Some(line) = unmanaged_line(plan) {
        let _ = writeln!(out, "{lead}{line}");
    }
    for item in unmanaged_items(plan, o) {
        let _ = writeln!(out, "- {}", escape(&item));
    }
}
