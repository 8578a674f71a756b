//! Failure handling with a fault-injecting proxy and damaged storage:
//! retries after 429/503/resets (whole-blob retry on a mid-body reset),
//! the attempt count in the final error, a corrupted source blob refused with
//! nothing tagged, an interrupted copy completed by a rerun, and redirects
//! that must not carry credentials to another host.

use std::time::{Duration, Instant};

use crate::harness::*;
use crate::proxy::{Fault, Proxy, Rule};

fn two_open(env: &mut Env) -> (Registry, Registry) {
    let a = env.open_registry();
    let b = env.open_registry();
    (a, b)
}

fn seed(env: &Env, reg: &Registry, repo: &str, img: Image) -> serde_json::Value {
    let layout = env.path().join(format!("img-{}", img.seed));
    let v = build_image(&layout, &img);
    reg.push_layout(&layout, img.tag, repo, false);
    v
}

#[test]
fn retries_429_503_and_resets_then_succeeds() {
    let mut env = Env::new();
    let (a, b) = two_open(&mut env);
    let img = seed(
        &env,
        &a,
        "f/src",
        Image {
            seed: 61,
            size: "4M",
            ..Image::default()
        },
    );
    let rules = vec![
        Rule {
            method: "HEAD",
            path_contains: "/manifests/",
            fault: Fault::Status(503, None),
            times: 1,
        },
        Rule {
            method: "GET",
            path_contains: "/manifests/",
            fault: Fault::Status(429, Some(1)),
            times: 1,
        },
        Rule {
            method: "GET",
            path_contains: "/blobs/sha256:",
            fault: Fault::ResetBodyAfter(100_000),
            times: 1,
        },
        Rule {
            method: "GET",
            path_contains: "/blobs/sha256:",
            fault: Fault::Reset,
            times: 1,
        },
    ];
    let src_proxy = Proxy::start(a.port, rules);
    let dst_proxy = Proxy::start(
        b.port,
        vec![
            Rule {
                method: "PUT",
                path_contains: "/blobs/uploads/",
                fault: Fault::Status(500, None),
                times: 1,
            },
            Rule {
                method: "PUT",
                path_contains: "/manifests/",
                fault: Fault::Status(503, None),
                times: 1,
            },
        ],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", src_proxy.addr());
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", dst_proxy.addr());
    let start = Instant::now();
    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/f/src:1.0", src_proxy.addr()),
            &format!("{}/f/dst:1.0", dst_proxy.addr()),
            "-o",
            "json",
            "--progress",
            "lines",
        ])
        .ok();
    let j = r.json();
    assert_eq!(j["digest"], img["digest"]);
    for i in 0..4 {
        assert_eq!(
            src_proxy.fired(i),
            1,
            "source rule {i} did not fire: {:?}",
            src_proxy.log()
        );
    }
    assert_eq!(dst_proxy.fired(0), 1);
    assert_eq!(dst_proxy.fired(1), 1);
    // Retry-After: 1 was honoured.
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert!(r.stderr.contains("retry"), "{}", r.stderr);
    assert_eq!(
        b.skopeo_digest("f/dst", "1.0").as_deref(),
        img["digest"].as_str()
    );
}

