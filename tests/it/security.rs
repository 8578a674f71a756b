//! Hostile registries and bad input (issue 8): every test puts a server of
//! its own in front of (or instead of) a real registry and checks that no
//! credential leaks, no name from outside escapes its repository, nothing
//! panics, reads stay bounded, OCI layouts stay consistent, and credential
//! helpers cannot hang a run.

use serde_json::json;

use crate::harness::*;
use crate::hostile::{Canned, Hostile};
use crate::proxy::{Fault, Proxy, Rule};

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
        j["invalid_names"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("'%'"),
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
        proxy
            .log()
            .iter()
            .all(|p| p.split(' ').nth(1).unwrap().starts_with("/v2/")),
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
    Canned::json(
        401,
        json!({"errors": [{"code": "UNAUTHORIZED", "message": "token"}]}),
    )
    .header(
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

/// Builds a small two-platform image as an OCI layout under `dir`.
fn layout_image(dir: &std::path::Path, seed: u64) -> serde_json::Value {
    build_image(
        dir,
        &Image {
            seed,
            size: "256K",
            layers: 2,
            ..Image::default()
        },
    )
}

/// Every blob file (path, size) of a layout.
fn blob_files(root: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let dir = root.join("blobs/sha256");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .map(|r| r.flatten().collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            (e.path(), m.len())
        })
        .collect();
    v.sort();
    v
}

/// The layer blob files of a layout's first platform manifest (not the
/// manifests or configs).
fn layer_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let read = |d: &str| -> serde_json::Value {
        let p = root
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"));
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let top = read(index["manifests"][0]["digest"].as_str().unwrap());
    let image = read(top["manifests"][0]["digest"].as_str().unwrap());
    image["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            root.join("blobs/sha256")
                .join(l["digest"].as_str().unwrap().trim_start_matches("sha256:"))
        })
        .collect()
}

