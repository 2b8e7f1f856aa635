//! The engine against the emulator: a plan carried out, outcomes typed, a
//! membership in a role the plan creates resolved from the create's answer.

use std::sync::{Arc, Mutex};

use periscope_client::{ApiKey, ClientConfig, Credentials, ReadClient, Writer};
use periscope_emulator::{Emulator, Options, spawn};
use rolecall_core::config::load::{Loaded, load_texts};
use rolecall_core::live::Live;
use rolecall_core::pipeline::plan;
use rolecall_core::plan::{Change, Plan, RoleChange, Selection, UserChange};
use rolecall_engine::{ExecuteOptions, Outcome, Skip, Stop, execute, fetch};

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

fn site() -> Emulator {
    spawn(Options {
        site: Some("acme".into()),
        ..Options::default()
    })
    .unwrap()
}

fn config(emu: &Emulator) -> ClientConfig {
    ClientConfig::new(
        emu.url(),
        Credentials::new(emu.site(), ApiKey::new(emu.api_key())),
    )
}

fn loaded(text: &str) -> Loaded {
    load_texts(vec![("rolecall.yaml".into(), text.to_string())]).unwrap()
}

/// A new site, read, and the plan of [`CONFIG`] against it.
async fn planned() -> (Emulator, ReadClient, Loaded, Live, Plan) {
    let emu = site();
    let reader = ReadClient::new(&config(&emu)).unwrap();
    let loaded = loaded(CONFIG);
    let live = fetch(&reader).await.unwrap();
    let all = Selection::default();
    let (planned, _) = plan(&loaded.desired, &loaded.sources, &live, &all).unwrap();
    (emu, reader, loaded, live, planned)
}

#[tokio::test]
async fn a_plan_is_carried_out_and_the_site_then_matches() {
    let (emu, reader, loaded, live, planned) = planned().await;
    let li = planned
        .changes
        .iter()
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
        Arc::new(move |s: &rolecall_core::plan::Step, o: &Outcome| {
            seen.lock().unwrap().push((s.key().to_string(), o.clone()));
        })
    };
    let writer = Arc::new(Writer::new(&config(&emu), false).unwrap());
    let report = execute(
        &planned,
        writer,
        &live,
        ExecuteOptions { stop: Stop::new() },
        hook,
    )
    .await;
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(seen.lock().unwrap().len(), planned.changes.len());
    let after = fetch(&reader).await.unwrap();
    let (again, _) = plan(
        &loaded.desired,
        &loaded.sources,
        &after,
        &Selection::default(),
    )
    .unwrap();
    assert!(again.is_empty(), "{again:?}");
    let state = emu.snapshot();
    let growth = state.roles.iter().find(|r| r.name == "Growth").unwrap();
    let li = state
        .users
        .iter()
        .find(|u| u.email == "li@acme.example")
        .unwrap();
    assert!(
        li.roles.contains(&growth.id),
        "li is in the role created first"
    );
}

#[tokio::test]
async fn a_failed_create_skips_what_needs_it_and_keeps_the_status() {
    let (emu, _, _, live, mut planned) = planned().await;
    // The site refuses an action it does not know: the create fails.
    for step in &mut planned.changes {
        if let Change::Role(RoleChange::Create(after)) = &mut step.change {
            after
                .privileges
                .insert("Dashboard".into(), ["fly_dashboards".to_string()].into());
        }
    }
    let writer = Arc::new(Writer::new(&config(&emu), false).unwrap());
    let report = execute(
        &planned,
        writer,
        &live,
        ExecuteOptions { stop: Stop::new() },
        Arc::new(|_: &rolecall_core::plan::Step, _: &Outcome| {}),
    )
    .await;
    let by_key = |key: &str| {
        let i = planned.changes.iter().position(|s| s.key() == key).unwrap();
        report.outcomes[i].clone()
    };
    match by_key("Growth") {
        Outcome::Failed(f) => {
            assert_eq!(f.status, Some(400));
            assert_eq!(f.url, Some(format!("{}/api/v1/roles", emu.url())));
            assert!(f.message.contains("/api/v1/roles"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        by_key("li@acme.example"),
        Outcome::Skipped(Skip::NeedsRoles(vec!["Growth".into()]))
    );
    assert!(
        emu.snapshot()
            .users
            .iter()
            .all(|u| u.email != "li@acme.example"),
        "a skipped create is not sent"
    );
}
