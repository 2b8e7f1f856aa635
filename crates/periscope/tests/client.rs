//! The client against the real emulator: exact reads under every quirk and
//! fault, writes exactly once, test_mode on every write, the key nowhere.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::{Duration, Instant};

use periscope_client::{
    ApiKey, ClientConfig, Credentials, Error, Id, LiveSite, NewRole, NewUser, Privilege,
    ReadClient, RetryPolicy, RoleUpdate, UserUpdate, Writer,
};
use periscope_emulator::{Emulator, Faults, Options, Outcome, Quirks, Snapshot, spawn};

const KEY: &str = "k-9f8e7d6c5b4a";

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 12,
        initial_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(60),
    }
}

fn config(emu: &Emulator) -> ClientConfig {
    let mut c = ClientConfig::new(
        emu.url(),
        Credentials::new(emu.site(), ApiKey::new(emu.api_key())),
    );
    c.retry = fast_retries();
    c.rate_limit = None;
    c
}

/// A site with `users` users spread over `roles` roles, which grant on
/// `dashboards` dashboards.
fn site(users: usize, roles: usize, dashboards: usize) -> Snapshot {
    let mut snapshot: Snapshot = serde_json::from_value(serde_json::json!({
        "site": "acme", "api_key": KEY,
        "roles": [
            {"id": "r-admin", "name": "Admin", "privileges": [{"object_type": "Dashboard", "permissions": ["read_dashboards"]}]},
            {"id": "r-everyone", "name": "Everyone"}
        ],
        "users": [{"id": "u-admin", "email": "admin@acme.example", "first_name": "A", "last_name": "Admin", "roles": ["r-admin", "r-everyone"]}],
    }))
    .unwrap();
    snapshot.dashboards = (0..dashboards)
        .map(|i| periscope_emulator::Dashboard {
            id: periscope_emulator::Id(format!("{}", 500 + i)),
            name: format!("Dashboard {i}"),
        })
        .collect();
    for r in 0..roles {
        snapshot.roles.push(periscope_emulator::Role {
            id: periscope_emulator::Id(format!("r{r:04}")),
            name: format!("Role {r}"),
            description: format!("role number {r}"),
            privileges: vec![periscope_emulator::Privilege {
                object_type: "Dashboard".into(),
                permissions: vec!["read_dashboards".into()],
            }],
            permissions: (0..dashboards.min(2))
                .map(|d| periscope_emulator::Permission {
                    object_type: "Dashboard".into(),
                    object_id: periscope_emulator::Id(format!("{}", 500 + (r + d) % dashboards)),
                    permissions: vec!["download_pdf".into()],
                })
                .collect(),
        });
    }
    for u in 0..users {
        let mut member = vec![periscope_emulator::Id("r-everyone".into())];
        if roles > 0 {
            member.push(periscope_emulator::Id(format!("r{:04}", u % roles)));
        }
        member.sort();
        snapshot.users.push(periscope_emulator::User {
            id: periscope_emulator::Id(format!("u{u:06}")),
            email: format!("user{u}@acme.example"),
            first_name: format!("First{u}"),
            last_name: format!("Last{u}"),
            roles: member,
        });
    }
    snapshot
}

/// The emulator's state in the client's types, sorted like a fetch sorts.
fn expected(snapshot: &Snapshot) -> LiveSite {
    let mut live = LiveSite {
        users: serde_json::from_value(serde_json::to_value(&snapshot.users).unwrap()).unwrap(),
        roles: serde_json::from_value(serde_json::to_value(&snapshot.roles).unwrap()).unwrap(),
        dashboards: serde_json::from_value(serde_json::to_value(&snapshot.dashboards).unwrap())
            .unwrap(),
    };
    sort(&mut live);
    live
}

fn sort(live: &mut LiveSite) {
    live.users.sort_by(|a, b| a.id.cmp(&b.id));
    live.roles.sort_by(|a, b| a.id.cmp(&b.id));
    live.dashboards.sort_by(|a, b| a.id.cmp(&b.id));
}

async fn fetch(emu: &Emulator, config: &ClientConfig) -> LiveSite {
    let mut live = ReadClient::new(config)
        .unwrap()
        .fetch_site()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sort(&mut live);
    let _ = emu;
    live
}

