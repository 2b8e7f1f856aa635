//! Installing a release: `install.sh` and the GitLab component against a
//! release of this build served on 127.0.0.1 (the host's archive, made from
//! the binary under test, its `SHA256SUMS`, and `install.sh` itself).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{root, transcript};

/// The version the archives carry: this build's.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether the tools installing needs are here; under CI they must be.
pub(crate) fn tools_present() -> bool {
    crate::tools_present("install", &["sh", "tar", "curl", "sha256sum", "awk"])
}

/// The host's target triple, as rustc names it.
fn host_target() -> String {
    let out = Command::new("rustc").arg("-vV").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

/// A release directory served over HTTP on 127.0.0.1, laid out as GitHub
/// serves one: `BASE/vVERSION/FILE`.
pub(crate) struct Release {
    dir: tempfile::TempDir,
    pub url: String,
    /// The host's archive's name.
    pub archive: String,
}

impl Release {
    /// The host's archive of the binary under test, `install.sh`, and
    /// `SHA256SUMS` over both. The archive is made once per test run (the
    /// debug binary, stripped when `strip` is here: it is large) and copied.
    pub(crate) fn of_this_build() -> Release {
        let (built, name) = this_build();
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().join(format!("v{VERSION}"));
        std::fs::create_dir_all(&files).unwrap();
        let archive = format!("{name}.tar.gz");
        std::fs::copy(built, files.join(&archive)).unwrap();
        std::fs::copy(root().join("install.sh"), files.join("install.sh")).unwrap();
        let release = Release {
            url: serve(dir.path()),
            dir,
            archive,
        };
        release.write_sums(&[&release.archive, "install.sh"]);
        release
    }

    /// The directory of this version's files.
    pub(crate) fn files(&self) -> PathBuf {
        self.dir.path().join(format!("v{VERSION}"))
    }

    /// `SHA256SUMS` over `names`, as `sha256sum` writes it.
    pub(crate) fn write_sums(&self, names: &[&str]) {
        let out = Command::new("sha256sum")
            .args(names)
            .current_dir(self.files())
            .output()
            .unwrap();
        assert!(out.status.success());
        std::fs::write(self.files().join("SHA256SUMS"), out.stdout).unwrap();
    }
}

/// The host's archive of the binary under test, made once: its path and its
/// name without `.tar.gz`.
fn this_build() -> &'static (PathBuf, String) {
    static BUILT: std::sync::OnceLock<(PathBuf, String)> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let name = format!("rolecall-{VERSION}-{}", host_target());
        // Cargo's directory for test files, made anew on each run.
        let staging = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("install-release");
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).unwrap();
        let folder = staging.join(&name);
        std::fs::create_dir(&folder).unwrap();
        let bin = folder.join("rolecall");
        std::fs::copy(env!("CARGO_BIN_EXE_rolecall"), &bin).unwrap();
        // Best effort: a stripped binary makes a small archive, fast.
        let _ = Command::new("strip").arg(&bin).status();
        for file in ["LICENSE-MIT", "LICENSE-APACHE", "README.md"] {
            std::fs::copy(root().join(file), folder.join(file)).unwrap();
        }
        let archive = staging.join(format!("{name}.tar.gz"));
        // gzip's fastest level: the tests unpack it, nobody downloads it.
        let tar = Command::new("tar")
            .args(["--use-compress-program", "gzip -1", "-cf"])
            .arg(&archive)
            .arg("-C")
            .arg(&staging)
            .arg(&name)
            .status()
            .unwrap();
        assert!(tar.success());
        (archive, name)
    })
}

/// Serves the files under `dir` on 127.0.0.1 until the process ends: `GET`
/// of a file answers it, anything else `404`. Returns the base URL.
fn serve(dir: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let file = dir.join(path.trim_start_matches('/'));
            let safe = !path.contains("..");
            let _ = match std::fs::read(&file) {
                Ok(body) if safe && file.is_file() => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    stream.write_all(&body)
                }
                _ => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    url
}

