//! One API over where images live: a remote registry ([`remote::Remote`],
//! speaking the OCI distribution API through [`client::RegistryClient`]) or an
//! OCI image layout directory ([`layout::Layout`]). The copy engine talks only
//! to [`Repo`]; it never sees HTTP. Imports `types`, `config`, `error`.

pub mod auth;
pub mod client;
pub mod credentials;
pub mod ecr;
pub mod hub;
pub mod layout;
pub mod pool;
mod probe;
pub mod pulls;
pub mod ratelimit;
pub mod remote;
pub mod response;
pub mod retry;
pub mod throttle;
pub mod token;
pub mod trace;

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::Semaphore;

use crate::error::Result;
use crate::types::referrers::ReferrerList;
use crate::types::Digest;

pub use layout::Layout;
pub use pool::Pool;
pub use remote::{DeleteOutcome, Remote};

/// A stream of blob bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;

/// A manifest exactly as stored: its bytes are never re-serialised.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The raw bytes (their digest is the manifest's identity).
    pub bytes: Bytes,
    /// Media type.
    pub media_type: String,
    /// sha256 of `bytes`.
    pub digest: Digest,
}

/// What a HEAD on a manifest tells.
#[derive(Clone, Debug)]
pub struct ManifestHead {
    /// The digest, when the registry sent it.
    pub digest: Option<Digest>,
    /// Media type, when known.
    pub media_type: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<u64>,
}

/// Where an upload goes after it was opened.
#[derive(Debug)]
pub enum UploadTarget {
    /// The registry mounted the blob from another repository: nothing to send.
    Mounted,
    /// An upload session URL.
    Session(url::Url),
    /// A layout directory writes the file itself.
    Local,
}

/// A repository: in a registry or an OCI layout.
#[derive(Clone, Debug)]
pub enum Repo {
    /// A repository in a remote registry.
    Remote(Remote),
    /// An OCI image layout directory.
    Layout(Layout),
}

