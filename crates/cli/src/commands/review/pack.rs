//! `rolecall review pack`: the pack an auditor receives, written beside
//! its destination and renamed there at the end (an error or Ctrl-C
//! leaves nothing).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use rolecall_core::access::{Evaluator, Model, Query};
use rolecall_core::config::date::Date;
use rolecall_core::config::vocab::key;
use rolecall_core::live::Live;
use rolecall_core::plan::Taken;
use rolecall_core::review::files::{self, Input, Manifest};
use rolecall_core::review::findings::{findings, population};
use rolecall_core::review::html::{Page, thousands};
use rolecall_core::review::inputs::{Activity, Directory, read_activity, read_directory};
use rolecall_core::review::model::{History, Inputs, Seen, pull_request_of};

use super::FailOn;
use crate::connect::SiteArgs;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(
    after_help = "Writes, into a new directory (default `review-SITE-DATE`):
  index.html        one page to open and print: summary, findings, privileged access,
                    changes of the period, one section per owner, method, sign-off
  population.csv    every user of the site, once per role (Everyone only for users in no other role)
  roles.csv, findings.csv, changes.csv
  decisions.csv     the sign-off sheet: the population with empty decision,reason,until,reviewer,decided_on
  site.json         the snapshot reviewed
  pack.json         what was read, the sha256 of every input and file, counts, settings, warnings
  effective-access.csv   with --effective: one row per user, dashboard and action (streamed)

Exit: 0 written (2 with a finding at or above --fail-on); 1 on any error, with nothing written."
)]
pub struct PackArgs {
    /// The directory to write (must not exist, or be empty; else --force).
    #[arg(short = 'o', long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace a directory that is not empty.
    #[arg(long)]
    pub force: bool,
    /// Review this snapshot instead of reading the site (no key).
    #[arg(long, value_name = "FILE", conflicts_with = "sandbox")]
    pub from_snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub site: SiteArgs,
    /// The period starts at this git revision: commits touching the config since, and the memberships each version gave.
    #[arg(long, value_name = "REV", conflicts_with = "since_pack")]
    pub since: Option<String>,
    /// The period starts at this earlier pack (its config commit and its day).
    #[arg(long, value_name = "DIR")]
    pub since_pack: Option<PathBuf>,
    /// Most commits of the config read for the period.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub max_history: usize,
    /// The nightly snapshots of the period (`*.json`, as `drift --snapshot-out` writes them): grants made on the site and gone again.
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Activity log, CSV `email,last_seen[,dashboard_id]` (see --print-activity-sql).
    #[arg(long, value_name = "FILE")]
    pub activity: Option<PathBuf>,
    /// The day the activity log starts: no row means "no activity since then", never "never logged in".
    #[arg(long, value_name = "YYYY-MM-DD", requires = "activity")]
    pub activity_since: Option<String>,
    /// HR or identity-provider export, CSV `email,status[,left_on]` (Okta, Entra ID and Google statuses read).
    #[arg(long, value_name = "FILE")]
    pub directory: Option<PathBuf>,
    /// Also write effective-access.csv: every user's actions on every dashboard, as `access --format csv`.
    #[arg(long)]
    pub effective: bool,
    /// How privileges and grants combine (see `rolecall access --help`).
    #[arg(long, value_enum, default_value = "cross-role")]
    pub model: crate::commands::access::ModelArg,
    /// Exit 2 when a finding is at least this severe.
    #[arg(long, value_enum, default_value = "never")]
    pub fail_on: FailOn,
    /// Bytes of an activity or directory CSV read at most.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    pub max_input_size: usize,
    /// Print the Usage Data query whose result is the --activity CSV, and exit.
    #[arg(long)]
    pub print_activity_sql: bool,
}

/// The query for `--activity`, on the site's Usage Data.
const ACTIVITY_SQL: &str =
    "-- rolecall review pack --activity: each user's last day on each dashboard.
-- Run it on the site's Usage Data (Settings > Usage Data) and save the result as CSV.
-- The table and column names are those of the Usage Data schema as the vendor
-- describes it; check them on your site. The earliest created_at is the day the
-- log starts: pass it as --activity-since.
select
  u.email as email,
  max(t.created_at)::date as last_seen,
  t.dashboard_id as dashboard_id
