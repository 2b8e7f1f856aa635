//! Benchmark: `rolecall plan` for a site of 50,000 users, 1,000 roles and
//! 20,000 dashboards, read from the emulator with pages of 100; the diff
//! alone for that site; and the diff alone for 200,000 users.
//!
//! The emulator runs in this process; `rolecall plan` runs as a child with
//! credentials, so its wall time and peak memory are its own.
//!
//! Run: `cargo bench --bench plan`. Targets on the 2-core machines: the diff
//! under 1 s for 200,000 users; the whole plan under 5 s and 500 MB.

#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use periscope_emulator::{Dashboard, Id, Options, Permission, Privilege, Role, Snapshot, User};
use rolecall_core::kinds::ObjectRef;
use rolecall_core::live::{Live, LiveObject, LiveRole, LiveUser};
use rolecall_core::plan::{Selection, diff};

const ROLES: usize = 1_000;
const DASHBOARDS: usize = 20_000;

/// The site and a config that differs from it in about 1% of users and roles.
mod common;

fn generate(users: usize) -> (Snapshot, String) {
    let mut roles = common::builtin_roles();
    let mut yaml = String::from(
        "site: bench\nactor: admin@bench.example\nlimits:\n  max_revokes: 100000\nroles:\n",
    );
    for r in 0..ROLES {
        let (d1, d2) = (r * 20 % DASHBOARDS, (r * 20 + 7) % DASHBOARDS);
        roles.push(Role {
            id: Id(format!("r{r:05}")),
            name: format!("Role {r:04}"),
            description: format!("Generated role {r}"),
            privileges: vec![Privilege {
                object_type: "Dashboard".into(),
                permissions: vec!["read_dashboards".into(), "download_pdf".into()],
            }],
            permissions: vec![
                Permission {
                    object_type: "Dashboard".into(),
                    object_id: Id(format!("{}", 100_000 + d1)),
                    permissions: vec!["read_dashboards".into()],
                },
                Permission {
                    object_type: "Dashboard".into(),
                    object_id: Id(format!("{}", 100_000 + d2)),
                    permissions: vec!["email_reports".into()],
                },
            ],
        });
        let extra = if r % 100 == 0 { ", email_reports" } else { "" };
        let _ = write!(
            yaml,
            "  Role {r:04}:\n    description: Generated role {r}\n    privileges:\n      Dashboard: [read_dashboards, download_pdf{extra}]\n    dashboards:\n      \"#{}\": [read_dashboards]\n      \"#{}\": [email_reports]\n",
            100_000 + d1,
            100_000 + d2
        );
    }
    yaml.push_str("users:\n  admin@bench.example:\n    first_name: A\n    last_name: Admin\n    roles: [Admin]\n");
    let mut all_users = vec![User {
        id: "u-admin".into(),
        email: "admin@bench.example".into(),
        first_name: "A".into(),
        last_name: "Admin".into(),
        roles: vec!["r-admin".into(), "r-every".into()],
    }];
    for u in 0..users {
        let (a, b) = (u % ROLES, (u * 7 + 3) % ROLES);
        all_users.push(User {
            id: Id(format!("u{u:07}")),
            email: format!("user{u}@bench.example"),
            first_name: format!("First{u}"),
            last_name: format!("Last{u}"),
            roles: vec![
                Id(format!("r{a:05}")),
                Id(format!("r{b:05}")),
                "r-every".into(),
            ],
        });
        // 1% of users move to another role.
        let b = if u % 100 == 0 { (b + 1) % ROLES } else { b };
        let _ = write!(
            yaml,
            "  user{u}@bench.example:\n    first_name: First{u}\n    last_name: Last{u}\n    roles: [Role {a:04}, Role {b:04}]\n"
        );
    }
    let dashboards = (0..DASHBOARDS)
        .map(|d| Dashboard {
            id: Id(format!("{}", 100_000 + d)),
            name: format!("Dashboard {d}"),
        })
        .collect();
    (
        Snapshot {
            site: "bench".into(),
            api_key: Some("bench-key".into()),
            users: all_users,
            roles,
            dashboards,
        },
        yaml,
    )
}

