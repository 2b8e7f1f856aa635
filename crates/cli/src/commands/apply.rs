//! `rolecall apply`: make the site equal the config, or carry out a saved plan.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use clap::Args;
use periscope_client::{CallRecord, Writer};
use rolecall_core::live::Live;
use rolecall_core::load::Loaded;
use rolecall_core::plan::{Plan, PlanFileError, Policy, Selection, Step, render, safety};
use rolecall_engine::{ExecuteOptions, OnOutcome, Outcome, Report};

use super::site::{self, Connection, SiteArgs};
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(
    after_help = "Without PLANFILE: reads the site, plans, shows the plan and asks for `yes` \
(on a terminal; elsewhere --auto-approve is needed). With PLANFILE (from `rolecall plan --out`): \
checks that the objects it touches have not changed since, then carries it out without asking.

Exit codes: 0 applied (or nothing to do), 1 error or cancelled (nothing written), 3 blocked by a \
safety rule (nothing written), 4 some operations failed (the rest were done; rerun to retry them)."
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
    /// Calls at once within a phase.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub parallelism: u32,
    /// Allow the deletes and revokes that `limits` would block.
    #[arg(long)]
    pub allow_mass_delete: bool,
    /// Append one JSON line per HTTP call and per operation to FILE (never the API key).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    #[command(flatten)]
    pub site: SiteArgs,
}

/// JSON lines appended to the audit log.
struct Audit(Mutex<File>);

impl Audit {
    fn open(path: &Path) -> CliResult<Arc<Self>> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the audit log `{}`", path.display()))?;
        Ok(Arc::new(Audit(Mutex::new(file))))
    }

    fn write(&self, mut line: serde_json::Value) {
        line["time"] =
            serde_json::json!(humantime::format_rfc3339_millis(SystemTime::now()).to_string());
        let mut file = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(file, "{line}");
    }

    fn call(&self, r: &CallRecord) {
        self.write(serde_json::json!({
            "event": "call",
            "method": r.method,
            "path": r.path,
            "status": r.status,
            "duration_ms": r.duration.as_secs_f64() * 1e3,
            "attempt": r.attempt,
            "test_mode": r.test_mode,
        }));
    }

    fn operation(&self, step: &Step, outcome: &Outcome) {
        let (result, message, status, url) = match outcome {
            Outcome::Done => ("done", None, None, None),
            Outcome::Failed(f) => ("failed", Some(f.to_string()), f.status, f.url.clone()),
            Outcome::Skipped(s) => ("skipped", Some(s.to_string()), None, None),
        };
        self.write(serde_json::json!({
            "event": "operation",
            "op": step.change.op(),
            "action": step.action(),
            "kind": step.kind(),
            "key": step.key(),
            "outcome": result,
            "status": status,
            "url": url,
            "message": message,
        }));
    }
}

/// A plan ready to apply, with what it was made from.
struct Prepared {
    plan: Plan,
    conn: Connection,
    live: Live,
    /// The config, when the plan was made now (a saved plan has none).
    loaded: Option<Loaded>,
}

/// A saved plan: read, checked against the site it was made on (stale
/// objects refuse it), and its safety rules checked again.
fn saved_plan(path: &Path, args: &ApplyArgs, settings: &Settings) -> CliResult<Prepared> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the plan `{}`", path.display()))?;
    let mut plan = Plan::from_json(&text).map_err(|e| match e {
        PlanFileError::Version { found } => CliError::msg(format!(
            "`{}` is a plan of format {found}; this rolecall reads format {}",
            path.display(),
            rolecall_core::plan::FORMAT_VERSION
        ))
        .with_hint("make the plan again with this rolecall: `rolecall plan --out PLANFILE`"),
        e => CliError::from(anyhow::Error::new(e).context(format!(
            "`{}` is not a plan saved by `rolecall plan --out`",
            path.display()
        ))),
    })?;
    let conn = site::connect(settings, &args.site, &plan.site)?;
    let live = site::fetch(settings, &conn)?;
    let changed = rolecall_engine::stale(&plan, &live);
    if !changed.is_empty() {
        let list: Vec<String> = changed.iter().map(|c| format!("  - {c}")).collect();
        return Err(CliError::msg(format!(
            "the plan is stale; nothing was written:\n{}",
            list.join("\n")
        ))
        .with_hint(format!(
            "run `rolecall plan --out {}` again and review the new plan",
            path.display()
        )));
    }
    let policy = Policy::without_config(&plan.actor);
    safety::check(&mut plan, &live, &policy);
    Ok(Prepared {
        plan,
        conn,
        live,
        loaded: None,
    })
}

