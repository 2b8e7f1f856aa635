//! Benchmark: `export` of a site of 50,000 users, 1,000 roles and 20,000
//! dashboards (the writing alone, the fetch excluded), and `import-csv` of
//! 100,000 rows. Prints wall time and the growth of peak memory.
//!
//! Run: `cargo bench --bench export`. Targets on the 2-core machines: the
//! export under 3 s and 300 MB; the import under 1 s.

#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Instant;

use rolecall_core::adopt::export::{ExportOptions, Layout, SplitUsers, export};
use rolecall_core::adopt::import_csv::{CsvOptions, read, yaml};
use rolecall_core::kinds::ObjectRef;
use rolecall_core::live::{Live, LiveObject, LiveRole, LiveUser};

const USERS: usize = 50_000;
const ROLES: usize = 1_000;
const DASHBOARDS: usize = 20_000;

/// Peak resident memory of this process so far, in MB.
fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn site() -> Live {
    let dashboards = (0..DASHBOARDS)
        .map(|d| {
            // One name in ten is shared, so some grants are written by id.
            let name = format!("Dashboard {}", if d % 10 == 0 { d / 2 } else { d });
            LiveObject::dashboard(format!("{}", 100_000 + d), name)
        })
        .collect();
    let mut roles = vec![
        LiveRole {
            id: "r-admin".into(),
            name: "Admin".into(),
            description: String::new(),
            privileges: BTreeMap::new(),
            grants: BTreeMap::new(),
            kept: Default::default(),
        },
        LiveRole {
            id: "r-every".into(),
            name: "Everyone".into(),
            description: String::new(),
            privileges: BTreeMap::new(),
            grants: BTreeMap::new(),
            kept: Default::default(),
        },
    ];
    let actions = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    for r in 0..ROLES {
        roles.push(LiveRole {
            id: format!("r{r:05}"),
            name: format!("Role {r:04}"),
            description: format!("Generated role {r}: \"quoted\", with: colons"),
            privileges: BTreeMap::from([(
                "Dashboard".into(),
                actions(&["read_dashboards", "download_pdf"]),
            )]),
            grants: (0..20)
                .map(|g| {
                    (
                        ObjectRef::dashboard(format!("{}", 100_000 + (r * 20 + g) % DASHBOARDS)),
                        actions(&["read_dashboards"]),
                    )
                })
                .collect(),
            kept: Default::default(),
        });
    }
    let users = (0..USERS)
        .map(|u| LiveUser {
            id: format!("u{u:06}"),
            email: format!("user{u:06}@team{}.example", u % 50),
            first_name: format!("First{u}"),
            last_name: format!("Last {u}"),
            roles: [
                format!("r{:05}", u % ROLES),
                format!("r{:05}", (u * 7) % ROLES),
                "r-every".to_string(),
            ]
            .into_iter()
            .chain((u == 0).then(|| "r-admin".to_string()))
            .collect(),
        })
        .collect();
    Live {
        users,
        roles,
        objects: dashboards,
    }
}

fn main() {
    let live = site();
    let before = peak_mb();
    for (name, layout) in [
        ("one file", Layout::File),
        (
            "directory, users by domain",
            Layout::Dir(SplitUsers::ByDomain),
        ),
    ] {
        let started = Instant::now();
        let files = export(
            &live,
            &ExportOptions {
                site: "bench".into(),
                actor: "user000000@team0.example".into(),
                layout,
            },
        );
        let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
        println!(
            "export, {name}: {USERS} users, {ROLES} roles, {DASHBOARDS} dashboards: {:.0} ms, {} files, {:.1} MB of YAML, peak memory +{:.0} MB",
            started.elapsed().as_secs_f64() * 1e3,
            files.len(),
            bytes as f64 / 1e6,
            peak_mb() - before
        );
    }

    let mut csv = String::from("Name,Email,Roles\n");
    for i in 0..100_000 {
        let _ = writeln!(
            csv,
            "\"Person {i} Middle\",person{i}@acme.example,Viewer;Team {}",
            i % 100
        );
    }
    let started = Instant::now();
    let import = read(&csv, &CsvOptions::default());
    let text = yaml(&import.users, true);
    println!(
        "import-csv, 100000 rows: {:.0} ms ({} users, {} problems, {:.1} MB of YAML)",
        started.elapsed().as_secs_f64() * 1e3,
        import.users.len(),
        import.problems.len(),
        text.len() as f64 / 1e6
    );
}
