//! The HTTP API: an axum [`router`] over a shared [`Site`], plus the
//! connection loop that injects faults (latency, `500`s, `429`s, dropped
//! connections, lost responses). Faults live in the loop rather than in the
//! router because dropping a connection needs the connection.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::model::{Dashboard, Role, User};
use crate::options::{Faults, Logged, Outcome, Quirks, RequestHook};
use crate::site::{ApiError, CreateUser, Page, RoleFields, Site, UpdateUser};

/// The header that carries `<site>:<api-key>` (names are case-insensitive).
pub const AUTH_HEADER: &str = "http-x-partner-auth";

/// State shared by every connection.
pub struct Shared {
    pub(crate) site: Mutex<Site>,
    pub(crate) site_name: String,
    pub(crate) api_key: String,
    pub(crate) page_size: usize,
    pub(crate) quirks: Quirks,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) rng: Mutex<fastrand::Rng>,
    pub(crate) bucket: Mutex<Option<Bucket>>,
    pub(crate) log: Mutex<VecDeque<Logged>>,
    pub(crate) log_capacity: usize,
    pub(crate) seq: std::sync::atomic::AtomicU64,
    /// Writes that reached the handlers (for `revoke_key_after_writes`).
    pub(crate) writes: std::sync::atomic::AtomicU64,
    /// Requests being handled now (for `Faults::capacity`).
    pub(crate) in_flight: std::sync::atomic::AtomicUsize,
    pub(crate) hook: Option<RequestHook>,
}

/// Counts a request in flight until dropped.
struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `429` with `Retry-After`: whole seconds, as servers send it, or the
/// precise wait (for tests).
fn too_many_requests(wait: f64, precise: bool) -> Response {
    let mut response = error_response(429, "rate limit exceeded");
    let retry_after = if precise {
        format!("{:.3}", wait.max(0.001))
    } else {
        format!("{}", wait.ceil().max(1.0) as u64)
    };
    let value = HeaderValue::from_str(&retry_after).expect("a number is a header value");
    response.headers_mut().insert(header::RETRY_AFTER, value);
    response
}

/// A `429` for this request, if it is shed (`Faults::shed_rate`, rolled
/// already) or the bucket has no token. Shed first: a request refused so
/// takes no token.
fn throttle(shared: &Shared, faults: &crate::Faults, shed: bool) -> Option<Response> {
    let precise = faults.precise_retry_after;
    if shed {
        return Some(too_many_requests(if precise { 0.05 } else { 1.0 }, precise));
    }
    match lock(&shared.bucket).as_mut().map(Bucket::take) {
        Some(Err(wait)) => Some(too_many_requests(wait, precise)),
        _ => None,
    }
}

/// The latency of one answer: the configured one, grown by the load beyond
/// the capacity.
fn loaded_latency(
    latency: Option<Duration>,
    capacity: Option<usize>,
    in_flight: usize,
) -> Option<Duration> {
    match capacity {
        Some(c) => {
            let base = latency.unwrap_or(Duration::from_millis(10));
            let c = c.max(1);
            Some(if in_flight > c {
                base.mul_f64(in_flight as f64 / c as f64)
            } else {
                base
            })
        }
        None => latency,
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("site_name", &self.site_name)
            .field("page_size", &self.page_size)
            .field("quirks", &self.quirks)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex; a panic elsewhere must not take the emulator down with it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A token bucket: `rate` requests per second, bursts up to `burst` (one
/// second's worth unless set).
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// The bucket of `faults.rate_limit`, if any.
    pub(crate) fn of(faults: &crate::Faults) -> Option<Self> {
        let rate = faults.rate_limit?;
        let burst = faults.rate_burst.unwrap_or(rate).max(1.0);
        Some(Self {
            rate,
            burst,
            tokens: burst,
            at: Instant::now(),
        })
    }

    /// Takes a token, or says how many seconds until there is one.
    fn take(&mut self) -> Result<(), f64> {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - self.tokens) / self.rate)
        }
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error_response(status: u16, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, &self.message)
    }
}

type ApiResult = Result<Response, ApiError>;

