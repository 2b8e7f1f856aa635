//! `diff` in the rust-lang/team style: start from a site equal to the
//! config, change one thing on one side, and read the plan.

use std::collections::{BTreeMap, BTreeSet};

use super::render;
use super::*;
use crate::config::load::load_texts;
use crate::live::{Live, LiveObject, LiveRole, LiveUser};
use crate::testing::{live_role, live_user, set};

/// How the command line words the flag that lifts limits.
const OPTIONS: render::Options<'static> = render::Options {
    styled: false,
    lift_limits: "`rolecall apply --allow-mass-delete`",
    show_unmanaged: false,
};

const BASE: &str = "\
site: acme
actor: admin@acme.com
roles:
  Analyst:
    description: Writes SQL
    privileges:
      Dashboard: [read_dashboards, create_sql_charts]
    dashboards:
      Revenue: [read_dashboards]
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
    roles: [Analyst]
";

struct World {
    yaml: String,
    live: Live,
    selection: Selection,
}

/// A site equal to [`BASE`].
fn world() -> World {
    World {
        yaml: BASE.to_string(),
        live: Live {
            roles: vec![
                live_role("r-admin", "Admin", "", &["read_dashboards"], &[]),
                live_role("r-every", "Everyone", "", &[], &[]),
                live_role(
                    "r-analyst",
                    "Analyst",
                    "Writes SQL",
                    &["read_dashboards", "create_sql_charts"],
                    &[("d1", &["read_dashboards"])],
                ),
                live_role("r-finance", "Finance", "Money", &[], &[]),
            ],
            users: vec![
                live_user(
                    "u-admin",
                    "admin@acme.com",
                    "Ada",
                    "Admin",
                    &["r-admin", "r-every"],
                ),
                live_user(
                    "u-jane",
                    "jane@acme.com",
                    "Jane",
                    "Doe",
                    &["r-analyst", "r-every"],
                ),
            ],
            objects: vec![
                LiveObject::dashboard("d1", "Revenue"),
                LiveObject::dashboard("d2", "Costs"),
                LiveObject::dashboard("d3", "Board Pack"),
                LiveObject::dashboard("d4", "Board Pack"),
            ],
        },
        selection: Selection::default(),
    }
}

impl World {
    fn yaml(mut self, from: &str, to: &str) -> Self {
        assert!(self.yaml.contains(from), "{from:?} is not in the config");
        self.yaml = self.yaml.replacen(from, to, 1);
        self
    }

    fn add_yaml(mut self, text: &str) -> Self {
        self.yaml.push_str(text);
        self
    }

    fn user(&mut self, email: &str) -> &mut LiveUser {
        self.live
            .users
            .iter_mut()
            .find(|u| u.email == email)
            .expect("a live user")
    }

    fn role(&mut self, name: &str) -> &mut LiveRole {
        self.live
            .roles
            .iter_mut()
            .find(|r| r.name == name)
            .expect("a live role")
    }

    fn result(&self) -> Result<Plan, String> {
        let loaded =
            load_texts(vec![("rolecall.yaml".into(), self.yaml.clone())]).unwrap_or_else(|e| {
                panic!(
                    "{}",
                    e.diagnostics
                        .iter()
                        .map(|d| d.render(&e.sources, false))
                        .collect::<String>()
                )
            });
        let mut plan = diff(
            &loaded.desired,
            &loaded.sources,
            &self.live,
            &self.selection,
        )
        .map_err(|errors| {
            errors
                .iter()
                .map(|d| d.render(&loaded.sources, false))
                .collect::<String>()
        })?;
        safety::check(&mut plan, &self.live, &Rails::of(&loaded.desired));
        Ok(plan)
    }

    fn plan(&self) -> Plan {
        self.result().unwrap_or_else(|e| panic!("{e}"))
    }

    fn text(&self) -> String {
        render::text(&self.plan(), &Review::default(), &OPTIONS)
    }

    fn errors(&self) -> String {
        self.result().expect_err("the plan should fail")
    }
}

#[test]
fn no_changes_when_the_site_matches() {
    let w = world();
    assert!(w.plan().is_empty());
    insta::assert_snapshot!(w.text(), @"No changes: the site `acme` matches the config.");
}

