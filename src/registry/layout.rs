//! An OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`)
//! as a repository: air-gapped export/import and a no-network source.
//!
//! What it guarantees, source or destination:
//! - **No symlinks followed** inside the layout: `blobs/`, `blobs/<alg>/`,
//!   blob files, `index.json` and `oci-layout` are opened without following
//!   links (a link where a blob should be counts as absent and is replaced
//!   by the blob; a linked directory is an error).
//! - **Presence means intact**: a blob counts as present only with the size
//!   its descriptor gives (and, up to 1 MiB, the right digest); a manifest
//!   only when it hashes to its digest and everything below it is present.
//! - **Durable before visible**: a blob (or manifest) is written to a
//!   temporary file, fsynced, renamed into place, and its directory fsynced;
//!   `index.json` is replaced the same way, so a tag never points at
//!   something half-written, even after a crash.
//! - **Concurrent writers**: the `index.json` read-modify-write runs under an
//!   advisory lock (`flock` on the layout directory), so several processes
//!   writing tags into one layout lose none.
//! - **No litter**: a temporary file is removed when its write fails or is
//!   cancelled (Ctrl-C, SIGTERM); those of earlier runs that died are removed
//!   on the next write (their process is gone, or they are an hour old).
//!
//! Imports `error`, `registry` (types only), `types`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::registry::{ByteStream, Manifest, ManifestHead};
use crate::types::media::{self, detect_media_type, Parsed};
use crate::types::name::{Checked, NameKind};
use crate::types::referrers::is_referrer_tag;
use crate::types::Digest;

const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Largest manifest read (ECR's own limit).
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;
/// Largest `index.json` read.
const MAX_INDEX: u64 = 16 * 1024 * 1024;
/// Blobs up to this size are hashed when checked for presence.
const VERIFY_UP_TO: u64 = 1024 * 1024;
/// A temporary file this old is stale whatever its name says.
const STALE_AFTER: Duration = Duration::from_secs(3600);
/// Temporary files start with this.
const TMP_PREFIX: &str = ".tmp-";
/// Most manifests walked when checking an image is complete.
const MAX_NODES: usize = 100_000;

/// An OCI layout directory.
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
    index_lock: Arc<tokio::sync::Mutex<()>>,
    swept: Arc<AtomicBool>,
}

fn link_error(p: &Path) -> Error {
    Error::io(
        p,
        std::io::Error::other(
            "is a symbolic link; crossdock does not follow links inside an OCI layout",
        ),
    )
}

/// Opens a file for reading without following a symlink at its name.
fn open_nofollow(p: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW);
    }
    o.open(p)
}

fn is_link_error(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Reads a whole file of at most `limit` bytes; `None` when absent.
fn read_small(p: &Path, limit: u64, what: &str) -> Result<Option<Vec<u8>>> {
    let f = match open_nofollow(p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if is_link_error(&e) => return Err(link_error(p)),
        Err(e) => return Err(Error::io(p, e)),
    };
    let mut out = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::io(p, e))?;
    if out.len() as u64 > limit {
        return Err(Error::InvalidManifest {
            what: p.display().to_string(),
            reason: format!("{what} is larger than {limit} bytes; not read further"),
        });
    }
    Ok(Some(out))
}

