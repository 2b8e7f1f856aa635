//! `index.html`: the one page an auditor opens and prints. No script, a
//! Content-Security-Policy that loads nothing, every name escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::files::{ChangeRow, Manifest, RoleRow};
use super::model::{Finding, FindingKind, Member};
use super::settings::Settings;
use crate::config::vocab::key;
use crate::plan::severity::Severity;

/// Rows shown per table before the page points at the CSV.
const SHOWN: usize = 500;

/// Text for HTML: escaped, control characters made visible.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::text::clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#111}
h1{font-size:1.6em}h2{border-bottom:1px solid #999;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ccc;padding:.2em .4em;text-align:left;vertical-align:top}
th{background:#eee}td.n{text-align:right}code{font-size:.95em}
.critical{color:#a00;font-weight:bold}.high{color:#b50}.more{font-style:italic}
.sign td{height:2.5em}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}tr{break-inside:avoid}section{break-before:page}section.first{break-before:auto}}";

/// What the page is made of.
#[derive(Debug)]
pub struct Page<'a> {
    /// The pack's manifest (its `files` not yet known).
    pub manifest: &'a Manifest,
    /// `review:`.
    pub settings: &'a Settings,
    /// The population.
    pub population: &'a [Member],
    /// The findings.
    pub findings: &'a [Finding],
    /// The roles.
    pub roles: &'a [RoleRow],
    /// The changes of the period.
    pub changes: &'a [ChangeRow],
    /// What is not covered, one line each.
    pub not_covered: &'a [String],
}

fn more(out: &mut String, total: usize, file: &str) {
    if total > SHOWN {
        let _ = writeln!(
            out,
            "<p class=\"more\">{} more in <code>{file}</code>.</p>",
            thousands((total - SHOWN) as u64)
        );
    }
}