/// A layout destination is not trusted by file existence: a deleted layer,
/// or one truncated to zero bytes, is found and written again on a rerun
/// (the tag is not re-confirmed over a missing blob).
#[test]
fn layout_destination_missing_or_empty_blobs_are_rewritten() {
    let mut env = Env::new();
    let a = env.open_registry();
    let src_layout = env.path().join("src");
    let img = layout_image(&src_layout, 91);
    a.push_layout(&src_layout, "1.0", "l/src", false);
    let dst = env.path().join("export");
    let to = format!("oci:{}:1.0", dst.display());
    let from = format!("{}/l/src:1.0", a.addr());
    let r = env
        .crossdock(&["copy", &from, &to, "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["digest"], img["digest"]);
    let good = blob_files(&dst);
    let layers = layer_files(&dst);
    std::fs::remove_file(&layers[0]).unwrap();
    std::fs::write(&layers[1], b"").unwrap();

    let r = env
        .crossdock(&["copy", &from, &to, "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["status"], "copied", "{r}");
    assert_eq!(r["blobs_copied"], 2, "{r}");
    assert_eq!(blob_files(&dst), good, "every blob is back, at its size");
    // And a third run has nothing to do.
    let r = env
        .crossdock(&["copy", &from, &to, "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["status"], "unchanged", "{r}");
}

/// Links inside a layout are never followed: a destination's `blobs/` that
/// links elsewhere is refused (nothing written there); a blob file that is a
/// link is replaced by the real blob; a source blob that is a link is refused.
#[cfg(unix)]
#[test]
fn layout_symlinks_are_not_followed() {
    let mut env = Env::new();
    let a = env.open_registry();
    let src_layout = env.path().join("src");
    layout_image(&src_layout, 92);
    a.push_layout(&src_layout, "1.0", "s/src", false);
    let from = format!("{}/s/src:1.0", a.addr());

    // blobs/ is a link to a directory outside the layout.
    let outside = env.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let dst = env.path().join("dst1");
    std::fs::create_dir_all(&dst).unwrap();
    std::os::unix::fs::symlink(&outside, dst.join("blobs")).unwrap();
    let r = env.crossdock(&["copy", &from, &format!("oci:{}:1.0", dst.display())]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "wrote outside the layout"
    );

    // A blob file that links to a file outside holding the same bytes.
    let dst = env.path().join("dst2");
    let to = format!("oci:{}:1.0", dst.display());
    env.crossdock(&["copy", &from, &to]).ok();
    let layer = layer_files(&dst)[0].clone();
    let kept = env.path().join("kept-outside");
    std::fs::rename(&layer, &kept).unwrap();
    std::os::unix::fs::symlink(&kept, &layer).unwrap();
    let r = env
        .crossdock(&["copy", &from, &to, "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["blobs_copied"], 1, "{r}");
    assert!(
        std::fs::symlink_metadata(&layer).unwrap().is_file(),
        "the link is replaced by the blob"
    );

    // A source layout whose layer is a link.
    let src2 = env.path().join("src2");
    layout_image(&src2, 93);
    let layer = layer_files(&src2)[0].clone();
    let moved = env.path().join("moved-outside");
    std::fs::rename(&layer, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &layer).unwrap();
    let r = env.crossdock(&[
        "copy",
        &format!("oci:{}:1.0", src2.display()),
        &format!("oci:{}:1.0", env.path().join("dst3").display()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
}

/// Temporary files of earlier runs that died are removed on the next write;
/// one of a live writer is left alone.
#[test]
fn layout_stale_temporary_files_are_removed() {
    let env = Env::new();
    let src = env.path().join("src");
    layout_image(&src, 94);
    let dst = env.path().join("dst");
    let blobs = dst.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let dead = c.id();
    c.wait().unwrap();
    let dead_tmp = blobs.join(format!(".tmp-{dead}-0123456789ab-1"));
    let old_tmp = dst.join(".tmp-4821730582");
    let live_tmp = blobs.join(format!(".tmp-{}-fedcba987654-2", std::process::id()));
    for p in [&dead_tmp, &old_tmp, &live_tmp] {
        std::fs::write(p, vec![0u8; 4096]).unwrap();
    }
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&old_tmp)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    env.crossdock(&[
        "copy",
        &format!("oci:{}:1.0", src.display()),
        &format!("oci:{}:1.0", dst.display()),
    ])
    .ok();
    assert!(!dead_tmp.exists(), "a dead run's temporary file stays");
    assert!(!old_tmp.exists(), "an hour-old temporary file stays");
    assert!(
        live_tmp.exists(),
        "a live writer's temporary file was removed"
    );
}

fn index_tags(root: &std::path::Path) -> Vec<String> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    let mut v: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            e["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .map(String::from)
        })
        .collect();
    v.sort();
    v
}

/// A source layout with the image of `base` under `tags`.
fn tagged_copy(base: &std::path::Path, to: &std::path::Path, tags: &[String]) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(base)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(to.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"][0].clone();
    index["manifests"] = tags
        .iter()
        .map(|t| {
            let mut e = entry.clone();
            e["annotations"] = json!({"org.opencontainers.image.ref.name": t});
            e
        })
        .collect();
    std::fs::write(to.join("index.json"), index.to_string()).unwrap();
}

/// Four processes writing tags into one layout at once lose none: the
/// index.json update runs under a file lock.
#[test]
fn concurrent_layout_writers_keep_every_tag() {
    let env = Env::new();
    let base = env.path().join("base");
    layout_image(&base, 95);
    let dst = env.path().join("shared");
    let mut want = Vec::new();
    let mut children = Vec::new();
    for k in 0..4 {
        let tags: Vec<String> = (0..10).map(|i| format!("p{k}-t{i}")).collect();
        want.extend(tags.iter().cloned());
        let src = env.path().join(format!("src{k}"));
        tagged_copy(&base, &src, &tags);
        children.push(
            env.command(&[
                "copy",
                "--all-tags",
                &format!("oci:{}", src.display()),
                &format!("oci:{}", dst.display()),
                "-o",
                "json",
            ])
            .spawn()
            .unwrap(),
        );
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    want.sort();
    assert_eq!(index_tags(&dst), want);
}

/// The index update waits for the layout's advisory lock (held here by
/// the test, as another writer would): nothing is tagged until it is free.
#[cfg(unix)]
#[test]
fn layout_index_update_waits_for_the_file_lock() {
    let env = Env::new();
    let src = env.path().join("src");
    let img = layout_image(&src, 96);
    let dst = env.path().join("locked");
    std::fs::create_dir_all(&dst).unwrap();
    let lock = std::fs::File::open(&dst).unwrap();
    fs4::FileExt::lock(&lock).unwrap();
    let child = env
        .command(&[
            "copy",
            &format!("oci:{}:1.0", src.display()),
            &format!("oci:{}:1.0", dst.display()),
        ])
        .spawn()
        .unwrap();
    // Wait (on the files) until the root manifest is written: next comes
    // the index update.
    let top = dst.join("blobs/sha256").join(
        img["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !top.exists() {
        assert!(std::time::Instant::now() < deadline, "copy never got going");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        !dst.join("index.json").exists(),
        "index.json was written while another writer held the lock"
    );
    drop(lock);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(index_tags(&dst), ["1.0"]);
}

/// SIGTERM is handled like Ctrl-C: a one-line message, exit 143, and the
/// temporary file of the blob being written is removed.
#[cfg(unix)]
#[test]
fn sigterm_removes_temporary_files() {
    let mut env = Env::new();
    let a = env.open_registry();
    let src_layout = env.path().join("src");
    build_image(
        &src_layout,
        &Image {
            seed: 97,
            size: "4M",
            layers: 1,
            single: true,
            platforms: "linux/amd64",
            ..Image::default()
        },
    );
    a.push_layout(&src_layout, "1.0", "t/src", false);
    // Blob bodies stop after 64 KiB and hang: the copy sits mid-blob.
    let proxy = Proxy::start(
        a.port,
        vec![Rule {
            method: "GET",
            path_contains: "/blobs/sha256:",
            fault: Fault::StallBodyAfter(64 * 1024),
            times: usize::MAX,
        }],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", proxy.addr());
    let dst = env.path().join("dst");
    let child = env
        .command(&[
            "copy",
            &format!("{}/t/src:1.0", proxy.addr()),
            &format!("oci:{}:1.0", dst.display()),
        ])
        .spawn()
        .unwrap();
    let tmp_files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dst.join("blobs/sha256"))
            .map(|r| {
                r.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .unwrap()
                            .to_string_lossy()
                            .starts_with(".tmp-")
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while tmp_files().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no blob write started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("terminated"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.contains("terminated")).count(),
        1
    );
    assert!(tmp_files().is_empty(), "left {:?}", tmp_files());
    assert!(!dst.join("index.json").exists());
}

/// Whether a process is running (a zombie is not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit_once(')')
            .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Kills leftover pids when a test fails half-way.
struct Reap(Vec<std::path::PathBuf>);
impl Drop for Reap {
    fn drop(&mut self) {
        for f in &self.0 {
            if let Some(pid) = std::fs::read_to_string(f)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
            {
                // SAFETY: best-effort cleanup of a test helper's process.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

fn read_pid(p: &std::path::Path) -> Option<u32> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// Installs `docker-credential-<name>` (a shell script) on the test's PATH
/// and names it as the helper for `registry`.
fn install_helper(env: &mut Env, registry: &str, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&helper, script).unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.env.push(("PATH".into(), path));
    env.extra_docker_config = Some(json!({"credHelpers": {registry: name}}));
}

/// A registry that wants Basic `u:p` for its tag list.
fn basic_registry() -> Hostile {
    Hostile::start(|r| match r.header("authorization") {
        Some(a) if a == format!("Basic {}", b64("u:p")) => {
            Canned::json(200, json!({"name": "x", "tags": ["a"]}))
        }
        _ => Canned::json(
            401,
            json!({"errors": [{"code": "UNAUTHORIZED", "message": "basic"}]}),
        )
        .header("www-authenticate", "Basic realm=\"hostile\""),
    })
}

/// A helper script that hangs (with a child of its own), recording both pids.
fn hanging_helper(dir: &std::path::Path) -> String {
    format!(
        "#!/bin/sh\necho $$ > {d}/helper.pid\nsleep 600 &\necho $! > {d}/child.pid\nwait\n",
        d = dir.display()
    )
}

/// A helper that hangs is stopped after the configured timeout — it and
/// its children — and the error says so.
#[cfg(unix)]
#[test]
fn hanging_credential_helper_times_out_and_is_killed() {
    let mut env = Env::new();
    let reg = basic_registry();
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", reg.addr());
    env.config += "[credentials]\nhelper_timeout_s = 1\n";
    let dir = env.path().to_path_buf();
    install_helper(&mut env, &reg.addr(), "hang", &hanging_helper(&dir));
    let _reap = Reap(vec![dir.join("helper.pid"), dir.join("child.pid")]);
    let start = std::time::Instant::now();
    let r = env.crossdock(&["ls", &format!("{}/x", reg.addr())]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("no answer within 1 s"), "{}", r.stderr);
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    for f in ["helper.pid", "child.pid"] {
        let pid = read_pid(&dir.join(f)).expect(f);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while alive(pid) {
            assert!(std::time::Instant::now() < deadline, "{f} {pid} still runs");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Ctrl-C while a helper runs stops the helper and its children too.
#[cfg(unix)]
#[test]
fn interrupt_kills_the_credential_helper() {
    let mut env = Env::new();
    let reg = basic_registry();
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", reg.addr());
    let dir = env.path().to_path_buf();
    install_helper(&mut env, &reg.addr(), "hang", &hanging_helper(&dir));
    let _reap = Reap(vec![dir.join("helper.pid"), dir.join("child.pid")]);
    let child = env
        .command(&["ls", &format!("{}/x", reg.addr())])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while read_pid(&dir.join("child.pid")).is_none() {
        assert!(std::time::Instant::now() < deadline, "helper never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["helper.pid", "child.pid"] {
        let pid = read_pid(&dir.join(f)).expect(f);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while alive(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "{f} {pid} left running after Ctrl-C"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// A helper that answers without reading its input works (no "Broken
/// pipe"); one that says "credentials not found" (on stderr too) means
/// anonymous access.
#[cfg(unix)]
#[test]
fn credential_helper_protocol_edges() {
    let mut env = Env::new();
    let reg = basic_registry();
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", reg.addr());
    install_helper(
        &mut env,
        &reg.addr(),
        "noread",
        "#!/bin/sh\nexec 0<&-\nprintf '{\"Username\":\"u\",\"Secret\":\"p\"}'\n",
    );
    for _ in 0..8 {
        let r = env.crossdock(&["ls", &format!("{}/x", reg.addr()), "-o", "json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stderr.contains("Broken pipe"), "{}", r.stderr);
        assert_eq!(r.json()["tags"], json!(["a"]));
    }

    // "credentials not found" on stderr, exit 1: anonymous (a registry that
    // gives anonymous tokens then answers).
    let open = Hostile::start(|r| {
        match (
            r.path.split('?').next().unwrap_or(""),
            r.header("authorization"),
        ) {
            ("/token", None) => Canned::json(200, json!({"token": "anon"})),
            ("/v2/y/tags/list", Some("Bearer anon")) => {
                Canned::json(200, json!({"name": "y", "tags": ["b"]}))
            }
            _ => bearer_challenge(r),
        }
    });
    let mut env = Env::new();
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", open.addr());
    let marker = env.path().join("asked");
    install_helper(
        &mut env,
        &open.addr(),
        "none",
        &format!(
            "#!/bin/sh\ntouch {}\necho 'credentials not found in native keychain' >&2\nexit 1\n",
            marker.display()
        ),
    );
    let r = env.crossdock(&["ls", &format!("{}/y", open.addr()), "-o", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["tags"], json!(["b"]));
    assert!(marker.exists(), "the helper was not asked");
}

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A whole registry served by a hostile server: repository `x`, manifests
/// by tag or digest, blobs by digest (HEAD and GET).
fn fake_registry(manifests: Vec<(String, &'static str, Vec<u8>)>, blobs: Vec<Vec<u8>>) -> Hostile {
    use std::collections::HashMap;
    let mut m: HashMap<String, (&'static str, Vec<u8>)> = HashMap::new();
    for (reference, ct, bytes) in manifests {
        m.insert(sha256(&bytes), (ct, bytes.clone()));
        m.insert(reference, (ct, bytes));
    }
    let b: HashMap<String, Vec<u8>> = blobs.into_iter().map(|x| (sha256(&x), x)).collect();
    Hostile::start(move |r| {
        let path = r.path.split('?').next().unwrap_or("");
        if path == "/v2/" {
            return Canned::json(200, json!({}));
        }
        let found = if let Some(reference) = path.strip_prefix("/v2/x/manifests/") {
            m.get(reference).map(|(ct, bytes)| (*ct, bytes.clone()))
        } else if let Some(d) = path.strip_prefix("/v2/x/blobs/") {
            b.get(d)
                .map(|bytes| ("application/octet-stream", bytes.clone()))
        } else {
            None
        };
        match found {
            Some((ct, bytes)) => Canned::status(200)
                .header("content-type", ct)
                .header("docker-content-digest", &sha256(&bytes))
                .body(bytes),
            None => Canned::json(
                404,
                json!({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "no"}]}),
            ),
        }
    })
}

/// An image manifest over `config` and `layers`.
fn image_manifest(config: &[u8], layers: &[&[u8]]) -> Vec<u8> {
    let desc = |mt: &str, b: &[u8]| json!({"mediaType": mt, "digest": sha256(b), "size": b.len()});
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": desc("application/vnd.oci.image.config.v1+json", config),
        "layers": layers.iter().map(|l| desc("application/vnd.oci.image.layer.v1.tar", l)).collect::<Vec<_>>(),
    })
    .to_string()
    .into_bytes()
}

/// An index whose entries are (manifest bytes, os, arch).
fn index_of(children: &[(&[u8], &str, &str)]) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": children.iter().map(|(m, os, arch)| json!({
            "mediaType": OCI_MANIFEST, "digest": sha256(m), "size": m.len(),
            "platform": {"os": os, "architecture": arch}
        })).collect::<Vec<_>>(),
    })
    .to_string()
    .into_bytes()
}

/// An index listing the same child twice costs one GET of that child.
#[test]
fn index_children_listed_twice_are_fetched_once() {
    let mut env = Env::new();
    let b = env.open_registry();
    let (config, layer) = (
        br#"{"architecture":"amd64","os":"linux"}"#.to_vec(),
        vec![7u8; 1000],
    );
    let child = image_manifest(&config, &[&layer]);
    let index = index_of(&[(&child, "linux", "amd64"), (&child, "linux", "amd64")]);
    let reg = fake_registry(
        vec![
            ("1.0".into(), OCI_INDEX, index.clone()),
            (sha256(&child), OCI_MANIFEST, child.clone()),
        ],
        vec![config, layer],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", reg.addr());
    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/x:1.0", reg.addr()),
            &format!("{}/dup:1.0", b.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], sha256(&index).as_str());
    let child_gets = reg
        .requests()
        .iter()
        .filter(|s| s.method == "GET" && s.path.ends_with(&sha256(&child)))
        .count();
    assert_eq!(child_gets, 1, "{:?}", reg.requests());
}

/// Escape sequences a server puts in names it controls (platforms here)
/// never reach the terminal raw.
#[test]
fn terminal_escapes_from_a_server_are_stripped() {
    let mut env = Env::new();
    let (config, layer) = (b"{}".to_vec(), vec![1u8; 10]);
    let child = image_manifest(&config, &[&layer]);
    let index = index_of(&[(
        &child,
        "linux\u{1b}]0;pwned\u{7}",
        "amd64\u{1b}[2J\u{9b}31m",
    )]);
    let reg = fake_registry(
        vec![
            ("1.0".into(), OCI_INDEX, index),
            (sha256(&child), OCI_MANIFEST, child),
        ],
        vec![config, layer],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", reg.addr());
    let r = env
        .crossdock(&["inspect", &format!("{}/x:1.0", reg.addr())])
        .ok();
    assert!(
        r.stdout.contains("linux]0;pwned/amd64[2J31m"),
        "{}",
        r.stdout
    );
    for c in ['\u{1b}', '\u{7}', '\u{9b}'] {
        assert!(
            !r.stdout.contains(c) && !r.stderr.contains(c),
            "{c:?} printed raw"
        );
    }
    // JSON keeps the value, escaped.
    let j = env
        .crossdock(&["inspect", &format!("{}/x:1.0", reg.addr()), "-o", "json"])
        .ok()
        .json();
    assert!(j["platforms"][0]["platform"]
        .as_str()
        .unwrap()
        .contains('\u{1b}'));
}

/// A `Link: rel="next"` that points back at a page already read stops the
/// listing with an error after one request, instead of looping.
#[test]
fn link_next_loops_are_stopped() {
    let mut env = Env::new();
    let a = env.open_registry();
    let proxy = Proxy::start(
        a.port,
        vec![Rule {
            method: "GET",
            path_contains: "/v2/l/x/tags/list",
            fault: Fault::Respond(
                Canned::json(200, json!({"name": "l/x", "tags": ["a"]}))
                    .header("link", "</v2/l/x/tags/list?n=1000>; rel=\"next\""),
            ),
            times: usize::MAX,
        }],
    );
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", proxy.addr());
    let r = env.crossdock(&["ls", &format!("{}/l/x", proxy.addr())]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("points back at a page already read"),
        "{}",
        r.stderr
    );
    assert_eq!(proxy.count("GET", "/tags/list"), 1);

    // The Hub API's "next" likewise.
    let api = Hostile::start(|r| {
        let host = r.header("host").unwrap_or("").to_string();
        Canned::json(
            200,
            json!({"count": 1, "next": format!("http://{host}/v2/namespaces/acme/repositories?page_size=100"),
                   "results": [{"name": "api"}]}),
        )
    });
    let mut env = Env::new();
    env.config += &format!(
        "[registry.\"docker.io\"]\nendpoint = \"http://127.0.0.1:{}\"\nhub_api = \"{}\"\n",
        a.port,
        api.url()
    );
    let r = env.crossdock(&[
        "migrate",
        "docker.io/acme",
        &format!("{}/m", a.addr()),
        "--dry-run",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("points back at a page already read"),
        "{}",
        r.stderr
    );
    assert!(api.requests().len() <= 2, "{}", api.requests().len());
}

/// Messages say what happened: a bad port is a reference error, `--platform
/// ""` is a usage error (not "all platforms"), and a manifest that does not
/// match its digest is reported without talk of copying when inspecting.
#[test]
fn messages_say_what_happened() {
    let env = Env::new();
    let r = env.crossdock(&["inspect", "localhost:99999/x:1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("port"), "{}", r.stderr);
    assert!(!r.stderr.contains("config file"), "{}", r.stderr);
    let r = env.crossdock(&[
        "migrate",
        "localhost:99999/ns",
        "localhost:5000/m",
        "--dry-run",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains("config file"), "{}", r.stderr);

    let r = env.crossdock(&[
        "copy",
        "--platform",
        "",
        "localhost:1/a:1",
        "localhost:1/b:1",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("empty platform"), "{}", r.stderr);

    // A registry answering another manifest than the digest asked for.
    let mut env = Env::new();
    let (config, layer) = (b"{}".to_vec(), vec![1u8; 10]);
    let real = image_manifest(&config, &[&layer]);
    let other = image_manifest(&config, &[]);
    let reg = fake_registry(vec![(sha256(&real), OCI_MANIFEST, other)], vec![]);
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", reg.addr());
    let r = env.crossdock(&["inspect", &format!("{}/x@{}", reg.addr(), sha256(&real))]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not match its digest"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("copy"), "{}", r.stderr);
}

/// A foreign host that answers 401 with a Bearer challenge of its own.
fn foreign_host() -> Hostile {
    Hostile::start(|r| {
        let host = r.header("host").unwrap_or("").to_string();
        Canned::json(
            401,
            json!({"errors": [{"code": "UNAUTHORIZED", "message": "who are you"}]}),
        )
        .header(
            "www-authenticate",
            &format!("Bearer realm=\"http://{host}/token\",service=\"evil\""),
        )
    })
}

/// A blob GET redirected to another host that answers 401 with its own
/// challenge: no credentials go there (no token request, no Authorization),
/// the error names that host and does not say the user's credentials were
/// refused.
#[test]
fn redirect_target_401_never_gets_credentials() {
    let mut env = Env::new();
    let hub = Registry::start(env.path(), Auth::Token);
    let b = env.open_registry();
    let layout = env.path().join("img");
    layout_image(&layout, 98);
    hub.push_layout(&layout, "1.0", "acme/redir", false);
    let foreign = foreign_host();
    let proxy = Proxy::start(
        hub.port,
        vec![Rule {
            method: "GET",
            path_contains: "/blobs/sha256:",
            fault: Fault::RedirectTo(foreign.url()),
            times: usize::MAX,
        }],
    );
    env.endpoint("docker.io", proxy.port);
    env.login("https://index.docker.io/v1/", HUB_USER, HUB_PASS);
    let r = env.crossdock(&[
        "copy",
        "docker.io/acme/redir:1.0",
        &format!("{}/redir:1.0", b.addr()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(&foreign.addr()), "{}", r.stderr);
    assert!(
        r.stderr.contains("no credentials were sent there"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("were refused"), "{}", r.stderr);
    assert!(!r.stderr.contains("authentication failed"), "{}", r.stderr);
    let seen = foreign.requests();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|s| s.header("authorization").is_none()),
        "credentials reached the foreign host: {seen:?}"
    );
    assert!(
        seen.iter().all(|s| !s.path.starts_with("/token")),
        "the foreign challenge was followed: {seen:?}"
    );
    // The registry's own challenge still works afterwards: nothing adopted.
    assert!(hub.token_stats()["auth_failures"].as_u64().unwrap_or(0) == 0);
}

/// An upload `Location` on another host that answers 401: the same — no
/// credentials, the host named, the user's credentials not blamed.
#[test]
fn foreign_upload_location_401_never_gets_credentials() {
    let mut env = Env::new();
    let a = env.open_registry();
    let ecr = Registry::ecr_data_plane(env.path());
    let layout = env.path().join("img");
    layout_image(&layout, 99);
    a.push_layout(&layout, "1.0", "u/src", false);
    let foreign = foreign_host();
    let proxy = Proxy::start(
        ecr.port,
        vec![Rule {
            method: "POST",
            path_contains: "/blobs/uploads/",
            fault: Fault::Respond(
                Canned::status(202)
                    .header("location", &format!("{}/upload/session-1", foreign.url()))
                    .header("content-length", "0"),
            ),
            times: usize::MAX,
        }],
    );
    env.endpoint(ECR_HOST, proxy.port);
    env.login(ECR_HOST, ECR_USER, ECR_PASS);
    env.config = env
        .config
        .replace("[retry]\n", "[retry]\nmax_attempts = 2\n");
    let r = env.crossdock(&[
        "copy",
        &format!("{}/u/src:1.0", a.addr()),
        &format!("{ECR_HOST}/up:1.0"),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(&foreign.addr()), "{}", r.stderr);
    assert!(!r.stderr.contains("were refused"), "{}", r.stderr);
    let seen = foreign.requests();
    assert!(
        seen.iter().any(|s| s.path.starts_with("/upload/")),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|s| s.header("authorization").is_none()),
        "credentials reached the foreign host: {seen:?}"
    );
    assert!(
        seen.iter().all(|s| !s.path.starts_with("/token")),
        "{seen:?}"
    );
}

/// A quarter of a gibibyte, more than any bounded read takes.
const HUGE: u64 = 256 * 1024 * 1024;
/// What a bounded reader may have made the server produce: the limit plus
/// socket buffers on both ends.
const READ_AT_MOST: u64 = 40 * 1024 * 1024;

/// Non-blob bodies are read through a limit and no further: a manifest
/// without Content-Length (4 MiB), an error body (64 KiB, a few hundred
/// characters shown), a token answer and a Hub API page (1 MiB each), a
/// credential helper's output (1 MiB).
#[test]
fn unbounded_bodies_are_cut_at_their_limit() {
    // A manifest of 256 MiB.
    let mut env = Env::new();
    env.config = env
        .config
        .replace("[retry]\n", "[retry]\nmax_attempts = 1\n");
    let reg = Hostile::start(|r| {
        let path = r.path.split('?').next().unwrap_or("");
        match (r.method.as_str(), path) {
            ("GET", "/v2/x/manifests/1.0") => Canned::status(200)
                .header("content-type", OCI_MANIFEST)
                .repeat(br#"{"schemaVersion":2,"pad":""#, b' ', HUGE),
            ("GET", "/v2/x/tags/list") => Canned::status(500)
                .header("content-type", "application/json")
                .repeat(br#"{"errors":[{"code":"X","message":""#, b'A', HUGE),
            _ => Canned::json(
                404,
                json!({"errors": [{"code": "NAME_UNKNOWN", "message": "no"}]}),
            ),
        }
    });
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", reg.addr());
    let r = env.crossdock(&["inspect", &format!("{}/x:1.0", reg.addr())]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("larger than 4194304 bytes"),
        "{}",
        r.stderr
    );
    let sent = reg.sent_bytes();
    assert!(
        sent < READ_AT_MOST,
        "the manifest was read on to {sent} bytes"
    );

    // An error body of 256 MiB: read up to 64 KiB, a few hundred characters shown.
    let r = env.crossdock(&["ls", &format!("{}/x", reg.addr())]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("HTTP 500"), "{}", r.stderr);
    assert!(
        r.stderr.len() < 2_000,
        "{} bytes of error printed",
        r.stderr.len()
    );
    let sent = reg.sent_bytes();
    assert!(
        sent < 2 * READ_AT_MOST,
        "the error body was read on to {sent} bytes"
    );

    // A token answer of 256 MiB.
    let tokens = Hostile::start(|r| match r.path.split('?').next().unwrap_or("") {
        "/token" => Canned::status(200)
            .header("content-type", "application/json")
            .repeat(br#"{"token":"t","pad":""#, b' ', HUGE),
        _ => bearer_challenge(r),
    });
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", tokens.addr());
    let r = env.crossdock(&["ls", &format!("{}/x", tokens.addr())]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("larger than 1048576 bytes"),
        "{}",
        r.stderr
    );
    assert!(
        tokens.sent_bytes() < READ_AT_MOST,
        "{}",
        tokens.sent_bytes()
    );

    // A Hub API page of 256 MiB.
    let a = env.open_registry();
    let api = Hostile::start(|_| {
        Canned::status(200)
            .header("content-type", "application/json")
            .repeat(br#"{"next":null,"results":[],"pad":""#, b' ', HUGE)
    });
    env.config += &format!(
        "[registry.\"docker.io\"]\nendpoint = \"http://127.0.0.1:{}\"\nhub_api = \"{}\"\n",
        a.port,
        api.url()
    );
    let r = env.crossdock(&[
        "migrate",
        "docker.io/acme",
        &format!("{}/m", a.addr()),
        "--dry-run",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("larger than 1048576 bytes"),
        "{}",
        r.stderr
    );
    assert!(api.sent_bytes() < READ_AT_MOST, "{}", api.sent_bytes());

    // A credential helper that prints 3 MB.
    let basic = basic_registry();
    env.config += &format!("[registry.\"{}\"]\ninsecure = true\n", basic.addr());
    install_helper(
        &mut env,
        &basic.addr(),
        "chatty",
        "#!/bin/sh\nhead -c 3000000 /dev/zero\n",
    );
    let r = env.crossdock(&["ls", &format!("{}/x", basic.addr())]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("larger than 1048576 bytes"),
        "{}",
        r.stderr
    );
}
