//! Exactly what was reviewed: a plan made with no key from a snapshot is
//! applied with the key against the live site; two pull requests merged one
//! after the other both apply; a change the reviewed plan does not hold, or
//! an object that moved under one it does, is stale (exit 5); an edit of a
//! change is an edit (exit 1) whatever digests travel with it.

use std::path::Path;
use std::process::Output;

use periscope_emulator::Emulator;
use serde_json::{Value, json};

use crate::saved::{KEY, Org, change, command, emulator, read_json, rolecall, write_json, writes};
use crate::{copy_dir, transcript};

/// `rolecall` with no key, no site and no endpoint in its environment.
fn keyless(emu: &Emulator, dir: &Path, args: &[&str]) -> Output {
    command(emu, dir, args)
        .env_remove("PERISCOPE_API_KEY")
        .env_remove("PERISCOPE_SITE")
        .env_remove("ROLECALL_ENDPOINT")
        .output()
        .unwrap()
}

/// `rolecall export --format snapshot -o FILE`, with the key.
fn export_snapshot(emu: &Emulator, dir: &Path, file: &str) {
    let output = rolecall(emu, dir, &["export", "--format", "snapshot", "-o", file]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
}

/// `rolecall plan --from-snapshot snap.json --out plan.json`, with no key:
/// exit 0.
fn plan_keyless(emu: &Emulator, dir: &Path) -> Output {
    let output = keyless(
        emu,
        dir,
        &[
            "plan",
            "-f",
            ".",
            "--from-snapshot",
            "snap.json",
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    output
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn sync(emu: &Emulator, dir: &Path) {
    let output = rolecall(emu, dir, &["apply", "-f", ".", "--auto-approve"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
}

fn hire(emu: &Emulator, email: &str) {
    let body = format!(
        r#"{{"first_name": "New", "last_name": "Hire", "email": "{email}", "roles": ["d4c3f6b5"], "invited_by_email": "platform-bot@globex.io"}}"#
    );
    let answer = crate::http(emu, KEY, "POST", "/api/v2/users", &body);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

const NEWBIE: &str =
    "  newbie@globex.io:\n    first_name: New\n    last_name: Bie\n    roles: [Viewer]\n";

#[test]
fn a_plan_made_from_a_snapshot_with_no_key_applies_with_the_key() {
    let emu = emulator();
    let org = Org::new();
    let dir = org.path();
    export_snapshot(&emu, dir, "snap.json");
    let snapshot = std::fs::read_to_string(dir.join("snap.json")).unwrap();
    assert!(!snapshot.contains(KEY), "never the key");
    let taken = &serde_json::from_str::<Value>(&snapshot).unwrap()["taken"];
    assert_eq!(taken["endpoint"], json!(emu.url()), "{taken}");

    let reads = emu.requests().len();
    let output = plan_keyless(&emu, dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Planned against the site as recorded at "),
        "{stdout}"
    );
    assert_eq!(emu.requests().len(), reads, "no call to the site");
    let plan = read_json(&dir.join("plan.json"));
    assert_eq!(plan["made_from"]["snapshot"], *taken);
    assert_eq!(plan["made_from"]["endpoint"], json!(emu.url()));

    let output = org.apply(&emu, &dir.join("plan.json"));
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("The site now matches the config."));

    // Again, with a hand change on the site in between: the user the plan
    // creates was created by hand. Stale, exit 5, nothing written.
    export_snapshot(&emu, dir, "snap.json");
    edit(
        &dir.join("teams/data.yaml"),
        "users:\n",
        &format!("users:\n{NEWBIE}"),
    );
    plan_keyless(&emu, dir);
    hire(&emu, "newbie@globex.io");
    let before = (writes(&emu), emu.snapshot());
    let output = org.apply(&emu, &dir.join("plan.json"));
    assert_eq!(output.status.code(), Some(5), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("user \"newbie@globex.io\" was created on the site since the plan was made"),
        "{stderr}"
    );
    assert_eq!((writes(&emu), emu.snapshot()), before, "nothing written");
}

#[test]
fn a_snapshot_edited_or_of_another_site_is_refused() {
    let emu = emulator();
    let org = Org::new();
    let dir = org.path();
    export_snapshot(&emu, dir, "snap.json");
    let mut snapshot = read_json(&dir.join("snap.json"));
    snapshot["users"][0]["email"] = json!("mallory@globex.io");
    write_json(&dir.join("edited.json"), &snapshot);
    let output = keyless(
        &emu,
        dir,
        &["plan", "-f", ".", "--from-snapshot", "edited.json"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("it was edited after it was taken"));

    // A seed that says nothing of where it was taken.
    let output = keyless(
        &emu,
        dir,
        &["plan", "-f", ".", "--from-snapshot", "sandbox.json"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not say where it was taken"));

    let mut snapshot = read_json(&dir.join("snap.json"));
    snapshot["site"] = json!("initech");
    write_json(&dir.join("other.json"), &snapshot);
    let output = keyless(
        &emu,
        dir,
        &["plan", "-f", ".", "--from-snapshot", "other.json"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("the snapshot is of `initech`"));
}

/// Two pull requests planned from the same `main`, merged one after the
/// other: each one's reviewed plan applies after the other changed other
/// files and other users. A change outside the reviewed plan is stale.
#[test]
fn two_prs_merged_one_after_the_other_both_apply() {
    let emu = emulator();
    let main = Org::new();
    edit(
        &main.path().join("rolecall.yaml"),
        "max_deletes: 5",
        "max_deletes: 50",
    );
    sync(&emu, main.path());
    let branch = |edit_it: &dyn Fn(&Path)| {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(main.path(), dir.path());
        edit_it(dir.path());
        dir
    };
    let pr_a = |d: &Path| {
        edit(
            &d.join("teams/data.yaml"),
            "roles: [Builder, Data Team]",
            "roles: [Builder, Publisher, Data Team]",
        )
    };
    let pr_b = |d: &Path| {
        edit(
            &d.join("teams/marketing.yaml"),
            "users:\n",
            &format!("users:\n{NEWBIE}"),
        )
    };
    let (a, b) = (branch(&pr_a), branch(&pr_b));
    let plan = |dir: &Path| {
        let output = keyless(
            &emu,
            dir,
            &["export", "--format", "snapshot", "-o", "/dev/null"],
        );
        assert_eq!(output.status.code(), Some(1), "export needs the key");
        let output = rolecall(&emu, dir, &["plan", "-f", ".", "--out", "plan.json"]);
        assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
        dir.join("plan.json")
    };
    let (plan_a, plan_b) = (plan(a.path()), plan(b.path()));
    let apply = |plan: &Path| {
        rolecall(
            &emu,
            main.path(),
            &["apply", "-f", ".", plan.to_str().unwrap()],
        )
    };

    pr_a(main.path());
    let output = apply(&plan_a);
    assert_eq!(output.status.code(), Some(0), "A: {}", transcript(&output));
    pr_b(main.path());
    let output = apply(&plan_b);
    assert_eq!(output.status.code(), Some(0), "B: {}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("+ user \"newbie@globex.io\""));

    // C is planned; then someone hires by hand, whom `prune.users: strip`
    // strips: a change the reviewed plan does not hold. Stale, no write.
    let c = branch(&|d: &Path| {
        edit(
            &d.join("teams/marketing.yaml"),
            "roles: [Viewer, Marketing]",
            "roles: [Viewer]",
        )
    });
    let plan_c = plan(c.path());
    copy_dir(c.path(), main.path());
    hire(&emu, "walk-in@globex.io");
    let before = writes(&emu);
    let output = apply(&plan_c);
    assert_eq!(output.status.code(), Some(5), "C: {}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(
            "not in the reviewed plan, the site changed since: ~ user \"walk-in@globex.io\""
        ),
        "{}",
        transcript(&output)
    );
    assert_eq!(writes(&emu), before);
}

/// The old attack: a change's `after` edited together with the site digests
/// the file carries (and its record of that object). The live object is as
/// the change's `before` says, the config entry is the one planned from:
/// edited, exit 1, not stale.
#[test]
fn editing_a_change_and_its_digests_is_still_edited() {
    let emu = emulator();
    let org = Org::new();
    let file = org.plan_file(&emu, "plan.json", &[]);
    let mut plan = read_json(&file);
    change(&mut plan, "tomas@globex.io")["after"]["roles"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Admin", "id": "a1f0c3e2"}));
    plan["made_from"]["site_digest"] = json!("0000000000000000");
    plan["digests"]["user:13dd"] = json!("0000000000000000");
    plan["made_from"]["objects"]["user:13dd"] = json!("0000000000000000");
    write_json(&file, &plan);
    let output = org.apply(&emu, &file);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("it was edited"), "{stderr}");
    assert!(
        stderr
            .contains("not the same in the file as in a plan made now: ~ user \"tomas@globex.io\""),
        "{stderr}"
    );
    assert_eq!(writes(&emu), 0);
}

/// `apply` and `drift` publish the site as read (`--snapshot-out`): after an
/// apply, as verified. A plan made from it with no key plans no change.
#[test]
fn apply_and_drift_publish_the_site_as_read() {
    let emu = emulator();
    let org = Org::new();
    let dir = org.path();
    edit(
        &dir.join("rolecall.yaml"),
        "max_deletes: 5",
        "max_deletes: 50",
    );
    let output = rolecall(
        &emu,
        dir,
        &[
            "apply",
            "-f",
            ".",
            "--auto-approve",
            "--snapshot-out",
            "applied.json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let output = keyless(
        &emu,
        dir,
        &["plan", "-f", ".", "--from-snapshot", "applied.json"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("No changes"),
        "the snapshot is the site as verified: {}",
        transcript(&output)
    );

    hire(&emu, "walk-in@globex.io");
    let output = rolecall(
        &emu,
        dir,
        &["drift", "-f", ".", "--snapshot-out", "drift.json"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    let snapshot = std::fs::read_to_string(dir.join("drift.json")).unwrap();
    assert!(snapshot.contains("walk-in@globex.io") && !snapshot.contains(KEY));
}

/// A snapshot or a plan file that travelled as an artifact is input like
/// any other: bounded, the flag that raises the bound named.
#[test]
fn snapshots_and_plan_files_are_read_within_a_bound() {
    let emu = emulator();
    let org = Org::new();
    let dir = org.path();
    export_snapshot(&emu, dir, "snap.json");
    let small = ["--max-snapshot-size", "1K"];
    let output = keyless(
        &emu,
        dir,
        &[
            &["plan", "-f", ".", "--from-snapshot", "snap.json"][..],
            &small,
        ]
        .concat(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("raise `--max-snapshot-size`"));
    let file = org.plan_file(&emu, "plan.json", &[]);
    let output = rolecall(
        &emu,
        dir,
        &[&["apply", "-f", ".", file.to_str().unwrap()][..], &small].concat(),
    );
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is larger than 1024 bytes"));
    assert_eq!(writes(&emu), 0);
}

/// A role renamed by hand after the plan was made: the users whose roles
/// name it are no longer as their `before` says. Stale (the site moved),
/// never "edited".
#[test]
fn a_role_renamed_by_hand_makes_the_plan_stale_not_edited() {
    let emu = emulator();
    let org = Org::new();
    let file = org.plan_file(&emu, "plan.json", &[]);
    let answer = crate::http(
        &emu,
        KEY,
        "PUT",
        "/api/v1/roles/e5b4a7c6",
        r#"{"name": "Builders", "updated_by_email": "platform-bot@globex.io"}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let before = writes(&emu);
    let output = org.apply(&emu, &file);
    assert_eq!(output.status.code(), Some(5), "{}", transcript(&output));
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("edited"),
        "{}",
        transcript(&output)
    );
    assert_eq!(writes(&emu), before);
}

/// Two pull requests that both add the role `Ops`, the second also giving
/// it to a new user: once the first created it, the second's reviewed plan
/// still applies (its create is done; its user names the role by id now).
#[test]
fn stacked_prs_creating_the_same_role_both_apply() {
    let emu = emulator();
    let main = Org::new();
    edit(
        &main.path().join("rolecall.yaml"),
        "max_deletes: 5",
        "max_deletes: 50",
    );
    sync(&emu, main.path());
    let ops = "roles:\n  Ops:\n    privileges:\n      Dashboard: [read_dashboards]\n";
    let pr = |zoe: bool| {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(main.path(), dir.path());
        std::fs::write(dir.path().join("roles/ops.yaml"), ops).unwrap();
        if zoe {
            let zoe =
                "  zoe@globex.io:\n    first_name: Zoe\n    last_name: Ops\n    roles: [Ops]\n";
            edit(
                &dir.path().join("teams/data.yaml"),
                "users:\n",
                &format!("users:\n{zoe}"),
            );
        }
        let output = rolecall(&emu, dir.path(), &["plan", "-f", ".", "--out", "plan.json"]);
        assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
        dir
    };
    let (first, second) = (pr(false), pr(true));
    for dir in [&first, &second] {
        copy_dir(dir.path(), main.path());
        let plan = dir.path().join("plan.json");
        let output = rolecall(
            &emu,
            main.path(),
            &["apply", "-f", ".", plan.to_str().unwrap()],
        );
        assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    }
    let snapshot = emu.snapshot();
    let ops = snapshot.roles.iter().find(|r| r.name == "Ops").unwrap();
    let zoe = snapshot
        .users
        .iter()
        .find(|u| u.email == "zoe@globex.io")
        .unwrap();
    assert!(zoe.roles.contains(&ops.id));
}

/// A dashboard renamed on the site after the plan was made, which a role
/// update of the plan newly grants: the change names it, so the plan is
/// stale (exit 5), never "edited".
#[test]
fn a_dashboard_renamed_on_the_site_makes_the_plan_stale_not_edited() {
    let first = emulator();
    let org = Org::new();
    let dir = org.path();
    // The Marketing role newly granted the board, by id: not in its
    // `before`, only in its `after`.
    edit(
        &dir.join("roles/departments.yaml"),
        "      Web Traffic: [read_dashboards]\n",
        "      Web Traffic: [read_dashboards]\n      \"#80412\": [read_dashboards]\n",
    );
    let plan = org.plan_file(&first, "plan.json", &[]);
    // Renamed in the web UI (the same site, at the same address).
    assert!(first.rename_dashboard("80412", "Board Pack (old)"));
    let output = org.apply(&first, &plan);
    assert_eq!(output.status.code(), Some(5), "{}", transcript(&output));
    assert_eq!(writes(&first), 0);
}

/// A user given a role the config ignores (managed elsewhere): applied
/// once, the membership is kept, and the next plan has nothing to do.
#[test]
fn an_ignored_role_given_in_the_config_plans_nothing_once_held() {
    let emu = emulator();
    let org = Org::new();
    let dir = org.path();
    edit(
        &dir.join("rolecall.yaml"),
        "max_deletes: 5",
        "max_deletes: 50",
    );
    edit(
        &dir.join("teams/data.yaml"),
        "roles: [Builder, Data Team]",
        "roles: [Builder, Data Team, sso-engineering]",
    );
    sync(&emu, dir);
    let output = rolecall(&emu, dir, &["plan", "-f", ".", "--detailed-exitcode"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
}
