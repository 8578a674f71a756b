//! Names of supply-chain artifacts that live in tags: the OCI referrers tag
//! schema (`sha256-<hex>`, an index of an image's referrers, for registries
//! without the referrers API) and cosign's tag convention
//! (`sha256-<hex>.sig`, `.att`, `.sbom`). Parsing is strict (lowercase hex of
//! the exact length), so a tag read from a listing is validated by being
//! recognised; and the referrers lists (API answers and fallback indexes)
//! those schemes carry. Imports `crate::error` and `crate::types`.

use std::fmt;

use serde::Serialize;

use crate::error::Error;
use crate::types::Digest;

/// Annotation on an index or entry: the artifact type of a referrer.
pub const ARTIFACT_TYPE: &str = "artifactType";

/// Annotation a merged fallback index carries: the digest of the source's
/// fallback index it was merged from (a rerun compares it with a HEAD).
pub const ANN_REFERRERS_SOURCE: &str = "dev.crossdock.referrers.source";

/// Annotation next to [`ANN_REFERRERS_SOURCE`]: the `--referrers-type`
/// filter in force when it was merged ("" = all types).
pub const ANN_REFERRERS_TYPES: &str = "dev.crossdock.referrers.types";

/// The kinds of cosign tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CosignKind {
    /// `.sig`: a signature.
    Sig,
    /// `.att`: an attestation.
    Att,
    /// `.sbom`: an SBOM.
    Sbom,
}

impl CosignKind {
    /// Every kind, in tag-suffix order.
    pub const ALL: [CosignKind; 3] = [CosignKind::Sig, CosignKind::Att, CosignKind::Sbom];

    /// The tag suffix without the dot.
    pub fn suffix(self) -> &'static str {
        match self {
            CosignKind::Sig => "sig",
            CosignKind::Att => "att",
            CosignKind::Sbom => "sbom",
        }
    }

    /// The artifact type `--referrers-type` matches for this kind (the media
    /// type of the payload cosign stores).
    pub fn artifact_type(self) -> &'static str {
        match self {
            CosignKind::Sig => "application/vnd.dev.cosign.simplesigning.v1+json",
            CosignKind::Att => "application/vnd.dsse.envelope.v1+json",
            CosignKind::Sbom => "application/vnd.dev.cosign.artifact.sbom.v1+json",
        }
    }
}

/// What a referrer-ish tag names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReferrerTag {
    /// `sha256-<hex>`: the fallback index of the referrers of that digest.
    Fallback(Digest),
    /// `sha256-<hex>.sig|.att|.sbom`: a cosign artifact of that digest.
    Cosign(Digest, CosignKind),
}

impl ReferrerTag {
    /// Recognises a tag; `None` for every other tag.
    pub fn parse(tag: &str) -> Option<ReferrerTag> {
        let (base, suffix) = match tag.split_once('.') {
            Some((b, s)) => (b, Some(s)),
            None => (tag, None),
        };
        let (alg, hex) = base.split_once('-')?;
        if alg != "sha256" {
            return None;
        }
        let digest: Digest = format!("{alg}:{hex}").parse().ok()?;
        match suffix {
            None => Some(ReferrerTag::Fallback(digest)),
            Some(s) => CosignKind::ALL
                .into_iter()
                .find(|k| k.suffix() == s)
                .map(|k| ReferrerTag::Cosign(digest, k)),
        }
    }

    /// The subject digest the tag belongs to.
    pub fn subject(&self) -> &Digest {
        match self {
            ReferrerTag::Fallback(d) | ReferrerTag::Cosign(d, _) => d,
        }
    }
}

impl fmt::Display for ReferrerTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferrerTag::Fallback(d) => write!(f, "{}-{}", d.algorithm(), d.hex()),
            ReferrerTag::Cosign(d, k) => write!(f, "{}-{}.{}", d.algorithm(), d.hex(), k.suffix()),
        }
    }
}

/// Whether a tag belongs to the referrer schemes (never an image tag of its own).
pub fn is_referrer_tag(tag: &str) -> bool {
    ReferrerTag::parse(tag).is_some()
}

/// One entry of a referrers list (the referrers API's answer or a fallback
/// index): a manifest whose `subject` is the image.
#[derive(Clone, Debug)]
pub struct Referrer {
    /// The artifact manifest's digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its artifact type, when the entry says.
    pub artifact_type: Option<String>,
    /// The entry exactly as found (kept when merging a fallback index).
    pub entry: serde_json::Value,
}

/// A referrers list: the entries and the index's own annotations.
#[derive(Clone, Debug, Default)]
pub struct ReferrerList {
    /// The referrers.
    pub entries: Vec<Referrer>,
    /// The index's annotations (for a merged fallback index, what it came from).
    pub annotations: serde_json::Map<String, serde_json::Value>,
}

