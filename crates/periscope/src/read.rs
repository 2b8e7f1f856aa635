//! The read-only client: what `plan`, `drift`, `export` and `validate` get.
//! It has no method that writes, and no way to reach the transport's.

use std::collections::HashSet;
use std::sync::Arc;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::{ClientConfig, Limit};
use crate::error::{Error, body_start};
use crate::transport::Transport;
use crate::types::{Dashboard, Id, ListedUser, LiveSite, Role, User};

/// Reads a site. Cheap to clone; clones share the connection pool, the rate
/// limit and the bound on calls in flight.
#[derive(Clone)]
pub struct ReadClient {
    pub(crate) transport: Arc<Transport>,
    progress: Option<ProgressHook>,
}

/// One of the lists a site is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listing {
    Users,
    Roles,
    Dashboards,
}

impl Listing {
    /// The list's key in the API's answers.
    fn key(self) -> &'static str {
        match self {
            Listing::Users => "users",
            Listing::Roles => "roles",
            Listing::Dashboards => "dashboards",
        }
    }
}

/// Told, after each page, the list and how many of its items have been read.
pub type ProgressHook = Arc<dyn Fn(Listing, usize) + Send + Sync>;

impl std::fmt::Debug for ReadClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadClient")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl ReadClient {
    pub fn new(config: &ClientConfig) -> Result<Self, Error> {
        Self::with_transport(config, false)
    }

    /// A client whose transport marks writes as test mode (for the writer).
    pub(crate) fn with_transport(config: &ClientConfig, test_mode: bool) -> Result<Self, Error> {
        Ok(Self {
            transport: Transport::new(config, test_mode)?,
            progress: None,
        })
    }

    /// Reports progress of long reads.
    pub fn with_progress(mut self, hook: ProgressHook) -> Self {
        self.progress = Some(hook);
        self
    }

    /// The site of the credentials.
    pub fn site(&self) -> &str {
        &self.transport.site
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, wrapper: &str) -> Result<T, Error> {
        let (answer, _) = self.transport.idempotent(Method::GET, path, None).await?;
        answer.ok(self.site())?.json(Some(wrapper))
    }

    pub async fn get_user(&self, id: &Id) -> Result<User, Error> {
        self.get(&format!("/api/v2/users/{}", encode(&id.0)), "user")
            .await
            .map_err(|e| self.transport.scrub(e))
    }

    /// Every user, membership included. A listed user without `roles` is
    /// fetched alone.
    pub async fn list_users(&self) -> Result<Vec<User>, Error> {
        self.users().await.map_err(|e| self.transport.scrub(e))
    }

    async fn users(&self) -> Result<Vec<User>, Error> {
        let listed: Vec<ListedUser> = self.list_all("/api/v2/users", Listing::Users).await?;
        let mut users = Vec::with_capacity(listed.len());
        for u in listed {
            let user = match u.roles {
                Some(roles) => User {
                    id: u.id,
                    email: u.email,
                    first_name: u.first_name,
                    last_name: u.last_name,
                    roles,
                },
                None => self.get_user(&u.id).await?,
            };
            users.push(user);
        }
        Ok(users)
    }

    pub async fn list_roles(&self) -> Result<Vec<Role>, Error> {
        self.list_all("/api/v1/roles", Listing::Roles)
            .await
            .map_err(|e| self.transport.scrub(e))
    }

    pub async fn list_dashboards(&self) -> Result<Vec<Dashboard>, Error> {
        self.list_all("/api/v1/dashboards", Listing::Dashboards)
            .await
            .map_err(|e| self.transport.scrub(e))
    }

    /// Users, roles and dashboards, read concurrently; all of it or an error
    /// (the users' error first, then the roles', so messages do not flap).
    /// The whole read is bounded by [`crate::ReadLimits::read_deadline`].
    pub async fn fetch_site(&self) -> Result<LiveSite, Error> {
        let deadline = self.transport.limits.read_deadline;
        let read = async {
            let (users, roles, dashboards) =
                tokio::join!(self.list_users(), self.list_roles(), self.list_dashboards());
            Ok(LiveSite {
                users: users?,
                roles: roles?,
                dashboards: dashboards?,
            })
        };
        match tokio::time::timeout(deadline, read).await {
            Ok(result) => result,
            Err(_) => Err(Error::Limit {
                url: self.transport.url(""),
                limit: Limit::ReadDeadline(deadline),
            }),
        }
    }

    /// Every item of a list, following `next_page_start`. Complete or an
    /// error: a failed page, a cursor that repeats, an item seen twice or a
    /// page whose `items_this_page` disagrees with what it holds all abort.
    async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        listing: Listing,
    ) -> Result<Vec<T>, Error> {
        let kind = listing.key();
        let mut out = Vec::new();
        let mut pages = 0;
        let mut cursors = HashSet::new();
        let mut ids = HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_path = match &cursor {
                Some(c) => format!("{path}?next_page_start={}", encode(c)),
                None => path.to_string(),
            };
            let (answer, _) = self
                .transport
                .idempotent(Method::GET, &page_path, None)
                .await?;
            let answer = answer.ok(self.site())?;
            let url = answer.url.clone();
            let incomplete = |reason: String| Error::IncompleteList {
                url: url.clone(),
                reason,
            };
            pages += 1;
            if pages > self.transport.limits.max_pages {
                return Err(Error::Limit {
                    url,
                    limit: Limit::Pages(self.transport.limits.max_pages),
                });
            }
            let page: Value = answer.json(None)?;
            let Some(items) = page.get(kind).and_then(Value::as_array) else {
                return Err(Error::Decode {
                    url: url.clone(),
                    reason: format!("no `{kind}` list in the answer"),
                    body_start: body_start(&answer.body),
                });
            };
            if let Some(count) = page.get("items_this_page").filter(|v| !v.is_null())
                && count.as_u64() != Some(items.len() as u64)
            {
                return Err(incomplete(format!(
                    "the page says `items_this_page: {count}` but holds {} items",
                    items.len()
                )));
            }
            for item in items {
                let id = item.get("id").map(id_text).unwrap_or_default();
                if !ids.insert(id.clone()) {
                    return Err(incomplete(format!(
                        "`{id}` is listed twice: the list changed while it was read, or the server pages wrongly"
                    )));
                }
                let value: T = serde_json::from_value(item.clone()).map_err(|e| Error::Decode {
                    url: url.clone(),
                    reason: format!("an item of `{kind}`: {e}"),
                    body_start: body_start(item.to_string().as_bytes()),
                })?;
                out.push(value);
                if out.len() > self.transport.limits.max_items {
                    return Err(Error::Limit {
                        url,
                        limit: Limit::Items(self.transport.limits.max_items),
                    });
                }
            }
            if let Some(hook) = &self.progress {
                hook(listing, out.len());
            }
            match page
                .get("next_page_start")
                .map(id_text)
                .filter(|c| !c.is_empty())
            {
                None => return Ok(out),
                Some(next) => {
                    if !cursors.insert(next.clone()) {
                        return Err(incomplete(format!("the cursor `{next}` came back twice")));
                    }
                    cursor = Some(next);
                }
            }
        }
    }
}

/// A JSON string or number as text; `null` as empty.
fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Percent-encodes a path segment or query value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
