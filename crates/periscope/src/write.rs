//! The writer: what `apply` gets. Every write carries `test_mode` when the
//! writer was made in test mode. A create whose answer was lost is looked up
//! before it is sent again, so it never makes a duplicate.

use std::collections::HashMap;
use tokio::time::Instant;

use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::config::ClientConfig;
use crate::error::Error;
use crate::read::ReadClient;
use crate::transport::PostOutcome;
use crate::transport::encode;
use crate::types::{Id, NewRole, NewUser, Role, RoleUpdate, User, UserUpdate};

/// Lower-cased key -> object, and when the listing behind it started.
type Seen<T> = Mutex<Option<(Instant, HashMap<String, T>)>>;

/// Writes to a site (and reads: [`Writer::reader`]).
#[derive(Debug)]
pub struct Writer {
    read: ReadClient,
    test_mode: bool,
    users: Seen<User>,
    roles: Seen<Role>,
}

impl Writer {
    /// A writer; with `test_mode`, every write is sent with
    /// `test_mode=true`: the server validates and answers, nothing changes.
    pub fn new(config: &ClientConfig, test_mode: bool) -> Result<Self, Error> {
        Ok(Self {
            read: ReadClient::with_transport(config, test_mode)?,
            test_mode,
            users: Mutex::new(None),
            roles: Mutex::new(None),
        })
    }

    /// The read-only client this writer reads through.
    pub fn reader(&self) -> &ReadClient {
        &self.read
    }

    /// Whether every write is sent with `test_mode=true`.
    pub fn test_mode(&self) -> bool {
        self.test_mode
    }

    fn path(&self, path: &str) -> String {
        if self.test_mode {
            format!("{path}?test_mode=true")
        } else {
            path.to_string()
        }
    }

    /// An error as it may be shown (server text redacted).
    fn scrub(&self, e: Error) -> Error {
        self.read.transport.scrub(e)
    }

    /// Creates a user, exactly once even when answers are lost.
    pub async fn create_user(&self, user: &NewUser) -> Result<User, Error> {
        let body = serde_json::to_vec(user).expect("serializes");
        self.create(&self.path("/api/v2/users"), &body, "user", |not_before| {
            self.find_user(&user.email, not_before)
        })
        .await
        .map_err(|e| self.scrub(e))
    }

    /// Creates a role, exactly once even when answers are lost.
    pub async fn create_role(&self, role: &NewRole) -> Result<Role, Error> {
        let body = serde_json::to_vec(role).expect("serializes");
        self.create(&self.path("/api/v1/roles"), &body, "role", |not_before| {
            self.find_role(&role.name, not_before)
        })
        .await
        .map_err(|e| self.scrub(e))
    }

    /// The create protocol: send; on a `5xx` or no answer, look the object up
    /// (by email, by name) in a listing made after the failure, and send again
    /// only if it is absent. A `409` after such a failure means the lost
    /// attempt made it: the object is looked up and returned.
    async fn create<T, F, Fut>(
        &self,
        path: &str,
        body: &[u8],
        wrapper: &str,
        find: F,
    ) -> Result<T, Error>
    where
        T: DeserializeOwned,
        F: Fn(Instant) -> Fut,
        Fut: Future<Output = Result<Option<T>, Error>>,
    {
        let transport = &self.read.transport;
        let started = Instant::now();
        let mut attempt = 1;
        let mut uncertain = false;
        loop {
            let (outcome, used) = transport.post(path, body, attempt, started).await?;
            attempt = used;
            match outcome {
                PostOutcome::Answered(answer) if answer.status.is_success() => {
                    return answer.json(Some(wrapper));
                }
                PostOutcome::Answered(answer) => {
                    if answer.status.as_u16() == 409
                        && uncertain
                        && let Some(found) = find(Instant::now()).await?
                    {
                        tracing::info!(path, "a create whose answer was lost had been applied");
                        return Ok(found);
                    }
                    return Err(answer.ok(&transport.site).expect_err("not a success"));
                }
                PostOutcome::Unknown { reason } => {
                    uncertain = true;
                    if !self.test_mode
                        && let Some(found) = find(Instant::now()).await?
                    {
                        tracing::info!(path, "a create whose answer was lost had been applied");
                        return Ok(found);
                    }
                    if !transport.post_backoff(attempt + 1, started).await {
                        return Err(Error::Network {
                            url: transport.url(path),
                            attempts: attempt,
                            reason,
                        });
                    }
                    attempt += 1;
                }
            }
        }
    }

