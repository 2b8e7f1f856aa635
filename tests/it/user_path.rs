//! One test per defect found on the path a team walks (a config written by
//! hand, the emulator over HTTP): each failed before it was fixed.

use std::path::Path;

use serde_json::Value;

use crate::lifecycle::{KEY, config, expect, kept_intact, role, run, site};
use crate::{Stream, says, transcript};

fn hand_written() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rolecall.yaml"), config("acme")).unwrap();
    dir
}

fn read_lock(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_first_lock_records_its_site_and_a_cancelled_apply_writes_none() {
    let emu = site("acme");
    let dir = hand_written();
    let d = dir.path();
    let lock = d.join("rolecall.lock");
    // No terminal to confirm on: refused, and nothing pinned.
    let apply = run(d, &emu, "acme", &["apply"]);
    expect(&apply, 1, "apply without confirmation");
    assert!(!lock.exists(), "a cancelled apply pins nothing");
    let out = run(d, &emu, "acme", &["plan", "--out", "plan.json"]);
    expect(&out, 0, "plan --out");
    assert_eq!(read_lock(&lock)["site"], "acme");
    // The second run: every command reads that lock.
    for args in [
        &["validate"][..],
        &["plan"],
        &["drift"],
        &["lock", "--check"],
        &["lock", "--update"],
    ] {
        let output = run(d, &emu, "acme", args);
        assert_ne!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            transcript(&output)
        );
    }
}

#[test]
fn a_lock_that_records_no_site_is_read_and_healed() {
    let emu = site("acme");
    let dir = hand_written();
    let d = dir.path();
    std::fs::write(
        d.join("rolecall.lock"),
        "{\n  \"lock_version\": 1,\n  \"site\": \"\",\n  \"dashboards\": {\n    \"Revenue Overview\": \"4700\"\n  }\n}\n",
    )
    .unwrap();
    expect(&run(d, &emu, "acme", &["validate"]), 0, "validate");
    let check = run(d, &emu, "acme", &["lock", "--check"]);
    expect(&check, 1, "lock --check of a lock without its site");
    expect(
        &run(d, &emu, "acme", &["lock", "--update"]),
        0,
        "lock --update",
    );
    assert_eq!(read_lock(&d.join("rolecall.lock"))["site"], "acme");
    expect(
        &run(d, &emu, "acme", &["lock", "--check"]),
        0,
        "lock --check",
    );
}

#[test]
fn a_name_pinned_twice_is_an_error_at_its_line() {
    let dir = hand_written();
    let d = dir.path();
    std::fs::write(
        d.join("rolecall.lock"),
        "{\n  \"lock_version\": 1,\n  \"site\": \"acme\",\n  \"dashboards\": {\n    \"Board Pack\": \"4711\",\n    \"Board Pack\": \"4700\"\n  }\n}\n",
    )
    .unwrap();
    let validate = crate::rolecall(d, &["validate"]);
    assert_eq!(validate.status.code(), Some(1), "{}", transcript(&validate));
    let stderr = String::from_utf8_lossy(&validate.stderr);
    assert!(
        stderr.contains("`Board Pack` is pinned twice") && stderr.contains("rolecall.lock:6:5"),
        "{stderr}"
    );
}

#[test]
fn a_one_file_config_has_its_own_lock_and_an_old_shared_one_is_named() {
    let emu = site("acme");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("prod.yaml"), config("acme")).unwrap();
    std::fs::write(
        d.join("rolecall.lock"),
        "{\"lock_version\": 1, \"site\": \"other\", \"dashboards\": {\"Board Pack\": \"4711\"}}",
    )
    .unwrap();
    let plan = run(
        d,
        &emu,
        "acme",
        &["plan", "-f", "prod.yaml", "--out", "p.json"],
    );
    expect(&plan, 0, "plan beside another config's lock");
    says(
        &plan,
        Stream::Stderr,
        "`rolecall.lock` is not read for `prod.yaml`: a one-file config's lock is `prod.lock`",
    );
    assert_eq!(read_lock(&d.join("prod.lock"))["site"], "acme");
}

