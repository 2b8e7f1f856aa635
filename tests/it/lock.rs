//! `rolecall.lock`: dashboards pinned by id, named for people. BI work
//! renames and duplicates dashboards; plans and drift go on, and grants stay
//! on the dashboard they were written for.

use std::path::Path;

use serde_json::{Value, json};

use crate::{rolecall, transcript};

/// The org site as a sandbox file, exported into `config/` (a config that
/// plans to no changes, with the lock the export writes).
fn exported() -> tempfile::TempDir {
    crate::exported("data-org", "ceo@globex.io", "config/")
}

fn lock(d: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(d.join("config/rolecall.lock")).unwrap()).unwrap()
}

/// Edits the site file.
fn edit_site(d: &Path, edit: impl FnOnce(&mut Value)) {
    crate::edit_json(&d.join("site.json"), edit);
}

/// Replaces text in the config file that holds it.
fn edit_config(d: &Path, from: &str, to: &str) {
    let roles = std::fs::read_dir(d.join("config/roles")).unwrap();
    for file in roles {
        let path = file.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains(from) {
            std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
            return;
        }
    }
    panic!("no role file holds {from}");
}

fn run(d: &Path, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend(["-f", "config", "--sandbox", "site.json"]);
    rolecall(d, &all)
}

#[test]
fn a_renamed_and_a_duplicated_dashboard_keep_their_grants_and_are_drift() {
    let dir = exported();
    let d = dir.path();
    assert_eq!(lock(d)["dashboards"]["Revenue Overview"], "80001");
    assert_eq!(lock(d)["dashboards"]["Cash Flow"], "80002");
    // Without its lock: --check says what --update would pin, and fails.
    std::fs::remove_file(d.join("config/rolecall.lock")).unwrap();
    let check = run(d, &["lock", "--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", transcript(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("+ `Revenue Overview` -> #80001"),
        "{}",
        transcript(&check)
    );
    let update = run(d, &["lock", "--update"]);
    assert_eq!(update.status.code(), Some(0), "{}", transcript(&update));
    assert_eq!(lock(d)["dashboards"]["Cash Flow"], "80002");
    assert_eq!(run(d, &["lock", "--check"]).status.code(), Some(0));

    // BI work on the site: Revenue Overview renamed, a second Cash Flow.
    edit_site(d, |s| {
        let boards = s["dashboards"].as_array_mut().unwrap();
        boards.iter_mut().find(|b| b["id"] == "80001").unwrap()["name"] =
            json!("Revenue Overview 2024");
        boards.push(json!({"id": "80099", "name": "Cash Flow"}));
    });
    // The plan goes on: nothing to change, two warnings.
    let plan = run(d, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains("warning: dashboard #80001 was renamed on the site from `Revenue Overview` to `Revenue Overview 2024`: the lock keeps its grants; update the config"),
        "{text}"
    );
    assert!(
        text.contains("warning: another dashboard is named `Cash Flow` now (#80099): the lock keeps the grants on #80002"),
        "{text}"
    );
    // Drift reports both as drift (exit 2).
    let drift = run(d, &["drift", "--format", "json"]);
    assert_eq!(drift.status.code(), Some(2), "{}", transcript(&drift));
    let report: Value = serde_json::from_slice(&drift.stdout).unwrap();
    assert_eq!(
        report["dashboards"],
        json!([
            {"note": "renamed", "id": "80001", "name": "Revenue Overview", "now": "Revenue Overview 2024"},
            {"note": "ambiguous", "id": "80002", "name": "Cash Flow", "others": ["80099"]}
        ])
    );
    assert_eq!(report["changes"], json!([]));
    // CI's check says the config should follow the rename.
    let check = run(d, &["lock", "--check"]);
    assert_eq!(check.status.code(), Some(1), "{}", transcript(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains(
            "! `Revenue Overview` -> #80001, which the site names `Revenue Overview 2024`"
        ),
        "{}",
        transcript(&check)
    );
    // A lock of another site (a copied directory) is refused.
    let lock_path = d.join("config/rolecall.lock");
    let text = std::fs::read_to_string(&lock_path).unwrap();
    std::fs::write(
        &lock_path,
        text.replace("\"site\": \"globex\"", "\"site\": \"staging\""),
    )
    .unwrap();
    let other = run(d, &["plan"]);
    assert_eq!(other.status.code(), Some(1), "{}", transcript(&other));
    assert!(
        String::from_utf8_lossy(&other.stderr)
            .contains("the lock of the config is of the site `staging`, not `globex`"),
        "{}",
        transcript(&other)
    );
    std::fs::write(&lock_path, text).unwrap();
    // A grant changed in the config lands on the pinned dashboard.
    edit_config(
        d,
        "Cash Flow: [read_dashboards]",
        "Cash Flow: [read_dashboards, download_pdf]",
    );
    let plan = run(d, &["plan", "--format", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let grants = &plan["changes"][0]["after"]["dashboards"];
    assert_eq!(
        grants["80002"]["actions"],
        json!(["download_pdf", "read_dashboards"])
    );
    assert!(grants.get("80099").is_none(), "{grants}");

    // Without the lock, the same site is an error, as before.
    std::fs::remove_file(d.join("config/rolecall.lock")).unwrap();
    let unpinned = run(d, &["plan"]);
    assert_eq!(unpinned.status.code(), Some(1), "{}", transcript(&unpinned));
    let stderr = String::from_utf8_lossy(&unpinned.stderr);
    assert!(
        stderr.contains("2 dashboards on the site are named `Cash Flow`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no dashboard on the site is named `Revenue Overview`"),
        "{stderr}"
    );
}

/// A name that starts with `#` is a name unless it is an id the site has;
/// a pinned dashboard deleted from the site is an error that says how to
/// pin again, never a grant moved in silence.
#[test]
fn hash_names_and_a_deleted_pin() {
    let dir = exported();
    let d = dir.path();
    edit_site(d, |s| {
        let boards = s["dashboards"].as_array_mut().unwrap();
        boards.push(json!({"id": "80100", "name": "#1 Priorities"}));
    });
    edit_config(
        d,
        "Cash Flow: [read_dashboards]",
        "Cash Flow: [read_dashboards]\n      \"#1 Priorities\": [read_dashboards]",
    );
    let plan = run(d, &["plan", "--format", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(
        plan["changes"][0]["after"]["dashboards"]["80100"]["name"],
        "#1 Priorities"
    );
    let update = run(d, &["lock", "--update"]);
    assert_eq!(update.status.code(), Some(0), "{}", transcript(&update));
    assert_eq!(lock(d)["dashboards"]["#1 Priorities"], "80100");

    // Cash Flow deleted (its grants with it), and a new one takes its name.
    edit_site(d, |s| {
        let boards = s["dashboards"].as_array_mut().unwrap();
        boards.retain(|b| b["id"] != "80002");
        boards.push(json!({"id": "80200", "name": "Cash Flow"}));
        for role in s["roles"].as_array_mut().unwrap() {
            role["permissions"]
                .as_array_mut()
                .unwrap()
                .retain(|p| p["object_id"] != "80002");
        }
    });
    // No grant moves to the new one: dropped, said, and drift (exit 2).
    let plan = run(d, &["plan", "--format", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(
        plan["dashboards"],
        json!([{"note": "gone", "id": "80002", "name": "Cash Flow", "now": "80200"}])
    );
    assert!(!plan["changes"].to_string().contains("\"80200\""), "{plan}");
    let drift = run(d, &["drift"]);
    assert_eq!(drift.status.code(), Some(2), "{}", transcript(&drift));
    assert!(
        String::from_utf8_lossy(&drift.stdout).contains("[high] dashboard #80002, which the lock pins `Cash Flow` to, is gone from the site: its grants are dropped; `Cash Flow` is now #80200: `rolecall lock --update` pins it"),
        "{}",
        transcript(&drift)
    );
    // Pinned again on purpose: the plan grants on the new one.
    let update = run(d, &["lock", "--update"]);
    assert_eq!(update.status.code(), Some(0), "{}", transcript(&update));
    assert!(
        String::from_utf8_lossy(&update.stdout).contains("~ `Cash Flow`: #80002 (gone) -> #80200"),
        "{}",
        transcript(&update)
    );
    let plan = run(d, &["plan", "--format", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    assert!(String::from_utf8_lossy(&plan.stdout).contains("\"80200\""));

    // A `#99` pinned as a name holds when a dashboard with the id 99 appears.
    edit_site(d, |s| {
        let boards = s["dashboards"].as_array_mut().unwrap();
        boards.push(json!({"id": "80101", "name": "#99"}));
    });
    edit_config(
        d,
        "\"#1 Priorities\": [read_dashboards]",
        "\"#1 Priorities\": [read_dashboards]\n      \"#99\": [read_dashboards]",
    );
    assert_eq!(run(d, &["lock", "--update"]).status.code(), Some(0));
    assert_eq!(lock(d)["dashboards"]["#99"], "80101");
    edit_site(d, |s| {
        let boards = s["dashboards"].as_array_mut().unwrap();
        boards.push(json!({"id": "99", "name": "Other"}));
    });
    let plan = run(d, &["plan", "--format", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", transcript(&plan));
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    // The role that grants `#99` (and `#1 Priorities`), on the pinned one.
    let changes = plan["changes"].as_array().unwrap();
    let role = changes
        .iter()
        .find(|c| c["after"]["dashboards"].get("80100").is_some())
        .unwrap_or_else(|| panic!("{plan}"));
    let grants = &role["after"]["dashboards"];
    assert!(
        grants.get("80101").is_some() && grants.get("99").is_none(),
        "{grants}"
    );
}
