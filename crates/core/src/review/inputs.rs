//! The review's outside inputs, read from CSV: an activity log (the Usage
//! Data query's result) and an HR or identity-provider directory. A bad row
//! is an error at its line, never skipped.

use std::collections::HashMap;

use crate::config::date::Date;
use crate::config::vocab::key;

/// A row that cannot be read, at its line (1 is the header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct InputError {
    /// The line (1 is the header).
    pub line: u64,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

fn error(line: u64, message: impl Into<String>, hint: impl Into<String>) -> InputError {
    InputError {
        line,
        message: message.into(),
        hint: hint.into(),
    }
}

/// The header's columns, by name (trimmed, lower-cased); a required one
/// missing is an error naming the header the file must have.
fn columns(
    headers: &csv::StringRecord,
    required: &[&str],
    optional: &[&str],
    example: &str,
) -> Result<Vec<Option<usize>>, InputError> {
    let names: Vec<String> = headers.iter().map(|h| key(h.trim())).collect();
    let find = |c: &str| names.iter().position(|n| n == c);
    let mut out = Vec::new();
    for c in required {
        match find(c) {
            Some(i) => out.push(Some(i)),
            None => {
                return Err(error(
                    1,
                    format!("the header has no `{c}` column"),
                    format!("the first line must be `{example}`"),
                ));
            }
        }
    }
    out.extend(optional.iter().map(|c| find(c)));
    Ok(out)
}

fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
}

fn cell(record: &csv::StringRecord, column: Option<usize>) -> &str {
    column.and_then(|c| record.get(c)).map_or("", str::trim)
}

/// A day from a `YYYY-MM-DD` or an RFC 3339 timestamp (its UTC day).
fn day(text: &str) -> Option<Date> {
    if text.len() > 10 {
        return humantime::parse_rfc3339_weak(text.trim_end_matches('Z'))
            .ok()
            .map(Date::of);
    }
    Date::parse(text).ok()
}

/// What the activity log says: each user's last activity, and (with a
/// `dashboard_id` column) each user's last activity per dashboard.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    /// Lower-cased email -> last day seen.
    pub last_seen: HashMap<String, Date>,
    /// Lower-cased email -> dashboard id -> last day seen there.
    pub dashboards: HashMap<String, HashMap<String, Date>>,
    /// Whether the log has a `dashboard_id` column.
    pub per_dashboard: bool,
    /// Rows read.
    pub rows: u64,
}

/// One row of an input CSV: its line, and its cells in the order the
/// columns were asked for (empty when an optional column is missing).
struct Row<'r> {
    line: u64,
    cells: Vec<&'r str>,
}

/// Walks an input CSV whose first column is an email: the header checked
/// (`required` then `optional` columns, `example` for the hint), each row's
/// email checked (`whose` says whose it is), then `each` called. Returns
/// which optional columns the header has.
fn each_row(
    text: &str,
    required: &[&str],
    optional: &[&str],
    example: &str,
    whose: &str,
    mut each: impl FnMut(&Row<'_>) -> Result<(), InputError>,
) -> Result<Vec<bool>, InputError> {
    let mut rdr = reader(text);
    let headers = rdr
        .headers()
        .map_err(|e| error(1, e.to_string(), "save the file as CSV (UTF-8)"))?
        .clone();
    let cols = columns(&headers, required, optional, example)?;
    for (i, record) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| error(line, e.to_string(), "save the file as CSV"))?;
        let row = Row {
            line,
            cells: cols.iter().map(|c| cell(&record, *c)).collect(),
        };
        if !crate::config::vocab::is_email(row.cells[0]) {
            return Err(error(
                line,
                format!(
                    "`{}` is not an email address",
                    crate::text::clean(row.cells[0])
                ),
                format!("the first column is {whose} email"),
            ));
        }
        each(&row)?;
    }
    Ok(cols[required.len()..].iter().map(Option::is_some).collect())
}

/// Reads `email,last_seen[,dashboard_id]`.
pub fn read_activity(text: &str) -> Result<Activity, InputError> {
    let mut out = Activity::default();
    let present = each_row(
        text,
        &["email", "last_seen"],
        &["dashboard_id"],
        "email,last_seen[,dashboard_id]",
        "the user's",
        |row| {
            let (email, seen, dashboard) = (row.cells[0], row.cells[1], row.cells[2]);
            let Some(date) = day(seen) else {
                return Err(error(
                    row.line,
                    format!("`{}` is not a day", crate::text::clean(seen)),
                    "write `YYYY-MM-DD` or an RFC 3339 time such as `2026-11-30T08:15:00Z`",
                ));
            };
            let email = key(email);
            let last = out.last_seen.entry(email.clone()).or_insert(date);
            *last = (*last).max(date);
            if !dashboard.is_empty() {
                let last = (out.dashboards.entry(email).or_default())
                    .entry(dashboard.to_string())
                    .or_insert(date);
                *last = (*last).max(date);
            }
            out.rows += 1;
            Ok(())
        },
    )?;
    out.per_dashboard = present[0];
    Ok(out)
}

