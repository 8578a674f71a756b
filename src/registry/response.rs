//! Reading what a registry answered when it was not a success: the error body
//! (`{"errors":[{"code","message"}]}`) parsed once into typed [`ErrorCode`]s,
//! `Retry-After` in both of its forms, and the mapping from a status to the
//! library's [`Error`]. Nothing else in crossdock looks inside error bodies;
//! everything above matches on the enum. Imports `error` only.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use crate::error::{Error, Result};

/// An error code of the distribution spec (and the ones registries add).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `BLOB_UNKNOWN`.
    BlobUnknown,
    /// `BLOB_UPLOAD_INVALID`.
    BlobUploadInvalid,
    /// `BLOB_UPLOAD_UNKNOWN`.
    BlobUploadUnknown,
    /// `DIGEST_INVALID`.
    DigestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN`.
    ManifestBlobUnknown,
    /// `MANIFEST_INVALID`.
    ManifestInvalid,
    /// `MANIFEST_UNKNOWN`.
    ManifestUnknown,
    /// `NAME_INVALID`.
    NameInvalid,
    /// `NAME_UNKNOWN`.
    NameUnknown,
    /// `SIZE_INVALID`.
    SizeInvalid,
    /// `UNAUTHORIZED`.
    Unauthorized,
    /// `DENIED`.
    Denied,
    /// `UNSUPPORTED`.
    Unsupported,
    /// `TOOMANYREQUESTS`: every registry's throttle (Docker Hub's pull limit too).
    TooManyRequests,
    /// `TAG_INVALID` (ECR: immutable tag already exists, among others).
    TagInvalid,
    /// Any other code, kept verbatim.
    Other(String),
}

impl ErrorCode {
    /// The code as registries spell it.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::TagInvalid => "TAG_INVALID",
            ErrorCode::Other(s) => s,
        }
    }

    /// Parses a code string (case-insensitive).
    pub fn parse(code: &str) -> ErrorCode {
        match code.trim().to_ascii_uppercase().as_str() {
            "BLOB_UNKNOWN" => ErrorCode::BlobUnknown,
            "BLOB_UPLOAD_INVALID" => ErrorCode::BlobUploadInvalid,
            "BLOB_UPLOAD_UNKNOWN" => ErrorCode::BlobUploadUnknown,
            "DIGEST_INVALID" => ErrorCode::DigestInvalid,
            "MANIFEST_BLOB_UNKNOWN" => ErrorCode::ManifestBlobUnknown,
            "MANIFEST_INVALID" => ErrorCode::ManifestInvalid,
            "MANIFEST_UNKNOWN" => ErrorCode::ManifestUnknown,
            "NAME_INVALID" => ErrorCode::NameInvalid,
            "NAME_UNKNOWN" => ErrorCode::NameUnknown,
            "SIZE_INVALID" => ErrorCode::SizeInvalid,
            "UNAUTHORIZED" => ErrorCode::Unauthorized,
            "DENIED" => ErrorCode::Denied,
            "UNSUPPORTED" => ErrorCode::Unsupported,
            "TOOMANYREQUESTS" => ErrorCode::TooManyRequests,
            "TAG_INVALID" => ErrorCode::TagInvalid,
            _ => ErrorCode::Other(
                code.trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(64)
                    .collect(),
            ),
        }
    }
}

/// One entry of a registry error body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryError {
    /// The code.
    pub code: ErrorCode,
    /// The message (at most a few hundred characters, control characters removed).
    pub message: String,
}

/// What a non-success answer said, read once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// Parsed `errors[]`, empty when the body was not the spec's JSON.
    pub errors: Vec<RegistryError>,
    /// A short plain-text body, when it was not JSON (and not HTML).
    pub text: String,
}

/// Longest error body read (the rest is not read at all).
pub const MAX_ERROR_BODY: usize = 64 * 1024;
/// Longest message shown from an error body.
const MAX_SHOWN: usize = 300;

fn clean(s: &str) -> String {
    let mut shown = s.chars().filter(|c| !c.is_control());
    let mut out: String = shown.by_ref().take(MAX_SHOWN).collect();
    if shown.next().is_some() {
        out.push('…');
    }
    out.trim().to_string()
}

impl ErrorBody {
    /// Parses an error body.
    pub fn parse(bytes: &[u8]) -> ErrorBody {
        #[derive(serde::Deserialize)]
        struct E {
            code: Option<String>,
            message: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Es {
            errors: Vec<E>,
        }
        if let Ok(es) = serde_json::from_slice::<Es>(bytes) {
            return ErrorBody {
                errors: es
                    .errors
                    .into_iter()
                    .take(16)
                    .map(|e| RegistryError {
                        code: ErrorCode::parse(e.code.as_deref().unwrap_or("")),
                        message: clean(e.message.as_deref().unwrap_or("")),
                    })
                    .collect(),
                text: String::new(),
            };
        }
        let t = String::from_utf8_lossy(bytes);
        let t = t.trim();
        ErrorBody {
            errors: Vec::new(),
            text: if t.starts_with('<') {
                String::new()
            } else {
                clean(t)
            },
        }
    }

    /// Whether any entry has `code`.
    pub fn has(&self, code: &ErrorCode) -> bool {
        self.errors.iter().any(|e| &e.code == code)
    }

    /// `CODE message; CODE message`, for error messages.
    pub fn describe(&self) -> String {
        if self.errors.is_empty() {
            return self.text.clone();
        }
        self.errors
            .iter()
            .map(|e| {
                let code = e.code.as_str();
                format!("{code} {}", e.message).trim().to_string()
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Reads at most `limit` bytes of a body; the rest is never read.
pub async fn read_limited(mut resp: Response, limit: usize) -> Result<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let url = resp.url().clone();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                let room = limit.saturating_sub(out.len());
                if c.len() > room {
                    out.extend_from_slice(&c[..room]);
                    return Ok((out, true));
                }
                out.extend_from_slice(&c);
            }
            Ok(None) => return Ok((out, false)),
            Err(e) => {
                return Err(Error::Connect {
                    method: "GET".into(),
                    url: strip_query(&url),
                    source: e.without_url(),
                })
            }
        }
    }
}

/// Reads an error body (bounded) and parses it.
pub async fn error_body(resp: Response) -> ErrorBody {
    match read_limited(resp, MAX_ERROR_BODY).await {
        Ok((bytes, _)) => ErrorBody::parse(&bytes),
        Err(_) => ErrorBody::default(),
    }
}

/// A URL without its query string (pre-signed URLs carry credentials there).
pub fn strip_query(u: &Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// `Retry-After`, as delta-seconds or an HTTP-date.
pub fn parse_retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(RETRY_AFTER)?.to_str().ok()?.trim();
    retry_after_value(v, SystemTime::now())
}

/// Parses one `Retry-After` value relative to `now`.
pub fn retry_after_value(v: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Builds the error for a non-success response (the body is read, bounded).
pub async fn status_error(method: &Method, url: &Url, what: &str, resp: Response) -> Error {
    let status = resp.status();
    let retry_after = parse_retry_after(resp.headers());
    let host = url.host_str().unwrap_or("").to_string();
    let body = error_body(resp).await;
    error_for(method, url, what, status, retry_after, body, host)
}

/// The error for a status and a body already read.
pub fn error_for(
    method: &Method,
    url: &Url,
    what: &str,
    status: StatusCode,
    retry_after: Option<Duration>,
    body: ErrorBody,
    host: String,
) -> Error {
    let detail = body.describe();
    match status {
        StatusCode::NOT_FOUND => Error::NotFound {
            what: what.to_string(),
            detail,
        },
        StatusCode::FORBIDDEN => Error::Denied {
            host,
            what: what.to_string(),
            detail,
            write: !matches!(*method, Method::GET | Method::HEAD),
        },
        _ => Error::Http {
            method: method.to_string(),
            url: strip_query(url),
            status: status.as_u16(),
            detail,
            codes: body.errors.into_iter().map(|e| e.code).collect(),
            retry_after,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_once() {
        let b = ErrorBody::parse(
            br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"Rate exceeded"},{"code":"x_custom"}]}"#,
        );
        assert!(b.has(&ErrorCode::TooManyRequests));
        assert_eq!(b.errors[1].code, ErrorCode::Other("x_custom".into()));
        assert_eq!(b.describe(), "TOOMANYREQUESTS Rate exceeded; x_custom");
        let n = ErrorBody::parse(br#"{"errors":[{"code":"NAME_UNKNOWN","message":"m"}]}"#);
        assert_eq!(n.describe(), "NAME_UNKNOWN m");
        assert!(ErrorBody::parse(b"<html>").describe().is_empty());
        assert_eq!(
            ErrorBody::parse(b"plain\x1b[31m text").describe(),
            "plain[31m text"
        );
        let long = "a".repeat(5000);
        assert!(ErrorBody::parse(long.as_bytes()).describe().chars().count() <= MAX_SHOWN + 1);
    }

    #[test]
    fn retry_after_both_forms() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(retry_after_value("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after_value("Sun, 06 Nov 1994 08:49:40 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after_value("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(retry_after_value("soon", now), None);
        assert_eq!(
            retry_after_value("18446744073709551615", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn retry_after_and_error_bodies_never_panic(
                v in "\\PC{0,40}|[0-9]{1,25}|[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4,6} [0-9:]{8} GMT",
                body in proptest::collection::vec(any::<u8>(), 0..400),
                code in "[\\x00-\\x7f]{0,30}|\\PC{0,30}",
                msg in "[\\x00-\\x7f]{0,40}|\\PC{0,400}",
            ) {
                let _ = retry_after_value(&v, SystemTime::now());
                let _ = retry_after_value(&v, SystemTime::UNIX_EPOCH);
                let _ = ErrorBody::parse(&body).describe();
                let j = serde_json::json!({"errors": [{"code": code, "message": msg}]}).to_string();
                let b = ErrorBody::parse(j.as_bytes());
                prop_assert!(b.describe().chars().count() <= 64 + 1 + MAX_SHOWN + 1);
                prop_assert!(!b.describe().chars().any(|c| c.is_control()));
            }
        }
    }
}
