//! The test rig: real CNCF distribution registries (open, token auth through
//! our token server, htpasswd Basic auth) on free loopback ports, test images
//! built with `rig/mkimage.py` and pushed with skopeo, and a runner for the
//! crossdock binary with its own config and Docker config. Every process a
//! test starts is killed when its handle drops.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub const HUB_USER: &str = "demo";
pub const HUB_PASS: &str = "demo-password";
/// An OAuth2 identity token the token server accepts for `HUB_USER`.
pub const HUB_IDENTITY_TOKEN: &str = "identity-token-of-demo";
pub const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
pub const ECR_USER: &str = "AWS";
pub const ECR_PASS: &str = "123456789012-auth-token";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let p = repo_root().join(".rig/venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup (scripts/test does) first",
        p.display()
    );
    p
}

/// A free port on 127.0.0.1 (bind to port 0, read it, release it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A child process killed on drop.
pub struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `GET /v2/` and returns the status code, if anything answered.
pub fn http_status(port: u16, method: &str, path: &str, auth: Option<(&str, &str)>) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nAccept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json\r\n");
    if let Some((u, p)) = auth {
        req += &format!("Authorization: Basic {}\r\n", b64(&format!("{u}:{p}")));
    }
    req += "\r\n";
    s.write_all(req.as_bytes()).ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn b64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn wait_ready(port: u16, child: &mut Child, what: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if http_status(port, "GET", "/v2/", None).is_some() {
            return true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} on port {port} did not become ready in 20 s");
}

/// How a registry authenticates.
pub enum Auth {
    Open,
    /// Bearer tokens from a token server of ours (Docker Hub style).
    Token,
    /// htpasswd Basic auth (ECR data-plane style).
    Basic {
        user: String,
        pass: String,
    },
}

/// A running registry.
pub struct Registry {
    pub port: u16,
    pub storage: PathBuf,
    pub token_port: Option<u16>,
    pub creds: Option<(String, String)>,
    _procs: Vec<Proc>,
}

impl Registry {
    /// A registry with ECR's `/v2` credentials (`AWS:<account>-auth-token`).
    pub fn ecr_data_plane(dir: &Path) -> Registry {
        Registry::start(
            dir,
            Auth::Basic {
                user: ECR_USER.into(),
                pass: ECR_PASS.into(),
            },
        )
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts a registry with storage under `dir`.
    pub fn start(dir: &Path, auth: Auth) -> Registry {
        let name = format!("reg-{}", free_port());
        let work = dir.join(&name);
        std::fs::create_dir_all(&work).expect("mkdir");
        let mut procs = Vec::new();
        let mut env: Vec<(String, String)> = Vec::new();
        let mut token_port = None;
        let mut creds = None;
        let file = match &auth {
            Auth::Open => "registry-open.yml",
            Auth::Token => {
                let (port, p) = start_token_server(&work);
                procs.push(p);
                token_port = Some(port);
                env.push((
                    "REGISTRY_AUTH_TOKEN_REALM".into(),
                    format!("http://127.0.0.1:{port}/token"),
                ));
                env.push((
                    "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE".into(),
                    work.join("cert.pem").display().to_string(),
                ));
                creds = Some((HUB_USER.to_string(), HUB_PASS.to_string()));
                "registry-token.yml"
            }
            Auth::Basic { user, pass } => {
                let htpasswd = work.join("htpasswd");
                let st = Command::new("htpasswd")
                    .args(["-Bbc"])
                    .arg(&htpasswd)
                    .args([user, pass])
                    .stderr(Stdio::null())
                    .status()
                    .expect("htpasswd (apache2-utils) must be installed: run scripts/setup");
                assert!(st.success());
                env.push((
                    "REGISTRY_AUTH_HTPASSWD_PATH".into(),
                    htpasswd.display().to_string(),
                ));
                creds = Some((user.clone(), pass.clone()));
                "registry-htpasswd.yml"
            }
        };
        let storage = work.join("storage");
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(repo_root().join("rig").join(file))
                .env("REGISTRY_HTTP_ADDR", format!("127.0.0.1:{port}"))
                .env("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", &storage)
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("docker-registry must be installed: run scripts/setup");
            if wait_ready(port, &mut child, "docker-registry") {
                procs.push(Proc(child));
                return Registry {
                    port,
                    storage,
                    token_port,
                    creds,
                    _procs: procs,
                };
            }
            // Lost the port to someone else: try another.
            let _ = child.wait();
        }
        panic!("could not start docker-registry");
    }

