//! Where and how to connect: the endpoint, the credentials, timeouts,
//! retries and limits.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::Error;

/// The default endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://api.periscopedata.com";

/// The API key. It has no `Display`, its `Debug` is redacted, and only the
/// transport reads it, to build the (sensitive) auth header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key as given.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// Whether the key is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with any run of 8 or more characters of this key (or the whole
    /// of a shorter one), in any case, replaced: the same redaction as the
    /// text servers send back, for whatever else a program prints.
    ///
    /// A key shorter than a run (no real key is) is redacted only where it
    /// stands as a word: every `k` of a message is not a one-letter key.
    pub fn redact(&self, text: &str) -> String {
        let key = self.expose();
        if key.len() >= crate::redact::RUN {
            return crate::redact::Redactor::new([key]).text(text);
        }
        let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.to_ascii_lowercase().find(&key.to_ascii_lowercase()) {
            let end = at + key.len();
            let before = rest[..at].chars().next_back().is_some_and(word);
            let after = rest[end..].chars().next().is_some_and(word);
            out.push_str(&rest[..at]);
            out.push_str(if before || after {
                &rest[at..end]
            } else {
                crate::redact::REDACTED
            });
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// A site and its API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The site name: the path segment after `/app/` in a dashboard URL.
    pub site: String,
    /// The site's API key.
    pub key: ApiKey,
}

impl Credentials {
    /// Credentials for `site` with `key`.
    pub fn new(site: impl Into<String>, key: ApiKey) -> Self {
        Self {
            site: site.into(),
            key,
        }
    }
}

/// Retries of a call: exponential backoff with jitter, `Retry-After`
/// honoured, bounded by attempts and by total time.
///
/// Retried: `429` (until `max_elapsed`, whatever the attempts), every `5xx`,
/// timeouts and dropped connections. Never retried: any other answer. A `POST` whose outcome is unknown is not
/// resent before the object has been looked up (see [`crate::Writer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The delay before the second attempt; it doubles after each.
    pub initial_delay: Duration,
    /// No delay is longer (except a longer `Retry-After`).
    pub max_delay: Duration,
    /// No retry starts after this much time since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `next` (2, 3, ...): half fixed, half random.
    pub(crate) fn delay(&self, next: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .initial_delay
            .saturating_mul(1 << (next.saturating_sub(2)).min(16))
            .min(self.max_delay);
        let jittered = exp / 2 + exp.mul_f64(fastrand::f64() / 2.0);
        match retry_after {
            // Spread the waiters a little so they do not all come back at
            // once (the pace spaces them too): a tenth, 50 ms at most, so
            // that the last call of a run waits little past its due.
            Some(after) => {
                let spread = (after / 10).min(Duration::from_millis(50));
                after + spread.mul_f64(fastrand::f64())
            }
            None => jittered,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next` of a call refused with `429`, when
    /// `elapsed` has passed since its first: its `Retry-After` (or the
    /// backoff), or `None` when that would overrun the time budget.
    pub fn after_429(
        &self,
        next: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let delay = self.delay(next.min(self.max_attempts), retry_after);
        (elapsed + delay <= self.max_elapsed).then_some(delay)
    }
}

/// The lowest rate `--rate-limit` accepts, in requests a second.
pub const MIN_RATE_LIMIT: f64 = 0.01;
/// The highest rate `--rate-limit` accepts, in requests a second.
pub const MAX_RATE_LIMIT: f64 = 100_000.0;

/// One HTTP attempt, for audit logs: never the key, never a body.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// When the attempt started.
    pub time: std::time::SystemTime,
    /// The HTTP method, such as `GET` or `POST`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// `None`: no answer (connection error or timeout).
    pub status: Option<u16>,
    /// How long the attempt took, body included.
    pub duration: Duration,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The attempt was a write sent with `test_mode=true`.
    pub test_mode: bool,
}

/// Called after every HTTP attempt.
pub type CallHook = Arc<dyn Fn(&CallRecord) + Send + Sync>;

/// Everything a client needs.
#[derive(Clone)]
pub struct ClientConfig {
    /// The base URL of the API: `https`, or plain `http` to this machine only.
    pub endpoint: String,
    /// The site and its API key.
    pub credentials: Credentials,
    /// Per attempt, from sending to the end of the body.
    pub timeout: Duration,
    /// Per attempt, to make the connection.
    pub connect_timeout: Duration,
    /// How failed calls are retried.
    pub retry: RetryPolicy,
    /// Requests per second across all concurrent calls; `None`: unlimited.
    pub rate_limit: Option<f64>,
    /// Requests allowed at once above the rate.
    pub burst: u32,
    /// Calls in flight at once.
    pub max_in_flight: usize,
    /// Called after every HTTP attempt, for audit logs.
    pub on_call: Option<CallHook>,
    /// What one read may take: bytes per answer, pages and items per
    /// listing, time for a whole site.
    pub limits: ReadLimits,
}

/// Bounds on what a server can make the client read. Each one hit ends the
/// read with [`Error::Limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Bytes of one answer's body (default 64 MiB: 50,000 users fit in one page).
    pub max_body_bytes: usize,
    /// Pages of one listing (default 10,000).
    pub max_pages: usize,
    /// Items of one listing (default 1,000,000).
    pub max_items: usize,
    /// Time to read a whole site (default 10 minutes).
    pub read_deadline: Duration,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 << 20,
            max_pages: 10_000,
            max_items: 1_000_000,
            read_deadline: Duration::from_secs(600),
        }
    }
}

