//! Benchmark: 5,000 user creates and 500 role updates against the emulator
//! with 20 ms latency per call.
//!
//! (a) one request at a time, as the vendor's bulk-CSV example does (the same
//!     HTTP client, sequential awaits);
//! (b) `rolecall apply --auto-approve` at its default settings.
//! Then, against an emulator limited to 50 requests/second, `rolecall apply`
//! time against the ideal (operations / 50) and the `429`s it received.
//!
//! Run: `cargo bench --bench apply` (several minutes; `-- --quick` divides
//! the work by 10; `-- --rate-only` runs only the rate-limited part). Targets: (b) at least 8x faster than (a); under the rate
//! limit, within 15% of the ideal.

#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use periscope_client::{ApiKey, ClientConfig, Credentials, Id, NewUser, RoleUpdate, Writer};
use periscope_emulator::{Faults, Options, Role, Snapshot, User};

fn site(roles: usize) -> Snapshot {
    let mut all = vec![
        Role {
            id: "r-admin".into(),
            name: "Admin".into(),
            description: String::new(),
            privileges: vec![],
            permissions: vec![],
        },
        Role {
            id: "r-every".into(),
            name: "Everyone".into(),
            description: String::new(),
            privileges: vec![],
            permissions: vec![],
        },
    ];
    all.extend((0..roles).map(|r| Role {
        id: periscope_emulator::Id(format!("r{r:04}")),
        name: format!("Role {r:04}"),
        description: "old".into(),
        privileges: vec![],
        permissions: vec![],
    }));
    Snapshot {
        site: "bench".into(),
        api_key: Some("bench-key".into()),
        users: vec![User {
            id: "u-admin".into(),
            email: "admin@bench.example".into(),
            first_name: "A".into(),
            last_name: "Admin".into(),
            roles: vec!["r-admin".into()],
        }],
        roles: all,
        dashboards: vec![],
    }
}

fn config(users: usize, roles: usize) -> String {
    let mut yaml = String::from("site: bench\nactor: admin@bench.example\nroles:\n");
    for r in 0..roles {
        let _ = writeln!(yaml, "  Role {r:04}:\n    description: new");
    }
    yaml.push_str("users:\n  admin@bench.example:\n    roles: [Admin]\n");
    for u in 0..users {
        let _ = writeln!(
            yaml,
            "  user{u}@bench.example:\n    first_name: U\n    last_name: \"{u}\"\n    roles: [Role {:04}]",
            u % roles
        );
    }
    yaml
}

fn emulator(roles: usize, faults: Faults) -> periscope_emulator::Emulator {
    periscope_emulator::spawn(Options {
        seed: Some(site(roles)),
        faults,
        log_capacity: 1_000_000,
        ..Options::default()
    })
    .unwrap()
}

fn apply(emu: &periscope_emulator::Emulator, dir: &std::path::Path, parallelism: &str) -> f64 {
    let start = Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .args([
            "apply",
            "--auto-approve",
            "-q",
            "--parallelism",
            parallelism,
            "-f",
        ])
        .arg(dir.join("rolecall.yaml"))
        .env("ROLECALL_ENDPOINT", emu.url())
        .env("PERISCOPE_SITE", "bench")
        .env("PERISCOPE_API_KEY", "bench-key")
        .output()
        .unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rate_only = std::env::args().any(|a| a == "--rate-only");
    let (users, roles) = if quick { (500, 50) } else { (5_000, 500) };
    let latency = Faults {
        latency: Some((Duration::from_millis(20), Duration::from_millis(20))),
        ..Faults::default()
    };
    let dir = std::env::temp_dir().join(format!("rolecall-bench-apply-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rolecall.yaml"), config(users, roles)).unwrap();
    println!(
        "apply benchmark: {users} user creates + {roles} role updates, 20 ms latency per call"
    );

    if !rate_only {
        compare(users, roles, &latency, &dir);
    }
    rate_limited(users, roles, latency, &dir);
    std::fs::remove_dir_all(&dir).ok();
}

fn compare(users: usize, roles: usize, latency: &Faults, dir: &std::path::Path) {
    // (a) One request at a time.
    let emu = emulator(roles, latency.clone());
    let mut cfg = ClientConfig::new(
        emu.url(),
        Credentials::new("bench", ApiKey::new("bench-key")),
    );
    cfg.rate_limit = None;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    runtime.block_on(async {
        let writer = Writer::new(&cfg, false).unwrap();
        for r in 0..roles {
            let update = RoleUpdate {
                updated_by_email: "admin@bench.example".into(),
                description: Some("new".into()),
                ..RoleUpdate::default()
            };
            writer
                .update_role(&Id(format!("r{r:04}")), &update)
                .await
                .unwrap();
        }
        for u in 0..users {
            let user = NewUser {
                first_name: "U".into(),
                last_name: u.to_string(),
                email: format!("user{u}@bench.example"),
                roles: vec![Id(format!("r{:04}", u % roles))],
                invited_by_email: "admin@bench.example".into(),
            };
            writer.create_user(&user).await.unwrap();
        }
    });
    let sequential = start.elapsed().as_secs_f64();
    println!("(a) sequential, one request at a time: {sequential:.1} s");
    drop(emu);

    // (b) rolecall apply, default settings.
    let emu = emulator(roles, latency.clone());
    let applied = apply(&emu, dir, "8");
    println!(
        "(b) rolecall apply (default --parallelism 8): {applied:.1} s, {:.1}x faster than (a)",
        sequential / applied
    );
    drop(emu);
    // 8 calls in flight at 20 ms each make 8x the ceiling at the default.
    let emu = emulator(roles, latency.clone());
    let applied = apply(&emu, dir, "16");
    println!(
        "    rolecall apply --parallelism 16: {applied:.1} s, {:.1}x faster than (a)",
        sequential / applied
    );
}

fn rate_limited(users: usize, roles: usize, latency: Faults, dir: &std::path::Path) {
    // Under a 50 requests/second limit (a tenth of the work, to keep it short).
    let (users, roles) = (users / 10, roles / 10);
    std::fs::write(dir.join("rolecall.yaml"), config(users, roles)).unwrap();
    let emu = emulator(
        roles,
        Faults {
            rate_limit: Some(50.0),
            ..latency
        },
    );
    let applied = apply(&emu, dir, "8");
    let requests = emu.requests();
    let limited = requests.iter().filter(|r| r.status == Some(429)).count();
    let writes = requests
        .iter()
        .filter(|r| r.method != "GET" && r.status != Some(429))
        .count();
    let ideal = (users + roles) as f64 / 50.0;
    println!(
        "rate limited to 50/s: {} operations in {applied:.1} s, ideal {ideal:.1} s ({:+.0}%), {limited} 429s received, {} requests in all",
        users + roles,
        (applied / ideal - 1.0) * 100.0,
        requests.len()
    );
    let _ = writes;
}
