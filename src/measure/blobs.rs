//! The unique blobs of a set of images: what a registry really stores for
//! them, a layer shared by several images or platforms counted once. Each
//! image's manifest tree is walked with the shared [`TreeWalk`] bookkeeping
//! (the copy engine's plan walks the same way), so a child manifest listed
//! by several indexes is fetched once. Manifest GETs are free on ECR and
//! pulls on Docker Hub: callers walk only where that costs nothing.
//!
//! Imports `registry` and `types`; never `mirror` or the CLI.

use crate::error::Result;
use crate::registry::{Manifest, Remote};
use crate::types::tree::{Node, TreeWalk};

/// The unique blobs of the images added so far.
#[derive(Debug, Default)]
pub struct ImageBlobs {
    walk: TreeWalk,
    images: usize,
}

impl ImageBlobs {
    /// Nothing counted yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Walks the image `reference` of `remote` (an index and its platform
    /// images, or one image) and counts its blobs not seen before. Returns
    /// the top manifest.
    pub async fn add_image(&mut self, remote: &Remote, reference: &str) -> Result<Manifest> {
        let top = remote.get_manifest(reference).await?;
        self.images += 1;
        let mut stack = vec![top.clone()];
        while let Some(m) = stack.pop() {
            if let Node::Index(children) = self.walk.visit(&m.digest, &m.media_type, &m.bytes)? {
                for c in children {
                    stack.push(remote.get_manifest(c.digest.as_str()).await?);
                }
            }
        }
        Ok(top)
    }

    /// Images added.
    pub fn images(&self) -> usize {
        self.images
    }

    /// Bytes of their unique blobs (configs and layers).
    pub fn bytes(&self) -> u64 {
        self.walk.blob_bytes()
    }

    /// How many unique blobs.
    pub fn blobs(&self) -> usize {
        self.walk.blob_count()
    }
}
