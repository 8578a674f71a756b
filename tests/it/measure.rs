//! `ratelimit`, `bench` and `compare` against the stand-ins: the limit is
//! read without spending a pull (the front's counter proves it), latency
//! percentiles reflect a known injected delay, the HTML report renders in
//! headless Chromium, costs match hand-computed numbers, and the compare
//! tables match a snapshot with the unstable numbers filtered out.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;
use crate::proxy::{Fault, Proxy, Rule};
use crate::report;

fn img(tag: &str, seed: u64) -> Image<'_> {
    Image {
        tag,
        seed,
        size: "2M",
        ..Image::default()
    }
}

#[test]
fn ratelimit_is_read_with_a_head_and_costs_no_pull() {
    let mut env = Env::new();
    let hub = Hub::start(env.path(), 100);
    hub.configure(&mut env);
    hub.push(env.path(), "ratelimitpreview/test", img("latest", 301));
    hub.push(env.path(), "acme/rl", img("1.0", 302));
    let r = env.crossdock(&["ratelimit", "-o", "json"]).ok().json();
    assert_eq!(r["limited"], true);
    assert_eq!(r["limit"], 100);
    assert_eq!(r["remaining"], 100);
    assert_eq!(r["window_s"], 21600);
    assert_eq!(r["identity"], "anonymous");
    assert_eq!(r["reference"], "docker.io/ratelimitpreview/test:latest");
    hub.set_remaining(7);
    let t = env.crossdock(&["ratelimit", "docker.io/acme/rl:1.0"]).ok();
    assert!(t.stdout.contains("remaining  7"), "{}", t.stdout);
    assert!(t.stdout.contains("per 6 h"), "{}", t.stdout);
    let stats = hub.stats();
    assert_eq!(stats["pulls"], 0, "{stats}");
    assert!(stats["manifest_heads"].as_u64().unwrap() >= 2);

    // A registry without the headers: unlimited.
    let mut env2 = Env::new();
    let open = env2.open_registry();
    let layout = env2.path().join("img");
    build_image(&layout, &img("1.0", 303));
    open.push_layout(&layout, "1.0", "x/y", false);
    let r = env2
        .crossdock(&[
            "ratelimit",
            &format!("{}/x/y:1.0", open.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["limited"], false);
    assert_eq!(r["limit"], Value::Null);
    let t = env2
        .crossdock(&["ratelimit", &format!("{}/x/y:1.0", open.addr())])
        .ok();
    assert!(t.stdout.contains("unlimited"), "{}", t.stdout);
}

fn op<'a>(target: &'a Value, name: &str) -> &'a Value {
    target["latency"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operation"] == name)
        .unwrap()
}

#[test]
fn bench_latency_reflects_an_injected_delay_and_push_cleans_up() {
    let mut env = Env::new();
    let a = env.open_registry();
    let dst = env.open_registry();
    let layout = env.path().join("img");
    build_image(&layout, &img("1.0", 311));
    a.push_layout(&layout, "1.0", "b/img", false);
    let slow = Proxy::start(
        a.port,
        vec![Rule {
            method: "HEAD",
            path_contains: "/manifests/",
            fault: Fault::Delay(Duration::from_millis(300)),
            times: usize::MAX,
        }],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", slow.addr());
    let r = env
        .crossdock(&[
            "bench",
            &format!("{}/b/img:1.0", slow.addr()),
            "--samples",
            "5",
            "--concurrency",
            "1,2",
            "--push-to",
            &format!("{}/bench/push", dst.addr()),
            "--push-size",
            "1048576",
            "-o",
            "json",
        ])
        .ok()
        .json();
    let t = &r["targets"][0];
    let head = &op(t, "manifest HEAD")["summary"];
    assert_eq!(head["n"], 5);
    assert!(head["p50_ms"].as_f64().unwrap() >= 300.0, "{head}");
    let ping = &op(t, "ping /v2/")["summary"];
    assert!(ping["p50_ms"].as_f64().unwrap() < 300.0, "{ping}");
    assert!(op(t, "blob first byte")["summary"]["n"] == 5);
    assert_eq!(
        op(t, "token")["summary"],
        Value::Null,
        "an open registry has no tokens"
    );
    let pull = t["pull"].as_array().unwrap();
    assert_eq!(pull.len(), 2);
    let blob = t["sample_blob"]["size"].as_u64().unwrap();
    assert_eq!(pull[1]["bytes"].as_u64().unwrap(), 2 * blob);
    assert!(pull[0]["mb_per_s"].as_f64().unwrap() > 0.0);
    // Finding the blob GETs the index and one platform manifest.
    assert_eq!(t["pulls_spent"], 2);
    let push = &r["push"]["results"];
    assert_eq!(push.as_array().unwrap().len(), 2);
    let deleted: u64 = push
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["deleted"].as_u64().unwrap())
        .sum();
    assert_eq!(deleted, 3, "1 + 2 test blobs deleted afterwards");
}

#[test]
fn bench_html_report_shows_the_registries_side_by_side_in_headless_chromium() {
    let mut env = Env::new();
    let a = env.open_registry();
    let b = env.open_registry();
    let layout = env.path().join("img");
    build_image(&layout, &img("1.0", 321));
    a.push_layout(&layout, "1.0", "h/img", false);
    b.push_layout(&layout, "1.0", "h/img", false);
    let (ia, ib) = (
        format!("{}/h/img:1.0", a.addr()),
        format!("{}/h/img:1.0", b.addr()),
    );
    let page = env.path().join("report.html");
    let out = env
        .crossdock(&[
            "bench",
            &ia,
            &ib,
            "--samples",
            "2",
            "--concurrency",
            "1,2",
            "--html",
            page.to_str().unwrap(),
        ])
        .ok();
    // The terminal chart is there too.
    assert!(out.stdout.contains('█'), "{}", out.stdout);
    let html = std::fs::read_to_string(&page).unwrap();
    report::assert_self_contained(&html);

    let dom = report::dom(env.path(), &page);
    assert!(dom.contains("<h1>crossdock bench</h1>"), "{dom}");
    assert!(dom.contains("<dt>date</dt>"));
    assert!(
        dom.contains(&format!("<dt>identity at {ia}</dt><dd>anonymous</dd>")),
        "{dom}"
    );
    // Two grouped charts (latency, pull throughput), each with a legend
    // naming both registries in their colours.
    assert_eq!(
        dom.matches("<svg class=\"chart grouped\"").count(),
        2,
        "{dom}"
    );
    for (i, name) in [&ia, &ib].into_iter().enumerate() {
        assert_eq!(
            dom.matches(&format!("<g class=\"legend-item\" data-series=\"{name}\">"))
                .count(),
            2
        );
        let colour = ["#1d63ed", "#ff9900"][i];
        assert!(dom.contains(&format!("class=\"swatch series-{i}\"")) && dom.contains(colour));
    }
    // Groups: p50 and p95 of 4 operations, then concurrency 1 and 2. Every
    // measured group holds one bar per registry; an open registry has no
    // token to time, so those groups say why and draw nothing.
    let groups = report::groups(&dom);
    assert_eq!(groups.len(), 4 * 2 + 2, "{dom}");
    for g in &groups {
        let bars = (
            g.matches("class=\"bar series-0\"").count(),
            g.matches("class=\"bar series-1\"").count(),
        );
        if g.starts_with(" data-group=\"token") {
            assert_eq!(bars, (0, 0), "{g}");
            assert!(g.contains("n/a: no bearer token"), "{g}");
        } else {
            assert_eq!(bars, (1, 1), "{g}");
        }
    }
    // Real tables: latency and pull throughput of each registry.
    assert_eq!(dom.matches("<table>").count(), 4, "{dom}");
    assert!(dom.contains("<th scope=\"col\">p95 ms</th>"));

    // Rendered: blue bars right above orange ones (16 px high, 2 px apart)
    // in each of the 8 measured groups, and the legend's swatches (14 px,
    // 6 px apart) once per chart.
    let shot = report::screenshot(env.path(), &page, 1200, 1800);
    assert!(shot.count(report::BLUE) > 500 && shot.count(report::ORANGE) > 500);
    let pairs = shot.stacked(report::BLUE, 16, 2, report::ORANGE, 16);
    assert!(pairs.len() >= 8, "grouped bars found at {pairs:?}");
    let legends = shot.stacked(report::BLUE, 14, 6, report::ORANGE, 14);
    assert!(legends.len() >= 2, "legends found at {legends:?}");
}

/// Unique config+layer bytes of the images in a layout (shared blobs once).
fn unique_blob_bytes(layout: &Path) -> u64 {
    let blob = |d: &str| -> Value {
        serde_json::from_slice(
            &std::fs::read(
                layout
                    .join("blobs/sha256")
                    .join(d.trim_start_matches("sha256:")),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();
    while let Some(d) = stack.pop() {
        let m = blob(&d);
        if let Some(children) = m["manifests"].as_array() {
            stack.extend(
                children
                    .iter()
                    .map(|c| c["digest"].as_str().unwrap().to_string()),
            );
            continue;
        }
        for b in std::iter::once(&m["config"]).chain(m["layers"].as_array().unwrap().iter()) {
            if seen.insert(b["digest"].as_str().unwrap().to_string()) {
                total += b["size"].as_u64().unwrap();
            }
        }
    }
    total
}

/// Numbers and padding vary from run to run; the shape of the tables must not.
fn normalize(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|n| n.is_ascii_digit() || *n == '.')
            {
                chars.next();
            }
            out.push('N');
        } else if matches!(c, ' ' | '─' | '═' | '┈' | '╌') {
            while chars.peek() == Some(&c) {
                chars.next();
            }
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn compare_tables_costs_and_snapshot() {
    let mut env = Env::new();
    let hub = Hub::start(env.path(), 100);
    let ecr = Ecr::start(env.path());
    hub.configure(&mut env);
    ecr.configure(&mut env);
    // Two repositories with the very same image: ECR stores its blobs once.
    let layout = env.path().join("img-shared");
    build_image(&layout, &img("1.0", 331));
    hub.registry.push_layout(&layout, "1.0", "acme/one", false);
    hub.registry.push_layout(&layout, "1.0", "acme/two", false);
    let expected = unique_blob_bytes(&layout);
    env.crossdock(&["migrate", "docker.io/acme", &format!("{ECR_HOST}/cmp")])
        .ok();
    hub.reset();

    let args = [
        "compare",
        "--hub",
        "docker.io/acme",
        "--ecr",
        &format!("{ECR_HOST}/cmp"),
        "--pulls-per-month",
        "1000",
        "--egress",
        "cross-region",
        "--samples",
        "3",
    ];
    let mut json_args = args.to_vec();
    json_args.extend(["-o", "json"]);
    let r = env.crossdock(&json_args).ok().json();
    assert_eq!(r["storage"]["bytes"], expected, "{}", r["storage"]);
    assert_eq!(r["storage"]["images"], 2);
    let gb = expected as f64 / 1_073_741_824.0;
    let cost = &r["ecr_cost"];
    assert!(
        (cost["storage"].as_f64().unwrap() - gb * 0.10).abs() < 1e-9,
        "{cost}"
    );
    // 1000 pulls of the average image (expected / 2 bytes) at $0.02/GB cross-region.
    let transfer = 1000.0 * (expected / 2) as f64 / 1_073_741_824.0 * 0.02;
    assert!(
        (cost["transfer"].as_f64().unwrap() - transfer).abs() < 1e-9,
        "{cost}"
    );
    assert_eq!(r["hub_ratelimit"]["limit"], 100);
    assert_eq!(r["ecr_region"], "us-east-1");
    assert_eq!(r["hub"]["pulls_spent"], 0);
    assert!(op(&r["ecr"], "manifest HEAD")["summary"]["n"] == 3);
    assert!(
        op(&r["hub"], "token")["summary"]["p50_ms"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(
        hub.stats()["pulls"],
        0,
        "compare without --throughput spends no pull"
    );
    assert!(r["verdict"].as_str().unwrap().contains("ECR"));

    // A price file override changes the numbers and the date shown.
    let prices = env.path().join("p.toml");
    std::fs::write(
        &prices,
        "as_of = \"2030-06-30\"\n[ecr]\nstorage_gb_month = 1.0\n",
    )
    .unwrap();
    let mut with_prices = json_args.clone();
    with_prices.extend(["--prices", prices.to_str().unwrap()]);
    let r2 = env.crossdock(&with_prices).ok().json();
    assert_eq!(r2["prices_as_of"], "2030-06-30");
    assert!((r2["ecr_cost"]["storage"].as_f64().unwrap() - gb).abs() < 1e-9);

    // --throughput samples blobs and says what it cost.
    let mut tp = json_args.clone();
    tp.push("--throughput");
    let r3 = env.crossdock(&tp).ok().json();
    let spent = r3["hub"]["pulls_spent"].as_u64().unwrap();
    assert_eq!(spent, 2, "index + one platform manifest");
    assert_eq!(hub.stats()["pulls"], spent);
    assert!(r3["hub"]["throughput"]["mb_per_s"].as_f64().unwrap() > 0.0);

    // The text tables, numbers filtered, match the snapshot.
    let text = env.crossdock(&args).ok().stdout;
    // Which registry answered faster is not stable either.
    let text: String = text
        .lines()
        .map(|l| match (l.starts_with("Verdict:"), l.find("faster)")) {
            (true, Some(end)) => match l[..end].rfind(" (") {
                Some(start) => format!("{}{}", &l[..start], &l[end + "faster)".len()..]),
                None => l.to_string(),
            },
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let got = normalize(&text);
    let snap = repo_root().join("tests/it/snapshots/compare.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snap, &got).unwrap();
    }
    let want = std::fs::read_to_string(&snap).unwrap_or_default();
    assert!(got == want, "compare output changed; if intended, rerun with UPDATE_SNAPSHOTS=1.\n--- got ---\n{got}\n--- want ---\n{want}");
}
