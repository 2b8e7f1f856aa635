//! `rolecall apply`: make the site equal the config, or carry out a saved plan.

mod progress;
pub(crate) mod saved;

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use periscope_client::{CallRecord, Writer};
use rolecall_core::config::load::Loaded;
use rolecall_core::live::Live;
use rolecall_core::plan::{Plan, Review, Selection, render};
use rolecall_engine::{ExecuteOptions, Outcome, Report, Stop};

use self::progress::{Audit, pace_summary, progress};
use crate::baseline::BaselineArgs;
use crate::connect::Connection;
use crate::connect::SiteArgs;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::select::SelectArgs;
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(
    after_help = "Without PLANFILE: reads the site, plans, shows the plan and asks for `yes` \
(on a terminal; elsewhere --auto-approve is needed).

With PLANFILE (from `rolecall plan --out`, with or without `--from-snapshot`): needs the config \
(`-f`). Reads the site, plans again from the config on disk, and carries out the saved plan, \
without asking, only if each of its changes is in the new plan as reviewed (other files and \
objects may have changed). Every safety rule and the policy are checked again.

Ctrl-C (or SIGTERM) starts nothing more, lets the calls in flight finish and reports; a second \
Ctrl-C exits at once.

Exit codes: 0 applied (or nothing to do), 1 error, cancelled or a plan file edited (nothing \
written), 3 blocked by a safety rule (nothing written), 4 some operations failed or the site \
refused the credentials midway (the rest were done; rerun), 5 the saved plan is stale: the site or \
the config changed under one of its changes (nothing written; plan again), 130 interrupted."
)]
pub struct ApplyArgs {
    /// A plan saved by `rolecall plan --out`.
    pub planfile: Option<PathBuf>,
    /// Apply without asking.
    #[arg(long)]
    pub auto_approve: bool,
    /// Send every write with `test_mode=true`: the site checks and answers, nothing changes.
    #[arg(long)]
    pub test_mode: bool,
    /// The most calls at once. Without it, rolecall starts at 8 and adapts to the
    /// server (more while latency stays flat, fewer as it rises or on `429`/`5xx`),
    /// up to 64; with it, N is the ceiling of that range.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub parallelism: Option<u32>,
    /// Allow what `limits` blocks: deletes beyond `max_deletes`, revokes beyond
    /// `max_revokes`, and access taken from more than 30% of a site's users (on a site of
    /// 10 or more). Never lifts the other rules (Admin, Everyone, the actor, `protect`,
    /// `policy`, `files`).
    #[arg(long)]
    pub allow_mass_delete: bool,
    /// Carry out a saved plan made with `--target`/`--exclude`: a part of the reviewed
    /// config, not all of it (without this flag such a plan is refused).
    #[arg(long, requires = "planfile")]
    pub allow_partial: bool,
    /// Append one JSON line per HTTP call and per operation to FILE (never the API key).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Write the site as read to FILE, as a snapshot for `rolecall plan --from-snapshot`
    /// (never the key): after an apply, the site as verified; when nothing is written
    /// (a stale or blocked plan), the site as read before.
    #[arg(long, value_name = "FILE")]
    pub snapshot_out: Option<PathBuf>,
    /// Undo only what was changed on the site since the baseline (`site`): the site is
    /// made equal to the baseline, the config as last applied; changes pending in the
    /// config stay pending. Needs `--baseline` or `--baseline-rev`.
    #[arg(long, value_enum, value_name = "ORIGIN", conflicts_with = "planfile")]
    pub only_origin: Option<OnlyOrigin>,
    #[command(flatten)]
    pub baseline: BaselineArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub site: SiteArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnlyOrigin {
    /// What was changed on the site.
    Site,
}

/// A plan ready to apply, with what it was made from.
struct Prepared {
    plan: Plan,
    review: Review,
    conn: Connection,
    live: Live,
    loaded: Loaded,
    /// The selection the plan was made with (verification uses it too).
    selection: Selection,
    /// With `--only-origin site`: the config, whose pending changes are
    /// left for another apply (`loaded` is then the baseline).
    pending: Option<Loaded>,
}

/// A saved plan, carried out only if it is the plan of its config and site
/// now (see [`saved`]).
fn saved_plan(path: &Path, args: &ApplyArgs, settings: &Settings) -> CliResult<Prepared> {
    if !args.select.is_empty() {
        return Err(CliError::msg(
            "--target and --exclude do not go with a saved plan: it keeps the selection it was made with",
        )
        .with_hint("select when planning: `rolecall plan --target SEL --out PLANFILE`"));
    }
    let (saved, saved_review) = saved::read(path, settings.max_snapshot_size)?;
    if !settings.config.exists() {
        return Err(CliError::msg(format!(
            "applying a saved plan needs the config it was made from, and `{}` does not exist; nothing was sent to the site",
            settings.config.display()
        ))
        .with_hint("pass the config's file or directory with `-f PATH`"));
    }
    let loaded = crate::planning::load_config(settings)?;
    let made_from = saved::check_config(&saved, &loaded)?;
    let conn = crate::connect::connect(settings, &args.site, &saved.site)?;
    saved::check_endpoint(made_from, &conn)?;
    let live = crate::connect::fetch(settings, &conn)?;
    snapshot_out(args, &conn, &live)?;
    let selection = crate::select::selection(&made_from.targets, &made_from.excludes)?;
    let (fresh, review) = crate::planning::plan(settings, &loaded, &live, &selection)?;
    // A selection that leaves nothing out is the whole plan (judged by the
    // plan made now, never by what the file says).
    let partial = fresh.partial.is_some_and(|p| p.changes < p.of);
    if partial && !args.allow_partial {
        return Err(CliError::msg(format!(
            "the saved plan was made with a selection ({}): it carries out a part of the config, not all of it; nothing was written",
            made_from
                .targets
                .iter()
                .map(|t| format!("--target {}", rolecall_core::text::clean(t)))
                .chain(
                    made_from
                        .excludes
                        .iter()
                        .map(|e| format!("--exclude {}", rolecall_core::text::clean(e)))
                )
                .collect::<Vec<_>>()
                .join(" ")
        ))
        .with_hint("pass --allow-partial to apply it as the part it is, or plan the whole config: `rolecall plan --out PLANFILE`"));
    }

    saved::check_plan((&saved, &saved_review), (&fresh, &review), &loaded, &live)?;
    Ok(Prepared {
        plan: fresh,
        review,
        conn,
        live,
        loaded,
        selection,
        pending: None,
    })
}

/// The undo of the site's changes, judged by the config in force
/// ([`rolecall_core::pipeline::undo`]), with the config's own plan.
fn undo_plan(
    settings: &Settings,
    baseline: &Loaded,
    config: &Loaded,
    live: &Live,
    selection: &Selection,
) -> CliResult<(Plan, Review, Plan)> {
    use rolecall_core::pipeline::{Undo, UndoError, undo};
    match undo(
        (&baseline.desired, &baseline.sources),
        (&config.desired, &config.sources),
        live,
        selection,
    ) {
        Ok(Undo {
            plan,
            review,
            config,
        }) => Ok((plan, review, config)),
        Err(UndoError::Baseline(errors)) => {
            Err(crate::planning::does_not_fit(settings, baseline, &errors))
        }
        Err(UndoError::Config(errors)) => {
            Err(crate::planning::does_not_fit(settings, config, &errors))
        }
    }
}

/// `--only-origin site`: the plan that makes the site equal to the
/// baseline (every change in it was made on the site: the config as last
/// applied did not ask for it), shown as a partial plan of the config's.
fn site_undo_plan(args: &ApplyArgs, settings: &Settings) -> CliResult<Prepared> {
    let selection = args.select.selection()?;
    let config = crate::planning::load_config(settings)?;
    let Some(baseline) = args.baseline.load(settings, &config.desired.site)? else {
        return Err(CliError::msg("--only-origin site needs the config as last applied")
            .with_hint("pass `--baseline PATH` or `--baseline-rev REV` (the commit the last apply was made from)"));
    };
    let conn = crate::connect::connect(settings, &args.site, &config.desired.site)?;
    let live = crate::connect::fetch(settings, &conn)?;
    snapshot_out(args, &conn, &live)?;
    let (mut plan, review, all) = undo_plan(settings, &baseline, &config, &live, &selection)?;
    plan.partial = Some(rolecall_core::plan::Partial {
        changes: plan.changes.len(),
        of: all.changes.len().max(plan.changes.len()),
    });
    Ok(Prepared {
        plan,
        review,
        conn,
        live,
        loaded: baseline,
        selection,
        pending: Some(config),
    })
}

/// A plan made now from the config.
fn fresh_plan(args: &ApplyArgs, settings: &Settings) -> CliResult<Prepared> {
    let selection = args.select.selection()?;
    let loaded = crate::planning::load_config(settings)?;
    let conn = crate::connect::connect(settings, &args.site, &loaded.desired.site)?;
    let live = crate::connect::fetch(settings, &conn)?;
    snapshot_out(args, &conn, &live)?;
    let (plan, review) = crate::planning::plan(settings, &loaded, &live, &selection)?;
    Ok(Prepared {
        plan,
        review,
        conn,
        live,
        loaded,
        selection,
        pending: None,
    })
}

/// `--snapshot-out`: the site as read.
fn snapshot_out(args: &ApplyArgs, conn: &Connection, live: &Live) -> CliResult<()> {
    match &args.snapshot_out {
        Some(path) => crate::snapshot::write_snapshot(path, conn, live),
        None => Ok(()),
    }
}

/// Asks on the terminal; without one, refuses.
fn confirm(settings: &Settings, site: &str) -> CliResult<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::msg(
            "refusing to apply without confirmation: there is no terminal to ask on; nothing was written",
        )
        .with_hint("review the plan, then pass --auto-approve (or apply a saved plan: `rolecall plan --out plan.json`, then `rolecall apply plan.json`)"));
    }
    let mut stderr = settings.stderr();
    write!(
        stderr,
        "\nApply these changes to the site `{site}`? Only `yes` is accepted.\n  Enter a value: "
    )?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Ctrl-C or SIGTERM, whichever comes first.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(term) = &mut self.term {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the engine until it ends; the first signal stops it (nothing more
/// starts, calls in flight finish), the second exits at once.
async fn run_until_done(
    run: impl Future<Output = Report>,
    stop: Stop,
    settings: &Settings,
) -> Report {
    let mut signals = Signals::new();
    tokio::pin!(run);
    loop {
        tokio::select! {
            report = &mut run => return report,
            () = signals.next() => {
                if stop.is_stopped() {
                    let _ = writeln!(settings.stderr(), "interrupted again: exiting now");
                    #[expect(
                        clippy::disallowed_methods,
                        reason = "a second Ctrl-C exits at once, as the first one said"
                    )]
                    std::process::exit(i32::from(exit::INTERRUPTED));
                }
                stop.stop();
                let _ = writeln!(
                    settings.stderr(),
                    "interrupted: starting nothing more, waiting for the calls in flight (Ctrl-C again exits at once)"
                );
            }
        }
    }
}

