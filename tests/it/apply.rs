//! `rolecall apply` as a user runs it: the real binary against the emulator,
//! including under faults and killed halfway.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use periscope_emulator::{Emulator, Faults, Options, Snapshot, spawn};

use crate::{root, transcript};

const KEY: &str = "apply-k3y-5ecret";

fn org_site() -> Snapshot {
    Snapshot::from_file(&root().join("examples/data-org/sandbox.json")).unwrap()
}

fn emulator(faults: Faults, rng_seed: u64) -> Emulator {
    spawn(Options {
        seed: Some(org_site()),
        api_key: Some(KEY.into()),
        faults,
        rng_seed,
        ..Options::default()
    })
    .unwrap()
}

fn rolecall(emu: &Emulator, dir: &Path, args: &[&str]) -> Output {
    command(emu, dir, args).output().unwrap()
}

fn command(emu: &Emulator, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rolecall"));
    cmd.current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("ROLECALL_ENDPOINT", emu.url())
        .env("PERISCOPE_SITE", "globex")
        .env("PERISCOPE_API_KEY", KEY)
        // The whole directory: the org example is split over files.
        .env("ROLECALL_CONFIG", ".")
        .stdin(Stdio::null());
    cmd
}

fn org() -> PathBuf {
    root().join("examples/data-org")
}

/// The site holds what the config says: a new plan is empty, and no email or
/// role name appears twice.
fn assert_converged(emu: &Emulator, dir: &Path, context: &str) {
    let plan = rolecall(emu, dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{context}: a plan after apply:\n{}",
        transcript(&plan)
    );
    crate::assert_no_duplicates(&emu.snapshot(), context);
}

