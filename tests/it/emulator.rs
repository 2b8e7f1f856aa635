//! `rolecall emulator` as a user runs it, and the vendor's example calls
//! against the emulator.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::root;

/// A raw HTTP/1.1 GET, so the test depends on no client library.
fn http_get(url: &str, path: &str, auth: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nHTTP-X-PARTNER-AUTH: {auth}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn the_emulator_command_serves_logs_and_stops_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .args([
            "emulator",
            "--port",
            "0",
            "--site",
            "acme",
            "--api-key",
            "k3y",
            "--page-size",
            "7",
        ])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("Ctrl-C stops it.") {
        assert!(
            stdout.read_line(&mut banner).unwrap() > 0,
            "banner ended early: {banner}"
        );
    }
    let url = banner
        .lines()
        .find_map(|l| l.strip_prefix("  export ROLECALL_ENDPOINT="))
        .expect("the URL is printed")
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(banner.contains("export PERISCOPE_SITE=acme"), "{banner}");
    assert!(banner.contains("export PERISCOPE_API_KEY=k3y"), "{banner}");
    assert!(
        banner.contains("(1 users, 5 roles, 0 dashboards)"),
        "{banner}"
    );

    let answer = http_get(&url, "/api/v1/roles", "acme:k3y");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"Business User\""), "{answer}");
    let denied = http_get(&url, "/api/v2/users", "acme:nope");
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");

    // Ctrl-C (SIGINT) stops it cleanly.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            Instant::now() < deadline,
            "the emulator did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("200 GET /api/v1/roles "),
        "one line per request: {stderr}"
    );
    assert!(lines[1].starts_with("401 GET /api/v2/users "), "{stderr}");
    assert_eq!(lines.last(), Some(&"emulator stopped"));
}

#[test]
fn bad_emulator_flags_say_what_to_write() {
    let output = crate::rolecall(&root(), &["emulator", "--error-rate", "10"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`10` is not a probability: write a number from 0 to 1"),
        "{stderr}"
    );
    let output = crate::rolecall(
        &root(),
        &["emulator", "--port", "0", "--seed", "no-such-seed.json"],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot read seed `no-such-seed.json`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Caused by: No such file or directory"),
        "{stderr}"
    );
}

/// The vendor's published examples use Python `requests`; our equivalent
/// script makes the same calls. Skipped, with a message, without python3 or
/// requests.
#[test]
#[allow(
    clippy::print_stderr,
    reason = "the skip must be visible in the test output"
)]
fn the_vendor_python_examples_work_against_the_emulator() {
    let available = Command::new("python3")
        .args(["-c", "import requests"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        eprintln!("skipped: python3 with `requests` is not installed (pip install requests)");
        return;
    }
    let emulator = periscope_emulator::spawn(periscope_emulator::Options {
        page_size: 2,
        seed: Some(periscope_emulator::Snapshot {
            site: "acme".into(),
            api_key: Some("vendor-key".into()),
            users: vec![periscope_emulator::User {
                id: "u1".into(),
                email: "admin@acme.example".into(),
                first_name: "A".into(),
                last_name: "Admin".into(),
                roles: vec!["r1".into()],
            }],
            roles: vec![periscope_emulator::Role {
                id: "r1".into(),
                name: "Admin".into(),
                description: String::new(),
                privileges: vec![],
                permissions: vec![],
            }],
            dashboards: (1..=5)
                .map(|i| periscope_emulator::Dashboard {
                    id: periscope_emulator::Id(i.to_string()),
                    name: format!("D{i}"),
                })
                .collect(),
        }),
        ..periscope_emulator::Options::default()
    })
    .unwrap();
    let output = Command::new("python3")
        .arg(root().join("tests/vendor_examples.py"))
        .env("PERISCOPE_URL", emulator.url())
        .env("PERISCOPE_SITE", "acme")
        .env("PERISCOPE_API_KEY", "vendor-key")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("dashboards seen: 5"), "{stdout}");
    assert!(stdout.ends_with(" passed, 0 failed\n"), "{stdout}");
    assert_eq!(
        stdout.matches("list dashboards page -> 200").count(),
        3,
        "5 dashboards, pages of 2"
    );
}

/// `capacity`: beyond N requests in flight, each waits its turn — latency
/// grows with the load. (A lower bound on time, which no slow machine
/// breaks.)
#[test]
fn beyond_its_capacity_the_emulator_answers_more_slowly() {
    let emu = periscope_emulator::spawn(periscope_emulator::Options {
        api_key: Some("cap-k3y".into()),
        faults: periscope_emulator::Faults {
            latency: Some((Duration::from_millis(20), Duration::from_millis(20))),
            capacity: Some(1),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let auth = format!("{}:cap-k3y", emu.site());
    let url = emu.url();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| http_get(&url, "/api/v1/roles", &auth));
        }
    });
    let slowest = emu.requests().iter().map(|r| r.duration).max().unwrap();
    assert!(
        slowest >= Duration::from_millis(70),
        "4 requests at capacity 1: the last one's 20 ms grows fourfold ({slowest:?})"
    );
}