/// Runs `install.sh --version VERSION --to DIR` against `release`, with
/// `path` first on PATH if given.
fn install(release: &Release, to: &Path, path: Option<&Path>) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg(root().join("install.sh"))
        .args(["--version", VERSION, "--to"])
        .arg(to)
        .env("ROLECALL_DOWNLOAD_URL", &release.url);
    if let Some(first) = path {
        let rest = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{rest}", first.display()));
    }
    cmd.output().unwrap()
}

/// Runs `install.sh --version VERSION --to TO --cache CACHE` with
/// `ROLECALL_DOWNLOAD_URL=from` (a URL or a folder).
fn install_cached(from: &std::ffi::OsStr, to: &Path, cache: &Path) -> Output {
    Command::new("sh")
        .arg(root().join("install.sh"))
        .args(["--version", VERSION, "--to"])
        .arg(to)
        .arg("--cache")
        .arg(cache)
        .env("ROLECALL_DOWNLOAD_URL", from)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn install_sh_installs_the_verified_archive_for_this_platform() {
    if !tools_present() {
        return;
    }
    let release = Release::of_this_build();
    let to = tempfile::tempdir().unwrap();
    let out = install(&release, &to.path().join("bin"), None);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let installed = to.path().join("bin/rolecall");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("rolecall {VERSION}")
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&release.archive), "{stdout}");
    assert!(stdout.contains(&format!("rolecall {VERSION}")), "{stdout}");
}

#[test]
fn install_sh_installs_nothing_from_a_tampered_archive() {
    if !tools_present() {
        return;
    }
    let release = Release::of_this_build();
    let archive = release.files().join(&release.archive);
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.push(0);
    std::fs::write(&archive, bytes).unwrap();
    let to = tempfile::tempdir().unwrap();
    let out = install(&release, to.path(), None);
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        stderr(&out).contains(&format!("the checksum of {}", release.archive)),
        "{}",
        transcript(&out)
    );
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);
}

/// `--cache DIR`: an archive found there is used only if it has the
/// checksum of the release's `SHA256SUMS`, downloaded anew; a poisoned one
/// is replaced, never installed.
#[test]
fn install_sh_checks_a_cached_archive_again() {
    if !tools_present() {
        return;
    }
    let release = Release::of_this_build();
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(cache.path().join(&release.archive), b"not the archive").unwrap();
    let to = tempfile::tempdir().unwrap();
    let out = install_cached(release.url.as_ref(), to.path(), cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let cached = std::fs::read(cache.path().join(&release.archive)).unwrap();
    let served = std::fs::read(release.files().join(&release.archive)).unwrap();
    assert_eq!(cached, served, "the poisoned archive was replaced");
}

/// An archive whose folder is a link (to a binary outside it): even with a
/// matching checksum, what it points to is not installed.
#[test]
fn install_sh_installs_nothing_through_a_link_in_the_archive() {
    if !tools_present() {
        return;
    }
    let release = Release::of_this_build();
    let name = release.archive.trim_end_matches(".tar.gz").to_string();
    let staging = tempfile::tempdir().unwrap();
    let outside = staging.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_rolecall"), outside.join("rolecall")).unwrap();
    std::os::unix::fs::symlink(&outside, staging.path().join(&name)).unwrap();
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(release.files().join(&release.archive))
        .arg("-C")
        .arg(staging.path())
        .arg(&name)
        .status()
        .unwrap();
    assert!(tar.success());
    release.write_sums(&[&release.archive, "install.sh"]);
    let to = tempfile::tempdir().unwrap();
    let out = install(&release, to.path(), None);
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        stderr(&out).contains("does not hold the file"),
        "{}",
        transcript(&out)
    );
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);
}

