//! Docker Hub pull-rate-limit headers (`ratelimit-limit: 100;w=21600`,
//! `ratelimit-remaining: 76;w=21600`, `docker-ratelimit-source`), read on every
//! manifest response, and the policy when they run out (wait or fail).

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use serde::Serialize;

/// What to do when the pull limit is exhausted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnRateLimit {
    /// Pause (checking with free HEADs) until the window allows pulls again.
    #[default]
    Wait,
    /// Stop with an error.
    Fail,
}

/// The latest rate-limit snapshot a registry sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    /// Pulls allowed per window.
    pub limit: u64,
    /// Pulls left in the current window.
    pub remaining: u64,
    /// Window length in seconds, when sent.
    pub window_s: Option<u64>,
    /// Who is counted (IP address or account), when sent.
    pub source: Option<String>,
    /// When the snapshot was read (seconds since the Unix epoch).
    pub observed_at: u64,
}

/// Parses `N;w=SECONDS` (or just `N`): the count and the window.
pub fn parse_value(v: &str) -> Option<(u64, Option<u64>)> {
    let mut parts = v.split(';');
    let n = parts.next()?.trim().parse().ok()?;
    let mut window = None;
    for p in parts {
        if let Some(w) = p.trim().strip_prefix("w=") {
            window = Some(w.trim().parse().ok()?);
        }
    }
    Some((n, window))
}

/// Reads the headers; `None` when absent (no limit applies) or malformed.
pub fn from_headers(h: &HeaderMap) -> Option<RateLimit> {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    let (limit, w1) = parse_value(get("ratelimit-limit")?)?;
    let (remaining, w2) = parse_value(get("ratelimit-remaining")?)?;
    Some(RateLimit {
        limit,
        remaining,
        window_s: w1.or(w2),
        source: get("docker-ratelimit-source").map(str::to_string),
        observed_at: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs(),
    })
}

impl RateLimit {
    /// `76/100 per 6h`.
    pub fn describe(&self) -> String {
        let window = match self.window_s {
            Some(w) if w % 3600 == 0 => format!(" per {}h", w / 3600),
            Some(w) => format!(" per {w}s"),
            None => String::new(),
        };
        format!("{}/{} pulls left{window}", self.remaining, self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn parses_values() {
        assert_eq!(parse_value("100;w=21600"), Some((100, Some(21600))));
        assert_eq!(parse_value("76"), Some((76, None)));
        assert_eq!(parse_value(" 5 ; w=60 "), Some((5, Some(60))));
        assert_eq!(parse_value("x;w=1"), None);
        assert_eq!(parse_value("5;w=abc"), None);
        assert_eq!(parse_value(""), None);
    }

    #[test]
    fn reads_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h), None);
        h.insert("ratelimit-limit", HeaderValue::from_static("100;w=21600"));
        assert_eq!(from_headers(&h), None, "remaining missing");
        h.insert(
            "ratelimit-remaining",
            HeaderValue::from_static("76;w=21600"),
        );
        h.insert(
            "docker-ratelimit-source",
            HeaderValue::from_static("192.0.2.1"),
        );
        let r = from_headers(&h).unwrap();
        assert_eq!((r.limit, r.remaining, r.window_s), (100, 76, Some(21600)));
        assert_eq!(r.source.as_deref(), Some("192.0.2.1"));
        assert_eq!(r.describe(), "76/100 pulls left per 6h");
        h.insert("ratelimit-remaining", HeaderValue::from_static("lots"));
        assert_eq!(from_headers(&h), None);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;
        use reqwest::header::HeaderValue;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn headers_never_panic(l in "[ -~]{0,40}", r in "[ -~]{0,40}", n in any::<u64>(), w in any::<u64>()) {
                let _ = parse_value(&l);
                let mut h = HeaderMap::new();
                for (k, v) in [("ratelimit-limit", l), ("ratelimit-remaining", r), ("docker-ratelimit-source", "x".into())] {
                    if let Ok(v) = HeaderValue::from_str(&v) {
                        h.insert(k, v);
                    }
                }
                if let Some(rl) = from_headers(&h) {
                    let _ = rl.describe();
                }
                let v = format!("{n};w={w}");
                prop_assert_eq!(parse_value(&v), Some((n, Some(w))));
                let rl = RateLimit { limit: n, remaining: n, window_s: Some(w), source: None, observed_at: 0 };
                let _ = rl.describe();
            }
        }
    }
}