/// A plan made now from the config.
fn fresh_plan(args: &ApplyArgs, settings: &Settings) -> CliResult<Prepared> {
    let loaded = site::load_config(settings)?;
    let conn = site::connect(settings, &args.site, &loaded.desired.site)?;
    let live = site::fetch(settings, &conn)?;
    let plan = site::plan(settings, &loaded, &live, &Selection::default())?;
    Ok(Prepared {
        plan,
        conn,
        live,
        loaded: Some(loaded),
    })
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

/// Progress of an apply on stderr (a bar on a terminal, a line a second
/// elsewhere), and each outcome in the audit log.
fn progress(
    settings: &Settings,
    total: usize,
    test_mode: bool,
    audit: Option<Arc<Audit>>,
) -> (OnOutcome, Option<indicatif::ProgressBar>) {
    let bar = (std::io::stderr().is_terminal() && !settings.quiet).then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} changes  {msg}  {per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let verb = if test_mode { "checked" } else { "applied" };
    let counts = Mutex::new((0usize, 0usize, Instant::now()));
    let (shown, quiet) = (bar.clone(), settings.quiet);
    let hook = Arc::new(move |step: &Step, outcome: &Outcome| {
        if let Some(audit) = &audit {
            audit.operation(step, outcome);
        }
        let (done, failed, due) = {
            let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
            c.0 += 1;
            c.1 += usize::from(*outcome != Outcome::Done);
            let due = c.2.elapsed() >= Duration::from_secs(1) || c.0 == total;
            if due {
                c.2 = Instant::now();
            }
            (c.0, c.1, due)
        };
        match &shown {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(format!("{failed} failed"));
            }
            None if due && !quiet => {
                let _ = writeln!(
                    std::io::stderr(),
                    "{verb} {done}/{total} changes ({failed} failed or skipped)"
                );
            }
            None => {}
        }
    });
    (hook, bar)
}

/// Carries out the plan through a writer (with the audit hook).
fn execute(prepared: &Prepared, args: &ApplyArgs, settings: &Settings) -> CliResult<Report> {
    let audit = args.audit_log.as_deref().map(Audit::open).transpose()?;
    let mut config = prepared.conn.config.clone();
    config.max_in_flight = args.parallelism as usize;
    if let Some(audit) = &audit {
        let audit = audit.clone();
        config.on_call = Some(Arc::new(move |r: &CallRecord| audit.call(r)));
    }
    let writer = Arc::new(Writer::new(&config, args.test_mode)?);
    let plan = &prepared.plan;
    let (on_outcome, bar) = progress(settings, plan.changes.len(), args.test_mode, audit);
    let options = ExecuteOptions {
        parallelism: args.parallelism as usize,
    };
    let report = site::runtime()?.block_on(rolecall_engine::execute(
        plan,
        writer,
        &prepared.live,
        options,
        on_outcome,
    ));
    if let Some(bar) = bar {
        bar.finish_and_clear();
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
    let what = if test_mode {
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
            Outcome::Failed(f) => writeln!(out, "  failed:  {} — {f}", step.describe())?,
            Outcome::Skipped(s) => writeln!(out, "  skipped: {} — {s}", step.describe())?,
            Outcome::Done => {}
        }
    }
    Ok(())
}

/// Reads the site again: a plan of the whole config must now be empty.
fn verify(prepared: &Prepared, settings: &Settings, out: &mut impl std::io::Write) -> CliResult {
    let Some(loaded) = &prepared.loaded else {
        writeln!(
            out,
            "Run `rolecall plan` to confirm that the site now matches the config."
        )?;
        return Ok(exit::OK);
    };
    let reader = &prepared.conn.reader;
    let result = site::runtime()?.block_on(rolecall_engine::verify(
        reader,
        &loaded.desired,
        &loaded.sources,
    ));
    let again = site::plan_or_report(settings, loaded, result)?;
    if again.is_empty() {
        writeln!(out, "The site now matches the config.")?;
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

pub fn run(args: &ApplyArgs, settings: &Settings) -> CliResult {
    let mut prepared = match &args.planfile {
        Some(path) => saved_plan(path, args, settings)?,
        None => fresh_plan(args, settings)?,
    };
    if args.allow_mass_delete {
        prepared.plan.lift_limits();
    }
    let plan = &prepared.plan;
    let text = render::text(plan, &site::render_options(true));
    settings.stdout().write_all(text.as_bytes())?;
    if plan.is_blocked() {
        writeln!(
            settings.stderr(),
            "error: a safety rule blocks this plan; nothing was written"
        )?;
        return Ok(exit::BLOCKED);
    }
    if plan.is_empty() {
        return Ok(exit::OK);
    }
    if args.planfile.is_none() && !args.auto_approve && !confirm(settings, &plan.site)? {
        writeln!(settings.stderr(), "Apply cancelled; nothing was written.")?;
        return Ok(exit::ERROR);
    }
    let report = execute(&prepared, args, settings)?;
    let mut out = settings.stdout();
    print_report(&prepared.plan, &report, args.test_mode, &mut out)?;
    if !report.is_complete() {
        writeln!(
            out,
            "Rerun `rolecall apply` to retry what failed: what was done is not done again."
        )?;
        return Ok(exit::PARTIAL);
    }
    if args.test_mode {
        return Ok(exit::OK);
    }
    verify(&prepared, settings, &mut out)
}
