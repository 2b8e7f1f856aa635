//! Who may write what: settings only in the root file, `files:` saying which
//! file may hold roles, users or Admin grants, and `policy:` blocking what a
//! plan may never do, saved plans included.

use std::path::Path;

use crate::saved::{Org, emulator, rolecall, writes};
use crate::transcript;

fn append(path: &Path, text: &str) {
    let mut old = std::fs::read_to_string(path).unwrap();
    old.push_str(text);
    std::fs::write(path, old).unwrap();
}

/// Replaces the `files:` of the org's root file (the example has one) by
/// `text`, appended at its end.
fn set_files(dir: &Path, text: &str) {
    let path = dir.join("rolecall.yaml");
    let old = std::fs::read_to_string(&path).unwrap();
    let mut kept = String::new();
    let mut inside = false;
    for line in old.lines() {
        if line.starts_with("files:") {
            inside = true;
            continue;
        }
        if inside && (line.starts_with(' ') || line.is_empty()) {
            continue;
        }
        inside = false;
        kept.push_str(line);
        kept.push('\n');
    }
    assert!(!kept.contains("\nfiles:"), "{kept}");
    kept.push_str(text);
    std::fs::write(path, kept).unwrap();
}

/// A team lead's file defines an 11-privilege role and grants it; another
/// grants Admin; a third hides every user from drift with `ignore`. Each is
/// refused by `validate` with its file:line and the rule, nothing planned.
#[test]
fn a_team_file_cannot_define_roles_grant_admin_or_set_ignore() {
    let emu = emulator();
    let org = Org::new();
    let dir = org.path();
    set_files(
        dir,
        "\nfiles:\n  \"roles/*.yaml\": [roles]\n  \"teams/*.yaml\": [users]\n",
    );
    let output = rolecall(&emu, dir, &["validate", "-f", "."]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));

    append(
        &dir.join("teams/data.yaml"),
        "roles:\n  Power:\n    privileges:\n      Dashboard: [read_dashboards, create_dashboards, download_pdf]\n",
    );
    let data = std::fs::read_to_string(dir.join("teams/data.yaml")).unwrap();
    let line = data.lines().position(|l| l == "  Power:").unwrap() + 1;
    let output = rolecall(&emu, dir, &["validate", "-f", "."]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`teams/data.yaml` may not define roles: `files:` lets it hold [users] (by `teams/*.yaml`)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("teams/data.yaml:{line}:3")),
        "{stderr}"
    );
    let output = rolecall(&emu, dir, &["plan", "-f", "."]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert_eq!(writes(&emu), 0);

    let org = Org::new();
    let dir = org.path();
    set_files(
        dir,
        "\nfiles:\n  \"roles/*.yaml\": [roles]\n  \"teams/*.yaml\": [users]\n",
    );
    append(
        &dir.join("teams/finance.yaml"),
        "  eve@globex.io:\n    roles: [Admin]\n",
    );
    std::fs::write(dir.join("teams/zz.yaml"), "ignore:\n  users: [\"*\"]\n").unwrap();
    let output = rolecall(&emu, dir, &["validate", "-f", "."]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`teams/finance.yaml` may not give the Admin role"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`ignore` is set in `./teams/zz.yaml`: settings live only in the config's root file `./rolecall.yaml`"),
        "{stderr}"
    );
    // `admins.yaml.d/oncall.yaml` is not `admins.yaml`: globs match whole paths.
    std::fs::remove_file(dir.join("teams/zz.yaml")).unwrap();
    let finance = std::fs::read_to_string(dir.join("teams/finance.yaml")).unwrap();
    std::fs::write(
        dir.join("teams/finance.yaml"),
        finance.replace("  eve@globex.io:\n    roles: [Admin]\n", ""),
    )
    .unwrap();
    append(
        &dir.join("rolecall.yaml"),
        "  \"admins.yaml\": [users, admin]\n",
    );
    std::fs::create_dir(dir.join("admins.yaml.d")).unwrap();
    std::fs::write(
        dir.join("admins.yaml.d/oncall.yaml"),
        "users:\n  eve@globex.io:\n    roles: [Admin]\n",
    )
    .unwrap();
    let output = rolecall(&emu, dir, &["validate", "-f", "."]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(
            "`admins.yaml.d/oncall.yaml` may not hold users: no glob of `files:` matches it"
        ),
        "{}",
        transcript(&output)
    );
}

