//! Every reason a saved plan is refused, and what passes: a plan made and
//! recorded at one moment, then the site or the config (or the file) moved,
//! and judged against a plan made now.

use super::{Now, Refusal, Stale, compare, record};
use crate::config::load::{Loaded, load_texts};
use crate::live::{Live, LiveObject, LiveRole, LiveUser};
use crate::plan::{Kind, MadeFrom, Plan, Review, Selection};
use crate::testing::{live_role, live_user as user};

const CONFIG: &str = "\
site: acme
actor: admin@acme.com
roles:
  Analyst:
    description: Writes SQL
    privileges:
      Dashboard: [read_dashboards]
    dashboards:
      Revenue: [read_dashboards, download_pdf]
  Finance:
    description: Money
users:
  admin@acme.com:
    first_name: Ada
    last_name: Admin
    roles: [Admin]
  jane@acme.com:
    first_name: Jane
    last_name: Doe
    roles: [Analyst, Finance]
";

fn role(id: &str, name: &str, description: &str, privileges: &[&str]) -> LiveRole {
    live_role(id, name, description, privileges, &[])
}

/// The site before the plan: Jane is in Analyst only.
fn site() -> Live {
    Live {
        roles: vec![
            role("r-admin", "Admin", "", &["read_dashboards"]),
            role("r-every", "Everyone", "", &[]),
            live_role(
                "r-analyst",
                "Analyst",
                "Writes SQL",
                &["read_dashboards"],
                &[("d1", &["read_dashboards", "download_pdf"])],
            ),
            role("r-finance", "Finance", "Money", &[]),
        ],
        users: vec![
            user(
                "u-admin",
                "admin@acme.com",
                "Ada",
                "Admin",
                &["r-admin", "r-every"],
            ),
            user(
                "u-jane",
                "jane@acme.com",
                "Jane",
                "Doe",
                &["r-analyst", "r-every"],
            ),
        ],
        objects: vec![LiveObject::dashboard("d1", "Revenue")],
    }
}

fn load(yaml: &str) -> Loaded {
    load_texts(vec![("rolecall.yaml".into(), yaml.to_string())]).expect("the config loads")
}

fn planned(loaded: &Loaded, live: &Live) -> (Plan, Review) {
    crate::pipeline::plan(
        &loaded.desired,
        &loaded.sources,
        live,
        &Selection::default(),
    )
    .expect("the config fits the site")
}

/// A plan saved from `yaml` against `live`, with its record.
fn saved(yaml: &str, live: &Live) -> (Plan, Review) {
    let loaded = load(yaml);
    let (mut plan, review) = planned(&loaded, live);
    let mut made_from = MadeFrom::default();
    record(&mut made_from, &loaded.desired, live);
    plan.made_from = Some(made_from);
    (plan, review)
}

/// The saved plan judged against `yaml` and `live` now.
fn judge(saved: &(Plan, Review), yaml: &str, live: &Live) -> Result<(), Refusal> {
    let loaded = load(yaml);
    let fresh = planned(&loaded, live);
    let now = Now {
        desired: &loaded.desired,
        sources: &loaded.sources,
        live,
    };
    compare((&saved.0, &saved.1), (&fresh.0, &fresh.1), &now)
}

fn stale(result: Result<(), Refusal>) -> Vec<Stale> {
    match result {
        Err(Refusal::Stale(why)) => why,
        other => panic!("expected a stale plan, got {other:?}"),
    }
}

fn edited(result: Result<(), Refusal>) -> Vec<String> {
    match result {
        Err(Refusal::Edited(why)) => why,
        other => panic!("expected an edited plan, got {other:?}"),
    }
}

/// `why` has a line that starts with `start`.
fn assert_edit(why: &[String], start: &str) {
    assert!(why.iter().any(|w| w.starts_with(start)), "{why:?}");
}

fn jane(live: &mut Live) -> &mut LiveUser {
    live.users.iter_mut().find(|u| u.id == "u-jane").unwrap()
}

#[test]
fn the_same_site_and_config_pass() {
    let live = site();
    let plan = saved(CONFIG, &live);
    assert_eq!(plan.0.changes.len(), 1, "Jane joins Finance");
    assert_eq!(judge(&plan, CONFIG, &live), Ok(()));
}

