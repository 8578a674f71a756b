//! Platforms (`os/arch[/variant]`) as given on the command line and as found
//! in index entries, with the matching rule used by `--platform`.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// An image platform.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Platform {
    /// Operating system (`linux`).
    pub os: String,
    /// CPU architecture (`amd64`).
    pub architecture: String,
    /// Variant (`v8`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// From oci-client's index-entry platform.
    pub fn from_oci(p: &oci_client::manifest::Platform) -> Self {
        Platform {
            os: p.os.clone(),
            architecture: p.architecture.clone(),
            variant: p.variant.clone().filter(|v| !v.is_empty()),
        }
    }

    /// Whether an image of platform `other` satisfies this filter. A filter
    /// without a variant accepts any variant.
    pub fn accepts(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || self.variant == other.variant)
    }

    /// `unknown/unknown`, used by attestation manifests.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }
}

impl Platform {
    /// Parses a `--platform` list; an empty entry (`--platform ""`, a
    /// trailing comma) is an error, not "every platform".
    pub fn parse_list(list: &[String]) -> Result<Vec<Platform>, Error> {
        list.iter()
            .map(|p| {
                if p.trim().is_empty() {
                    Err(Error::Usage(
                        "--platform: an empty platform was given; name each one as os/arch[/variant] (e.g. linux/amd64), or leave --platform out to copy every platform".into(),
                    ))
                } else {
                    p.parse()
                }
            })
            .collect()
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = s.trim().split('/').collect();
        let ok = |p: &&str| !p.is_empty();
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, v] if ok(os) && ok(arch) && ok(v) => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(v.to_string()),
            }),
            _ => Err(Error::Usage(format!(
                "invalid platform {s:?}: expected os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm64/v8"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_match() {
        let f: Platform = "linux/arm64".parse().unwrap();
        let v8: Platform = "linux/arm64/v8".parse().unwrap();
        assert!(f.accepts(&v8));
        assert!(!v8.accepts(&f));
        assert_eq!(v8.to_string(), "linux/arm64/v8");
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d", ""] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
        assert!(Platform::parse_list(&["".into()]).is_err());
        assert!(Platform::parse_list(&["linux/amd64".into(), " ".into()]).is_err());
        assert_eq!(Platform::parse_list(&[]).unwrap(), vec![]);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn platforms_never_panic(s in "\\PC{0,40}") {
                if let Ok(p) = s.parse::<Platform>() {
                    prop_assert!(p.accepts(&p));
                }
            }
        }
    }
}
