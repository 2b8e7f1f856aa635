//! How fast a client goes: how many operations it runs at once, and how
//! many requests a second it sends. Both adapt to what the server shows, so
//! that nobody has to tune them for a site whose latency and limits nobody
//! can look up.
//!
//! **Concurrency** (operations in flight) follows latency, as TCP Vegas
//! does: completed calls are averaged over windows of about one round trip;
//! the lowest window average is the server's unloaded latency. While the
//! average stays within 5% (or 0.5 ms) of it and the client keeps the limit
//! busy, the limit grows: doubling per window until the first sign of load,
//! then by one. When the average exceeds the baseline by 20% (and 1 ms) —
//! a queue is building on the server — it shrinks by a tenth; a `5xx` or a
//! call without an answer shrinks it by 30%. A `429` does not change it:
//! that is the rate's business. It stays between 1 and the ceiling
//! (`--parallelism`, default 64). A call waiting out a `Retry-After` is not
//! in flight: its operation lends its slot to another while it waits.
//!
//! **Rate** (requests a second) is free until this client floods the
//! server, then AIMD around what the server serves. It is judged per epoch
//! (two round trips, at least 100 ms and 8 answers; sooner when most of the
//! last answers are `429`):
//! - a `429` is always retried by the call that got it, after its
//!   `Retry-After`; what was sent is measured over active time (pauses
//!   excluded: never divided by a pause);
//! - from a free rate, only a flood (9 of the last 12 answers `429`) sets
//!   one; once paced, a cut needs the `429`s of the last second since the
//!   last cut to exceed the noise floor (at least 2, and two standard
//!   deviations), the client to be pushing (a call waited for a send slot
//!   or a permit), and it to send at least 90% of the most the server has
//!   served a second (a bucket refuses nothing below its rate);
//! - the cut is to β = 0.75 of the send rate, or to what was served over
//!   the last second if less; in the first second (the server's burst blurs
//!   what it serves) the rate is then searched for again by doubling; never
//!   below a quarter of that peak (and 1/s);
//! - the answers after a cut judge it (a two-proportion test against the
//!   last second's share before it, unless that was half or more): a share
//!   that did not fall means the `429`s were noise (random shedding, another
//!   client on the key); the cut is undone, and what it saw makes the noise
//!   floor;
//! - each clean epoch while pushing grows the rate: halfway back to 97% of
//!   what was served where the `429`s began (more by the noise share: noise
//!   takes no token), then by 1% of it a second, doubling each clean second;
//! - every call pauses for a `Retry-After` (capped at the retry budget: a
//!   hostile hour holds nobody) only on evidence of a shared empty bucket
//!   this client did not empty: three `429`s to calls sent within one round
//!   trip while it was not pushing.
//!
//! docs/internals.md says the same with every number.
//!
//! The hard ceiling (`--rate-limit`) is a separate token bucket in the
//! transport. Times are tokio's, so tests drive the pace in virtual time.

mod rate;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use self::rate::{RateControl, Verdict};

/// The limit operations start at (or the ceiling, if lower).
pub const INITIAL_CONCURRENCY: usize = 8;
/// The ceiling when `--parallelism` is not given.
pub const DEFAULT_CEILING: usize = 64;

/// Shared by every clone of a client.
#[derive(Debug)]
pub struct Pace {
    ceiling: usize,
    /// The longest pause a `Retry-After` imposes on everyone (a server, or
    /// a proxy, may send an hour).
    max_pause: Duration,
    permits: Arc<Semaphore>,
    /// Wakes the calls waiting for a send slot when the rate changes.
    rate_changed: Notify,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    limit: usize,
    /// Permits to forget as they come back (the limit shrank below the
    /// number held, or a lent permit came back).
    debt: usize,
    /// Permits held.
    in_flight: usize,
    /// Of those, lent out while their call waits out a `Retry-After`.
    lent: usize,
    window: Window,
    /// The lowest window average latency, in seconds.
    baseline: Option<f64>,
    baseline_at: Instant,
    /// No sign of load yet: the limit doubles per window.
    slow_start: bool,
    /// The limit at the end of each window, for the settled value.
    history: Vec<usize>,
    /// Smoothed round trip of answered calls.
    srtt: Option<Duration>,
    rate: RateControl,
    paused_until: Option<Instant>,
    /// When each answered call of the last second completed, and each `429`.
    served: VecDeque<Instant>,
    refused: VecDeque<Instant>,
    throttled: u64,
}

