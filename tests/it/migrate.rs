//! `migrate`, `sync` and `diff` against the Docker Hub stand-in (token
//! registry + rate-limit front + Hub API) and the ECR stand-in (moto +
//! htpasswd registry + NAME_UNKNOWN/immutability front).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::*;
use crate::proxy::{Fault, Proxy, Rule};

struct World {
    env: Env,
    hub: Hub,
    ecr: Ecr,
}

fn world(limit: u64) -> World {
    let mut env = Env::new();
    let hub = Hub::start(env.path(), limit);
    let ecr = Ecr::start(env.path());
    hub.configure(&mut env);
    ecr.configure(&mut env);
    World { env, hub, ecr }
}

fn img(tag: &str, seed: u64) -> Image<'_> {
    Image {
        tag,
        seed,
        size: "1M",
        ..Image::default()
    }
}

fn dst(path: &str) -> String {
    format!("{ECR_HOST}/{path}")
}

fn statuses(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn migrate_namespace_creates_repos_keeps_digests_and_reruns_for_free() {
    let w = world(1000);
    let api10 = w.hub.push(w.env.path(), "acme/api", img("1.0", 101));
    let api11 = w.hub.push(w.env.path(), "acme/api", img("1.1", 102));
    let web = w.hub.push(
        w.env.path(),
        "acme/web",
        Image {
            platforms: "linux/amd64",
            single: true,
            ..img("2.0", 103)
        },
    );
    w.hub.push(w.env.path(), "acme/skip", img("1.0", 104));
    let policy = w.env.path().join("lifecycle.json");
    let policy_text = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;
    std::fs::write(&policy, policy_text).unwrap();
    let kms = "arn:aws:kms:us-east-1:123456789012:key/0b5d6c54-6e0b-4c4e-9d1e-000000000001";
    let r = w
        .env
        .crossdock(&[
            "migrate",
            "docker.io/acme",
            &dst("mirror"),
            "--exclude-repos",
            "skip",
            "--tag-mutability",
            "IMMUTABLE",
            "--scan-on-push",
            "--repo-tag",
            "team=platform",
            "--encryption",
            "KMS",
            "--kms-key",
            kms,
            "--lifecycle-policy",
            policy.to_str().unwrap(),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["images"], 3, "{r}");
    assert_eq!(r["copied"], 3);
    assert_eq!(
        r["repositories_created"],
        json!([dst("mirror/api"), dst("mirror/web")])
    );
    let ecr = &w.ecr.registry;
    assert_eq!(
        ecr.skopeo_digest("mirror/api", "1.0").as_deref(),
        api10["digest"].as_str()
    );
    assert_eq!(
        ecr.skopeo_digest("mirror/api", "1.1").as_deref(),
        api11["digest"].as_str()
    );
    assert_eq!(
        ecr.skopeo_digest("mirror/web", "2.0").as_deref(),
        web["digest"].as_str()
    );
    assert_eq!(ecr.skopeo_digest("mirror/skip", "1.0"), None);
    // Created with the requested settings (read back through the ECR API).
    let repo = w.ecr.repository("mirror/api").expect("created");
    assert_eq!(repo["imageTagMutability"], "IMMUTABLE");
    assert_eq!(repo["imageScanningConfiguration"]["scanOnPush"], true);
    assert_eq!(repo["encryptionConfiguration"]["encryptionType"], "KMS");
    assert_eq!(repo["encryptionConfiguration"]["kmsKey"], kms);
    let (status, lc) = w.ecr.api(
        "GetLifecyclePolicy",
        json!({"repositoryName": "mirror/web"}),
    );
    assert_eq!(status, 200, "{lc}");
    let got: Value = serde_json::from_str(lc["lifecyclePolicyText"].as_str().unwrap()).unwrap();
    assert_eq!(got, serde_json::from_str::<Value>(policy_text).unwrap());
    let (_, tags) = w.ecr.api(
        "ListTagsForResource",
        json!({"resourceArn": repo["repositoryArn"]}),
    );
    assert_eq!(tags["tags"], json!([{"Key": "team", "Value": "platform"}]));
    // Pulls: one per manifest fetched (index + 2 platforms, twice; 1 single).
    assert_eq!(r["hub_pulls"], 7);

    // Rerun: HEADs only, not one pull, nothing re-pushed (immutable repo!).
    w.hub.reset();
    let again = w
        .env
        .crossdock(&[
            "migrate",
            "docker.io/acme",
            &dst("mirror"),
            "--exclude-repos",
            "skip",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(again["unchanged"], 3, "{again}");
    assert_eq!(again["hub_pulls"], 0);
    assert_eq!(w.hub.stats()["pulls"], 0);
}

#[test]
fn dry_run_plans_without_writing_or_pulling() {
    let w = world(1000);
    w.hub.push(w.env.path(), "acme/one", img("1.0", 111));
    w.hub.push(w.env.path(), "acme/one", img("1.1", 112));
    w.hub.push(w.env.path(), "acme/two", img("3.0", 113));
    let r = w
        .env
        .crossdock(&[
            "migrate",
            "docker.io/acme",
            &dst("dry"),
            "--dry-run",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["would_copy"], 3, "{r}");
    // 3 images × (index + 2 platforms).
    assert_eq!(r["hub_pulls"], 9);
    assert!(r["bytes_copied"].as_u64().unwrap() >= 3 * 1024 * 1024);
    assert!(r["estimated_storage_cost_month"].as_f64().unwrap() > 0.0);
    assert_eq!(r["prices_as_of"], "2026-11-01");
    // Nothing written, nothing pulled, no repository created.
    assert_eq!(w.hub.stats()["pulls"], 0);
    assert_eq!(w.ecr.repository("dry/one"), None);
    assert_eq!(w.ecr.stats()["manifest_puts"], 0);

    // A price file override changes the estimate.
    let prices = w.env.path().join("prices.toml");
    std::fs::write(
        &prices,
        "as_of = \"2031-01-01\"\n[ecr]\nstorage_gb_month = 1000.0\n",
    )
    .unwrap();
    let r2 = w
        .env
        .crossdock(&[
            "migrate",
            "docker.io/acme",
            &dst("dry"),
            "--dry-run",
            "--prices",
            prices.to_str().unwrap(),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r2["prices_as_of"], "2031-01-01");
    let ratio = r2["estimated_storage_cost_month"].as_f64().unwrap()
        / r["estimated_storage_cost_month"].as_f64().unwrap();
    assert!((ratio - 10_000.0).abs() < 1e-6, "{ratio}");
}

#[test]
fn filters_select_tags_and_shards_partition_the_plan() {
    let w = world(1000);
    for (i, t) in ["1.0", "1.1", "1.2", "2.0", "latest", "dev"]
        .iter()
        .enumerate()
    {
        w.hub.push(
            w.env.path(),
            "acme/app",
            Image {
                platforms: "linux/amd64",
                single: true,
                ..img(t, 120 + i as u64)
            },
        );
        w.hub
            .set_updated("acme/app", t, &format!("2026-01-0{}T00:00:00Z", i + 1));
    }
    for (i, t) in ["0.9", "1.5"].iter().enumerate() {
        w.hub.push(
            w.env.path(),
            "acme/lib",
            Image {
                platforms: "linux/amd64",
                single: true,
                ..img(t, 130 + i as u64)
            },
        );
    }
    let plan = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "migrate",
            "docker.io/acme",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/f",
            "--dry-run",
            "-o",
            "json",
        ];
        args.extend_from_slice(extra);
        let v = w.env.crossdock(&args).ok().json();
        statuses(&v).into_iter().map(|(s, _)| s).collect()
    };
    let all = plan(&[]);
    assert_eq!(all.len(), 8);
    assert_eq!(
        plan(&["--semver", ">=1.1, <2", "--repos", "app"]),
        ["docker.io/acme/app:1.1", "docker.io/acme/app:1.2"]
    );
    assert_eq!(
        plan(&["--tags", "[0-9.]+", "--repos", "lib"]),
        ["docker.io/acme/lib:0.9", "docker.io/acme/lib:1.5"]
    );
    assert_eq!(plan(&["--tags", "dev|latest"]).len(), 2);
    // latest 1 per repository (newest push: the last one pushed).
    assert_eq!(
        plan(&["--latest", "1"]),
        ["docker.io/acme/app:dev", "docker.io/acme/lib:1.5"]
    );
    // Shards: disjoint, and together exactly the plan.
    let mut union = Vec::new();
    for i in 0..3 {
        let part = plan(&["--shard", &format!("{i}/3")]);
        for p in &part {
            assert!(!union.contains(p), "{p} is in two shards");
        }
        union.extend(part);
    }
    union.sort();
    assert_eq!(union, all);
    let bad = w
        .env
        .crossdock(&["migrate", "docker.io/acme", &dst("f"), "--shard", "3/3"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn killed_migration_finishes_on_rerun_with_identical_digests() {
    let mut w = world(1000);
    let a = w.hub.push(
        w.env.path(),
        "acme/k1",
        Image {
            size: "3M",
            ..img("1.0", 141)
        },
    );
    let b = w.hub.push(
        w.env.path(),
        "acme/k2",
        Image {
            size: "3M",
            ..img("1.0", 142)
        },
    );
    // Slow the ECR data plane down so the kill lands mid-run.
    let slow = Proxy::start(
        w.ecr.front_port,
        vec![Rule {
            method: "PUT",
            path_contains: "/blobs/uploads/",
            fault: Fault::Delay(Duration::from_millis(300)),
            times: usize::MAX,
        }],
    );
    w.env.config = w.env.config.replace(
        &format!("http://127.0.0.1:{}\"", w.ecr.front_port),
        &format!("http://127.0.0.1:{}\"", slow.port),
    );
    let mut child = w
        .env
        .command(&[
            "migrate",
            "docker.io/acme",
            &dst("kill"),
            "--images",
            "1",
            "--jobs",
            "1",
            "-o",
            "json",
        ])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while slow.count("PUT", "/blobs/uploads/") < 3 {
        assert!(Instant::now() < deadline, "never started: {:?}", slow.log());
        if child.try_wait().unwrap().is_some() {
            let out = to_run(child.wait_with_output().unwrap());
            panic!("finished before the kill:\n{}\n{}", out.stdout, out.stderr);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let r = w
        .env
        .crossdock(&["migrate", "docker.io/acme", &dst("kill"), "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["failed"], 0, "{r}");
    let ecr = &w.ecr.registry;
    assert_eq!(
        ecr.skopeo_digest("kill/k1", "1.0").as_deref(),
        a["digest"].as_str()
    );
    assert_eq!(
        ecr.skopeo_digest("kill/k2", "1.0").as_deref(),
        b["digest"].as_str()
    );
    let again = w
        .env
        .crossdock(&["migrate", "docker.io/acme", &dst("kill"), "-o", "json"])
        .ok()
        .json();
    assert_eq!(again["unchanged"], 2);
}

#[test]
fn immutable_tags_same_digest_is_success_different_digest_is_a_per_tag_error() {
    let w = world(1000);
    w.hub.push(w.env.path(), "acme/imm", img("1.0", 151));
    w.hub.push(w.env.path(), "acme/imm", img("2.0", 152));
    let args = [
        "migrate",
        "docker.io/acme",
        &dst("imm"),
        "--tag-mutability",
        "IMMUTABLE",
        "-o",
        "json",
    ];
    w.env.crossdock(&args).ok();
    assert_eq!(
        w.ecr.repository("imm/imm").unwrap()["imageTagMutability"],
        "IMMUTABLE"
    );

    // Same digests with a platform filter: the rewritten index is identical
    // to what is there, so nothing is re-tagged and nothing fails.
    let filtered = [
        "migrate",
        "docker.io/acme",
        &dst("immf"),
        "--platform",
        "linux/amd64",
        "--tag-mutability",
        "IMMUTABLE",
        "-o",
        "json",
    ];
    w.env.crossdock(&filtered).ok();
    let r = w.env.crossdock(&filtered).ok().json();
    assert_eq!(r["failed"], 0, "{r}");

    // The source moves 1.0 to another image: that tag fails, 2.0 is fine.
    w.hub.push(w.env.path(), "acme/imm", img("1.0", 153));
    let r = w.env.crossdock(&args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    assert_eq!(
        statuses(&v),
        [
            ("docker.io/acme/imm:1.0".to_string(), "failed".to_string()),
            (
                "docker.io/acme/imm:2.0".to_string(),
                "unchanged".to_string()
            )
        ]
    );
    let err = v["results"][0]["error"].as_str().unwrap();
    assert!(err.contains("immutable"), "{err}");
    assert!(r.stderr.contains("1 of 2 images failed"), "{}", r.stderr);
}

#[test]
fn missing_repository_without_create_is_a_clear_error() {
    let w = world(1000);
    w.hub.push(w.env.path(), "acme/nr", img("1.0", 161));
    let r = w.env.crossdock(&[
        "migrate",
        "docker.io/acme",
        &dst("nocreate"),
        "--no-create-repos",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    let err = v["results"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("NAME_UNKNOWN") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn exhausted_pull_limit_fails_cleanly_or_waits_for_the_window() {
    let w = world(1000);
    w.hub.push(w.env.path(), "acme/rl", img("1.0", 171));
    w.hub.push(w.env.path(), "acme/rl", img("2.0", 172));
    w.hub.set_remaining(2);
    let r = w.env.crossdock(&[
        "migrate",
        "docker.io/acme",
        &dst("rl"),
        "--on-ratelimit",
        "fail",
        "--images",
        "1",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("pull rate limit"), "{}", r.stdout);
    // The limit was respected: at most one refused GET, not a hammering.
    assert!(
        w.hub.stats()["rejected"].as_u64().unwrap() <= 1,
        "{}",
        w.hub.stats()
    );

    // Wait mode: out of pulls; the window "resets" 2 s later; the run finishes.
    w.hub.set_remaining(0);
    let port = w.hub.front_port;
    let refill = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        http(port, "POST", "/__set?remaining=100", &[], "");
    });
    let r = w
        .env
        .crossdock(&[
            "migrate",
            "docker.io/acme",
            &dst("rl"),
            "--images",
            "1",
            "-o",
            "json",
            "--progress",
            "lines",
        ])
        .ok();
    refill.join().unwrap();
    assert!(r.stderr.contains("pull rate limit reached"), "{}", r.stderr);
    assert_eq!(r.json()["failed"], 0);
}

#[test]
fn sync_mirrors_from_a_file_and_a_noop_resync_spends_no_pulls() {
    let w = world(1000);
    let n1 = w.hub.push(w.env.path(), "library/nginx", img("1.27", 181));
    w.hub.push(w.env.path(), "library/nginx", img("1.26", 182));
    for (i, t) in ["7.0", "7.2", "7.4"].iter().enumerate() {
        w.hub.push(
            w.env.path(),
            "library/redis",
            Image {
                platforms: "linux/amd64",
                single: true,
                ..img(t, 190 + i as u64)
            },
        );
    }
    let file = w.env.path().join("mirror.yaml");
    std::fs::write(
        &file,
        format!(
            r#"
defaults:
  repository:
    scan_on_push: true
mirrors:
  - source: nginx
    destination: {ECR_HOST}/mirror/nginx
    tags: ["1.27"]
    platforms: [linux/arm64]
  - source: docker.io/library/redis
    destination: {ECR_HOST}/mirror/redis
    semver: ">=7.2"
"#
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let r = w.env.crossdock(&["sync", f, "-o", "json"]).ok().json();
    assert_eq!(r["copied"], 3, "{r}");
    assert_eq!(
        w.ecr.repository("mirror/nginx").unwrap()["imageScanningConfiguration"]["scanOnPush"],
        true
    );
    let idx: Value =
        serde_json::from_slice(&w.ecr.registry.skopeo_raw("mirror/nginx", "1.27").unwrap())
            .unwrap();
    assert_eq!(idx["manifests"].as_array().unwrap().len(), 1);
    assert_ne!(
        Some(sha256(&serde_json::to_vec(&idx).unwrap())),
        n1["digest"].as_str().map(str::to_string)
    );
    assert!(w
        .ecr
        .registry
        .skopeo_digest("mirror/redis", "7.0")
        .is_none());

    w.hub.reset();
    let again = w.env.crossdock(&["sync", f, "-o", "json"]).ok().json();
    assert_eq!(again["copied"], 0, "{again}");
    assert_eq!(again["failed"], 0);
    assert_eq!(w.hub.stats()["pulls"], 0, "a no-op sync must not pull");
    assert_eq!(again["hub_pulls"], 0);
}

#[test]
fn diff_reports_same_missing_different_extra() {
    let w = world(1000);
    let a = w.hub.push(w.env.path(), "acme/d", img("same", 201));
    w.hub.push(w.env.path(), "acme/d", img("diff", 202));
    w.hub.push(w.env.path(), "acme/d", img("missing", 203));
    // Mirror two tags, then make the mirror differ.
    let mirror = format!("{ECR_HOST}/m/d");
    w.env
        .crossdock(&["copy", "docker.io/acme/d:same", &format!("{mirror}:same")]);
    let created = w
        .ecr
        .api("CreateRepository", json!({"repositoryName": "m/d"}));
    assert!(created.0 == 200 || created.0 == 400);
    w.env
        .crossdock(&["copy", "docker.io/acme/d:same", &format!("{mirror}:same")])
        .ok();
    w.env
        .crossdock(&["copy", "docker.io/acme/d:same", &format!("{mirror}:diff")])
        .ok();
    w.env
        .crossdock(&["copy", "docker.io/acme/d:same", &format!("{mirror}:extra")])
        .ok();
    w.hub.reset();
    let r = w
        .env
        .crossdock(&["diff", "docker.io/acme/d", &mirror, "-o", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    let by_tag = |t: &str| {
        v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["tag"] == t)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_tag("same")["status"], "same");
    assert_eq!(by_tag("same")["source_digest"], a["digest"]);
    assert_eq!(by_tag("diff")["status"], "different");
    assert_eq!(by_tag("missing")["status"], "missing");
    assert_eq!(by_tag("extra")["status"], "extra");
    assert_eq!(
        by_tag("same")["platforms"],
        json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(w.hub.stats()["pulls"], 0, "diff is HEAD only");

    // Once mirrored, diff says in sync (exit 0).
    let ns = format!("{ECR_HOST}/m");
    w.env.crossdock(&[
        "migrate",
        "docker.io/acme",
        &ns,
        "--repos",
        "d",
        "--images",
        "1",
    ]);
    // The "diff" tag in the mirror is mutable here, so migrate fixed it; "extra" stays extra.
    let r = w.env.crossdock(&[
        "diff",
        "docker.io/acme",
        &ns,
        "--tags",
        "same|diff|missing",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["in_sync"], true);
}

#[test]
fn ecr_shorthand_resolves_account_and_region() {
    let w = world(1000);
    let a = w.hub.push(w.env.path(), "acme/short", img("1.0", 211));
    // Without the repository: NAME_UNKNOWN; --create-repos creates it first.
    let missing = w
        .env
        .crossdock(&["copy", "docker.io/acme/short:1.0", "ecr://short/x:1.0"]);
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("NAME_UNKNOWN"),
        "{}",
        missing.stderr
    );
    let r = w
        .env
        .crossdock(&[
            "copy",
            "docker.io/acme/short:1.0",
            "ecr://short/x:1.0",
            "--create-repos",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert!(w.ecr.repository("short/x").is_some());
    assert_eq!(r["destination"], format!("{ECR_HOST}/short/x:1.0"));
    assert_eq!(
        w.ecr.registry.skopeo_digest("short/x", "1.0").as_deref(),
        a["digest"].as_str()
    );
    let l = w
        .env
        .crossdock(&["ls", "ecr://short/x", "-o", "json"])
        .ok()
        .json();
    assert_eq!(l["tags"], json!(["1.0"]));
}

#[test]
fn hub_api_rate_limit_is_waited_out() {
    let mut env = Env::new();
    let hub = Hub::start_with(env.path(), 1000, 2);
    let ecr = Ecr::start(env.path());
    hub.configure(&mut env);
    ecr.configure(&mut env);
    for (i, r) in ["acme/h1", "acme/h2", "acme/h3"].iter().enumerate() {
        hub.push(
            env.path(),
            r,
            Image {
                platforms: "linux/amd64",
                single: true,
                ..img("1.0", 220 + i as u64)
            },
        );
    }
    // 1 repository page + 3 tag pages against a limit of 2 requests per window.
    let r = env
        .crossdock(&[
            "migrate",
            "docker.io/acme",
            &dst("h"),
            "--dry-run",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["would_copy"], 3, "{r}");
    assert!(
        hub.api_stats()["rejected"].as_u64().unwrap() >= 1,
        "{}",
        hub.api_stats()
    );
}
