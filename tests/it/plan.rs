//! `rolecall plan` and `rolecall drift` as a user runs them: the real binary
//! against the emulator (`--sandbox`, or a running one with credentials).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{root, transcript};

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("rolecall-it-{name}-"))
            .tempdir()
            .unwrap();
        Self(dir.path().to_path_buf(), dir)
    }

    fn write(&self, file: &str, text: &str) -> &Self {
        std::fs::write(self.0.join(file), text).unwrap();
        self
    }
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rolecall"));
    cmd.current_dir(dir).args(args).env("NO_COLOR", "1");
    for var in [
        "ROLECALL_CONFIG",
        "ROLECALL_ENDPOINT",
        "PERISCOPE_SITE",
        "PERISCOPE_API_KEY",
        "CLICOLOR_FORCE",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

const ORG: &[&str] = &[
    "--sandbox",
    "examples/data-org/sandbox.json",
    "-f",
    "examples/data-org",
];

fn org(extra: &[&str]) -> Output {
    let mut args = vec!["plan"];
    args.extend_from_slice(ORG);
    args.extend_from_slice(extra);
    run(&root(), &args, &[])
}

#[test]
fn plan_of_the_org_example_as_text() {
    let output = org(&[]);
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("plan_org_text", transcript(&output));
}

#[test]
fn plan_of_the_org_example_as_json_and_markdown() {
    let json = org(&["--format", "json"]);
    assert_eq!(json.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["format_version"], 2);
    assert_eq!(
        value["summary"],
        serde_json::json!({"create": 3, "update": 5, "delete": 1, "rename": 1})
    );
    insta::assert_snapshot!("plan_org_json", String::from_utf8_lossy(&json.stdout));
    let markdown = org(&["--format", "markdown"]);
    assert_eq!(markdown.status.code(), Some(0));
    let text = String::from_utf8_lossy(&markdown.stdout);
    assert!(text.len() < 60_000);
    insta::assert_snapshot!("plan_org_markdown", text);
}

#[test]
fn detailed_exitcode_and_a_saved_plan() {
    let scratch = Scratch::new("saved");
    let out = scratch.0.join("plan.json");
    let output = org(&["--detailed-exitcode", "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "changes present");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(saved["changes"].as_array().unwrap().len(), 10);
    let digests = saved["digests"].as_object().unwrap();
    assert!(
        digests.contains_key("role:f6a5b8d7"),
        "the renamed role's digest: {digests:?}"
    );
    assert!(
        digests.contains_key("user:16a0"),
        "the stripped user's digest"
    );
    // The sandbox's key is in no plan file.
    assert!(
        !std::fs::read_to_string(&out)
            .unwrap()
            .contains(periscope_emulator::LOCAL_API_KEY)
    );

    // A site that matches: exit 0 with --detailed-exitcode.
    let scratch = Scratch::new("insync");
    scratch
        .write("rolecall.yaml", "site: tiny\nactor: admin@tiny.example\nusers:\n  admin@tiny.example:\n    roles: [Admin]\n")
        .write(
            "site.json",
            r#"{"site": "tiny", "users": [{"id": "u1", "email": "admin@tiny.example", "first_name": "A", "last_name": "B", "roles": ["r1"]}],
                "roles": [{"id": "r1", "name": "Admin"}, {"id": "r2", "name": "Everyone"}]}"#,
        );
    let output = run(
        &scratch.0,
        &["plan", "--sandbox", "site.json", "--detailed-exitcode"],
        &[],
    );
    insta::assert_snapshot!(transcript(&output), @"
    exit: 0
    --- stdout
    No changes: the site `tiny` matches the config.
    --- stderr
    ");
}

#[test]
fn a_blocked_plan_exits_3() {
    let scratch = Scratch::new("blocked");
    let users: Vec<String> = (0..12)
        .map(|i| format!(r#"{{"id": "u{i}", "email": "gone{i}@tiny.example", "first_name": "G", "last_name": "{i}", "roles": []}}"#))
        .collect();
    scratch
        .write("rolecall.yaml", "site: tiny\nactor: admin@tiny.example\nprune:\n  users: delete\nusers:\n  admin@tiny.example:\n    roles: [Admin]\n")
        .write(
            "site.json",
            &format!(
                r#"{{"site": "tiny", "users": [{{"id": "ua", "email": "admin@tiny.example", "first_name": "A", "last_name": "B", "roles": ["r1"]}}, {}],
                    "roles": [{{"id": "r1", "name": "Admin"}}, {{"id": "r2", "name": "Everyone"}}]}}"#,
                users.join(", ")
            ),
        );
    let output = run(
        &scratch.0,
        &["plan", "--sandbox", "site.json", "--target", "user:gone1*"],
        &[],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "3 deletes of 13 users is within the limits: {}",
        transcript(&output)
    );
    let output = run(&scratch.0, &["plan", "--sandbox", "site.json"], &[]);
    assert_eq!(output.status.code(), Some(3));
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.matches("! blocked by max_deletes: 12 deletes, 10 allowed by default; allow with `rolecall apply --allow-mass-delete`").count(), 12);
    let tail: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Plan:"))
        .collect();
    insta::assert_snapshot!(tail.join("\n"), @"
    Plan: 0 to create, 0 to update, 12 to delete, 0 to rename.
    Blocked: 12 changes break a safety rule; apply will write nothing. Review them, then run `rolecall apply --allow-mass-delete` if they are intended.
    ");
}

#[test]
fn unresolvable_dashboards_are_errors_with_candidates() {
    let scratch = Scratch::new("dash");
    let config = std::fs::read_to_string(root().join("examples/data-org/roles/departments.yaml"))
        .unwrap()
        .replace(
            "Cash Flow: [read_dashboards]\n      \"#80412\"",
            "Cashflow: [read_dashboards]\n      Board Pack",
        );
    std::fs::create_dir_all(scratch.0.join("org/roles")).unwrap();
    for file in ["rolecall.yaml", "roles/access.yaml"] {
        std::fs::copy(
            root().join("examples/data-org").join(file),
            scratch.0.join("org").join(file),
        )
        .unwrap();
    }
    scratch.write("org/roles/departments.yaml", &config);
    std::fs::copy(
        root().join("examples/data-org/sandbox.json"),
        scratch.0.join("site.json"),
    )
    .unwrap();
    let output = run(
        &scratch.0,
        &["plan", "--sandbox", "site.json", "-f", "org"],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(transcript(&output), @r##"
    exit: 1
    --- stdout
    --- stderr
    error: no dashboard on the site is named `Cashflow`
     --> org/roles/departments.yaml:9:7
      |
    9 |       Cashflow: [read_dashboards]
      |       ^^^^^^^^
      |
      = hint: did you mean `Cash Flow` (#80002)? Or name the dashboard by id: `"#<id>"`

    error: 2 dashboards on the site are named `Board Pack`
      --> org/roles/departments.yaml:10:7
       |
    10 |       Board Pack: [read_dashboards, download_pdf]   # "Board Pack": the name is used twice on the site
       |       ^^^^^^^^^^
       |
       = hint: name the one you mean by its id instead: `"#80412"` or `"#80413"`

    error: the config does not fit the site `globex`: 2 errors; nothing was written
    "##);
}

#[test]
fn a_wrong_site_is_refused_before_anything_else() {
    let output = run(
        &root(),
        &[
            "plan",
            "--sandbox",
            "examples/data-org/sandbox.json",
            "-f",
            "examples/small-team/rolecall.yaml",
        ],
        &[],
    );
    insta::assert_snapshot!(transcript(&output), @"
    exit: 1
    --- stdout
    --- stderr
    error: the config is for the site `acme` but the sandbox snapshot is for `globex`: nothing was read or written

    hint: make `site:` in the config and PERISCOPE_SITE (or --site, or the snapshot) name the same site
    ");
}

#[test]
fn plan_with_credentials_against_a_running_emulator() {
    let emulator = crate::small_team_site("s3cret-k3y");
    let url = emulator.url();
    let env = [
        ("ROLECALL_ENDPOINT", url.as_str()),
        ("PERISCOPE_SITE", "acme"),
        ("PERISCOPE_API_KEY", "s3cret-k3y"),
    ];
    let output = run(&root().join("examples/small-team"), &["plan"], &env);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    insta::assert_snapshot!(
        "plan_small_team_text",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        emulator.requests().iter().all(|r| r.method == "GET"),
        "plan only reads"
    );

    let wrong = [
        ("ROLECALL_ENDPOINT", url.as_str()),
        ("PERISCOPE_SITE", "acme"),
        ("PERISCOPE_API_KEY", "wrong"),
    ];
    let output = run(&root().join("examples/small-team"), &["plan"], &wrong);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&url, "URL");
    assert!(
        !stderr.contains("s3cret") && !stderr.contains("wrong\n"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr, @"
    error: cannot read the site `acme`; nothing was written
      Caused by: the site `acme` refused the credentials (401) at URL/api/v2/users: check the site name (the segment after /app/ in a dashboard URL) and the API key

    hint: check PERISCOPE_SITE (or --site) and PERISCOPE_API_KEY (or --api-key-file)
    ");

    let output = run(
        &root().join("examples/small-team"),
        &["plan"],
        &[("ROLECALL_ENDPOINT", url.as_str())],
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stderr), @"
    error: no site to connect to

    hint: set PERISCOPE_SITE or pass `--site` (the segment after /app/ in a dashboard URL)
    ");

    let output = run(
        &root().join("examples/small-team"),
        &["plan"],
        &[
            ("ROLECALL_ENDPOINT", "http://periscope.example.com"),
            ("PERISCOPE_SITE", "acme"),
            ("PERISCOPE_API_KEY", "k"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stderr), @"error: refusing plain http to `http://periscope.example.com`: the API key would cross the network unencrypted; use https (plain http is allowed only to 127.0.0.1, ::1 or localhost)");
}

#[test]
fn drift_exits_2_and_tells_site_changes_from_config_changes() {
    let no_drift = run(
        &root(),
        &[
            "drift",
            "--sandbox",
            "examples/small-team/sandbox.json",
            "-f",
            "examples/small-team",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(
        no_drift.status.code(),
        Some(2),
        "the sandbox differs from the example"
    );

    // Baseline: the config as last applied. The site was then changed by hand
    // (jane lost a role); the config since gives omar a new role.
    let scratch = Scratch::new("drift");
    let site = std::fs::read_to_string(root().join("examples/data-org/sandbox.json")).unwrap();
    scratch.write("site.json", &site);
    std::fs::create_dir_all(scratch.0.join("baseline")).unwrap();
    std::fs::create_dir_all(scratch.0.join("config")).unwrap();
    let base = "site: globex\nactor: platform-bot@globex.io\nusers:\n  platform-bot@globex.io:\n    roles: [Admin]\n  ruth@globex.io:\n    roles: [Viewer, Finance]\n  ines@globex.io:\n    roles: [Viewer]\n";
    scratch.write(
        "baseline/rolecall.yaml",
        &base.replace(
            "roles: [Viewer, Finance]",
            "roles: [Viewer, Finance, Builder]",
        ),
    );
    scratch.write(
        "config/rolecall.yaml",
        &base
            .replace(
                "roles: [Viewer, Finance]",
                "roles: [Viewer, Finance, Builder]",
            )
            .replace("    roles: [Viewer]\n", "    roles: [Viewer, Builder]\n"),
    );
    let output = run(
        &scratch.0,
        &[
            "drift",
            "--sandbox",
            "site.json",
            "-f",
            "config",
            "--baseline",
            "baseline",
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!(transcript(&output), @r#"
    exit: 2
    --- stdout
    Drift on the site `globex`: 3 differences (1 critical, 2 normal).

      [critical] `ceo@globex.io` is an Admin member of the site that the config neither lists nor protects

      [normal] pending in the config: `ines@globex.io` gets `Builder`
        `rolecall apply` would make it:
        # user "ines@globex.io" will be updated  (config/rolecall.yaml:8)
        # pending in config (the config changed since the baseline)
        ~ user "ines@globex.io"
            ~ roles: + Builder

      [normal] `ruth@globex.io` lost `Builder` on the site
        `rolecall apply` would undo it:
        # user "ruth@globex.io" will be updated  (config/rolecall.yaml:6)
        # changed on the site (it no longer matches the baseline)
        ~ user "ruth@globex.io"
            ~ roles: + Builder

    Not managed by this config (left alone): 5 users, 7 roles.
      user "ceo@globex.io" (roles: Admin)  [unmanaged-admin]
    --- stderr
    "#);
}
