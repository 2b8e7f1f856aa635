//! What the `apply` and `pace` benchmarks share: a site, a config of user
//! creates, an emulator, and `rolecall apply` timed.

#![allow(dead_code, reason = "each benchmark uses a part")]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use periscope_emulator::{Faults, Options, Role, Snapshot, User};

/// Admin and Everyone, as every site has them.
pub(crate) fn builtin_roles() -> Vec<Role> {
    ["Admin", "Everyone"]
        .into_iter()
        .map(|name| Role {
            id: periscope_emulator::Id(format!("r-{}", &name.to_lowercase()[..5])),
            name: name.into(),
            description: String::new(),
            privileges: vec![],
            permissions: vec![],
        })
        .collect()
}

pub(crate) fn site(roles: usize) -> Snapshot {
    let mut all = builtin_roles();
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

pub(crate) fn config(users: usize, roles: usize) -> String {
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

pub(crate) fn emulator(roles: usize, faults: Faults) -> periscope_emulator::Emulator {
    periscope_emulator::spawn(Options {
        seed: Some(site(roles)),
        faults,
        log_capacity: 1_000_000,
        ..Options::default()
    })
    .unwrap()
}

/// What one `rolecall apply` run came to.
pub(crate) struct Applied {
    pub seconds: f64,
    /// The `pace:` line of its report.
    pub pace: String,
}

/// `rolecall ARGS -f DIR/rolecall.yaml` against `emu` (site `bench`), with
/// `ROLECALL_BENCH_FLAGS` added (e.g. `-vv`, to see the pace decide).
pub(crate) fn rolecall(
    emu: &periscope_emulator::Emulator,
    dir: &Path,
    args: &[&str],
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .args(args)
        .args(
            std::env::var("ROLECALL_BENCH_FLAGS")
                .ok()
                .as_deref()
                .map(str::split_whitespace)
                .into_iter()
                .flatten(),
        )
        .arg("-f")
        .arg(dir.join("rolecall.yaml"))
        .env("ROLECALL_ENDPOINT", emu.url())
        .env("PERISCOPE_SITE", "bench")
        .env("PERISCOPE_API_KEY", "bench-key")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

pub(crate) fn apply(emu: &periscope_emulator::Emulator, dir: &Path, flags: &[&str]) -> Applied {
    let start = Instant::now();
    let args: Vec<&str> = ["apply", "--auto-approve"]
        .into_iter()
        .chain(flags.iter().copied())
        .collect();
    let output = rolecall(emu, dir, &args);
    let seconds = start.elapsed().as_secs_f64();
    // `ROLECALL_BENCH_STDERR=FILE`: what the last apply printed on stderr.
    if let Some(path) = std::env::var_os("ROLECALL_BENCH_STDERR") {
        std::fs::write(path, &output.stderr).unwrap();
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let pace = stderr
        .lines()
        .find(|l| l.starts_with("pace: "))
        .unwrap_or("pace: (no report)")
        .to_string();
    Applied { seconds, pace }
}

/// A fixed latency, or none.
pub(crate) fn latency(ms: u64) -> Option<(Duration, Duration)> {
    (ms > 0).then(|| (Duration::from_millis(ms), Duration::from_millis(ms)))
}