from periscope_usage_data.time_on_site_logs t
join periscope_usage_data.users u on u.id = t.user_id
group by u.email, t.dashboard_id
order by u.email, t.dashboard_id;
";

/// Set by Ctrl-C or SIGTERM while the pack is written.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Watches for Ctrl-C and SIGTERM from now on: the pack stops at its next
/// step and removes what it wrote.
fn watch_signals() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
        });
        INTERRUPTED.store(true, Ordering::SeqCst);
    });
}

fn stop_if_interrupted() -> CliResult<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(CliError::msg("interrupted: nothing was written").with_code(exit::INTERRUPTED));
    }
    Ok(())
}

/// A writer that fails once interrupted, so a long CSV stops.
struct Interruptible<W>(W);

impl<W: std::io::Write> std::io::Write for Interruptible<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if INTERRUPTED.load(Ordering::Relaxed) {
            // Not `ErrorKind::Interrupted`: `write_all` retries that one.
            return Err(std::io::Error::other("interrupted"));
        }
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The site reviewed: from a snapshot, the sandbox or the API.
struct Read {
    live: Live,
    taken: Taken,
    source: &'static str,
}

fn read_site(args: &PackArgs, settings: &Settings, site: &str) -> CliResult<Read> {
    if let Some(path) = &args.from_snapshot {
        let recorded = crate::snapshot::recorded(path, settings, site)?;
        return Ok(Read {
            live: recorded.live,
            taken: recorded.taken,
            source: "snapshot",
        });
    }
    let conn = crate::connect::connect(settings, &args.site, site)?;
    let live = crate::connect::fetch(settings, &conn)?;
    let source = if conn.is_sandbox() { "sandbox" } else { "api" };
    Ok(Read {
        taken: crate::snapshot::taken(&conn.config.endpoint, &live),
        live,
        source,
    })
}

/// The config's history since `rev`: its commits, and the memberships each
/// version (and `rev`'s) gave.
fn history(settings: &Settings, rev: &str, max: usize) -> CliResult<(History, String)> {
    let (start, commits) = crate::git::log_since(&settings.config, rev, max)?;
    let mut out = History {
        since: rev.to_string(),
        ..History::default()
    };
    for sha in std::iter::once(&start.sha).chain(commits.iter().map(|c| &c.sha)) {
        let scratch = tempfile::tempdir()?;
        let path = crate::git::config_at_rev(
            &settings.config,
            sha,
            scratch.path(),
            settings.max_config_size,
        )?;
        // A version that does not load gave nothing the review can name.
        let Ok(loaded) =
            rolecall_core::config::load::load_path_with(&path, &settings.load_options())
        else {
            continue;
        };
        out.given
            .extend(rolecall_core::review::model::configured(&loaded.desired));
    }
    out.commits = commits
        .into_iter()
        .map(|c| rolecall_core::review::model::Commit {
            pull_request: pull_request_of(&c.message),
            subject: c.message.lines().next().unwrap_or_default().to_string(),
            sha: c.sha,
            date: c.date,
            author: c.author,
        })
        .collect();
    Ok((out, start.date))
}

