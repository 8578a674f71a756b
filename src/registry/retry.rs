//! Retrying: a per-host backoff gate ("send nothing before this instant")
//! that every request to a host shares, and the retry loop that sleeps with
//! jittered exponential backoff, at least the server's `Retry-After` (capped
//! by `max_retry_after_s`). Knows nothing of HTTP beyond [`Error`]'s
//! classifiers. Imports `config` and `error` only.

use std::time::{Duration, Instant};

use crate::config::RetryConfig;
use crate::error::{Error, Result};

/// Shared "do not send before" instant for one host.
#[derive(Debug, Default)]
pub struct Backoff {
    until: std::sync::Mutex<Option<Instant>>,
}

/// `now + d`, saturating far in the future instead of overflowing.
pub fn later(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
        .unwrap_or(now)
}

impl Backoff {
    /// Waits until the host's backoff window has passed.
    pub async fn wait(&self) {
        let until = self.until.lock().map(|g| *g).unwrap_or(None);
        if let Some(t) = until {
            let now = Instant::now();
            if t > now {
                tokio::time::sleep(t - now).await;
            }
        }
    }

    /// Extends the window to at least `d` from now.
    pub fn extend(&self, d: Duration) {
        if let Ok(mut g) = self.until.lock() {
            let t = later(d);
            if g.is_none_or(|cur| cur < t) {
                *g = Some(t);
            }
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or attempts run out;
/// sleeps with jittered exponential backoff between attempts (at least the
/// server's `Retry-After`), extending `gate` so every request to the host waits.
pub async fn with_retries<T, F, Fut>(
    policy: &RetryConfig,
    gate: &Backoff,
    mut on_retry: impl FnMut(u32, &Error),
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut n: u32 = 0;
    loop {
        n = n.saturating_add(1);
        gate.wait().await;
        match attempt(n).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() && n < policy.attempts_for(&e) => {
                let d = policy.delay(n, e.retry_after());
                gate.extend(d);
                on_retry(n, &e);
            }
            Err(e) if e.is_retryable() && n > 1 => {
                return Err(Error::Exhausted {
                    attempts: n,
                    last: Box::new(e),
                })
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_waits_do_not_panic() {
        let b = Backoff::default();
        b.extend(Duration::from_secs(u64::MAX));
        b.extend(Duration::MAX);
        let _ = later(Duration::MAX);
    }
}
