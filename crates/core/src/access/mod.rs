//! Who can do what on which dashboard, and why.
//!
//! A role's `privileges` say which actions its members may take; a role's
//! dashboard grants say on which dashboards. A user has action A on
//! dashboard D when some role of theirs gives privilege A and some role of
//! theirs grants A on D ([`Model::CrossRole`], the default), or — the
//! stricter reading, since the vendor does not document it — when one role
//! gives both ([`Model::SameRole`]). Admin can do everything; every user is
//! in Everyone.
//!
//! Queries are computed per user from the user's roles, so a narrow query
//! (one user, one dashboard) never builds the whole users × dashboards
//! product.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::config::vocab::{ACTIONS, ADMIN, EVERYONE, key};
use crate::kinds::ObjectKind;
use crate::live::{Live, LiveRole, LiveUser};

/// The kind of object access is evaluated on: what users can do on
/// dashboards.
const DASHBOARD: ObjectKind = ObjectKind::Dashboard;

/// How privileges and grants combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    /// The privilege and the grant may come from different roles.
    #[default]
    CrossRole,
    /// One role must give both.
    SameRole,
}

impl Model {
    /// As written: `cross-role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Model::CrossRole => "cross-role",
            Model::SameRole => "same-role",
        }
    }
}

/// Why a user has an action on a dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Via {
    /// Through Admin: everything.
    pub admin: bool,
    /// Roles giving the privilege.
    pub privilege: Vec<String>,
    /// Roles granting it on the dashboard.
    pub grant: Vec<String>,
}

/// One action of one user on one dashboard.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Entry {
    /// The user's email.
    pub user: String,
    /// The dashboard's id.
    pub dashboard_id: String,
    /// The dashboard's name (`#id` when it has none).
    pub dashboard: String,
    /// The action.
    pub action: String,
    /// Which roles give it.
    pub via: Via,
}

/// The site, indexed for access questions.
#[derive(Debug)]
pub struct Evaluator<'a> {
    live: &'a Live,
    model: Model,
    roles: HashMap<&'a str, &'a LiveRole>,
    dashboards: BTreeMap<&'a str, &'a str>,
    admin_id: Option<&'a str>,
    everyone_id: Option<&'a str>,
    /// A role as a change would make it, in place of the live one.
    replaced: Option<LiveRole>,
}