#[test]
fn lock_check_and_update_agree_after_a_rename_on_the_site() {
    let emu = site("acme");
    let dir = hand_written();
    let d = dir.path();
    expect(
        &run(d, &emu, "acme", &["lock", "--update"]),
        0,
        "lock --update",
    );
    assert!(emu.rename_dashboard("4700", "Revenue"));
    let check = run(d, &emu, "acme", &["lock", "--check"]);
    expect(&check, 1, "lock --check after a rename");
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains(
            "`Revenue Overview` -> #4700, which the site names `Revenue` now: write `Revenue` in the config"
        ) && !said.contains("--repin"),
        "no dashboard has the name now: nothing to repin to: {said}"
    );
    // --update does not call it up to date: the same question, exit 1.
    let update = run(d, &emu, "acme", &["lock", "--update"]);
    expect(&update, 1, "lock --update after a rename");
    assert!(
        !String::from_utf8_lossy(&update.stderr).contains("is up to date"),
        "{}",
        transcript(&update)
    );
    let repin = run(
        d,
        &emu,
        "acme",
        &["lock", "--update", "--repin", "Revenue Overview"],
    );
    expect(&repin, 1, "--repin a name no dashboard has");
    // Another dashboard takes the name: --check offers --repin.
    assert!(emu.rename_dashboard("4711", "Revenue Overview"));
    let check = run(d, &emu, "acme", &["lock", "--check"]);
    expect(&check, 1, "lock --check");
    says(
        &check,
        Stream::Stdout,
        "or run `rolecall lock --update --repin 'Revenue Overview'` to pin `Revenue Overview` to #4711, the dashboard of that name now",
    );
    // The config follows #4700 to its new name, and keeps its name for
    // #4711: --repin does what --check asked, and both agree.
    let text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    std::fs::write(
        d.join("rolecall.yaml"),
        text.replace("Revenue Overview:", "Revenue:")
            .replace("Board Pack:", "Revenue Overview:"),
    )
    .unwrap();
    let repin = run(
        d,
        &emu,
        "acme",
        &["lock", "--update", "--repin", "Revenue Overview"],
    );
    expect(&repin, 0, "--repin");
    expect(&run(d, &emu, "acme", &["lock", "--check"]), 0, "check");
    let pins = read_lock(&d.join("rolecall.lock"));
    assert_eq!(pins["dashboards"]["Revenue Overview"], "4711", "{pins}");
    assert_eq!(pins["dashboards"]["Revenue"], "4700", "{pins}");
    // A key is not needed: a snapshot will do.
    let snap = run(
        d,
        &emu,
        "acme",
        &["export", "--format", "snapshot", "-o", "site.json"],
    );
    expect(&snap, 0, "snapshot");
    std::fs::remove_file(d.join("rolecall.lock")).unwrap();
    let keyless = std::process::Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .current_dir(d)
        .args(["lock", "--update", "--from-snapshot", "site.json"])
        .env_remove("PERISCOPE_API_KEY")
        .env_remove("PERISCOPE_SITE")
        .output()
        .unwrap();
    assert_eq!(keyless.status.code(), Some(0), "{}", transcript(&keyless));
    assert_eq!(
        read_lock(&d.join("rolecall.lock"))["dashboards"]["Revenue"],
        "4700"
    );
}

#[test]
fn plan_without_f_inside_an_exported_folder_reads_it_whole() {
    let emu = site("acme");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    expect(
        &run(
            d,
            &emu,
            "acme",
            &["export", "--actor", "admin@acme.com", "-o", "site/"],
        ),
        0,
        "export",
    );
    let inside = d.join("site");
    let validate = run(&inside, &emu, "acme", &["validate"]);
    expect(&validate, 0, "validate");
    says(&validate, Stream::Stdout, "3 roles, 2 users");
    // Prune on, as a team that adopted its site turns it.
    let root = std::fs::read_to_string(inside.join("rolecall.yaml")).unwrap();
    std::fs::write(
        inside.join("rolecall.yaml"),
        format!("{root}prune:\n  users: delete\n  roles: delete\n"),
    )
    .unwrap();
    expect(
        &run(&inside, &emu, "acme", &["plan", "--detailed-exitcode"]),
        0,
        "the folder as a whole",
    );
    // `-f rolecall.yaml` names the root file of the folder's config: the
    // folder is read (its lock is the folder's), and says so.
    let named = run(
        &inside,
        &emu,
        "acme",
        &["plan", "-f", "rolecall.yaml", "--detailed-exitcode"],
    );
    expect(&named, 0, "-f the root file");
    says(&named, Stream::Stderr, "is the root file of the config in");
    let lock = run(
        d,
        &emu,
        "acme",
        &["lock", "--update", "-f", "site/rolecall.yaml"],
    );
    assert!(
        !String::from_utf8_lossy(&lock.stdout).contains("no longer in the config"),
        "{}",
        transcript(&lock)
    );
}