    /// Pushes an OCI layout's tag to `repo:tag` with skopeo.
    pub fn push_layout(&self, layout: &Path, tag: &str, repo: &str, docker_format: bool) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--all", "--dest-tls-verify=false", "-q"]);
        if docker_format {
            cmd.args(["--format", "v2s2"]);
        } else {
            cmd.arg("--preserve-digests");
        }
        if let Some((u, p)) = &self.creds {
            cmd.arg(format!("--dest-creds={u}:{p}"));
        }
        cmd.arg(format!("oci:{}:{tag}", layout.display()));
        cmd.arg(format!("docker://{}/{repo}:{tag}", self.addr()));
        let out = cmd
            .output()
            .expect("skopeo must be installed: run scripts/setup");
        assert!(
            out.status.success(),
            "skopeo push failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Pushes every blob, manifest and tag of an OCI layout byte for byte
    /// (`rig/pushlayout.py`; artifacts with `subject` included) straight to
    /// this registry. `args`: `--no-fallback-tags`, `--only-tag T`.
    pub fn push_raw(&self, layout: &Path, repo: &str, args: &[&str]) {
        push_raw(
            &format!("http://{}", self.addr()),
            self.creds.as_ref(),
            layout,
            repo,
            args,
        );
    }

    /// The raw manifest bytes of `repo:reference` as skopeo sees them, or None.
    pub fn skopeo_raw(&self, repo: &str, reference: &str) -> Option<Vec<u8>> {
        let sep = if reference.starts_with("sha256:") {
            "@"
        } else {
            ":"
        };
        let mut cmd = Command::new("skopeo");
        cmd.args(["inspect", "--raw", "--tls-verify=false"]);
        if let Some((u, p)) = &self.creds {
            cmd.arg(format!("--creds={u}:{p}"));
        }
        cmd.arg(format!("docker://{}/{repo}{sep}{reference}", self.addr()));
        let out = cmd.output().expect("skopeo");
        out.status.success().then_some(out.stdout)
    }

    /// sha256 digest of what skopeo reads at `repo:reference`.
    pub fn skopeo_digest(&self, repo: &str, reference: &str) -> Option<String> {
        self.skopeo_raw(repo, reference).map(|b| sha256(&b))
    }

    /// Path of a blob's data file in this registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Token server counters (`tokens_issued`, `auth_failures`).
    pub fn token_stats(&self) -> Value {
        let port = self.token_port.expect("token registry");
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("token server");
        s.write_all(format!("GET /stats HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
            .expect("write");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("{}");
        serde_json::from_str(body).expect("stats JSON")
    }
}

/// Runs `rig/pushlayout.py` against `base`.
pub fn push_raw(
    base: &str,
    creds: Option<&(String, String)>,
    layout: &Path,
    repo: &str,
    args: &[&str],
) {
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("rig/pushlayout.py"))
        .arg(layout)
        .arg(base)
        .arg(repo)
        .args(args);
    if let Some((u, p)) = creds {
        cmd.args(["--user", &format!("{u}:{p}")]);
    }
    let out = cmd.output().expect("pushlayout");
    assert!(
        out.status.success(),
        "pushlayout failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start_token_server(dir: &Path) -> (u16, Proc) {
    let mut child = Command::new(python())
        .arg(repo_root().join("rig/tokenserver.py"))
        .args(["--listen", "127.0.0.1:0", "--state-dir"])
        .arg(dir)
        .args(["--user", &format!("{HUB_USER}:{HUB_PASS}")])
        .args([
            "--refresh-token",
            &format!("{HUB_IDENTITY_TOKEN}:{HUB_USER}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("token server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("token server output");
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("token server said {line:?}"));
    (port, Proc(child))
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Options for a test image.
pub struct Image<'a> {
    pub tag: &'a str,
    pub platforms: &'a str,
    pub layers: u32,
    pub size: &'a str,
    pub shared: u32,
    pub seed: u64,
    pub single: bool,
    /// Add supply-chain artifacts (mkimage `--referrers`), with this payload seed.
    pub referrers: Option<&'a str>,
}

impl Default for Image<'_> {
    fn default() -> Self {
        Image {
            tag: "1.0",
            platforms: "linux/amd64,linux/arm64",
            layers: 3,
            size: "2M",
            shared: 1,
            seed: 1,
            single: false,
            referrers: None,
        }
    }
}

/// Builds an OCI layout (into `dir`) and returns mkimage's JSON
/// (`digest`, `media_type`, `blobs`, `bytes`).
pub fn build_image(dir: &Path, img: &Image) -> Value {
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("rig/mkimage.py"))
        .arg(dir)
        .args([
            "--tag",
            img.tag,
            "--platforms",
            img.platforms,
            "--size",
            img.size,
        ])
        .args([
            "--layers",
            &img.layers.to_string(),
            "--shared-layers",
            &img.shared.to_string(),
        ])
        .args(["--seed", &img.seed.to_string()]);
    if img.single {
        cmd.arg("--single");
    }
    if let Some(seed) = img.referrers {
        cmd.args(["--referrers", "--referrers-seed", seed]);
    }
    let out = cmd.output().expect("mkimage");
    assert!(
        out.status.success(),
        "mkimage: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("mkimage JSON")
}

/// One test's world: a temp dir, a config file, a Docker config.
pub struct Env {
    pub dir: TempDir,
    pub config: String,
    pub docker_auths: Vec<(String, String, String)>,
    pub extra_docker_config: Option<Value>,
    pub env: Vec<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "crossdock failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::Builder::new()
                .prefix("crossdock-it-")
                .tempdir()
                .expect("tempdir"),
            config: "[retry]\nbase_delay_ms = 20\nmax_delay_ms = 200\n".into(),
            docker_auths: Vec::new(),
            extra_docker_config: None,
            env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Maps a logical registry name to a local registry's endpoint.
    pub fn endpoint(&mut self, name: &str, port: u16) {
        self.config += &format!("[registry.\"{name}\"]\nendpoint = \"http://127.0.0.1:{port}\"\n");
    }

    /// Starts an open registry, configured as plain HTTP.
    pub fn open_registry(&mut self) -> Registry {
        let r = Registry::start(self.path(), Auth::Open);
        self.insecure(&r);
        r
    }

    /// Marks a `127.0.0.1:PORT` registry as plain HTTP.
    pub fn insecure(&mut self, reg: &Registry) {
        self.config += &format!("[registry.\"{}\"]\ninsecure = true\n", reg.addr());
    }

    /// Adds credentials for `key` to the Docker config.
    pub fn login(&mut self, key: &str, user: &str, pass: &str) {
        self.docker_auths
            .push((key.to_string(), user.to_string(), pass.to_string()));
    }

    pub fn crossdock(&self, args: &[&str]) -> Run {
        self.command(args)
            .output()
            .map(to_run)
            .expect("run crossdock")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let dir = self.path();
        std::fs::write(dir.join("config.toml"), &self.config).expect("config");
        let docker = dir.join("docker");
        std::fs::create_dir_all(&docker).expect("mkdir");
        let mut auths = serde_json::Map::new();
        for (k, u, p) in &self.docker_auths {
            auths.insert(
                k.clone(),
                serde_json::json!({"auth": b64(&format!("{u}:{p}"))}),
            );
        }
        let mut cfg = serde_json::json!({ "auths": auths });
        if let Some(extra) = &self.extra_docker_config {
            if let (Some(o), Some(e)) = (cfg.as_object_mut(), extra.as_object()) {
                for (k, v) in e {
                    o.insert(k.clone(), v.clone());
                }
            }
        }
        std::fs::write(docker.join("config.json"), cfg.to_string()).expect("docker config");
        let mut cmd = Command::new(crossdock_bin());
        cmd.args(args)
            .env("CROSSDOCK_CONFIG", dir.join("config.toml"))
            .env("DOCKER_CONFIG", &docker)
            .env("HOME", dir)
            .env_remove("DOCKERHUB_USERNAME")
            .env_remove("DOCKERHUB_TOKEN")
            .env_remove("CROSSDOCK_JOBS")
            .env_remove("CROSSDOCK_PRICES")
            .env_remove("AWS_PROFILE")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

/// The binary under test: this build's, or `CROSSDOCK_TEST_BIN` (to check
/// that a test fails against an older build).
pub fn crossdock_bin() -> PathBuf {
    std::env::var_os("CROSSDOCK_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_crossdock")))
}

pub fn to_run(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Spawns a rig helper that prints one `LISTENING …` line when ready.
fn spawn_listening(mut cmd: Command) -> (Proc, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn rig helper");
    let stdout = child.stdout.take().expect("stdout");
    let proc = Proc(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("rig helper output");
    assert!(line.starts_with("LISTENING"), "rig helper said {line:?}");
    (proc, line.trim().to_string())
}

fn port_of(url: &str) -> u16 {
    url.trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url:?}"))
}

/// A raw HTTP/1.1 request to 127.0.0.1:port; returns (status, body).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    req += "\r\n";
    req += body;
    s.write_all(req.as_bytes()).expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    // Chunked bodies (Flask): keep the JSON between the chunk sizes.
    let body = if body.starts_with('{') || body.starts_with('[') || body.is_empty() {
        body
    } else {
        body.lines()
            .filter(|l| l.starts_with('{') || l.starts_with('['))
            .collect::<Vec<_>>()
            .join("")
    };
    (status, body)
}

/// AWS settings for the ECR API at `ecr_port` and STS at `sts_port`.
fn aws_env(env: &mut Env, ecr_port: u16, sts_port: u16) {
    for (k, v) in [
        (
            "AWS_ENDPOINT_URL_ECR",
            format!("http://127.0.0.1:{ecr_port}"),
        ),
        (
            "AWS_ENDPOINT_URL_STS",
            format!("http://127.0.0.1:{sts_port}"),
        ),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ] {
        env.env.push((k.to_string(), v));
    }
}

/// The ECR stand-in: moto (ECR API) + an htpasswd registry (data plane,
/// `AWS:<account>-auth-token`) behind `rig/ecrfront.py` (NAME_UNKNOWN for
/// repositories moto does not know, immutable tags enforced).
pub struct Ecr {
    pub moto_port: u16,
    pub front_port: u16,
    /// The front's ECR API listener (moto, with BatchDeleteImage applied to the registry).
    pub api_port: u16,
    pub registry: Registry,
    _procs: Vec<Proc>,
}

impl Ecr {
    pub fn start(dir: &Path) -> Ecr {
        Self::start_with(dir, 0)
    }

    /// With the referrers API paged `referrers_page` entries at a time (0: one page).
    pub fn start_with(dir: &Path, referrers_page: usize) -> Ecr {
        let (moto, line) = spawn_listening({
            let mut c = Command::new(repo_root().join("rig/moto.sh"));
            c.arg("0");
            c
        });
        let moto_port = port_of(&line);
        let registry = Registry::ecr_data_plane(dir);
        let (front, line) = spawn_listening({
            let mut c = Command::new(python());
            c.arg(repo_root().join("rig/ecrfront.py"))
                .args(["--upstream", &format!("http://127.0.0.1:{}", registry.port)])
                .args(["--moto", &format!("http://127.0.0.1:{moto_port}")])
                .args([
                    "--account",
                    "123456789012",
                    "--region",
                    "us-east-1",
                    "--quiet",
                    "--api",
                    "--registry-auth",
                    &format!("{ECR_USER}:{ECR_PASS}"),
                    "--referrers-page",
                    &referrers_page.to_string(),
                ]);
            c
        });
        // "LISTENING http://127.0.0.1:P1 api=http://127.0.0.1:P2"
        let mut words = line.split_whitespace().skip(1);
        let front_port = words.next().map(port_of).expect("front port");
        let api_port = words
            .next()
            .and_then(|w| w.strip_prefix("api="))
            .map(port_of)
            .unwrap_or_else(|| panic!("ecrfront said {line:?}"));
        Ecr {
            moto_port,
            front_port,
            api_port,
            registry,
            _procs: vec![front, moto],
        }
    }

    /// Pushes an OCI layout byte for byte through the front (so referrers are
    /// recorded), creating the repository first.
    pub fn push_raw(&self, layout: &Path, repo: &str, args: &[&str]) {
        self.api(
            "CreateRepository",
            serde_json::json!({ "repositoryName": repo }),
        );
        push_raw(
            &format!("http://127.0.0.1:{}", self.front_port),
            Some(&(ECR_USER.to_string(), ECR_PASS.to_string())),
            layout,
            repo,
            args,
        );
    }

    /// The referrers the front's API lists for `subject` (every page).
    pub fn referrers(&self, repo: &str, subject: &str) -> Vec<String> {
        let auth = format!("Basic {}", b64(&format!("{ECR_USER}:{ECR_PASS}")));
        let (status, body) = http(
            self.front_port,
            "GET",
            &format!("/v2/{repo}/referrers/{subject}"),
            &[("Authorization", &auth)],
            "",
        );
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("referrers JSON");
        let mut out: Vec<String> = v["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .map(|m| m["digest"].as_str().unwrap_or_default().to_string())
            .collect();
        out.sort();
        out
    }

    /// Points the ECR host at this stand-in; AWS credentials for moto.
    pub fn configure(&self, env: &mut Env) {
        env.endpoint(ECR_HOST, self.front_port);
        // The ECR API through the front (BatchDeleteImage reaches the data plane).
        aws_env(env, self.api_port, self.moto_port);
    }

    /// Calls the ECR API on moto.
    pub fn api(&self, action: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let target = format!("AmazonEC2ContainerRegistry_V20150921.{action}");
        let (status, text) = http(
            self.moto_port,
            "POST",
            "/",
            &[
                ("X-Amz-Target", &target),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=x"),
            ],
            &body.to_string(),
        );
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Calls the ECR API on moto and asserts it succeeded.
    #[track_caller]
    pub fn api_ok(&self, action: &str, body: serde_json::Value) -> serde_json::Value {
        let (status, v) = self.api(action, body);
        assert_eq!(status, 200, "{action}: {v}");
        v
    }

    /// Configures the result moto returns for the next `DescribeImageScanFindings`
    /// of a scanned image (moto's own API).
    pub fn set_scan_findings(&self, result: serde_json::Value) {
        let body = serde_json::json!({"results": [result], "region": "us-east-1"});
        let (status, text) = http(
            self.moto_port,
            "POST",
            "/moto-api/static/ecr/scan-finding-results",
            &[("Content-Type", "application/json")],
            &body.to_string(),
        );
        assert!((200..300).contains(&status), "moto API: {status} {text}");
    }

    /// DescribeRepositories for one name (None when missing).
    pub fn repository(&self, name: &str) -> Option<serde_json::Value> {
        let (status, v) = self.api(
            "DescribeRepositories",
            serde_json::json!({"repositoryNames": [name]}),
        );
        (status == 200).then(|| v["repositories"][0].clone())
    }

    pub fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&http(self.front_port, "GET", "/__stats", &[], "").1)
            .expect("ecrfront stats")
    }
}

/// The Docker Hub stand-in: a token-auth registry behind `rig/hubfront.py`
/// (pull-rate-limit headers, 429 when out of pulls, and the Hub API).
pub struct Hub {
    pub registry: Registry,
    pub front_port: u16,
    pub api_port: u16,
    _procs: Vec<Proc>,
}

impl Hub {
    pub fn start(dir: &Path, limit: u64) -> Hub {
        Self::start_with(dir, limit, 0)
    }

    /// With a Hub API request limit too (0 = unlimited).
    pub fn start_with(dir: &Path, limit: u64, api_limit: u64) -> Hub {
        Self::start_full(dir, limit, api_limit, None)
    }

    /// `limit` pulls per `window_s`-second window, refilled at each window.
    pub fn start_windowed(dir: &Path, limit: u64, window_s: u64) -> Hub {
        Self::start_full(dir, limit, 0, Some(window_s))
    }

    fn start_full(dir: &Path, limit: u64, api_limit: u64, refill: Option<u64>) -> Hub {
        let registry = Registry::start(dir, Auth::Token);
        let window = refill.unwrap_or(21600).to_string();
        let (front, line) = spawn_listening({
            let mut c = Command::new(python());
            c.arg(repo_root().join("rig/hubfront.py"))
                .args(["--upstream", &format!("http://127.0.0.1:{}", registry.port)])
                .args(["--limit", &limit.to_string(), "--window", &window]);
            if refill.is_some() {
                c.arg("--refill");
            }
            c.args([
                "--upstream-user",
                &format!("{HUB_USER}:{HUB_PASS}"),
                "--quiet",
            ])
            .args(["--api-limit", &api_limit.to_string()]);
            c
        });
        // "LISTENING registry=http://127.0.0.1:P1 hubapi=http://127.0.0.1:P2"
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(port_of)
                .unwrap_or_else(|| panic!("hubfront said {line:?}"))
        };
        Hub {
            front_port: field("registry="),
            api_port: field("hubapi="),
            registry,
            _procs: vec![front],
        }
    }

    /// Points `docker.io` at the front and the Hub API at the stand-in.
    pub fn configure(&self, env: &mut Env) {
        env.config += &format!(
            "[registry.\"docker.io\"]\nendpoint = \"http://127.0.0.1:{}\"\nhub_api = \"http://127.0.0.1:{}\"\nratelimit_poll_s = 1\n",
            self.front_port, self.api_port
        );
    }

    /// Builds and pushes an image to `repo:tag` (straight to the registry:
    /// pushes cost no pulls); returns mkimage's JSON.
    pub fn push(&self, dir: &Path, repo: &str, img: Image) -> Value {
        let layout = dir.join(format!("img-{}-{}", repo.replace('/', "_"), img.tag));
        let v = build_image(&layout, &img);
        self.registry.push_layout(&layout, img.tag, repo, false);
        v
    }

    pub fn stats(&self) -> Value {
        serde_json::from_str(&http(self.front_port, "GET", "/__stats", &[], "").1)
            .expect("hubfront stats")
    }

    pub fn api_stats(&self) -> Value {
        serde_json::from_str(&http(self.api_port, "GET", "/__stats", &[], "").1)
            .expect("hub api stats")
    }

    pub fn set_remaining(&self, n: u64) {
        let (s, _) = http(
            self.front_port,
            "POST",
            &format!("/__set?remaining={n}"),
            &[],
            "",
        );
        assert_eq!(s, 200);
    }

    /// Marks a repository private (`is_private`) in the Hub API.
    pub fn set_private(&self, repo: &str) {
        let (s, body) = http(
            self.api_port,
            "POST",
            &format!("/__private?repo={repo}"),
            &[],
            "",
        );
        assert_eq!(s, 200, "{body}");
    }

    /// Sets a tag's `last_updated` in the Hub API.
    pub fn set_updated(&self, repo: &str, tag: &str, time: &str) {
        let path = format!(
            "/__tags_updated?repo={repo}&tag={tag}&time={}",
            time.replace('+', "%2B")
        );
        let (s, body) = http(self.api_port, "POST", &path, &[], "");
        assert_eq!(s, 200, "{body}");
    }

    pub fn reset(&self) {
        let (s, _) = http(self.front_port, "POST", "/__reset", &[], "");
        assert_eq!(s, 200);
    }
}

/// ECR's limits in front of the ECR stand-in (`rig/ecrlimits.py`): request
/// rates per API action on the data plane, and expiring, rotating
/// authorization tokens (GetAuthorizationToken answered by the front).
pub struct EcrLimits {
    pub front_port: u16,
    pub api_port: u16,
    _proc: Proc,
}

impl EcrLimits {
    /// `rates`: `("PutImage", 10.0)`…; `rotate_s`: token lifetime (None: off).
    pub fn start(ecr: &Ecr, rates: &[(&str, f64)], rotate_s: Option<f64>) -> EcrLimits {
        let (proc, line) = spawn_listening({
            let mut c = Command::new(python());
            c.arg(repo_root().join("rig/ecrlimits.py"))
                .args([
                    "--upstream",
                    &format!("http://127.0.0.1:{}", ecr.front_port),
                ])
                .args([
                    "--api-upstream",
                    &format!("http://127.0.0.1:{}", ecr.moto_port),
                ])
                .args(["--upstream-auth", &format!("{ECR_USER}:{ECR_PASS}")])
                .arg("--quiet");
            for (a, r) in rates {
                c.args(["--rate", &format!("{a}={r}")]);
            }
            if let Some(s) = rotate_s {
                c.args(["--rotate", &s.to_string()]);
            }
            c
        });
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(port_of)
                .unwrap_or_else(|| panic!("ecrlimits said {line:?}"))
        };
        EcrLimits {
            front_port: field("registry="),
            api_port: field("api="),
            _proc: proc,
        }
    }

    /// Points the ECR host (data plane and API) at this front.
    pub fn configure(&self, ecr: &Ecr, env: &mut Env) {
        env.endpoint(ECR_HOST, self.front_port);
        aws_env(env, self.api_port, ecr.moto_port);
    }

    pub fn stats(&self) -> Value {
        serde_json::from_str(&http(self.front_port, "GET", "/__stats", &[], "").1)
            .expect("ecrlimits stats")
    }

    /// Every issued password stops working now.
    pub fn revoke(&self) {
        let (s, _) = http(self.front_port, "POST", "/__revoke", &[], "");
        assert_eq!(s, 200);
    }
}
