//! The CI recipes of `examples/gitops/` run for real: each workflow or
//! pipeline file is parsed, and the shell of its steps runs in order, in a
//! fresh clone of an example repository, against one emulator per site. Fake
//! `gh` and `curl` (`tests/recipes/fake_client.sh`, asking the server
//! `tests/recipes/fake_forge.py` each world runs) answer the forge's API
//! from a state file and record what would have been posted. GitHub's
//! install step runs rolecall's action for real where a test asks for it
//! (`World::real_install`); elsewhere, and on GitLab, the built binary is put
//! on `PATH` instead (installing is tested on its own, `tests/it/install.rs`).

mod expr;
mod github;
mod gitlab;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use periscope_emulator::{Emulator, Options, Snapshot, spawn};
use serde_json::{Value, json};

use crate::{copy_dir, git, root};

const GITHUB_TOKEN: &str = "ghs_fake-token";
/// The token of the environment `rolecall-accept` (a GitHub App's): what
/// the accept and re-plan jobs push and open pull requests with.
const GITHUB_ACCEPT_TOKEN: &str = "ghs_fake-accept-token";
const GITLAB_TOKEN: &str = "glpat-fake-token";
/// The protected token of the `accept` job (branch and merge request).
const GITLAB_PUSH_TOKEN: &str = "glpat-fake-push-token";

/// The example repository: what a team copies.
fn example() -> PathBuf {
    root().join("examples/gitops")
}

/// A comment someone else posted with the plan's marker: it must never be
/// taken for (nor edited as) the plan.
const FORGED_PLAN: &str = "<!-- rolecall-plan: acme -->\n**`acme`**: no changes";

/// Whether the tools the recipes run with are here; under CI they must be.
fn tools_present() -> bool {
    crate::tools_present(
        "recipe",
        &["bash", "git", "jq", "python3", "tar", "sha256sum", "curl"],
    )
}

/// The interpreter `python3` on PATH runs, found once.
fn python() -> &'static str {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    })
}

/// A YAML file of the example repository, as JSON.
fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    rolecall_core::config::load::yaml_to_json(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Keys of a mapping that are not in `allowed`.
fn unknown_keys(value: &Value, allowed: &[&str]) -> Vec<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("expected a mapping, got {value}"))
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// One repository with its sites, forge and tools.
struct World {
    /// The "remote" repository: a copy of `examples/gitops/` in git.
    repo: tempfile::TempDir,
    /// The forge's state and artifacts (`$FAKE_FORGE`).
    forge: tempfile::TempDir,
    /// `gh` and `curl`.
    bin: tempfile::TempDir,
    /// `rolecall`, the binary under test, for the GitLab jobs (GitHub's
    /// install it from `release` with rolecall's action).
    rolecall: tempfile::TempDir,
    /// Whether GitHub jobs run rolecall's action (download, verify, unpack)
    /// or get the built binary on `PATH`.
    real_install: std::cell::Cell<bool>,
    /// A release of this build served on 127.0.0.1, made when a job first
    /// installs one (`real_install`).
    release: std::sync::OnceLock<crate::install::Release>,
    /// GitHub: the repository variable ROLECALL_APPROVAL (`review` when
    /// unset; `environment`: `rolecall-SITE` has required reviewers).
    approval: std::cell::Cell<&'static str>,
    /// The forge's clock: seconds since the day began, one tick an event.
    clock: std::cell::Cell<u32>,
    sites: BTreeMap<String, Emulator>,
    /// The fake forge's server (`gh` and `curl` ask it), and its port.
    server: ForgeServer,
}

/// The fake forge's server process, stopped with its world.
struct ForgeServer {
    child: std::process::Child,
    port: u16,
}

impl ForgeServer {
    fn start(forge: &Path) -> ForgeServer {
        use std::io::BufRead as _;
        let mut child = Command::new(python())
            .args(["-S"])
            .arg(root().join("tests/recipes/fake_forge.py"))
            .arg("--serve")
            .env("FAKE_FORGE", forge)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the fake forge says its port");
        ForgeServer { child, port }
    }
}

impl Drop for ForgeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a job ended, and what it printed.
#[derive(Debug)]
struct JobResult {
    ok: bool,
    log: String,
    outputs: BTreeMap<String, String>,
}