/// Carries out the plan through a writer (with the audit hook).
fn execute(prepared: &Prepared, args: &ApplyArgs, settings: &Settings) -> CliResult<Report> {
    let audit = args.audit_log.as_deref().map(Audit::open).transpose()?;
    let mut config = prepared.conn.config.clone();
    config.max_in_flight = args
        .parallelism
        .map_or(periscope_client::DEFAULT_CEILING, |n| n as usize);
    if let Some(audit) = &audit {
        let audit = audit.clone();
        config.on_call = Some(Arc::new(move |r: &CallRecord| audit.call(r)));
    }
    let writer = Arc::new(Writer::new(&config, args.test_mode)?);
    let plan = &prepared.plan;
    let pace = writer.reader().pace().clone();
    let (on_outcome, bar) = progress(
        settings,
        plan.changes.len(),
        args.test_mode,
        audit.clone(),
        pace.clone(),
    );
    let stop = Stop::new();
    let options = ExecuteOptions { stop: stop.clone() };
    let run = rolecall_engine::execute(plan, writer, &prepared.live, options, on_outcome);
    let report = crate::connect::runtime()?.block_on(run_until_done(run, stop, settings));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !settings.quiet {
        let _ = writeln!(std::io::stderr(), "{}", pace_summary(&pace.stats()));
    }
    if report.interrupted
        && let Some(audit) = &audit
    {
        audit.interrupted(report.done(), report.outcomes.len() - report.done());
    }
    Ok(report)
}