#[test]
fn a_plan_without_a_record_cannot_be_judged() {
    let live = site();
    let mut plan = saved(CONFIG, &live);
    plan.0.made_from = None;
    assert_eq!(judge(&plan, CONFIG, &live), Err(Refusal::Unjudgeable));
    let mut plan = saved(CONFIG, &live);
    plan.0.made_from.as_mut().unwrap().entries.clear();
    assert_eq!(judge(&plan, CONFIG, &live), Err(Refusal::Unjudgeable));
}

#[test]
fn a_change_already_made_is_done_not_stale() {
    let mut live = site();
    let plan = saved(CONFIG, &live);
    jane(&mut live).roles.insert("r-finance".into());
    assert_eq!(judge(&plan, CONFIG, &live), Ok(()));
}

#[test]
fn an_object_deleted_on_the_site_is_gone() {
    let mut live = site();
    let plan = saved(CONFIG, &live);
    live.users.retain(|u| u.id != "u-jane");
    // A plan made now creates her again: new too, as the site moved.
    let why = stale(judge(&plan, CONFIG, &live));
    assert_eq!(
        why[0],
        Stale::Gone {
            kind: Kind::User,
            key: "jane@acme.com".into()
        }
    );
}

#[test]
fn an_object_changed_on_the_site_is_changed() {
    let mut live = site();
    let plan = saved(CONFIG, &live);
    jane(&mut live).last_name = "Smith".into();
    assert_eq!(
        stale(judge(&plan, CONFIG, &live)),
        [Stale::Changed {
            kind: Kind::User,
            key: "jane@acme.com".into()
        }]
    );
}

#[test]
fn an_object_the_plan_creates_made_on_the_site_since_is_created() {
    let yaml = format!(
        "{CONFIG}  sam@acme.com:\n    first_name: Sam\n    last_name: Lee\n    roles: [Analyst]\n"
    );
    let mut live = site();
    let plan = saved(&yaml, &live);
    live.users
        .push(user("u-sam", "sam@acme.com", "Samuel", "Lee", &["r-every"]));
    assert!(stale(judge(&plan, &yaml, &live)).contains(&Stale::Created {
        kind: Kind::User,
        key: "sam@acme.com".into()
    }));
}

#[test]
fn a_config_entry_edited_since_is_config() {
    let live = site();
    let plan = saved(CONFIG, &live);
    let now = CONFIG.replace("roles: [Analyst, Finance]", "roles: [Finance]");
    assert_eq!(
        stale(judge(&plan, &now, &live)),
        [Stale::Config {
            entry: "user \"jane@acme.com\"".into()
        }]
    );
}

#[test]
fn settings_changed_since_are_settings() {
    let yaml = CONFIG.replace("users:\n", "prune:\n  users: delete\nusers:\n");
    let mut live = site();
    live.users
        .push(user("u-old", "old@acme.com", "Old", "Timer", &["r-every"]));
    let plan = saved(&yaml, &live);
    let now = CONFIG.replace("users:\n", "prune:\n  users: strip\nusers:\n");
    live.users
        .last_mut()
        .unwrap()
        .roles
        .insert("r-analyst".into());
    let why = stale(judge(&plan, &now, &live));
    assert!(why.contains(&Stale::Settings), "{why:?}");
}

#[test]
fn a_new_change_on_an_object_moved_since_is_new() {
    let mut live = site();
    let plan = saved(CONFIG, &live);
    live.roles[3].description = "Cash".into();
    let why = stale(judge(&plan, CONFIG, &live));
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(
        matches!(&why[0], Stale::New { change } if change.contains("Finance")),
        "{why:?}"
    );
}

#[test]
fn a_change_whose_named_roles_moved_is_names() {
    let mut live = site();
    let plan = saved(CONFIG, &live);
    // Finance is deleted on the site: the plan made now creates it, and
    // Jane's membership names the new one.
    live.roles.retain(|r| r.id != "r-finance");
    let why = stale(judge(&plan, CONFIG, &live));
    assert!(
        why.iter()
            .any(|s| matches!(s, Stale::Names { change } if change.contains("jane@acme.com"))),
        "{why:?}"
    );
}

