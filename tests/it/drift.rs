//! `drift` for machines: origins in JSON, a baseline from git, unmanaged
//! objects as drift, the JSON saved beside the text.

use std::process::Command;

use serde_json::json;

use crate::{git, rolecall, root, transcript};

/// `rolecall drift` of the repository's config against its site file.
fn drift_of(d: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "drift",
        "-f",
        "config/rolecall.yaml",
        "--sandbox",
        "site.json",
    ];
    args.extend_from_slice(extra);
    rolecall(d, &args)
}

/// A role given to a user by hand on the site (the site file).
fn give_on_site(d: &std::path::Path, email: &str, role_id: &str) {
    crate::edit_json(&d.join("site.json"), |site| {
        let user = site["users"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|u| u["email"] == email)
            .unwrap();
        user["roles"].as_array_mut().unwrap().push(role_id.into());
    });
}

/// A repository whose first commit is the site exported (the config as
/// applied) and whose second adds a user; the site then changed by hand.
fn repo() -> tempfile::TempDir {
    let dir = crate::exported("small-team", "admin@acme.com", "config/rolecall.yaml");
    let d = dir.path();
    git(d, &["init", "-q"]);
    git(d, &["add", "config"]);
    git(d, &["commit", "-q", "-m", "as applied"]);
    let config = d.join("config/rolecall.yaml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "  new@acme.com:\n    first_name: New\n    last_name: Hire\n    roles: [Analyst]\n",
    );
    std::fs::write(&config, text).unwrap();
    git(d, &["commit", "-q", "-am", "a new hire"]);
    // By hand on the site: sam becomes a Data Analyst too.
    give_on_site(d, "sam@acme.com", "5f607182");
    dir
}

#[test]
fn a_baseline_from_git_tells_where_each_difference_comes_from() {
    let dir = repo();
    let d = dir.path();
    let output = drift_of(d, &["--baseline-rev", "HEAD~1", "--out", "drift.json"]);
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("# changed on the site (it no longer matches the baseline)"),
        "{text}"
    );
    assert!(
        text.contains("# pending in config (the config changed since the baseline)"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("drift.json")).unwrap()).unwrap();
    let origin = |key: &str| {
        json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .map(|c| c["origin"].clone())
            .unwrap()
    };
    assert_eq!(origin("new@acme.com"), "config");
    assert_eq!(origin("sam@acme.com"), "site");
    // A revision git does not know, and one that git would read as an
    // option (`--output=FILE` writes a file): refused, nothing written.
    for rev in ["no-such-rev", "--output=written.txt"] {
        let bad = drift_of(d, &[&format!("--baseline-rev={rev}")]);
        assert_eq!(bad.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&bad.stderr)
                .contains("hint: --baseline-rev takes a revision git knows"),
            "{}",
            transcript(&bad)
        );
        if rev.starts_with('-') {
            assert!(
                String::from_utf8_lossy(&bad.stderr).contains("is not a revision"),
                "never given to git: {}",
                transcript(&bad)
            );
        }
    }
    assert!(!d.join("written.txt").exists() && !d.join("config/written.txt").exists());
    // A baseline of another site, and one that does not exist: refused
    // before the site is read, each saying what --baseline takes.
    let other = std::fs::read_to_string(d.join("config/rolecall.yaml"))
        .unwrap()
        .replace("site: acme", "site: other");
    std::fs::write(d.join("other.yaml"), other).unwrap();
    for (baseline, says) in [
        (
            "other.yaml",
            "the baseline is a config of the site `other`, not `acme`",
        ),
        (
            "missing.yaml",
            "hint: --baseline takes the config as last applied",
        ),
    ] {
        let bad = drift_of(d, &["--baseline", baseline]);
        assert_eq!(bad.status.code(), Some(1), "{}", transcript(&bad));
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains(says),
            "{}",
            transcript(&bad)
        );
    }
}

#[test]
fn unmanaged_objects_are_drift_when_asked() {
    let dir = crate::exported("small-team", "admin@acme.com", "rolecall.yaml");
    let d = dir.path();
    // Drop omar from the config: with prune off he is left alone, unmanaged.
    let text = std::fs::read_to_string(d.join("rolecall.yaml")).unwrap();
    let without: String = text
        .split_inclusive('\n')
        .scan(false, |skip, line| {
            if line.starts_with("  omar@acme.com:") {
                *skip = true;
            } else if line.starts_with("  ") && !line.starts_with("    ") {
                *skip = false;
            }
            Some(if *skip {
                String::new()
            } else {
                line.to_string()
            })
        })
        .collect();
    std::fs::write(d.join("rolecall.yaml"), without).unwrap();
    let quiet = rolecall(d, &["drift", "--sandbox", "site.json", "--show-unmanaged"]);
    assert_eq!(
        quiet.status.code(),
        Some(0),
        "omar is left alone: {}",
        transcript(&quiet)
    );
    assert!(
        String::from_utf8_lossy(&quiet.stdout)
            .contains("user \"omar@acme.com\" (roles: Data Analyst)")
    );
    let strict = rolecall(
        d,
        &["drift", "--sandbox", "site.json", "--fail-on-unmanaged"],
    );
    assert_eq!(strict.status.code(), Some(2), "{}", transcript(&strict));
}

