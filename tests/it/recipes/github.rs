//! The GitHub Actions workflows of `examples/gitops/.github/workflows/`.

mod gitops;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::expr::{eval, interpolate, to_text, truthy};
use super::{GITHUB_ACCEPT_TOKEN, GITHUB_TOKEN, JobResult, World, key, unknown_keys, yaml};

const REPO: &str = "acme/access";

/// A workflow file, checked against the keys GitHub knows.
fn workflow(world: &World, name: &str) -> Value {
    let doc = yaml(&world.repo.path().join(".github/workflows").join(name));
    let top = [
        "name",
        "run-name",
        "on",
        "permissions",
        "env",
        "defaults",
        "concurrency",
        "jobs",
    ];
    let job = [
        "name",
        "needs",
        "if",
        "runs-on",
        "permissions",
        "environment",
        "concurrency",
        "outputs",
        "env",
        "defaults",
        "steps",
        "timeout-minutes",
        "strategy",
        "continue-on-error",
    ];
    let step = [
        "id",
        "if",
        "name",
        "uses",
        "run",
        "shell",
        "with",
        "env",
        "continue-on-error",
        "timeout-minutes",
        "working-directory",
    ];
    assert_eq!(unknown_keys(&doc, &top), Vec::<String>::new(), "{name}");
    for (id, j) in doc["jobs"].as_object().unwrap() {
        assert_eq!(
            unknown_keys(j, &job),
            Vec::<String>::new(),
            "{name}: job {id}"
        );
        for s in j["steps"].as_array().unwrap() {
            assert_eq!(
                unknown_keys(s, &step),
                Vec::<String>::new(),
                "{name}: job {id}"
            );
            assert!(
                s.get("uses").is_some() != s.get("run").is_some(),
                "{name}: job {id}: a step has `uses` or `run`: {s}"
            );
            if let Some(run) = s["run"].as_str() {
                assert!(
                    !run.contains("${{"),
                    "{name}: job {id}: an expression inside `run:` is a script injection; pass it through `env:`"
                );
            }
        }
    }
    assert!(
        doc.get("permissions").is_some(),
        "{name}: least privilege at the top"
    );
    doc
}

/// What triggered a run.
struct Event {
    name: &'static str,
    sha: String,
    payload: Value,
    /// Who started the run (`github.triggering_actor`).
    actor: &'static str,
}

/// One run of a workflow: every job, in `needs` order, each matrix entry.
struct Run<'a> {
    world: &'a World,
    workflow: Value,
    file: &'static str,
    id: u64,
    attempt: u32,
    event: Event,
    /// Whether a reviewer approves this attempt's jobs that wait on an
    /// environment with required reviewers.
    approved: bool,
}

/// The repository's GitHub Environments, as the example's README says to
/// make them, all with the deployment branch `main`: `rolecall-SITE` (the
/// key; required reviewers with environment approval only),
/// `rolecall-SITE-drift` (the key; no reviewers) and `rolecall-accept` (the
/// accept token; no reviewers). The repository itself has no secret.
/// Their secrets, and whether a reviewer must approve.
fn environment(world: &World, name: &str) -> Option<(Value, bool)> {
    if name == "rolecall-accept" {
        return Some((
            json!({ "ROLECALL_ACCEPT_TOKEN": GITHUB_ACCEPT_TOKEN }),
            false,
        ));
    }
    let reviewers = world.approval.get() == "environment";
    world.sites.keys().find_map(|site| {
        let secrets = json!({ "PERISCOPE_API_KEY": key(site) });
        if name == format!("rolecall-{site}") {
            Some((secrets, reviewers))
        } else if name == format!("rolecall-{site}-drift") {
            Some((secrets, false))
        } else {
            None
        }
    })
}

