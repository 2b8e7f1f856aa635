//! The read-only client: what `plan`, `drift`, `export` and `validate` get.
//! It has no method that writes, and no way to reach the transport's.

use std::collections::HashSet;
use std::sync::Arc;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::{ClientConfig, Limit};
use crate::error::{Error, body_start};
use crate::pace::Pace;
use crate::transport::{Answer, Transport, encode};
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
    /// The users, `/api/v2/users`.
    Users,
    /// The roles, `/api/v1/roles`.
    Roles,
    /// The dashboards, `/api/v1/dashboards`.
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
    /// A read-only client for the site of `config`. Fails if the endpoint
    /// or the credentials are unusable; nothing is sent yet.
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

    /// How fast this client (and every clone, and its writer) goes.
    pub fn pace(&self) -> &Arc<Pace> {
        &self.transport.pace
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, wrapper: &str) -> Result<T, Error> {
        let (answer, _) = self.transport.idempotent(Method::GET, path, None).await?;
        answer.ok(self.site())?.json(Some(wrapper))
    }

    /// One user by id, membership included.
    pub async fn get_user(&self, id: &Id) -> Result<User, Error> {
        self.get(&format!("/api/v2/users/{}", encode(&id.0)), "user")
            .await
            .map_err(|e| self.transport.scrub(e))
    }

    /// Every user, membership included. A listed user without `roles` is
    /// fetched alone, concurrently under the client's [`Pace`].
    pub async fn list_users(&self) -> Result<Vec<User>, Error> {
        self.users().await.map_err(|e| self.transport.scrub(e))
    }

    async fn users(&self) -> Result<Vec<User>, Error> {
        let listed: Vec<ListedUser> = self.list_all("/api/v2/users", Listing::Users).await?;
        let mut users = Vec::with_capacity(listed.len());
        let mut alone = tokio::task::JoinSet::new();
        for (i, u) in listed.into_iter().enumerate() {
            match u.roles {
                Some(roles) => users.push(Some(User {
                    id: u.id,
                    email: u.email,
                    first_name: u.first_name,
                    last_name: u.last_name,
                    roles,
                })),
                None => {
                    users.push(None);
                    let reader = self.clone();
                    alone.spawn(async move {
                        let _slot = reader.pace().acquire().await;
                        (i, reader.get_user(&u.id).await)
                    });
                }
            }
        }
        while let Some(joined) = alone.join_next().await {
            let (i, user) = joined.expect("a user read panicked");
            users[i] = Some(user?);
        }
        Ok(users
            .into_iter()
            .map(|u| u.expect("every user read"))
            .collect())
    }

    /// Every role, read page by page until the list ends.
    pub async fn list_roles(&self) -> Result<Vec<Role>, Error> {
        self.list_all("/api/v1/roles", Listing::Roles)
            .await
            .map_err(|e| self.transport.scrub(e))
    }

    /// Every dashboard, read page by page until the list ends.
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
    /// error: a failed page, a cursor that repeats, an item seen twice, a
    /// page whose `items_this_page` disagrees with what it holds, or more
    /// pages or items than the limits allow all abort.
    async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        listing: Listing,
    ) -> Result<Vec<T>, Error> {
        let limits = self.transport.limits;
        let mut seen = Seen::default();
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for pages in 1.. {
            let page_path = match &cursor {
                Some(c) => format!("{path}?next_page_start={}", encode(c)),
                None => path.to_string(),
            };
            let (answer, _) = self
                .transport
                .idempotent(Method::GET, &page_path, None)
                .await?;
            let answer = answer.ok(self.site())?;
            if pages > limits.max_pages {
                return Err(Error::Limit {
                    url: answer.url,
                    limit: Limit::Pages(limits.max_pages),
                });
            }
            let page = decode_page(&answer, listing.key(), &mut seen)?;
            out.extend(page.items);
            if out.len() > limits.max_items {
                return Err(Error::Limit {
                    url: answer.url,
                    limit: Limit::Items(limits.max_items),
                });
            }
            if let Some(hook) = &self.progress {
                hook(listing, out.len());
            }
            match page.next {
                None => return Ok(out),
                Some(next) => cursor = Some(next),
            }
        }
        unreachable!("the loop returns")
    }
}