/// An Admin member added by hand on the site, with `prune` off: drift in
/// every format, tagged `unmanaged-admin`.
#[test]
fn a_hand_added_admin_is_drift_in_every_format() {
    let emu = crate::small_team_site("drift-k3y");
    let admin = emu
        .snapshot()
        .roles
        .into_iter()
        .find(|r| r.name == "Admin")
        .unwrap()
        .id;
    let answer = crate::http_site(
        &emu,
        "acme",
        "drift-k3y",
        "POST",
        "/api/v2/users",
        &format!(
            r#"{{"email":"mallory@acme.com","first_name":"Mal","last_name":"Lory","roles":["{admin}"],"invited_by_email":"admin@acme.com"}}"#
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 20"), "{answer}");
    let drift = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_rolecall"))
            .args(["drift", "--format", format, "-f"])
            .arg(root().join("examples/small-team/rolecall.yaml"))
            .env("ROLECALL_ENDPOINT", emu.url())
            .env("PERISCOPE_SITE", "acme")
            .env("PERISCOPE_API_KEY", "drift-k3y")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    for format in ["text", "markdown", "json"] {
        let out = drift(format);
        assert_eq!(out.status.code(), Some(2), "{format}: {}", transcript(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let tagged = match format {
            "json" => {
                let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                value["unmanaged"]["users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|u| {
                        u["email"] == "mallory@acme.com"
                            && u["risks"] == serde_json::json!(["unmanaged-admin"])
                    })
            }
            _ => stdout.contains("user \"mallory@acme.com\" (roles: Admin)  [unmanaged-admin]"),
        };
        assert!(tagged, "{format}: {stdout}");
    }
}

/// Drift with a baseline says who moved and how much it matters: an Admin
/// granted by hand is `critical` and told as a site change, a config change
/// not applied yet is pending; `--fail-on` decides what fails the job.
#[test]
fn drift_tells_what_happened_most_severe_first() {
    let dir = repo();
    let d = dir.path();
    // By hand on the site, too: jane made an Admin.
    give_on_site(d, "jane@acme.com", "0a1b2c3d");
    let drift = |extra: &[&str]| {
        let mut args = vec![
            "drift",
            "-f",
            "config/rolecall.yaml",
            "--sandbox",
            "site.json",
            "--baseline-rev",
            "HEAD~1",
        ];
        args.extend_from_slice(extra);
        rolecall(d, &args)
    };
    let text = drift(&["--out", "drift.json"]);
    assert_eq!(text.status.code(), Some(2), "{}", transcript(&text));
    // The saved report, shown again as the report it was.
    let shown = rolecall(d, &["show", "drift.json", "--drift"]);
    assert_eq!(shown.status.code(), Some(0), "{}", transcript(&shown));
    assert_eq!(shown.stdout, text.stdout);
    let stdout = String::from_utf8_lossy(&text.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  [")).collect();
    assert_eq!(
        lines,
        [
            "  [critical] `jane@acme.com` was given `Admin` on the site",
            "  [normal] pending in the config: `new@acme.com` is new",
            "  [normal] `sam@acme.com` was given `Data Analyst` on the site",
        ],
        "{stdout}"
    );
    assert!(stdout.starts_with("Drift on the site `acme`: 3 differences (1 critical, 2 normal)."));
    let json = drift(&["--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let severity = |key: &str| {
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .map(|c| (c["severity"].clone(), c["origin"].clone()))
            .unwrap()
    };
    assert_eq!(
        severity("jane@acme.com"),
        (json!("critical"), json!("site"))
    );
    assert_eq!(severity("new@acme.com"), (json!("normal"), json!("config")));
    // The issue is in the markdown's first line of findings.
    let md = drift(&["--format", "markdown"]);
    assert!(
        String::from_utf8_lossy(&md.stdout)
            .contains("**3 differences (1 critical, 2 normal)**\n\n- **critical** `jane@acme.com` was given `Admin` on the site\n"),
        "{}",
        transcript(&md)
    );
    // --fail-on: critical fails the job; without jane's Admin, only `any` does.
    assert_eq!(drift(&["--fail-on", "critical"]).status.code(), Some(2));
    crate::edit_json(&d.join("site.json"), |site| {
        for u in site["users"].as_array_mut().unwrap() {
            if u["email"] == "jane@acme.com" {
                u["roles"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|r| r != "0a1b2c3d");
            }
        }
    });
    assert_eq!(drift(&["--fail-on", "critical"]).status.code(), Some(0));
    assert_eq!(drift(&["--fail-on", "high"]).status.code(), Some(0));
    assert_eq!(drift(&[]).status.code(), Some(2));
}

/// `apply --only-origin site` undoes what was done on the site since the
/// baseline, and only that: the hand-made Admin and membership go, the new
/// hire pending in the config is not created; drift then shows only it.
#[test]
fn only_origin_site_undoes_the_site_changes_and_leaves_the_pending_ones() {
    let dir = repo();
    let d = dir.path();
    crate::edit_json(&d.join("site.json"), |site| {
        for u in site["users"].as_array_mut().unwrap() {
            if u["email"] == "jane@acme.com" {
                u["roles"].as_array_mut().unwrap().push("0a1b2c3d".into());
            }
            // Both the site and the config drop omar's Data Analyst.
            if u["email"] == "omar@acme.com" {
                u["roles"] = json!([]);
            }
        }
    });
    let config = d.join("config/rolecall.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    let dropped = text.replacen(
        "    last_name: Haddad\n    roles: [Data Analyst]",
        "    last_name: Haddad\n    roles: []",
        1,
    );
    assert_ne!(dropped, text);
    std::fs::write(&config, dropped).unwrap();
    let emu = periscope_emulator::spawn(periscope_emulator::Options {
        seed: Some(periscope_emulator::Snapshot::from_file(&d.join("site.json")).unwrap()),
        api_key: Some("0r1g1n-k3y".into()),
        ..Default::default()
    })
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_rolecall"))
            .current_dir(d)
            .args(args)
            .args(["-f", "config/rolecall.yaml", "--baseline-rev", "HEAD~1"])
            .env("NO_COLOR", "1")
            .env("ROLECALL_ENDPOINT", emu.url())
            .env("PERISCOPE_SITE", "acme")
            .env("PERISCOPE_API_KEY", "0r1g1n-k3y")
            .env_remove("ROLECALL_CONFIG")
            .output()
            .unwrap()
    };
    let applied = run(&["apply", "--only-origin", "site", "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", transcript(&applied));
    let stdout = String::from_utf8_lossy(&applied.stdout);
    assert!(
        stdout.contains("(partial plan: 2 of 3 changes)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("The changes made on the site are undone (2 changes); 1 change pending in the config remains"),
        "{stdout}"
    );
    let state = emu.snapshot();
    let roles_of = |email: &str| {
        state
            .users
            .iter()
            .find(|u| u.email == email)
            .map(|u| u.roles.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
    };
    assert!(
        !roles_of("jane@acme.com")
            .unwrap()
            .contains(&"0a1b2c3d".to_string())
    );
    assert!(
        !roles_of("sam@acme.com")
            .unwrap()
            .contains(&"5f607182".to_string())
    );
    assert_eq!(
        roles_of("new@acme.com"),
        None,
        "the pending hire is not created"
    );
    assert_eq!(
        roles_of("omar@acme.com").unwrap(),
        ["1b2c3d4e"],
        "what both the site and the config dropped is not given back"
    );
    // What is left is the config's own change.
    let drift = run(&["drift", "--format", "json"]);
    assert_eq!(drift.status.code(), Some(2), "{}", transcript(&drift));
    let report: serde_json::Value = serde_json::from_slice(&drift.stdout).unwrap();
    assert_eq!(crate::change_keys(&report), ["new@acme.com"]);
    assert_eq!(report["changes"][0]["origin"], "config");
    // Without a baseline it is refused before anything is read.
    let bare = Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .current_dir(d)
        .args([
            "apply",
            "--only-origin",
            "site",
            "-f",
            "config/rolecall.yaml",
            "--auto-approve",
        ])
        .env("ROLECALL_ENDPOINT", emu.url())
        .env("PERISCOPE_SITE", "acme")
        .env("PERISCOPE_API_KEY", "0r1g1n-k3y")
        .output()
        .unwrap();
    assert_eq!(bare.status.code(), Some(1), "{}", transcript(&bare));
    assert!(
        String::from_utf8_lossy(&bare.stderr)
            .contains("--only-origin site needs the config as last applied")
    );
}

/// `drift --write-config` accepts what was changed on the site and nothing
/// else: the entry's line is rewritten, every other byte kept; a plan then
/// shows only the change pending in the config.
#[test]
fn write_config_accepts_the_site_changes_at_their_lines() {
    let dir = repo();
    let d = dir.path();
    // Without a baseline nothing tells a site change from a pending one:
    // refused, nothing written, the drift still reported.
    let bare = drift_of(d, &["--write-config"]);
    assert_eq!(bare.status.code(), Some(2), "{}", transcript(&bare));
    assert!(
        String::from_utf8_lossy(&bare.stderr).contains(
            "--write-config accepts what was changed on the site, which only a baseline tells"
        ),
        "{}",
        transcript(&bare)
    );
    assert_eq!(git(d, &["status", "--porcelain", "--", "config"]), "");
    // Also by hand on the site: a role's description.
    crate::edit_json(&d.join("site.json"), |site| {
        for role in site["roles"].as_array_mut().unwrap() {
            if role["name"] == "Data Analyst" {
                role["description"] = json!("Writes SQL and Python");
            }
        }
    });
    let drift = drift_of(d, &["--baseline-rev", "HEAD~1", "--write-config"]);
    assert_eq!(drift.status.code(), Some(2), "{}", transcript(&drift));
    assert!(
        String::from_utf8_lossy(&drift.stderr)
            .contains("accepted: ~ user \"sam@acme.com\": as the site has it"),
        "{}",
        transcript(&drift)
    );
    // Only sam's roles line changed.
    let diff = git(d, &["diff", "-U0", "--", "config/rolecall.yaml"]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        [
            "-    description: Writes SQL",
            "+    description: Writes SQL and Python",
            "-    roles: [Analyst]",
            "+    roles: [Analyst, Data Analyst]",
        ],
        "{diff}"
    );
    // The site's change no longer plans; the config's does.
    let plan = rolecall(
        d,
        &[
            "plan",
            "-f",
            "config/rolecall.yaml",
            "--sandbox",
            "site.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(crate::change_keys(&plan), ["new@acme.com"]);
}

/// A name made on the site stays a name in a drift issue: a role named like
/// a markdown link and a mention is shown in a code span, inert.
#[test]
fn names_from_the_site_are_inert_in_markdown() {
    let dir = repo();
    let d = dir.path();
    crate::edit_json(&d.join("site.json"), |site| {
        site["roles"].as_array_mut().unwrap().push(json!({
            "id": "e0e0e0e0",
            "name": "[Pay](https://evil.example) @acme/security **now**",
            "description": "",
            "privileges": [],
            "permissions": []
        }));
        for u in site["users"].as_array_mut().unwrap() {
            if u["email"] == "jane@acme.com" {
                u["roles"].as_array_mut().unwrap().push("e0e0e0e0".into());
            }
        }
    });
    let md = drift_of(d, &["--baseline-rev", "HEAD~1", "--format", "markdown"]);
    assert_eq!(md.status.code(), Some(2), "{}", transcript(&md));
    let text = String::from_utf8_lossy(&md.stdout);
    assert!(
        text.contains("`jane@acme.com` was given `[Pay](https://evil.example) @acme/security **now**` on the site"),
        "{text}"
    );
}

/// A baseline from git reads the files the loader reads, as they are named:
/// a name that is not UTF-8 and a submodule under the config (which `plan`
/// never reads) do not stop it.
#[test]
fn a_baseline_from_git_reads_only_what_the_loader_reads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::copy_dir(
        &root().join("examples/gitops/sites/acme"),
        &d.join("sites/acme"),
    );
    std::fs::copy(
        root().join("examples/gitops/sandbox/acme.json"),
        d.join("site.json"),
    )
    .unwrap();
    {
        use std::os::unix::ffi::OsStrExt as _;
        let odd = std::ffi::OsStr::from_bytes(b"notes-\xff.txt");
        std::fs::write(d.join("sites/acme").join(odd), "not yaml\n").unwrap();
    }
    git(d, &["init", "-q"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "as applied"]);
    let head = git(d, &["rev-parse", "HEAD"]);
    // A submodule: a commit in the tree, not a file.
    git(
        d,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{head},sites/acme/vendored"),
        ],
    );
    git(d, &["commit", "-q", "-m", "a submodule"]);
    let output = rolecall(
        d,
        &[
            "drift",
            "-f",
            "sites/acme",
            "--sandbox",
            "site.json",
            "--baseline-rev",
            "HEAD",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
}
