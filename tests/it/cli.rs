//! The command line itself: usage errors (exit 2, never a panic), missing
//! tags (exit 1), completion scripts in
//! `completions/` kept in sync with the clap tree.

use crate::harness::*;

#[test]
fn malformed_references_are_usage_errors() {
    let env = Env::new();
    for bad in [
        "",
        "Nginx",
        "nginx:",
        "nginx@sha256:abc",
        "a b",
        "nginx:-x",
        "oci:",
        "localhost:5000/x@md5:00",
    ] {
        let r = env.crossdock(&["copy", bad, "localhost:5000/x:1"]);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
        assert!(r.stderr.contains("invalid"), "{bad:?}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
    let r = env.crossdock(&[
        "copy",
        "nginx:1",
        "localhost:5000/x:1",
        "--platform",
        "linux",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = env.crossdock(&["copy", "only-one-arg"]);
    assert_eq!(r.code, 2);
    let r = env.crossdock(&["copy", "a/b", "c/d", "--jobs", "0"]);
    assert_eq!(r.code, 2);
}

#[test]
fn bad_config_is_a_usage_error() {
    let mut env = Env::new();
    env.config += "[registry.\"x\"]\nchunk_size = 1024\n";
    let r = env.crossdock(&["ls", "x/y"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("5 MiB"), "{}", r.stderr);
}

#[test]
fn missing_source_tag_is_a_clear_failure() {
    let mut env = Env::new();
    let a = env.open_registry();
    let layout = env.path().join("img");
    build_image(
        &layout,
        &Image {
            seed: 71,
            size: "1M",
            ..Image::default()
        },
    );
    a.push_layout(&layout, "1.0", "m/src", false);
    let r = env.crossdock(&[
        "copy",
        &format!("{}/m/src:nope", a.addr()),
        &format!("{}/m/dst:1", a.addr()),
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not found"), "{}", r.stderr);
    assert!(r.stderr.contains("m/src:nope"), "{}", r.stderr);
    assert_eq!(r.json()["exit_code"], 1);
}

#[test]
fn completions_are_up_to_date() {
    let env = Env::new();
    for (shell, file) in [
        ("bash", "crossdock.bash"),
        ("zsh", "_crossdock"),
        ("fish", "crossdock.fish"),
        ("powershell", "_crossdock.ps1"),
    ] {
        let r = env.crossdock(&["completions", shell]).ok();
        let path = repo_root().join("completions").join(file);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            r.stdout == on_disk,
            "{} is stale: regenerate with scripts/completions",
            path.display()
        );
    }
}

#[test]
fn help_matches_the_snapshot() {
    let mut env = Env::new();
    env.env.push(("COLUMNS".into(), "100".into()));
    let mut text = String::new();
    for cmd in [&[][..], &["copy"][..], &["migrate"][..], &["compare"][..]] {
        let mut args: Vec<&str> = cmd.to_vec();
        args.push("--help");
        let r = env.crossdock(&args).ok();
        // The config path shown as [env: …] is this test's temp dir.
        let out = r.stdout.replace(&env.path().display().to_string(), "$TMP");
        text += &format!("$ crossdock {}\n{}\n", args.join(" "), out);
    }
    let snap = repo_root().join("tests/it/snapshots/help.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snap, &text).unwrap();
    }
    let want = std::fs::read_to_string(&snap).unwrap_or_default();
    assert!(
        text == want,
        "--help changed; if intended, rerun with UPDATE_SNAPSHOTS=1.\n{text}"
    );
}