/// The snapshots of `dir` taken from `from` on, oldest first, added one at
/// a time; their inputs for the manifest.
fn seen(
    dir: &Path,
    settings: &Settings,
    site: &str,
    from: Option<Date>,
) -> CliResult<(Seen, Vec<Input>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| {
            CliError::msg(format!(
                "cannot read `{}`: {e}",
                rolecall_core::text::path(dir)
            ))
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    paths.sort();
    let unreadable = |path: &Path, e: &dyn std::fmt::Display| {
        CliError::msg(format!(
            "`{}` is not a snapshot rolecall can read: {e}",
            rolecall_core::text::path(path)
        ))
        .with_hint("--snapshots takes the directory of the snapshots `drift --snapshot-out` wrote")
    };
    /// What the first pass reads of a snapshot: whose, and when.
    #[derive(serde::Deserialize)]
    struct Head {
        site: String,
        taken: Option<When>,
    }
    #[derive(serde::Deserialize)]
    struct When {
        at: String,
    }
    // First pass: which snapshots are of the period, in the order taken,
    // without building any site.
    let mut dated = Vec::new();
    for path in paths {
        let text =
            crate::fsio::read_bounded(&path, settings.max_snapshot_size, "`--max-snapshot-size`")?;
        let head: Head = serde_json::from_str(&text).map_err(|e| unreadable(&path, &e))?;
        if head.site != site {
            return Err(CliError::msg(format!(
                "`{}` is a snapshot of `{}`, not of `{site}`",
                rolecall_core::text::path(&path),
                rolecall_core::text::clean(&head.site)
            )));
        }
        let at = head
            .taken
            .ok_or_else(|| unreadable(&path, &rolecall_engine::SnapshotError::Untaken))?
            .at;
        let day = Date::parse(at.get(..10).unwrap_or_default()).ok();
        if from.is_some_and(|f| day.is_some_and(|d| d < f)) {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        dated.push((at, name, files::sha256(text.as_bytes()), path));
    }
    dated.sort();
    let mut out = Seen::default();
    let mut inputs = Vec::new();
    // Then each read whole (its checksum verified), one at a time: never
    // two sites in memory.
    for (at, name, sha, path) in dated {
        let text =
            crate::fsio::read_bounded(&path, settings.max_snapshot_size, "`--max-snapshot-size`")?;
        if files::sha256(text.as_bytes()) != sha {
            return Err(CliError::msg(format!("`{name}` changed while it was read")));
        }
        let recorded = rolecall_engine::read_snapshot(&text).map_err(|e| unreadable(&path, &e))?;
        out.add(&at, &recorded.live);
        inputs.push(Input {
            name,
            sha256: sha,
            rows: None,
        });
    }
    Ok((out, inputs))
}

fn csv_input<T>(
    path: &Path,
    limit: usize,
    read: impl Fn(&str) -> Result<T, rolecall_core::review::inputs::InputError>,
) -> CliResult<(T, Input)> {
    let text = crate::fsio::read_bounded(path, limit, "`--max-input-size`")?;
    let shown = rolecall_core::text::path(path);
    let value = read(&text).map_err(|e| {
        CliError::msg(format!(
            "{shown}:{}: {}; nothing was written",
            e.line, e.message
        ))
        .with_hint(e.hint)
    })?;
    let rows = text.lines().count().saturating_sub(1) as u64;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((
        value,
        Input {
            name,
            sha256: files::sha256(text.as_bytes()),
            rows: Some(rows),
        },
    ))
}

/// The destination: refused if it is a link, or not empty without --force.
/// `--force` replaces an earlier pack, never another directory: not one
/// without a `pack.json`, nor the one rolecall runs in or the config's (or
/// one holding them). Returns the path as given and as an absolute path
/// (the scratch directory and the rename use that one).
fn destination(
    args: &PackArgs,
    settings: &Settings,
    site: &str,
    day: Date,
) -> CliResult<(PathBuf, PathBuf)> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("review-{site}-{day}")));
    crate::fsio::not_a_link(&out, "the review pack")?;
    let shown = rolecall_core::text::path(&out);
    let absolute = std::path::absolute(&out)
        .map_err(|e| CliError::msg(format!("cannot write `{shown}`: {e}")))?;
    if out.exists() {
        let empty = std::fs::read_dir(&out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !out.is_dir() || (!empty && !args.force) {
            return Err(CliError::msg(format!(
                "`{shown}` exists and is not an empty directory; nothing was written"
            ))
            .with_hint("pass --force to replace an earlier pack, or -o another directory"));
        }
        let canonical = std::fs::canonicalize(&out)?;
        let holds = |p: &Path| std::fs::canonicalize(p).is_ok_and(|p| p.starts_with(&canonical));
        let config = crate::planning::config_root(settings);
        let inside = holds(Path::new(".")) || holds(&config) || holds(&settings.config);
        if inside || (!empty && !out.join("pack.json").is_file()) {
            let why = if inside {
                "it is, or holds, the directory rolecall runs in or the config"
            } else {
                "it holds no pack.json: --force replaces only an earlier pack"
            };
            return Err(CliError::msg(format!(
                "`{shown}` is not replaced: {why}; nothing was written"
            ))
            .with_hint("write the pack to a directory of its own, such as `reviews/2026-q4`"));
        }
    }
    Ok((out, absolute))
}