impl Run<'_> {
    /// The branch a run is of: `main` for pushes, schedules and dispatches.
    fn branch(&self) -> &str {
        match self.event.name {
            "pull_request" => self.event.payload["pull_request"]["head"]["ref"]
                .as_str()
                .unwrap(),
            _ => "main",
        }
    }

    /// The secrets a job gets, from its environment, if it may deploy to
    /// it; `Err` says why the job does not run.
    fn secrets(&self, job: &Value, context: &Value) -> Result<Value, String> {
        let Some(name) = job["environment"].as_str() else {
            return Ok(json!({}));
        };
        let name = to_text(&interpolate(name, context));
        let Some((secrets, reviewers)) = environment(self.world, &name) else {
            return Err(format!("no environment {name}"));
        };
        if self.branch() != "main" {
            return Err(format!(
                "Branch \"{}\" is not allowed to deploy to {name} due to environment protection rules.",
                self.branch()
            ));
        }
        if reviewers && !self.approved {
            return Err(format!(
                "Waiting for review: {name} needs approval to start deploying changes."
            ));
        }
        Ok(secrets)
    }

    fn context(&self) -> Value {
        json!({
            "github": {
                "event": self.event.payload,
                "event_name": self.event.name,
                "sha": self.event.sha,
                "repository": REPO,
                "run_id": self.id.to_string(),
                "token": GITHUB_TOKEN,
                "triggering_actor": self.event.actor,
            },
            "inputs": self.event.payload.get("inputs").cloned().unwrap_or(json!({})),
            "secrets": {},
            "vars": self.world.vars(),
            "needs": {},
            "matrix": {},
            "steps": {},
            "env": {},
        })
    }

    /// Runs every job; the result of each job instance by its name.
    fn run(&self) -> BTreeMap<String, JobResult> {
        let on = &self.workflow["on"];
        assert!(
            on.get(self.event.name).is_some(),
            "{} does not run on {}",
            self.file,
            self.event.name
        );
        let now = self.world.now();
        self.world.update_state(|s| {
            let pull_request = &self.event.payload["pull_request"];
            let (head_sha, pull_requests) = match self.event.name {
                "pull_request" => (
                    pull_request["head"]["sha"].clone(),
                    json!([{"number": pull_request["number"], "head": pull_request["head"]}]),
                ),
                _ => (json!(self.event.sha), json!([])),
            };
            let runs = s["github"]["runs"].as_array_mut().unwrap();
            // A re-run (a later attempt) is the same run, started again.
            match runs.iter_mut().find(|r| r["id"] == self.id) {
                Some(run) => {
                    run["run_attempt"] = json!(self.attempt);
                    run["run_started_at"] = json!(now);
                }
                None => runs.push(json!({
                    "id": self.id, "workflow": self.file, "event": self.event.name,
                    "path": format!(".github/workflows/{}", self.file),
                    "head_sha": head_sha, "head_branch": self.branch(),
                    "head_repository": {"full_name": REPO},
                    "pull_requests": pull_requests,
                    "created_at": now, "run_started_at": now, "run_attempt": self.attempt,
                    "status": "in_progress", "conclusion": null, "updated_at": now,
                })),
            }
        });
        let mut results = BTreeMap::new();
        let mut needs = serde_json::Map::new();
        let jobs = self.workflow["jobs"].as_object().unwrap();
        let mut done: Vec<&str> = Vec::new();
        while done.len() < jobs.len() {
            let (id, job) = jobs
                .iter()
                .find(|(id, job)| {
                    let needs_done = match &job["needs"] {
                        Value::String(n) => done.contains(&n.as_str()),
                        Value::Array(ns) => ns
                            .iter()
                            .all(|n| done.contains(&n.as_str().unwrap_or_default())),
                        _ => true,
                    };
                    !done.contains(&id.as_str()) && needs_done
                })
                .expect("jobs form a chain of needs");
            done.push(id);
            let mut context = self.context();
            context["needs"] = Value::Object(needs.clone());
            // A job runs when the jobs it needs succeeded, or when its `if`
            // has a status function (`always()`) and is true.
            let needed: Vec<&str> = match &job["needs"] {
                Value::String(n) => vec![n.as_str()],
                Value::Array(ns) => ns.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let needs_ok = needed.iter().all(|n| needs[*n]["result"] == "success");
            let runs = match job["if"].as_str() {
                Some(cond) if cond.contains("always()") => truthy(&eval(cond, &context, true)),
                Some(cond) => needs_ok && truthy(&eval(cond, &context, true)),
                None => needs_ok,
            };
            if !runs {
                needs.insert(id.clone(), json!({ "outputs": {}, "result": "skipped" }));
                continue;
            }
            let entries = match job["strategy"]["matrix"].as_object() {
                None => vec![json!({})],
                Some(matrix) => {
                    let (name, values) = matrix.iter().next().unwrap();
                    let values = interpolate(values.as_str().unwrap(), &context);
                    values
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| json!({ name: v }))
                        .collect()
                }
            };
            for matrix in entries {
                context["matrix"] = matrix;
                let name = to_text(&interpolate(job["name"].as_str().unwrap_or(id), &context));
                let result = self.job(job, &mut context);
                // A matrix job fails when one of its entries does.
                let failed = !result.ok
                    || needs
                        .get(id.as_str())
                        .is_some_and(|n| n["result"] == "failure");
                needs.insert(id.clone(), json!({ "outputs": result.outputs, "result": if failed { "failure" } else { "success" } }));
                results.insert(name, result);
            }
        }
        // Completed: a success when every job that ran succeeded.
        let ok = results.values().all(|r| r.ok);
        let now = self.world.now();
        self.world.update_state(|s| {
            let runs = s["github"]["runs"].as_array_mut().unwrap();
            let run = runs.iter_mut().find(|r| r["id"] == self.id).unwrap();
            run["status"] = json!("completed");
            run["conclusion"] = json!(if ok { "success" } else { "failure" });
            run["updated_at"] = json!(now);
        });
        results
    }

    fn job(&self, job: &Value, context: &mut Value) -> JobResult {
        match self.secrets(job, context) {
            Ok(secrets) => context["secrets"] = secrets,
            Err(why) => {
                return JobResult {
                    ok: false,
                    log: why,
                    outputs: BTreeMap::new(),
                };
            }
        }
        // The repository is there only for a job that checks it out.
        let checks_out = job["steps"].as_array().unwrap().iter().any(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
        });
        let workspace = if checks_out {
            self.world.checkout(&self.event.sha)
        } else {
            tempfile::tempdir().unwrap()
        };
        let dir = workspace.path();
        // The site of the job: its matrix entry, or its `SITE` (the undo's).
        let site = context["matrix"]["site"]["name"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                let site = to_text(&interpolate(job["env"]["SITE"].as_str()?, context));
                self.world.sites.contains_key(&site).then_some(site)
            });
        let mut env = self.world.base_env(site.as_deref(), false);
        env.extend([
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("GITHUB_REPOSITORY".into(), REPO.into()),
            ("GITHUB_SHA".into(), self.event.sha.clone()),
            (
                "GITHUB_REF".into(),
                match self.event.name {
                    "pull_request" => "refs/pull/1/merge".into(),
                    _ => "refs/heads/main".into(),
                },
            ),
            // The repository's URL with the accept token is this test's
            // repository: a push with any other token finds no repository.
            ("GIT_CONFIG_COUNT".into(), "1".into()),
            (
                "GIT_CONFIG_KEY_0".into(),
                format!("url.{}.insteadOf", self.world.repo.path().display()),
            ),
            (
                "GIT_CONFIG_VALUE_0".into(),
                format!("https://x-access-token:{GITHUB_ACCEPT_TOKEN}@github.com/{REPO}.git"),
            ),
            ("GITHUB_EVENT_NAME".into(), self.event.name.into()),
            ("GITHUB_RUN_ID".into(), self.id.to_string()),
            ("GITHUB_RUN_ATTEMPT".into(), self.attempt.to_string()),
            ("GITHUB_SERVER_URL".into(), "https://github.com".into()),
            ("GITHUB_WORKSPACE".into(), dir.display().to_string()),
        ]);
        for (k, v) in job["env"].as_object().into_iter().flatten() {
            env.push((
                k.clone(),
                to_text(&interpolate(v.as_str().unwrap(), context)),
            ));
        }
        context["steps"] = json!({});
        let mut log = String::new();
        let mut ok = true;
        for step in job["steps"].as_array().unwrap() {
            if let Some(cond) = step["if"].as_str() {
                if !truthy(&eval(cond, context, ok)) {
                    continue;
                }
            } else if !ok {
                continue;
            }
            if step["name"] == "Install rolecall" {
                let uses = step["uses"].as_str().unwrap_or_default();
                assert!(
                    uses.starts_with("rolecall/rolecall@v"),
                    "rolecall is installed with its action, not compiled: {step}"
                );
            }
            if let Some(uses) = step["uses"].as_str() {
                let (action_ok, action_log, outputs) =
                    self.action(uses, &step["with"], context, dir, &mut env);
                log.push_str(&action_log);
                ok &= action_ok;
                if let Some(id) = step["id"].as_str() {
                    context["steps"][id] = json!({ "outputs": outputs });
                }
                continue;
            }
            let mut step_env = env.clone();
            for (k, v) in step["env"].as_object().into_iter().flatten() {
                step_env.push((
                    k.clone(),
                    to_text(&interpolate(v.as_str().unwrap(), context)),
                ));
            }
            let output = dir.join(".github_output");
            std::fs::write(&output, "").unwrap();
            step_env.push(("GITHUB_OUTPUT".into(), output.display().to_string()));
            let (step_ok, step_log) =
                self.world
                    .shell(dir, step["run"].as_str().unwrap(), &step_env);
            log.push_str(&format!(
                "--- {}\n{step_log}",
                step["name"].as_str().unwrap_or("")
            ));
            ok &= step_ok;
            if let Some(id) = step["id"].as_str() {
                let outputs = parse_output(&std::fs::read_to_string(&output).unwrap());
                context["steps"][id] = json!({ "outputs": outputs });
            }
        }
        let outputs = job["outputs"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                (
                    k.clone(),
                    to_text(&interpolate(v.as_str().unwrap(), context)),
                )
            })
            .collect();
        JobResult { ok, log, outputs }
    }

    /// The actions the workflows use, done as GitHub would; third-party
    /// ones pinned by commit SHA. rolecall's own runs its `action.yml`.
    fn action(
        &self,
        uses: &str,
        with: &Value,
        context: &Value,
        dir: &std::path::Path,
        env: &mut [(String, String)],
    ) -> (bool, String, BTreeMap<String, String>) {
        // An action of the repository itself, from the job's checkout.
        if let Some(local) = uses.strip_prefix("./") {
            return self.composite(&dir.join(local), with, context, dir, env);
        }
        let (name, pin) = uses.split_once('@').expect("an action has a ref");
        if name == "rolecall/rolecall" {
            if self.world.real_install.get() {
                return self.composite(&crate::root(), with, context, dir, env);
            }
            // The binary under test on PATH, as the action would leave it.
            assert_eq!(with["version"], "0.1.0", "{with}");
            let at = env.iter().position(|(k, _)| k == "PATH").unwrap();
            env[at].1 = format!("{}:{}", self.world.rolecall.path().display(), env[at].1);
            return (true, String::new(), BTreeMap::new());
        }
        assert!(
            pin.len() == 40 && pin.bytes().all(|b| b.is_ascii_hexdigit()),
            "{uses}: third-party actions are pinned by commit SHA"
        );
        let ok = match name {
            "actions/checkout" => true,
            "actions/upload-artifact" => {
                let name = to_text(&interpolate(with["name"].as_str().unwrap(), context));
                let path = dir.join(with["path"].as_str().unwrap());
                // A file, or a directory's files (uploaded without the
                // directory's name, as upload-artifact does).
                let files: Vec<std::path::PathBuf> = if path.is_dir() {
                    std::fs::read_dir(&path)
                        .unwrap()
                        .map(|e| e.unwrap().path())
                        .filter(|p| p.is_file())
                        .collect()
                } else if path.is_file() {
                    vec![path.clone()]
                } else {
                    Vec::new()
                };
                if files.is_empty() {
                    return (
                        with["if-no-files-found"] == "ignore",
                        String::new(),
                        BTreeMap::new(),
                    );
                }
                let target = self
                    .world
                    .artifacts(&format!("run-{}", self.id))
                    .join(&name);
                assert!(
                    !target.exists() || with["overwrite"] == true,
                    "artifact {name} exists: upload-artifact@v4 fails without `overwrite: true`"
                );
                std::fs::create_dir_all(&target).unwrap();
                for file in files {
                    std::fs::copy(&file, target.join(file.file_name().unwrap())).unwrap();
                }
                true
            }
            other => panic!("the runner does not know the action {other}"),
        };
        (ok, String::new(), BTreeMap::new())
    }

    /// A composite action (`action.yml` in `action_dir`) run as GitHub
    /// does: inputs from `with` over their defaults, `runner` and `steps`
    /// contexts, `$GITHUB_ACTION_PATH`, and what its steps add to
    /// `$GITHUB_PATH` put first on the job's PATH. `actions/cache` misses
    /// (a fresh runner). Its `download-url` is the test's release server, as
    /// a mirror would be.
    fn composite(
        &self,
        action_dir: &std::path::Path,
        with: &Value,
        context: &Value,
        dir: &std::path::Path,
        env: &mut [(String, String)],
    ) -> (bool, String, BTreeMap<String, String>) {
        let action = super::yaml(&action_dir.join("action.yml"));
        assert_eq!(action["runs"]["using"], "composite");
        let mut inputs = serde_json::Map::new();
        for (name, spec) in action["inputs"].as_object().unwrap() {
            if let Some(default) = spec.get("default") {
                inputs.insert(name.clone(), default.clone());
            }
        }
        for (name, value) in with.as_object().into_iter().flatten() {
            assert!(
                action["inputs"].get(name).is_some(),
                "the action has no input {name}"
            );
            inputs.insert(name.clone(), interpolate(&to_text(value), context));
        }
        if action["inputs"].get("download-url").is_some() {
            inputs.insert("download-url".into(), json!(self.world.release_url()));
        }
        for (name, spec) in action["inputs"].as_object().unwrap() {
            if spec["required"] == true {
                assert!(inputs.contains_key(name), "input {name} is required");
            }
        }
        let temp = dir.join(".runner-temp");
        let mut ctx = json!({
            "inputs": inputs,
            "runner": {"os": "Linux", "arch": "X64", "temp": temp.display().to_string()},
            "steps": {},
        });
        let mut log = String::new();
        let mut ok = true;
        for step in action["runs"]["steps"].as_array().unwrap() {
            if let Some(cond) = step["if"].as_str()
                && !truthy(&eval(cond, &ctx, ok))
            {
                continue;
            }
            if let Some(uses) = step["uses"].as_str() {
                let (name, pin) = uses.split_once('@').unwrap();
                assert_eq!(name, "actions/cache", "the action uses only the cache");
                assert!(pin.len() == 40, "{uses}: pinned by commit SHA");
                if let Some(id) = step["id"].as_str() {
                    ctx["steps"][id] = json!({"outputs": {"cache-hit": "false"}});
                }
                continue;
            }
            assert_eq!(step["shell"], "bash", "a composite step names its shell");
            let mut step_env = env.to_vec();
            for (k, v) in step["env"].as_object().into_iter().flatten() {
                step_env.push((k.clone(), to_text(&interpolate(v.as_str().unwrap(), &ctx))));
            }
            let output = dir.join(".action_output");
            let path = dir.join(".action_path");
            std::fs::write(&output, "").unwrap();
            std::fs::write(&path, "").unwrap();
            step_env.extend([
                ("GITHUB_OUTPUT".into(), output.display().to_string()),
                ("GITHUB_PATH".into(), path.display().to_string()),
                (
                    "GITHUB_ACTION_PATH".into(),
                    action_dir.display().to_string(),
                ),
            ]);
            let script = to_text(&interpolate(step["run"].as_str().unwrap(), &ctx));
            let (step_ok, step_log) = self.world.shell(dir, &script, &step_env);
            log.push_str(&format!(
                "--- {}\n{step_log}",
                to_text(&interpolate(step["name"].as_str().unwrap_or(""), &ctx))
            ));
            ok &= step_ok;
            if let Some(id) = step["id"].as_str() {
                let outputs = parse_output(&std::fs::read_to_string(&output).unwrap());
                ctx["steps"][id] = json!({ "outputs": outputs });
            }
            for added in std::fs::read_to_string(&path).unwrap().lines().rev() {
                let at = env.iter().position(|(k, _)| k == "PATH").unwrap();
                env[at].1 = format!("{added}:{}", env[at].1);
            }
        }
        let outputs = (action["outputs"].as_object().into_iter().flatten())
            .map(|(name, spec)| {
                let value = spec["value"].as_str().unwrap_or_default();
                (name.clone(), to_text(&interpolate(value, &ctx)))
            })
            .collect();
        (ok, log, outputs)
    }
}