#[test]
fn a_config_that_lists_no_users_with_prune_on_is_blocked() {
    let emu = site("acme");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("rolecall.yaml"),
        "site: acme\nactor: admin@acme.com\nprune:\n  users: delete\nlimits:\n  max_deletes: 100\n",
    )
    .unwrap();
    let plan = run(d, &emu, "acme", &["plan"]);
    expect(&plan, 3, "prune with no users listed");
    says(
        &plan,
        Stream::Stdout,
        "the config lists no users while `prune.users` is on",
    );
    let apply = run(
        d,
        &emu,
        "acme",
        &["apply", "--auto-approve", "--allow-mass-delete"],
    );
    expect(&apply, 3, "no flag lifts it");
    assert_eq!(emu.snapshot().users.len(), 2, "nothing was written");
}

#[test]
fn revoking_from_more_than_30_percent_of_a_sites_users_is_blocked() {
    let emu = site("acme");
    let dir = hand_written();
    let d = dir.path();
    expect(
        &run(d, &emu, "acme", &["apply", "--auto-approve"]),
        0,
        "apply",
    );
    // Ten more analysts, then a config that drops four of the thirteen.
    let mut text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    for i in 0..10 {
        text.push_str(&format!(
            "  a{i}@acme.com:\n    first_name: A\n    last_name: N{i}\n    roles: [Analysts]\n"
        ));
    }
    std::fs::write(d.join("rolecall.yaml"), &text).unwrap();
    expect(
        &run(d, &emu, "acme", &["apply", "--auto-approve"]),
        0,
        "hire",
    );
    for i in 0..4 {
        text = text.replace(
            &format!("last_name: N{i}\n    roles: [Analysts]"),
            &format!("last_name: N{i}\n    roles: []"),
        );
    }
    std::fs::write(d.join("rolecall.yaml"), &text).unwrap();
    let blocked = run(d, &emu, "acme", &["apply", "--auto-approve"]);
    expect(&blocked, 3, "4 of 13 users lose access");
    says(
        &blocked,
        Stream::Stdout,
        "max_users_losing_access: 4 of 13 users (31%) would lose access, 30% allowed by default",
    );
    let allowed = run(
        d,
        &emu,
        "acme",
        &["apply", "--auto-approve", "--allow-mass-delete"],
    );
    expect(&allowed, 0, "--allow-mass-delete");
}

#[test]
fn a_topic_grant_survives_a_description_and_a_grant_edit() {
    let emu = site("acme");
    let dir = hand_written();
    let d = dir.path();
    expect(
        &run(d, &emu, "acme", &["apply", "--auto-approve"]),
        0,
        "apply",
    );
    kept_intact(&emu, "first apply");
    let text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    std::fs::write(
        d.join("rolecall.yaml"),
        text.replace("Reads the money", "Reads all the money")
            .replace("      Revenue Overview: [read_dashboards]\n  Analysts", "      Revenue Overview: [read_dashboards]\n      Board Pack: [read_dashboards]\n  Analysts"),
    )
    .unwrap();
    let plan = run(d, &emu, "acme", &["plan", "--format", "json"]);
    expect(&plan, 0, "plan");
    let json: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(
        json["unmanaged"]["kept"][0]["object_types"],
        serde_json::json!(["Space", "Topic"]),
        "{json}"
    );
    expect(
        &run(d, &emu, "acme", &["apply", "--auto-approve"]),
        0,
        "apply the edit",
    );
    kept_intact(&emu, "after the edit");
    let finance = serde_json::to_value(role(&emu, "Finance")).unwrap();
    assert_eq!(finance["description"], "Reads all the money");
    // An access report says what it does not cover.
    let access = run(d, &emu, "acme", &["access"]);
    expect(&access, 0, "access");
    says(
        &access,
        Stream::Stdout,
        "Not covered (rights on objects rolecall does not manage):\n  role `Finance` holds 2 rights on `Space`, `Topic`",
    );
    // An export says what it cannot write.
    let export = run(
        d,
        &emu,
        "acme",
        &["export", "--actor", "admin@acme.com", "-o", "out.yaml"],
    );
    expect(&export, 0, "export");
    assert!(
        std::fs::read_to_string(d.join("out.yaml")).unwrap().contains(
            "# also holds 2 rights on Space, Topic that rolecall does not manage: kept as they are"
        )
    );
}

#[test]
fn a_saved_partial_plan_needs_allow_partial() {
    let emu = site("acme");
    let dir = hand_written();
    let d = dir.path();
    let plan = run(
        d,
        &emu,
        "acme",
        &["plan", "--target", "user:omar*", "--out", "p.json"],
    );
    expect(&plan, 0, "plan --target --out");
    let apply = run(d, &emu, "acme", &["apply", "p.json"]);
    expect(&apply, 1, "a partial saved plan without --allow-partial");
    says(&apply, Stream::Stderr, "--target user:omar*");
    assert!(
        !emu.snapshot()
            .users
            .iter()
            .any(|u| u.email == "omar@acme.com")
    );
    let apply = run(d, &emu, "acme", &["apply", "p.json", "--allow-partial"]);
    expect(&apply, 0, "--allow-partial");
    says(
        &apply,
        Stream::Stdout,
        "the config as a whole is not applied",
    );
}

