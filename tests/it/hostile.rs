//! Every input is hostile: config bytes, server answers, the environment.
//! Each test here failed before rolecall was hardened against its input.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use periscope_emulator::{Emulator, Faults, Options, Snapshot, spawn};

use crate::{root, transcript};

const KEY: &str = "h0stile-k3y-5ecret-value";

/// A config directory with one file.
fn config(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rolecall.yaml"), text).unwrap();
    dir
}

fn rolecall_at(dir: &Path, endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rolecall"));
    cmd.current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env("ROLECALL_ENDPOINT", endpoint)
        .env("PERISCOPE_SITE", "acme")
        .env("PERISCOPE_API_KEY", KEY)
        .env_remove("ROLECALL_CONFIG")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(Stdio::null());
    cmd
}

fn validate(text: &str) -> Output {
    let dir = config(text);
    rolecall_at(dir.path(), "http://127.0.0.1:9", &["validate"])
        .output()
        .unwrap()
}

const SMALL: &str =
    "site: acme\nactor: admin@acme.com\nusers:\n  admin@acme.com:\n    roles: [Admin]\n";

/// The key pasted where a name goes (a spreadsheet's cell, `--role`, a
/// config path) is redacted in every line that quotes it back.
#[test]
fn the_key_typed_by_mistake_is_never_quoted_back() {
    let dir = config(SMALL);
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        format!("Name,Email\nJo Bloggs,{KEY}@acme.com\nA,{KEY}\n"),
    )
    .unwrap();
    let missing = format!("missing/{KEY}");
    let runs = [
        vec!["import-csv", "people.csv", "--role", KEY],
        vec!["plan", "-f", &missing],
    ];
    for args in runs {
        let out = rolecall_at(dir.path(), "http://127.0.0.1:9", &args)
            .output()
            .unwrap();
        let text = transcript(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(!text.contains(KEY), "{args:?} quoted the key back: {text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}

#[test]
fn a_nul_byte_is_an_error_at_its_place_not_the_end_of_the_file() {
    let text = format!(
        "{SMALL}  jane@acme.com:\n    roles: [Analyst]\0\n  bob@acme.com:\n    roles: [Analyst]\n"
    );
    let output = validate(&text);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: a control character (NUL) in the config"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rolecall.yaml:7:21"),
        "file:line:col: {stderr}"
    );
    let esc = validate(&format!(
        "{SMALL}  jane@acme.com:\n    first_name: \"J\u{1b}[2J\"\n"
    ));
    assert_eq!(esc.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&esc.stderr).contains("a control character (ESC)"));
    assert!(
        !esc.stderr.contains(&0x1b),
        "the ESC itself is never printed"
    );
}

/// A copy of an environment committed as a config file (NULs and all) is
/// refused for its control characters and never quoted; and whatever a
/// diagnostic quotes passes through the key's redaction, as server text does.
#[test]
fn a_file_failing_the_control_check_is_never_quoted_and_diagnostics_are_redacted() {
    let dir = config("site: acme\nactor: a@acme.com\nusers:\n  a@acme.com:\n    roles: [Admin]\n");
    let invalid = |zz: String| {
        std::fs::write(dir.path().join("zz.yaml"), zz).unwrap();
        let out = rolecall_at(dir.path(), "http://127.0.0.1:9", &["validate", "-f", "."])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
        transcript(&out)
    };
    let text = invalid(format!("users:\0PERISCOPE_API_KEY={KEY}\0HOME=/root\n"));
    assert!(
        text.contains("a control character (NUL) in the config"),
        "{text}"
    );
    assert!(text.contains("zz.yaml:1:7"), "{text}");
    assert!(
        !text.contains("PERISCOPE") && !text.contains("HOME=/root"),
        "{text}"
    );

    // The key, cut and lower-cased, in a config line a diagnostic quotes.
    let quoted = KEY[2..].to_lowercase();
    let text = invalid(format!(
        "users:\n  b@acme.com:\n    first_name: [{quoted}]\n    roles: [Admin]\n"
    ));
    assert!(text.contains("first_name: [<redacted>]"), "{text}");
    assert!(!text.contains(&quoted[..8]), "{text}");
}

