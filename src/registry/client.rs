//! The HTTP transport for one registry host, as a stack of small steps per
//! request: pace (the host's [`throttle`](crate::registry::throttle) lane for
//! the request's action) → authenticate ([`token`](crate::registry::token):
//! challenge → Basic or bearer, refreshed on expiry or a 401) → send →
//! classify the answer (a 429 is a throttle unless the host's pull-limit
//! policy says it is Docker Hub's pull limit) → retry
//! ([`retry`](crate::registry::retry): jittered backoff shared per host,
//! honouring `Retry-After`). Manifest GETs spend the host's
//! [`pulls`](crate::registry::pulls) budget when it has one. Credentials come
//! through the [`CredentialSource`] trait: this file knows no adapter.
//! Cross-host redirects (CDN, S3) are followed by reqwest, which drops the
//! Authorization header when the host changes; a challenge is learned only
//! from the registry's own host.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use tokio::sync::Semaphore;
use url::Url;

use crate::config::{RegistryConfig, RetryConfig};
use crate::error::{Error, Result};
use crate::registry::auth::{parse_challenge, Challenge, Credential};
use crate::registry::credentials::{CredentialCache, CredentialSource};
use crate::registry::pulls::{clock, Grant, PullBudget, Reserve};
use crate::registry::ratelimit::{self, OnRateLimit, RateLimit};
use crate::registry::response::{error_body, error_for, parse_retry_after, strip_query, ErrorBody};
use crate::registry::retry::with_retries;
use crate::registry::throttle::HostThrottle;
use crate::registry::token::{TokenAuth, TokenRequest};
use crate::registry::trace;
use crate::types::Action;

pub use crate::registry::response::{status_error, ErrorCode};
pub use crate::registry::retry::Backoff;
pub use crate::registry::token::Scope;

/// Decides whether a 429 is a host's pull quota running out (as opposed to
/// a throttle). Implemented by adapters whose registries meter pulls.
pub trait PullLimitPolicy: Send + Sync {
    /// `figures`: the answer's rate-limit headers; `body`: its parsed errors.
    fn is_pull_limit(&self, figures: Option<&RateLimit>, body: &ErrorBody) -> bool;
}

/// What a host's client is made of, beyond its settings: assembled by the
/// [`Pool`](crate::registry::Pool) from the adapters that serve the host.
pub struct ClientParts {
    /// Where credentials come from.
    pub credentials: Arc<dyn CredentialSource>,
    /// The pull-limit policy, for hosts that meter pulls (Docker Hub).
    pub pull_limit: Option<Arc<dyn PullLimitPolicy>>,
    /// Requests per second per API action (documented quotas, config overrides).
    pub rates: HashMap<Action, f64>,
    /// Whether the registry answers `/v2/_catalog` (not Docker Hub, whose
    /// listing is its Hub API, nor ECR, whose is DescribeRepositories).
    pub serves_catalog: bool,
}

/// Request counts of one host, for reports and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClientStats {
    /// HTTP requests sent (retries included; token requests not).
    pub requests: u64,
    /// Answers that were 429.
    pub throttled: u64,
    /// Successful manifest GETs (pulls, on Docker Hub).
    pub manifest_gets: u64,
    /// Requests retried after a retryable failure.
    pub retries: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    manifest_gets: AtomicU64,
    retries: AtomicU64,
}

/// One registry host, shared by every repository handle on it.
pub struct RegistryClient {
    /// Logical registry name (`docker.io`).
    pub name: String,
    base: Url,
    pub(crate) http: reqwest::Client,
    settings: RegistryConfig,
    retry: RetryConfig,
    opts: HostOptions,
    creds: CredentialCache,
    pub(crate) auth: TokenAuth,
    pulls: Option<Arc<PullBudget>>,
    pull_limit: Option<Arc<dyn PullLimitPolicy>>,
    serves_catalog: bool,
    /// Whether a request has been answered (auth state learned).
    contacted: std::sync::atomic::AtomicBool,
    contact: tokio::sync::Mutex<()>,
    throttle: HostThrottle,
    counters: Counters,
    backoff: Backoff,
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

/// Statuses the transport retries (408, 429, 5xx).
fn is_failure(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500..=599)
}

