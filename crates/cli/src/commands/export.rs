//! `rolecall export`: the live site as a config that plans to no changes,
//! or as a snapshot (where and when it was taken, for plans without a key).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use rolecall_core::adopt::export::{self, ExportOptions, Layout, SplitUsers};
use rolecall_core::config::vocab::key;
use rolecall_core::kinds::Kind;
use rolecall_core::plan::Selection;
use rolecall_core::text::clean;

use crate::connect::SiteArgs;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A rolecall config (one file, or a directory with `-o DIR/`).
    Yaml,
    /// The site as read, with where and when it was taken (never the key): for
    /// `rolecall plan --from-snapshot`, `--sandbox` and `rolecall emulator --seed`.
    Snapshot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    /// `users/users.yaml`.
    One,
    /// `users/<domain>.yaml`.
    Domain,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Reads the site with the read-only client and writes a config that \
plans to no changes against it: a start for a team adopting rolecall on an existing site. The \
output is sorted and stable, so a nightly export into git shows real changes only.

Examples:
  rolecall export > rolecall.yaml
  rolecall export -o config/ --split-users domain
  rolecall export --format snapshot --redact -o rehearsal.json
  rolecall export --sandbox examples/data-org/sandbox.json"
)]
pub struct ExportArgs {
    /// What to write.
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: ExportFormat,
    /// Where: a file, or a directory (an existing one, or a path ending in `/`) for the
    /// directory layout (`rolecall.yaml`, `roles/*.yaml`, `users/*.yaml`). Default: stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE|DIR/")]
    pub output: Option<PathBuf>,
    /// The `actor:` to write (default: the site's only Admin member).
    #[arg(long, value_name = "EMAIL")]
    pub actor: Option<String>,
    /// In a directory layout, users in one file or one file per email domain.
    #[arg(long, value_enum, default_value = "one", value_name = "HOW")]
    pub split_users: SplitArg,
    /// Only what the config (`-f`) does not manage: its unmanaged users and roles, as
    /// one file of entries (no settings) to add to the config's directory.
    #[arg(long, conflicts_with_all = ["format", "redact", "split_users"])]
    pub only_unmanaged: bool,
    /// With --only-unmanaged, only these (`user:GLOB`, `role:GLOB`; repeatable).
    #[arg(long, value_name = "SEL", requires = "only_unmanaged")]
    pub target: Vec<String>,
    /// Write a config over an existing file, or into a directory that is not empty
    /// (a snapshot is always replaced).
    #[arg(long)]
    pub force: bool,
    /// Replace emails and names with stable pseudonyms (the same input gives the same
    /// output), to share a copy of a site for a rehearsal.
    #[arg(long)]
    pub redact: bool,
    #[command(flatten)]
    pub site: SiteArgs,
}

fn is_dir_target(path: &Path) -> bool {
    path.is_dir() || path.to_string_lossy().ends_with('/')
}

fn write(path: &Path, text: &str) -> CliResult<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| CliError::msg(format!("cannot create `{}`: {e}", parent.display())))?;
    }
    crate::fsio::write_file(path, text, "the export")
}

/// `--actor`, which must be an Admin member (every write names it), or
/// the site's only Admin member.
fn actor(args: &ExportArgs, live: &rolecall_core::live::Live) -> CliResult<String> {
    let admins = export::admins(live);
    let listed = || {
        if admins.is_empty() {
            "the site has no Admin member".to_string()
        } else {
            let names: Vec<String> = admins.iter().map(|a| format!("`{}`", clean(a))).collect();
            format!("its Admin members are {}", names.join(", "))
        }
    };
    match &args.actor {
        // Written as the site spells it.
        Some(actor) if let Some(admin) = admins.iter().find(|a| key(a) == key(actor)) => {
            Ok(admin.clone())
        }
        Some(actor) => Err(CliError::msg(format!(
            "`{}` is not an Admin member of the site: {}; nothing was written",
            clean(actor),
            listed()
        ))
        .with_hint("the actor must be an Admin: pass `--actor` with one of them")),
        None => export::default_actor(live).map_err(|_| {
            CliError::msg(format!("cannot choose the actor: {}", listed()))
                .with_hint("pass `--actor EMAIL` with the admin rolecall should act as")
        }),
    }
}

/// Without `--force`, a config export never replaces a file nor writes
/// into a directory that holds anything (a config's comments, its prune
/// settings, an uncommitted edit would be lost). A snapshot is data, made
/// again and again: it is replaced.
fn check_target(args: &ExportArgs) -> CliResult<()> {
    let Some(path) = &args.output else {
        return Ok(());
    };
    if args.force || args.format == ExportFormat::Snapshot {
        return Ok(());
    }
    let occupied = if path.is_dir() {
        std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_some())
    } else {
        path.exists()
    };
    if !occupied {
        return Ok(());
    }
    let what = if path.is_dir() {
        "is a directory that is not empty"
    } else {
        "exists"
    };
    Err(CliError::msg(format!(
        "`{}` {what}; nothing was read or written",
        rolecall_core::text::path(path)
    ))
    .with_hint(
        "export to a new path and compare, or pass `--force` to overwrite (files the export does not write are left as they are)",
    ))
}

