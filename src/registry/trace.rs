//! A request trace for diagnosing a slow run: with `CROSSDOCK_TRACE_HTTP=1`
//! every registry request is written to stderr as one line — when it was
//! sent (ms since the first request), method, URL without its query (no
//! upload state, no credentials: those are headers, never printed), the
//! answer's status and how long the headers took. Off by default; costs one
//! flag read per request.

use std::sync::OnceLock;
use std::time::Instant;

use reqwest::{Method, StatusCode};
use url::Url;

use crate::registry::response::strip_query;

fn origin() -> Option<Instant> {
    static ON: OnceLock<Option<Instant>> = OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var_os("CROSSDOCK_TRACE_HTTP")
            .filter(|v| !v.is_empty() && v != "0")
            .map(|_| Instant::now())
    })
}

/// Writes one trace line for a request sent at `sent` (when tracing is on).
pub fn request(method: &Method, url: &Url, status: StatusCode, sent: Instant) {
    let Some(t0) = origin() else { return };
    let at = sent.saturating_duration_since(t0).as_millis();
    let took = sent.elapsed().as_millis();
    eprintln!(
        "http: +{at}ms {method} {} -> {} in {took}ms",
        strip_query(url),
        status.as_u16()
    );
}
