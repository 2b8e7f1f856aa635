//! A CSV of people (the vendor's bulk-user format `Name,Email`, or first
//! and last name columns, and roles) turned into `users:` YAML.
//!
//! Every problem is found at once, each with its CSV line; a file with any
//! error gives no YAML.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::export::scalar;
use crate::vocab::{self, key};

/// How to read a CSV.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Roles every row gets.
    pub roles: Vec<String>,
    /// The last name of a row whose name is one word (else an error).
    pub last_name_fallback: Option<String>,
}

/// A user read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvUser {
    /// The CSV line (1 is the header).
    pub line: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub roles: BTreeSet<String>,
}

/// A problem with a row (or the header), by CSV line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    pub line: u64,
    pub error: bool,
    pub message: String,
}

/// What a CSV holds: users in file order (duplicates dropped), and every
/// problem found.
#[derive(Debug, Clone, Default)]
pub struct CsvImport {
    pub users: Vec<CsvUser>,
    pub problems: Vec<CsvProblem>,
}

impl CsvImport {
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.error)
    }

    /// Records an error on a CSV line.
    pub fn error(&mut self, line: u64, message: String) {
        self.problems.push(CsvProblem {
            line,
            error: true,
            message,
        });
    }

    /// Records a warning on a CSV line.
    pub fn warning(&mut self, line: u64, message: String) {
        self.problems.push(CsvProblem {
            line,
            error: false,
            message,
        });
    }
}

/// Which column holds what.
#[derive(Debug, Default)]
struct Columns {
    name: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    email: Option<usize>,
    roles: Option<usize>,
}

fn normalise(header: &str) -> String {
    header
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

impl Columns {
    fn of(headers: &csv::StringRecord) -> Self {
        let mut c = Columns::default();
        for (i, h) in headers.iter().enumerate() {
            let slot = match normalise(h).as_str() {
                "name" | "fullname" | "displayname" => &mut c.name,
                "firstname" | "givenname" | "first" => &mut c.first,
                "lastname" | "surname" | "familyname" | "last" => &mut c.last,
                "email" | "emailaddress" | "mail" => &mut c.email,
                "roles" | "role" | "groups" => &mut c.roles,
                _ => continue,
            };
            slot.get_or_insert(i);
        }
        c
    }
}

/// `,` or `;`, whichever the header line holds more of.
fn delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or_default();
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

/// Reads a CSV (UTF-8, with or without a byte-order mark, any line ends).
pub fn read(text: &str, options: &CsvOptions) -> CsvImport {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // CRLF as LF: the CSV reader counts lines of LF only.
    let text = text.replace("\r\n", "\n");
    let text = text.as_str();
    let mut out = CsvImport::default();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(text))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let columns = match reader.headers() {
        Ok(h) => Columns::of(h),
        Err(e) => {
            out.error(1, format!("cannot read the header: {e}"));
            return out;
        }
    };
    if columns.email.is_none() || (columns.name.is_none() && columns.first.is_none()) {
        out.error(1, "the header needs an `Email` column and a `Name` column (or `First Name` and `Last Name`)".into());
        return out;
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                out.error(line, format!("cannot read the row: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let Some(user) = row(&record, line, &columns, options, &mut out) else {
            continue;
        };
        match seen.get(&key(&user.email)) {
            None => {
                seen.insert(key(&user.email), out.users.len());
                out.users.push(user);
            }
            Some(&i) => duplicate(&mut out, i, user),
        }
    }
    out
}

fn duplicate(out: &mut CsvImport, first: usize, user: CsvUser) {
    let earlier = &out.users[first];
    let same = earlier.first_name == user.first_name
        && earlier.last_name == user.last_name
        && earlier.roles == user.roles;
    let (line, at) = (user.line, earlier.line);
    if same {
        out.warning(
            line,
            format!("`{}` repeats line {at}; kept once", user.email),
        );
    } else {
        out.error(
            line,
            format!(
                "`{}` is also on line {at}, with another name or roles: keep one",
                user.email
            ),
        );
    }
}

fn row(
    record: &csv::StringRecord,
    line: u64,
    columns: &Columns,
    options: &CsvOptions,
    out: &mut CsvImport,
) -> Option<CsvUser> {
    let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or_default().trim();
    let email = cell(columns.email).to_string();
    if !vocab::is_email(&email) {
        out.error(line, format!("`{email}` is not an email"));
        return None;
    }
    let (first, last) = match (columns.first, columns.last) {
        (Some(_), Some(_)) => (
            cell(columns.first).to_string(),
            cell(columns.last).to_string(),
        ),
        _ => split_name(cell(columns.name)),
    };
    let last = match (last.is_empty(), &options.last_name_fallback) {
        (true, Some(fallback)) => fallback.clone(),
        _ => last,
    };
    if first.is_empty() || last.is_empty() {
        out.error(
            line,
            format!("`{email}` needs a first and a last name; the site refuses empty names"),
        );
        return None;
    }
    let mut roles: BTreeSet<String> = cell(columns.roles)
        .split([';', '|'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    roles.extend(options.roles.iter().cloned());
    Some(CsvUser {
        line,
        email,
        first_name: first,
        last_name: last,
        roles,
    })
}

/// `Mary Ann van Dyke` -> (`Mary`, `Ann van Dyke`): the first word, and the
/// rest (middle names kept). `Doe, Jane` (last name first) -> (`Jane`, `Doe`).
fn split_name(name: &str) -> (String, String) {
    if let Some((last, first)) = name.split_once(',') {
        let (first, last) = (first.trim(), last.trim());
        if !first.is_empty() && !last.is_empty() {
            return (first.to_string(), last.to_string());
        }
    }
    let mut words = name.split_whitespace();
    let first = words.next().unwrap_or_default().to_string();
    let rest: Vec<&str> = words.collect();
    (first, rest.join(" "))
}

/// The users as a `users:` block (or, with `header: false`, only its
/// entries, to append under an existing `users:`).
pub fn yaml(users: &[CsvUser], header: bool) -> String {
    let mut out = if header {
        "users:\n".to_string()
    } else {
        String::new()
    };
    for u in users {
        let _ = writeln!(out, "  {}:", scalar(&u.email));
        let _ = writeln!(out, "    first_name: {}", scalar(&u.first_name));
        let _ = writeln!(out, "    last_name: {}", scalar(&u.last_name));
        if !u.roles.is_empty() {
            let roles: Vec<String> = u.roles.iter().map(|r| scalar(r)).collect();
            let _ = writeln!(out, "    roles: [{}]", roles.join(", "));
        }
    }
    out
}
