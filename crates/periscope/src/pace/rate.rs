//! The request rate: free until the server's `429`s show that this client
//! is the one running its bucket dry, then AIMD around the rate the server
//! serves. The rules in prose are in the module doc of [`super`].

use std::time::Duration;

use tokio::time::Instant;

/// A cut goes to this share of the rate sent when the `429`s came.
const BETA: f64 = 0.75;
/// Recovery heads back to this share of the rate where `429`s began (what
/// the server served then: its rate): just below, where a bucket refills.
const RECOVER_TO: f64 = 0.97;
/// Past the recovery point the rate grows by this share of it a second,
/// doubling each clean second (up to 16 times as much).
const PROBE: f64 = 0.01;
/// An epoch lasts at least this long (and two round trips) ...
const MIN_EPOCH: Duration = Duration::from_millis(100);
/// ... and holds at least this many answers, unless it runs this long.
const MIN_ANSWERS: u32 = 8;
const MAX_EPOCH: Duration = Duration::from_secs(2);
/// The floor: this share of the most answers served within a second.
const FLOOR_SHARE: f64 = 0.25;
/// `429`s to a client sending below this share of the most the server
/// served a second (over `PEAK_SPAN`) are not its doing.
const PEAK_SHARE: f64 = 0.9;
/// The span the peak is measured over: long enough that a burst of a
/// second's worth adds a fifth.
const PEAK_SPAN: Duration = Duration::from_secs(5);
/// The lowest rate ever paced at, in requests a second.
const MIN_RATE: f64 = 1.0;
/// Answers without a `429` assumed before any noise is seen.
const NOISE_PRIOR: u64 = 32;
/// A server's burst hides its rate for about this long after the start.
const BURST_SPAN: Duration = Duration::from_secs(1);

/// What the client did and met over one epoch.
#[derive(Debug)]
struct Epoch {
    opened: Instant,
    /// Requests sent during the epoch.
    sent: u32,
    /// Answers to requests sent during the epoch, `429`s included.
    answers: u32,
    /// Of those, `429`s.
    throttled: u32,
    /// The last of those answers, a bit each (1: `429`), newest lowest.
    last: u16,
    /// When each of the last 12 of those came, oldest first.
    last_at: std::collections::VecDeque<Instant>,
    /// Answers other than `429` received during the epoch.
    served: u32,
    /// Time of the epoch under a pause every call waited out.
    paused: Duration,
    /// A call waited for a send slot or a permit during the epoch.
    pushing: bool,
}

impl Epoch {
    fn new(opened: Instant) -> Self {
        Epoch {
            opened,
            sent: 0,
            answers: 0,
            throttled: 0,
            last: 0,
            last_at: std::collections::VecDeque::with_capacity(12),
            served: 0,
            paused: Duration::ZERO,
            pushing: false,
        }
    }

    /// The epoch's time less its pauses, in seconds.
    fn active(&self, now: Instant) -> f64 {
        now.duration_since(self.opened)
            .saturating_sub(self.paused)
            .as_secs_f64()
            .max(1e-3)
    }

    fn share(&self) -> f64 {
        f64::from(self.throttled) / f64::from(self.answers.max(1))
    }

    /// `429`s among the last 12 answers (of requests sent in the epoch).
    fn last_12(&self) -> u32 {
        if self.answers < 12 {
            return 0;
        }
        (self.last & 0x0fff).count_ones()
    }
}

/// A cut awaiting its verdict: did the share of `429`s fall?
#[derive(Debug, Clone, Copy)]
struct Trial {
    rate_before: Option<f64>,
    ceiling_before: Option<f64>,
    share_before: f64,
    /// The answers (and `429`s among them) that share is of.
    before: (u32, u32),
    /// `429`s and answers since the cut.
    throttled: u32,
    answers: u32,
}

