//! Manifest media types: the full Accept list (so no registry converts a
//! manifest and changes its digest) and a generic walk over manifest JSON
//! that finds every descriptor, whatever nesting the image uses.

use oci_client::manifest::{
    ImageIndexEntry, OciDescriptor, OciImageIndex, OciImageManifest,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};

use crate::error::Error;
use crate::types::{Digest, Platform};

/// Docker v2 schema 2 manifest.
pub const DOCKER_MANIFEST: &str = IMAGE_MANIFEST_MEDIA_TYPE;
/// Docker manifest list.
pub const DOCKER_LIST: &str = IMAGE_MANIFEST_LIST_MEDIA_TYPE;
/// OCI image manifest.
pub const OCI_MANIFEST: &str = OCI_IMAGE_MEDIA_TYPE;
/// OCI image index.
pub const OCI_INDEX: &str = OCI_IMAGE_INDEX_MEDIA_TYPE;

/// The Accept header value sent on every manifest request.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Annotation recording, in a `--platform`-filtered index, the digest of the
/// source index it was cut from…
pub const ANN_SOURCE: &str = "dev.crossdock.source.digest";
/// …and the platforms kept, so a rerun can tell "unchanged" with HEADs.
pub const ANN_PLATFORMS: &str = "dev.crossdock.platforms";

/// The (source digest, platforms) a filtered index records, if any.
pub fn filtered_from(bytes: &[u8]) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let a = v.get("annotations")?;
    Some((
        a.get(ANN_SOURCE)?.as_str()?.to_string(),
        a.get(ANN_PLATFORMS)?.as_str()?.to_string(),
    ))
}

/// Whether a media type names an index (OCI index or Docker list).
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

/// Whether a media type is one of the manifest types we understand.
pub fn is_manifest_type(media_type: &str) -> bool {
    matches!(
        media_type,
        OCI_INDEX | DOCKER_LIST | OCI_MANIFEST | DOCKER_MANIFEST
    )
}

/// A reference from one object to another, as found in a manifest.
#[derive(Clone, Debug)]
pub struct Descriptor {
    /// Media type of the target.
    pub media_type: String,
    /// Digest of the target.
    pub digest: Digest,
    /// Size of the target in bytes.
    pub size: u64,
    /// Platform, for index entries that carry one.
    pub platform: Option<Platform>,
}

/// What a manifest's bytes say about the objects below it.
#[derive(Clone, Debug)]
pub enum Parsed {
    /// An index: child manifests.
    Index(Vec<Descriptor>),
    /// An image manifest: config then layers (blobs).
    Image {
        /// Config blob.
        config: Descriptor,
        /// Layer blobs, in order (a digest may repeat).
        layers: Vec<Descriptor>,
    },
}

/// Works out the media type of manifest bytes: the `mediaType` field if
/// present, else the transport's content type, else by shape.
pub fn detect_media_type(bytes: &[u8], content_type: Option<&str>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if let Some(mt) = v.get("mediaType").and_then(|m| m.as_str()) {
        return Some(mt.to_string());
    }
    if let Some(ct) = content_type {
        let ct = ct.split(';').next().unwrap_or("").trim();
        if is_manifest_type(ct) {
            return Some(ct.to_string());
        }
    }
    if v.get("manifests").is_some() {
        Some(OCI_INDEX.to_string())
    } else if v.get("config").is_some() {
        Some(OCI_MANIFEST.to_string())
    } else {
        None
    }
}

fn descriptor(what: &str, d: &OciDescriptor) -> Result<Descriptor, Error> {
    Ok(Descriptor {
        media_type: d.media_type.clone(),
        digest: parse_digest(what, &d.digest)?,
        size: size(what, d.size)?,
        platform: None,
    })
}

fn entry(what: &str, e: &ImageIndexEntry) -> Result<Descriptor, Error> {
    Ok(Descriptor {
        media_type: e.media_type.clone(),
        digest: parse_digest(what, &e.digest)?,
        size: size(what, e.size)?,
        platform: e.platform.as_ref().map(Platform::from_oci),
    })
}

fn parse_digest(what: &str, s: &str) -> Result<Digest, Error> {
    s.parse().map_err(|_| Error::InvalidManifest {
        what: what.to_string(),
        reason: format!("bad digest {s:?}"),
    })
}

fn size(what: &str, n: i64) -> Result<u64, Error> {
    u64::try_from(n).map_err(|_| Error::InvalidManifest {
        what: what.to_string(),
        reason: format!("negative size {n}"),
    })
}

