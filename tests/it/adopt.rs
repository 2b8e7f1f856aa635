//! Adopting rolecall on an existing site: `export`, `import-csv`, and what
//! the config does not manage, named.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use periscope_emulator::{Emulator, Faults, Options, Quirks, Snapshot, spawn};

use crate::{root, transcript};

const KEY: &str = "ad0pt-k3y-5ecret";

fn org_site() -> Snapshot {
    Snapshot::from_file(&root().join("examples/data-org/sandbox.json")).unwrap()
}

fn rolecall(emu: &Emulator, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("ROLECALL_ENDPOINT", emu.url())
        .env("PERISCOPE_SITE", "globex")
        .env("PERISCOPE_API_KEY", KEY)
        .env_remove("ROLECALL_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn quirky() -> Emulator {
    spawn(Options {
        seed: Some(org_site()),
        api_key: Some(KEY.into()),
        page_size: 3,
        quirks: Quirks::ALL,
        faults: Faults::default(),
        ..Options::default()
    })
    .unwrap()
}

/// Against a site that shows every wire quirk: an export (one file, and a
/// directory split by domain) plans to no changes.
#[test]
fn an_export_plans_to_no_changes_whatever_the_wire() {
    let emu = quirky();
    let dir = tempfile::tempdir().unwrap();
    let actor = ["--actor", "platform-bot@globex.io"];
    let one = rolecall(
        &emu,
        dir.path(),
        &[&["export", "-o", "one.yaml"][..], &actor].concat(),
    );
    assert_eq!(one.status.code(), Some(0), "{}", transcript(&one));
    let plan = rolecall(
        &emu,
        dir.path(),
        &["plan", "-f", "one.yaml", "--detailed-exitcode"],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    let split = rolecall(
        &emu,
        dir.path(),
        &[
            &["export", "-o", "config/", "--split-users", "domain"][..],
            &actor,
        ]
        .concat(),
    );
    assert_eq!(split.status.code(), Some(0), "{}", transcript(&split));
    for file in [
        "rolecall.yaml",
        "roles/data-team.yaml",
        "users/globex.io.yaml",
        "users/contractor.example.yaml",
    ] {
        assert!(dir.path().join("config").join(file).is_file(), "{file}");
    }
    let plan = rolecall(
        &emu,
        dir.path(),
        &["plan", "-f", "config", "--detailed-exitcode"],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    // Stable: the same site exports the same bytes.
    let again = rolecall(&emu, dir.path(), &[&["export"][..], &actor].concat());
    assert_eq!(
        again.stdout,
        std::fs::read(dir.path().join("one.yaml")).unwrap()
    );
    // Without `--actor`, two Admin members: an error naming them.
    let output = rolecall(&emu, dir.path(), &["export"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("its Admin members are `ceo@globex.io`, `platform-bot@globex.io`"),
        "{}",
        transcript(&output)
    );
    // An actor that is not an Admin member would write a config that cannot
    // plan: refused, naming the admins.
    let output = rolecall(
        &emu,
        dir.path(),
        &["export", "--actor", "priya@globex.io", "-o", "priya.yaml"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(
            "`priya@globex.io` is not an Admin member of the site: its Admin members are `ceo@globex.io`, `platform-bot@globex.io`"
        ),
        "{}",
        transcript(&output)
    );
    assert!(!dir.path().join("priya.yaml").exists());
}

/// An export never writes over a config without `--force`: not over a
/// file, not into a directory that holds anything (comments, `prune`, an
/// uncommitted edit would be lost); with `--force`, it does.
#[test]
fn an_export_over_a_config_needs_force() {
    let emu = quirky();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let actor = ["--actor", "ceo@globex.io"];
    std::fs::write(d.join("rolecall.yaml"), "# ours\nprune: {users: delete}\n").unwrap();
    std::fs::create_dir(d.join("config")).unwrap();
    std::fs::write(d.join("config/notes.txt"), "keep").unwrap();
    for target in ["rolecall.yaml", "config/", "config"] {
        let output = rolecall(&emu, d, &[&["export", "-o", target][..], &actor].concat());
        assert_eq!(
            output.status.code(),
            Some(1),
            "{target}: {}",
            transcript(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("--force"),
            "{}",
            transcript(&output)
        );
    }
    assert_eq!(
        std::fs::read_to_string(d.join("rolecall.yaml")).unwrap(),
        "# ours\nprune: {users: delete}\n"
    );
    assert_eq!(std::fs::read_dir(d.join("config")).unwrap().count(), 1);
    // An empty directory, a new file: no --force needed.
    std::fs::create_dir(d.join("empty")).unwrap();
    for target in ["empty/", "new.yaml"] {
        let output = rolecall(&emu, d, &[&["export", "-o", target][..], &actor].concat());
        assert_eq!(
            output.status.code(),
            Some(0),
            "{target}: {}",
            transcript(&output)
        );
    }
    let forced = rolecall(
        &emu,
        d,
        &[&["export", "-o", "rolecall.yaml", "--force"][..], &actor].concat(),
    );
    assert_eq!(forced.status.code(), Some(0), "{}", transcript(&forced));
    assert!(
        std::fs::read_to_string(d.join("rolecall.yaml"))
            .unwrap()
            .contains("\nsite: globex\n")
    );
}

/// An exported snapshot stands in for the site: a changed config plans the
/// same against `--sandbox snapshot.json` as against the site. The key is in
/// no snapshot; `--redact` gives stable pseudonyms.
#[test]
fn an_exported_snapshot_stands_in_for_the_site() {
    let emu = quirky();
    let dir = tempfile::tempdir().unwrap();
    let output = rolecall(
        &emu,
        dir.path(),
        &["export", "--format", "snapshot", "-o", "site.json"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let snapshot = std::fs::read_to_string(dir.path().join("site.json")).unwrap();
    assert!(!snapshot.contains(KEY));
    let org = root().join("examples/data-org");
    let against_site = rolecall(&emu, &org, &["plan", "-f", ".", "--format", "json"]);
    let sandbox = dir.path().join("site.json");
    let against_copy = rolecall(
        &emu,
        &org,
        &[
            "plan",
            "-f",
            ".",
            "--format",
            "json",
            "--sandbox",
            sandbox.to_str().unwrap(),
        ],
    );
    assert_eq!(
        against_site.status.code(),
        Some(0),
        "{}",
        transcript(&against_site)
    );
    assert_eq!(
        String::from_utf8_lossy(&against_site.stdout),
        String::from_utf8_lossy(&against_copy.stdout),
        "the same plan"
    );

    let redacted = |dir: &Path| {
        let output = rolecall(&emu, dir, &["export", "--format", "snapshot", "--redact"]);
        assert_eq!(output.status.code(), Some(0));
        String::from_utf8(output.stdout).unwrap()
    };
    let first = redacted(dir.path());
    assert_eq!(first, redacted(dir.path()), "stable pseudonyms");
    for real in ["platform-bot@globex.io", "Hank", "Scorpio", "globex.io\""] {
        assert!(!first.contains(real), "{real} in a redacted snapshot");
    }
    assert!(first.contains("\"Data Team\""), "roles keep their names");
}

fn import(dir: &Path, csv: &str, args: &[&str]) -> Output {
    import_bytes(dir, csv.as_bytes(), args)
}

/// [`import`] of a file that need not be UTF-8.
fn import_bytes(dir: &Path, csv: &[u8], args: &[&str]) -> Output {
    std::fs::write(dir.join("people.csv"), csv).unwrap();
    crate::rolecall(dir, &[&["import-csv", "people.csv"][..], args].concat())
}

/// Excel's "CSV (Comma delimited)" on Windows is Windows-1252: refused as
/// such (with where, and how to save it as UTF-8), and read with
/// `--encoding windows-1252`; a UTF-8 file read so is refused, not garbled.
#[test]
fn import_csv_reads_windows_1252_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cp1252 = b"Name,Email\nRen\xe9 Dupont,rene@acme.com\nZo\xeb \x93Z\x94 Li,zoe@acme.com\n";
    let output = import_bytes(d, cp1252, &[]);
    insta::assert_snapshot!(transcript(&output), @r#"
    exit: 1
    --- stdout
    --- stderr
    error: people.csv:2: not UTF-8 text: byte 0xE9 (`é` in Windows-1252); the file looks like Windows-1252, as Excel on Windows saves "CSV (Comma delimited)"; nothing was read

    hint: save it as UTF-8 (Excel: File > Save As > "CSV UTF-8 (Comma delimited)"), or read it as it is with `--encoding windows-1252`
    "#);
    let output = import_bytes(d, cp1252, &["--encoding", "windows-1252"]);
    insta::assert_snapshot!(transcript(&output), @r#"
    exit: 0
    --- stdout
    users:
      rene@acme.com:
        first_name: René
        last_name: Dupont
      zoe@acme.com:
        first_name: Zoë
        last_name: "“Z” Li"
    --- stderr
    2 users read
    "#);
    // UTF-8 with a byte-order mark, as Excel's "CSV UTF-8" saves it.
    let utf8 = "\u{feff}Name,Email\r\nRené Dupont,rene@acme.com\r\n";
    let output = import(d, utf8, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("first_name: René\n"));
    let output = import(d, &utf8[3..], &["--encoding", "windows-1252"]);
    insta::assert_snapshot!(transcript(&output), @r"
    exit: 1
    --- stdout
    --- stderr
    error: people.csv:2: UTF-8 text, not Windows-1252: `é` would read as `Ã©`; nothing was read

    hint: leave out `--encoding windows-1252`
    ");
}

/// One name column splits at the first word, or with `--name-split
/// last-word` at the last; first and last name columns in any spelling
/// are taken as they are.
#[test]
fn import_csv_splits_a_full_name_where_told() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = "Name,Email\nMary Ann van Dyke,mary@acme.com\nJean Paul Sartre,jp@acme.com\nCher,cher@acme.com\n";
    let names = |args: &[&str]| {
        let output = import(d, csv, args);
        assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
        String::from_utf8(output.stdout).unwrap()
    };
    let first = names(&["--last-name-fallback", "-"]);
    assert!(
        first.contains("first_name: Mary\n    last_name: Ann van Dyke")
            && first.contains("first_name: Jean\n    last_name: Paul Sartre"),
        "{first}"
    );
    let last = names(&["--name-split", "last-word", "--last-name-fallback", "-"]);
    insta::assert_snapshot!(last, @r#"
    users:
      mary@acme.com:
        first_name: Mary Ann van
        last_name: Dyke
      jp@acme.com:
        first_name: Jean Paul
        last_name: Sartre
      cher@acme.com:
        first_name: Cher
        last_name: "-"
    "#);
    let output = import(
        d,
        "first_name,LastName,E-mail\nMary Ann,van Dyke,mary@acme.com\n",
        &["--name-split", "last-word"],
    );
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("first_name: Mary Ann\n    last_name: van Dyke"),
        "{}",
        transcript(&output)
    );
}

#[test]
fn import_csv_reads_the_vendor_format_and_its_variants() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The vendor's example format, as is.
    let output = import(
        d,
        "Name,Email\nJane Doe,jane@acme.com\nMary Ann van Dyke,mary@acme.com\n",
        &["--role", "Viewer"],
    );
    insta::assert_snapshot!(transcript(&output), @r"
    exit: 0
    --- stdout
    users:
      jane@acme.com:
        first_name: Jane
        last_name: Doe
        roles: [Viewer]
      mary@acme.com:
        first_name: Mary
        last_name: Ann van Dyke
        roles: [Viewer]
    --- stderr
    2 users read
    ");
    // BOM, CRLF, semicolons, quoted commas (last name first), roles column.
    let output = import(
        d,
        "\u{feff}E-mail;First Name;Last Name;Roles\r\nbo@acme.com;\"Bo\";\"Smith; Jr\";Viewer|Finance\r\n\"o'neil@acme.com\";Ann;\"O'Neil, PhD\";\r\n",
        &[],
    );
    insta::assert_snapshot!(transcript(&output), @r#"
    exit: 0
    --- stdout
    users:
      bo@acme.com:
        first_name: Bo
        last_name: "Smith; Jr"
        roles: [Finance, Viewer]
      o'neil@acme.com:
        first_name: Ann
        last_name: "O'Neil, PhD"
    --- stderr
    2 users read
    "#);
    let output = import(d, "Name,Email\n\"Doe, Jane\",jane@acme.com\n", &[]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("first_name: Jane\n    last_name: Doe")
    );
}

#[test]
fn import_csv_reports_every_problem_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "Name,Email\nCher,cher@acme.com\nBob Smith,not-an-email\nJane Doe,jane@acme.com\nJane Doe,jane@acme.com\nJane Q Doe,JANE@acme.com\n";
    let output = import(dir.path(), csv, &[]);
    insta::assert_snapshot!(transcript(&output), @r"
    exit: 1
    --- stdout
    --- stderr
    error: people.csv:2: `cher@acme.com` needs a first and a last name; the site refuses empty names
    error: people.csv:3: `not-an-email` is not an email
    warning: people.csv:5: `jane@acme.com` repeats line 4; kept once
    error: people.csv:6: `JANE@acme.com` is also on line 4, with another name: `Jane Doe` on line 4, `Jane Q Doe` here: keep one
    error: `people.csv` has 3 errors; nothing was written

    hint: fix the lines above and run again (a one-word name can take its last name from `--last-name-fallback TEXT`)
    ");
    let output = import(
        dir.path(),
        "Name,Email\nCher,cher@acme.com\n",
        &["--last-name-fallback", "(none)"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("last_name: \"(none)\""));
    // A config named with `-f` that does not exist: its checks are not
    // skipped in silence.
    let output = import(
        dir.path(),
        "Name,Email\nLi Wei,li@acme.com\n",
        &["-f", "missing/"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(output.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("the config `missing/` does not exist"),
        "{}",
        transcript(&output)
    );
}

/// With the config: unknown roles are errors, users it has are skipped or
/// refused; `-o` appends to a users file; then `apply` creates exactly those
/// users in those roles.
#[test]
fn import_csv_into_a_config_then_apply() {
    let emu = spawn(Options {
        seed: Some(org_site()),
        api_key: Some(KEY.into()),
        ..Options::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let export = rolecall(
        &emu,
        dir.path(),
        &[
            "export",
            "-o",
            "config/",
            "--actor",
            "platform-bot@globex.io",
        ],
    );
    assert_eq!(export.status.code(), Some(0), "{}", transcript(&export));
    let users = config.join("users/users.yaml");
    let before = std::fs::read_to_string(&users).unwrap();

    let bad = "Name,Email,Roles\nNew Person,new@globex.io,Nonexistent\nInês Costa,ines@globex.io,Finance\nTomas Novak,tomas@globex.io,Viewer\nAl Ko,al@globex.io,Finanse\n";
    let output = import(
        dir.path(),
        bad,
        &["-f", "config", "-o", "config/users/users.yaml"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("people.csv:2: role `Nonexistent` is defined neither in the config nor as a default role"), "{stderr}");
    insta::assert_snapshot!(stderr, @r"
    error: people.csv:2: role `Nonexistent` is defined neither in the config nor as a default role
    error: people.csv:3: `ines@globex.io` is in the config already (config/users/users.yaml:10), with other roles: `Viewer` in the config, `Finance` in the CSV
    error: people.csv:4: `tomas@globex.io` is in the config already (config/users/users.yaml:30), with another name: `Tomás Novák` in the config, `Tomas Novak` in the CSV; and other roles: `Builder` in the config, `Viewer` in the CSV
    error: people.csv:5: role `Finanse` is defined neither in the config nor as a default role; did you mean `Finance`?
    error: `people.csv` has 4 errors; nothing was written

    hint: fix the lines above and run again (a one-word name can take its last name from `--last-name-fallback TEXT`)
    ");
    assert_eq!(
        std::fs::read_to_string(&users).unwrap(),
        before,
        "nothing written"
    );

    let good = "Name,Email,Roles\nNew Person,new@globex.io,Viewer\nAda Lovelace,ada@globex.io,Builder;Finance\nInês Costa,ines@globex.io,Viewer\n";
    let output = import(
        dir.path(),
        good,
        &["-f", "config", "-o", "config/users/users.yaml"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("`ines@globex.io` is in the config already; skipped")
    );
    let merged = std::fs::read_to_string(&users).unwrap();
    assert!(merged.starts_with(&before), "appended, nothing rewritten");

    let apply = rolecall(
        &emu,
        dir.path(),
        &["apply", "-f", "config", "--auto-approve"],
    );
    assert_eq!(apply.status.code(), Some(0), "{}", transcript(&apply));
    assert!(
        String::from_utf8_lossy(&apply.stdout)
            .contains("Plan: 2 to create, 0 to update, 0 to delete, 0 to rename.")
    );
    let state = emu.snapshot();
    let role = |name: &str| {
        state
            .roles
            .iter()
            .find(|r| r.name == name)
            .unwrap()
            .id
            .clone()
    };
    let ada = state
        .users
        .iter()
        .find(|u| u.email == "ada@globex.io")
        .unwrap();
    assert!(ada.roles.contains(&role("Builder")) && ada.roles.contains(&role("Finance")));
    let new = state
        .users
        .iter()
        .find(|u| u.email == "new@globex.io")
        .unwrap();
    assert!(new.roles.contains(&role("Viewer")));
}

/// What the config does not manage, named: with `--show-unmanaged`, and an
/// Admin member always (and `drift` fails on it).
#[test]
fn unmanaged_objects_are_named() {
    let emu = spawn(Options {
        seed: Some(org_site()),
        api_key: Some(KEY.into()),
        ..Options::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rolecall.yaml"),
        "site: globex\nactor: platform-bot@globex.io\nusers:\n  platform-bot@globex.io:\n    roles: [Admin]\n",
    )
    .unwrap();
    let plan = rolecall(&emu, dir.path(), &["plan", "--show-unmanaged"]);
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("Not managed by this config (left alone): 7 users, 7 roles."),
        "{text}"
    );
    assert!(
        text.contains("user \"ceo@globex.io\" (roles: Admin)  [unmanaged-admin]"),
        "{text}"
    );
    assert!(
        text.contains("user \"ruth@globex.io\" (roles: Finance, Viewer)"),
        "{text}"
    );
    assert!(text.contains("role \"Data Team\""), "{text}");
    let plan = rolecall(&emu, dir.path(), &["plan"]);
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("[unmanaged-admin]") && !text.contains("ruth@"),
        "{text}"
    );
    let drift = rolecall(&emu, dir.path(), &["drift"]);
    assert_eq!(
        drift.status.code(),
        Some(2),
        "an unmanaged Admin member is drift: {}",
        transcript(&drift)
    );
    let json = rolecall(&emu, dir.path(), &["plan", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["unmanaged"]["users"].as_array().unwrap().len(), 7);
    assert_eq!(value["unmanaged"]["roles"].as_array().unwrap().len(), 7);
}

/// A config that leaves 30 role definitions to the site: one warning per
/// role (with its count), a screenful, the total; `-v` for all.
#[test]
fn undefined_roles_are_grouped() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "site: acme\nactor: admin@acme.com\nusers:\n  admin@acme.com:\n    roles: [Admin]\n",
    );
    for u in 0..90 {
        text.push_str(&format!(
            "  user{u}@acme.com:\n    roles: [Team {}]\n",
            u % 30
        ));
    }
    std::fs::write(dir.path().join("rolecall.yaml"), text).unwrap();
    let run = |args: &[&str]| crate::rolecall(dir.path(), args);
    let output = run(&["validate"]);
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("warning: role `Team").count(),
        20,
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "role `Team 0` is not defined in the config (3 users are given it; the first is here)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("... and 10 more roles not defined in the config (30 in all;"),
        "{stderr}"
    );
    let all = run(&["validate", "-v"]);
    assert_eq!(
        String::from_utf8_lossy(&all.stderr)
            .matches("warning: role `Team")
            .count(),
        30
    );
}

/// The emulator's own key (what `rolecall emulator` prints to export) holds
/// no word: rolecall redacts runs of its key from its output, and a key
/// with `rolecall` in it hid every "rolecall" in the config it wrote.
#[test]
fn the_emulators_printed_key_hides_no_word() {
    let emu = spawn(Options {
        seed: Some(org_site()),
        ..Options::default()
    })
    .unwrap();
    assert_eq!(emu.api_key(), periscope_emulator::LOCAL_API_KEY);
    let output = Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .args(["export", "--actor", "ceo@globex.io"])
        .env("NO_COLOR", "1")
        .env("ROLECALL_ENDPOINT", emu.url())
        .env("PERISCOPE_SITE", "globex")
        .env("PERISCOPE_API_KEY", periscope_emulator::LOCAL_API_KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Written by `rolecall export`"), "{text}");
    assert!(!text.contains("<redacted>"), "{text}");
}

/// `export --only-unmanaged` writes what the config leaves alone, as a file
/// of entries the config's directory takes: once added, nothing is left
/// unmanaged and the plan is the same as before.
#[test]
fn only_unmanaged_adopts_what_the_config_leaves_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("team")).unwrap();
    crate::copy_dir(&root().join("examples/small-team"), &d.join("team"));
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["-f", "team/rolecall.yaml", "--sandbox", "team/sandbox.json"]);
        crate::rolecall(d, &all)
    };
    let before = run(&["plan", "--format", "json"]);
    let before: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    assert_eq!(before["unmanaged"]["users"].as_array().unwrap().len(), 2);
    // Only sam, by --target, into a file of its own.
    let out = run(&[
        "export",
        "--only-unmanaged",
        "--target",
        "user:sam*",
        "--target",
        "role:Analyst",
        "-o",
        "team/adopted.yaml",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let adopted = std::fs::read_to_string(d.join("team/adopted.yaml")).unwrap();
    assert!(
        adopted.contains("  sam@acme.com:\n") && adopted.contains("  Analyst:\n"),
        "{adopted}"
    );
    assert!(
        !adopted.contains("owner@acme.com") && !adopted.contains("site:"),
        "{adopted}"
    );
    // A one-file config becomes a directory with the adopted file in it.
    std::fs::rename(d.join("team/sandbox.json"), d.join("sandbox.json")).unwrap();
    let after = crate::rolecall(
        d,
        &[
            "plan",
            "-f",
            "team",
            "--sandbox",
            "sandbox.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(after.status.code(), Some(0), "{}", transcript(&after));
    let after: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    let unmanaged: Vec<&str> = after["unmanaged"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(unmanaged, ["owner@acme.com"]);
    assert_eq!(
        after["changes"], before["changes"],
        "adopting changes nothing on the site"
    );
}