/// The rate controller.
#[derive(Debug)]
pub(super) struct RateControl {
    /// Requests a second; `None`: free (no `429` this client caused yet).
    rate: Option<f64>,
    /// When the next request may go.
    next_slot: Instant,
    last_sent: Option<Instant>,
    /// About where the `429`s began, at the last cut that stood: what was
    /// served then.
    ceiling: Option<f64>,
    /// That ceiling was measured while the server's burst still hid its
    /// rate: the rate doubles per clean epoch until the next cut.
    slow_start: bool,
    /// Time spent clean at or past the recovery point since the last cut.
    clean: Duration,
    epoch: Epoch,
    trial: Option<Trial>,
    /// `429`s and answers after cuts that were undone: `429`s that cuts do
    /// not remove (random shedding, another client on the key), the noise
    /// floor.
    noise: (u64, u64),
    /// The most answers (not `429`) served a second, over 5 seconds (a
    /// server's burst counts for a fifth of itself), once 5 have passed.
    peak: f64,
    peak_at: Instant,
    /// When each answer (not `429`) of the last 5 seconds came.
    served_5s: std::collections::VecDeque<Instant>,
    started: Instant,
    /// Send times of recent `429`s, for a burst of them within a round trip.
    recent_429s: Vec<Instant>,
    /// Answers of the last second to requests sent since the last cut (or
    /// undone cut): when each came, and whether it was a `429`. What
    /// `429`s are beyond noise is judged over these, not one epoch's few.
    recent: std::collections::VecDeque<(Instant, bool)>,
    /// When the last cut (or undone cut) was made.
    cut_at: Instant,
    /// Calls waiting now for a send slot or a permit.
    waiting: usize,
    /// When a call last waited for one.
    pushed_at: Option<Instant>,
    /// Changes with the rate: a slot reserved before is given up and
    /// taken again.
    pub generation: u64,
    /// Cuts that stood, and cuts undone as noise.
    pub cuts: u32,
    pub undone: u32,
}

/// What the controller wants done after a `429`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Only the call that got it waits (its `Retry-After`).
    ThisCall,
    /// Several `429`s within one round trip while this client was not
    /// pushing: someone else emptied a shared bucket; every call waits.
    PauseAll,
}

impl RateControl {
    pub(super) fn new(now: Instant) -> Self {
        RateControl {
            rate: None,
            next_slot: now,
            last_sent: None,
            ceiling: None,
            slow_start: false,
            clean: Duration::ZERO,
            epoch: Epoch::new(now),
            trial: None,
            noise: (0, 0),
            peak: 0.0,
            peak_at: now,
            served_5s: std::collections::VecDeque::new(),
            started: now,
            recent_429s: Vec::new(),
            recent: std::collections::VecDeque::new(),
            cut_at: now,
            waiting: 0,
            pushed_at: None,
            generation: 0,
            cuts: 0,
            undone: 0,
        }
    }

    pub(super) fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// A call begins to wait for a send slot or a permit: the client has
    /// more to send than it may.
    pub(super) fn wait_begins(&mut self, now: Instant) {
        self.waiting += 1;
        self.epoch.pushing = true;
        self.pushed_at = Some(now);
    }

