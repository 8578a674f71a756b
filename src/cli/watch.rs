//! `crossdock sync FILE --watch INTERVAL [--listen ADDR] [--grace D]`: the
//! sync run every interval (jittered, never overlapping), FILE re-read each
//! cycle (a bad file keeps the last good one), `/healthz`, `/readyz` and
//! `/metrics` served on `--listen`, and SIGTERM/SIGINT handled as a drain:
//! no new image starts, the blobs in flight finish within `--grace`,
//! nothing is tagged half-way, exit 0. Prints one line (or JSON object) per
//! cycle.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::net::TcpListener;

use crossdock::copy::Stop;
use crossdock::mirror::parse_shard;
use crossdock::mirror::run::ImageStatus;
use crossdock::mirror::sync::SyncFile;
use crossdock::watch::metrics::{
    CycleStats, Metrics, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE,
};
use crossdock::watch::server::{self, Answer, Ask};
use crossdock::watch::{Health, Schedule};

use super::mirror::{render, sync_once, RunSummary, SyncArgs};
use super::output::stdout_line;
use super::Context;

/// SIGTERM and SIGINT, registered before anything else runs (so neither
/// kills the process while a cycle is in flight).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next signal's name.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "interrupt"
        }
    }
}

#[derive(Serialize)]
struct CycleLine<'a> {
    cycle: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    summary: Option<&'a RunSummary>,
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 120.0 {
        format!("{s:.0}s")
    } else {
        format!("{:.0}m", s / 60.0)
    }
}

/// What the endpoints answer.
fn answer(ask: Ask<'_>, ctx: &Context, health: &Health, metrics: &Metrics) -> Answer {
    let ready = health.ready(Instant::now());
    match ask.path {
        "/healthz" => Answer::text(200, "ok\n"),
        "/readyz" if ready => Answer::text(200, "ready\n"),
        "/readyz" => Answer::text(
            503,
            "not ready: no successful sync cycle within two intervals (or stopping)\n",
        ),
        "/metrics" => {
            metrics.observe_pool(&ctx.pool);
            metrics.set_ready(ready);
            let openmetrics = ask.accept.contains("application/openmetrics-text");
            match metrics.encode(openmetrics) {
                Ok(body) => Answer {
                    status: 200,
                    content_type: if openmetrics {
                        OPENMETRICS_CONTENT_TYPE
                    } else {
                        PROMETHEUS_CONTENT_TYPE
                    },
                    body,
                },
                Err(e) => Answer::text(500, format!("{e}\n")),
            }
        }
        _ => Answer::text(404, "not found: /healthz, /readyz, /metrics\n"),
    }
}

/// Prints a cycle and feeds the metrics and health; returns whether it succeeded.
fn record(
    ctx: &Context,
    n: u64,
    outcome: &anyhow::Result<(RunSummary, crossdock::prices::Prices)>,
    duration: Duration,
    health: &Health,
    metrics: &Metrics,
) {
    let mut stats = CycleStats {
        duration,
        ..CycleStats::default()
    };
    match outcome {
        Ok((s, prices)) => {
            stats.copied = s.copied as u64;
            stats.unchanged = s.unchanged as u64;
            stats.failed = s.failed as u64;
            stats.skipped = s.skipped as u64;
            stats.bytes_copied = s.bytes_copied;
            stats.success = s.failed == 0 && s.skipped == 0;
            if ctx.printer.json() {
                let line = CycleLine {
                    cycle: n,
                    error: None,
                    summary: Some(s),
                };
                stdout_line(&serde_json::to_string(&line).unwrap_or_default());
            } else if !ctx.printer.quiet {
                let text = render(s, prices, &ctx.printer);
                let text = if s.copied + s.failed + s.skipped == 0 {
                    text.lines().last().unwrap_or_default().to_string()
                } else {
                    text.trim_end().to_string()
                };
                stdout_line(&format!("cycle {n}: {text}"));
            }
            for r in s.results.iter().filter(|r| r.status == ImageStatus::Failed) {
                ctx.printer.note(&format!(
                    "crossdock: cycle {n}: {} failed: {}",
                    r.source,
                    r.error.as_deref().unwrap_or("")
                ));
            }
        }
        Err(e) => {
            let msg = format!("{e:#}");
            if ctx.printer.json() {
                let line = CycleLine {
                    cycle: n,
                    error: Some(msg.clone()),
                    summary: None,
                };
                stdout_line(&serde_json::to_string(&line).unwrap_or_default());
            }
            eprintln!("crossdock: cycle {n} failed: {msg}");
        }
    }
    metrics.record_cycle(&stats);
    metrics.observe_pool(&ctx.pool);
    if stats.success {
        health.succeeded(Instant::now());
    }
}