/// What the pack reads besides the site and the config, each checked
/// before the site is read.
struct Outside {
    activity: Option<(Activity, Input)>,
    directory: Option<(Directory, Input)>,
    activity_since: Option<Date>,
    since_rev: Option<String>,
    period_from: Option<Date>,
    history: Option<History>,
}

fn outside(args: &PackArgs, settings: &Settings) -> CliResult<Outside> {
    let activity_since = args
        .activity_since
        .as_deref()
        .map(|d| Date::parse(d).map_err(|e| CliError::msg(format!("--activity-since: {e}"))))
        .transpose()?;
    let activity = args
        .activity
        .as_deref()
        .map(|p| csv_input(p, args.max_input_size, read_activity))
        .transpose()?;
    let directory = args
        .directory
        .as_deref()
        .map(|p| csv_input(p, args.max_input_size, read_directory))
        .transpose()?;
    let (since_rev, mut period_from) = match &args.since_pack {
        Some(dir) => {
            let previous = super::open(dir, settings)?.manifest;
            let rev = previous.config_commit.clone().ok_or_else(|| {
                CliError::msg(
                    "the earlier pack records no config commit (its config was not in git)",
                )
                .with_hint("give the period's start with --since REV")
            })?;
            (
                Some(rev),
                Date::parse(previous.as_of.get(..10).unwrap_or_default()).ok(),
            )
        }
        None => (args.since.clone(), None),
    };
    let history = match &since_rev {
        Some(rev) => {
            let (h, start) = history(settings, rev, args.max_history)?;
            period_from =
                period_from.or_else(|| Date::parse(start.get(..10).unwrap_or_default()).ok());
            Some(h)
        }
        None => None,
    };
    Ok(Outside {
        activity,
        directory,
        activity_since,
        since_rev,
        period_from,
        history,
    })
}

/// A scratch directory beside `out`, on the same file system (renamed
/// into place at the end); its parent made if missing.
fn scratch_beside(out: &Path) -> CliResult<tempfile::TempDir> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let shown = rolecall_core::text::path(parent);
    std::fs::create_dir_all(parent)
        .map_err(|e| CliError::msg(format!("cannot create `{shown}`: {e}")))?;
    tempfile::Builder::new()
        .prefix(".rolecall-review-")
        .tempdir_in(parent)
        .map_err(|e| CliError::msg(format!("cannot write in `{shown}`: {e}")))
}

/// `effective-access.csv`, streamed; its rows.
fn write_effective(dir: &Path, live: &Live, model: Model) -> CliResult<u64> {
    let file = std::fs::File::create(dir.join("effective-access.csv"))?;
    let evaluator = Evaluator::new(live, model);
    let rows = rolecall_core::access::write_csv(
        live,
        &evaluator,
        &Query::default(),
        false,
        Interruptible(std::io::BufWriter::with_capacity(1 << 16, file)),
    );
    stop_if_interrupted()?;
    rows.map_err(|e| CliError::msg(format!("cannot write effective-access.csv: {e}")))
}

/// The manifest's inputs: the activity log, the directory, each snapshot,
/// and the site reviewed.
fn inputs_of(
    outside: &Outside,
    snapshots: Option<&Vec<Input>>,
    site_sha: &str,
) -> std::collections::BTreeMap<String, Vec<Input>> {
    let mut out = std::collections::BTreeMap::new();
    for (what, input) in [
        ("activity", outside.activity.as_ref().map(|a| &a.1)),
        ("directory", outside.directory.as_ref().map(|d| &d.1)),
    ] {
        if let Some(i) = input {
            out.insert(what.to_string(), vec![i.clone()]);
        }
    }
    if let Some(list) = snapshots {
        out.insert("snapshots".to_string(), list.clone());
    }
    out.insert(
        "site".to_string(),
        vec![Input {
            name: "site.json".into(),
            sha256: site_sha.to_string(),
            rows: None,
        }],
    );
    out
}

