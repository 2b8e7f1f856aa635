//! `rolecall import-csv`: a CSV of people as `users:` YAML.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use rolecall_core::adopt::import_csv::{
    self, CsvOptions, CsvUser, DecodeError, Encoding, NameSplit,
};
use rolecall_core::text::clean;

use crate::error::{CliError, CliResult};
use crate::exit;
use crate::settings::Settings;

/// `--encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodingArg {
    /// With or without a byte-order mark.
    #[value(name = "utf-8")]
    Utf8,
    /// What Excel on Windows saves as "CSV (Comma delimited)".
    #[value(name = "windows-1252", alias = "cp1252")]
    Windows1252,
}

/// `--name-split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NameSplitArg {
    /// The first word is the first name, the rest the last name (`Mary` `Ann van Dyke`).
    FirstWord,
    /// The last word is the last name, the rest the first name (`Mary Ann van` `Dyke`).
    LastWord,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Columns are matched ignoring case, spaces and punctuation: `Name` (a full \
name, split by `--name-split`; `Doe, Jane` is last name first) or `First Name` and `Last Name` \
(`first_name`, `FirstName`), `Email`, and optionally `Roles` (separated by `;` or `|`). The \
vendor's `Name,Email` format works as is. Comma or semicolon delimited, UTF-8 with or without a \
byte-order mark; a file Excel saved as \"CSV (Comma delimited)\" on Windows needs `--encoding \
windows-1252` (or save it as \"CSV UTF-8 (Comma delimited)\").

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
    /// Where a full name (a single `Name` column) splits into first and last name.
    #[arg(long, value_enum, value_name = "WHERE", default_value = "first-word")]
    pub name_split: NameSplitArg,
    /// The text encoding of the file.
    #[arg(long, value_enum, value_name = "ENCODING", default_value = "utf-8")]
    pub encoding: EncodingArg,
    /// Write to FILE (a users file of a config directory); an existing file gets the new
    /// users appended under its `users:`. Default: stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Appends users to an existing users file (see [`import_csv::merge`]).
fn merge(path: &Path, users: &[CsvUser]) -> CliResult<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::msg(format!("cannot read `{}`: {e}", path.display())))?;
    import_csv::merge(&text, users).map_err(|e| {
        CliError::msg(format!("cannot add users to `{}`: {e}", path.display()))
            .with_hint("write to a new file in the config directory instead (`-o users/new.yaml`)")
    })
}

/// Why the file is not read as text: where (`file:line`), and how to make
/// it UTF-8 or read it as it is.
fn decode_error(path: &Path, e: &DecodeError) -> CliError {
    let shown = rolecall_core::text::path(path);
    let what = match e.line() {
        Some(line) => format!("{shown}:{line}: {e}"),
        None => format!("`{shown}` is {e}"),
    };
    const EXCEL: &str = "(Excel: File > Save As > \"CSV UTF-8 (Comma delimited)\")";
    let hint = match e {
        DecodeError::LooksLikeWindows1252 { .. } => {
            format!("save it as UTF-8 {EXCEL}, or read it as it is with `--encoding windows-1252`")
        }
        DecodeError::NotUtf8 { .. } | DecodeError::Utf16 => format!("save it as UTF-8 {EXCEL}"),
        DecodeError::Spreadsheet => format!("save it as CSV {EXCEL}"),
        DecodeError::IsUtf8 { .. } => "leave out `--encoding windows-1252`".to_string(),
    };
    CliError::msg(format!("{what}; nothing was read")).with_hint(hint)
}

pub(crate) fn run(args: &ImportCsvArgs, settings: &Settings) -> CliResult {
    if let Some(path) = &args.output {
        crate::fsio::not_a_link(path, "the users")?;
    }
    let bytes = crate::fsio::read_bounded_bytes(
        &args.file,
        settings.max_config_size,
        "`--max-config-size`",
    )?;
    let encoding = match args.encoding {
        EncodingArg::Utf8 => Encoding::Utf8,
        EncodingArg::Windows1252 => Encoding::Windows1252,
    };
    let text = import_csv::decode(&bytes, encoding).map_err(|e| decode_error(&args.file, &e))?;
    let options = CsvOptions {
        roles: args.roles.clone(),
        last_name_fallback: args.last_name_fallback.clone(),
        name_split: match args.name_split {
            NameSplitArg::FirstWord => NameSplit::FirstWord,
            NameSplitArg::LastWord => NameSplit::LastWord,
        },
    };
    if settings.config_given && !settings.config.exists() {
        return Err(CliError::msg(format!(
            "the config `{}` does not exist; nothing was written",
            rolecall_core::text::path(&settings.config)
        ))
        .with_hint(
            "name the config the rows are checked against, or leave out `-f` to check nothing",
        ));
    }
    let mut import = import_csv::read(&text, &options);
    if settings.config.exists() {
        let loaded = crate::planning::load_config(settings)?;
        import.check_against(&loaded.desired);
    }
    import.problems.sort_by_key(|p| (p.line, !p.error));
    let mut stderr = settings.stderr();
    for p in &import.problems {
        let label = if p.error { "error" } else { "warning" };
        // A cell may hold anything, the key pasted by mistake included.
        let line = format!(
            "{label}: {}:{}: {}",
            args.file.display(),
            p.line,
            clean(&p.message)
        );
        writeln!(stderr, "{}", settings.redact(&line))?;
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
            crate::fsio::write_file(path, &text, "the users")?;
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
