//! `rolecall apply`: make the site equal the config, or carry out a saved plan.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use clap::Args;
use periscope_client::{CallRecord, Writer};
use rolecall_core::live::{Live, digest};
use rolecall_core::plan::{Action, Change, FORMAT_VERSION, Kind, Plan, Policy, render};

use super::site::{self, SiteArgs};
use crate::apply::{Outcome, execute};
use crate::{GlobalArgs, exit};

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
}

fn describe(change: &Change) -> String {
    let symbol = match change.action {
        Action::Create => "+",
        Action::Update => "~",
        Action::Delete => "-",
        Action::Rename => ">",
    };
    format!("{symbol} {} {:?}", change.kind, change.key)
}

/// The objects a saved plan touches that changed since it was made.
fn stale(plan: &Plan, live: &Live) -> Vec<String> {
    let users: BTreeMap<String, &rolecall_core::live::LiveUser> =
        live.users.iter().map(|u| (u.id.clone(), u)).collect();
    let roles: BTreeMap<String, &rolecall_core::live::LiveRole> =
        live.roles.iter().map(|r| (r.id.clone(), r)).collect();
    let mut out = Vec::new();
    for change in &plan.changes {
        match &change.id {
            Some(id) => {
                let now = match change.kind {
                    Kind::User => users.get(id).map(digest),
                    Kind::Role => roles.get(id).map(digest),
                };
                let then = plan.digests.get(&format!("{}:{id}", change.kind));
                match now {
                    None => out.push(format!(
                        "{} {:?} is no longer on the site",
                        change.kind, change.key
                    )),
                    Some(now) if Some(&now) != then => out.push(format!(
                        "{} {:?} changed since the plan was made",
                        change.kind, change.key
                    )),
                    Some(_) => {}
                }
            }
            None => {
                let exists = match change.kind {
                    Kind::User => live
                        .users
                        .iter()
                        .any(|u| u.email.eq_ignore_ascii_case(&change.key)),
                    Kind::Role => live
                        .roles
                        .iter()
                        .any(|r| r.name.eq_ignore_ascii_case(&change.key)),
                };
                if exists {
                    out.push(format!(
                        "{} {:?} was created on the site since the plan was made",
                        change.kind, change.key
                    ));
                }
            }
        }
    }
    out
}