/// A pull request adds `teams/zz.yaml -> /proc/self/environ` (or a linked
/// directory): read, its NULs reported and the text around them quoted, the
/// API key in the environment went into the plan comment. Links are refused,
/// named, never followed.
#[test]
fn a_symlink_to_the_environment_is_refused_and_never_read() {
    let dir = config("site: acme\nactor: a@acme.com\nusers:\n  a@acme.com:\n    roles: [Admin]\n");
    let teams = dir.path().join("teams");
    std::fs::create_dir(&teams).unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", teams.join("zz.yaml")).unwrap();
    std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
    std::os::unix::fs::symlink("../rolecall.yaml", teams.join("again.yaml")).unwrap();
    let out = rolecall_at(dir.path(), "http://127.0.0.1:9", &["validate", "-f", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let text = transcript(&out);
    assert!(!text.contains(KEY) && !text.contains("PERISCOPE"), "{text}");
    assert!(
        text.contains("teams/zz.yaml` is a symbolic link: config files are read only as regular files and directories"),
        "{text}"
    );
    assert!(text.contains("`./etc` is a symbolic link"), "{text}");
    // A link that stays inside the config says where it points.
    assert!(
        text.contains("teams/again.yaml` is a symbolic link (to `rolecall.yaml` in the config)"),
        "{text}"
    );
    // The config root itself as a link is refused too.
    let link = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(dir.path(), link.path().join("config")).unwrap();
    let out = rolecall_at(
        link.path(),
        "http://127.0.0.1:9",
        &["validate", "-f", "config"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        transcript(&out).contains("`config` is a symbolic link"),
        "{}",
        transcript(&out)
    );
}

/// A file named `x⏎## Approved by security <!--.yaml`: its name went raw
/// into the plan's `source`, forging a heading in the markdown comment and
/// hiding the rest of it in an HTML comment. Names of files are escaped
/// like every other name, in text and markdown, in plans and diagnostics.
#[test]
fn a_file_name_cannot_write_into_a_plan() {
    let dir = tempfile::tempdir().unwrap();
    crate::copy_dir(&small_team(), dir.path());
    let name = "x\n## Approved by security <!--.yaml";
    std::fs::write(
        dir.path().join(name),
        "users:\n  new.hire@acme.com:\n    first_name: New\n    last_name: Hire\n    roles: [Finance]\n",
    )
    .unwrap();
    let sandbox = small_team().join("sandbox.json");
    for format in ["markdown", "text"] {
        let out = rolecall_at(
            dir.path(),
            "http://127.0.0.1:9",
            &[
                "plan",
                "-f",
                ".",
                "--format",
                format,
                "--sandbox",
                sandbox.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("new.hire@acme.com"), "{stdout}");
        // Outside code blocks (inside one, markdown shows it as text).
        let mut fenced = false;
        for line in stdout.lines() {
            if line.starts_with("```") {
                fenced = !fenced;
            }
            let html = format == "markdown" && !fenced && line.contains("<!--");
            assert!(!html, "{format}: {line}");
        }
        assert!(
            !stdout
                .lines()
                .any(|l| l.trim_start().starts_with("## Approved")),
            "{format}: {stdout}"
        );
        assert!(stdout.contains("x\\n## Approved"), "escaped: {stdout}");
    }
    // In a diagnostic too.
    std::fs::write(dir.path().join(name), "users: [oops\n").unwrap();
    let out = rolecall_at(dir.path(), "http://127.0.0.1:9", &["validate", "-f", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr
            .lines()
            .any(|l| l.trim_start().starts_with("## Approved")),
        "{stderr}"
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let output = validate(&format!("\u{feff}{SMALL}"));
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
}

#[test]
fn upper_case_extensions_are_read_and_other_files_listed() {
    let dir = config(SMALL);
    std::fs::write(
        dir.path().join("more.YAML"),
        "users:\n  jane@acme.com:\n    roles: [Analyst]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not config").unwrap();
    let output = rolecall_at(
        dir.path(),
        "http://127.0.0.1:9",
        &["validate", "-v", "-f", "."],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok: 0 roles, 2 users (2 files)"));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("skipped ./notes.txt (not *.yaml or *.yml)")
    );
}

#[test]
fn an_unquoted_dashboard_id_is_a_comment_and_says_so() {
    let text =
        format!("{SMALL}roles:\n  Viewer:\n    dashboards:\n      #101: [read_dashboards]\n");
    let output = validate(&text);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("warning: `#101:` is a YAML comment, not a dashboard: this line is ignored"),
        "{stderr}"
    );
    assert!(
        stderr.contains("quote the key: `\"#101\": [read_dashboards]`"),
        "{stderr}"
    );
}

#[test]
fn lookalike_letters_in_emails_are_warnings() {
    // `jаne` with a Cyrillic `а`, and a domain with a Cyrillic `с`.
    let text = format!(
        "{SMALL}  j\u{430}ne@acme.com:\n    roles: [Admin]\n  bob@a\u{441}me.com:\n    roles: [Admin]\n"
    );
    let output = validate(&text);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "`j\u{430}ne@acme.com` mixes Latin and Cyrillic letters: `\u{430}` (U+0430) is Cyrillic"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "the domain of `bob@a\u{441}me.com` looks like `acme.com` but is not the same"
        ),
        "{stderr}"
    );
}

#[test]
fn an_oversized_config_is_refused_unread() {
    let dir = config(&format!("{SMALL}# {}\n", "x".repeat(2000)));
    let output = rolecall_at(
        dir.path(),
        "http://127.0.0.1:9",
        &["validate", "--max-config-size", "1K"],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is larger than 1024 bytes: it was not read"),
        "{stderr}"
    );
    assert!(
        stderr.contains("raise the limit with `--max-config-size`"),
        "{stderr}"
    );
    // `/dev/zero` ends at the limit, not at the end of memory.
    let started = Instant::now();
    let output = rolecall_at(
        dir.path(),
        "http://127.0.0.1:9",
        &["validate", "-f", "/dev/zero"],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(20));
    // A YAML error on a long line shows a window of it, not the line.
    let long = format!("{SMALL}bad: [{}\n", "y".repeat(1_000_000));
    let output = validate(&long);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stderr.len() < 5_000,
        "{} bytes on stderr",
        output.stderr.len()
    );
}

fn org_site() -> Snapshot {
    Snapshot::from_file(&root().join("examples/small-team/sandbox.json")).unwrap()
}

fn emulator(faults: Faults) -> Emulator {
    spawn(Options {
        seed: Some(org_site()),
        api_key: Some(KEY.into()),
        faults,
        ..Options::default()
    })
    .unwrap()
}

fn small_team() -> std::path::PathBuf {
    root().join("examples/small-team")
}

/// A server (or a proxy) that echoes the key in its error messages: the key
/// reaches no output, no audit log, no plan file.
#[test]
fn an_echoed_key_is_redacted_everywhere() {
    let emu = emulator(Faults {
        echo_key_on_writes: true,
        ..Faults::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let plan = dir.path().join("plan.json");
    let planned = rolecall_at(
        &small_team(),
        &emu.url(),
        &["plan", "--out", plan.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_eq!(planned.status.code(), Some(0), "{}", transcript(&planned));
    let applied = rolecall_at(
        &small_team(),
        &emu.url(),
        &[
            "apply",
            "--auto-approve",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(applied.status.code(), Some(4), "{}", transcript(&applied));
    let stdout = String::from_utf8_lossy(&applied.stdout);
    assert!(
        stdout.contains("rejected header HTTP-X-PARTNER-AUTH=acme:<redacted>"),
        "{stdout}"
    );
    emu.set_faults(Faults {
        echo_key_on_reads: true,
        ..Faults::default()
    });
    let read = rolecall_at(&small_team(), &emu.url(), &["plan"])
        .output()
        .unwrap();
    assert_eq!(read.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&read.stderr).contains("<redacted>"),
        "{}",
        transcript(&read)
    );
    for text in [
        transcript(&planned),
        transcript(&applied),
        transcript(&read),
        std::fs::read_to_string(&audit).unwrap(),
        std::fs::read_to_string(&plan).unwrap(),
    ] {
        assert!(!text.contains(KEY), "the key leaked: {text}");
    }
}

/// A local listener that counts connections and answers as `respond` says.
struct Hostile {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Hostile {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn hostile(respond: fn(&str, &mut TcpStream, usize)) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|r| r == 1) {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                respond(head.lines().next().unwrap_or_default(), &mut stream, n);
            });
        }
    });
    Hostile { addr, hits }
}

/// The peak resident memory of a running command, sampled until it ends.
fn run_measuring(mut cmd: Command) -> (Output, u64, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kb: u64 = line
                .split_whitespace()
                .nth(1)
                .unwrap_or("0")
                .parse()
                .unwrap_or(0);
            peak_kb = peak_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (output, peak_kb, started.elapsed())
}

#[test]
#[allow(clippy::print_stderr)] // the measured numbers, for `--nocapture`
fn an_endless_body_is_cut_at_the_limit() {
    let server = hostile(|_, stream, _| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"users\": [");
        let spaces = vec![b' '; 64 * 1024];
        while stream.write_all(&spaces).is_ok() {}
    });
    let dir = config(SMALL);
    let (output, peak_kb, took) = run_measuring(rolecall_at(
        dir.path(),
        &server.url(),
        &["plan", "--max-response-size", "8M"],
    ));
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("an answer is larger than 8388608 bytes"),
        "{stderr}"
    );
    assert!(stderr.contains("raise `--max-response-size`"), "{stderr}");
    assert!(peak_kb < 200 * 1024, "peak RSS {peak_kb} kB");
    assert!(took < Duration::from_secs(30), "{took:?}");
    eprintln!(
        "endless body: failed in {took:?}, peak RSS {} MB",
        peak_kb / 1024
    );
}

