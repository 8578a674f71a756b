//! `sync --watch`: the schedule (an interval with jitter, cycles never
//! overlapping), the health state behind `/healthz` and `/readyz`, the
//! Prometheus metrics ([`metrics`]) and the small HTTP server that exposes
//! them ([`server`]). Imports `registry` (per-host statistics, in
//! `metrics` only) and `error`; never prints; knows nothing of the sync
//! file or the copy engine.

pub mod metrics;
pub mod server;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Parses `15m`, `90s`, `1h30m`, `500ms` (units ms, s, m, h; at least one).
pub fn parse_duration(input: &str) -> Result<Duration> {
    let bad = |why: &str| {
        Error::Usage(format!(
            "{input:?}: {why} (a duration like 30s, 15m, 1h30m)"
        ))
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(bad("empty"));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("expected a number"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| bad("number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(|| bad("too long"))?),
            "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(|| bad("too long"))?),
            "" => return Err(bad("missing unit")),
            _ => return Err(bad("unknown unit")),
        };
        rest = &rest[unit_len..];
        total = total.checked_add(part).ok_or_else(|| bad("too long"))?;
    }
    if total.is_zero() {
        return Err(bad("must be more than zero"));
    }
    Ok(total)
}

/// When the next cycle starts: every `interval` from the start of the
/// previous one, give or take `jitter` (a fraction of the interval), and
/// never before the previous cycle ended.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// The interval.
    pub interval: Duration,
    /// Spread, as a fraction of the interval (0.1 = ±10 %).
    pub jitter: f64,
}

impl Schedule {
    /// A schedule with ±10 % jitter.
    pub fn new(interval: Duration) -> Self {
        Schedule {
            interval,
            jitter: 0.1,
        }
    }

    /// How long to wait after a cycle that started at `started` and has
    /// just ended (`now`); `r` is a random number in [0, 1).
    pub fn delay(&self, started: Instant, now: Instant, r: f64) -> Duration {
        let factor = 1.0 + self.jitter * (2.0 * r.clamp(0.0, 1.0) - 1.0);
        let target = self.interval.mul_f64(factor.max(0.0));
        target.saturating_sub(now.saturating_duration_since(started))
    }
}

/// What `/healthz` and `/readyz` answer from.
#[derive(Debug)]
pub struct Health {
    interval: Duration,
    last_success: Mutex<Option<Instant>>,
    stopping: AtomicBool,
}

impl Health {
    /// Health for a loop running every `interval`.
    pub fn new(interval: Duration) -> Self {
        Health {
            interval,
            last_success: Mutex::new(None),
            stopping: AtomicBool::new(false),
        }
    }

    /// A cycle succeeded (every image copied or unchanged) and ended at `at`.
    pub fn succeeded(&self, at: Instant) {
        let mut g = match self.last_success.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = Some(at);
    }

    /// The process is draining: not ready any more.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Ready when the last successful cycle ended within two intervals and
    /// the process is not stopping.
    pub fn ready(&self, now: Instant) -> bool {
        if self.stopping.load(Ordering::SeqCst) {
            return false;
        }
        let last = match self.last_success.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        };
        last.is_some_and(|t| now.saturating_duration_since(t) <= self.interval.saturating_mul(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration(" 2s ").unwrap(), Duration::from_secs(2));
        for bad in [
            "",
            "15",
            "m",
            "0s",
            "1d",
            "-1s",
            "99999999999999999999h",
            "5s x",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn schedule_jitters_and_never_overlaps() {
        let s = Schedule::new(Duration::from_secs(100));
        let t0 = Instant::now();
        let done = t0 + Duration::from_secs(10);
        assert_eq!(s.delay(t0, done, 0.5), Duration::from_secs(90));
        assert_eq!(s.delay(t0, done, 0.0), Duration::from_secs(80));
        assert!(s.delay(t0, done, 0.999_999) > Duration::from_secs(99));
        // A cycle longer than the interval: the next one starts at once.
        assert_eq!(
            s.delay(t0, t0 + Duration::from_secs(500), 0.9),
            Duration::ZERO
        );
    }

    #[test]
    fn readiness_needs_a_recent_success() {
        let h = Health::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(!h.ready(t0), "not ready before the first cycle");
        h.succeeded(t0);
        assert!(h.ready(t0 + Duration::from_secs(20)));
        assert!(
            !h.ready(t0 + Duration::from_secs(21)),
            "two intervals without success"
        );
        h.succeeded(t0 + Duration::from_secs(21));
        assert!(h.ready(t0 + Duration::from_secs(22)));
        h.stopping();
        assert!(!h.ready(t0 + Duration::from_secs(22)));
    }
}
