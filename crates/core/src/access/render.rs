//! An access report: the evaluator's entries grouped per user and
//! dashboard ([`rows`]), rendered as text, markdown, JSON or CSV
//! ([`Report::render`]), beside the plan renderers.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Entry, Model};
use crate::config::vocab::key;
use crate::text::clean;

/// The actions of one user on one dashboard, with what each role gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The user's email.
    pub user: String,
    /// The dashboard's id.
    pub dashboard_id: String,
    /// The dashboard's name.
    pub dashboard: String,
    /// The actions the user has there.
    pub actions: Vec<String>,
    /// Per role: the actions it gives as privileges and as grants here.
    pub via: Vec<RoleGives>,
    /// The user is in Admin (every action everywhere).
    pub admin: bool,
}

/// What one role contributes to a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleGives {
    /// The role's name.
    pub role: String,
    /// The actions it gives as privileges.
    pub privilege: Vec<String>,
    /// The actions it grants on the dashboard.
    pub grant: Vec<String>,
    /// The last day of the user's membership of the role, when the config
    /// gives one (`access --desired`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// Entries grouped by (user, dashboard), sorted by user then dashboard name.
pub fn rows(entries: &[Entry]) -> Vec<Row> {
    let mut groups: BTreeMap<(String, String, String), Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        groups
            .entry((key(&e.user), e.dashboard.clone(), e.dashboard_id.clone()))
            .or_default()
            .push(e);
    }
    groups
        .into_values()
        .map(|es| {
            let mut by_role: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> =
                BTreeMap::new();
            for e in &es {
                for r in &e.via.privilege {
                    by_role
                        .entry(r.clone())
                        .or_default()
                        .0
                        .insert(e.action.clone());
                }
                for r in &e.via.grant {
                    by_role
                        .entry(r.clone())
                        .or_default()
                        .1
                        .insert(e.action.clone());
                }
            }
            Row {
                user: es[0].user.clone(),
                dashboard_id: es[0].dashboard_id.clone(),
                dashboard: es[0].dashboard.clone(),
                actions: es
                    .iter()
                    .map(|e| e.action.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                via: by_role
                    .into_iter()
                    .map(|(role, (p, g))| RoleGives {
                        role,
                        privilege: p.into_iter().collect(),
                        grant: g.into_iter().collect(),
                        until: None,
                    })
                    .collect(),
                admin: es[0].via.admin,
            }
        })
        .collect()
}

/// How an access report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For a terminal.
    Text,
    /// For a pull request's comment.
    Markdown,
    /// For programs.
    Json,
    /// One row per action, for spreadsheets: no cell is a formula.
    Csv,
}

/// Who can do what: the rows shown and the Admin members (every action
/// everywhere, named once unless their rows are expanded).
#[derive(Debug)]
pub struct Report<'a> {
    /// The site's name.
    pub site: &'a str,
    /// `live`, or `desired` (the site as the config would leave it).
    pub source: &'a str,
    /// How privileges and grants combine.
    pub model: Model,
    /// The rows shown.
    pub rows: Vec<&'a Row>,
    /// The Admin members, by email.
    pub admins: BTreeSet<String>,
    /// Roles holding rights on objects rolecall does not manage (Topics,
    /// Spaces): not covered by this report, and said so.
    pub kept: Vec<crate::live::KeptRights>,
}

