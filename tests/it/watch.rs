//! `sync --watch` against the rig (Docker Hub stand-in → ECR stand-in):
//! cycles on an interval, `/healthz`, `/readyz` flipping after the first
//! successful cycle, `/metrics` scraped and parsed by the official
//! Prometheus Python parsers (text 0.0.4 and OpenMetrics), a bad mirror
//! file that keeps the last good one, and SIGTERM: between cycles an
//! immediate exit 0; during a copy a drain that finishes the blobs in
//! flight, tags nothing and exits 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;
use crate::proxy::{Fault, Proxy, Rule};

struct World {
    env: Env,
    hub: Hub,
    ecr: Ecr,
}

fn world() -> World {
    let mut env = Env::new();
    let hub = Hub::start(env.path(), 1000);
    let ecr = Ecr::start(env.path());
    hub.configure(&mut env);
    ecr.configure(&mut env);
    World { env, hub, ecr }
}

/// Sends the ECR host's traffic through `proxy`.
fn via(w: &mut World, proxy: &Proxy) {
    w.env.config = w.env.config.replace(
        &format!("http://127.0.0.1:{}\"", w.ecr.front_port),
        &format!("http://127.0.0.1:{}\"", proxy.port),
    );
}

/// A running `crossdock` whose output lines are collected as they come.
struct Watch {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

fn collect(r: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            l.lock().unwrap().push(line);
        }
    });
    lines
}

impl Watch {
    fn start(env: &Env, args: &[&str]) -> Watch {
        let mut child = env.command(args).spawn().expect("spawn crossdock");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Watch {
            child,
            stdout,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Waits for a stderr line containing `needle`.
    fn wait_stderr(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(l) = self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            self.alive();
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The JSON line of cycle `n`, waiting for it.
    fn cycle(&mut self, n: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = self
                .stdout
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| v["cycle"] == n);
            if let Some(v) = found {
                return v;
            }
            self.alive();
            assert!(
                Instant::now() < deadline,
                "no cycle {n}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn cycles_seen(&self) -> usize {
        self.stdout.lock().unwrap().len()
    }

    fn alive(&mut self) {
        if let Some(st) = self.child.try_wait().unwrap() {
            panic!("crossdock exited ({st}):\n{}", self.stderr());
        }
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -{sig} {}", self.child.id()))
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Waits for the exit code.
    fn exit(&mut self, within: Duration) -> i32 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "still running:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET on 127.0.0.1:port; (status, content type, body).
fn get(port: u16, path: &str, accept: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, ctype, body.to_string())
}

/// Parses an exposition with the official Prometheus Python client:
/// `(name, labels, value)` for every sample.
fn parse_metrics(text: &str, openmetrics: bool) -> Vec<(String, Value, f64)> {
    let module = if openmetrics {
        "prometheus_client.openmetrics.parser"
    } else {
        "prometheus_client.parser"
    };
    let script = format!(
        "import sys, json\nfrom {module} import text_string_to_metric_families as p\nout = []\nfor f in p(sys.stdin.read()):\n    for s in f.samples:\n        out.append([s.name, s.labels, s.value])\nprint(json.dumps(out))\n"
    );
    let mut child = Command::new(repo_root().join(".rig/venv/bin/python"))
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python (scripts/setup installs prometheus-client)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<(String, Value, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    v
}

/// The value of a sample (labels: a subset that must match).
fn sample(samples: &[(String, Value, f64)], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l[*k] == *v))
        .map(|(_, _, v)| *v)
}

fn img(tag: &str, seed: u64) -> Image<'_> {
    Image {
        tag,
        seed,
        size: "512K",
        layers: 2,
        ..Image::default()
    }
}

#[test]
fn watch_cycles_serve_metrics_and_flip_readiness() {
    let mut w = world();
    w.hub.push(w.env.path(), "library/nginx", img("1.27", 401));
    w.hub.push(w.env.path(), "acme/api", img("1.0", 402));
    // The first blob upload waits 2 s (so the first cycle is seen in flight),
    // and two manifest PUTs draw a 429 (counted per host). (Not HEADs: in
    // the repositories the first cycle creates, nothing is HEADed.)
    let proxy = Proxy::start(
        w.ecr.front_port,
        vec![
            Rule {
                method: "PUT",
                path_contains: "/blobs/uploads/",
                fault: Fault::Delay(Duration::from_secs(2)),
                times: 1,
            },
            Rule {
                method: "PUT",
                path_contains: "/manifests/",
                fault: Fault::TooMany(Some("0".into())),
                times: 2,
            },
        ],
    );
    via(&mut w, &proxy);
    let file = w.env.path().join("mirror.yaml");
    let yaml = format!(
        "mirrors:\n  - source: nginx\n    destination: {ECR_HOST}/hub/nginx\n    tags: [\"1.27\"]\n  - source: docker.io/acme/api\n    destination: {ECR_HOST}/mirror/api\n    tags: [\"1.0\"]\n"
    );
    std::fs::write(&file, &yaml).unwrap();
    let started_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut watch = Watch::start(
        &w.env,
        &[
            "sync",
            file.to_str().unwrap(),
            "--watch",
            "2s",
            "--listen",
            "127.0.0.1:0",
            "-o",
            "json",
        ],
    );
    let line = watch.wait_stderr("serving /healthz");
    let port: u16 = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));

