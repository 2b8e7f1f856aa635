//! Benchmark: the pace against `429`s this client did not cause, side by
//! side with the polite loop a user would write by hand (one request at a
//! time; on `429`, sleep `Retry-After` and send that one again), against
//! the emulator.
//!
//! 1. 400 user creates, 20 ms latency, 10% of answers `429` at random
//!    (`Retry-After: 1`): the polite loop against `rolecall apply`.
//!    Goal: apply at least 10x faster.
//! 2. Reading users, roles and dashboards page by page (about 130 pages),
//!    20 ms latency, 10% random `429`s: a polite sequential reader against
//!    `rolecall plan`. Goal: plan within 1.3x of the reader.
//! 3. 400 creates against a token bucket of 50/s with a burst of 10 and
//!    `Retry-After` in whole seconds, no latency: `rolecall apply` against
//!    the ideal, (400 - 10) / 50 = 7.8 s. Goal: within 1.10x.
//! 4. 400 creates at 50 ms latency, no fault: the polite loop against
//!    `rolecall apply`. Goal: apply at least 15x faster.
//! 5. Parts 1 and 3 at once: 400 creates against a bucket of 50/s (burst
//!    10), 20 ms, and 10% random `429`s: `rolecall apply` against the ideal
//!    plus the one `Retry-After` a randomly refused last call costs (8.8 s).
//!
//! Run: `cargo bench --bench pace` (about 2 minutes; `-- --part N` runs
//! part N only).

#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use periscope_emulator::{Dashboard, Emulator, Faults, Options, User};

mod common;
use common::{apply, config, latency, rolecall, site};

const AUTH: &str = "HTTP-X-PARTNER-AUTH";
const CREATES: usize = 400;

