//! `rolecall import-csv`: a CSV of people as `users:` YAML.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use rolecall_core::Desired;
use rolecall_core::import_csv::{self, CsvImport, CsvOptions, CsvUser};
use rolecall_core::text::clean;
use rolecall_core::vocab::{self, key};

use super::site;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(
    after_help = "Columns are matched case-insensitively: `Name` (a full name: the first \
word is the first name, the rest the last name) or `First Name` and `Last Name`, `Email`, and \
optionally `Roles` (separated by `;` or `|`). The vendor's `Name,Email` format works as is. \
Comma or semicolon delimited, UTF-8 with or without a byte-order mark.

With a config at `-f` (default `./rolecall.yaml`, if it exists), roles are checked against it and \
rows already in it are skipped when the same, refused when different.

Exit codes: 0 written, 1 any error (every error is listed; nothing is written).

Examples:
  rolecall import-csv people.csv --role Viewer > users.yaml
  rolecall import-csv people.csv -f config/ -o config/users/new.yaml"
)]
pub struct ImportCsvArgs {
    /// The CSV file.
    pub file: PathBuf,
    /// A role every row gets; repeatable.
    #[arg(long = "role", value_name = "NAME")]
    pub roles: Vec<String>,
    /// The last name of rows whose name is one word (else they are errors).
    #[arg(long, value_name = "TEXT")]
    pub last_name_fallback: Option<String>,
    /// Write to FILE (a users file of a config directory); an existing file gets the new
    /// users appended under its `users:`. Default: stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Checks the rows against a config: roles it knows, users it has.
fn check_against(import: &mut CsvImport, desired: &Desired) {
    let mut kept = Vec::new();
    for user in std::mem::take(&mut import.users) {
        for role in &user.roles {
            let known = desired.roles.contains_key(&key(role))
                || vocab::DEFAULT_ROLES.iter().any(|d| key(d) == key(role));
            if !known {
                import.error(
                    user.line,
                    format!("role `{role}` is defined neither in the config nor as a default role"),
                );
            }
        }
        match desired.users.get(&key(&user.email)) {
            None => kept.push(user),
            Some(existing) => {
                let roles: std::collections::BTreeSet<String> =
                    existing.roles.keys().cloned().collect();
                let wanted: std::collections::BTreeSet<String> =
                    user.roles.iter().map(|r| key(r)).collect();
                let same = existing
                    .first_name
                    .as_deref()
                    .is_none_or(|f| f == user.first_name)
                    && existing
                        .last_name
                        .as_deref()
                        .is_none_or(|l| l == user.last_name)
                    && roles == wanted;
                let message = if same {
                    format!("`{}` is in the config already; skipped", user.email)
                } else {
                    format!(
                        "`{}` is in the config already, with another name or roles",
                        user.email
                    )
                };
                if same {
                    import.warning(user.line, message);
                } else {
                    import.error(user.line, message);
                }
            }
        }
    }
    import.users = kept;
}

/// Appends users to an existing users file: only when `users:` is its last
/// top-level key, so that the entries land under it.
fn merge(path: &Path, users: &[CsvUser]) -> CliResult<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::msg(format!("cannot read `{}`: {e}", path.display())))?;
    let last_key = text
        .lines()
        .rfind(|l| !l.starts_with([' ', '\t', '#', '-']) && !l.trim().is_empty())
        .unwrap_or_default();
    if last_key.trim_end() != "users:" {
        return Err(CliError::msg(format!(
            "cannot add users to `{}`: `users:` is not its last section",
            path.display()
        ))
        .with_hint("write to a new file in the config directory instead (`-o users/new.yaml`)"));
    }
    let mut merged = text;
    if !merged.ends_with('\n') {
        merged.push('\n');
    }
    merged.push_str(&import_csv::yaml(users, false));
    Ok(merged)
}

pub fn run(args: &ImportCsvArgs, settings: &Settings) -> CliResult {
    if let Some(path) = &args.output {
        site::not_a_link(path, "the users")?;
    }
    let text = site::read_bounded(&args.file, settings.max_config_size, "`--max-config-size`")?;
    let options = CsvOptions {
        roles: args.roles.clone(),
        last_name_fallback: args.last_name_fallback.clone(),
    };
    let mut import = import_csv::read(&text, &options);
    if settings.config.exists() {
        let loaded = site::load_config(settings)?;
        check_against(&mut import, &loaded.desired);
    }
    import.problems.sort_by_key(|p| (p.line, !p.error));
    let mut stderr = settings.stderr();
    for p in &import.problems {
        let label = if p.error { "error" } else { "warning" };
        writeln!(
            stderr,
            "{label}: {}:{}: {}",
            args.file.display(),
            p.line,
            clean(&p.message)
        )?;
    }
    if import.has_errors() {
        let n = import.problems.iter().filter(|p| p.error).count();
        return Err(CliError::msg(format!(
            "`{}` has {}; nothing was written",
            args.file.display(),
            rolecall_core::plural(n, "error")
        ))
        .with_hint("fix the lines above and run again (a one-word name can take its last name from `--last-name-fallback TEXT`)"));
    }
    match &args.output {
        None => settings
            .stdout()
            .write_all(import_csv::yaml(&import.users, true).as_bytes())?,
        Some(path) => {
            let text = if path.exists() {
                merge(path, &import.users)?
            } else {
                import_csv::yaml(&import.users, true)
            };
            site::write_file(path, &text, "the users")?;
        }
    }
    if !settings.quiet {
        writeln!(
            stderr,
            "{} read",
            rolecall_core::plural(import.users.len(), "user")
        )?;
    }
    Ok(exit::OK)
}