/// What was done, failed and skipped.
fn print_report(
    plan: &Plan,
    report: &Report,
    test_mode: bool,
    out: &mut impl std::io::Write,
) -> CliResult<()> {
    let what = if report.interrupted {
        "Apply interrupted"
    } else if test_mode {
        "Test run complete (test_mode: the site checked every write and changed nothing)"
    } else {
        "Apply complete"
    };
    writeln!(
        out,
        "\n{what}: {} done, {} failed, {} skipped.",
        report.done(),
        report.failed(),
        report.skipped()
    )?;
    for (step, outcome) in plan.changes.iter().zip(&report.outcomes) {
        match outcome {
            Outcome::Failed(f) => writeln!(
                out,
                "  failed:  {} — {}",
                step.describe(),
                rolecall_core::text::clean(&f.message)
            )?,
            Outcome::Skipped(s) => writeln!(out, "  skipped: {} — {s}", step.describe())?,
            Outcome::Done => {}
        }
    }
    Ok(())
}

/// The exit code of an apply that did not complete, with what to do.
fn incomplete(report: &Report, out: &mut impl std::io::Write) -> CliResult {
    if report.credentials_refused {
        writeln!(
            out,
            "The site refused the credentials midway (401/403): nothing more was started. \
             Check the API key, then rerun `rolecall apply`: what was done is not done again."
        )?;
        return Ok(if report.done() == 0 {
            exit::ERROR
        } else {
            exit::PARTIAL
        });
    }
    if report.interrupted {
        writeln!(
            out,
            "Rerun `rolecall apply` to finish: what was done is not done again."
        )?;
        return Ok(exit::INTERRUPTED);
    }
    writeln!(
        out,
        "Rerun `rolecall apply` to retry what failed: what was done is not done again."
    )?;
    Ok(exit::PARTIAL)
}

