//! HTTP with authentication, a shared rate limit, a bound on calls in
//! flight, and retries. Crate-private: the only ways to use it are the
//! read-only [`crate::ReadClient`] and the [`crate::Writer`].

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use crate::config::{CallHook, CallRecord, ClientConfig, RetryPolicy, check_endpoint};
use crate::error::{Error, body_start};

const AUTH_HEADER: &str = "HTTP-X-PARTNER-AUTH";

/// An answer with a status the caller must look at (not `429`, not `5xx`).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub url: String,
}

impl Answer {
    /// Decodes the body as `T`, unwrapping `{"<wrapper>": {...}}` if the
    /// server wrapped a single object.
    pub fn json<T: DeserializeOwned>(&self, wrapper: Option<&str>) -> Result<T, Error> {
        let decode_error = |reason: String| Error::Decode {
            url: self.url.clone(),
            reason,
            body_start: body_start(&self.body),
        };
        let mut value: serde_json::Value =
            serde_json::from_slice(&self.body).map_err(|e| decode_error(e.to_string()))?;
        if let Some(w) = wrapper
            && let serde_json::Value::Object(map) = &mut value
            && map.len() == 1
            && map.get(w).is_some_and(serde_json::Value::is_object)
        {
            value = map.remove(w).expect("checked");
        }
        serde_json::from_value(value).map_err(|e| decode_error(e.to_string()))
    }

    /// The answer as a success, or the error its status means.
    pub fn ok(self, site: &str) -> Result<Answer, Error> {
        if self.status.is_success() {
            return Ok(self);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| body_start(&self.body));
        let url = self.url;
        Err(match self.status.as_u16() {
            401 => Error::Unauthorized {
                site: site.to_string(),
                url,
            },
            403 => Error::Forbidden { url, message },
            404 => Error::NotFound { url, message },
            409 => Error::Conflict { url, message },
            status => Error::Rejected {
                url,
                status,
                message,
            },
        })
    }
}

/// What a `POST` came to.
#[derive(Debug)]
pub(crate) enum PostOutcome {
    Answered(Answer),
    /// No answer, or a `5xx`: the write may or may not have happened.
    Unknown {
        reason: String,
    },
}

pub(crate) struct Transport {
    http: reqwest::Client,
    base: String,
    pub site: String,
    auth: HeaderValue,
    limiter: Option<DefaultDirectRateLimiter>,
    in_flight: Semaphore,
    pub retry: RetryPolicy,
    on_call: Option<CallHook>,
    /// Writes carry `test_mode=true` (set by the writer that owns it).
    pub test_mode: bool,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base)
            .field("site", &self.site)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// One attempt's result before interpretation.
enum Attempt {
    Answer(Answer, Option<Duration>),
    NoAnswer(String),
}

