//! `apply PLANFILE` carries out exactly what was reviewed, or nothing: a
//! saved plan is re-planned against its config and site, and every hand edit
//! is refused with zero writes. Also targets, interrupts, races and revoked
//! keys.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use periscope_emulator::{Emulator, Faults, Logged, Options, Snapshot, spawn};
use serde_json::{Value, json};

use crate::{copy_dir, root, transcript};

pub(crate) const KEY: &str = "saved-k3y-5ecret";

pub(crate) fn org_site() -> Snapshot {
    Snapshot::from_file(&root().join("examples/data-org/sandbox.json")).unwrap()
}

pub(crate) fn emulator_with(
    faults: Faults,
    hook: Option<periscope_emulator::RequestHook>,
) -> Emulator {
    spawn(Options {
        seed: Some(org_site()),
        api_key: Some(KEY.into()),
        faults,
        on_request: hook,
        ..Options::default()
    })
    .unwrap()
}

pub(crate) fn emulator() -> Emulator {
    emulator_with(Faults::default(), None)
}

pub(crate) fn command(emu: &Emulator, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rolecall"));
    cmd.current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("ROLECALL_ENDPOINT", emu.url())
        .env("PERISCOPE_SITE", "globex")
        .env("PERISCOPE_API_KEY", KEY)
        .env_remove("ROLECALL_CONFIG")
        .stdin(Stdio::null());
    cmd
}

pub(crate) fn rolecall(emu: &Emulator, dir: &Path, args: &[&str]) -> Output {
    command(emu, dir, args).output().unwrap()
}

/// A copy of the org example in a scratch directory (so tests can edit it),
/// with a place for plan files.
pub(crate) struct Org {
    dir: tempfile::TempDir,
}

impl Org {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&root().join("examples/data-org"), dir.path());
        Self { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn plan_file(&self, emu: &Emulator, name: &str, extra: &[&str]) -> PathBuf {
        let file = self.path().join(name);
        let mut args = vec!["plan", "-f", ".", "--out", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        let output = rolecall(emu, self.path(), &args);
        assert!(
            matches!(output.status.code(), Some(0 | 3)),
            "{}",
            transcript(&output)
        );
        file
    }

    pub(crate) fn apply(&self, emu: &Emulator, plan: &Path) -> Output {
        rolecall(
            emu,
            self.path(),
            &["apply", "-f", ".", plan.to_str().unwrap()],
        )
    }
}

pub(crate) fn writes(emu: &Emulator) -> usize {
    emu.requests().iter().filter(|r| r.method != "GET").count()
}

pub(crate) fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

pub(crate) fn change<'v>(plan: &'v mut Value, key: &str) -> &'v mut Value {
    plan["changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("no change to {key}"))
}

fn user_state(email: &str, roles: Value) -> Value {
    json!({"email": email, "first_name": "X", "last_name": "Y", "roles": roles})
}

fn push_change(plan: &mut Value, change: Value) {
    plan["changes"].as_array_mut().unwrap().push(change);
    // Keep the summary consistent, as a careful attacker would.
    let action = change_action(plan);
    plan["summary"] = action;
}

fn change_action(plan: &Value) -> Value {
    let mut summary = json!({"create": 0, "update": 0, "delete": 0, "rename": 0});
    for c in plan["changes"].as_array().unwrap() {
        let a = c["action"].as_str().unwrap();
        summary[a] = json!(summary[a].as_u64().unwrap() + 1);
    }
    summary
}

