//! What an apply shows and records as it goes: progress on stderr, and the
//! audit log (one JSON line per HTTP call and per operation, never the key).

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use periscope_client::{CallRecord, Pace, PaceStats};
use rolecall_core::plan::Step;
use rolecall_engine::{OnOutcome, Outcome};

use crate::error::CliResult;
use crate::settings::Settings;

/// JSON lines appended to the audit log.
pub(super) struct Audit(Mutex<File>);

impl Audit {
    pub(super) fn open(path: &Path) -> CliResult<Arc<Self>> {
        crate::fsio::not_a_link(path, "the audit log")?;
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

    pub(super) fn call(&self, r: &CallRecord) {
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

    /// The apply was interrupted: what was done and what was not started.
    pub(super) fn interrupted(&self, done: usize, not_started: usize) {
        self.write(serde_json::json!({
            "event": "interrupted",
            "done": done,
            "not_started": not_started,
        }));
    }

    pub(super) fn operation(&self, step: &Step, outcome: &Outcome) {
        let (result, message, status, url) = match outcome {
            Outcome::Done => ("done", None, None, None),
            Outcome::Failed(f) => ("failed", Some(f.to_string()), f.status, f.url.clone()),
            Outcome::Skipped(s) => ("skipped", Some(s.to_string()), None, None),
        };
        self.write(serde_json::json!({
            "event": "operation",
            "op": step.change.op().as_str(),
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

/// Progress of an apply on stderr (a bar on a terminal, a line a second
/// elsewhere) with the pace ("24 in flight, 180/s"), and each outcome in the
/// audit log.
pub(super) fn progress(
    settings: &Settings,
    total: usize,
    test_mode: bool,
    audit: Option<Arc<Audit>>,
    pace: Arc<Pace>,
) -> (OnOutcome, Option<indicatif::ProgressBar>) {
    let bar = (std::io::stderr().is_terminal() && !settings.quiet).then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} changes  {msg}")
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
        // The pace once a second (or at the end): it takes a lock.
        let speed = || {
            let now = pace.stats();
            format!("{} in flight, {:.0}/s", now.in_flight, now.per_second)
        };
        match &shown {
            Some(bar) => {
                bar.inc(1);
                if due {
                    bar.set_message(format!("{failed} failed  {}", speed()));
                }
            }
            None if due && !quiet => {
                let _ = writeln!(
                    std::io::stderr(),
                    "{verb} {done}/{total} changes ({failed} failed or skipped); {}",
                    speed()
                );
            }
            None => {}
        }
    });
    (hook, bar)
}

/// How the pace went, in one line: what the controller settled on.
pub(super) fn pace_summary(stats: &PaceStats) -> String {
    let mut line = format!(
        "pace: {} calls at once at the end (settled at {}, peak {})",
        stats.limit, stats.settled, stats.peak
    );
    if stats.throttled > 0 {
        line.push_str(&format!(
            "; {} answers were 429 (rate limited), ",
            stats.throttled
        ));
        match stats.rate {
            Some(rate) => line.push_str(&format!("paced at {rate:.1} requests/s")),
            // Random refusals: each waited out by its call alone.
            None => line.push_str("each retried alone (not this client's pace)"),
        }
    }
    line
}
