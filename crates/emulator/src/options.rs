//! How to start an emulator: the site, its seed, and the faults and wire
//! quirks to inject.

use std::time::Duration;

use crate::model::Snapshot;

/// The key the emulator accepts when neither the options nor the seed give one.
/// No word in it: rolecall redacts any run of 8 characters of its key from
/// what it prints, and a key holding `rolecall` hid every "rolecall".
pub const LOCAL_API_KEY: &str = "lk7c3f9a2e5b1d04e";

/// The site name when neither the options nor the seed give one.
pub const DEFAULT_SITE: &str = "sandbox";

/// Faults, each off by default. Probabilities are 0.0 to 1.0.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Added before each answer: fixed (`min == max`) or uniform in `[min, max]`.
    pub latency: Option<(Duration, Duration)>,
    /// Probability of answering `500` without handling the request.
    pub error_rate: f64,
    /// Requests per second above which the answer is `429` with `Retry-After`.
    pub rate_limit: Option<f64>,
    /// The bucket of `rate_limit`: requests allowed at once above the rate
    /// (default: one second's worth).
    pub rate_burst: Option<f64>,
    /// Probability of answering `429` (`Retry-After: 1`, or `0.05` with
    /// `precise_retry_after`) whatever the rate: another job sharing the key.
    pub shed_rate: f64,
    /// Probability of closing the connection before handling the request.
    pub drop_rate: f64,
    /// Probability, for a write, of applying it and then closing the
    /// connection instead of answering.
    pub lost_response_rate: f64,
    /// `Retry-After` as the exact wait in fractional seconds (`0.025`)
    /// instead of whole seconds rounded up: tests under a rate limit then
    /// wait milliseconds, not seconds.
    pub precise_retry_after: bool,
    /// Writes answered `400` without being handled: each `METHOD /path`
    /// prefix, e.g. `POST /api/v1/roles` (a site that refuses one call).
    pub refuse_writes: Vec<String>,
    /// After this many writes, every request is answered `401` (the key was
    /// revoked midway).
    pub revoke_key_after_writes: Option<u64>,
    /// Writes answered `400` with a message that echoes the auth header,
    /// key included (a careless proxy).
    pub echo_key_on_writes: bool,
    /// Reads answered the same way.
    pub echo_key_on_reads: bool,
    /// A server with this many workers: with more requests in flight than
    /// that, each waits its turn, and `latency` grows in proportion
    /// (`latency × in flight / capacity`). Without `latency`, 10 ms.
    pub capacity: Option<usize>,
}

/// Deviations of the wire format that `docs/periscope-api.md` tells the client to
/// tolerate, each off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quirks {
    /// Single objects as `{"user": {...}}` / `{"role": {...}}`.
    pub wrap_single: bool,
    /// Dashboard ids as JSON numbers (in the list and in role permissions).
    pub numeric_dashboard_ids: bool,
    /// `DELETE` answers `200` with a body instead of `204`.
    pub delete_200: bool,
    /// The role list is paginated like dashboards.
    pub paginate_roles: bool,
    /// Unknown extra fields on every object and list.
    pub extra_fields: bool,
    /// Users listed without `roles` (the client must then fetch each alone).
    pub list_users_without_roles: bool,
}

impl Quirks {
    /// Every quirk at once (`--quirk all`).
    pub const ALL: Quirks = Quirks {
        wrap_single: true,
        numeric_dashboard_ids: true,
        delete_200: true,
        paginate_roles: true,
        extra_fields: true,
        list_users_without_roles: true,
    };
}

/// Everything [`crate::spawn`] needs.
#[derive(Clone)]
pub struct Options {
    /// The site name; must equal the seed's when both are given.
    pub site: Option<String>,
    /// The API key to accept; else the seed's; else [`LOCAL_API_KEY`].
    pub api_key: Option<String>,
    /// The site to start from; without it, a new site (five default roles,
    /// one admin user).
    pub seed: Option<Snapshot>,
    /// `0` picks a free port. The emulator binds 127.0.0.1 only.
    pub port: u16,
    /// Items per page of paginated lists.
    pub page_size: usize,
    /// The faults to inject.
    pub faults: Faults,
    /// The wire quirks to show.
    pub quirks: Quirks,
    /// Seeds the random generator of faults and ids, so a run can be replayed.
    pub rng_seed: u64,
    /// Action names to accept besides the known ones.
    pub extra_actions: Vec<String>,
    /// How many requests [`crate::Emulator::requests`] keeps (the newest).
    pub log_capacity: usize,
    /// Called for every request.
    pub on_request: Option<RequestHook>,
    /// Worker threads of the emulator's own runtime.
    pub worker_threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            site: None,
            api_key: None,
            seed: None,
            port: 0,
            page_size: 100,
            faults: Faults::default(),
            quirks: Quirks::default(),
            rng_seed: 0x5EED,
            extra_actions: Vec::new(),
            log_capacity: 100_000,
            on_request: None,
            worker_threads: 2,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("site", &self.site)
            .field("seed", &self.seed.as_ref().map(|s| &s.site))
            .field("port", &self.port)
            .field("page_size", &self.page_size)
            .field("faults", &self.faults)
            .field("quirks", &self.quirks)
            .field("rng_seed", &self.rng_seed)
            .finish_non_exhaustive()
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with a status.
    Answered,
    /// The connection was closed before the request was handled.
    Dropped,
    /// The request was handled (a write applied), then the connection was
    /// closed before the answer.
    Lost,
}

/// One request, as the emulator saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// The request's number, from 0, in order of arrival.
    pub seq: u64,
    /// The HTTP method, such as `GET` or `POST`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string, without the `?`, if there was one.
    pub query: Option<String>,
    /// The status answered, or (for [`Outcome::Lost`]) the one that was lost.
    pub status: Option<u16>,
    /// How the request ended.
    pub outcome: Outcome,
    /// The query held `test_mode=true`.
    pub test_mode: bool,
    /// From arrival to the end, injected latency included.
    pub duration: Duration,
}

/// Called for every request (the `rolecall emulator` command logs with it).
pub type RequestHook = std::sync::Arc<dyn Fn(&Logged) + Send + Sync>;