/// The line that says what was written, and the exit code by `--fail-on`.
fn said(
    args: &PackArgs,
    settings: &Settings,
    out: &Path,
    users: usize,
    rows: usize,
    found: &[rolecall_core::review::model::Finding],
    id: &str,
) -> CliResult {
    use rolecall_core::plan::severity::Severity;
    let counts = rolecall_core::review::model::by_severity(found);
    let summary: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{} {}", thousands(*n as u64), s.as_str()))
        .collect();
    let line = format!(
        "wrote {}: {} users, {} population rows, {}{} (pack {id})",
        rolecall_core::text::path(out),
        thousands(users as u64),
        thousands(rows as u64),
        match found.len() {
            1 => "1 finding".to_string(),
            n => format!("{} findings", thousands(n as u64)),
        },
        if summary.is_empty() {
            String::new()
        } else {
            format!(" ({})", summary.join(", "))
        },
    );
    writeln!(settings.stdout(), "{}", settings.redact(&line))?;
    let worst = found.iter().map(|f| f.severity).min();
    let fail = match args.fail_on {
        FailOn::Never => false,
        FailOn::Any => worst.is_some(),
        FailOn::Critical => worst.is_some_and(|w| w <= Severity::Critical),
        FailOn::High => worst.is_some_and(|w| w <= Severity::High),
        FailOn::Normal => worst.is_some_and(|w| w <= Severity::Normal),
    };
    Ok(if fail { exit::CHANGES } else { exit::OK })
}

/// The day the site was read ("today" for every rule), after which
/// neither the period nor the activity log may start.
fn day_read(read: &Read, outside: &Outside) -> CliResult<Date> {
    let today = Date::parse(read.taken.at.get(..10).unwrap_or_default()).map_err(|_| {
        CliError::msg(format!(
            "the snapshot's `taken.at` is not a time: `{}`",
            rolecall_core::text::clean(&read.taken.at)
        ))
        .with_hint("take the snapshot with `rolecall export --format snapshot` and do not edit it")
    })?;
    // The period and the log cannot start after the day reviewed.
    for (what, day) in [
        ("--activity-since", outside.activity_since),
        (
            "the period's start (--since, --since-pack)",
            outside.period_from,
        ),
    ] {
        if let Some(day) = day.filter(|d| *d > today) {
            return Err(CliError::msg(format!(
                "{what} is {day}, after the day the site was read ({today}); nothing was written"
            ))
            .with_hint("give a day on or before the site's"));
        }
    }
    Ok(today)
}

