//! The Docker Hub API (`hub.docker.com`, not the registry): repositories of a
//! namespace and tags of a repository, paginated, with Hub's own rate limit
//! (`429` + `X-Retry-After`, a Unix time). The registry has no `_catalog` on
//! Hub, so listing goes through here; tag results carry digests, platforms
//! and sizes, which lets planning skip registry requests entirely. Also one
//! repository's record (`is_private`) and how the identity in use
//! authenticates (`HubAuth`, from the credential's documented formats); and the
//! registry's pull-limit policy ([`HubPullLimit`]): which 429s are the pull
//! limit rather than a throttle.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use crate::config::RetryConfig;
use crate::error::{Error, Result};
use crate::registry::auth::{Credential, Secret};
use crate::registry::client::{Backoff, PullLimitPolicy};
use crate::registry::ratelimit::RateLimit;
use crate::registry::response::{error_body, read_limited, ErrorBody, ErrorCode};

/// Largest Hub API answer read (a page of 100 tags is a few tens of KiB).
pub const MAX_HUB_PAGE: usize = 1024 * 1024;

/// Default Hub API base.
pub const DEFAULT_HUB_API: &str = "https://hub.docker.com";

/// A repository as the Hub API lists it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct HubRepo {
    /// Repository name inside the namespace.
    pub name: String,
    /// Last push, RFC 3339.
    pub last_updated: Option<String>,
    /// Private repository (the Hub API's `is_private`); private repositories
    /// are listed only to callers allowed to see them.
    #[serde(default)]
    pub is_private: Option<bool>,
}

/// How the Docker Hub identity in use authenticates (never the secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HubAuth {
    /// No credentials.
    Anonymous,
    /// A personal access token (Docker's `dckr_pat_` format).
    PersonalAccessToken,
    /// An organization access token (`dckr_oat_`).
    OrganizationAccessToken,
    /// An OAuth2 identity (refresh) token stored by `docker login`.
    IdentityToken,
    /// A password, or a token in no format Docker documents.
    Password,
}

impl HubAuth {
    /// Classifies credentials by their documented formats.
    pub fn of(c: Option<&Credential>) -> HubAuth {
        match c {
            None => HubAuth::Anonymous,
            Some(c) if c.is_identity_token() => HubAuth::IdentityToken,
            Some(c) if c.password.expose().starts_with("dckr_pat_") => HubAuth::PersonalAccessToken,
            Some(c) if c.password.expose().starts_with("dckr_oat_") => {
                HubAuth::OrganizationAccessToken
            }
            Some(_) => HubAuth::Password,
        }
    }
}

impl std::fmt::Display for HubAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HubAuth::Anonymous => "anonymous",
            HubAuth::PersonalAccessToken => "personal access token",
            HubAuth::OrganizationAccessToken => "organization access token",
            HubAuth::IdentityToken => "identity token (docker login)",
            HubAuth::Password => "password",
        })
    }
}

/// One platform image of a tag.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct HubImage {
    /// CPU architecture.
    pub architecture: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// Variant.
    pub variant: Option<String>,
    /// Platform manifest digest.
    pub digest: Option<String>,
    /// Compressed size in bytes.
    pub size: Option<u64>,
}

impl HubImage {
    /// `os/arch[/variant]`.
    pub fn platform(&self) -> String {
        let mut p = format!(
            "{}/{}",
            self.os.as_deref().unwrap_or("unknown"),
            self.architecture.as_deref().unwrap_or("unknown")
        );
        if let Some(v) = self.variant.as_deref().filter(|v| !v.is_empty()) {
            p.push('/');
            p.push_str(v);
        }
        p
    }
}

/// A tag as the Hub API lists it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct HubTag {
    /// Tag name.
    pub name: String,
    /// Top manifest digest.
    pub digest: Option<String>,
    /// Last push, RFC 3339.
    pub last_updated: Option<String>,
    /// Sum of compressed sizes.
    pub full_size: Option<u64>,
    /// Platform images.
    #[serde(default)]
    pub images: Vec<HubImage>,
}