#[derive(Debug)]
struct Window {
    /// Calls sent before this belong to the limit before: not counted.
    opened: Instant,
    samples: usize,
    rtt_sum: f64,
    busiest: usize,
    /// Calls of the window that got a `5xx` or no answer.
    failed: usize,
}

/// What a call came to, as the pace sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Answered (whatever the status but those below).
    Answered,
    /// `429`, with the `Retry-After` it carried.
    Throttled(Option<Duration>),
    /// `5xx`, or no answer at all.
    Overloaded,
}

/// The pace now, for progress lines and reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceStats {
    /// Operations allowed at once.
    pub limit: usize,
    /// Operations running now (not counting those waiting out a `429`).
    pub in_flight: usize,
    /// Answers received over the last second.
    pub per_second: f64,
    /// The paced rate, once this client's `429`s set one.
    pub rate: Option<f64>,
    /// `429` answers so far.
    pub throttled: u64,
    /// Rate cuts that stood.
    pub cuts: u32,
    /// Rate cuts undone because the `429`s were noise.
    pub undone: u32,
    /// The limit the controller settled on: the median over the second half
    /// of the run (the current limit early on).
    pub settled: usize,
    /// The highest limit reached.
    pub peak: usize,
}

/// A running operation's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct PacePermit {
    permit: Option<OwnedSemaphorePermit>,
    pace: Arc<Pace>,
}

impl Drop for PacePermit {
    fn drop(&mut self) {
        let mut state = self.pace.lock();
        state.in_flight -= 1;
        if state.debt > 0 {
            state.debt -= 1;
            if let Some(permit) = self.permit.take() {
                permit.forget();
            }
        }
    }
}

