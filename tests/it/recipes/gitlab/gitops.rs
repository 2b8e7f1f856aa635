//! The GitLab pipeline as the tiers teams have: review approval (every
//! tier), nothing from the checkout run in a keyed job, and the reviewed
//! plan of the merge request itself.

use std::os::unix::fs::PermissionsExt as _;

use serde_json::{Value, json};

use super::super::World;
use super::job;

fn mrs(world: &World) -> Vec<Value> {
    world.state()["gitlab"]["mrs"].as_array().unwrap().clone()
}

/// Files committed as `.rolecall/bin/curl` (and `jq`, `git`, `rolecall`)
/// sit where the component installed rolecall and put first on PATH: in
/// the drift and accept jobs (as in apply, which installs the same way)
/// they would run with the site key or the push token. The component installs outside the checkout and the jobs
/// call rolecall by its absolute path: none of them runs.
#[test]
fn files_committed_under_rolecall_bin_never_run_in_a_keyed_job() {
    if !super::super::tools_present() {
        return;
    }
    let world = World::new();
    world.real_install.set(true);
    world.seed_applied_pipeline(690);
    let marker = world.forge.path().join("stolen");
    world.commit_on("tools", "tools", |repo| {
        let bin = repo.join(".rolecall/bin");
        std::fs::create_dir_all(&bin).unwrap();
        for tool in ["curl", "jq", "git", "rolecall", "bash", "sh"] {
            let path = bin.join(tool);
            std::fs::write(
                &path,
                format!(
                    "#!/bin/sh\necho \"{tool}: $PERISCOPE_API_KEY $ROLECALL_GITLAB_PUSH_TOKEN\" >> '{}'\n",
                    marker.display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    });
    world.merge("tools");
    world.strip_jane_by_hand("acme");
    let results = world.scheduled(710);
    let drift = job(&results, "drift: [acme]");
    assert!(
        drift.log.contains("installed ")
            && drift.log.contains("accepted: ~ user \"jane@acme.com\""),
        "a release installed and run: {}",
        drift.log
    );
    assert!(
        job(&results, "accept: [acme]").ok,
        "{}",
        job(&results, "accept: [acme]").log
    );
    assert_eq!(mrs(&world).len(), 1, "the accept merge request");
    assert!(
        !marker.exists(),
        "a committed file ran: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

/// With review approval (the default), a stale plan is never applied, not
/// by a retry either: the `replan` job opens the merge request "Re-plan
/// SITE" with the push token, and its merge applies the plan its pipeline
/// made. The apply takes the plan of the merge request merged, from this
/// project, never a fork's merge request of the same commit.
#[test]
fn review_approval_a_stale_plan_becomes_a_replan_merge_request_whose_merge_applies_it() {
    if !super::super::tools_present() {
        return;
    }
    let world = World::new();
    world.nightly(700);
    let head = world.hire_sam();
    let (reviewed, results) = world.merge_request(501, 5, &head);
    assert!(job(&results, "plan: [acme]").ok);
    assert!(
        world.notes(5)[0].contains("once this merge request is approved"),
        "{}",
        world.notes(5)[0]
    );
    world.strip_jane_by_hand("acme");
    let writes = world.site_writes("acme");
    let (before, after) = world.merge_mr("hire", 5);
    // A fork's merge request with the same commit comes first: never taken.
    world.update_state(|s| {
        let list = s["gitlab"]["mrs_by_commit"][&after].as_array_mut().unwrap();
        let mut fork = list[0].clone();
        fork["iid"] = json!(99);
        fork["source_project_id"] = json!(666);
        list.insert(0, fork);
    });
    let (p, results) = world.push_pipeline(701, before, after);
    let apply = job(&results, "apply: [acme]");
    assert!(
        !apply.ok && apply.log.contains("reviewed in !5") && apply.log.contains("stale"),
        "{}",
        apply.log
    );
    assert_eq!(world.site_writes("acme"), writes, "nothing written");
    assert!(
        job(&results, "replan: [acme]").ok,
        "{}",
        job(&results, "replan: [acme]").log
    );
    let list = mrs(&world);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["title"], "Re-plan acme");
    assert_eq!(list[0]["source_branch"], "rolecall/replan-acme");
    assert_eq!(list[0]["author"]["username"], "project_7_bot_push");
    assert!(
        world
            .notes(5)
            .last()
            .unwrap()
            .contains("\"Re-plan acme\" carries it")
    );
    // A retry applies nothing (not the plan it posted). Nor after a retry
    // of the merge request's plan job, which plans against the snapshot the
    // stale apply published: that plan disagrees with the reviewed one.
    let replanned = world.retry(&reviewed, "plan", "acme", false);
    assert!(replanned.ok, "{}", replanned.log);
    let retry = world.retry(&p, "apply", "acme", true);
    assert!(
        !retry.ok && retry.log.contains("made different plans"),
        "{}",
        retry.log
    );
    // Nor once the reviewed plan job is erased (its author may erase it).
    let jobs = world.state()["gitlab"]["jobs"].clone();
    let first = (jobs.as_array().unwrap().iter())
        .find(|j| j["pipeline"] == 501 && j["name"] == "plan: [acme]")
        .unwrap();
    let erased = world.artifacts(&format!("job-{}", first["id"]));
    std::fs::remove_file(erased.join("plan-acme.json")).unwrap();
    let retry = world.retry(&p, "apply", "acme", true);
    assert!(
        !retry.ok && retry.log.contains("its plan is gone"),
        "{}",
        retry.log
    );
    // Said on the merge request, with the plan now, for a re-plan.
    let said = world.notes(5).pop().unwrap();
    assert!(
        said.contains("**no reviewed plan** could be applied") && said.contains("`jane@acme.com`"),
        "{said}"
    );
    assert_eq!(world.site_writes("acme"), writes, "a retry writes nothing");

    let number = list[0]["iid"].as_u64().unwrap();
    let replan_head = world.git(&["rev-parse", "rolecall/replan-acme"]);
    let (_, results) = world.merge_request(702, number, &replan_head);
    assert!(job(&results, "plan: [acme]").ok);
    let (_, results) = world.merge_and_push(703, "rolecall/replan-acme", number);
    let apply = job(&results, "apply: [acme]");
    assert!(apply.ok, "{}", apply.log);
    assert!(
        apply.log.contains(&format!("reviewed in !{number}")),
        "{}",
        apply.log
    );
    assert_eq!(world.jane("acme"), (4, false), "jane's roles are back");
    assert!(world.emails("acme").contains(&"sam@acme.com".into()));

    // Retrying the older apply job now would roll the site back.
    let writes = world.site_writes("acme");
    let retry = world.retry(&p, "apply", "acme", true);
    assert!(
        !retry.ok && retry.log.contains("is applied to acme already"),
        "{}",
        retry.log
    );
    assert_eq!(world.site_writes("acme"), writes, "nothing written");
}