/// The base URL of a registry: its configured endpoint, else `https://name`.
fn base_url(name: &str, settings: &RegistryConfig, default_host: &str) -> Result<Url> {
    let base = match &settings.endpoint {
        Some(ep) => ep.clone(),
        None => {
            let scheme = if settings.insecure { "http" } else { "https" };
            format!("{scheme}://{default_host}")
        }
    };
    Url::parse(&base).map_err(|e| Error::Config {
        path: "registry settings".into(),
        reason: format!("endpoint for {name}: {e}"),
    })
}

impl RegistryClient {
    /// A client for `name` (served at `default_host` unless the settings
    /// name an endpoint), using its settings, parts and shared HTTP clients.
    pub fn new(
        name: &str,
        default_host: &str,
        settings: RegistryConfig,
        opts: HostOptions,
        parts: ClientParts,
        http: &HttpClients,
    ) -> Result<Self> {
        let retry = opts.retry.clone();
        let base = base_url(name, &settings, default_host)?;
        let http = if settings.insecure {
            http.insecure.clone()
        } else {
            http.verified.clone()
        };
        let streams = settings
            .max_concurrent
            .unwrap_or(opts.default_permits)
            .max(1);
        let permits = Arc::new(Semaphore::new(streams));
        let pulls = parts.pull_limit.as_ref().map(|_| {
            Arc::new(PullBudget::new(
                name,
                opts.on_ratelimit,
                settings.ratelimit_poll_s.map(Duration::from_secs),
            ))
        });
        Ok(RegistryClient {
            name: name.to_string(),
            base,
            http,
            retry,
            creds: CredentialCache::new(parts.credentials),
            auth: TokenAuth::default(),
            pulls,
            pull_limit: parts.pull_limit,
            serves_catalog: parts.serves_catalog,
            contacted: std::sync::atomic::AtomicBool::new(false),
            contact: tokio::sync::Mutex::new(()),
            throttle: HostThrottle::new(parts.rates, (streams * 4).max(16)),
            counters: Counters::default(),
            backoff: Backoff::default(),
            settings,
            opts,
            permits,
        })
    }

    /// Whether `/v2/_catalog` is worth asking (see [`ClientParts`]).
    pub fn serves_catalog(&self) -> bool {
        self.serves_catalog
    }

