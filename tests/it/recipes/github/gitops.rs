//! The GitHub recipes as the plans teams have: review approval (GitHub Pro
//! and Team), and the one required check with the lock.

use serde_json::Value;

use super::super::World;
use super::job;

/// The pull requests of the forge.
fn pulls(world: &World) -> Vec<Value> {
    world.state()["github"]["pulls"].as_array().unwrap().clone()
}

/// With review approval (no reviewers on the environment), a stale plan is
/// never applied, not by a re-run either: it becomes the pull request
/// "Re-plan SITE", pushed and opened with the accept token (so that its plan
/// runs), whose merge applies the plan its review saw.
#[test]
fn review_approval_a_stale_plan_becomes_a_replan_pull_request_whose_merge_applies_it() {
    if !super::super::tools_present() {
        return;
    }
    let world = World::new();
    world.seed_snapshots(3000);
    let head = world.hire_sam();
    let plan = world.pull_request("rolecall-plan.yml", 1001, 8, &head);
    assert!(job(&plan, "rolecall").ok, "{}", job(&plan, "Plan acme").log);
    assert!(
        world.comments(8)[0].contains("once this pull request is approved by its code owners"),
        "{}",
        world.comments(8)[0]
    );
    world.approve(8, &head, "security-lead");
    world.strip_jane_by_hand("acme");
    let writes = world.site_writes("acme");
    let (before, after) = world.merge_pr("hire", 8, &head);
    let (before_hire, after_hire) = (before.clone(), after.clone());

    let results = world.push(2001, 1, &before, &after);
    let apply = job(&results, "Apply acme");
    assert!(!apply.ok && apply.log.contains("stale"), "{}", apply.log);
    assert_eq!(world.site_writes("acme"), writes, "nothing written");
    let replan = job(&results, "Re-plan acme");
    assert!(replan.ok, "{}", replan.log);
    let prs = pulls(&world);
    assert_eq!(prs.len(), 1, "{prs:?}");
    assert_eq!(prs[0]["title"], "Re-plan acme");
    assert_eq!(prs[0]["head"]["ref"], "rolecall/replan-acme");
    assert_eq!(
        prs[0]["user"]["login"], "rolecall-bot[bot]",
        "opened with the accept token: its plan runs"
    );
    let body = prs[0]["body"].as_str().unwrap();
    assert!(
        body.contains("#8") && body.contains("`jane@acme.com`") && body.contains("`sam@acme.com`"),
        "{body}"
    );
    let said = world.comments(8).pop().unwrap();
    assert!(
        said.contains("\"Re-plan acme\" carries it") && said.contains("never applies it"),
        "{said}"
    );

    // A re-run applies nothing, and updates the same pull request.
    let results = world.push(2001, 2, &before, &after);
    assert!(!job(&results, "Apply acme").ok);
    assert!(job(&results, "Re-plan acme").ok);
    assert_eq!(world.site_writes("acme"), writes, "a re-run writes nothing");
    assert_eq!(pulls(&world).len(), 1, "never a second one");
    // Re-running the pull request's plan run after the approval makes a
    // plan against the snapshot the stale apply published, one that
    // matches the site: nobody approved it, and it is never taken.
    assert!(job(&world.rerun_pull_request(1001, 2, 8, &head), "rolecall").ok);
    // Someone else approving after it changes nothing: the first approval
    // of the head is the one that counts.
    world.approve(8, &head, "mallory");
    let results = world.push(2001, 3, &before, &after);
    let apply = job(&results, "Apply acme");
    assert!(
        !apply.ok
            && apply
                .log
                .contains("re-run, or still running, after #8 was approved"),
        "{}",
        apply.log
    );
    assert_eq!(world.site_writes("acme"), writes, "nothing written");

    // The re-plan pull request: its own plan run, its review, its merge.
    let number = prs[0]["number"].as_u64().unwrap();
    let replan_head = world.git(&["rev-parse", "rolecall/replan-acme"]);
    let results = world.pull_request("rolecall-plan.yml", 1101, number, &replan_head);
    assert!(
        job(&results, "rolecall").ok,
        "{}",
        job(&results, "Plan acme").log
    );
    let comment = world.comments(number).pop().unwrap();
    assert!(
        comment.contains("`jane@acme.com`") && comment.contains("`sam@acme.com`"),
        "the plan against the site as the stale apply read it: {comment}"
    );
    let (before, after) = world.merge_pr("rolecall/replan-acme", number, &replan_head);
    let results = world.push(2002, 1, &before, &after);
    let apply = job(&results, "Apply acme");
    assert!(apply.ok, "{}", apply.log);
    assert!(
        apply.log.contains(&format!(
            "applying the plan of run 1101, reviewed in #{number}"
        )),
        "{}",
        apply.log
    );
    assert_eq!(world.jane("acme"), (4, false), "jane's roles are back");
    assert!(world.emails("acme").contains(&"sam@acme.com".into()));

    // Re-running the older apply run now would roll the site back, even
    // once a drift run that started during an apply carried the older
    // record forward (the latest record counts by history, not time).
    world.seed_record(3900, "rolecall-drift.yml", "schedule", &after_hire);
    let writes = world.site_writes("acme");
    let results = world.push(2001, 4, &before_hire, &after_hire);
    let apply = job(&results, "Apply acme");
    assert!(
        !apply.ok && apply.log.contains("is applied to acme already"),
        "{}",
        apply.log
    );
    assert_eq!(world.site_writes("acme"), writes, "nothing written");
}

