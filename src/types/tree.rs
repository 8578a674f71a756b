//! The bookkeeping of a walk over manifest trees, shared by every walker
//! (the copy engine's plan, `measure`'s unique blobs of a set of images):
//! each manifest is parsed and expanded once, each blob is counted once —
//! across all the trees of one walk — and one walk visits a bounded number
//! of manifests, so a hostile index cannot make it run forever.
//!
//! Pure: no I/O. The caller fetches the manifests the walk asks for (with
//! whatever that costs on its registry). Imports only `types` and `error`.

use std::collections::HashSet;

use crate::error::Error;
use crate::types::media::{self, Descriptor, Parsed};
use crate::types::Digest;

/// What one manifest adds to the walk.
#[derive(Clone, Debug)]
pub enum Node {
    /// An index: its children not seen before in this walk (to fetch next).
    Index(Vec<Descriptor>),
    /// An image manifest: its config and layers not seen before in this walk.
    Image(Vec<Descriptor>),
}

/// Manifests and blobs seen so far.
#[derive(Debug)]
pub struct TreeWalk {
    /// Manifests parsed and expanded.
    expanded: HashSet<Digest>,
    /// Children handed out to fetch (or expanded already).
    queued: HashSet<Digest>,
    blobs: HashSet<Digest>,
    visited: usize,
    bytes: u64,
    limit: usize,
}

impl Default for TreeWalk {
    fn default() -> Self {
        Self::new()
    }
}

impl TreeWalk {
    /// The most manifests one walk visits before it refuses.
    pub const MAX_MANIFESTS: usize = 100_000;

    /// An empty walk.
    pub fn new() -> Self {
        TreeWalk {
            expanded: HashSet::new(),
            queued: HashSet::new(),
            blobs: HashSet::new(),
            visited: 0,
            bytes: 0,
            limit: Self::MAX_MANIFESTS,
        }
    }

    /// Whether the manifest `d` was visited, or handed out as a child to fetch.
    pub fn seen_manifest(&self, d: &Digest) -> bool {
        self.queued.contains(d) || self.expanded.contains(d)
    }

    /// Parses one manifest and returns what is new in it: the children to
    /// fetch, or the blobs not counted yet. A manifest seen before adds
    /// nothing (an empty node of its kind).
    pub fn visit(
        &mut self,
        digest: &Digest,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Node, Error> {
        self.visited = self.visited.saturating_add(1);
        if self.visited > self.limit {
            return Err(Error::InvalidManifest {
                what: "manifest tree".into(),
                reason: format!("more than {} manifests", self.limit),
            });
        }
        let first = self.expanded.insert(digest.clone());
        self.queued.insert(digest.clone());
        let parsed = media::parse(digest.as_str(), media_type, bytes)?;
        Ok(match parsed {
            Parsed::Index(_) if !first => Node::Index(Vec::new()),
            Parsed::Image { .. } if !first => Node::Image(Vec::new()),
            Parsed::Index(children) => Node::Index(
                children
                    .into_iter()
                    .filter(|c| self.queued.insert(c.digest.clone()))
                    .collect(),
            ),
            Parsed::Image { config, layers } => Node::Image(
                std::iter::once(config)
                    .chain(layers)
                    .filter(|b| self.add_blob(&b.digest, b.size))
                    .collect(),
            ),
        })
    }

    /// Counts a blob known from elsewhere (a size the Docker Hub API
    /// reports); `false` when it was counted already.
    pub fn add_blob(&mut self, d: &Digest, size: u64) -> bool {
        let new = self.blobs.insert(d.clone());
        if new {
            self.bytes = self.bytes.saturating_add(size);
        }
        new
    }

    /// Bytes of the unique blobs seen.
    pub fn blob_bytes(&self) -> u64 {
        self.bytes
    }

    /// How many unique blobs were seen.
    pub fn blob_count(&self) -> usize {
        self.blobs.len()
    }

    /// How many manifests were visited (repeats included).
    pub fn visited(&self) -> usize {
        self.visited
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::media::{OCI_INDEX, OCI_MANIFEST};

    fn d(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    fn image(config: u8, layers: &[(u8, u64)]) -> Vec<u8> {
        let l: Vec<String> = layers
            .iter()
            .map(|(n, size)| {
                format!(
                    r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":{size}}}"#,
                    d(*n)
                )
            })
            .collect();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":10}},"layers":[{}]}}"#,
            d(config),
            l.join(",")
        )
        .into_bytes()
    }

    fn index(children: &[u8]) -> Vec<u8> {
        let c: Vec<String> = children
            .iter()
            .map(|n| {
                format!(
                    r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":100,"platform":{{"os":"linux","architecture":"amd64"}}}}"#,
                    d(*n)
                )
            })
            .collect();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}]}}"#,
            c.join(",")
        )
        .into_bytes()
    }

    #[test]
    fn blobs_and_children_count_once_across_trees() {
        let mut w = TreeWalk::new();
        // Two images sharing layer 3.
        let Node::Image(a) = w
            .visit(&d(100), OCI_MANIFEST, &image(1, &[(3, 1000), (4, 5)]))
            .unwrap()
        else {
            panic!("image")
        };
        assert_eq!(a.len(), 3);
        let Node::Image(b) = w
            .visit(&d(101), OCI_MANIFEST, &image(2, &[(3, 1000), (3, 1000)]))
            .unwrap()
        else {
            panic!("image")
        };
        assert_eq!(b.len(), 1, "only config 2 is new");
        assert_eq!(w.blob_bytes(), 10 + 1000 + 5 + 10);
        assert_eq!(w.blob_count(), 4);
        // An index listing a visited image and a new one twice.
        let Node::Index(c) = w
            .visit(&d(200), OCI_INDEX, &index(&[100, 102, 102]))
            .unwrap()
        else {
            panic!("index")
        };
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].digest, d(102));
        assert!(w.seen_manifest(&d(102)));
        // The child handed out is expanded when the caller fetched it.
        let Node::Image(e) = w
            .visit(&d(102), OCI_MANIFEST, &image(5, &[(3, 1000), (6, 7)]))
            .unwrap()
        else {
            panic!("image")
        };
        assert_eq!(e.len(), 2, "config 5 and layer 6 are new");
        assert_eq!(w.blob_bytes(), 10 + 1000 + 5 + 10 + 10 + 7);
        // The same index again (a second tag): nothing new.
        let Node::Index(c) = w.visit(&d(200), OCI_INDEX, &index(&[100, 102])).unwrap() else {
            panic!("index")
        };
        assert!(c.is_empty());
        assert!(!w.add_blob(&d(3), 1000));
        assert!(w.add_blob(&d(9), u64::MAX), "sizes from servers saturate");
        assert_eq!(w.visited(), 5);
        assert_eq!(w.blob_bytes(), u64::MAX);
    }

    #[test]
    fn a_walk_is_bounded() {
        let mut w = TreeWalk::new();
        w.limit = 2;
        let m = image(1, &[]);
        w.visit(&d(1), OCI_MANIFEST, &m).unwrap();
        w.visit(&d(2), OCI_MANIFEST, &m).unwrap();
        assert!(matches!(
            w.visit(&d(3), OCI_MANIFEST, &m),
            Err(Error::InvalidManifest { .. })
        ));
        assert!(w.visit(&d(4), "text/plain", b"{}").is_err());
    }
}
