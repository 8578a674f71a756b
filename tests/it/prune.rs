//! `--prune`: a tag removed at the source goes at the destination (ECR through
//! `BatchDeleteImage`, other registries through DELETE), a moved tag is
//! updated, signature tags of kept images stay, an empty source listing
//! prunes nothing, and nothing is deleted without `--yes` (or `CI`).

use serde_json::Value;

use crate::harness::*;

fn image<'a>(tag: &'a str, seed: u64, referrers: Option<&'a str>) -> Image<'a> {
    Image {
        tag,
        size: "32K",
        layers: 1,
        shared: 0,
        platforms: "linux/amd64",
        single: true,
        seed,
        referrers,
    }
}

fn delete(reg: &Registry, repo: &str, tag: &str) {
    let d = reg.skopeo_digest(repo, tag).expect("tag to delete");
    let (status, body) = http(
        reg.port,
        "DELETE",
        &format!("/v2/{repo}/manifests/{d}"),
        &[],
        "",
    );
    assert_eq!(status, 202, "{body}");
}

fn pruned(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["pruned"]
        .as_array()
        .expect("pruned")
        .iter()
        .flat_map(|r| r["tags"].as_array().cloned().unwrap_or_default())
        .map(|t| {
            (
                t["tag"].as_str().unwrap_or_default().to_string(),
                t["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn prune_on_ecr_removes_gone_tags_updates_moved_keeps_signatures_and_needs_yes() {
    let mut env = Env::new();
    let ecr = Ecr::start(env.path());
    ecr.configure(&mut env);
    let src = env.open_registry();
    let layout = env.path().join("app");
    let one = build_image(&layout, &image("1.0", 11, Some("a")));
    let gone = build_image(&layout, &image("1.1", 12, Some("b")));
    build_image(&layout, &image("2.0", 13, None));
    src.push_raw(&layout, "app", &[]);
    let sig_kept = one["referrers"]["cosign_tag"].as_str().unwrap().to_string();
    let sig_gone = gone["referrers"]["cosign_tag"]
        .as_str()
        .unwrap()
        .to_string();

    let source = format!("{}/app", src.addr());
    let dst = format!("{ECR_HOST}/mirror");
    env.crossdock(&["migrate", &source, &dst, "-o", "json"])
        .ok();
    let at_ecr = |tag: &str| ecr.registry.skopeo_digest("mirror/app", tag);
    assert!(at_ecr("1.1").is_some() && at_ecr(&sig_gone).is_some());

    // At the source: 1.1 removed, 2.0 moved to another image.
    delete(&src, "app", "1.1");
    let moved = env.path().join("moved");
    let new20 = build_image(&moved, &image("2.0", 14, None));
    src.push_raw(&moved, "app", &[]);

    // Without --yes (and without CI) nothing runs.
    let out = env
        .command(&["migrate", &source, &dst, "--prune"])
        .env_remove("CI")
        .output()
        .map(to_run)
        .unwrap();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);

    // A dry run lists what would go, deletes nothing.
    let v = env
        .crossdock(&[
            "migrate",
            &source,
            &dst,
            "--prune",
            "--dry-run",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(
        pruned(&v),
        vec![
            ("1.1".to_string(), "would-delete".to_string()),
            (sig_gone.clone(), "would-delete".to_string())
        ]
    );
    assert!(at_ecr("1.1").is_some());

    let v = env
        .crossdock(&["migrate", &source, &dst, "--prune", "--yes", "-o", "json"])
        .ok()
        .json();
    assert_eq!(v["tags_deleted"], 2, "{v}");
    assert!(at_ecr("1.1").is_none(), "1.1 pruned");
    assert!(
        at_ecr(&sig_gone).is_none(),
        "the pruned image's signature tag goes too"
    );
    assert_eq!(
        at_ecr("2.0").as_deref(),
        new20["digest"].as_str(),
        "moved tag updated"
    );
    assert_eq!(at_ecr("1.0").as_deref(), one["digest"].as_str());
    assert!(
        at_ecr(&sig_kept).is_some(),
        "signature of a kept image stays"
    );

    // The source lists no image tags while the mirror has some: refused.
    delete(&src, "app", "1.0");
    delete(&src, "app", "2.0");
    let v = env
        .crossdock(&["migrate", &source, &dst, "--prune", "--yes", "-o", "json"])
        .ok()
        .json();
    assert_eq!(v["tags_deleted"], 0, "{v}");
    let refused = v["pruned"][0]["refused"].as_str().unwrap_or_default();
    assert!(refused.contains("listed no tags"), "{v}");
    assert!(at_ecr("1.0").is_some() && at_ecr("2.0").is_some());
}

#[test]
fn prune_through_the_distribution_api_never_takes_a_kept_tag_with_it() {
    let mut env = Env::new();
    let src = env.open_registry();
    let dst = env.open_registry();
    let layout = env.path().join("lib");
    for (tag, seed) in [("1.0", 21), ("1.1", 22), ("1.2", 23)] {
        build_image(&layout, &image(tag, seed, None));
    }
    src.push_raw(&layout, "lib", &[]);
    let file = env.path().join("mirror.yaml");
    std::fs::write(
        &file,
        format!(
            "mirrors:\n  - source: {}/lib\n    destination: {}/lib\n    tag_regex: '1\\..*'\n",
            src.addr(),
            dst.addr()
        ),
    )
    .unwrap();
    let file = file.display().to_string();
    env.crossdock(&["sync", &file, "-o", "json"]).ok();
    // Outside the filter, at the destination only: "stable" = 1.2's image.
    dst.push_raw(&layout, "lib", &["--only-tag", "1.2"]);
    let (s, body) = {
        let raw = dst.skopeo_raw("lib", "1.2").unwrap();
        let ct = "application/vnd.oci.image.manifest.v1+json";
        http(
            dst.port,
            "PUT",
            "/v2/lib/manifests/stable",
            &[("Content-Type", ct)],
            std::str::from_utf8(&raw).unwrap(),
        )
    };
    assert_eq!(s, 201, "{body}");
    let stable = dst.skopeo_digest("lib", "stable");
    delete(&src, "lib", "1.1");
    delete(&src, "lib", "1.2");

    // CI set: no --yes needed.
    let out = env
        .command(&["sync", &file, "--prune", "-o", "json"])
        .env("CI", "true")
        .output()
        .map(to_run)
        .unwrap();
    let v = out.json();
    assert!(dst.skopeo_digest("lib", "1.1").is_none(), "1.1 pruned: {v}");
    assert!(dst.skopeo_digest("lib", "1.0").is_some());
    assert_eq!(
        dst.skopeo_digest("lib", "stable"),
        stable,
        "a kept tag stays"
    );
    let status_12 = pruned(&v)
        .into_iter()
        .find(|(t, _)| t == "1.2")
        .map(|(_, s)| s)
        .unwrap();
    // The registry either deletes a tag alone, or it refuses and 1.2 stays
    // (deleting by digest would take "stable" with it): then exit 1.
    match status_12.as_str() {
        "deleted" => assert_eq!(out.code, 0, "{}", out.stderr),
        "failed" => {
            assert_eq!(out.code, 1, "{}", out.stderr);
            assert!(dst.skopeo_digest("lib", "1.2").is_some());
        }
        other => panic!("1.2: {other}"),
    }
}