fn parse_output(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl World {
    fn pull_request(
        &self,
        file: &'static str,
        id: u64,
        number: u64,
        head: &str,
    ) -> BTreeMap<String, JobResult> {
        self.pull_request_attempt(file, id, 1, number, head)
    }

    /// A re-run (attempt `attempt`) of the plan run `id` of a pull request.
    fn rerun_pull_request(
        &self,
        id: u64,
        attempt: u32,
        number: u64,
        head: &str,
    ) -> BTreeMap<String, JobResult> {
        self.pull_request_attempt("rolecall-plan.yml", id, attempt, number, head)
    }

    fn pull_request_attempt(
        &self,
        file: &'static str,
        id: u64,
        attempt: u32,
        number: u64,
        head: &str,
    ) -> BTreeMap<String, JobResult> {
        let base = self.git(&["rev-parse", "main"]);
        // The pull request's branch: one whose tip is its head.
        let branches = self.git(&["branch", "--format=%(refname:short)", "--points-at", head]);
        let branch = branches.lines().next().expect("a branch at the head");
        self.run(file, id, attempt, false, Event {
            name: "pull_request",
            sha: head.to_string(),
            payload: json!({"pull_request": {"number": number, "base": {"sha": base}, "head": {"sha": head, "ref": branch}}}),
            actor: "octocat",
        })
    }

    /// Merges a pull request; the forge knows the merge commit's pull request.
    fn merge_pr(&self, branch: &str, number: u64, head: &str) -> (String, String) {
        let (before, after) = self.merge(branch);
        let merged_at = self.now();
        self.update_state(|s| {
            s["github"]["pulls_by_commit"][&after] = json!([{
                "number": number, "head": {"sha": head, "ref": branch},
                "merged_at": merged_at, "merge_commit_sha": after,
            }]);
            // A run lists only the open pull requests of its head.
            for run in s["github"]["runs"].as_array_mut().unwrap() {
                if let Some(prs) = run["pull_requests"].as_array_mut() {
                    prs.retain(|p| p["number"] != number);
                }
            }
        });
        (before, after)
    }

    /// An approving review of pull request `number` at `head`, now, by `who`.
    fn approve(&self, number: u64, head: &str, who: &str) {
        let now = self.now();
        self.update_state(|s| {
            let reviews = &mut s["github"]["reviews"][number.to_string()];
            if reviews.is_null() {
                *reviews = json!([]);
            }
            reviews.as_array_mut().unwrap().push(json!({
                "state": "APPROVED", "submitted_at": now, "commit_id": head, "user": {"login": who},
            }));
        });
    }

    /// The apply workflow of a push, its deployments approved.
    fn push(
        &self,
        id: u64,
        attempt: u32,
        before: &str,
        after: &str,
    ) -> BTreeMap<String, JobResult> {
        self.push_approved(id, attempt, before, after, true)
    }

    fn push_approved(
        &self,
        id: u64,
        attempt: u32,
        before: &str,
        after: &str,
        approved: bool,
    ) -> BTreeMap<String, JobResult> {
        self.run(
            "rolecall-apply.yml",
            id,
            attempt,
            approved,
            Event {
                name: "push",
                sha: after.to_string(),
                payload: json!({"before": before, "after": after, "ref": "refs/heads/main"}),
                actor: "octocat",
            },
        )
    }

    fn schedule(&self, id: u64) -> BTreeMap<String, JobResult> {
        self.run(
            "rolecall-drift.yml",
            id,
            1,
            false,
            Event {
                name: "schedule",
                sha: self.git(&["rev-parse", "main"]),
                payload: json!({"schedule": "17 3 * * *"}),
                actor: "octocat",
            },
        )
    }

    /// A run of a `workflow_dispatch` workflow on main, by `actor`.
    fn dispatch(
        &self,
        file: &'static str,
        id: u64,
        inputs: Value,
        actor: &'static str,
        approved: bool,
    ) -> BTreeMap<String, JobResult> {
        self.run(
            file,
            id,
            1,
            approved,
            Event {
                name: "workflow_dispatch",
                sha: self.git(&["rev-parse", "main"]),
                payload: json!({ "inputs": inputs }),
                actor,
            },
        )
    }

    /// One run of the workflow `file` (attempt `attempt`; its deployments
    /// approved or not).
    fn run(
        &self,
        file: &'static str,
        id: u64,
        attempt: u32,
        approved: bool,
        event: Event,
    ) -> BTreeMap<String, JobResult> {
        Run {
            world: self,
            workflow: workflow(self, file),
            file,
            id,
            attempt,
            approved,
            event,
        }
        .run()
    }

    /// "Re-run this job" on one job of a `workflow_dispatch` run, by
    /// `actor`: the jobs it needs keep their results and outputs (`needs`).
    fn rerun_job(
        &self,
        file: &'static str,
        id: u64,
        job_id: &str,
        needs: Value,
        actor: &'static str,
    ) -> JobResult {
        let run = Run {
            world: self,
            workflow: workflow(self, file),
            file,
            id,
            attempt: 2,
            approved: false,
            event: Event {
                name: "workflow_dispatch",
                sha: self.git(&["rev-parse", "main"]),
                payload: json!({ "inputs": {} }),
                actor,
            },
        };
        let mut context = run.context();
        context["needs"] = needs;
        let job = run.workflow["jobs"][job_id].clone();
        run.job(&job, &mut context)
    }

    /// The repository's variables (`vars`).
    fn vars(&self) -> Value {
        let mut vars = json!({ "ROLECALL_UNDO_ACTORS": "security-lead" });
        if !self.approval.get().is_empty() {
            vars["ROLECALL_APPROVAL"] = json!(self.approval.get());
        }
        vars
    }

    /// What a nightly drift run on main leaves for plans, without running
    /// it (the drift test runs it): a run of `rolecall-drift.yml` with each
    /// site's `rolecall-snapshot-SITE`.
    fn seed_snapshots(&self, id: u64) {
        for site in self.sites.keys() {
            let dir = self.artifacts(&format!("run-{id}"));
            self.export_snapshot(
                site,
                &dir.join(format!("rolecall-snapshot-{site}/snapshot.json")),
            );
        }
        let main = self.git(&["rev-parse", "main"]);
        let now = self.now();
        self.update_state(|s| {
            s["github"]["runs"].as_array_mut().unwrap().push(json!({
                "id": id, "workflow": "rolecall-drift.yml", "event": "schedule",
                "head_sha": main, "head_branch": "main",
                "head_repository": {"full_name": REPO},
                "created_at": now, "run_started_at": now, "run_attempt": 1,
            }));
        });
    }

    /// What an apply run on main leaves for drift: a run of
    /// `rolecall-apply.yml` with each site's `rolecall-applied-SITE`, the
    /// commit it applied (main, which the sites match).
    fn seed_applied(&self, id: u64) {
        let main = self.git(&["rev-parse", "main"]);
        self.seed_record(id, "rolecall-apply.yml", "push", &main);
    }

    /// A run of `workflow` on main (now) whose record of the commit last
    /// applied to each site is `rev`.
    fn seed_record(&self, id: u64, workflow: &str, event: &str, rev: &str) {
        let main = self.git(&["rev-parse", "main"]);
        for site in self.sites.keys() {
            let dir = self
                .artifacts(&format!("run-{id}"))
                .join(format!("rolecall-applied-{site}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("applied.txt"), format!("{rev}\n")).unwrap();
        }
        let now = self.now();
        self.update_state(|s| {
            s["github"]["runs"].as_array_mut().unwrap().push(json!({
                "id": id, "workflow": workflow, "event": event,
                "head_sha": main, "head_branch": "main",
                "head_repository": {"full_name": REPO},
                "created_at": now, "run_started_at": now, "run_attempt": 1,
            }));
        });
    }

    fn comments(&self, pr: u64) -> Vec<String> {
        self.state()["github"]["comments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["issue"] == pr)
            .map(|c| c["body"].as_str().unwrap().to_string())
            .collect()
    }
}

fn job<'a>(results: &'a BTreeMap<String, JobResult>, name: &str) -> &'a JobResult {
    results
        .get(name)
        .unwrap_or_else(|| panic!("no job {name}: {:?}", results.keys().collect::<Vec<_>>()))
}

#[test]
fn the_workflows_keep_to_pull_request_and_least_privilege() {
    let world = World::new();
    let plan = workflow(&world, "rolecall-plan.yml");
    assert!(plan["on"].get("pull_request").is_some());
    assert!(plan["on"].get("pull_request_target").is_none());
    let apply = workflow(&world, "rolecall-apply.yml");
    assert_eq!(apply["on"]["push"]["branches"], json!(["main"]));
    let concurrency = &apply["jobs"]["apply"]["concurrency"];
    assert_eq!(concurrency["cancel-in-progress"], false);
    assert!(
        concurrency["group"]
            .as_str()
            .unwrap()
            .contains("matrix.site.name")
    );
    let drift = workflow(&world, "rolecall-drift.yml");
    assert!(
        drift["on"].get("schedule").is_some() && drift["on"].get("workflow_dispatch").is_some()
    );
    for doc in [&plan, &apply, &drift] {
        assert_eq!(doc["permissions"], json!({"contents": "read"}));
    }
    // The key only in environments, only for the jobs of main that use it.
    let text = std::fs::read_to_string(
        world
            .repo
            .path()
            .join(".github/workflows/rolecall-plan.yml"),
    )
    .unwrap();
    assert!(!text.contains("secrets"), "no secret in the plan workflow");
    assert!(plan["jobs"]["plan"].get("environment").is_none());
    assert_eq!(
        apply["jobs"]["apply"]["environment"],
        "rolecall-${{ matrix.site.name }}"
    );
    assert_eq!(
        drift["jobs"]["drift"]["environment"],
        "rolecall-${{ matrix.site.name }}-drift"
    );
    // The push token only in the environment `rolecall-accept`, for the
    // jobs that hold no site key; no checkout keeps credentials.
    assert_eq!(drift["jobs"]["accept"]["environment"], "rolecall-accept");
    assert_eq!(apply["jobs"]["replan"]["environment"], "rolecall-accept");
    let undo = workflow(&world, "rolecall-undo.yml");
    assert_eq!(
        undo["jobs"]["undo"]["environment"],
        "rolecall-${{ needs.check.outputs.site }}"
    );
    for (doc, name) in [
        (&plan, "plan"),
        (&apply, "apply"),
        (&drift, "drift"),
        (&undo, "undo"),
    ] {
        for (id, job) in doc["jobs"].as_object().unwrap() {
            for step in job["steps"].as_array().unwrap() {
                if step["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
                {
                    assert_eq!(
                        step["with"]["persist-credentials"], false,
                        "{name}: job {id}"
                    );
                }
            }
        }
    }
    // The one check to require runs on every pull request, whatever it changes.
    assert_eq!(plan["on"]["pull_request"], Value::Null, "no `paths:`");
    assert_eq!(plan["jobs"]["rolecall"]["name"], "rolecall");
    assert_eq!(plan["jobs"]["rolecall"]["if"], "always()");
    // CODEOWNERS: the security team owns everything that decides what a
    // keyed job runs, and both spellings of the root file.
    let codeowners = std::fs::read_to_string(world.repo.path().join("CODEOWNERS")).unwrap();
    for pattern in [
        "/.github/",
        "/.gitlab-ci.yml",
        "/.gitlab/",
        "/.rolecall/",
        "/sites/*/rolecall.yaml",
        "/sites/*/rolecall.yml",
        "/sites/*/*.lock",
        "/CODEOWNERS",
    ] {
        assert!(
            codeowners
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [pattern, "@acme/security"]),
            "CODEOWNERS: {pattern}"
        );
    }
}

/// rolecall's own CI runs `.ci/run` on pull requests and on main, with a
/// read-only token and actions pinned by commit SHA.
#[test]
fn rolecall_s_own_ci_runs_ci_run_on_pull_requests_read_only() {
    let doc = yaml(&crate::root().join(".github/workflows/ci.yml"));
    assert!(doc["on"].get("pull_request").is_some());
    assert!(doc["on"].get("pull_request_target").is_none());
    assert_eq!(doc["on"]["push"]["branches"], json!(["main"]));
    assert_eq!(doc["permissions"], json!({"contents": "read"}));
    let job = &doc["jobs"]["ci"];
    assert!(job.get("permissions").is_none(), "{job}");
    let steps = job["steps"].as_array().unwrap();
    for step in steps {
        if let Some(uses) = step["uses"].as_str() {
            let pin = uses.split_once('@').unwrap().1;
            assert!(
                pin.len() == 40 && pin.bytes().all(|b| b.is_ascii_hexdigit()),
                "{uses}"
            );
        }
    }
    assert_eq!(steps.last().unwrap()["run"], ".ci/run");
}

/// Before any apply or drift run published a snapshot, the plan says how to
/// make one. What a branch could upload as the snapshot (a run of an edited
/// workflow on a pull request, from a fork whose branch is named `main`) is
/// never planned against: only runs of the apply and drift workflows on main.
#[test]
fn without_a_snapshot_the_plan_says_so_and_a_pull_request_run_s_is_never_planned_against() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    // No snapshot yet: the plan says how to make one, and fails the check.
    let head = world.hire_sam();
    let results = world.pull_request("rolecall-plan.yml", 1000, 6, &head);
    assert!(!job(&results, "Plan acme").ok);
    let comments = world.comments(6);
    assert!(
        comments[0].contains("**no snapshot** of the site yet: run the *rolecall drift* workflow"),
        "{}",
        comments[0]
    );

    world.seed_snapshots(3000);
    // A forged snapshot where sam already exists: planned against, it would
    // show "No changes".
    let mut forged: Value = serde_json::from_str(
        &std::fs::read_to_string(
            world
                .artifacts("run-3000")
                .join("rolecall-snapshot-acme/snapshot.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let roles = forged["users"][0]["roles"].clone();
    forged["users"].as_array_mut().unwrap().push(json!({
        "id": "666", "email": "sam@acme.com", "first_name": "New", "last_name": "Hire",
        "roles": roles,
    }));
    // Uploaded by a fork's pull request run whose branch is named `main`,
    // and by a dispatch of an edited drift workflow on a tag named `main`
    // (a commit outside main's history).
    let outside = world.commit_on("evil", "an edited drift workflow", |repo| {
        let drift = repo.join(".github/workflows/rolecall-drift.yml");
        let text = std::fs::read_to_string(&drift).unwrap();
        std::fs::write(drift, format!("{text}# edited\n")).unwrap();
    });
    for run in [3998, 3999] {
        let dir = world
            .artifacts(&format!("run-{run}"))
            .join("rolecall-snapshot-acme");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("snapshot.json"), forged.to_string()).unwrap();
    }
    world.update_state(|s| {
        let runs = s["github"]["runs"].as_array_mut().unwrap();
        runs.push(json!({
            "id": 3999, "workflow": "rolecall-drift.yml", "event": "pull_request",
            "head_sha": "0000", "head_branch": "main",
            "head_repository": {"full_name": "mallory/access"},
            "created_at": "2026-12-01T23:59:59Z",
        }));
        runs.push(json!({
            "id": 3998, "workflow": "rolecall-drift.yml", "event": "workflow_dispatch",
            "head_sha": outside, "head_branch": "main",
            "head_repository": {"full_name": REPO},
            "created_at": "2026-12-01T23:59:58Z",
        }));
    });
    let results = world.pull_request("rolecall-plan.yml", 1001, 7, &head);
    let plan = job(&results, "Plan acme");
    assert!(plan.ok, "{}", plan.log);
    assert!(
        plan.log
            .contains("planning against the snapshot of run 3000"),
        "{}",
        plan.log
    );
    let comments = world.comments(7);
    assert!(
        comments[0].contains("**Plan: 1 to create"),
        "{}",
        comments[0]
    );
}

#[test]
fn a_comment_forging_the_marker_is_not_taken_for_the_plan() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    let forged = super::FORGED_PLAN;
    world.update_state(|s| {
        s["github"]["comments"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 1, "issue": 7, "body": forged, "user": {"login": "mallory"}}));
    });
    world.seed_snapshots(3000);
    let head = world.hire_sam();
    let results = world.pull_request("rolecall-plan.yml", 1001, 7, &head);
    assert!(
        job(&results, "Plan acme").ok,
        "{}",
        job(&results, "Plan acme").log
    );
    let comments = world.comments(7);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert_eq!(comments[0], forged, "the forged comment is not edited");
    assert!(comments[1].contains("`sam@acme.com`"), "{}", comments[1]);
    let methods: Vec<_> = world.writes().iter().map(|w| w["method"].clone()).collect();
    assert_eq!(methods, [json!("POST")]);
}