/// With no HOME and no `--to`, there is nowhere to install: said, and
/// nothing written (it installed into `/.local/bin`).
#[test]
fn install_sh_needs_somewhere_to_install() {
    if !tools_present() {
        return;
    }
    let release = Release::of_this_build();
    let out = Command::new("sh")
        .arg(root().join("install.sh"))
        .args(["--version", VERSION])
        .env_remove("HOME")
        .env("ROLECALL_DOWNLOAD_URL", &release.url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        stderr(&out).contains("HOME is not set; give --to DIR"),
        "{}",
        transcript(&out)
    );
}

#[test]
fn install_sh_installs_nothing_without_a_checksum_line() {
    if !tools_present() {
        return;
    }
    let release = Release::of_this_build();
    release.write_sums(&["install.sh"]);
    let to = tempfile::tempdir().unwrap();
    let out = install(&release, to.path(), None);
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        stderr(&out).contains(&format!("SHA256SUMS of {VERSION} lists no archive")),
        "{}",
        transcript(&out)
    );
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);
}

#[test]
fn install_sh_refuses_a_platform_with_no_build() {
    if !tools_present() {
        return;
    }
    let release = Release::of_this_build();
    // A `uname` that says SunOS on sparc64.
    let fake = tempfile::tempdir().unwrap();
    let uname = fake.path().join("uname");
    std::fs::write(
        &uname,
        "#!/bin/sh\ncase \"$1\" in -s) echo SunOS ;; -m) echo sparc64 ;; esac\n",
    )
    .unwrap();
    let chmod = Command::new("chmod")
        .arg("755")
        .arg(&uname)
        .status()
        .unwrap();
    assert!(chmod.success());
    let to = tempfile::tempdir().unwrap();
    let out = install(&release, to.path(), Some(fake.path()));
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        stderr(&out).contains("no rolecall build for the architecture 'sparc64'"),
        "{}",
        transcript(&out)
    );
    assert_eq!(std::fs::read_dir(to.path()).unwrap().count(), 0);
}

