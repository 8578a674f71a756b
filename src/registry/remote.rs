//! A repository in a remote registry: the OCI distribution API calls the copy
//! engine needs (manifest HEAD/GET/PUT with the full Accept list, blob
//! HEAD/GET, upload with cross-repository mount, monolithic streaming PUT or
//! ≥ 5 MiB PATCH chunks, tag listing with pagination), the OCI 1.1 referrers
//! API and manifest deletion.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LINK, LOCATION,
};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::error::{Error, Result};
use crate::registry::client::{status_error, RegistryClient, Req, Scope};
use crate::registry::pulls::Grant;
use crate::registry::response::{read_limited, ErrorBody, ErrorCode, MAX_ERROR_BODY};
use crate::registry::{ByteStream, Manifest, ManifestHead, UploadTarget};
use crate::types::media::{self, detect_media_type, MANIFEST_ACCEPT};
use crate::types::name::{check_repository, check_tag, Checked, NameKind};
use crate::types::referrers::{self, ReferrerList};
use crate::types::Digest;

/// Largest page of a tag or catalog listing read.
const MAX_LIST_PAGE: usize = 8 * 1024 * 1024;
/// Most pages of one listing.
const MAX_PAGES: usize = 100_000;

/// Largest manifest accepted (ECR's PutImage limit is 4 MiB).
pub const MAX_MANIFEST: usize = 4 * 1024 * 1024;

/// What a manifest DELETE did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Deleted.
    Deleted,
    /// Nothing there.
    NotFound,
    /// The registry refuses this delete (deletes disabled, or no tag deletion).
    Refused {
        /// HTTP status.
        status: u16,
        /// The registry's error code and message.
        detail: String,
    },
}

/// A repository on a registry.
#[derive(Clone, Debug)]
pub struct Remote {
    /// The registry host's client (shared).
    pub client: Arc<RegistryClient>,
    /// Repository path (`library/nginx`).
    pub repo: String,
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn accept() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(ACCEPT, HeaderValue::from_static(MANIFEST_ACCEPT));
    h
}