impl World {
    fn new() -> World {
        let repo = tempfile::tempdir().unwrap();
        copy_dir(&example(), repo.path());
        let forge = tempfile::tempdir().unwrap();
        let server = ForgeServer::start(forge.path());
        let world = World {
            repo,
            forge,
            bin: tempfile::tempdir().unwrap(),
            rolecall: tempfile::tempdir().unwrap(),
            real_install: std::cell::Cell::new(false),
            release: std::sync::OnceLock::new(),
            approval: std::cell::Cell::new(""),
            clock: std::cell::Cell::new(0),
            sites: BTreeMap::new(),
            server,
        };
        world.git(&["init", "-q", "-b", "main"]);
        world.git(&["add", "-A"]);
        world.git(&["commit", "-q", "-m", "rolecall config"]);
        let client = root().join("tests/recipes/fake_client.sh");
        for tool in ["gh", "curl"] {
            let path = world.bin.path().join(tool);
            std::fs::copy(&client, &path).unwrap();
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_rolecall"),
            world.rolecall.path().join("rolecall"),
        )
        .unwrap();
        std::fs::create_dir(world.forge.path().join("artifacts")).unwrap();
        world.save_state(&json!({
            "next_id": 100,
            "writes": [],
            "github": {"token": GITHUB_TOKEN, "accept_token": GITHUB_ACCEPT_TOKEN, "reviews": {}, "comments": [], "issues": [], "pulls": [], "pulls_by_commit": {}, "runs": []},
            "gitlab": {"token": GITLAB_TOKEN, "push_token": GITLAB_PUSH_TOKEN, "notes": [], "issues": [], "mrs": [], "mrs_by_commit": {}, "pipelines": [], "jobs": []},
        }));
        let mut world = world;
        for site in ["acme", "acme-staging"] {
            let seed =
                Snapshot::from_file(&example().join(format!("sandbox/{site}.json"))).unwrap();
            let emulator = spawn(Options {
                seed: Some(seed),
                api_key: Some(key(site)),
                ..Options::default()
            })
            .unwrap();
            world.sites.insert(site.to_string(), emulator);
        }
        world
    }

    fn git(&self, args: &[&str]) -> String {
        git(self.repo.path(), args)
    }

    /// The forge's time now, a second after the last event (ISO 8601, as
    /// both forges write it: such times sort as text).
    fn now(&self) -> String {
        let t = self.clock.get() + 1;
        self.clock.set(t);
        format!(
            "2026-12-01T{:02}:{:02}:{:02}Z",
            t / 3600,
            t / 60 % 60,
            t % 60
        )
    }

    /// The URL of a release of this build (made on first use).
    fn release_url(&self) -> String {
        self.release
            .get_or_init(crate::install::Release::of_this_build)
            .url
            .clone()
    }

    fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Commits `edit` on `branch` (made from main if new); returns the commit.
    fn commit_on(&self, branch: &str, message: &str, edit: impl FnOnce(&Path)) -> String {
        let exists = !self.git(&["branch", "--list", branch]).is_empty();
        if exists {
            self.git(&["checkout", "-q", branch]);
        } else {
            self.git(&["checkout", "-q", "-b", branch, "main"]);
        }
        edit(self.repo.path());
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        let sha = self.head();
        self.git(&["checkout", "-q", "main"]);
        sha
    }

    /// Commits a new person in a users file of a site, on `branch`.
    fn hire_on(
        &self,
        branch: &str,
        message: &str,
        site: &str,
        file: &str,
        email: &str,
        roles: &str,
    ) -> String {
        self.commit_on(branch, message, |repo| hire(repo, site, file, email, roles))
    }

    /// Commits sam@acme.com (a Builder, in acme's analytics team) on the
    /// branch `hire`.
    fn hire_sam(&self) -> String {
        self.hire_on(
            "hire",
            "hire sam",
            "acme",
            "teams/analytics.yaml",
            "sam@acme.com",
            "Builder",
        )
    }

    /// Commits a config that deletes four roles of acme (its limit is 3) and
    /// strips everyone: a blocked plan.
    fn drop_every_role(&self, branch: &str) -> String {
        self.commit_on(branch, "drop every role", |repo| {
            std::fs::remove_file(repo.join("sites/acme/roles/departments.yaml")).unwrap();
            std::fs::remove_file(repo.join("sites/acme/roles/access.yaml")).unwrap();
            std::fs::remove_dir_all(repo.join("sites/acme/teams")).unwrap();
        })
    }

