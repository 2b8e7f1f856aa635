//! The pace against modelled servers, in virtual time (tokio's paused
//! clock): the real [`Pace`] and the real [`RetryPolicy`], driven the way
//! the transport drives them (admit, send, record; a `429` waited out with
//! the operation's slot lent), against a token bucket, random shedding, a
//! latency-bound reader and a capacity-limited server. Each case compares
//! the time taken with the best a client could do against that server, and
//! must reach 80% of its throughput. The whole file runs in well under a
//! second of real time. `cargo test --test pace_sim -- --nocapture` prints
//! each case's figures; `PACE_TRACE=1` the pace's decisions too.

#![allow(clippy::print_stderr, reason = "each case prints its figures")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use periscope_client::{Pace, RetryPolicy, Signal};
use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep};

/// How a modelled server says when to come back.
#[derive(Debug, Clone, Copy)]
enum After {
    /// Whole seconds, rounded up, as HTTP servers send it.
    Whole,
    /// The exact wait for the next token.
    Precise,
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> Result<(), f64> {
        self.tokens = (self.tokens + (now - self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - self.tokens) / self.rate)
        }
    }
}

/// A modelled server.
#[derive(Debug)]
struct Server {
    latency: Duration,
    bucket: Option<Bucket>,
    /// A share of requests refused whatever the rate (another job on the key).
    shed: f64,
    /// Workers: beyond them, latency grows with the load.
    capacity: Option<usize>,
    after: After,
    in_flight: usize,
    rng: fastrand::Rng,
    served: u64,
    refused_by_bucket: u64,
    shed_count: u64,
}

#[derive(Debug, Clone, Copy)]
enum Reply {
    Ok,
    TooMany(Duration),
}

impl Server {
    fn new(latency_ms: u64) -> Self {
        Server {
            latency: Duration::from_millis(latency_ms),
            bucket: None,
            shed: 0.0,
            capacity: None,
            after: After::Whole,
            in_flight: 0,
            rng: fastrand::Rng::with_seed(42),
            served: 0,
            refused_by_bucket: 0,
            shed_count: 0,
        }
    }

    fn bucket(mut self, rate: f64, burst: f64, after: After) -> Self {
        self.bucket = Some(Bucket {
            rate,
            burst,
            tokens: burst,
            at: Instant::now(),
        });
        self.after = after;
        self
    }

    fn shed(mut self, share: f64) -> Self {
        self.shed = share;
        self
    }

    fn capacity(mut self, workers: usize) -> Self {
        self.capacity = Some(workers);
        self
    }

    fn retry_after(&self, wait: f64) -> Duration {
        match self.after {
            After::Whole => Duration::from_secs(wait.ceil().max(1.0) as u64),
            After::Precise => Duration::from_secs_f64(wait.max(0.001)),
        }
    }
}

type Shared = Arc<Mutex<Server>>;

async fn serve(server: &Shared) -> Reply {
    let latency = {
        let mut s = server.lock().unwrap();
        s.in_flight += 1;
        match s.capacity {
            Some(c) if s.in_flight > c => s.latency.mul_f64(s.in_flight as f64 / c as f64),
            _ => s.latency,
        }
    };
    sleep(latency).await;
    let mut s = server.lock().unwrap();
    s.in_flight -= 1;
    let now = Instant::now();
    if s.shed > 0.0 && s.rng.f64() < s.shed {
        s.shed_count += 1;
        return Reply::TooMany(Duration::from_secs(1));
    }
    if let Some(Err(wait)) = s.bucket.as_mut().map(|b| b.take(now)) {
        s.refused_by_bucket += 1;
        return Reply::TooMany(s.retry_after(wait));
    }
    s.served += 1;
    Reply::Ok
}