#[test]
fn a_pull_request_gets_one_plan_comment_per_site_and_the_merge_applies_it() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    world.real_install.set(true);
    world.seed_snapshots(3000);
    let head = world.hire_sam();
    let reads = world.sites["acme"].requests().len();
    let results = world.pull_request("rolecall-plan.yml", 1001, 7, &head);
    assert_eq!(
        job(&results, "Sites changed").outputs["sites"],
        r#"[{"name":"acme"}]"#
    );
    let plan = job(&results, "Plan acme");
    assert!(plan.ok, "{}", plan.log);
    assert!(
        plan.log.contains("installed ") && plan.log.contains("sha256 "),
        "rolecall's action installed a verified release: {}",
        plan.log
    );
    // Installed once is enough: the other runs get the built binary.
    world.real_install.set(false);
    assert_eq!(
        world.sites["acme"].requests().len(),
        reads,
        "the plan job has no key and calls no site"
    );
    assert!(!results.contains_key("Plan acme-staging"));
    let comments = world.comments(7);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0]
            .starts_with("<!-- rolecall-plan: acme -->\n**`acme`**: merging applies this plan"),
        "{}",
        comments[0]
    );
    assert!(
        comments[0].contains("**Plan: 1 to create, 0 to update, 0 to delete, 0 to rename.**"),
        "{}",
        comments[0]
    );
    assert!(comments[0].contains("`sam@acme.com`"));

    // A second push updates the same comment.
    let head = world.hire_on(
        "hire",
        "and ines",
        "acme",
        "teams/finance.yaml",
        "ines@acme.com",
        "Viewer, Finance",
    );
    let results = world.pull_request("rolecall-plan.yml", 1002, 7, &head);
    assert!(job(&results, "Plan acme").ok);
    let comments = world.comments(7);
    assert_eq!(comments.len(), 1, "one sticky comment: {comments:?}");
    assert!(comments[0].contains("**Plan: 2 to create") && comments[0].contains("ines@acme.com"));
    let methods: Vec<_> = world.writes().iter().map(|w| w["method"].clone()).collect();
    assert_eq!(methods, [json!("POST"), json!("PATCH")]);
    assert_eq!(world.site_writes("acme"), 0, "a plan writes nothing");

    // Pull request #9: the same head, a later run, a plan of its own (its
    // base, and so its plan workflow, may be another): the two disagree,
    // and nothing is applied.
    assert!(
        job(
            &world.pull_request("rolecall-plan.yml", 1500, 9, &head),
            "rolecall"
        )
        .ok
    );
    let forged = world.artifacts("run-1500").join("rolecall-plan-acme");
    std::fs::write(forged.join("plan.json"), "{\"changes\": []}").unwrap();
    world.approve(7, &head, "security-lead");
    let (before, after) = world.merge_pr("hire", 7, &head);
    let results = world.push(2001, 1, &before, &after);
    let apply = job(&results, "Apply acme");
    assert!(
        !apply.ok && apply.log.contains("made different plans for #7"),
        "{}",
        apply.log
    );
    // Its plan gone: refused too, never skipped.
    std::fs::remove_dir_all(&forged).unwrap();
    let results = world.push(2001, 2, &before, &after);
    let apply = job(&results, "Apply acme");
    assert!(
        !apply.ok && apply.log.contains("its plan of acme is gone"),
        "{}",
        apply.log
    );
    // Both plans alike, and partial (as `plan --target` makes it): refused.
    let reviewed = world
        .artifacts("run-1002")
        .join("rolecall-plan-acme/plan.json");
    let whole = std::fs::read_to_string(&reviewed).unwrap();
    let mut partial: Value = serde_json::from_str(&whole).unwrap();
    partial["made_from"]["targets"] = json!(["user:sam@acme.com"]);
    std::fs::create_dir_all(&forged).unwrap();
    for plan in [reviewed.clone(), forged.join("plan.json")] {
        std::fs::write(plan, partial.to_string()).unwrap();
    }
    let results = world.push(2001, 3, &before, &after);
    let apply = job(&results, "Apply acme");
    assert!(
        !apply.ok && apply.log.contains("the plan of #7 is partial"),
        "{}",
        apply.log
    );
    assert_eq!(world.site_writes("acme"), 0);

    // The merge applies the reviewed plan (the second push's, as #9's).
    for plan in [reviewed.clone(), forged.join("plan.json")] {
        std::fs::write(plan, &whole).unwrap();
    }
    let results = world.push(2001, 4, &before, &after);
    let apply = job(&results, "Apply acme");
    assert!(apply.ok, "{}", apply.log);
    assert!(
        apply.log.contains("reviewed in #7") && apply.log.contains("Apply complete: 2 done"),
        "{}",
        apply.log
    );
    let emails = world.emails("acme");
    assert!(emails.contains(&"sam@acme.com".into()) && emails.contains(&"ines@acme.com".into()));
    assert!(
        world
            .artifacts("run-2001")
            .join("rolecall-audit-acme/audit.jsonl")
            .is_file()
    );
    // Each refusal said so on the pull request, and became the pull
    // request "Re-plan acme" (a plan reviewed again); the apply that
    // succeeded said nothing more.
    let comments = world.comments(7);
    assert_eq!(comments.len(), 4, "{comments:?}");
    assert!(
        comments[1..]
            .iter()
            .all(|c| c.contains("**no reviewed plan** could be applied")),
        "{comments:?}"
    );
    let pulls = world.state()["github"]["pulls"].clone();
    assert_eq!(pulls.as_array().unwrap().len(), 1, "{pulls}");
    assert_eq!(pulls[0]["title"], "Re-plan acme");
}

