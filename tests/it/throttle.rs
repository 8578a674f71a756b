//! Throttling done right, against real registries behind fronts that
//! throttle: a non-Hub host's `TOOMANYREQUESTS` is a throttle (retried,
//! `Retry-After` in both forms), Docker Hub's pull budget paces parallel
//! images through short windows, ECR's per-action quotas are paced rather
//! than hammered, expiring ECR and bearer tokens are refreshed mid-run, and
//! SIGINT and SIGTERM end a run with 130 and 143 and nothing tagged.

use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::harness::*;
use crate::proxy::{Fault, Proxy, Rule};

fn small(seed: u64, single: bool) -> Image<'static> {
    Image {
        seed,
        size: "256K",
        layers: 2,
        single,
        platforms: if single {
            "linux/amd64"
        } else {
            "linux/amd64,linux/arm64"
        },
        ..Image::default()
    }
}

/// Builds one image and copies it with crossdock into `count` repositories
/// `ns/r<i>` of `reg` (fast: no skopeo per repository).
fn seed_many(env: &Env, reg: &Registry, ns: &str, count: usize, img: Image) {
    let layout = env.path().join(format!("seed-{}", img.seed));
    build_image(&layout, &img);
    let src = format!("oci:{}:{}", layout.display(), img.tag);
    for i in 0..count {
        env.crossdock(&["copy", &src, &format!("{}/{ns}/r{i}:1.0", reg.addr())])
            .ok();
    }
}

/// Two open registries, a two-platform image pushed to `repo:1.0` of the first.
fn two_open_with_image(seed: u64, size: &str, repo: &str) -> (Env, Registry, Registry, Value) {
    let mut env = Env::new();
    let a = env.open_registry();
    let b = env.open_registry();
    let layout = env.path().join("img");
    let img = build_image(
        &layout,
        &Image {
            seed,
            size,
            ..Image::default()
        },
    );
    a.push_layout(&layout, "1.0", repo, false);
    (env, a, b, img)
}

