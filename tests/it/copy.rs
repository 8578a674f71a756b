//! Copies between real registries: multi-arch and single-platform, OCI and
//! Docker media types, platform filter, skip-existing, mounts, OCI layouts,
//! --all-tags, --dry-run; digests cross-checked with skopeo.

use crate::harness::*;

fn hub_and_ecr(env: &mut Env) -> (Registry, Registry) {
    let hub = Registry::start(env.path(), Auth::Token);
    let ecr = Registry::ecr_data_plane(env.path());
    env.endpoint("docker.io", hub.port);
    env.endpoint(ECR_HOST, ecr.port);
    env.login("https://index.docker.io/v1/", HUB_USER, HUB_PASS);
    env.login(ECR_HOST, ECR_USER, ECR_PASS);
    (hub, ecr)
}

#[test]
fn multi_arch_copy_keeps_digests_and_rerun_is_unchanged() {
    let mut env = Env::new();
    let (hub, ecr) = hub_and_ecr(&mut env);
    let layout = env.path().join("img");
    let img = build_image(
        &layout,
        &Image {
            size: "3M",
            ..Image::default()
        },
    );
    hub.push_layout(&layout, "1.0", "acme/app", false);
    let src_digest = img["digest"].as_str().unwrap().to_string();
    assert_eq!(
        hub.skopeo_digest("acme/app", "1.0").as_deref(),
        Some(src_digest.as_str())
    );

    let dst = format!("{ECR_HOST}/mirror/app:1.0");
    let r = env
        .crossdock(&["copy", "docker.io/acme/app:1.0", &dst, "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["digest"], src_digest.as_str());
    assert_eq!(r["source_digest"], src_digest.as_str());
    assert_eq!(r["status"], "copied");
    assert_eq!(r["manifests"], 3);
    // 2 configs + 1 shared layer + 2×2 own layers = 7 unique blobs (the shared one once).
    assert_eq!(r["blobs_copied"], img["blobs"].as_u64().unwrap() - 3);
    assert_eq!(
        r["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    for key in [
        "source",
        "destination",
        "blobs_skipped",
        "blobs_mounted",
        "bytes_copied",
        "duration_s",
    ] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    assert_eq!(
        ecr.skopeo_digest("mirror/app", "1.0").as_deref(),
        Some(src_digest.as_str())
    );

    // Rerun: HEADs only, nothing moves.
    let again = env
        .crossdock(&["copy", "docker.io/acme/app:1.0", &dst, "-o", "json"])
        .ok()
        .json();
    assert_eq!(again["status"], "unchanged");
    assert_eq!(again["blobs_copied"], 0);

    // inspect sees both platforms at the destination.
    let i = env.crossdock(&["inspect", &dst, "-o", "json"]).ok().json();
    assert_eq!(i["digest"], src_digest.as_str());
    assert_eq!(i["platforms"].as_array().unwrap().len(), 2);
    // ls lists the tag.
    let l = env
        .crossdock(&["ls", &format!("{ECR_HOST}/mirror/app"), "-o", "json"])
        .ok()
        .json();
    assert_eq!(l["tags"], serde_json::json!(["1.0"]));
}

#[test]
fn docker_v2_single_platform_between_open_registries() {
    let mut env = Env::new();
    let a = env.open_registry();
    let b = env.open_registry();
    let layout = env.path().join("img");
    build_image(
        &layout,
        &Image {
            platforms: "linux/amd64",
            single: true,
            seed: 7,
            ..Image::default()
        },
    );
    a.push_layout(&layout, "1.0", "lib/single", true);
    let raw = a.skopeo_raw("lib/single", "1.0").unwrap();
    let src_digest = sha256(&raw);
    assert!(String::from_utf8_lossy(&raw)
        .contains("application/vnd.docker.distribution.manifest.v2+json"));

    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/lib/single:1.0", a.addr()),
            &format!("{}/copy/single", b.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], src_digest.as_str());
    assert_eq!(
        r["media_type"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(r["manifests"], 1);
    assert_eq!(r["destination"], format!("{}/copy/single:1.0", b.addr()));
    assert_eq!(
        b.skopeo_digest("copy/single", "1.0").as_deref(),
        Some(src_digest.as_str())
    );

    // By digest, to a digest-only destination.
    let by_digest = format!("{}/lib/single@{src_digest}", a.addr());
    let r = env
        .crossdock(&[
            "copy",
            &by_digest,
            &format!("{}/bydigest/x", b.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], src_digest.as_str());
    assert_eq!(
        b.skopeo_digest("bydigest/x", &src_digest).as_deref(),
        Some(src_digest.as_str())
    );
}

#[test]
fn platform_filter_keeps_only_asked_platforms() {
    let mut env = Env::new();
    let a = env.open_registry();
    let layout = env.path().join("img");
    let img = build_image(
        &layout,
        &Image {
            platforms: "linux/amd64,linux/arm64,linux/arm/v7",
            seed: 3,
            ..Image::default()
        },
    );
    a.push_layout(&layout, "1.0", "src/multi", false);
    let src = format!("{}/src/multi:1.0", a.addr());
    let r = env
        .crossdock(&[
            "copy",
            &src,
            &format!("{}/dst/multi:1.0", a.addr()),
            "--platform",
            "linux/arm64",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["platform_filtered"], true);
    assert_ne!(r["digest"], img["digest"]);
    let raw = a.skopeo_raw("dst/multi", "1.0").unwrap();
    assert_eq!(sha256(&raw), r["digest"].as_str().unwrap());
    let index: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["platform"]["architecture"], "arm64");
    // The child manifest itself is unchanged: same digest as in the source.
    let child = entries[0]["digest"].as_str().unwrap();
    assert_eq!(a.skopeo_digest("src/multi", child).as_deref(), Some(child));

    // A platform the image lacks is a usage error naming what exists.
    let bad = env.crossdock(&[
        "copy",
        &src,
        &format!("{}/dst/none:1.0", a.addr()),
        "--platform",
        "windows/amd64",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("linux/arm/v7"), "{}", bad.stderr);
}

#[test]
fn same_registry_copy_mounts_blobs() {
    let mut env = Env::new();
    let (hub, _ecr) = hub_and_ecr(&mut env);
    let layout = env.path().join("img");
    let img = build_image(
        &layout,
        &Image {
            seed: 11,
            ..Image::default()
        },
    );
    hub.push_layout(&layout, "1.0", "acme/base", false);
    let r = env
        .crossdock(&[
            "copy",
            "docker.io/acme/base:1.0",
            "docker.io/acme/copy:1.0",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["blobs_copied"], 0);
    assert_eq!(r["blobs_mounted"], img["blobs"].as_u64().unwrap() - 3);
    assert_eq!(
        hub.skopeo_digest("acme/copy", "1.0").as_deref(),
        img["digest"].as_str()
    );
}

#[test]
fn oci_layout_both_ways() {
    let mut env = Env::new();
    let a = env.open_registry();
    let layout = env.path().join("img");
    let img = build_image(
        &layout,
        &Image {
            seed: 5,
            ..Image::default()
        },
    );
    let digest = img["digest"].as_str().unwrap();

    // Layout → registry (tag from the layout reference).
    let src = format!("oci:{}:1.0", layout.display());
    let r = env
        .crossdock(&[
            "copy",
            &src,
            &format!("{}/from/layout", a.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], digest);
    assert_eq!(
        a.skopeo_digest("from/layout", "1.0").as_deref(),
        Some(digest)
    );

    // Registry → a new layout, then back to another repository.
    let export = env.path().join("export");
    let dst = format!("oci:{}:app", export.display());
    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/from/layout:1.0", a.addr()),
            &dst,
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], digest);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(export.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest);
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        "app"
    );
    assert!(export.join("oci-layout").exists());
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", &format!("oci:{}:app", export.display())])
        .output()
        .unwrap();
    assert_eq!(sha256(&out.stdout), digest);
    let r = env
        .crossdock(&[
            "copy",
            &dst,
            &format!("{}/back/again:2.0", a.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], digest);
    assert_eq!(
        a.skopeo_digest("back/again", "2.0").as_deref(),
        Some(digest)
    );
}

#[test]
fn all_tags_moves_shared_blobs_once() {
    let mut env = Env::new();
    let a = env.open_registry();
    let b = env.open_registry();
    let layout = env.path().join("img");
    // Same seed: both tags share every blob but differ in nothing → the
    // second tag's blobs all exist once the first is copied.
    let one = build_image(
        &layout,
        &Image {
            tag: "1.0",
            seed: 21,
            ..Image::default()
        },
    );
    let two = build_image(
        &layout,
        &Image {
            tag: "2.0",
            seed: 21,
            ..Image::default()
        },
    );
    assert_eq!(one["digest"], two["digest"]);
    let three = build_image(
        &layout,
        &Image {
            tag: "3.0",
            seed: 22,
            ..Image::default()
        },
    );
    for t in ["1.0", "2.0", "3.0"] {
        a.push_layout(&layout, t, "multi/tags", false);
    }
    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/multi/tags", a.addr()),
            &format!("{}/mirror/tags", b.addr()),
            "--all-tags",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["tags"], 3);
    assert_eq!(r["failures"].as_array().unwrap().len(), 0);
    let unique = one["blobs"].as_u64().unwrap() - 3 + three["blobs"].as_u64().unwrap() - 3;
    assert_eq!(r["blobs_copied"], unique);
    for (t, d) in [("1.0", &one), ("2.0", &two), ("3.0", &three)] {
        assert_eq!(
            b.skopeo_digest("mirror/tags", t).as_deref(),
            d["digest"].as_str()
        );
    }
}

#[test]
fn dry_run_writes_nothing() {
    let mut env = Env::new();
    let a = env.open_registry();
    let layout = env.path().join("img");
    let img = build_image(
        &layout,
        &Image {
            seed: 31,
            ..Image::default()
        },
    );
    a.push_layout(&layout, "1.0", "dry/src", false);
    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/dry/src:1.0", a.addr()),
            &format!("{}/dry/dst:1.0", a.addr()),
            "--dry-run",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["status"], "dry-run");
    assert_eq!(r["manifests"], 3);
    assert_eq!(r["blobs_copied"], img["blobs"].as_u64().unwrap() - 3);
    assert!(r["bytes_copied"].as_u64().unwrap() > 2_000_000);
    assert_eq!(a.skopeo_digest("dry/dst", "1.0"), None);
    assert_eq!(
        http_status(a.port, "GET", "/v2/dry/dst/tags/list", None),
        Some(404)
    );
}

#[test]
fn chunked_uploads_use_patch_parts_of_at_least_5_mib() {
    let mut env = Env::new();
    let a = env.open_registry();
    let b = Registry::start(env.path(), Auth::Open);
    let proxy = crate::proxy::Proxy::start(b.port, vec![]);
    env.config += &format!(
        "[registry.\"{}\"]\ninsecure = true\nchunk_size = 5242880\n",
        proxy.addr()
    );
    let layout = env.path().join("img");
    let img = build_image(
        &layout,
        &Image {
            platforms: "linux/amd64",
            single: true,
            layers: 1,
            size: "12M",
            seed: 41,
            ..Image::default()
        },
    );
    a.push_layout(&layout, "1.0", "big/one", false);
    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/big/one:1.0", a.addr()),
            &format!("{}/big/one:1.0", proxy.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], img["digest"]);
    // 12 MiB layer in 5 MiB parts: 3 PATCHes (+1 for the small config).
    assert_eq!(proxy.count("PATCH", "/blobs/uploads/"), 4);
    assert_eq!(
        b.skopeo_digest("big/one", "1.0").as_deref(),
        img["digest"].as_str()
    );
}