/// `rolecall.lock` beside the exported root file: each dashboard written
/// by name pinned to its id. An existing lock (of another config in the
/// same directory) is kept without `--force`.
fn write_lock(
    args: &ExportArgs,
    settings: &Settings,
    config: &Path,
    live: &rolecall_core::live::Live,
    site: &str,
) -> CliResult<()> {
    let lock = export::lock(live, site);
    let path = rolecall_core::config::lock::path_for(config);
    if lock.is_empty() {
        return Ok(());
    }
    if path.exists() && !args.force {
        writeln!(
            settings.stderr(),
            "note: `{}` exists and was kept: `rolecall lock --update -f {}` pins this config's dashboards",
            rolecall_core::text::path(&path),
            rolecall_core::text::path(config)
        )?;
        return Ok(());
    }
    write(&path, &lock.to_text())
}

/// `--only-unmanaged`: the users and roles the config leaves alone (as
/// plans name them), selected by `--target`, as a file of entries.
fn only_unmanaged(args: &ExportArgs, settings: &Settings) -> CliResult {
    if args.output.as_deref().is_some_and(is_dir_target) {
        return Err(
            CliError::msg("--only-unmanaged writes one file, not a directory")
                .with_hint("write it into the config's directory: `-o config/users/adopted.yaml`"),
        );
    }
    let selectors = crate::select::selection(&args.target, &[])?.targets;
    let loaded = crate::planning::load_config(settings)?;
    let conn = crate::connect::connect(settings, &args.site, &loaded.desired.site)?;
    let live = crate::connect::fetch(settings, &conn)?;
    let (plan, _) = crate::planning::plan(settings, &loaded, &live, &Selection::default())?;
    let picked = |kind: Kind, name: &str| {
        selectors.is_empty() || selectors.iter().any(|s| s.matches_name(kind, name))
    };
    let users: BTreeSet<String> = (plan.unmanaged.users.iter())
        .filter(|u| picked(Kind::User, &u.email))
        .map(|u| key(&u.email))
        .collect();
    let roles: BTreeSet<String> = (plan.unmanaged.roles.iter())
        .filter(|r| picked(Kind::Role, r))
        .map(|r| key(r))
        .collect();
    let text = export::export_unmanaged(&live, &users, &roles);
    match &args.output {
        Some(path) => write(path, &text)?,
        None => settings.stdout().write_all(text.as_bytes())?,
    }
    if !settings.quiet {
        writeln!(
            settings.stderr(),
            "{} and {} the config does not manage",
            rolecall_core::plural(users.len(), "user"),
            rolecall_core::plural(roles.len(), "role")
        )?;
    }
    Ok(exit::OK)
}

pub(crate) fn run(args: &ExportArgs, settings: &Settings) -> CliResult {
    check_target(args)?;
    if args.only_unmanaged {
        return only_unmanaged(args, settings);
    }
    let conn = crate::connect::connect_any(settings, &args.site)?;
    let site_name = conn.reader.site().to_string();
    let mut live = crate::connect::fetch(settings, &conn)?;
    if args.redact {
        live = export::redact(&live);
    }
    if args.format == ExportFormat::Snapshot {
        // A redacted copy is for rehearsals: it records no checksum to plan by.
        let taken = (!args.redact).then(|| crate::snapshot::taken(&conn.config.endpoint, &live));
        let text = crate::snapshot::snapshot_text(&site_name, taken.as_ref(), &live)?;
        return match &args.output {
            Some(path) => write(path, &text).map(|()| exit::OK),
            None => Ok(settings
                .stdout()
                .write_all(text.as_bytes())
                .map(|()| exit::OK)?),
        };
    }
    let actor = actor(args, &live)?;
    let layout = match &args.output {
        Some(path) if is_dir_target(path) => Layout::Dir(match args.split_users {
            SplitArg::One => SplitUsers::OneFile,
            SplitArg::Domain => SplitUsers::ByDomain,
        }),
        _ => Layout::File,
    };
    let files = export::export(
        &live,
        &ExportOptions {
            site: site_name.clone(),
            actor,
            layout,
        },
    );
    match (&args.output, layout) {
        (None, _) => settings.stdout().write_all(files[0].1.as_bytes())?,
        (Some(path), Layout::File) => {
            write(path, &files[0].1)?;
            write_lock(args, settings, path, &live, &site_name)?;
        }
        (Some(dir), Layout::Dir(_)) => {
            for (relative, text) in &files {
                write(&dir.join(relative), text)?;
            }
            write_lock(args, settings, dir, &live, &site_name)?;
            if !settings.quiet {
                writeln!(
                    settings.stderr(),
                    "wrote {} files under `{}`",
                    files.len(),
                    dir.display()
                )?;
            }
        }
    }
    Ok(exit::OK)
}