impl Report<'_> {
    /// The report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.text(false),
            Format::Markdown => self.text(true),
            Format::Json => self.json(),
            Format::Csv => self.csv(),
        }
    }

    fn json(&self) -> String {
        let value = serde_json::json!({
            "format_version": 1,
            "site": self.site,
            "source": self.source,
            "model": self.model.as_str(),
            "admins": self.admins,
            "grants": self.rows,
        });
        let mut value = value;
        if !self.kept.is_empty() {
            value["not_covered"] = serde_json::json!(self.kept);
        }
        let mut text = serde_json::to_string_pretty(&value).expect("a report serializes");
        text.push('\n');
        text
    }

    fn csv(&self) -> String {
        let mut sheet = crate::review::files::Sheet::new();
        sheet.row(CSV_HEADER).expect("writing to memory");
        for row in &self.rows {
            csv_rows(row, &mut sheet).expect("writing to memory");
        }
        String::from_utf8(sheet.into_bytes()).expect("the cells are text")
    }

    fn text(&self, markdown: bool) -> String {
        let mut out = String::new();
        let head = format!(
            "Access on the site `{}` ({}, model {})",
            clean(self.site),
            self.source,
            self.model.as_str()
        );
        if markdown {
            out.push_str(&format!(
                "### {head}\n\n| user | dashboard | actions | via |\n|---|---|---|---|\n"
            ));
        } else {
            out.push_str(&format!("{head}:\n"));
        }
        let mut last_user = "";
        for row in &self.rows {
            if markdown {
                out.push_str(&format!(
                    "| {} | {} (#{}) | {} | {} |\n",
                    cell(&row.user),
                    cell(&row.dashboard),
                    cell(&row.dashboard_id),
                    row.actions.join(", "),
                    cell(&via_text(row))
                ));
                continue;
            }
            if row.user != last_user {
                out.push_str(&format!("\n{}\n", clean(&row.user)));
                last_user = &row.user;
            }
            out.push_str(&format!(
                "  {:?} (#{}): {}  via {}\n",
                row.dashboard,
                row.dashboard_id,
                row.actions.join(", "),
                via_text(row)
            ));
        }
        if self.rows.is_empty() {
            out.push_str(if markdown {
                "\n_No access matches._\n"
            } else {
                "\nNo access matches.\n"
            });
        }
        for admin in &self.admins {
            let line = format!(
                "{}: every action on every dashboard, via Admin",
                clean(admin)
            );
            if markdown {
                out.push_str(&format!("\n- {}", cell(&line)));
            } else {
                out.push_str(&format!("\n{line}"));
            }
        }
        if !self.admins.is_empty() {
            out.push('\n');
        }
        if !self.kept.is_empty() {
            out.push_str("\nNot covered (rights on objects rolecall does not manage):\n");
            for kept in &self.kept {
                let line = kept.to_string();
                if markdown {
                    out.push_str(&format!("- {}\n", line.replace('|', "\\|")));
                } else {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        }
        out
    }
}

/// The columns of the CSV report.
pub(super) const CSV_HEADER: [&str; 6] = [
    "user",
    "dashboard_id",
    "dashboard",
    "action",
    "privilege_from",
    "grant_from",
];

/// A row's lines of the CSV report: one per action, with the roles that
/// give it (names come from the site and the config: never a formula).
pub(super) fn csv_rows<W: std::io::Write>(
    row: &Row,
    sheet: &mut crate::review::files::Sheet<W>,
) -> std::io::Result<u64> {
    let mut n = 0;
    for action in &row.actions {
        let from = |pick: fn(&RoleGives) -> &Vec<String>| {
            row.via
                .iter()
                .filter(|v| pick(v).contains(action))
                .map(|v| v.role.as_str())
                .collect::<Vec<_>>()
                .join(";")
        };
        let (privilege, grant) = if row.admin {
            ("Admin".to_string(), "Admin".to_string())
        } else {
            (from(|v| &v.privilege), from(|v| &v.grant))
        };
        sheet.row([
            &row.user,
            &row.dashboard_id,
            &row.dashboard,
            action,
            &privilege,
            &grant,
        ])?;
        n += 1;
    }
    Ok(n)
}

/// Text for a markdown table cell: unsafe characters escaped, nothing that
/// ends the cell, opens a code span or HTML.
fn cell(s: &str) -> String {
    clean(s)
        .replace('|', "\\|")
        .replace('`', "'")
        .replace('<', "&lt;")
}

/// `Sales (privilege read_dashboards; grant read_dashboards), ...`
fn via_text(row: &Row) -> String {
    row.via
        .iter()
        .map(|v| {
            let mut parts = Vec::new();
            if !v.privilege.is_empty() {
                parts.push(format!("privilege {}", v.privilege.join(", ")));
            }
            if !v.grant.is_empty() {
                parts.push(format!("grant {}", v.grant.join(", ")));
            }
            if let Some(until) = &v.until {
                parts.push(format!("until {until}"));
            }
            format!("{} ({})", clean(&v.role), parts.join("; "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
