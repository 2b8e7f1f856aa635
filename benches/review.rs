//! Benchmark: `rolecall review pack` of a site of 50,000 users, 1,000 roles
//! and 20,000 dashboards (a snapshot, so no fetch), with a directory and an
//! activity log of 50,000 rows each; then with `--effective` (about 2.3
//! million rows of effective access, streamed), and `access --format csv`
//! of the same site, whose output must be byte for byte the pack's
//! `effective-access.csv`. Prints each command's wall time and peak
//! resident memory (from `/usr/bin/time`).
//!
//! Run: `cargo bench --bench review`. Targets on the 2-core machines: the
//! pack under 10 s and 500 MB; with `--effective`, and `access --format
//! csv`, under 300 MB.

#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use rolecall_core::adopt::export::{ExportOptions, Layout, export};
use rolecall_core::kinds::ObjectRef;
use rolecall_core::live::{Live, LiveObject, LiveRole, LiveUser};
use rolecall_core::plan::Taken;

const USERS: usize = 50_000;
const ROLES: usize = 1_000;
const DASHBOARDS: usize = 20_000;
/// Dashboards each role grants: two roles a user, 46 rows of access each.
const GRANTS: usize = 23;

fn role(id: &str, name: &str) -> LiveRole {
    LiveRole {
        id: id.into(),
        name: name.into(),
        description: String::new(),
        privileges: BTreeMap::new(),
        grants: BTreeMap::new(),
        kept: Default::default(),
    }
}

fn site() -> Live {
    let actions = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let mut roles = vec![role("r-admin", "Admin"), role("r-every", "Everyone")];
    for r in 0..ROLES {
        let mut role = role(&format!("r{r:05}"), &format!("Role {r:04}"));
        role.privileges = BTreeMap::from([("Dashboard".into(), actions(&["read_dashboards"]))]);
        role.grants = (0..GRANTS)
            .map(|g| {
                (
                    ObjectRef::dashboard(format!("{}", 100_000 + (r * GRANTS + g) % DASHBOARDS)),
                    actions(&["read_dashboards"]),
                )
            })
            .collect();
        roles.push(role);
    }
    let users = (0..USERS)
        .map(|u| LiveUser {
            id: format!("u{u:06}"),
            email: format!("user{u:06}@team{}.example", u % 50),
            first_name: format!("First{u}"),
            last_name: format!("Last {u}"),
            roles: [
                format!("r{:05}", u % ROLES),
                format!("r{:05}", (u * 7 + 1) % ROLES),
                "r-every".to_string(),
            ]
            .into_iter()
            .chain((u < 3).then(|| "r-admin".to_string()))
            .collect(),
        })
        .collect();
    let objects = (0..DASHBOARDS)
        .map(|d| LiveObject::dashboard(format!("{}", 100_000 + d), format!("Dashboard {d}")))
        .collect();
    Live {
        users,
        roles,
        objects,
    }
}

/// Runs rolecall under `/usr/bin/time`; (wall seconds, peak MB).
fn measure(dir: &Path, args: &[&str], stdout: Option<&Path>) -> (f64, f64) {
    let mut cmd = Command::new("/usr/bin/time");
    cmd.current_dir(dir)
        .args([
            "-f",
            "%e %M",
            "-o",
            "time.txt",
            env!("CARGO_BIN_EXE_rolecall"),
        ])
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ROLECALL_CONFIG");
    if let Some(out) = stdout {
        cmd.stdout(std::fs::File::create(out).unwrap());
    }
    let status = cmd
        .status()
        .expect("run /usr/bin/time (Debian's package `time`)");
    assert!(
        status.code().is_some_and(|c| c == 0 || c == 2),
        "rolecall {args:?}: {status}"
    );
    let text = std::fs::read_to_string(dir.join("time.txt")).unwrap();
    let mut it = text.split_whitespace();
    let secs: f64 = it.next().unwrap().parse().unwrap();
    let kb: f64 = it.next().unwrap().parse().unwrap();
    (secs, kb / 1024.0)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let live = site();
    let taken = Taken {
        endpoint: "https://app.periscopedata.com".into(),
        digest: live.checksum(),
        at: "2026-12-01T06:00:00Z".into(),
    };
    let snapshot = rolecall_engine::snapshot("bench", Some(&taken), &live);
    std::fs::write(
        d.join("site.json"),
        serde_json::to_string(&snapshot).unwrap(),
    )
    .unwrap();
    // The config: the site exported, with review settings.
    let files = export(
        &live,
        &ExportOptions {
            site: "bench".into(),
            actor: "user000000@team0.example".into(),
            layout: Layout::File,
        },
    );
    let (_, text) = files.into_iter().next().unwrap();
    let review = "review:\n  owners:\n    \"Role 00*\": [ciso@acme.example]\n    \"*\": [audit@acme.example]\n  privileged: [\"Role 000*\"]\n  service_accounts: [\"user0000*\"]\n";
    std::fs::write(d.join("rolecall.yaml"), format!("{review}{text}")).unwrap();
    let mut directory = String::from("email,status,left_on\n");
    let mut activity = String::from("email,last_seen,dashboard_id\n");
    for u in 0..USERS {
        let email = format!("user{u:06}@team{}.example", u % 50);
        let status = if u % 100 == 0 { "SUSPENDED" } else { "ACTIVE" };
        let _ = writeln!(directory, "{email},{status},");
        let seen = if u % 20 == 0 {
            "2026-05-01"
        } else {
            "2026-11-20"
        };
        let _ = writeln!(
            activity,
            "{email},{seen},{}",
            100_000 + (u * 13) % DASHBOARDS
        );
    }
    std::fs::write(d.join("directory.csv"), directory).unwrap();
    std::fs::write(d.join("activity.csv"), activity).unwrap();
    let common = [
        "review",
        "pack",
        "--from-snapshot",
        "site.json",
        "--directory",
        "directory.csv",
        "--activity",
        "activity.csv",
        "--activity-since",
        "2026-01-01",
    ];
    let (secs, mb) = measure(d, &[&common[..], &["-o", "pack"]].concat(), None);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("pack/pack.json")).unwrap()).unwrap();
    println!(
        "review pack: {USERS} users, {ROLES} roles, {DASHBOARDS} dashboards, {} population rows, {} findings: {secs:.2} s, peak {mb:.0} MB (targets: 10 s, 500 MB)",
        manifest["counts"]["population"], manifest["counts"]["findings"]
    );
    let (secs, mb) = measure(
        d,
        &[&common[..], &["--effective", "-o", "pack2"]].concat(),
        None,
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("pack2/pack.json")).unwrap()).unwrap();
    println!(
        "review pack --effective: {} rows of effective access: {secs:.2} s, peak {mb:.0} MB (target: 300 MB)",
        manifest["counts"]["effective_rows"]
    );
    let (secs, mb) = measure(
        d,
        &["access", "--from-snapshot", "site.json", "--format", "csv"],
        Some(&d.join("access.csv")),
    );
    let same = std::fs::read(d.join("access.csv")).unwrap()
        == std::fs::read(d.join("pack2/effective-access.csv")).unwrap();
    println!(
        "access --format csv: {secs:.2} s, peak {mb:.0} MB (target: 300 MB); the same bytes as effective-access.csv: {same}"
    );
    assert!(same, "access --format csv and effective-access.csv differ");
    if std::env::var_os("ROLECALL_BENCH_KEEP").is_some() {
        println!("kept: {}", dir.keep().display());
    }
}