impl Repo {
    /// `registry/repo` or `oci:PATH`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Repo::Remote(r) => format!("{}/{}", r.client.name, r.repo),
            Repo::Layout(l) => format!("oci:{}", l.root().display()),
        }
    }

    /// HEAD a manifest by tag or digest; `None` when absent.
    pub async fn head_manifest(&self, reference: &str) -> Result<Option<ManifestHead>> {
        match self {
            Repo::Remote(r) => r.head_manifest(reference).await,
            Repo::Layout(l) => l.head_manifest(reference).await,
        }
    }

    /// GET a manifest by tag or digest (verified against the digest if one was asked).
    pub async fn get_manifest(&self, reference: &str) -> Result<Manifest> {
        self.get_manifest_with(reference, None).await
    }

    /// GET a manifest spending a pull reserved in `grant` (Docker Hub counts
    /// manifest GETs as pulls); without one, a pull is reserved on the spot.
    pub async fn get_manifest_with(
        &self,
        reference: &str,
        grant: Option<&pulls::Grant>,
    ) -> Result<Manifest> {
        match self {
            Repo::Remote(r) => r.get_manifest_with(reference, grant).await,
            Repo::Layout(l) => l.get_manifest(reference).await,
        }
    }

    /// Reserves the `n` pulls one image needs before any is spent, so
    /// parallel images never overrun a pull budget (`reference` is HEADed
    /// for free while waiting). Free where no pulls are metered.
    pub async fn reserve_pulls(&self, n: u64, reference: &str) -> Result<pulls::Grant> {
        match self {
            Repo::Remote(r) => r.reserve_pulls(n, reference).await,
            Repo::Layout(_) => Ok(pulls::Grant::unlimited()),
        }
    }

    /// PUT a manifest's exact bytes under a tag or its digest. `top` marks
    /// the image's root (a layout records it in `index.json`).
    pub async fn put_manifest(&self, reference: &str, m: &Manifest, top: bool) -> Result<()> {
        match self {
            Repo::Remote(r) => r.put_manifest(reference, m).await,
            Repo::Layout(l) => l.put_manifest(reference, m, top).await,
        }
    }

    /// Whether a blob is present and usable as a copy's destination: a
    /// registry's word (HEAD), or for a layout the file with the right size
    /// (and digest, when small).
    pub async fn has_blob(&self, d: &Digest, size: u64) -> Result<bool> {
        match self {
            Repo::Remote(r) => Ok(r.blob_size(d).await?.is_some()),
            Repo::Layout(l) => l.has_blob(d, size).await,
        }
    }

    /// HEAD a manifest that a copy may rely on: a registry guarantees what
    /// it references; a layout is checked (every manifest and blob below it
    /// present and intact), not trusted by file existence.
    pub async fn head_complete(&self, reference: &str) -> Result<Option<ManifestHead>> {
        match self {
            Repo::Remote(r) => r.head_manifest(reference).await,
            Repo::Layout(l) => l.head_complete(reference).await,
        }
    }

    /// Size of a blob if present.
    pub async fn blob_size(&self, d: &Digest) -> Result<Option<u64>> {
        match self {
            Repo::Remote(r) => r.blob_size(d).await,
            Repo::Layout(l) => l.blob_size(d).await,
        }
    }

    /// Opens a blob for streaming.
    pub async fn get_blob(&self, d: &Digest) -> Result<ByteStream> {
        match self {
            Repo::Remote(r) => r.get_blob(d).await,
            Repo::Layout(l) => l.get_blob(d).await,
        }
    }

    /// Opens an upload, trying a cross-repository mount from `mount_from`.
    pub async fn begin_upload(&self, d: &Digest, mount_from: Option<&str>) -> Result<UploadTarget> {
        match self {
            Repo::Remote(r) => r.begin_upload(d, mount_from).await,
            Repo::Layout(_) => Ok(UploadTarget::Local),
        }
    }

    /// Sends the blob's bytes to an opened upload and commits it under `d`.
    pub async fn finish_upload(
        &self,
        target: UploadTarget,
        d: &Digest,
        size: u64,
        body: ByteStream,
    ) -> Result<()> {
        match (self, target) {
            (_, UploadTarget::Mounted) => Ok(()),
            (Repo::Remote(r), UploadTarget::Session(url)) => r.upload(url, d, size, body).await,
            (Repo::Layout(l), _) => l.write_blob(d, body).await,
            (Repo::Remote(r), UploadTarget::Local) => Err(crate::Error::Internal(format!(
                "local upload target for remote {}",
                r.repo
            ))),
        }
    }

    /// PUT a referrer manifest (one with `subject`) under its digest; `true`
    /// when the registry indexed its subject for the referrers API. A layout
    /// stores the blob only (its referrers are found through the fallback tag).
    pub async fn put_referrer(&self, m: &Manifest) -> Result<bool> {
        match self {
            Repo::Remote(r) => r.put_referrer(m.digest.as_str(), m).await,
            Repo::Layout(l) => l
                .put_manifest(m.digest.as_str(), m, false)
                .await
                .map(|()| false),
        }
    }

    /// The referrers of `subject` through the OCI referrers API; `None` where
    /// it is not served (a layout, a registry without it).
    pub async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Option<ReferrerList>> {
        match self {
            Repo::Remote(r) => r.referrers(subject, artifact_type).await,
            Repo::Layout(_) => Ok(None),
        }
    }

    /// Deletes a tag where the registry can delete a tag alone (OCI 1.1 tag
    /// deletion; a layout's `index.json`).
    pub async fn delete_tag(&self, tag: &str) -> Result<DeleteOutcome> {
        match self {
            Repo::Remote(r) => r.delete_manifest(tag).await,
            Repo::Layout(l) => Ok(if l.delete_tag(tag).await? {
                DeleteOutcome::Deleted
            } else {
                DeleteOutcome::NotFound
            }),
        }
    }

    /// Deletes a manifest by digest (a registry removes the tags pointing at
    /// it too). Not for layouts, whose tags are deleted one by one.
    pub async fn delete_digest(&self, d: &Digest) -> Result<DeleteOutcome> {
        match self {
            Repo::Remote(r) => r.delete_manifest(d.as_str()).await,
            Repo::Layout(_) => Ok(DeleteOutcome::Refused {
                status: 0,
                detail: "an OCI layout deletes tags, not manifests".into(),
            }),
        }
    }

    /// Every tag of the repository; names that break the tag grammar are
    /// set aside with the reason, never used.
    pub async fn tags(&self) -> Result<crate::types::name::Checked> {
        match self {
            Repo::Remote(r) => r.tags().await,
            Repo::Layout(l) => l.tags().await,
        }
    }

    /// If a blob could be mounted into `self` from `source` (same registry
    /// server, another repository, mounts allowed), the source repository name.
    pub fn mount_source<'a>(&self, source: &'a Repo) -> Option<&'a str> {
        match (self, source) {
            (Repo::Remote(d), Repo::Remote(s))
                if Arc::ptr_eq(&d.client, &s.client)
                    && d.repo != s.repo
                    && d.client.settings().mount.unwrap_or(true) =>
            {
                Some(&s.repo)
            }
            _ => None,
        }
    }

    /// The per-host stream limit, for remotes.
    pub fn permits(&self) -> Option<(String, Arc<Semaphore>)> {
        match self {
            Repo::Remote(r) => Some((r.client.name.clone(), r.client.permits.clone())),
            Repo::Layout(_) => None,
        }
    }

    /// Whether the destination checks a blob's digest itself when the upload
    /// closes (a registry does: `?digest=`, refused with `DIGEST_INVALID`), so
    /// the client need not hash the bytes on the way. A layout does not;
    /// `client_digest_check = true` in a registry's config hashes anyway.
    pub fn verifies_blob_digests(&self) -> bool {
        match self {
            Repo::Remote(r) => !r.client.settings().client_digest_check,
            Repo::Layout(_) => false,
        }
    }

    /// The registry client, for remotes.
    pub fn client(&self) -> Option<&Arc<client::RegistryClient>> {
        match self {
            Repo::Remote(r) => Some(&r.client),
            Repo::Layout(_) => None,
        }
    }

    /// The backoff gate shared by every request to this repository's host.
    pub fn backoff(&self) -> Option<&retry::Backoff> {
        match self {
            Repo::Remote(r) => Some(r.client.backoff()),
            Repo::Layout(_) => None,
        }
    }
}
