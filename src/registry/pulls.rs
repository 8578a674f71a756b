//! Docker Hub's pull budget. A manifest GET is a pull; the registry says how
//! many are left (`ratelimit-remaining: N;w=W`) on every manifest answer, HEADs
//! included. Pulls are reserved from the last known figure *before* they are
//! spent — an image's pulls together — so parallel images never overrun it,
//! and every answer corrects it. When it is gone, the run waits (polling with
//! free HEADs at an interval derived from the window, a bounded number of
//! times) or fails, as the user chose. Only hosts the Hub adapter serves have
//! a budget. Imports `error` and `registry::ratelimit`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;

use crate::error::Error;
use crate::registry::ratelimit::{OnRateLimit, RateLimit};

#[derive(Debug, Default)]
struct State {
    /// The last figures the registry sent (`None`: no limit seen).
    snapshot: Option<RateLimit>,
    /// Pulls reserved and not yet sent.
    reserved: u64,
    /// Pulls sent and not yet answered.
    in_flight: u64,
    /// Someone is polling with HEADs; the others wait for its result.
    polling: bool,
    /// An answer was seen (with figures or without): the budget is known.
    observed: bool,
    /// When the request behind `snapshot` was sent.
    snapshot_sent: Option<Instant>,
}

impl State {
    /// Pulls neither reserved nor in flight, of what `snap` says is left.
    fn available(&self, snap: &RateLimit) -> u64 {
        snap.remaining
            .saturating_sub(self.reserved)
            .saturating_sub(self.in_flight)
    }
}

/// What [`PullBudget::try_reserve`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Reserve {
    /// Granted this many pulls (or no limit applies: `None`).
    Granted(Option<u64>),
    /// Pulls are out: poll with a HEAD after this long (this caller polls).
    Poll(Duration, RateLimit),
    /// Pulls are out or held by others: wait for a change.
    Wait,
    /// Pulls are out and the policy is to fail.
    Fail(String),
    /// Nothing is known yet: learn the figures with a free HEAD first
    /// (this caller; the others wait), so that images starting together do
    /// not all spend before the first answer.
    Learn,
}

/// One host's pull budget.
#[derive(Debug)]
pub struct PullBudget {
    host: String,
    policy: OnRateLimit,
    poll_override: Option<Duration>,
    state: Mutex<State>,
    changed: Notify,
}

/// Pulls reserved for one image; what is not spent returns on drop.
#[derive(Debug)]
pub struct Grant {
    budget: Option<Arc<PullBudget>>,
    left: Mutex<u64>,
}

impl Grant {
    /// A grant that spends nothing (no limit applies).
    pub fn unlimited() -> Grant {
        Grant {
            budget: None,
            left: Mutex::new(0),
        }
    }

    /// Takes one reserved pull for a GET about to be sent; `false` when the
    /// grant has none left (the GET must reserve on its own).
    pub fn take(&self) -> bool {
        let Some(b) = &self.budget else {
            return true;
        };
        let Ok(mut left) = self.left.lock() else {
            return false;
        };
        if *left == 0 {
            return false;
        }
        *left -= 1;
        drop(left);
        b.with_state(|s| {
            s.reserved = s.reserved.saturating_sub(1);
            s.in_flight = s.in_flight.saturating_add(1);
        });
        true
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            let left = self.left.lock().map(|l| *l).unwrap_or(0);
            if left > 0 {
                b.with_state(|s| s.reserved = s.reserved.saturating_sub(left));
                b.changed.notify_waiters();
            }
        }
    }
}

/// Most polls of one wait when the window is unknown.
const MAX_POLLS_NO_WINDOW: u32 = 60;