/// The ids and cursors a listing has seen so far.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    ids: HashSet<String>,
    cursors: HashSet<String>,
}

/// One decoded page of a listing.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<String>,
}

/// Decodes one page of the listing `kind` (`users`, `roles`,
/// `dashboards`). Pure, so that it can be fed anything: every failure is an
/// error naming the page's URL, never a panic.
pub(crate) fn decode_page<T: DeserializeOwned>(
    answer: &Answer,
    kind: &str,
    seen: &mut Seen,
) -> Result<Page<T>, Error> {
    let url = &answer.url;
    let incomplete = |reason: String| Error::IncompleteList {
        url: url.clone(),
        reason,
    };
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
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let id = item.get("id").map(id_text).unwrap_or_default();
        if !seen.ids.insert(id.clone()) {
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
    }
    let next = page
        .get("next_page_start")
        .map(id_text)
        .filter(|c| !c.is_empty());
    if let Some(next) = &next
        && !seen.cursors.insert(next.clone())
    {
        return Err(incomplete(format!("the cursor `{next}` came back twice")));
    }
    Ok(Page { items: out, next })
}

/// A JSON string or number as text; `null` as empty.
fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The decoders fed anything a server or a proxy could send: random JSON
/// shapes, random bytes, valid pages cut short. Never a panic; every error
/// names the URL it is about.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;
    use reqwest::StatusCode;
    use serde_json::{Value, json};

    use super::*;
    use crate::types::{Dashboard, ListedUser, Role, User};

    const URL: &str = "https://api.example/api/v2/users";

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            "[a-z0-9@. ]{0,12}".prop_map(Value::String),
            prop::sample::select(vec![
                "users",
                "roles",
                "dashboards",
                "id",
                "email",
                "roles",
                "next_page_start",
                "items_this_page",
                "permissions",
                "privileges",
                "object_id",
                "name"
            ])
            .prop_map(|s| Value::String(s.into())),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "users",
                        "roles",
                        "dashboards",
                        "id",
                        "email",
                        "first_name",
                        "last_name",
                        "name",
                        "description",
                        "next_page_start",
                        "items_this_page",
                        "privileges",
                        "permissions",
                        "object_type",
                        "object_id",
                        "user",
                        "role",
                        "error"
                    ]),
                    inner,
                    0..6,
                )
                .prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        })
    }

    /// A valid page, to be cut short.
    fn valid_page() -> Vec<u8> {
        serde_json::to_vec(&json!({
            "users": [{"id": "u1", "email": "a@b.co", "first_name": "A", "last_name": "B", "roles": ["r1"]},
                      {"id": 2, "email": "c@d.co", "first_name": "C", "last_name": "D"}],
            "next_page_start": "u3", "items_this_page": 2
        }))
        .unwrap()
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            prop::collection::vec(any::<u8>(), 0..200),
            (0..valid_page().len()).prop_map(|n| valid_page()[..n].to_vec()),
        ]
    }

    fn answer(status: u16, body: Vec<u8>) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            body,
            url: URL.to_string(),
            location: None,
        }
    }

    fn names_the_url<T>(result: Result<T, Error>) -> Result<(), TestCaseError> {
        if let Err(e) = result {
            prop_assert_eq!(e.url(), Some(URL), "{}", e);
            prop_assert!(e.to_string().contains(URL), "{}", e);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn decoders_never_panic_and_name_the_endpoint(body in body(), status in prop::sample::select(vec![200u16, 201, 204, 301, 400, 401, 403, 404, 409, 422, 500, 502])) {
            let a = answer(status, body.clone());
            names_the_url(decode_page::<ListedUser>(&a, "users", &mut Seen::default()))?;
            names_the_url(decode_page::<Role>(&a, "roles", &mut Seen::default()))?;
            names_the_url(decode_page::<Dashboard>(&a, "dashboards", &mut Seen::default()))?;
            names_the_url(a.json::<User>(Some("user")))?;
            names_the_url(a.json::<Role>(Some("role")))?;
            let a = answer(status, body);
            names_the_url(a.ok("acme"))?;
        }
    }
}
