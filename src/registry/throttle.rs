//! Pacing requests so registries do not have to throttle us: per (host,
//! [`Action`]) an AIMD window (additive increase on success, multiplicative
//! decrease on 429/503) bounding requests in flight, and, where the host has a
//! documented quota (ECR's TPS per API action, or the config's `rates`), a
//! token bucket at that rate that also backs off on throttles and recovers
//! slowly. Other hosts get the AIMD window only. Imports `types` only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::types::Action;

/// A token bucket (as GCRA: each request takes the next free slot).
#[derive(Debug)]
struct Bucket {
    /// The documented rate (requests per second).
    nominal: f64,
    /// The rate in use (lowered on throttles, restored on successes).
    rate: f64,
    /// Theoretical arrival time of the next request.
    tat: Option<Instant>,
    /// When the rate was last lowered (a burst of 429s lowers it once).
    last_decrease: Option<Instant>,
    /// Start of the current one-second tally of successes.
    tally_start: Option<Instant>,
    /// Successes in the current tally.
    tally: u32,
    /// Successes per second in the last full tally: what the server accepted.
    accepted: Option<f64>,
    /// Bumped by every decrease: slots booked before it are booked again.
    generation: u64,
}

impl Bucket {
    fn new(rate: f64) -> Bucket {
        // Run a little under the documented rate: the server's own bucket
        // and ours never start at the same instant.
        let rate = rate * 0.95;
        Bucket {
            nominal: rate,
            rate,
            tat: None,
            last_decrease: None,
            tally_start: None,
            tally: 0,
            accepted: None,
            generation: 0,
        }
    }

    fn roll(&mut self, now: Instant) {
        let start = *self.tally_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= Duration::from_secs(1) {
            self.accepted = Some(f64::from(self.tally) / elapsed.as_secs_f64());
            self.tally_start = Some(now);
            self.tally = 0;
        }
    }

    /// Requests allowed at once after an idle spell: one second's worth of
    /// the current rate, at most 20.
    fn burst(&self) -> f64 {
        self.rate.clamp(1.0, 20.0)
    }

    /// Decrease on a throttle: to just under what the server accepted in
    /// the last second (a first burst counts as one second's worth), or by a
    /// fifth when that says nothing lower; once per quarter second however
    /// many 429s of one burst arrive.
    fn decrease(&mut self, now: Instant) {
        self.roll(now);
        let recent = self
            .last_decrease
            .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_millis(250));
        if recent {
            return;
        }
        let accepted = self.accepted.unwrap_or_else(|| {
            let secs = self
                .tally_start
                .map(|t| now.saturating_duration_since(t).as_secs_f64())
                .unwrap_or(0.0)
                .max(1.0);
            f64::from(self.tally) / secs
        });
        let target = (self.rate * 0.8).min(accepted * 0.95);
        self.rate = target.max(self.nominal * 0.02);
        self.last_decrease = Some(now);
        self.generation = self.generation.wrapping_add(1);
        // Slots booked at the old rate are booked again at the new one.
        self.tat = self.tat.map(|t| t.min(now));
    }

    /// Increase on a success: a small step, proportional to the rate, so a
    /// lowered rate creeps back and probes the server's limit slowly.
    fn increase(&mut self, now: Instant) {
        self.roll(now);
        self.tally = self.tally.saturating_add(1);
        let step = (self.rate * 0.003).max(0.01);
        self.rate = (self.rate + step).min(self.nominal);
    }

    /// When the next request may go (and books that slot).
    fn slot(&mut self, now: Instant) -> Instant {
        let interval = Duration::from_secs_f64(1.0 / self.rate.max(0.001));
        let tolerance = interval.mul_f64((self.burst() - 1.0).max(0.0));
        let tat = self.tat.unwrap_or(now).max(now);
        let allowed = tat.checked_sub(tolerance).unwrap_or(now).max(now);
        self.tat = Some(tat + interval);
        allowed
    }
}

/// An AIMD window: how many requests may be in flight.
#[derive(Debug)]
struct Window {
    limit: f64,
    min: f64,
    max: f64,
    in_flight: usize,
    last_decrease: Option<Instant>,
}

/// Pacing state of one (host, action).
#[derive(Debug)]
pub struct Lane {
    action: Action,
    window: Mutex<Window>,
    bucket: Option<Mutex<Bucket>>,
    freed: Notify,
}

/// A slot in a lane's window, released on drop.
#[derive(Debug)]
pub struct Permit {
    lane: Arc<Lane>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut w) = self.lane.window.lock() {
            w.in_flight = w.in_flight.saturating_sub(1);
        }
        self.lane.freed.notify_waiters();
    }
}

impl Lane {
    fn new(action: Action, rate: Option<f64>, initial: usize) -> Lane {
        Lane {
            action,
            window: Mutex::new(Window {
                limit: initial as f64,
                min: 1.0,
                max: 256.0,
                in_flight: 0,
                last_decrease: None,
            }),
            bucket: rate
                .filter(|r| r.is_finite() && *r > 0.0)
                .map(|r| Mutex::new(Bucket::new(r))),
            freed: Notify::new(),
        }
    }

