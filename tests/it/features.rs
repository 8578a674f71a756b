//! `compare`'s feature table against the stand-ins: a Hub namespace with
//! public and private repositories (the Hub API's `is_private`), ECR
//! repositories created through moto with different mutability, scan on
//! push, encryption, a policy granting `"*"` and a lifecycle policy, a
//! replication rule and a scan result for the sampled image. The rows' values
//! are asserted in JSON, the Markdown output against a snapshot with numbers
//! filtered, and the Hub front counts zero pulls.

use serde_json::{json, Value};

use crate::harness::*;
use crate::report;

fn img(tag: &str, seed: u64) -> Image<'_> {
    Image {
        tag,
        size: "64K",
        layers: 2,
        seed,
        ..Image::default()
    }
}

fn row<'a>(r: &'a Value, feature: &str) -> &'a Value {
    r["features"]
        .as_array()
        .expect("features array")
        .iter()
        .find(|x| x["feature"] == feature)
        .unwrap_or_else(|| panic!("no row {feature:?} in {}", r["features"]))
}

fn cell(r: &Value, feature: &str, side: &str) -> String {
    row(r, feature)[side]
        .as_str()
        .unwrap_or_else(|| panic!("{feature}/{side} is not a string"))
        .to_string()
}

/// Digits (and the padding that follows their width) vary; the shape must not.
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
        } else {
            out.push(c);
        }
    }
    out
}

/// Which registry answered faster is not stable: drop "(… N× faster)".
fn drop_faster(line: &str) -> String {
    match (line.find("faster)"), line.starts_with("Verdict:")) {
        (Some(end), true) => match line[..end].rfind(" (") {
            Some(start) => format!("{}{}", &line[..start], &line[end + "faster)".len()..]),
            None => line.to_string(),
        },
        _ => line.to_string(),
    }
}