/// A person's status in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Employed, account enabled.
    Active,
    /// Left, suspended or disabled.
    Inactive,
    /// Not started yet.
    Pending,
}

impl Status {
    /// As written: `active`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
            Status::Pending => "pending",
        }
    }

    /// A directory's word: Okta's user statuses, Entra ID's `accountEnabled`,
    /// Google Workspace's, and plain words.
    pub fn of_word(word: &str) -> Option<Status> {
        let w = word.trim().to_lowercase().replace([' ', '-'], "_");
        Some(match w.as_str() {
            "active" | "enabled" | "true" | "recovery" | "locked_out" | "password_expired" => {
                Status::Active
            }
            "inactive" | "suspended" | "deprovisioned" | "disabled" | "false" | "archived"
            | "deleted" | "terminated" | "left" => Status::Inactive,
            "pending" | "staged" | "provisioned" | "invited" => Status::Pending,
            _ => return None,
        })
    }
}

/// The words [`Status::of_word`] reads, for hints.
pub const STATUS_WORDS: &str = "active, enabled, true, recovery, locked_out, password_expired (active); inactive, suspended, deprovisioned, disabled, false, archived, deleted, terminated, left (inactive); pending, staged, provisioned, invited (pending)";

/// A directory's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Their status.
    pub status: Status,
    /// The day they left, when given.
    pub left_on: Option<Date>,
    /// The line it was read from.
    pub line: u64,
}

/// An HR or identity-provider export, by lower-cased email.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Lower-cased email -> the person.
    pub people: HashMap<String, Person>,
}

/// Reads `email,status[,left_on]`; a word it does not know is an error at
/// its line, as is an email given twice.
pub fn read_directory(text: &str) -> Result<Directory, InputError> {
    let mut out = Directory::default();
    each_row(
        text,
        &["email", "status"],
        &["left_on"],
        "email,status[,left_on]",
        "the person's",
        |row| {
            let (email, word, left, line) = (row.cells[0], row.cells[1], row.cells[2], row.line);
            let Some(status) = Status::of_word(word) else {
                return Err(error(
                    line,
                    format!(
                        "`{}` is not a status rolecall knows",
                        crate::text::clean(word)
                    ),
                    format!("the statuses are: {STATUS_WORDS}"),
                ));
            };
            let left_on = match left {
                "" => None,
                _ => Some(day(left).ok_or_else(|| {
                    error(
                        line,
                        format!("`{}` is not a day", crate::text::clean(left)),
                        "write `left_on` as `YYYY-MM-DD`, or leave it empty",
                    )
                })?),
            };
            if out.people.contains_key(&key(email)) {
                return Err(error(
                    line,
                    format!("`{}` is given twice", crate::text::clean(email)),
                    "give each person once",
                ));
            }
            let person = Person {
                status,
                left_on,
                line,
            };
            out.people.insert(key(email), person);
            Ok(())
        },
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_keeps_the_last_day_per_user_and_dashboard() {
        let a = read_activity(
            "\u{feff}Email,Last_Seen,dashboard_id\nJane@acme.com,2026-10-01,7\njane@acme.com,2026-11-02T10:00:00Z,7\nbob@acme.com,2026-09-01,\n",
        )
        .unwrap();
        assert_eq!(a.last_seen["jane@acme.com"].to_string(), "2026-11-02");
        assert_eq!(a.dashboards["jane@acme.com"]["7"].to_string(), "2026-11-02");
        assert!(a.per_dashboard && !a.dashboards.contains_key("bob@acme.com"));
        let e = read_activity("email,last_seen\nx@acme.com,yesterday\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            read_activity("user,when\n")
                .unwrap_err()
                .hint
                .contains("email,last_seen")
        );
    }

    #[test]
    fn directory_words_of_okta_entra_and_google_are_read() {
        let d = read_directory(
            "email,status,left_on\na@x.io,ACTIVE,\nb@x.io,SUSPENDED,2026-10-31\nc@x.io,false,\nd@x.io,STAGED,\ne@x.io,Archived,\n",
        )
        .unwrap();
        let s = |e: &str| d.people[e].status;
        assert_eq!(s("a@x.io"), Status::Active);
        assert_eq!(s("b@x.io"), Status::Inactive);
        assert_eq!(
            d.people["b@x.io"].left_on.unwrap().to_string(),
            "2026-10-31"
        );
        assert_eq!(s("c@x.io"), Status::Inactive);
        assert_eq!(s("d@x.io"), Status::Pending);
        assert_eq!(s("e@x.io"), Status::Inactive);
        let e = read_directory("email,status\na@x.io,active\nb@x.io,on leave\n").unwrap_err();
        assert_eq!((e.line, e.message.contains("on leave")), (3, true));
        let twice = read_directory("email,status\na@x.io,active\nA@x.io,active\n").unwrap_err();
        assert_eq!(twice.line, 3);
    }
}
