//! The path a team walks, over HTTP (never `--sandbox`): a config written
//! by hand (or exported), run again and again in the same directory against
//! the emulator started as a real site, with its quirks on:
//! validate → plan → plan --out → apply PLANFILE → plan (no changes) →
//! drift (0) → a change on the site through the API → drift (2) → apply →
//! drift (0) → a third run.

use std::path::Path;
use std::process::{Command, Output};

use periscope_emulator::{Emulator, Options, Quirks, Snapshot};
use serde_json::{Value, json};

use crate::transcript;

/// A site as a seed: Finance holds a grant on a Topic (an object type
/// rolecall does not manage), and a privilege on Spaces.
pub(crate) fn seed(site: &str) -> Snapshot {
    let value = json!({
        "site": site,
        "dashboards": [
            {"id": "4700", "name": "Revenue Overview"},
            {"id": "4711", "name": "Board Pack"}
        ],
        "roles": [
            {"id": "r-admin", "name": "Admin", "description": "Full access to the site",
             "privileges": [{"object_type": "Dashboard", "permissions": ["read_dashboards"]}],
             "permissions": []},
            {"id": "r-every", "name": "Everyone", "description": "Every user of the site",
             "privileges": [], "permissions": []},
            {"id": "r-fin", "name": "Finance", "description": "old words",
             "privileges": [
                 {"object_type": "Dashboard", "permissions": ["read_dashboards"]},
                 {"object_type": "Space", "permissions": ["read_spaces"]}
             ],
             "permissions": [
                 {"object_type": "Topic", "object_id": "t-9", "permissions": ["read_topics"]}
             ]}
        ],
        "users": [
            {"id": "u-admin", "email": "admin@acme.com", "first_name": "Ada", "last_name": "Admin",
             "roles": ["r-admin", "r-every"]},
            {"id": "u-jane", "email": "jane@acme.com", "first_name": "Jane", "last_name": "Doe",
             "roles": ["r-every"]}
        ]
    });
    serde_json::from_value(value).unwrap()
}

/// The emulator as a real site: HTTP on 127.0.0.1, a key, small pages,
/// every quirk the client must tolerate.
pub(crate) fn site(name: &str) -> Emulator {
    periscope_emulator::spawn(Options {
        seed: Some(seed(name)),
        api_key: Some(KEY.into()),
        page_size: 2,
        quirks: Quirks::ALL,
        ..Default::default()
    })
    .unwrap()
}

pub(crate) const KEY: &str = "life-k3y-0123";

/// The hand-written config of `site`: a description edited, a dashboard
/// grant added to the role with the Topic grant, a role and a user created.
pub(crate) fn config(site: &str) -> String {
    format!(
        "site: {site}
actor: admin@acme.com
roles:
  Finance:
    description: Reads the money
    privileges:
      Dashboard: [read_dashboards]
    dashboards:
      Revenue Overview: [read_dashboards]
  Analysts:
    privileges:
      Dashboard: [read_dashboards, create_sql_charts]
    dashboards:
      Board Pack: [read_dashboards]
users:
  admin@acme.com:
    first_name: Ada
    last_name: Admin
    roles: [Admin]
  jane@acme.com:
    first_name: Jane
    last_name: Doe
    roles: [Finance]
  omar@acme.com:
    first_name: Omar
    last_name: Ali
    roles: [Analysts]
"
    )
}

/// Runs rolecall in `dir` against `emu` as a real site: key and site from
/// the environment, the endpoint from `--endpoint`.
pub(crate) fn run<S: AsRef<std::ffi::OsStr>>(
    dir: &Path,
    emu: &Emulator,
    site: &str,
    args: &[S],
) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .current_dir(dir)
        .args(args)
        .args(["--endpoint", &emu.url()])
        .env("PERISCOPE_SITE", site)
        .env("PERISCOPE_API_KEY", KEY)
        .env("NO_COLOR", "1")
        .env_remove("ROLECALL_CONFIG")
        .env_remove("ROLECALL_ENDPOINT")
        .output()
        .expect("run rolecall")
}

pub(crate) fn expect(output: &Output, code: i32, step: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{step}: {}",
        transcript(output)
    );
}

/// The role `name` of the site now.
pub(crate) fn role(emu: &Emulator, name: &str) -> periscope_emulator::Role {
    emu.snapshot()
        .roles
        .into_iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no role {name}"))
}

