//! Drift as a report: findings by severity, the worst of which decides
//! `drift`'s exit code, as text and as markdown.

use super::markdown::{markdown_unmanaged, with_code_spans};
use super::text::text_unmanaged;
use super::*;

/// A finding of a drift report: a change (by index), an unmanaged Admin
/// member, or a dashboard the lock kept in place; with its severity.
pub(super) enum Finding<'p> {
    Change(usize),
    Admin(&'p crate::plan::UnmanagedUser),
    Dashboard(&'p crate::plan::DashboardNote),
}

/// Every finding of a drift report, most severe first.
pub(super) fn findings<'p>(plan: &'p Plan, review: &Review) -> Vec<(Severity, Finding<'p>)> {
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
            crate::plan::DashboardNote::Gone { .. } => Severity::High,
            crate::plan::DashboardNote::Renamed { .. }
            | crate::plan::DashboardNote::Ambiguous { .. } => Severity::Low,
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
pub(super) fn drift_count(findings: &[(Severity, Finding<'_>)]) -> String {
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
pub(super) fn finding_line(plan: &Plan, review: &Review, f: &Finding<'_>) -> String {
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
