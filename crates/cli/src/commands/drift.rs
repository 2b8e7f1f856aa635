//! `rolecall drift`: the plan as a report for cron; exit 2 on drift.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use rolecall_core::adopt::accept;
use rolecall_core::config::load::Loaded;
use rolecall_core::diagnostic::FileId;
use rolecall_core::live::Live;
use rolecall_core::pipeline::drift;
use rolecall_core::plan::severity::Severity;
use rolecall_core::plan::{Plan, Review, Selection, render};

use super::plan::Format;
use crate::baseline::BaselineArgs;
use crate::connect::SiteArgs;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::select::SelectArgs;
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// An Admin gained outside the config, a site-made change exposing Everyone, an
    /// unmanaged Admin.
    Critical,
    /// Critical, and deletes, wide grants, Admin given or taken.
    High,
    /// Every difference.
    Any,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 the site matches the config, 1 error, 2 drift. An Admin member the \
config neither lists nor protects is always drift, and so is a dashboard the config names that was \
renamed or duplicated on the site (the lock keeps its grants); with --fail-on-unmanaged, so is every user or role \
the config does not manage.

With a baseline (the config as last applied: a path with --baseline, or a git revision of the \
repository holding the config with --baseline-rev, e.g. `origin/main`), each difference is labelled \
`changed on the site` (someone changed the site by hand) or `pending in config` (the config changed \
since it was applied); in JSON each change gets `origin`: `site`, `config` or `both`."
)]
pub struct DriftArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    /// Exit 2 only for findings this severe or worse: `critical`, `high`, or `any` (the
    /// default: every difference is drift).
    #[arg(long, value_enum, default_value = "any", value_name = "LEVEL")]
    pub fail_on: FailOn,
    /// Edit the config to accept what was changed on the site (needs a baseline): each
    /// entry at its file and line, every other byte kept.
    /// The drift found is still reported and still decides the exit code.
    #[arg(long)]
    pub write_config: bool,
    /// With --write-config, the file users added on the site go to (default: the file
    /// holding most users of their email domain).
    #[arg(long, value_name = "FILE", requires = "write_config")]
    pub into: Option<PathBuf>,
    /// Every user or role the config does not manage is drift too.
    #[arg(long)]
    pub fail_on_unmanaged: bool,
    /// Also save the report as JSON to FILE (one read of the site for both).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// List the users and roles the config does not manage, by name.
    #[arg(long)]
    pub show_unmanaged: bool,
    /// Write the site as read to FILE, as a snapshot for `rolecall plan --from-snapshot`
    /// (never the key): what the recipes' nightly drift job publishes for plan jobs.
    #[arg(long, value_name = "FILE")]
    pub snapshot_out: Option<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub site: SiteArgs,
}

/// The whole config as `accepted` leaves it, loaded and planned again: it
/// must load, and plan to exactly the old plan without the accepted
/// changes (an edit that reached further is refused).
fn check_accepted(
    settings: &Settings,
    loaded: &Loaded,
    live: &Live,
    plan: &Plan,
    accepted: &accept::Accepted,
) -> CliResult<()> {
    // The whole config as it would be, loaded and planned again.
    let mut texts: Vec<(std::path::PathBuf, String)> = (0..loaded.sources.len())
        .map(|i| {
            let f = loaded.sources.get(FileId(i));
            let text = accepted
                .files
                .get(&f.path)
                .cloned()
                .unwrap_or_else(|| f.text.clone());
            (f.path.clone(), text)
        })
        .collect();
    for (path, text) in &accepted.files {
        if !texts.iter().any(|(p, _)| p == path) {
            texts.push((path.clone(), text.clone()));
        }
    }
    let lock = rolecall_core::config::lock::path_for(&settings.config);
    if let Ok(text) = std::fs::read_to_string(&lock) {
        texts.push((lock, text));
    }
    let mut edited = rolecall_core::load_texts(texts).map_err(|e| {
        CliError::msg(format!(
            "--write-config would leave a config that does not load ({}); nothing was written",
            rolecall_core::config::load::summary(&e.diagnostics)
        ))
        .with_hint("accept these changes by hand")
    })?;
    edited.desired.expire(settings.today()?);
    let still: Vec<String> = match rolecall_core::pipeline::plan(
        &edited.desired,
        &edited.sources,
        live,
        &Selection::default(),
    ) {
        Ok((again, _)) => drift::leftover(plan, &accepted.steps, &again),
        Err(_) => vec!["the edited config does not plan against the site".to_string()],
    };
    if !still.is_empty() {
        return Err(CliError::msg(format!(
            "--write-config would write more or less than it accepts ({}); nothing was written",
            still.join("; ")
        ))
        .with_hint("accept these changes by hand"));
    }
    Ok(())
}