/// The API's routes over `shared`, with authentication; no faults.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v2/users", get(list_users).post(create_user))
        .route(
            "/api/v2/users/{id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route("/api/v1/roles", get(list_roles).post(create_role))
        .route(
            "/api/v1/roles/{id}",
            get(get_role).put(update_role).delete(delete_role),
        )
        .route("/api/v1/dashboards", get(list_dashboards))
        .fallback(|| async { error_response(404, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            error_response(405, "method not allowed on this endpoint")
        })
        .layer(middleware::from_fn_with_state(shared.clone(), authenticate))
        .with_state(shared)
}

async fn authenticate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let Some(value) = request
        .headers()
        .get(AUTH_HEADER)
        .and_then(|v| v.to_str().ok())
    else {
        return error_response(401, "missing HTTP-X-PARTNER-AUTH header");
    };
    match value.split_once(':') {
        Some((site, key)) if site == shared.site_name && key == shared.api_key => {
            next.run(request).await
        }
        _ => error_response(401, "unknown site or wrong API key"),
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    next_page_start: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WriteQuery {
    test_mode: Option<String>,
}

impl WriteQuery {
    fn dry_run(&self) -> Result<bool, ApiError> {
        match self.test_mode.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(ApiError::new(
                400,
                format!("`test_mode` must be `true` or `false`, not `{other}`"),
            )),
        }
    }
}

/// A request body. Ids must be JSON strings, as the emulator sends them;
/// with the `numeric_dashboard_ids` quirk (the emulator sends numbers), a
/// client may send numbers back.
fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes, quirks: Quirks) -> Result<T, ApiError> {
    let invalid = |e: serde_json::Error| ApiError::new(400, format!("invalid request body: {e}"));
    let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
    if !quirks.numeric_dashboard_ids
        && let Some(field) = numeric_id(&value)
    {
        return Err(ApiError::new(
            400,
            format!("invalid request body: `{field}` holds a number; ids are strings"),
        ));
    }
    serde_json::from_value(value).map_err(invalid)
}

/// The first id given as a number: in `roles`, or a permission's `object_id`.
fn numeric_id(body: &serde_json::Value) -> Option<&'static str> {
    let roles = body["roles"].as_array().into_iter().flatten();
    if roles.into_iter().any(serde_json::Value::is_number) {
        return Some("roles");
    }
    let permissions = body["permissions"].as_array().into_iter().flatten();
    permissions
        .into_iter()
        .any(|p| p["object_id"].is_number())
        .then_some("object_id")
}

impl Shared {
    fn site(&self) -> MutexGuard<'_, Site> {
        lock(&self.site)
    }

    fn extras(&self, mut v: Value, kind: &str) -> Value {
        if self.quirks.extra_fields
            && let Value::Object(map) = &mut v
        {
            map.insert("created_at".into(), json!("2019-04-01T09:30:00Z"));
            map.insert("_emulator".into(), json!({ "kind": kind, "version": 1 }));
        }
        v
    }

    fn dashboard_id(&self, id: &str) -> Value {
        match id.parse::<u64>() {
            Ok(n) if self.quirks.numeric_dashboard_ids => json!(n),
            _ => json!(id),
        }
    }

    fn user_json(&self, u: &User) -> Value {
        self.extras(serde_json::to_value(u).expect("a user serializes"), "user")
    }

    fn role_json(&self, r: &Role) -> Value {
        let mut v = serde_json::to_value(r).expect("a role serializes");
        if let Some(perms) = v.get_mut("permissions").and_then(Value::as_array_mut) {
            for p in perms {
                let id = p["object_id"].as_str().unwrap_or_default().to_string();
                p["object_id"] = self.dashboard_id(&id);
            }
        }
        self.extras(v, "role")
    }

    fn dashboard_json(&self, d: &Dashboard) -> Value {
        let v = json!({ "id": self.dashboard_id(&d.id.0), "name": d.name });
        self.extras(v, "dashboard")
    }

    /// A single object: bare, or wrapped as `{"user": {...}}` with the quirk.
    fn single(&self, status: u16, kind: &str, v: Value) -> Response {
        let body = if self.quirks.wrap_single {
            json!({ kind: v })
        } else {
            v
        };
        json_response(status, &body)
    }

    /// A list envelope; the cursor fields only where the list is paginated.
    /// Without quirks that reshape objects, the objects are written straight
    /// to the body (the hot path of a large fetch).
    fn list<T: Serialize>(
        &self,
        kind: &'static str,
        page: Page<'_, T>,
        paginated: bool,
        render: impl Fn(&T) -> Value,
    ) -> Response {
        let q = self.quirks;
        let body = if q.extra_fields || q.numeric_dashboard_ids || q.list_users_without_roles {
            let items: Vec<Value> = page.items.iter().map(|i| render(i)).collect();
            serde_json::to_vec(&ListBody {
                kind,
                items,
                page: &page,
                paginated,
                extra: self.quirks.extra_fields,
            })
        } else {
            serde_json::to_vec(&ListBody {
                kind,
                items: &page.items,
                page: &page,
                paginated,
                extra: false,
            })
        }
        .expect("a list serializes");
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }

    fn deleted(&self, id: &str) -> Response {
        if self.quirks.delete_200 {
            json_response(200, &json!({ "success": true, "id": id }))
        } else {
            StatusCode::NO_CONTENT.into_response()
        }
    }
}

