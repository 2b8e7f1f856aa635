//! The pack's data files: CSVs (UTF-8, sorted, no cell a spreadsheet runs)
//! and `pack.json`, which names every input and output by its sha256.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::model::{Finding, Inputs, Member};
use crate::config::vocab::key;
use crate::kinds::ObjectKind;

/// The population's columns; `decisions.csv` starts with the same.
pub const POPULATION_HEADER: [&str; 10] = [
    "email",
    "name",
    "user_id",
    "role",
    "privileged",
    "source",
    "ends",
    "owners",
    "directory",
    "last_seen",
];

/// The columns a reviewer fills in `decisions.csv`.
pub const DECISION_HEADER: [&str; 5] = ["decision", "reason", "until", "reviewer", "decided_on"];

/// The sha256 of `bytes`, in hex.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A CSV writer whose cells are never formulas.
#[derive(Debug)]
pub struct Sheet<W: std::io::Write> {
    writer: csv::Writer<W>,
}

impl Sheet<Vec<u8>> {
    /// A sheet in memory.
    pub fn new() -> Self {
        Self::to(Vec::new())
    }

    /// Its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.writer.into_inner().expect("writing to memory")
    }
}

impl Default for Sheet<Vec<u8>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<W: std::io::Write> Sheet<W> {
    /// A sheet written to `w`.
    pub fn to(w: W) -> Self {
        Self {
            writer: csv::Writer::from_writer(w),
        }
    }

    /// One row; each cell cleaned and kept from being a formula.
    pub fn row<S: AsRef<str>>(
        &mut self,
        cells: impl IntoIterator<Item = S>,
    ) -> std::io::Result<()> {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| crate::text::spreadsheet_cell(c.as_ref()).into_owned())
            .collect();
        self.writer
            .write_record(&cells)
            .map_err(std::io::Error::other)
    }

    /// Flushes what is buffered.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// A population row's cells, as `population.csv` and `decisions.csv` have them.
pub fn member_cells(m: &Member) -> [String; 10] {
    [
        m.email.to_string(),
        m.name.to_string(),
        m.user_id.to_string(),
        m.role.to_string(),
        yes(m.privileged).to_string(),
        m.source.as_str().to_string(),
        m.ends.map(|d| d.to_string()).unwrap_or_default(),
        m.owners.join(";"),
        m.directory.to_string(),
        m.last_seen.to_string(),
    ]
}

/// `population.csv`: every user of the site, once per role.
pub fn population_csv(population: &[Member]) -> Vec<u8> {
    let mut sheet = Sheet::new();
    sheet.row(POPULATION_HEADER).expect("memory");
    for m in population {
        sheet.row(member_cells(m)).expect("memory");
    }
    sheet.into_bytes()
}

/// `decisions.csv`: the population with empty decision columns.
pub fn decisions_csv(population: &[Member]) -> Vec<u8> {
    let mut sheet = Sheet::new();
    sheet
        .row(POPULATION_HEADER.iter().chain(DECISION_HEADER.iter()))
        .expect("memory");
    for m in population {
        let cells = member_cells(m);
        sheet
            .row(cells.iter().map(String::as_str).chain(["", "", "", "", ""]))
            .expect("memory");
    }
    sheet.into_bytes()
}

/// `findings.csv`.
pub fn findings_csv(findings: &[Finding]) -> Vec<u8> {
    let mut sheet = Sheet::new();
    sheet
        .row(["severity", "kind", "user", "role", "dashboard", "finding"])
        .expect("memory");
    for f in findings {
        sheet
            .row([
                f.severity.as_str(),
                f.kind.as_str(),
                &f.user,
                &f.role,
                &f.dashboard,
                &f.text,
            ])
            .expect("memory");
    }
    sheet.into_bytes()
}

/// One role of `roles.csv`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRow {
    /// As the site spells it.
    pub name: String,
    /// Its id.
    pub id: String,
    /// Admin or `privileged:`.
    pub privileged: bool,
    /// Members (Everyone: every user).
    pub members: usize,
    /// Who reviews its members.
    pub owners: Vec<String>,
    /// Defined in the config.
    pub in_config: bool,
    /// `type:action` privileges.
    pub privileges: Vec<String>,
    /// Dashboards it grants on.
    pub dashboards: usize,
    /// Its description.
    pub description: String,
}

/// The site's roles, by name.
pub fn roles(inputs: &Inputs<'_>) -> Vec<RoleRow> {
    let live = inputs.live;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &live.users {
        for r in &u.roles {
            *counts.entry(r.as_str()).or_default() += 1;
        }
    }
    let mut out: Vec<RoleRow> = live
        .roles
        .iter()
        .map(|r| RoleRow {
            name: r.name.clone(),
            id: r.id.clone(),
            privileged: inputs.settings.is_privileged(&r.name),
            members: counts.get(r.id.as_str()).copied().unwrap_or(0),
            owners: inputs.settings.owners.of(&r.name).to_vec(),
            in_config: inputs.desired.roles.contains_key(&key(&r.name)),
            privileges: (r.privileges.iter())
                .flat_map(|(t, actions)| actions.iter().map(move |a| format!("{t}:{a}")))
                .collect(),
            dashboards: (r.grants.keys())
                .filter(|o| o.kind == ObjectKind::Dashboard)
                .count(),
            description: r.description.clone(),
        })
        .collect();
    out.sort_by(|a, b| (key(&a.name), &a.id).cmp(&(key(&b.name), &b.id)));
    out
}