fn confirm(global: &GlobalArgs, site: &str) -> anyhow::Result<bool> {
    let mut stderr = global.stderr();
    write!(
        stderr,
        "\nApply these changes to the site `{site}`? Only `yes` is accepted.\n  Enter a value: "
    )?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

pub fn run(args: &ApplyArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let from_file = args.planfile.is_some();
    let (mut plan, conn, loaded, live) = match &args.planfile {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the plan `{}`", path.display()))?;
            let plan: Plan = serde_json::from_str(&text).with_context(|| {
                format!(
                    "`{}` is not a plan saved by `rolecall plan --out`",
                    path.display()
                )
            })?;
            if plan.format_version != FORMAT_VERSION {
                bail!(
                    "`{}` is a plan of format {}, this rolecall reads format {FORMAT_VERSION}: make the plan again",
                    path.display(),
                    plan.format_version
                );
            }
            let conn = site::connect(global, &args.site, &plan.site)?;
            let live = site::fetch(global, &conn)?;
            let changed = stale(&plan, &live);
            if !changed.is_empty() {
                bail!(
                    "the plan is stale; nothing was written:\n{}\n\nhint: run `rolecall plan --out {}` again and review the new plan",
                    changed
                        .iter()
                        .map(|c| format!("  - {c}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    path.display()
                );
            }
            (plan, conn, None, live)
        }
        None => {
            let loaded = site::load_config(global)?;
            let conn = site::connect(global, &args.site, &loaded.desired.site)?;
            let live = site::fetch(global, &conn)?;
            let plan = site::plan(global, &loaded, &live, &Policy::default())?;
            (plan, conn, Some(loaded), live)
        }
    };
    if args.allow_mass_delete {
        for change in &mut plan.changes {
            if change
                .blocked
                .as_ref()
                .is_some_and(|b| b.allow_with.is_some())
            {
                change.blocked = None;
            }
        }
    }
    global
        .stdout()
        .write_all(render::text(&plan, true).as_bytes())?;
    if plan.is_blocked() {
        writeln!(
            global.stderr(),
            "error: a safety rule blocks this plan; nothing was written"
        )?;
        return Ok(exit::BLOCKED);
    }
    if plan.is_empty() {
        return Ok(exit::OK);
    }
    if !from_file && !args.auto_approve {
        if !std::io::stdin().is_terminal() {
            bail!(
                "refusing to apply without confirmation: there is no terminal to ask on; nothing was written\n\nhint: review the plan, then pass --auto-approve (or apply a saved plan: `rolecall plan --out plan.json`, then `rolecall apply plan.json`)"
            );
        }
        if !confirm(global, &plan.site)? {
            writeln!(global.stderr(), "Apply cancelled; nothing was written.")?;
            return Ok(exit::ERROR);
        }
    }

    let audit = match &args.audit_log {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the audit log `{}`", path.display()))?;
            Some(Arc::new(Audit(Mutex::new(file))))
        }
        None => None,
    };
    let mut config = conn.config.clone();
    config.max_in_flight = args.parallelism as usize;
    if let Some(audit) = &audit {
        let audit = audit.clone();
        config.on_call = Some(Arc::new(move |r: &CallRecord| audit.call(r)));
    }
    let writer = Arc::new(Writer::new(&config, args.test_mode)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let total = plan.changes.len();
    let bar = (std::io::stderr().is_terminal() && !global.quiet).then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} changes  {msg}  {per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let counts = Arc::new(Mutex::new((0usize, 0usize, Instant::now())));
    let on_outcome = {
        let (bar, audit, counts, quiet) =
            (bar.clone(), audit.clone(), counts.clone(), global.quiet);
        Arc::new(move |change: &Change, outcome: &Outcome| {
            let (done, failed, last) = {
                let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
                c.0 += 1;
                if !matches!(outcome, Outcome::Done) {
                    c.1 += 1;
                }
                let due = c.2.elapsed() >= Duration::from_secs(1) || c.0 == total;
                if due {
                    c.2 = Instant::now();
                }
                (c.0, c.1, due)
            };
            if let Some(audit) = &audit {
                let (result, message) = match outcome {
                    Outcome::Done => ("done", None),
                    Outcome::Failed(m) => ("failed", Some(m.clone())),
                    Outcome::Skipped(m) => ("skipped", Some(m.clone())),
                };
                audit.write(serde_json::json!({"event": "operation", "action": change.action, "kind": change.kind, "key": change.key, "outcome": result, "message": message}));
            }
            match &bar {
                Some(bar) => {
                    bar.inc(1);
                    bar.set_message(format!("{failed} failed"));
                }
                None if last && !quiet => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "applied {done}/{total} changes ({failed} failed or skipped)"
                    );
                }
                None => {}
            }
        })
    };
    let outcomes = runtime.block_on(execute(
        &plan,
        writer.clone(),
        &live,
        args.parallelism as usize,
        on_outcome,
    ));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    let mut out = global.stdout();
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let (done, failed, skipped) = (
        count(|o| matches!(o, Outcome::Done)),
        count(|o| matches!(o, Outcome::Failed(_))),
        count(|o| matches!(o, Outcome::Skipped(_))),
    );
    let what = if args.test_mode {
        "Test run complete (test_mode: the site checked every write and changed nothing)"
    } else {
        "Apply complete"
    };
    writeln!(
        out,
        "\n{what}: {done} done, {failed} failed, {skipped} skipped."
    )?;
    for (change, outcome) in plan.changes.iter().zip(&outcomes) {
        match outcome {
            Outcome::Failed(m) => writeln!(out, "  failed:  {} — {m}", describe(change))?,
            Outcome::Skipped(m) => writeln!(out, "  skipped: {} — {m}", describe(change))?,
            Outcome::Done => {}
        }
    }
    if failed + skipped > 0 {
        writeln!(
            out,
            "Rerun `rolecall apply` to retry what failed: what was done is not done again."
        )?;
        return Ok(exit::PARTIAL);
    }
    // Read the site again: a plan made now must be empty.
    if !args.test_mode
        && let Some(loaded) = &loaded
    {
        let live = site::fetch(global, &conn)?;
        let again = site::plan(global, loaded, &live, &Policy::default())?;
        if !again.is_empty() {
            writeln!(
                out,
                "\nThe site still differs from the config after the apply (a concurrent change, or a bug):"
            )?;
            for change in &again.changes {
                writeln!(out, "  {}", describe(change))?;
            }
            return Ok(exit::PARTIAL);
        }
        writeln!(out, "The site now matches the config.")?;
    } else if !args.test_mode {
        writeln!(
            out,
            "Run `rolecall plan` to confirm that the site now matches the config."
        )?;
    }
    Ok(exit::OK)
}
