//! `decisions.csv`, filled: read, checked against the pack it came from,
//! turned into config verdicts, and proven on the site afterwards.

use std::collections::{BTreeMap, HashMap};

use super::files::{DECISION_HEADER, POPULATION_HEADER};
use crate::adopt::propose::{UserVerdicts, Verdict};
use crate::config::date::Date;
use crate::config::model::Desired;
use crate::config::vocab::{EVERYONE, key};
use crate::live::Live;

/// A decision word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Word {
    /// `keep`.
    Keep,
    /// `revoke`.
    Revoke,
    /// `exception`: kept, for a reason, until a day.
    Exception,
}

impl Word {
    fn of(text: &str) -> Option<Word> {
        match text.trim().to_lowercase().as_str() {
            "keep" => Some(Word::Keep),
            "revoke" => Some(Word::Revoke),
            "exception" => Some(Word::Exception),
            _ => None,
        }
    }

    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            Word::Keep => "keep",
            Word::Revoke => "revoke",
            Word::Exception => "exception",
        }
    }
}

/// One decided row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Its line in `decisions.csv`.
    pub line: u64,
    /// The user's email.
    pub email: String,
    /// The role.
    pub role: String,
    /// What was decided.
    pub word: Word,
    /// Why.
    pub reason: String,
    /// An exception's last day.
    pub until: Option<Date>,
    /// Who decided.
    pub reviewer: String,
    /// When.
    pub decided_on: Option<Date>,
}

/// A rule a row breaks, at its line (0: the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line (1 is the header; 0 the whole file).
    pub line: u64,
    /// What is wrong, and how to fix it.
    pub text: String,
}

/// What `review check` found.
#[derive(Debug, Default)]
pub struct Checked {
    /// Every row decided well enough to act on.
    pub decisions: Vec<Decision>,
    /// Each broken rule.
    pub problems: Vec<Problem>,
    /// Rows with no decision yet.
    pub undecided: u64,
    /// Rows read.
    pub rows: u64,
}

/// What the rules need besides the sheet.
#[derive(Debug)]
pub struct Rules<'a> {
    /// `population.csv` of the pack, as written.
    pub population: &'a str,
    /// The day the pack's site was read.
    pub as_of: Date,
    /// Today.
    pub today: Date,
    /// `review.every`, in days: an exception ends within the next cycle.
    pub every: u32,
    /// `--due`: every decision on or before it.
    pub due: Option<Date>,
}

fn records(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
}

/// The pack's rows by (user, role), lower-cased: their line and cells.
type Expected = BTreeMap<(String, String), (u64, Vec<String>)>;

fn expected(population: &str) -> Expected {
    let mut out = Expected::new();
    for (i, r) in records(population).records().enumerate().skip(1) {
        let Ok(r) = r else { continue };
        let cells: Vec<String> = r.iter().map(str::to_string).collect();
        if cells.len() >= 4 {
            out.insert((key(&cells[0]), key(&cells[3])), (i as u64 + 1, cells));
        }
    }
    out
}