#[test]
fn a_stale_plan_is_posted_again_and_a_rerun_applies_the_new_one() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    world.approval.set("environment");
    world.seed_snapshots(3000);
    let head = world.hire_sam();
    assert!(
        job(
            &world.pull_request("rolecall-plan.yml", 1001, 8, &head),
            "Plan acme"
        )
        .ok
    );
    world.strip_jane_by_hand("acme");
    let writes = world.site_writes("acme");
    let (before, after) = world.merge_pr("hire", 8, &head);

    let results = world.push(2001, 1, &before, &after);
    let apply = job(&results, "Apply acme");
    assert!(!apply.ok, "a stale plan fails the job: {}", apply.log);
    assert!(
        world
            .artifacts("run-2001")
            .join("rolecall-snapshot-acme/snapshot.json")
            .is_file(),
        "the site as read is published even when nothing is applied"
    );
    assert!(apply.log.contains("stale"), "{}", apply.log);
    assert_eq!(world.site_writes("acme"), writes, "nothing written");
    let comments = world.comments(8);
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(
        comments[1].contains("the reviewed plan is **stale**"),
        "{}",
        comments[1]
    );
    assert!(
        comments[1].contains("`jane@acme.com`") && comments[1].contains("`sam@acme.com`"),
        "{}",
        comments[1]
    );

    // A plain re-run waits for a new approval in the environment: no key,
    // nothing written.
    let results = world.push_approved(2001, 2, &before, &after, false);
    let apply = job(&results, "Apply acme");
    assert!(
        !apply.ok && apply.log.contains("Waiting for review"),
        "{}",
        apply.log
    );
    assert_eq!(world.site_writes("acme"), writes, "nothing written");

    // Approved by a reviewer who read the new plan: the plan just posted is applied.
    let results = world.push(2001, 3, &before, &after);
    let apply = job(&results, "Apply acme");
    assert!(apply.ok, "{}", apply.log);
    assert!(
        apply.log.contains("applying the new plan posted to #8"),
        "{}",
        apply.log
    );
    assert_eq!(
        world.jane("acme"),
        (4, false),
        "Builder, Finance, Sales and Everyone are back"
    );
    assert!(world.emails("acme").contains(&"sam@acme.com".into()));
}