#[tokio::test]
async fn a_fetch_is_complete_and_exact() {
    let emu = spawn(Options {
        seed: Some(site(1_000, 30, 120)),
        page_size: 50,
        ..Options::default()
    })
    .unwrap();
    let live = fetch(&emu, &config(&emu)).await;
    assert_eq!(live.users.len(), 1_001);
    assert_eq!(live.dashboards.len(), 120);
    assert_eq!(live, expected(&emu.snapshot()));
}

#[tokio::test]
async fn a_fetch_tolerates_every_quirk() {
    let quirks = Quirks::ALL;
    let emu = spawn(Options {
        seed: Some(site(120, 25, 30)),
        page_size: 10,
        quirks,
        ..Options::default()
    })
    .unwrap();
    let cfg = config(&emu);
    let live = fetch(&emu, &cfg).await;
    assert_eq!(
        live,
        expected(&emu.snapshot()),
        "numeric ids read as strings, extras ignored, roles followed across pages"
    );
    let singles = emu
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v2/users/"))
        .count();
    assert_eq!(singles, 121, "a user listed without roles is fetched alone");

    // Wrapped single objects and DELETE answering 200 with a body.
    let writer = Writer::new(&cfg, false).unwrap();
    let user = writer
        .reader()
        .get_user(&Id::from("u000001"))
        .await
        .unwrap();
    assert_eq!(user.email, "user1@acme.example");
    let role = writer
        .create_role(&NewRole {
            name: "Wrapped".into(),
            description: String::new(),
            created_by_email: "admin@acme.example".into(),
            privileges: vec![],
            permissions: vec![],
        })
        .await
        .unwrap();
    assert_eq!(role.name, "Wrapped");
    writer.delete_role(&role.id).await.unwrap();
    writer.delete_user(&user.id).await.unwrap();
    assert!(
        emu.snapshot()
            .users
            .iter()
            .all(|u| u.email != "user1@acme.example")
    );
}

#[tokio::test]
async fn a_fetch_is_exact_under_faults() {
    let faults = Faults {
        latency: Some((Duration::ZERO, Duration::from_millis(3))),
        error_rate: 0.1,
        drop_rate: 0.05,
        lost_response_rate: 0.05,
        rate_limit: None,
        ..Faults::default()
    };
    let (mut failures, mut drops) = (0, 0);
    for seed in 0..5 {
        let emu = spawn(Options {
            seed: Some(site(600, 20, 80)),
            page_size: 25,
            faults: faults.clone(),
            rng_seed: seed,
            ..Options::default()
        })
        .unwrap();
        let live = fetch(&emu, &config(&emu)).await;
        assert_eq!(live, expected(&emu.snapshot()), "seed {seed}");
        let log = emu.requests();
        failures += log.iter().filter(|r| r.status == Some(500)).count();
        drops += log.iter().filter(|r| r.outcome == Outcome::Dropped).count();
    }
    assert!(
        failures > 0 && drops > 0,
        "faults happened: {failures} 500s, {drops} drops"
    );
}

#[tokio::test]
async fn a_fetch_waits_out_429s() {
    let emu = spawn(Options {
        seed: Some(site(60, 5, 10)),
        page_size: 5,
        faults: Faults {
            rate_limit: Some(10.0),
            ..Faults::default()
        },
        ..Options::default()
    })
    .unwrap();
    let live = fetch(&emu, &config(&emu)).await;
    assert_eq!(live, expected(&emu.snapshot()));
    assert!(
        emu.requests().iter().any(|r| r.status == Some(429)),
        "the burst was rate limited"
    );
}