/// One call as the transport makes it: admitted by the pace, retried on
/// `429` after its `Retry-After` with the slot lent, within the budget.
async fn call(pace: &Pace, retry: &RetryPolicy, server: &Shared) {
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        pace.before_send().await;
        let sent = Instant::now();
        let reply = serve(server).await;
        match reply {
            Reply::Ok => {
                pace.record(sent, sent.elapsed(), Signal::Answered);
                return;
            }
            Reply::TooMany(after) => {
                pace.record(sent, sent.elapsed(), Signal::Throttled(Some(after)));
                attempt += 1;
                let wait = retry
                    .after_429(attempt, started.elapsed(), Some(after))
                    .expect("the budget is never spent in these cases");
                pace.wait_out(wait).await;
            }
        }
    }
}

/// `n` operations of one call each, as an apply runs them, with at most
/// `ceiling` at once (the pace decides how many below that). Seconds taken.
async fn paced_ops(server: &Shared, n: usize, ceiling: usize) -> f64 {
    trace();
    let retry = RetryPolicy::default();
    let pace = Pace::new(ceiling, retry.max_elapsed);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (pace, server) = (pace.clone(), server.clone());
        tasks.spawn(async move {
            let _slot = pace.acquire().await;
            call(&pace, &retry, &server).await;
        });
    }
    while tasks.join_next().await.is_some() {}
    let stats = pace.stats();
    eprintln!("    pace: {stats:?}");
    start.elapsed().as_secs_f64()
}

