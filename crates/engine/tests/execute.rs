//! The engine against a site in memory ([`MemorySite`]): a plan carried
//! out, outcomes typed, a membership in a role the plan creates resolved
//! from the create's answer, what a concurrent apply explains settled, and
//! a stop kept. The client over HTTP is the integration tests' (`tests/it`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use rolecall_core::config::load::{Loaded, load_texts};
use rolecall_core::kinds::ObjectRef;
use rolecall_core::live::{Kept, Live, LiveRole, LiveUser};
use rolecall_core::pipeline::plan;
use rolecall_core::plan::{Change, Plan, RoleChange, Selection, Step, UserChange};
use rolecall_engine::memory::MemorySite;
use rolecall_engine::{ExecuteOptions, Outcome, Report, Skip, Stop, execute, fetch};

const CONFIG: &str = "\
site: acme
actor: admin@acme.example
roles:
  Growth:
    description: New this quarter
    privileges:
      Dashboard: [read_dashboards]
users:
  admin@acme.example:
    roles: [Admin]
  li@acme.example:
    first_name: Li
    last_name: Wei
    roles: [Growth, Analyst]
";

fn role(id: &str, name: &str) -> LiveRole {
    LiveRole {
        id: id.into(),
        name: name.into(),
        description: String::new(),
        privileges: BTreeMap::new(),
        grants: BTreeMap::new(),
        kept: Kept::default(),
    }
}

/// A new site: the roles every site starts with, and its admin.
fn new_site() -> Live {
    Live {
        users: vec![LiveUser {
            id: "u-admin".into(),
            email: "admin@acme.example".into(),
            first_name: "Ada".into(),
            last_name: "Admin".into(),
            roles: ["r-admin".to_string(), "r-every".to_string()].into(),
        }],
        roles: vec![
            role("r-admin", "Admin"),
            role("r-every", "Everyone"),
            role("r-analyst", "Analyst"),
        ],
        objects: Vec::new(),
    }
}

fn loaded(text: &str) -> Loaded {
    load_texts(vec![("rolecall.yaml".into(), text.to_string())]).unwrap()
}

fn plan_of(loaded: &Loaded, live: &Live) -> Plan {
    plan(
        &loaded.desired,
        &loaded.sources,
        live,
        &Selection::default(),
    )
    .unwrap()
    .0
}

/// A new site in memory, read, and the plan of `config` against it.
async fn planned(config: &str) -> (Arc<MemorySite>, Loaded, Live, Plan) {
    let site = Arc::new(MemorySite::new(new_site()));
    let loaded = loaded(config);
    let live = fetch(&*site).await.unwrap();
    let planned = plan_of(&loaded, &live);
    (site, loaded, live, planned)
}

async fn run(site: &Arc<MemorySite>, plan: &Plan, live: &Live, stop: Stop) -> Report {
    execute(
        plan,
        site.clone(),
        live,
        ExecuteOptions { stop },
        Arc::new(|_: &Step, _: &Outcome| {}),
    )
    .await
}

fn outcome(plan: &Plan, report: &Report, key: &str) -> Outcome {
    let i = plan.changes.iter().position(|s| s.key() == key).unwrap();
    report.outcomes[i].clone()
}