/// The Topic grant and the Space privilege are still on Finance.
pub(crate) fn kept_intact(emu: &Emulator, step: &str) {
    let finance = serde_json::to_value(role(emu, "Finance")).unwrap();
    let permissions = finance["permissions"].as_array().unwrap();
    assert!(
        permissions
            .iter()
            .any(|p| p["object_type"] == "Topic" && p["object_id"] == "t-9"),
        "{step}: the Topic grant is gone: {finance}"
    );
    let privileges = finance["privileges"].as_array().unwrap();
    assert!(
        privileges.iter().any(|p| p["object_type"] == "Space"),
        "{step}: the Space privilege is gone: {finance}"
    );
}

/// The whole walk in `dir`, with `config` (`-f` or nothing) as given.
fn walk(dir: &Path, emu: &Emulator, site: &str, config: &[&str], lock: &Path) {
    fn joined<'a>(args: &[&'a str], config: &[&'a str]) -> Vec<&'a str> {
        [args, config].concat()
    }
    let with = |args: &[&'static str]| -> Vec<String> {
        joined(args, config).into_iter().map(String::from).collect()
    };
    let validate = run(dir, emu, site, &with(&["validate"]));
    expect(&validate, 0, "validate");
    assert!(
        String::from_utf8_lossy(&validate.stdout).contains("2 roles, 3 users"),
        "validate read the whole config: {}",
        transcript(&validate)
    );
    let plan = run(dir, emu, site, &with(&["plan"]));
    expect(&plan, 0, "plan");
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.contains("Plan: 2 to create, 2 to update"), "{text}");
    assert!(
        text.contains("that rolecall does not manage"),
        "the plan shows the Topic grant as not managed: {text}"
    );
    assert!(!lock.exists(), "a plan that is not saved pins nothing");
    let out = run(dir, emu, site, &with(&["plan", "--out", "plan.json"]));
    expect(&out, 0, "plan --out");
    let pins: Value = serde_json::from_str(&std::fs::read_to_string(lock).unwrap()).unwrap();
    assert_eq!(pins["site"], site, "the first lock records its site");
    assert_eq!(pins["dashboards"]["Revenue Overview"], "4700");
    let apply = run(dir, emu, site, &with(&["apply", "plan.json"]));
    expect(&apply, 0, "apply PLANFILE");
    kept_intact(emu, "apply");
    // The second run and every run after.
    let again = run(dir, emu, site, &with(&["plan", "--detailed-exitcode"]));
    expect(&again, 0, "plan after apply");
    expect(&run(dir, emu, site, &with(&["drift"])), 0, "drift");
    expect(
        &run(dir, emu, site, &with(&["lock", "--check"])),
        0,
        "lock --check",
    );
    // By hand on the site: jane loses Finance.
    let answer = crate::http_site(
        emu,
        site,
        KEY,
        "PUT",
        "/api/v2/users/u-jane",
        r#"{"roles":["r-every"]}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    expect(
        &run(dir, emu, site, &with(&["drift"])),
        2,
        "drift after a site change",
    );
    let fix = run(dir, emu, site, &with(&["apply", "--auto-approve"]));
    expect(&fix, 0, "apply");
    kept_intact(emu, "apply again");
    expect(
        &run(dir, emu, site, &with(&["drift"])),
        0,
        "drift after apply",
    );
    // A third run: every read command, twice, the same bytes.
    expect(
        &run(dir, emu, site, &with(&["validate"])),
        0,
        "third run: validate",
    );
    expect(
        &run(dir, emu, site, &with(&["lock", "--check"])),
        0,
        "third run: lock",
    );
    for args in [&["plan", "--format", "json"][..], &["drift"]] {
        let first = run(dir, emu, site, &with(args));
        let second = run(dir, emu, site, &with(args));
        expect(&first, 0, &format!("third run: {args:?}"));
        assert_eq!(first.stdout, second.stdout, "{args:?} twice");
    }
    kept_intact(emu, "the end");
}

#[test]
fn a_hand_written_file_works_on_the_second_run_and_every_run_after() {
    let emu = site("acme");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rolecall.yaml"), config("acme")).unwrap();
    walk(
        dir.path(),
        &emu,
        "acme",
        &[],
        &dir.path().join("rolecall.lock"),
    );
}

#[test]
fn a_hand_written_directory_is_read_whole_without_f() {
    let emu = site("acme");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = config("acme");
    let (head, users) = text.split_once("users:\n").unwrap();
    std::fs::write(d.join("rolecall.yaml"), head).unwrap();
    std::fs::create_dir(d.join("users")).unwrap();
    std::fs::write(d.join("users/people.yaml"), format!("users:\n{users}")).unwrap();
    walk(d, &emu, "acme", &[], &d.join("rolecall.lock"));
}

