//! Round trips a namespace run spends: one bearer token for every repository
//! (several scopes in one token request), and a handful of requests per
//! image, counted by crossdock itself and checked against the token server.

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
    assert!(
        total <= 6 * 2 + 2 + 6 + 2,
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
