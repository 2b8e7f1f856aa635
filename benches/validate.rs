//! Benchmark: `validate` on a generated config of 50,000 users and 1,000 roles,
//! as one file and split over a directory. Prints wall time and peak memory.
//!
//! Run: `cargo bench --bench validate` (add `-- --users N --roles M` to change
//! the size). Peak memory is each process's own high-water mark (`VmHWM`,
//! Linux), so the numbers need Linux. Targets on the 2-core CI machines: under 1 s and under 200 MB.

#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rolecall_core::config::vocab::ACTIONS;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let users = arg("--users", 50_000);
    let roles = arg("--roles", 1_000);
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(Path::new(&args[i + 1]), users, roles);
    }
    let dir = std::env::temp_dir().join(format!("rolecall-bench-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let (settings, role_text, user_texts) = generate(users, roles);
    let one_file = dir.join("rolecall.yaml");
    let all_users: String = user_texts.concat();
    std::fs::write(
        &one_file,
        format!("{settings}roles:\n{role_text}users:\n{all_users}"),
    )
    .unwrap();
    let split = dir.join("split");
    std::fs::create_dir_all(split.join("teams")).unwrap();
    std::fs::write(split.join("rolecall.yaml"), &settings).unwrap();
    std::fs::write(split.join("roles.yaml"), format!("roles:\n{role_text}")).unwrap();
    for (i, chunk) in user_texts.chunks(1_000).enumerate() {
        std::fs::write(
            split.join(format!("teams/team-{i:03}.yaml")),
            format!("users:\n{}", chunk.concat()),
        )
        .unwrap();
    }
    let size = std::fs::metadata(&one_file).unwrap().len();
    println!(
        "config: {users} users, {roles} roles, {:.1} MB as one file; split: 1 + 1 + {} files",
        size as f64 / 1e6,
        user_texts.len().div_ceil(1_000)
    );
    drop((settings, role_text, user_texts, all_users));

    for (label, path) in [("one file", &one_file), ("directory", &split)] {
        in_process(label, path, users, roles);
    }
    for (label, path) in [("one file", &one_file), ("directory", &split)] {
        binary(label, path);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `load_path` alone, each run in a fresh child process (this benchmark run
/// again with `--child`) so that its peak memory is its own: median of 5.
fn in_process(label: &str, path: &Path, users: usize, roles: usize) {
    let mut runs: Vec<(f64, f64)> = (0..5)
        .map(|_| {
            let output = Command::new(std::env::current_exe().unwrap())
                .arg("--child")
                .arg(path)
                .args(["--users", &users.to_string(), "--roles", &roles.to_string()])
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let text = String::from_utf8_lossy(&output.stdout);
            let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().unwrap());
            (fields.next().unwrap(), fields.next().unwrap())
        })
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let peak = runs.iter().map(|r| r.1).fold(0.0, f64::max);
    println!(
        "load+validate (library), {label:9}: median {:>6.1} ms (min {:.1}, max {:.1}), peak RSS {:.1} MB",
        runs[2].0,
        runs[0].0,
        runs[4].0,
        peak / 1024.0
    );
}

/// The child: load once, print `milliseconds peak-KiB`.
fn child(path: &Path, users: usize, roles: usize) {
    let start = Instant::now();
    let loaded = rolecall_core::load_path(path).unwrap_or_else(|e| panic!("{e}"));
    let elapsed = start.elapsed();
    assert_eq!(loaded.desired.users.len(), users);
    assert_eq!(loaded.desired.roles.len(), roles);
    assert!(
        loaded.warnings.is_empty(),
        "the generated config has warnings"
    );
    println!("{} {}", ms(elapsed), status_kib("VmHWM:").unwrap_or(0));
}

/// The real `rolecall validate`: best wall time of 3 runs, and its peak RSS
/// where `/usr/bin/time` is there to measure it.
fn binary(label: &str, path: &Path) {
    let exe = env!("CARGO_BIN_EXE_rolecall");
    let time = Path::new("/usr/bin/time");
    let mut best = Duration::MAX;
    let mut max_rss = None;
    for _ in 0..3 {
        let start = Instant::now();
        let output = if time.exists() {
            Command::new(time)
                .args(["-f", "%M"])
                .arg(exe)
                .arg("validate")
                .arg("-f")
                .arg(path)
                .output()
        } else {
            Command::new(exe)
                .arg("validate")
                .arg("-f")
                .arg(path)
                .output()
        }
        .unwrap();
        best = best.min(start.elapsed());
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        if time.exists() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            max_rss = stderr
                .lines()
                .last()
                .and_then(|l| l.trim().parse::<u64>().ok());
        }
    }
    let rss = max_rss.map_or("n/a (no /usr/bin/time)".to_string(), |k| {
        format!("{:.1} MB", k as f64 / 1024.0)
    });
    println!(
        "`rolecall validate` binary, {label:9}: best   {:>6.1} ms, peak RSS {rss}",
        ms(best)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Settings, the `roles:` body, and one `users:` entry per user.
fn generate(users: usize, roles: usize) -> (String, String, Vec<String>) {
    let settings = "site: bench\nactor: admin0@bench.example\nprune:\n  users: strip\n  roles: delete\nlimits:\n  max_deletes: \"5%\"\n".to_string();
    let mut role_text = String::new();
    for r in 0..roles {
        let a = ACTIONS[1 + r % (ACTIONS.len() - 1)];
        let b = ACTIONS[1 + (r + 3) % (ACTIONS.len() - 1)];
        let _ = write!(
            role_text,
            "  Role {r:04}:\n    description: Generated role number {r} for the benchmark\n    privileges:\n      Dashboard: [read_dashboards, {a}]\n    dashboards:\n      \"#{}\": [read_dashboards, {b}]\n      Dashboard {}: [read_dashboards]\n",
            10_000 + r,
            r % 500
        );
    }
    let user_texts = (0..users)
        .map(|u| {
            let roles_of = if u == 0 {
                "Admin".to_string()
            } else {
                format!("Role {:04}, Role {:04}, Role {:04}", u % roles, (u + 1) % roles, (u + 2) % roles)
            };
            let local = if u == 0 { "admin0".to_string() } else { format!("user{u}") };
            format!("  {local}@bench.example:\n    first_name: First{u}\n    last_name: Last{u}\n    roles: [{roles_of}]\n")
        })
        .collect();
    (settings, role_text, user_texts)
}
