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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::Parser;
    use serde::Deserialize;
    use yaml_serde::Value;

    use super::super::{Cli, Command};
    use crossdock::mirror::sync::SyncFile;

    fn docs(file: &str) -> Vec<Value> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/k8s")
            .join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        yaml_serde::Deserializer::from_str(&text)
            .map(|d| Value::deserialize(d).unwrap_or_else(|e| panic!("{file}: {e}")))
            .filter(|v| !v.is_null())
            .collect()
    }

    fn of_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
        docs.iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    }

    fn str_of(v: &Value) -> &str {
        v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
    }

    /// The container's args, parsed by the real command tree.
    fn parse_args(container: &Value) -> super::super::mirror::SyncArgs {
        let args: Vec<String> = container["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| str_of(a).to_string())
            .collect();
        let cli = Cli::try_parse_from(std::iter::once("crossdock".to_string()).chain(args))
            .unwrap_or_else(|e| panic!("the example's args do not parse: {e}"));
        match cli.command {
            Command::Sync(a) => a,
            other => panic!("not a sync: {other:?}"),
        }
    }

    /// The mounted mirror file is the ConfigMap's, and it is valid.
    fn check_mount(pod: &Value, container: &Value, file: &Path) {
        let mount = &container["volumeMounts"][0];
        assert_eq!(
            file,
            Path::new(str_of(&mount["mountPath"])).join("mirror.yaml")
        );
        let volume = &pod["volumes"][0];
        assert_eq!(volume["name"], mount["name"]);
        assert_eq!(volume["configMap"]["name"], "crossdock-mirror");
    }

    #[test]
    fn kubernetes_examples_run_what_we_ship() {
        // The ConfigMap's mirror file loads.
        let cm = docs("mirror-configmap.yaml");
        let text = str_of(&of_kind(&cm, "ConfigMap")["data"]["mirror.yaml"]).to_string();
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("mirror.yaml");
        std::fs::write(&f, text).unwrap();
        assert_eq!(SyncFile::load(&f).unwrap().mirrors.len(), 2);

        // The Deployment watches, serves the probes on the named port, and
        // drains inside its termination grace period.
        let d = docs("mirror-watch-deployment.yaml");
        let deploy = of_kind(&d, "Deployment");
        assert_eq!(deploy["spec"]["replicas"], 1);
        assert_eq!(deploy["spec"]["strategy"]["type"], "Recreate");
        let pod = &deploy["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        let a = parse_args(c);
        assert!(a.watch.is_some());
        let listen = a.listen.expect("--listen");
        let port = &c["ports"][0];
        assert_eq!(port["name"], "metrics");
        assert_eq!(
            port["containerPort"].as_u64(),
            Some(u64::from(listen.port()))
        );
        assert!(
            listen.ip().is_unspecified(),
            "reachable from the kubelet and Prometheus"
        );
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            assert_eq!(c[probe]["httpGet"]["path"], path);
            assert_eq!(c[probe]["httpGet"]["port"], "metrics");
        }
        let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
        assert!(
            a.grace.as_secs() < grace,
            "--grace must end before the kubelet's SIGKILL"
        );
        check_mount(pod, c, &a.file);
        let svc = of_kind(&d, "Service");
        assert_eq!(svc["spec"]["ports"][0]["name"], "metrics");
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], "metrics");
        assert_eq!(
            svc["spec"]["selector"],
            deploy["spec"]["selector"]["matchLabels"]
        );

        // The CronJob runs one cycle per run, never two at once.
        let cj = docs("mirror-sync-cronjob.yaml");
        let cron = of_kind(&cj, "CronJob");
        assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
        let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        let a = parse_args(c);
        assert!(a.watch.is_none() && a.listen.is_none());
        check_mount(pod, c, &a.file);
    }
}