#[test]
fn creates_a_role() {
    let w = world().yaml("  Finance:\n", "  Growth:\n    privileges:\n      Dashboard: [read_dashboards]\n    dashboards:\n      Costs: [download_pdf]\n  Finance:\n");
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # role "Growth" will be created  (rolecall.yaml:10)
      + role "Growth"
          + privileges.Dashboard: read_dashboards
          + dashboards."Costs" (#d2): download_pdf

    Plan: 1 to create, 0 to update, 0 to delete, 0 to rename.
    "#);
}

#[test]
fn updates_only_the_fields_that_change() {
    let mut w = world();
    w.role("Analyst").description = "Writes SQL.".into();
    w.role("Analyst")
        .privileges
        .get_mut("Dashboard")
        .unwrap()
        .insert("download_pdf".into());
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # role "Analyst" will be updated  (rolecall.yaml:4)  [revoke]
      ~ role "Analyst"
          ~ description: "Writes SQL." -> "Writes SQL"
          ~ privileges.Dashboard: - download_pdf

    Plan: 0 to create, 1 to update, 0 to delete, 0 to rename.
    "#);
}

#[test]
fn long_descriptions_show_a_word_diff() {
    let w = world().yaml(
        "description: Writes SQL\n",
        "description: Writes SQL against the warehouse and builds the dashboards that finance reads every Monday\n",
    );
    let mut w = w;
    w.role("Analyst").description =
        "Writes SQL against the warehouse and builds the dashboards that sales reads every Monday"
            .into();
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # role "Analyst" will be updated  (rolecall.yaml:4)
      ~ role "Analyst"
          ~ description: Writes SQL against the warehouse and builds the dashboards that [-sales-]{+finance+} reads every Monday

    Plan: 0 to create, 1 to update, 0 to delete, 0 to rename.
    "#);
}

#[test]
fn grants_compare_as_sets_and_resolve_names_and_ids() {
    // The same grant written by id, with actions in another order: no change.
    let w = world().yaml(
        "      Revenue: [read_dashboards]\n",
        "      \"#d1\": [read_dashboards]\n",
    );
    assert!(w.plan().is_empty(), "{}", w.text());
    let w = world().yaml(
        "      Dashboard: [read_dashboards, create_sql_charts]\n",
        "      Dashboard: [create_sql_charts, read_dashboards, read_dashboards]\n",
    );
    assert!(w.plan().is_empty(), "{}", w.text());
    // A grant taken away is a revoke.
    let w = world().yaml(
        "      Revenue: [read_dashboards]\n",
        "      Costs: [read_dashboards]\n",
    );
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # role "Analyst" will be updated  (rolecall.yaml:4)  [revoke]
      ~ role "Analyst"
          - dashboards."Revenue" (#d1): read_dashboards
          + dashboards."Costs" (#d2): read_dashboards

    Plan: 0 to create, 1 to update, 0 to delete, 0 to rename.
    "#);
}

#[test]
fn renames_instead_of_delete_and_create() {
    let w = world()
        .yaml(
            "  Analyst:\n",
            "  Data Analyst:\n    renamed_from: [Analyst]\n",
        )
        .yaml("roles: [Analyst]", "roles: [Data Analyst]");
    let plan = w.plan();
    assert_eq!(plan.summary().rename, 1);
    assert_eq!(
        plan.changes.len(),
        1,
        "members of a renamed role do not change"
    );
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # role "Data Analyst" will be renamed from "Analyst"  (rolecall.yaml:4)  [rename-role]
      > role "Analyst" -> "Data Analyst"

    Plan: 0 to create, 0 to update, 0 to delete, 1 to rename.
    "#);
}

#[test]
fn role_names_and_emails_compare_case_insensitively() {
    let w = world()
        .yaml("  Analyst:\n", "  ANALYST:\n")
        .yaml("  jane@acme.com:\n", "  Jane@ACME.com:\n")
        .yaml("roles: [Analyst]", "roles: [analyst]");
    assert!(w.plan().is_empty(), "{}", w.text());
}

#[test]
fn creates_and_updates_users() {
    let w = world()
        .yaml(
            "    roles: [Analyst]\n",
            "    roles: [Analyst, Finance, Admin]\n",
        )
        .add_yaml("  li@acme.com:\n    first_name: Li\n    last_name: Wei\n    roles: [Finance]\n");
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # user "jane@acme.com" will be updated  (rolecall.yaml:17)  [admin-grant]
      ~ user "jane@acme.com"
          ~ roles: + Admin, + Finance

      # user "li@acme.com" will be created  (rolecall.yaml:21)
      + user "li@acme.com"
          + name: "Li Wei"
          + roles: Finance

    Plan: 1 to create, 1 to update, 0 to delete, 0 to rename.
    "#);
    let w = world()
        .yaml("    first_name: Jane\n", "    first_name: Janet\n")
        .yaml("    roles: [Analyst]\n", "    roles: []\n");
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # user "jane@acme.com" will be updated  (rolecall.yaml:17)  [revoke]
      ~ user "jane@acme.com"
          ~ first_name: "Jane" -> "Janet"
          ~ roles: - Analyst

    Plan: 0 to create, 1 to update, 0 to delete, 0 to rename.
    "#);
}

#[test]
fn a_new_user_needs_a_name() {
    let w = world().add_yaml("  li@acme.com:\n    roles: [Finance]\n");
    insta::assert_snapshot!(w.errors(), @"
    error: user `li@acme.com` is not on the site yet, and creating it needs a first and a last name
      --> rolecall.yaml:21:3
       |
    21 |   li@acme.com:
       |   ^^^^^^^^^^^
       |
       = hint: add `first_name:` and `last_name:` to this user
    ");
}

#[test]
fn prune_users() {
    let mut w = world();
    w.live.users.push(live_user(
        "u-old",
        "old@acme.com",
        "Old",
        "Timer",
        &["r-finance", "r-every"],
    ));
    w.live.users.push(live_user(
        "u-bare",
        "bare@acme.com",
        "Bare",
        "User",
        &["r-every"],
    ));
    let plan = w.plan();
    assert!(plan.is_empty());
    assert_eq!(plan.unmanaged.users.len(), 2, "left alone and counted");
    let strip = World {
        yaml: w.yaml.replace("actor:", "prune:\n  users: strip\nactor:"),
        ..w
    };
    insta::assert_snapshot!(strip.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # user "old@acme.com" will lose every role (prune.users: strip)  [revoke, strip-user]
      ~ user "old@acme.com"
          ~ roles: - Finance

    Plan: 0 to create, 1 to update, 0 to delete, 0 to rename.
    "#);
    let delete = World {
        yaml: strip.yaml.replace("users: strip", "users: delete"),
        ..strip
    };
    insta::assert_snapshot!(delete.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # user "bare@acme.com" will be deleted (not in the config; prune.users: delete)  [delete-user]
      - user "bare@acme.com"
          ! blocked by max_deletes: 2 of 4 users (50%) deleted, 25% allowed by default; allow with `rolecall apply --allow-mass-delete`

      # user "old@acme.com" will be deleted (not in the config; prune.users: delete)  [delete-user]
      - user "old@acme.com"
          (member of Finance)
          ! blocked by max_deletes: 2 of 4 users (50%) deleted, 25% allowed by default; allow with `rolecall apply --allow-mass-delete`

    Plan: 0 to create, 0 to update, 2 to delete, 0 to rename.
    Blocked: 2 changes break a safety rule; apply will write nothing. Review them, then run `rolecall apply --allow-mass-delete` if they are intended.
    "#);
}

#[test]
fn prune_roles_never_deletes_admin_or_everyone() {
    let mut w = world().yaml("actor:", "prune:\n  roles: delete\nactor:");
    w.live.roles.push(live_role(
        "r-old",
        "Old Role",
        "",
        &["read_dashboards"],
        &[],
    ));
    let plan = w.plan();
    let deleted: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action() == Action::Delete)
        .map(|c| c.key())
        .collect();
    assert_eq!(deleted, ["Old Role"]);
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # role "Old Role" will be deleted (not in the config; prune.roles: delete)  [delete-role]
      - role "Old Role"
          (with 1 privileges and grants)

    Plan: 0 to create, 0 to update, 1 to delete, 0 to rename.
    "#);
}

#[test]
fn the_actor_is_never_pruned_and_must_be_an_admin() {
    let w = world()
        .yaml("actor:", "prune:\n  users: delete\nactor:")
        .yaml(
            "  admin@acme.com:\n    first_name: Ada\n    last_name: Admin\n    roles: [Admin]\n",
            "",
        );
    assert!(w.plan().is_empty(), "the actor is not pruned: {}", w.text());
    let mut w = world();
    w.user("admin@acme.com").roles = set(&["r-every"]);
    w.live.users.push(live_user(
        "u-other",
        "other@acme.com",
        "O",
        "A",
        &["r-admin", "r-every"],
    ));
    insta::assert_snapshot!(w.errors(), @"
    error: the actor `admin@acme.com` is not in the Admin role on the site `acme`
      hint: every write names the actor, and the site accepts only admins: set `actor:` to the email of an Admin of the site
    ");
}

#[test]
fn protect_and_ignore() {
    let mut w = world().yaml("actor:", "prune:\n  users: delete\n  roles: delete\nprotect:\n  users: [\"boss@*\"]\n  roles: [Legacy]\nignore:\n  users: [\"*@contractor.example\"]\n  roles: [\"sso-*\"]\nactor:");
    w.live.users.push(live_user(
        "u-boss",
        "boss@acme.com",
        "B",
        "Oss",
        &["r-finance", "r-every"],
    ));
    w.live.users.push(live_user(
        "u-c",
        "c@contractor.example",
        "C",
        "Ontractor",
        &["r-every"],
    ));
    w.live
        .roles
        .push(live_role("r-legacy", "Legacy", "", &[], &[]));
    w.live
        .roles
        .push(live_role("r-sso", "sso-eng", "", &[], &[]));
    // jane is also in an ignored role: that membership is kept as it is.
    w.user("jane@acme.com").roles.insert("r-sso".into());
    let plan = w.plan();
    assert!(plan.is_empty(), "{}", w.text());
    assert_eq!(
        (plan.unmanaged.users.len(), plan.unmanaged.roles.len()),
        (1, 1),
        "protected ones count as unmanaged, ignored ones are invisible"
    );
    // Changing jane's roles keeps the ignored membership.
    let w = World {
        yaml: w.yaml.replace("roles: [Analyst]", "roles: [Finance]"),
        ..w
    };
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # user "jane@acme.com" will be updated  (rolecall.yaml:26)  [revoke]
      ~ user "jane@acme.com"
          ~ roles: + Finance, - Analyst

    Plan: 0 to create, 1 to update, 0 to delete, 0 to rename.
    Not managed by this config (left alone): 1 user, 1 role.
    "#);
}

#[test]
fn targets_and_excludes() {
    let mut w = world()
        .yaml("    first_name: Jane\n", "    first_name: Janet\n")
        .yaml("description: Money", "description: Money!");
    w.selection = Selection {
        targets: vec![Selector::parse("user:*@acme.com").unwrap()],
        excludes: vec![],
    };
    let keys: Vec<String> = w
        .plan()
        .changes
        .iter()
        .map(|c| c.key().to_string())
        .collect();
    assert_eq!(keys, ["jane@acme.com"]);
    w.selection = Selection {
        targets: vec![],
        excludes: vec![Selector::parse("role:fin*").unwrap()],
    };
    let keys: Vec<String> = w
        .plan()
        .changes
        .iter()
        .map(|c| c.key().to_string())
        .collect();
    assert_eq!(keys, ["jane@acme.com"]);
    assert!(
        Selector::parse("team:x")
            .unwrap_err()
            .contains("`user:GLOB` or `role:GLOB`")
    );
}

#[test]
fn limits_block_mass_deletes_and_revokes() {
    let mut w = world().yaml("actor:", "prune:\n  users: delete\nactor:");
    for i in 0..11 {
        w.live.users.push(live_user(
            &format!("u{i}"),
            &format!("user{i}@acme.com"),
            "U",
            "Ser",
            &["r-every"],
        ));
    }
    let plan = w.plan();
    assert!(plan.is_blocked());
    assert!(plan.changes.iter().all(|c| {
        c.blocked
            .as_ref()
            .is_some_and(|b| b.rule.to_string() == "max_deletes: 11 deletes, 10 allowed by default")
    }));
    let w = World {
        yaml: w
            .yaml
            .replace("actor:", "limits:\n  max_deletes: 20\nactor:"),
        ..w
    };
    // 11 of 13 users losing access is over the proportional rail.
    insta::assert_snapshot!(w.plan().changes[0].blocked.as_ref().unwrap().rule.to_string(), @"max_users_losing_access: 11 of 13 users (85%) would lose access, 30% allowed by default on a site of 10 users or more");
    let w = World {
        yaml: w.yaml.replace(
            "max_deletes: 20",
            "max_deletes: 20\n  max_users_losing_access: 11",
        ),
        ..w
    };
    let plan = w.plan();
    assert!(
        !plan.is_blocked(),
        "a count replaces both defaults (11 of 13 users is over 25%)"
    );
    let w = World {
        yaml: w.yaml.replace("max_deletes: 20", "max_deletes: \"90%\""),
        ..w
    };
    assert!(!w.plan().is_blocked());
    let w = World {
        yaml: w
            .yaml
            .replace("max_deletes: \"90%\"", "max_deletes: \"50%\""),
        ..w
    };
    insta::assert_snapshot!(w.plan().changes[0].blocked.as_ref().unwrap().rule.to_string(), @"max_deletes: 11 of 13 users (85%) deleted, 50% allowed");

    let mut w = world()
        .yaml("actor:", "limits:\n  max_revokes: 1\nactor:")
        .yaml("roles: [Analyst]", "roles: []");
    w.role("Finance").privileges.insert(
        "Dashboard".into(),
        set(&["read_dashboards", "download_pdf"]),
    );
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # role "Finance" will be updated  (rolecall.yaml:12)  [revoke]
      ~ role "Finance"
          ~ privileges.Dashboard: - download_pdf, - read_dashboards
          ! blocked by max_revokes: 3 revokes, 1 allowed; allow with `rolecall apply --allow-mass-delete`

      # user "jane@acme.com" will be updated  (rolecall.yaml:19)  [revoke]
      ~ user "jane@acme.com"
          ~ roles: - Analyst
          ! blocked by max_revokes: 3 revokes, 1 allowed; allow with `rolecall apply --allow-mass-delete`

    Plan: 0 to create, 2 to update, 0 to delete, 0 to rename.
    Blocked: 2 changes break a safety rule; apply will write nothing. Review them, then run `rolecall apply --allow-mass-delete` if they are intended.
    "#);
}

#[test]
fn unresolvable_references_are_errors_with_candidates() {
    let w = world().yaml("      Revenue: [read_dashboards]\n", "      Revenu: [read_dashboards]\n      Board Pack: [read_dashboards]\n      \"#d9\": [read_dashboards]\n");
    insta::assert_snapshot!(w.errors(), @r##"
    error: no dashboard on the site is named `Revenu`
     --> rolecall.yaml:9:7
      |
    9 |       Revenu: [read_dashboards]
      |       ^^^^^^
      |
      = hint: did you mean `Revenue` (#d1)? Or name the dashboard by id: `"#<id>"`
    error: 2 dashboards on the site are named `Board Pack`
      --> rolecall.yaml:10:7
       |
    10 |       Board Pack: [read_dashboards]
       |       ^^^^^^^^^^
       |
       = hint: name the one you mean by its id instead: `"#d3"` or `"#d4"`
    error: no dashboard on the site has the id `d9`
      --> rolecall.yaml:11:7
       |
    11 |       "#d9": [read_dashboards]
       |       ^^^^^
       |
       = hint: check the id in the dashboard's URL, or name the dashboard instead
    "##);
    let w = world().yaml("roles: [Analyst]", "roles: [Analysts, Growth]");
    insta::assert_snapshot!(w.errors(), @"
    error: role `Analysts` is defined neither in the config nor on the site
      --> rolecall.yaml:20:13
       |
    20 |     roles: [Analysts, Growth]
       |             ^^^^^^^^
       |
       = hint: did you mean `Analyst`? Or define `Analysts` under `roles:`
    error: role `Growth` is defined neither in the config nor on the site
      --> rolecall.yaml:20:23
       |
    20 |     roles: [Analysts, Growth]
       |                       ^^^^^^
       |
       = hint: define `Growth` under `roles:`, or create it on the site
    ");
}

#[test]
fn a_role_to_be_pruned_cannot_be_given() {
    let mut w = world()
        .yaml("actor:", "prune:\n  roles: delete\nactor:")
        .yaml("roles: [Analyst]", "roles: [Analyst, Legacy]");
    w.live
        .roles
        .push(live_role("r-legacy", "Legacy", "", &[], &[]));
    insta::assert_snapshot!(w.errors(), @"
    error: role `Legacy` is not in the config, so `prune.roles: delete` would delete it, yet `jane@acme.com` is given it
      --> rolecall.yaml:22:22
       |
    22 |     roles: [Analyst, Legacy]
       |                      ^^^^^^
       |
       = hint: define `Legacy` under `roles:`, or remove it from this user
    ");
}

#[test]
fn everyone_and_admin_changes_are_flagged() {
    let w = world().add_yaml("").yaml(
        "  Finance:\n",
        "  Everyone:\n    privileges:\n      Dashboard: [read_dashboards]\n  Finance:\n",
    );
    let plan = w.plan();
    assert!(
        plan.changes[0].risks.contains(&Risk::Everyone),
        "{}",
        w.text()
    );
}

#[test]
fn markdown_stays_under_the_limit_and_says_what_it_cut() {
    let mut w = world();
    for i in 0..3000 {
        w.yaml.push_str(&format!("  new{i}@acme.com:\n    first_name: New\n    last_name: User{i}\n    roles: [Analyst, Finance]\n"));
    }
    let markdown = render::markdown(&w.plan(), &Review::default(), &OPTIONS);
    assert!(
        markdown.len() <= render::MARKDOWN_LIMIT,
        "{}",
        markdown.len()
    );
    assert!(
        markdown.contains("more changes are not shown here"),
        "says what it cut"
    );
    assert!(
        markdown.contains("**Plan: 3000 to create"),
        "the summary counts everything"
    );
}

/// Applies a plan to a live model in memory, the way `apply` does through
/// the API.
fn simulate(live: &Live, plan: &Plan) -> Live {
    crate::plan::simulate(live, plan)
}

mod property {
    use proptest::prelude::*;

    use super::*;

    const ROLES: &[&str] = &["Analyst", "Finance", "Marketing", "Sales", "Ops"];
    const EMAILS: &[&str] = &[
        "a@x.io",
        "b@x.io",
        "c@x.io",
        "d@x.io",
        "boss@x.io",
        "sso@ext.io",
    ];
    const DASHBOARDS: &[&str] = &["Revenue", "Costs", "Pipeline"];
    const ACTIONS: &[&str] = &["read_dashboards", "download_pdf", "email_reports"];

    fn actions() -> impl Strategy<Value = Vec<&'static str>> {
        proptest::sample::subsequence(ACTIONS, 0..=ACTIONS.len())
    }

    /// A role of the config: name, privileges, grants, renamed from.
    type GenRole = (
        usize,
        Vec<&'static str>,
        Vec<(usize, Vec<&'static str>)>,
        Option<usize>,
    );

    #[derive(Debug, Clone)]
    struct Case {
        live_roles: Vec<(usize, Vec<&'static str>, Vec<&'static str>)>,
        live_users: Vec<(usize, Vec<usize>)>,
        roles: Vec<GenRole>,
        users: Vec<(usize, Vec<usize>, bool)>,
        prune_users: usize,
        prune_roles: bool,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            proptest::collection::vec((0..ROLES.len(), actions(), actions()), 0..5),
            proptest::collection::vec(
                (
                    0..EMAILS.len(),
                    proptest::collection::vec(0..ROLES.len() + 1, 0..3),
                ),
                0..6,
            ),
            proptest::collection::vec(
                (
                    0..ROLES.len(),
                    actions(),
                    proptest::collection::vec((0..DASHBOARDS.len(), actions()), 0..3),
                    proptest::option::of(0..ROLES.len()),
                ),
                0..5,
            ),
            proptest::collection::vec(
                (
                    0..EMAILS.len(),
                    proptest::collection::vec(0..ROLES.len() + 1, 0..3),
                    any::<bool>(),
                ),
                0..6,
            ),
            0..3usize,
            any::<bool>(),
        )
            .prop_map(
                |(live_roles, live_users, roles, users, prune_users, prune_roles)| Case {
                    live_roles,
                    live_users,
                    roles,
                    users,
                    prune_users,
                    prune_roles,
                },
            )
    }

    /// Builds the live site and the config of a case; duplicates are dropped.
    fn build(case: &Case) -> (Live, String) {
        let mut live = Live {
            roles: vec![
                live_role("r-admin", "Admin", "", &["read_dashboards"], &[]),
                live_role("r-every", "Everyone", "", &[], &[]),
            ],
            users: vec![live_user(
                "u-admin",
                "admin@x.io",
                "Ada",
                "Admin",
                &["r-admin", "r-every"],
            )],
            objects: DASHBOARDS
                .iter()
                .enumerate()
                .map(|(i, d)| LiveObject::dashboard(format!("d{i}"), d.to_string()))
                .collect(),
        };
        let mut seen = BTreeSet::new();
        for (r, privileges, grant) in &case.live_roles {
            if seen.insert(*r) {
                let grants: Vec<(&str, &[&str])> = if grant.is_empty() {
                    vec![]
                } else {
                    vec![("d0", grant.as_slice())]
                };
                live.roles.push(live_role(
                    &format!("r{r}"),
                    ROLES[*r],
                    "live",
                    privileges,
                    &grants,
                ));
            }
        }
        let live_role_ids: BTreeSet<String> = live.roles.iter().map(|r| r.id.clone()).collect();
        let mut seen = BTreeSet::new();
        for (u, roles) in &case.live_users {
            if seen.insert(*u) {
                let mut ids: Vec<String> = roles
                    .iter()
                    .map(|r| {
                        if *r == ROLES.len() {
                            "r-admin".to_string()
                        } else {
                            format!("r{r}")
                        }
                    })
                    .filter(|id| live_role_ids.contains(id))
                    .collect();
                ids.push("r-every".into());
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                live.users.push(live_user(
                    &format!("u{u}"),
                    EMAILS[*u],
                    "Live",
                    "User",
                    &ids,
                ));
            }
        }
        let prune_users = ["false", "delete", "strip"][case.prune_users];
        let mut yaml = format!(
            "site: x\nactor: admin@x.io\nprune:\n  users: {prune_users}\n  roles: {}\nprotect:\n  users: [\"boss@*\"]\nignore:\n  users: [\"*@ext.io\"]\n  roles: [Ops]\nlimits:\n  max_deletes: \"100%\"\n  max_revokes: 100000\nroles:\n",
            if case.prune_roles { "delete" } else { "false" }
        );
        let mut defined = BTreeSet::new();
        let mut renamed = BTreeSet::new();
        for (r, privileges, dashboards, from) in &case.roles {
            if ROLES[*r] == "Ops" || !defined.insert(*r) {
                continue;
            }
            let _ = write_role(&mut yaml, ROLES[*r], privileges, dashboards);
            if let Some(from) = from
                && *from != *r
                && ROLES[*from] != "Ops"
                && renamed.insert(*from)
            {
                yaml.push_str(&format!("    renamed_from: [{}]\n", ROLES[*from]));
            }
        }
        // A rename from a role the config also defines is invalid: drop those roles' renames.
        let yaml = defined.iter().fold(yaml, |y, d| {
            y.replace(&format!("    renamed_from: [{}]\n", ROLES[*d]), "")
        });
        let mut yaml = yaml;
        yaml.push_str("users:\n  admin@x.io:\n    first_name: Ada\n    last_name: Admin\n    roles: [Admin]\n");
        let mut seen = BTreeSet::new();
        for (u, roles, names) in &case.users {
            if !seen.insert(*u) {
                continue;
            }
            // Names are left out now and then: an existing user keeps its own.
            let exists = case.live_users.iter().any(|(l, _)| l == u);
            let names_yaml = if *names || !exists {
                "    first_name: Given\n    last_name: Name\n"
            } else {
                ""
            };
            let roles: BTreeSet<&str> = roles
                .iter()
                .filter_map(|r| {
                    if *r == ROLES.len() {
                        Some("Admin")
                    } else {
                        defined.contains(r).then_some(ROLES[*r])
                    }
                })
                .collect();
            let roles: Vec<&str> = roles.into_iter().collect();
            yaml.push_str(&format!(
                "  {}:\n{names_yaml}    roles: [{}]\n",
                EMAILS[*u],
                roles.join(", ")
            ));
        }
        (live, yaml)
    }

    fn write_role(
        yaml: &mut String,
        name: &str,
        privileges: &[&str],
        dashboards: &[(usize, Vec<&str>)],
    ) -> std::fmt::Result {
        use std::fmt::Write as _;
        writeln!(
            yaml,
            "  {name}:\n    description: wanted\n    privileges:\n      Dashboard: [{}]",
            privileges.join(", ")
        )?;
        let mut seen = BTreeSet::new();
        yaml.push_str("    dashboards:\n");
        for (d, actions) in dashboards {
            if seen.insert(*d) {
                writeln!(yaml, "      {}: [{}]", DASHBOARDS[*d], actions.join(", "))?;
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn applying_a_plan_leaves_nothing_to_do(case in case()) {
            let (live, yaml) = build(&case);
            let w = World { yaml, live, selection: Selection::default() };
            let plan = match w.result() {
                Ok(plan) => plan,
                Err(e) => {
                    prop_assert!(false, "unexpected error: {e}\n{}", w.yaml);
                    unreachable!()
                }
            };
            // A config that lists no role while `prune.roles` is on takes
            // every role: blocked, and nothing to check.
            if plan.changes.iter().any(|c| {
                matches!(c.blocked.as_ref().map(|b| &b.rule), Some(Rule::PruneEverything { .. }))
            }) {
                return Ok(());
            }
            prop_assert!(!plan.is_blocked(), "{}", render::text(&plan, &Review::default(), &OPTIONS));
            for c in &plan.changes {
                prop_assert!(!c.key().starts_with("boss@") && !c.key().ends_with("@ext.io") && c.key() != "Ops", "a protected or ignored object changed: {}", c.key());
                prop_assert!(!(c.kind() == Kind::Role && c.action() == Action::Delete && (c.key() == "Admin" || c.key() == "Everyone")));
            }
            let after = simulate(&w.live, &plan);
            // The site now holds what the config says, for everything it manages.
            let loaded = load_texts(vec![("rolecall.yaml".into(), w.yaml.clone())]).unwrap();
            for user in loaded.desired.users.values().filter(|u| !u.email.starts_with("boss@") && !u.email.ends_with("@ext.io")) {
                let live_user = after.users.iter().find(|l| l.email.eq_ignore_ascii_case(&user.email));
                prop_assert!(live_user.is_some(), "{} was not created", user.email);
                let names: BTreeSet<String> = live_user
                    .unwrap()
                    .roles
                    .iter()
                    .filter_map(|id| after.roles.iter().find(|r| &r.id == id))
                    .filter(|r| r.name != "Everyone" && r.name != "Ops")
                    .map(|r| r.name.to_lowercase())
                    .collect();
                let wanted: BTreeSet<String> = user.roles.keys().cloned().collect();
                prop_assert_eq!(names, wanted, "the roles of {}", user.email);
            }
            for role in loaded.desired.roles.values() {
                let live_role = after.roles.iter().find(|l| l.name.eq_ignore_ascii_case(&role.name));
                prop_assert!(live_role.is_some(), "{} was not created", role.name);
                let privileges: BTreeMap<String, BTreeSet<String>> = role.privileges.iter().filter(|(_, a)| !a.is_empty()).map(|(t, a)| (t.clone(), a.clone())).collect();
                prop_assert_eq!(&live_role.unwrap().privileges.iter().filter(|(_, a)| !a.is_empty()).map(|(t, a)| (t.clone(), a.clone())).collect::<BTreeMap<_, _>>(), &privileges);
            }
            let again = World { yaml: w.yaml.clone(), live: after, selection: Selection::default() }.plan();
            prop_assert!(again.is_empty(), "a second plan after applying the first:\n{}\nconfig:\n{}", render::text(&again, &Review::default(), &OPTIONS), w.yaml);
        }
    }
}

/// A plan with one change of every kind, for the JSON and safety tests.
fn busy_world() -> World {
    let mut w = world()
        .yaml("actor:", "prune:\n  users: strip\nactor:")
        .yaml(
            "  Analyst:\n",
            "  Data Analyst:\n    renamed_from: [Analyst]\n",
        )
        .yaml("roles: [Analyst]", "roles: [Data Analyst, Growth]")
        .yaml("description: Money", "description: Money!")
        .add_yaml("  li@acme.com:\n    first_name: Li\n    last_name: Wei\n    roles: [Growth]\n")
        .yaml("  Finance:\n", "  Growth: {}\n  Finance:\n");
    w.live.users.push(live_user(
        "u-old",
        "old@acme.com",
        "Old",
        "Timer",
        &["r-finance", "r-every"],
    ));
    w
}

#[test]
fn a_saved_plan_reads_back_as_the_same_plan() {
    let plan = busy_world().plan();
    let ops: Vec<&str> = plan
        .changes
        .iter()
        .map(|s| s.change.op().as_str())
        .collect();
    assert_eq!(
        ops,
        [
            "rename-role",
            "update-role",
            "create-role",
            "update-user",
            "create-user",
            "strip-user"
        ],
        "by phase, then by name"
    );
    let json = plan.to_json(&Review::default());
    let (read, review) = Plan::from_json(&json).unwrap();
    assert_eq!(review, Review::default());
    assert_eq!(read.to_json(&review), json);
    // A file keeps each source's `file:line`, not its column.
    let mut at_lines = plan.clone();
    for step in &mut at_lines.changes {
        if let Some(origin) = &mut step.source {
            origin.col = 0;
        }
    }
    assert_eq!(read, at_lines);
    // A membership names a live role by id, a role the plan creates by name.
    let jane = plan
        .changes
        .iter()
        .find(|s| s.key() == "jane@acme.com")
        .unwrap();
    let roles: Vec<&RoleRef> = jane.change.user_after().unwrap().roles.iter().collect();
    assert_eq!(
        roles,
        [
            &RoleRef::live("Data Analyst", "r-analyst"),
            &RoleRef::new_role("Growth")
        ]
    );
}

#[test]
fn a_plan_file_that_does_not_fit_its_operations_is_refused() {
    let json = busy_world().plan().to_json(&Review::default());
    let refused = |from: &str, to: &str| {
        assert!(json.contains(from), "{from}");
        let edited = json.replacen(from, to, 1);
        match Plan::from_json(&edited) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted: {from} -> {to}"),
        }
    };
    // A create relabelled as a delete: no `before`, no id.
    insta::assert_snapshot!(refused("\"op\": \"create-role\"", "\"op\": \"delete-role\""), @"not a plan saved by rolecall: `Growth`: `before` and `after` do not fit the operation");
    // An update relabelled: the action no longer matches the operation.
    insta::assert_snapshot!(refused("\"action\": \"rename\"", "\"action\": \"update\""), @"not a plan saved by rolecall: `Data Analyst`: `action`, `kind` or `key` do not fit the operation");
    // A key that is not the object's.
    insta::assert_snapshot!(refused("\"key\": \"li@acme.com\"", "\"key\": \"boss@acme.com\""), @"not a plan saved by rolecall: `boss@acme.com`: `action`, `kind` or `key` do not fit the operation");
    // A rename relabelled as an update (op and action both): an update
    // keeps the name.
    let relabelled = json
        .replacen("\"op\": \"rename-role\"", "\"op\": \"update-role\"", 1)
        .replacen("\"action\": \"rename\"", "\"action\": \"update\"", 1);
    insta::assert_snapshot!(Plan::from_json(&relabelled).unwrap_err(), @"not a plan saved by rolecall: `Data Analyst`: an update keeps the role's name and a rename changes it");
    // A strip that gives a role (its fields are public: only the file
    // reader can refuse it).
    let mut plan = busy_world().plan();
    let strip = plan
        .changes
        .iter_mut()
        .find(|s| s.change.op() == Op::StripUser)
        .unwrap();
    let Change::User(UserChange::Strip(edit)) = &mut strip.change else {
        unreachable!()
    };
    edit.after.roles.insert(RoleRef::live("Admin", "r-admin"));
    insta::assert_snapshot!(Plan::from_json(&plan.to_json(&Review::default())).unwrap_err(), @"not a plan saved by rolecall: `old@acme.com`: an update keeps the user's email and a strip only takes roles away");
    // A checksum of something no plan reads, and a source that is no line.
    assert!(refused("\"role:r-analyst\"", "\"group:r-analyst\"").contains("not a checksum key"));
    for bad in [
        "rolecall.yaml",
        ":6",
        "rolecall.yaml:0",
        "rolecall.yaml:+6",
        "x\\u001b]0;t\\u0007:6",
    ] {
        let message = refused("\"rolecall.yaml:6\"", &format!("\"{bad}\""));
        assert!(
            message.contains("`source` is `file:line`"),
            "{bad}: {message}"
        );
    }
    assert!(refused("\"role:r-analyst\"", "\"role:\"").contains("not a checksum key"));
    // Fields no plan has.
    assert!(refused("\"risks\"", "\"allow\": true, \"risks\"").contains("unknown field `allow`"));
    // Another format version.
    insta::assert_snapshot!(refused("\"format_version\": 2", "\"format_version\": 1"), @"a plan of format 1; this rolecall reads format 2");
}

/// A plan edited by hand, checked against the live site: each rule blocks
/// what it guards, whatever the plan's own names say.
#[test]
fn safety_rules_guard_the_live_objects_behind_a_change() {
    let w = world().yaml("actor:", "protect:\n  users: [jane@*]\nactor:");
    let loaded = load_texts(vec![("rolecall.yaml".into(), w.yaml.clone())]).unwrap();
    let policy = Rails::of(&loaded.desired);
    let state = |email: &str, roles: &[RoleRef]| UserState {
        email: email.into(),
        first_name: "X".into(),
        last_name: "Y".into(),
        roles: roles.iter().cloned().collect(),
    };
    let admin = RoleRef::live("Admin", "r-admin");
    let check = |change: Change| {
        let mut plan = Plan {
            site: "acme".into(),
            actor: "admin@acme.com".into(),
            changes: vec![Step::new(change, BTreeSet::new(), None)],
            unmanaged: Unmanaged::default(),
            digests: BTreeMap::new(),
            partial: None,
            made_from: None,
            dashboards: Vec::new(),
        };
        safety::check(&mut plan, &w.live, &policy);
        plan.changes[0]
            .blocked
            .as_ref()
            .map_or("not blocked".to_string(), |b| b.rule.to_string())
    };
    // A delete relabelled with a harmless name but the protected user's id.
    let relabelled = Change::delete_user("u-jane".into(), state("old.timer@acme.com", &[]));
    insta::assert_snapshot!(check(relabelled), @"`protect: jane@*`");
    // The actor deleted, or stripped of Admin.
    let actor_deleted = Change::delete_user("u-admin".into(), state("someone@acme.com", &[]));
    insta::assert_snapshot!(check(actor_deleted), @"the actor `admin@acme.com` must keep the Admin role");
    let stripped = Change::update_user(
        "u-admin".into(),
        state("admin@acme.com", std::slice::from_ref(&admin)),
        state("admin@acme.com", &[]),
    );
    insta::assert_snapshot!(check(stripped), @"the actor `admin@acme.com` must keep the Admin role");
    // Admin and Everyone are never deleted or renamed.
    let role = |name: &str| RoleState {
        name: name.into(),
        description: String::new(),
        privileges: BTreeMap::new(),
        grants: BTreeMap::new(),
    };
    let admin_deleted = Change::delete_role("r-admin".into(), role("Unused"));
    insta::assert_snapshot!(check(admin_deleted), @"the role `Admin` is never deleted or renamed");
    let everyone_renamed = Change::edit_role("r-every".into(), role("Everyone"), role("All Staff"));
    insta::assert_snapshot!(check(everyone_renamed), @"the role `Everyone` is never deleted or renamed");
    // A role renamed to "Admin" is not a rename of Admin.
    let to_admin_name =
        Change::edit_role("r-finance".into(), role("Finance"), role("Finance Team"));
    assert_eq!(check(to_admin_name), "not blocked");
    // The last Admin member: jane is the only other user; with the actor
    // rule out of the way (another actor), removing the only admin is
    // refused.
    let mut lone = policy.clone();
    lone.actor = "nobody@acme.com".into();
    let mut plan = Plan {
        site: "acme".into(),
        actor: "nobody@acme.com".into(),
        changes: vec![Step::new(
            Change::update_user(
                "u-admin".into(),
                state("admin@acme.com", std::slice::from_ref(&admin)),
                state("admin@acme.com", &[]),
            ),
            BTreeSet::new(),
            None,
        )],
        unmanaged: Unmanaged::default(),
        digests: BTreeMap::new(),
        partial: None,
        made_from: None,
        dashboards: Vec::new(),
    };
    safety::check(&mut plan, &w.live, &lone);
    insta::assert_snapshot!(plan.changes[0].blocked.as_ref().unwrap().rule.to_string(), @"the site must keep at least one Admin member");
    // Only the limits can be lifted.
    plan.lift_limits();
    assert!(plan.is_blocked(), "lift_limits leaves the other rules");
}

#[test]
fn admin_is_listed_for_its_description_only() {
    // Listing Admin with a description plans a description change, and
    // never touches its privileges.
    let w = world().yaml(
        "  Finance:\n",
        "  Admin:\n    description: Full access\n  Finance:\n",
    );
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme`:

      # role "Admin" will be updated  (rolecall.yaml:10)  [admin-role]
      ~ role "Admin"
          ~ description: "" -> "Full access"

    Plan: 0 to create, 1 to update, 0 to delete, 0 to rename.
    "#);
    // Setting its privileges is an error before anything is read.
    let yaml = world()
        .yaml(
            "  Finance:\n",
            "  Admin:\n    privileges:\n      Dashboard: [read_dashboards]\n  Finance:\n",
        )
        .yaml;
    let err = load_texts(vec![("rolecall.yaml".into(), yaml)]).unwrap_err();
    let text: String = err
        .diagnostics
        .iter()
        .map(|d| d.render(&err.sources, false))
        .collect();
    insta::assert_snapshot!(text, @"
    error: the `Admin` role's privileges are not rolecall's to manage
      --> rolecall.yaml:10:3
       |
    10 |   Admin:
       |   ^^^^^ roles[\"Admin\"]
       |
       = hint: remove `privileges` from `Admin`: Admin can do everything on the site; rolecall manages only its description, and its members under `users:`
    ");
    // A plan that would change them anyway (edited by hand) is blocked.
    let mut plan = w.plan();
    if let Change::Role(RoleChange::Update(Edit { after, .. })) = &mut plan.changes[0].change {
        after.privileges.clear();
    }
    plan.changes[0].blocked = None;
    let loaded = load_texts(vec![("rolecall.yaml".into(), w.yaml.clone())]).unwrap();
    safety::check(&mut plan, &w.live, &Rails::of(&loaded.desired));
    insta::assert_snapshot!(plan.changes[0].blocked.as_ref().unwrap().rule.to_string(), @"the Admin role's privileges and grants are never changed");
}

#[test]
fn a_target_pulls_in_the_role_its_user_needs() {
    let mut w = world()
        .yaml("  Finance:\n", "  Growth: {}\n  Finance:\n")
        .yaml("roles: [Analyst]", "roles: [Analyst, Growth]")
        .yaml("description: Money", "description: Money!");
    w.selection = Selection {
        targets: vec![Selector::parse("user:jane*").unwrap()],
        excludes: vec![],
    };
    insta::assert_snapshot!(w.text(), @r#"
    rolecall will make these changes to the site `acme` (partial plan: 2 of 3 changes):

      # role "Growth" will be created  (rolecall.yaml:10)
      # included: a selected change needs it
      + role "Growth"

      # user "jane@acme.com" will be updated  (rolecall.yaml:18)
      ~ user "jane@acme.com"
          ~ roles: + Growth

    Plan: 1 to create, 1 to update, 0 to delete, 0 to rename.
    "#);
    w.selection.excludes = vec![Selector::parse("role:grow*").unwrap()];
    insta::assert_snapshot!(w.errors(), @"
    error: the change to user `jane@acme.com` needs role `Growth` created first, which the selection excludes
      hint: exclude that change too, or stop excluding the role
    ");
    w.selection = Selection {
        targets: vec![Selector::parse("role:nope*").unwrap()],
        excludes: vec![],
    };
    insta::assert_snapshot!(w.errors(), @"
    error: the selector `role:nope*` matches no role in the config or on the site
      hint: check the spelling: a selector is `user:GLOB` or `role:GLOB`, compared case-insensitively
    ");
}

/// `files:` keeps a file that may not hold Admin from changing who holds
/// it; an undo of site changes may still take away the Admin someone gave
/// on the site (the config never gave it), and never give it.
#[test]
fn files_blocks_admin_changes_but_an_undo_may_revoke_a_site_made_admin() {
    let judged = |w: &World, undo: bool| {
        let mut loaded =
            load_texts(vec![("rolecall.yaml".into(), w.yaml.clone())]).expect("a config");
        // As `files:` marks a user of a file without `admin`.
        for user in loaded.desired.users.values_mut() {
            user.admin_allowed = user.email != "jane@acme.com";
        }
        let plan = diff(&loaded.desired, &loaded.sources, &w.live, &w.selection).unwrap();
        let judge = if undo {
            crate::pipeline::judge_undo
        } else {
            crate::pipeline::judge
        };
        let (plan, _) = judge(plan, &w.live, &loaded.desired);
        let step = plan.changes.iter().find(|s| s.key() == "jane@acme.com");
        step.map(|s| s.blocked.as_ref().map(|b| b.rule.clone()))
    };
    let files = Some(Some(Rule::AdminOutsideFiles {
        email: "jane@acme.com".into(),
    }));
    // Admin given to jane on the site: the plan takes it away.
    let mut w = world();
    w.user("jane@acme.com").roles.insert("r-admin".into());
    assert_eq!(judged(&w, false), files, "a plan from the file: blocked");
    assert_eq!(judged(&w, true), Some(None), "an undo of the site's grant");
    // The file gives jane Admin: blocked, undo or not.
    let w = world().yaml("    roles: [Analyst]\n", "    roles: [Analyst, Admin]\n");
    assert_eq!(judged(&w, false), files);
    assert_eq!(judged(&w, true), files);
}