impl PullBudget {
    /// A budget for `host`.
    pub fn new(host: &str, policy: OnRateLimit, poll_override: Option<Duration>) -> Self {
        PullBudget {
            host: host.to_string(),
            policy,
            poll_override,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
        }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut g = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g)
    }

    /// The host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The last figures seen.
    pub fn snapshot(&self) -> Option<RateLimit> {
        self.with_state(|s| s.snapshot.clone())
    }

    /// Records the figures of a manifest answer. `limited` is what the
    /// headers said: `Some` figures, or `None` for a successful answer with
    /// no rate-limit headers (an identity without limits).
    pub fn observe(&self, figures: Option<RateLimit>) {
        self.observe_sent(figures, Instant::now());
    }

    /// Records figures from the answer to a request sent at `sent`. Answers
    /// of parallel requests arrive in any order: one sent before the
    /// request the figures came from may lower the count, never raise it
    /// (more pulls left there is an older count, not a refill).
    pub fn observe_sent(&self, figures: Option<RateLimit>, sent: Instant) {
        self.with_state(|s| {
            s.observed = true;
            let older = s.snapshot_sent.is_some_and(|at| sent < at);
            if older {
                if let (Some(f), Some(cur)) = (&figures, &s.snapshot) {
                    if f.remaining < cur.remaining {
                        s.snapshot = figures;
                    }
                }
                return;
            }
            s.snapshot = figures;
            s.snapshot_sent = Some(sent);
        });
        self.changed.notify_waiters();
    }

    /// A pull was answered (whatever the status): it is no longer in flight.
    pub fn answered(&self) {
        self.with_state(|s| s.in_flight = s.in_flight.saturating_sub(1));
        self.changed.notify_waiters();
    }

    /// The registry said the pulls are out (a pull-limit 429).
    pub fn exhausted(&self, figures: Option<RateLimit>) {
        self.with_state(|s| {
            let mut snap = figures.or_else(|| s.snapshot.clone()).unwrap_or(RateLimit {
                limit: 0,
                remaining: 0,
                window_s: None,
                source: None,
                observed_at: 0,
            });
            snap.remaining = 0;
            s.snapshot = Some(snap);
            s.observed = true;
        });
        self.changed.notify_waiters();
    }

    /// How long between polls: one pull's share of the window (a rolling
    /// window returns about one pull that often), 1 s to 5 min.
    pub fn poll_interval(&self, snap: &RateLimit) -> Duration {
        if let Some(d) = self.poll_override {
            return d.max(Duration::from_secs(1));
        }
        match snap.window_s {
            Some(w) => Duration::from_secs((w / snap.limit.max(1)).clamp(1, 300)),
            None => Duration::from_secs(60),
        }
    }

    /// How many polls one wait may take before giving up: two windows' worth.
    pub fn max_polls(&self, snap: &RateLimit) -> u32 {
        let every = self.poll_interval(snap).as_secs().max(1);
        match snap.window_s {
            Some(w) => u32::try_from(w.saturating_mul(2) / every)
                .unwrap_or(u32::MAX)
                .saturating_add(3),
            None => MAX_POLLS_NO_WINDOW,
        }
    }

    /// Tries to reserve `n` pulls (at most the whole limit at once).
    pub fn try_reserve(&self, n: u64) -> Reserve {
        self.with_state(|s| {
            let Some(snap) = s.snapshot.clone() else {
                if s.observed {
                    // Answers without figures: no limit applies.
                    return Reserve::Granted(None);
                }
                if s.polling {
                    return Reserve::Wait;
                }
                s.polling = true;
                return Reserve::Learn;
            };
            let avail = s.available(&snap);
            let want = n.min(snap.limit.max(1)).max(1);
            if avail >= want {
                s.reserved = s.reserved.saturating_add(want);
                return Reserve::Granted(Some(want));
            }
            if s.reserved > 0 || s.in_flight > 0 {
                // Others hold pulls; their answers will tell more.
                return Reserve::Wait;
            }
            if self.policy == OnRateLimit::Fail {
                return Reserve::Fail(format!("{} pull(s) needed, {}", want, snap.describe()));
            }
            if s.polling {
                return Reserve::Wait;
            }
            s.polling = true;
            Reserve::Poll(self.poll_interval(&snap), snap)
        })
    }

    /// A learning HEAD was answered: whatever it carried, the budget now
    /// counts as known (no figures: no limit), so nobody learns again.
    pub fn learned(&self) {
        self.with_state(|s| {
            s.observed = true;
            s.polling = false;
        });
        self.changed.notify_waiters();
    }

    /// A poll finished (its HEAD answer was observed, or it failed).
    pub fn poll_done(&self) {
        self.with_state(|s| s.polling = false);
        self.changed.notify_waiters();
    }

    /// A future that completes when the budget changes.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Wraps a granted count.
    pub fn grant(self: &Arc<Self>, n: Option<u64>) -> Grant {
        match n {
            None => Grant::unlimited(),
            Some(n) => Grant {
                budget: Some(self.clone()),
                left: Mutex::new(n),
            },
        }
    }

    /// The error for a wait that gave up, or a `fail` policy.
    pub fn error(&self, detail: String) -> Error {
        Error::RateLimited {
            host: self.host.clone(),
            detail,
        }
    }
}