#[tokio::test]
async fn a_plan_is_carried_out_and_the_site_then_matches() {
    let (site, loaded, live, planned) = planned(CONFIG).await;
    let li = (planned.changes.iter())
        .find_map(|s| match &s.change {
            Change::User(UserChange::Create(after)) => Some(after),
            _ => None,
        })
        .unwrap();
    assert!(
        li.roles
            .iter()
            .any(|r| r.name == "Growth" && r.id.is_none()),
        "a role the plan creates is named, not given an id: {li:?}"
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook = {
        let seen = seen.clone();
        Arc::new(move |s: &Step, o: &Outcome| {
            seen.lock().unwrap().push((s.key().to_string(), o.clone()));
        })
    };
    let options = ExecuteOptions { stop: Stop::new() };
    let report = execute(&planned, site.clone(), &live, options, hook).await;
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(seen.lock().unwrap().len(), planned.changes.len());
    let after = site.live();
    assert!(plan_of(&loaded, &after).is_empty());
    let growth = after.roles.iter().find(|r| r.name == "Growth").unwrap();
    let li = (after.users.iter())
        .find(|u| u.email == "li@acme.example")
        .unwrap();
    assert!(
        li.roles.contains(&growth.id),
        "li is in the role created first"
    );
    assert!(li.roles.contains("r-every"), "and in Everyone");
}

#[tokio::test]
async fn a_failed_create_skips_what_needs_it_and_keeps_the_status() {
    let (site, _, live, mut planned) = planned(CONFIG).await;
    // The site refuses an action it does not know: the create fails.
    for step in &mut planned.changes {
        if let Change::Role(RoleChange::Create(after)) = &mut step.change {
            after
                .privileges
                .insert("Dashboard".into(), ["fly_dashboards".to_string()].into());
        }
    }
    let report = run(&site, &planned, &live, Stop::new()).await;
    match outcome(&planned, &report, "Growth") {
        Outcome::Failed(f) => {
            assert_eq!(f.status, Some(400));
            assert_eq!(f.url.as_deref(), Some("memory:/roles"));
            assert!(f.message.contains("fly_dashboards"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        outcome(&planned, &report, "li@acme.example"),
        Outcome::Skipped(Skip::NeedsRoles(vec!["Growth".into()]))
    );
    assert!(
        site.live()
            .users
            .iter()
            .all(|u| u.email != "li@acme.example"),
        "a skipped create is not sent"
    );
    assert_eq!(report.done() + report.failed() + report.skipped(), 2);
}

#[tokio::test]
async fn a_create_made_meanwhile_as_planned_is_done_and_its_id_used() {
    let (site, _, live, planned) = planned(CONFIG).await;
    // Another apply of the same plan created Growth after this one read.
    let growth = (planned.changes.iter())
        .find_map(|s| match &s.change {
            Change::Role(RoleChange::Create(after)) => Some(after.clone()),
            _ => None,
        })
        .unwrap();
    let other = MemorySite::new(live.clone());
    rolecall_engine::SiteWrite::create_role(&other, &growth, "x")
        .await
        .unwrap();
    let site_now = Arc::new(MemorySite::new(other.live()));
    let report = run(&site_now, &planned, &live, Stop::new()).await;
    assert!(report.is_complete(), "{report:?}");
    let after = site_now.live();
    let growth_id = &after.roles.iter().find(|r| r.name == "Growth").unwrap().id;
    let li = after
        .users
        .iter()
        .find(|u| u.email == "li@acme.example")
        .unwrap();
    assert!(li.roles.contains(growth_id), "{li:?}");
    drop(site);
}

#[tokio::test]
async fn a_create_made_meanwhile_otherwise_fails_with_the_conflict() {
    let (_, _, live, planned) = planned(CONFIG).await;
    let mut other = live.clone();
    let mut growth = role("r-growth", "growth");
    growth.description = "Someone else's".into();
    other.roles.push(growth);
    let site = Arc::new(MemorySite::new(other));
    let report = run(&site, &planned, &live, Stop::new()).await;
    assert!(
        matches!(outcome(&planned, &report, "Growth"), Outcome::Failed(f) if f.status == Some(409))
    );
    assert!(matches!(
        outcome(&planned, &report, "li@acme.example"),
        Outcome::Skipped(Skip::NeedsRoles(_))
    ));
}

#[tokio::test]
async fn a_delete_of_what_is_gone_is_done() {
    let config = CONFIG
        .replace("users:\n", "prune:\n  roles: delete\nusers:\n")
        .replace("[Growth, Analyst]", "[Growth]");
    let (_, _, live, planned) = planned(&config).await;
    assert!(planned.changes.iter().any(|s| s.key() == "Analyst"));
    let mut gone = live.clone();
    gone.roles.retain(|r| r.name != "Analyst");
    let site = Arc::new(MemorySite::new(gone));
    let report = run(&site, &planned, &live, Stop::new()).await;
    assert_eq!(outcome(&planned, &report, "Analyst"), Outcome::Done);
}

#[tokio::test]
async fn refused_credentials_start_nothing_more() {
    let (site, _, live, planned) = planned(CONFIG).await;
    site.fail_on("Growth", 401);
    let report = run(&site, &planned, &live, Stop::new()).await;
    assert!(report.credentials_refused);
    assert_eq!(site.writes(), 1, "only the first call was made");
    assert!(matches!(
        outcome(&planned, &report, "li@acme.example"),
        Outcome::Skipped(_)
    ));
}

#[tokio::test]
async fn a_stop_before_the_start_writes_nothing() {
    let (site, _, live, planned) = planned(CONFIG).await;
    let stop = Stop::new();
    stop.stop();
    let report = run(&site, &planned, &live, stop).await;
    assert!(report.interrupted);
    assert_eq!(site.writes(), 0);
    assert!(
        (report.outcomes.iter()).all(|o| *o == Outcome::Skipped(Skip::Interrupted)),
        "{report:?}"
    );
}

#[tokio::test]
async fn rights_rolecall_does_not_manage_are_sent_back_on_update() {
    let mut live = new_site();
    let kept = Kept {
        privileges: BTreeMap::from([("Topic".to_string(), BTreeSet::from(["read".to_string()]))]),
        grants: BTreeMap::new(),
    };
    live.roles[2].kept = kept.clone();
    live.roles[2].grants.insert(
        ObjectRef::dashboard("d1"),
        BTreeSet::from(["read_dashboards".into()]),
    );
    live.objects
        .push(rolecall_core::live::LiveObject::dashboard("d1", "Revenue"));
    let site = Arc::new(MemorySite::new(live.clone()));
    let config = "\
site: acme
actor: admin@acme.example
roles:
  Analyst:
    description: Writes SQL
users:
  admin@acme.example:
    roles: [Admin]
";
    let planned = plan_of(&loaded(config), &live);
    assert_eq!(planned.changes.len(), 1, "{planned:?}");
    let report = run(&site, &planned, &live, Stop::new()).await;
    assert!(report.is_complete(), "{report:?}");
    let analyst = site
        .live()
        .roles
        .into_iter()
        .find(|r| r.name == "Analyst")
        .unwrap();
    assert_eq!(analyst.description, "Writes SQL");
    assert!(analyst.grants.is_empty(), "the managed grant is taken away");
    assert_eq!(analyst.kept, kept, "what is not managed stays");
}