fn to_live(s: &Snapshot) -> Live {
    Live {
        users: s
            .users
            .iter()
            .map(|u| LiveUser {
                id: u.id.0.clone(),
                email: u.email.clone(),
                first_name: u.first_name.clone(),
                last_name: u.last_name.clone(),
                roles: u.roles.iter().map(|r| r.0.clone()).collect(),
            })
            .collect(),
        roles: s
            .roles
            .iter()
            .map(|r| LiveRole {
                id: r.id.0.clone(),
                name: r.name.clone(),
                description: r.description.clone(),
                privileges: r
                    .privileges
                    .iter()
                    .map(|p| {
                        (
                            p.object_type.clone(),
                            p.permissions.iter().cloned().collect(),
                        )
                    })
                    .collect::<BTreeMap<_, BTreeSet<_>>>(),
                grants: r
                    .permissions
                    .iter()
                    .map(|p| {
                        (
                            ObjectRef::dashboard(p.object_id.0.clone()),
                            p.permissions.iter().cloned().collect(),
                        )
                    })
                    .collect(),
                kept: Default::default(),
            })
            .collect(),
        objects: s
            .dashboards
            .iter()
            .map(|d| LiveObject::dashboard(d.id.0.clone(), d.name.clone()))
            .collect(),
    }
}

/// The diff alone, in this process: best of 3.
fn diff_alone(label: &str, snapshot: &Snapshot, yaml: &str) {
    let loaded = rolecall_core::load_texts(vec![("bench.yaml".into(), yaml.to_string())])
        .unwrap_or_else(|e| panic!("{e}"));
    let live = to_live(snapshot);
    let mut best = f64::MAX;
    let mut changes = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let plan = diff(
            &loaded.desired,
            &loaded.sources,
            &live,
            &Selection::default(),
        )
        .unwrap_or_else(|e| panic!("{}", e.len()));
        best = best.min(start.elapsed().as_secs_f64());
        changes = plan.changes.len();
    }
    println!(
        "diff alone, {label}: {:.0} ms ({changes} changes)",
        best * 1e3
    );
    // What the access section adds: the plan's effect on people.
    let mut plan = diff(
        &loaded.desired,
        &loaded.sources,
        &live,
        &Selection::default(),
    )
    .unwrap_or_else(|e| panic!("{}", e.len()));
    let start = Instant::now();
    rolecall_core::access::annotate(&mut plan, &live, 100);
    let effect = &rolecall_core::access::effect(&live, &plan);
    println!(
        "access section of that plan, {label}: {:.0} ms ({} gained, {} lost)",
        start.elapsed().as_secs_f64() * 1e3,
        effect.gained.len(),
        effect.lost.len()
    );
    // `rolecall access --dashboard` and `--user`, after the fetch.
    let evaluator =
        rolecall_core::access::Evaluator::new(&live, rolecall_core::access::Model::CrossRole);
    let start = Instant::now();
    let on_dashboard = evaluator.dashboard(&live.objects[7].id).len();
    let dashboard_ms = start.elapsed().as_secs_f64() * 1e3;
    let start = Instant::now();
    let of_user = evaluator
        .user(&live.users[live.users.len() / 2], None)
        .len();
    println!(
        "access, {label}: one dashboard {dashboard_ms:.0} ms ({on_dashboard} entries), one user {:.1} ms ({of_user} entries)",
        start.elapsed().as_secs_f64() * 1e3
    );
}

fn main() {
    let dir = std::env::temp_dir().join(format!("rolecall-bench-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let (snapshot, yaml) = generate(50_000);
    let config = dir.join("rolecall.yaml");
    std::fs::write(&config, &yaml).unwrap();
    diff_alone(
        "50,000 users, 1,000 roles, 20,000 dashboards",
        &snapshot,
        &yaml,
    );

    let emulator = periscope_emulator::spawn(Options {
        seed: Some(snapshot),
        log_capacity: 10,
        ..Options::default()
    })
    .unwrap();
    let exe = env!("CARGO_BIN_EXE_rolecall");
    let time = Path::new("/usr/bin/time");
    for run in 0..2 {
        let mut cmd = if time.exists() {
            let mut c = Command::new(time);
            c.args(["-f", "%M"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(["plan", "--format", "json", "-f"])
            .arg(&config)
            .env("ROLECALL_ENDPOINT", emulator.url())
            .env("PERISCOPE_SITE", "bench")
            .env("PERISCOPE_API_KEY", "bench-key");
        let start = Instant::now();
        let output = cmd.output().unwrap();
        let elapsed = start.elapsed().as_secs_f64();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let rss = String::from_utf8_lossy(&output.stderr)
            .lines()
            .last()
            .and_then(|l| l.trim().parse::<u64>().ok())
            .map_or("n/a (no /usr/bin/time)".to_string(), |k| {
                format!("{:.1} MB", k as f64 / 1024.0)
            });
        println!(
            "`rolecall plan` run {}: {:.2} s wall, peak RSS {rss}, {} changes",
            run + 1,
            elapsed,
            plan["changes"].as_array().map_or(0, Vec::len)
        );
    }
    drop(emulator);

    let (snapshot, yaml) = generate(200_000);
    diff_alone("200,000 users", &snapshot, &yaml);
    std::fs::remove_dir_all(&dir).ok();
}