/// Each run: creates, an update and a delete, against an emulator that fails
/// 10% of calls, drops 5% of connections and loses 30% of write answers.
/// Ten runs at a time: each mostly waits out its retries' backoff.
#[tokio::test]
async fn writes_happen_exactly_once_across_200_seeded_runs() {
    let mut lost_creates = 0;
    let mut runs = tokio::task::JoinSet::new();
    for seed in 0..200 {
        runs.spawn(seeded_writes(seed));
        if runs.len() >= 10 {
            lost_creates += runs.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(lost) = runs.join_next().await {
        lost_creates += lost.unwrap();
    }
    assert!(
        lost_creates > 100,
        "creates whose answer was lost: {lost_creates}"
    );
}

/// One seeded run of [`writes_happen_exactly_once_across_200_seeded_runs`]:
/// its creates whose answer was lost.
async fn seeded_writes(seed: u64) -> usize {
    let emu = spawn(Options {
        seed: Some(site(3, 2, 2)),
        faults: Faults {
            error_rate: 0.1,
            drop_rate: 0.05,
            lost_response_rate: 0.3,
            ..Faults::default()
        },
        rng_seed: seed,
        ..Options::default()
    })
    .unwrap();
    let writer = Arc::new(Writer::new(&config(&emu), false).unwrap());
    let mut tasks = Vec::new();
    for i in 0..4 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            writer
                .create_user(&NewUser {
                    first_name: "New".into(),
                    last_name: format!("{i}"),
                    email: format!("New{i}@Acme.example"),
                    roles: vec![Id::from("r0000")],
                    invited_by_email: "admin@acme.example".into(),
                })
                .await
                .map(drop)
        }));
    }
    for name in ["Finance", "Marketing"] {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            let privileges = vec![Privilege {
                object_type: "Dashboard".into(),
                permissions: vec!["read_dashboards".into()],
            }];
            writer
                .create_role(&NewRole {
                    name: name.into(),
                    description: "d".into(),
                    created_by_email: "admin@acme.example".into(),
                    privileges,
                    permissions: vec![],
                })
                .await
                .map(drop)
        }));
    }
    {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            let update = UserUpdate {
                first_name: Some("Renamed".into()),
                ..UserUpdate::default()
            };
            writer
                .update_user(&Id::from("u000000"), &update)
                .await
                .map(drop)
        }));
    }
    {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            writer.delete_user(&Id::from("u000001")).await
        }));
    }
    {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            let update = RoleUpdate {
                updated_by_email: "admin@acme.example".into(),
                description: Some("new".into()),
                ..RoleUpdate::default()
            };
            writer
                .update_role(&Id::from("r0001"), &update)
                .await
                .map(drop)
        }));
    }
    for t in tasks {
        t.await
            .unwrap()
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
    let lost = emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.outcome == Outcome::Lost)
        .count();
    let state = emu.snapshot();
    let mut emails: BTreeMap<String, usize> = BTreeMap::new();
    for u in &state.users {
        *emails.entry(u.email.to_lowercase()).or_default() += 1;
    }
    for i in 0..4 {
        assert_eq!(
            emails.get(&format!("new{i}@acme.example")),
            Some(&1),
            "seed {seed}: one user per create"
        );
    }
    assert!(
        !emails.contains_key("user1@acme.example"),
        "seed {seed}: deleted"
    );
    for name in ["Finance", "Marketing"] {
        assert_eq!(
            state.roles.iter().filter(|r| r.name == name).count(),
            1,
            "seed {seed}: one role per create"
        );
    }
    assert_eq!(
        state
            .users
            .iter()
            .find(|u| u.id.0 == "u000000")
            .unwrap()
            .first_name,
        "Renamed"
    );
    assert_eq!(
        state
            .roles
            .iter()
            .find(|r| r.id.0 == "r0001")
            .unwrap()
            .description,
        "new"
    );
    lost
}