#[test]
#[allow(clippy::print_stderr)] // the measured numbers, for `--nocapture`
fn endless_pages_stop_at_the_limit() {
    let server = hostile(|line, stream, n| {
        let kind = ["users", "roles", "dashboards"]
            .into_iter()
            .find(|k| line.contains(k))
            .unwrap_or("users");
        let body = format!("{{\"{kind}\": [], \"next_page_start\": \"c{n}\"}}");
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let dir = config(SMALL);
    let (output, peak_kb, took) = run_measuring(rolecall_at(
        dir.path(),
        &server.url(),
        &["plan", "--max-pages", "100"],
    ));
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("a listing has more than 100 pages"),
        "{stderr}"
    );
    assert!(stderr.contains("raise `--max-pages`"), "{stderr}");
    assert!(
        server.hits.load(Ordering::SeqCst) < 400,
        "stopped near the limit"
    );
    assert!(peak_kb < 200 * 1024, "peak RSS {peak_kb} kB");
    eprintln!(
        "endless pages: failed in {took:?}, peak RSS {} MB",
        peak_kb / 1024
    );
}

#[test]
fn a_silent_server_fails_within_the_timeouts() {
    let server = hostile(|_, _, _| std::thread::sleep(Duration::from_secs(120)));
    let dir = config(SMALL);
    let started = Instant::now();
    let output = rolecall_at(dir.path(), &server.url(), &["plan", "--timeout", "500ms"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no answer"),
        "{}",
        transcript(&output)
    );
    // Nothing listening on this machine: two tries, then the error. Port 1:
    // an ephemeral port freed here could be taken at once by another
    // test's emulator (seen in CI: a 401 from it); nothing binds port 1.
    let closed = "127.0.0.1:1";
    let started = Instant::now();
    let output = rolecall_at(dir.path(), &format!("http://{closed}"), &["plan"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("after 2 attempts"),
        "{}",
        transcript(&output)
    );
}

/// A proxy echoes the auth header in a 400's body: lower-cased, and past the
/// 200 characters a message keeps (cut before redacting, 18 characters of
/// the key leaked). Nothing of the key, in any case, reaches the output.
#[test]
fn an_echoed_key_cut_or_lower_cased_is_redacted() {
    let server = hostile(|_, stream, n| {
        let body = if n % 2 == 0 {
            format!("{}acme:{KEY}", "x".repeat(177))
        } else {
            format!("bad header: acme:{}", KEY.to_lowercase())
        };
        let _ = write!(
            stream,
            "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    });
    let dir = config(SMALL);
    for _ in 0..2 {
        let output = rolecall_at(dir.path(), &server.url(), &["plan"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
        let text = transcript(&output).to_lowercase();
        let key = KEY.to_lowercase();
        for run in key.as_bytes().windows(8) {
            let run = std::str::from_utf8(run).unwrap();
            assert!(!text.contains(run), "`{run}` of the key in:\n{text}");
        }
        assert!(text.contains("<redacted>"), "{text}");
    }
}

/// `Retry-After: 999999999`: not waited out (nor an hour), the call fails
/// at once and says why, instead of "send fewer calls at once".
#[test]
fn a_retry_after_past_the_budget_is_named() {
    let server = hostile(|_, stream, _| {
        let _ = stream.write_all(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 999999999\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let dir = config(SMALL);
    let started = Instant::now();
    let output = rolecall_at(dir.path(), &server.url(), &["plan"])
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the site asks to wait 3600 s or more, longer than the")
            && stderr.contains("raise `--retry-budget`"),
        "{stderr}"
    );
}

#[test]
fn a_redirect_names_where_it_points() {
    let server = hostile(|_, stream, _| {
        let _ = stream.write_all(b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://login.example:8443/sso?token=abc\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let dir = config(SMALL);
    let output = rolecall_at(dir.path(), &server.url(), &["plan"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("answered 301")
            && stderr.contains("a redirect to https://login.example:8443;"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("token"),
        "no path or query of the Location: {stderr}"
    );
    assert!(stderr.contains("hint: point `--endpoint`"), "{stderr}");
}

#[test]
fn proxy_variables_never_see_a_plain_http_request() {
    let proxy = hostile(|_, _, _| {});
    let emu = emulator(Faults::default());
    let mut cmd = rolecall_at(&small_team(), &emu.url(), &["plan"]);
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        cmd.env(var, proxy.url());
    }
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert_eq!(
        proxy.hits.load(Ordering::SeqCst),
        0,
        "the proxy saw a request"
    );
}

/// Control characters in names from the live site never reach the plan as
/// such: a newline cannot forge a line, an ESC cannot drive the terminal.
#[test]
fn control_characters_from_the_site_are_escaped() {
    let mut site = org_site();
    let forged = "x\n+ user \"fake@acme.com\" will be created\u{1b}[2J";
    site.roles.push(
        serde_json::from_value(serde_json::json!({
            "id": "r-evil", "name": forged, "description": "", "privileges": [], "permissions": []
        }))
        .unwrap(),
    );
    let emu = spawn(Options {
        seed: Some(site),
        api_key: Some(KEY.into()),
        ..Options::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(small_team().join("rolecall.yaml")).unwrap();
    assert!(!text.contains("prune:"));
    // The forged role is not in the config: pruning puts it in the plan.
    let text = text.replacen("actor:", "prune:\n  roles: delete\nactor:", 1);
    std::fs::write(dir.path().join("rolecall.yaml"), text).unwrap();
    for format in ["text", "markdown"] {
        let output = rolecall_at(dir.path(), &emu.url(), &["plan", "--format", format])
            .output()
            .unwrap();
        assert!(
            matches!(output.status.code(), Some(0 | 3)),
            "{}",
            transcript(&output)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("fake@acme.com"),
            "{format}: the role is in the plan: {stdout}"
        );
        assert!(!stdout.contains('\u{1b}'), "{format}: no ESC: {stdout}");
        assert!(
            !stdout
                .lines()
                .any(|l| l.trim_start().starts_with("+ user \"fake@acme.com\"")),
            "{format}: no forged line: {stdout}"
        );
    }
}

/// An output path that is a symbolic link (committed where a CI job writes
/// its snapshot or audit log) is refused: nothing is written through it.
#[test]
fn outputs_are_never_written_through_a_symbolic_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.txt");
    std::fs::write(&target, "untouched").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("snapshot.json")).unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("out")).unwrap();
    let sandbox = crate::root().join("examples/data-org/sandbox.json");
    // The file a link, and a directory on the way a link.
    for (to, link) in [
        ("snapshot.json", "snapshot.json"),
        ("out/snapshot.json", "out"),
    ] {
        let args = [
            "export",
            "--format",
            "snapshot",
            "--sandbox",
            sandbox.to_str().unwrap(),
            "-o",
            to,
        ];
        let out = rolecall_at(dir.path(), "http://127.0.0.1:9", &args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
        let text = transcript(&out);
        assert!(
            text.contains(&format!("`{link}` is a symbolic link")),
            "{text}"
        );
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
}

/// The key in config data (a name) never reaches a printed plan: plans go
/// through the same redaction as diagnostics.
#[test]
fn the_key_in_config_data_is_redacted_from_plans() {
    let dir = tempfile::tempdir().unwrap();
    crate::copy_dir(&crate::root().join("examples/data-org"), dir.path());
    let data = dir.path().join("teams/data.yaml");
    let text = std::fs::read_to_string(&data).unwrap();
    std::fs::write(
        &data,
        text.replacen("users:\n", &format!("users:\n  new@globex.io:\n    first_name: New\n    last_name: {KEY}\n    roles: [Viewer]\n"), 1),
    )
    .unwrap();
    let out = rolecall_at(
        dir.path(),
        "http://127.0.0.1:9",
        &["plan", "-f", ".", "--sandbox", "sandbox.json"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let text = transcript(&out);
    assert!(
        text.contains("new@globex.io") && text.contains("<redacted>"),
        "{text}"
    );
    assert!(!text.contains(&KEY[..8]), "{text}");
}

/// A key file or a config path that is a pipe is refused, never waited on;
/// `validate -v` names skipped and read files escaped.
#[test]
fn pipes_are_refused_and_listed_paths_are_escaped() {
    let dir = config("site: acme\nactor: a@acme.com\nusers:\n  a@acme.com:\n    roles: [Admin]\n");
    let fifo = dir.path().join("key.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = rolecall_at(
        dir.path(),
        "http://127.0.0.1:9",
        &["plan", "-f", ".", "--api-key-file", "key.fifo"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        transcript(&out).contains("is not a regular file"),
        "{}",
        transcript(&out)
    );
    std::fs::remove_file(&fifo).unwrap();

    std::fs::write(dir.path().join("da\nta\u{202e}.yaml"), "users: {}\n").unwrap();
    std::fs::write(dir.path().join("note\n## x.txt"), "").unwrap();
    let out = rolecall_at(
        dir.path(),
        "http://127.0.0.1:9",
        &["validate", "-v", "-f", "."],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let text = transcript(&out);
    assert!(text.contains("da\\nta\\u{202e}.yaml"), "{text}");
    assert!(text.contains("note\\n## x.txt"), "{text}");
    assert!(!text.contains('\u{202e}'), "{text}");
}