/// `{"<kind>": [...], "next_page_start": ..., "items_this_page": n}`.
struct ListBody<'p, 'a, T, I> {
    kind: &'static str,
    items: I,
    page: &'p Page<'a, T>,
    paginated: bool,
    extra: bool,
}

impl<T, I: Serialize> Serialize for ListBody<'_, '_, T, I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(self.kind, &self.items)?;
        if self.paginated {
            map.serialize_entry("next_page_start", &self.page.next)?;
            map.serialize_entry("items_this_page", &self.page.items.len())?;
        }
        if self.extra {
            map.serialize_entry("_emulator", &json!({ "list": self.kind }))?;
        }
        map.end()
    }
}

async fn list_users(State(s): State<Arc<Shared>>, Query(q): Query<ListQuery>) -> ApiResult {
    let site = s.site();
    let paginated = q.next_page_start.is_some() || site.user_count() > s.page_size;
    let page = site.list_users(
        q.next_page_start.as_deref(),
        if paginated { s.page_size } else { usize::MAX },
    )?;
    Ok(s.list("users", page, paginated, |u| {
        let mut v = s.user_json(u);
        if s.quirks.list_users_without_roles
            && let Value::Object(map) = &mut v
        {
            map.remove("roles");
        }
        v
    }))
}

async fn get_user(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let user = s.site().user(&id)?.clone();
    Ok(s.single(200, "user", s.user_json(&user)))
}