/// `policy:` blocks a plan (exit 3, the rule named), and a saved plan of
/// it too: nothing lifts a policy, `--allow-mass-delete` included.
#[test]
fn a_policy_blocks_plan_and_saved_plan_whatever_the_flags() {
    let emu = emulator();
    let org = Org::new();
    let dir = org.path();
    append(
        &dir.join("rolecall.yaml"),
        "\npolicy:\n  email_domains: [globex.io]\n  everyone_never: [download_pdf]\n  block_risks: [everyone-exposure]\n",
    );
    append(
        &dir.join("teams/data.yaml"),
        "  mallory@evil.example:\n    first_name: M\n    last_name: E\n    roles: [Viewer]\n",
    );
    let output = rolecall(&emu, dir, &["plan", "-f", ".", "--out", "plan.json"]);
    assert_eq!(output.status.code(), Some(3), "{}", transcript(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(
            "policy.email_domains: `mallory@evil.example` is outside the domains the config allows"
        ),
        "{stdout}"
    );
    let output = rolecall(
        &emu,
        dir,
        &["apply", "-f", ".", "plan.json", "--allow-mass-delete"],
    );
    assert_eq!(output.status.code(), Some(3), "{}", transcript(&output));
    assert_eq!(writes(&emu), 0);

    // Everyone gains download_pdf: blocked by `everyone_never`.
    let data = std::fs::read_to_string(dir.join("teams/data.yaml")).unwrap();
    std::fs::write(
        dir.join("teams/data.yaml"),
        data.replace(
            "  mallory@evil.example:\n    first_name: M\n    last_name: E\n    roles: [Viewer]\n",
            "",
        ),
    )
    .unwrap();
    append(
        &dir.join("roles/access.yaml"),
        "  Everyone:\n    privileges:\n      Dashboard: [download_pdf]\n",
    );
    let output = rolecall(&emu, dir, &["plan", "-f", "."]);
    assert_eq!(output.status.code(), Some(3), "{}", transcript(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("policy.everyone_never: Everyone would gain `download_pdf`"),
        "{stdout}"
    );
    assert_eq!(writes(&emu), 0);
}

/// `admin` guards Admin both ways: a site Admin listed in a team's file
/// with other roles would lose Admin from a file `files:` does not let
/// touch it. The plan blocks that change (exit 3), naming the rule.
#[test]
fn a_team_file_cannot_take_admin_away_either() {
    let emu = emulator();
    let org = Org::new();
    let dir = org.path();
    let answer = crate::http(
        &emu,
        crate::saved::KEY,
        "POST",
        "/api/v2/users",
        r#"{"first_name": "On", "last_name": "Call", "email": "oncall@globex.io", "roles": ["a1f0c3e2"], "invited_by_email": "platform-bot@globex.io"}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    set_files(
        dir,
        "\nfiles:\n  \"roles/*.yaml\": [roles]\n  \"teams/*.yaml\": [users]\n",
    );
    append(
        &dir.join("teams/data.yaml"),
        "  oncall@globex.io:\n    roles: [Viewer]\n",
    );
    let before = writes(&emu);
    let output = rolecall(&emu, dir, &["plan", "-f", "."]);
    assert_eq!(output.status.code(), Some(3), "{}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(
            "files: the file that lists `oncall@globex.io` may not change who holds Admin"
        ),
        "{}",
        transcript(&output)
    );
    assert_eq!(writes(&emu), before);
}
