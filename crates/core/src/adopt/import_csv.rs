//! A CSV of people (the vendor's bulk-user format `Name,Email`, or first
//! and last name columns, and roles) turned into `users:` YAML.
//!
//! Every problem is found at once, each with its CSV line; a file with any
//! error gives no YAML. The bytes are UTF-8, or Windows-1252 when asked
//! ([`decode`]): what Excel on Windows saves as "CSV (Comma delimited)".

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::yaml::scalar;
use crate::Desired;
use crate::config::model::User;
use crate::config::vocab::{self, key};
use crate::diagnostic::did_you_mean;

/// How to read a CSV.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Roles every row gets.
    pub roles: Vec<String>,
    /// The last name of a row whose name is one word (else an error).
    pub last_name_fallback: Option<String>,
    /// Where a full name (one `Name` column) splits into first and last.
    pub name_split: NameSplit,
}

/// Where a full name splits. `Doe, Jane` (last name first) and a one-word
/// name read the same either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NameSplit {
    /// `Mary Ann van Dyke` -> `Mary` and `Ann van Dyke`.
    #[default]
    FirstWord,
    /// `Mary Ann van Dyke` -> `Mary Ann van` and `Dyke`.
    LastWord,
}

/// How the bytes of a CSV are text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    /// With or without a byte-order mark.
    #[default]
    Utf8,
    /// Excel's "CSV (Comma delimited)" on Windows (a file that starts with
    /// a UTF-8 byte-order mark is UTF-8 all the same).
    Windows1252,
}

/// Why the bytes of a CSV are not text rolecall reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not UTF-8, but every byte is text in Windows-1252.
    #[error(
        "not UTF-8 text: byte 0x{byte:02X} (`{as_1252}` in Windows-1252); the file looks like \
         Windows-1252, as Excel on Windows saves \"CSV (Comma delimited)\""
    )]
    LooksLikeWindows1252 {
        /// The line it is on.
        line: u64,
        /// The byte.
        byte: u8,
        /// What it is in Windows-1252.
        as_1252: char,
    },
    /// Not UTF-8, nor text in Windows-1252 either.
    #[error("not UTF-8 text: byte 0x{byte:02X}")]
    NotUtf8 {
        /// The line it is on.
        line: u64,
        /// The byte.
        byte: u8,
    },
    /// UTF-16 text, as Excel saves "Unicode Text".
    #[error("UTF-16 text (as Excel saves \"Unicode Text\"), not UTF-8")]
    Utf16,
    /// An xlsx spreadsheet, not CSV.
    #[error("a spreadsheet (xlsx), not CSV")]
    Spreadsheet,
    /// `--encoding windows-1252` given a UTF-8 file: it would read garbled.
    #[error("UTF-8 text, not Windows-1252: `{utf8}` would read as `{as_1252}`")]
    IsUtf8 {
        /// The line of the first byte that reads otherwise.
        line: u64,
        /// The text as UTF-8.
        utf8: String,
        /// The same bytes as Windows-1252.
        as_1252: String,
    },
}

impl DecodeError {
    /// The CSV line of the first byte in question, if there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            Self::LooksLikeWindows1252 { line, .. }
            | Self::NotUtf8 { line, .. }
            | Self::IsUtf8 { line, .. } => Some(*line),
            Self::Utf16 | Self::Spreadsheet => None,
        }
    }
}