/// `--write-config`: the config edited to accept the site's changes,
/// checked before anything is written: it loads, and those changes no
/// longer plan.
fn write_config(
    args: &DriftArgs,
    settings: &Settings,
    loaded: &Loaded,
    live: &Live,
    plan: &Plan,
    review: &Review,
    baseline: bool,
) -> CliResult<()> {
    if !baseline {
        return Err(CliError::msg(
            "--write-config accepts what was changed on the site, which only a baseline tells; nothing was written",
        )
        .with_hint("pass `--baseline PATH` or `--baseline-rev REV` (the config as last applied): without one, accepting every difference would undo the config's pending changes"));
    }
    let into = args.into.as_deref();
    if let Some(into) = into
        && !(0..loaded.sources.len()).any(|i| loaded.sources.path(FileId(i)) == into)
        && into.exists()
    {
        return Err(CliError::msg(format!(
            "`{}` is not a file of the config",
            rolecall_core::text::path(into)
        ))
        .with_hint("--into takes a users file of the config, as `validate -v` lists it, or a new file in its directory"));
    }
    let accepted = accept::accept(
        &loaded.desired,
        &loaded.sources,
        live,
        plan,
        review,
        baseline,
        into,
    );
    let mut err = settings.stderr();
    for line in &accepted.left {
        writeln!(err, "not accepted: {line}")?;
    }
    if accepted.files.is_empty() {
        writeln!(err, "--write-config: nothing to accept")?;
        return Ok(());
    }
    check_accepted(settings, loaded, live, plan, &accepted)?;
    crate::fsio::write_config_files(&accepted.files)?;
    for line in &accepted.accepted {
        writeln!(err, "accepted: {line}")?;
    }
    writeln!(
        err,
        "wrote {} (review the diff and commit it)",
        rolecall_core::plural(accepted.files.len(), "config file")
    )?;
    Ok(())
}

/// A drift report in a format: what happened, most severe first (JSON:
/// the plan with its labels and severities).
pub(crate) fn render_drift(
    plan: &Plan,
    review: &Review,
    format: Format,
    show_unmanaged: bool,
) -> String {
    let options = crate::planning::render_options(true, show_unmanaged);
    match format {
        Format::Text => render::drift_text(plan, review, &options),
        Format::Markdown => render::drift_markdown(plan, review, &options),
        Format::Json => render::json(plan, review),
    }
}

pub(crate) fn run(args: &DriftArgs, settings: &Settings) -> CliResult {
    let selection = args.select.selection()?;
    let loaded = crate::planning::load_config(settings)?;
    let baseline = args.baseline.load(settings, &loaded.desired.site)?;
    let conn = crate::connect::connect(settings, &args.site, &loaded.desired.site)?;
    let live = crate::connect::fetch(settings, &conn)?;
    if let Some(path) = &args.snapshot_out {
        crate::snapshot::write_snapshot(path, &conn, &live)?;
    }
    let (plan, mut review) = crate::planning::plan(settings, &loaded, &live, &selection)?;
    if let Some(baseline) = &baseline {
        let (applied, _) = crate::planning::plan(settings, baseline, &live, &Selection::default())?;
        drift::label(
            &plan,
            &mut review,
            &applied,
            &loaded.desired,
            &baseline.desired,
        );
        review.renamed =
            rolecall_core::plan::renamed_on_site(&plan, &review, &loaded.desired, &live);
    }
    // The file first: a reader that stops early (`| head`) loses no report.
    if let Some(out) = &args.out {
        crate::fsio::write_file(out, &plan.to_json(&review), "the drift report")?;
    }
    let shown = render_drift(&plan, &review, args.format, args.show_unmanaged);
    settings
        .stdout()
        .write_all(settings.redact(&shown).as_bytes())?;
    // A config edit that cannot be made is said; the drift is still
    // reported and still decides the exit code.
    if args.write_config {
        let written = write_config(
            args,
            settings,
            &loaded,
            &live,
            &plan,
            &review,
            baseline.is_some(),
        );
        if let Err(e) = written {
            e.report(&mut settings.stderr(), |t| settings.redact(t));
        }
    }
    // A review overdue is a finding of its own (high).
    let today = settings.today()?;
    let overdue = crate::commands::review::due(settings, &loaded.desired)
        .filter(|due| due.overdue(today))
        .and_then(|due| due.say(today, 0));
    if let Some(text) = &overdue {
        let line = format!("review-overdue (high): {}", settings.redact(text));
        // JSON on stdout stays JSON.
        if matches!(args.format, Format::Json) {
            writeln!(settings.stderr(), "{line}")?;
        } else {
            writeln!(settings.stdout(), "\n{line}")?;
        }
    }
    let unmanaged = !plan.unmanaged.users.is_empty() || !plan.unmanaged.roles.is_empty();
    // Every finding: changes, an Admin member the config does not list, a
    // dashboard the site renamed or duplicated (the lock kept its grants).
    let worst = render::worst(&plan, &review);
    let worst = match (worst, overdue.is_some()) {
        (Some(w), true) => Some(w.min(Severity::High)),
        (None, true) => Some(Severity::High),
        (w, false) => w,
    };
    let drift = match args.fail_on {
        FailOn::Critical => worst.is_some_and(|w| w <= Severity::Critical),
        FailOn::High => worst.is_some_and(|w| w <= Severity::High),
        FailOn::Any => worst.is_some() || (args.fail_on_unmanaged && unmanaged),
    };
    Ok(if drift { exit::CHANGES } else { exit::OK })
}