#[test]
fn gives_up_and_says_how_many_attempts() {
    let mut env = Env::new();
    let (a, b) = two_open(&mut env);
    seed(
        &env,
        &a,
        "g/src",
        Image {
            seed: 62,
            size: "1M",
            ..Image::default()
        },
    );
    let proxy = Proxy::start(
        a.port,
        vec![Rule {
            method: "GET",
            path_contains: "/manifests/",
            fault: Fault::Status(503, None),
            times: usize::MAX,
        }],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", proxy.addr());
    env.config = env
        .config
        .replace("[retry]\n", "[retry]\nmax_attempts = 3\n");
    let r = env.crossdock(&[
        "copy",
        &format!("{}/g/src:1.0", proxy.addr()),
        &format!("{}/g/dst:1.0", b.addr()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("gave up after 3 attempts"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("HTTP 503"), "{}", r.stderr);
    assert_eq!(proxy.count("GET", "/manifests/"), 3);
}

#[test]
fn corrupted_source_blob_is_refused_and_nothing_is_tagged() {
    let mut env = Env::new();
    let (a, b) = two_open(&mut env);
    let layout = env.path().join("img");
    let img = build_image(
        &layout,
        &Image {
            seed: 63,
            size: "2M",
            platforms: "linux/amd64",
            single: true,
            layers: 2,
            ..Image::default()
        },
    );
    a.push_layout(&layout, "1.0", "c/src", false);
    // Flip one byte of the biggest layer in the source registry's storage.
    let manifest: serde_json::Value =
        serde_json::from_slice(&a.skopeo_raw("c/src", "1.0").unwrap()).unwrap();
    let layer = manifest["layers"][1]["digest"].as_str().unwrap();
    let file = a.blob_file(layer);
    let mut data = std::fs::read(&file).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&file, &data).unwrap();

    let r = env.crossdock(&[
        "copy",
        &format!("{}/c/src:1.0", a.addr()),
        &format!("{}/c/dst:1.0", b.addr()),
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not match its digest"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(layer), "{}", r.stderr);
    // Nothing tagged, the bad blob not stored.
    assert_eq!(b.skopeo_digest("c/dst", "1.0"), None);
    assert_eq!(
        http_status(b.port, "HEAD", &format!("/v2/c/dst/blobs/{layer}"), None),
        Some(404)
    );
    assert_eq!(
        http_status(
            b.port,
            "HEAD",
            &format!("/v2/c/dst/manifests/{}", img["digest"].as_str().unwrap()),
            None
        ),
        Some(404)
    );
    // The registry checked the digest above; a layout cannot, so the client
    // hashes on the way there, with the same outcome.
    let out = env.path().join("out-layout");
    let r = env.crossdock(&[
        "copy",
        &format!("{}/c/src:1.0", a.addr()),
        &format!("oci:{}:1.0", out.display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not match its digest"),
        "{}",
        r.stderr
    );
    assert!(!out.join("blobs/sha256").join(&layer[7..]).exists());
}

#[test]
fn interrupted_copy_is_finished_by_a_rerun() {
    let mut env = Env::new();
    let (a, b) = two_open(&mut env);
    let img = seed(
        &env,
        &a,
        "i/src",
        Image {
            seed: 64,
            // Layers over 1 MiB: they stream one at a time with --jobs 1
            // (smaller blobs would go together, in the small-blob lane).
            size: "12M",
            layers: 4,
            ..Image::default()
        },
    );
    // Slow every blob upload down so the kill lands mid-copy.
    let proxy = Proxy::start(
        b.port,
        vec![Rule {
            method: "PUT",
            path_contains: "/blobs/uploads/",
            fault: Fault::Delay(Duration::from_millis(400)),
            times: usize::MAX,
        }],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", proxy.addr());
    let src = format!("{}/i/src:1.0", a.addr());
    let dst = format!("{}/i/dst:1.0", proxy.addr());
    let mut child = env
        .command(&["copy", &src, &dst, "--jobs", "1", "-o", "json"])
        .spawn()
        .unwrap();
    // Wait (on the proxy's own count) until two blobs are through, then kill -9.
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.count("PUT", "/blobs/uploads/") < 3 {
        assert!(
            Instant::now() < deadline,
            "copy never got going: {:?}",
            proxy.log()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "copy finished before it could be interrupted"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        b.skopeo_digest("i/dst", "1.0"),
        None,
        "nothing may be tagged after an interruption"
    );

    let r = env
        .crossdock(&["copy", &src, &dst, "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["digest"], img["digest"]);
    assert!(r["blobs_skipped"].as_u64().unwrap() >= 2, "{r}");
    let total = img["blobs"].as_u64().unwrap() - 3;
    assert_eq!(
        r["blobs_copied"].as_u64().unwrap() + r["blobs_skipped"].as_u64().unwrap(),
        total
    );
    assert_eq!(
        b.skopeo_digest("i/dst", "1.0").as_deref(),
        img["digest"].as_str()
    );
}

#[test]
fn redirected_blob_gets_do_not_carry_credentials() {
    let mut env = Env::new();
    let hub = Registry::start(env.path(), Auth::Token);
    let b = env.open_registry();
    let layout = env.path().join("img");
    let img = build_image(
        &layout,
        &Image {
            seed: 65,
            size: "1M",
            ..Image::default()
        },
    );
    hub.push_layout(&layout, "1.0", "acme/cdn", false);
    // The proxy plays Docker Hub: blob GETs answer 307 to another host name.
    let proxy = Proxy::start(
        hub.port,
        vec![Rule {
            method: "GET",
            path_contains: "/blobs/sha256:",
            fault: Fault::RedirectToOtherHost,
            times: usize::MAX,
        }],
    );
    env.endpoint("docker.io", proxy.port);
    env.login("https://index.docker.io/v1/", HUB_USER, HUB_PASS);
    let r = env
        .crossdock(&[
            "copy",
            "docker.io/acme/cdn:1.0",
            &format!("{}/cdn/copy:1.0", b.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], img["digest"]);
    let seen = proxy.cdn_auth();
    assert_eq!(seen.len(), img["blobs"].as_u64().unwrap() as usize - 3);
    assert!(
        seen.iter().all(|had_auth| !had_auth),
        "Authorization followed a cross-host redirect"
    );
}