/// Whether `p` is a real directory (`false`: absent); a link is an error.
fn check_dir(p: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_symlink() => Err(link_error(p)),
        Ok(m) if m.is_dir() => Ok(true),
        Ok(_) => Err(Error::io(p, std::io::Error::other("is not a directory"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// Creates `p` as a real directory if missing (a link is an error).
fn make_dir(p: &Path) -> Result<()> {
    if check_dir(p)? {
        return Ok(());
    }
    match std::fs::create_dir(p) {
        Ok(()) => Ok(()),
        // Another writer was quicker: check what it made.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => check_dir(p).map(|_| ()),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// fsyncs a directory, so a rename inside it survives a crash.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// A temporary file removed on drop unless it was published.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    fn new(dir: &Path, stem: &str) -> TempFile {
        TempFile {
            path: dir.join(format!(
                "{TMP_PREFIX}{}-{stem}-{:016x}",
                std::process::id(),
                fastrand::u64(..)
            )),
            armed: true,
        }
    }

    /// Renames it to `dest` (after the caller fsynced it), then fsyncs the directory.
    fn publish(mut self, dest: &Path) -> Result<()> {
        std::fs::rename(&self.path, dest).map_err(|e| Error::io(dest, e))?;
        self.armed = false;
        sync_dir(dest.parent().unwrap_or(Path::new(".")))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Creates a new file (never through a link) for writing.
fn create_new(p: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(p)
        .map_err(|e| Error::io(p, e))
}

/// Writes `data` to `dest` durably: temporary file, fsync, rename, fsync dir.
fn write_durable(dest: &Path, data: &[u8]) -> Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let stem = dest
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(16).collect::<String>())
        .unwrap_or_default();
    let tmp = TempFile::new(dir, &stem);
    let mut f = create_new(&tmp.path)?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(&tmp.path, e))?;
    drop(f);
    tmp.publish(dest)
}

/// Whether a temporary file was left by a process that is gone (or is old).
fn is_stale(name: &str, modified: Option<SystemTime>) -> bool {
    let old = modified
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age > STALE_AFTER);
    if old {
        return true;
    }
    let pid = name
        .strip_prefix(TMP_PREFIX)
        .and_then(|rest| rest.split('-').next())
        .and_then(|p| p.parse::<i32>().ok())
        .filter(|p| *p > 0);
    match pid {
        #[cfg(unix)]
        Some(pid) if pid != std::process::id() as i32 => {
            // SAFETY: kill with signal 0 only checks that the process exists.
            let r = unsafe { libc::kill(pid, 0) };
            r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
        }
        _ => false,
    }
}

/// Removes stale temporary files directly inside `dir`.
fn sweep_dir(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(TMP_PREFIX) {
            continue;
        }
        let Ok(m) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if (m.is_file() || m.file_type().is_symlink()) && is_stale(&name, m.modified().ok()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("file task failed: {e}")))?
}

/// The entries of an index document.
fn entries(index: &Value) -> Vec<Value> {
    index
        .get("manifests")
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default()
}

fn ref_name(e: &Value) -> Option<&str> {
    e.get("annotations")?.get(REF_NAME)?.as_str()
}

fn read_index_at(root: &Path) -> Result<Value> {
    let p = root.join("index.json");
    match read_small(&p, MAX_INDEX, "index.json")? {
        Some(b) => serde_json::from_slice(&b).map_err(|e| Error::InvalidManifest {
            what: p.display().to_string(),
            reason: e.to_string(),
        }),
        None => Ok(json!({"schemaVersion": 2, "manifests": []})),
    }
}

/// The blob file of `d` under `root`, its directories checked (no links).
fn blob_file(root: &Path, d: &Digest) -> Result<Option<PathBuf>> {
    let blobs = root.join("blobs");
    let alg = blobs.join(d.algorithm());
    if !check_dir(&blobs)? || !check_dir(&alg)? {
        return Ok(None);
    }
    Ok(Some(alg.join(d.hex())))
}

/// Whether blob `d` is present with `size` bytes (and, when small, its digest).
fn blob_intact(root: &Path, d: &Digest, size: u64) -> Result<bool> {
    let Some(p) = blob_file(root, d)? else {
        return Ok(false);
    };
    let m = match std::fs::symlink_metadata(&p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(&p, e)),
    };
    if !m.is_file() || m.len() != size {
        return Ok(false);
    }
    if size > VERIFY_UP_TO {
        return Ok(true);
    }
    Ok(read_small(&p, VERIFY_UP_TO, "blob")?.is_some_and(|b| d.matches(&b)))
}