#[test]
fn the_undo_of_site_changes_is_judged_by_the_current_policy() {
    let emu = site("acme");
    let dir = hand_written();
    let d = dir.path();
    crate::git(d, &["init", "-q"]);
    crate::git(d, &["add", "rolecall.yaml"]);
    crate::git(d, &["commit", "-q", "-m", "as applied"]);
    expect(
        &run(d, &emu, "acme", &["apply", "--auto-approve"]),
        0,
        "apply",
    );
    // By hand on the site: jane loses Finance.
    let answer = crate::http_site(
        &emu,
        "acme",
        KEY,
        "PUT",
        "/api/v2/users/u-jane",
        r#"{"roles":["r-every"]}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Today's policy forbids what the undo would give back.
    let text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    std::fs::write(
        d.join("rolecall.yaml"),
        text.replace("actor: admin@acme.com", "actor: admin@acme.com\npolicy:\n  block_risks: [everyone-exposure, admin-grant]\n  email_domains: [example.com, acme.org]"),
    )
    .unwrap();
    let undo = run(
        d,
        &emu,
        "acme",
        &[
            "apply",
            "--only-origin",
            "site",
            "--baseline-rev",
            "HEAD",
            "--auto-approve",
        ],
    );
    expect(&undo, 3, "the undo under today's policy");
    says(&undo, Stream::Stdout, "policy.email_domains");
    let jane = emu
        .snapshot()
        .users
        .into_iter()
        .find(|u| u.email == "jane@acme.com")
        .unwrap();
    assert_eq!(jane.roles.len(), 1, "nothing was written");
}

/// A repository with the hand-written config applied and committed: the
/// baseline of drift is `HEAD`.
fn applied_repo(emu: &periscope_emulator::Emulator, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("rolecall.yaml"), text).unwrap();
    expect(
        &run(d, emu, "acme", &["apply", "--auto-approve"]),
        0,
        "apply",
    );
    crate::git(d, &["init", "-q"]);
    crate::git(d, &["add", "."]);
    crate::git(d, &["commit", "-q", "-m", "as applied"]);
    dir
}