#[test]
fn two_sites_one_file_each_share_a_folder() {
    let prod = site("acme");
    let staging = site("acme-staging");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("prod.yaml"), config("acme")).unwrap();
    std::fs::write(d.join("staging.yaml"), config("acme-staging")).unwrap();
    walk(d, &prod, "acme", &["-f", "prod.yaml"], &d.join("prod.lock"));
    walk(
        d,
        &staging,
        "acme-staging",
        &["-f", "staging.yaml"],
        &d.join("staging.lock"),
    );
    // Each still plans to nothing beside the other's lock.
    let prod_again = run(
        d,
        &prod,
        "acme",
        &["plan", "-f", "prod.yaml", "--detailed-exitcode"],
    );
    expect(&prod_again, 0, "prod after staging");
    assert!(!d.join("rolecall.lock").exists());
}

#[test]
fn an_exported_directory_is_planned_whole_from_inside_it() {
    let emu = site("acme");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let export = run(
        d,
        &emu,
        "acme",
        &["export", "--actor", "admin@acme.com", "-o", "site/"],
    );
    expect(&export, 0, "export");
    let inside = d.join("site");
    let root = std::fs::read_to_string(inside.join("rolecall.yaml")).unwrap();
    // Prune on, as a team that exported its site turns it.
    std::fs::write(
        inside.join("rolecall.yaml"),
        format!("{root}prune:\n  users: strip\n"),
    )
    .unwrap();
    let plan = run(&inside, &emu, "acme", &["plan", "--detailed-exitcode"]);
    expect(
        &plan,
        0,
        "an exported directory plans to nothing from inside it",
    );
    expect(&run(&inside, &emu, "acme", &["drift"]), 0, "drift");
    let answer = crate::http_site(
        &emu,
        "acme",
        KEY,
        "PUT",
        "/api/v2/users/u-admin",
        r#"{"first_name":"Adah"}"#,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    expect(
        &run(&inside, &emu, "acme", &["drift"]),
        2,
        "drift after a site change",
    );
    expect(
        &run(&inside, &emu, "acme", &["apply", "--auto-approve"]),
        0,
        "apply",
    );
    expect(
        &run(&inside, &emu, "acme", &["drift"]),
        0,
        "drift after apply",
    );
    kept_intact(&emu, "exported");
    let again = run(&inside, &emu, "acme", &["plan", "--detailed-exitcode"]);
    expect(&again, 0, "a third run");
}

/// Generated configs and generated site edits, over HTTP: after `apply`, a
/// plan is empty and drift is clean; every read command gives the same
/// bytes twice.
mod property {
    use proptest::prelude::*;

    use super::{KEY, expect, run};

    const ROLES: &[&str] = &["Finance", "Sales", "Ops", "Growth"];
    const ACTIONS: &[&str] = &["read_dashboards", "download_pdf", "create_sql_charts"];
    // Two dashboards, one by name and one by id (never both forms of one:
    // two keys on one dashboard are an error).
    const DASHBOARDS: &[&str] = &["Revenue Overview", "#4711"];

    /// A role of a case: whether the config lists it, its privileges and
    /// its grants (action by dashboard), by index.
    type GenRole = (bool, Vec<usize>, Vec<(usize, usize)>);

    #[derive(Debug, Clone)]
    struct Case {
        roles: Vec<GenRole>,
        /// Per user (u0..): the roles the config gives.
        users: Vec<Vec<usize>>,
        /// Site edits after the first apply: (user, roles it holds instead).
        edits: Vec<(usize, Vec<usize>)>,
        /// A description changed on the site, for this role.
        described: Option<usize>,
    }

    fn case() -> impl Strategy<Value = Case> {
        let role = (
            any::<bool>(),
            proptest::collection::vec(0..ACTIONS.len(), 0..3),
            proptest::collection::vec((0..DASHBOARDS.len(), 0..ACTIONS.len()), 0..3),
        );
        (
            proptest::collection::vec(role, ROLES.len()),
            proptest::collection::vec(proptest::collection::vec(0..ROLES.len(), 0..3), 1..5),
        )
            .prop_flat_map(|(roles, users)| {
                let n = users.len();
                (
                    Just(roles),
                    Just(users),
                    proptest::collection::vec(
                        (0..n, proptest::collection::vec(0..ROLES.len(), 0..3)),
                        0..3,
                    ),
                    proptest::option::of(0..ROLES.len()),
                )
            })
            .prop_map(|(roles, users, edits, described)| Case {
                roles,
                users,
                edits,
                described,
            })
    }

