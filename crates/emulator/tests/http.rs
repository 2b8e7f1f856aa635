//! The emulator over HTTP: a real client against `spawn`, for every endpoint,
//! error rule, test_mode, pagination edge, fault and quirk.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use periscope_emulator::{Dashboard, Faults, Id, Options, Quirks, Snapshot, spawn};
use reqwest::Method;
use serde_json::{Value, json};

struct Api {
    emu: periscope_emulator::Emulator,
    http: reqwest::Client,
}

impl Api {
    fn new(options: Options) -> Self {
        // In a workspace build reqwest comes without a TLS provider (the
        // client crate brings ring); plain http needs none, but reqwest asks.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            emu: spawn(options).expect("emulator starts"),
            http: reqwest::Client::new(),
        }
    }

    fn default() -> Self {
        Self::new(Options::default())
    }

    /// A `GET` as it came back, headers included.
    async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.emu.url()))
            .header("HTTP-X-PARTNER-AUTH", self.emu.auth_header())
            .send()
            .await
            .unwrap()
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(&self.emu.auth_header(), method, path, body)
            .await
            .expect("an answer")
    }

    async fn call_as(
        &self,
        auth: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Result<(u16, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.emu.url()))
            .header("HTTP-X-PARTNER-AUTH", auth)
            .header("Content-Type", "application/json");
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        Ok((status, value))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, None).await
    }

    fn admin_email(&self) -> String {
        format!("admin@{}.example", self.emu.site())
    }

    fn role_id(&self, name: &str) -> String {
        self.emu
            .snapshot()
            .roles
            .iter()
            .find(|r| r.name == name)
            .unwrap()
            .id
            .0
            .clone()
    }

    async fn create_user(&self, email: &str, roles: &[&str]) -> (u16, Value) {
        let admin = self.admin_email();
        self.post(
            "/api/v2/users",
            json!({"first_name": "Ann", "last_name": "Lee", "email": email, "roles": roles, "invited_by_email": admin}),
        )
        .await
    }
}

fn seeded(dashboards: usize, users: usize) -> Options {
    let mut roles = vec![
        periscope_emulator::Role {
            id: "r-admin".into(),
            name: "Admin".into(),
            description: String::new(),
            privileges: vec![],
            permissions: vec![],
        },
        periscope_emulator::Role {
            id: "r-everyone".into(),
            name: "Everyone".into(),
            description: String::new(),
            privileges: vec![],
            permissions: vec![],
        },
    ];
    roles.sort_by(|a, b| a.id.cmp(&b.id));
    let mut all_users = vec![periscope_emulator::User {
        id: "u-admin".into(),
        email: "admin@acme.example".into(),
        first_name: "A".into(),
        last_name: "Admin".into(),
        roles: vec!["r-admin".into()],
    }];
    all_users.extend((0..users).map(|i| periscope_emulator::User {
        id: Id(format!("u-{i:06}")),
        email: format!("user{i}@acme.example"),
        first_name: "U".into(),
        last_name: format!("{i}"),
        roles: vec![],
    }));
    Options {
        seed: Some(Snapshot {
            site: "acme".into(),
            api_key: Some("secret-key".into()),
            users: all_users,
            roles,
            dashboards: (0..dashboards)
                .map(|i| Dashboard {
                    id: Id(format!("{}", 1000 + i)),
                    name: format!("Dashboard {i}"),
                })
                .collect(),
        }),
        ..Options::default()
    }
}