#[derive(Deserialize)]
struct Page<T> {
    next: Option<String>,
    #[serde(default = "Vec::new")]
    results: Vec<T>,
}

/// A Hub API client.
pub struct HubApi {
    base: Url,
    http: reqwest::Client,
    creds: Option<Credential>,
    token: Mutex<Option<Secret>>,
    retry: RetryConfig,
}

/// Docker Hub's registry meters pulls: its 429 is the pull limit when the
/// answer's figures show none left, or when its error says so (Hub's own
/// message). Any other 429 from Hub (the abuse limit) is a throttle.
pub struct HubPullLimit;

/// How Hub's pull-limit error message begins.
const PULL_LIMIT_MESSAGE: &str = "You have reached your pull rate limit";

impl PullLimitPolicy for HubPullLimit {
    fn is_pull_limit(&self, figures: Option<&RateLimit>, body: &ErrorBody) -> bool {
        if figures.is_some_and(|f| f.remaining == 0) {
            return true;
        }
        body.errors.iter().any(|e| {
            e.code == ErrorCode::TooManyRequests && e.message.starts_with(PULL_LIMIT_MESSAGE)
        })
    }
}

/// How long until the Unix time in `X-Retry-After`; a time beyond what
/// the clock can hold (e.g. `u64::MAX`) is "as long as it gets".
fn retry_wait(value: &str, now: SystemTime) -> Option<Duration> {
    let t: u64 = value.trim().parse().ok()?;
    Some(
        match SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(t)) {
            Some(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
            None => Duration::MAX,
        },
    )
}

fn retry_at(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    retry_wait(h.get("x-retry-after")?.to_str().ok()?, SystemTime::now())
}

impl HubApi {
    /// A client for `base` (e.g. `https://hub.docker.com`), logging in with
    /// `creds` (user + password or personal access token) when given.
    pub fn new(
        base: &str,
        http: reqwest::Client,
        creds: Option<Credential>,
        retry: RetryConfig,
    ) -> Result<Self> {
        let base = Url::parse(base).map_err(|e| Error::Usage(format!("hub_api {base:?}: {e}")))?;
        Ok(HubApi {
            base,
            http,
            creds: creds.filter(|c| !c.is_identity_token()),
            token: Mutex::new(None),
            retry,
        })
    }

