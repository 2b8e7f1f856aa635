//! Memberships that end: `{role: Auditor, until: 2027-01-31}`. Past the
//! day, the plan revokes them (tagged `expired`); `validate` warns two weeks
//! ahead; `access --desired` shows the end. "Today" is `ROLECALL_TODAY`.

use std::path::Path;
use std::process::{Command, Output};

use crate::{root, transcript};

/// The small team exported (it plans to no changes), with jane's Data
/// Analyst membership ending on 2027-01-31.
fn team() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(
        root().join("examples/small-team/sandbox.json"),
        d.join("site.json"),
    )
    .unwrap();
    let export = at(
        d,
        None,
        &["export", "--actor", "admin@acme.com", "-o", "rolecall.yaml"],
    );
    assert_eq!(export.status.code(), Some(0), "{}", transcript(&export));
    let config = d.join("rolecall.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replacen(
        "    last_name: Doe\n    roles: [Data Analyst]",
        "    last_name: Doe\n    roles: [{role: Data Analyst, until: 2027-01-31, reason: \"SOX audit\"}]",
        1,
    );
    assert!(text.contains("until: 2027-01-31"));
    std::fs::write(&config, text).unwrap();
    dir
}

/// `rolecall ARGS --sandbox site.json` on `today`.
fn at(d: &Path, today: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rolecall"));
    cmd.current_dir(d)
        .args(args)
        .args(["--sandbox", "site.json"])
        .env("NO_COLOR", "1")
        .env_remove("ROLECALL_CONFIG")
        .env_remove("ROLECALL_TODAY");
    if let Some(today) = today {
        cmd.env("ROLECALL_TODAY", today);
    }
    cmd.output().unwrap()
}

fn validate(d: &Path, today: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .current_dir(d)
        .args(["validate"])
        .env("NO_COLOR", "1")
        .env("ROLECALL_TODAY", today)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_membership_ends_after_its_day() {
    let dir = team();
    let d = dir.path();
    // Three weeks ahead: nothing to say, nothing to change.
    assert_eq!(validate(d, "2027-01-10"), "");
    let plan = at(d, Some("2027-01-10"), &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    // Within two weeks: a warning at the line.
    insta::assert_snapshot!(validate(d, "2027-01-20"), @r#"
    warning: `jane@acme.com`'s membership of `Data Analyst` ends on 2027-01-31 (in 11 days)
      --> rolecall.yaml:45:20
       |
    45 |     roles: [{role: Data Analyst, until: 2027-01-31, reason: "SOX audit"}]
       |                    ^^^^^^^^^^^^
       |
       = hint: after that day a plan revokes it; move `until` to keep it longer
    "#);
    // Access shows the end.
    let access = at(
        d,
        Some("2027-01-20"),
        &["access", "--desired", "--user", "jane@acme.com"],
    );
    assert_eq!(access.status.code(), Some(0), "{}", transcript(&access));
    assert!(
        String::from_utf8_lossy(&access.stdout).contains(
            "via Data Analyst (privilege read_dashboards; grant read_dashboards; until 2027-01-31)"
        ),
        "{}",
        transcript(&access)
    );
    // Its last day: still wanted.
    assert!(validate(d, "2027-01-31").contains("(today is its last day)"));
    let plan = at(d, Some("2027-01-31"), &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    // The day after: revoked, and the plan says why.
    assert!(validate(d, "2027-02-01").contains("ended on 2027-01-31"));
    let plan = at(d, Some("2027-02-01"), &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", transcript(&plan));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains(
            "# user \"jane@acme.com\" will be updated  (rolecall.yaml:42)  [revoke, expired]"
        ) && text.contains("~ roles: - Data Analyst"),
        "{text}"
    );
    // A day that is not one.
    let bad = at(d, Some("2027-02-30"), &["plan"]);
    assert_eq!(bad.status.code(), Some(1), "{}", transcript(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("ROLECALL_TODAY: `2027-02-30` is not a date")
    );
}

/// A membership that ended is the config's doing: drift with a baseline
/// tells it as pending in the config, never as a change made on the site,
/// and `--write-config` does not make it permanent.
#[test]
fn an_ended_membership_is_never_a_site_change() {
    let dir = team();
    let d = dir.path();
    crate::git(d, &["init", "-q"]);
    crate::git(d, &["add", "rolecall.yaml"]);
    crate::git(d, &["commit", "-q", "-m", "as applied"]);
    let drift = at(
        d,
        Some("2027-02-01"),
        &[
            "drift",
            "--baseline-rev",
            "HEAD",
            "--format",
            "json",
            "--write-config",
        ],
    );
    assert_eq!(drift.status.code(), Some(2), "{}", transcript(&drift));
    let report: serde_json::Value = serde_json::from_slice(&drift.stdout).unwrap();
    let jane = &report["changes"][0];
    assert_eq!(jane["key"], "jane@acme.com");
    assert_eq!(jane["origin"], "config", "{jane}");
    assert!(
        jane["risks"]
            .as_array()
            .unwrap()
            .contains(&"expired".into())
    );
    assert_eq!(
        crate::git(d, &["diff", "--", "rolecall.yaml"]).trim(),
        "",
        "nothing accepted"
    );
}