/// The line (from 1) of byte `at`.
fn line_of(bytes: &[u8], at: usize) -> u64 {
    bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// Whether `text` (decoded as Windows-1252) reads as text: no control
/// characters but tab and line ends, and none of the bytes Windows-1252
/// leaves undefined (decoded as C1 controls).
fn reads_as_text(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The text of a CSV's bytes. In UTF-8, a file that is not says what it
/// looks like instead (Windows-1252, UTF-16, a spreadsheet); in
/// Windows-1252, a file that is UTF-8 with anything beyond ASCII is
/// refused rather than read garbled.
pub fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, DecodeError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(DecodeError::Utf16);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(DecodeError::Spreadsheet);
    }
    let utf8 = std::str::from_utf8(bytes);
    match (encoding, utf8) {
        (Encoding::Utf8, Ok(text)) => Ok(text.to_string()),
        (Encoding::Utf8, Err(e)) => {
            let at = e.valid_up_to();
            let (line, byte) = (line_of(bytes, at), bytes[at]);
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            // One character per byte in Windows-1252.
            match text.chars().nth(at) {
                Some(as_1252) if reads_as_text(&text) => Err(DecodeError::LooksLikeWindows1252 {
                    line,
                    byte,
                    as_1252,
                }),
                _ => Err(DecodeError::NotUtf8 { line, byte }),
            }
        }
        // A byte-order mark says UTF-8, whatever was asked.
        (Encoding::Windows1252, Ok(text)) if text.starts_with('\u{feff}') => Ok(text.to_string()),
        (Encoding::Windows1252, Ok(text)) => match text.char_indices().find(|(_, c)| !c.is_ascii())
        {
            None => Ok(text.to_string()),
            Some((at, c)) => {
                let mut buf = [0; 4];
                let (as_1252, _) = encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(c.encode_utf8(&mut buf).as_bytes());
                Err(DecodeError::IsUtf8 {
                    line: line_of(bytes, at),
                    utf8: c.to_string(),
                    as_1252: as_1252.into_owned(),
                })
            }
        },
        (Encoding::Windows1252, Err(_)) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            Ok(text.into_owned())
        }
    }
}

/// A user read from a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvUser {
    /// The CSV line (1 is the header).
    pub line: u64,
    /// The email, as the row writes it.
    pub email: String,
    /// The first name.
    pub first_name: String,
    /// The last name.
    pub last_name: String,
    /// The roles the row gives.
    pub roles: BTreeSet<String>,
}

/// A problem with a row (or the header), by CSV line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    /// The line of the CSV it is on.
    pub line: u64,
    /// An error (nothing is written), else a warning.
    pub error: bool,
    /// What is wrong, and how to fix it.
    pub message: String,
}

/// What a CSV holds: users in file order (duplicates dropped), and every
/// problem found.
#[derive(Debug, Clone, Default)]
pub struct CsvImport {
    /// The users read, in the order of the file.
    pub users: Vec<CsvUser>,
    /// What is wrong with rows.
    pub problems: Vec<CsvProblem>,
}

impl CsvImport {
    /// Whether any problem is an error.
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
            match differences(existing, &user) {
                None => {
                    let message = format!("`{}` is in the config already; skipped", user.email);
                    self.warning(user.line, message);
                }
                Some(differ) => {
                    let message = format!(
                        "`{}` is in the config already ({}), with {differ}",
                        user.email, existing.origin
                    );
                    self.error(user.line, message);
                }
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
            let known = desired
                .roles
                .values()
                .map(|r| r.name.as_str())
                .chain(vocab::DEFAULT_ROLES.iter().copied());
            let hint = did_you_mean(&role, known)
                .map(|m| format!("; did you mean `{m}`?"))
                .unwrap_or_default();
            self.error(
                lines[0],
                format!(
                    "role `{role}` is defined neither in the config nor as a default role{also}{hint}"
                ),
            );
        }
    }
}

