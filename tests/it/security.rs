//! Hostile registries and bad input (issue 8): every test puts a server of
//! its own in front of (or instead of) a real registry and checks that no
//! credential leaks, no name from outside escapes its repository, nothing
//! panics, reads stay bounded, OCI layouts stay consistent, and credential
//! helpers cannot hang a run.

use serde_json::json;

use crate::harness::*;
use crate::hostile::{Canned, Hostile};
use crate::proxy::{Fault, Proxy, Rule};

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn seed(env: &Env, reg: &Registry, repo: &str, tag: &str, seed: u64) {
    let layout = env.path().join(format!("img-{seed}"));
    if !layout.exists() {
        build_image(
            &layout,
            &Image {
                tag,
                seed,
                size: "256K",
                layers: 2,
                ..Image::default()
            },
        );
    }
    reg.push_layout(&layout, tag, repo, false);
}

/// A tag from `tags/list` that walks out of its repository
/// (`%2e%2e/%2E%2E/victim/manifests/1.0`) is skipped with the reason; no
/// request ever reaches the other repository, at the source or the destination.
#[test]
fn traversal_tag_from_tags_list_is_skipped() {
    let mut env = Env::new();
    let a = env.open_registry();
    let b = env.open_registry();
    seed(&env, &a, "h/src", "1.0", 81);
    seed(&env, &a, "h/victim", "1.0", 81);
    // The destination's victim repository exists with the same content under
    // another tag, so a manifest PUT there would succeed.
    let layout = env.path().join("img-81");
    b.push_layout(&layout, "1.0", "h/victim", false);
    let evil = "%2e%2e/%2E%2E/victim/manifests/1.0";
    let proxy = Proxy::start(
        a.port,
        vec![Rule {
            method: "GET",
            path_contains: "/v2/h/src/tags/list",
            fault: Fault::Respond(Canned::json(
                200,
                json!({"name": "h/src", "tags": ["1.0", evil]}),
            )),
            times: usize::MAX,
        }],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", proxy.addr());
    let victim_before = b.skopeo_digest("h/victim", "1.0");
    // Remove the destination victim's tag: the attack would re-create it.
    let (status, _) = http(
        b.port,
        "DELETE",
        &format!(
            "/v2/h/victim/manifests/{}",
            victim_before.as_deref().unwrap()
        ),
        &[],
        "",
    );
    assert_eq!(status, 202, "delete");
    let r = env.crossdock(&[
        "copy",
        "--all-tags",
        &format!("{}/h/src", proxy.addr()),
        &format!("{}/h/dst", b.addr()),
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["images"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(j["invalid_names"][0]["name"], evil, "{j}");
    assert_eq!(j["invalid_names"][0]["kind"], "tag");
    assert!(
        j["invalid_names"][0]["reason"].as_str().unwrap().contains("'%'"),
        "{j}"
    );
    assert!(
        proxy.log().iter().all(|p| !p.contains("victim")),
        "a request left the repository: {:?}",
        proxy.log()
    );
    assert_eq!(b.skopeo_digest("h/victim", "1.0"), None);
}

/// A `_catalog` entry that would leave `/v2/` is skipped; so is one with
/// upper-case letters; the valid repository is migrated.
#[test]
fn catalog_entries_that_escape_v2_are_skipped() {
    let mut env = Env::new();
    let a = env.open_registry();
    let b = env.open_registry();
    seed(&env, &a, "m/ok", "1.0", 82);
    let proxy = Proxy::start(
        a.port,
        vec![Rule {
            method: "GET",
            path_contains: "/v2/_catalog",
            fault: Fault::Respond(Canned::json(
                200,
                json!({"repositories": ["m/ok", "m/%2e%2e/%2e%2e/%2e%2e/escape", "m/UPPER", "m/../../x"]}),
            )),
            times: usize::MAX,
        }],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", proxy.addr());
    let r = env.crossdock(&[
        "migrate",
        &format!("{}/m", proxy.addr()),
        &format!("{}/mirror", b.addr()),
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["copied"], 1, "{j}");
    let skipped: Vec<&str> = j["invalid_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        skipped,
        ["m/%2e%2e/%2e%2e/%2e%2e/escape", "m/UPPER", "m/../../x"]
    );
    assert!(
        proxy.log().iter().all(|p| p.split(' ').nth(1).unwrap().starts_with("/v2/")),
        "a request left /v2/: {:?}",
        proxy.log()
    );
    assert!(b.skopeo_digest("mirror/ok", "1.0").is_some());
}

/// Repository and tag names from the Hub API are checked too; only the
/// valid ones are listed and copied.
#[test]
fn hub_api_names_are_checked() {
    let mut env = Env::new();
    let a = env.open_registry();
    let b = env.open_registry();
    seed(&env, &a, "acme/api", "1.0", 83);
    let api = Hostile::start(|r| match r.path.split('?').next().unwrap_or("") {
        "/v2/namespaces/acme/repositories" => Canned::json(
            200,
            json!({"count": 3, "next": null, "results": [
                {"name": "api"}, {"name": "%2e%2e%2f%2e%2e%2fevil"}, {"name": "../../evil"}
            ]}),
        ),
        "/v2/namespaces/acme/repositories/api/tags" => Canned::json(
            200,
            json!({"count": 2, "next": null, "results": [
                {"name": "1.0"}, {"name": "../../../x"}, {"name": "\u{1b}]0;pwned\u{7}"}
            ]}),
        ),
        _ => Canned::status(404),
    });
    env.config += &format!(
        "[registry.\"docker.io\"]\nendpoint = \"http://127.0.0.1:{}\"\nhub_api = \"{}\"\n",
        a.port,
        api.url()
    );
    let r = env.crossdock(&[
        "migrate",
        "docker.io/acme",
        &format!("{}/mirror", b.addr()),
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["copied"], 1, "{j}");
    assert_eq!(j["invalid_names"].as_array().unwrap().len(), 4, "{j}");
    let paths: Vec<String> = api
        .requests()
        .iter()
        .map(|s| s.path.split('?').next().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "/v2/namespaces/acme/repositories",
            "/v2/namespaces/acme/repositories/api/tags"
        ]
    );
    // The text output shows the names without their control characters.
    let r = env.crossdock(&[
        "migrate",
        "docker.io/acme",
        &format!("{}/mirror", b.addr()),
        "--dry-run",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("skipped tag"), "{}", r.stdout);
    assert!(
        !r.stdout.contains('\u{1b}') && !r.stderr.contains('\u{1b}'),
        "escape sequence printed raw"
    );
}

/// An invalid tag in the sync file is a usage error (exit 2) naming it.
#[test]
fn sync_file_with_an_invalid_tag_is_a_usage_error() {
    let env = Env::new();
    let file = env.path().join("mirror.yaml");
    std::fs::write(
        &file,
        "mirrors:\n  - source: 127.0.0.1:1/a/b\n    destination: 127.0.0.1:1/c\n    tags: [\"1.0\", \"../../victim/manifests/x\"]\n",
    )
    .unwrap();
    let r = env.crossdock(&["sync", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a valid tag"), "{}", r.stderr);
    assert!(r.stderr.contains("../../victim"), "{}", r.stderr);
}

/// `WWW-Authenticate: Bearer` challenge naming this server's own `/token`.
fn bearer_challenge(r: &crate::hostile::Seen) -> Canned {
    let host = r.header("host").unwrap_or("127.0.0.1").to_string();
    Canned::json(401, json!({"errors": [{"code": "UNAUTHORIZED", "message": "token"}]})).header(
        "www-authenticate",
        &format!("Bearer realm=\"http://{host}/token\",service=\"hostile\""),
    )
}

/// A token answer with `expires_in` near `u64::MAX` does not overflow a
/// time computation: the token is used (and refreshed within a day).
#[test]
fn token_lifetime_near_u64_max_does_not_panic() {
    let mut env = Env::new();
    let reg = Hostile::start(|r| {
        let path = r.path.split('?').next().unwrap_or("");
        match (path, r.header("authorization")) {
            ("/token", _) => Canned::json(
                200,
                json!({"token": "t0k", "expires_in": u64::MAX, "issued_at": "2026-01-01T00:00:00Z"}),
            ),
            ("/v2/x/tags/list", Some("Bearer t0k")) => {
                Canned::json(200, json!({"name": "x", "tags": ["a", "b"]}))
            }
            _ => bearer_challenge(r),
        }
    });
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", reg.addr());
    let r = env.crossdock(&["ls", &format!("{}/x", reg.addr()), "-o", "json"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["tags"], json!(["a", "b"]));
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

/// The Hub API's `X-Retry-After: u64::MAX` (a Unix time no clock can hold)
/// is a wait capped by `max_retry_after_s`, not an overflow.
#[test]
fn hub_api_retry_after_u64_max_does_not_panic() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut env = Env::new();
    let a = env.open_registry();
    let b = env.open_registry();
    seed(&env, &a, "acme/api", "1.0", 84);
    let calls = AtomicUsize::new(0);
    let api = Hostile::start(move |r| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Canned::json(429, json!({"detail": "slow down"}))
                .header("x-retry-after", &u64::MAX.to_string());
        }
        match r.path.split('?').next().unwrap_or("") {
            "/v2/namespaces/acme/repositories" => Canned::json(
                200,
                json!({"count": 1, "next": null, "results": [{"name": "api"}]}),
            ),
            "/v2/namespaces/acme/repositories/api/tags" => Canned::json(
                200,
                json!({"count": 1, "next": null, "results": [{"name": "1.0"}]}),
            ),
            _ => Canned::status(404),
        }
    });
    env.config = env
        .config
        .replace("[retry]\n", "[retry]\nmax_retry_after_s = 1\n");
    env.config += &format!(
        "[registry.\"docker.io\"]\nendpoint = \"http://127.0.0.1:{}\"\nhub_api = \"{}\"\n",
        a.port,
        api.url()
    );
    let r = env.crossdock(&[
        "migrate",
        "docker.io/acme",
        &format!("{}/mirror", b.addr()),
        "--dry-run",
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json()["images"], 1, "{}", r.stderr);
    assert_eq!(api.requests().len(), 3, "{}", r.stderr);
}