    fn list(items: impl Iterator<Item = String>) -> String {
        let mut items: Vec<String> = items.collect();
        items.sort();
        items.dedup();
        format!("[{}]", items.join(", "))
    }

    /// The config a case writes: the roles it lists, users in them (a role
    /// it does not list is left out of memberships: it is not defined).
    fn yaml(case: &Case) -> String {
        let mut out = String::from("site: acme\nactor: admin@acme.com\nroles:\n");
        for (i, (listed, privileges, grants)) in case.roles.iter().enumerate() {
            if !listed {
                continue;
            }
            out.push_str(&format!("  {}:\n    description: role {i}\n", ROLES[i]));
            out.push_str(&format!(
                "    privileges:\n      Dashboard: {}\n",
                list(privileges.iter().map(|a| ACTIONS[*a].to_string()))
            ));
            if !grants.is_empty() {
                out.push_str("    dashboards:\n");
                for (d, dashboard) in DASHBOARDS.iter().enumerate() {
                    let actions: Vec<String> = grants
                        .iter()
                        .filter(|(g, _)| *g == d)
                        .map(|(_, a)| ACTIONS[*a].to_string())
                        .collect();
                    if !actions.is_empty() {
                        out.push_str(&format!(
                            "      \"{dashboard}\": {}\n",
                            list(actions.into_iter())
                        ));
                    }
                }
            }
        }
        out.push_str("users:\n  admin@acme.com:\n    first_name: Ada\n    last_name: Admin\n    roles: [Admin]\n");
        for (u, roles) in case.users.iter().enumerate() {
            let roles = roles
                .iter()
                .filter(|r| case.roles[**r].0)
                .map(|r| ROLES[*r].to_string());
            out.push_str(&format!(
                "  u{u}@acme.com:\n    first_name: U\n    last_name: Ser{u}\n    roles: {}\n",
                list(roles)
            ));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn apply_then_plan_is_empty_and_reads_repeat(case in case()) {
            let emu = super::site("acme");
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            std::fs::write(d.join("rolecall.yaml"), yaml(&case)).unwrap();
            let apply = ["apply", "--auto-approve", "--allow-mass-delete"];
            expect(&run(d, &emu, "acme", &apply), 0, "apply");
            expect(&run(d, &emu, "acme", &["plan", "--detailed-exitcode"]), 0, "plan after apply");
            // Edits by hand on the site, through the API.
            let snapshot = serde_json::to_value(emu.snapshot()).unwrap();
            let id_of = |kind: &str, field: &str, value: &str| {
                snapshot[kind].as_array().unwrap().iter()
                    .find(|o| o[field] == value)
                    .map(|o| o["id"].as_str().unwrap().to_string())
            };
            for (u, roles) in &case.edits {
                let Some(user) = id_of("users", "email", &format!("u{u}@acme.com")) else { continue };
                let mut ids = vec!["r-every".to_string()];
                ids.extend(roles.iter().filter_map(|r| id_of("roles", "name", ROLES[*r])));
                let body = serde_json::json!({"roles": ids}).to_string();
                let answer = crate::http_site(&emu, "acme", KEY, "PUT", &format!("/api/v2/users/{user}"), &body);
                prop_assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            }
            if let Some(r) = case.described
                && let Some(role) = id_of("roles", "name", ROLES[r])
            {
                let answer = crate::http_site(&emu, "acme", KEY, "PUT", &format!("/api/v1/roles/{role}"),
                    r#"{"description":"changed by hand","updated_by_email":"admin@acme.com"}"#);
                prop_assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            }
            for args in [&["drift", "--format", "json"][..], &["access", "--format", "csv"]] {
                let first = run(d, &emu, "acme", args);
                let second = run(d, &emu, "acme", args);
                prop_assert_eq!(&first.stdout, &second.stdout, "{:?} twice", args);
            }
            expect(&run(d, &emu, "acme", &apply), 0, "apply again");
            expect(&run(d, &emu, "acme", &["plan", "--detailed-exitcode"]), 0, "plan after the second apply");
            expect(&run(d, &emu, "acme", &["drift"]), 0, "drift after the second apply");
            super::kept_intact(&emu, "generated");
        }
    }
}
