//! The HTTP transport for one registry host: endpoint resolution, auth
//! (challenge → Basic or bearer token, cached per scope, refreshed on expiry
//! or a 401), retries with jittered exponential backoff honouring
//! `Retry-After`, with backoff state shared by every request to the host, and
//! per-host concurrency permits. Cross-host redirects (CDN, S3) are followed
//! by reqwest, which drops the Authorization header when the host changes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use tokio::sync::{Mutex, Semaphore};
use url::Url;

use crate::config::{RegistryConfig, RetryConfig};
use crate::error::{Error, Result};
use crate::registry::auth::{
    parse_challenge, Challenge, Credential, CredentialStore, Token, TokenResponse,
};
use crate::registry::ecr::{Ecr, EcrHost};
use crate::registry::ratelimit::{self, OnRateLimit, RateLimit};
use crate::types::reference::{DOCKER_HUB, DOCKER_HUB_API};

/// Access a request needs, as token scopes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Pull access to a repository.
    pub fn pull(repo: &str) -> Self {
        Scope(vec![format!("repository:{repo}:pull")])
    }
    /// Pull and push access to a repository.
    pub fn push(repo: &str) -> Self {
        Scope(vec![format!("repository:{repo}:pull,push")])
    }
    /// Pull, push and delete access (deleting test blobs).
    pub fn delete(repo: &str) -> Self {
        Scope(vec![format!("repository:{repo}:pull,push,delete")])
    }
    /// Adds pull access to another repository (cross-repository mount).
    pub fn and_pull(mut self, repo: &str) -> Self {
        self.0.push(format!("repository:{repo}:pull"));
        self
    }
    /// Listing the registry's catalog.
    pub fn catalog() -> Self {
        Scope(vec!["registry:catalog:*".to_string()])
    }
    /// No repository scope (`/v2/` ping).
    pub fn none() -> Self {
        Scope(Vec::new())
    }
    fn key(&self) -> String {
        self.0.join(" ")
    }
}

/// Shared "do not send before" instant for one host.
#[derive(Debug, Default)]
pub struct Backoff {
    until: std::sync::Mutex<Option<Instant>>,
}

impl Backoff {
    /// Waits until the host's backoff window has passed.
    pub async fn wait(&self) {
        let until = self.until.lock().map(|g| *g).unwrap_or(None);
        if let Some(t) = until {
            let now = Instant::now();
            if t > now {
                tokio::time::sleep(t - now).await;
            }
        }
    }

