//! Credentials and registry auth: where credentials come from
//! (`DOCKERHUB_USERNAME`/`DOCKERHUB_TOKEN`, `~/.docker/config.json` `auths`,
//! `credHelpers`, `credsStore`), `WWW-Authenticate` challenge parsing, and the
//! bearer-token cache. Secrets are wrapped in [`Secret`], whose `Debug` and
//! `Display` never show the value.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::error::Error;
use crate::types::reference::DOCKER_HUB;

/// A secret string: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The value, for building a header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Credentials for one registry.
#[derive(Clone, Debug)]
pub struct Credential {
    /// User name (`AWS` for ECR, `<token>` for identity tokens).
    pub username: String,
    /// Password, personal access token or identity token.
    pub password: Secret,
    /// Where it came from, for messages (`DOCKERHUB_TOKEN`, `docker config`, helper name).
    pub source: String,
}

impl Credential {
    /// Whether this is an OAuth2 identity token (`docker login` with a
    /// token-capable registry stores user `<token>`).
    pub fn is_identity_token(&self) -> bool {
        self.username == "<token>"
    }

    /// `Basic base64(user:pass)` header value.
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password.expose());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// HTTP Basic.
    Basic,
    /// Bearer token from `realm`.
    Bearer {
        /// Token endpoint.
        realm: String,
        /// `service` parameter, if any.
        service: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` header value.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => {
            let params = parse_params(rest);
            let realm = params.get("realm")?.clone();
            Some(Challenge::Bearer {
                realm,
                service: params.get("service").cloned(),
            })
        }
        _ => None,
    }
}

fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            continue;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    out
}

/// A bearer token and when to stop using it.
#[derive(Clone, Debug)]
pub struct Token {
    /// The token.
    pub value: Secret,
    /// Refresh after this instant.
    pub refresh_at: Instant,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
pub struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    /// Seconds; read leniently (any JSON number, or a numeric string), as
    /// servers disagree on the type.
    #[serde(default)]
    expires_in: serde_json::Value,
}

/// Longest token lifetime believed: a server claiming more (up to
/// `u64::MAX` seconds) gets its token refreshed after a day anyway.
const MAX_TOKEN_LIFE: Duration = Duration::from_secs(24 * 3600);

impl TokenResponse {
    /// Parses the token endpoint's JSON body.
    pub fn parse(body: &[u8]) -> Result<TokenResponse, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The lifetime the server announced (60 s when absent or unreadable),
    /// between 1 s and a day.
    fn lifetime(&self) -> Duration {
        let secs = match &self.expires_in {
            serde_json::Value::Number(n) => n
                .as_u64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.is_finite() && *f > 0.0)
                        .map(|f| f.min(u64::MAX as f64) as u64)
                })
                .or(n.as_i64().map(|_| 1)),
            serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        }
        .unwrap_or(60);
        Duration::from_secs(secs.max(1)).min(MAX_TOKEN_LIFE)
    }

    /// The usable token, refreshed 10 s before expiry (60 s assumed when absent).
    pub fn into_token(self) -> Option<Token> {
        let life = self.lifetime();
        let value = self.token.or(self.access_token).filter(|t| !t.is_empty())?;
        let margin = Duration::from_secs(10).min(life / 2);
        let now = Instant::now();
        Some(Token {
            value: Secret::new(value),
            refresh_at: now.checked_add(life - margin).unwrap_or(now),
        })
    }
}

/// Where credentials are looked up. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CredentialStore {
    /// Docker client config file (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
    /// Docker Hub user from `DOCKERHUB_USERNAME`.
    pub hub_username: Option<String>,
    /// Docker Hub token from `DOCKERHUB_TOKEN`.
    pub hub_token: Option<Secret>,
    /// Longest a credential helper may run (default 30 s).
    pub helper_timeout: Option<Duration>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

const HUB_CONFIG_KEY: &str = "https://index.docker.io/v1/";

fn normalise_key(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = k.split('/').next().unwrap_or(k);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => DOCKER_HUB.to_string(),
        h => h.to_string(),
    }
}

impl CredentialStore {
    /// The store described by the environment: `DOCKER_CONFIG`, `HOME`,
    /// `DOCKERHUB_USERNAME`, `DOCKERHUB_TOKEN`.
    pub fn from_env() -> Self {
        let docker_config = std::env::var_os("DOCKER_CONFIG")
            .filter(|v| !v.is_empty())
            .map(|d| PathBuf::from(d).join("config.json"))
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
            });
        let nonempty = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        CredentialStore {
            docker_config,
            hub_username: nonempty("DOCKERHUB_USERNAME"),
            hub_token: nonempty("DOCKERHUB_TOKEN").map(Secret::new),
            helper_timeout: None,
        }
    }

    fn helper_timeout(&self) -> Duration {
        self.helper_timeout.unwrap_or(DEFAULT_HELPER_TIMEOUT)
    }

    /// Credentials for a logical registry name, or `None` for anonymous.
    pub async fn lookup(&self, registry: &str) -> Result<Option<Credential>, Error> {
        if registry == DOCKER_HUB {
            if let (Some(u), Some(t)) = (&self.hub_username, &self.hub_token) {
                return Ok(Some(Credential {
                    username: u.clone(),
                    password: t.clone(),
                    source: "DOCKERHUB_USERNAME/DOCKERHUB_TOKEN".into(),
                }));
            }
        }
        let Some(path) = &self.docker_config else {
            return Ok(None);
        };
        let text = match tokio::fs::read_to_string(path).await {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        let cfg: DockerConfig = serde_json::from_str(&text).map_err(|e| Error::Config {
            path: path.display().to_string(),
            reason: format!("not a valid Docker config: {e}"),
        })?;
        let helper_host = if registry == DOCKER_HUB {
            HUB_CONFIG_KEY.to_string()
        } else {
            registry.to_string()
        };
        if let Some((_, helper)) = cfg
            .cred_helpers
            .iter()
            .find(|(k, _)| normalise_key(k) == registry)
        {
            return run_helper(helper, &helper_host, self.helper_timeout()).await;
        }
        if let Some((_, entry)) = cfg
            .auths
            .iter()
            .find(|(k, e)| normalise_key(k) == registry && has_creds(e))
        {
            return decode_entry(entry, path).map(Some);
        }
        if let Some(store) = cfg.creds_store.as_deref().filter(|s| !s.is_empty()) {
            return run_helper(store, &helper_host, self.helper_timeout()).await;
        }
        Ok(None)
    }
}

fn has_creds(e: &AuthEntry) -> bool {
    e.auth.as_deref().is_some_and(|a| !a.is_empty())
        || e.identitytoken.is_some()
        || (e.username.is_some() && e.password.is_some())
}

fn decode_entry(e: &AuthEntry, path: &std::path::Path) -> Result<Credential, Error> {
    let source = "docker config".to_string();
    if let Some(tok) = &e.identitytoken {
        return Ok(Credential {
            username: "<token>".into(),
            password: Secret::new(tok.clone()),
            source,
        });
    }
    if let (Some(u), Some(p)) = (&e.username, &e.password) {
        return Ok(Credential {
            username: u.clone(),
            password: Secret::new(p.clone()),
            source,
        });
    }
    let bad = || Error::Config {
        path: path.display().to_string(),
        reason: "an \"auth\" entry is not base64 of user:password".into(),
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(e.auth.as_deref().unwrap_or("").trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (u, p) = text.split_once(':').ok_or_else(bad)?;
    Ok(Credential {
        username: u.to_string(),
        password: Secret::new(p.to_string()),
        source,
    })
}

/// Longest a credential helper may take, unless configured otherwise.
pub const DEFAULT_HELPER_TIMEOUT: Duration = Duration::from_secs(30);
/// Most output read from a credential helper (stdout; stderr gets 64 KiB).
pub const MAX_HELPER_OUTPUT: u64 = 1024 * 1024;

/// The protocol's "no credentials for this server" answer.
fn says_not_found(out: &[u8]) -> bool {
    String::from_utf8_lossy(out)
        .to_ascii_lowercase()
        .contains("credentials not found")
}

/// Parses a helper's `{"Username", "Secret"}` answer.
fn parse_helper_answer(stdout: &[u8]) -> Option<(String, Secret)> {
    let ans: HelperAnswer = serde_json::from_slice(stdout).ok()?;
    Some((ans.username, Secret::new(ans.secret)))
}

/// Kills a helper's whole process group (it runs in its own) unless it
/// finished: on a timeout, and when the lookup is cancelled (Ctrl-C,
/// SIGTERM), so no helper or child of it is left running.
struct HelperGroup {
    pid: Option<u32>,
}

impl HelperGroup {
    fn finished(&mut self) {
        self.pid = None;
    }
}

impl Drop for HelperGroup {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: signals the process group this code created (pgid =
            // the helper's pid, not yet reaped, so not reused).
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
            }
        }
    }
}

/// Reads at most `limit` bytes; `Err` with the count when there is more.
async fn read_capped(
    r: Option<impl tokio::io::AsyncRead + Unpin>,
    limit: u64,
) -> std::io::Result<Result<Vec<u8>, u64>> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    if let Some(r) = r {
        r.take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .await?;
    }
    Ok(if out.len() as u64 > limit {
        Err(limit)
    } else {
        Ok(out)
    })
}

async fn run_helper(
    helper: &str,
    host: &str,
    timeout: Duration,
) -> Result<Option<Credential>, Error> {
    let program = format!("docker-credential-{helper}");
    let fail = |detail: String| Error::CredentialHelper {
        helper: helper.chars().take(64).collect(),
        host: host.to_string(),
        detail,
    };
    // A helper is a program on PATH, never a path.
    if helper.is_empty()
        || !helper
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(fail(
            "a helper name is letters, digits, - _ . (docker-credential-NAME on PATH)".into(),
        ));
    }
    let mut cmd = tokio::process::Command::new(&program);
    cmd.arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|e| {
        fail(format!(
            "cannot run {program}: {e} (is it installed and on PATH?)"
        ))
    })?;
    let mut group = HelperGroup { pid: child.id() };
    let talk = async {
        if let Some(mut stdin) = child.stdin.take() {
            // A helper may answer without reading its input: a closed pipe
            // is not an error, its answer is what counts.
            match stdin.write_all(host.as_bytes()).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(fail(format!("cannot write to it: {e}"))),
            }
            drop(stdin);
        }
        let (out, err) = tokio::join!(
            read_capped(child.stdout.take(), MAX_HELPER_OUTPUT),
            read_capped(child.stderr.take(), 64 * 1024)
        );
        let out = out
            .map_err(|e| fail(format!("cannot read its answer: {e}")))?
            .map_err(|n| fail(format!("its answer is larger than {n} bytes; stopped it")))?;
        let err = err.ok().and_then(Result::ok).unwrap_or_default();
        let status = child
            .wait()
            .await
            .map_err(|e| fail(format!("cannot wait for it: {e}")))?;
        Ok((status, out, err))
    };
    let (status, out, err) = match tokio::time::timeout(timeout, talk).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(fail(format!(
                "no answer within {} s; stopped it (set helper_timeout_s under [credentials] in the config file if it needs longer)",
                timeout.as_secs()
            )))
        }
    };
    group.finished();
    if !status.success() {
        // The protocol's "not found" answer means: no credentials, go anonymous.
        if says_not_found(&out) || says_not_found(&err) {
            return Ok(None);
        }
        return Err(fail(format!("exited with {status}")));
    }
    let (username, password) = parse_helper_answer(&out)
        .ok_or_else(|| fail("answer is not the expected JSON {Username, Secret}".into()))?;
    Ok(Some(Credential {
        username,
        password,
        source: program,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="basic-realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge("Bearer service=x"), None);
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Credential {
            username: "u".into(),
            password: Secret::new("hunter2"),
            source: "t".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn config_keys_normalise() {
        assert_eq!(normalise_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalise_key("localhost:5000"), "localhost:5000");
        assert_eq!(normalise_key("https://ghcr.io"), "ghcr.io");
    }

    #[test]
    fn token_expiry_defaults() {
        let t: TokenResponse = serde_json::from_str(r#"{"token":"abc"}"#).unwrap();
        let tok = t.into_token().unwrap();
        assert!(tok.refresh_at > Instant::now() + Duration::from_secs(40));
        let t: TokenResponse = serde_json::from_str(r#"{"access_token":""}"#).unwrap();
        assert!(t.into_token().is_none());
        // Absurd lifetimes do not overflow: at most a day is believed.
        for body in [
            r#"{"token":"t","expires_in":18446744073709551615}"#,
            r#"{"token":"t","expires_in":1e300}"#,
            r#"{"token":"t","expires_in":"18446744073709551615"}"#,
        ] {
            let tok = TokenResponse::parse(body.as_bytes())
                .unwrap()
                .into_token()
                .unwrap();
            assert!(tok.refresh_at <= Instant::now() + MAX_TOKEN_LIFE, "{body}");
            assert!(
                tok.refresh_at > Instant::now() + Duration::from_secs(3600),
                "{body}"
            );
        }
        for body in [
            r#"{"token":"t","expires_in":-5}"#,
            r#"{"token":"t","expires_in":0}"#,
        ] {
            let tok = TokenResponse::parse(body.as_bytes())
                .unwrap()
                .into_token()
                .unwrap();
            assert!(
                tok.refresh_at <= Instant::now() + Duration::from_secs(1),
                "{body}"
            );
        }
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn challenges_never_panic(s in "\\PC{0,200}", scheme in "(?i)(bearer|basic|negotiate) ") {
                let _ = parse_challenge(&s);
                let with = format!("{scheme}{s}");
                if let Some(Challenge::Bearer { realm, .. }) = parse_challenge(&with) {
                    prop_assert!(with.contains(realm.trim_matches('"').trim()));
                }
            }

            #[test]
            fn helper_answers_never_panic(out in proptest::collection::vec(any::<u8>(), 0..300)) {
                let _ = parse_helper_answer(&out);
                let _ = says_not_found(&out);
            }

            #[test]
            fn token_answers_never_panic(
                body in "\\PC{0,120}",
                n in any::<u64>(),
                f in any::<f64>(),
                i in any::<i64>(),
            ) {
                let _ = TokenResponse::parse(body.as_bytes()).map(TokenResponse::into_token);
                for v in [n.to_string(), format!("{f:e}"), i.to_string(), format!("\"{n}\"")] {
                    let b = format!(r#"{{"token":"t","expires_in":{v}}}"#);
                    if let Ok(t) = TokenResponse::parse(b.as_bytes()) {
                        let tok = t.into_token();
                        prop_assert!(tok.is_some());
                    }
                }
            }
        }
    }
}
