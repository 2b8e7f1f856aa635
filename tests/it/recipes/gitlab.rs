//! The GitLab pipeline of `examples/gitops/.gitlab-ci.yml`.

mod gitops;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::{GITLAB_PUSH_TOKEN, GITLAB_TOKEN, JobResult, World, key, unknown_keys, yaml};

/// Keywords at the top of `.gitlab-ci.yml` that are not jobs.
const GLOBAL: [&str; 5] = ["stages", "default", "variables", "workflow", "include"];

fn pipeline_file(world: &World) -> Value {
    let doc = yaml(&world.repo.path().join(".gitlab-ci.yml"));
    let job = [
        "stage",
        "rules",
        "parallel",
        "script",
        "artifacts",
        "resource_group",
        "variables",
        "image",
        "before_script",
        "after_script",
        "needs",
        "environment",
        "interruptible",
        "when",
    ];
    for (name, j) in doc.as_object().unwrap() {
        if GLOBAL.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(unknown_keys(j, &job), Vec::<String>::new(), "job {name}");
        assert!(
            j.get("before_script").is_none(),
            "job {name}: the install step is `default: before_script`"
        );
    }
    // rolecall comes from its component, pinned, never compiled.
    let install = &doc["default"]["before_script"];
    assert_eq!(
        install[1],
        json!([".rolecall", "before_script"]),
        "{install}"
    );
    assert!(!install.to_string().contains("cargo install"), "{install}");
    let component = doc["include"][0]["component"].as_str().unwrap();
    let version = component.rsplit_once('@').unwrap().1;
    assert!(
        component.ends_with("/rolecall/rolecall/rolecall@0.1.0")
            && doc["include"][0]["inputs"]["version"] == version,
        "{component}"
    );
    doc
}

/// `$NAME` and `${NAME}` replaced from `vars` (unknown names become empty).
fn expand(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if braced {
            assert_eq!(chars.next(), Some('}'), "unclosed ${{ in {text}");
        }
        out.push_str(vars.get(&name).map_or("", String::as_str));
    }
    out
}

/// A `rules: - if:` expression: `||` of `&&` of `$A == "x"`, `$A != $B`.
fn rule_if(expr: &str, vars: &BTreeMap<String, String>) -> bool {
    let operand = |s: &str| -> String {
        let s = s.trim();
        match s.strip_prefix('$') {
            Some(name) => vars.get(name).cloned().unwrap_or_default(),
            None => s.trim_matches('"').to_string(),
        }
    };
    expr.split("||").any(|all| {
        all.split("&&").all(|term| {
            if let Some((a, b)) = term.split_once("==") {
                operand(a) == operand(b)
            } else if let Some((a, b)) = term.split_once("!=") {
                operand(a) != operand(b)
            } else {
                !operand(term).is_empty()
            }
        })
    })
}

/// One pipeline: what started it and where.
#[derive(Clone)]
struct Pipeline {
    id: u64,
    source: &'static str,
    sha: String,
    /// The commit the changes are measured from (the target branch, or the
    /// commit before the push).
    base: String,
    mr: Option<u64>,
    /// Whether a reviewer approves the deployments of this pipeline's jobs
    /// (a retry is a new deployment, approved anew).
    approved: bool,
    /// Who started it, or plays its manual jobs (`GITLAB_USER_LOGIN`).
    user: &'static str,
}

impl World {
    /// A scheduled pipeline on main: drift, and the snapshots plans use.
    fn nightly(&self, id: u64) {
        let results = self.scheduled(id);
        assert!(results.values().all(|j| j.ok), "{results:?}");
    }

    /// A scheduled pipeline on main; its jobs' results.
    fn scheduled(&self, id: u64) -> BTreeMap<String, JobResult> {
        let main = self.git(&["rev-parse", "main"]);
        self.pipeline(&Pipeline {
            id,
            source: "schedule",
            sha: main.clone(),
            base: main,
            mr: None,
            approved: false,
            user: "octocat",
        })
    }