fn put(emu: &periscope_emulator::Emulator, path: &str, body: &str) {
    let answer = crate::http_site(emu, "acme", KEY, "PUT", path, body);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn id_of(emu: &periscope_emulator::Emulator, email: &str) -> String {
    let user = emu.snapshot().users.into_iter().find(|u| u.email == email);
    serde_json::to_value(user.unwrap()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn role_id(emu: &periscope_emulator::Emulator, name: &str) -> String {
    serde_json::to_value(role(emu, name)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn write_config_leaves_an_entry_that_an_alias_shares() {
    let emu = site("acme");
    let text = config("acme")
        .replace("    roles: [Finance]", "    roles: &team [Finance]")
        .replace("    roles: [Analysts]", "    roles: *team");
    let dir = applied_repo(&emu, &text);
    let d = dir.path();
    // Jane is given Analysts on the site: her entry defines what omar's uses.
    let (fin, ana) = (role_id(&emu, "Finance"), role_id(&emu, "Analysts"));
    put(
        &emu,
        &format!("/api/v2/users/{}", id_of(&emu, "jane@acme.com")),
        &format!(r#"{{"roles":["r-every","{fin}","{ana}"]}}"#),
    );
    let drift = run(
        d,
        &emu,
        "acme",
        &["drift", "--baseline-rev", "HEAD", "--write-config"],
    );
    expect(&drift, 2, "drift");
    says(&drift, Stream::Stderr, "defines or uses a YAML anchor");
    assert_eq!(
        std::fs::read_to_string(d.join("rolecall.yaml")).unwrap(),
        text
    );
}

#[test]
fn a_role_renamed_on_the_site_is_told_and_accepted_whole() {
    let emu = site("acme");
    let dir = applied_repo(&emu, &config("acme"));
    let d = dir.path();
    put(
        &emu,
        &format!("/api/v1/roles/{}", role_id(&emu, "Analysts")),
        r#"{"name":"Analytics","updated_by_email":"admin@acme.com"}"#,
    );
    let drift = run(d, &emu, "acme", &["drift", "--baseline-rev", "HEAD"]);
    expect(&drift, 2, "drift");
    says(
        &drift,
        Stream::Stdout,
        "role `Analysts` was renamed on the site to `Analytics`",
    );
    let write = run(
        d,
        &emu,
        "acme",
        &["drift", "--baseline-rev", "HEAD", "--write-config"],
    );
    expect(&write, 2, "drift --write-config");
    let text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    assert!(
        text.contains("  Analytics:\n") && text.contains("roles: [Analytics]"),
        "{}\n{text}",
        transcript(&write)
    );
    assert!(!text.contains("Analysts"), "{text}");
    let plan = run(d, &emu, "acme", &["plan", "--detailed-exitcode"]);
    expect(&plan, 0, "the accepted config plans to nothing");
}

#[test]
fn write_config_keeps_the_order_of_untouched_actions() {
    let emu = site("acme");
    let text = config("acme").replace(
        "Dashboard: [read_dashboards, create_sql_charts]",
        "Dashboard: [read_dashboards, create_sql_charts]  # why",
    );
    let dir = applied_repo(&emu, &text);
    let d = dir.path();
    put(
        &emu,
        &format!("/api/v1/roles/{}", role_id(&emu, "Analysts")),
        r#"{"privileges":[{"object_type":"Dashboard","permissions":["read_dashboards","create_sql_charts","download_pdf"]}],"updated_by_email":"admin@acme.com"}"#,
    );
    let write = run(
        d,
        &emu,
        "acme",
        &["drift", "--baseline-rev", "HEAD", "--write-config"],
    );
    expect(&write, 2, "drift --write-config");
    let after = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    assert!(
        after.contains("Dashboard: [read_dashboards, create_sql_charts, download_pdf]"),
        "{}\n{after}",
        transcript(&write)
    );
    expect(
        &run(d, &emu, "acme", &["plan", "--detailed-exitcode"]),
        0,
        "plan",
    );
}

#[test]
fn names_from_the_site_are_written_with_invisible_characters_escaped() {
    let emu = site("acme");
    let dir = applied_repo(&emu, &config("acme"));
    let d = dir.path();
    // A user added on the site, with a right-to-left override in the name.
    let answer = crate::http_site(
        &emu,
        "acme",
        KEY,
        "POST",
        "/api/v2/users",
        "{\"email\":\"eve@acme.com\",\"first_name\":\"Eve\\u202egnp.exe\",\"last_name\":\"Zero\\u200bWidth\",\"roles\":[],\"invited_by_email\":\"admin@acme.com\"}",
    );
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    std::fs::write(
        d.join("rolecall.yaml"),
        text.replace(
            "actor: admin@acme.com",
            "actor: admin@acme.com\nprune:\n  users: delete",
        ),
    )
    .unwrap();
    crate::git(d, &["commit", "-qam", "prune"]);
    let write = run(
        d,
        &emu,
        "acme",
        &["drift", "--baseline-rev", "HEAD", "--write-config"],
    );
    expect(&write, 2, "drift --write-config");
    let after = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    assert!(
        after.contains("\"Eve\\u202Egnp.exe\"") && after.contains("\"Zero\\u200BWidth\""),
        "{}\n{after}",
        transcript(&write)
    );
    assert!(!after.contains('\u{202e}') && !after.contains('\u{200b}'));
    expect(
        &run(d, &emu, "acme", &["plan", "--detailed-exitcode"]),
        0,
        "plan",
    );
    let export = run(
        d,
        &emu,
        "acme",
        &["export", "--actor", "admin@acme.com", "-o", "out.yaml"],
    );
    expect(&export, 0, "export");
    let exported = std::fs::read_to_string(d.join("out.yaml")).unwrap();
    assert!(
        exported.contains("\\u202E") && !exported.contains('\u{202e}'),
        "{exported}"
    );
}

#[test]
fn an_id_that_is_gone_never_becomes_a_dashboard_of_that_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut seed = serde_json::to_value(crate::lifecycle::seed("acme")).unwrap();
    // #4799 is gone; a dashboard is named `#4799` now.
    seed["dashboards"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"id": "5000", "name": "#4799"}));
    std::fs::write(d.join("site.json"), seed.to_string()).unwrap();
    std::fs::write(
        d.join("rolecall.yaml"),
        config("acme").replace(
            "      Board Pack: [read_dashboards]",
            "      \"#4799\": [read_dashboards]",
        ),
    )
    .unwrap();
    let plan = crate::rolecall(d, &["plan", "--sandbox", "site.json"]);
    assert_eq!(plan.status.code(), Some(1), "{}", transcript(&plan));
    says(
        &plan,
        Stream::Stderr,
        "no dashboard on the site has the id `4799`, and one is named `#4799`",
    );
}

#[test]
fn other_yaml_beside_a_one_file_config_does_not_make_it_a_directory() {
    let dir = hand_written();
    let d = dir.path();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  web:\n    image: x\n",
    )
    .unwrap();
    let validate = crate::rolecall(d, &["validate"]);
    assert_eq!(validate.status.code(), Some(0), "{}", transcript(&validate));
    assert!(String::from_utf8_lossy(&validate.stdout).contains("(1 file)"));
    // A file of entries makes it a directory config.
    std::fs::write(
        d.join("more.yaml"),
        "users:\n  li@acme.com:\n    first_name: Li\n    last_name: Wu\n    roles: [Finance]\n",
    )
    .unwrap();
    std::fs::remove_file(d.join("docker-compose.yml")).unwrap();
    let validate = crate::rolecall(d, &["validate"]);
    assert_eq!(validate.status.code(), Some(0), "{}", transcript(&validate));
    says(&validate, Stream::Stdout, "2 roles, 4 users (2 files)");
}

/// A role renamed on the site with members the config does not list (left
/// alone): still told as a rename, and never created again beside it — an
/// undo would move its members off the Topic grant it holds.
#[test]
fn a_renamed_role_with_unlisted_members_is_never_created_again() {
    let emu = site("acme");
    let dir = applied_repo(&emu, &config("acme"));
    let d = dir.path();
    // A member the config does not list, added by hand, then the rename.
    let fin = role_id(&emu, "Finance");
    let answer = crate::http_site(
        &emu,
        "acme",
        KEY,
        "POST",
        "/api/v2/users",
        &format!(
            r#"{{"email":"kim@acme.com","first_name":"Kim","last_name":"Lee","roles":["{fin}"],"invited_by_email":"admin@acme.com"}}"#
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    put(
        &emu,
        &format!("/api/v1/roles/{fin}"),
        r#"{"name":"Finance Team","updated_by_email":"admin@acme.com"}"#,
    );
    let drift = run(d, &emu, "acme", &["drift", "--baseline-rev", "HEAD"]);
    expect(&drift, 2, "drift");
    says(
        &drift,
        Stream::Stdout,
        "role `Finance` was renamed on the site to `Finance Team`",
    );
    let undo = run(
        d,
        &emu,
        "acme",
        &[
            "apply",
            "--only-origin",
            "site",
            "--baseline-rev",
            "HEAD",
            "--auto-approve",
        ],
    );
    expect(&undo, 3, "the undo would create Finance again");
    says(
        &undo,
        Stream::Stdout,
        "the role `Finance` is on the site as `Finance Team` (renamed there)",
    );
    expect(
        &run(d, &emu, "acme", &["apply", "--auto-approve"]),
        3,
        "apply",
    );
    assert!(emu.snapshot().roles.iter().all(|r| r.name != "Finance"));
    kept_intact_on(&emu, "Finance Team");
    // Renamed back on purpose: `renamed_from` keeps the id, the members
    // and the Topic grant.
    let text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    std::fs::write(
        d.join("rolecall.yaml"),
        text.replace(
            "    description: Reads the money\n",
            "    description: Reads the money\n    renamed_from: [Finance Team]\n",
        ),
    )
    .unwrap();
    expect(
        &run(d, &emu, "acme", &["apply", "--auto-approve"]),
        0,
        "rename back",
    );
    kept_intact(&emu, "renamed back");
}

/// The Topic grant and the Space privilege on the role named `name`.
fn kept_intact_on(emu: &periscope_emulator::Emulator, name: &str) {
    let value = serde_json::to_value(role(emu, name)).unwrap();
    assert!(value.to_string().contains("\"Topic\""), "{value}");
}

/// Actions the vocabulary does not know, on dashboards: kept like rights
/// on other object types, and an export plans to nothing.
#[test]
fn actions_rolecall_does_not_know_are_kept() {
    let mut seed = serde_json::to_value(crate::lifecycle::seed("acme")).unwrap();
    let finance = seed["roles"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["name"] == "Finance")
        .unwrap();
    finance["privileges"][0]["permissions"] =
        serde_json::json!(["read_dashboards", "manage_dashboards"]);
    finance["permissions"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"object_type": "Dashboard", "object_id": "4700", "permissions": ["read_dashboards", "manage_dashboards"]}));
    let emu = periscope_emulator::spawn(periscope_emulator::Options {
        seed: Some(serde_json::from_value(seed).unwrap()),
        api_key: Some(KEY.into()),
        extra_actions: vec!["manage_dashboards".into()],
        ..Default::default()
    })
    .unwrap();
    let dir = hand_written();
    let d = dir.path();
    let plan = run(d, &emu, "acme", &["plan"]);
    expect(&plan, 0, "plan");
    assert!(
        !String::from_utf8_lossy(&plan.stdout).contains("- manage_dashboards"),
        "{}",
        transcript(&plan)
    );
    expect(
        &run(d, &emu, "acme", &["apply", "--auto-approve"]),
        0,
        "apply",
    );
    let finance = serde_json::to_value(role(&emu, "Finance"))
        .unwrap()
        .to_string();
    assert_eq!(finance.matches("manage_dashboards").count(), 2, "{finance}");
    std::fs::create_dir(d.join("out")).unwrap();
    let export = run(
        d,
        &emu,
        "acme",
        &[
            "export",
            "--actor",
            "admin@acme.com",
            "-o",
            "out/rolecall.yaml",
        ],
    );
    expect(&export, 0, "export");
    expect(
        &run(
            &d.join("out"),
            &emu,
            "acme",
            &["plan", "--detailed-exitcode"],
        ),
        0,
        "an export plans to nothing",
    );
}

/// A lock that cannot be read is that one error: no word about settings in
/// the wrong file. A lock that records no site reads, with a warning.
#[test]
fn a_broken_lock_is_one_error_and_a_siteless_lock_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("prod.yaml"), config("acme")).unwrap();
    for broken in [
        "{\"lock_version\": 1, \"site\": \"acme\", \"dashboards\": {\"A\": \"1\", \"A\": \"2\"}}",
        "{\"lock_version\": 2, \"site\": \"acme\", \"dashboards\": {}}",
        "",
    ] {
        std::fs::write(d.join("prod.lock"), broken).unwrap();
        let validate = crate::rolecall(d, &["validate", "-f", "prod.yaml"]);
        assert_eq!(validate.status.code(), Some(1), "{}", transcript(&validate));
        let stderr = String::from_utf8_lossy(&validate.stderr);
        assert!(
            stderr.contains("1 error") && !stderr.contains("settings live only"),
            "{broken}: {stderr}"
        );
    }
    std::fs::write(
        d.join("prod.lock"),
        "{\"lock_version\": 1, \"site\": \"\", \"dashboards\": {\"Board Pack\": \"4711\"}}",
    )
    .unwrap();
    let validate = crate::rolecall(d, &["validate", "-f", "prod.yaml"]);
    assert_eq!(validate.status.code(), Some(0), "{}", transcript(&validate));
    says(
        &validate,
        Stream::Stderr,
        "the lock of the config records no site",
    );
}

