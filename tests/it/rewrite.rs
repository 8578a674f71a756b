//! `crossdock rewrite` on a fixture tree of every file kind (golden diff and
//! reference list in `snapshots/`), `--write` and `--check`, byte-identical
//! files when nothing matches, and `--pin` against the rig (Docker Hub
//! stand-in as the source, ECR stand-in as the mirror) with images missing
//! from the mirror or different there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::harness::*;

const MIRROR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror";
const HUB_MIRROR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hub";

fn fixture() -> PathBuf {
    repo_root().join("tests/it/fixtures/rewrite")
}

/// Copies a tree (files only) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// Runs crossdock with `cwd` as the working directory.
fn run_in(env: &Env, cwd: &Path, args: &[&str]) -> Run {
    to_run(env.command(args).current_dir(cwd).output().unwrap())
}

fn maps() -> Vec<String> {
    vec![
        "--map".into(),
        format!("docker.io/acme={MIRROR}"),
        "--map".into(),
        format!("docker.io/library={HUB_MIRROR}"),
    ]
}

fn args<'a>(maps: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["rewrite"];
    v.extend(maps.iter().map(String::as_str));
    v.extend(extra);
    v
}

/// Compares with a file in `snapshots/` (`UPDATE_SNAPSHOTS=1` rewrites it).
fn golden(name: &str, got: &str) {
    let path = repo_root().join("tests/it/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        got == want,
        "{} differs; if intended, rerun with UPDATE_SNAPSHOTS=1.\n{got}",
        path.display()
    );
}

fn reference_lines(v: &Value) -> String {
    v["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{} {} {} {} -> {}\n",
                r["file"].as_str().unwrap(),
                r["line"],
                r["kind"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["old"].as_str().unwrap(),
                r["new"].as_str().unwrap_or("-"),
            )
        })
        .collect()
}

#[test]
fn fixture_tree_golden_diff_write_and_check() {
    let env = Env::new();
    let tree = env.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    copy_tree(&fixture(), &tree);
    // A file the tree's .gitignore excludes: written here, because git
    // (rightly) does not keep an ignored file in the fixture itself.
    std::fs::create_dir_all(tree.join("ignored")).unwrap();
    std::fs::write(
        tree.join("ignored/app.yaml"),
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: nginx:1.27\n",
    )
    .unwrap();
    let before = snapshot(&tree);
    let m = maps();

    // Default: the diff on stdout, nothing written.
    let r = run_in(&env, &tree, &args(&m, &["."])).ok();
    golden("rewrite.diff", &r.stdout);
    assert!(r.stderr.contains("left alone:"), "{}", r.stderr);
    assert_eq!(snapshot(&tree), before, "the default mode writes nothing");

    // JSON: every reference with its status.
    let j = run_in(&env, &tree, &args(&m, &[".", "-o", "json"]))
        .ok()
        .json();
    golden("rewrite-references.txt", &reference_lines(&j));
    assert_eq!(j["diff"].as_str().unwrap(), r.stdout);
    assert_eq!(j["written"], false);
    for (status, n) in [
        ("rewritten", 17),
        ("unmapped", 4),
        ("dynamic", 3),
        ("pinned", 0),
    ] {
        assert_eq!(j[status], n, "{status}: {j}");
    }
    let skipped = j["skipped"].as_array().unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");

    // --check: exit 1 while references point at the source; writes nothing.
    let c = run_in(&env, &tree, &args(&m, &[".", "--check"]));
    assert_eq!(c.code, 1, "{}", c.stderr);
    assert!(
        c.stderr.contains("17 references still point at the source"),
        "{}",
        c.stderr
    );
    assert!(
        c.stderr
            .contains("k8s/app.yaml:17  nginx:1.27 → 123456789012"),
        "{}",
        c.stderr
    );
    assert_eq!(snapshot(&tree), before);

    // --write applies exactly the diff: changed lines only, the rest byte-identical.
    let w = run_in(&env, &tree, &args(&m, &[".", "--write", "-o", "json"]))
        .ok()
        .json();
    assert_eq!(w["written"], true);
    assert_eq!(w["files_changed"].as_array().unwrap().len(), 6);
    let after = snapshot(&tree);
    let diff_lines: Vec<&str> = r.stdout.lines().collect();
    for (path, old) in &before {
        let new = &after[path];
        let (old, new) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
        assert_eq!(
            old.lines().count(),
            new.lines().count(),
            "{}",
            path.display()
        );
        for (a, b) in old.lines().zip(new.lines()) {
            if a != b {
                assert!(
                    diff_lines.contains(&format!("-{a}").as_str()),
                    "{}: {a}",
                    path.display()
                );
                assert!(
                    diff_lines.contains(&format!("+{b}").as_str()),
                    "{}: {b}",
                    path.display()
                );
            }
        }
    }
    for untouched in [
        "ignored/app.yaml",
        "README.md",
        "chart/templates/deployment.yaml",
        ".gitignore",
    ] {
        assert_eq!(
            before[Path::new(untouched)],
            after[Path::new(untouched)],
            "{untouched}"
        );
    }
    // The comment, the quotes and the flow mapping survived.
    let k8s = String::from_utf8(after[Path::new("k8s/app.yaml")].clone()).unwrap();
    assert!(k8s.contains(&format!(
        "image: \"{MIRROR}/api:1.1\"   # same image as the API, runs migrations"
    )));
    assert!(k8s.contains(&format!(
        "- {{name: sidecar, image: '{HUB_MIRROR}/busybox'}}"
    )));

    // Now in place: --check passes, a rerun changes nothing.
    let c = run_in(&env, &tree, &args(&m, &[".", "--check", "-o", "json"]))
        .ok()
        .json();
    assert_eq!(c["current"], 17, "{c}");
    assert_eq!(c["outstanding"], 0);
    let again = run_in(&env, &tree, &args(&m, &["."])).ok();
    assert_eq!(again.stdout, "");
}