/// Reads manifest `d` if present and intact (a link, an oversized or a
/// corrupted file counts as absent: the next write replaces it).
fn manifest_bytes(root: &Path, d: &Digest) -> Result<Option<Vec<u8>>> {
    let Some(p) = blob_file(root, d)? else {
        return Ok(None);
    };
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&p, e)),
    }
    match read_small(&p, MAX_MANIFEST, "manifest") {
        Ok(Some(b)) if d.matches(&b) => Ok(Some(b)),
        Ok(_) | Err(Error::InvalidManifest { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether manifest `top` and everything it references are present and intact.
fn image_complete(root: &Path, top: &Digest, media_type: Option<String>) -> Result<bool> {
    let mut stack = vec![(top.clone(), media_type)];
    let mut seen = std::collections::HashSet::new();
    while let Some((d, mt)) = stack.pop() {
        if !seen.insert(d.clone()) {
            continue;
        }
        if seen.len() > MAX_NODES {
            return Ok(false);
        }
        let Some(bytes) = manifest_bytes(root, &d)? else {
            return Ok(false);
        };
        let Some(mt) = mt
            .filter(|m| media::is_manifest_type(m))
            .or_else(|| detect_media_type(&bytes, None))
        else {
            return Ok(false);
        };
        match media::parse(d.as_str(), &mt, &bytes) {
            Ok(Parsed::Index(children)) => {
                for c in children {
                    stack.push((c.digest, Some(c.media_type)));
                }
            }
            Ok(Parsed::Image { config, layers }) => {
                for b in std::iter::once(config).chain(layers) {
                    if !blob_intact(root, &b.digest, b.size)? {
                        return Ok(false);
                    }
                }
            }
            Err(_) => return Ok(false),
        }
    }
    Ok(true)
}

impl Layout {
    /// A layout rooted at `root` (created on first write).
    pub fn new(root: &Path) -> Self {
        Layout {
            root: root.to_path_buf(),
            index_lock: Arc::new(tokio::sync::Mutex::new(())),
            swept: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    async fn read_index(&self) -> Result<Value> {
        let root = self.root.clone();
        blocking(move || read_index_at(&root)).await
    }

    /// Finds the descriptor for a tag, a digest, or "" (the only image).
    async fn resolve(&self, reference: &str) -> Result<Option<(Digest, Option<String>)>> {
        let index = self.read_index().await?;
        let entries = entries(&index);
        let pick = |e: &Value| -> Option<(Digest, Option<String>)> {
            let d = e.get("digest")?.as_str()?.parse().ok()?;
            let mt = e
                .get("mediaType")
                .and_then(|m| m.as_str())
                .map(str::to_string);
            Some((d, mt))
        };
        if reference.is_empty() {
            // Referrer tags (`sha256-<hex>`, cosign's) are not images of their own.
            let images: Vec<&Value> = entries
                .iter()
                .filter(|e| !ref_name(e).is_some_and(is_referrer_tag))
                .collect();
            return match images.as_slice() {
                [one] => Ok(pick(one)),
                [] => Ok(None),
                _ => Err(Error::Usage(format!(
                    "oci:{} holds {} images; name one with oci:PATH:TAG",
                    self.root.display(),
                    images.len()
                ))),
            };
        }
        if let Ok(d) = reference.parse::<Digest>() {
            let mt = entries
                .iter()
                .find(|e| e.get("digest").and_then(|x| x.as_str()) == Some(d.as_str()))
                .and_then(|e| {
                    e.get("mediaType")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                });
            return Ok(Some((d, mt)));
        }
        Ok(entries
            .iter()
            .find(|e| ref_name(e) == Some(reference))
            .and_then(pick))
    }

    /// HEAD a manifest by tag or digest: its file is there (not a link).
    pub async fn head_manifest(&self, reference: &str) -> Result<Option<ManifestHead>> {
        let Some((d, mt)) = self.resolve(reference).await? else {
            return Ok(None);
        };
        let root = self.root.clone();
        let digest = d.clone();
        let size = blocking(move || {
            let Some(p) = blob_file(&root, &digest)? else {
                return Ok(None);
            };
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => Err(link_error(&p)),
                Ok(m) if m.is_file() => Ok(Some(m.len())),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io(&p, e)),
            }
        })
        .await?;
        Ok(size.map(|size| ManifestHead {
            digest: Some(d),
            media_type: mt,
            size: Some(size),
        }))
    }

    /// Like [`Layout::head_manifest`], but only when the manifest and
    /// everything it references are present and intact (sizes; digests of
    /// manifests and small blobs): a destination is not trusted by file
    /// existence.
    pub async fn head_complete(&self, reference: &str) -> Result<Option<ManifestHead>> {
        let Some((d, mt)) = self.resolve(reference).await? else {
            return Ok(None);
        };
        let root = self.root.clone();
        let (digest, media_type) = (d.clone(), mt.clone());
        let complete = blocking(move || image_complete(&root, &digest, media_type)).await?;
        if !complete {
            return Ok(None);
        }
        self.head_manifest(d.as_str()).await.map(|h| {
            h.map(|mut h| {
                h.media_type = h.media_type.or(mt);
                h
            })
        })
    }

    /// Reads and verifies a manifest.
    pub async fn get_manifest(&self, reference: &str) -> Result<Manifest> {
        let what = format!("manifest {reference:?} in oci:{}", self.root.display());
        let (d, mt) = self
            .resolve(reference)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: what.clone(),
                detail: String::new(),
            })?;
        let root = self.root.clone();
        let digest = d.clone();
        let read = blocking(move || match blob_file(&root, &digest)? {
            Some(p) => read_small(&p, MAX_MANIFEST, "manifest").map(|b| b.map(|b| (p, b))),
            None => Ok(None),
        })
        .await?;
        let Some((p, bytes)) = read else {
            return Err(Error::NotFound {
                what,
                detail: format!("blob {d} is missing"),
            });
        };
        let bytes = Bytes::from(bytes);
        if !d.matches(&bytes) {
            return Err(Error::DigestMismatch {
                digest: d.to_string(),
                detail: format!("{} is corrupted", p.display()),
            });
        }
        let media_type = mt
            .or_else(|| detect_media_type(&bytes, None))
            .ok_or_else(|| Error::InvalidManifest {
                what,
                reason: "unknown media type".into(),
            })?;
        Ok(Manifest {
            bytes,
            media_type,
            digest: d,
        })
    }

    /// Creates the layout's directories for blobs of `d`'s algorithm (never
    /// through a link), removes stale temporary files once, and writes
    /// `oci-layout` if missing. Returns the blob directory.
    async fn prepare(&self, d: &Digest) -> Result<PathBuf> {
        let root = self.root.clone();
        let alg = d.algorithm().to_string();
        let sweep = !self.swept.swap(true, Ordering::SeqCst);
        blocking(move || {
            std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
            let blobs = root.join("blobs");
            make_dir(&blobs)?;
            let dir = blobs.join(&alg);
            make_dir(&dir)?;
            if sweep {
                sweep_dir(&root);
                if let Ok(algs) = std::fs::read_dir(&blobs) {
                    for a in algs.flatten() {
                        if check_dir(&a.path()).unwrap_or(false) {
                            sweep_dir(&a.path());
                        }
                    }
                }
            }
            let marker = root.join("oci-layout");
            match std::fs::symlink_metadata(&marker) {
                Ok(m) if m.file_type().is_symlink() => return Err(link_error(&marker)),
                Ok(_) => {}
                Err(_) => write_durable(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)?,
            }
            Ok(dir)
        })
        .await
    }

    /// Stores a manifest blob; for the image root, records it in `index.json`
    /// under the tag (replacing an older entry of that tag), under the
    /// layout's file lock.
    pub async fn put_manifest(&self, reference: &str, m: &Manifest, top: bool) -> Result<()> {
        let dir = self.prepare(&m.digest).await?;
        let (root, digest, bytes) = (self.root.clone(), m.digest.clone(), m.bytes.clone());
        blocking(move || {
            if manifest_bytes(&root, &digest)?.is_none() {
                write_durable(&dir.join(digest.hex()), &bytes)?;
            }
            Ok(())
        })
        .await?;
        if !top {
            return Ok(());
        }
        let tag = (reference.parse::<Digest>().is_err()).then(|| reference.to_string());
        let mut desc = json!({
            "mediaType": m.media_type,
            "digest": m.digest.as_str(),
            "size": m.bytes.len(),
        });
        if let Some(t) = &tag {
            desc["annotations"] = json!({ REF_NAME: t });
        }
        let digest = m.digest.to_string();
        let _guard = self.index_lock.lock().await;
        let root = self.root.clone();
        blocking(move || {
            // Other processes: an advisory lock on the layout directory for
            // the whole read-modify-write of index.json.
            let lock = std::fs::File::open(&root).map_err(|e| Error::io(&root, e))?;
            fs4::FileExt::lock(&lock).map_err(|e| Error::io(&root, e))?;
            let mut index = read_index_at(&root)?;
            let mut list = entries(&index);
            list.retain(|e| match &tag {
                Some(t) => ref_name(e) != Some(t.as_str()),
                None => {
                    ref_name(e).is_some()
                        || e.get("digest").and_then(|x| x.as_str()) != Some(digest.as_str())
                }
            });
            list.push(desc);
            index["schemaVersion"] = json!(2);
            index["manifests"] = Value::Array(list);
            let bytes = serde_json::to_vec_pretty(&index).map_err(|e| Error::InvalidManifest {
                what: "index.json".into(),
                reason: e.to_string(),
            })?;
            write_durable(&root.join("index.json"), &bytes)?;
            drop(lock);
            Ok(())
        })
        .await
    }

    /// Size of a blob if present (a regular file, not a link).
    pub async fn blob_size(&self, d: &Digest) -> Result<Option<u64>> {
        let root = self.root.clone();
        let d = d.clone();
        blocking(move || {
            let Some(p) = blob_file(&root, &d)? else {
                return Ok(None);
            };
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_file() => Ok(Some(m.len())),
                Ok(_) => Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io(&p, e)),
            }
        })
        .await
    }

    /// Whether a blob is present and intact: `size` bytes, and the right
    /// digest when it is small enough to hash cheaply.
    pub async fn has_blob(&self, d: &Digest, size: u64) -> Result<bool> {
        let root = self.root.clone();
        let d = d.clone();
        blocking(move || blob_intact(&root, &d, size)).await
    }

    /// Streams a blob from disk (never through a link).
    pub async fn get_blob(&self, d: &Digest) -> Result<ByteStream> {
        let root = self.root.clone();
        let digest = d.clone();
        let not_found = || Error::NotFound {
            what: format!("blob {d} in oci:{}", self.root.display()),
            detail: String::new(),
        };
        let opened = blocking(move || {
            let Some(p) = blob_file(&root, &digest)? else {
                return Ok(None);
            };
            match open_nofollow(&p) {
                Ok(f) => Ok(Some((p, f))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) if is_link_error(&e) => Err(link_error(&p)),
                Err(e) => Err(Error::io(&p, e)),
            }
        })
        .await?;
        let Some((p, f)) = opened else {
            return Err(not_found());
        };
        let f = tokio::fs::File::from_std(f);
        Ok(tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024)
            .map_err(move |e| Error::io(&p, e))
            .boxed())
    }

    /// Writes a blob from a (verifying) stream: a temporary file, fsynced,
    /// then renamed into place and the directory fsynced. The temporary
    /// file is removed if anything fails or the copy is cancelled.
    pub async fn write_blob(&self, d: &Digest, mut body: ByteStream) -> Result<()> {
        let dir = self.prepare(d).await?;
        let dest = dir.join(d.hex());
        let tmp = TempFile::new(&dir, &d.hex().chars().take(12).collect::<String>());
        // Created here, not on a blocking thread: a cancelled copy (SIGTERM)
        // drops `tmp` and removes the file, which a create still queued on
        // another thread could bring back after the guard is gone.
        let std_file = create_new(&tmp.path)?;
        let mut f = tokio::fs::File::from_std(std_file);
        while let Some(chunk) = body.next().await {
            f.write_all(&chunk?)
                .await
                .map_err(|e| Error::io(&tmp.path, e))?;
        }
        f.flush().await.map_err(|e| Error::io(&tmp.path, e))?;
        f.sync_all().await.map_err(|e| Error::io(&tmp.path, e))?;
        drop(f);
        blocking(move || tmp.publish(&dest)).await
    }

    /// Removes a tag from `index.json` (the blobs stay), under the layout's
    /// file lock; `false` when absent.
    pub async fn delete_tag(&self, tag: &str) -> Result<bool> {
        let _guard = self.index_lock.lock().await;
        let root = self.root.clone();
        let tag = tag.to_string();
        blocking(move || {
            let lock = std::fs::File::open(&root).map_err(|e| Error::io(&root, e))?;
            fs4::FileExt::lock(&lock).map_err(|e| Error::io(&root, e))?;
            let mut index = read_index_at(&root)?;
            let mut list = entries(&index);
            let before = list.len();
            list.retain(|e| ref_name(e) != Some(tag.as_str()));
            if list.len() == before {
                return Ok(false);
            }
            index["manifests"] = Value::Array(list);
            let bytes = serde_json::to_vec_pretty(&index).map_err(|e| Error::InvalidManifest {
                what: "index.json".into(),
                reason: e.to_string(),
            })?;
            write_durable(&root.join("index.json"), &bytes)?;
            drop(lock);
            Ok(true)
        })
        .await
    }

    /// Tags recorded in `index.json`; ref names that are not valid tags
    /// are set aside (they could not be used in a registry URL).
    pub async fn tags(&self) -> Result<Checked> {
        let index = self.read_index().await?;
        let names = entries(&index)
            .iter()
            .filter_map(|e| ref_name(e).map(str::to_string))
            .collect::<Vec<_>>();
        Ok(Checked::of(
            NameKind::Tag,
            &format!("oci:{} index.json", self.root.display()),
            names,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporary_files() {
        let now = SystemTime::now();
        let old = now - Duration::from_secs(7200);
        assert!(is_stale(".tmp-12345", Some(old)), "old is stale");
        assert!(!is_stale(
            &format!(".tmp-{}-x-1", std::process::id()),
            Some(now)
        ));
        // A process that has exited.
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        assert!(is_stale(&format!(".tmp-{pid}-abc-1"), Some(now)));
        assert!(!is_stale(".tmp-notapid-x", Some(now)));
    }

    #[test]
    fn temporary_files_go_away_unless_published() {
        let dir = tempfile::tempdir().unwrap();
        let t = TempFile::new(dir.path(), "x");
        std::fs::write(&t.path, b"partial").unwrap();
        let p = t.path.clone();
        drop(t);
        assert!(!p.exists());
        write_durable(&dir.path().join("f"), b"data").unwrap();
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"data");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"secret").unwrap();
        let root = dir.path().join("layout");
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        let d = Digest::sha256_of(b"secret");
        std::os::unix::fs::symlink(&outside, root.join("blobs/sha256").join(d.hex())).unwrap();
        assert!(!blob_intact(&root, &d, 6).unwrap());
        assert!(matches!(
            read_small(&root.join("blobs/sha256").join(d.hex()), 10, "x"),
            Err(Error::Io { .. })
        ));
        let root2 = dir.path().join("layout2");
        std::fs::create_dir_all(&root2).unwrap();
        std::os::unix::fs::symlink(dir.path(), root2.join("blobs")).unwrap();
        assert!(blob_file(&root2, &d).is_err());
    }
}
