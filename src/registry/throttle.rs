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
    /// Requests allowed at once after an idle spell.
    burst: f64,
    /// Theoretical arrival time of the next request.
    tat: Option<Instant>,
}

impl Bucket {
    fn new(rate: f64) -> Bucket {
        // Run a little under the documented rate: the server's own bucket
        // and ours never start at the same instant.
        let rate = rate * 0.95;
        Bucket {
            nominal: rate,
            rate,
            burst: rate.clamp(1.0, 20.0),
            tat: None,
        }
    }

    /// When the next request may go (and books that slot).
    fn slot(&mut self, now: Instant) -> Instant {
        let interval = Duration::from_secs_f64(1.0 / self.rate.max(0.001));
        let tolerance = interval.mul_f64((self.burst - 1.0).max(0.0));
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
            let now = Instant::now();
            let at = b.lock().map(|mut b| b.slot(now)).unwrap_or(now);
            if at > now {
                tokio::time::sleep_until(at.into()).await;
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
                b.rate = (b.rate + b.nominal * 0.01).min(b.nominal);
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
                b.rate = (b.rate * 0.8).max(b.nominal * 0.1);
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
