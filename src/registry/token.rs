//! Registry auth state of one host: the challenge it announced
//! (`WWW-Authenticate`, learned only from the registry's own answers), the
//! bearer tokens per scope, and the token exchange itself (Basic credentials,
//! or an identity token's OAuth2 refresh grant, against the realm).
//! Imports `config`, `error`, `registry::auth`, `registry::retry`,
//! `registry::response`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use tokio::sync::{Mutex, OwnedMutexGuard};
use url::Url;

use crate::config::RetryConfig;
use crate::error::{Error, Result};
use crate::registry::auth::{Challenge, Credential, Token, TokenResponse};
use crate::registry::response::{error_body, read_limited, status_error, strip_query};
use crate::registry::retry::{with_retries, Backoff};

/// Largest token answer read.
pub const MAX_TOKEN_ANSWER: usize = 1024 * 1024;

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
    /// Several scopes in one token request (the token spec allows repeated
    /// `scope` parameters; Docker Hub's token server accepts them).
    pub fn merge(scopes: &[Scope]) -> Scope {
        let mut parts: Vec<String> = scopes.iter().flat_map(|s| s.0.iter().cloned()).collect();
        parts.sort();
        parts.dedup();
        Scope(parts)
    }

    /// The cache key.
    pub fn key(&self) -> String {
        self.0.join(" ")
    }
    /// The scope strings.
    pub fn parts(&self) -> &[String] {
        &self.0
    }
}

/// The auth state of one host.
#[derive(Default)]
pub struct TokenAuth {
    challenge: Mutex<Option<Challenge>>,
    tokens: Mutex<HashMap<String, Token>>,
    /// One token fetch at a time per scope.
    fetching: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

/// Everything a token request needs from the client.
pub struct TokenRequest<'a> {
    /// The HTTP client.
    pub http: &'a reqwest::Client,
    /// The registry's logical name (for messages).
    pub host: &'a str,
    /// Repository, for messages.
    pub repo: Option<&'a str>,
    /// Credentials to present, if any.
    pub creds: Option<Credential>,
    /// Retry policy for the token server.
    pub retry: &'a RetryConfig,
}

impl TokenAuth {
    /// The challenge learned so far.
    pub async fn challenge(&self) -> Option<Challenge> {
        self.challenge.lock().await.clone()
    }

    /// Records the registry's challenge (only ever from its own host).
    pub async fn learn(&self, c: Challenge) {
        *self.challenge.lock().await = Some(c);
    }

    /// Forgets the token of a scope (after a 401).
    pub async fn forget(&self, scope: &Scope) {
        self.tokens.lock().await.remove(&scope.key());
    }

    /// A valid cached token for a scope.
    pub async fn cached(&self, scope: &Scope) -> Option<Token> {
        self.tokens
            .lock()
            .await
            .get(&scope.key())
            .filter(|t| t.refresh_at > Instant::now())
            .cloned()
    }

    /// Waits for the right to fetch a scope's token: requests that find no
    /// token at once wait for the first one's fetch and take its token
    /// (re-check [`TokenAuth::cached`] after), instead of each asking.
    pub async fn fetch_gate(&self, scope: &Scope) -> OwnedMutexGuard<()> {
        let gate = self
            .fetching
            .lock()
            .await
            .entry(scope.key())
            .or_default()
            .clone();
        gate.lock_owned().await
    }

    /// Stores a token for a scope.
    pub async fn store(&self, scope: &Scope, t: Token) {
        self.tokens.lock().await.insert(scope.key(), t);
    }

    /// Exchanges credentials for a bearer token at `realm`.
    pub async fn fetch(
        &self,
        req: &TokenRequest<'_>,
        realm: &str,
        service: Option<&str>,
        scope: &Scope,
    ) -> Result<Token> {
        let unauthorized = |detail: String| Error::Unauthorized {
            host: req.host.to_string(),
            repository: req.repo.map(str::to_string),
            detail,
        };
        let mut url = Url::parse(realm).map_err(|e| {
            unauthorized(format!(
                "the registry's token realm {realm:?} is not a URL: {e}"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(unauthorized(format!(
                "refusing token realm with scheme {:?}",
                url.scheme()
            )));
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            for s in scope.parts() {
                q.append_pair("scope", s);
            }
        }
        let gate = Backoff::default();
        with_retries(
            req.retry,
            &gate,
            |_, _| {},
            |_| self.fetch_once(req, &url, service, scope),
        )
        .await
    }

    async fn fetch_once(
        &self,
        req: &TokenRequest<'_>,
        url: &Url,
        service: Option<&str>,
        scope: &Scope,
    ) -> Result<Token> {
        let creds = req.creds.as_ref();
        let mut builder = req.http.get(url.clone());
        if let Some(c) = creds.filter(|c| c.is_identity_token()) {
            // An identity (OAuth2 refresh) token from `docker login`:
            // exchange it with a form POST, as the distribution spec says.
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "refresh_token")
                .append_pair("client_id", "crossdock")
                .append_pair("refresh_token", c.password.expose());
            if let Some(s) = service {
                form.append_pair("service", s);
            }
            if !scope.parts().is_empty() {
                form.append_pair("scope", &scope.key());
            }
            let mut post_url = url.clone();
            post_url.set_query(None);
            builder = req
                .http
                .post(post_url)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form.finish());
        } else if let Some(c) = creds {
            let mut hv = HeaderValue::from_str(&c.basic_header())
                .map_err(|_| Error::Usage("credentials cannot go in an HTTP header".into()))?;
            hv.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, hv);
        }
        let resp = builder.send().await.map_err(|e| Error::Connect {
            method: "GET".into(),
            url: strip_query(url),
            source: e.without_url(),
        })?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let detail = error_body(resp).await.describe();
            let who = creds
                .map(|c| format!("user {:?} from {}", c.username, c.source))
                .unwrap_or_else(|| "anonymous".into());
            return Err(Error::Unauthorized {
                host: req.host.to_string(),
                repository: req.repo.map(str::to_string),
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
            return Err(status_error(&Method::GET, url, "token", resp).await);
        }
        let (bytes, truncated) = read_limited(resp, MAX_TOKEN_ANSWER).await?;
        let bad = |detail: String| Error::Unauthorized {
            host: req.host.to_string(),
            repository: req.repo.map(str::to_string),
            detail,
        };
        if truncated {
            return Err(bad(format!(
                "token server answer is larger than {MAX_TOKEN_ANSWER} bytes"
            )));
        }
        let body: TokenResponse = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("token server answer is not JSON: {e}")))?;
        body.into_token()
            .ok_or_else(|| bad("token server answered without a token".into()))
    }
}