    /// What a scheduled pipeline on main leaves for plans, without running
    /// it (the drift test runs it): a `drift: [SITE]` job with each site's
    /// `snapshot-SITE.json`.
    fn seed_pipeline(&self, pipeline: u64) {
        for (i, site) in self.sites.keys().enumerate() {
            let job = pipeline * 10 + i as u64;
            let file = self
                .artifacts(&format!("job-{job}"))
                .join(format!("snapshot-{site}.json"));
            self.export_snapshot(site, &file);
            self.update_state(|s| {
                s["gitlab"]["jobs"].as_array_mut().unwrap().push(json!({
                    "id": job, "name": format!("drift: [{site}]"), "pipeline": pipeline,
                    "status": "success", "retried": false,
                }));
            });
        }
        let main = self.git(&["rev-parse", "main"]);
        self.update_state(|s| {
            s["gitlab"]["pipelines"]
                .as_array_mut()
                .unwrap()
                .push(json!({
                    "id": pipeline, "mr": null, "sha": main, "source": "schedule", "ref": "main",
                }));
        });
    }

    /// What an apply pipeline on main leaves for drift: an `apply: [SITE]`
    /// job with each site's `applied-SITE.txt`, the commit applied (main,
    /// which the sites match).
    fn seed_applied_pipeline(&self, pipeline: u64) {
        let main = self.git(&["rev-parse", "main"]);
        for (i, site) in self.sites.keys().enumerate() {
            let job = pipeline * 10 + i as u64;
            let dir = self.artifacts(&format!("job-{job}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("applied-{site}.txt")), format!("{main}\n")).unwrap();
            self.update_state(|s| {
                s["gitlab"]["jobs"].as_array_mut().unwrap().push(json!({
                    "id": job, "name": format!("apply: [{site}]"), "pipeline": pipeline,
                    "status": "success", "retried": false,
                }));
            });
        }
        self.update_state(|s| {
            s["gitlab"]["pipelines"]
                .as_array_mut()
                .unwrap()
                .push(json!({
                    "id": pipeline, "mr": null, "sha": main, "source": "push", "ref": "main",
                }));
        });
    }

    fn changed(&self, from: &str, to: &str) -> Vec<String> {
        self.git(&["diff", "--name-only", from, to])
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn variables(&self, p: &Pipeline) -> BTreeMap<String, String> {
        let mut vars: BTreeMap<String, String> = [
            ("CI_PIPELINE_SOURCE", p.source.to_string()),
            ("CI_PIPELINE_ID", p.id.to_string()),
            ("CI_COMMIT_SHA", p.sha.clone()),
            ("CI_COMMIT_SHORT_SHA", p.sha[..8].to_string()),
            ("CI_DEFAULT_BRANCH", "main".into()),
            ("CI_API_V4_URL", "https://gitlab.example.com/api/v4".into()),
            ("CI_PROJECT_ID", "42".into()),
            ("ROLECALL_GITLAB_TOKEN", GITLAB_TOKEN.into()),
            ("CI_SERVER_HOST", "gitlab.example.com".into()),
            ("CI_PROJECT_PATH", "acme/access".into()),
            ("GITLAB_USER_LOGIN", p.user.to_string()),
            ("ROLECALL_UNDO_ACTORS", "security-lead".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if !self.approval.get().is_empty() {
            vars.insert("ROLECALL_APPROVAL".into(), self.approval.get().into());
        }
        match p.mr {
            Some(iid) => {
                vars.insert("CI_MERGE_REQUEST_IID".into(), iid.to_string());
                vars.insert("CI_MERGE_REQUEST_DIFF_BASE_SHA".into(), p.base.clone());
            }
            None => {
                vars.insert("CI_COMMIT_BRANCH".into(), "main".into());
                vars.insert("CI_COMMIT_BEFORE_SHA".into(), p.base.clone());
            }
        }
        vars
    }

    /// The key of a job's environment, as the project is set up: the
    /// variable `PERISCOPE_API_KEY` (protected) scoped to the protected
    /// environment `rolecall/SITE`, whose deployments need an approval. Not
    /// in a merge request's pipeline (no protected ref); `Err` when the job
    /// waits for an approval.
    fn environment_key(
        &self,
        job: &Value,
        p: &Pipeline,
        vars: &BTreeMap<String, String>,
    ) -> Result<Option<(String, String)>, String> {
        let Some(name) = job["environment"]["name"].as_str() else {
            return Ok(None);
        };
        let name = expand(name, vars);
        // The push token: protected, scoped to this environment only.
        if name == "rolecall-accept" {
            return Ok((p.mr.is_none()).then(|| {
                (
                    "ROLECALL_GITLAB_PUSH_TOKEN".into(),
                    GITLAB_PUSH_TOKEN.into(),
                )
            }));
        }
        let site = self
            .sites
            .keys()
            .find(|s| name == format!("rolecall/{s}"))
            .unwrap_or_else(|| panic!("no environment {name}"));
        if p.mr.is_some() {
            return Ok(None);
        }
        let deploys = !matches!(
            job["environment"]["action"].as_str(),
            Some("verify" | "prepare" | "access")
        );
        let reviewers = self.approval.get() == "environment";
        if deploys && reviewers && !p.approved {
            return Err(format!("waiting for approval: a deployment to {name}"));
        }
        Ok(Some(("PERISCOPE_API_KEY".into(), key(site))))
    }

    /// Whether a job's rules let it into this pipeline.
    fn rules_admit(&self, job: &Value, p: &Pipeline, vars: &BTreeMap<String, String>) -> bool {
        job["rules"].as_array().unwrap().iter().any(|rule| {
            let when = rule_if(rule["if"].as_str().unwrap(), vars);
            let changes = match rule["changes"].as_array() {
                None => true,
                Some(globs) => globs.iter().any(|g| {
                    let prefix = g
                        .as_str()
                        .unwrap()
                        .strip_suffix("**/*")
                        .expect("only dir/**/* globs");
                    self.changed(&p.base, &p.sha)
                        .iter()
                        .any(|f| f.starts_with(prefix))
                }),
            };
            when && changes
        })
    }

    /// Runs every job of the pipeline the rules admit; results by job name.
    fn pipeline(&self, p: &Pipeline) -> BTreeMap<String, JobResult> {
        let doc = pipeline_file(self);
        let now = self.now();
        self.update_state(|s| {
            s["gitlab"]["pipelines"]
                .as_array_mut()
                .unwrap()
                .push(json!({
                    "id": p.id, "mr": p.mr, "sha": p.sha, "source": p.source, "created_at": now,
                    "ref": p.mr.map_or("main".to_string(), |mr| format!("refs/merge-requests/{mr}/head")),
                }));
        });
        let vars = self.variables(p);
        let mut results: BTreeMap<String, JobResult> = BTreeMap::new();
        for stage in doc["stages"].as_array().unwrap() {
            // A stage runs when every earlier job succeeded, or with `when: always`.
            let failed = results.values().any(|r| !r.ok);
            for (name, job) in doc.as_object().unwrap() {
                if GLOBAL.contains(&name.as_str())
                    || job["stage"] != *stage
                    || !self.rules_admit(job, p, &vars)
                    || self.manual(job, &vars)
                    || (failed && job["when"] != "always")
                {
                    continue;
                }
                for site in job["parallel"]["matrix"][0]["SITE"].as_array().unwrap() {
                    let site = site.as_str().unwrap();
                    let full = format!("{name}: [{site}]");
                    let result = self.gitlab_job(&doc, name, site, p);
                    results.insert(full, result);
                }
            }
        }
        results
    }

    /// Whether the rule that admits a job makes it manual: it waits for
    /// someone to play it (`play`).
    fn manual(&self, job: &Value, vars: &BTreeMap<String, String>) -> bool {
        job["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|rule| rule["when"] == "manual" && rule_if(rule["if"].as_str().unwrap(), vars))
    }

    /// Plays a manual job of a pipeline, as `user`.
    fn play(&self, p: &Pipeline, name: &str, site: &str, user: &'static str) -> JobResult {
        let p = &Pipeline { user, ..p.clone() };
        self.gitlab_job(&pipeline_file(self), name, site, p)
    }

    /// Retries one job of a pipeline, as the button in GitLab does; its
    /// deployment approved or not.
    fn retry(&self, p: &Pipeline, name: &str, site: &str, approved: bool) -> JobResult {
        let p = &Pipeline {
            approved,
            ..p.clone()
        };
        let full = format!("{name}: [{site}]");
        self.update_state(|s| {
            for j in s["gitlab"]["jobs"].as_array_mut().unwrap() {
                if j["name"] == full.as_str() && j["pipeline"] == p.id {
                    j["retried"] = json!(true);
                }
            }
        });
        self.gitlab_job(&pipeline_file(self), name, site, p)
    }

    fn gitlab_job(&self, doc: &Value, name: &str, site: &str, p: &Pipeline) -> JobResult {
        let job = &doc[name];
        let full = format!("{name}: [{site}]");
        let mut id = 0;
        self.update_state(|s| {
            s["next_id"] = json!(s["next_id"].as_u64().unwrap() + 1);
            id = s["next_id"].as_u64().unwrap();
            s["gitlab"]["jobs"].as_array_mut().unwrap().push(json!({
                "id": id, "name": full, "pipeline": p.id, "status": "running", "retried": false,
            }));
        });
        let mut vars = self.variables(p);
        vars.insert("SITE".into(), site.into());
        vars.insert("CI_JOB_ID".into(), id.to_string());
        vars.insert("CI_JOB_NAME".into(), full.clone());
        vars.insert(
            "CI_JOB_URL".into(),
            format!("https://gitlab.example.com/acme/access/-/jobs/{id}"),
        );
        for (k, v) in doc["variables"].as_object().into_iter().flatten() {
            let value = expand(v.as_str().unwrap(), &vars);
            vars.insert(k.clone(), value);
        }
        match self.environment_key(job, p, &vars) {
            Ok(key) => vars.extend(key),
            Err(why) => {
                self.update_state(|s| {
                    for j in s["gitlab"]["jobs"].as_array_mut().unwrap() {
                        if j["id"] == id {
                            j["status"] = json!("manual");
                        }
                    }
                });
                return JobResult {
                    ok: false,
                    log: why,
                    outputs: BTreeMap::new(),
                };
            }
        }
        let workspace = self.checkout(&p.sha);
        let dir = workspace.path();
        let builds = tempfile::tempdir().unwrap();
        let mut env = self.base_env(Some(site), false);
        env.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        env.extend([
            ("CI_PROJECT_DIR".to_string(), dir.display().to_string()),
            (
                "CI_BUILDS_DIR".to_string(),
                builds.path().display().to_string(),
            ),
        ]);
        // The project's URL, with the push token, is this test's repository.
        env.extend([
            ("GIT_CONFIG_COUNT".to_string(), "1".to_string()),
            (
                "GIT_CONFIG_KEY_0".to_string(),
                format!("url.{}.insteadOf", self.repo.path().display()),
            ),
            (
                "GIT_CONFIG_VALUE_0".to_string(),
                format!("https://rolecall:{GITLAB_PUSH_TOKEN}@gitlab.example.com/acme/access.git"),
            ),
        ]);
        let mut script: Vec<String> = self.install(doc, &mut env);
        for line in job["script"].as_array().unwrap() {
            match line {
                // `!reference [.job, script]`: that job's lines, in place.
                Value::Array(at) => script.extend(
                    doc[at[0].as_str().unwrap()][at[1].as_str().unwrap()]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|l| l.as_str().unwrap().to_string()),
                ),
                _ => script.push(line.as_str().unwrap().to_string()),
            }
        }
        let (ok, log) = self.shell(dir, &script.join("\n"), &env);
        self.keep_artifacts(job, id, dir, ok, &vars);
        self.update_state(|s| {
            for j in s["gitlab"]["jobs"].as_array_mut().unwrap() {
                if j["id"] == id {
                    j["status"] = json!(if ok { "success" } else { "failed" });
                }
            }
        });
        JobResult {
            ok,
            log,
            outputs: BTreeMap::new(),
        }
    }

    /// The install step of `default: before_script` (the image's packages
    /// are here already): rolecall's component for real
    /// (`World::real_install`, its release served on 127.0.0.1), else the
    /// binary under test as `$ROLECALL`.
    fn install(&self, doc: &Value, env: &mut Vec<(String, String)>) -> Vec<String> {
        let before = doc["default"]["before_script"].as_array().unwrap();
        assert!(
            before[0].as_str().unwrap().starts_with("apt-get "),
            "{before:?}"
        );
        if !self.real_install.get() {
            env.push(("ROLECALL".into(), env!("CARGO_BIN_EXE_rolecall").into()));
            return Vec::new();
        }
        let text = std::fs::read_to_string(crate::root().join("templates/rolecall.yml")).unwrap();
        let (spec, jobs) = text.split_once("\n---\n").unwrap();
        let spec = rolecall_core::config::load::yaml_to_json(spec).unwrap();
        let jobs = rolecall_core::config::load::yaml_to_json(jobs).unwrap();
        // The inputs as `.gitlab-ci.yml` gives them (the version; the
        // download URL of a mirror: this test's release), the rest their
        // defaults, with the job's variables expanded.
        let vars: BTreeMap<String, String> = env.iter().cloned().collect();
        let default = |input: &str| {
            let text = spec["spec"]["inputs"][input]["default"].as_str().unwrap();
            expand(text, &vars)
        };
        env.extend([
            ("ROLECALL_VERSION".to_string(), "0.1.0".to_string()),
            ("ROLECALL_DOWNLOAD_URL".to_string(), self.release_url()),
            ("ROLECALL_INSTALL_DIR".to_string(), default("install-dir")),
        ]);
        jobs[".rolecall"]["before_script"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect()
    }

    fn keep_artifacts(
        &self,
        job: &Value,
        id: u64,
        dir: &Path,
        ok: bool,
        vars: &BTreeMap<String, String>,
    ) {
        let artifacts = &job["artifacts"];
        if !ok && artifacts["when"] != "always" {
            return;
        }
        for path in artifacts["paths"].as_array().into_iter().flatten() {
            let path = expand(path.as_str().unwrap(), vars);
            if dir.join(&path).is_file() {
                let target = self.artifacts(&format!("job-{id}"));
                std::fs::create_dir_all(&target).unwrap();
                std::fs::copy(dir.join(&path), target.join(&path)).unwrap();
            }
        }
    }

    fn notes(&self, mr: u64) -> Vec<String> {
        self.state()["gitlab"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["mr"] == mr)
            .map(|n| n["body"].as_str().unwrap().to_string())
            .collect()
    }

    fn merge_request(
        &self,
        id: u64,
        mr: u64,
        head: &str,
    ) -> (Pipeline, BTreeMap<String, JobResult>) {
        let p = Pipeline {
            id,
            source: "merge_request_event",
            sha: head.to_string(),
            base: self.git(&["merge-base", "main", head]),
            mr: Some(mr),
            approved: false,
            user: "octocat",
        };
        let results = self.pipeline(&p);
        (p, results)
    }

    /// Merges and runs the push pipeline of the merge commit.
    fn merge_and_push(
        &self,
        id: u64,
        branch: &str,
        mr: u64,
    ) -> (Pipeline, BTreeMap<String, JobResult>) {
        let (before, after) = self.merge_mr(branch, mr);
        self.push_pipeline(id, before, after)
    }

    /// Merges `branch` as the merge request `mr` of this project; returns
    /// (before, after).
    fn merge_mr(&self, branch: &str, mr: u64) -> (String, String) {
        let head = self.git(&["rev-parse", branch]);
        let (before, after) = self.merge(branch);
        // GitLab keeps every merge request's head as refs/merge-requests/N/head.
        self.git(&[
            "update-ref",
            &format!("refs/merge-requests/{mr}/head"),
            &head,
        ]);
        let merged_at = self.now();
        self.update_state(|s| {
            s["gitlab"]["mrs_by_commit"][&after] = json!([{
                "iid": mr, "state": "merged", "sha": head, "merge_commit_sha": after,
                "squash_commit_sha": null, "source_project_id": 42, "target_project_id": 42,
                "merged_at": merged_at,
            }]);
        });
        (before, after)
    }

    /// The pipeline of a push to main, its deployments approved.
    fn push_pipeline(
        &self,
        id: u64,
        before: String,
        after: String,
    ) -> (Pipeline, BTreeMap<String, JobResult>) {
        let p = Pipeline {
            id,
            source: "push",
            sha: after,
            base: before,
            mr: None,
            approved: true,
            user: "octocat",
        };
        let results = self.pipeline(&p);
        (p, results)
    }
}

fn job<'a>(results: &'a BTreeMap<String, JobResult>, name: &str) -> &'a JobResult {
    results
        .get(name)
        .unwrap_or_else(|| panic!("no job {name}: {:?}", results.keys().collect::<Vec<_>>()))
}

#[test]
fn rules_and_variables_read_as_gitlab_reads_them() {
    let vars: BTreeMap<String, String> = [("A", "push"), ("B", "main"), ("C", "main")]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    assert!(rule_if(r#"$A == "push" && $B == $C"#, &vars));
    assert!(!rule_if(r#"$A == "schedule" || $A == "web""#, &vars));
    assert!(rule_if(r#"$A != "web""#, &vars));
    assert_eq!(expand("x-$A-${B}/$NOPE", &vars), "x-push-main/");
}

/// Anyone may post a note with the marker on a merge request. The sticky
/// note is the one the pipeline's token wrote: a forged one is left alone.
#[test]
fn a_note_forging_the_marker_is_not_taken_for_the_plan() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    world.seed_pipeline(700);
    let forged = super::FORGED_PLAN;
    world.update_state(|s| {
        s["gitlab"]["notes"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 1, "mr": 5, "body": forged, "author": {"username": "mallory"}}));
    });
    let head = world.hire_sam();
    let (_, results) = world.merge_request(501, 5, &head);
    assert!(
        job(&results, "plan: [acme]").ok,
        "{}",
        job(&results, "plan: [acme]").log
    );
    let notes = world.notes(5);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(notes[0], forged, "the forged note is not edited");
    assert!(notes[1].contains("`sam@acme.com`"), "{}", notes[1]);

    // A merge request that changes no site passes: the pipeline to require
    // is there on every merge request.
    // A plan file it commits is not what its job keeps.
    let docs = world.commit_on("docs", "a readme", |repo| {
        std::fs::write(repo.join("NOTES.md"), "notes\n").unwrap();
        std::fs::write(repo.join("plan-acme.json"), "{\"changes\": []}\n").unwrap();
    });
    let (_, results) = world.merge_request(502, 4, &docs);
    assert!(
        !results.is_empty() && results.values().all(|j| j.ok),
        "{results:?}"
    );
    assert!(world.notes(4).is_empty());
    let jobs = world.state()["gitlab"]["jobs"].clone();
    let plan = (jobs.as_array().unwrap().iter())
        .find(|j| j["pipeline"] == 502 && j["name"] == "plan: [acme]")
        .unwrap();
    let kept = world.artifacts(&format!("job-{}", plan["id"]));
    assert!(!kept.join("plan-acme.json").exists());
}

#[test]
fn a_merge_request_gets_one_note_per_site_a_stale_apply_posts_again_and_a_retry_applies() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    world.approval.set("environment");
    world.nightly(700);
    let head = world.hire_sam();
    let reads = world.sites["acme"].requests().len();
    let (_, results) = world.merge_request(501, 5, &head);
    assert!(
        job(&results, "plan: [acme]").ok,
        "{}",
        job(&results, "plan: [acme]").log
    );
    assert_eq!(
        world.sites["acme"].requests().len(),
        reads,
        "the plan job has no key and calls no site"
    );
    let staging = job(&results, "plan: [acme-staging]");
    assert!(
        staging.ok && staging.log.contains("not changed by this merge request"),
        "{}",
        staging.log
    );
    let notes = world.notes(5);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with("<!-- rolecall-plan: acme -->\n**`acme`**: merging applies this plan"),
        "{}",
        notes[0]
    );
    assert!(notes[0].contains("**Plan: 1 to create") && notes[0].contains("`sam@acme.com`"));

    let head = world.hire_on(
        "hire",
        "and ines",
        "acme",
        "teams/finance.yaml",
        "ines@acme.com",
        "Viewer",
    );
    let (_, results) = world.merge_request(502, 5, &head);
    assert!(job(&results, "plan: [acme]").ok);
    let notes = world.notes(5);
    assert_eq!(notes.len(), 1, "one note, updated: {notes:?}");
    assert!(notes[0].contains("**Plan: 2 to create"));
    let methods: Vec<_> = world.writes().iter().map(|w| w["method"].clone()).collect();
    assert_eq!(methods, [json!("POST"), json!("PUT")]);

    // The site changes by hand before the merge: the reviewed plan is stale.
    world.strip_jane_by_hand("acme");
    let writes = world.site_writes("acme");
    let (push, results) = world.merge_and_push(601, "hire", 5);
    let apply = job(&results, "apply: [acme]");
    assert!(!apply.ok && apply.log.contains("stale"), "{}", apply.log);
    assert_eq!(world.site_writes("acme"), writes, "nothing written");
    assert!(
        job(&results, "apply: [acme-staging]")
            .log
            .contains("did not change")
    );
    let notes = world.notes(5);
    assert_eq!(notes.len(), 2);
    assert!(
        notes[1].contains("the reviewed plan is **stale**") && notes[1].contains("`jane@acme.com`"),
        "{}",
        notes[1]
    );

    // A retry is a new deployment: without an approval it waits, no key.
    let retry = world.retry(&push, "apply", "acme", false);
    assert!(
        !retry.ok && retry.log.contains("waiting for approval"),
        "{}",
        retry.log
    );
    assert_eq!(world.site_writes("acme"), writes, "nothing written");
    let retry = world.retry(&push, "apply", "acme", true);
    assert!(retry.ok, "{}", retry.log);
    assert!(
        retry.log.contains("applying the new plan posted to !5"),
        "{}",
        retry.log
    );
    let emails = world.emails("acme");
    assert!(emails.contains(&"sam@acme.com".into()) && emails.contains(&"ines@acme.com".into()));
}

/// A merge request whose plan is still good applies first time.
#[test]
fn blocked_failing_and_unplannable_merge_requests_fail_with_their_reason_in_the_note() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    // No snapshot yet: the note says how to make one.
    let head = world.hire_sam();
    let (_, results) = world.merge_request(500, 4, &head);
    assert!(!job(&results, "plan: [acme]").ok);
    let note = &world.notes(4)[0];
    assert!(note.contains("**no snapshot** of the site yet"), "{note}");

    world.seed_pipeline(700);
    let blocked = world.drop_every_role("cleanup");
    let (_, results) = world.merge_request(501, 5, &blocked);
    assert!(!job(&results, "plan: [acme]").ok);
    assert!(
        world.notes(5)[0].contains("**blocked**"),
        "{}",
        world.notes(5)[0]
    );

    let failing = world.hire_on(
        "typo",
        "a typo",
        "acme-staging",
        "teams/analytics.yaml",
        "sam@acme.com",
        "Bulider",
    );
    let (_, results) = world.merge_request(502, 6, &failing);
    assert!(!job(&results, "plan: [acme-staging]").ok);
    let note = &world.notes(6)[0];
    assert!(
        note.contains("**failed** (exit 1)") && note.contains("Bulider"),
        "{note}"
    );
    // `files:`: a team's file may not give Admin.
    let admin = world.hire_on(
        "sneaky",
        "make eve an admin",
        "acme",
        "teams/analytics.yaml",
        "eve@acme.com",
        "Admin",
    );
    let (_, results) = world.merge_request(503, 7, &admin);
    assert!(!job(&results, "plan: [acme]").ok);
    let note = &world.notes(7)[0];
    assert!(
        note.contains("**failed** (exit 1)")
            && note.contains("`teams/analytics.yaml` may not give the Admin role"),
        "{note}"
    );
    assert_eq!(
        world.site_writes("acme") + world.site_writes("acme-staging"),
        0
    );
}

#[test]
fn scheduled_drift_opens_updates_and_closes_an_issue() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    let schedule = |id| world.scheduled(id);
    world.strip_jane_by_hand("acme");
    for id in [702, 703] {
        let results = schedule(id);
        assert!(!job(&results, "drift: [acme]").ok);
        assert!(job(&results, "drift: [acme-staging]").ok);
    }
    let issues = world.state()["gitlab"]["issues"].clone();
    assert_eq!(issues.as_array().unwrap().len(), 1, "{issues}");
    assert_eq!(issues[0]["title"], "rolecall drift: acme");
    assert_eq!(issues[0]["state"], "opened");
    assert!(
        issues[0]["description"]
            .as_str()
            .unwrap()
            .contains("`jane@acme.com`")
    );

    world.put_config_back("acme");
    assert!(job(&schedule(704), "drift: [acme]").ok);
    assert_eq!(world.state()["gitlab"]["issues"][0]["state"], "closed");
}

/// With the commit last applied as the baseline, a change made by hand on
/// the site becomes one merge request "Accept site changes" (opened, then
/// updated, never duplicated), made by a job with no key; a critical one is
/// an issue (the bot's own, never a look-alike) that names the owners of
/// `admins.yaml` and the undo job, which puts the site back.
#[test]
fn site_changes_become_one_accept_merge_request_and_critical_ones_an_issue() {
    if !super::tools_present() {
        return;
    }
    let world = World::new();
    world.seed_applied_pipeline(690);
    let schedule = |id| world.scheduled(id);
    world.strip_jane_by_hand("acme");
    let results = schedule(702);
    let drift = job(&results, "drift: [acme]");
    assert!(!drift.ok, "{}", drift.log);
    let accept = job(&results, "accept: [acme]");
    assert!(accept.ok, "{}\n{}", accept.log, drift.log);
    let state = world.state();
    assert_eq!(
        state["gitlab"]["issues"],
        json!([]),
        "a change to accept needs no issue"
    );
    let mrs = state["gitlab"]["mrs"].as_array().unwrap().clone();
    assert_eq!(mrs.len(), 1, "{mrs:?}\n{}", accept.log);
    assert_eq!(mrs[0]["title"], "Accept site changes: acme");
    assert_eq!(mrs[0]["source_branch"], "rolecall/accept-acme");
    let diff = world.git(&["diff", "main", "rolecall/accept-acme", "--stat"]);
    assert!(
        diff.contains("sites/acme/teams/analytics.yaml") && diff.contains("1 file changed"),
        "{diff}"
    );
    let results = schedule(703);
    assert!(job(&results, "accept: [acme]").ok);
    let mrs = world.state()["gitlab"]["mrs"].as_array().unwrap().clone();
    assert_eq!(mrs.len(), 1, "never a second one: {mrs:?}");
    assert!(
        mrs[0]["description"]
            .as_str()
            .unwrap()
            .contains("Made by https://gitlab.example.com/acme/access/-/jobs/")
    );

    // Critical: an issue (never the look-alike someone else opened) that
    // names the owners, the baseline and the manual undo job.
    world.update_state(|s| {
        s["gitlab"]["issues"].as_array_mut().unwrap().push(json!({
            "iid": 1, "title": "rolecall drift: acme", "description": "mine",
            "labels": ["rolecall-drift"], "state": "opened", "author": {"username": "mallory"},
        }));
    });
    world.make_jane_admin_by_hand("acme");
    let results = schedule(704);
    let drift = job(&results, "drift: [acme]");
    assert!(!drift.ok);
    let issues = world.state()["gitlab"]["issues"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(issues.len(), 2, "{issues:?}\n{}", drift.log);
    assert_eq!(
        issues[0]["description"], "mine",
        "mallory's issue is left alone"
    );
    let body = issues[1]["description"].as_str().unwrap();
    let baseline = world.git(&["rev-parse", "main"]);
    assert!(
        body.contains("manual job `undo: [acme]`") && body.contains(&baseline),
        "{body}"
    );
    assert!(
        body.starts_with("**Critical:**")
            && body.contains("@acme/security (owners of `sites/acme/admins.yaml`)"),
        "{body}"
    );
    assert_eq!(world.state()["gitlab"]["mrs"].as_array().unwrap().len(), 1);

    // The manual job `undo` of a pipeline run on the default branch puts the
    // site back; with review approval, only for the users the project names.
    let writes = world.site_writes("acme");
    let web = Pipeline {
        id: 720,
        source: "web",
        sha: baseline.clone(),
        base: baseline.clone(),
        mr: None,
        approved: true,
        user: "octocat",
    };
    let refused = world.play(&web, "undo", "acme", "octocat");
    assert!(
        !refused.ok && refused.log.contains("octocat may not undo site changes"),
        "{}",
        refused.log
    );
    assert_eq!(world.site_writes("acme"), writes, "nothing written");
    world.assert_undone(
        &world.play(&web, "undo", "acme", "security-lead"),
        &baseline,
    );
}
