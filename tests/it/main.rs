//! Integration tests: the real `rolecall` binary, and the core library on
//! real files. One test binary, a module per area.

mod access;
mod adopt;
mod apply;
mod cli;
mod docs;
mod drift;
mod emulator;
mod examples;
mod hostile;
mod install;
mod lifecycle;
mod lock;
mod ownership;
mod plan;
mod properties;
mod recipes;
mod reference;
mod review;
mod reviewed;
mod saved;
mod until;
mod user_path;
mod validate;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `examples/` and `tests/` are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the real binary in `dir` with no color and no inherited config.
pub fn rolecall(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ROLECALL_CONFIG")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run rolecall")
}

/// Whether `tools` are on PATH for the tests of `what`; under CI they must
/// be, elsewhere a test without them says it skipped.
pub fn tools_present(what: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .map_or(true, |o| !o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the {what} tests need {missing:?} on PATH"
    );
    #[allow(clippy::print_stderr)] // the one word a skipped test can say
    {
        eprintln!("skipped: the {what} tests need {missing:?} on PATH");
    }
    false
}

/// Exit code, stdout and stderr in one block, for snapshots.
pub fn transcript(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output
            .status
            .code()
            .map_or("signal".into(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Which output a text is looked for in.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// The output holds `text`; else the whole transcript is shown.
pub fn says(output: &std::process::Output, stream: Stream, text: &str) {
    let said = match stream {
        Stream::Stdout => &output.stdout,
        Stream::Stderr => &output.stderr,
    };
    assert!(
        String::from_utf8_lossy(said).contains(text),
        "expected {text:?} in:\n{}",
        transcript(output)
    );
}

/// An emulator seeded with the small-team example's site, taking `key`.
pub fn small_team_site(key: &str) -> periscope_emulator::Emulator {
    let seed =
        periscope_emulator::Snapshot::from_file(&root().join("examples/small-team/sandbox.json"))
            .unwrap();
    periscope_emulator::spawn(periscope_emulator::Options {
        seed: Some(seed),
        api_key: Some(key.into()),
        ..Default::default()
    })
    .unwrap()
}

/// One raw HTTP call to the emulator (a change made "by hand" on the site).
pub fn http(
    emu: &periscope_emulator::Emulator,
    key: &str,
    method: &str,
    path: &str,
    body: &str,
) -> String {
    http_site(emu, "globex", key, method, path, body)
}

/// One raw HTTP call to the emulator of `site`.
pub fn http_site(
    emu: &periscope_emulator::Emulator,
    site: &str,
    key: &str,
    method: &str,
    path: &str,
    body: &str,
) -> String {
    let addr = emu.addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nHTTP-X-PARTNER-AUTH: {site}:{key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// Runs git in `dir` as a test user (no signing, `main` first); its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Copies a directory tree into `to` (which exists).
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// No email and no role name appears twice on the site.
pub fn assert_no_duplicates(state: &periscope_emulator::Snapshot, context: &str) {
    let mut seen = BTreeMap::new();
    for u in &state.users {
        *seen.entry(u.email.to_lowercase()).or_insert(0) += 1;
    }
    for r in &state.roles {
        *seen
            .entry(format!("role:{}", r.name.to_lowercase()))
            .or_insert(0) += 1;
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "{context}: duplicates: {seen:?}"
    );
}

/// A scratch directory with an example's site as `site.json` and that site
/// exported (`--actor`) to `to` (a file, or a directory ending in `/`): a
/// config that plans to no changes against it.
pub fn exported(example: &str, actor: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(
        root().join(format!("examples/{example}/sandbox.json")),
        d.join("site.json"),
    )
    .unwrap();
    if let Some(parent) = Path::new(to).parent() {
        std::fs::create_dir_all(d.join(parent)).unwrap();
    }
    let export = rolecall(
        d,
        &[
            "export",
            "--sandbox",
            "site.json",
            "--actor",
            actor,
            "-o",
            to,
        ],
    );
    assert_eq!(export.status.code(), Some(0), "{}", transcript(&export));
    dir
}

/// A JSON file edited in place.
pub fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, value.to_string()).unwrap();
}

/// The keys of a JSON plan's changes, in order.
pub fn change_keys(plan: &serde_json::Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap().to_string())
        .collect()
}