#[test]
fn nothing_matching_leaves_every_byte_alone() {
    let env = Env::new();
    let tree = env.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    copy_tree(&fixture(), &tree);
    let before = snapshot(&tree);
    let m = vec![
        "--map".to_string(),
        "ghcr.io/nobody=quay.io/nobody".to_string(),
    ];
    let r = run_in(&env, &tree, &args(&m, &[".", "--write", "-o", "json"]))
        .ok()
        .json();
    assert_eq!(r["written"], false);
    assert_eq!(r["rewritten"], 0);
    assert_eq!(r["unmapped"], 21, "{r}");
    assert_eq!(snapshot(&tree), before, "byte-identical");
    let d = run_in(&env, &tree, &args(&m, &["."])).ok();
    assert_eq!(d.stdout, "", "empty diff");
    run_in(&env, &tree, &args(&m, &[".", "--check"])).ok();
}

#[test]
fn usage_errors() {
    let env = Env::new();
    let dir = env.path();
    for bad in [
        &["rewrite", "--map", "docker.io/acme", "."][..],
        &["rewrite", "--map", "docker.io/Acme=x.io/y", "."],
        &[
            "rewrite",
            "--map",
            "acme=x.io/y",
            "--map",
            "docker.io/acme=z.io/w",
            ".",
        ],
        &["rewrite", "--map", "acme=x.io/y", "does-not-exist"],
        &["rewrite", "--map", "acme=x.io/y", "--write", "--check", "."],
        &["rewrite", "."],
    ] {
        let r = run_in(&env, dir, bad);
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
    }
}

struct World {
    env: Env,
    hub: Hub,
    /// Kept running for the test's length.
    _ecr: Ecr,
}

fn img(tag: &str, seed: u64) -> Image<'_> {
    Image {
        tag,
        seed,
        size: "256K",
        layers: 1,
        ..Image::default()
    }
}