    async fn login(&self) -> Result<Option<Secret>> {
        let Some(c) = &self.creds else {
            return Ok(None);
        };
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref() {
            return Ok(Some(t.clone()));
        }
        let url = self.url("/v2/auth/token")?;
        let body = serde_json::json!({"identifier": c.username, "secret": c.password.expose()});
        let resp = self
            .http
            .post(url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::Connect {
                method: "POST".into(),
                url: url.to_string(),
                source: e.without_url(),
            })?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let detail = error_body(resp).await.describe();
            return Err(Error::Unauthorized {
                host: self.base.host_str().unwrap_or("hub").to_string(),
                repository: None,
                detail: format!(
                    "Hub API login of user {:?} from {} refused (HTTP {status}) {detail}",
                    c.username, c.source
                ),
            });
        }
        #[derive(Deserialize)]
        struct T {
            access_token: Option<String>,
            token: Option<String>,
        }
        let bad = |detail: String| Error::Unauthorized {
            host: self.base.host_str().unwrap_or("hub").to_string(),
            repository: None,
            detail,
        };
        let (bytes, truncated) = read_limited(resp, MAX_HUB_PAGE).await?;
        if truncated {
            return Err(bad(format!(
                "the Hub API login answer is larger than {MAX_HUB_PAGE} bytes"
            )));
        }
        let t: T = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("Hub API login answer: {e}")))?;
        let tok = t.access_token.or(t.token).map(Secret::new);
        *cached = tok.clone();
        Ok(tok)
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| Error::Usage(format!("Hub API URL {path}: {e}")))
    }

    async fn get_page<T: for<'de> Deserialize<'de>>(
        &self,
        url: &Url,
        what: &str,
    ) -> Result<Page<T>> {
        self.get_json(url, what).await
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, url: &Url, what: &str) -> Result<T> {
        let gate = Backoff::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            gate.wait().await;
            let mut req = self.http.get(url.clone());
            if let Some(t) = self.login().await? {
                req = req.bearer_auth(t.expose());
            }
            let resp = req.send().await;
            let err = match resp {
                Ok(r) if r.status().is_success() => {
                    let (bytes, truncated) = read_limited(r, MAX_HUB_PAGE).await?;
                    if truncated {
                        return Err(Error::Protocol {
                            what: format!("Hub API listing of {what}"),
                            detail: format!(
                                "a page is larger than {MAX_HUB_PAGE} bytes; not read further"
                            ),
                        });
                    }
                    return serde_json::from_slice(&bytes).map_err(|e| Error::InvalidManifest {
                        what: format!("Hub API page of {what}"),
                        reason: e.to_string(),
                    });
                }
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                    return Err(Error::NotFound {
                        what: what.to_string(),
                        detail: "the Hub API does not know it".into(),
                    })
                }
                Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                    // Hub API's own limit: wait until the time it names,
                    // at most the longest Retry-After configured.
                    let wait = retry_at(r.headers())
                        .unwrap_or(Duration::from_secs(5))
                        .min(Duration::from_secs(self.retry.max_retry_after_s));
                    gate.extend(wait);
                    Error::Http {
                        method: "GET".into(),
                        url: url.to_string(),
                        status: 429,
                        detail: "Hub API rate limit".into(),
                        codes: Vec::new(),
                        retry_after: Some(wait),
                    }
                }
                Ok(r) => {
                    let status = r.status().as_u16();
                    Error::Http {
                        method: "GET".into(),
                        url: url.to_string(),
                        status,
                        detail: error_body(r).await.describe(),
                        codes: Vec::new(),
                        retry_after: None,
                    }
                }
                Err(e) => Error::Connect {
                    method: "GET".into(),
                    url: url.to_string(),
                    source: e.without_url(),
                },
            };
            if !err.is_retryable() || attempt >= self.retry.max_attempts.max(3) {
                return Err(if attempt > 1 {
                    Error::Exhausted {
                        attempts: attempt,
                        last: Box::new(err),
                    }
                } else {
                    err
                });
            }
            if err.retry_after().is_none() {
                gate.extend(self.retry.delay(attempt, None));
            }
        }
    }

    async fn all<T: for<'de> Deserialize<'de>>(&self, first: Url, what: &str) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut seen = std::collections::HashSet::new();
        while let Some(url) = next.take() {
            if !seen.insert(url.to_string()) {
                return Err(Error::Protocol {
                    what: format!("Hub API listing of {what}"),
                    detail: format!(
                        "its \"next\" page points back at a page already read ({}); stopped after {} pages",
                        url.path(),
                        seen.len()
                    ),
                });
            }
            if seen.len() > 10_000 {
                return Err(Error::Protocol {
                    what: format!("Hub API listing of {what}"),
                    detail: "more than 10000 pages; stopped".into(),
                });
            }
            let page: Page<T> = self.get_page(&url, what).await?;
            out.extend(page.results);
            next = page.next.and_then(|n| url.join(&n).ok());
        }
        Ok(out)
    }

    /// Every repository of a namespace.
    pub async fn repositories(&self, namespace: &str) -> Result<Vec<HubRepo>> {
        let url = self.url(&format!(
            "/v2/namespaces/{namespace}/repositories?page_size=100"
        ))?;
        self.all(url, &format!("namespace {namespace}")).await
    }

    /// One repository (`GET /v2/namespaces/{ns}/repositories/{repo}`).
    pub async fn repository(&self, namespace: &str, repo: &str) -> Result<HubRepo> {
        let url = self.url(&format!("/v2/namespaces/{namespace}/repositories/{repo}"))?;
        let what = format!("repository {namespace}/{repo}");
        self.get_json(&url, &what).await
    }

    /// Whether calls carry a login (private repositories are listed only then).
    pub fn logged_in(&self) -> bool {
        self.creds.is_some()
    }

    /// Every tag of `namespace/repo`, newest first (as Hub orders them).
    pub async fn tags(&self, namespace: &str, repo: &str) -> Result<Vec<HubTag>> {
        let url = self.url(&format!(
            "/v2/namespaces/{namespace}/repositories/{repo}/tags?page_size=100"
        ))?;
        self.all(url, &format!("repository {namespace}/{repo}"))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(remaining: u64) -> RateLimit {
        RateLimit {
            limit: 100,
            remaining,
            window_s: Some(21600),
            source: None,
            observed_at: 0,
        }
    }

    fn cred(user: &str, pass: &str) -> Credential {
        Credential {
            username: user.into(),
            password: Secret::new(pass),
            source: "test".into(),
        }
    }

    #[test]
    fn auth_kinds_from_documented_formats() {
        assert_eq!(HubAuth::of(None), HubAuth::Anonymous);
        assert_eq!(
            HubAuth::of(Some(&cred("demo", "dckr_pat_abc"))),
            HubAuth::PersonalAccessToken
        );
        assert_eq!(
            HubAuth::of(Some(&cred("acme", "dckr_oat_abc"))),
            HubAuth::OrganizationAccessToken
        );
        assert_eq!(
            HubAuth::of(Some(&cred("<token>", "refresh"))),
            HubAuth::IdentityToken
        );
        assert_eq!(
            HubAuth::of(Some(&cred("demo", "hunter2"))),
            HubAuth::Password
        );
        assert_eq!(
            HubAuth::PersonalAccessToken.to_string(),
            "personal access token"
        );
    }

    #[test]
    fn only_hubs_own_signals_make_a_429_the_pull_limit() {
        let p = HubPullLimit;
        let generic = ErrorBody::parse(
            br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"Rate exceeded"}]}"#,
        );
        let hub = ErrorBody::parse(
            br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"}]}"#,
        );
        assert!(
            !p.is_pull_limit(None, &generic),
            "the abuse limit is a throttle"
        );
        assert!(!p.is_pull_limit(Some(&figures(12)), &generic));
        assert!(p.is_pull_limit(Some(&figures(0)), &generic));
        assert!(p.is_pull_limit(None, &hub));
        assert!(!p.is_pull_limit(None, &ErrorBody::parse(b"")));
    }

    #[test]
    fn a_far_future_retry_after_does_not_panic() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "x-retry-after",
            reqwest::header::HeaderValue::from_static("18446744073709551615"),
        );
        let _ = retry_at(&h);
    }

    #[test]
    fn retry_after_times_do_not_overflow() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(retry_wait("1010", now), Some(Duration::from_secs(10)));
        assert_eq!(retry_wait("10", now), Some(Duration::ZERO));
        assert_eq!(retry_wait("18446744073709551615", now), Some(Duration::MAX));
        assert_eq!(retry_wait("soon", now), None);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn retry_headers_never_panic(v in "\\PC{0,40}", n in any::<u64>()) {
                let _ = retry_wait(&v, SystemTime::now());
                prop_assert!(retry_wait(&n.to_string(), SystemTime::now()).is_some());
            }

            #[test]
            fn pages_never_panic(body in "\\PC{0,300}", size in any::<i128>(), name in "\\PC{0,20}") {
                let _ = serde_json::from_str::<Page<HubTag>>(&body);
                let _ = serde_json::from_str::<Page<HubRepo>>(&body);
                let page = format!(
                    r#"{{"next":null,"results":[{{"name":{},"full_size":{size},"images":[{{"size":{size},"digest":"x"}}]}}]}}"#,
                    serde_json::Value::String(name)
                );
                if let Ok(p) = serde_json::from_str::<Page<HubTag>>(&page) {
                    for t in p.results {
                        let _ = t.images.iter().map(HubImage::platform).count();
                    }
                }
            }
        }
    }
}