    /// The registry's settings.
    pub fn settings(&self) -> &RegistryConfig {
        &self.settings
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryConfig {
        &self.retry
    }

    /// The backoff gate every request to this host shares.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// Where requests really go, for identity checks (mounts need the same server).
    pub fn endpoint(&self) -> &Url {
        &self.base
    }

    /// The pacing lanes of this host.
    pub fn throttle(&self) -> &HostThrottle {
        &self.throttle
    }

    /// `base/v2/<tail>`.
    pub fn url(&self, tail: &str) -> Result<Url> {
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/v2/{tail}"))
            .map_err(|e| Error::Usage(format!("cannot build a URL for {}: {e}", self.name)))
    }

    /// Request counts so far.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            requests: self.counters.requests.load(Ordering::Relaxed),
            throttled: self.counters.throttled.load(Ordering::Relaxed),
            manifest_gets: self.counters.manifest_gets.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
        }
    }

    /// Manifest GETs answered so far (pulls, on Docker Hub).
    pub fn manifest_gets(&self) -> u64 {
        self.counters.manifest_gets.load(Ordering::Relaxed)
    }

    /// The HTTP client for this host (Hub API listing shares it).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Credentials for this registry (Docker config, env, ECR).
    pub async fn credential(&self) -> Result<Option<Credential>> {
        self.creds.get().await
    }

    /// The latest rate-limit snapshot, if the registry sends one.
    pub fn ratelimit(&self) -> Option<RateLimit> {
        self.pulls.as_ref().and_then(|p| p.snapshot())
    }

    /// Who this client is: the user name of its credentials, or anonymous.
    pub async fn identity(&self) -> Result<String> {
        Ok(match self.creds.get().await? {
            Some(c) => format!("{} ({})", c.username, c.source),
            None => "anonymous".to_string(),
        })
    }

    fn note(&self, msg: &str) {
        if let Some(n) = &self.opts.notify {
            n(msg);
        }
    }

    fn same_host(&self, url: &Url) -> bool {
        url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    /// Records the pull figures of a manifest answer.
    fn observe_pulls(&self, resp: &Response, sent: std::time::Instant) {
        let Some(b) = &self.pulls else {
            return;
        };
        match ratelimit::from_headers(resp.headers()) {
            Some(f) => b.observe_sent(Some(f), sent),
            // A success without the headers: this identity has no limit.
            None if resp.status().is_success() => b.observe_sent(None, sent),
            None => {}
        }
    }

    /// Reserves `n` pulls for one image before any is spent (free when the
    /// host meters no pulls). When they are out: waits, polling with free
    /// HEADs of `head_url`, a bounded number of times; or fails, as configured.
    pub async fn reserve_pulls(
        &self,
        n: u64,
        head_url: &Url,
        scope: &Scope,
        repo: &str,
    ) -> Result<Grant> {
        let Some(b) = &self.pulls else {
            return Ok(Grant::unlimited());
        };
        let mut polls: u32 = 0;
        let mut waited = Duration::ZERO;
        loop {
            let changed = b.changed();
            tokio::pin!(changed);
            match b.try_reserve(n) {
                Reserve::Granted(k) => {
                    if polls > 0 {
                        self.note(&format!(
                            "{}: pulls available again after waiting {} s; going on",
                            self.name,
                            waited.as_secs()
                        ));
                    }
                    return Ok(b.grant(k));
                }
                Reserve::Fail(detail) => return Err(b.error(detail)),
                Reserve::Wait => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), changed).await;
                }
                Reserve::Learn => {
                    // A failed HEAD leaves it to the next caller.
                    match self.head_figures(head_url, scope, repo).await {
                        Ok(()) => b.learned(),
                        Err(e) => {
                            b.poll_done();
                            return Err(e);
                        }
                    }
                }
                Reserve::Poll(every, snap) => {
                    polls = polls.saturating_add(1);
                    let max = b.max_polls(&snap);
                    if polls > max {
                        b.poll_done();
                        return Err(b.error(format!(
                            "{}; no pulls came back after {} checks over {} s",
                            snap.describe(),
                            max,
                            waited.as_secs()
                        )));
                    }
                    self.note(&format!(
                        "{}: pull rate limit reached ({}); waiting {} s from {} (check {polls} of at most {max}) for pulls to return, then checking with a free HEAD",
                        self.name,
                        snap.describe(),
                        every.as_secs(),
                        clock(SystemTime::now())
                    ));
                    tokio::time::sleep(every).await;
                    waited = waited.saturating_add(every);
                    let r = self.head_figures(head_url, scope, repo).await;
                    b.poll_done();
                    r?;
                }
            }
        }
    }

    /// A free HEAD whose answer refreshes the pull figures.
    async fn head_figures(&self, url: &Url, scope: &Scope, repo: &str) -> Result<()> {
        let sent = std::time::Instant::now();
        let resp = self
            .send_authed(&Method::HEAD, url, scope, Some(repo), || {
                self.http.head(url.clone()).header(
                    reqwest::header::ACCEPT,
                    crate::types::media::MANIFEST_ACCEPT,
                )
            })
            .await?;
        self.observe_pulls(&resp, sent);
        Ok(())
    }

    /// A manifest GET: spends one pull of `grant` (or reserves one), and
    /// when the registry says the pulls are out, waits and tries again
    /// (`--on-ratelimit wait`) or fails.
    pub async fn get_manifest_response(
        &self,
        url: &Url,
        headers: HeaderMap,
        scope: &Scope,
        repo: &str,
        grant: Option<&Grant>,
    ) -> Result<Response> {
        loop {
            let own;
            let spent = match grant {
                Some(g) if g.take() => None,
                _ => {
                    own = self.reserve_pulls(1, url, scope, repo).await?;
                    own.take();
                    Some(own)
                }
            };
            let r = self
                .send(Req {
                    method: Method::GET,
                    url: url.clone(),
                    headers: headers.clone(),
                    body: None,
                    scope,
                    repo: Some(repo),
                })
                .await;
            if let Some(b) = &self.pulls {
                b.answered();
            }
            drop(spent);
            match r {
                Err(Error::RateLimited { .. }) if self.opts.on_ratelimit == OnRateLimit::Wait => {
                    continue
                }
                r => return r,
            }
        }
    }

    /// The Authorization header for `scope`, fetching a token if needed.
    async fn authorization(
        &self,
        scope: &Scope,
        repo: Option<&str>,
    ) -> Result<Option<HeaderValue>> {
        let value = match self.auth.challenge().await {
            None => return Ok(None),
            Some(Challenge::Basic) => match self.creds.get().await? {
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
                let token = match self.auth.cached(scope).await {
                    Some(t) => t.value,
                    None => {
                        let _gate = self.auth.fetch_gate(scope).await;
                        match self.auth.cached(scope).await {
                            Some(t) => t.value,
                            None => {
                                let t = self
                                    .fetch_token_now(&realm, service.as_deref(), scope, repo)
                                    .await?;
                                let v = t.value.clone();
                                self.auth.store(scope, t).await;
                                v
                            }
                        }
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

    /// Fetches a bearer token for `scope` from the realm (no cache).
    pub(crate) async fn fetch_token_now(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &Scope,
        repo: Option<&str>,
    ) -> Result<crate::registry::auth::Token> {
        let req = TokenRequest {
            http: &self.http,
            host: &self.name,
            repo,
            creds: self.creds.get().await?,
            retry: &self.retry,
        };
        self.auth.fetch(&req, realm, service, scope).await
    }

    /// Learns the challenge of a 401 from the registry's own host.
    async fn learn_challenge(&self, resp: &Response, scope: &Scope) {
        if !self.same_host(resp.url()) {
            return;
        }
        if let Some(c) = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge)
        {
            self.auth.learn(c).await;
        }
        self.auth.forget(scope).await;
    }

    /// A 401 from a host that is not the registry (a redirect target).
    /// Its challenge is never followed and no credentials go there; the
    /// error names that host and does not blame the user's credentials.
    fn foreign_refusal(&self, method: &Method, resp: &Response) -> Error {
        let u = resp.url();
        let host = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => "another host".to_string(),
        };
        Error::Http {
            method: method.to_string(),
            url: strip_query(u),
            status: 401,
            detail: format!(
                "{host} refused it; that host is not {name} but one {name} sent the request to (a redirect or an upload location), so no credentials were sent there and its auth challenge was not followed",
                name = self.name
            ),
            codes: Vec::new(),
            retry_after: None,
        }
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
        // The first request to a host goes alone: it learns the challenge
        // (and its scope's token) for the requests that queue behind it.
        let first = self.first_contact().await;
        let sent = self.send_authed_inner(method, url, scope, repo, make).await;
        if first.is_some() && sent.is_ok() {
            self.contacted.store(true, Ordering::Release);
        }
        sent
    }

    /// The first-contact gate: `Some` while this caller is the first.
    async fn first_contact(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if self.contacted.load(Ordering::Acquire) {
            return None;
        }
        let guard = self.contact.lock().await;
        (!self.contacted.load(Ordering::Acquire)).then_some(guard)
    }

    async fn send_authed_inner(
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
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            let sent = std::time::Instant::now();
            let resp = req.send().await.map_err(|e| Error::Connect {
                method: method.to_string(),
                url: strip_query(url),
                source: e.without_url(),
            })?;
            trace::request(method, url, resp.status(), sent);
            if resp.status() != StatusCode::UNAUTHORIZED {
                return Ok(resp);
            }
            if !self.same_host(resp.url()) {
                return Err(self.foreign_refusal(method, &resp));
            }
            if !refreshed {
                refreshed = true;
                self.learn_challenge(&resp, scope).await;
                self.creds.invalidate().await;
                continue;
            }
            let detail = error_body(resp).await.describe();
            let who = match self.creds.get().await? {
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
    }

    /// Classifies a throttling or failing answer into an error (reading its
    /// body, bounded).
    async fn failure(&self, method: &Method, url: &Url, resp: Response) -> Error {
        let status = resp.status();
        let figures = ratelimit::from_headers(resp.headers());
        let retry_after = parse_retry_after(resp.headers());
        let host = url.host_str().unwrap_or("").to_string();
        let body = error_body(resp).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.counters.throttled.fetch_add(1, Ordering::Relaxed);
            // Only the adapter of a pull-metered host can call a 429 the
            // pull limit; everywhere else it is a throttle, retried.
            if let (Some(policy), Some(budget)) = (&self.pull_limit, &self.pulls) {
                if policy.is_pull_limit(figures.as_ref(), &body) {
                    budget.exhausted(figures.clone());
                    return Error::RateLimited {
                        host: self.name.clone(),
                        detail: figures
                            .map(|f| f.describe())
                            .unwrap_or_else(|| body.describe()),
                    };
                }
            }
        }
        error_for(method, url, "request", status, retry_after, body, host)
    }

    /// Sends a request with pacing, auth and retries; retryable statuses
    /// (408, 429, 5xx) and connection failures are retried. Other statuses
    /// are returned for the caller to interpret.
    pub async fn send(&self, r: Req<'_>) -> Result<Response> {
        let action = Action::classify(&r.method, r.url.path());
        let lane = self.throttle.lane(action);
        let is_manifest = r.url.path().contains("/manifests/");
        with_retries(
            &self.retry,
            &self.backoff,
            |_, _| {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            },
            |_| async {
                let permit = lane.acquire().await;
                let sent = std::time::Instant::now();
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
                drop(permit);
                if is_manifest {
                    self.observe_pulls(&resp, sent);
                    if r.method == Method::GET && resp.status().is_success() {
                        self.counters.manifest_gets.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if !is_failure(resp.status()) {
                    lane.success();
                    return Ok(resp);
                }
                let e = self.failure(&r.method, &r.url, resp).await;
                if e.is_throttle() {
                    lane.throttled();
                }
                Err(e)
            },
        )
        .await
    }
}

impl RegistryClient {
    /// Sends once with a streaming body (not resendable), paced like any
    /// request. Auth is applied (the token was fetched by the request that
    /// opened the upload); a 401 drops the cached token so the caller's
    /// whole-blob retry refreshes it; a throttle narrows the lane and is
    /// returned for that retry.
    pub async fn send_stream(
        &self,
        method: Method,
        url: &Url,
        headers: HeaderMap,
        body: reqwest::Body,
        scope: &Scope,
        repo: Option<&str>,
    ) -> Result<Response> {
        let action = match method {
            Method::PATCH => Action::UploadLayerPart,
            Method::PUT => Action::CompleteLayerUpload,
            _ => Action::classify(&method, url.path()),
        };
        let lane = self.throttle.lane(action);
        let permit = lane.acquire().await;
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
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let sent = std::time::Instant::now();
        let resp = req.send().await.map_err(|e| Error::Connect {
            method: method.to_string(),
            url: strip_query(url),
            source: e.without_url(),
        })?;
        trace::request(&method, url, resp.status(), sent);
        drop(permit);
        if resp.status() == StatusCode::UNAUTHORIZED {
            if !self.same_host(resp.url()) {
                return Err(self.foreign_refusal(&method, &resp));
            }
            self.learn_challenge(&resp, scope).await;
            self.creds.invalidate().await;
            return Err(Error::Http {
                method: method.to_string(),
                url: strip_query(url),
                status: 401,
                detail: "token expired during upload".into(),
                codes: Vec::new(),
                retry_after: None,
            });
        }
        if is_failure(resp.status()) {
            let e = self.failure(&method, url, resp).await;
            if e.is_throttle() {
                lane.throttled();
            }
            return Err(e);
        }
        lane.success();
        Ok(resp)
    }
}

/// A callback that announces waits to the user.
pub type Notify = Arc<dyn Fn(&str) + Send + Sync>;

/// Run-wide settings a host's client needs.
#[derive(Clone, Default)]
pub struct HostOptions {
    /// Retry policy.
    pub retry: RetryConfig,
    /// What to do when a pull budget runs out.
    pub on_ratelimit: OnRateLimit,
    /// Concurrent blob streams per host unless configured.
    pub default_permits: usize,
    /// Where waits (rate limit) are announced.
    pub notify: Option<Notify>,
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
                .map_err(|e| Error::Internal(format!("cannot initialise the HTTP client: {e}")))
        };
        Ok(HttpClients {
            verified: build(false)?,
            insecure: build(true)?,
        })
    }
}