/// `HH:MM:SS` UTC of a time, for wait messages.
pub fn clock(t: SystemTime) -> String {
    let s = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        % 86_400;
    format!("{:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(limit: u64, remaining: u64, w: Option<u64>) -> RateLimit {
        RateLimit {
            limit,
            remaining,
            window_s: w,
            source: None,
            observed_at: 0,
        }
    }

    #[test]
    fn reserves_before_spending() {
        let b = Arc::new(PullBudget::new("docker.io", OnRateLimit::Wait, None));
        assert_eq!(
            b.try_reserve(3),
            Reserve::Learn,
            "nothing known: learn first"
        );
        assert_eq!(b.try_reserve(3), Reserve::Wait, "one learner at a time");
        b.observe(Some(snap(5, 5, Some(10))));
        b.learned();
        assert_eq!(b.try_reserve(3), Reserve::Granted(Some(3)));
        let g = b.grant(Some(3));
        assert_eq!(b.try_reserve(3), Reserve::Wait, "only 2 left, 3 held");
        assert_eq!(b.try_reserve(2), Reserve::Granted(Some(2)));
        let g2 = b.grant(Some(2));
        assert!(g.take());
        assert!(g.take());
        drop(g); // one unspent returns
        assert_eq!(b.with_state(|s| (s.reserved, s.in_flight)), (2, 2));
        b.answered();
        b.answered();
        b.observe(Some(snap(5, 3, Some(10))));
        drop(g2);
        assert_eq!(b.try_reserve(3), Reserve::Granted(Some(3)));
    }

    #[test]
    fn an_older_answer_never_raises_the_count() {
        let b = PullBudget::new("docker.io", OnRateLimit::Wait, None);
        let early = Instant::now();
        let late = early + Duration::from_millis(5);
        b.observe_sent(Some(snap(6, 2, Some(4))), late);
        // The answer to a GET sent earlier arrives last, showing 5 left.
        b.observe_sent(Some(snap(6, 5, Some(4))), early);
        assert!(
            !matches!(b.try_reserve(3), Reserve::Granted(_)),
            "2 left, not 5"
        );
        b.poll_done();
        // A later answer (a poll after the window refilled) raises it.
        b.observe_sent(Some(snap(6, 6, Some(4))), late + Duration::from_millis(5));
        assert_eq!(b.try_reserve(3), Reserve::Granted(Some(3)));
    }

    #[test]
    fn out_of_pulls_polls_once_and_fails_when_asked() {
        let b = PullBudget::new("docker.io", OnRateLimit::Wait, None);
        b.exhausted(Some(snap(5, 0, Some(10))));
        match b.try_reserve(1) {
            Reserve::Poll(d, _) => assert_eq!(d, Duration::from_secs(2)),
            other => panic!("{other:?}"),
        }
        assert_eq!(b.try_reserve(1), Reserve::Wait, "one poller at a time");
        b.poll_done();
        b.observe(None);
        assert_eq!(
            b.try_reserve(1),
            Reserve::Granted(None),
            "no headers: unlimited"
        );

        let f = PullBudget::new("docker.io", OnRateLimit::Fail, None);
        f.exhausted(Some(snap(100, 0, Some(21600))));
        assert!(matches!(f.try_reserve(2), Reserve::Fail(_)));
    }

    #[test]
    fn intervals_come_from_the_window() {
        let b = PullBudget::new("docker.io", OnRateLimit::Wait, None);
        assert_eq!(
            b.poll_interval(&snap(100, 0, Some(21600))),
            Duration::from_secs(216)
        );
        assert_eq!(
            b.poll_interval(&snap(5, 0, Some(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            b.poll_interval(&snap(0, 0, Some(u64::MAX))),
            Duration::from_secs(300)
        );
        assert_eq!(b.max_polls(&snap(5, 0, Some(10))), 13);
        assert!(b.max_polls(&snap(1, 0, Some(u64::MAX))) > 0);
        assert_eq!(b.max_polls(&snap(5, 0, None)), MAX_POLLS_NO_WINDOW);
        assert_eq!(
            clock(SystemTime::UNIX_EPOCH + Duration::from_secs(3661)),
            "01:01:01 UTC"
        );
    }
}