/// Checks a filled `decisions.csv` against the pack: every row decided; no
/// row added, dropped or altered; the reviewer an owner of the role (as the
/// pack names them) and not the member; an exception with a reason and an
/// `until` within the next cycle; decided between the pack and today (and
/// `--due`).
pub fn check(rules: &Rules<'_>, sheet: &str) -> Checked {
    let mut out = Checked::default();
    let expected = expected(rules.population);
    let header: Vec<&str> = POPULATION_HEADER
        .iter()
        .chain(DECISION_HEADER.iter())
        .copied()
        .collect();
    let mut rdr = records(sheet);
    let mut rows = rdr.records().enumerate();
    match rows.next() {
        Some((_, Ok(h))) if h.iter().map(str::trim).eq(header.iter().copied()) => {}
        _ => {
            out.problems.push(Problem {
                line: 1,
                text: format!(
                    "the header is not the pack's: it must be `{}`; fill the sheet the pack wrote, without adding, moving or renaming columns",
                    header.join(",")
                ),
            });
            return out;
        }
    }
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    for (i, r) in rows {
        let line = i as u64 + 1;
        let cells: Vec<String> = match r {
            Ok(r) => r.iter().map(str::to_string).collect(),
            Err(_) => {
                out.problems.push(Problem {
                    line,
                    text: "not a CSV row".into(),
                });
                continue;
            }
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.rows += 1;
        match row(rules, &expected, &mut seen, line, &cells) {
            Ok(Some(d)) => out.decisions.push(d),
            Ok(None) => {
                out.undecided += 1;
                out.problems.push(Problem {
                    line,
                    text: format!("{} is not decided", who(&cells[0], &cells[3])),
                });
            }
            Err(texts) => out
                .problems
                .extend(texts.into_iter().map(|text| Problem { line, text })),
        }
    }
    for (pline, cells) in expected.values() {
        if !seen.contains_key(&(key(&cells[0]), key(&cells[3]))) {
            out.problems.push(Problem {
                line: 0,
                text: format!(
                    "{} (population.csv line {pline}) was dropped: every row of the pack is decided",
                    who(&cells[0], &cells[3])
                ),
            });
        }
    }
    out.problems.sort_by_key(|p| p.line);
    out
}

/// A cell as it was before the sheet kept it from being a formula
/// (`'-x` was `-x`).
fn unguarded(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// Each decision's user and role as the site spells them: a cell that the
/// sheet kept from being a formula (`'-Contractors`) names `-Contractors`.
pub fn resolve(decisions: &mut [Decision], live: &Live) {
    let cell = |s: &str| crate::text::spreadsheet_cell(s).into_owned();
    for d in decisions {
        if let Some(u) = live.users.iter().find(|u| cell(&u.email) == d.email) {
            d.email = u.email.clone();
        }
        if let Some(r) = live.roles.iter().find(|r| cell(&r.name) == d.role) {
            d.role = r.name.clone();
        }
    }
}

fn who(email: &str, role: &str) -> String {
    format!(
        "`{}` / `{}`",
        crate::text::clean(email),
        crate::text::clean(role)
    )
}

/// One row: its decision, `None` when undecided, or what is wrong with it.
fn row(
    rules: &Rules<'_>,
    expected: &Expected,
    seen: &mut HashMap<(String, String), u64>,
    line: u64,
    cells: &[String],
) -> Result<Option<Decision>, Vec<String>> {
    let n = POPULATION_HEADER.len();
    if cells.len() != n + DECISION_HEADER.len() {
        return Err(vec![format!(
            "{} cells, where the pack's rows have {}",
            cells.len(),
            n + DECISION_HEADER.len()
        )]);
    }
    let (email, role) = (cells[0].as_str(), cells[3].as_str());
    let pair = (key(email), key(role));
    let who = who(email, role);
    let Some((_, want)) = expected.get(&pair) else {
        return Err(vec![format!(
            "{who} is not a row of the pack: rows may not be added"
        )]);
    };
    if let Some(first) = seen.insert(pair, line) {
        return Err(vec![format!(
            "{who} is given twice (first on line {first})"
        )]);
    }
    if let Some(col) = (0..n).find(|&c| cells[c] != want[c]) {
        return Err(vec![format!(
            "{who}: `{}` was altered (the pack has `{}`); only the last five columns are filled",
            POPULATION_HEADER[col],
            crate::text::clean(&want[col])
        )]);
    }
    let d = &cells[n..];
    let word_text = d[0].trim();
    if word_text.is_empty() {
        return Ok(None);
    }
    let Some(word) = Word::of(word_text) else {
        return Err(vec![format!(
            "{who}: `{}` is not a decision: write keep, revoke or exception",
            crate::text::clean(word_text)
        )]);
    };
    let decision = Decision {
        line,
        email: email.to_string(),
        role: role.to_string(),
        word,
        reason: d[1].trim().to_string(),
        until: Date::parse(d[2].trim()).ok(),
        reviewer: d[3].trim().to_string(),
        decided_on: Date::parse(d[4].trim()).ok(),
    };
    let broken = rules_broken(rules, &decision, &want[7], d);
    if broken.is_empty() {
        Ok(Some(decision))
    } else {
        Err(broken.into_iter().map(|b| format!("{who}: {b}")).collect())
    }
}

/// The rules a decided row breaks: who may decide, when, and what an
/// exception needs. `owners` as the pack wrote them (`a;b`).
fn rules_broken(rules: &Rules<'_>, d: &Decision, owners: &str, cells: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if d.word == Word::Revoke && key(&d.role) == key(EVERYONE) {
        out.push("Everyone cannot be revoked: decide keep, and remove the user from the site (or the config, with `prune: {users: delete}`)".into());
    }
    // As the sheet shows them: an owner written `'-x@…` is `-x@…`.
    let listed: Vec<String> = owners
        .split(';')
        .filter(|s| !s.is_empty())
        .map(|o| key(unguarded(o)))
        .collect();
    if d.reviewer.is_empty() {
        out.push("no reviewer".into());
    } else if key(&d.reviewer) == key(unguarded(&d.email)) {
        let hint = if listed.len() == 1 {
            ": add another owner of the role to `review.owners`, and pack again"
        } else {
            ""
        };
        out.push(format!("a member may not review their own access{hint}"));
    } else if listed.is_empty() {
        out.push("the role has no owner in the pack: set `review.owners` and pack again".into());
    } else if !listed.contains(&key(&d.reviewer)) {
        out.push(format!(
            "`{}` is not an owner of the role (the pack names {})",
            crate::text::clean(&d.reviewer),
            owners.replace(';', ", ")
        ));
    }
    match d.decided_on {
        None => out.push("`decided_on` is not a day: write YYYY-MM-DD".into()),
        Some(day) if day < rules.as_of || day > rules.today => out.push(format!(
            "decided on {day}, outside the review (from {} to today, {})",
            rules.as_of, rules.today
        )),
        Some(day) => {
            if let Some(due) = rules.due.filter(|due| day > *due) {
                out.push(format!("decided on {day}, after the due day {due}"));
            }
        }
    }
    if !cells[2].trim().is_empty() && d.until.is_none() {
        out.push("`until` is not a day: write YYYY-MM-DD".into());
    } else if d.until.is_some() && d.word != Word::Exception {
        out.push(format!(
            "`until` is only for an exception: decide `exception` (with a reason), or clear `until` to {} for good",
            d.word.as_str()
        ));
    }
    if d.word == Word::Exception {
        let last = rules.as_of.plus_days(i64::from(rules.every));
        if d.reason.is_empty() {
            out.push("an exception needs a reason".into());
        }
        match d.until {
            None => out.push("an exception needs an `until`".into()),
            Some(u) if u <= rules.today || u > last => out.push(format!(
                "an exception ends within the next cycle: after today and by {last} (review.every from {})",
                rules.as_of
            )),
            Some(_) => {}
        }
    }
    out
}

/// The decisions as config verdicts, per user.
pub fn verdicts(decisions: &[Decision]) -> Vec<UserVerdicts> {
    let mut by: BTreeMap<String, UserVerdicts> = BTreeMap::new();
    for d in decisions {
        let verdict = match d.word {
            Word::Keep => Verdict::Keep,
            Word::Revoke => Verdict::Revoke,
            Word::Exception => Verdict::Except {
                until: d.until.expect("checked: an exception has an until"),
                reason: d.reason.clone(),
            },
        };
        by.entry(key(&d.email))
            .or_insert_with(|| UserVerdicts {
                email: d.email.clone(),
                roles: Vec::new(),
            })
            .roles
            .push((d.role.clone(), verdict));
    }
    by.into_values().collect()
}

/// Whether a decision is in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The decision.
    pub decision: Decision,
    /// In effect.
    pub holds: bool,
    /// What the site or the config shows.
    pub text: String,
}

