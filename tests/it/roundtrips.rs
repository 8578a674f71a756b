//! Round trips a namespace run spends: one bearer token for every repository
//! (several scopes in one token request), and a handful of requests per
//! image, counted by crossdock itself and checked against the token server;
//! nothing checked in repositories that did not exist before the run.

use crate::harness::*;

#[test]
fn one_token_request_covers_every_repository_of_a_run() {
    let mut env = Env::new();
    let hub = Registry::start(env.path(), Auth::Token);
    let dst = env.open_registry();
    env.endpoint("docker.io", hub.port);
    let layout = env.path().join("img");
    build_image(
        &layout,
        &Image {
            seed: 801,
            size: "256K",
            layers: 1,
            platforms: "linux/amd64",
            single: true,
            ..Image::default()
        },
    );
    let mut mirrors = String::from("mirrors:\n");
    for i in 0..6 {
        hub.push_layout(&layout, "1.0", &format!("acme/rt{i}"), false);
        mirrors += &format!(
            "  - source: docker.io/acme/rt{i}\n    destination: {}/rt/rt{i}\n    tags: [\"1.0\"]\n",
            dst.addr()
        );
    }
    let file = env.path().join("mirror.yaml");
    std::fs::write(&file, mirrors).unwrap();
    let before = hub.token_stats()["tokens_issued"].as_u64().unwrap();
    let r = env
        .crossdock(&["sync", file.to_str().unwrap(), "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["copied"], 6, "{r}");
    let issued = hub.token_stats()["tokens_issued"].as_u64().unwrap() - before;
    assert_eq!(issued, 1, "one token for six repositories, not one each");
    // Requests at the source per image: a HEAD and a GET (plus the ping
    // and blob GETs); nothing repeated. Referrer discovery (on by default)
    // adds one tag listing per repository and one referrers-API probe per
    // registry.
    let src = r["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["registry"] == "docker.io")
        .unwrap()
        .clone();
    assert_eq!(src["throttled"], 0);
    assert!(
        src["requests"].as_u64().unwrap() <= 6 * 4 + 2 + 6 + 1,
        "{src}"
    );

    // A no-op rerun: a HEAD per image on each side, one token again; for
    // referrers a tag listing per source repository and one probe per
    // registry (source and destination).
    let before = hub.token_stats()["tokens_issued"].as_u64().unwrap();
    let again = env
        .crossdock(&["sync", file.to_str().unwrap(), "-o", "json"])
        .ok()
        .json();
    assert_eq!(again["unchanged"], 6, "{again}");
    assert_eq!(
        hub.token_stats()["tokens_issued"].as_u64().unwrap() - before,
        1
    );
    let total: u64 = again["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["requests"].as_u64().unwrap())
        .sum();
    // Nothing else: the manifests of an unchanged image are not read to
    // look for referrers when the source has none.
    assert!(
        total <= 6 * 2 + 6 + 2,
        "two HEADs per image: {}",
        again["hosts"]
    );
    assert_eq!(again["referrers_failed"], 0);
    // Without referrers: the two HEADs alone.
    let bare = env
        .crossdock(&[
            "sync",
            file.to_str().unwrap(),
            "--no-referrers",
            "-o",
            "json",
        ])
        .ok()
        .json();
    let total: u64 = bare["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["requests"].as_u64().unwrap())
        .sum();
    assert!(total <= 6 * 2 + 2, "two HEADs per image: {}", bare["hosts"]);
}

fn requests_at(run: &serde_json::Value, registry: &str) -> u64 {
    run["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["registry"] == registry)
        .map(|h| h["requests"].as_u64().unwrap())
        .unwrap_or_else(|| panic!("no host {registry}: {run}"))
}

#[test]
fn new_destination_repositories_are_written_without_checks() {
    let mut env = Env::new();
    let src = env.open_registry();
    let dst = env.open_registry();
    let layout = env.path().join("img");
    build_image(
        &layout,
        &Image {
            seed: 811,
            size: "64K",
            layers: 1,
            platforms: "linux/amd64",
            single: true,
            ..Image::default()
        },
    );
    for i in 0..4 {
        src.push_layout(&layout, "1.0", &format!("acme/new{i}"), false);
    }
    // One repository exists at the destination already (an older tag of
    // the same image).
    build_image(
        &layout,
        &Image {
            seed: 811,
            size: "64K",
            layers: 1,
            platforms: "linux/amd64",
            single: true,
            tag: "0.9",
            ..Image::default()
        },
    );
    src.push_layout(&layout, "0.9", "acme/new0", false);
    let r = env
        .crossdock(&[
            "migrate",
            &format!("{}/acme", src.addr()),
            &format!("{}/fresh", dst.addr()),
            "--tags",
            "0\\.9",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["copied"], 1, "{r}");
    let r = env
        .crossdock(&[
            "migrate",
            &format!("{}/acme", src.addr()),
            &format!("{}/fresh", dst.addr()),
            "--tags",
            "1\\.0",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["copied"], 4, "{r}");
    // The catalog says three repositories are new: their image is written
    // with no HEAD (tag, blobs): 2 blobs × (POST + PUT) + 1 manifest PUT.
    // The existing one is checked (tag HEAD, 2 blob HEADs present: no
    // upload, manifest PUT). Plus the catalog. (The source has no
    // referrers: the destination is not asked how it keeps them.)
    let dst_requests = requests_at(&r, &dst.addr());
    assert_eq!(dst_requests, 3 * 5 + (1 + 2 + 1) + 1, "{}", r["hosts"]);
    // Every tag landed with the source's digest.
    for i in 0..4 {
        let d = env
            .crossdock(&[
                "inspect",
                &format!("{}/fresh/new{i}:1.0", dst.addr()),
                "-o",
                "json",
            ])
            .ok()
            .json();
        assert_eq!(d["digest"], r["results"][0]["digest"], "{d}");
    }
}

#[test]
fn a_hub_listing_spares_the_tag_listings_and_a_noop_reads_no_manifest() {
    let mut env = Env::new();
    let hub = Hub::start(env.path(), 1000);
    let ecr = Ecr::start(env.path());
    hub.configure(&mut env);
    ecr.configure(&mut env);
    for i in 0..3 {
        hub.push(
            env.path(),
            &format!("acme/lst{i}"),
            Image {
                seed: 812,
                size: "64K",
                layers: 1,
                platforms: "linux/amd64,linux/arm64",
                ..Image::default()
            },
        );
    }
    let args = [
        "migrate",
        "docker.io/acme",
        &format!("{ECR_HOST}/lst"),
        "-o",
        "json",
    ];
    let cold = env.crossdock(&args).ok().json();
    assert_eq!(cold["copied"], 3, "{cold}");
    hub.reset();
    let again = env.crossdock(&args).ok().json();
    assert_eq!(again["unchanged"], 3, "{again}");
    assert_eq!(again["hub_pulls"], 0, "{again}");
    // Docker Hub: a HEAD per image and one referrers-API probe; the tags
    // (referrer tags included) came with the Hub API listing.
    assert!(
        requests_at(&again, "docker.io") <= 3 + 1 + 1,
        "{}",
        again["hosts"]
    );
    // ECR: a HEAD per image and one probe; no manifest GET.
    assert!(
        requests_at(&again, ECR_HOST) <= 3 + 1 + 1,
        "{}",
        again["hosts"]
    );
    assert_eq!(hub.stats()["pulls"], 0);
}

#[test]
fn a_single_copy_asks_for_one_token() {
    let mut env = Env::new();
    let hub = Registry::start(env.path(), Auth::Token);
    let dst = env.open_registry();
    env.endpoint("docker.io", hub.port);
    let layout = env.path().join("img");
    build_image(
        &layout,
        &Image {
            seed: 815,
            size: "64K",
            layers: 2,
            platforms: "linux/amd64,linux/arm64",
            ..Image::default()
        },
    );
    hub.push_layout(&layout, "1.0", "acme/one", false);
    let before = hub.token_stats()["tokens_issued"].as_u64().unwrap();
    // The HEAD of the image and the listing of its referrer tags start
    // together: the first request to the host learns the challenge and
    // the token, the other waits for it instead of asking too.
    let r = env
        .crossdock(&[
            "copy",
            "docker.io/acme/one:1.0",
            &format!("{}/one/one:1.0", dst.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["status"], "copied", "{r}");
    let issued = hub.token_stats()["tokens_issued"].as_u64().unwrap() - before;
    assert_eq!(issued, 1, "one token for one copy");
}

#[test]
fn a_repository_holding_only_blobs_is_not_new() {
    // An interrupted run leaves blobs and no tag: the catalog still lists
    // the repository (a tag listing would not), so the rerun finds them.
    let mut env = Env::new();
    let src = env.open_registry();
    let dst = env.open_registry();
    let layout = env.path().join("img");
    build_image(
        &layout,
        &Image {
            seed: 816,
            size: "64K",
            layers: 1,
            platforms: "linux/amd64",
            single: true,
            ..Image::default()
        },
    );
    src.push_layout(&layout, "1.0", "acme/b0", false);
    let first = env
        .crossdock(&[
            "copy",
            &format!("{}/acme/b0:1.0", src.addr()),
            &format!("{}/fresh/b0:0.1", dst.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    let digest = first["digest"].as_str().unwrap().to_string();
    assert_eq!(
        http_status(
            dst.port,
            "DELETE",
            &format!("/v2/fresh/b0/manifests/{digest}"),
            None
        ),
        Some(202)
    );
    let r = env
        .crossdock(&[
            "migrate",
            &format!("{}/acme", src.addr()),
            &format!("{}/fresh", dst.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["copied"], 1, "{r}");
    assert_eq!(r["results"][0]["blobs_copied"], 0, "{r}");
}
