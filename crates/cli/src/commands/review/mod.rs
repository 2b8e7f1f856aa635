//! `rolecall review`: the periodic access review. `pack` writes what an
//! auditor receives; `check`, `propose` and `verify` take reviewers'
//! decisions to a config change and prove it took effect.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use rolecall_core::config::date::Date;
use rolecall_core::review::decisions::{self, Checked, Rules};
use rolecall_core::review::files::{Manifest, sha256_of};

use crate::connect::SiteArgs;
use crate::error::{CliError, CliResult};
use crate::settings::Settings;

mod decide;
mod pack;

#[derive(Debug, Args)]
#[command(
    after_help = "The loop, once per cycle (`review.every` in the root file):
  rolecall review pack --since-pack reviews/2026-q3 --directory hr.csv --activity usage.csv -o reviews/2026-q4
  (owners fill reviews/2026-q4/decisions.csv: keep, revoke or exception, with reviewer and day)
  rolecall review check reviews/2026-q4        # every row decided, by an owner, nothing altered
  rolecall review propose reviews/2026-q4      # the revokes and exceptions as config edits
  rolecall plan --pack reviews/2026-q4         # \"3 of 3 revokes in this plan\"; then apply as usual
  rolecall review verify reviews/2026-q4       # afterwards: every revoke gone from the site

docs/review.md says what each file holds and how an auditor reads it."
)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Write a review pack: the population, findings, changes of the period, a sign-off sheet and a page to print.
    Pack(pack::PackArgs),
    /// Check a filled decisions.csv against its pack (exit 0 complete, 2 incomplete or a rule broken, 1 the pack edited).
    Check(CheckArgs),
    /// Turn the checked decisions into config edits (revokes out, exceptions with their `until`).
    Propose(CheckArgs),
    /// Prove the decisions took effect: every revoke gone from the site, every exception in the config (exit 0 or 2).
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The pack's directory.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The filled sheet, if not the pack's own `decisions.csv`.
    #[arg(long, value_name = "FILE")]
    pub decisions: Option<PathBuf>,
    /// Every decision must be made on or before this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub due: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Prove it from a snapshot taken after the apply, instead of reading the site.
    #[arg(long, value_name = "FILE", conflicts_with = "sandbox")]
    pub from_snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub site: SiteArgs,
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 2 on a critical finding.
    Critical,
    /// On a high or critical one.
    High,
    /// On any but low.
    Normal,
    /// On any finding.
    Any,
    /// Never: exit 0 whatever is found.
    Never,
}

pub(crate) fn run(args: &ReviewArgs, settings: &Settings) -> CliResult {
    match &args.command {
        ReviewCommand::Pack(a) => pack::run(a, settings),
        ReviewCommand::Check(a) => decide::check(a, settings),
        ReviewCommand::Propose(a) => decide::propose(a, settings),
        ReviewCommand::Verify(a) => decide::verify(a, settings),
    }
}

/// The files every pack has (besides `pack.json` and the optional
/// `effective-access.csv`).
const PACK_FILES: [&str; 7] = [
    "index.html",
    "population.csv",
    "roles.csv",
    "findings.csv",
    "changes.csv",
    "decisions.csv",
    "site.json",
];

/// Bytes of `pack.json` read at most.
const MAX_MANIFEST: usize = 16 << 20;

/// A pack read back: its manifest, its population, and its files checked
/// against their sha256 (an edited pack is exit 1).
pub(crate) struct Opened {
    pub manifest: Manifest,
    pub population: String,
    /// The site as the pack reviewed it (`site.json`).
    pub site: rolecall_core::live::Live,
    pub dir: PathBuf,
}