pub(crate) fn run(args: &PackArgs, settings: &Settings) -> CliResult {
    if args.print_activity_sql {
        settings.stdout().write_all(ACTIVITY_SQL.as_bytes())?;
        return Ok(exit::OK);
    }
    let loaded = crate::planning::load_config_at(settings, &settings.config)?;
    let desired = &loaded.desired;
    let review = &desired.review;
    let outside = outside(args, settings)?;
    let period_from = outside.period_from;
    let read = read_site(args, settings, &desired.site)?;
    let today = day_read(&read, &outside)?;
    let (shown_dir, out_dir) = destination(args, settings, &desired.site, today)?;
    // Written out before the review is computed: its JSON tree is the
    // largest thing the pack builds, and is gone before the rest is made.
    let site_json = crate::snapshot::snapshot_text(&desired.site, Some(&read.taken), &read.live)?;
    let snapshots = args
        .snapshots
        .as_deref()
        .map(|d| seen(d, settings, &desired.site, period_from))
        .transpose()?;
    watch_signals();
    let inputs = Inputs {
        site: &desired.site,
        as_of: &read.taken.at,
        today,
        live: &read.live,
        desired,
        settings: review,
        history: outside.history.as_ref(),
        seen: snapshots.as_ref().map(|(s, _)| s),
        activity: outside.activity.as_ref().map(|(a, _)| a),
        activity_since: outside.activity_since,
        directory: outside.directory.as_ref().map(|(d, _)| d),
        period_from,
    };
    let population = population(&inputs);
    let found = findings(&inputs, &population);
    let roles = files::roles(&inputs);
    let changes = files::changes(&inputs);
    stop_if_interrupted()?;

    let scratch = scratch_beside(&out_dir)?;
    let write = |name: &str, bytes: &[u8]| write_in(scratch.path(), name, bytes);
    write("site.json", site_json.as_bytes())?;
    write_tables(scratch.path(), &population, &found, &roles, &changes)?;
    let model = match args.model {
        crate::commands::access::ModelArg::CrossRole => Model::CrossRole,
        crate::commands::access::ModelArg::SameRole => Model::SameRole,
    };
    let effective_rows = if args.effective {
        Some(write_effective(scratch.path(), &read.live, model)?)
    } else {
        None
    };
    let mut manifest = manifest(
        &loaded,
        settings,
        &inputs,
        &read,
        model,
        &outside.since_rev,
        &population,
        &found,
    );
    let site_sha = files::sha256(site_json.as_bytes());
    manifest.inputs = inputs_of(&outside, snapshots.as_ref().map(|(_, l)| l), &site_sha);
    if let Some(n) = effective_rows {
        manifest.counts.insert("effective_rows".into(), n);
    }
    manifest.pack_id = manifest.id_of(&site_sha);
    let not_covered = not_covered(&inputs, &read.live, model, args.effective);
    manifest.warnings = not_covered.clone();
    let page = Page {
        manifest: &manifest,
        settings: review,
        population: &population,
        findings: &found,
        roles: &roles,
        changes: &changes,
        not_covered: &not_covered,
    }
    .render();
    write("index.html", page.as_bytes())?;
    seal(scratch.path(), &mut manifest)?;
    stop_if_interrupted()?;
    put_in_place(scratch, &out_dir)?;

    said(
        args,
        settings,
        &shown_dir,
        read.live.users.len(),
        population.len(),
        &found,
        &manifest.pack_id,
    )
}

/// `pack.json`, with the sha256 of every file written before it.
fn seal(dir: &Path, manifest: &mut Manifest) -> CliResult<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let sha = files::sha256_of(std::fs::File::open(entry.path())?)?;
        manifest.files.insert(name, sha);
    }
    write_in(dir, "pack.json", manifest.to_text().as_bytes())
}

/// A file of the pack, in the scratch directory.
fn write_in(dir: &Path, name: &str, bytes: &[u8]) -> CliResult<()> {
    std::fs::write(dir.join(name), bytes)
        .map_err(|e| CliError::msg(format!("cannot write `{name}`: {e}; nothing was written")))
}

/// The pack's CSVs.
fn write_tables(
    dir: &Path,
    population: &[rolecall_core::review::model::Member],
    found: &[rolecall_core::review::model::Finding],
    roles: &[files::RoleRow],
    changes: &[files::ChangeRow],
) -> CliResult<()> {
    write_in(dir, "population.csv", &files::population_csv(population))?;
    write_in(dir, "decisions.csv", &files::decisions_csv(population))?;
    write_in(dir, "findings.csv", &files::findings_csv(found))?;
    write_in(dir, "roles.csv", &files::roles_csv(roles))?;
    write_in(dir, "changes.csv", &files::changes_csv(changes))
}