#[tokio::test]
async fn test_mode_reaches_every_write_and_changes_nothing() {
    let emu = spawn(Options {
        seed: Some(site(3, 2, 2)),
        ..Options::default()
    })
    .unwrap();
    let before = emu.snapshot();
    let writer = Writer::new(&config(&emu), true).unwrap();
    assert!(writer.test_mode());
    let user = writer
        .create_user(&NewUser {
            first_name: "T".into(),
            last_name: "M".into(),
            email: "t@acme.example".into(),
            roles: vec![],
            invited_by_email: "admin@acme.example".into(),
        })
        .await
        .unwrap();
    assert_eq!(user.email, "t@acme.example");
    writer
        .update_user(
            &Id::from("u000000"),
            &UserUpdate {
                last_name: Some("X".into()),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    writer.delete_user(&Id::from("u000001")).await.unwrap();
    let role = NewRole {
        name: "T".into(),
        description: String::new(),
        created_by_email: "admin@acme.example".into(),
        privileges: vec![],
        permissions: vec![],
    };
    writer.create_role(&role).await.unwrap();
    let update = RoleUpdate {
        updated_by_email: "admin@acme.example".into(),
        name: Some("Renamed".into()),
        ..RoleUpdate::default()
    };
    writer
        .update_role(&Id::from("r0000"), &update)
        .await
        .unwrap();
    writer.delete_role(&Id::from("r0001")).await.unwrap();
    assert_eq!(emu.snapshot(), before, "nothing changed");
    let writes: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert_eq!(writes.len(), 6);
    assert!(
        writes.iter().all(|r| r.test_mode),
        "every write carried test_mode=true: {writes:?}"
    );
}

#[tokio::test]
async fn errors_say_what_failed_and_what_to_do() {
    let emu = spawn(Options {
        seed: Some(site(1, 1, 0)),
        ..Options::default()
    })
    .unwrap();
    let mut wrong = config(&emu);
    wrong.credentials = Credentials::new("acme", ApiKey::new("wrong-key"));
    let err = ReadClient::new(&wrong)
        .unwrap()
        .list_roles()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }));
    assert!(err.to_string().contains("check the site name"), "{err}");

    let writer = Writer::new(&config(&emu), false).unwrap();
    let err = writer.delete_role(&Id::from("r-admin")).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err}");
    assert!(err.to_string().contains("cannot be deleted"), "{err}");

    let dup = NewUser {
        first_name: "A".into(),
        last_name: "B".into(),
        email: "USER0@acme.example".into(),
        roles: vec![],
        invited_by_email: "admin@acme.example".into(),
    };
    let err = writer.create_user(&dup).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");

    let bad = NewUser {
        email: "b@acme.example".into(),
        roles: vec![Id::from("nope")],
        ..dup
    };
    let err = writer.create_user(&bad).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string().contains("unknown role id `nope`"),
        "the server's message: {err}"
    );

    let err = writer
        .reader()
        .get_user(&Id::from("ghost"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");

    let insecure = ClientConfig::new(
        "http://api.periscopedata.com",
        Credentials::new("acme", ApiKey::new(KEY)),
    );
    let err = ReadClient::new(&insecure).unwrap_err();
    assert!(err.to_string().contains("refusing plain http"), "{err}");
}

#[tokio::test]
async fn retries_are_bounded() {
    let emu = spawn(Options {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        ..Options::default()
    })
    .unwrap();
    let mut cfg = config(&emu);
    cfg.retry.max_attempts = 4;
    let err = ReadClient::new(&cfg)
        .unwrap()
        .list_roles()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Server {
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(emu.requests().len(), 4);

    emu.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let err = ReadClient::new(&cfg)
        .unwrap()
        .list_roles()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Network { attempts: 4, .. }), "{err}");
}

/// Many callers sharing a tight limit all get through: a `429` spends time,
/// not attempts.
#[tokio::test]
async fn rate_limits_are_waited_out_whatever_the_attempt_budget() {
    let emu = spawn(Options {
        faults: Faults {
            rate_limit: Some(10.0),
            ..Faults::default()
        },
        ..Options::default()
    })
    .unwrap();
    let mut cfg = config(&emu);
    cfg.retry.max_attempts = 2;
    let reader = ReadClient::new(&cfg).unwrap();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let reader = reader.clone();
            tokio::spawn(async move { reader.list_roles().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert!(
        emu.requests()
            .iter()
            .filter(|r| r.status == Some(429))
            .count()
            > 2,
        "the limit was hit"
    );
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_is_done() {
    let emu = spawn(Options {
        seed: Some(site(2, 1, 0)),
        ..Options::default()
    })
    .unwrap();
    emu.set_faults(Faults {
        lost_response_rate: 1.0,
        ..Faults::default()
    });
    let writer = Writer::new(&config(&emu), false).unwrap();
    writer.delete_user(&Id::from("u000000")).await.unwrap();
    let deletes: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes[0].outcome, Outcome::Lost);
    assert_eq!(deletes[1].status, Some(404), "the retry found it gone");
}

#[tokio::test]
async fn the_client_rate_limit_and_in_flight_bound_hold() {
    let emu = spawn(Options {
        faults: Faults {
            latency: Some((Duration::from_millis(50), Duration::from_millis(50))),
            ..Faults::default()
        },
        ..Options::default()
    })
    .unwrap();
    let mut cfg = config(&emu);
    cfg.max_in_flight = 2;
    let reader = ReadClient::new(&cfg).unwrap();
    let start = Instant::now();
    // Operations (an apply's changes, per-user reads) hold a slot of the
    // pace each: at most `max_in_flight` at once.
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let reader = reader.clone();
            tokio::spawn(async move {
                let _slot = reader.pace().acquire().await;
                reader.list_roles().await
            })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "10 calls of 50 ms, 2 at a time: {:?}",
        start.elapsed()
    );

    let emu = spawn(Options::default()).unwrap();
    let mut cfg = config(&emu);
    cfg.rate_limit = Some(20.0);
    cfg.burst = 1;
    let reader = ReadClient::new(&cfg).unwrap();
    let start = Instant::now();
    for _ in 0..21 {
        reader.list_roles().await.unwrap();
    }
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "21 calls at 20/s: {:?}",
        start.elapsed()
    );
}

