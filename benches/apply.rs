//! Benchmark: `rolecall apply` at its defaults (no flag) against the
//! emulator, the adaptive pace against three kinds of server.
//!
//! 1. 5,000 user creates and 500 role updates at 20 ms latency per call:
//!    (a) one request at a time, as the vendor's bulk-CSV example does (the
//!    same HTTP client, sequential awaits), and (b) `rolecall apply`.
//!    Target: (b) at least 15x faster than (a).
//! 2. A token bucket of 50 and of 10 requests/second, with no added latency
//!    and with 20 ms: 2,000 creates each. Target: within 10% of the ideal
//!    (successful requests / rate), no failed operation, `429`s under 5% of
//!    requests.
//! 3. A server with capacity C = 16 (latency grows with requests in flight
//!    beyond C): the concurrency the controller settles on, and p50/p99
//!    latency, against a run at exactly `--parallelism 16`.
//!
//! Each line gives the concurrency the controller settled on (its `pace:`
//! line). Run: `cargo bench --bench apply` (about 10 minutes; `-- --quick`
//! divides the work by 10; `-- --part N` runs only part N, `-- --rate R`
//! only that bucket of part 2).

#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::time::Instant;

use periscope_client::{ApiKey, ClientConfig, Credentials, Id, NewUser, RoleUpdate, Writer};
use periscope_emulator::Faults;

mod common;
use common::{apply, config, emulator, latency};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let part: Option<u32> = std::env::args()
        .skip_while(|a| a != "--part")
        .nth(1)
        .map(|p| p.parse().unwrap());
    let scale = if quick { 10 } else { 1 };
    let dir = std::env::temp_dir().join(format!("rolecall-bench-apply-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    if part.is_none_or(|p| p == 1) {
        compare(5_000 / scale, 500 / scale, &dir);
    }
    if part.is_none_or(|p| p == 2) {
        rate_limited(2_000 / scale, &dir);
    }
    if part.is_none_or(|p| p == 3) {
        capacity(2_000 / scale, 16, &dir);
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn compare(users: usize, roles: usize, dir: &std::path::Path) {
    println!("1. {users} user creates + {roles} role updates, 20 ms latency per call");
    std::fs::write(dir.join("rolecall.yaml"), config(users, roles)).unwrap();
    let faults = Faults {
        latency: latency(20),
        ..Faults::default()
    };
    // (a) One request at a time.
    let emu = emulator(roles, faults.clone());
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
    println!("   (a) sequential, one request at a time: {sequential:.1} s");
    drop(emu);

    // (b) rolecall apply, no flag.
    let emu = emulator(roles, faults);
    let applied = apply(&emu, dir, &[]);
    println!(
        "   (b) rolecall apply (no flag): {:.1} s, {:.1}x faster than (a); {}",
        applied.seconds,
        sequential / applied.seconds,
        applied.pace
    );
}

fn rate_limited(users: usize, dir: &std::path::Path) {
    println!("2. {users} user creates against a token bucket");
    std::fs::write(dir.join("rolecall.yaml"), config(users, 1)).unwrap();
    let only: Option<f64> = std::env::args()
        .skip_while(|a| a != "--rate")
        .nth(1)
        .map(|r| r.parse().unwrap());
    for rate in [50.0, 10.0]
        .into_iter()
        .filter(|r| only.is_none_or(|o| o == *r))
    {
        for ms in [0, 20] {
            let emu = emulator(
                1,
                Faults {
                    rate_limit: Some(rate),
                    latency: latency(ms),
                    ..Faults::default()
                },
            );
            let applied = apply(&emu, dir, &[]);
            let requests = emu.requests();
            let limited = requests.iter().filter(|r| r.status == Some(429)).count();
            let served = requests.len() - limited;
            // The bucket starts with one second's worth.
            let ideal = (served as f64 - rate) / rate;
            println!(
                "   {rate:>2}/s, {ms:>2} ms: {:.1} s, ideal {ideal:.1} s ({:+.1}%); {served} served, {limited} 429s ({:.1}% of requests); {}",
                applied.seconds,
                (applied.seconds / ideal - 1.0) * 100.0,
                limited as f64 * 100.0 / requests.len() as f64,
                applied.pace
            );
        }
    }
}

/// p50 and p99 of the emulator's answer times, in ms.
fn percentiles(emu: &periscope_emulator::Emulator) -> (f64, f64) {
    let mut ms: Vec<f64> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.duration.as_secs_f64() * 1e3)
        .collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}

fn capacity(users: usize, capacity: usize, dir: &std::path::Path) {
    println!(
        "3. {users} user creates, 20 ms latency, a server of capacity {capacity} (latency x in flight / {capacity} beyond it)"
    );
    std::fs::write(dir.join("rolecall.yaml"), config(users, 1)).unwrap();
    let faults = Faults {
        latency: latency(20),
        capacity: Some(capacity),
        ..Faults::default()
    };
    let fixed = capacity.to_string();
    for (label, flags) in [
        ("no flag", vec![]),
        ("--parallelism C", vec!["--parallelism", fixed.as_str()]),
    ] {
        let emu = emulator(1, faults.clone());
        let applied = apply(&emu, dir, &flags);
        let (p50, p99) = percentiles(&emu);
        println!(
            "   {label:<16} {:.1} s, p50 {p50:.0} ms, p99 {p99:.0} ms; {}",
            applied.seconds, applied.pace
        );
    }
}
