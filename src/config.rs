//! Per-registry settings from a TOML file (`--config`, `CROSSDOCK_CONFIG`,
//! default `~/.config/crossdock/config.toml`). The logical registry name
//! decides which adapter serves it; `endpoint` only changes where requests go.
//! Imports only [`crate::error`] and [`crate::types`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;

/// The smallest chunk ECR accepts for every PATCH but the last.
pub const MIN_CHUNK: u64 = 5 * 1024 * 1024;
/// The longest wait a setting may ask for (a day), in seconds.
pub const MAX_WAIT_S: u64 = 24 * 3600;
/// The longest backoff step a setting may ask for (an hour), in ms.
pub const MAX_DELAY_MS: u64 = 3_600_000;

/// The whole configuration file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Settings per logical registry name (`docker.io`, `localhost:5000`).
    #[serde(default)]
    pub registry: BTreeMap<String, RegistryConfig>,
    /// Retry policy for every registry.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Credential lookup.
    #[serde(default)]
    pub credentials: CredentialsConfig,
}

/// Settings for one registry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Where this registry's `/v2` API is really served (`http://127.0.0.1:5005`).
    pub endpoint: Option<String>,
    /// Plain HTTP / no TLS verification (opt-in per host).
    #[serde(default)]
    pub insecure: bool,
    /// Upload in PATCH chunks of this many bytes (≥ 5 MiB) instead of one streaming PUT.
    pub chunk_size: Option<u64>,
    /// Concurrent blob streams to or from this host.
    pub max_concurrent: Option<usize>,
    /// Try cross-repository mounts within this registry (default true).
    pub mount: Option<bool>,
    /// Docker Hub API base URL for listing (default `https://hub.docker.com`).
    pub hub_api: Option<String>,
    /// Seconds between free HEAD checks while waiting for a pull-rate window
    /// (default: the time one pull takes to come back, from the `w=` window).
    pub ratelimit_poll_s: Option<u64>,
    /// Hash blobs in the client too when copying to this registry (it
    /// verifies `?digest=` itself; this adds a second, client-side check).
    #[serde(default)]
    pub client_digest_check: bool,
    /// Requests per second per API action (`PutImage = 5`), overriding the
    /// documented ECR quotas of the prices file; any host may set them.
    #[serde(default)]
    pub rates: BTreeMap<String, f64>,
}

/// How credentials are looked up.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsConfig {
    /// Seconds a `docker-credential-*` helper may take before it is
    /// stopped (default 30).
    pub helper_timeout_s: Option<u64>,
}

impl CredentialsConfig {
    /// The helper timeout, when configured.
    pub fn helper_timeout(&self) -> Option<Duration> {
        self.helper_timeout_s.map(Duration::from_secs)
    }
}

/// Retry policy: jittered exponential backoff.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts per request or blob, first one included.
    pub max_attempts: u32,
    /// First backoff delay in milliseconds.
    pub base_delay_ms: u64,
    /// Longest backoff delay in milliseconds.
    pub max_delay_ms: u64,
    /// Longest `Retry-After` honoured, in seconds.
    pub max_retry_after_s: u64,
    /// Attempts for a request the registry throttled (429), first one included:
    /// throttles are expected on big migrations and cost only time.
    pub max_throttle_attempts: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 5,
            base_delay_ms: 250,
            max_delay_ms: 8_000,
            max_retry_after_s: 60,
            max_throttle_attempts: 12,
        }
    }
}

impl RetryConfig {
    /// How many attempts an error of this kind gets.
    pub fn attempts_for(&self, e: &Error) -> u32 {
        if e.is_throttle() {
            self.max_attempts.max(self.max_throttle_attempts)
        } else {
            self.max_attempts
        }
    }

    /// The backoff before attempt `attempt + 1`, given the server's request.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .base_delay_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(20))
            .min(self.max_delay_ms);
        // Full jitter in [exp/2, exp].
        let jittered = exp / 2 + fastrand::u64(0..=exp / 2);
        let mut d = Duration::from_millis(jittered);
        if let Some(ra) = retry_after {
            d = d.max(ra.min(Duration::from_secs(self.max_retry_after_s)));
        }
        d
    }
}