#[tokio::test]
async fn authentication() {
    let api = Api::new(Options {
        api_key: Some("k:with:colons".into()),
        ..Options::default()
    });
    let url = |p: &str| format!("{}{p}", api.emu.url());
    // Missing header.
    let resp = api.http.get(url("/api/v2/users")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("HTTP-X-PARTNER-AUTH")
    );
    // Wrong key, wrong site.
    for auth in ["sandbox:wrong", "other:k:with:colons", "sandbox", ""] {
        let (status, body) = api
            .call_as(auth, Method::GET, "/api/v2/users", None)
            .await
            .unwrap();
        assert_eq!(status, 401, "{auth}");
        assert!(body["error"].is_string());
    }
    // The value splits on the first `:`; the header name is case-insensitive.
    let resp = api
        .http
        .get(url("/api/v2/users"))
        .header("http-x-partner-auth", "sandbox:k:with:colons")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_new_site_has_the_default_roles_and_one_admin() {
    let api = Api::default();
    let (status, body) = api.get("/api/v1/roles").await;
    assert_eq!(status, 200);
    let names: BTreeSet<&str> = body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["Admin", "Everyone", "Analyst", "Business User", "Read"])
    );
    assert!(
        body.get("next_page_start").is_none(),
        "roles are not paginated by default"
    );
    let (_, users) = api.get("/api/v2/users").await;
    let users = users["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    let roles: BTreeSet<String> = users[0]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        roles,
        BTreeSet::from([api.role_id("Admin"), api.role_id("Everyone")])
    );
    let (_, dashboards) = api.get("/api/v1/dashboards").await;
    assert_eq!(
        dashboards,
        json!({"dashboards": [], "next_page_start": null, "items_this_page": 0})
    );
}

#[tokio::test]
async fn users_create_get_update_delete() {
    let api = Api::default();
    let analyst = api.role_id("Analyst");
    let everyone = api.role_id("Everyone");
    let (status, user) = api.create_user("ann@acme.com", &[&analyst]).await;
    assert_eq!(status, 201);
    let id = user["id"].as_str().unwrap().to_string();
    assert!(
        id.len() >= 8 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "opaque hex-like id: {id}"
    );
    assert_eq!(user["email"], "ann@acme.com");
    let mut expected = vec![analyst.clone(), everyone.clone()];
    expected.sort();
    assert_eq!(
        user["roles"],
        json!(expected),
        "Everyone is always a member"
    );

    let (status, got) = api.get(&format!("/api/v2/users/{id}")).await;
    assert_eq!((status, &got), (200, &user));

    // A user created with no roles is in Everyone only.
    let (_, bare) = api.create_user("bob@acme.com", &[]).await;
    assert_eq!(bare["roles"], json!([everyone]));

    // PUT replaces the membership, and Everyone stays.
    let read = api.role_id("Read");
    let (status, updated) = api
        .put(
            &format!("/api/v2/users/{id}"),
            json!({"first_name": "Anne", "roles": [read]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["first_name"], "Anne");
    assert_eq!(updated["last_name"], "Lee", "absent fields are left alone");
    let mut expected = vec![read, everyone];
    expected.sort();
    assert_eq!(updated["roles"], json!(expected));

    let (status, body) = api.delete(&format!("/api/v2/users/{id}")).await;
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(api.get(&format!("/api/v2/users/{id}")).await.0, 404);
    assert_eq!(api.delete(&format!("/api/v2/users/{id}")).await.0, 404);
    assert_eq!(
        api.put(&format!("/api/v2/users/{id}"), json!({"first_name": "X"}))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn user_validation_rules() {
    let api = Api::default();
    let admin = api.admin_email();
    assert_eq!(api.create_user("ann@acme.com", &[]).await.0, 201);
    let cases = [
        (
            json!({"first_name": "A", "last_name": "B", "email": "ANN@Acme.com", "invited_by_email": admin}),
            409,
            "already exists",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "not-an-email", "invited_by_email": admin}),
            400,
            "invalid email",
        ),
        (
            json!({"last_name": "B", "email": "c@acme.com", "invited_by_email": admin}),
            400,
            "missing field `first_name`",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "c@acme.com"}),
            400,
            "missing field `invited_by_email`",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "c@acme.com", "roles": ["nope"], "invited_by_email": admin}),
            400,
            "unknown role id `nope`",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "c@acme.com", "invited_by_email": "ann@acme.com"}),
            400,
            "not an admin",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "c@acme.com", "invited_by_email": "ghost@acme.com"}),
            400,
            "not an admin",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "c@acme.com", "invited_by_email": admin, "nickname": "x"}),
            400,
            "unknown field `nickname`",
        ),
        (json!("not an object"), 400, "invalid request body"),
    ];
    for (body, status, message) in cases {
        let (got, answer) = api.post("/api/v2/users", body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(message),
            "{body}: {answer}"
        );
    }
    assert_eq!(
        api.emu.snapshot().users.len(),
        2,
        "no failed create changed anything"
    );
    let id = api
        .emu
        .snapshot()
        .users
        .iter()
        .find(|u| u.email == "ann@acme.com")
        .unwrap()
        .id
        .0
        .clone();
    let (status, answer) = api
        .put(&format!("/api/v2/users/{id}"), json!({"roles": ["nope"]}))
        .await;
    assert_eq!(
        (status, answer["error"].as_str().unwrap()),
        (400, "unknown role id `nope`")
    );
    let (status, _) = api
        .put(
            &format!("/api/v2/users/{id}"),
            json!({"email": "new@acme.com"}),
        )
        .await;
    assert_eq!(status, 400, "the email cannot be changed");
}