/// A server that answers canned bodies in turn, for the list failures the
/// emulator (rightly) never produces.
fn canned(bodies: Vec<&'static str>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let body = bodies[i.min(bodies.len() - 1)];
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

async fn list_from(bodies: Vec<&'static str>) -> Result<Vec<periscope_client::Dashboard>, Error> {
    let url = canned(bodies);
    let mut cfg = ClientConfig::new(url, Credentials::new("acme", ApiKey::new(KEY)));
    cfg.retry = fast_retries();
    ReadClient::new(&cfg).unwrap().list_dashboards().await
}

#[tokio::test]
async fn a_list_is_complete_or_an_error() {
    let ok = list_from(vec![
        r#"{"dashboards": [{"id": 1, "name": "a"}], "next_page_start": "2", "items_this_page": 1}"#,
        r#"{"dashboards": [{"id": "2", "name": "b"}], "next_page_start": null, "items_this_page": 1}"#,
    ])
    .await
    .unwrap();
    assert_eq!(
        ok.iter().map(|d| d.id.0.as_str()).collect::<Vec<_>>(),
        ["1", "2"]
    );

    let repeat = list_from(vec![
        r#"{"dashboards": [{"id": 1, "name": "a"}], "next_page_start": "2"}"#,
        r#"{"dashboards": [{"id": 2, "name": "b"}], "next_page_start": "2"}"#,
    ])
    .await
    .unwrap_err();
    assert!(
        repeat
            .to_string()
            .contains("the cursor `2` came back twice"),
        "{repeat}"
    );

    let short = list_from(vec![r#"{"dashboards": [{"id": 1, "name": "a"}], "next_page_start": null, "items_this_page": 2}"#])
        .await
        .unwrap_err();
    assert!(
        short
            .to_string()
            .contains("`items_this_page: 2` but holds 1"),
        "{short}"
    );

    let twice = list_from(vec![
        r#"{"dashboards": [{"id": 1, "name": "a"}], "next_page_start": "x"}"#,
        r#"{"dashboards": [{"id": 1, "name": "a"}]}"#,
    ])
    .await
    .unwrap_err();
    assert!(twice.to_string().contains("`1` is listed twice"), "{twice}");

    let garbage = list_from(vec!["<html>maintenance</html>"])
        .await
        .unwrap_err();
    assert!(matches!(garbage, Error::Decode { .. }));
    assert!(
        garbage
            .to_string()
            .contains("the answer began: <html>maintenance</html>"),
        "{garbage}"
    );
}

#[tokio::test]
async fn a_failed_page_fails_the_list() {
    let emu = spawn(Options {
        seed: Some(site(0, 0, 30)),
        page_size: 10,
        ..Options::default()
    })
    .unwrap();
    let mut cfg = config(&emu);
    cfg.retry.max_attempts = 2;
    // The first page answers; then every call fails.
    let reader = ReadClient::new(&cfg).unwrap();
    let first = reader.list_dashboards().await.unwrap();
    assert_eq!(first.len(), 30);
    emu.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    assert!(
        reader.list_dashboards().await.is_err(),
        "never a partial list"
    );
}