/// Runs until a signal: cycles, the schedule, the drain.
async fn cycles(
    ctx: &Context,
    a: &SyncArgs,
    every: Duration,
    mut file: SyncFile,
    signals: &mut Signals,
    health: &Health,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    let schedule = Schedule::new(every);
    let stop = Stop::default();
    let mut n: u64 = 0;
    loop {
        n += 1;
        if n > 1 {
            match SyncFile::load(&a.file) {
                Ok(f) => file = f,
                Err(e) => {
                    metrics.file_error();
                    eprintln!(
                        "crossdock: cycle {n}: {e}; keeping the last good version of {}",
                        a.file.display()
                    );
                }
            }
        }
        let started = Instant::now();
        let cycle = sync_once(ctx, a, &file, Some(&stop));
        tokio::pin!(cycle);
        let mut deadline: Option<tokio::time::Instant> = None;
        let outcome = loop {
            tokio::select! {
                r = &mut cycle => break Some(r),
                sig = signals.recv(), if deadline.is_none() => {
                    stop.raise();
                    health.stopping();
                    deadline = Some(tokio::time::Instant::now() + a.grace);
                    ctx.printer.note(&format!(
                        "crossdock: {sig}: stopping — no new image starts; the blobs in flight finish (up to {}); nothing is tagged half-way",
                        human(a.grace)
                    ));
                }
                () = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => break None,
            }
        };
        let Some(outcome) = outcome else {
            anyhow::bail!(
                "the grace period ({}) ended with blobs still in flight: they were abandoned; nothing was tagged half-way and the next run finishes them",
                human(a.grace)
            );
        };
        record(ctx, n, &outcome, started.elapsed(), health, metrics);
        if stop.is_raised() {
            ctx.printer.note("crossdock: drained cleanly; exiting");
            return Ok(());
        }
        let delay = schedule.delay(started, Instant::now(), fastrand::f64());
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            sig = signals.recv() => {
                health.stopping();
                ctx.printer.note(&format!("crossdock: {sig} between cycles; exiting"));
                return Ok(());
            }
        }
    }
}

pub async fn run(ctx: &Context, a: &SyncArgs, every: Duration) -> anyhow::Result<()> {
    let mut signals = Signals::install()?;
    // A bad file at start is a usage error: better now than at 3 a.m.
    let file = SyncFile::load(&a.file)?;
    if let Some(s) = &a.shard {
        parse_shard(s)?;
    }
    let health = Health::new(every);
    let metrics = Metrics::new();
    let listener = match a.listen {
        Some(addr) => {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|e| anyhow::anyhow!("--listen {addr}: cannot listen: {e}"))?;
            let local = l.local_addr()?;
            ctx.printer.note(&format!(
                "crossdock: serving /healthz, /readyz and /metrics on http://{local}; syncing {} every {} (±10 %)",
                a.file.display(),
                human(every)
            ));
            Some(l)
        }
        None => None,
    };
    let serve = async {
        match listener {
            Some(l) => server::serve(l, |ask| answer(ask, ctx, &health, &metrics)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        r = cycles(ctx, a, every, file, &mut signals, &health, &metrics) => r,
        () = serve => Ok(()),
    }
}