/// The target of the `rel="next"` link in a `Link` header value
/// (`<url>; rel="next", <url>; rel="prev"`, RFC 8288).
pub fn parse_next_link(value: &str) -> Option<String> {
    let mut rest = value;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        // Parameters run to the next link (a ',' followed by '<') or the end.
        let end = after
            .char_indices()
            .find(|&(i, c)| c == ',' && after[i + 1..].trim_start().starts_with('<'))
            .map_or(after.len(), |(i, _)| i);
        let next = after[..end].split(';').any(|p| {
            let p = p.trim();
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if next {
            return Some(target.trim().to_string());
        }
        rest = &after[end..];
    }
}

/// The `rel="next"` target of any `Link` header of an answer.
fn next_link(h: &HeaderMap) -> Option<String> {
    h.get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(parse_next_link)
}

/// A registry that refused to commit an upload because the bytes do not hash
/// to the digest (`DIGEST_INVALID`): the source sent corrupted content.
fn refused_digest(e: Error, d: &Digest) -> Error {
    match &e {
        Error::Http { codes, .. } if codes.contains(&ErrorCode::DigestInvalid) => {
            Error::DigestMismatch {
                digest: d.to_string(),
                detail: "the destination registry computed another digest for the bytes the source sent (DIGEST_INVALID), so it did not store them".into(),
            }
        }
        _ => e,
    }
}

fn with_digest(url: &Url, d: &Digest) -> Url {
    let mut u = url.clone();
    u.query_pairs_mut().append_pair("digest", d.as_str());
    u
}

/// The error for a name that must not enter a URL.
fn invalid_name(kind: &'static str, name: &str, reason: String) -> Error {
    Error::InvalidName {
        kind,
        name: name.chars().take(200).collect(),
        reason,
    }
}

impl Remote {
    /// `base/v2/<repo>/<tail>`, built only from a valid repository path.
    fn repo_url(&self, tail: &str) -> Result<Url> {
        check_repository(&self.repo).map_err(|r| invalid_name("repository", &self.repo, r))?;
        self.client.url(&format!("{}/{tail}", self.repo))
    }

    /// `…/manifests/<reference>`, where the reference is a digest or a valid tag.
    fn manifest_url(&self, reference: &str) -> Result<Url> {
        if reference.parse::<Digest>().is_err() {
            check_tag(reference).map_err(|r| invalid_name("tag", reference, r))?;
        }
        self.repo_url(&format!("manifests/{reference}"))
    }

    fn what(&self, kind: &str, reference: &str) -> String {
        let sep = if reference.contains(':') && reference.starts_with("sha") {
            "@"
        } else {
            ":"
        };
        format!("{kind} {}/{}{sep}{reference}", self.client.name, self.repo)
    }

    async fn request(
        &self,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Option<Bytes>,
        scope: &Scope,
    ) -> Result<reqwest::Response> {
        self.client
            .send(Req {
                method,
                url,
                headers,
                body,
                scope,
                repo: Some(&self.repo),
            })
            .await
    }

    /// HEAD a manifest; `None` when the registry says 404.
    pub async fn head_manifest(&self, reference: &str) -> Result<Option<ManifestHead>> {
        let url = self.manifest_url(reference)?;
        let resp = self
            .request(
                Method::HEAD,
                url.clone(),
                accept(),
                None,
                &Scope::pull(&self.repo),
            )
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(
                status_error(&Method::HEAD, &url, &self.what("manifest", reference), resp).await,
            );
        }
        let h = resp.headers();
        Ok(Some(ManifestHead {
            digest: header_str(h, "docker-content-digest").and_then(|d| d.parse().ok()),
            media_type: header_str(h, "content-type")
                .map(|c| c.split(';').next().unwrap_or(c).trim().to_string()),
            size: header_str(h, "content-length").and_then(|s| s.parse().ok()),
        }))
    }

    /// GET a manifest; its digest is computed from the bytes received.
    pub async fn get_manifest(&self, reference: &str) -> Result<Manifest> {
        self.get_manifest_with(reference, None).await
    }

    /// Reserves `n` pulls for the manifest GETs of one image (free when the
    /// registry meters no pulls); `reference` is HEADed while waiting.
    pub async fn reserve_pulls(&self, n: u64, reference: &str) -> Result<Grant> {
        let url = self.manifest_url(reference)?;
        self.client
            .reserve_pulls(n, &url, &Scope::pull(&self.repo), &self.repo)
            .await
    }

    /// GET a manifest spending a pull of `grant` (a pull is a manifest GET
    /// on Docker Hub); its digest is computed from the bytes received.
    pub async fn get_manifest_with(
        &self,
        reference: &str,
        grant: Option<&Grant>,
    ) -> Result<Manifest> {
        let url = self.manifest_url(reference)?;
        let what = self.what("manifest", reference);
        let scope = Scope::pull(&self.repo);
        let resp = self
            .client
            .get_manifest_response(&url, accept(), &scope, &self.repo, grant)
            .await?;
        if !resp.status().is_success() {
            return Err(status_error(&Method::GET, &url, &what, resp).await);
        }
        let content_type = header_str(resp.headers(), "content-type").map(str::to_string);
        let (bytes, truncated) = read_limited(resp, MAX_MANIFEST).await?;
        if truncated {
            return Err(Error::InvalidManifest {
                what,
                reason: format!(
                    "larger than {MAX_MANIFEST} bytes (4 MiB, what registries accept); not read further"
                ),
            });
        }
        let bytes = Bytes::from(bytes);
        let digest = Digest::sha256_of(&bytes);
        if let Ok(want) = reference.parse::<Digest>() {
            if !want.matches(&bytes) {
                return Err(Error::DigestMismatch {
                    digest: want.to_string(),
                    detail: format!("the registry returned a manifest hashing to {digest}"),
                });
            }
        }
        let media_type = detect_media_type(&bytes, content_type.as_deref()).ok_or_else(|| {
            Error::InvalidManifest {
                what: what.clone(),
                reason: "not a JSON manifest".into(),
            }
        })?;
        Ok(Manifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// PUT a manifest's exact bytes.
    pub async fn put_manifest(&self, reference: &str, m: &Manifest) -> Result<()> {
        self.put_manifest_headers(reference, m).await.map(|_| ())
    }

    /// PUT a manifest that carries a `subject`; `true` when the registry says
    /// (`OCI-Subject` header) that it indexed the subject for the referrers API.
    pub async fn put_referrer(&self, reference: &str, m: &Manifest) -> Result<bool> {
        let h = self.put_manifest_headers(reference, m).await?;
        Ok(h.contains_key("oci-subject"))
    }

    async fn put_manifest_headers(&self, reference: &str, m: &Manifest) -> Result<HeaderMap> {
        let url = self.manifest_url(reference)?;
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&m.media_type).map_err(|_| Error::InvalidManifest {
                what: m.digest.to_string(),
                reason: format!("media type {:?} cannot be sent", m.media_type),
            })?,
        );
        let resp = self
            .request(
                Method::PUT,
                url.clone(),
                h,
                Some(m.bytes.clone()),
                &Scope::push(&self.repo),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(
                status_error(&Method::PUT, &url, &self.what("manifest", reference), resp).await,
            );
        }
        Ok(resp.headers().clone())
    }

    /// The referrers of `subject` through the OCI 1.1 referrers API
    /// (`GET /v2/<name>/referrers/<digest>`, every page), filtered by the
    /// registry when one `artifact_type` is given (the caller filters again:
    /// a registry may ignore the filter). `None` when the registry does not
    /// serve the API (404 without a registry error code, 400, 405).
    pub async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<ReferrerList>> {
        let mut url = self.repo_url(&format!("referrers/{subject}"))?;
        if let Some(t) = artifact_type {
            url.query_pairs_mut().append_pair("artifactType", t);
        }
        let what = format!("referrers of {}/{}@{subject}", self.client.name, self.repo);
        let scope = Scope::pull(&self.repo);
        let mut out = ReferrerList::default();
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_static(media::OCI_INDEX));
        for _ in 0..1000 {
            let resp = self
                .request(Method::GET, url.clone(), h.clone(), None, &scope)
                .await?;
            let status = resp.status();
            if matches!(
                status,
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST | StatusCode::METHOD_NOT_ALLOWED
            ) {
                let (body, _) = read_limited(resp, MAX_ERROR_BODY).await.unwrap_or_default();
                let body = ErrorBody::parse(&body);
                // NAME_UNKNOWN is about the repository, not the API: the
                // route exists. Any other 404 (an unknown route) means no API.
                if status == StatusCode::NOT_FOUND && body.has(&ErrorCode::NameUnknown) {
                    return Err(Error::NotFound {
                        what,
                        detail: body.describe(),
                    });
                }
                return Ok(None);
            }
            if !status.is_success() {
                return Err(status_error(&Method::GET, &url, &what, resp).await);
            }
            let next = next_link(resp.headers());
            let (body, truncated) = read_limited(resp, MAX_MANIFEST).await?;
            if truncated {
                return Err(Error::InvalidManifest {
                    what,
                    reason: format!("a referrers page larger than {MAX_MANIFEST} bytes"),
                });
            }
            let page = referrers::parse_list(&what, &body)?;
            out.entries.extend(page.entries);
            if out.entries.len() > referrers::MAX_REFERRERS {
                return Err(Error::InvalidManifest {
                    what,
                    reason: format!("more than {} referrers", referrers::MAX_REFERRERS),
                });
            }
            match next.and_then(|n| url.join(&n).ok()) {
                // Pagination stays on the registry's own host.
                Some(n) if n.host_str() == url.host_str() && n.port() == url.port() => url = n,
                _ => return Ok(Some(out)),
            }
        }
        Ok(Some(out))
    }

    /// Deletes a manifest by tag (OCI 1.1 tag deletion) or by digest (the
    /// manifest and, on most registries, every tag pointing at it).
    pub async fn delete_manifest(&self, reference: &str) -> Result<DeleteOutcome> {
        let url = self.manifest_url(reference)?;
        let resp = self
            .request(
                Method::DELETE,
                url.clone(),
                accept(),
                None,
                &Scope::delete(&self.repo),
            )
            .await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(DeleteOutcome::Deleted);
        }
        if status == StatusCode::NOT_FOUND {
            return Ok(DeleteOutcome::NotFound);
        }
        let what = self.what("manifest", reference);
        match status_error(&Method::DELETE, &url, &what, resp).await {
            Error::Http {
                status: 400 | 405,
                detail,
                ..
            } => Ok(DeleteOutcome::Refused {
                status: status.as_u16(),
                detail,
            }),
            e => Err(e),
        }
    }

    /// HEAD a blob; its size when present.
    pub async fn blob_size(&self, d: &Digest) -> Result<Option<u64>> {
        let url = self.repo_url(&format!("blobs/{d}"))?;
        let resp = self
            .request(
                Method::HEAD,
                url.clone(),
                HeaderMap::new(),
                None,
                &Scope::pull(&self.repo),
            )
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(
                header_str(resp.headers(), "content-length")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            )),
            _ => Err(status_error(&Method::HEAD, &url, &self.what("blob", d.as_str()), resp).await),
        }
    }

    /// GET a blob as a stream (redirects followed without credentials).
    pub async fn get_blob(&self, d: &Digest) -> Result<ByteStream> {
        let url = self.repo_url(&format!("blobs/{d}"))?;
        let resp = self
            .request(
                Method::GET,
                url.clone(),
                HeaderMap::new(),
                None,
                &Scope::pull(&self.repo),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(
                status_error(&Method::GET, &url, &self.what("blob", d.as_str()), resp).await,
            );
        }
        let shown = url.to_string();
        Ok(resp
            .bytes_stream()
            .map_err(move |e| Error::Connect {
                method: "GET".into(),
                url: shown.clone(),
                source: e.without_url(),
            })
            .boxed())
    }

    /// Deletes a blob; `false` when the registry does not allow it.
    pub async fn delete_blob(&self, d: &Digest) -> Result<bool> {
        let url = self.repo_url(&format!("blobs/{d}"))?;
        let scope = Scope::delete(&self.repo);
        let resp = self
            .request(Method::DELETE, url, HeaderMap::new(), None, &scope)
            .await?;
        Ok(resp.status().is_success())
    }

    /// POST an upload, asking to mount from `mount_from` in the same registry.
    pub async fn begin_upload(&self, d: &Digest, mount_from: Option<&str>) -> Result<UploadTarget> {
        let mut url = self.repo_url("blobs/uploads/")?;
        let mut scope = Scope::push(&self.repo);
        if let Some(from) = mount_from {
            check_repository(from).map_err(|r| invalid_name("repository", from, r))?;
            url.query_pairs_mut()
                .append_pair("mount", d.as_str())
                .append_pair("from", from);
            scope = scope.and_pull(from);
        }
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        let resp = self
            .request(Method::POST, url.clone(), h, None, &scope)
            .await?;
        match resp.status() {
            StatusCode::CREATED if mount_from.is_some() => Ok(UploadTarget::Mounted),
            StatusCode::ACCEPTED => {
                let loc = header_str(resp.headers(), "location").ok_or_else(|| Error::Http {
                    method: "POST".into(),
                    url: url.to_string(),
                    status: 202,
                    detail: "upload opened without a Location header".into(),
                    codes: Vec::new(),
                    retry_after: None,
                })?;
                let loc = url.join(loc).map_err(|e| Error::Http {
                    method: "POST".into(),
                    url: url.to_string(),
                    status: 202,
                    detail: format!("bad upload Location: {e}"),
                    codes: Vec::new(),
                    retry_after: None,
                })?;
                Ok(UploadTarget::Session(loc))
            }
            _ => Err(status_error(
                &Method::POST,
                &url,
                &format!("upload to {}/{}", self.client.name, self.repo),
                resp,
            )
            .await),
        }
    }

    /// Sends the bytes to an upload session and commits the blob.
    pub async fn upload(
        &self,
        session: Url,
        d: &Digest,
        size: u64,
        body: ByteStream,
    ) -> Result<()> {
        match self.client.settings().chunk_size {
            Some(chunk) => self.upload_chunked(session, d, chunk, body).await,
            None => self.upload_monolithic(session, d, size, body).await,
        }
    }

    async fn upload_monolithic(
        &self,
        session: Url,
        d: &Digest,
        size: u64,
        body: ByteStream,
    ) -> Result<()> {
        let url = with_digest(&session, d);
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        h.insert(CONTENT_LENGTH, HeaderValue::from(size));
        let resp = self
            .client
            .send_stream(
                Method::PUT,
                &url,
                h,
                reqwest::Body::wrap_stream(body),
                &Scope::push(&self.repo),
                Some(&self.repo),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(refused_digest(
                status_error(&Method::PUT, &url, &self.what("blob", d.as_str()), resp).await,
                d,
            ));
        }
        Ok(())
    }

    async fn upload_chunked(
        &self,
        session: Url,
        d: &Digest,
        chunk: u64,
        mut body: ByteStream,
    ) -> Result<()> {
        let chunk = usize::try_from(chunk).unwrap_or(usize::MAX);
        let scope = Scope::push(&self.repo);
        let mut url = session;
        let mut offset: u64 = 0;
        let mut buf = BytesMut::with_capacity(chunk.min(64 * 1024 * 1024));
        let mut done = false;
        while !done {
            // Fill one chunk (the last may be short).
            while buf.len() < chunk {
                match body.next().await {
                    Some(Ok(b)) => buf.extend_from_slice(&b),
                    Some(Err(e)) => return Err(e),
                    None => {
                        done = true;
                        break;
                    }
                }
            }
            let take = buf.len().min(chunk);
            if take == 0 {
                break;
            }
            let part = buf.split_to(take).freeze();
            let end = offset + part.len() as u64 - 1;
            let mut h = HeaderMap::new();
            h.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            h.insert(CONTENT_LENGTH, HeaderValue::from(part.len()));
            h.insert(
                "content-range",
                HeaderValue::from_str(&format!("{offset}-{end}"))
                    .map_err(|_| Error::Usage("bad range".into()))?,
            );
            let resp = self
                .client
                .send_stream(
                    Method::PATCH,
                    &url,
                    h,
                    reqwest::Body::from(part),
                    &scope,
                    Some(&self.repo),
                )
                .await?;
            // The spec says 202; ECR may answer 201. Both mean "chunk stored".
            if !matches!(
                resp.status(),
                StatusCode::ACCEPTED | StatusCode::CREATED | StatusCode::NO_CONTENT
            ) {
                return Err(status_error(
                    &Method::PATCH,
                    &url,
                    &self.what("blob", d.as_str()),
                    resp,
                )
                .await);
            }
            if let Some(loc) = header_str(resp.headers(), LOCATION.as_str()) {
                if let Ok(next) = url.join(loc) {
                    url = next;
                }
            }
            offset = end + 1;
            if done && buf.is_empty() {
                break;
            }
        }
        let put = with_digest(&url, d);
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        let resp = self
            .client
            .send_stream(
                Method::PUT,
                &put,
                h,
                reqwest::Body::from(Bytes::new()),
                &scope,
                Some(&self.repo),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(refused_digest(
                status_error(&Method::PUT, &put, &self.what("blob", d.as_str()), resp).await,
                d,
            ));
        }
        Ok(())
    }

    /// Every repository of the registry (`/v2/_catalog`, paginated); names
    /// that break the grammar are set aside, never used.
    pub async fn catalog(client: &Arc<RegistryClient>) -> Result<Checked> {
        Self::catalog_pages(client, MAX_PAGES).await
    }

    /// The catalog, giving up (an error) after `max_pages` pages: for a
    /// hint that is only worth a few requests.
    pub async fn catalog_pages(client: &Arc<RegistryClient>, max_pages: usize) -> Result<Checked> {
        #[derive(serde::Deserialize)]
        struct Catalog {
            repositories: Option<Vec<String>>,
        }
        let first = client.url("_catalog?n=1000")?;
        let what = format!("catalog of {}", client.name);
        let names = paginate(
            client,
            first,
            &Scope::catalog(),
            None,
            &what,
            max_pages,
            |c: Catalog| c.repositories.unwrap_or_default(),
        )
        .await?;
        Ok(Checked::of(NameKind::Repository, &what, names))
    }

    /// Every tag, following `Link: <…>; rel="next"` pagination; tags that
    /// break the grammar are set aside, never used.
    pub async fn tags(&self) -> Result<Checked> {
        #[derive(serde::Deserialize)]
        struct TagList {
            tags: Option<Vec<String>>,
        }
        let first = self.repo_url("tags/list?n=1000")?;
        let what = format!("repository {}/{}", self.client.name, self.repo);
        let names = paginate(
            &self.client,
            first,
            &Scope::pull(&self.repo),
            Some(&self.repo),
            &what,
            MAX_PAGES,
            |t: TagList| t.tags.unwrap_or_default(),
        )
        .await?;
        Ok(Checked::of(
            NameKind::Tag,
            &format!("tags of {what}"),
            names,
        ))
    }
}