impl Config {
    /// Default location: `$XDG_CONFIG_HOME/crossdock/config.toml` or `~/.config/…`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
            return Some(PathBuf::from(x).join("crossdock/config.toml"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/crossdock/config.toml"))
    }

    /// Loads `path` if given (it must exist), else the default file if present.
    pub fn load(path: Option<&Path>) -> Result<Config, Error> {
        match path {
            Some(p) => Self::read(p),
            None => match Self::default_path() {
                Some(p) if p.exists() => Self::read(&p),
                _ => Ok(Config::default()),
            },
        }
    }

    fn read(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text).map_err(|reason| Error::Config {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, r) in &cfg.registry {
            if let Some(ep) = &r.endpoint {
                let u = url::Url::parse(ep)
                    .map_err(|e| format!("registry {name:?}: endpoint {ep:?}: {e}"))?;
                if !matches!(u.scheme(), "http" | "https") {
                    return Err(format!(
                        "registry {name:?}: endpoint {ep:?} must be http:// or https://"
                    ));
                }
            }
            if let Some(c) = r.chunk_size {
                if c < MIN_CHUNK {
                    return Err(format!(
                        "registry {name:?}: chunk_size {c} is below 5 MiB ({MIN_CHUNK}), which ECR refuses"
                    ));
                }
            }
            if let Some(h) = &r.hub_api {
                url::Url::parse(h).map_err(|e| format!("registry {name:?}: hub_api {h:?}: {e}"))?;
            }
            for (action, rate) in &r.rates {
                if crate::types::Action::parse(action).is_none() {
                    return Err(format!(
                        "registry {name:?}: rates.{action}: unknown API action (one of {})",
                        crate::types::Action::NAMES.join(", ")
                    ));
                }
                if !(rate.is_finite() && *rate > 0.0) {
                    return Err(format!(
                        "registry {name:?}: rates.{action} = {rate} must be a positive number"
                    ));
                }
            }
            if r.max_concurrent == Some(0) {
                return Err(format!(
                    "registry {name:?}: max_concurrent must be at least 1"
                ));
            }
        }
        if cfg.retry.max_attempts == 0 {
            return Err("retry.max_attempts must be at least 1".into());
        }
        // Bounds keep every time computation far from overflow.
        let checks: [(&str, u64, u64); 4] = [
            ("retry.max_attempts", u64::from(cfg.retry.max_attempts), 100),
            ("retry.base_delay_ms", cfg.retry.base_delay_ms, MAX_DELAY_MS),
            ("retry.max_delay_ms", cfg.retry.max_delay_ms, MAX_DELAY_MS),
            (
                "retry.max_retry_after_s",
                cfg.retry.max_retry_after_s,
                MAX_WAIT_S,
            ),
        ];
        for (key, v, max) in checks {
            if v > max {
                return Err(format!("{key} = {v} is above the largest allowed, {max}"));
            }
        }
        if let Some(t) = cfg.credentials.helper_timeout_s {
            if t == 0 || t > MAX_WAIT_S {
                return Err(format!(
                    "credentials.helper_timeout_s = {t}: give 1 to {MAX_WAIT_S} seconds"
                ));
            }
        }
        for (name, r) in &cfg.registry {
            if r.ratelimit_poll_s.is_some_and(|p| p > MAX_WAIT_S) {
                return Err(format!(
                    "registry {name:?}: ratelimit_poll_s is above the largest allowed, {MAX_WAIT_S}"
                ));
            }
        }
        Ok(cfg)
    }

    /// Settings for a logical registry (defaults when absent).
    pub fn registry(&self, name: &str) -> RegistryConfig {
        self.registry.get(name).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_issue_example() {
        let c = Config::parse(
            r#"
[registry."docker.io"]
endpoint = "http://127.0.0.1:5005"
[registry."123456789012.dkr.ecr.us-east-1.amazonaws.com"]
endpoint = "http://127.0.0.1:5006"
chunk_size = 8388608
[registry."localhost:5000"]
insecure = true
"#,
        )
        .unwrap();
        assert_eq!(
            c.registry("docker.io").endpoint.as_deref(),
            Some("http://127.0.0.1:5005")
        );
        assert!(c.registry("localhost:5000").insecure);
        assert!(!c.registry("other").insecure);
    }

    #[test]
    fn refuses_bad_values() {
        assert!(Config::parse("[registry.x]\nchunk_size = 4194304").is_err());
        assert!(Config::parse("[registry.x]\nendpoint = \"ftp://x\"").is_err());
        assert!(Config::parse("[registry.x]\nendpont = \"http://x\"").is_err());
        assert!(Config::parse("[retry]\nmax_attempts = 0").is_err());
        assert!(Config::parse("[retry]\nmax_retry_after_s = 9223372036854775807").is_err());
        assert!(Config::parse("[retry]\nmax_delay_ms = -1").is_err());
        assert!(Config::parse("[registry.x]\nratelimit_poll_s = 99999999").is_err());
        assert!(Config::parse("[credentials]\nhelper_timeout_s = 0").is_err());
        assert_eq!(
            Config::parse("[credentials]\nhelper_timeout_s = 5")
                .unwrap()
                .credentials
                .helper_timeout(),
            Some(Duration::from_secs(5))
        );
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn config_text_never_panics(
                text in "\\PC{0,200}",
                key in "(max_attempts|base_delay_ms|max_delay_ms|max_retry_after_s)",
                n in any::<i64>(),
                ep in "\\PC{0,30}",
                chunk in any::<i64>(),
            ) {
                let _ = Config::parse(&text);
                if let Ok(c) = Config::parse(&format!("[retry]\n{key} = {n}\n")) {
                    // Whatever is accepted is safe to compute with.
                    for attempt in [0, 1, 5, u32::MAX] {
                        let _ = c.retry.delay(attempt, Some(Duration::MAX));
                    }
                }
                let _ = Config::parse(&format!(
                    "[registry.x]\nendpoint = {}\nchunk_size = {chunk}\n",
                    toml_str(&ep)
                ));
            }
        }

        fn toml_str(s: &str) -> String {
            format!("{:?}", s)
        }
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let r = RetryConfig::default();
        let d1 = r.delay(1, None);
        assert!(d1 <= Duration::from_millis(250) && d1 >= Duration::from_millis(125));
        assert!(r.delay(10, None) <= Duration::from_millis(8_000));
        assert!(r.delay(1, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
        assert!(r.delay(1, Some(Duration::from_secs(3600))) <= Duration::from_secs(60));
    }
}