    /// Calls waiting now (for tests).
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.waiting
    }

    pub(super) fn wait_ends(&mut self, now: Instant) {
        self.waiting -= 1;
        self.pushed_at = Some(now);
    }

    /// Calls waited for a slot or a permit in this epoch, or within a
    /// second (or four round trips).
    fn pushed_lately(&self, now: Instant, srtt: Duration) -> bool {
        let lately = Duration::from_secs(1).max(srtt * 4);
        self.epoch.pushing
            || self.waiting > 0
            || self
                .pushed_at
                .is_some_and(|t| now.duration_since(t) <= lately)
    }

    /// A pause every call waits out, from `from` to `until`.
    pub(super) fn paused(&mut self, from: Instant, until: Instant) {
        self.epoch.paused += until.saturating_duration_since(from.max(self.epoch.opened));
        self.next_slot = self.next_slot.max(until);
    }

    /// Reserves the next send slot at the paced rate: `None` when the call
    /// may go now (and is counted as sent).
    pub(super) fn slot(&mut self, now: Instant) -> Option<Instant> {
        let Some(rate) = self.rate else {
            self.sent(now);
            return None;
        };
        let slot = self.next_slot.max(now);
        self.next_slot = slot + Duration::from_secs_f64(1.0 / rate);
        if slot > now {
            Some(slot)
        } else {
            self.sent(now);
            None
        }
    }

    /// A request goes now.
    pub(super) fn sent(&mut self, now: Instant) {
        self.epoch.sent += 1;
        self.last_sent = Some(now);
    }

    /// One answer to a request sent at `sent`. `last_second` is how many
    /// answers came over the last second: served (not `429`), and `429`;
    /// `srtt` the smoothed round trip.
    pub(super) fn answered(
        &mut self,
        now: Instant,
        sent: Instant,
        throttled: bool,
        last_second: (f64, f64),
        srtt: Duration,
    ) -> Verdict {
        // Sent after the epoch opened (after a cut, at the new rate).
        if sent > self.epoch.opened {
            self.epoch.answers += 1;
            self.epoch.throttled += u32::from(throttled);
            self.epoch.last = self.epoch.last << 1 | u16::from(throttled);
            if self.epoch.last_at.len() == 12 {
                self.epoch.last_at.pop_front();
            }
            self.epoch.last_at.push_back(now);
        }
        self.epoch.served += u32::from(!throttled);
        if sent > self.cut_at {
            self.recent.push_back((now, throttled));
        }
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(1))
        {
            self.recent.pop_front();
        }
        let mut verdict = Verdict::ThisCall;
        if throttled {
            self.recent_429s
                .retain(|t| sent.saturating_duration_since(*t) <= srtt);
            self.recent_429s.push(sent);
            if self.recent_429s.len() >= 3 && !self.pushed_lately(now, srtt) {
                self.recent_429s.clear();
                verdict = Verdict::PauseAll;
            }
        }
        if !throttled {
            self.served_5s.push_back(now);
        }
        while self
            .served_5s
            .front()
            .is_some_and(|t| now.duration_since(*t) > PEAK_SPAN)
        {
            self.served_5s.pop_front();
        }
        // The peak fades by 1% a second: a server (or a key shared anew)
        // that now serves less is believed within a minute. It is measured
        // over 5 seconds, once those have passed: a bucket that refilled
        // (during a pause, or a cut) adds a fifth of its burst, not all.
        if now.duration_since(self.started) >= PEAK_SPAN {
            let fade = 1.0 - 0.01 * now.duration_since(self.peak_at).as_secs_f64();
            let sustained = self.served_5s.len() as f64 / PEAK_SPAN.as_secs_f64();
            self.peak = (self.peak * fade.max(0.0)).max(sustained);
            self.peak_at = now;
        }
        let e = &self.epoch;
        let age = now.duration_since(e.opened);
        // Most answers refused: the client is far above the server's rate,
        // and each round trip more costs refusals. Decide now.
        let flooded = self.flooded();
        // While the rate is searched for, an epoch is a round trip or two.
        let enough = if self.slow_start { 2 } else { MIN_ANSWERS };
        let due = (age >= MIN_EPOCH.max(srtt * 2) && e.answers >= enough)
            || (age >= MAX_EPOCH && e.answers > 0);
        if flooded || due {
            self.close(now, last_second, srtt, flooded);
        }
        verdict
    }

    /// The share of `429`s undone cuts left, shrunk towards none by a prior
    /// of `NOISE_PRIOR` clean answers (one unlucky epoch is no floor).
    fn noise_share(&self) -> f64 {
        self.noise.0 as f64 / (self.noise.1 + NOISE_PRIOR) as f64
    }

    /// Whether the `429`s of the last second (since the last cut) are more
    /// than the noise floor explains: at least 2, and beyond two standard
    /// deviations of what it expects.
    fn excess(&self) -> bool {
        let a = self.recent.len();
        let t = self
            .recent
            .iter()
            .filter(|(_, throttled)| *throttled)
            .count();
        if t < 2 || a < MIN_ANSWERS as usize {
            return false;
        }
        let (t, a) = (t as f64, a as f64);
        let expected = self.noise_share() * a;
        t > expected + 2.0 * expected.sqrt() + 1.0
    }

    /// Ends an epoch. `last_second`: answers served, and `429`s, over the
    /// last second; `flooded`: most of the last answers were `429`.
    fn close(&mut self, now: Instant, last_second: (f64, f64), srtt: Duration, flooded: bool) {
        let (per_second, refused) = last_second;
        let recent_share = refused / (per_second + refused).max(1.0);
        let share = self.epoch.share();
        let active = self.epoch.active(now);
        let send_rate = f64::from(self.epoch.sent) / active;
        let pushing = self.pushed_lately(now, srtt);
        tracing::trace!(
            t = self.t(now),
            rate = self.rate,
            send_rate,
            answers = self.epoch.answers,
            throttled = self.epoch.throttled,
            per_second,
            pushing,
            "epoch"
        );
        let pending = self.trial.is_some() && self.try_verdict(now, share);
        if self.trial.is_none() && pending {
            // The cut was undone.
            return;
        }
        // What the server served: over the last second once a second has
        // passed (its burst spent, that is its rate when the client kept it
        // busy); before, over the epoch, if it holds enough to tell.
        let served = if now.duration_since(self.started) >= BURST_SPAN {
            Some(per_second.max(MIN_RATE))
        } else if flooded {
            // The epoch's served count holds the burst: the last answers'
            // is the rate now (counting one at least, it is from above).
            let span = self
                .epoch
                .last_at
                .front()
                .map_or(active, |t| now.duration_since(*t).as_secs_f64().max(1e-3));
            let served = 12 - self.epoch.last_12();
            Some(f64::from(served.max(1)) / span)
        } else {
            (self.epoch.served >= 4).then(|| f64::from(self.epoch.served) / active)
        };
        // From a free rate, only a flood (most answers `429`) is a limit
        // this client ran into: a share below half is retried, not paced.
        // Once paced, `429`s beyond the noise floor cut, unless a cut is
        // still being judged.
        // A bucket refuses nothing below its rate, and the server has
        // served `peak` within a second: `429`s to a client sending well
        // below that are not its doing (another client on the key, random
        // shedding) and cost only their retries.
        let below_peak = send_rate < PEAK_SHARE * self.peak;
        let limited = match self.rate {
            None => flooded,
            Some(_) => self.excess() && !pending && !below_peak,
        };
        if limited && pushing {
            self.cut(now, active, share, recent_share, send_rate, served);
        } else if pushing && self.clean() && !pending {
            self.grow(now, send_rate, active);
        }
        self.epoch = Epoch::new(now);
    }

    /// Most of the last answers were refused: the client is far above the
    /// server's rate, and each round trip more costs refusals. From a free
    /// rate it takes 9 of the last 12 (random refusals of a third make that
    /// two times in a thousand); once paced, half.
    fn flooded(&self) -> bool {
        let refused = self.epoch.last_12();
        match self.rate {
            None => refused >= 9,
            Some(_) => refused >= 6,
        }
    }

    /// No more `429`s than the noise floor explains (one is never enough
    /// to stop growing).
    fn clean(&self) -> bool {
        let expected = self.noise_share() * f64::from(self.epoch.answers);
        f64::from(self.epoch.throttled) <= expected.ceil().max(1.0)
    }

    /// Adds the epoch to the pending cut's trial; judges it once it holds
    /// enough answers to see the share of `429`s (about 8 expected `429`s,
    /// 8 to 32 answers; the rate holds meanwhile), or at once when the share doubled (the server's
    /// burst running out under a cut too shallow: no noise). Returns
    /// whether the trial is still pending (`self.trial` is `None` then if
    /// the cut was undone).
    fn try_verdict(&mut self, now: Instant, share: f64) -> bool {
        let Some(trial) = self.trial.as_mut() else {
            return false;
        };
        trial.throttled += self.epoch.throttled;
        trial.answers += self.epoch.answers;
        let needed = (8.0 / trial.share_before.max(0.01)).clamp(8.0, 32.0);
        // A rise that random refusals would seldom make: twice the share
        // before, and at least 4 or half the epoch.
        let rose = share > 2.0 * trial.share_before && (self.epoch.throttled >= 4 || share >= 0.5);
        if f64::from(trial.answers) < needed && !rose {
            return true;
        }
        let trial = self.trial.take().expect("pending");
        self.judge(now, trial)
    }

    /// The answers after a cut: if the share of `429`s did not fall (by two
    /// standard errors), they are not this client's doing and the cut is
    /// undone (retries of the calls refused are all it takes), and what it
    /// saw goes into the noise floor. Returns whether it was undone.
    fn judge(&mut self, now: Instant, trial: Trial) -> bool {
        let (t, a) = (trial.throttled, trial.answers);
        let share = f64::from(t) / f64::from(a.max(1));
        // Two samples of one share, or a share that fell? The cut stands
        // only if the share before it was above the share after by more
        // than two standard errors (a two-proportion test): random refusals
        // give the same share at any rate.
        let (t1, a1) = (f64::from(trial.before.0), f64::from(trial.before.1.max(1)));
        let (t2, a2) = (f64::from(t), f64::from(a.max(1)));
        let pooled = (t1 + t2) / (a1 + a2);
        let error = (pooled * (1.0 - pooled) * (1.0 / a1 + 1.0 / a2)).sqrt();
        let fell = t1 / a1 - t2 / a2 > 2.0 * error;
        // Most refused before the cut: a flood, no noise.
        let flood = t1 / a1 >= 0.5 || trial.share_before >= 0.5;
        if fell || flood || t == 0 && t1 / a1 > 0.25 {
            return false;
        }
        // Only a cut that changed nothing measures the noise: after one
        // that stands, what is refused may still be the bucket's doing.
        self.noise.0 += u64::from(t);
        self.noise.1 += u64::from(a);
        tracing::debug!(
            t = self.t(now),
            share,
            before = trial.share_before,
            "429s are noise: cut undone"
        );
        self.ceiling = trial.ceiling_before;
        self.set(now, trial.rate_before);
        self.cuts -= 1;
        self.undone += 1;
        self.recent.clear();
        self.cut_at = now;
        self.epoch = Epoch::new(now);
        true
    }

    /// `429`s this client caused: down to β of what it sent, or to what
    /// the server served if less (when most was refused, that is the
    /// server's rate), never below the floor. Nothing known of what was
    /// served (an epoch of refusals early on): halve, or down to what was
    /// served if less.
    #[allow(clippy::too_many_arguments, reason = "one epoch's measures")]
    fn cut(
        &mut self,
        now: Instant,
        active: f64,
        share: f64,
        recent_share: f64,
        send_rate: f64,
        served: Option<f64>,
    ) {
        let floor = (FLOOR_SHARE * self.peak).max(MIN_RATE);
        let target = match served {
            Some(served) => (BETA * send_rate).min(served),
            // Too few served to measure: what was, counting at least one.
            None => (send_rate / 4.0).min(f64::from(self.epoch.served.max(1)) / active),
        }
        .max(floor);
        let new = self
            .rate
            .map_or(target, |r| r.min(target).max(floor.min(r)));
        tracing::debug!(
            t = self.t(now),
            from = self.rate,
            to = new,
            send_rate,
            served,
            share,
            "429s this client caused: rate cut"
        );
        // The share to beat is the last second's, not the epoch's (picked
        // for its many `429`s, it overstates them). A cut in the first
        // second, the server's burst blurring every share, stands.
        let early = now.duration_since(self.started) < BURST_SPAN;
        self.trial = (!early).then_some(Trial {
            rate_before: self.rate,
            ceiling_before: self.ceiling,
            share_before: recent_share,
            before: {
                let refused = self.recent.iter().filter(|(_, r)| *r).count();
                let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
                (n(refused), n(self.recent.len()))
            },
            throttled: 0,
            answers: 0,
        });
        // The `429`s began about where what was served ends. Too few served
        // to tell (a burst spent, an epoch of refusals): search again,
        // doubling from the floor.
        // Where the `429`s began: about what the server served, or what was
        // sent when that is not known yet.
        let began = served.unwrap_or(send_rate);
        self.ceiling = Some(began.max(new));
        // In the first second the server's burst blurs what it served:
        // the rate is searched for again, doubling, until the next cut.
        self.slow_start = served.is_none() || early;
        self.clean = Duration::ZERO;
        self.cuts += 1;
        self.set(now, Some(new));
        self.recent.clear();
        self.cut_at = now;
    }

    /// A clean epoch of `span` seconds while pushing: doubling while the
    /// rate is searched for; else halfway back towards where `429`s began,
    /// then by 1% of that a second, the step doubling each clean second (a
    /// probe that finds no limit speeds up, to 16% a second).
    fn grow(&mut self, now: Instant, send_rate: f64, span: f64) {
        let (Some(rate), Some(ceiling)) = (self.rate, self.ceiling) else {
            return;
        };
        // A rate far above what is sent binds nothing: growing it would
        // only let a later burst run into the server.
        if rate > 2.0 * send_rate.max(MIN_RATE) {
            return;
        }
        // What was served is the server's rate; refusals that are noise
        // take no token, so serving that much takes sending a bit more.
        let recover = RECOVER_TO * ceiling / (1.0 - self.noise_share().min(0.5));
        let next = if self.slow_start {
            2.0 * rate
        } else if rate < recover * 0.99 {
            rate + ((recover - rate) / 2.0).max(0.2)
        } else {
            self.clean += Duration::from_secs_f64(span);
            let doublings = self.clean.as_secs().min(4) as i32;
            rate + (PROBE * ceiling * span * 2f64.powi(doublings)).max(0.05)
        };
        self.set(now, Some(next));
    }

    /// A new rate: slots are taken again from now, spaced from the last
    /// request sent.
    fn set(&mut self, now: Instant, rate: Option<f64>) {
        self.rate = rate;
        self.generation += 1;
        self.next_slot = match (rate, self.last_sent) {
            (Some(r), Some(last)) => now.max(last + Duration::from_secs_f64(1.0 / r)),
            _ => now,
        };
    }

    /// Seconds since the start, for traces.
    fn t(&self, now: Instant) -> f64 {
        now.duration_since(self.started).as_secs_f64()
    }
}