/// `staging.yaml`, a config of its own (it has `site:`), beside
/// `rolecall.yaml`: without `-f`, `rolecall.yaml` is read alone.
#[test]
fn a_config_of_another_site_beside_rolecall_yaml_is_not_part_of_it() {
    let dir = hand_written();
    let d = dir.path();
    std::fs::write(d.join("staging.yaml"), config("acme-staging")).unwrap();
    let validate = crate::rolecall(d, &["validate"]);
    assert_eq!(validate.status.code(), Some(0), "{}", transcript(&validate));
    assert!(String::from_utf8_lossy(&validate.stdout).contains("(1 file)"));
    // A stray file of entries makes it a directory, and the error says why.
    std::fs::create_dir(d.join("scripts")).unwrap();
    std::fs::write(d.join("scripts/seed.yaml"), "users:\n  x: 1\n").unwrap();
    std::fs::remove_file(d.join("staging.yaml")).unwrap();
    let validate = crate::rolecall(d, &["validate"]);
    assert_eq!(validate.status.code(), Some(1), "{}", transcript(&validate));
    says(
        &validate,
        Stream::Stderr,
        "was read as one config because files beside or under its `rolecall.yaml` hold",
    );
}

/// Taking a right from a role counts its members among those losing
/// access: dropping Finance's grant for 4 of 13 users is blocked.
#[test]
fn a_role_losing_a_grant_counts_its_members_for_the_30_percent_rule() {
    let emu = site("acme");
    let dir = hand_written();
    let d = dir.path();
    let mut text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    for i in 0..10 {
        let role = if i < 3 { "Finance" } else { "Analysts" };
        text.push_str(&format!(
            "  a{i}@acme.com:\n    first_name: A\n    last_name: N{i}\n    roles: [{role}]\n"
        ));
    }
    std::fs::write(d.join("rolecall.yaml"), &text).unwrap();
    expect(
        &run(d, &emu, "acme", &["apply", "--auto-approve"]),
        0,
        "hire",
    );
    // Finance (jane and three more: 4 of 13) loses its dashboard grant.
    std::fs::write(
        d.join("rolecall.yaml"),
        text.replace(
            "    dashboards:\n      Revenue Overview: [read_dashboards]\n",
            "",
        ),
    )
    .unwrap();
    let blocked = run(d, &emu, "acme", &["plan"]);
    expect(&blocked, 3, "a role's members losing a grant");
    says(
        &blocked,
        Stream::Stdout,
        "max_users_losing_access: 4 of 13 users (31%) would lose access",
    );
}

