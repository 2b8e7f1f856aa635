//! A CSV of people (the vendor's bulk-user format `Name,Email`, or first
//! and last name columns, and roles) turned into `users:` YAML.
//!
//! Every problem is found at once, each with its CSV line; a file with any
//! error gives no YAML.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::Desired;
use crate::adopt::export::scalar;
use crate::config::vocab::{self, key};

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

    /// Checks the rows against a config: every role must be one it defines
    /// or a default role; a user it has already is skipped when the same
    /// (a warning), an error when its name or roles differ.
    pub fn check_against(&mut self, desired: &Desired) {
        let mut kept = Vec::new();
        // One error per unknown role, at its first line, listing every line.
        let mut unknown: BTreeMap<String, (String, Vec<u64>)> = BTreeMap::new();
        for user in std::mem::take(&mut self.users) {
            for role in &user.roles {
                let known = desired.roles.contains_key(&key(role))
                    || vocab::DEFAULT_ROLES.iter().any(|d| key(d) == key(role));
                if !known {
                    let entry = unknown
                        .entry(key(role))
                        .or_insert_with(|| (role.clone(), Vec::new()));
                    entry.1.push(user.line);
                }
            }
            let Some(existing) = desired.users.get(&key(&user.email)) else {
                kept.push(user);
                continue;
            };
            let roles: BTreeSet<&String> = existing.roles.keys().collect();
            let wanted: BTreeSet<String> = user.roles.iter().map(|r| key(r)).collect();
            let same = existing
                .first_name
                .as_deref()
                .is_none_or(|f| f == user.first_name)
                && existing
                    .last_name
                    .as_deref()
                    .is_none_or(|l| l == user.last_name)
                && roles == wanted.iter().collect();
            if same {
                let message = format!("`{}` is in the config already; skipped", user.email);
                self.warning(user.line, message);
            } else {
                let message = format!(
                    "`{}` is in the config already, with another name or roles",
                    user.email
                );
                self.error(user.line, message);
            }
        }
        self.users = kept;
        for (role, lines) in unknown.into_values() {
            let also = match &lines[1..] {
                [] => String::new(),
                rest => format!(
                    " (also on {} {})",
                    if rest.len() == 1 { "line" } else { "lines" },
                    rest.iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.error(
                lines[0],
                format!(
                    "role `{role}` is defined neither in the config nor as a default role{also}"
                ),
            );
        }
    }
}

/// Why users cannot be added to an existing file.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("`users:` is not its last section")]
    NotLastSection,
    #[error("it is not YAML rolecall can read ({0})")]
    Invalid(String),
    #[error("`{email}` is in it already (line {line})")]
    Duplicate { email: String, line: u32 },
    #[error("its users are indented with tabs")]
    Tabs,
}