impl Transport {
    pub fn new(config: &ClientConfig, test_mode: bool) -> Result<Arc<Self>, Error> {
        let base = check_endpoint(&config.endpoint)?;
        // reqwest is built without a TLS crypto provider; ring is ours. An
        // `Err` means one is installed already, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.max_in_flight.max(1))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Client(e.to_string()))?;
        let mut auth = HeaderValue::from_str(&format!(
            "{}:{}",
            config.credentials.site,
            config.credentials.key.expose()
        ))
        .map_err(|_| {
            Error::Credentials(
                "the site or API key holds characters that cannot go in an HTTP header".into(),
            )
        })?;
        auth.set_sensitive(true);
        let limiter = config.rate_limit.filter(|r| *r > 0.0).map(|rate| {
            let burst = NonZeroU32::new(config.burst.max(1)).expect("at least 1");
            let period = Duration::from_secs_f64(1.0 / rate);
            RateLimiter::direct(
                Quota::with_period(period)
                    .expect("a positive period")
                    .allow_burst(burst),
            )
        });
        Ok(Arc::new(Self {
            http,
            base: base.as_str().trim_end_matches('/').to_string(),
            site: config.credentials.site.clone(),
            auth,
            limiter,
            in_flight: Semaphore::new(config.max_in_flight.max(1)),
            retry: config.retry,
            on_call: config.on_call.clone(),
            test_mode,
        }))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&[u8]>,
        attempt: u32,
    ) -> Attempt {
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        let _permit = self.in_flight.acquire().await.expect("never closed");
        let url = self.url(path);
        let started = Instant::now();
        let time = SystemTime::now();
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header(AUTH_HEADER, self.auth.clone())
            .header(USER_AGENT, concat!("rolecall/", env!("CARGO_PKG_VERSION")))
            .header(CONTENT_TYPE, "application/json");
        if let Some(body) = body {
            request = request.body(body.to_vec());
        }
        let result = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(retry_after);
                match response.bytes().await {
                    Ok(bytes) => Attempt::Answer(
                        Answer {
                            status,
                            body: bytes.to_vec(),
                            url,
                        },
                        retry_after,
                    ),
                    Err(e) => Attempt::NoAnswer(describe(&e)),
                }
            }
            Err(e) => Attempt::NoAnswer(describe(&e)),
        };
        let status = match &result {
            Attempt::Answer(a, _) => Some(a.status.as_u16()),
            Attempt::NoAnswer(_) => None,
        };
        tracing::debug!(%method, path, ?status, attempt, elapsed_ms = started.elapsed().as_millis() as u64, "periscope call");
        if let Some(hook) = &self.on_call {
            hook(&CallRecord {
                time,
                method: method.to_string(),
                path: path.to_string(),
                status,
                duration: started.elapsed(),
                attempt,
                test_mode: self.test_mode && *method != Method::GET,
            });
        }
        result
    }

    /// Waits before attempt `next`, or says the budget is spent.
    async fn backoff(&self, next: u32, started: Instant, retry_after: Option<Duration>) -> bool {
        if next > self.retry.max_attempts {
            return false;
        }
        let delay = self.retry.delay(next, retry_after);
        if started.elapsed() + delay > self.retry.max_elapsed {
            return false;
        }
        tokio::time::sleep(delay).await;
        true
    }

    /// A `429` is no failure of the call (the site did not take it): it is
    /// retried until the time budget is spent, whatever the attempt count, so
    /// that many callers sharing a tight limit all get through.
    async fn wait_out_429(
        &self,
        next: u32,
        started: Instant,
        retry_after: Option<Duration>,
    ) -> bool {
        let delay = self
            .retry
            .delay(next.min(self.retry.max_attempts), retry_after);
        if started.elapsed() + delay > self.retry.max_elapsed {
            return false;
        }
        tokio::time::sleep(delay).await;
        true
    }

    /// An idempotent call (GET, PUT, DELETE), retried on `429`, `5xx` and
    /// no answer. Returns the first other answer, with the attempt count.
    pub async fn idempotent(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(Answer, u32), Error> {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let failure = match self.attempt(&method, path, body, attempt).await {
                Attempt::Answer(a, after) if a.status == StatusCode::TOO_MANY_REQUESTS => {
                    if self.wait_out_429(attempt + 1, started, after).await {
                        attempt += 1;
                        continue;
                    }
                    Error::RateLimited {
                        url: a.url,
                        attempts: attempt,
                    }
                }
                Attempt::Answer(a, after) if a.status.is_server_error() => {
                    if self.backoff(attempt + 1, started, after).await {
                        attempt += 1;
                        continue;
                    }
                    let message = body_start(&a.body);
                    Error::Server {
                        url: a.url,
                        status: a.status.as_u16(),
                        message,
                        attempts: attempt,
                    }
                }
                Attempt::Answer(a, _) => return Ok((a, attempt)),
                Attempt::NoAnswer(reason) => {
                    if self.backoff(attempt + 1, started, None).await {
                        attempt += 1;
                        continue;
                    }
                    Error::Network {
                        url: self.url(path),
                        attempts: attempt,
                        reason,
                    }
                }
            };
            return Err(failure);
        }
    }

    /// One `POST`: resent on `429` (the server did not take it), but on a
    /// `5xx` or no answer the outcome is unknown and it is not resent here.
    /// `attempt` numbers the first try (for the audit log).
    pub async fn post(
        &self,
        path: &str,
        body: &[u8],
        mut attempt: u32,
        started: Instant,
    ) -> Result<(PostOutcome, u32), Error> {
        loop {
            let outcome = match self.attempt(&Method::POST, path, Some(body), attempt).await {
                Attempt::Answer(a, after) if a.status == StatusCode::TOO_MANY_REQUESTS => {
                    if self.wait_out_429(attempt + 1, started, after).await {
                        attempt += 1;
                        continue;
                    }
                    return Err(Error::RateLimited {
                        url: a.url,
                        attempts: attempt,
                    });
                }
                Attempt::Answer(a, _) if a.status.is_server_error() => PostOutcome::Unknown {
                    reason: format!("{} {}", a.status.as_u16(), body_start(&a.body)),
                },
                Attempt::Answer(a, _) => PostOutcome::Answered(a),
                Attempt::NoAnswer(reason) => PostOutcome::Unknown { reason },
            };
            return Ok((outcome, attempt));
        }
    }

    /// Waits before resending a `POST` whose outcome was unknown.
    pub async fn post_backoff(&self, next: u32, started: Instant) -> bool {
        self.backoff(next, started, None).await
    }
}

/// `Retry-After` in seconds. Whole seconds are what servers send; a
/// fraction (`0.05`) is tolerated, and taken as such (test servers use it).
/// An HTTP date or anything else is ignored: the backoff applies.
fn retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// A reqwest error as one line, with its causes, never with headers.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    let mut out = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