impl<'a> Evaluator<'a> {
    /// The same site with `role` (by id) as given: what one change alone
    /// would do.
    pub fn with_role(&self, role: LiveRole) -> Evaluator<'a> {
        Evaluator {
            live: self.live,
            model: self.model,
            roles: self.roles.clone(),
            dashboards: self.dashboards.clone(),
            admin_id: self.admin_id,
            everyone_id: self.everyone_id,
            replaced: Some(role),
        }
    }

    fn role(&self, id: &str) -> Option<&LiveRole> {
        match &self.replaced {
            Some(r) if r.id == id => Some(r),
            _ => self.roles.get(id).copied(),
        }
    }
    /// The site `live`, read by `model`.
    pub fn new(live: &'a Live, model: Model) -> Self {
        let find = |name: &str| {
            live.roles
                .iter()
                .find(|r| key(&r.name) == key(name))
                .map(|r| r.id.as_str())
        };
        Self {
            live,
            model,
            roles: live.roles.iter().map(|r| (r.id.as_str(), r)).collect(),
            dashboards: live
                .objects_of(ObjectKind::Dashboard)
                .map(|d| (d.id.as_str(), d.name.as_str()))
                .collect(),
            admin_id: find(ADMIN),
            everyone_id: find(EVERYONE),
            replaced: None,
        }
    }

    /// How privileges and grants combine.
    pub fn model(&self) -> Model {
        self.model
    }

    /// A user's roles, Everyone included whatever the site lists.
    fn roles_of(&self, user: &LiveUser) -> Vec<&LiveRole> {
        let mut ids: BTreeSet<&str> = user.roles.iter().map(String::as_str).collect();
        ids.extend(self.everyone_id);
        ids.into_iter().filter_map(|id| self.role(id)).collect()
    }

    /// Whether the user is in Admin.
    pub fn is_admin(&self, user: &LiveUser) -> bool {
        self.admin_id.is_some_and(|a| user.roles.contains(a))
    }

    /// A dashboard's name, `#id` when the site lists none.
    pub fn dashboard_name(&self, id: &str) -> String {
        self.dashboards
            .get(id)
            .map_or_else(|| format!("#{id}"), |n| n.to_string())
    }

    /// What `user` can do: on `only` (a dashboard id) or everywhere.
    pub fn user(&self, user: &LiveUser, only: Option<&str>) -> Vec<Entry> {
        if self.is_admin(user) {
            return self.admin_entries(user, only);
        }
        let roles = self.roles_of(user);
        let privilege = |r: &LiveRole, a: &str| {
            r.privileges
                .get(DASHBOARD.api_type())
                .is_some_and(|p| p.contains(a))
        };
        // Dashboard id -> action -> roles granting it.
        let mut grants: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
        for r in &roles {
            for (d, actions) in (r.grants.iter())
                .filter(|(o, _)| o.kind == DASHBOARD)
                .map(|(o, a)| (o.id.as_str(), a))
            {
                if only.is_some_and(|o| o != d) {
                    continue;
                }
                for a in actions {
                    grants
                        .entry(d)
                        .or_default()
                        .entry(a)
                        .or_default()
                        .push(&r.name);
                }
            }
        }
        let mut out = Vec::new();
        for (d, actions) in grants {
            for (action, granting) in actions {
                let giving: Vec<&str> = roles
                    .iter()
                    .filter(|r| privilege(r, action))
                    .map(|r| r.name.as_str())
                    .collect();
                let via = match self.model {
                    Model::CrossRole if !giving.is_empty() => Via {
                        admin: false,
                        privilege: sorted(giving),
                        grant: sorted(granting),
                    },
                    Model::SameRole => {
                        let both: Vec<&str> = granting
                            .iter()
                            .copied()
                            .filter(|g| giving.contains(g))
                            .collect();
                        if both.is_empty() {
                            continue;
                        }
                        Via {
                            admin: false,
                            privilege: sorted(both.clone()),
                            grant: sorted(both),
                        }
                    }
                    Model::CrossRole => continue,
                };
                out.push(Entry {
                    user: user.email.clone(),
                    dashboard_id: d.to_string(),
                    dashboard: self.dashboard_name(d),
                    action: action.to_string(),
                    via,
                });
            }
        }
        out
    }

    fn admin_entries(&self, user: &LiveUser, only: Option<&str>) -> Vec<Entry> {
        let via = Via {
            admin: true,
            ..Via::default()
        };
        self.dashboards
            .keys()
            .filter(|d| only.is_none_or(|o| o == **d))
            .flat_map(|d| {
                ACTIONS.iter().map(|a| Entry {
                    user: user.email.clone(),
                    dashboard_id: d.to_string(),
                    dashboard: self.dashboard_name(d),
                    action: a.to_string(),
                    via: via.clone(),
                })
            })
            .collect()
    }

    /// Everyone's actions on one dashboard.
    pub fn dashboard(&self, id: &str) -> Vec<Entry> {
        self.live
            .users
            .iter()
            .flat_map(|u| self.user(u, Some(id)))
            .collect()
    }

    /// A user's (dashboard id, action) pairs, without reasons: for diffs.
    pub fn pairs(&self, user: &LiveUser) -> BTreeSet<(String, String)> {
        self.user(user, None)
            .into_iter()
            .map(|e| (e.dashboard_id, e.action))
            .collect()
    }
}

fn sorted(mut names: Vec<&str>) -> Vec<String> {
    names.sort_by_key(|n| key(n));
    names.dedup();
    names.into_iter().map(str::to_string).collect()
}

