//! An OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`)
//! as a repository: air-gapped export/import and a no-network source. Blobs
//! are written to a temporary name and renamed only once complete and
//! verified; `index.json` is replaced atomically, so a tag never points at
//! something half-written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::registry::{ByteStream, Manifest, ManifestHead};
use crate::types::media::detect_media_type;
use crate::types::name::{Checked, NameKind};
use crate::types::Digest;

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// An OCI layout directory.
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
    index_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Layout {
    /// A layout rooted at `root` (created on first write).
    pub fn new(root: &Path) -> Self {
        Layout {
            root: root.to_path_buf(),
            index_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs").join(d.algorithm()).join(d.hex())
    }

    async fn read_index(&self) -> Result<Value> {
        let p = self.root.join("index.json");
        match tokio::fs::read(&p).await {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::InvalidManifest {
                what: p.display().to_string(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(json!({"schemaVersion": 2, "manifests": []}))
            }
            Err(e) => Err(Error::io(&p, e)),
        }
    }

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

    /// Finds the descriptor for a tag, a digest, or "" (the only image).
    async fn resolve(&self, reference: &str) -> Result<Option<(Digest, Option<String>)>> {
        let index = self.read_index().await?;
        let entries = Self::entries(&index);
        let pick = |e: &Value| -> Option<(Digest, Option<String>)> {
            let d = e.get("digest")?.as_str()?.parse().ok()?;
            let mt = e
                .get("mediaType")
                .and_then(|m| m.as_str())
                .map(str::to_string);
            Some((d, mt))
        };
        if reference.is_empty() {
            return match entries.as_slice() {
                [one] => Ok(pick(one)),
                [] => Ok(None),
                _ => Err(Error::Usage(format!(
                    "oci:{} holds {} images; name one with oci:PATH:TAG",
                    self.root.display(),
                    entries.len()
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
            .find(|e| Self::ref_name(e) == Some(reference))
            .and_then(pick))
    }

    /// HEAD a manifest by tag or digest.
    pub async fn head_manifest(&self, reference: &str) -> Result<Option<ManifestHead>> {
        let Some((d, mt)) = self.resolve(reference).await? else {
            return Ok(None);
        };
        match tokio::fs::metadata(self.blob_path(&d)).await {
            Ok(m) => Ok(Some(ManifestHead {
                digest: Some(d),
                media_type: mt,
                size: Some(m.len()),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(self.blob_path(&d), e)),
        }
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
        let p = self.blob_path(&d);
        let bytes = match tokio::fs::read(&p).await {
            Ok(b) => Bytes::from(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    what,
                    detail: format!("blob {d} is missing"),
                })
            }
            Err(e) => return Err(Error::io(&p, e)),
        };
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

    async fn write_atomic(&self, dest: &Path, data: &[u8]) -> Result<()> {
        let dir = dest.parent().unwrap_or(&self.root);
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Error::io(dir, e))?;
        let tmp = dir.join(format!(".tmp-{}", fastrand::u64(..)));
        tokio::fs::write(&tmp, data)
            .await
            .map_err(|e| Error::io(&tmp, e))?;
        tokio::fs::rename(&tmp, dest)
            .await
            .map_err(|e| Error::io(dest, e))
    }

    async fn ensure_layout_file(&self) -> Result<()> {
        let p = self.root.join("oci-layout");
        if tokio::fs::metadata(&p).await.is_err() {
            self.write_atomic(&p, br#"{"imageLayoutVersion":"1.0.0"}"#)
                .await?;
        }
        Ok(())
    }

    /// Stores a manifest blob; for the image root, records it in `index.json`
    /// under the tag (replacing an older entry of that tag).
    pub async fn put_manifest(&self, reference: &str, m: &Manifest, top: bool) -> Result<()> {
        self.ensure_layout_file().await?;
        let p = self.blob_path(&m.digest);
        if tokio::fs::metadata(&p).await.is_err() {
            self.write_atomic(&p, &m.bytes).await?;
        }
        if !top {
            return Ok(());
        }
        let _guard = self.index_lock.lock().await;
        let mut index = self.read_index().await?;
        let tag = (reference.parse::<Digest>().is_err()).then_some(reference);
        let mut entries = Self::entries(&index);
        entries.retain(|e| match tag {
            Some(t) => Self::ref_name(e) != Some(t),
            None => {
                Self::ref_name(e).is_some()
                    || e.get("digest").and_then(|x| x.as_str()) != Some(m.digest.as_str())
            }
        });
        let mut desc = json!({
            "mediaType": m.media_type,
            "digest": m.digest.as_str(),
            "size": m.bytes.len(),
        });
        if let Some(t) = tag {
            desc["annotations"] = json!({ REF_NAME: t });
        }
        entries.push(desc);
        index["schemaVersion"] = json!(2);
        index["manifests"] = Value::Array(entries);
        let bytes = serde_json::to_vec_pretty(&index).map_err(|e| Error::InvalidManifest {
            what: "index.json".into(),
            reason: e.to_string(),
        })?;
        self.write_atomic(&self.root.join("index.json"), &bytes)
            .await
    }

    /// Size of a blob if present.
    pub async fn blob_size(&self, d: &Digest) -> Result<Option<u64>> {
        match tokio::fs::metadata(self.blob_path(d)).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(self.blob_path(d), e)),
        }
    }

    /// Streams a blob from disk.
    pub async fn get_blob(&self, d: &Digest) -> Result<ByteStream> {
        let p = self.blob_path(d);
        let f = tokio::fs::File::open(&p).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::NotFound {
                    what: format!("blob {d} in oci:{}", self.root.display()),
                    detail: String::new(),
                }
            } else {
                Error::io(&p, e)
            }
        })?;
        let shown = p.clone();
        Ok(tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024)
            .map_err(move |e| Error::io(&shown, e))
            .boxed())
    }

    /// Writes a blob from a (verifying) stream: temp file, then rename.
    pub async fn write_blob(&self, d: &Digest, mut body: ByteStream) -> Result<()> {
        let dest = self.blob_path(d);
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| Error::io(&dir, e))?;
        let tmp = dir.join(format!(".tmp-{}-{}", d.hex(), fastrand::u64(..)));
        let result = async {
            let mut f = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| Error::io(&tmp, e))?;
            while let Some(chunk) = body.next().await {
                f.write_all(&chunk?).await.map_err(|e| Error::io(&tmp, e))?;
            }
            f.flush().await.map_err(|e| Error::io(&tmp, e))?;
            tokio::fs::rename(&tmp, &dest)
                .await
                .map_err(|e| Error::io(&dest, e))
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    /// Tags recorded in `index.json`; ref names that are not valid tags
    /// are set aside (they could not be used in a registry URL).
    pub async fn tags(&self) -> Result<Checked> {
        let index = self.read_index().await?;
        let names = Self::entries(&index)
            .iter()
            .filter_map(|e| Self::ref_name(e).map(str::to_string))
            .collect::<Vec<_>>();
        Ok(Checked::of(
            NameKind::Tag,
            &format!("oci:{} index.json", self.root.display()),
            names,
        ))
    }
}