fn throttled_total(v: &Value) -> u64 {
    v["hosts"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .map(|h| h["throttled"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn a_non_hub_toomanyrequests_is_a_throttle_retried_with_both_retry_after_forms() {
    let (mut env, a, b, img) = two_open_with_image(701, "512K", "t/src");
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
    let src_proxy = Proxy::start(
        a.port,
        vec![
            Rule {
                method: "GET",
                path_contains: "/manifests/",
                fault: Fault::TooMany(Some("1".into())),
                times: 2,
            },
            Rule {
                method: "HEAD",
                path_contains: "/manifests/",
                fault: Fault::TooMany(None),
                times: 1,
            },
        ],
    );
    let dst_proxy = Proxy::start(
        b.port,
        vec![
            Rule {
                method: "HEAD",
                path_contains: "/blobs/sha256:",
                fault: Fault::TooMany(Some(date)),
                times: 1,
            },
            Rule {
                method: "POST",
                path_contains: "/blobs/uploads/",
                fault: Fault::TooMany(None),
                times: 2,
            },
            Rule {
                method: "PUT",
                path_contains: "/manifests/",
                fault: Fault::TooMany(Some("1".into())),
                times: 1,
            },
        ],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", src_proxy.addr());
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", dst_proxy.addr());
    let start = Instant::now();
    // `fail` would stop at once if any of these were taken for Hub's pull limit.
    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/t/src:1.0", src_proxy.addr()),
            &format!("{}/t/dst:1.0", dst_proxy.addr()),
            "--on-ratelimit",
            "fail",
            "-o",
            "json",
            "--progress",
            "lines",
        ])
        .ok();
    assert_eq!(r.json()["digest"], img["digest"]);
    for text in [&r.stdout, &r.stderr] {
        assert!(!text.contains("Docker Hub"), "{text}");
        assert!(!text.to_lowercase().contains("pull rate limit"), "{text}");
    }
    for (p, want) in [(&src_proxy, vec![2, 1]), (&dst_proxy, vec![1, 2, 1])] {
        for (i, n) in want.into_iter().enumerate() {
            assert_eq!(p.fired(i), n, "rule {i}: {:?}", p.log());
        }
    }
    // The HTTP-date Retry-After (3 s ahead, 1 s resolution) was waited out.
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        b.skopeo_digest("t/dst", "1.0").as_deref(),
        img["digest"].as_str()
    );
}

#[test]
fn hub_pull_budget_paces_parallel_images_through_short_windows() {
    let mut env = Env::new();
    // 6 pulls per 4-second window; 4 two-platform images cost 12 pulls.
    let hub = Hub::start_windowed(env.path(), 6, 4);
    let ecr = Ecr::start(env.path());
    hub.configure(&mut env);
    ecr.configure(&mut env);
    for (i, repo) in ["acme/p1", "acme/p2", "acme/p3", "acme/p4"]
        .iter()
        .enumerate()
    {
        hub.push(env.path(), repo, small(710 + i as u64, false));
    }
    hub.reset();
    let start = Instant::now();
    let r = env
        .crossdock(&[
            "migrate",
            "docker.io/acme",
            &format!("{ECR_HOST}/budget"),
            "--images",
            "4",
            "-o",
            "json",
            "--progress",
            "lines",
        ])
        .ok();
    let took = start.elapsed();
    let j = r.json();
    eprintln!("hubfront: {} after {took:?}", hub.stats());
    assert_eq!(j["failed"], 0, "{}", r.stdout);
    assert_eq!(j["copied"], 4, "{}", r.stdout);
    let stats = hub.stats();
    assert_eq!(stats["pulls"], 12, "{stats}");
    // The budget was reserved before it was spent: at most one 429 per window.
    let windows = took.as_secs() / 4 + 1;
    let rejected = stats["rejected"].as_u64().unwrap();
    assert!(
        rejected <= windows,
        "{rejected} 429s in {windows} windows: {stats}"
    );
    // It waited for the window, said so, and did not sit on a fixed 60 s gate.
    assert!(r.stderr.contains("pull rate limit reached"), "{}", r.stderr);
    assert!(
        r.stderr.contains(" UTC"),
        "wait says when it started: {}",
        r.stderr
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
}

#[test]
fn ecr_api_quotas_are_paced_so_a_big_migration_draws_almost_no_429s() {
    let mut env = Env::new();
    let src = env.open_registry();
    let ecr = Ecr::start(env.path());
    // ECR's documented PutImage rate (crossdock knows it from the prices
    // file), and an account whose upload quotas are set far below the
    // documented 100/s, as the user tells crossdock in its config.
    let limits = EcrLimits::start(
        &ecr,
        &[
            ("PutImage", 10.0),
            ("InitiateLayerUpload", 8.0),
            ("CompleteLayerUpload", 8.0),
        ],
        None,
    );
    limits.configure(&ecr, &mut env);
    env.config += &format!(
        "[registry.\"{ECR_HOST}\".rates]\nInitiateLayerUpload = 8.0\nCompleteLayerUpload = 8.0\n"
    );
    seed_many(
        &env,
        &src,
        "many",
        40,
        Image {
            layers: 1,
            ..small(720, true)
        },
    );
    let r = env
        .crossdock(&[
            "migrate",
            &format!("{}/many", src.addr()),
            &format!("{ECR_HOST}/paced"),
            "--images",
            "8",
            "-o",
            "json",
            "--progress",
            "none",
        ])
        .ok();
    let j = r.json();
    assert_eq!(j["copied"], 40, "{}", r.stdout);
    let s = limits.stats();
    let total = s["total"].as_u64().unwrap();
    let throttled = s["total_throttled"].as_u64().unwrap();
    eprintln!("ecrlimits: {s}\ncrossdock hosts: {}", j["hosts"]);
    assert!(
        throttled * 50 < total,
        "{throttled} of {total} requests throttled: {s}"
    );
    assert!(s["requests"]["PutImage"].as_u64().unwrap() >= 40, "{s}");
    // Every repository was created by the run: no blob was HEADed there.
    assert!(
        s["requests"]["BatchCheckLayerAvailability"].is_null(),
        "{s}"
    );
    // crossdock's own count of 429s agrees with the front's.
    assert_eq!(throttled_total(&j), throttled, "{}", j["hosts"]);
}

#[test]
fn ecr_tokens_that_expire_or_are_revoked_mid_run_are_refreshed() {
    let mut env = Env::new();
    let src = env.open_registry();
    let ecr = Ecr::start(env.path());
    // Tokens live 3 s; PutImage at 2/s makes the run outlive several of them.
    let limits = EcrLimits::start(&ecr, &[("PutImage", 2.0)], Some(3.0));
    limits.configure(&ecr, &mut env);
    env.config += &format!("[registry.\"{ECR_HOST}\".rates]\nPutImage = 2.0\n");
    seed_many(&env, &src, "rot", 10, small(730, true));
    let child = env
        .command(&[
            "migrate",
            &format!("{}/rot", src.addr()),
            &format!("{ECR_HOST}/rot"),
            "--images",
            "4",
            "-o",
            "json",
            "--progress",
            "lines",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1500));
    limits.revoke();
    let r = to_run(child.wait_with_output().expect("wait")).ok();
    assert_eq!(r.json()["copied"], 10, "{}", r.stdout);
    let s = limits.stats();
    assert!(s["tokens_issued"].as_u64().unwrap() >= 3, "{s}");
    assert!(s["refused"].as_u64().unwrap() >= 1, "the 401 path ran: {s}");
}

#[test]
fn an_expired_bearer_token_mid_run_is_fetched_again() {
    let mut env = Env::new();
    let hub = Registry::start(env.path(), Auth::Token);
    let dst = env.open_registry();
    let layout = env.path().join("img");
    let img = build_image(
        &layout,
        &Image {
            seed: 740,
            ..Image::default()
        },
    );
    hub.push_layout(&layout, "1.0", "acme/exp", false);
    let challenge = format!(
        "Bearer realm=\"http://127.0.0.1:{}/token\",service=\"registry.docker.io\"",
        hub.token_port.expect("token port")
    );
    let proxy = Proxy::start(
        hub.port,
        vec![Rule {
            method: "GET",
            path_contains: "/blobs/sha256:",
            fault: Fault::Unauthorized(challenge),
            times: 1,
        }],
    );
    env.endpoint("docker.io", proxy.port);
    let before = hub.token_stats()["tokens_issued"].as_u64().unwrap();
    let r = env
        .crossdock(&[
            "copy",
            "docker.io/acme/exp:1.0",
            &format!("{}/exp:1.0", dst.addr()),
            "-o",
            "json",
        ])
        .ok();
    assert_eq!(r.json()["digest"], img["digest"]);
    assert_eq!(proxy.fired(0), 1);
    let issued = hub.token_stats()["tokens_issued"].as_u64().unwrap() - before;
    assert!(
        issued >= 2,
        "the token was fetched again after the 401: {issued}"
    );
}

#[test]
fn sigint_and_sigterm_exit_130_and_143_with_nothing_tagged() {
    let (mut env, a, b, _) = two_open_with_image(750, "1M", "s/src");
    let slow = Proxy::start(
        b.port,
        vec![Rule {
            method: "POST",
            path_contains: "/blobs/uploads/",
            fault: Fault::Delay(Duration::from_secs(5)),
            times: usize::MAX,
        }],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", slow.addr());
    for (signal, code, word) in [("INT", 130, "interrupted"), ("TERM", 143, "terminated")] {
        let seen = slow.count("POST", "/blobs/uploads/");
        let child = env
            .command(&[
                "copy",
                &format!("{}/s/src:1.0", a.addr()),
                &format!("{}/s/dst:1.0", slow.addr()),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        // Wait until the copy is under way (an upload was opened), then signal.
        let deadline = Instant::now() + Duration::from_secs(20);
        while slow.count("POST", "/blobs/uploads/") == seen && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill")
            .success());
        let r = to_run(child.wait_with_output().expect("wait"));
        assert_eq!(r.code, code, "SIG{signal}: {}", r.stderr);
        assert!(r.stderr.contains(word), "{}", r.stderr);
        assert_eq!(b.skopeo_digest("s/dst", "1.0"), None);
    }
}