#[tokio::test]
async fn roles_create_get_update_delete() {
    let api = Api::new(seeded(3, 0));
    let (status, role) = api
        .post(
            "/api/v1/roles",
            json!({"name": "Finance", "description": "money", "created_by_email": "admin@acme.example",
                   "privileges": [{"object_type": "Dashboard", "permissions": ["read_dashboards"]}],
                   "permissions": [{"object_type": "Dashboard", "object_id": "1001", "permissions": ["download_pdf"]}]}),
        )
        .await;
    assert_eq!(status, 201, "{role}");
    let id = role["id"].as_str().unwrap().to_string();
    assert_eq!(
        api.get(&format!("/api/v1/roles/{id}")).await,
        (200, role.clone())
    );

    // A present list replaces; an absent key leaves the stored value.
    let (status, updated) = api
        .put(&format!("/api/v1/roles/{id}"), json!({"updated_by_email": "admin@acme.example", "name": "Finance Team", "privileges": []}))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "Finance Team");
    assert_eq!(updated["privileges"], json!([]));
    assert_eq!(updated["permissions"], role["permissions"]);
    assert_eq!(updated["description"], "money");

    // Deleting a role removes it from every membership.
    let admin_id = api.emu.snapshot().users[0].id.0.clone();
    let (status, _) = api
        .put(
            &format!("/api/v2/users/{admin_id}"),
            json!({"roles": ["r-admin", id]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(api.delete(&format!("/api/v1/roles/{id}")).await.0, 204);
    assert_eq!(api.get(&format!("/api/v1/roles/{id}")).await.0, 404);
    let (_, admin) = api.get(&format!("/api/v2/users/{admin_id}")).await;
    assert_eq!(admin["roles"], json!(["r-admin", "r-everyone"]));
}

#[tokio::test]
async fn role_validation_rules() {
    let api = Api::new(Options {
        extra_actions: vec!["export_csv".into()],
        ..seeded(1, 1)
    });
    let admin = "admin@acme.example";
    let ok = |name: &str| json!({"name": name, "created_by_email": admin});
    assert_eq!(api.post("/api/v1/roles", ok("Finance")).await.0, 201);
    let cases = [
        (ok("FINANCE"), 409, "already exists"),
        (
            json!({"created_by_email": admin}),
            400,
            "missing field `name`",
        ),
        (
            json!({"name": "X"}),
            400,
            "missing field `created_by_email`",
        ),
        (
            json!({"name": "X", "created_by_email": "user0@acme.example"}),
            400,
            "not an admin",
        ),
        (
            json!({"name": "X", "created_by_email": admin, "privileges": [{"object_type": "Dashboard", "permissions": ["fly"]}]}),
            400,
            "unknown permission `fly`",
        ),
        (
            json!({"name": "X", "created_by_email": admin, "privileges": [{"object_type": "Chart", "permissions": []}]}),
            400,
            "unknown object_type `Chart`",
        ),
        (
            json!({"name": "X", "created_by_email": admin, "permissions": [{"object_type": "Dashboard", "object_id": "999", "permissions": ["read_dashboards"]}]}),
            400,
            "unknown dashboard object_id `999`",
        ),
    ];
    for (body, status, message) in cases {
        let (got, answer) = api.post("/api/v1/roles", body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(message),
            "{body}: {answer}"
        );
    }
    // Extra action names are accepted when configured.
    let body = json!({"name": "Exporters", "created_by_email": admin, "privileges": [{"object_type": "Dashboard", "permissions": ["export_csv"]}]});
    assert_eq!(api.post("/api/v1/roles", body).await.0, 201);
    // Ids are strings, as the emulator sends them: a number is refused
    // (the `numeric_dashboard_ids` quirk accepts it, see `quirks`).
    let body = json!({"name": "Numeric", "created_by_email": admin, "permissions": [{"object_type": "Dashboard", "object_id": 1000, "permissions": ["read_dashboards"]}]});
    let (status, answer) = api.post("/api/v1/roles", body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("`object_id` holds a number; ids are strings")
    );

    // Renaming into an existing name collides; Admin and Everyone cannot be
    // renamed or deleted, but their grants can change.
    let finance = api.role_id("Finance");
    let (status, _) = api
        .put(
            &format!("/api/v1/roles/{finance}"),
            json!({"updated_by_email": admin, "name": "exporters"}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = api
        .put(
            &format!("/api/v1/roles/{finance}"),
            json!({"name": "Other"}),
        )
        .await;
    assert_eq!(status, 400, "updated_by_email is required");
    for builtin in ["r-admin", "r-everyone"] {
        let (status, body) = api
            .put(
                &format!("/api/v1/roles/{builtin}"),
                json!({"updated_by_email": admin, "name": "Renamed"}),
            )
            .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(api.delete(&format!("/api/v1/roles/{builtin}")).await.0, 403);
        let body = json!({"updated_by_email": admin, "privileges": [{"object_type": "Dashboard", "permissions": ["read_dashboards"]}]});
        assert_eq!(
            api.put(&format!("/api/v1/roles/{builtin}"), body).await.0,
            200
        );
    }
}

#[tokio::test]
async fn test_mode_validates_answers_and_changes_nothing() {
    let api = Api::new(seeded(2, 2));
    let admin = "admin@acme.example";
    let before = api.emu.snapshot();
    let user = "u-000000";
    let writes = [
        (
            Method::POST,
            "/api/v2/users?test_mode=true".to_string(),
            Some(
                json!({"first_name": "T", "last_name": "M", "email": "t@acme.example", "invited_by_email": admin}),
            ),
            201,
        ),
        (
            Method::PUT,
            format!("/api/v2/users/{user}?test_mode=true"),
            Some(json!({"first_name": "Changed", "roles": ["r-admin"]})),
            200,
        ),
        (
            Method::DELETE,
            format!("/api/v2/users/{user}?test_mode=true"),
            None,
            204,
        ),
        (
            Method::POST,
            "/api/v1/roles?test_mode=true".to_string(),
            Some(json!({"name": "T", "created_by_email": admin})),
            201,
        ),
        (
            Method::PUT,
            "/api/v1/roles/r-admin?test_mode=true".to_string(),
            Some(json!({"updated_by_email": admin, "privileges": []})),
            200,
        ),
        (
            Method::DELETE,
            "/api/v1/roles/r-admin?test_mode=true".to_string(),
            None,
            403,
        ),
    ];
    for (method, path, body, status) in writes {
        let (got, answer) = api.call(method.clone(), &path, body).await;
        assert_eq!(got, status, "{method} {path}: {answer}");
    }
    assert_eq!(api.emu.snapshot(), before, "test_mode changed nothing");
    // It still validates: a duplicate is refused in test mode too.
    let (status, _) = api
        .post("/api/v2/users?test_mode=true", json!({"first_name": "T", "last_name": "M", "email": "USER0@acme.example", "invited_by_email": admin}))
        .await;
    assert_eq!(status, 409);
    // test_mode=false performs the write; anything else is refused.
    assert_eq!(
        api.delete(&format!("/api/v2/users/{user}?test_mode=false"))
            .await
            .0,
        204
    );
    assert_eq!(
        api.delete("/api/v2/users/u-000001?test_mode=yes").await.0,
        400
    );
    assert_eq!(api.emu.snapshot().users.len(), before.users.len() - 1);
    let logged: Vec<bool> = api.emu.requests().iter().map(|r| r.test_mode).collect();
    assert_eq!(
        logged.iter().filter(|t| **t).count(),
        7,
        "the log records test_mode"
    );
}

async fn all_pages(api: &Api, path: &str, kind: &str) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?next_page_start={c}"),
            None => path.to_string(),
        };
        let (status, body) = api.get(&url).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        let items = body[kind].as_array().unwrap();
        assert_eq!(body["items_this_page"], json!(items.len()));
        ids.extend(items.iter().map(|i| {
            i["id"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| i["id"].to_string())
        }));
        match body["next_page_start"].as_str() {
            Some(next) => {
                assert_eq!(items.len(), 100, "only the last page is short");
                cursor = Some(next.to_string());
            }
            None => return (ids, pages),
        }
    }
}

#[tokio::test]
async fn pagination_edges() {
    for (count, pages) in [
        (0, 1),
        (1, 1),
        (99, 1),
        (100, 1),
        (101, 2),
        (200, 2),
        (250, 3),
    ] {
        let api = Api::new(seeded(count, 0));
        let (ids, got_pages) = all_pages(&api, "/api/v1/dashboards", "dashboards").await;
        assert_eq!(got_pages, pages, "{count} dashboards");
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            (ids.len(), unique.len()),
            (count, count),
            "each dashboard exactly once"
        );
    }
    let api = Api::new(seeded(5, 0));
    let (status, body) = api.get("/api/v1/dashboards?next_page_start=nope").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("next_page_start"));

    // Users: a plain list while they fit a page, paginated beyond it.
    let small = Api::new(seeded(0, 99));
    let (_, body) = small.get("/api/v2/users").await;
    assert_eq!(body["users"].as_array().unwrap().len(), 100);
    assert!(body.get("next_page_start").is_none());
    let big = Api::new(seeded(0, 250));
    let (ids, pages) = all_pages(&big, "/api/v2/users", "users").await;
    assert_eq!((ids.len(), pages), (251, 3));
}