/// `rolecall` is the one check to require: green on a pull request that
/// changes no site, red while a site's lock lacks a pin (the comment gives
/// the lock to commit, made with no key), green once it is committed; a
/// site directory whose name would pick another environment is refused.
#[test]
fn one_check_to_require_reports_every_pull_request_and_the_lock() {
    if !super::super::tools_present() {
        return;
    }
    let world = World::new();
    world.seed_snapshots(3000);
    let docs = world.commit_on("docs", "a readme", |repo| {
        std::fs::write(repo.join("NOTES.md"), "notes\n").unwrap();
    });
    let results = world.pull_request("rolecall-plan.yml", 1001, 5, &docs);
    assert!(
        job(&results, "rolecall").ok,
        "{}",
        job(&results, "rolecall").log
    );
    assert!(job(&results, "rolecall").log.contains("no site changed"));
    assert!(!results.contains_key("Plan acme"));
    assert!(world.comments(5).is_empty());

    // A grant on a dashboard the lock does not pin yet.
    let grant = world.commit_on("funnel", "marketing sees the funnel", |repo| {
        let path = repo.join("sites/acme/roles/departments.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            path,
            text.replace(
                "      Pipeline Health: [read_dashboards]\n",
                "      Pipeline Health: [read_dashboards]\n      Marketing Funnel: [read_dashboards]\n",
            ),
        )
        .unwrap();
    });
    let results = world.pull_request("rolecall-plan.yml", 1002, 6, &grant);
    assert!(!job(&results, "Plan acme").ok);
    assert!(!job(&results, "rolecall").ok, "the lock fails the check");
    let comment = world.comments(6).pop().unwrap();
    assert!(
        comment.contains("**The lock is not up to date**")
            && comment.contains("\"Marketing Funnel\": \"4703\""),
        "{comment}"
    );
    let lock = std::fs::read_to_string(
        world
            .artifacts("run-1002")
            .join("rolecall-lock-acme/rolecall.lock"),
    )
    .unwrap();
    let fixed = world.commit_on("funnel", "pin the funnel", |repo| {
        std::fs::write(repo.join("sites/acme/rolecall.lock"), &lock).unwrap();
    });
    let results = world.pull_request("rolecall-plan.yml", 1003, 6, &fixed);
    assert!(
        job(&results, "rolecall").ok,
        "{}",
        job(&results, "Plan acme").log
    );
    assert!(
        !world
            .comments(6)
            .pop()
            .unwrap()
            .contains("lock is not up to date")
    );

    // `acme-drift` would pick the drift environment of acme.
    let sneaky = world.commit_on("sneaky", "a site named like an environment", |repo| {
        let from = repo.join("sites/acme");
        let to = repo.join("sites/acme-drift");
        crate::copy_dir(&from, &to);
    });
    let results = world.pull_request("rolecall-plan.yml", 1004, 10, &sneaky);
    assert!(!job(&results, "Sites changed").ok);
    assert!(
        job(&results, "Sites changed")
            .log
            .contains("not ending in '-drift'"),
        "{}",
        job(&results, "Sites changed").log
    );
    assert!(!job(&results, "rolecall").ok);
    let (before, after) = world.merge("sneaky");
    let results = world.push(2001, 1, &before, &after);
    assert!(!job(&results, "Sites changed").ok);
    assert!(!results.contains_key("Apply acme-drift"));
    assert_eq!(world.site_writes("acme"), 0);
}