    /// Waits for a slot in the window, then for the bucket's next slot.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let notified = self.freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let got = match self.window.lock() {
                Ok(mut w) => {
                    if (w.in_flight as f64) < w.limit.floor().max(1.0) {
                        w.in_flight += 1;
                        true
                    } else {
                        false
                    }
                }
                Err(_) => true,
            };
            if got {
                break;
            }
            notified.await;
        }
        let permit = Permit { lane: self.clone() };
        if let Some(b) = &self.bucket {
            loop {
                let now = Instant::now();
                let Ok((at, generation)) = b.lock().map(|mut b| (b.slot(now), b.generation)) else {
                    break;
                };
                if at <= now {
                    break;
                }
                tokio::time::sleep_until(at.into()).await;
                // A throttle while we slept lowered the rate: our slot was
                // booked at the old one, so book again.
                if b.lock().map(|b| b.generation == generation).unwrap_or(true) {
                    break;
                }
            }
        }
        permit
    }

    /// The request went through: widen the window by about one per window's
    /// worth of successes, and let the rate creep back to the documented one.
    pub fn success(&self) {
        if let Ok(mut w) = self.window.lock() {
            w.limit = (w.limit + 1.0 / w.limit.max(1.0)).min(w.max);
        }
        if let Some(b) = &self.bucket {
            if let Ok(mut b) = b.lock() {
                b.increase(Instant::now());
            }
        }
    }

    /// The registry throttled the request: halve the window (once per burst
    /// of throttles) and slow the bucket.
    pub fn throttled(&self) {
        let now = Instant::now();
        if let Ok(mut w) = self.window.lock() {
            let recent = w
                .last_decrease
                .is_some_and(|t| now.saturating_duration_since(t) < Duration::from_millis(500));
            if !recent {
                w.limit = (w.limit / 2.0).max(w.min);
                w.last_decrease = Some(now);
            }
        }
        if let Some(b) = &self.bucket {
            if let Ok(mut b) = b.lock() {
                b.decrease(now);
            }
        }
    }

    /// The action this lane paces.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The current window (requests in flight allowed).
    pub fn limit(&self) -> f64 {
        self.window.lock().map(|w| w.limit).unwrap_or(1.0)
    }
}

/// Every lane of one host.
#[derive(Debug)]
pub struct HostThrottle {
    rates: HashMap<Action, f64>,
    initial: usize,
    lanes: Mutex<HashMap<Action, Arc<Lane>>>,
}

impl HostThrottle {
    /// A throttle with per-action rates (empty: AIMD only) and an initial window.
    pub fn new(rates: HashMap<Action, f64>, initial: usize) -> Self {
        HostThrottle {
            rates,
            initial: initial.max(1),
            lanes: Mutex::new(HashMap::new()),
        }
    }

    /// The lane of an action.
    pub fn lane(&self, action: Action) -> Arc<Lane> {
        let mut lanes = match self.lanes.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        lanes
            .entry(action)
            .or_insert_with(|| {
                Arc::new(Lane::new(
                    action,
                    self.rates.get(&action).copied(),
                    self.initial,
                ))
            })
            .clone()
    }

    /// The documented rate of an action on this host, if any.
    pub fn rate(&self, action: Action) -> Option<f64> {
        self.rates.get(&action).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_aimd() {
        let l = Lane::new(Action::PutImage, None, 8);
        l.throttled();
        assert_eq!(l.limit(), 4.0);
        l.throttled(); // same burst: no second halving
        assert_eq!(l.limit(), 4.0);
        for _ in 0..4 {
            l.success();
        }
        assert!(l.limit() > 4.5 && l.limit() < 5.5, "{}", l.limit());
        let one = Lane::new(Action::PutImage, None, 1);
        one.throttled();
        assert_eq!(one.limit(), 1.0, "never below one");
    }

    #[test]
    fn bucket_paces_after_burst() {
        let mut b = Bucket::new(10.0);
        let now = Instant::now();
        let slots: Vec<Instant> = (0..30).map(|_| b.slot(now)).collect();
        let burst = slots.iter().filter(|s| **s == now).count();
        assert!((9..=10).contains(&burst), "burst {burst}");
        let last = slots[29].duration_since(now).as_secs_f64();
        // 30 requests at 9.5/s with a burst of 9.5: about 2.1 s.
        assert!((1.8..2.4).contains(&last), "{last}");
    }

    #[test]
    fn bucket_drops_to_what_the_server_accepts() {
        let mut b = Bucket::new(100.0);
        let t0 = Instant::now();
        // The server accepted 10 in the last second, then throttled.
        for i in 0..10 {
            b.increase(t0 + Duration::from_millis(i * 100));
        }
        b.roll(t0 + Duration::from_millis(1000));
        b.decrease(t0 + Duration::from_millis(1001));
        assert!((8.0..=9.6).contains(&b.rate), "{}", b.rate);
        let r = b.rate;
        b.decrease(t0 + Duration::from_millis(1100));
        assert_eq!(b.rate, r, "one burst of 429s lowers the rate once");
        for _ in 0..100 {
            b.increase(t0 + Duration::from_millis(1500));
        }
        assert!(b.rate > r && b.rate < r * 1.5, "slow recovery: {}", b.rate);
    }

    #[tokio::test]
    async fn window_bounds_in_flight() {
        let t = HostThrottle::new(HashMap::new(), 2);
        let lane = t.lane(Action::BatchGetImage);
        let a = lane.acquire().await;
        let _b = lane.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(50), lane.acquire()).await;
        assert!(third.is_err(), "a third request waits");
        drop(a);
        let third = tokio::time::timeout(Duration::from_secs(2), lane.acquire()).await;
        assert!(third.is_ok(), "released slot is reused");
    }
}