#[tokio::test]
async fn page_size_is_configurable() {
    let api = Api::new(Options {
        page_size: 7,
        ..seeded(20, 0)
    });
    let (_, body) = api.get("/api/v1/dashboards").await;
    assert_eq!(body["items_this_page"], 7);
}

#[tokio::test]
async fn fault_latency() {
    let api = Api::new(Options {
        faults: Faults {
            latency: Some((Duration::from_millis(40), Duration::from_millis(60))),
            ..Faults::default()
        },
        ..Options::default()
    });
    for _ in 0..3 {
        let start = Instant::now();
        assert_eq!(api.get("/api/v1/roles").await.0, 200);
        assert!(
            start.elapsed() >= Duration::from_millis(40),
            "{:?}",
            start.elapsed()
        );
    }
}

#[tokio::test]
async fn fault_errors_are_seeded_and_replayable() {
    let run = || async {
        let api = Api::new(Options {
            faults: Faults {
                error_rate: 0.5,
                ..Faults::default()
            },
            rng_seed: 42,
            ..Options::default()
        });
        let mut statuses = Vec::new();
        for _ in 0..60 {
            statuses.push(api.get("/api/v1/roles").await.0);
        }
        statuses
    };
    let first = run().await;
    let fails = first.iter().filter(|s| **s == 500).count();
    assert!((10..=50).contains(&fails), "about half fail: {fails}");
    assert!(first.iter().all(|s| *s == 200 || *s == 500));
    assert_eq!(first, run().await, "the same seed replays the same faults");
}