    async fn find_user(&self, email: &str, not_before: Instant) -> Result<Option<User>, Error> {
        find(
            &self.users,
            email,
            not_before,
            || self.read.list_users(),
            |u: &User| u.email.clone(),
        )
        .await
    }

    async fn find_role(&self, name: &str, not_before: Instant) -> Result<Option<Role>, Error> {
        find(
            &self.roles,
            name,
            not_before,
            || self.read.list_roles(),
            |r: &Role| r.name.clone(),
        )
        .await
    }

    /// Changes the fields of user `id` that `update` holds; returns the user
    /// as the server answers it.
    pub async fn update_user(&self, id: &Id, update: &UserUpdate) -> Result<User, Error> {
        self.put(&format!("/api/v2/users/{}", encode(&id.0)), update, "user")
            .await
            .map_err(|e| self.scrub(e))
    }

    /// Changes the fields of role `id` that `update` holds; returns the role
    /// as the server answers it.
    pub async fn update_role(&self, id: &Id, update: &RoleUpdate) -> Result<Role, Error> {
        self.put(&format!("/api/v1/roles/{}", encode(&id.0)), update, "role")
            .await
            .map_err(|e| self.scrub(e))
    }

    /// Deletes user `id`. A `404` on a retry counts as done.
    pub async fn delete_user(&self, id: &Id) -> Result<(), Error> {
        self.delete(&format!("/api/v2/users/{}", encode(&id.0)))
            .await
            .map_err(|e| self.scrub(e))
    }

    /// Deletes role `id`. A `404` on a retry counts as done.
    pub async fn delete_role(&self, id: &Id) -> Result<(), Error> {
        self.delete(&format!("/api/v1/roles/{}", encode(&id.0)))
            .await
            .map_err(|e| self.scrub(e))
    }

    async fn put<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        wrapper: &str,
    ) -> Result<T, Error> {
        let body = serde_json::to_vec(body).expect("serializes");
        let transport = &self.read.transport;
        let (answer, _) = transport
            .idempotent(Method::PUT, &self.path(path), Some(&body))
            .await?;
        answer.ok(&transport.site)?.json(Some(wrapper))
    }

    /// A `404` on a retry means an earlier attempt did it: done.
    async fn delete(&self, path: &str) -> Result<(), Error> {
        let transport = &self.read.transport;
        let (answer, attempts) = transport
            .idempotent(Method::DELETE, &self.path(path), None)
            .await?;
        if answer.status.as_u16() == 404 && attempts > 1 {
            return Ok(());
        }
        answer.ok(&transport.site).map(drop)
    }
}

/// Looks `key` up (case-insensitively) in a listing that started no earlier
/// than `not_before`, listing again if the one kept is older. Concurrent
/// lookups share one listing.
async fn find<T: Clone, L, Fut>(
    seen: &Seen<T>,
    key: &str,
    not_before: Instant,
    list: L,
    key_of: impl Fn(&T) -> String,
) -> Result<Option<T>, Error>
where
    L: FnOnce() -> Fut,
    Fut: Future<Output = Result<Vec<T>, Error>>,
{
    let key = key.to_lowercase();
    let mut guard = seen.lock().await;
    if let Some((at, map)) = &*guard
        && *at >= not_before
    {
        return Ok(map.get(&key).cloned());
    }
    let at = Instant::now();
    let items = list().await?;
    let map: HashMap<String, T> = items
        .into_iter()
        .map(|i| (key_of(&i).to_lowercase(), i))
        .collect();
    let found = map.get(&key).cloned();
    *guard = Some((at, map));
    Ok(found)
}