/// Most entries accepted in one referrers list (a hostile index could list millions).
pub const MAX_REFERRERS: usize = 10_000;

/// Parses an index of referrers (referrers API page or fallback tag), checking
/// every entry's digest and size.
pub fn parse_list(what: &str, bytes: &[u8]) -> Result<ReferrerList, Error> {
    let bad = |reason: String| Error::InvalidManifest {
        what: what.to_string(),
        reason,
    };
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
    let list = match v.get("manifests") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(_) => return Err(bad("\"manifests\" is not a list".into())),
    };
    if list.len() > MAX_REFERRERS {
        return Err(bad(format!(
            "{} referrers is more than the {MAX_REFERRERS} accepted",
            list.len()
        )));
    }
    let mut entries = Vec::with_capacity(list.len());
    for e in list {
        let digest: Digest = e
            .get("digest")
            .and_then(|d| d.as_str())
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| bad("an entry has no valid digest".into()))?;
        let size = e
            .get("size")
            .and_then(|s| s.as_u64())
            .ok_or_else(|| bad(format!("entry {digest} has no valid size")))?;
        let media_type = e
            .get("mediaType")
            .and_then(|m| m.as_str())
            .unwrap_or(crate::types::media::OCI_MANIFEST)
            .to_string();
        let artifact_type = e
            .get(ARTIFACT_TYPE)
            .and_then(|a| a.as_str())
            .map(str::to_string);
        entries.push(Referrer {
            digest,
            media_type,
            size,
            artifact_type,
            entry: e,
        });
    }
    let annotations = v
        .get("annotations")
        .and_then(|a| a.as_object())
        .cloned()
        .unwrap_or_default();
    Ok(ReferrerList {
        entries,
        annotations,
    })
}

/// Builds a fallback index (OCI image index) from entries and annotations.
pub fn build_index(
    entries: &[Referrer],
    annotations: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<u8>, Error> {
    let mut v = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": crate::types::media::OCI_INDEX,
        "manifests": entries.iter().map(|e| e.entry.clone()).collect::<Vec<_>>(),
    });
    if !annotations.is_empty() {
        v["annotations"] = serde_json::Value::Object(annotations.clone());
    }
    serde_json::to_vec_pretty(&v).map_err(|e| Error::InvalidManifest {
        what: "referrers index".into(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_checked_and_rebuild() {
        let d = Digest::sha256_of(b"a");
        let good = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{d}","size":12,"artifactType":"application/spdx+json","annotations":{{"k":"v"}}}}],"annotations":{{"{ANN_REFERRERS_SOURCE}":"x"}}}}"#
        );
        let l = parse_list("t", good.as_bytes()).unwrap();
        assert_eq!(l.entries.len(), 1);
        assert_eq!(
            l.entries[0].artifact_type.as_deref(),
            Some("application/spdx+json")
        );
        assert_eq!(l.annotations[ANN_REFERRERS_SOURCE], "x");
        // Rebuilt: the entry kept whole, annotations carried.
        let again = parse_list("t", &build_index(&l.entries, &l.annotations).unwrap()).unwrap();
        assert_eq!(again.entries[0].entry, l.entries[0].entry);
        for bad in [
            r#"{"manifests":[{"digest":"sha256:zz","size":1}]}"#.to_string(),
            format!(r#"{{"manifests":[{{"digest":"{d}","size":-1}}]}}"#),
            r#"{"manifests":{}}"#.to_string(),
            "not json".to_string(),
        ] {
            assert!(parse_list("t", bad.as_bytes()).is_err(), "{bad}");
        }
        let many = format!(
            r#"{{"manifests":[{}]}}"#,
            vec![format!(r#"{{"digest":"{d}","size":1}}"#); MAX_REFERRERS + 1].join(",")
        );
        assert!(parse_list("t", many.as_bytes()).is_err());
    }

    #[test]
    fn recognises_schemes() {
        let d = Digest::sha256_of(b"x");
        let hex = d.hex().to_string();
        assert_eq!(
            ReferrerTag::parse(&format!("sha256-{hex}")),
            Some(ReferrerTag::Fallback(d.clone()))
        );
        assert_eq!(
            ReferrerTag::parse(&format!("sha256-{hex}.sig")),
            Some(ReferrerTag::Cosign(d.clone(), CosignKind::Sig))
        );
        assert_eq!(
            ReferrerTag::parse(&format!("sha256-{hex}.sbom")).map(|t| t.to_string()),
            Some(format!("sha256-{hex}.sbom"))
        );
        for no in [
            "latest".to_string(),
            format!("sha256-{hex}.foo"),
            format!("sha256-{}", &hex[1..]),
            format!("sha256-{}", hex.to_uppercase()),
            format!("sha512-{hex}"),
            "sha256-".to_string(),
        ] {
            assert!(ReferrerTag::parse(&no).is_none(), "{no}");
        }
    }
}