/// Two names of one role pinned to one dashboard (a swap on the site, one
/// name repinned): never written, never merged into one grant.
#[test]
fn two_names_on_one_dashboard_are_never_merged() {
    let emu = site("acme");
    let dir = hand_written();
    let d = dir.path();
    let text = std::fs::read_to_string(d.join("rolecall.yaml"))
        .unwrap()
        .replace(
            "      Revenue Overview: [read_dashboards]\n",
            "      Revenue Overview: [read_dashboards]\n      Board Pack: [download_pdf]\n",
        );
    std::fs::write(d.join("rolecall.yaml"), &text).unwrap();
    expect(&run(d, &emu, "acme", &["lock", "--update"]), 0, "pin");
    let before = std::fs::read_to_string(d.join("rolecall.lock")).unwrap();
    // The site swaps the two names.
    assert!(emu.rename_dashboard("4700", "tmp"));
    assert!(emu.rename_dashboard("4711", "Revenue Overview"));
    assert!(emu.rename_dashboard("4700", "Board Pack"));
    let repin = run(
        d,
        &emu,
        "acme",
        &["lock", "--update", "--repin", "Revenue Overview"],
    );
    expect(&repin, 1, "one name repinned onto the other's dashboard");
    says(
        &repin,
        Stream::Stderr,
        "would both be pinned to the dashboard #4711",
    );
    assert_eq!(
        std::fs::read_to_string(d.join("rolecall.lock")).unwrap(),
        before
    );
    // Both repinned: each name follows its dashboard's new name.
    let both = run(
        d,
        &emu,
        "acme",
        &[
            "lock",
            "--update",
            "--repin",
            "Revenue Overview",
            "--repin",
            "Board Pack",
        ],
    );
    expect(&both, 0, "both repinned");
    // A lock edited to pin both names to one dashboard: an error, no merge.
    std::fs::write(
        d.join("rolecall.lock"),
        "{\"lock_version\": 1, \"site\": \"acme\", \"dashboards\": {\"Board Pack\": \"4711\", \"Revenue Overview\": \"4711\"}}",
    )
    .unwrap();
    let plan = run(d, &emu, "acme", &["plan"]);
    expect(&plan, 1, "two names, one dashboard");
    says(&plan, Stream::Stderr, "name the same dashboard #4711");
}