/// How a row differs from the config's entry for the same user: its name
/// (where the config sets one) and its roles, each as the config has it
/// and as the CSV does. `None` when the same.
fn differences(existing: &User, user: &CsvUser) -> Option<String> {
    let first = existing
        .first_name
        .as_deref()
        .filter(|f| *f != user.first_name);
    let last = existing
        .last_name
        .as_deref()
        .filter(|l| *l != user.last_name);
    let name = match (&existing.first_name, &existing.last_name) {
        _ if first.is_none() && last.is_none() => None,
        (Some(f), Some(l)) => Some(format!(
            "another name: `{f} {l}` in the config, `{} {}` in the CSV",
            user.first_name, user.last_name
        )),
        (Some(f), None) => Some(format!(
            "another first name: `{f}` in the config, `{}` in the CSV",
            user.first_name
        )),
        (None, Some(l)) => Some(format!(
            "another last name: `{l}` in the config, `{}` in the CSV",
            user.last_name
        )),
        (None, None) => None,
    };
    let theirs: BTreeSet<String> = existing.roles.keys().cloned().collect();
    let ours: BTreeSet<String> = user.roles.iter().map(|r| key(r)).collect();
    let roles = (theirs != ours).then(|| {
        let list = |names: Vec<&str>| match names.as_slice() {
            [] => "no roles".to_string(),
            names => names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        format!(
            "other roles: {} in the config, {} in the CSV",
            list(existing.roles.values().map(|r| r.name.as_str()).collect()),
            list(user.roles.iter().map(String::as_str).collect())
        )
    });
    match (name, roles) {
        (None, None) => None,
        (Some(d), None) | (None, Some(d)) => Some(d),
        (Some(name), Some(roles)) => Some(format!("{name}; and {roles}")),
    }
}

/// Why users cannot be added to an existing file.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A section comes after `users:`: appended entries would land in it.
    #[error("`users:` is not its last section")]
    NotLastSection,
    /// Not YAML rolecall reads; why.
    #[error("it is not YAML rolecall can read ({0})")]
    Invalid(String),
    /// The email is in the file already.
    #[error("`{email}` is in it already (line {line})")]
    Duplicate {
        /// The email.
        email: String,
        /// Its line in the file.
        line: u32,
    },
    /// Its users are indented with tabs.
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
    let split = columns.first.is_none() || columns.last.is_none();
    if columns.email.is_none() || (columns.name.is_none() && split) {
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
    let folded = |roles: &BTreeSet<String>| roles.iter().map(|r| key(r)).collect::<BTreeSet<_>>();
    let same_roles = folded(&earlier.roles) == folded(&user.roles);
    let same =
        earlier.first_name == user.first_name && earlier.last_name == user.last_name && same_roles;
    let (line, at) = (user.line, earlier.line);
    if same {
        out.warning(
            line,
            format!("`{}` repeats line {at}; kept once", user.email),
        );
    } else {
        let list = |roles: &BTreeSet<String>| match roles.len() {
            0 => "no roles".to_string(),
            _ => (roles.iter())
                .map(|r| format!("`{}`", crate::text::code_text(r)))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let mut how = Vec::new();
        if (&earlier.first_name, &earlier.last_name) != (&user.first_name, &user.last_name) {
            how.push(format!(
                "another name: `{} {}` on line {at}, `{} {}` here",
                crate::text::code_text(&earlier.first_name),
                crate::text::code_text(&earlier.last_name),
                crate::text::code_text(&user.first_name),
                crate::text::code_text(&user.last_name)
            ));
        }
        if !same_roles {
            how.push(format!(
                "other roles: {} on line {at}, {} here",
                list(&earlier.roles),
                list(&user.roles)
            ));
        }
        out.error(
            line,
            format!(
                "`{}` is also on line {at}, with {}: keep one",
                user.email,
                how.join("; and ")
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
        _ => split_name(cell(columns.name), options.name_split),
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
/// rest (middle names kept); or with [`NameSplit::LastWord`], (`Mary Ann
/// van`, `Dyke`). `Doe, Jane` (last name first) -> (`Jane`, `Doe`). One word
/// is a first name only.
fn split_name(name: &str, split: NameSplit) -> (String, String) {
    if let Some((last, first)) = name.split_once(',') {
        let (first, last) = (first.trim(), last.trim());
        if !first.is_empty() && !last.is_empty() {
            return (first.to_string(), last.to_string());
        }
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    let at = match (split, words.len()) {
        (_, 0 | 1) | (NameSplit::FirstWord, _) => 1,
        (NameSplit::LastWord, n) => n - 1,
    }
    .min(words.len());
    (words[..at].join(" "), words[at..].join(" "))
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
        // An empty name is not managed (the config may not write one).
        for (field, value) in [("first_name", &u.first_name), ("last_name", &u.last_name)] {
            if !value.is_empty() {
                let _ = writeln!(out, "    {field}: {}", scalar(value));
            }
        }
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
        3 error: `ADMIN@acme.com` is in the config already (rolecall.yaml:6), with other roles: `Admin` in the config, `Finance` in the CSV
        4 error: role `Finanse` is defined neither in the config nor as a default role (also on lines 6, 7); did you mean `Finance`?
        ");
        let kept: Vec<&str> = import.users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(
            kept,
            ["sam@acme.com", "li@acme.com", "bo@acme.com", "al@acme.com"]
        );
    }

    /// A user the config has with another name or roles: the error says
    /// which, as the config has it and as the CSV does; a name the config
    /// leaves to the site is not compared. A role far from any gets no
    /// suggestion.
    #[test]
    fn a_differing_user_is_told_by_what() {
        let config = "site: acme\nactor: admin@acme.com\nroles:\n  Finance: {}\nusers:\n  admin@acme.com: {roles: [Admin]}\n  jane@acme.com: {first_name: Jane, last_name: Doe, roles: [Finance]}\n  bo@acme.com: {first_name: Bo}\n  li@acme.com: {roles: [Finance, Analyst]}\n";
        let desired = load_texts(vec![("rolecall.yaml".into(), config.into())])
            .unwrap()
            .desired;
        let csv = "Name,Email,Roles\nJane Q Doe,jane@acme.com,Finance\nJane Doe,JANE@acme.com,Finance;Read\nJanet Roe,jane@acme.com,\nBob Lee,bo@acme.com,\nLi Wei,li@acme.com,finance;analyst\nXi Yu,xi@acme.com,Zzyzx\n";
        // Each row read alone: rows repeating an email are not what this
        // test is about.
        let users: Vec<CsvUser> = csv
            .lines()
            .skip(1)
            .zip(2..)
            .flat_map(|(row, line)| {
                let one = format!("Name,Email,Roles\n{row}\n");
                let mut users = read(&one, &CsvOptions::default()).users;
                users.iter_mut().for_each(|u| u.line = line);
                users
            })
            .collect();
        let mut import = CsvImport {
            users,
            problems: Vec::new(),
        };
        import.check_against(&desired);
        let problems: Vec<String> = import
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.line, p.message))
            .collect();
        insta::assert_snapshot!(problems.join("\n"), @r"
        2: `jane@acme.com` is in the config already (rolecall.yaml:7), with another name: `Jane Doe` in the config, `Jane Q Doe` in the CSV
        3: `JANE@acme.com` is in the config already (rolecall.yaml:7), with other roles: `Finance` in the config, `Finance`, `Read` in the CSV
        4: `jane@acme.com` is in the config already (rolecall.yaml:7), with another name: `Jane Doe` in the config, `Janet Roe` in the CSV; and other roles: `Finance` in the config, no roles in the CSV
        5: `bo@acme.com` is in the config already (rolecall.yaml:8), with another first name: `Bo` in the config, `Bob` in the CSV
        6: `li@acme.com` is in the config already; skipped
        7: role `Zzyzx` is defined neither in the config nor as a default role
        ");
        assert_eq!(import.users.len(), 1, "only the new user is kept");
    }

    /// A single name column splits at the first word (the default) or the
    /// last; `Doe, Jane` and one-word names read the same either way.
    #[test]
    fn names_split_at_the_first_or_the_last_word() {
        let csv = "Name,Email\nMary Ann van Dyke,mary@acme.com\n\"Doe, Jane\",jane@acme.com\nCher,cher@acme.com\n  Li   Wei ,li@acme.com\n";
        let names = |split| {
            let options = CsvOptions {
                last_name_fallback: Some("-".into()),
                name_split: split,
                ..CsvOptions::default()
            };
            read(csv, &options)
                .users
                .into_iter()
                .map(|u| format!("{}|{}", u.first_name, u.last_name))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(NameSplit::FirstWord),
            ["Mary|Ann van Dyke", "Jane|Doe", "Cher|-", "Li|Wei"]
        );
        assert_eq!(
            names(NameSplit::LastWord),
            ["Mary Ann van|Dyke", "Jane|Doe", "Cher|-", "Li|Wei"]
        );
        // Without the fallback, a one-word name is an error in both.
        for split in [NameSplit::FirstWord, NameSplit::LastWord] {
            let options = CsvOptions {
                name_split: split,
                ..CsvOptions::default()
            };
            let import = read("Name,Email\nCher,cher@acme.com\n", &options);
            assert!(import.has_errors() && import.users.is_empty());
        }
    }

    /// First and last name columns, however the header writes them, win
    /// over a full name; one of them alone (without `Name`) is a header
    /// error, not an error on every row.
    #[test]
    fn first_and_last_name_columns_in_any_spelling() {
        for header in [
            "First Name,Last Name,Email",
            "first_name,last_name,email",
            "FirstName,LastName,E-Mail",
            " FIRST NAME ; last-name ; Email Address",
        ] {
            let sep = if header.contains(';') { ";" } else { "," };
            let csv = format!("{header}\nMary Ann{sep}van Dyke{sep}mary@acme.com\n");
            let import = read(&csv, &CsvOptions::default());
            assert!(!import.has_errors(), "{header}: {:?}", import.problems);
            let u = &import.users[0];
            assert_eq!(
                (u.first_name.as_str(), u.last_name.as_str()),
                ("Mary Ann", "van Dyke"),
                "{header}"
            );
        }
        let both = read(
            "Name,First Name,Last Name,Email\nM. A. van Dyke,Mary Ann,van Dyke,mary@acme.com\n",
            &CsvOptions::default(),
        );
        assert_eq!(both.users[0].first_name, "Mary Ann");
        let half = read(
            "First Name,Email\nMary,mary@acme.com\n",
            &CsvOptions::default(),
        );
        assert_eq!(half.problems.len(), 1);
        assert_eq!(half.problems[0].line, 1, "{:?}", half.problems);
    }

    /// UTF-8 as is (a byte-order mark too); Windows-1252 when asked. A
    /// file not UTF-8 says what it looks like and where its first odd byte
    /// is; a UTF-8 file read as Windows-1252 is refused, not garbled.
    #[test]
    fn bytes_decode_as_utf8_or_windows_1252() {
        let cp1252 =
            b"Name,Email\nRen\xe9 Dupont,rene@acme.com\nZo\xeb \x93Z\x94 Li,zoe@acme.com\n";
        assert_eq!(
            decode(cp1252, Encoding::Utf8),
            Err(DecodeError::LooksLikeWindows1252 {
                line: 2,
                byte: 0xE9,
                as_1252: '\u{e9}'
            })
        );
        let text = decode(cp1252, Encoding::Windows1252).unwrap();
        assert_eq!(
            text,
            "Name,Email\nRen\u{e9} Dupont,rene@acme.com\nZo\u{eb} \u{201c}Z\u{201d} Li,zoe@acme.com\n"
        );
        assert_eq!(
            read(&text, &CsvOptions::default()).users[0].first_name,
            "Ren\u{e9}"
        );
        // A byte Windows-1252 leaves undefined (0x81), or a control
        // character: not text in Windows-1252 either.
        for odd in [
            &b"Name,Email\nA\x81 B,a@acme.com\n"[..],
            b"Name,Email\n\x01\xe9 B,a@acme.com\n",
        ] {
            assert_eq!(
                decode(odd, Encoding::Utf8),
                Err(DecodeError::NotUtf8 {
                    line: 2,
                    byte: odd[12]
                })
            );
        }
        let utf8 = "\u{feff}Name,Email\nRen\u{e9} Dupont,rene@acme.com\n";
        assert_eq!(decode(utf8.as_bytes(), Encoding::Utf8).unwrap(), utf8);
        // A byte-order mark says UTF-8 whatever was asked; plain ASCII is
        // the same in both.
        assert_eq!(
            decode(utf8.as_bytes(), Encoding::Windows1252).unwrap(),
            utf8
        );
        assert!(decode(b"Name,Email\n", Encoding::Windows1252).is_ok());
        assert_eq!(
            decode(&utf8.as_bytes()[3..], Encoding::Windows1252),
            Err(DecodeError::IsUtf8 {
                line: 2,
                utf8: "\u{e9}".into(),
                as_1252: "\u{c3}\u{a9}".into()
            })
        );
        assert_eq!(
            decode(b"\xff\xfeN\x00", Encoding::Utf8),
            Err(DecodeError::Utf16)
        );
        assert_eq!(
            decode(b"PK\x03\x04\x14\x00", Encoding::Windows1252),
            Err(DecodeError::Spreadsheet)
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
