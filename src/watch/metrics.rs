//! The metrics of `sync --watch` (the `prometheus-client` crate), served on
//! `/metrics` in the Prometheus text format (0.0.4), or OpenMetrics when
//! the scraper asks for it: per cycle (images copied, unchanged, failed,
//! skipped; bytes; duration; the last success) and per registry host
//! (requests, 429s drawn, retries, manifest GETs — Docker Hub's pulls —
//! and the pull limit the host last reported). [`Metrics::observe_pool`] is
//! the one place that reads the registry clients' statistics. Imports
//! `registry`; never prints.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use crate::error::{Error, Result};
use crate::registry::Pool;

/// One label, e.g. `status="copied"`.
type Label = [(&'static str, String); 1];

fn label(key: &'static str, value: &str) -> Label {
    [(key, value.to_string())]
}

/// The `Content-Type` of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;
/// The `Content-Type` of the OpenMetrics text format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What one cycle did.
#[derive(Clone, Debug, Default)]
pub struct CycleStats {
    /// Images copied.
    pub copied: u64,
    /// Images already identical at the destination.
    pub unchanged: u64,
    /// Images that failed.
    pub failed: u64,
    /// Images not attempted (a stop, or the pull limit).
    pub skipped: u64,
    /// Bytes streamed.
    pub bytes_copied: u64,
    /// Wall time of the cycle.
    pub duration: Duration,
    /// Whether the cycle succeeded (planned, and no image failed or skipped).
    pub success: bool,
}

/// Every metric of a watch process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    cycles: Family<Label, Counter>,
    last_images: Family<Label, Gauge>,
    images: Family<Label, Counter>,
    bytes: Counter,
    duration: Histogram,
    last_duration: Gauge<f64, AtomicU64>,
    last_success: Gauge<f64, AtomicU64>,
    file_errors: Counter,
    ready: Gauge,
    requests: Family<Label, Counter>,
    throttled: Family<Label, Counter>,
    retries: Family<Label, Counter>,
    pulls: Family<Label, Counter>,
    pulls_remaining: Family<Label, Gauge>,
    pulls_limit: Family<Label, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Raises a counter to `total` (the clients count from the start of the process).
fn catch_up(c: &Counter, total: u64) {
    let now = c.get();
    if total > now {
        c.inc_by(total - now);
    }
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Metrics {
    /// Registers every metric under the `crossdock_` prefix.
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("crossdock");
        let m = Metrics {
            cycles: Family::default(),
            last_images: Family::default(),
            images: Family::default(),
            bytes: Counter::default(),
            duration: Histogram::new(exponential_buckets(0.25, 2.0, 14)),
            last_duration: Gauge::default(),
            last_success: Gauge::default(),
            file_errors: Counter::default(),
            ready: Gauge::default(),
            requests: Family::default(),
            throttled: Family::default(),
            retries: Family::default(),
            pulls: Family::default(),
            pulls_remaining: Family::default(),
            pulls_limit: Family::default(),
            registry: Registry::default(),
        };
        r.register(
            "sync_cycles",
            "Sync cycles run, by result (success: every image copied or unchanged)",
            m.cycles.clone(),
        );
        r.register(
            "sync_last_cycle_images",
            "Images of the last cycle, by status (copied, unchanged, failed, skipped)",
            m.last_images.clone(),
        );
        r.register(
            "sync_images",
            "Images handled since the start, by status",
            m.images.clone(),
        );
        r.register_with_unit(
            "sync_copied",
            "Bytes of blobs streamed to the destinations",
            Unit::Bytes,
            m.bytes.clone(),
        );
        r.register_with_unit(
            "sync_cycle_duration",
            "Wall time of a sync cycle",
            Unit::Seconds,
            m.duration.clone(),
        );
        r.register_with_unit(
            "sync_last_cycle_duration",
            "Wall time of the last sync cycle",
            Unit::Seconds,
            m.last_duration.clone(),
        );
        r.register_with_unit(
            "sync_last_success_timestamp",
            "When the last successful cycle ended (Unix time)",
            Unit::Seconds,
            m.last_success.clone(),
        );
        r.register(
            "sync_file_errors",
            "Times the mirror file could not be read or was invalid (the last good one was used)",
            m.file_errors.clone(),
        );
        r.register(
            "sync_ready",
            "1 when the last successful cycle ended within two intervals (what /readyz answers)",
            m.ready.clone(),
        );
        r.register(
            "registry_requests",
            "HTTP requests sent to a registry host (retries included)",
            m.requests.clone(),
        );
        r.register(
            "registry_throttled",
            "429 answers drawn from a registry host",
            m.throttled.clone(),
        );
        r.register(
            "registry_retries",
            "Requests retried after a retryable failure, per registry host",
            m.retries.clone(),
        );
        r.register(
            "registry_pulls",
            "Manifest GETs answered by a registry host: pulls, on Docker Hub",
            m.pulls.clone(),
        );
        r.register(
            "registry_pulls_remaining",
            "Pulls left in the current window, as the host last reported (Docker Hub)",
            m.pulls_remaining.clone(),
        );
        r.register(
            "registry_pulls_limit",
            "Pulls allowed per window, as the host last reported (Docker Hub)",
            m.pulls_limit.clone(),
        );
        Metrics { registry: r, ..m }
    }

    /// Records a finished cycle.
    pub fn record_cycle(&self, c: &CycleStats) {
        let result = if c.success { "success" } else { "failure" };
        self.cycles.get_or_create(&label("result", result)).inc();
        for (status, n) in [
            ("copied", c.copied),
            ("unchanged", c.unchanged),
            ("failed", c.failed),
            ("skipped", c.skipped),
        ] {
            let l = label("status", status);
            self.last_images.get_or_create(&l).set(clamp_i64(n));
            self.images.get_or_create(&l).inc_by(n);
        }
        self.bytes.inc_by(c.bytes_copied);
        self.duration.observe(c.duration.as_secs_f64());
        self.last_duration.set(c.duration.as_secs_f64());
        if c.success {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO);
            self.last_success.set(now.as_secs_f64());
        }
    }

    /// The mirror file was bad; the last good one was used.
    pub fn file_error(&self) {
        self.file_errors.inc();
    }

    /// Mirrors the readiness answer.
    pub fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// Reads every registry client's statistics (cumulative since the
    /// process started) and the pull limit each host last reported.
    pub fn observe_pool(&self, pool: &Pool) {
        for c in pool.clients() {
            let l = label("registry", &c.name);
            let s = c.stats();
            catch_up(&self.requests.get_or_create(&l), s.requests);
            catch_up(&self.throttled.get_or_create(&l), s.throttled);
            catch_up(&self.retries.get_or_create(&l), s.retries);
            catch_up(&self.pulls.get_or_create(&l), s.manifest_gets);
            if let Some(rl) = c.ratelimit() {
                self.pulls_remaining
                    .get_or_create(&l)
                    .set(clamp_i64(rl.remaining));
                self.pulls_limit.get_or_create(&l).set(clamp_i64(rl.limit));
            }
        }
    }

    /// The exposition: OpenMetrics when `openmetrics`, else Prometheus text 0.0.4.
    pub fn encode(&self, openmetrics: bool) -> Result<String> {
        let mut out = String::new();
        let r = if openmetrics {
            text::encode(&mut out, &self.registry)
        } else {
            prometheus_text::encode(&mut out, &self.registry)
        };
        r.map_err(|_| Error::Usage("internal: the metrics could not be encoded".into()))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_counted_in_both_formats() {
        let m = Metrics::new();
        m.record_cycle(&CycleStats {
            copied: 2,
            unchanged: 1,
            bytes_copied: 1000,
            duration: Duration::from_millis(1500),
            success: true,
            ..CycleStats::default()
        });
        m.record_cycle(&CycleStats {
            failed: 1,
            unchanged: 3,
            success: false,
            ..CycleStats::default()
        });
        m.set_ready(true);
        let p = m.encode(false).unwrap();
        assert!(
            p.contains("# TYPE crossdock_sync_cycles_total counter"),
            "{p}"
        );
        assert!(
            p.contains("crossdock_sync_cycles_total{result=\"success\"} 1\n"),
            "{p}"
        );
        assert!(
            p.contains("crossdock_sync_cycles_total{result=\"failure\"} 1\n"),
            "{p}"
        );
        assert!(
            p.contains("crossdock_sync_last_cycle_images{status=\"unchanged\"} 3\n"),
            "{p}"
        );
        assert!(
            p.contains("crossdock_sync_images_total{status=\"unchanged\"} 4\n"),
            "{p}"
        );
        assert!(
            p.contains("crossdock_sync_copied_bytes_total 1000\n"),
            "{p}"
        );
        assert!(
            p.contains("crossdock_sync_cycle_duration_seconds_count 2\n"),
            "{p}"
        );
        assert!(p.contains("crossdock_sync_ready 1\n"), "{p}");
        assert!(!p.contains("# EOF"));
        let o = m.encode(true).unwrap();
        assert!(o.ends_with("# EOF\n"), "{o}");
        assert!(o.contains("# TYPE crossdock_sync_cycles counter"), "{o}");
    }

    #[test]
    fn counters_catch_up_and_never_go_back() {
        let c = Counter::default();
        catch_up(&c, 5);
        catch_up(&c, 3);
        assert_eq!(c.get(), 5);
        catch_up(&c, 9);
        assert_eq!(c.get(), 9);
    }
}
