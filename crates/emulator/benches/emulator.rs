//! Benchmark: requests per second the emulator serves on this machine, with
//! the load generator (reqwest, one thread, 32 connections) on the same cores.
//!
//! Run: `cargo bench -p periscope-emulator --bench emulator`.
//! Target: over 5,000 simple requests per second on the 2-core machines.

#![allow(clippy::print_stdout, reason = "a benchmark prints its numbers")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use periscope_emulator::{Dashboard, Id, Options, Role, Snapshot, User, spawn};

const CONCURRENCY: usize = 32;
const WINDOW: Duration = Duration::from_secs(3);

fn site(users: usize) -> Snapshot {
    let mut all = vec![User {
        id: "u-admin".into(),
        email: "admin@bench.example".into(),
        first_name: "A".into(),
        last_name: "Admin".into(),
        roles: vec!["r-admin".into()],
    }];
    all.extend((0..users).map(|i| User {
        id: Id(format!("u{i:07}")),
        email: format!("user{i}@bench.example"),
        first_name: format!("First{i}"),
        last_name: format!("Last{i}"),
        roles: vec!["r-analyst".into()],
    }));
    let role = |id: &str, name: &str| Role {
        id: id.into(),
        name: name.into(),
        description: String::new(),
        privileges: vec![],
        permissions: vec![],
    };
    Snapshot {
        site: "bench".into(),
        api_key: Some("k".into()),
        users: all,
        roles: vec![
            role("r-admin", "Admin"),
            role("r-analyst", "Analyst"),
            role("r-everyone", "Everyone"),
        ],
        dashboards: (0..100)
            .map(|i| Dashboard {
                id: Id(i.to_string()),
                name: format!("D{i}"),
            })
            .collect(),
    }
}

/// Runs `make(i)` requests from `CONCURRENCY` tasks for `WINDOW`; returns
/// requests per second and the count of non-2xx answers.
async fn load<F>(client: &reqwest::Client, make: F) -> (f64, usize)
where
    F: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let counter = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, make, counter, errors) = (
            client.clone(),
            make.clone(),
            counter.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < WINDOW {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                // Read the whole body, as a client does, so the connection is reused.
                let ok = match make(&client, i).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if !ok {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let done = counter.load(Ordering::Relaxed);
    (
        done as f64 / start.elapsed().as_secs_f64(),
        errors.load(Ordering::Relaxed),
    )
}

fn main() {
    let users = 50_000;
    let emulator = spawn(Options {
        seed: Some(site(users)),
        log_capacity: 1_000,
        ..Options::default()
    })
    .unwrap();
    let url = emulator.url();
    let auth = emulator.auth_header();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build().unwrap();
        println!("emulator benchmark: {users} users, {CONCURRENCY} concurrent connections, {}s per case", WINDOW.as_secs());

        let (u, a) = (url.clone(), auth.clone());
        let (rps, errors) = load(&client, move |c, i| {
            c.get(format!("{u}/api/v2/users/u{:07}", i % users)).header("HTTP-X-PARTNER-AUTH", &a)
        })
        .await;
        println!("get one user:                    {rps:>8.0} req/s  ({errors} errors)");

        let (u, a) = (url.clone(), auth.clone());
        let (rps, errors) = load(&client, move |c, i| {
            // A page of 100 users from anywhere in the list.
            let cursor = (i * 100) % (users - 100);
            c.get(format!("{u}/api/v2/users?next_page_start=u{cursor:07}")).header("HTTP-X-PARTNER-AUTH", &a)
        })
        .await;
        println!("list users (page of 100):        {rps:>8.0} req/s  ({errors} errors)  = {:.0} users/s", rps * 100.0);

        let (u, a) = (url.clone(), auth.clone());
        let (rps, errors) = load(&client, move |c, i| {
            let body = format!(
                r#"{{"first_name":"N","last_name":"{i}","email":"new{i}@bench.example","roles":["r-analyst"],"invited_by_email":"admin@bench.example"}}"#
            );
            c.post(format!("{u}/api/v2/users")).header("HTTP-X-PARTNER-AUTH", &a).header("Content-Type", "application/json").body(body)
        })
        .await;
        println!("create user:                     {rps:>8.0} req/s  ({errors} errors)");
    });
    println!("site now holds {} users", emulator.snapshot().users.len());
}
