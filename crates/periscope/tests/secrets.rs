//! The API key appears in no `Debug` output, error or log line, even at
//! trace level. A test binary of its own: the tracing subscriber is global.

use std::sync::{Arc, Mutex};

use periscope_client::{
    ApiKey, ClientConfig, Credentials, NewUser, ReadClient, RetryPolicy, Writer,
};
use periscope_emulator::{Faults, Options, Snapshot, spawn};

const KEY: &str = "k-9f8e7d6c5b4a";

fn site() -> Snapshot {
    serde_json::from_value(serde_json::json!({
        "site": "acme", "api_key": KEY,
        "roles": [{"id": "r-admin", "name": "Admin"}, {"id": "r-everyone", "name": "Everyone"}],
        "users": [{"id": "u-admin", "email": "admin@acme.example", "first_name": "A", "last_name": "Admin", "roles": ["r-admin"]}],
        "dashboards": [{"id": "1", "name": "D"}],
    }))
    .unwrap()
}

/// Everything the client prints or logs, at trace level, without the key.
#[tokio::test]
async fn the_key_appears_nowhere() {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let sink = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let emu = spawn(Options {
        seed: Some(site()),
        faults: Faults {
            error_rate: 0.3,
            lost_response_rate: 0.5,
            ..Faults::default()
        },
        ..Options::default()
    })
    .unwrap();
    let mut cfg = ClientConfig::new(
        emu.url(),
        Credentials::new(emu.site(), ApiKey::new(emu.api_key())),
    );
    cfg.retry = RetryPolicy {
        initial_delay: std::time::Duration::from_millis(1),
        ..RetryPolicy::default()
    };
    let mut texts = vec![format!("{cfg:?}")];
    let writer = Writer::new(&cfg, false).unwrap();
    texts.push(format!("{writer:?}"));
    texts.push(format!("{:?}", writer.reader()));
    let _ = writer.reader().fetch_site().await.unwrap();
    let _ = writer
        .create_user(&NewUser {
            first_name: "A".into(),
            last_name: "B".into(),
            email: "k@acme.example".into(),
            roles: vec![],
            invited_by_email: "admin@acme.example".into(),
        })
        .await
        .unwrap();
    // Errors: wrong key, no server, a server failing every call.
    let mut wrong = cfg.clone();
    wrong.credentials = Credentials::new("acme", ApiKey::new(format!("{KEY}-wrong")));
    let err = ReadClient::new(&wrong)
        .unwrap()
        .list_users()
        .await
        .unwrap_err();
    texts.push(format!("{err} {err:?}"));
    let mut nowhere = cfg.clone();
    nowhere.endpoint = "http://127.0.0.1:9".into();
    nowhere.retry.max_attempts = 2;
    let err = ReadClient::new(&nowhere)
        .unwrap()
        .list_users()
        .await
        .unwrap_err();
    texts.push(format!("{err} {err:?}"));
    emu.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let mut few = cfg.clone();
    few.retry.max_attempts = 2;
    let err = ReadClient::new(&few)
        .unwrap()
        .list_users()
        .await
        .unwrap_err();
    texts.push(format!("{err} {err:?}"));

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("periscope call"),
        "trace logs were captured: {logs}"
    );
    texts.push(logs);
    for text in texts {
        assert!(!text.contains(KEY), "the key leaked: {text}");
    }
}