/// GETs a JSON list page by page, following `Link: <…>; rel="next"`. A
/// next link back to a page already read is a loop: an error, not 100,000
/// requests. Each page is read with a limit.
async fn paginate<T: serde::de::DeserializeOwned>(
    client: &RegistryClient,
    first: Url,
    scope: &Scope,
    repo: Option<&str>,
    what: &str,
    max_pages: usize,
    items: impl Fn(T) -> Vec<String>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut url = first;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..max_pages {
        seen.insert(url.to_string());
        let resp = client
            .send(Req {
                method: Method::GET,
                url: url.clone(),
                headers: HeaderMap::new(),
                body: None,
                scope,
                repo,
            })
            .await?;
        if !resp.status().is_success() {
            return Err(status_error(&Method::GET, &url, what, resp).await);
        }
        let next = next_link(resp.headers());
        let (bytes, truncated) = read_limited(resp, MAX_LIST_PAGE).await?;
        if truncated {
            return Err(Error::Protocol {
                what: what.to_string(),
                detail: format!(
                    "a page of the listing is larger than {MAX_LIST_PAGE} bytes; not read further"
                ),
            });
        }
        let page: T = serde_json::from_slice(&bytes).map_err(|e| Error::InvalidManifest {
            what: what.to_string(),
            reason: e.to_string(),
        })?;
        out.extend(items(page));
        match next.and_then(|n| url.join(&n).ok()) {
            Some(n) if seen.contains(n.as_str()) => {
                return Err(Error::Protocol {
                    what: what.to_string(),
                    detail: format!(
                        "the registry's Link: rel=\"next\" points back at a page already read ({}); stopped after {} pages",
                        crate::registry::response::strip_query(&n),
                        seen.len()
                    ),
                })
            }
            Some(n) => url = n,
            None => return Ok(out),
        }
    }
    Err(Error::Protocol {
        what: what.to_string(),
        detail: format!("more than {max_pages} pages; stopped"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_link() {
        let n = |v: &str| parse_next_link(v);
        assert_eq!(
            n(r#"</v2/x/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/x/tags/list?n=2&last=b")
        );
        assert_eq!(
            n(r#"</p>; rel="prev", </n?a=1,2>; rel="next""#).as_deref(),
            Some("/n?a=1,2")
        );
        assert_eq!(
            n(r#"<https://h/x>; rel=next; title="a""#).as_deref(),
            Some("https://h/x")
        );
        assert_eq!(n(r#"</p>; rel="prev""#), None);
        assert_eq!(n("garbage"), None);
        assert_eq!(n(""), None);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn link_headers_never_panic(v in "\\PC{0,120}|(<[^>]{0,20}>(; ?[a-z]{1,5}=\"?[a-z ]{0,10}\"?){0,3},? ?){0,4}") {
                if let Some(t) = parse_next_link(&v) {
                    prop_assert!(v.contains(&t));
                }
            }
        }
    }
}