#[tokio::test]
async fn fault_shed_rate_refuses_a_share_whatever_the_rate() {
    let api = Api::new(Options {
        faults: Faults {
            shed_rate: 0.5,
            ..Faults::default()
        },
        ..Options::default()
    });
    let mut refused = 0;
    for _ in 0..200 {
        let resp = api.get_raw("/api/v1/roles").await;
        match resp.status().as_u16() {
            429 => {
                refused += 1;
                assert_eq!(resp.headers()["retry-after"], "1");
            }
            status => assert_eq!(status, 200),
        }
    }
    assert!((70..=130).contains(&refused), "{refused} of 200");
}

#[tokio::test]
async fn fault_rate_burst_sizes_the_bucket() {
    let api = Api::new(Options {
        faults: Faults {
            rate_limit: Some(0.5),
            rate_burst: Some(3.0),
            ..Faults::default()
        },
        ..Options::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(api.get("/api/v1/roles").await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
}

#[tokio::test]
async fn fault_rate_limit_answers_429_with_retry_after() {
    let api = Api::new(Options {
        faults: Faults {
            rate_limit: Some(5.0),
            ..Faults::default()
        },
        ..Options::default()
    });
    let mut limited = None;
    for _ in 0..20 {
        let resp = api.get_raw("/api/v1/roles").await;
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("a burst over 5/s is limited");
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "rate limit exceeded"
    );
    // At 5 requests a second the bucket holds a token again within 200 ms:
    // no need to sleep the whole second the header rounds up to.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        api.get("/api/v1/roles").await.0,
        200,
        "answers again once the bucket refills"
    );
}

#[tokio::test]
async fn fault_dropped_connections_apply_nothing() {
    let api = Api::default();
    api.emu.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let admin = api.admin_email();
    let body = json!({"first_name": "A", "last_name": "B", "email": "drop@acme.com", "invited_by_email": admin});
    let result = api
        .call_as(
            &api.emu.auth_header(),
            Method::POST,
            "/api/v2/users",
            Some(body),
        )
        .await;
    assert!(result.is_err(), "the connection was closed: {result:?}");
    api.emu.set_faults(Faults::default());
    assert!(
        api.emu
            .snapshot()
            .users
            .iter()
            .all(|u| u.email != "drop@acme.com")
    );
    assert_eq!(
        api.emu.requests()[0].outcome,
        periscope_emulator::Outcome::Dropped
    );
}

#[tokio::test]
async fn fault_lost_responses_apply_the_write() {
    let api = Api::default();
    api.emu.set_faults(Faults {
        lost_response_rate: 1.0,
        ..Faults::default()
    });
    let admin = api.admin_email();
    let body = json!({"first_name": "A", "last_name": "B", "email": "lost@acme.com", "invited_by_email": admin});
    let result = api
        .call_as(
            &api.emu.auth_header(),
            Method::POST,
            "/api/v2/users",
            Some(body),
        )
        .await;
    assert!(result.is_err(), "no answer: {result:?}");
    // Reads are never lost.
    assert_eq!(api.get("/api/v1/roles").await.0, 200);
    api.emu.set_faults(Faults::default());
    assert!(
        api.emu
            .snapshot()
            .users
            .iter()
            .any(|u| u.email == "lost@acme.com"),
        "the write was applied"
    );
    let lost = &api.emu.requests()[0];
    assert_eq!(
        (lost.outcome, lost.status),
        (periscope_emulator::Outcome::Lost, Some(201))
    );
}

#[tokio::test]
async fn quirks() {
    let quirks = Quirks::ALL;
    let api = Api::new(Options {
        quirks,
        page_size: 2,
        ..seeded(3, 1)
    });
    let (_, dashboards) = api.get("/api/v1/dashboards").await;
    assert_eq!(
        dashboards["dashboards"][0]["id"],
        json!(1000),
        "numeric ids"
    );
    assert!(
        dashboards["dashboards"][0]["created_at"].is_string(),
        "extra fields"
    );
    assert!(dashboards["_emulator"].is_object());

    let (_, users) = api.get("/api/v2/users").await;
    assert!(
        users["users"][0].get("roles").is_none(),
        "users listed without roles"
    );
    assert!(users["users"][0]["email"].is_string());

    let (_, users) = api.get("/api/v2/users").await;
    assert!(
        users["users"][0].get("roles").is_none(),
        "users listed without roles"
    );
    assert!(users["users"][0]["email"].is_string());

    let (_, roles) = api.get("/api/v1/roles").await;
    assert_eq!(roles["items_this_page"], 2, "roles paginated");
    assert!(
        roles["next_page_start"].is_null(),
        "two roles fit one page of 2"
    );

    let (status, wrapped) = api.get("/api/v2/users/u-admin").await;
    assert_eq!(status, 200);
    assert_eq!(
        wrapped["user"]["email"], "admin@acme.example",
        "single objects wrapped"
    );

    let body = json!({"name": "Grants", "created_by_email": "admin@acme.example",
                      "permissions": [{"object_type": "Dashboard", "object_id": "1001", "permissions": ["read_dashboards"]}]});
    let (status, role) = api.post("/api/v1/roles", body).await;
    assert_eq!(status, 201);
    assert_eq!(
        role["role"]["permissions"][0]["object_id"],
        json!(1001),
        "numeric ids in permissions"
    );
    // A client may send back the numbers it was given.
    let body = json!({"name": "Echoed", "created_by_email": "admin@acme.example",
                      "permissions": [{"object_type": "Dashboard", "object_id": 1001, "permissions": ["read_dashboards"]}]});
    let (status, echoed) = api.post("/api/v1/roles", body).await;
    assert_eq!(status, 201, "{echoed}");
    let echoed = echoed["role"]["id"].as_str().unwrap().to_string();
    assert_eq!(api.delete(&format!("/api/v1/roles/{echoed}")).await.0, 200);
    let id = role["role"]["id"].as_str().unwrap().to_string();
    let (status, body) = api.delete(&format!("/api/v1/roles/{id}")).await;
    assert_eq!(status, 200, "DELETE answers 200 with a body");
    assert_eq!(body["success"], true);

    let (_, roles) = api.get("/api/v1/roles").await;
    assert_eq!(roles["roles"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn parallel_creates_of_one_email_make_one_user() {
    let api = std::sync::Arc::new(Api::default());
    let mut tasks = Vec::new();
    for i in 0..40 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let email = if i % 2 == 0 {
                "Race@Acme.com"
            } else {
                "race@acme.com"
            };
            api.create_user(email, &[]).await.0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 39);
    let users = api.emu.snapshot().users;
    assert_eq!(
        users
            .iter()
            .filter(|u| u.email.eq_ignore_ascii_case("race@acme.com"))
            .count(),
        1
    );
}

#[tokio::test]
async fn unknown_endpoints_and_methods_answer_json() {
    let api = Api::default();
    let (status, body) = api.get("/api/v3/nothing").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
    let (status, body) = api.call(Method::PATCH, "/api/v2/users", None).await;
    assert_eq!(status, 405);
    assert!(body["error"].is_string());
}

#[test]
fn seeds_are_checked_and_completed() {
    // Admin and Everyone are added to a seed that lacks them.
    let emu = spawn(Options {
        seed: Some(Snapshot {
            site: "tiny".into(),
            api_key: None,
            users: vec![],
            roles: vec![],
            dashboards: vec![],
        }),
        ..Options::default()
    })
    .unwrap();
    let names: BTreeSet<String> = emu.snapshot().roles.into_iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        BTreeSet::from(["Admin".to_string(), "Everyone".to_string()])
    );
    assert_eq!(emu.api_key(), periscope_emulator::LOCAL_API_KEY);

    let mut bad = seeded(0, 1).seed.unwrap();
    bad.users[1].roles = vec!["r-ghost".into()];
    let err = spawn(Options {
        seed: Some(bad),
        ..Options::default()
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown role id `r-ghost`"),
        "{err}"
    );

    let mut dup = seeded(0, 1).seed.unwrap();
    dup.users[1].email = "ADMIN@acme.example".into();
    assert!(
        spawn(Options {
            seed: Some(dup),
            ..Options::default()
        })
        .unwrap_err()
        .to_string()
        .contains("appears twice")
    );

    let err = spawn(Options {
        site: Some("other".into()),
        ..seeded(0, 0)
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "the seed is for site `acme`, not `other`");
}

#[test]
fn binds_loopback_and_stops_on_drop() {
    let emu = spawn(Options::default()).unwrap();
    let addr = emu.addr();
    assert!(addr.ip().is_loopback());
    assert!(std::net::TcpStream::connect(addr).is_ok());
    drop(emu);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the port is closed after drop"
    );
}

/// A site exported from an emulator and seeded into another with the same
/// generator: new users once took the seeded ids (the 6th replaced the admin
/// user, and every create after failed). New ids are never taken ones.
#[tokio::test]
async fn a_seed_from_another_emulator_keeps_its_objects() {
    let first = Api::default();
    let seed = first.emu.snapshot();
    let admin = seed.users[0].email.clone();
    let api = Api::new(Options {
        seed: Some(seed.clone()),
        ..Options::default()
    });
    for n in 0..12 {
        let (status, body) = api
            .call(
                Method::POST,
                "/api/v2/users",
                Some(json!({"first_name": "N", "last_name": "N", "email": format!("n{n}@acme.com"), "invited_by_email": admin})),
            )
            .await;
        assert_eq!(status, 201, "create {n}: {body}");
    }
    let now = api.emu.snapshot();
    for user in &seed.users {
        assert!(now.users.contains(user), "{} is still there", user.email);
    }
    for role in &seed.roles {
        assert!(now.roles.contains(role), "{} is still there", role.name);
    }
    assert_eq!(now.users.len(), seed.users.len() + 12);
}