    /// Runs rolecall with the key of `site`, as a person at a terminal would.
    fn rolecall_on(&self, site: &str, args: &[&std::ffi::OsStr]) {
        let out = Command::new(env!("CARGO_BIN_EXE_rolecall"))
            .args(args)
            .env("ROLECALL_ENDPOINT", self.sites[site].url())
            .env("PERISCOPE_SITE", site)
            .env("PERISCOPE_API_KEY", key(site))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Applies the config of `site` on main by hand: the site matches again.
    fn put_config_back(&self, site: &str) {
        let config = self.repo.path().join("sites").join(site);
        let args = ["apply", "--auto-approve", "-f"].map(std::ffi::OsStr::new);
        self.rolecall_on(site, &[&args[..], &[config.as_os_str()]].concat());
    }

    /// The site as `rolecall export --format snapshot` writes it, as the
    /// apply and drift jobs publish it.
    fn export_snapshot(&self, site: &str, to: &Path) {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let args = ["export", "--format", "snapshot", "-o"].map(std::ffi::OsStr::new);
        self.rolecall_on(site, &[&args[..], &[to.as_os_str()]].concat());
    }

    /// Merges `branch` into main with a merge commit; returns (before, after).
    fn merge(&self, branch: &str) -> (String, String) {
        self.git(&["checkout", "-q", "main"]);
        let before = self.head();
        self.git(&[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            &format!("Merge {branch}"),
            branch,
        ]);
        (before, self.head())
    }

    /// A fresh clone at `sha`: one job's workspace.
    fn checkout(&self, sha: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        // Sharing the repository's objects, with no hook samples, and the
        // files written once: a clone for each of hundreds of jobs.
        git(
            dir.path(),
            &[
                "clone",
                "-q",
                "--shared",
                "--no-checkout",
                "--template=",
                self.repo.path().to_str().unwrap(),
                ".",
            ],
        );
        git(dir.path(), &["checkout", "-q", "--detach", sha]);
        dir
    }

    fn state(&self) -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(self.forge.path().join("state.json")).unwrap(),
        )
        .unwrap()
    }

    fn save_state(&self, state: &Value) {
        std::fs::write(
            self.forge.path().join("state.json"),
            serde_json::to_string_pretty(state).unwrap(),
        )
        .unwrap();
    }

    fn update_state(&self, f: impl FnOnce(&mut Value)) {
        let mut state = self.state();
        f(&mut state);
        self.save_state(&state);
    }

    /// The directory an artifact of a run or job is kept in.
    fn artifacts(&self, owner: &str) -> PathBuf {
        self.forge.path().join("artifacts").join(owner)
    }

    /// The forge writes so far (method, path, fields).
    fn writes(&self) -> Vec<Value> {
        self.state()["writes"].as_array().unwrap().clone()
    }

    /// The environment of every step: the tools, the forge, the site of the job.
    /// A job's environment; `rolecall`: the binary under test on PATH
    /// (else a job installs it).
    fn base_env(&self, site: Option<&str>, rolecall: bool) -> Vec<(String, String)> {
        let mut path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        if rolecall {
            path = format!("{}:{path}", self.rolecall.path().display());
        }
        let mut env = vec![
            ("PATH".to_string(), path),
            ("FAKE_FORGE".into(), self.forge.path().display().to_string()),
            ("FAKE_FORGE_PORT".into(), self.server.port.to_string()),
            // The repository branches are pushed to (a pull request's head must exist).
            ("FAKE_REPO".into(), self.repo.path().display().to_string()),
            ("NO_COLOR".into(), "1".into()),
            ("CI".into(), "true".into()),
        ];
        if let Some(site) = site {
            env.push(("ROLECALL_ENDPOINT".into(), self.sites[site].url()));
        }
        env
    }

    /// Runs one shell script in `dir` as a CI runner does (`bash -eo pipefail`).
    fn shell(&self, dir: &Path, script: &str, env: &[(String, String)]) -> (bool, String) {
        let file = dir.join(".step.sh");
        std::fs::write(&file, script).unwrap();
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&file)
            .current_dir(dir)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        std::fs::remove_file(&file).unwrap();
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), log)
    }

    /// Writes (not GET) the emulator of `site` has received.
    fn site_writes(&self, site: &str) -> usize {
        self.sites[site]
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .count()
    }

    fn emails(&self, site: &str) -> Vec<String> {
        self.sites[site]
            .snapshot()
            .users
            .iter()
            .map(|u| u.email.clone())
            .collect()
    }

    /// `jane@acme.com` on the site now: how many roles she holds, and
    /// whether Admin is one.
    fn jane(&self, site: &str) -> (usize, bool) {
        let state = self.sites[site].snapshot();
        let admin = state.roles.iter().find(|r| r.name == "Admin").unwrap();
        let jane = jane_in(&state);
        (jane.roles.len(), jane.roles.contains(&admin.id))
    }

    /// An undo job's result: it ran from `baseline`, and jane is back as
    /// the config has her (her four roles, no Admin).
    fn assert_undone(&self, undo: &JobResult, baseline: &str) {
        assert!(undo.ok, "{}", undo.log);
        assert!(
            undo.log.contains(&format!("since {baseline}")),
            "{}",
            undo.log
        );
        assert_eq!(
            self.jane("acme"),
            (4, false),
            "jane has her roles back, and is no Admin any more"
        );
    }

    /// A change made by hand on the site: the role `Sales` may also read
    /// the dashboard `Marketing Funnel` (4703), which the lock does not pin.
    fn grant_funnel_to_sales_by_hand(&self, site: &str) {
        let emu = &self.sites[site];
        let sales = (emu.snapshot().roles.into_iter())
            .find(|r| r.name == "Sales")
            .unwrap();
        let path = format!("/api/v1/roles/{}", sales.id.0);
        let answer = http_as(emu, &key(site), "GET", &path, "");
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        let role: Value = serde_json::from_str(body).unwrap();
        let role = role.get("role").cloned().unwrap_or(role);
        let mut grants = role["permissions"].as_array().cloned().unwrap_or_default();
        grants.push(json!({
            "object_type": "Dashboard", "object_id": "4703", "permissions": ["read_dashboards"],
        }));
        let update = json!({ "updated_by_email": "rolecall-bot@acme.com", "permissions": grants });
        let answer = http_as(emu, &key(site), "PUT", &path, &update.to_string());
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    /// A change made by hand on the site: `jane@acme.com` loses every role.
    fn strip_jane_by_hand(&self, site: &str) {
        let emu = &self.sites[site];
        let jane = jane_in(&emu.snapshot()).clone();
        let answer = http_as(
            emu,
            &key(site),
            "PUT",
            &format!("/api/v2/users/{}", jane.id),
            r#"{"roles":[]}"#,
        );
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }

    /// A change made by hand on the site: `jane@acme.com` made an Admin too.
    fn make_jane_admin_by_hand(&self, site: &str) {
        let emu = &self.sites[site];
        let state = emu.snapshot();
        let jane = jane_in(&state);
        let admin = state.roles.iter().find(|r| r.name == "Admin").unwrap();
        let mut roles: Vec<String> = jane.roles.iter().map(|r| format!("\"{}\"", r.0)).collect();
        roles.push(format!("\"{}\"", admin.id.0));
        let answer = http_as(
            emu,
            &key(site),
            "PUT",
            &format!("/api/v2/users/{}", jane.id),
            &format!(r#"{{"roles":[{}]}}"#, roles.join(",")),
        );
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

/// `jane@acme.com`, whom the recipe tests change by hand.
fn jane_in(state: &Snapshot) -> &periscope_emulator::User {
    (state.users.iter())
        .find(|u| u.email == "jane@acme.com")
        .expect("jane@acme.com on the site")
}

fn http_as(emu: &Emulator, key: &str, method: &str, path: &str, body: &str) -> String {
    crate::http_site(emu, emu.site(), key, method, path, body)
}

/// The API key of a site's emulator (and of its secret).
fn key(site: &str) -> String {
    format!("{site}-k3y-5ecret")
}

/// Appends a person to a users file of a site.
fn hire(repo: &Path, site: &str, file: &str, email: &str, roles: &str) {
    let path = repo.join(format!("sites/{site}/{file}"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!(
        "  {email}:\n    first_name: New\n    last_name: Hire\n    roles: [{roles}]\n"
    ));
    std::fs::write(path, text).unwrap();
}