/// Each hand edit of a saved plan is refused: exit 1, no write, and the
/// message names what differs.
#[test]
fn an_edited_plan_is_refused_whatever_it_carries() {
    let actor = json!([{"name": "Admin", "id": "a1f0c3e2"}]);
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, Edit, &str)> = vec![
        (
            "a change relabelled with the protected owner's id",
            Box::new(|p: &mut Value| change(p, "old.timer@globex.io")["id"] = json!("11bb")),
            "in a plan made now, not in the file: ~ user \"old.timer@globex.io\"",
        ),
        (
            "the actor deleted",
            Box::new(|p: &mut Value| {
                push_change(
                    p,
                    json!({"op": "delete-user", "action": "delete", "kind": "user",
                    "key": "platform-bot@globex.io", "id": "10aa",
                    "before": user_state("platform-bot@globex.io", json!([])),
                    "after": null, "risks": ["delete-user"], "source": null, "blocked": null}),
                );
            }),
            "in the file, not in a plan made now: - user \"platform-bot@globex.io\"",
        ),
        (
            "the actor's Admin stripped",
            Box::new(move |p: &mut Value| {
                push_change(
                    p,
                    json!({"op": "update-user", "action": "update", "kind": "user",
                    "key": "platform-bot@globex.io", "id": "10aa",
                    "before": user_state("platform-bot@globex.io", actor.clone()),
                    "after": user_state("platform-bot@globex.io", json!([])),
                    "risks": ["revoke"], "source": null, "blocked": null}),
                );
            }),
            "in the file, not in a plan made now: ~ user \"platform-bot@globex.io\"",
        ),
        (
            "an unlisted Admin created",
            Box::new(|p: &mut Value| {
                push_change(
                    p,
                    json!({"op": "create-user", "action": "create", "kind": "user",
                    "key": "mallory@globex.io", "id": null, "before": null,
                    "after": user_state("mallory@globex.io", json!([{"name": "Admin", "id": "a1f0c3e2"}])),
                    "risks": [], "source": null, "blocked": null}),
                );
            }),
            "in the file, not in a plan made now: + user \"mallory@globex.io\"",
        ),
        (
            "a delete of a role that does not exist (nothing to do: no pass for done)",
            Box::new(|p: &mut Value| {
                push_change(
                    p,
                    json!({"op": "delete-role", "action": "delete", "kind": "role",
                    "key": "Ghost", "id": "zz99",
                    "before": {"name": "Ghost", "description": "", "privileges": {}, "dashboards": {}},
                    "after": null, "risks": ["delete-role"], "source": null, "blocked": null}),
                );
            }),
            "in the file, not in a plan made now: - role \"Ghost\"",
        ),
        (
            "a change dropped",
            Box::new(|p: &mut Value| {
                p["changes"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|c| c["key"] != "tomas@globex.io");
                p["summary"] = change_action(p);
            }),
            "in a plan made now, not in the file: ~ user \"tomas@globex.io\"",
        ),
        (
            "the summary edited",
            Box::new(|p: &mut Value| p["summary"]["delete"] = json!(0)),
            "its summary does not count its changes",
        ),
    ];
    let emu = emulator();
    let org = Org::new();
    let pristine = read_json(&org.plan_file(&emu, "plan.json", &[]));
    let before = emu.snapshot();
    for (what, edit, named) in edits {
        let mut plan = pristine.clone();
        edit(&mut plan);
        let file = org.path().join("edited.json");
        write_json(&file, &plan);
        let output = org.apply(&emu, &file);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{what}: {}",
            transcript(&output)
        );
        assert!(
            stderr.contains("edited"),
            "{what}: says it was edited: {stderr}"
        );
        assert!(stderr.contains(named), "{what}: names {named:?}: {stderr}");
        assert!(stderr.contains("nothing was written"), "{what}: {stderr}");
        assert_eq!(writes(&emu), 0, "{what}: no write");
    }
    assert_eq!(emu.snapshot(), before);
}

/// A plan saved while blocked, then unblocked by hand; and the changes and
/// digests of another config's plan pasted into this one: refused.
#[test]
fn unblocking_or_pasting_another_plan_is_refused() {
    let emu = emulator();
    let org = Org::new();
    let settings = org.path().join("rolecall.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    // Only 1 delete allowed: the plan deletes the Read role and is blocked.
    // Unblocked in the file, it is still blocked: the blocks of a plan made
    // now are the ones that count.
    std::fs::write(&settings, text.replace("max_deletes: 5", "max_deletes: 0")).unwrap();
    let blocked = org.plan_file(&emu, "blocked.json", &[]);
    let mut plan = read_json(&blocked);
    assert!(!change(&mut plan, "Read")["blocked"].is_null());
    change(&mut plan, "Read")["blocked"] = Value::Null;
    write_json(&blocked, &plan);
    let output = org.apply(&emu, &blocked);
    assert_eq!(output.status.code(), Some(3), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("a safety rule blocks this plan; nothing was written"),
        "{stderr}"
    );

    // The plan of a config that deletes users, pasted into this config's plan.
    std::fs::write(&settings, text.replace("users: strip", "users: delete")).unwrap();
    let other = read_json(&org.plan_file(&emu, "other.json", &[]));
    std::fs::write(&settings, &text).unwrap();
    let mut plan = read_json(&org.plan_file(&emu, "mine.json", &[]));
    plan["changes"] = other["changes"].clone();
    plan["digests"] = other["digests"].clone();
    plan["summary"] = other["summary"].clone();
    let pasted = org.path().join("pasted.json");
    write_json(&pasted, &plan);
    let output = org.apply(&emu, &pasted);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "not the same in the file as in a plan made now: - user \"old.timer@globex.io\""
        ),
        "{stderr}"
    );
    assert_eq!(writes(&emu), 0);
}