/// The scratch directory renamed to `out` (an old `out` moved aside first,
/// and removed once the new one is in place).
fn put_in_place(scratch: tempfile::TempDir, out: &Path) -> CliResult<()> {
    let shown = rolecall_core::text::path(out);
    let aside = if out.exists() {
        let aside = out.with_file_name(format!(
            ".{}.old-{}",
            out.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        std::fs::rename(out, &aside)
            .map_err(|e| CliError::msg(format!("cannot replace `{shown}`: {e}")))?;
        Some(aside)
    } else {
        None
    };
    let path = scratch.keep();
    if let Err(e) = std::fs::rename(&path, out) {
        let _ = std::fs::remove_dir_all(&path);
        if let Some(aside) = &aside {
            let _ = std::fs::rename(aside, out);
        }
        return Err(CliError::msg(format!(
            "cannot write `{shown}`: {e}; nothing was written"
        )));
    }
    if let Some(aside) = aside {
        let _ = std::fs::remove_dir_all(aside);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn manifest(
    loaded: &rolecall_core::config::load::Loaded,
    settings: &Settings,
    inputs: &Inputs<'_>,
    read: &Read,
    model: Model,
    since: &Option<String>,
    population: &[rolecall_core::review::model::Member],
    found: &[rolecall_core::review::model::Finding],
) -> Manifest {
    let root = crate::planning::config_root(settings);
    let config = (0..loaded.sources.len())
        .map(|i| {
            let f = loaded.sources.get(rolecall_core::diagnostic::FileId(i));
            let relative = f.path.strip_prefix(&root).unwrap_or(&f.path);
            (
                relative.to_string_lossy().replace('\\', "/"),
                files::sha256(f.text.as_bytes()),
            )
        })
        .collect();
    let mut counts = std::collections::BTreeMap::new();
    let live = &read.live;
    counts.insert("users".into(), live.users.len() as u64);
    counts.insert("roles".into(), live.roles.len() as u64);
    counts.insert(
        "dashboards".into(),
        live.objects_of(rolecall_core::kinds::ObjectKind::Dashboard)
            .count() as u64,
    );
    counts.insert("population".into(), population.len() as u64);
    counts.insert("findings".into(), found.len() as u64);
    for (s, n) in rolecall_core::review::model::by_severity(found) {
        counts.insert(format!("findings_{}", s.as_str()), n as u64);
    }
    Manifest {
        format_version: files::FORMAT_VERSION,
        pack_id: String::new(),
        site: inputs.site.to_string(),
        as_of: inputs.as_of.to_string(),
        source: read.source.to_string(),
        endpoint: read.taken.endpoint.clone(),
        period_from: inputs.period_from.map(|d| d.to_string()),
        model: model.as_str().to_string(),
        config_commit: crate::git::head_commit(&settings.config),
        since: since.clone(),
        activity_since: inputs.activity_since.map(|d| d.to_string()),
        config,
        inputs: Default::default(),
        settings: serde_json::to_value(inputs.settings).unwrap_or_default(),
        counts,
        warnings: Vec::new(),
        files: Default::default(),
    }
}

/// What the pack does not cover, one line each.
fn not_covered(inputs: &Inputs<'_>, live: &Live, model: Model, effective: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(a) = inputs.activity {
        let later = a.last_seen.values().filter(|d| **d > inputs.today).count();
        if later > 0 {
            out.push(format!(
                "The activity log has {} dated after the day the site was read ({}): such a day counts as activity.",
                rolecall_core::plural(later, "user"),
                inputs.today
            ));
        }
    }
    if effective {
        let admins = live
            .roles
            .iter()
            .find(|r| key(&r.name) == key(rolecall_core::config::vocab::ADMIN))
            .map_or(0, |a| {
                live.users
                    .iter()
                    .filter(|u| u.roles.contains(&a.id))
                    .count()
            });
        out.push(format!(
            "effective-access.csv leaves out the rows of the {}: Admin can do every action on every dashboard (population.csv lists them with Admin).",
            rolecall_core::plural(admins, "Admin member")
        ));
    }
    if inputs.directory.is_none() {
        out.push("No directory was given (--directory): leavers and people missing from the directory are not found.".into());
    }
    match inputs.activity {
        None => out.push("No activity log was given (--activity): dormant users and unused grants are not found.".into()),
        Some(a) if !a.per_dashboard => out.push("The activity log has no dashboard_id column: unused grants are not found.".into()),
        Some(_) => {}
    }
    if inputs.history.is_none() {
        out.push("No history was given (--since, --since-pack): site-only memberships are compared with the config in force only, and changes in the period are not listed.".into());
    }
    if inputs.seen.is_none() {
        out.push("No snapshots were given (--snapshots): grants made on the site and taken away again within the period are not found.".into());
    }
    for k in rolecall_core::plan::KeptRights::of(live) {
        out.push(format!(
            "The role `{}` holds rights on {}, which rolecall does not evaluate.",
            k.role,
            k.object_types.join(", ")
        ));
    }
    out.push(format!(
        "Access is evaluated with the {} model: the vendor does not document whether a privilege from one role and a grant from another combine.",
        model.as_str()
    ));
    out
}