/// The component's hidden job `.rolecall`, its inputs given: its
/// `before_script` checks `install.sh` against `SHA256SUMS`, runs it, and
/// rolecall is on PATH after; a tampered `install.sh` is not run.
#[test]
fn the_gitlab_component_installs_a_verified_rolecall() {
    if !tools_present() {
        return;
    }
    let text = std::fs::read_to_string(root().join("templates/rolecall.yml")).unwrap();
    let (spec, jobs) = text.split_once("\n---\n").expect("spec, then the jobs");
    let spec = rolecall_core::config::load::yaml_to_json(spec).unwrap();
    let inputs = spec["spec"]["inputs"].as_object().unwrap();
    assert!(
        inputs["version"].get("default").is_none(),
        "the version is pinned by each user"
    );
    let jobs = rolecall_core::config::load::yaml_to_json(jobs).unwrap();
    let job = &jobs[".rolecall"];
    let script: Vec<&str> = job["before_script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let release = Release::of_this_build();
    // A runner: its builds folder, the checkout inside it.
    let builds = tempfile::tempdir().unwrap();
    let project = builds.path().join("acme/access");
    std::fs::create_dir_all(&project).unwrap();
    // `install_dir`: the input, `None` for its default (empty).
    let run_in = |release: &Release, install_dir: Option<&Path>| {
        let mut cmd = Command::new("bash");
        cmd.arg("-ec")
            .arg(format!(
                "{}\n\"$ROLECALL\" --version\necho \"at $ROLECALL\"",
                script.join("\n")
            ))
            .current_dir(&project)
            .env("CI_BUILDS_DIR", builds.path())
            .env("CI_PROJECT_DIR", &project);
        for (name, value) in job["variables"].as_object().unwrap() {
            // `$[[ inputs.x ]]` as GitLab fills it in.
            let value = match value.as_str().unwrap() {
                "$[[ inputs.version ]]" => VERSION.to_string(),
                "$[[ inputs.download-url ]]" => release.url.clone(),
                "$[[ inputs.install-dir ]]" => install_dir
                    .map(|d| d.display().to_string())
                    .unwrap_or_default(),
                other => panic!("{name}: {other}"),
            };
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    };
    let run = |release: &Release| {
        let to = tempfile::tempdir().unwrap();
        (run_in(release, Some(&to.path().join("bin"))), to)
    };
    let (out, to) = run(&release);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("rolecall {VERSION}")),
        "{}",
        transcript(&out)
    );
    assert!(to.path().join("bin/rolecall").is_file());

    // By default: a new folder under the builds folder, outside the
    // checkout, called by its absolute path.
    let out = run_in(&release, None);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let at = stdout.lines().find_map(|l| l.strip_prefix("at ")).unwrap();
    let builds_real = builds.path().canonicalize().unwrap();
    assert!(
        Path::new(at).starts_with(&builds_real)
            && !Path::new(at).starts_with(project.canonicalize().unwrap())
            && Path::new(at).is_file(),
        "{at}"
    );
    // Inside the checkout (where a committed `.rolecall/bin/curl` lives):
    // refused, nothing installed.
    let inside = project.join(".rolecall/bin");
    let out = run_in(&release, Some(&inside));
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        stderr(&out).contains("is inside the checkout"),
        "{}",
        transcript(&out)
    );
    assert!(!inside.join("rolecall").exists());
    // A relative one: refused (it would resolve beside the checkout).
    let out = run_in(&release, Some(Path::new("../x/bin")));
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        stderr(&out).contains("is not an absolute path"),
        "{}",
        transcript(&out)
    );

    let mut script_bytes = std::fs::read(release.files().join("install.sh")).unwrap();
    script_bytes.extend_from_slice(b"\necho tampered\n");
    std::fs::write(release.files().join("install.sh"), script_bytes).unwrap();
    let (out, to) = run(&release);
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        stderr(&out).contains("install.sh does not match the release's SHA256SUMS"),
        "{}",
        transcript(&out)
    );
    assert!(!to.path().join("bin/rolecall").exists());
}

/// A link where install.sh writes (the binary, its temporary name, a cached
/// archive) is replaced by a file of its own, never written through; a
/// release in a folder (`ROLECALL_DOWNLOAD_URL=/path`), as a self-hosted
/// build is kept, installs as from a URL.
#[test]
fn install_sh_never_writes_through_a_link_and_installs_from_a_folder() {
    if !tools_present() {
        return;
    }
    let release = Release::of_this_build();
    let elsewhere = tempfile::tempdir().unwrap();
    let victims: Vec<PathBuf> = (0..3)
        .map(|i| {
            let victim = elsewhere.path().join(format!("victim-{i}"));
            std::fs::write(&victim, "keep me").unwrap();
            victim
        })
        .collect();
    let to = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&victims[0], to.path().join("rolecall")).unwrap();
    std::os::unix::fs::symlink(&victims[1], to.path().join(".rolecall.new")).unwrap();
    std::os::unix::fs::symlink(&victims[2], cache.path().join(&release.archive)).unwrap();
    let folder = release.files().parent().unwrap().to_path_buf();
    let out = install_cached(folder.as_os_str(), to.path(), cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    for victim in &victims {
        assert_eq!(std::fs::read_to_string(victim).unwrap(), "keep me");
    }
    for written in [
        to.path().join("rolecall"),
        cache.path().join(&release.archive),
    ] {
        let meta = std::fs::symlink_metadata(&written).unwrap();
        assert!(meta.file_type().is_file(), "{}", written.display());
    }
    let version = Command::new(to.path().join("rolecall"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains(VERSION));
    // A relative folder is neither: said, nothing downloaded.
    let out = install_cached("mirror".as_ref(), to.path(), cache.path());
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        stderr(&out).contains("must be a URL (https://, file://) or an absolute folder path"),
        "{}",
        transcript(&out)
    );
}