#[test]
fn a_saved_plan_needs_its_config_and_its_site() {
    let emu = emulator();
    let org = Org::new();
    let plan = org.plan_file(&emu, "plan.json", &[]);

    // No config at hand.
    let elsewhere = tempfile::tempdir().unwrap();
    let output = rolecall(&emu, elsewhere.path(), &["apply", plan.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing was sent to the site"));

    // The config entry behind a change changed: stale, exit 5, the entry
    // named. A comment alone changes no entry.
    let teams = org.path().join("teams/data.yaml");
    let text = std::fs::read_to_string(&teams).unwrap();
    std::fs::write(
        &teams,
        text.replace("last_name: Novák", "last_name: Novak") + "\n# reviewed\n",
    )
    .unwrap();
    let output = org.apply(&emu, &plan);
    assert_eq!(output.status.code(), Some(5), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "the config entry of user \"tomas@globex.io\" changed since the plan was made"
        ),
        "{stderr}"
    );
    std::fs::write(&teams, text).unwrap();

    // The site changed outside the plan's objects: a user added by hand,
    // whom `prune.users: strip` now strips, a change not in the reviewed
    // plan. Stale, exit 5.
    let sandbox_plan = org.plan_file(&emu, "sandboxed.json", &["--sandbox", "sandbox.json"]);
    let answer = crate::http(
        &emu,
        KEY,
        "POST",
        "/api/v2/users",
        r#"{"first_name": "New", "last_name": "Hire", "email": "hire@globex.io", "roles": ["d4c3f6b5"], "invited_by_email": "platform-bot@globex.io"}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let output = org.apply(&emu, &plan);
    assert_eq!(output.status.code(), Some(5), "{}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(
            "not in the reviewed plan, the site changed since: ~ user \"hire@globex.io\""
        ),
        "{}",
        transcript(&output)
    );

    // A plan made against a sandbox is not applied to a real endpoint.
    let output = org.apply(&emu, &sandbox_plan);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("the plan was made against a sandbox"),
        "{}",
        transcript(&output)
    );
    assert_eq!(writes(&emu), 1, "only the hand-made user");

    // Made again, it applies, verifies and exits 0.
    let plan = org.plan_file(&emu, "again.json", &[]);
    let output = org.apply(&emu, &plan);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("The site now matches the config."));
}

