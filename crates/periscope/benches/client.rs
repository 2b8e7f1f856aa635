//! Benchmark of the client against the emulator, which runs in a child
//! process (this benchmark started again with `--serve`) so that the memory
//! measured is the client's own.
//!
//! 1. Fetch a site of 50,000 users, 1,000 roles and 20,000 dashboards, page
//!    size 100: wall time, requests, peak memory.
//! 2. 2,000 user creates at parallelism 1, 4, 16 and 64 against an emulator
//!    with 20 ms latency per call: throughput.
//!
//! Run: `cargo bench -p periscope-client --bench client` (about a minute;
//! `-- --quick` makes 400 creates per step).

#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use periscope_client::{ApiKey, ClientConfig, Credentials, Id, NewUser, ReadClient, Writer};
use periscope_emulator::{Dashboard, Faults, Options, Role, Snapshot, User, spawn};

fn site(users: usize, roles: usize, dashboards: usize) -> Snapshot {
    let role = |id: String, name: String| Role {
        id: periscope_emulator::Id(id),
        name,
        description: String::new(),
        privileges: vec![],
        permissions: vec![],
    };
    let mut all_roles = vec![
        role("r-admin".into(), "Admin".into()),
        role("r-everyone".into(), "Everyone".into()),
    ];
    all_roles.extend((0..roles).map(|r| role(format!("r{r:05}"), format!("Role {r}"))));
    let mut all_users = vec![User {
        id: "u-admin".into(),
        email: "admin@bench.example".into(),
        first_name: "A".into(),
        last_name: "Admin".into(),
        roles: vec!["r-admin".into()],
    }];
    all_users.extend((0..users).map(|u| User {
        id: periscope_emulator::Id(format!("u{u:07}")),
        email: format!("user{u}@bench.example"),
        first_name: format!("First{u}"),
        last_name: format!("Last{u}"),
        roles: vec![periscope_emulator::Id(format!("r{:05}", u % roles.max(1)))],
    }));
    Snapshot {
        site: "bench".into(),
        api_key: Some("bench-key".into()),
        users: all_users,
        roles: all_roles,
        dashboards: (0..dashboards)
            .map(|d| Dashboard {
                id: periscope_emulator::Id(format!("{}", 100_000 + d)),
                name: format!("Dashboard {d}"),
            })
            .collect(),
    }
}

/// Child mode: serve an emulator, print its URL, wait for stdin to close.
fn serve(latency_ms: u64) {
    let faults = Faults {
        latency: (latency_ms > 0).then(|| {
            (
                Duration::from_millis(latency_ms),
                Duration::from_millis(latency_ms),
            )
        }),
        ..Faults::default()
    };
    let seed = if latency_ms > 0 {
        site(0, 1, 0)
    } else {
        site(50_000, 1_000, 20_000)
    };
    let emulator = spawn(Options {
        seed: Some(seed),
        faults,
        log_capacity: 1,
        ..Options::default()
    })
    .unwrap();
    println!("{}", emulator.url());
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
}

fn start_emulator(latency_ms: u64) -> (Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", &latency_ms.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    (child, url.trim().to_string())
}

fn config(url: &str, calls: &Arc<AtomicUsize>) -> ClientConfig {
    let mut cfg = ClientConfig::new(url, Credentials::new("bench", ApiKey::new("bench-key")));
    let counter = calls.clone();
    cfg.on_call = Some(Arc::new(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    }));
    cfg
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        return serve(args[i + 1].parse().unwrap());
    }
    let quick = args.iter().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // 1. The fetch.
    let (mut child, url) = start_emulator(0);
    let calls = Arc::new(AtomicUsize::new(0));
    let cfg = config(&url, &calls);
    let before = status_kib("VmRSS:").unwrap_or(0);
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let start = Instant::now();
    let live = runtime
        .block_on(ReadClient::new(&cfg).unwrap().fetch_site())
        .unwrap();
    let elapsed = start.elapsed();
    let peak = status_kib("VmHWM:").unwrap_or(0);
    println!(
        "fetch: {} users, {} roles, {} dashboards in {:.2} s, {} requests, peak RSS {:.1} MB ({:.1} MB above the {:.1} MB before)",
        live.users.len(),
        live.roles.len(),
        live.dashboards.len(),
        elapsed.as_secs_f64(),
        calls.load(Ordering::Relaxed),
        peak as f64 / 1024.0,
        peak.saturating_sub(before) as f64 / 1024.0,
        before as f64 / 1024.0,
    );
    drop(live);
    drop(child.stdin.take());
    let _ = child.wait();

    // 2. Creates at several parallelisms, 20 ms per call.
    let creates = if quick { 400 } else { 2_000 };
    let (mut child, url) = start_emulator(20);
    let mut offset = 0;
    for parallelism in [1usize, 4, 16, 64] {
        let calls = Arc::new(AtomicUsize::new(0));
        let mut cfg = config(&url, &calls);
        cfg.max_in_flight = parallelism;
        cfg.rate_limit = None;
        let writer = Arc::new(Writer::new(&cfg, false).unwrap());
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        runtime.block_on(async {
            let workers: Vec<_> = (0..parallelism)
                .map(|_| {
                    let (writer, next) = (writer.clone(), next.clone());
                    tokio::spawn(async move {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= creates {
                                return;
                            }
                            let n = offset + i;
                            writer
                                .create_user(&NewUser {
                                    first_name: "New".into(),
                                    last_name: format!("{n}"),
                                    email: format!("new{n}@bench.example"),
                                    roles: vec![Id::from("r00000")],
                                    invited_by_email: "admin@bench.example".into(),
                                })
                                .await
                                .unwrap();
                        }
                    })
                })
                .collect();
            for w in workers {
                w.await.unwrap();
            }
        });
        let elapsed = start.elapsed().as_secs_f64();
        println!(
            "create {creates} users at parallelism {parallelism:>2}: {elapsed:>6.2} s, {:>6.0} creates/s ({} requests)",
            creates as f64 / elapsed,
            calls.load(Ordering::Relaxed)
        );
        offset += creates;
    }
    drop(child.stdin.take());
    let _ = child.wait();
}
