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
//! call without an answer shrinks it by 30%, a `429` by half. It stays between
//! 1 and the ceiling (`--parallelism`, default 64).
//!
//! **Rate** is free until the server answers `429`. Then every call of the
//! client (not only the one that got it) waits out `Retry-After` (capped at
//! the retry budget: a hostile hour holds nobody that long), and calls
//! are paced at 90% of what was served since the first call (the server's
//! burst is in it, so this is from above), growing by 10% a second. At each
//! later `429`, what was served since an earlier one at least a second
//! before, over the time since (pauses included, during which the server's
//! bucket refills), is the server's rate: its bucket was empty at both ends.
//! The pace is 99% of it, growing by 3% a second below it and by 0.2% past
//! it (a bucket of one second's worth then lasts half a minute). (A `429` within a quarter second of the last says only that the pace
//! is far too high: it halves.) A `429` to a request sent before the last
//! one was handled says nothing new and changes nothing. The hard ceiling
//! (`--rate-limit`) is a separate token bucket and stays.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    limit: usize,
    /// Permits to forget as they come back (the limit shrank below the
    /// number held).
    debt: usize,
    in_flight: usize,
    window: Window,
    /// The lowest window average latency, in seconds.
    baseline: Option<f64>,
    baseline_at: Instant,
    /// No sign of load yet: the limit doubles per window.
    slow_start: bool,
    /// The limit at the end of each window, for the settled value.
    history: Vec<usize>,
    rate: Option<f64>,
    /// When the rate last changed (probes wait a second after it).
    rate_changed: Instant,
    next_slot: Instant,
    paused_until: Option<Instant>,
    /// Each `429` episode, with `served_total` then. A `429` to a request
    /// sent before the last one began adds nothing.
    throttles: Vec<(Instant, u64)>,
    served_total: u64,
    /// That long-run rate, as of the last `429`.
    known_rate: Option<f64>,
    /// When each answered call of the last second completed (for the rate shown).
    served: VecDeque<Instant>,
    throttled: u64,
    started: Instant,
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
    /// Operations running now.
    pub in_flight: usize,
    /// Answers received over the last second.
    pub per_second: f64,
    /// The paced rate, once a `429` set one.
    pub rate: Option<f64>,
    /// `429` answers so far.
    pub throttled: u64,
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
            state: Mutex::new(State {
                limit,
                debt: 0,
                in_flight: 0,
                window: Window::new(now),
                baseline: None,
                baseline_at: now,
                slow_start: true,
                history: Vec::new(),
                rate: None,
                rate_changed: now,
                next_slot: now,
                paused_until: None,
                throttles: Vec::new(),
                served_total: 0,
                known_rate: None,
                served: VecDeque::new(),
                throttled: 0,
                started: now,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a slot for one operation.
    pub async fn acquire(self: &Arc<Self>) -> PacePermit {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        let mut state = self.lock();
        state.in_flight += 1;
        state.window.busiest = state.window.busiest.max(state.in_flight);
        drop(state);
        PacePermit {
            permit: Some(permit),
            pace: self.clone(),
        }
    }

    /// Waits until a request may go: after any `Retry-After` pause, at the
    /// paced rate.
    pub async fn before_send(&self) {
        loop {
            let (pause, slot, epoch) = {
                let mut state = self.lock();
                let now = Instant::now();
                let epoch = state.throttles.len();
                match state.paused_until {
                    Some(until) if until > now => (Some(until), None, epoch),
                    _ => (None, state.slot(now), epoch),
                }
            };
            if let Some(until) = pause {
                tokio::time::sleep_until(until.into()).await;
                continue;
            }
            let Some(slot) = slot else {
                return;
            };
            tokio::time::sleep_until(slot.into()).await;
            // A `429` meanwhile: this slot was given at the old pace; wait
            // out the pause and take a new one.
            if self.lock().throttles.len() == epoch {
                return;
            }
        }
    }

    /// Learns from one completed call, sent at `sent` and taking `rtt`.
    pub fn record(&self, sent: Instant, rtt: Duration, signal: Signal) {
        let mut state = self.lock();
        let now = Instant::now();
        match signal {
            Signal::Answered => {
                state.served.push_back(now);
                state.served_total += 1;
                if sent >= state.window.opened {
                    state.window.samples += 1;
                    state.window.rtt_sum += rtt.as_secs_f64();
                }
            }
            Signal::Overloaded if sent >= state.window.opened => state.window.failed += 1,
            Signal::Overloaded => {}
            Signal::Throttled(retry_after) => {
                state.throttled += 1;
                if state.throttles.last().is_none_or(|(e, _)| sent >= *e) {
                    state.throttle(now, retry_after.map(|d| d.min(self.max_pause)));
                    let limit = state.limit;
                    self.set_limit(&mut state, limit / 2);
                }
            }
        }
        while state
            .served
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(1))
        {
            state.served.pop_front();
        }
        // One decision per window: about a round trip's calls, or half that
        // when some were overloaded.
        let calls = state.window.samples + state.window.failed;
        let enough = calls >= state.limit.max(16)
            || (state.window.failed > 0 && calls >= (state.limit / 2).max(2));
        if enough {
            let next = state.close_window(self.ceiling);
            self.set_limit(&mut state, next);
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
            in_flight: state.in_flight,
            per_second,
            rate: state.rate,
            throttled: state.throttled,
            settled,
            peak: state.history.iter().copied().max().unwrap_or(state.limit),
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
    /// The next send time at the paced rate (reserved), or `None` when the
    /// rate is free.
    fn slot(&mut self, now: Instant) -> Option<Instant> {
        let rate = self.rate?;
        if now.duration_since(self.rate_changed) >= Duration::from_secs(1) {
            // Before the long-run rate is known (one `429` is no measure):
            // +25% a second. Then +3% up to just below it, and a crawl past
            // it, so that the next `429` is far off.
            let factor = match self.known_rate {
                None => 1.1,
                Some(k) if rate < 0.99 * k => 1.03,
                Some(_) => 1.002,
            };
            self.rate = Some(rate * factor + 0.1);
            self.rate_changed = now;
        }
        let rate = self.rate.expect("set");
        let slot = self.next_slot.max(now);
        self.next_slot = slot + Duration::from_secs_f64(1.0 / rate);
        (slot > now).then_some(slot)
    }

    /// A new `429` episode: pause everyone, then pace below what was served.
    fn throttle(&mut self, now: Instant, retry_after: Option<Duration>) {
        let pause = retry_after.unwrap_or(Duration::from_secs(1));
        let until = now + pause;
        // What was served since an earlier `429` at least a second ago (or
        // since the first call), over the time since, pauses included: the
        // server's bucket was empty then and is empty now, so while the
        // client kept it so this is the server's rate, and a bound from
        // below otherwise. Since the first call it also holds the server's
        // initial burst: too high, which the next `429` corrects. Too short a
        // span measures nothing, but a `429` so soon says the pace is far
        // too high: it halves.
        let from = self
            .throttles
            .iter()
            .rev()
            .find(|(t, _)| now.duration_since(*t) >= Duration::from_secs(1))
            .or(self.throttles.first())
            .copied();
        let (since, served_then, factor) = match from {
            Some((t, n)) => (t, n, 0.99),
            None => (self.started, 0, 0.9),
        };
        let span = now.duration_since(since).as_secs_f64();
        let rate = if span >= 0.25 {
            let served = (self.served_total - served_then) as f64 / span;
            if from.is_some() {
                self.known_rate = Some(served);
            }
            factor * served
        } else {
            0.5 * self
                .rate
                .unwrap_or(f64::MAX)
                .min(self.served_total as f64 / span.max(0.05))
        }
        .max(0.5);
        tracing::debug!(
            pace = rate,
            long_run = self.known_rate,
            pause_ms = pause.as_millis() as u64,
            "429: every call waits, then goes at the new pace"
        );
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        self.throttles.push((now, self.served_total));
        self.rate = Some(rate);
        self.rate_changed = until;
        self.next_slot = until;
        self.slow_start = false;
    }

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

    #[tokio::test]
    async fn a_429_pauses_every_call_and_sets_a_pace() {
        let pace = Pace::new(8, Duration::from_secs(120));
        answered(&pace, 40, 1);
        let sent = Instant::now();
        pace.record(
            sent,
            Duration::ZERO,
            Signal::Throttled(Some(Duration::from_millis(200))),
        );
        let stats = pace.stats();
        assert!(stats.rate.is_some(), "{stats:?}");
        assert_eq!(stats.throttled, 1);
        // A 429 to a request sent before that adds nothing.
        pace.record(sent, Duration::ZERO, Signal::Throttled(None));
        assert_eq!(pace.stats().rate, stats.rate);
        let start = Instant::now();
        pace.before_send().await;
        assert!(start.elapsed() >= Duration::from_millis(150), "paused");
    }

    #[tokio::test]
    async fn a_long_retry_after_pauses_no_longer_than_the_budget() {
        let pace = Pace::new(8, Duration::from_millis(100));
        pace.record(
            Instant::now(),
            Duration::ZERO,
            Signal::Throttled(Some(Duration::from_secs(3600))),
        );
        let until = pace.lock().paused_until.unwrap();
        assert!(until <= Instant::now() + Duration::from_millis(100));
    }

    async fn hold(pace: &Arc<Pace>, n: usize) -> Vec<PacePermit> {
        let mut held = Vec::new();
        for _ in 0..n {
            held.push(pace.acquire().await);
        }
        held
    }
}