/// `text` (a config file) with `users` appended under its `users:`: only
/// when `users:` is its last top-level key, so that the entries land under
/// it and every byte before them is kept. The entries take the file's
/// indentation; a user the file has already is an error, and so is a
/// result that would not read back with every user.
pub fn merge(text: &str, users: &[CsvUser]) -> Result<String, MergeError> {
    let top_level = |l: &&str| !l.starts_with([' ', '\t', '#', '-']) && !l.trim().is_empty();
    let last_key = text.lines().rfind(top_level).unwrap_or_default();
    // A file with no `users:` at all gets one, at its end.
    if !text
        .lines()
        .any(|l| l.split(" #").next().unwrap_or_default().trim_end() == "users:")
    {
        let mut with = text.to_string();
        if !with.is_empty() && !with.ends_with('\n') {
            with.push('\n');
        }
        with.push_str("users:\n");
        return merge(&with, users);
    }
    // `users:`, perhaps with a comment after it.
    let last_key = last_key.split(" #").next().unwrap_or_default().trim_end();
    if last_key != "users:" {
        return Err(MergeError::NotLastSection);
    }
    let existing = crate::config::load::section_keys(text, "users").map_err(MergeError::Invalid)?;
    for user in users {
        if let Some((_, line)) = existing.iter().find(|(e, _)| key(e) == key(&user.email)) {
            return Err(MergeError::Duplicate {
                email: user.email.clone(),
                line: *line,
            });
        }
    }
    // The indentation of the entries under `users:`: its first entry's.
    let after = text
        .lines()
        .skip_while(|l| !l.starts_with("users:"))
        .skip(1);
    let mut after = after;
    let entry = after.find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let indent = match entry {
        Some(l) if l.starts_with('\t') => return Err(MergeError::Tabs),
        Some(l) => l.len() - l.trim_start_matches(' ').len(),
        None => 2,
    }
    .max(1);
    let mut merged = text.to_string();
    if !merged.ends_with('\n') {
        merged.push('\n');
    }
    // The generated entries are indented by 2 per level: by `indent` now.
    for line in yaml(users, false).lines() {
        let depth = (line.len() - line.trim_start_matches(' ').len()) / 2;
        merged.push_str(&" ".repeat(depth * indent));
        merged.push_str(line.trim_start_matches(' '));
        merged.push('\n');
    }
    let read = crate::config::load::section_keys(&merged, "users").map_err(MergeError::Invalid)?;
    if read.len() != existing.len() + users.len() {
        return Err(MergeError::Invalid(
            "the users would not read back as written".into(),
        ));
    }
    Ok(merged)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load_texts;

    const CONFIG: &str = "site: acme\nactor: admin@acme.com\nroles:\n  Finance: {}\nusers:\n  admin@acme.com: {roles: [Admin]}\n  jane@acme.com: {first_name: Jane, last_name: Doe, roles: [Finance]}\n";

    /// Rows checked against a config: an unknown role, a user already
    /// there the same (skipped) and different (an error), a new user kept.
    #[test]
    fn rows_are_checked_against_the_config() {
        let desired = load_texts(vec![("rolecall.yaml".into(), CONFIG.into())])
            .unwrap()
            .desired;
        let csv = "Name,Email,Roles\nJane Doe,jane@acme.com,Finance\nAd Min,ADMIN@acme.com,Finance\nSam Lee,sam@acme.com,Finanse\nLi Wei,li@acme.com,Finance\nBo Lu,bo@acme.com,finanse\nAl Ko,al@acme.com,Finanse\n";
        let mut import = read(csv, &CsvOptions::default());
        import.check_against(&desired);
        let problems: Vec<String> = import
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{} {}: {}",
                    p.line,
                    if p.error { "error" } else { "warning" },
                    p.message
                )
            })
            .collect();
        insta::assert_snapshot!(problems.join("\n"), @r"
        2 warning: `jane@acme.com` is in the config already; skipped
        3 error: `ADMIN@acme.com` is in the config already, with another name or roles
        4 error: role `Finanse` is defined neither in the config nor as a default role (also on lines 6, 7)
        ");
        let kept: Vec<&str> = import.users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(
            kept,
            ["sam@acme.com", "li@acme.com", "bo@acme.com", "al@acme.com"]
        );
    }

    /// Users land under `users:` when it is the last section, every byte
    /// before kept; anywhere else, nothing is merged.
    #[test]
    fn users_are_merged_only_under_a_last_users_section() {
        let users = read("Name,Email\nLi Wei,li@acme.com\n", &CsvOptions::default()).users;
        let existing = "# team file\nusers:\n  jane@acme.com: {roles: [Finance]}  # keep me";
        let merged = merge(existing, &users).unwrap();
        assert!(merged.starts_with(existing), "{merged}");
        insta::assert_snapshot!(&merged[existing.len()..], @r"

          li@acme.com:
            first_name: Li
            last_name: Wei
        ");
        // A file with no users yet gets a `users:` section.
        let roles_only = "roles:\n  Finance: {}\n";
        assert_eq!(
            merge(roles_only, &users).unwrap(),
            "roles:\n  Finance: {}\nusers:\n  li@acme.com:\n    first_name: Li\n    last_name: Wei\n"
        );
        let roles_last = "users:\n  jane@acme.com: {}\nroles:\n  Finance: {}\n";
        assert!(matches!(
            merge(roles_last, &users),
            Err(MergeError::NotLastSection)
        ));
        // The file's own indentation, and a comment after `users:`.
        let four = "users: # people\n    jane@acme.com:\n        roles: [Finance]\n";
        let merged = merge(four, &users).unwrap();
        assert_eq!(
            &merged[four.len()..],
            "    li@acme.com:\n        first_name: Li\n        last_name: Wei\n"
        );
        let keys = crate::config::load::section_keys(&merged, "users").unwrap();
        assert_eq!(keys.len(), 2);
        // A user the file has already (in any case) is not written twice.
        let has_li = "users:\n  LI@acme.com: {roles: [Finance]}\n";
        assert!(matches!(
            merge(has_li, &users),
            Err(MergeError::Duplicate { line: 2, .. })
        ));
        // Tabs, and a file that is not YAML, are refused.
        assert!(matches!(
            merge("users:\n\tjane@acme.com: {}\n", &users),
            Err(MergeError::Invalid(_) | MergeError::Tabs)
        ));
        assert!(matches!(
            merge("a: [\nusers:\n", &users),
            Err(MergeError::Invalid(_))
        ));
    }
}