#[test]
fn blocked_failed_and_admin_granting_plans_say_so_and_fail_the_check() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    world.seed_snapshots(3000);
    let blocked = world.drop_every_role("cleanup");
    // Failing: a user with a role that exists nowhere.
    let failing = world.hire_on(
        "typo",
        "a typo",
        "acme-staging",
        "teams/analytics.yaml",
        "sam@acme.com",
        "Bulider",
    );
    // Admin granted outside admins.yaml.
    let admin = world.hire_on(
        "sneaky",
        "make omar an admin",
        "acme",
        "teams/analytics.yaml",
        "eve@acme.com",
        "Admin",
    );

    let results = world.pull_request("rolecall-plan.yml", 1001, 9, &blocked);
    let plan = job(&results, "Plan acme");
    assert!(!plan.ok);
    let comment = &world.comments(9)[0];
    assert!(comment.contains("**blocked**"), "{comment}");
    assert!(
        comment.contains("the config lists no roles while 'prune.roles' is on"),
        "{comment}"
    );

    let results = world.pull_request("rolecall-plan.yml", 1002, 10, &failing);
    assert!(!job(&results, "Plan acme-staging").ok);
    let comment = &world.comments(10)[0];
    assert!(comment.contains("**failed** (exit 1)"), "{comment}");
    assert!(
        comment.contains("sites/acme-staging/teams/analytics.yaml:"),
        "{comment}"
    );
    assert!(comment.contains("Bulider"), "{comment}");

    // `files:` in the site's rolecall.yaml: a team's file may not give Admin.
    let results = world.pull_request("rolecall-plan.yml", 1003, 11, &admin);
    assert!(!job(&results, "Plan acme").ok);
    let comment = &world.comments(11)[0];
    assert!(comment.contains("**failed** (exit 1)"), "{comment}");
    assert!(
        comment.contains("`teams/analytics.yaml` may not give the Admin role"),
        "{comment}"
    );
    assert_eq!(
        world.site_writes("acme") + world.site_writes("acme-staging"),
        0
    );
}