#[test]
fn pin_checks_the_mirror_and_the_source_without_pulls() {
    let mut env = Env::new();
    let hub = Hub::start(env.path(), 1000);
    let ecr = Ecr::start(env.path());
    hub.configure(&mut env);
    ecr.configure(&mut env);
    let w = World {
        env,
        hub,
        _ecr: ecr,
    };
    let api = w.hub.push(w.env.path(), "acme/api", img("1.1", 301));
    let web = w.hub.push(w.env.path(), "acme/web", img("2.0", 302));
    w.hub.push(w.env.path(), "library/nginx", img("1.27", 303));
    w.hub.push(w.env.path(), "acme/gone", img("1.0", 304));
    w.hub.push(w.env.path(), "acme/drift", img("1.0", 305));
    for (src, dst) in [
        ("docker.io/acme/api:1.1", format!("{MIRROR}/api:1.1")),
        ("docker.io/acme/web:2.0", format!("{MIRROR}/web:2.0")),
        (
            "docker.io/library/nginx:1.27",
            format!("{HUB_MIRROR}/nginx:1.27"),
        ),
        ("docker.io/acme/drift:1.0", format!("{MIRROR}/drift:1.0")),
    ] {
        w.env.crossdock(&["copy", src, &dst, "--create-repos"]).ok();
    }
    // The source moves on after the mirror was made: not identical any more.
    w.hub.push(w.env.path(), "acme/drift", img("1.0", 306));
    // nginx mirrored with its platforms kept only in part: accepted, its own digest pinned.
    w.env
        .crossdock(&[
            "copy",
            "docker.io/library/nginx:1.27",
            &format!("{HUB_MIRROR}/nginx-arm:1.27"),
            "--platform",
            "linux/arm64",
            "--create-repos",
        ])
        .ok();

    let tree = w.env.path().join("deploy");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("app.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - image: acme/api:1.1     # pinned\n        - image: \"nginx:1.27\"\n        - image: docker.io/acme/gone:1.0\n        - image: acme/drift:1.0\n",
    )
    .unwrap();
    std::fs::write(
        tree.join("values.yaml"),
        "web:\n  image:\n    repository: acme/web\n    tag: \"2.0\"\n",
    )
    .unwrap();
    w.hub.reset();
    let m = maps();
    let r = run_in(&w.env, &tree, &args(&m, &[".", "--pin", "-o", "json"]))
        .ok()
        .json();
    let by_old: BTreeMap<String, &Value> = r["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["old"].as_str().unwrap().to_string(), x))
        .collect();
    let api_digest = api["digest"].as_str().unwrap();
    assert_eq!(by_old["acme/api:1.1"]["status"], "pinned", "{r}");
    assert_eq!(
        by_old["acme/api:1.1"]["new"],
        format!("{MIRROR}/api:1.1@{api_digest}")
    );
    assert_eq!(by_old["nginx:1.27"]["status"], "pinned");
    assert_eq!(by_old["docker.io/acme/gone:1.0"]["status"], "not-mirrored");
    assert!(by_old["docker.io/acme/gone:1.0"]["note"]
        .as_str()
        .unwrap()
        .contains("is not in the mirror"));
    assert_eq!(by_old["acme/drift:1.0"]["status"], "not-mirrored");
    assert!(by_old["acme/drift:1.0"]["note"]
        .as_str()
        .unwrap()
        .contains("but the source has"));
    let web_digest = web["digest"].as_str().unwrap();
    assert_eq!(by_old["acme/web:2.0"]["status"], "pinned");
    assert_eq!(by_old["acme/web:2.0"]["digest"], web_digest);
    assert_eq!(w.hub.stats()["pulls"], 0, "--pin checks with HEADs only");

    // --check with --pin fails while anything is unpinned or not mirrored.
    let c = run_in(&w.env, &tree, &args(&m, &[".", "--pin", "--check"]));
    assert_eq!(c.code, 1, "{}", c.stderr);

    run_in(&w.env, &tree, &args(&m, &[".", "--pin", "--write"])).ok();
    let app = std::fs::read_to_string(tree.join("app.yaml")).unwrap();
    assert!(
        app.contains(&format!(
            "- image: {MIRROR}/api:1.1@{api_digest}     # pinned\n"
        )),
        "{app}"
    );
    assert!(
        app.contains("- image: docker.io/acme/gone:1.0\n"),
        "never pinned to what is not there:\n{app}"
    );
    assert!(app.contains("- image: acme/drift:1.0\n"), "{app}");
    let values = std::fs::read_to_string(tree.join("values.yaml")).unwrap();
    assert_eq!(
        values,
        format!("web:\n  image:\n    repository: {MIRROR}/web\n    tag: \"2.0@{web_digest}\"\n")
    );

    // A rerun: the pinned ones are current (checked again), the rest still reported.
    let again = run_in(&w.env, &tree, &args(&m, &[".", "--pin", "-o", "json"]))
        .ok()
        .json();
    assert_eq!(again["current"], 3, "{again}");
    assert_eq!(again["not_mirrored"], 2);
    assert_eq!(w.hub.stats()["pulls"], 0);

    // A platform-filtered mirror is accepted through the source digest it records.
    std::fs::write(
        tree.join("arm.yaml"),
        format!("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: {HUB_MIRROR}/nginx-arm:1.27\n"),
    )
    .unwrap();
    let filtered = vec![
        "--map".to_string(),
        format!("docker.io/library/nginx={HUB_MIRROR}/nginx-arm"),
    ];
    let f = run_in(
        &w.env,
        &tree,
        &args(&filtered, &["arm.yaml", "--pin", "-o", "json"]),
    )
    .ok()
    .json();
    let arm = &f["references"][0];
    assert_eq!(arm["status"], "pinned", "{f}");
    assert!(arm["note"].as_str().unwrap().contains("linux/arm64"), "{f}");
}