fn table(out: &mut String, head: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    out.push_str("<table><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(&cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

impl Page<'_> {
    /// The page.
    pub fn render(&self) -> String {
        let m = self.manifest;
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n<title>Access review of {site}, as of {as_of}</title>\n<style>{STYLE}</style></head><body>\n",
            site = escape(&m.site),
            as_of = escape(&m.as_of),
        );
        self.summary(&mut out);
        self.findings_section(&mut out);
        self.privileged(&mut out);
        self.changes_section(&mut out);
        self.owners(&mut out);
        self.method(&mut out);
        self.sign_off(&mut out);
        out.push_str("</body></html>\n");
        out
    }

    fn summary(&self, out: &mut String) {
        let m = self.manifest;
        let _ = writeln!(
            out,
            "<section class=\"first\" id=\"summary\"><h1>Access review of <code>{}</code></h1>",
            escape(&m.site)
        );
        let count = |k: &str| thousands(m.counts.get(k).copied().unwrap_or(0));
        let mut rows = vec![
            vec!["As of".into(), m.as_of.clone()],
            vec![
                "Site read from".into(),
                format!("{} ({})", m.source, m.endpoint),
            ],
            vec![
                "Period".into(),
                match &m.period_from {
                    Some(from) => format!("{from} to {}", &m.as_of[..m.as_of.len().min(10)]),
                    None => "not given (no --since or --since-pack)".into(),
                },
            ],
            vec!["Users".into(), count("users")],
            vec!["Roles".into(), count("roles")],
            vec!["Dashboards".into(), count("dashboards")],
            vec![
                "Population rows (user and role)".into(),
                count("population"),
            ],
            vec!["Findings".into(), count("findings")],
            vec!["Pack id".into(), m.pack_id.clone()],
        ];
        if let Some(c) = &m.config_commit {
            rows.push(vec!["Config commit".into(), c.clone()]);
        }
        let _ = writeln!(out, "<table id=\"counts\"><tbody>");
        for r in rows {
            let id = key(&r[0]).replace(' ', "-");
            let _ = writeln!(
                out,
                "<tr><th>{}</th><td data-field=\"{}\">{}</td></tr>",
                escape(&r[0]),
                escape(&id),
                escape(&r[1])
            );
        }
        out.push_str("</tbody></table>\n<h3>Inputs (sha256)</h3>\n");
        let inputs = (m.config.iter())
            .map(|(path, sha)| vec![format!("config: {path}"), sha.clone()])
            .chain(m.inputs.iter().flat_map(|(what, list)| {
                list.iter()
                    .map(move |i| vec![format!("{what}: {}", i.name), i.sha256.clone()])
            }));
        table(out, &["input", "sha256"], inputs);
        out.push_str("</section>\n");
    }

    fn findings_section(&self, out: &mut String) {
        let _ = writeln!(out, "<section id=\"findings\"><h2>Findings</h2>");
        if self.findings.is_empty() {
            out.push_str("<p>No findings.</p>\n");
        }
        let mut by: BTreeMap<Severity, Vec<&Finding>> = BTreeMap::new();
        for f in self.findings {
            by.entry(f.severity).or_default().push(f);
        }
        for (severity, list) in by {
            let _ = writeln!(
                out,
                "<h3 class=\"{s}\">{s}: {n}</h3>",
                s = severity.as_str(),
                n = thousands(list.len() as u64)
            );
            table(
                out,
                &["kind", "finding"],
                list.iter()
                    .take(SHOWN)
                    .map(|f| vec![f.kind.as_str().to_string(), f.text.clone()]),
            );
            more(out, list.len(), "findings.csv");
        }
        out.push_str("</section>\n");
    }

    fn privileged(&self, out: &mut String) {
        let rows: Vec<&Member> = self.population.iter().filter(|m| m.privileged).collect();
        let _ = writeln!(
            out,
            "<section id=\"privileged\"><h2>Privileged access ({})</h2>",
            thousands(rows.len() as u64)
        );
        table(
            out,
            &["user", "role", "source", "ends", "directory", "last seen"],
            rows.iter().take(SHOWN).map(|m| {
                vec![
                    m.email.to_string(),
                    m.role.to_string(),
                    m.source.as_str().into(),
                    m.ends.map(|d| d.to_string()).unwrap_or_default(),
                    m.directory.to_string(),
                    m.last_seen.to_string(),
                ]
            }),
        );
        more(out, rows.len(), "population.csv");
        out.push_str("</section>\n");
    }

    fn changes_section(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "<section id=\"changes\"><h2>Changes in the period</h2>"
        );
        let (site, git): (Vec<&ChangeRow>, Vec<&ChangeRow>) =
            self.changes.iter().partition(|c| c.origin == "site");
        let _ = writeln!(
            out,
            "<h3>Through the config ({})</h3>",
            thousands(git.len() as u64)
        );
        table(
            out,
            &["date", "pull request", "commit", "author", "change"],
            git.iter().take(SHOWN).map(|c| {
                vec![
                    c.date.clone(),
                    c.pull_request.clone(),
                    c.commit.chars().take(12).collect(),
                    c.author.clone(),
                    c.change.clone(),
                ]
            }),
        );
        more(out, git.len(), "changes.csv");
        let _ = writeln!(
            out,
            "<h3>Made on the site, outside the config ({})</h3>",
            thousands(site.len() as u64)
        );
        table(
            out,
            &["seen", "change"],
            site.iter()
                .take(SHOWN)
                .map(|c| vec![c.date.clone(), c.change.clone()]),
        );
        more(out, site.len(), "changes.csv");
        out.push_str("</section>\n");
    }

    fn owners(&self, out: &mut String) {
        let mut by_owner: BTreeMap<String, Vec<&RoleRow>> = BTreeMap::new();
        for r in self.roles {
            if r.owners.is_empty() {
                by_owner.entry(String::new()).or_default().push(r);
            }
            for o in &r.owners {
                by_owner.entry(key(o)).or_default().push(r);
            }
        }
        let mut members: BTreeMap<String, Vec<&Member>> = BTreeMap::new();
        for m in self.population {
            members.entry(key(&m.role)).or_default().push(m);
        }
        for (owner, roles) in by_owner {
            let title = if owner.is_empty() {
                "Roles with no owner".to_string()
            } else {
                format!("Reviewed by {owner}")
            };
            let _ = writeln!(out, "<section class=\"owner\"><h2>{}</h2>", escape(&title));
            for r in roles {
                let list = members.get(&key(&r.name)).map_or(&[][..], Vec::as_slice);
                let _ = writeln!(
                    out,
                    "<h3>{} ({}; {} in the population)</h3>",
                    escape(&r.name),
                    crate::plural(r.members, "member"),
                    thousands(list.len() as u64)
                );
                table(
                    out,
                    &["user", "name", "source", "ends", "directory", "last seen"],
                    list.iter().take(SHOWN).map(|m| {
                        vec![
                            m.email.to_string(),
                            m.name.to_string(),
                            m.source.as_str().into(),
                            m.ends.map(|d| d.to_string()).unwrap_or_default(),
                            m.directory.to_string(),
                            m.last_seen.to_string(),
                        ]
                    }),
                );
                more(out, list.len(), "population.csv");
            }
            out.push_str("</section>\n");
        }
    }

    fn method(&self, out: &mut String) {
        let s = self.settings;
        let _ = writeln!(out, "<section id=\"method\"><h2>Method</h2>");
        let _ = writeln!(
            out,
            "<p>The site was read whole through the vendor's User &amp; Role Management API (or from a snapshot of such a read, whose checksum was verified) as of {}. Access on dashboards is evaluated with the <code>{}</code> model. The population holds every user of the site once per role; a user in no role but Everyone appears once, with Everyone.</p>",
            escape(&self.manifest.as_of),
            escape(&self.manifest.model)
        );
        let activity = match (
            self.manifest.inputs.get("activity"),
            &self.manifest.activity_since,
        ) {
            (None, _) => "No activity log was read.".to_string(),
            (Some(_), Some(since)) => format!(
                "The activity log covers {since} to the day the site was read: a user with no row there has no activity since {since}. Dormant means no activity in the {} days before that day.",
                s.dormant_after
            ),
            (Some(_), None) => format!(
                "The activity log's first day was not given (--activity-since): a user with no row is reported as having no activity in the log. Dormant means no activity in the {} days before the day the site was read.",
                s.dormant_after
            ),
        };
        let _ = writeln!(out, "<p id=\"activity\">{}</p>", escape(&activity));
        let rule = |k: FindingKind| -> String {
            match k {
                FindingKind::Leaver => "inactive in the directory and still a user of the site (critical with a privileged role)".into(),
                FindingKind::NotInDirectory => "not in the directory (service accounts excepted)".into(),
                FindingKind::ExpiredStillGranted => "the config's `until` has passed and the site still grants the membership (critical)".into(),
                FindingKind::SiteOnly => "a membership that no version of the config in the period gave (critical for Admin)".into(),
                FindingKind::Transient => "a membership seen only in a nightly snapshot of the period, given by no version of the config".into(),
                FindingKind::UnmanagedUser => "a user the config does not list".into(),
                FindingKind::Dormant => format!("no activity in the last {} days (service accounts excepted)", s.dormant_after),
                FindingKind::Expiring => format!("a membership whose `until` falls within {} days", s.expiring_within),
                FindingKind::FewAdmins => format!("fewer than {} Admin members", s.min_admins),
                FindingKind::NoOwner => "a role no `review.owners` glob matches".into(),
                FindingKind::UnusedGrant => format!("a dashboard grant none of the role's members used in the last {} days", s.dormant_after),
            }
        };
        table(
            out,
            &["finding", "rule"],
            FindingKind::ALL
                .iter()
                .map(|k| vec![k.as_str().to_string(), rule(*k)]),
        );
        out.push_str("<h3>Not covered</h3>\n<ul>\n");
        for line in self.not_covered {
            let _ = writeln!(out, "<li>{}</li>", escape(line));
        }
        out.push_str("</ul></section>\n");
    }

    fn sign_off(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "<section id=\"sign-off\"><h2>Sign-off</h2><p>Pack <code>{}</code>. Each reviewer's decisions are in <code>decisions.csv</code>; <code>rolecall review check</code> validated them against this pack.</p>",
            escape(&self.manifest.pack_id)
        );
        out.push_str("<table class=\"sign\"><thead><tr><th>role</th><th>name</th><th>signature</th><th>date</th></tr></thead><tbody>\n<tr><td>Reviewer</td><td></td><td></td><td></td></tr>\n<tr><td>Approver</td><td></td><td></td><td></td></tr>\n</tbody></table></section>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_numbers_grouped() {
        assert_eq!(
            escape("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }
}