    assert_eq!(get(port, "/healthz", "*/*").0, 200);
    // Before the first cycle ends: alive, not ready.
    let before = watch.cycles_seen();
    let (ready_status, _, _) = get(port, "/readyz", "*/*");
    if before == 0 {
        assert_eq!(ready_status, 503, "ready before any cycle finished");
    }
    assert_eq!(get(port, "/nope", "*/*").0, 404);

    let c1 = watch.cycle(1);
    assert_eq!(c1["copied"], 2, "{c1}");
    assert_eq!(c1["failed"], 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(port, "/readyz", "*/*").0 != 200 {
        assert!(
            Instant::now() < deadline,
            "never ready after a successful cycle"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Prometheus text format, parsed by the official parser.
    let (status, ctype, body) = get(port, "/metrics", "text/plain");
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let m = parse_metrics(&body, false);
    let hub = w.hub.stats();
    assert!(sample(&m, "crossdock_sync_cycles_total", &[("result", "success")]).unwrap() >= 1.0);
    assert_eq!(
        sample(&m, "crossdock_sync_images_total", &[("status", "copied")]),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &m,
            "crossdock_registry_pulls_total",
            &[("registry", "docker.io")]
        ),
        hub["pulls"].as_f64(),
        "pulls spent = the Hub front's count: {hub}"
    );
    assert_eq!(
        sample(
            &m,
            "crossdock_registry_throttled_total",
            &[("registry", ECR_HOST)]
        ),
        Some(proxy.fired(1) as f64),
        "429s drawn from the ECR host"
    );
    assert_eq!(proxy.fired(1), 2);
    assert!(
        sample(
            &m,
            "crossdock_registry_requests_total",
            &[("registry", ECR_HOST)]
        )
        .unwrap()
            > 2.0
    );
    assert!(sample(&m, "crossdock_sync_copied_bytes_total", &[]).unwrap() > 500_000.0);
    assert!(
        sample(&m, "crossdock_sync_last_success_timestamp_seconds", &[]).unwrap() >= started_at
    );
    assert!(sample(&m, "crossdock_sync_last_cycle_duration_seconds", &[]).unwrap() >= 2.0);
    assert_eq!(sample(&m, "crossdock_sync_ready", &[]), Some(1.0));

    // The second cycle: nothing to copy, no pull spent.
    let c2 = watch.cycle(2);
    assert_eq!(
        (c2["copied"].as_u64(), c2["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{c2}"
    );
    assert_eq!(c2["hub_pulls"], 0);

    // OpenMetrics on request, parsed by the OpenMetrics parser.
    let (status, ctype, body) = get(
        port,
        "/metrics",
        "application/openmetrics-text; version=1.0.0",
    );
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let m = parse_metrics(&body, true);
    assert_eq!(
        sample(&m, "crossdock_sync_cycles_total", &[("result", "success")]),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &m,
            "crossdock_sync_last_cycle_images",
            &[("status", "unchanged")]
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&m, "crossdock_sync_cycle_duration_seconds_count", &[]),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &m,
            "crossdock_registry_pulls_total",
            &[("registry", "docker.io")]
        ),
        hub["pulls"].as_f64(),
        "the no-op cycle spent no pull"
    );
    assert_eq!(
        sample(
            &m,
            "crossdock_registry_pulls_remaining",
            &[("registry", "docker.io")]
        ),
        hub["remaining"].as_f64(),
        "what the Hub front last reported (in the HEADs of the no-op cycle): {hub}"
    );

    // A broken file: the last good one is kept, and the error is counted.
    std::fs::write(&file, "mirrors: [oops").unwrap();
    let c3 = watch.cycle(3);
    assert_eq!(c3["unchanged"], 2, "{c3}");
    assert!(
        watch.stderr().contains("keeping the last good version"),
        "{}",
        watch.stderr()
    );
    let m = parse_metrics(&get(port, "/metrics", "").2, false);
    assert_eq!(
        sample(&m, "crossdock_sync_file_errors_total", &[]),
        Some(1.0)
    );
    assert_eq!(get(port, "/readyz", "*/*").0, 200);

    // SIGTERM between cycles: exit 0 at once.
    std::fs::write(&file, &yaml).unwrap();
    watch.signal("TERM");
    assert_eq!(watch.exit(Duration::from_secs(20)), 0, "{}", watch.stderr());
}

#[test]
fn sigterm_during_a_copy_drains_tags_nothing_and_exits_0() {
    let mut w = world();
    let src = w.hub.push(
        w.env.path(),
        "acme/big",
        Image {
            tag: "1.0",
            seed: 411,
            size: "4M",
            layers: 4,
            ..Image::default()
        },
    );
    // Every blob upload takes 1 s at the ECR front: the signal lands mid-copy.
    let proxy = Proxy::start(
        w.ecr.front_port,
        vec![Rule {
            method: "PUT",
            path_contains: "/blobs/uploads/",
            fault: Fault::Delay(Duration::from_secs(1)),
            times: usize::MAX,
        }],
    );
    via(&mut w, &proxy);
    let file = w.env.path().join("mirror.yaml");
    std::fs::write(
        &file,
        format!("mirrors:\n  - source: docker.io/acme/big\n    destination: {ECR_HOST}/mirror/big\n    tags: [\"1.0\"]\n"),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let plan = w
        .env
        .crossdock(&["sync", f, "--dry-run", "-o", "json"])
        .ok()
        .json();
    let total = plan["blobs_copied"].as_u64().unwrap();
    assert!(total >= 6, "{plan}");

    let mut watch = Watch::start(
        &w.env,
        &[
            "sync", f, "--watch", "1h", "--jobs", "2", "--grace", "30s", "-o", "json",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.count("PUT", "/blobs/uploads/") < 1 {
        watch.alive();
        assert!(
            Instant::now() < deadline,
            "no upload started: {:?}",
            proxy.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let t0 = Instant::now();
    watch.signal("TERM");
    assert_eq!(watch.exit(Duration::from_secs(40)), 0, "{}", watch.stderr());
    let drain = t0.elapsed();
    let err = watch.stderr();
    assert!(err.contains("SIGTERM: stopping"), "{err}");
    assert!(err.contains("drained cleanly"), "{err}");
    assert!(drain < Duration::from_secs(30), "the drain took {drain:?}");

    // Nothing tagged, no manifest written; the uploads that had started finished.
    assert_eq!(w.ecr.registry.skopeo_digest("mirror/big", "1.0"), None);
    assert_eq!(proxy.count("PUT", "/manifests/"), 0, "{:?}", proxy.log());
    let uploaded = proxy.count("PUT", "/blobs/uploads/") as u64;
    assert!(
        uploaded < total,
        "the stop started no new blob: {uploaded} of {total}"
    );
    let c1 = watch.cycle(1);
    assert_eq!(c1["skipped"], 1, "{c1}");
    assert_eq!(c1["results"][0]["status"], "skipped");

    // The next run finishes: the drained blobs are there already.
    let r = w.env.crossdock(&["sync", f, "-o", "json"]).ok().json();
    assert_eq!(r["copied"], 1, "{r}");
    assert_eq!(r["blobs_copied"].as_u64().unwrap(), total - uploaded, "{r}");
    assert_eq!(
        w.ecr.registry.skopeo_digest("mirror/big", "1.0").as_deref(),
        src["digest"].as_str()
    );
}

#[test]
fn watch_flags_are_checked() {
    let env = Env::new();
    let file = env.path().join("m.yaml");
    std::fs::write(&file, "mirrors: [").unwrap();
    let f = file.to_str().unwrap();
    for args in [
        &["sync", f, "--watch", "0s"][..],
        &["sync", f, "--watch", "15"],
        &["sync", f, "--listen", "127.0.0.1:0"],
        &["sync", f, "--watch", "1m", "--dry-run"],
        &["sync", f, "--watch", "1m", "--listen", "nope"],
        // A bad file at start is refused at once rather than retried forever.
        &["sync", f, "--watch", "1m"],
    ] {
        let r = env.crossdock(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
}
