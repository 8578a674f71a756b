//! The library's typed error. Every variant names what failed (reference, host,
//! HTTP status, registry error code) and, where it helps, what the user can do.
//! Classifiers (`is_retryable`, `retry_after`) drive the retry layer.
//! Secrets never enter an error: URLs are stored without query strings.

use std::time::Duration;

pub use crate::registry::response::ErrorCode;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in crossdock's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reference string could not be parsed.
    #[error("invalid image reference {input:?}: {reason}")]
    InvalidReference {
        /// What the user typed.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A name from outside (a tag or repository a server or file supplied)
    /// that breaks the distribution grammar: never put in a URL or path.
    #[error("{kind} {name:?} is not a valid name: {reason}; it is not used in any request")]
    InvalidName {
        /// `tag` or `repository`.
        kind: &'static str,
        /// The name (cut to 200 characters).
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// Bad usage that is not a reference (flags, config values).
    #[error("{0}")]
    Usage(String),
    /// The configuration file is unreadable or invalid.
    #[error("config file {path}: {reason}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The registry refused our credentials (or we had none).
    #[error("authentication failed for {host}{}: {detail}. Check the credentials for this registry (docker login, ~/.docker/config.json, DOCKERHUB_USERNAME/DOCKERHUB_TOKEN)", repo_suffix(.repository))]
    Unauthorized {
        /// Registry host.
        host: String,
        /// Repository, when known.
        repository: Option<String>,
        /// What the registry said.
        detail: String,
    },
    /// Access was denied (authenticated, but not allowed).
    #[error("access denied by {host} for {what}{}. {}", detail_suffix(.detail), if *.write { "The account lacks write access to this repository" } else { "The account lacks read access to this repository (or it is private)" })]
    Denied {
        /// Registry host.
        host: String,
        /// The operation.
        what: String,
        /// What the registry said.
        detail: String,
        /// Whether the refused request was a write.
        write: bool,
    },
    /// A manifest, tag, blob or repository does not exist.
    #[error("not found: {what}{}", detail_suffix(.detail))]
    NotFound {
        /// What was looked for.
        what: String,
        /// Registry error message, if any.
        detail: String,
    },
    /// The registry answered with an unexpected status.
    #[error("{method} {url} failed: HTTP {status}{}", detail_suffix(.detail))]
    Http {
        /// HTTP method.
        method: String,
        /// URL without query string.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Registry error code and message, if any.
        detail: String,
        /// The registry's error codes, parsed once from the body.
        codes: Vec<ErrorCode>,
        /// Server's Retry-After, if any.
        retry_after: Option<Duration>,
    },
    /// The connection failed (refused, reset, timed out).
    #[error("{method} {url}: connection failed: {source}")]
    Connect {
        /// HTTP method.
        method: String,
        /// URL without query string.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// Content did not match its digest or size.
    #[error("content of {digest} does not match its digest: {detail}; it was not used (the source may be corrupted or tampered with)")]
    DigestMismatch {
        /// The expected digest.
        digest: String,
        /// What was found instead.
        detail: String,
    },
    /// A server answered against the protocol (a pagination loop, a page
    /// too large): what it did, and that crossdock stopped.
    #[error("{what}: {detail}")]
    Protocol {
        /// What was being read.
        what: String,
        /// What the server did wrong.
        detail: String,
    },
    /// A manifest or index could not be understood.
    #[error("invalid manifest {what}: {reason}")]
    InvalidManifest {
        /// Which manifest.
        what: String,
        /// Why.
        reason: String,
    },
    /// Retries were exhausted; wraps the last error.
    #[error("{last} (gave up after {attempts} attempts)")]
    Exhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The last error seen.
        last: Box<Error>,
    },
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An AWS API call failed.
    #[error("AWS {operation} failed: {detail}")]
    Aws {
        /// The API operation.
        operation: String,
        /// The SDK's error with its context.
        detail: String,
    },
    /// The copy was asked to stop (a signal in `sync --watch`) before it finished.
    #[error("stopped before it finished: the blobs in flight were completed and nothing was tagged; the next run finishes it")]
    Stopped,
    /// A Docker Hub pull-rate limit stops the run (`--on-ratelimit fail`, or
    /// a wait that did not see pulls return within its bound).
    #[error("Docker Hub pull rate limit reached at {host}: {detail}. Wait for the window to pass, log in (DOCKERHUB_USERNAME/DOCKERHUB_TOKEN) for a higher limit, or use --on-ratelimit wait")]
    RateLimited {
        /// Registry.
        host: String,
        /// Limit and remaining as the registry reported them.
        detail: String,
    },
    /// A fault inside crossdock (a bug), never the user's doing.
    #[error("internal error: {0} (please report this)")]
    Internal(String),
    /// The image arrived but some of its referrers did not.
    #[error("the image was copied, but {failed} of its referrers failed: {detail}. Rerun to retry them, or pass --no-referrers")]
    Referrers {
        /// How many failed.
        failed: usize,
        /// The first failure.
        detail: String,
    },
    /// A credential helper failed.
    #[error("credential helper docker-credential-{helper} failed for {host}: {detail}")]
    CredentialHelper {
        /// The helper's suffix.
        helper: String,
        /// The host asked for.
        host: String,
        /// What went wrong (never the secret).
        detail: String,
    },
}

fn repo_suffix(repo: &Option<String>) -> String {
    repo.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl Error {
    /// Whether repeating the same request may succeed (408, 429, 5xx, resets).
    pub fn is_retryable(&self) -> bool {
        match self {
            // An `Http` 401 only comes from a streamed upload whose token
            // expired mid-way (other 401s become `Unauthorized`): retry it whole.
            Error::Http { status, .. } => matches!(status, 401 | 408 | 429 | 500..=599),
            Error::Connect { .. } => true,
            Error::Exhausted { .. } => false,
            _ => false,
        }
    }

    /// The server's requested wait, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the registry (or a token server) refused the credentials.
    pub fn is_auth(&self) -> bool {
        match self {
            Error::Unauthorized { .. } => true,
            Error::Exhausted { last, .. } => last.is_auth(),
            _ => false,
        }
    }

    /// Whether the registry throttled the request (HTTP 429 or a 503 that
    /// says so): slow down, then retry.
    pub fn is_throttle(&self) -> bool {
        match self {
            Error::Http { status: 429, .. } => true,
            Error::Http {
                status: 503, codes, ..
            } => codes.contains(&ErrorCode::TooManyRequests),
            _ => false,
        }
    }

    /// Whether this is a usage problem (exit code 2) rather than a failed operation.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::InvalidReference { .. } | Error::Usage(_) | Error::Config { .. }
        )
    }

    /// Builds an I/O error for a path.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