/// Reads the site again: a plan of the config (the same selection) must now
/// be empty. The site as verified goes to `--snapshot-out`.
fn verify(
    prepared: &Prepared,
    args: &ApplyArgs,
    settings: &Settings,
    out: &mut impl std::io::Write,
) -> CliResult {
    let loaded = &prepared.loaded;
    let conn = &prepared.conn;
    let live = crate::connect::fetch(settings, conn)?;
    snapshot_out(args, conn, &live)?;
    let (again, _) = match &prepared.pending {
        // What is left to undo, not the whole baseline.
        Some(config) => {
            let (again, review, _) =
                undo_plan(settings, loaded, config, &live, &prepared.selection)?;
            (again, review)
        }
        None => crate::planning::plan(settings, loaded, &live, &prepared.selection)?,
    };
    if let (true, Some(config)) = (again.is_empty(), &prepared.pending) {
        let (left, _) = crate::planning::plan(settings, config, &live, &prepared.selection)?;
        writeln!(
            out,
            "The changes made on the site are undone ({}); {} pending in the config {} (review and apply {}).",
            rolecall_core::plural(prepared.plan.changes.len(), "change"),
            rolecall_core::plural(left.changes.len(), "change"),
            if left.changes.len() == 1 {
                "remains"
            } else {
                "remain"
            },
            if left.changes.len() == 1 {
                "it"
            } else {
                "them"
            },
        )?;
        return Ok(exit::OK);
    }
    if again.is_empty() && prepared.selection.is_empty() {
        writeln!(out, "The site now matches the config.")?;
        return Ok(exit::OK);
    }
    if again.is_empty() {
        // A selection: say what it covered and what is left outside it.
        let all = rolecall_core::pipeline::plan(
            &loaded.desired,
            &loaded.sources,
            &live,
            &Selection::default(),
        );
        let left = match all {
            Ok((all, _)) if all.is_empty() => "the site now matches the whole config".to_string(),
            Ok((all, _)) => format!(
                "{} of the config {} outside the selection (`rolecall plan` shows {}): the config as a whole is not applied",
                rolecall_core::plural(all.changes.len(), "change"),
                if all.changes.len() == 1 {
                    "remains"
                } else {
                    "remain"
                },
                if all.changes.len() == 1 { "it" } else { "them" },
            ),
            Err(_) => {
                "the rest of the config does not plan against the site (`rolecall plan` says why)"
                    .to_string()
            }
        };
        writeln!(
            out,
            "The selected changes are done ({}); {left}.",
            rolecall_core::plural(prepared.plan.changes.len(), "change")
        )?;
        return Ok(exit::OK);
    }
    writeln!(
        out,
        "\nThe site still differs from the config after the apply (a concurrent change, or a bug):"
    )?;
    for step in &again.changes {
        writeln!(out, "  {}", step.describe())?;
    }
    Ok(exit::PARTIAL)
}