#[test]
fn drift_opens_one_issue_per_site_keeps_it_current_and_closes_it() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    world.strip_jane_by_hand("acme");
    for run in [3002, 3003] {
        let results = world.schedule(run);
        let drift = job(&results, "Drift acme");
        assert!(!drift.ok, "drift fails the nightly job: {}", drift.log);
        assert!(job(&results, "Drift acme-staging").ok);
    }
    // One issue, for acme: a site with no drift gets none.
    let issues = world.state()["github"]["issues"].clone();
    assert_eq!(issues.as_array().unwrap().len(), 1, "{issues}");
    assert_eq!(issues[0]["title"], "rolecall drift: acme");
    assert_eq!(issues[0]["labels"], json!(["rolecall-drift"]));
    assert_eq!(issues[0]["state"], "open");
    let body = issues[0]["body"].as_str().unwrap();
    assert!(body.contains("`jane@acme.com`"), "{body}");
    assert!(
        world
            .artifacts("run-3003")
            .join("rolecall-drift-acme/drift.json")
            .is_file()
    );
    // Each run publishes the site as read, for plans without a key.
    let snapshot = std::fs::read_to_string(
        world
            .artifacts("run-3003")
            .join("rolecall-snapshot-acme/snapshot.json"),
    )
    .unwrap();
    assert!(snapshot.contains("\"taken\"") && !snapshot.contains(&key("acme")));

    // Someone puts jane's roles back: the issue closes with a comment.
    world.put_config_back("acme");
    let results = world.schedule(3004);
    assert!(job(&results, "Drift acme").ok);
    let issue = &world.state()["github"]["issues"][0];
    assert_eq!(issue["state"], "closed");
    let number = issue["number"].clone();
    let comments: Vec<_> = world.state()["github"]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["issue"] == number)
        .map(|c| c["body"].clone())
        .collect();
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .as_str()
            .unwrap()
            .starts_with("No drift any more")
    );
}