/// Parses manifest bytes of a known media type into the descriptors below it.
pub fn parse(what: &str, media_type: &str, bytes: &[u8]) -> Result<Parsed, Error> {
    let bad = |e: serde_json::Error| Error::InvalidManifest {
        what: what.to_string(),
        reason: e.to_string(),
    };
    if is_index(media_type) {
        let idx: OciImageIndex = serde_json::from_slice(bytes).map_err(bad)?;
        let children = idx
            .manifests
            .iter()
            .map(|e| entry(what, e))
            .collect::<Result<_, _>>()?;
        Ok(Parsed::Index(children))
    } else if media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST {
        let m: OciImageManifest = serde_json::from_slice(bytes).map_err(bad)?;
        Ok(Parsed::Image {
            config: descriptor(what, &m.config)?,
            layers: m
                .layers
                .iter()
                .map(|l| descriptor(what, l))
                .collect::<Result<_, _>>()?,
        })
    } else {
        Err(Error::InvalidManifest {
            what: what.to_string(),
            reason: format!("unsupported media type {media_type:?} (Docker schema 1 and other types cannot be copied digest-for-digest)"),
        })
    }
}

/// Rewrites an index keeping only the entries `keep` accepts. Everything
/// else in the JSON is preserved; the result is a new document (new digest).
pub fn filter_index(
    bytes: &[u8],
    keep: impl Fn(&serde_json::Value) -> bool,
    annotations: &[(&str, String)],
) -> Result<Vec<u8>, Error> {
    let mut v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Error::InvalidManifest {
            what: "index".into(),
            reason: e.to_string(),
        })?;
    if let Some(list) = v.get_mut("manifests").and_then(|m| m.as_array_mut()) {
        list.retain(|e| keep(e));
    }
    if !annotations.is_empty() {
        if let Some(obj) = v.as_object_mut() {
            let ann = obj
                .entry("annotations")
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let Some(map) = ann.as_object_mut() {
                for (k, val) in annotations {
                    map.insert(k.to_string(), serde_json::Value::String(val.clone()));
                }
            }
        }
    }
    serde_json::to_vec_pretty(&v).map_err(|e| Error::InvalidManifest {
        what: "index".into(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_types() {
        let idx = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(detect_media_type(idx, None).as_deref(), Some(OCI_INDEX));
        let dl = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#;
        assert_eq!(detect_media_type(dl, None).as_deref(), Some(DOCKER_LIST));
        let m = br#"{"schemaVersion":2,"config":{}}"#;
        assert_eq!(
            detect_media_type(m, Some(DOCKER_MANIFEST)).as_deref(),
            Some(DOCKER_MANIFEST)
        );
        assert!(detect_media_type(b"not json", None).is_none());
    }

    #[test]
    fn parses_image_with_repeated_layers() {
        let d = Digest::sha256_of(b"x");
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"c","digest":"{d}","size":1}},"layers":[{{"mediaType":"l","digest":"{d}","size":1}},{{"mediaType":"l","digest":"{d}","size":1}}]}}"#
        );
        match parse("m", OCI_MANIFEST, m.as_bytes()).unwrap() {
            Parsed::Image { layers, .. } => assert_eq!(layers.len(), 2),
            Parsed::Index(_) => panic!("expected image"),
        }
    }

    #[test]
    fn refuses_schema1() {
        assert!(parse(
            "m",
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            b"{}"
        )
        .is_err());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn desc() -> impl Strategy<Value = String> {
            (
                "sha256:[0-9a-f]{64}|sha256:[0-9a-g]{0,66}|\\PC{0,10}",
                any::<i64>(),
                "[a-z/.+0-9]{0,30}",
            )
                .prop_map(|(d, size, mt)| {
                    format!(
                        r#"{{"mediaType":"{mt}","digest":{},"size":{size}}}"#,
                        serde_json::Value::String(d)
                    )
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn manifests_never_panic(
                raw in proptest::collection::vec(any::<u8>(), 0..200),
                config in desc(),
                layers in proptest::collection::vec(desc(), 0..4),
                ct in "\\PC{0,40}",
            ) {
                for mt in [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST, "x"] {
                    let _ = parse("m", mt, &raw);
                }
                let _ = detect_media_type(&raw, Some(&ct));
                let m = format!(r#"{{"schemaVersion":2,"config":{config},"layers":[{}]}}"#, layers.join(","));
                let _ = detect_media_type(m.as_bytes(), None);
                if let Ok(Parsed::Image { layers: l, .. }) = parse("m", OCI_MANIFEST, m.as_bytes()) {
                    prop_assert_eq!(l.len(), layers.len());
                }
                let idx = format!(r#"{{"schemaVersion":2,"manifests":[{}]}}"#, layers.join(","));
                let _ = parse("i", OCI_INDEX, idx.as_bytes());
                let _ = filter_index(idx.as_bytes(), |_| true, &[("a", "b".into())]);
                let _ = filtered_from(&raw);
            }
        }
    }
}
