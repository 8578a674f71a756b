//! Signatures, SBOMs and attestations travel with their images: found through
//! the referrers API (the ECR stand-in's front serves it, paged), the
//! referrers tag schema (the Hub stand-in has no API) and cosign tags; copied
//! digest for digest to ECR, to a registry without the API (fallback tag
//! index, merged) and to an OCI layout; a rerun spends no pull.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::harness::*;

fn with_referrers<'a>(tag: &'a str, seed: u64, payload: &'a str) -> Image<'a> {
    Image {
        tag,
        size: "64K",
        layers: 2,
        seed,
        referrers: Some(payload),
        ..Image::default()
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Every referrer digest mkimage made, with the subject it belongs to.
fn expected(image: &Value) -> BTreeSet<String> {
    let r = &image["referrers"];
    let mut out: BTreeSet<String> = ["sbom", "attestation", "sbom_signature", "cosign_sig"]
        .iter()
        .map(|k| s(&r[k]))
        .collect();
    for d in r["platform_sboms"]
        .as_object()
        .expect("platform sboms")
        .values()
    {
        out.insert(s(d));
    }
    out
}

fn copied_digests(report: &Value) -> BTreeSet<String> {
    report["referrers"]
        .as_array()
        .expect("referrers")
        .iter()
        .map(|r| s(&r["digest"]))
        .collect()
}

/// Reads the fallback index `sha256-<hex>` of `subject` from a layout.
fn layout_fallback(dir: &Path, subject: &str) -> BTreeSet<String> {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let tag = subject.replace(':', "-");
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["annotations"]["org.opencontainers.image.ref.name"] == tag.as_str())
        .unwrap_or_else(|| panic!("no {tag} in {index}"));
    let blob = dir
        .join("blobs/sha256")
        .join(s(&entry["digest"]).trim_start_matches("sha256:"));
    let v: Value = serde_json::from_slice(&std::fs::read(blob).unwrap()).unwrap();
    v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["digest"]))
        .collect()
}

fn fallback_at(reg: &Registry, repo: &str, subject: &str) -> BTreeSet<String> {
    let raw = reg
        .skopeo_raw(repo, &subject.replace(':', "-"))
        .unwrap_or_else(|| panic!("no fallback tag for {subject}"));
    let v: Value = serde_json::from_slice(&raw).unwrap();
    v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| s(&m["digest"]))
        .collect()
}