async fn create_user(
    State(s): State<Arc<Shared>>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> ApiResult {
    let dry_run = q.dry_run()?;
    let req: CreateUser = parse(&body, s.quirks)?;
    let user = s.site().create_user(req, dry_run)?;
    Ok(s.single(201, "user", s.user_json(&user)))
}

async fn update_user(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> ApiResult {
    let dry_run = q.dry_run()?;
    let req: UpdateUser = parse(&body, s.quirks)?;
    let user = s.site().update_user(&id, req, dry_run)?;
    Ok(s.single(200, "user", s.user_json(&user)))
}

async fn delete_user(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(q): Query<WriteQuery>,
) -> ApiResult {
    let dry_run = q.dry_run()?;
    s.site().delete_user(&id, dry_run)?;
    Ok(s.deleted(&id))
}

async fn list_roles(State(s): State<Arc<Shared>>, Query(q): Query<ListQuery>) -> ApiResult {
    let site = s.site();
    let paginated = s.quirks.paginate_roles;
    let size = if paginated { s.page_size } else { usize::MAX };
    let page = site.list_roles(q.next_page_start.as_deref(), size)?;
    Ok(s.list("roles", page, paginated, |r| s.role_json(r)))
}

async fn get_role(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult {
    let role = s.site().role(&id)?.clone();
    Ok(s.single(200, "role", s.role_json(&role)))
}

async fn create_role(
    State(s): State<Arc<Shared>>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> ApiResult {
    let dry_run = q.dry_run()?;
    let req: RoleFields = parse(&body, s.quirks)?;
    let role = s.site().create_role(req, dry_run)?;
    Ok(s.single(201, "role", s.role_json(&role)))
}

async fn update_role(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(q): Query<WriteQuery>,
    body: Bytes,
) -> ApiResult {
    let dry_run = q.dry_run()?;
    let req: RoleFields = parse(&body, s.quirks)?;
    let role = s.site().update_role(&id, req, dry_run)?;
    Ok(s.single(200, "role", s.role_json(&role)))
}

async fn delete_role(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(q): Query<WriteQuery>,
) -> ApiResult {
    let dry_run = q.dry_run()?;
    s.site().delete_role(&id, dry_run)?;
    Ok(s.deleted(&id))
}

async fn list_dashboards(State(s): State<Arc<Shared>>, Query(q): Query<ListQuery>) -> ApiResult {
    let site = s.site();
    let page = site.list_dashboards(q.next_page_start.as_deref(), s.page_size)?;
    Ok(s.list("dashboards", page, true, |d| s.dashboard_json(d)))
}

/// Why a connection was closed without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
pub(crate) struct Dropped;

/// An answer the faults give instead of handling the request: `401` once
/// the key is revoked, `400` for a write the site refuses, `400` echoing the
/// auth header (a careless proxy).
fn refused(
    shared: &Shared,
    faults: &Faults,
    method: &Method,
    path: &str,
    auth: Option<HeaderValue>,
) -> Option<(u16, String)> {
    use std::sync::atomic::Ordering::SeqCst;
    let write = matches!(*method, Method::POST | Method::PUT | Method::DELETE);
    if (write && faults.echo_key_on_writes) || (!write && faults.echo_key_on_reads) {
        let auth = auth
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        return Some((400, format!("rejected header HTTP-X-PARTNER-AUTH={auth}")));
    }
    if let Some(limit) = faults.revoke_key_after_writes {
        let before = if write {
            shared.writes.fetch_add(1, SeqCst)
        } else {
            shared.writes.load(SeqCst)
        };
        if before >= limit {
            return Some((401, "the API key was revoked (injected)".into()));
        }
    }
    let call = format!("{method} {path}");
    (write
        && faults
            .refuse_writes
            .iter()
            .any(|r| call.starts_with(r.as_str())))
    .then(|| (400, "the site refuses this call (injected)".into()))
}

/// Handles one request through the faults, then the router. An `Err` makes
/// hyper close the connection without answering.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    router: Router,
    request: Request<hyper::body::Incoming>,
) -> Result<Response, Dropped> {
    let start = Instant::now();
    let seq = shared
        .seq
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query = request.uri().query().map(str::to_string);
    let write = matches!(method, Method::POST | Method::PUT | Method::DELETE);
    let test_mode = query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|kv| kv == "test_mode=true"));
    let faults = lock(&shared.faults).clone();
    let now_in_flight = shared
        .in_flight
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        + 1;
    let _counted = InFlight(&shared.in_flight);

    let (latency, drop_now, fail_now, lose_now, shed_now) = {
        let mut rng = lock(&shared.rng);
        let latency = faults.latency.map(|(min, max)| {
            if max <= min {
                min
            } else {
                min + Duration::from_secs_f64(rng.f64() * (max - min).as_secs_f64())
            }
        });
        let roll = |rng: &mut fastrand::Rng, p: f64| p > 0.0 && rng.f64() < p;
        let drop_now = roll(&mut rng, faults.drop_rate);
        let fail_now = roll(&mut rng, faults.error_rate);
        let lose_now = write && roll(&mut rng, faults.lost_response_rate);
        let shed_now = roll(&mut rng, faults.shed_rate);
        (latency, drop_now, fail_now, lose_now, shed_now)
    };
    if let Some(latency) = loaded_latency(latency, faults.capacity, now_in_flight) {
        tokio::time::sleep(latency).await;
    }
    let record = |status: Option<u16>, outcome: Outcome| {
        let entry = Logged {
            seq,
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            status,
            outcome,
            test_mode,
            duration: start.elapsed(),
        };
        if let Some(hook) = &shared.hook {
            hook(&entry);
        }
        let mut log = lock(&shared.log);
        if log.len() >= shared.log_capacity {
            log.pop_front();
        }
        log.push_back(entry);
    };

    if let Some(refused) = throttle(&shared, &faults, shed_now) {
        record(Some(429), Outcome::Answered);
        return Ok(refused);
    }
    if drop_now {
        record(None, Outcome::Dropped);
        return Err(Dropped);
    }
    if fail_now {
        record(Some(500), Outcome::Answered);
        return Ok(error_response(500, "internal server error (injected)"));
    }
    let auth = request.headers().get(AUTH_HEADER).cloned();
    if let Some((status, message)) = refused(&shared, &faults, &method, &path, auth) {
        record(Some(status), Outcome::Answered);
        return Ok(error_response(status, &message));
    }
    let response = router
        .oneshot(request.map(Body::new))
        .await
        .unwrap_or_else(|e: Infallible| match e {});
    let status = response.status().as_u16();
    if lose_now && response.status().is_success() {
        record(Some(status), Outcome::Lost);
        return Err(Dropped);
    }
    record(Some(status), Outcome::Answered);
    Ok(response)
}