    /// Extends the window to at least `d` from now.
    pub fn extend(&self, d: Duration) {
        if let Ok(mut g) = self.until.lock() {
            let t = Instant::now() + d;
            if g.is_none_or(|cur| cur < t) {
                *g = Some(t);
            }
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or attempts run out;
/// sleeps with jittered exponential backoff between attempts (at least the
/// server's `Retry-After`), extending `gate` so every request to the host waits.
pub async fn with_retries<T, F, Fut>(
    policy: &RetryConfig,
    gate: &Backoff,
    mut on_retry: impl FnMut(u32, &Error),
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut n = 0;
    loop {
        n += 1;
        gate.wait().await;
        match attempt(n).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() && n < policy.max_attempts => {
                let d = policy.delay(n, e.retry_after());
                gate.extend(d);
                on_retry(n, &e);
            }
            Err(e) if e.is_retryable() && n > 1 => {
                return Err(Error::Exhausted {
                    attempts: n,
                    last: Box::new(e),
                })
            }
            Err(e) => return Err(e),
        }
    }
}

/// One registry host, shared by every repository handle on it.
pub struct RegistryClient {
    /// Logical registry name (`docker.io`).
    pub name: String,
    base: Url,
    http: reqwest::Client,
    settings: RegistryConfig,
    retry: RetryConfig,
    opts: ClientOptions,
    ecr_host: Option<EcrHost>,
    creds: Mutex<Option<CachedCredential>>,
    ratelimit: std::sync::Mutex<Option<RateLimit>>,
    manifest_gets: std::sync::atomic::AtomicU64,
    challenge: Mutex<Option<Challenge>>,
    tokens: Mutex<HashMap<String, Token>>,
    /// Backoff window shared by all requests to this host.
    pub backoff: Backoff,
    /// Concurrent blob streams allowed to or from this host.
    pub permits: Arc<Semaphore>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("name", &self.name)
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

fn strip_query(u: &Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.to_string()
}

fn parse_retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// Reads a registry error body (`{"errors":[{"code","message"}]}`) into a short string.
pub async fn error_detail(resp: Response) -> String {
    let text = resp.text().await.unwrap_or_default();
    #[derive(serde::Deserialize)]
    struct E {
        code: Option<String>,
        message: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Es {
        errors: Vec<E>,
    }
    if let Ok(es) = serde_json::from_str::<Es>(&text) {
        return es
            .errors
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e.code.as_deref().unwrap_or(""),
                    e.message.as_deref().unwrap_or("")
                )
                .trim()
                .to_string()
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    let t = text.trim();
    if t.len() > 200 || t.starts_with('<') {
        String::new()
    } else {
        t.to_string()
    }
}

/// Builds the error for a non-success response.
pub async fn status_error(method: &Method, url: &Url, what: &str, resp: Response) -> Error {
    let status = resp.status();
    let retry_after = parse_retry_after(resp.headers());
    let host = url.host_str().unwrap_or("").to_string();
    let detail = error_detail(resp).await;
    match status {
        StatusCode::NOT_FOUND => Error::NotFound {
            what: what.to_string(),
            detail,
        },
        StatusCode::FORBIDDEN => Error::Denied {
            host,
            what: what.to_string(),
            detail,
        },
        _ => Error::Http {
            method: method.to_string(),
            url: strip_query(url),
            status: status.as_u16(),
            detail,
            retry_after,
        },
    }
}

/// A request whose body (if any) can be sent again.
pub struct Req<'a> {
    /// HTTP method.
    pub method: Method,
    /// Full URL.
    pub url: Url,
    /// Extra headers.
    pub headers: HeaderMap,
    /// Body, small enough to resend.
    pub body: Option<Bytes>,
    /// Access needed.
    pub scope: &'a Scope,
    /// Repository for error messages.
    pub repo: Option<&'a str>,
}

impl RegistryClient {
    /// A client for `name`, using its settings and shared HTTP clients.
    pub fn new(
        name: &str,
        settings: RegistryConfig,
        opts: ClientOptions,
        http: &HttpClients,
    ) -> Result<Self> {
        let retry = opts.retry.clone();
        let default_permits = opts.default_permits;
        let base = match &settings.endpoint {
            Some(ep) => ep.clone(),
            None => {
                let host = if name == DOCKER_HUB {
                    DOCKER_HUB_API
                } else {
                    name
                };
                let scheme = if settings.insecure { "http" } else { "https" };
                format!("{scheme}://{host}")
            }
        };
        let base = Url::parse(&base).map_err(|e| Error::Config {
            path: "registry settings".into(),
            reason: format!("endpoint for {name}: {e}"),
        })?;
        let http = if settings.insecure {
            http.insecure.clone()
        } else {
            http.verified.clone()
        };
        let permits = Arc::new(Semaphore::new(
            settings.max_concurrent.unwrap_or(default_permits).max(1),
        ));
        Ok(RegistryClient {
            name: name.to_string(),
            base,
            http,
            settings,
            retry,
            ecr_host: crate::registry::ecr::parse_host(name),
            opts,
            creds: Mutex::new(None),
            ratelimit: std::sync::Mutex::new(None),
            manifest_gets: std::sync::atomic::AtomicU64::new(0),
            challenge: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
            backoff: Backoff::default(),
            permits,
        })
    }

    /// The registry's settings.
    pub fn settings(&self) -> &RegistryConfig {
        &self.settings
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryConfig {
        &self.retry
    }

    /// Where requests really go, for identity checks (mounts need the same server).
    pub fn endpoint(&self) -> &Url {
        &self.base
    }

    /// `base/v2/<tail>`.
    pub fn url(&self, tail: &str) -> Result<Url> {
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/v2/{tail}"))
            .map_err(|e| Error::Usage(format!("cannot build a URL for {}: {e}", self.name)))
    }

    async fn credentials(&self) -> Result<Option<Credential>> {
        let mut cached = self.creds.lock().await;
        if let Some(c) = cached.as_ref() {
            if c.refresh_at.is_none_or(|t| Instant::now() < t) {
                return Ok(c.credential.clone());
            }
        }
        let fresh = self.load_credentials().await?;
        let out = fresh.credential.clone();
        *cached = Some(fresh);
        Ok(out)
    }

    /// Docker config / env first (what the user set up), then, for ECR
    /// hosts, `GetAuthorizationToken` through the AWS credential chain.
    async fn load_credentials(&self) -> Result<CachedCredential> {
        if let Some(c) = self.opts.store.lookup(&self.name).await? {
            return Ok(CachedCredential {
                credential: Some(c),
                refresh_at: None,
                refreshable: false,
            });
        }
        if let (Some(ecr), Some(host)) = (&self.opts.ecr, &self.ecr_host) {
            let (c, expires) = ecr.authorization(host).await?;
            // Refresh 5 minutes before expiry; an expiry already past is
            // ignored (refresh on a 401 only, never in a loop).
            let refresh_at = expires
                .and_then(|t| t.duration_since(std::time::SystemTime::now()).ok())
                .map(|left| {
                    Instant::now() + left.saturating_sub(Duration::from_secs(300)).max(left / 2)
                });
            return Ok(CachedCredential {
                credential: Some(c),
                refresh_at,
                refreshable: true,
            });
        }
        Ok(CachedCredential {
            credential: None,
            refresh_at: None,
            refreshable: false,
        })
    }

    /// Drops credentials that can be fetched again (ECR tokens) after a 401.
    async fn invalidate_credentials(&self) {
        let mut cached = self.creds.lock().await;
        if cached.as_ref().is_some_and(|c| c.refreshable) {
            *cached = None;
        }
    }

    /// Records rate-limit headers of a manifest response.
    pub fn observe_ratelimit(&self, headers: &HeaderMap) {
        if let Some(rl) = ratelimit::from_headers(headers) {
            if let Ok(mut g) = self.ratelimit.lock() {
                *g = Some(rl);
            }
        }
    }

    /// Manifest GETs answered so far (pulls, on Docker Hub).
    pub fn manifest_gets(&self) -> u64 {
        self.manifest_gets
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether an exhausted pull limit means waiting (not failing).
    pub fn waits_on_ratelimit(&self) -> bool {
        self.opts.on_ratelimit == OnRateLimit::Wait
    }

    /// The HTTP client for this host (Hub API listing shares it).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Credentials for this registry (Docker config, env, ECR).
    pub async fn credential(&self) -> Result<Option<Credential>> {
        self.credentials().await
    }

    /// The latest rate-limit snapshot, if the registry sends one.
    pub fn ratelimit(&self) -> Option<RateLimit> {
        self.ratelimit.lock().ok().and_then(|g| g.clone())
    }

    fn mark_exhausted(&self) {
        if let Ok(mut g) = self.ratelimit.lock() {
            match g.as_mut() {
                Some(rl) => rl.remaining = 0,
                None => {
                    *g = Some(RateLimit {
                        limit: 0,
                        remaining: 0,
                        window_s: None,
                        source: None,
                        observed_at: 0,
                    })
                }
            }
        }
    }

    /// Before a pull (manifest GET): when the last snapshot says no pulls
    /// are left, wait — refreshing the snapshot with a free HEAD of `head_url`
    /// every `ratelimit_poll_s` — or fail, as configured.
    pub async fn pull_gate(&self, head_url: &Url, scope: &Scope, repo: &str) -> Result<()> {
        loop {
            let Some(rl) = self.ratelimit() else {
                return Ok(());
            };
            if rl.remaining > 0 {
                return Ok(());
            }
            if self.opts.on_ratelimit == OnRateLimit::Fail {
                return Err(Error::RateLimited {
                    host: self.name.clone(),
                    detail: rl.describe(),
                });
            }
            let poll = Duration::from_secs(self.settings.ratelimit_poll_s.unwrap_or(60).max(1));
            if let Some(notify) = &self.opts.notify {
                notify(&format!(
                    "{}: pull rate limit reached ({}); waiting {} s, then checking again with a HEAD (no pull spent)",
                    self.name,
                    rl.describe(),
                    poll.as_secs()
                ));
            }
            tokio::time::sleep(poll).await;
            let resp = self
                .send_authed(&Method::HEAD, head_url, scope, Some(repo), || {
                    self.http.head(head_url.clone()).header(
                        reqwest::header::ACCEPT,
                        crate::types::media::MANIFEST_ACCEPT,
                    )
                })
                .await?;
            self.observe_ratelimit(resp.headers());
        }
    }

    /// The Authorization header for `scope`, fetching a token if needed.
    async fn authorization(
        &self,
        scope: &Scope,
        repo: Option<&str>,
    ) -> Result<Option<HeaderValue>> {
        let challenge = self.challenge.lock().await.clone();
        let value = match challenge {
            None => return Ok(None),
            Some(Challenge::Basic) => match self.credentials().await? {
                Some(c) => c.basic_header(),
                None => {
                    return Err(Error::Unauthorized {
                        host: self.name.clone(),
                        repository: repo.map(str::to_string),
                        detail: "the registry requires credentials and none are configured".into(),
                    })
                }
            },
            Some(Challenge::Bearer { realm, service }) => {
                let key = scope.key();
                let cached = {
                    let tokens = self.tokens.lock().await;
                    tokens
                        .get(&key)
                        .filter(|t| t.refresh_at > Instant::now())
                        .map(|t| t.value.clone())
                };
                let token = match cached {
                    Some(t) => t,
                    None => {
                        let t = self
                            .fetch_token(&realm, service.as_deref(), scope, repo)
                            .await?;
                        let v = t.value.clone();
                        self.tokens.lock().await.insert(key, t);
                        v
                    }
                };
                format!("Bearer {}", token.expose())
            }
        };
        let mut hv = HeaderValue::from_str(&value).map_err(|_| {
            Error::Usage(format!(
                "credentials for {} contain characters that cannot go in an HTTP header",
                self.name
            ))
        })?;
        hv.set_sensitive(true);
        Ok(Some(hv))
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &Scope,
        repo: Option<&str>,
    ) -> Result<Token> {
        let mut url = Url::parse(realm).map_err(|e| Error::Unauthorized {
            host: self.name.clone(),
            repository: repo.map(str::to_string),
            detail: format!("the registry's token realm {realm:?} is not a URL: {e}"),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::Unauthorized {
                host: self.name.clone(),
                repository: repo.map(str::to_string),
                detail: format!("refusing token realm with scheme {:?}", url.scheme()),
            });
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            for s in &scope.0 {
                q.append_pair("scope", s);
            }
        }
        let creds = self.credentials().await?;
        let gate = Backoff::default();
        with_retries(
            &self.retry,
            &gate,
            |_, _| {},
            |_| async {
                let mut req = self.http.get(url.clone());
                if let Some(c) = creds.as_ref().filter(|c| c.is_identity_token()) {
                    // An identity (OAuth2 refresh) token from `docker login`:
                    // exchange it with a form POST, as the distribution spec says.
                    let mut form = url::form_urlencoded::Serializer::new(String::new());
                    form.append_pair("grant_type", "refresh_token")
                        .append_pair("client_id", "crossdock")
                        .append_pair("refresh_token", c.password.expose());
                    if let Some(s) = service {
                        form.append_pair("service", s);
                    }
                    if !scope.0.is_empty() {
                        form.append_pair("scope", &scope.0.join(" "));
                    }
                    let mut post_url = url.clone();
                    post_url.set_query(None);
                    req = self
                        .http
                        .post(post_url)
                        .header(
                            reqwest::header::CONTENT_TYPE,
                            "application/x-www-form-urlencoded",
                        )
                        .body(form.finish());
                } else if let Some(c) = &creds {
                    let mut hv = HeaderValue::from_str(&c.basic_header()).map_err(|_| {
                        Error::Usage("credentials cannot go in an HTTP header".into())
                    })?;
                    hv.set_sensitive(true);
                    req = req.header(AUTHORIZATION, hv);
                }
                let resp = req.send().await.map_err(|e| Error::Connect {
                    method: "GET".into(),
                    url: strip_query(&url),
                    source: e.without_url(),
                })?;
                let status = resp.status();
                if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                    let detail = error_detail(resp).await;
                    let who = creds
                        .as_ref()
                        .map(|c| format!("user {:?} from {}", c.username, c.source))
                        .unwrap_or_else(|| "anonymous".into());
                    return Err(Error::Unauthorized {
                        host: self.name.clone(),
                        repository: repo.map(str::to_string),
                        detail: format!(
                            "token server refused {who} (HTTP {}){}",
                            status.as_u16(),
                            if detail.is_empty() {
                                String::new()
                            } else {
                                format!(": {detail}")
                            }
                        ),
                    });
                }
                if !status.is_success() {
                    return Err(status_error(&Method::GET, &url, "token", resp).await);
                }
                let body: TokenResponse = resp.json().await.map_err(|e| Error::Unauthorized {
                    host: self.name.clone(),
                    repository: repo.map(str::to_string),
                    detail: format!("token server answer is not JSON: {e}"),
                })?;
                body.into_token().ok_or_else(|| Error::Unauthorized {
                    host: self.name.clone(),
                    repository: repo.map(str::to_string),
                    detail: "token server answered without a token".into(),
                })
            },
        )
        .await
    }

    /// Times one unauthenticated `GET /v2/` (the ping) and learns the
    /// registry's auth challenge from it.
    pub async fn probe_ping(&self) -> Result<Duration> {
        let url = self.url("")?;
        let start = Instant::now();
        let resp = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| Error::Connect {
                method: "GET".into(),
                url: strip_query(&url),
                source: e.without_url(),
            })?;
        let took = start.elapsed();
        if let Some(c) = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge)
        {
            *self.challenge.lock().await = Some(c);
        }
        let _ = resp.bytes().await;
        Ok(took)
    }

    /// Times a fresh bearer-token fetch for `scope`, bypassing the cache;
    /// `None` when the registry does not use bearer tokens.
    pub async fn probe_token(&self, scope: &Scope, repo: Option<&str>) -> Result<Option<Duration>> {
        if self.challenge.lock().await.is_none() {
            self.probe_ping().await?;
        }
        let challenge = self.challenge.lock().await.clone();
        match challenge {
            Some(Challenge::Bearer { realm, service }) => {
                let start = Instant::now();
                let t = self
                    .fetch_token(&realm, service.as_deref(), scope, repo)
                    .await?;
                let took = start.elapsed();
                self.tokens.lock().await.insert(scope.key(), t);
                Ok(Some(took))
            }
            _ => Ok(None),
        }
    }

    /// Who this client is: the user name of its credentials, or anonymous.
    pub async fn identity(&self) -> Result<String> {
        Ok(match self.credentials().await? {
            Some(c) => format!("{} ({})", c.username, c.source),
            None => "anonymous".to_string(),
        })
    }

    async fn learn_challenge(&self, resp: &Response, scope: &Scope) {
        if let Some(c) = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge)
        {
            *self.challenge.lock().await = Some(c);
        }
        self.tokens.lock().await.remove(&scope.key());
    }

    fn same_host(&self, url: &Url) -> bool {
        url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    /// Sends once with auth; on a 401 learns the challenge, refreshes
    /// credentials and sends once more. `make` builds the request each time.
    async fn send_authed(
        &self,
        method: &Method,
        url: &Url,
        scope: &Scope,
        repo: Option<&str>,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Response> {
        let mut refreshed = false;
        loop {
            let mut req = make();
            if self.same_host(url) {
                if let Some(auth) = self.authorization(scope, repo).await? {
                    req = req.header(AUTHORIZATION, auth);
                }
            }
            let resp = req.send().await.map_err(|e| Error::Connect {
                method: method.to_string(),
                url: strip_query(url),
                source: e.without_url(),
            })?;
            if resp.status() == StatusCode::UNAUTHORIZED {
                if !refreshed {
                    refreshed = true;
                    self.learn_challenge(&resp, scope).await;
                    self.invalidate_credentials().await;
                    continue;
                }
                let detail = error_detail(resp).await;
                let who = match self.credentials().await? {
                    Some(c) => format!(
                        "credentials of user {:?} from {} were refused",
                        c.username, c.source
                    ),
                    None => "no credentials configured".to_string(),
                };
                return Err(Error::Unauthorized {
                    host: self.name.clone(),
                    repository: repo.map(str::to_string),
                    detail: if detail.is_empty() {
                        who
                    } else {
                        format!("{who}: {detail}")
                    },
                });
            }
            return Ok(resp);
        }
    }

    /// Sends a request with auth and retries; retryable statuses (408, 429,
    /// 5xx) and connection failures are retried. Other statuses are returned
    /// for the caller to interpret.
    pub async fn send(&self, r: Req<'_>) -> Result<Response> {
        with_retries(
            &self.retry,
            &self.backoff,
            |_, _| {},
            |_| async {
                let resp = self
                    .send_authed(&r.method, &r.url, r.scope, r.repo, || {
                        let mut b = self
                            .http
                            .request(r.method.clone(), r.url.clone())
                            .headers(r.headers.clone());
                        if let Some(body) = &r.body {
                            b = b.body(body.clone());
                        }
                        b
                    })
                    .await?;
                let status = resp.status().as_u16();
                if r.url.path().contains("/manifests/") {
                    self.observe_ratelimit(resp.headers());
                    if r.method == Method::GET && resp.status().is_success() {
                        self.manifest_gets
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                if matches!(status, 408 | 429 | 500..=599) {
                    let e = status_error(&r.method, &r.url, "request", resp).await;
                    // A pull-limit 429 is not retried here (that would burn
                    // attempts for hours): the pull gate waits for the window.
                    if let Error::Http {
                        status: 429,
                        detail,
                        ..
                    } = &e
                    {
                        if detail.contains("TOOMANYREQUESTS") {
                            self.mark_exhausted();
                            return Err(Error::RateLimited {
                                host: self.name.clone(),
                                detail: detail.clone(),
                            });
                        }
                    }
                    return Err(e);
                }
                Ok(resp)
            },
        )
        .await
    }

    /// Sends once with a streaming body (not resendable). Auth is applied
    /// (the token was fetched by the request that opened the upload); a 401
    /// drops the cached token so the caller's whole-blob retry refreshes it.
    pub async fn send_stream(
        &self,
        method: Method,
        url: &Url,
        headers: HeaderMap,
        body: reqwest::Body,
        scope: &Scope,
        repo: Option<&str>,
    ) -> Result<Response> {
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .headers(headers)
            .body(body);
        if self.same_host(url) {
            if let Some(auth) = self.authorization(scope, repo).await? {
                req = req.header(AUTHORIZATION, auth);
            }
        }
        let resp = req.send().await.map_err(|e| Error::Connect {
            method: method.to_string(),
            url: strip_query(url),
            source: e.without_url(),
        })?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            self.learn_challenge(&resp, scope).await;
            self.invalidate_credentials().await;
            return Err(Error::Http {
                method: method.to_string(),
                url: strip_query(url),
                status: 401,
                detail: "token expired during upload".into(),
                retry_after: None,
            });
        }
        Ok(resp)
    }
}

/// A callback that announces waits to the user.
pub type Notify = Arc<dyn Fn(&str) + Send + Sync>;

/// Settings shared by every registry client of a run.
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// Retry policy.
    pub retry: RetryConfig,
    /// Where credentials come from.
    pub store: CredentialStore,
    /// AWS access for ECR hosts without Docker-config credentials.
    pub ecr: Option<Arc<Ecr>>,
    /// What to do when Docker Hub's pull limit runs out.
    pub on_ratelimit: OnRateLimit,
    /// Concurrent blob streams per host unless configured.
    pub default_permits: usize,
    /// Where waits (rate limit) are announced.
    pub notify: Option<Notify>,
}

struct CachedCredential {
    credential: Option<Credential>,
    refresh_at: Option<Instant>,
    refreshable: bool,
}

/// The two shared HTTP clients: TLS-verifying and (opt-in) insecure.
#[derive(Clone)]
pub struct HttpClients {
    verified: reqwest::Client,
    insecure: reqwest::Client,
}

impl HttpClients {
    /// Builds both clients.
    pub fn new() -> Result<Self> {
        let build = |insecure: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("crossdock/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(15))
                .read_timeout(Duration::from_secs(120))
                .pool_max_idle_per_host(32)
                .danger_accept_invalid_certs(insecure)
                .build()
                .map_err(|e| Error::Usage(format!("cannot initialise the HTTP client: {e}")))
        };
        Ok(HttpClients {
            verified: build(false)?,
            insecure: build(true)?,
        })
    }
}