/// The same operations at a fixed concurrency, each `429` waited out by its
/// call alone, its slot free meanwhile: the best against a server whose only
/// limit is its latency, its capacity or random refusals.
async fn fixed_ops(server: &Shared, n: usize, concurrency: usize) -> f64 {
    let slots = Arc::new(Semaphore::new(concurrency));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (slots, server) = (slots.clone(), server.clone());
        tasks.spawn(async move {
            loop {
                let slot = slots.acquire().await.unwrap();
                let reply = serve(&server).await;
                drop(slot);
                match reply {
                    Reply::Ok => break,
                    Reply::TooMany(after) => sleep(after).await,
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    start.elapsed().as_secs_f64()
}

/// A listing read page after page, through the pace (no permit: listings
/// are read outside operations).
async fn paced_reader(server: &Shared, pages: usize) -> f64 {
    let retry = RetryPolicy::default();
    let pace = Pace::new(64, retry.max_elapsed);
    let start = Instant::now();
    for _ in 0..pages {
        call(&pace, &retry, server).await;
    }
    eprintln!("    pace: {:?}", pace.stats());
    start.elapsed().as_secs_f64()
}

/// The polite sequential reader: each `429` waited out, nothing else.
async fn polite_reader(server: &Shared, pages: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..pages {
        while let Reply::TooMany(after) = serve(server).await {
            sleep(after).await;
        }
    }
    start.elapsed().as_secs_f64()
}

/// `PACE_TRACE=1`: the pace's decisions on stderr, with virtual times.
fn trace() {
    if std::env::var_os("PACE_TRACE").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .without_time()
            .with_test_writer()
            .try_init();
    }
}

fn shared(server: Server) -> Shared {
    Arc::new(Mutex::new(server))
}

/// `ours` took at most 1.25x `best` (80% of its throughput).
fn at_least_80_percent(case: &str, ours: f64, best: f64) {
    eprintln!(
        "{case}: {ours:.2} s, best {best:.2} s ({:.0}% of the best throughput)",
        best / ours * 100.0
    );
    assert!(
        ours <= best * 1.25,
        "{case}: {ours:.2} s against a best of {best:.2} s"
    );
}

/// Against a bucket of `rate` with `burst`, `n` operations take at least
/// `(n - burst) / rate` (and the `Retry-After` of a last call refused at
/// random, when some are); and the client does not hammer it: what the bucket
/// refused is at most a quarter of what it served (the first `429`s, to
/// calls already in flight, and an overshoot per probe).
async fn against_a_bucket(case: &str, ceiling: usize, after: After, shed: f64) {
    against(case, ceiling, after, shed, (1000, 50.0, 25.0, 2)).await;
}

/// `n` operations against a bucket of `rate` and `burst`, at `latency_ms`.
async fn against(
    case: &str,
    ceiling: usize,
    after: After,
    shed: f64,
    (n, rate, burst, latency_ms): (usize, f64, f64, u64),
) {
    fastrand::seed(7);
    let server = shared(
        Server::new(latency_ms)
            .bucket(rate, burst, after)
            .shed(shed),
    );
    let ours = paced_ops(&server, n, ceiling).await;
    // With random refusals, some of the last calls are refused too, and no
    // client can send them again before their `Retry-After` (1 s).
    let tail = if shed > 0.0 { 1.0 } else { 0.0 };
    let best = (n as f64 - burst) / rate + tail;
    at_least_80_percent(case, ours, best);
    let s = server.lock().unwrap();
    eprintln!(
        "    served {}, refused by the bucket {}, shed {}",
        s.served, s.refused_by_bucket, s.shed_count
    );
    assert_eq!(s.served, n as u64);
    let served_rate = (s.served as f64 - burst) / ours;
    assert!(served_rate <= rate * 1.001, "{served_rate} > {rate}");
    assert!(
        s.refused_by_bucket * 4 <= s.served,
        "{case}: the bucket refused {} for {} served: the client sent far above its rate",
        s.refused_by_bucket,
        s.served
    );
}

#[tokio::test(start_paused = true)]
async fn a_token_bucket_and_a_sequential_client() {
    against_a_bucket("bucket 50/s burst 25, sequential", 1, After::Whole, 0.0).await;
}

#[tokio::test(start_paused = true)]
async fn a_token_bucket_and_a_32_way_client() {
    against_a_bucket("bucket 50/s burst 25, 32 at once", 32, After::Whole, 0.0).await;
    against_a_bucket(
        "bucket 50/s burst 25, 32 at once, precise Retry-After",
        32,
        After::Precise,
        0.0,
    )
    .await;
}

/// A slow bucket (its burst a second's worth, which doubles what the first
/// second serves) behind a 20 ms round trip.
#[tokio::test(start_paused = true)]
async fn a_slow_token_bucket_behind_latency() {
    against(
        "bucket 10/s burst 10, 20 ms, 64 at once",
        64,
        After::Whole,
        0.0,
        (2000, 10.0, 10.0, 20),
    )
    .await;
}

/// The same as `rolecall apply` meets it: 64 at once, 20 ms, a bucket of
/// 50/s with a burst of 10, and a tenth of all answers `429` on top.
#[tokio::test(start_paused = true)]
async fn a_small_bucket_with_random_429s_behind_latency() {
    against(
        "bucket 50/s burst 10 + 10% shed, 20 ms, 64 at once",
        64,
        After::Whole,
        0.1,
        (400, 50.0, 10.0, 20),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_token_bucket_with_random_429s_on_top() {
    against_a_bucket(
        "bucket 50/s burst 25 + 10% shed, 32 at once",
        32,
        After::Whole,
        0.1,
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn random_429s_are_retried_not_paced() {
    for share in [0.02, 0.1, 0.3] {
        fastrand::seed(7);
        let ours = paced_ops(&shared(Server::new(20).shed(share)), 2000, 64).await;
        let best = fixed_ops(&shared(Server::new(20).shed(share)), 2000, 64).await;
        at_least_80_percent(&format!("{share} shed, 64 at once"), ours, best);
    }
}

#[tokio::test(start_paused = true)]
async fn a_latency_bound_reader_goes_at_its_latency() {
    for share in [0.0, 0.1] {
        fastrand::seed(7);
        let ours = paced_reader(&shared(Server::new(20).shed(share)), 130).await;
        let best = polite_reader(&shared(Server::new(20).shed(share)), 130).await;
        at_least_80_percent(&format!("reader, {share} shed"), ours, best);
    }
}

#[tokio::test(start_paused = true)]
async fn a_capacity_limited_server() {
    fastrand::seed(7);
    let ours = paced_ops(&shared(Server::new(20).capacity(16)), 2000, 64).await;
    let best = fixed_ops(&shared(Server::new(20).capacity(16)), 2000, 16).await;
    at_least_80_percent("capacity 16, 20 ms", ours, best);
}