#[test]
fn feature_table_reads_both_registries_live_and_names_the_risks() {
    let mut env = Env::new();
    let hub = Hub::start(env.path(), 100);
    let ecr = Ecr::start(env.path());
    hub.configure(&mut env);
    ecr.configure(&mut env);
    env.login("https://index.docker.io/v1/", HUB_USER, HUB_PASS);

    // Docker Hub: two public repositories and a private one.
    let app = hub.push(env.path(), "acme/app", img("1.0", 11));
    hub.push(env.path(), "acme/lib", img("1.0", 12));
    hub.push(env.path(), "acme/secret", img("1.0", 13));
    hub.set_private("acme/secret");

    // ECR repositories with different settings, created before the migration
    // (which leaves existing repositories as they are).
    ecr.api_ok(
        "CreateRepository",
        json!({"repositoryName": "feat/app", "imageTagMutability": "IMMUTABLE",
               "imageScanningConfiguration": {"scanOnPush": true},
               "encryptionConfiguration": {"encryptionType": "KMS",
                   "kmsKey": "arn:aws:kms:us-east-1:123456789012:key/feature-test"}}),
    );
    ecr.api_ok(
        "CreateRepository",
        json!({"repositoryName": "feat/lib", "imageTagMutability": "MUTABLE"}),
    );
    ecr.api_ok(
        "CreateRepository",
        json!({"repositoryName": "feat/secret", "imageTagMutability": "MUTABLE_WITH_EXCLUSION",
               "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest*"}]}),
    );
    let public_policy = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "public-pull", "Effect": "Allow", "Principal": "*",
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]});
    ecr.api_ok(
        "SetRepositoryPolicy",
        json!({"repositoryName": "feat/app", "policyText": public_policy.to_string()}),
    );
    let lifecycle = json!({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged",
        "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
        "action": {"type": "expire"}}]});
    ecr.api_ok(
        "PutLifecyclePolicy",
        json!({"repositoryName": "feat/lib", "lifecyclePolicyText": lifecycle.to_string()}),
    );
    ecr.api_ok(
        "PutReplicationConfiguration",
        json!({"replicationConfiguration": {"rules": [{"destinations": [
            {"region": "us-west-2", "registryId": "123456789012"}]}]}}),
    );
    env.crossdock(&["migrate", "docker.io/acme", &format!("{ECR_HOST}/feat")])
        .ok();

    // moto never sees /v2 pushes: tell its API about the sampled image (the same
    // manifest bytes and digest), scan it, and set the findings it reports.
    let digest = app["digest"].as_str().expect("digest").to_string();
    let manifest = String::from_utf8(
        ecr.registry
            .skopeo_raw("feat/app", "1.0")
            .expect("feat/app:1.0 in the ECR data plane"),
    )
    .expect("utf-8 manifest");
    ecr.api_ok(
        "PutImage",
        json!({"repositoryName": "feat/app", "imageTag": "1.0", "imageDigest": digest,
               "imageManifest": manifest,
               "imageManifestMediaType": app["media_type"]}),
    );
    ecr.api_ok(
        "StartImageScan",
        json!({"repositoryName": "feat/app", "imageId": {"imageTag": "1.0"}}),
    );
    ecr.set_scan_findings(json!({
        "registryId": "123456789012", "repositoryName": "feat/app",
        "imageId": {"imageTag": "1.0", "imageDigest": digest},
        "imageScanStatus": {"status": "COMPLETE", "description": "done"},
        "imageScanFindings": {"findings": [],
            "findingSeverityCounts": {"HIGH": 2, "CRITICAL": 1, "MEDIUM": 3}}
    }));
    // A tag pushed to Docker Hub after the migration: not yet in ECR.
    hub.push(env.path(), "acme/lib", img("2.0", 14));
    hub.reset();

    let args = [
        "compare",
        "--hub",
        "docker.io/acme",
        "--ecr",
        &format!("{ECR_HOST}/feat"),
        "--samples",
        "2",
    ];
    let mut json_args = args.to_vec();
    json_args.extend(["-o", "json"]);
    let r = env.crossdock(&json_args).ok().json();

    // Every row has the four documented keys.
    for f in r["features"].as_array().unwrap() {
        let keys: Vec<&str> = f.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["docker_hub", "ecr", "feature", "source"], "{f}");
    }
    assert_eq!(
        cell(&r, "operator and region", "ecr"),
        "Amazon Web Services, region us-east-1"
    );
    assert_eq!(
        cell(&r, "visibility and default access", "docker_hub"),
        "2 public, 1 private"
    );
    let vis = cell(&r, "visibility and default access", "ecr");
    assert!(
        vis.contains("1 of 3 public (policy grants \"*\"): feat/app"),
        "{vis}"
    );
    assert_eq!(
        cell(&r, "authentication in use", "docker_hub"),
        "password: demo (docker config)"
    );
    let auth = cell(&r, "authentication in use", "ecr");
    assert!(auth.starts_with("arn:aws:"), "{auth}");
    assert!(auth.contains("123456789012"), "{auth}");
    assert!(
        auth.contains("/v2 as AWS (ECR GetAuthorizationToken)"),
        "{auth}"
    );
    // moto's expiresAt lies in 2015: said as returned, not hidden.
    assert!(auth.contains("already past"), "{auth}");
    assert_eq!(
        cell(&r, "tag immutability", "ecr"),
        "1 IMMUTABLE, 2 MUTABLE (1 with exclusions) of 3"
    );
    assert!(row(&r, "tag immutability")["source"]
        .as_str()
        .unwrap()
        .starts_with(&format!(
            "facts file {}",
            r["prices_as_of"].as_str().unwrap()
        )));
    assert_eq!(
        cell(&r, "vulnerability scanning", "ecr"),
        "BASIC scanning, no registry rules; scan on push in 1 of 3"
    );
    assert!(cell(&r, "vulnerability scanning", "docker_hub").contains("Docker Scout"));
    assert_eq!(
        cell(&r, "scan findings, sampled image", "ecr"),
        "feat/app:1.0: CRITICAL 1, HIGH 2, MEDIUM 3 (scan COMPLETE)"
    );
    assert_eq!(
        cell(&r, "encryption", "ecr"),
        "2 AES256, 1 KMS (key arn:aws:kms:us-east-1:123456789012:key/feature-test)"
    );
    assert_eq!(
        cell(&r, "replication", "ecr"),
        "to us-west-2 (123456789012)"
    );
    assert_eq!(
        cell(&r, "lifecycle policies", "ecr"),
        "1 of 3 repositories have one"
    );
    assert_eq!(
        cell(&r, "repositories and tags", "docker_hub"),
        "3 repositories, 4 tags"
    );
    assert_eq!(
        cell(&r, "repositories and tags", "ecr"),
        "3 repositories, 3 tags"
    );
    assert_eq!(
        cell(&r, "not yet in ECR (diff)", "docker_hub"),
        "1 of 4 Hub tags not yet in ECR"
    );
    assert_eq!(
        cell(&r, "not yet in ECR (diff)", "ecr"),
        "3 same, 1 missing, 0 different, 0 extra"
    );
    // moto has no pull-through cache API (HTTP 500): unknown, with the reason.
    let ptc = cell(&r, "pull-through cache", "ecr");
    assert!(
        ptc.starts_with(
            "unknown: DescribePullThroughCacheRules not implemented by the registry API"
        ),
        "{ptc}"
    );
    // The risks, as data and in the verdict.
    let kinds: Vec<&str> = r["risks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "public_becomes_private",
            "public_in_ecr",
            "scan_on_push_off",
            "mutable_tags",
            "not_yet_in_ecr",
            "findings"
        ]
    );
    assert_eq!(
        r["risks"][0]["count"], 1,
        "acme/lib is public, feat/lib is not"
    );
    let verdict = r["verdict"].as_str().unwrap();
    for want in [
        "1 public Hub repository would become private in ECR",
        "scan on push off in 2 of 3",
        "1 Hub tag not yet in ECR",
        "feat/app:1.0 has 1 critical and 2 high findings",
    ] {
        assert!(verdict.contains(want), "{want:?} not in {verdict}");
    }
    // Today's keys are still there.
    for k in [
        "prices_as_of",
        "hub_ratelimit",
        "storage",
        "ecr_cost",
        "hub",
        "ecr",
    ] {
        assert!(r.get(k).is_some(), "{k} missing");
    }
    assert_eq!(hub.stats()["pulls"], 0, "the feature table spends no pull");

    // Markdown: GitHub-flavoured tables, numbers filtered, against a snapshot.
    let mut md_args = args.to_vec();
    md_args.extend(["-o", "markdown"]);
    let md = env.crossdock(&md_args).ok().stdout;
    let got = normalize(&md.lines().map(drop_faster).collect::<Vec<_>>().join("\n"));
    assert!(got.contains("| features | Docker Hub | Amazon ECR | source |\n|---|---|---|---|\n"));
    let snap = repo_root().join("tests/it/snapshots/compare.md");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snap, &got).unwrap();
    }
    let want = std::fs::read_to_string(&snap).unwrap_or_default();
    assert!(got == want, "compare -o markdown changed; if intended, rerun with UPDATE_SNAPSHOTS=1.\n--- got ---\n{got}\n--- want ---\n{want}");
    assert_eq!(hub.stats()["pulls"], 0, "still no pull");

    // --html: the report a person looks at, checked in headless Chromium.
    let page = env.path().join("compare.html");
    let mut html_args = args.to_vec();
    html_args.extend(["--html", page.to_str().unwrap()]);
    let out = env.crossdock(&html_args).ok();
    assert!(out.stdout.contains("Verdict:"), "the text is printed too");
    assert!(out.stderr.contains("report written to"), "{}", out.stderr);
    report::assert_self_contained(&std::fs::read_to_string(&page).unwrap());
    let dom = report::dom(env.path(), &page);
    // Date, identities and the prices file named.
    assert!(dom.contains("<dt>date</dt>"), "{dom}");
    assert!(
        dom.contains("<dt>Docker Hub identity</dt><dd>demo (docker config)</dd>"),
        "{dom}"
    );
    assert!(dom.contains("<dt>ECR identity</dt><dd>arn:aws:"), "{dom}");
    assert!(dom.contains(&format!(
        "<dt>prices file</dt><dd>built-in data/prices.toml (as of {})</dd>",
        r["prices_as_of"].as_str().unwrap()
    )));
    // The verdict and every risk.
    assert!(dom.contains("<p class=\"verdict\">"));
    assert_eq!(dom.matches("<li>").count(), 6, "{dom}");
    // Two grouped charts (latency, cost), Docker Hub and ECR in the legend.
    assert_eq!(
        dom.matches("<svg class=\"chart grouped\"").count(),
        2,
        "{dom}"
    );
    for name in ["Docker Hub", "Amazon ECR"] {
        let item = format!("<g class=\"legend-item\" data-series=\"{name}\">");
        assert_eq!(dom.matches(&item).count(), 2, "{name}");
    }
    let groups = report::groups(&dom);
    let group = |label: &str| -> &str {
        groups
            .iter()
            .find(|g| g.starts_with(&format!(" data-group=\"{label}\"")))
            .unwrap_or_else(|| panic!("no group {label} in {dom}"))
    };
    for label in [
        "manifest HEAD p50",
        "manifest HEAD p95",
        "ping /v2/ p50",
        "storage",
        "transfer",
        "total",
    ] {
        let g = group(label);
        assert!(
            g.contains("class=\"bar series-0\"") && g.contains("class=\"bar series-1\""),
            "{g}"
        );
    }
    // Docker Hub's plan includes storage; its total is a plan that fits the pulls.
    assert!(group("storage").contains("included in the plan"));
    assert!(group("total").contains("plan fits the pulls"));
    // ECR's /v2 here is Basic auth: no token to time, and the bar says why.
    assert!(group("token p50").contains("n/a: no bearer token"));
    // Real tables; the feature rows with a risk are highlighted, the others not.
    assert_eq!(dom.matches("<table>").count(), 4);
    let risky: Vec<&str> = dom
        .split("<tr class=\"risk\"><td>")
        .skip(1)
        .map(|r| r.split('<').next().unwrap())
        .collect();
    assert_eq!(
        risky,
        [
            "visibility and default access",
            "tag immutability",
            "vulnerability scanning",
            "scan findings, sampled image",
            "not yet in ECR (diff)"
        ]
    );
    // Rendered: Docker Hub's blue bar right above ECR's orange one in the
    // groups both measured or priced, and the two legends' swatches.
    let shot = report::screenshot(env.path(), &page, 1200, 2600);
    let pairs = shot.stacked(report::BLUE, 16, 2, report::ORANGE, 16);
    assert!(pairs.len() >= 7, "grouped bars found at {pairs:?}");
    let legends = shot.stacked(report::BLUE, 14, 6, report::ORANGE, 14);
    assert!(legends.len() >= 2, "legends found at {legends:?}");
    assert_eq!(hub.stats()["pulls"], 0, "the report costs no pull either");

    // Anonymous: private repositories are not listed, and the cell says so.
    env.docker_auths.clear();
    let r = env.crossdock(&json_args).ok().json();
    let vis = cell(&r, "visibility and default access", "docker_hub");
    assert!(
        vis.starts_with("2 public; private ones unknown: the Hub API lists them only to a login"),
        "{vis}"
    );
    assert_eq!(cell(&r, "authentication in use", "docker_hub"), "anonymous");
    assert_eq!(hub.stats()["pulls"], 0);
}