impl Pace {
    /// A pace with at most `ceiling` operations at once (at least 1), whose
    /// `Retry-After` pauses last `max_pause` at most (the client's retry
    /// budget: a call that must wait longer fails on its own).
    pub fn new(ceiling: usize, max_pause: Duration) -> Arc<Pace> {
        let ceiling = ceiling.max(1);
        let limit = INITIAL_CONCURRENCY.min(ceiling);
        let now = Instant::now();
        Arc::new(Pace {
            ceiling,
            max_pause,
            permits: Arc::new(Semaphore::new(limit)),
            rate_changed: Notify::new(),
            state: Mutex::new(State {
                limit,
                debt: 0,
                in_flight: 0,
                lent: 0,
                window: Window::new(now),
                baseline: None,
                baseline_at: now,
                slow_start: true,
                history: Vec::new(),
                srtt: None,
                rate: RateControl::new(now),
                paused_until: None,
                served: VecDeque::new(),
                refused: VecDeque::new(),
                throttled: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a slot for one operation (which may make several calls).
    pub async fn acquire(self: &Arc<Self>) -> PacePermit {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // More to do than the limit allows: the client is pushing.
                let _waiting = Waiting::begin(self);
                self.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("never closed")
            }
        };
        let mut state = self.lock();
        state.in_flight += 1;
        let busy = state.in_flight - state.lent;
        state.window.busiest = state.window.busiest.max(busy);
        drop(state);
        PacePermit {
            permit: Some(permit),
            pace: self.clone(),
        }
    }

    /// Waits until a request may go: after a pause every call waits out,
    /// at the paced rate. Returns when it is sent (and counted so).
    pub async fn before_send(&self) {
        // Dropped on return (or if the call is dropped while it waits).
        let mut waiting: Option<Waiting<'_>> = None;
        loop {
            let changed = self.rate_changed.notified();
            let (until, generation) = {
                let mut state = self.lock();
                let now = Instant::now();
                let generation = state.rate.generation;
                let until = match state.paused_until {
                    Some(until) if until > now => Some(until),
                    _ => state.rate.slot(now),
                };
                match until {
                    None => return,
                    Some(until) => {
                        if waiting.is_none() {
                            state.rate.wait_begins(now);
                            waiting = Some(Waiting(self));
                        }
                        (until, generation)
                    }
                }
            };
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                // The rate changed: a slot at the old rate is given up.
                () = changed => continue,
            }
            let mut state = self.lock();
            let now = Instant::now();
            if state.rate.generation == generation && state.paused_until.is_none_or(|p| p <= now) {
                state.rate.sent(now);
                return;
            }
        }
    }

    /// Waits out a `Retry-After` for one call. Meanwhile the call is not in
    /// flight: its operation's slot is lent to another.
    pub async fn wait_out(&self, delay: Duration) {
        let _lent = Lent::begin(self);
        tokio::time::sleep(delay).await;
    }

    /// Learns from one completed call, sent at `sent` and taking `rtt`.
    pub fn record(&self, sent: Instant, rtt: Duration, signal: Signal) {
        let mut state = self.lock();
        let now = Instant::now();
        let state = &mut *state;
        for times in [&mut state.served, &mut state.refused] {
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(1))
            {
                times.pop_front();
            }
        }
        let srtt = state.srtt.unwrap_or(rtt);
        let generation = state.rate.generation;
        match signal {
            Signal::Answered => {
                state.served.push_back(now);
                state.srtt = Some((srtt * 7 + rtt) / 8);
                if sent >= state.window.opened {
                    state.window.samples += 1;
                    state.window.rtt_sum += rtt.as_secs_f64();
                }
                let last_second = (state.served.len() as f64, state.refused.len() as f64);
                state.rate.answered(now, sent, false, last_second, srtt);
            }
            Signal::Overloaded if sent >= state.window.opened => state.window.failed += 1,
            Signal::Overloaded => {}
            Signal::Throttled(retry_after) => {
                state.throttled += 1;
                state.refused.push_back(now);
                let last_second = (state.served.len() as f64, state.refused.len() as f64);
                if state.rate.answered(now, sent, true, last_second, srtt) == Verdict::PauseAll {
                    let pause = retry_after
                        .unwrap_or(Duration::from_secs(1))
                        .min(self.max_pause);
                    let until = now + pause;
                    tracing::debug!(
                        pause_ms = pause.as_millis() as u64,
                        "429s to calls sent within a round trip: every call waits"
                    );
                    state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
                    state.rate.paused(now, until);
                }
            }
        }
        if state.rate.generation != generation {
            self.rate_changed.notify_waiters();
        }
        // One decision per window: about a round trip's calls, or half that
        // when some were overloaded.
        let calls = state.window.samples + state.window.failed;
        let enough = calls >= state.limit.max(16)
            || (state.window.failed > 0 && calls >= (state.limit / 2).max(2));
        if enough {
            let next = state.close_window(self.ceiling);
            self.set_limit(state, next);
        }
    }

    /// Moves the limit, lending or withdrawing permits.
    fn set_limit(&self, state: &mut State, limit: usize) {
        let limit = limit.clamp(1, self.ceiling);
        if limit > state.limit {
            let more = limit - state.limit;
            let paid = more.min(state.debt);
            state.debt -= paid;
            self.permits.add_permits(more - paid);
        } else if limit < state.limit {
            let mut fewer = state.limit - limit;
            // Free permits go now; held ones as they come back.
            if let Ok(free) = self.permits.try_acquire_many(fewer as u32) {
                free.forget();
                fewer = 0;
            } else {
                while fewer > 0 {
                    match self.permits.try_acquire() {
                        Ok(p) => {
                            p.forget();
                            fewer -= 1;
                        }
                        Err(_) => break,
                    }
                }
            }
            state.debt += fewer;
        }
        state.limit = limit;
    }

    /// A snapshot of the pace now.
    pub fn stats(&self) -> PaceStats {
        let state = self.lock();
        let now = Instant::now();
        let per_second = state
            .served
            .iter()
            .filter(|t| now.duration_since(**t) <= Duration::from_secs(1))
            .count() as f64;
        let half = &state.history[state.history.len() / 2..];
        let settled = if half.is_empty() {
            state.limit
        } else {
            let mut sorted = half.to_vec();
            sorted.sort_unstable();
            sorted[sorted.len() / 2]
        };
        PaceStats {
            limit: state.limit,
            in_flight: state.in_flight - state.lent,
            per_second,
            rate: state.rate.rate(),
            throttled: state.throttled,
            cuts: state.rate.cuts,
            undone: state.rate.undone,
            settled,
            peak: state.history.iter().copied().max().unwrap_or(state.limit),
        }
    }
}

/// A call waiting for a send slot or a permit, counted as the client
/// pushing until it is dropped (sent, or the call dropped while waiting).
struct Waiting<'a>(&'a Pace);