mod effect;
mod query;
mod render;

pub use crate::plan::{Access, Effect};
pub use effect::{annotate, effect};
pub use query::{Query, QueryError, StreamError, query, with_ends, write_csv};
pub use render::{Format, Report, RoleGives, Row, rows};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ObjectRef;
    use crate::live::LiveObject;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn role(id: &str, privileges: &[&str], grants: &[(&str, &[&str])]) -> LiveRole {
        LiveRole {
            id: id.into(),
            name: id.into(),
            description: String::new(),
            privileges: if privileges.is_empty() {
                BTreeMap::new()
            } else {
                BTreeMap::from([("Dashboard".into(), set(privileges))])
            },
            grants: grants
                .iter()
                .map(|(d, a)| (ObjectRef::dashboard(*d), set(a)))
                .collect(),
            kept: Default::default(),
        }
    }

    fn user(email: &str, roles: &[&str]) -> LiveUser {
        LiveUser {
            id: email.into(),
            email: email.into(),
            first_name: "F".into(),
            last_name: "L".into(),
            roles: set(roles),
        }
    }

    /// Everyone reads; Sales grants dashboards; Pdf gives download_pdf.
    fn site() -> Live {
        Live {
            roles: vec![
                role("Admin", &[], &[]),
                role("Everyone", &["read_dashboards"], &[]),
                role(
                    "Sales",
                    &[],
                    &[("d1", &["read_dashboards", "download_pdf"])],
                ),
                role("Pdf", &["download_pdf"], &[]),
                role("Both", &["download_pdf"], &[("d2", &["download_pdf"])]),
            ],
            users: vec![
                user("admin@x.io", &["Admin", "Everyone"]),
                user("seller@x.io", &["Sales", "Everyone"]),
                user("pdf@x.io", &["Pdf", "Everyone"]),
                user("both@x.io", &["Sales", "Pdf", "Everyone"]),
                user("self@x.io", &["Both", "Everyone"]),
                user("nobody@x.io", &[]),
            ],
            objects: vec![
                LiveObject::dashboard("d1", "Pipeline"),
                LiveObject::dashboard("d2", "Costs"),
                LiveObject::dashboard("d3", "Unshared"),
            ],
        }
    }

    #[test]
    fn a_query_narrows_and_names_what_the_site_lacks() {
        let live = site();
        let e = Evaluator::new(&live, Model::CrossRole);
        let ask = |q: Query<'_>| query(&live, &e, &q);
        let both = ask(Query {
            user: Some("BOTH@x.io"),
            dashboard: Some("Pipeline"),
            action: Some("download_pdf"),
            ..Query::default()
        })
        .unwrap();
        assert_eq!(both.len(), 1);
        assert_eq!(
            (both[0].dashboard_id.as_str(), both[0].user.as_str()),
            ("d1", "both@x.io")
        );
        let members = ask(Query {
            role: Some("sales"),
            action: Some("download_pdf"),
            ..Query::default()
        })
        .unwrap();
        let users: BTreeSet<&str> = members.iter().map(|e| e.user.as_str()).collect();
        assert_eq!(
            users,
            BTreeSet::from(["both@x.io"]),
            "a seller has no download_pdf privilege"
        );
        assert_eq!(
            ask(Query {
                dashboard: Some("#d9"),
                ..Query::default()
            }),
            Err(QueryError::NoDashboardId("d9".into()))
        );
        assert_eq!(
            ask(Query {
                dashboard: Some("Pipelin"),
                ..Query::default()
            }),
            Err(QueryError::NoDashboardNamed {
                name: "Pipelin".into(),
                like: Some("Pipeline".into())
            })
        );
        assert_eq!(
            ask(Query {
                user: Some("who@x.io"),
                ..Query::default()
            }),
            Err(QueryError::NoUser("who@x.io".into()))
        );
        assert_eq!(
            ask(Query {
                role: Some("Nope"),
                ..Query::default()
            }),
            Err(QueryError::NoRole("Nope".into()))
        );
    }

    /// Every format of a report, from one evaluation: the Admin member
    /// named once, a name that starts like a formula kept as text in CSV,
    /// a pipe escaped in markdown.
    #[test]
    fn a_report_renders_in_every_format() {
        let mut live = site();
        live.objects[0].name = "=HYPERLINK(\"x\")|Pipeline".into();
        let e = Evaluator::new(&live, Model::CrossRole);
        let entries: Vec<Entry> = live.users.iter().flat_map(|u| e.user(u, None)).collect();
        let all = rows(&entries);
        let report = Report {
            site: "acme",
            source: "live",
            model: Model::CrossRole,
            rows: all.iter().filter(|r| !r.admin).collect(),
            admins: all
                .iter()
                .filter(|r| r.admin)
                .map(|r| r.user.clone())
                .collect(),
            kept: Vec::new(),
        };
        insta::assert_snapshot!("text", report.render(Format::Text));
        insta::assert_snapshot!("markdown", report.render(Format::Markdown));
        insta::assert_snapshot!("json", report.render(Format::Json));
        insta::assert_snapshot!("csv", report.render(Format::Csv));
    }

    fn access(model: Model, email: &str) -> Vec<String> {
        let live = site();
        let e = Evaluator::new(&live, model);
        let u = live.users.iter().find(|u| u.email == email).unwrap();
        e.user(u, None)
            .into_iter()
            .map(|x| {
                format!(
                    "{} {} via {:?}/{:?}",
                    x.dashboard_id, x.action, x.via.privilege, x.via.grant
                )
            })
            .collect()
    }

    #[test]
    fn a_privilege_without_a_grant_gives_nothing() {
        assert_eq!(access(Model::CrossRole, "pdf@x.io"), Vec::<String>::new());
    }

    #[test]
    fn a_grant_without_a_privilege_gives_nothing_but_everyones_privilege_counts() {
        // Sales grants download_pdf on d1, but nobody gives the privilege;
        // read_dashboards comes from Everyone's privilege.
        assert_eq!(
            access(Model::CrossRole, "seller@x.io"),
            ["d1 read_dashboards via [\"Everyone\"]/[\"Sales\"]"]
        );
    }

    #[test]
    fn privilege_and_grant_from_two_roles_depends_on_the_model() {
        assert_eq!(
            access(Model::CrossRole, "both@x.io"),
            [
                "d1 download_pdf via [\"Pdf\"]/[\"Sales\"]",
                "d1 read_dashboards via [\"Everyone\"]/[\"Sales\"]"
            ]
        );
        assert_eq!(access(Model::SameRole, "both@x.io"), Vec::<String>::new());
        assert_eq!(
            access(Model::SameRole, "self@x.io"),
            ["d2 download_pdf via [\"Both\"]/[\"Both\"]"]
        );
    }

    #[test]
    fn admin_everything_no_role_nothing_unshared_dashboard_nobody() {
        let live = site();
        let e = Evaluator::new(&live, Model::CrossRole);
        let admin = &live.users[0];
        assert_eq!(e.user(admin, None).len(), 3 * ACTIONS.len());
        assert!(e.user(admin, None).iter().all(|x| x.via.admin));
        // In no role at all: still in Everyone, which grants nothing itself.
        assert_eq!(
            access(Model::CrossRole, "nobody@x.io"),
            Vec::<String>::new()
        );
        let on_d3: Vec<String> = e
            .dashboard("d3")
            .into_iter()
            .map(|x| x.user)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(
            on_d3,
            ["admin@x.io"],
            "only Admin reaches an unshared dashboard"
        );
    }

    /// For random sites, the evaluator agrees with a brute force over every
    /// (user, dashboard, action) written straight from the definition.
    mod property {
        use proptest::prelude::*;

        use super::*;

        const A: &[&str] = &["read_dashboards", "download_pdf", "email_reports"];

        fn brute(live: &Live, model: Model) -> BTreeSet<(String, String, String)> {
            let mut out = BTreeSet::new();
            let roles_of = |u: &LiveUser| -> Vec<&LiveRole> {
                live.roles
                    .iter()
                    .filter(|r| u.roles.contains(&r.id) || r.name == "Everyone")
                    .collect()
            };
            for u in &live.users {
                let rs = roles_of(u);
                let admin = rs.iter().any(|r| r.name == "Admin");
                for d in &live.objects {
                    for a in ACTIONS {
                        let p = |r: &LiveRole| {
                            r.privileges
                                .get("Dashboard")
                                .is_some_and(|s| s.contains(*a))
                        };
                        let g = |r: &LiveRole| {
                            r.grants
                                .get(&d.object_ref())
                                .is_some_and(|s| s.contains(*a))
                        };
                        let ok = admin
                            || match model {
                                Model::CrossRole => {
                                    rs.iter().any(|r| p(r)) && rs.iter().any(|r| g(r))
                                }
                                Model::SameRole => rs.iter().any(|r| p(r) && g(r)),
                            };
                        if ok {
                            out.insert((u.email.clone(), d.id.clone(), a.to_string()));
                        }
                    }
                }
            }
            out
        }

        fn random_site() -> impl Strategy<Value = Live> {
            let gen_role = (
                prop::sample::subsequence(A.to_vec(), 0..3),
                prop::collection::vec(
                    (0..4usize, prop::sample::subsequence(A.to_vec(), 0..3)),
                    0..4,
                ),
            );
            (
                prop::collection::vec(gen_role, 2..6),
                prop::collection::vec(prop::collection::vec(any::<bool>(), 8), 1..8),
            )
                .prop_map(|(roles, users)| {
                    let mut live = site();
                    live.roles.truncate(2);
                    live.objects.push(LiveObject::dashboard("d4", "Four"));
                    for (i, (p, g)) in roles.iter().enumerate() {
                        let grants: Vec<(String, Vec<&str>)> = g
                            .iter()
                            .map(|(d, a)| (format!("d{}", d + 1), a.clone()))
                            .collect();
                        let mut r = role(&format!("R{i}"), p, &[]);
                        for (d, a) in grants {
                            r.grants
                                .entry(ObjectRef::dashboard(d))
                                .or_default()
                                .extend(a.iter().map(|s| s.to_string()));
                        }
                        live.roles.push(r);
                    }
                    live.roles[1].privileges =
                        BTreeMap::from([("Dashboard".into(), set(&["read_dashboards"]))]);
                    live.users = users
                        .iter()
                        .enumerate()
                        .map(|(i, member)| {
                            let ids: Vec<&str> = live
                                .roles
                                .iter()
                                .zip(member)
                                .filter(|(_, m)| **m)
                                .map(|(r, _)| r.id.as_str())
                                .collect();
                            user(&format!("u{i}@x.io"), &ids)
                        })
                        .collect();
                    live
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            #[test]
            fn the_evaluator_agrees_with_brute_force(live in random_site()) {
                for model in [Model::CrossRole, Model::SameRole] {
                    let e = Evaluator::new(&live, model);
                    let got: BTreeSet<(String, String, String)> = live
                        .users
                        .iter()
                        .flat_map(|u| e.user(u, None))
                        .map(|x| (x.user, x.dashboard_id, x.action))
                        .collect();
                    prop_assert_eq!(&got, &brute(&live, model), "{:?}", model);
                    let by_dashboard: BTreeSet<(String, String, String)> = live
                        .objects
                        .iter()
                        .flat_map(|d| e.dashboard(&d.id))
                        .map(|x| (x.user, x.dashboard_id, x.action))
                        .collect();
                    prop_assert_eq!(&by_dashboard, &got);
                }
            }
        }
    }
}