/// Which bound a read hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`ReadLimits::max_body_bytes`].
    BodyBytes(usize),
    /// [`ReadLimits::max_pages`].
    Pages(usize),
    /// [`ReadLimits::max_items`].
    Items(usize),
    /// [`ReadLimits::read_deadline`].
    ReadDeadline(Duration),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::BodyBytes(n) => write!(f, "an answer is larger than {n} bytes"),
            Limit::Pages(n) => write!(f, "a listing has more than {n} pages"),
            Limit::Items(n) => write!(f, "a listing has more than {n} items"),
            Limit::ReadDeadline(d) => {
                write!(f, "reading the site took longer than {} s", d.as_secs())
            }
        }
    }
}

impl ClientConfig {
    /// A config for `endpoint` and `credentials`, with default timeouts
    /// (30 s, 10 s to connect), retries and limits, a burst of 25, 64 calls
    /// in flight, no rate limit and no call hook.
    pub fn new(endpoint: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            endpoint: endpoint.into(),
            credentials,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            rate_limit: None,
            burst: 25,
            max_in_flight: 64,
            on_call: None,
            limits: ReadLimits::default(),
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("burst", &self.burst)
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

/// `localhost`, `127.x.x.x` or `[::1]`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The endpoint as a base URL without a trailing `/`; plain `http` only to
/// this machine.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<reqwest::Url, Error> {
    let url = reqwest::Url::parse(endpoint).map_err(|e| Error::Endpoint {
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "https" => {}
        "http" => {
            if !is_loopback_host(url.host_str().unwrap_or_default()) {
                return Err(Error::Insecure {
                    endpoint: endpoint.to_string(),
                });
            }
        }
        other => {
            return Err(Error::Endpoint {
                endpoint: endpoint.to_string(),
                reason: format!("the scheme must be https, not `{other}`"),
            });
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Endpoint {
            endpoint: "(an URL with credentials in it)".into(),
            reason: "credentials do not belong in the endpoint URL".into(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_redacts_itself_from_any_text() {
        let key = ApiKey::new("Sup3rS3cretKey-0123456789");
        assert_eq!(
            key.redact("echo: sup3rs3cretkey-0123 and S3cretKey-01"),
            "echo: <redacted> and <redacted>"
        );
        let short = ApiKey::new("k");
        assert_eq!(
            short.redact("the API key k, or K: kept in words"),
            "the API key <redacted>, or <redacted>: kept in words"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://api.periscopedata.com",
            "http://127.0.0.1:8089",
            "http://localhost:1",
            "http://[::1]:80",
            "http://127.8.9.1",
        ] {
            assert!(check_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.periscopedata.com",
            "http://10.0.0.1",
            "http://192.168.1.2:80",
        ] {
            assert!(
                matches!(check_endpoint(bad), Err(Error::Insecure { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            check_endpoint("ftp://x"),
            Err(Error::Endpoint { .. })
        ));
        assert!(matches!(
            check_endpoint("not a url"),
            Err(Error::Endpoint { .. })
        ));
        let err = check_endpoint("https://user:hunter2@api.periscopedata.com").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn the_key_is_redacted() {
        let creds = Credentials::new("acme", ApiKey::new("s3cr3t-key"));
        assert!(!format!("{creds:?}").contains("s3cr3t"));
        let config = ClientConfig::new("https://x", creds);
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }

    #[test]
    fn backoff_grows_and_respects_retry_after() {
        let p = RetryPolicy::default();
        let d2 = p.delay(2, None);
        assert!(
            d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200),
            "{d2:?}"
        );
        let d6 = p.delay(6, None);
        assert!(
            d6 >= Duration::from_millis(1600) && d6 <= Duration::from_millis(3200),
            "{d6:?}"
        );
        assert!(p.delay(30, None) <= p.max_delay);
        let after = p.delay(2, Some(Duration::from_secs(3)));
        assert!(after >= Duration::from_secs(3) && after < Duration::from_millis(3250));
        let short = p.delay(2, Some(Duration::from_millis(40)));
        assert!(short >= Duration::from_millis(40) && short <= Duration::from_millis(50));
    }
}