/// `roles.csv`.
pub fn roles_csv(roles: &[RoleRow]) -> Vec<u8> {
    let mut sheet = Sheet::new();
    sheet
        .row([
            "role",
            "role_id",
            "privileged",
            "members",
            "owners",
            "in_config",
            "privileges",
            "dashboards",
            "description",
        ])
        .expect("memory");
    for r in roles {
        sheet
            .row([
                r.name.clone(),
                r.id.clone(),
                yes(r.privileged).into(),
                r.members.to_string(),
                r.owners.join(";"),
                yes(r.in_config).into(),
                r.privileges.join(";"),
                r.dashboards.to_string(),
                r.description.clone(),
            ])
            .expect("memory");
    }
    sheet.into_bytes()
}

/// One change of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeRow {
    /// When (RFC 3339 or a snapshot's time).
    pub date: String,
    /// `pull-request`, `commit` (through git without a pull request) or
    /// `site` (made on the site, seen between snapshots).
    pub origin: &'static str,
    /// The pull request's number.
    pub pull_request: String,
    /// The commit.
    pub commit: String,
    /// Who (the commit's author).
    pub author: String,
    /// What.
    pub change: String,
}

/// The changes of the period: the config's commits, then the changes made
/// on the site (seen between snapshots, given by no version of the config).
pub fn changes(inputs: &Inputs<'_>) -> Vec<ChangeRow> {
    let mut out = Vec::new();
    if let Some(h) = inputs.history {
        for c in &h.commits {
            out.push(ChangeRow {
                date: c.date.clone(),
                origin: if c.pull_request.is_some() {
                    "pull-request"
                } else {
                    "commit"
                },
                pull_request: c.pull_request.map(|n| n.to_string()).unwrap_or_default(),
                commit: c.sha.clone(),
                author: c.author.clone(),
                change: c.subject.clone(),
            });
        }
    }
    if let Some(seen) = inputs.seen {
        for c in &seen.changes {
            let (user, role) = (key(&c.email), key(&c.role));
            // Given by no config, or taken away while the config gives it.
            let by_site = if c.added {
                !inputs.gave(&user, &role)
            } else {
                (inputs.desired.users.get(&user)).is_some_and(|u| u.roles.contains_key(&role))
            };
            if !by_site {
                continue;
            }
            out.push(ChangeRow {
                date: c.at.clone(),
                origin: "site",
                pull_request: String::new(),
                commit: String::new(),
                author: String::new(),
                change: format!(
                    "`{}` {} `{}` on the site",
                    c.email,
                    if c.added { "was given" } else { "lost" },
                    c.role
                ),
            });
        }
    }
    out
}

/// `changes.csv`.
pub fn changes_csv(changes: &[ChangeRow]) -> Vec<u8> {
    let mut sheet = Sheet::new();
    sheet
        .row([
            "date",
            "origin",
            "pull_request",
            "commit",
            "author",
            "change",
        ])
        .expect("memory");
    for c in changes {
        sheet
            .row([
                c.date.as_str(),
                c.origin,
                &c.pull_request,
                &c.commit,
                &c.author,
                &c.change,
            ])
            .expect("memory");
    }
    sheet.into_bytes()
}

/// An input of the pack: what it was and its sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Its file name (never a full path: a pack travels).
    pub name: String,
    /// Its sha256.
    pub sha256: String,
    /// Rows read, for CSV inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// `pack.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `1`.
    pub format_version: u32,
    /// Derived from the inputs: the same inputs, the same id.
    pub pack_id: String,
    /// The site reviewed.
    pub site: String,
    /// When the site was read.
    pub as_of: String,
    /// `api`, `snapshot` or `sandbox`.
    pub source: String,
    /// The API endpoint the site was read from (a snapshot's, as it says).
    pub endpoint: String,
    /// The period's first day, when known.
    pub period_from: Option<String>,
    /// How access was evaluated.
    pub model: String,
    /// The config's commit, when it is in git.
    pub config_commit: Option<String>,
    /// The history's start (`--since`).
    pub since: Option<String>,
    /// The first day the activity log covers (`--activity-since`).
    pub activity_since: Option<String>,
    /// The config's files, by path relative to its root, with their sha256.
    pub config: BTreeMap<String, String>,
    /// Other inputs: `activity`, `directory`, `snapshots` (each snapshot).
    pub inputs: BTreeMap<String, Vec<Input>>,
    /// `review:` as used.
    pub settings: serde_json::Value,
    /// Counts: users, roles, dashboards, population rows, findings by
    /// severity, effective rows.
    pub counts: BTreeMap<String, u64>,
    /// What the pack could not cover.
    pub warnings: Vec<String>,
    /// Each output file's sha256.
    pub files: BTreeMap<String, String>,
}

/// The format version of `pack.json`.
pub const FORMAT_VERSION: u32 = 1;

impl Manifest {
    /// The id of a pack from its inputs: the sha256 of the site, the time
    /// read, the settings and every input's sha256, shortened.
    pub fn id_of(&self, site_sha: &str) -> String {
        let value = serde_json::json!({
            "site": self.site, "as_of": self.as_of, "site_json": site_sha,
            "config": self.config, "inputs": self.inputs, "settings": self.settings,
            "since": self.since, "model": self.model, "activity_since": self.activity_since,
        });
        sha256(value.to_string().as_bytes())[..16].to_string()
    }

    /// As written: pretty JSON, keys sorted, a final newline.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a manifest serializes");
        text.push('\n');
        text
    }
}

/// The sha256 of what `r` reads, in hex (a file of any size, read in
/// pieces).
pub fn sha256_of(mut r: impl std::io::Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut r, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