#[test]
fn risks_that_differ_as_other_objects_moved_are_elsewhere() {
    // Analyst gains an action; with `wide_grant: 1`, two members make it wide.
    let yaml = CONFIG
        .replace(
            "Dashboard: [read_dashboards]",
            "Dashboard: [read_dashboards, download_pdf]",
        )
        .replace("users:\n", "limits:\n  wide_grant: 1\nusers:\n");
    let mut live = site();
    let plan = saved(&yaml, &live);
    live.users.push(user(
        "u-zed",
        "zed@acme.com",
        "Zed",
        "Ng",
        &["r-analyst", "r-every"],
    ));
    let why = stale(judge(&plan, &yaml, &live));
    assert!(
        why.iter()
            .any(|s| matches!(s, Stale::Elsewhere { what } if what.starts_with("the risks of"))),
        "{why:?}"
    );
}

#[test]
fn an_access_effect_that_differs_as_other_objects_moved_is_elsewhere() {
    let yaml = CONFIG.replace(
        "Dashboard: [read_dashboards]",
        "Dashboard: [read_dashboards, download_pdf]",
    );
    let mut live = site();
    let plan = saved(&yaml, &live);
    // An unmanaged user in Analyst gains too.
    live.users.push(user(
        "u-zed",
        "zed@acme.com",
        "Zed",
        "Ng",
        &["r-analyst", "r-every"],
    ));
    assert_eq!(
        stale(judge(&plan, &yaml, &live)),
        [Stale::Elsewhere {
            what: "the access effect".into()
        }]
    );
}

#[test]
fn a_change_twice_in_the_file_is_an_edit() {
    let live = site();
    let mut plan = saved(CONFIG, &live);
    let step = plan.0.changes[0].clone();
    plan.0.changes.push(step);
    let why = edited(judge(&plan, CONFIG, &live));
    assert!(
        why.iter()
            .any(|w| w.starts_with("the file changes") && w.ends_with("twice")),
        "{why:?}"
    );
}

#[test]
fn a_change_added_to_the_file_is_an_edit() {
    let live = site();
    let mut plan = saved(CONFIG, &live);
    // A change taken from another plan: Ada joins Finance too.
    let other = saved(
        &CONFIG.replace("roles: [Admin]", "roles: [Admin, Finance]"),
        &live,
    );
    let ada = other
        .0
        .changes
        .iter()
        .find(|s| s.key() == "admin@acme.com")
        .unwrap();
    plan.0.changes.push(ada.clone());
    let why = edited(judge(&plan, CONFIG, &live));
    assert_edit(&why, "in the file, not in a plan made now");
}

#[test]
fn a_change_taken_out_of_the_file_is_an_edit() {
    let live = site();
    let mut plan = saved(CONFIG, &live);
    plan.0.changes.clear();
    let why = edited(judge(&plan, CONFIG, &live));
    assert_edit(&why, "in a plan made now, not in the file");
}

#[test]
fn a_change_altered_in_the_file_is_an_edit() {
    let live = site();
    let mut plan = saved(CONFIG, &live);
    let other = saved(
        &CONFIG.replace("roles: [Analyst, Finance]", "roles: [Finance]"),
        &live,
    );
    plan.0.changes[0] = other.0.changes[0].clone();
    let why = edited(judge(&plan, CONFIG, &live));
    assert_edit(&why, "not the same in the file as in a plan made now");
}

#[test]
fn a_before_made_up_in_the_file_is_an_edit_not_stale() {
    let live = site();
    let mut plan = saved(CONFIG, &live);
    // The file claims Jane was someone else: the record says she did not move.
    let other = {
        let mut moved = site();
        jane(&mut moved).last_name = "Smith".into();
        saved(CONFIG, &moved)
    };
    plan.0.changes[0] = other.0.changes[0].clone();
    let why = edited(judge(&plan, CONFIG, &live));
    assert_eq!(why.len(), 1, "{why:?}");
}

#[test]
fn an_access_effect_not_of_its_changes_is_an_edit() {
    let yaml = CONFIG.replace(
        "Dashboard: [read_dashboards]",
        "Dashboard: [read_dashboards, download_pdf]",
    );
    let live = site();
    let mut plan = saved(&yaml, &live);
    plan.1.access.as_mut().unwrap().gained.clear();
    assert_eq!(
        edited(judge(&plan, &yaml, &live)),
        ["its access effect is not the one of its changes"]
    );
}
