//! Auth against real registries: bearer token challenge (realm followed, token
//! cached), Basic, anonymous pulls, Docker config `auths`, credential helpers,
//! `DOCKERHUB_USERNAME`/`DOCKERHUB_TOKEN`, bad credentials, and no secret in
//! any output.

use crate::harness::*;

fn seed(env: &Env, reg: &Registry, repo: &str, seed: u64) -> String {
    let layout = env.path().join(format!("img-{seed}"));
    let img = build_image(
        &layout,
        &Image {
            seed,
            size: "1M",
            ..Image::default()
        },
    );
    reg.push_layout(&layout, "1.0", repo, false);
    img["digest"].as_str().unwrap().to_string()
}

#[test]
fn bearer_tokens_are_fetched_from_the_realm_and_cached() {
    let mut env = Env::new();
    let hub = Registry::start(env.path(), Auth::Token);
    let ecr = Registry::ecr_data_plane(env.path());
    env.endpoint("docker.io", hub.port);
    env.endpoint(ECR_HOST, ecr.port);
    env.login(ECR_HOST, ECR_USER, ECR_PASS);
    let digest = seed(&env, &hub, "acme/tok", 51);
    let before = hub.token_stats()["tokens_issued"].as_u64().unwrap();
    // Anonymous pull from the token registry, Basic push to the ECR stand-in.
    let r = env
        .crossdock(&[
            "copy",
            "docker.io/acme/tok:1.0",
            &format!("{ECR_HOST}/tok:1.0"),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], digest.as_str());
    let issued = hub.token_stats()["tokens_issued"].as_u64().unwrap() - before;
    // One pull scope for the whole copy: the token is cached, not fetched per request.
    assert!((1..=2).contains(&issued), "{issued} tokens issued");
}

#[test]
fn docker_config_auth_pushes_to_token_registry() {
    let mut env = Env::new();
    let hub = Registry::start(env.path(), Auth::Token);
    let src = env.open_registry();
    env.endpoint("docker.io", hub.port);
    let digest = seed(&env, &src, "lib/x", 52);
    let from = format!("{}/lib/x:1.0", src.addr());

    // Anonymous push is refused with a clear message and exit 3 (credentials).
    let denied = env.crossdock(&["copy", &from, "docker.io/acme/pushed:1.0"]);
    assert_eq!(denied.code, 3, "{}", denied.stderr);
    assert!(
        denied.stderr.contains("authentication failed"),
        "{}",
        denied.stderr
    );
    assert!(
        denied.stderr.contains("no credentials"),
        "{}",
        denied.stderr
    );

    env.login("https://index.docker.io/v1/", HUB_USER, HUB_PASS);
    let r = env
        .crossdock(&["copy", &from, "docker.io/acme/pushed:1.0", "-o", "json"])
        .ok()
        .json();
    assert_eq!(r["digest"], digest.as_str());
    assert_eq!(
        hub.skopeo_digest("acme/pushed", "1.0").as_deref(),
        Some(digest.as_str())
    );
}

#[test]
fn identity_token_from_docker_config_is_exchanged() {
    let mut env = Env::new();
    let hub = Registry::start(env.path(), Auth::Token);
    let src = env.open_registry();
    env.endpoint("docker.io", hub.port);
    let digest = seed(&env, &src, "lib/idt", 56);
    env.extra_docker_config = Some(serde_json::json!({"auths": {
        "https://index.docker.io/v1/": {"identitytoken": HUB_IDENTITY_TOKEN}
    }}));
    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/lib/idt:1.0", src.addr()),
            "docker.io/acme/idt:1.0",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], digest.as_str());
    assert_eq!(
        hub.skopeo_digest("acme/idt", "1.0").as_deref(),
        Some(digest.as_str())
    );
}

#[test]
fn dockerhub_env_credentials_are_used() {
    let mut env = Env::new();
    let hub = Registry::start(env.path(), Auth::Token);
    let src = env.open_registry();
    env.endpoint("docker.io", hub.port);
    let digest = seed(&env, &src, "lib/y", 53);
    env.env.push(("DOCKERHUB_USERNAME".into(), HUB_USER.into()));
    env.env.push(("DOCKERHUB_TOKEN".into(), HUB_PASS.into()));
    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/lib/y:1.0", src.addr()),
            "docker.io/acme/envcreds:1.0",
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], digest.as_str());
}

#[test]
fn credential_helper_is_run() {
    let mut env = Env::new();
    let ecr = Registry::ecr_data_plane(env.path());
    let src = env.open_registry();
    env.endpoint(ECR_HOST, ecr.port);
    let digest = seed(&env, &src, "lib/z", 54);
    // A helper on PATH that answers for the ECR host only.
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-crossdocktest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread host\nif [ \"$1\" = get ] && [ \"$host\" = \"{ECR_HOST}\" ]; then\n  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{ECR_USER}\",\"Secret\":\"{ECR_PASS}\"}}' \"$host\"\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.env.push(("PATH".into(), path));
    env.extra_docker_config = Some(serde_json::json!({"credHelpers": {ECR_HOST: "crossdocktest"}}));
    let r = env
        .crossdock(&[
            "copy",
            &format!("{}/lib/z:1.0", src.addr()),
            &format!("{ECR_HOST}/helper:1.0"),
            "-o",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(r["digest"], digest.as_str());
    assert_eq!(
        ecr.skopeo_digest("helper", "1.0").as_deref(),
        Some(digest.as_str())
    );
}

#[test]
fn bad_credentials_fail_clearly_without_leaking_them() {
    let mut env = Env::new();
    let hub = Registry::start(env.path(), Auth::Token);
    let ecr = Registry::ecr_data_plane(env.path());
    env.endpoint("docker.io", hub.port);
    env.endpoint(ECR_HOST, ecr.port);
    seed(&env, &hub, "acme/secret", 55);
    let secret = "s3cr3t-Pa55word-do-not-print";

    // Wrong password at the token server.
    env.login("https://index.docker.io/v1/", HUB_USER, secret);
    let r = env.crossdock(&[
        "copy",
        "docker.io/acme/secret:1.0",
        &format!("{ECR_HOST}/x:1.0"),
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("authentication failed for docker.io"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("refused"), "{}", r.stderr);
    assert!(!r.stderr.contains(secret) && !r.stdout.contains(secret));
    assert!(!r.stderr.contains(&b64(&format!("{HUB_USER}:{secret}"))));
    assert_eq!(r.json()["exit_code"], 3);

    // Wrong Basic password at the destination.
    let mut env2 = Env::new();
    env2.endpoint("docker.io", hub.port);
    env2.endpoint(ECR_HOST, ecr.port);
    env2.login(ECR_HOST, ECR_USER, secret);
    let r = env2.crossdock(&[
        "copy",
        "docker.io/acme/secret:1.0",
        &format!("{ECR_HOST}/x:1.0"),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("authentication failed for {ECR_HOST}")),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(secret));
    assert_eq!(ecr.skopeo_digest("x", "1.0"), None);
}