pub(crate) fn open(dir: &Path, settings: &Settings) -> CliResult<Opened> {
    let shown = rolecall_core::text::path(dir);
    let text = crate::fsio::read_bounded(
        &dir.join("pack.json"),
        MAX_MANIFEST,
        "nothing: a pack.json is small",
    )
    .map_err(|e| {
        e.with_hint(format!(
            "`{shown}` must be a directory `rolecall review pack` wrote"
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        CliError::msg(format!("`{shown}/pack.json` is not a pack's manifest: {e}"))
            .with_hint("give the directory `rolecall review pack` wrote, as it wrote it")
    })?;
    if manifest.format_version != rolecall_core::review::files::FORMAT_VERSION {
        return Err(CliError::msg(format!(
            "`{shown}/pack.json` is of format {}; this rolecall reads format {}",
            manifest.format_version,
            rolecall_core::review::files::FORMAT_VERSION
        )));
    }
    // Every file a pack has is listed: one taken out of the list would
    // go unchecked.
    for name in PACK_FILES {
        if !manifest.files.contains_key(name) {
            return Err(CliError::msg(format!(
                "the pack was edited: `pack.json` does not list `{name}`"
            ))
            .with_hint("a pack is read-only but for decisions.csv: write a new pack with `rolecall review pack`"));
        }
    }
    for (name, sha) in &manifest.files {
        if name == "decisions.csv" {
            continue;
        }
        let edited = || {
            CliError::msg(format!("the pack was edited: `{}` is not the file the pack wrote", rolecall_core::text::clean(name)))
                .with_hint("a pack is read-only but for decisions.csv: write a new pack with `rolecall review pack`")
        };
        // A name is a plain file name of the pack (pack.json is hostile too).
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(edited());
        }
        let path = dir.join(name);
        crate::fsio::not_a_link(&path, "a pack file")?;
        let file = std::fs::File::open(&path).map_err(|_| edited())?;
        if sha256_of(file)? != *sha {
            return Err(edited());
        }
    }
    // What the id is derived from (the day, the settings, every input) is
    // as the pack wrote it.
    if manifest.id_of(&manifest.files["site.json"]) != manifest.pack_id {
        return Err(CliError::msg(
            "the pack was edited: `pack.json` is not what its `pack_id` was derived from",
        )
        .with_hint("a pack is read-only but for decisions.csv: write a new pack with `rolecall review pack`"));
    }
    let population = crate::fsio::read_bounded(
        &dir.join("population.csv"),
        settings.max_snapshot_size,
        "`--max-snapshot-size`",
    )?;
    let text = crate::fsio::read_bounded(
        &dir.join("site.json"),
        settings.max_snapshot_size,
        "`--max-snapshot-size`",
    )?;
    let site = rolecall_engine::read_snapshot(&text)
        .map_err(|e| CliError::msg(format!("the pack's site.json: {e}")))?
        .live;
    Ok(Opened {
        manifest,
        population,
        site,
        dir: dir.to_path_buf(),
    })
}

/// The filled sheet, checked against the pack.
pub(crate) fn checked(
    opened: &Opened,
    args: &CheckArgs,
    settings: &Settings,
) -> CliResult<(Checked, PathBuf)> {
    let path = args
        .decisions
        .clone()
        .unwrap_or_else(|| opened.dir.join("decisions.csv"));
    let sheet =
        crate::fsio::read_bounded(&path, settings.max_snapshot_size, "`--max-snapshot-size`")?;
    let as_of = Date::parse(opened.manifest.as_of.get(..10).unwrap_or_default())
        .map_err(|e| CliError::msg(format!("pack.json: `as_of`: {e}")))?;
    let due = args
        .due
        .as_deref()
        .map(|d| Date::parse(d).map_err(|e| CliError::msg(format!("--due: {e}"))))
        .transpose()?;
    let every = (opened.manifest.settings.get("every"))
        .and_then(serde_json::Value::as_u64)
        .map_or(90, |d| d.min(3660) as u32);
    let rules = Rules {
        population: &opened.population,
        as_of,
        today: settings.today()?,
        every,
        due,
    };
    let mut checked = decisions::check(&rules, &sheet);
    decisions::resolve(&mut checked.decisions, &opened.site);
    Ok((checked, path))
}

/// Prints each broken rule at its line, and a summary line.
pub(crate) fn report(checked: &Checked, path: &Path, settings: &Settings) -> CliResult<()> {
    let shown = rolecall_core::text::path(path);
    let mut err = settings.stderr();
    for p in &checked.problems {
        if p.line == 0 {
            writeln!(err, "{shown}: {}", settings.redact(&p.text))?;
        } else {
            writeln!(err, "{shown}:{}: {}", p.line, settings.redact(&p.text))?;
        }
    }
    let count = |w: decisions::Word| checked.decisions.iter().filter(|d| d.word == w).count();
    writeln!(
        settings.stdout(),
        "{}: {} read: {} keep, {} revoke, {} exception; {} undecided; {}",
        shown,
        rolecall_core::plural(checked.rows as usize, "row"),
        count(decisions::Word::Keep),
        count(decisions::Word::Revoke),
        count(decisions::Word::Exception),
        checked.undecided,
        match checked.problems.len() {
            0 => "complete".to_string(),
            n => format!("{} to fix", rolecall_core::plural(n, "problem")),
        }
    )?;
    Ok(())
}

/// The newest pack under `review.packs` and when the next review is due.
pub(crate) struct Due {
    /// `review.packs`, as a path.
    pub packs: PathBuf,
    /// The newest pack (its directory) and its day.
    pub last: Option<(PathBuf, Date)>,
    /// The day the next review is due (`None`: no pack yet).
    pub due: Option<Date>,
}

/// When the next review is due, if the config sets `review.packs`: the
/// newest `pack.json` under it (one level down) plus `review.every`.
pub(crate) fn due(settings: &Settings, desired: &rolecall_core::Desired) -> Option<Due> {
    let packs = desired.review.packs.as_ref()?;
    let dir = crate::planning::config_root(settings).join(packs);
    let mut last: Option<(PathBuf, Date)> = None;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let manifest = entry.path().join("pack.json");
        let Ok(text) = crate::fsio::read_bounded(&manifest, MAX_MANIFEST, "nothing") else {
            continue;
        };
        let day = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("as_of").and_then(|a| a.as_str()).map(str::to_string))
            .and_then(|a| Date::parse(a.get(..10).unwrap_or_default()).ok());
        if let Some(day) = day
            && last.as_ref().is_none_or(|(_, d)| day > *d)
        {
            last = Some((entry.path(), day));
        }
    }
    let due = last
        .as_ref()
        .map(|(_, d)| d.plus_days(i64::from(desired.review.every)));
    Some(Due {
        packs: dir,
        last,
        due,
    })
}

impl Due {
    /// What to say about it on `today`: a warning within `days` of the due
    /// day, past it, or with no pack yet; `None` when it is far.
    pub(crate) fn say(&self, today: Date, days: i64) -> Option<String> {
        let packs = rolecall_core::text::path(&self.packs);
        match (&self.last, self.due) {
            (Some((dir, last)), Some(due)) => {
                let left = today.days_to(due);
                let dir = rolecall_core::text::path(dir);
                if left < 0 {
                    Some(format!(
                        "the access review was due on {due}: the last pack, `{dir}`, is of {last} ({} days ago)",
                        last.days_to(today)
                    ))
                } else if left <= days {
                    Some(format!(
                        "the access review is due on {due} (in {left} days): the last pack, `{dir}`, is of {last}"
                    ))
                } else {
                    None
                }
            }
            _ => Some(format!(
                "no review pack under `{packs}` yet: `review.packs` expects one every cycle"
            )),
        }
    }

    /// Whether the review is overdue (or was never made).
    pub(crate) fn overdue(&self, today: Date) -> bool {
        self.due.is_none_or(|d| today > d)
    }
}