/// With the commit last applied as the baseline, a change made by hand on
/// the site becomes one pull request "Accept site changes" (opened, then
/// updated, never duplicated) made with `--write-config` by a job with no
/// key; a critical one (an Admin made by hand) is an issue that names the
/// owners of `admins.yaml` and the baseline, and links to the undo
/// workflow, which puts the site back where the key is. An issue someone
/// else opened with the same title and label is never written to.
#[test]
fn site_changes_become_one_accept_pull_request_and_critical_ones_an_issue() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    world.seed_applied(2900);
    world.strip_jane_by_hand("acme");
    let results = world.schedule(3002);
    let drift = job(&results, "Drift acme");
    assert!(
        !drift.ok,
        "drift still fails the nightly job: {}",
        drift.log
    );
    let accept = job(&results, "Accept acme");
    assert!(accept.ok, "{}", accept.log);
    assert!(job(&results, "Accept acme-staging").ok);
    let state = world.state();
    assert_eq!(
        state["github"]["issues"],
        json!([]),
        "a change to accept needs no issue"
    );
    let pulls = state["github"]["pulls"].as_array().unwrap().clone();
    assert_eq!(pulls.len(), 1, "{pulls:?}\n{}\n{}", drift.log, accept.log);
    assert_eq!(pulls[0]["title"], "Accept site changes: acme");
    assert_eq!(pulls[0]["head"]["ref"], "rolecall/accept-acme");
    // Opened, and its branch pushed, with the accept token of the
    // environment `rolecall-accept` (a push with GITHUB_TOKEN finds no
    // repository here): a pull request whose plan runs.
    assert_eq!(pulls[0]["user"]["login"], "rolecall-bot[bot]");
    let accept_head = world.git(&["rev-parse", "rolecall/accept-acme"]);
    let number = pulls[0]["number"].as_u64().unwrap();
    let plan = world.pull_request("rolecall-plan.yml", 3500, number, &accept_head);
    assert!(job(&plan, "rolecall").ok, "{}", job(&plan, "Plan acme").log);
    assert!(
        world.comments(number)[0].contains("no changes"),
        "the config as the site has it: {:?}",
        world.comments(number)
    );
    assert!(pulls[0]["body"].as_str().unwrap().contains("runs/3002"));
    // The branch holds the config as the site has it, and only that change.
    let diff = world.git(&["diff", "main", "rolecall/accept-acme", "--stat"]);
    assert!(
        diff.contains("sites/acme/teams/analytics.yaml") && diff.contains("1 file changed"),
        "{diff}"
    );
    // The next night, the site also granted a dashboard the lock does not
    // pin: the same pull request, updated, carries the grant and its pin.
    world.grant_funnel_to_sales_by_hand("acme");
    let results = world.schedule(3003);
    assert!(
        job(&results, "Accept acme").ok,
        "{}",
        job(&results, "Accept acme").log
    );
    let pulls = world.state()["github"]["pulls"].as_array().unwrap().clone();
    assert_eq!(pulls.len(), 1, "never a second one: {pulls:?}");
    assert!(pulls[0]["body"].as_str().unwrap().contains("runs/3003"));
    let lock = world.git(&["show", "rolecall/accept-acme:sites/acme/rolecall.lock"]);
    assert!(lock.contains("\"Marketing Funnel\": \"4703\""), "{lock}");

    // An Admin made by hand: critical, an issue for the owners of
    // admins.yaml, never written into the look-alike someone else opened.
    world.update_state(|s| {
        s["github"]["issues"].as_array_mut().unwrap().push(json!({
            "number": 1, "title": "rolecall drift: acme", "body": "mine",
            "labels": ["rolecall-drift"], "state": "open", "user": {"login": "mallory"},
        }));
    });
    world.make_jane_admin_by_hand("acme");
    let results = world.schedule(3004);
    let drift = job(&results, "Drift acme");
    assert!(!drift.ok);
    let issues = world.state()["github"]["issues"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(issues.len(), 2, "{issues:?}\n{}", drift.log);
    assert_eq!(issues[0]["body"], "mine", "mallory's issue is left alone");
    let body = issues[1]["body"].as_str().unwrap();
    let baseline = world.state()["github"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == 2900)
        .unwrap()["head_sha"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        body.contains("actions/workflows/rolecall-undo.yml")
            && body.contains(&format!("as applied at `{baseline}`")),
        "{body}"
    );
    assert!(
        body.starts_with("**Critical:**")
            && body.contains("@acme/security (owners of `sites/acme/admins.yaml`)"),
        "{body}"
    );
    assert!(
        body.contains("**critical** `jane@acme.com` was given `Admin`"),
        "{body}"
    );
    assert_eq!(
        world.state()["github"]["pulls"].as_array().unwrap().len(),
        1
    );

    // The undo workflow puts it back, on main with the site's key; with
    // review approval only the people the repository names may run it.
    let writes = world.site_writes("acme");
    for (id, site, actor) in [
        (3100, "acme", "octocat"),
        (3101, "acme-drift", "security-lead"),
    ] {
        let results = world.dispatch(
            "rolecall-undo.yml",
            id,
            json!({ "site": site }),
            actor,
            false,
        );
        let check = job(&results, "Check the request");
        assert!(!check.ok, "{}", check.log);
        assert!(!results.contains_key(&format!("Undo site changes {site}")));
    }
    assert_eq!(world.site_writes("acme"), writes, "nothing written");
    let results = world.dispatch(
        "rolecall-undo.yml",
        3102,
        json!({"site": "acme"}),
        "security-lead",
        false,
    );
    world.assert_undone(job(&results, "Undo site changes acme"), &baseline);
    // Someone not named re-runs only the undo job (its `check` passed for
    // security-lead): the job that holds the key checks again.
    world.make_jane_admin_by_hand("acme");
    let writes = world.site_writes("acme");
    let needs = json!({"check": {"result": "success", "outputs": {"site": "acme"}}});
    let rerun = world.rerun_job("rolecall-undo.yml", 3102, "undo", needs, "octocat");
    assert!(
        !rerun.ok && rerun.log.contains("octocat may not undo site changes"),
        "{}",
        rerun.log
    );
    assert_eq!(world.site_writes("acme"), writes, "nothing written");
}