/// A protected role the site no longer has: the plan says so, rather than
/// moving its members to a role nothing creates.
#[test]
fn a_protected_role_gone_from_the_site_is_an_error() {
    let emu = site("acme");
    let dir = applied_repo(&emu, &config("acme"));
    let d = dir.path();
    let text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    std::fs::write(
        d.join("rolecall.yaml"),
        text.replace(
            "actor: admin@acme.com",
            "actor: admin@acme.com\nprotect:\n  roles: [Analysts]",
        ),
    )
    .unwrap();
    put(
        &emu,
        &format!("/api/v1/roles/{}", role_id(&emu, "Analysts")),
        r#"{"name":"Analytics","updated_by_email":"admin@acme.com"}"#,
    );
    let plan = run(d, &emu, "acme", &["plan"]);
    expect(&plan, 1, "a protected role gone");
    says(
        &plan,
        Stream::Stderr,
        "the role `Analysts` is protected and not on the site",
    );
}

/// Moving a member off a role that holds a Topic grant is tagged: they
/// lose what no line of the plan shows.
#[test]
fn losing_a_role_with_unmanaged_rights_is_tagged() {
    let emu = site("acme");
    let dir = hand_written();
    let d = dir.path();
    expect(
        &run(d, &emu, "acme", &["apply", "--auto-approve"]),
        0,
        "apply",
    );
    let text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    std::fs::write(
        d.join("rolecall.yaml"),
        text.replace("    roles: [Finance]", "    roles: [Analysts]"),
    )
    .unwrap();
    let plan = run(d, &emu, "acme", &["plan", "--format", "json"]);
    expect(&plan, 0, "plan");
    let json: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let jane = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "jane@acme.com")
        .unwrap();
    assert!(
        jane["risks"]
            .as_array()
            .unwrap()
            .contains(&Value::from("unmanaged-rights")),
        "{jane}"
    );
    assert_eq!(jane["severity"], "high");
}