fn main() {
    let part: Option<u32> = std::env::args()
        .skip_while(|a| a != "--part")
        .nth(1)
        .map(|p| p.parse().unwrap());
    let dir = std::env::temp_dir().join(format!("rolecall-bench-pace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = |n: u32| part.is_none_or(|p| p == n);
    println!(
        "{:<58} {:>9} {:>9} {:>8}  goal",
        "case", "polite", "rolecall", "ratio"
    );
    if run(1) {
        let faults = Faults {
            latency: latency(20),
            shed_rate: 0.1,
            ..Faults::default()
        };
        writes(
            &runtime,
            &dir,
            "1. 400 creates, 20 ms, 10% random 429s",
            &faults,
            "speedup >= 10x",
        );
    }
    if run(2) {
        reads(&runtime, &dir);
    }
    if run(3) {
        std::fs::write(dir.join("rolecall.yaml"), config(CREATES, 1)).unwrap();
        let emu = emulator(Faults {
            rate_limit: Some(50.0),
            rate_burst: Some(10.0),
            ..Faults::default()
        });
        let applied = apply(&emu, &dir, &[]);
        let ideal = (CREATES as f64 - 10.0) / 50.0;
        println!(
            "{:<58} {:>8.1}s {:>8.1}s {:>7.2}x  <= 1.10x of ideal",
            "3. 400 creates, bucket 50/s burst 10, whole-second 429s",
            ideal,
            applied.seconds,
            applied.seconds / ideal
        );
        println!("   {}", applied.pace);
    }
    if run(5) {
        std::fs::write(dir.join("rolecall.yaml"), config(CREATES, 1)).unwrap();
        let ideal = (CREATES as f64 - 10.0) / 50.0 + 1.0;
        for seed in [7, 3, 5] {
            let emu = emulator_seeded(
                Faults {
                    latency: latency(20),
                    shed_rate: 0.1,
                    rate_limit: Some(50.0),
                    rate_burst: Some(10.0),
                    ..Faults::default()
                },
                seed,
            );
            let applied = apply(&emu, &dir, &[]);
            println!(
                "{:<58} {:>8.1}s {:>8.1}s {:>7.2}x  <= 1.25x of ideal",
                format!("5. bucket 50/s + 10% random 429s, 20 ms (seed {seed})"),
                ideal,
                applied.seconds,
                applied.seconds / ideal
            );
        }
    }
    if run(4) {
        let faults = Faults {
            latency: latency(50),
            ..Faults::default()
        };
        writes(
            &runtime,
            &dir,
            "4. 400 creates, 50 ms, no fault",
            &faults,
            "speedup >= 15x",
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn emulator(faults: Faults) -> Emulator {
    emulator_with(faults, site(1), 100)
}

fn emulator_seeded(faults: Faults, rng_seed: u64) -> Emulator {
    periscope_emulator::spawn(Options {
        seed: Some(site(1)),
        faults,
        rng_seed,
        log_capacity: 1_000_000,
        ..Options::default()
    })
    .unwrap()
}

fn emulator_with(faults: Faults, seed: periscope_emulator::Snapshot, page_size: usize) -> Emulator {
    periscope_emulator::spawn(Options {
        seed: Some(seed),
        faults,
        page_size,
        log_capacity: 1_000_000,
        ..Options::default()
    })
    .unwrap()
}

/// The polite loop against `rolecall apply`, each on a new emulator.
fn writes(runtime: &tokio::runtime::Runtime, dir: &Path, case: &str, faults: &Faults, goal: &str) {
    std::fs::write(dir.join("rolecall.yaml"), config(CREATES, 1)).unwrap();
    let emu = emulator(faults.clone());
    let started = Instant::now();
    runtime.block_on(polite_creates(&emu.url(), CREATES));
    let polite = started.elapsed().as_secs_f64();
    let emu = emulator(faults.clone());
    let applied = apply(&emu, dir, &[]);
    println!(
        "{case:<58} {polite:>8.1}s {:>8.1}s {:>7.1}x  {goal}",
        applied.seconds,
        polite / applied.seconds
    );
    println!("   {}", applied.pace);
}

/// Users, roles and dashboards read page by page: the polite reader against
/// `rolecall plan`.
fn reads(runtime: &tokio::runtime::Runtime, dir: &Path) {
    let mut seed = site(1);
    seed.users.extend((0..250).map(|u| User {
        id: periscope_emulator::Id(format!("u{u:05}")),
        email: format!("user{u}@bench.example"),
        first_name: "U".into(),
        last_name: u.to_string(),
        roles: vec!["r0000".into()],
    }));
    seed.dashboards = (0..10)
        .map(|d| Dashboard {
            id: periscope_emulator::Id(format!("d{d}")),
            name: format!("Dashboard {d}"),
        })
        .collect();
    // The config holds the site as it is: the plan is empty, all reading.
    let mut yaml = String::from(
        "site: bench\nactor: admin@bench.example\nusers:\n  admin@bench.example:\n    roles: [Admin]\n",
    );
    for u in 0..250 {
        let _ = writeln!(
            yaml,
            "  user{u}@bench.example:\n    first_name: U\n    last_name: \"{u}\"\n    roles: [Role 0000]"
        );
    }
    std::fs::write(dir.join("rolecall.yaml"), yaml).unwrap();
    let faults = Faults {
        latency: latency(20),
        shed_rate: 0.1,
        ..Faults::default()
    };
    let emu = emulator_with(faults.clone(), seed.clone(), 2);
    let started = Instant::now();
    let pages = runtime.block_on(polite_reads(&emu.url()));
    let polite = started.elapsed().as_secs_f64();
    let emu = emulator_with(faults, seed, 2);
    let started = Instant::now();
    let output = rolecall(&emu, dir, &["plan", "--detailed-exitcode"]);
    let plan = started.elapsed().as_secs_f64();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "{:<58} {polite:>8.1}s {plan:>8.1}s {:>7.2}x  <= 1.3x of the reader",
        format!("2. plan: {pages} pages, 20 ms, 10% random 429s"),
        plan / polite
    );
}

fn http() -> reqwest::Client {
    // reqwest is built without a TLS provider (the client brings ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Sends one request until it is not `429`, sleeping `Retry-After` between.
async fn politely(request: impl Fn() -> reqwest::RequestBuilder) -> reqwest::Response {
    loop {
        let response = request()
            .header(AUTH, "bench:bench-key")
            .send()
            .await
            .unwrap();
        if response.status() != 429 {
            return response;
        }
        let after: f64 = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1.0);
        tokio::time::sleep(Duration::from_secs_f64(after)).await;
    }
}

/// The vendor's bulk loop, made polite: one create at a time.
async fn polite_creates(url: &str, n: usize) {
    let http = http();
    for u in 0..n {
        let body = serde_json::json!({
            "first_name": "U",
            "last_name": u.to_string(),
            "email": format!("user{u}@bench.example"),
            "roles": ["r0000"],
            "invited_by_email": "admin@bench.example",
        });
        let response = politely(|| http.post(format!("{url}/api/v2/users")).json(&body)).await;
        assert!(response.status().is_success(), "{}", response.status());
    }
}

/// Every listing page by page, one request at a time. Returns the pages.
async fn polite_reads(url: &str) -> usize {
    let http = http();
    let mut pages = 0;
    for path in ["/api/v2/users", "/api/v1/roles", "/api/v1/dashboards"] {
        let mut cursor: Option<String> = None;
        loop {
            let page_url = match &cursor {
                Some(c) => format!("{url}{path}?next_page_start={c}"),
                None => format!("{url}{path}"),
            };
            let response = politely(|| http.get(&page_url)).await;
            let page: serde_json::Value = response.json().await.unwrap();
            pages += 1;
            match page.get("next_page_start").and_then(|c| c.as_str()) {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
    }
    pages
}