impl<'a> Waiting<'a> {
    fn begin(pace: &'a Pace) -> Self {
        pace.lock().rate.wait_begins(Instant::now());
        Waiting(pace)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.lock().rate.wait_ends(Instant::now());
    }
}

/// A permit lent while its call waits out a `Retry-After`; taken back when
/// dropped, even if the call is dropped while it waits.
struct Lent<'a>(&'a Pace);

impl<'a> Lent<'a> {
    fn begin(pace: &'a Pace) -> Self {
        pace.lock().lent += 1;
        pace.permits.add_permits(1);
        Lent(pace)
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.lent -= 1;
        match self.0.permits.try_acquire() {
            Ok(free) => free.forget(),
            Err(_) => state.debt += 1,
        }
    }
}

impl Window {
    fn new(opened: Instant) -> Self {
        Window {
            opened,
            samples: 0,
            rtt_sum: 0.0,
            busiest: 0,
            failed: 0,
        }
    }
}

impl State {
    /// Ends a window: the limit it calls for.
    fn close_window(&mut self, ceiling: usize) -> usize {
        let window = std::mem::replace(&mut self.window, Window::new(Instant::now()));
        let limit = self.limit;
        self.history.push(limit);
        if window.failed > 0 {
            self.slow_start = false;
            return limit * 7 / 10;
        }
        let average = window.rtt_sum / window.samples as f64;
        // The baseline drifts up 2% a second, so that a server that became
        // slower for good is not read as overloaded forever.
        let drift = 1.0 + 0.02 * window.opened.duration_since(self.baseline_at).as_secs_f64();
        self.baseline_at = window.opened;
        let baseline = self.baseline.map_or(average, |b| (b * drift).min(average));
        self.baseline = Some(baseline);
        if average > baseline * 1.2 && average - baseline > 0.001 {
            self.slow_start = false;
            return (limit * 9 / 10).min(limit - 1);
        }
        let flat = average <= baseline * 1.05 || average - baseline <= 0.0005;
        if !flat {
            // Latency has begun to rise: no more doubling.
            self.slow_start = false;
        }
        let busy = window.busiest * 2 >= limit;
        if flat && busy {
            return if self.slow_start {
                (limit * 2).min(ceiling)
            } else {
                limit + 1
            };
        }
        limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(pace: &Pace, n: usize, rtt_ms: u64) {
        for _ in 0..n {
            pace.record(
                Instant::now(),
                Duration::from_millis(rtt_ms),
                Signal::Answered,
            );
        }
    }

    #[tokio::test]
    async fn the_limit_grows_while_latency_is_flat_and_busy() {
        let pace = Pace::new(64, Duration::from_secs(120));
        let permits: Vec<_> = hold(&pace, 8).await;
        answered(&pace, 16, 20);
        assert_eq!(pace.stats().limit, 16, "slow start doubles");
        drop(permits);
        // Idle: no growth, the client is not using what it has.
        answered(&pace, 16, 20);
        assert_eq!(pace.stats().limit, 16);
    }

    #[tokio::test]
    async fn rising_latency_and_overload_shrink_the_limit() {
        let pace = Pace::new(64, Duration::from_secs(120));
        let _permits = hold(&pace, 8).await;
        answered(&pace, 16, 20);
        assert_eq!(pace.stats().limit, 16);
        answered(&pace, 16, 40);
        assert_eq!(pace.stats().limit, 14, "a tenth less (at least one)");
        pace.record(Instant::now(), Duration::ZERO, Signal::Overloaded);
        answered(&pace, 5, 20);
        assert_eq!(pace.stats().limit, 14, "one decision per window");
        answered(&pace, 1, 20);
        assert_eq!(pace.stats().limit, 9, "30% less, once half a window is in");
    }

    #[tokio::test]
    async fn the_limit_never_passes_the_ceiling_or_falls_below_one() {
        let pace = Pace::new(3, Duration::from_secs(120));
        assert_eq!(pace.stats().limit, 3);
        for _ in 0..20 {
            pace.record(Instant::now(), Duration::ZERO, Signal::Overloaded);
            answered(&pace, 1, 20);
        }
        assert_eq!(pace.stats().limit, 1);
        // Only one permit can be held now.
        let one = pace.acquire().await;
        assert!(pace.permits.try_acquire().is_err());
        drop(one);
    }

    fn throttled(pace: &Pace, sent: Instant, after_ms: u64) {
        pace.record(
            sent,
            Duration::ZERO,
            Signal::Throttled(Some(Duration::from_millis(after_ms))),
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_to_a_client_that_is_not_pushing_sets_no_rate() {
        let pace = Pace::new(8, Duration::from_secs(120));
        let _one = pace.acquire().await;
        for _ in 0..20 {
            pace.before_send().await;
            tokio::time::advance(Duration::from_millis(20)).await;
            pace.record(
                Instant::now() - Duration::from_millis(20),
                Duration::from_millis(20),
                Signal::Answered,
            );
            pace.before_send().await;
            tokio::time::advance(Duration::from_millis(20)).await;
            throttled(&pace, Instant::now() - Duration::from_millis(20), 1000);
        }
        let stats = pace.stats();
        assert_eq!((stats.rate, stats.cuts, stats.throttled), (None, 0, 20));
        // And no pause: one 429 a round trip is no shared empty bucket.
        let before = Instant::now();
        pace.before_send().await;
        assert_eq!(before, Instant::now());
    }

    #[tokio::test(start_paused = true)]
    async fn three_429s_within_a_round_trip_pause_every_call_no_longer_than_the_budget() {
        let pace = Pace::new(8, Duration::from_millis(300));
        answered(&pace, 8, 20);
        let sent = Instant::now();
        throttled(&pace, sent, 3_600_000);
        throttled(&pace, sent, 3_600_000);
        let before = Instant::now();
        pace.before_send().await;
        assert_eq!(before, Instant::now(), "two are not yet evidence");
        throttled(&pace, sent, 3_600_000);
        pace.before_send().await;
        assert_eq!(
            Instant::now() - before,
            Duration::from_millis(300),
            "paused for the budget, not an hour"
        );
        assert_eq!(pace.stats().rate, None, "a pause is no cut");
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_waiting_out_a_429_lends_its_slot() {
        let pace = Pace::new(1, Duration::from_secs(120));
        let held = pace.acquire().await;
        assert!(pace.permits.try_acquire().is_err());
        let waiting = {
            let pace = pace.clone();
            tokio::spawn(async move { pace.wait_out(Duration::from_secs(1)).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Another operation runs meanwhile.
        let other = pace.acquire().await;
        assert_eq!(
            pace.stats().in_flight,
            1,
            "the waiting call is not in flight"
        );
        waiting.await.unwrap();
        drop(other);
        // The lent slot came back: one at once again.
        assert!(pace.permits.try_acquire().is_err());
        drop(held);
        assert!(pace.permits.try_acquire().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_dropped_while_it_waits_gives_back_what_it_borrowed() {
        let pace = Pace::new(1, Duration::from_secs(120));
        let held = pace.acquire().await;
        let waiting = {
            let pace = pace.clone();
            tokio::spawn(async move { pace.wait_out(Duration::from_secs(60)).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(pace.permits.try_acquire().is_ok(), "lent while it waits");
        waiting.abort();
        let _ = waiting.await;
        // Taken back: one permit in all, and it is held.
        assert!(pace.permits.try_acquire().is_err());
        assert_eq!(pace.lock().lent, 0);
        // A call dropped while waiting for a permit stops counting as pushing.
        let blocked = {
            let pace = pace.clone();
            tokio::spawn(async move { pace.acquire().await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(pace.lock().rate.waiting(), 1);
        blocked.abort();
        let _ = blocked.await;
        assert_eq!(pace.lock().rate.waiting(), 0);
        drop(held);
    }

    async fn hold(pace: &Arc<Pace>, n: usize) -> Vec<PacePermit> {
        let mut held = Vec::new();
        for _ in 0..n {
            held.push(pace.acquire().await);
        }
        held
    }
}