pub(crate) fn run(args: &ApplyArgs, settings: &Settings) -> CliResult {
    let mut prepared = match (&args.planfile, args.only_origin) {
        (Some(path), _) => saved_plan(path, args, settings)?,
        (None, Some(OnlyOrigin::Site)) => site_undo_plan(args, settings)?,
        (None, None) => fresh_plan(args, settings)?,
    };
    if args.allow_mass_delete {
        prepared.plan.lift_limits();
    }
    let plan = &prepared.plan;
    let text = render::text(
        plan,
        &prepared.review,
        &crate::planning::render_options(true, false),
    );
    settings
        .stdout()
        .write_all(settings.redact(&text).as_bytes())?;
    if prepared.conn.is_sandbox() {
        writeln!(
            settings.stderr(),
            "note: this is a sandbox: the changes go to a copy of the site in memory, thrown away when rolecall exits"
        )?;
    }
    if plan.is_blocked() {
        writeln!(
            settings.stderr(),
            "error: a safety rule blocks this plan; nothing was written"
        )?;
        return Ok(exit::BLOCKED);
    }
    let confirmed = plan.is_empty()
        || args.planfile.is_some()
        || args.auto_approve
        || confirm(settings, &plan.site)?;
    if !confirmed {
        writeln!(settings.stderr(), "Apply cancelled; nothing was written.")?;
        return Ok(exit::ERROR);
    }
    // The names this plan resolved, pinned once the apply is confirmed (not
    // on a throw-away sandbox, nor from a baseline).
    if !prepared.conn.is_sandbox() && !args.test_mode && prepared.pending.is_none() {
        super::lock::add_new_pins(settings, &prepared.loaded.desired, &prepared.live)?;
    }
    if plan.is_empty() {
        return Ok(exit::OK);
    }
    let report = execute(&prepared, args, settings)?;
    let mut out = settings.stdout();
    print_report(&prepared.plan, &report, args.test_mode, &mut out)?;
    if !report.is_complete() {
        return incomplete(&report, &mut out);
    }
    if args.test_mode {
        return Ok(exit::OK);
    }
    verify(&prepared, args, settings, &mut out)
}