#[test]
fn hub_tag_schema_to_ecr_referrers_api_digest_identical_and_rerun_spends_no_pull() {
    let mut env = Env::new();
    let hub = Hub::start(env.path(), 1000);
    let ecr = Ecr::start(env.path());
    hub.configure(&mut env);
    ecr.configure(&mut env);
    let layout = env.path().join("app");
    let img = build_image(&layout, &with_referrers("1.0", 7, "a"));
    hub.registry.push_raw(&layout, "acme/app", &[]);
    let want = expected(&img);
    let top = s(&img["digest"]);
    let r = &img["referrers"];

    let dst = format!("{ECR_HOST}/mirror");
    let run = env
        .crossdock(&["migrate", "docker.io/acme", &dst, "-o", "json"])
        .ok();
    let v = run.json();
    // The referrer tags are not images of their own.
    assert_eq!(v["images"], 1, "{v}");
    assert_eq!(v["referrers_copied"], want.len(), "{v}");
    assert_eq!(v["referrers_failed"], 0, "{v}");
    assert_eq!(v["results"][0]["referrers_copied"], want.len());

    // Digest-identical at the ECR data plane; the front's referrers API
    // lists them under their subjects; the cosign tag is a tag.
    for d in &want {
        assert_eq!(
            ecr.registry.skopeo_digest("mirror/app", d).as_deref(),
            Some(d.as_str()),
            "{d} at ECR"
        );
    }
    assert_eq!(
        ecr.referrers("mirror/app", &top),
        vec![s(&r["sbom"]), s(&r["attestation"])]
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        ecr.referrers("mirror/app", &s(&r["sbom"])),
        vec![s(&r["sbom_signature"])]
    );
    for (_, child_sbom) in r["platform_sboms"].as_object().unwrap() {
        assert!(ecr
            .registry
            .skopeo_digest("mirror/app", &s(child_sbom))
            .is_some());
    }
    assert_eq!(
        ecr.registry
            .skopeo_digest("mirror/app", &s(&r["cosign_tag"]))
            .as_deref(),
        Some(s(&r["cosign_sig"]).as_str())
    );

    // A rerun: no pull, no write, a few HEADs.
    hub.reset();
    let puts_before = ecr.stats()["manifest_puts"].as_u64().unwrap();
    let v = env
        .crossdock(&["migrate", "docker.io/acme", &dst, "-o", "json"])
        .ok()
        .json();
    assert_eq!(v["unchanged"], 1, "{v}");
    assert_eq!(v["referrers_copied"], 0, "{v}");
    assert_eq!(v["referrers_skipped"], want.len(), "{v}");
    assert_eq!(v["hub_pulls"], 0, "{v}");
    let stats = hub.stats();
    assert_eq!(stats["pulls"], 0, "{stats}");
    assert!(
        stats["manifest_heads"].as_u64().unwrap() <= 12,
        "a rerun should cost a few HEADs: {stats}"
    );
    assert_eq!(ecr.stats()["manifest_puts"].as_u64().unwrap(), puts_before);

    // diff: in sync; a referrer missing at the destination is "different".
    env.crossdock(&["diff", "docker.io/acme/app", &format!("{dst}/app")])
        .ok();
    let (status, _) = http(
        ecr.registry.port,
        "DELETE",
        &format!("/v2/mirror/app/manifests/{}", s(&r["attestation"])),
        &[(
            "Authorization",
            &format!("Basic {}", b64(&format!("{ECR_USER}:{ECR_PASS}"))),
        )],
        "",
    );
    assert_eq!(status, 202);
    let d = env.crossdock(&[
        "diff",
        "docker.io/acme/app",
        &format!("{dst}/app"),
        "-o",
        "json",
    ]);
    assert_eq!(d.code, 1, "{}", d.stdout);
    let v = d.json();
    assert_eq!(v["tags"][0]["status"], "different", "{v}");
    assert_eq!(v["tags"][0]["referrers_missing"], 1, "{v}");

    // inspect lists the referrers of the image.
    let v = env
        .crossdock(&["inspect", &format!("{dst}/app:1.0"), "-o", "json"])
        .ok()
        .json();
    let listed: BTreeSet<String> = v["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| s(&x["digest"]))
        .collect();
    assert!(listed.contains(&s(&r["sbom"])), "{v}");
    assert!(listed.contains(&s(&r["cosign_sig"])), "{v}");
}

#[test]
fn ecr_referrers_api_source_to_a_registry_without_it_and_to_a_layout() {
    let mut env = Env::new();
    let ecr = Ecr::start_with(env.path(), 1); // one referrer per page
    ecr.configure(&mut env);
    let reg = env.open_registry();
    let layout = env.path().join("app");
    let img = build_image(&layout, &with_referrers("1.0", 9, "a"));
    ecr.push_raw(&layout, "app", &["--no-fallback-tags"]);
    let want = expected(&img);
    let top = s(&img["digest"]);
    let r = &img["referrers"];

    // The destination already keeps a referrer of this image in its fallback
    // tag: it must survive the merge.
    let other = env.path().join("other");
    let other_img = build_image(&other, &with_referrers("1.0", 9, "b"));
    assert_eq!(other_img["digest"], img["digest"]);
    reg.push_raw(&other, "app", &["--only-tag", &top.replace(':', "-")]);

    let src = format!("{ECR_HOST}/app:1.0");
    let v = env
        .crossdock(&["copy", &src, &format!("{}/app", reg.addr()), "-o", "json"])
        .ok()
        .json();
    assert_eq!(v["referrers_copied"], want.len(), "{v}");
    assert_eq!(copied_digests(&v), want);
    for d in &want {
        assert_eq!(reg.skopeo_digest("app", d).as_deref(), Some(d.as_str()));
    }
    let merged = fallback_at(&reg, "app", &top);
    for d in [
        s(&r["sbom"]),
        s(&r["attestation"]),
        s(&other_img["referrers"]["sbom"]),
        s(&other_img["referrers"]["attestation"]),
    ] {
        assert!(merged.contains(&d), "{d} missing from {merged:?}");
    }
    assert_eq!(
        fallback_at(&reg, "app", &s(&r["sbom"])),
        [s(&r["sbom_signature"])].into_iter().collect()
    );
    // Rerun: all present.
    let v = env
        .crossdock(&["copy", &src, &format!("{}/app", reg.addr()), "-o", "json"])
        .ok()
        .json();
    assert_eq!(v["status"], "unchanged");
    assert_eq!(v["referrers_skipped"], want.len(), "{v}");

    // An OCI layout keeps them under fallback tags.
    let out = env.path().join("export");
    let v = env
        .crossdock(&[
            "copy",
            &src,
            &format!("oci:{}:1.0", out.display()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(v["referrers_copied"], want.len(), "{v}");
    assert_eq!(
        layout_fallback(&out, &top),
        [s(&r["sbom"]), s(&r["attestation"])].into_iter().collect()
    );
    for d in &want {
        let blob = out
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"));
        assert_eq!(&sha256(&std::fs::read(&blob).unwrap()), d);
    }
    // …and a copy out of the layout carries them on.
    let reg2 = env.open_registry();
    let v = env
        .crossdock(&[
            "copy",
            &format!("oci:{}:1.0", out.display()),
            &format!("{}/back", reg2.addr()),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(v["referrers_copied"], want.len(), "{v}");

    // --referrers-type keeps only SBOMs; --no-referrers none.
    let v = env
        .crossdock(&[
            "copy",
            &src,
            &format!("{}/sboms", reg.addr()),
            "--referrers-type",
            "application/spdx+json",
            "-o",
            "json",
        ])
        .ok()
        .json();
    let mut sboms: BTreeSet<String> = r["platform_sboms"]
        .as_object()
        .unwrap()
        .values()
        .map(s)
        .collect();
    sboms.insert(s(&r["sbom"]));
    assert_eq!(copied_digests(&v), sboms, "{v}");
    assert!(reg.skopeo_digest("sboms", &s(&r["attestation"])).is_none());
    let v = env
        .crossdock(&[
            "copy",
            &src,
            &format!("{}/bare", reg.addr()),
            "--no-referrers",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(v["referrers"].as_array().unwrap().len(), 0, "{v}");
    assert!(reg.skopeo_digest("bare", &s(&r["sbom"])).is_none());

    // --platform keeps the referrers of the kept platform only.
    let v = env
        .crossdock(&[
            "copy",
            &src,
            &format!("{}/amd", reg.addr()),
            "--platform",
            "linux/amd64",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(
        copied_digests(&v),
        [s(&r["platform_sboms"]["linux/amd64"])]
            .into_iter()
            .collect(),
        "{v}"
    );
}