/// `--target` pulls in what the target needs; excluding it is an error
/// before any write; a selector that matches nothing is an error.
#[test]
fn targets_pull_in_their_prerequisites() {
    let emu = emulator();
    let org = Org::new();
    let output = rolecall(
        &emu,
        org.path(),
        &["plan", "-f", ".", "--target", "user:kai*"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.starts_with(
            "rolecall will make these changes to the site `globex` (partial plan: 3 of 10 changes):"
        ),
        "{text}"
    );
    assert!(
        text.contains("# included: a selected change needs it"),
        "{text}"
    );
    assert!(text.contains("+ role \"Marketing\""), "{text}");
    assert!(
        text.contains("> role \"Dashboard Owners\" -> \"Publisher\""),
        "{text}"
    );

    let output = rolecall(
        &emu,
        org.path(),
        &[
            "apply",
            "-f",
            ".",
            "--auto-approve",
            "--target",
            "user:kai*",
            "--exclude",
            "role:Marketing",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("the change to user `kai@globex.io` needs role `Marketing` created first, which the selection excludes"),
        "{}",
        transcript(&output)
    );
    assert_eq!(writes(&emu), 0);

    let output = rolecall(
        &emu,
        org.path(),
        &["plan", "-f", ".", "--target", "user:nobody*"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("the selector `user:nobody*` matches no user in the config or on the site")
    );

    let output = rolecall(
        &emu,
        org.path(),
        &[
            "apply",
            "-f",
            ".",
            "--auto-approve",
            "--target",
            "user:kai*",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let state = emu.snapshot();
    let marketing = state.roles.iter().find(|r| r.name == "Marketing").unwrap();
    let kai = state
        .users
        .iter()
        .find(|u| u.email == "kai@globex.io")
        .unwrap();
    assert!(
        kai.roles.contains(&marketing.id),
        "the role was created first"
    );
    assert!(
        state
            .users
            .iter()
            .any(|u| u.email == "old.timer@globex.io" && u.roles.len() > 1),
        "what was not selected was left alone"
    );
    // It says what it covered and what is left, never that the site matches.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("The selected changes are done (3 changes); 7 changes")
            && stdout.contains(
                " of the config remain outside the selection (`rolecall plan` shows them): the config as a whole is not applied."
            ),
        "{stdout}"
    );
    assert!(
        !stdout.contains("The site now matches the config."),
        "{stdout}"
    );
}

/// SIGINT on the 3rd write: the apply starts nothing more, reports, records
/// it in the audit log and exits 130; a rerun converges.
#[test]
fn an_interrupted_apply_reports_and_a_rerun_converges() {
    let pid = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let hook = {
        let (pid, seen) = (pid.clone(), seen.clone());
        Arc::new(move |r: &Logged| {
            if r.method != "GET" && seen.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                let pid = pid.load(Ordering::SeqCst).to_string();
                let _ = Command::new("kill").args(["-INT", &pid]).status();
            }
        })
    };
    let faults = Faults {
        latency: Some((Duration::from_millis(30), Duration::from_millis(30))),
        ..Faults::default()
    };
    let emu = emulator_with(faults, Some(hook));
    let org = Org::new();
    let audit = org.path().join("audit.jsonl");
    // A saved plan, interrupted halfway: applied again, it converges (what
    // was done is done, the rest is the reviewed rest).
    let plan = org.plan_file(&emu, "plan.json", &[]);
    let child = command(
        &emu,
        org.path(),
        &[
            "apply",
            "-f",
            ".",
            plan.to_str().unwrap(),
            "--parallelism",
            "1",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    pid.store(child.id(), Ordering::SeqCst);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", transcript(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The signal lands while the 3rd write is in flight (the hook sends it
    // before the emulator answers); a loaded machine may let the 4th start
    // before the signal is handled, never more.
    let written = writes(&emu);
    assert!((3..=4).contains(&written), "{written} writes");
    let skipped = 10 - written;
    assert!(
        stdout.contains(&format!(
            "Apply interrupted: {written} done, 0 failed, {skipped} skipped."
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("not started: the apply was interrupted"),
        "{stdout}"
    );
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(
        log.lines().any(|l| l.contains("\"event\":\"interrupted\"")
            && l.contains(&format!("\"done\":{written}"))),
        "{log}"
    );
    let rerun = org.apply(&emu, &plan);
    assert_eq!(rerun.status.code(), Some(0), "{}", transcript(&rerun));
    assert!(
        String::from_utf8_lossy(&rerun.stdout).contains("The site now matches the config."),
        "{}",
        transcript(&rerun)
    );
    crate::assert_no_duplicates(&emu.snapshot(), "after the rerun");
}

/// Two applies of one config at once (two merges racing): both exit 0, no
/// duplicate, the site converged. Ten times.
#[test]
fn two_applies_at_once_both_end_well() {
    let mut settled = 0;
    for round in 0..10 {
        let faults = Faults {
            latency: Some((Duration::from_millis(2), Duration::from_millis(12))),
            ..Faults::default()
        };
        let emu = spawn(Options {
            seed: Some(org_site()),
            api_key: Some(KEY.into()),
            faults,
            rng_seed: round,
            ..Options::default()
        })
        .unwrap();
        let org = Org::new();
        let args = ["apply", "-f", ".", "--auto-approve", "--parallelism", "4"];
        let a = command(&emu, org.path(), &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let b = command(&emu, org.path(), &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        for (name, child) in [("a", a), ("b", b)] {
            let output = child.wait_with_output().unwrap();
            assert_eq!(
                output.status.code(),
                Some(0),
                "round {round}, apply {name}: {}",
                transcript(&output)
            );
        }
        crate::assert_no_duplicates(&emu.snapshot(), &format!("round {round}"));
        let plan = rolecall(
            &emu,
            org.path(),
            &["plan", "-f", ".", "--detailed-exitcode"],
        );
        assert_eq!(
            plan.status.code(),
            Some(0),
            "round {round}: {}",
            transcript(&plan)
        );
        settled += emu
            .requests()
            .iter()
            .filter(|r| matches!(r.status, Some(404 | 409)))
            .count();
    }
    assert!(
        settled > 0,
        "the applies raced: creates answered 409, deletes 404"
    );
}

/// The key revoked after the 3rd write: the apply stops, says why, exits 4,
/// and sends at most `--parallelism` writes after the first `401`.
#[test]
fn a_revoked_key_stops_the_apply() {
    let faults = Faults {
        latency: Some((Duration::from_millis(10), Duration::from_millis(10))),
        revoke_key_after_writes: Some(3),
        ..Faults::default()
    };
    let emu = emulator_with(faults, None);
    let org = Org::new();
    let output = rolecall(
        &emu,
        org.path(),
        &["apply", "-f", ".", "--auto-approve", "--parallelism", "2"],
    );
    assert_eq!(output.status.code(), Some(4), "{}", transcript(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("The site refused the credentials midway"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not started: the site refused the credentials"),
        "{stdout}"
    );
    let log = emu.requests();
    let first = log
        .iter()
        .filter(|r| r.status == Some(401))
        .map(|r| r.seq)
        .min()
        .expect("a 401");
    let after = log
        .iter()
        .filter(|r| r.method != "GET" && r.seq > first)
        .count();
    assert!(after <= 2, "{after} writes after the first 401");
}

/// `rolecall show PLANFILE` renders a saved plan again, exactly as `plan`
/// printed it, with no config, no key and no site; a file edited out of
/// shape is refused as `apply` refuses it.
#[test]
fn show_renders_a_saved_plan_again_and_needs_nothing_else() {
    let emu = emulator();
    let org = Org::new();
    let file = org.path().join("plan.json");
    let printed = rolecall(
        &emu,
        org.path(),
        &[
            "plan",
            "-f",
            ".",
            "--out",
            file.to_str().unwrap(),
            "--format",
            "markdown",
        ],
    );
    assert_eq!(printed.status.code(), Some(0), "{}", transcript(&printed));
    let reads = emu.requests().len();
    let elsewhere = tempfile::tempdir().unwrap();
    let show = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rolecall"))
            .current_dir(elsewhere.path())
            .arg("show")
            .arg(&file)
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("PERISCOPE_API_KEY")
            .env_remove("ROLECALL_CONFIG")
            .output()
            .unwrap()
    };
    let shown = show(&["--format", "markdown"]);
    assert_eq!(shown.status.code(), Some(0), "{}", transcript(&shown));
    assert_eq!(shown.stdout, printed.stdout);
    assert_eq!(emu.requests().len(), reads, "show reads no site");
    let json = show(&["--format", "json"]);
    assert_eq!(json.stdout, std::fs::read(&file).unwrap());
    // Edited: a rename relabelled as an update.
    let mut plan = read_json(&file);
    let rename = plan["changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["op"] == "rename-role")
        .expect("the example renames a role");
    rename["op"] = json!("update-role");
    rename["action"] = json!("update");
    write_json(&file, &plan);
    let edited = show(&[]);
    assert_eq!(edited.status.code(), Some(1), "{}", transcript(&edited));
    assert!(
        String::from_utf8_lossy(&edited.stderr).contains("an update keeps the role's name"),
        "{}",
        transcript(&edited)
    );
}