/// Filters the parts of a transcript that change from run to run.
fn stable(output: &Output) -> String {
    transcript(output)
        .lines()
        .filter(|l| !l.starts_with("applied "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn apply_makes_the_site_equal_the_config() {
    let emu = emulator(Faults::default(), 1);
    let output = rolecall(&emu, &org(), &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Apply complete"))
        .collect();
    insta::assert_snapshot!(report.join("\n"), @"
    Apply complete: 10 done, 0 failed, 0 skipped.
    The site now matches the config.
    ");
    assert_converged(&emu, &org(), "after one apply");
    let renamed = emu
        .snapshot()
        .roles
        .into_iter()
        .find(|r| r.id.0 == "f6a5b8d7")
        .unwrap();
    assert_eq!(renamed.name, "Publisher", "renamed in place, same id");
    // Once more: nothing to do.
    let again = rolecall(&emu, &org(), &["apply", "--auto-approve"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&again.stdout).starts_with("No changes"),
        "{}",
        transcript(&again)
    );
}

#[test]
fn without_a_terminal_apply_needs_auto_approve() {
    let emu = emulator(Faults::default(), 1);
    let before = emu.snapshot();
    let output = rolecall(&emu, &org(), &["apply"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(emu.snapshot(), before, "nothing written");
    let stderr = String::from_utf8_lossy(&output.stderr);
    insta::assert_snapshot!(stderr, @"
    error: refusing to apply without confirmation: there is no terminal to ask on; nothing was written

    hint: review the plan, then pass --auto-approve (or apply a saved plan: `rolecall plan --out plan.json`, then `rolecall apply plan.json`)
    ");
}

#[test]
fn a_declined_prompt_writes_nothing() {
    let emu = emulator(Faults::default(), 1);
    let before = emu.snapshot();
    // `script` gives the command a terminal; it answers `no`.
    let base = command(&emu, &org(), &[]);
    let mut script = Command::new("script");
    script
        .args([
            "-qec",
            &format!("{} apply", env!("CARGO_BIN_EXE_rolecall")),
            "/dev/null",
        ])
        .current_dir(org())
        .env("TERM", "dumb");
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.as_mut().unwrap().write_all(b"no\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let all = String::from_utf8_lossy(&output.stdout);
    assert!(all.contains("Only `yes` is accepted"), "{all}");
    assert!(
        all.contains("Apply cancelled; nothing was written."),
        "{all}"
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(emu.snapshot(), before, "nothing written");
}

/// A raw HTTP call, so this test binary needs no client library.
#[test]
fn a_saved_plan_is_applied_as_is_or_refused_when_stale() {
    let emu = emulator(Faults::default(), 1);
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let planfile = dir.join("plan.json");
    let output = rolecall(&emu, &org(), &["plan", "--out", planfile.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        !std::fs::read_to_string(&planfile).unwrap().contains(KEY),
        "no key in the plan file"
    );

    // Someone changes a user the plan touches.
    let answer = crate::http(
        &emu,
        KEY,
        "PUT",
        "/api/v2/users/13dd",
        r#"{"last_name": "Changed"}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let before = emu.snapshot();
    let stale = rolecall(&emu, &org(), &["apply", planfile.to_str().unwrap()]);
    assert_eq!(stale.status.code(), Some(5), "{}", transcript(&stale));
    assert_eq!(emu.snapshot(), before, "nothing written");
    let stderr =
        String::from_utf8_lossy(&stale.stderr).replace(planfile.to_str().unwrap(), "plan.json");
    insta::assert_snapshot!(stderr, @r#"
    error: the plan is stale: the site or the config changed under its changes since it was made; nothing was written:
      - user "tomas@globex.io" changed on the site since the plan was made

    hint: make the plan again (`rolecall plan --out PLANFILE`), review it, and apply that
    "#);

    // A fresh plan is applied without a prompt.
    let output = rolecall(&emu, &org(), &["plan", "--out", planfile.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let applied = rolecall(&emu, &org(), &["apply", planfile.to_str().unwrap()]);
    assert_eq!(applied.status.code(), Some(0), "{}", transcript(&applied));
    assert!(
        String::from_utf8_lossy(&applied.stdout).contains("The site now matches the config."),
        "a saved plan is verified too: {}",
        transcript(&applied)
    );
    assert_converged(&emu, &org(), "after the saved plan");
}

/// A directory holding a small config for the globex site (removed when
/// the handle is dropped).
fn scratch_config(extra_users: &str, prune: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rolecall.yaml"),
        format!(
            "site: globex\nactor: platform-bot@globex.io\n{prune}users:\n  platform-bot@globex.io:\n    roles: [Admin]\n  ruth@globex.io:\n    roles: [Viewer]\n{extra_users}"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn a_blocked_plan_writes_nothing_unless_allowed() {
    let emu = emulator(Faults::default(), 1);
    let scratch = scratch_config("", "prune:\n  users: delete\nlimits:\n  max_deletes: 2\n");
    let dir = scratch.path();
    let before = emu.snapshot();
    let output = rolecall(&emu, dir, &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(3), "{}", transcript(&output));
    assert_eq!(emu.snapshot(), before, "nothing written");
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("a safety rule blocks this plan; nothing was written")
    );
    let output = rolecall(
        &emu,
        dir,
        &["apply", "--auto-approve", "--allow-mass-delete"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert_converged(&emu, dir, "after --allow-mass-delete");
}

/// An emulator of the org example that refuses some writes (`400`).
fn refusing(calls: &[&str]) -> Emulator {
    emulator(
        Faults {
            refuse_writes: calls.iter().map(|c| c.to_string()).collect(),
            ..Faults::default()
        },
        1,
    )
}

/// Applies without asking, expects exit 4, and returns the report.
fn apply_expecting_failures(emu: &Emulator, config: &Path) -> String {
    let output = rolecall(emu, config, &["apply", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(4), "{}", transcript(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Apply complete"))
        .collect();
    report.join("\n").replace(&emu.url(), "URL")
}

#[test]
fn a_partial_failure_exits_4_with_a_clear_report() {
    let emu = refusing(&["POST /api/v2/users"]);
    let scratch = scratch_config(
        "  new@globex.io:\n    first_name: New\n    last_name: Person\n    roles: [Viewer]\n  ines@globex.io:\n    roles: [Builder]\n",
        "",
    );
    // The site refuses the create; the rest goes through.
    let report = apply_expecting_failures(&emu, scratch.path());
    insta::assert_snapshot!(report, @r#"
    Apply complete: 2 done, 1 failed, 0 skipped.
      failed:  + user "new@globex.io" — the server refused the request (400) at URL/api/v2/users: the site refuses this call (injected)
    Rerun `rolecall apply` to retry what failed: what was done is not done again.
    "#);
    emu.set_faults(Faults::default());
    let rerun = rolecall(&emu, scratch.path(), &["apply", "--auto-approve"]);
    assert_eq!(rerun.status.code(), Some(0), "{}", transcript(&rerun));
    assert_converged(&emu, scratch.path(), "the rerun");
}

#[test]
fn a_change_whose_prerequisite_failed_is_skipped() {
    // The Marketing role's create is refused: the users who need Marketing
    // are skipped, not sent.
    let emu = refusing(&["POST /api/v1/roles"]);
    let report = apply_expecting_failures(&emu, &org());
    insta::assert_snapshot!(report, @r#"
    Apply complete: 7 done, 1 failed, 2 skipped.
      failed:  + role "Marketing" — the server refused the request (400) at URL/api/v1/roles: the site refuses this call (injected)
      skipped: ~ user "ines@globex.io" — needs the role Marketing, whose change failed
      skipped: + user "kai@globex.io" — needs the role Marketing, whose change failed
    Rerun `rolecall apply` to retry what failed: what was done is not done again.
    "#);
    assert!(
        emu.snapshot()
            .users
            .iter()
            .all(|u| u.email != "kai@globex.io"),
        "a skipped create was not sent"
    );
}

#[test]
fn test_mode_changes_nothing_and_marks_every_write() {
    let emu = emulator(Faults::default(), 1);
    let before = emu.snapshot();
    let output = rolecall(&emu, &org(), &["apply", "--auto-approve", "--test-mode"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains(
        "Test run complete (test_mode: the site checked every write and changed nothing): 10 done"
    ));
    assert_eq!(emu.snapshot(), before);
    let writes: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert_eq!(writes.len(), 10);
    assert!(writes.iter().all(|r| r.test_mode));
}

#[test]
fn wrong_credentials_are_refused_before_any_write() {
    let emu = emulator(Faults::default(), 1);
    let output = command(&emu, &org(), &["apply", "--auto-approve"])
        .env("PERISCOPE_API_KEY", "nope")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&emu.url(), "URL");
    insta::assert_snapshot!(stderr, @"
    error: cannot read the site `globex`; nothing was written
      Caused by: the site `globex` refused the credentials (401) at URL/api/v2/users: check the site name (the segment after /app/ in a dashboard URL) and the API key

    hint: check PERISCOPE_SITE (or --site) and PERISCOPE_API_KEY (or --api-key-file)
    ");
    assert!(emu.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn the_key_is_in_no_output_plan_or_audit_log() {
    let emu = emulator(
        Faults {
            error_rate: 0.2,
            lost_response_rate: 0.3,
            ..Faults::default()
        },
        7,
    );
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let audit = dir.join("audit.jsonl");
    let output = rolecall(
        &emu,
        &org(),
        &[
            "apply",
            "--auto-approve",
            "-vvv",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    );
    assert!(
        matches!(output.status.code(), Some(0 | 4)),
        "{}",
        transcript(&output)
    );
    let log = std::fs::read_to_string(&audit).unwrap();
    for text in [transcript(&output), log.clone()] {
        assert!(!text.contains(KEY), "the key leaked: {text}");
    }
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("TRACE"),
        "trace logs were on"
    );
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let calls: Vec<_> = lines.iter().filter(|l| l["event"] == "call").collect();
    let operations: Vec<_> = lines.iter().filter(|l| l["event"] == "operation").collect();
    assert_eq!(operations.len(), 10, "one line per operation");
    assert!(calls.iter().all(|c| c["time"].is_string()
        && c["method"].is_string()
        && c["path"].is_string()
        && c["attempt"].as_u64() >= Some(1)
        && c["duration_ms"].is_number()
        && c["test_mode"] == false));
    assert!(
        calls.iter().any(|c| c["attempt"].as_u64() > Some(1)),
        "retries are logged"
    );
}

/// Seeded runs against a site that fails 10% of calls, rate-limits with
/// 429, drops 2% of connections and loses 2% of answers: every run ends with
/// the config's state and no duplicate; a run that exits 4 converges on one
/// rerun. 15 runs by default; `ROLECALL_SOAK=1` runs 50.
#[test]
fn apply_converges_under_faults() {
    let faults = Faults {
        error_rate: 0.1,
        rate_limit: Some(10.0),
        drop_rate: 0.02,
        lost_response_rate: 0.02,
        latency: None,
        // The exact wait, not whole seconds: the same 429s, less waiting.
        precise_retry_after: true,
        ..Faults::default()
    };
    let runs: u64 = if std::env::var_os("ROLECALL_SOAK").is_some() {
        50
    } else {
        15
    };
    // The runs mostly wait on their own site's rate limit: all at once
    // (the soak in rounds of 15).
    let outcomes: Vec<(bool, usize, usize)> = (0..runs)
        .collect::<Vec<u64>>()
        .chunks(15)
        .flat_map(|seeds| {
            std::thread::scope(|scope| {
                let runs: Vec<_> = seeds
                    .iter()
                    .map(|&seed| {
                        let faults = faults.clone();
                        scope.spawn(move || converge_under(faults, seed))
                    })
                    .collect();
                runs.into_iter()
                    .map(|run| run.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let reruns = outcomes.iter().filter(|o| o.0).count();
    let limited: usize = outcomes.iter().map(|o| o.1).sum();
    let lost: usize = outcomes.iter().map(|o| o.2).sum();
    assert!(
        reruns * 2 < outcomes.len(),
        "most runs converge at once ({reruns} reruns)"
    );
    assert!(
        limited > 0 && lost > 0,
        "the faults happened: {limited} 429s, {lost} lost answers"
    );
}

/// One seeded run of [`apply_converges_under_faults`]: whether it needed a
/// rerun, and how many 429s and lost answers it met.
fn converge_under(faults: Faults, seed: u64) -> (bool, usize, usize) {
    let emu = emulator(faults, seed);
    let first = rolecall(&emu, &org(), &["apply", "--auto-approve"]);
    let rerun = match first.status.code() {
        Some(0) => false,
        Some(4) | Some(1) => {
            let second = rolecall(&emu, &org(), &["apply", "--auto-approve"]);
            assert_eq!(
                second.status.code(),
                Some(0),
                "seed {seed}: the rerun:\n{}\nfirst:\n{}",
                transcript(&second),
                transcript(&first)
            );
            true
        }
        other => panic!("seed {seed}: exit {other:?}\n{}", transcript(&first)),
    };
    let log = emu.requests();
    let limited = log.iter().filter(|r| r.status == Some(429)).count();
    let lost = log
        .iter()
        .filter(|r| r.outcome == periscope_emulator::Outcome::Lost)
        .count();
    emu.set_faults(Faults::default());
    assert_converged(&emu, &org(), &format!("seed {seed}"));
    (rerun, limited, lost)
}

/// Writes a full apply of the org example makes.
const ORG_WRITES: usize = 10;

/// Killed right after each of its writes (the emulator's request hook tells
/// the test when the Nth write was handled, before its answer is sent), a
/// rerun converges, with no duplicate. Each kill is checked to have landed
/// mid-apply: the site does not match the config yet.
#[test]
fn apply_killed_halfway_converges_on_rerun() {
    for point in 1..ORG_WRITES {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let writes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = writes.clone();
        let hook = std::sync::Arc::new(move |r: &periscope_emulator::Logged| {
            if r.method != "GET" {
                let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                if n == point {
                    let _ = tx.lock().unwrap().send(());
                }
            }
        });
        let emu = spawn(Options {
            seed: Some(org_site()),
            api_key: Some(KEY.into()),
            faults: Faults {
                // Answers take a while, so the kill lands before the next write.
                latency: Some((Duration::from_millis(20), Duration::from_millis(20))),
                ..Faults::default()
            },
            rng_seed: point as u64,
            on_request: Some(hook),
            ..Options::default()
        })
        .unwrap();
        let mut child = command(
            &emu,
            &org(),
            &["apply", "--auto-approve", "--parallelism", "2"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        rx.recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("kill point {point}: the write never came"));
        let _ = child.kill();
        let _ = child.wait();
        emu.set_faults(Faults::default());
        // Counted by the hook (the request log is written just after it).
        let written = writes.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            (point..ORG_WRITES).contains(&written),
            "kill point {point}: killed after {written} writes, mid-apply"
        );
        let midway = rolecall(&emu, &org(), &["plan", "--detailed-exitcode"]);
        assert_eq!(
            midway.status.code(),
            Some(2),
            "kill point {point}: the site is half done:\n{}",
            transcript(&midway)
        );
        let rerun = rolecall(&emu, &org(), &["apply", "--auto-approve"]);
        assert_eq!(
            rerun.status.code(),
            Some(0),
            "kill point {point}:\n{}",
            stable(&rerun)
        );
        assert_converged(&emu, &org(), &format!("kill point {point}"));
    }
}

/// Against a token bucket, one `429` does not become many: the whole client
/// waits out `Retry-After` and paces itself to the rate the site serves, so
/// few requests are refused, and the report says what the pace settled on.
#[test]
fn a_rate_limited_site_gets_few_429s() {
    let dir = hires(300);
    let emu = emulator(
        Faults {
            rate_limit: Some(100.0),
            precise_retry_after: true,
            ..Faults::default()
        },
        7,
    );
    let started = std::time::Instant::now();
    let out = rolecall(&emu, dir.path(), &["apply", "--auto-approve"]);
    let took = started.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let log = emu.requests();
    // Throughput: 300 creates past a bucket of 100 (100/s) is 2 s at best.
    assert!(
        took < 2.0 * 2.0 + 1.0,
        "{took:.1} s for 300 creates at 100/s"
    );
    let refused = log.iter().filter(|r| r.status == Some(429)).count();
    assert!(refused > 0, "the bucket ran dry: the test tests something");
    // Those in flight when the bucket ran dry are refused, and the search
    // for its rate costs a few; after it, few are (under load, the first
    // wave is larger).
    assert!(
        refused * 3 < log.len(),
        "{refused} of {} requests were 429",
        log.len()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The writer's own count (the reads after the apply may meet the
    // bucket too, on their own client).
    let reported: usize = stderr
        .lines()
        .find(|l| l.starts_with("pace: "))
        .and_then(|l| {
            l.split_once("; ")?
                .1
                .split_once(" answers were 429 (rate limited), paced at")
        })
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no pace line with 429s: {stderr}"));
    assert!(
        reported > 0 && reported <= refused,
        "{reported} of {refused}: {stderr}"
    );
    // Progress (a line a second off a terminal, and the last) shows the pace.
    assert!(
        stderr.contains("applied 300/300 changes (0 failed or skipped); 0 in flight, "),
        "{stderr}"
    );
}

/// One user file: the actor and `n` new users.
fn hires(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from(
        "site: globex\nactor: platform-bot@globex.io\nusers:\n  platform-bot@globex.io:\n    roles: [Admin]\n",
    );
    for u in 0..n {
        yaml.push_str(&format!(
            "  new{u}@globex.io:\n    first_name: New\n    last_name: \"{u}\"\n    roles: [Viewer]\n"
        ));
    }
    std::fs::write(dir.path().join("rolecall.yaml"), yaml).unwrap();
    dir
}

/// Another job sharing the key: a tenth of all answers are `429`, whatever
/// the rate. Each costs its call its `Retry-After` and nothing more: apply
/// and plan (over listings in pages of 5) take little longer than without.
#[test]
fn random_429s_cost_each_call_its_retry_after_and_no_more() {
    let dir = hires(300);
    let mut seconds = Vec::new();
    for shed_rate in [0.0, 0.1] {
        let emu = spawn(Options {
            seed: Some(org_site()),
            api_key: Some(KEY.into()),
            page_size: 5,
            faults: Faults {
                latency: Some((Duration::from_millis(5), Duration::from_millis(5))),
                shed_rate,
                precise_retry_after: true,
                ..Faults::default()
            },
            rng_seed: 11,
            ..Options::default()
        })
        .unwrap();
        let timed = |args: &[&str], code: i32| {
            let started = std::time::Instant::now();
            let out = rolecall(&emu, dir.path(), args);
            assert_eq!(out.status.code(), Some(code), "{}", transcript(&out));
            started.elapsed().as_secs_f64()
        };
        let apply = timed(&["apply", "--auto-approve"], 0);
        let plan = timed(&["plan", "--detailed-exitcode"], 0);
        let refused = emu
            .requests()
            .iter()
            .filter(|r| r.status == Some(429))
            .count();
        assert_eq!(refused > 30, shed_rate > 0.0, "{refused} 429s");
        seconds.push((apply, plan));
    }
    let [(apply, plan), (apply_shed, plan_shed)] = seconds[..] else {
        unreachable!()
    };
    // Each 429 waits 50 ms, its slot lent meanwhile; a pace that took them
    // for a rate limit would crawl (the old one settled near 1 request/s).
    assert!(
        apply_shed < 2.0 * apply + 1.0,
        "apply: {apply_shed:.2} s with 10% 429s, {apply:.2} s without"
    );
    assert!(
        plan_shed < 2.0 * plan + 1.0,
        "plan: {plan_shed:.2} s with 10% 429s, {plan:.2} s without"
    );
}
