//! Timed probes of a registry for `bench` and `compare`: one unauthenticated
//! `GET /v2/` (which also teaches the client the registry's challenge) and
//! one fresh bearer-token fetch; and the token prefetch of many scopes that a
//! run over a namespace does once up front. Imports `error`, `registry::client`,
//! `registry::auth`, `registry::response`, `registry::token`.

use std::time::{Duration, Instant};

use reqwest::header::WWW_AUTHENTICATE;

use crate::error::{Error, Result};
use crate::registry::auth::{parse_challenge, Challenge};
use crate::registry::client::RegistryClient;
use crate::registry::response::{read_limited, strip_query};
use crate::registry::token::Scope;

/// Scopes asked for in one token request (keeps the token and the URL small).
const PREFETCH_SCOPES: usize = 25;

impl RegistryClient {
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
            if resp.url().host_str() == url.host_str() {
                self.auth.learn(c).await;
            }
        }
        let _ = read_limited(resp, 64 * 1024).await;
        Ok(took)
    }

    /// Fetches one bearer token for many scopes at once and caches it under
    /// each of them, so a run over many repositories spends one token round
    /// trip instead of one per repository. Best effort: on any failure each
    /// scope gets its own token when first used, as without it; a scope the
    /// token does not cover is refused once (401) and fetched on its own.
    pub async fn prefetch_tokens(&self, scopes: &[Scope]) {
        // Scopes fetched already (an earlier prefetch) cost nothing again.
        let mut missing = Vec::new();
        for s in scopes {
            if self.auth.cached(s).await.is_none() {
                missing.push(s.clone());
            }
        }
        let scopes = missing.as_slice();
        if scopes.len() < 2 {
            return;
        }
        if self.auth.challenge().await.is_none() && self.probe_ping().await.is_err() {
            return;
        }
        let Some(Challenge::Bearer { realm, service }) = self.auth.challenge().await else {
            return;
        };
        for chunk in scopes.chunks(PREFETCH_SCOPES) {
            let merged = Scope::merge(chunk);
            if let Ok(t) = self
                .fetch_token_now(&realm, service.as_deref(), &merged, None)
                .await
            {
                for s in chunk {
                    self.auth.store(s, t.clone()).await;
                }
            }
        }
    }

    /// Times a fresh bearer-token fetch for `scope`, bypassing the cache;
    /// `None` when the registry does not use bearer tokens.
    pub async fn probe_token(&self, scope: &Scope, repo: Option<&str>) -> Result<Option<Duration>> {
        if self.auth.challenge().await.is_none() {
            self.probe_ping().await?;
        }
        match self.auth.challenge().await {
            Some(Challenge::Bearer { realm, service }) => {
                let start = Instant::now();
                let t = self
                    .fetch_token_now(&realm, service.as_deref(), scope, repo)
                    .await?;
                let took = start.elapsed();
                self.auth.store(scope, t).await;
                Ok(Some(took))
            }
            _ => Ok(None),
        }
    }
}
