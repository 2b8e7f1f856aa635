//! HTTP with authentication, one admission pipeline (a hard rate ceiling,
//! then the adaptive pace), and retries. Crate-private: the only ways to use it are the
//! read-only [`crate::ReadClient`] and the [`crate::Writer`].

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{CONTENT_TYPE, HeaderValue, LOCATION, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::config::{
    CallHook, CallRecord, ClientConfig, Limit, MAX_RATE_LIMIT, MIN_RATE_LIMIT, ReadLimits,
    RetryPolicy, check_endpoint,
};
use crate::error::{Error, body_start};
use crate::pace::{Pace, Signal};
use crate::redact::Redactor;

const AUTH_HEADER: &str = "HTTP-X-PARTNER-AUTH";

/// An answer with a status the caller must look at (not `429`, not `5xx`).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub url: String,
    /// The `Location` of a redirect.
    pub location: Option<String>,
}

impl Answer {
    /// Decodes the body as `T`, unwrapping `{"<wrapper>": {...}}` if the
    /// server wrapped a single object.
    pub(crate) fn json<T: DeserializeOwned>(&self, wrapper: Option<&str>) -> Result<T, Error> {
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
    pub(crate) fn ok(self, site: &str) -> Result<Answer, Error> {
        if self.status.is_success() {
            return Ok(self);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| body_start(&self.body));
        let url = self.url;
        Err(match self.status.as_u16() {
            status @ 300..=399 => Error::Redirect {
                url,
                status,
                location: self
                    .location
                    .as_deref()
                    .map_or_else(|| "(none)".to_string(), location_host),
            },
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
    /// Adaptive concurrency and rate, shared by every clone of the client.
    pub pace: Arc<Pace>,
    pub retry: RetryPolicy,
    on_call: Option<CallHook>,
    /// Writes carry `test_mode=true` (set by the writer that owns it).
    pub test_mode: bool,
    pub limits: ReadLimits,
    /// The endpoint is on this machine (a refused connection is final).
    loopback: bool,
    /// Finds the key (whole, in any case, or any 8 characters of it) in
    /// what the server sends back.
    redactor: Redactor,
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

/// Why no answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Silence {
    /// The connection could not be made (refused, no route).
    Connect,
    /// No answer within the timeout.
    Timeout,
    /// The connection broke.
    Other,
}

/// One attempt's result before interpretation.
enum Attempt {
    Answer(Answer, Option<Duration>),
    NoAnswer(String, Silence),
    /// The body was larger than the cap: not retried.
    TooLarge,
}

impl Transport {
    pub(crate) fn new(config: &ClientConfig, test_mode: bool) -> Result<Arc<Self>, Error> {
        let base = check_endpoint(&config.endpoint)?;
        // reqwest is built without a TLS crypto provider; ring is ours. An
        // `Err` means one is installed already, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.max_in_flight.max(1))
            .redirect(reqwest::redirect::Policy::none());
        if base.scheme() == "http" {
            // Plain http goes to this machine only: never through a proxy,
            // which would see the key in clear text. Nor to a TLS server
            // (redirects are never followed): the system's certificates are
            // not loaded at all, which a loopback run (the sandbox, tests)
            // would otherwise spend most of its start on.
            builder = builder
                .no_proxy()
                .tls_certs_only(std::iter::empty::<reqwest::Certificate>());
        }
        let http = builder.build().map_err(|e| Error::Client(e.to_string()))?;
        let key = config.credentials.key.expose();
        // The key, and its percent-encoded form (a URL may carry it).
        let redactor = Redactor::new([key, encode(key).as_str()]);
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
        let limiter = config
            .rate_limit
            .map(|rate| ceiling(rate, config.burst))
            .transpose()?;
        Ok(Arc::new(Self {
            http,
            base: base.as_str().trim_end_matches('/').to_string(),
            site: config.credentials.site.clone(),
            auth,
            limiter,
            pace: Pace::new(config.max_in_flight, config.retry.max_elapsed),
            retry: config.retry,
            on_call: config.on_call.clone(),
            test_mode,
            limits: config.limits,
            loopback: is_loopback(&base),
            redactor,
        }))
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Server text made safe to show: the key replaced, whole or any run
    /// of 8 of its characters, in any case.
    pub(crate) fn redact(&self, text: &str) -> String {
        self.redactor.text(text)
    }

    /// An error as it may be shown: server text redacted, URLs without
    /// their query strings.
    pub(crate) fn scrub(&self, e: Error) -> Error {
        e.scrub(
            |t| self.redact(t),
            |u| self.redact(u.split('?').next().unwrap_or(u)),
        )
    }

    /// Reads a body up to the cap.
    async fn body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, Attempt> {
        let cap = self.limits.max_body_bytes;
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > cap {
                        return Err(Attempt::TooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(Attempt::NoAnswer(describe(&e), silence(&e))),
            }
        }
    }

    /// Admits one attempt; every request passes here and nowhere else.
    /// In order:
    /// 1. the hard ceiling, `--rate-limit` (a token bucket), when set;
    /// 2. the pace: a pause every call waits out (a shared empty bucket),
    ///    then a send slot at the paced rate (once this client's `429`s
    ///    set one).
    ///
    /// Concurrency is admitted one level up, per operation: a change of an
    /// apply, or a per-user read, holds a [`crate::PacePermit`] across its
    /// calls, so that a stop is checked before an operation starts, never
    /// between its calls. A call waiting out a `429` lends that permit.
    async fn admit(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        self.pace.before_send().await;
    }

    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&[u8]>,
        attempt: u32,
    ) -> Attempt {
        self.admit().await;
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
                let header = |name| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let retry_after = header(RETRY_AFTER).as_deref().and_then(retry_after);
                let location = header(LOCATION);
                match self.body(response).await {
                    // An error body becomes a message, cut to a length:
                    // redacted whole, first.
                    Ok(body) if !status.is_success() => Attempt::Answer(
                        Answer {
                            status,
                            body: self.redactor.bytes(&body),
                            url,
                            location,
                        },
                        retry_after,
                    ),
                    Ok(body) => Attempt::Answer(
                        Answer {
                            status,
                            body,
                            url,
                            location,
                        },
                        retry_after,
                    ),
                    Err(failed) => failed,
                }
            }
            Err(e) => Attempt::NoAnswer(describe(&e), silence(&e)),
        };
        let status = match &result {
            Attempt::Answer(a, _) => Some(a.status.as_u16()),
            Attempt::NoAnswer(..) | Attempt::TooLarge => None,
        };
        let signal = match &result {
            Attempt::Answer(a, after) if a.status == StatusCode::TOO_MANY_REQUESTS => {
                Signal::Throttled(*after)
            }
            Attempt::Answer(a, _) if a.status.is_server_error() => Signal::Overloaded,
            Attempt::Answer(..) | Attempt::TooLarge => Signal::Answered,
            Attempt::NoAnswer(..) => Signal::Overloaded,
        };
        self.pace.record(started, started.elapsed(), signal);
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

    /// Whether a silence ends the call now ([`final_silence`]).
    fn final_silence(&self, silence: Silence, attempt: u32) -> bool {
        final_silence(self.loopback, silence, attempt)
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
    /// retried after its `Retry-After` until the time budget is spent,
    /// whatever the attempt count, so that many callers sharing a tight
    /// limit all get through. The wait lends the operation's slot.
    async fn wait_out_429(
        &self,
        next: u32,
        started: Instant,
        retry_after: Option<Duration>,
    ) -> bool {
        match self.retry.after_429(next, started.elapsed(), retry_after) {
            Some(delay) => {
                self.pace.wait_out(delay).await;
                true
            }
            None => false,
        }
    }

    /// Why a `429` ends a call: a `Retry-After` past what is left of the
    /// budget, or the budget spent on retries.
    fn rate_limited(
        &self,
        url: String,
        attempts: u32,
        started: Instant,
        retry_after: Option<Duration>,
    ) -> Error {
        let left = self.retry.max_elapsed.saturating_sub(started.elapsed());
        match retry_after {
            Some(wait) if wait > left => Error::WaitTooLong {
                url,
                wait_s: wait.as_secs_f64().ceil() as u64,
                budget_s: left.as_secs(),
            },
            _ => Error::RateLimited { url, attempts },
        }
    }

    /// An idempotent call (GET, PUT, DELETE), retried on `429`, `5xx` and
    /// no answer. Returns the first other answer, with the attempt count.
    pub(crate) async fn idempotent(
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
                    self.rate_limited(a.url, attempt, started, after)
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
                Attempt::TooLarge => {
                    return Err(Error::Limit {
                        url: self.url(path),
                        limit: Limit::BodyBytes(self.limits.max_body_bytes),
                    });
                }
                Attempt::NoAnswer(reason, silence) => {
                    if !self.final_silence(silence, attempt)
                        && self.backoff(attempt + 1, started, None).await
                    {
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
    pub(crate) async fn post(
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
                    return Err(self.rate_limited(a.url, attempt, started, after));
                }
                Attempt::Answer(a, _) if a.status.is_server_error() => PostOutcome::Unknown {
                    reason: format!("{} {}", a.status.as_u16(), body_start(&a.body)),
                },
                Attempt::Answer(a, _) => PostOutcome::Answered(a),
                Attempt::TooLarge => PostOutcome::Unknown {
                    reason: format!(
                        "the answer is larger than {} bytes",
                        self.limits.max_body_bytes
                    ),
                },
                Attempt::NoAnswer(reason, _) => PostOutcome::Unknown { reason },
            };
            return Ok((outcome, attempt));
        }
    }

    /// Waits before resending a `POST` whose outcome was unknown.
    pub(crate) async fn post_backoff(&self, next: u32, started: Instant) -> bool {
        self.backoff(next, started, None).await
    }
}

/// The hard ceiling of `--rate-limit`: `rate` requests a second, `burst`
/// at once. A rate no token bucket can hold is an error, not a panic.
fn ceiling(rate: f64, burst: u32) -> Result<DefaultDirectRateLimiter, Error> {
    let invalid = || {
        Error::Client(format!(
            "a rate limit of {rate} requests/s is out of range ({MIN_RATE_LIMIT} to {MAX_RATE_LIMIT})"
        ))
    };
    if !(MIN_RATE_LIMIT..=MAX_RATE_LIMIT).contains(&rate) {
        return Err(invalid());
    }
    let period = Duration::try_from_secs_f64(1.0 / rate).map_err(|_| invalid())?;
    let quota = Quota::with_period(period).ok_or_else(invalid)?;
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Ok(RateLimiter::direct(quota.allow_burst(burst)))
}

/// `Retry-After` in seconds. Whole seconds are what servers send; a
/// fraction (`0.05`) is tolerated, and taken as such (test servers use it).
/// An HTTP date or anything else is ignored: the backoff applies.
fn retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// Whether a silence ends a call after `attempt` attempts: a refused
/// connection to this machine is retried once (nothing is listening); a
/// server that cannot be reached, or does not answer, three times in a row
/// is down. A dropped connection is retried as a `5xx` is.
fn final_silence(loopback: bool, silence: Silence, attempt: u32) -> bool {
    match silence {
        Silence::Connect if loopback => attempt >= 2,
        Silence::Connect | Silence::Timeout => attempt >= 3,
        Silence::Other => false,
    }
}

/// What kind of silence a reqwest error is.
fn silence(e: &reqwest::Error) -> Silence {
    if e.is_timeout() {
        Silence::Timeout
    } else if e.is_connect() {
        Silence::Connect
    } else {
        Silence::Other
    }
}

/// Whether a base URL is on this machine.
fn is_loopback(url: &reqwest::Url) -> bool {
    crate::config::is_loopback_host(url.host_str().unwrap_or_default())
}

/// `https://host:port` of a `Location` (never its path or query, which may
/// carry anything), or the text cut short when it is not a URL.
fn location_host(location: &str) -> String {
    match reqwest::Url::parse(location) {
        Ok(u) => format!(
            "{}://{}{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => format!("`{}`", body_start(location.as_bytes())),
    }
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

/// What a path segment or a query value may hold as is (RFC 3986's
/// unreserved characters); everything else is percent-encoded.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a path segment or query value.
pub(crate) fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::{Silence, final_silence};

    /// As the guide says: an endpoint that cannot be reached, or does not
    /// answer, is tried three times; a refused connection to this machine
    /// twice; a broken connection until the retry budget ends.
    #[test]
    fn silences_end_a_call_as_documented() {
        let tries = |loopback, silence| (1..=10).find(|&a| final_silence(loopback, silence, a));
        assert_eq!(tries(false, Silence::Connect), Some(3));
        assert_eq!(tries(false, Silence::Timeout), Some(3));
        assert_eq!(tries(true, Silence::Connect), Some(2));
        assert_eq!(tries(true, Silence::Timeout), Some(3));
        assert_eq!(tries(false, Silence::Other), None);
    }
}