/// Every revoke and exception, proven (or not) on the site and the config:
/// a revoked membership is gone from the site; an exception is in the
/// config with its `until` (or an earlier one).
pub fn verify(decisions: &[Decision], live: &Live, desired: &Desired) -> Vec<Proof> {
    let names: HashMap<&str, &str> = live
        .roles
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    let holds = |email: &str, role: &str| {
        live.users.iter().any(|u| {
            key(&u.email) == key(email)
                && u.roles
                    .iter()
                    .any(|id| names.get(id.as_str()).is_some_and(|n| key(n) == key(role)))
        })
    };
    let mut out = Vec::new();
    for d in decisions {
        let who = format!("`{}` / `{}`", d.email, d.role);
        let (ok, text) = match d.word {
            Word::Keep => continue,
            Word::Revoke if holds(&d.email, &d.role) => (
                false,
                format!(
                    "{who}: revoked on line {}, and the site still grants it",
                    d.line
                ),
            ),
            Word::Revoke => (true, format!("{who}: revoked, gone from the site")),
            Word::Exception => {
                let until = (desired.users.get(&key(&d.email)))
                    .and_then(|u| u.roles.get(&key(&d.role)))
                    .map(|m| m.until);
                let wanted = d.until.expect("checked");
                match until {
                    Some(Some(u)) if u <= wanted => (
                        true,
                        format!("{who}: an exception, in the config until {u}"),
                    ),
                    Some(Some(u)) => (
                        false,
                        format!(
                            "{who}: the config keeps it until {u}, past the exception's {wanted}"
                        ),
                    ),
                    Some(None) => (
                        false,
                        format!(
                            "{who}: in the config without `until` (the exception ends {wanted})"
                        ),
                    ),
                    None if holds(&d.email, &d.role) => (
                        false,
                        format!(
                            "{who}: an exception, but the config does not give it (the next plan revokes it)"
                        ),
                    ),
                    None => (
                        false,
                        format!("{who}: an exception, but neither the config nor the site has it"),
                    ),
                }
            }
        };
        out.push(Proof {
            decision: d.clone(),
            holds: ok,
            text,
        });
    }
    out
}

/// Which revokes a plan carries out: (the revokes it does, the revokes it
/// does not), each with the plan's change index when it has one.
pub fn carried<'d>(
    plan: &crate::plan::Plan,
    decisions: &'d [Decision],
) -> (Vec<(&'d Decision, usize)>, Vec<&'d Decision>) {
    use crate::plan::{Change, UserChange};
    let mut done = Vec::new();
    let mut not = Vec::new();
    for d in decisions.iter().filter(|d| d.word == Word::Revoke) {
        let found = plan.changes.iter().position(|step| match &step.change {
            Change::User(UserChange::Update(e) | UserChange::Strip(e)) => {
                key(&e.before.email) == key(&d.email)
                    && e.before.roles.iter().any(|r| key(&r.name) == key(&d.role))
                    && !e.after.roles.iter().any(|r| key(&r.name) == key(&d.role))
            }
            Change::User(UserChange::Delete(r)) => key(&r.before.email) == key(&d.email),
            _ => false,
        });
        match found {
            Some(i) => done.push((d, i)),
            None => not.push(d),
        }
    }
    (done, not)
}
