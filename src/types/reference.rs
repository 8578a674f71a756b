//! Image references: registry references (Docker short names normalised,
//! tags, digests, tag+digest, ports) and OCI layout references
//! (`oci:PATH[:TAG|@DIGEST]`). The Docker grammar is parsed by hand, without
//! a regex, with explicit-tag tracking for destination defaults.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::Error;
use crate::types::name::{check_host, check_tag, valid_component};
use crate::types::Digest;

/// Docker Hub's logical registry name.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that serves Docker Hub's `/v2` API.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageRef {
    /// An image in a registry.
    Registry(RegistryRef),
    /// An image in an OCI layout directory.
    Layout(LayoutRef),
}

/// An image in a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryRef {
    /// Logical registry name (`docker.io`, `localhost:5000`).
    pub registry: String,
    /// Repository path (`library/nginx`).
    pub repository: String,
    /// Tag, if any (`latest` when nothing was given).
    pub tag: Option<String>,
    /// Digest, if given.
    pub digest: Option<Digest>,
    /// Whether the user wrote the tag (false when `latest` was implied).
    pub explicit_tag: bool,
}

/// An image in an OCI image layout directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutRef {
    /// The layout directory.
    pub path: PathBuf,
    /// The `org.opencontainers.image.ref.name` to select or write.
    pub tag: Option<String>,
    /// Digest, if given.
    pub digest: Option<Digest>,
}

fn invalid(input: &str, reason: impl Into<String>) -> Error {
    Error::InvalidReference {
        input: input.to_string(),
        reason: reason.into(),
    }
}

/// Checks a tag against the distribution grammar `[\w][\w.-]{0,127}`.
pub fn validate_tag(input: &str, tag: &str) -> Result<(), Error> {
    check_tag(tag).map_err(|reason| invalid(input, format!("invalid tag {tag:?}: {reason}")))
}

impl RegistryRef {
    /// The host that really serves this registry's `/v2` API by default.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// What to ask the registry for: the digest if known, else the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// The same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> RegistryRef {
        RegistryRef {
            tag: Some(tag.to_string()),
            digest: None,
            explicit_tag: true,
            ..self.clone()
        }
    }

    /// `registry/repository`.
    pub fn repo_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Display for LayoutRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci:{}", self.path.display())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Registry(r) => r.fmt(f),
            ImageRef::Layout(l) => l.fmt(f),
        }
    }
}

impl ImageRef {
    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        match self {
            ImageRef::Registry(r) => r.tag.as_deref(),
            ImageRef::Layout(l) => l.tag.as_deref(),
        }
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            ImageRef::Registry(r) => r.digest.as_ref(),
            ImageRef::Layout(l) => l.digest.as_ref(),
        }
    }

    /// What to ask the repository for: the digest if given, else the tag,
    /// else "" (the only image of a layout).
    pub fn repo_reference(&self) -> String {
        match self {
            ImageRef::Registry(r) => r.manifest_reference(),
            ImageRef::Layout(l) => l
                .digest
                .as_ref()
                .map(|d| d.to_string())
                .or_else(|| l.tag.clone())
                .unwrap_or_default(),
        }
    }

    /// Whether the user wrote a tag or digest (false for `nginx` or `oci:DIR`).
    pub fn has_explicit_target(&self) -> bool {
        match self {
            ImageRef::Registry(r) => r.explicit_tag || r.digest.is_some(),
            ImageRef::Layout(l) => l.tag.is_some() || l.digest.is_some(),
        }
    }

    /// The same image location with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        match self {
            ImageRef::Registry(r) => ImageRef::Registry(r.with_tag(tag)),
            ImageRef::Layout(l) => ImageRef::Layout(LayoutRef {
                path: l.path.clone(),
                tag: Some(tag.to_string()),
                digest: None,
            }),
        }
    }
}

fn parse_layout(input: &str, rest: &str) -> Result<LayoutRef, Error> {
    let (path, tag, digest) = if let Some((p, d)) = rest.rsplit_once('@') {
        (
            p,
            None,
            Some(
                d.parse::<Digest>()
                    .map_err(|e| invalid(input, e.to_string()))?,
            ),
        )
    } else {
        match rest.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(t.to_string()), None),
            _ => (rest, None, None),
        }
    };
    if path.is_empty() {
        return Err(invalid(input, "an OCI layout reference is oci:PATH[:TAG]"));
    }
    if let Some(t) = &tag {
        validate_tag(input, t)?;
    }
    Ok(LayoutRef {
        path: PathBuf::from(path),
        tag,
        digest,
    })
}

/// Parses the Docker reference grammar without a regex (start-up time
/// matters for CI steps that run crossdock many times).
fn parse_registry(input: &str) -> Result<RegistryRef, Error> {
    let s = input.strip_prefix("docker://").unwrap_or(input);
    if s.is_empty() || s.chars().any(|c| c.is_whitespace()) {
        return Err(invalid(input, "empty or contains whitespace"));
    }
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => (
            n,
            Some(
                d.parse::<Digest>()
                    .map_err(|e| invalid(input, e.to_string()))?,
            ),
        ),
        None => (s, None),
    };
    let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
        ),
        None => (name_tag, None),
    };
    if let Some(t) = tag {
        validate_tag(input, t)?;
    }
    // The first component is a registry when it looks like a host:
    // it has a "." or ":", is "localhost", or has upper-case letters.
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    };
    if let Err(reason) = check_host(&registry) {
        return Err(invalid(input, format!("invalid registry host: {reason}")));
    }
    let registry = match registry.as_str() {
        "index.docker.io" | DOCKER_HUB_API => DOCKER_HUB.to_string(),
        _ => registry,
    };
    if path.is_empty() || !path.split('/').all(valid_component) {
        return Err(invalid(
            input,
            "repository names are lowercase letters, digits and separators (. _ __ -) between /-separated parts",
        ));
    }
    let repository = if registry == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    if registry.len() + 1 + repository.len() > 255 {
        return Err(invalid(input, "the name is longer than 255 characters"));
    }
    let explicit_tag = tag.is_some();
    let tag = match (tag, &digest) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(_)) => None,
        (None, None) => Some("latest".to_string()),
    };
    Ok(RegistryRef {
        registry,
        repository,
        tag,
        digest,
        explicit_tag,
    })
}

impl FromStr for ImageRef {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        if let Some(rest) = input.strip_prefix("oci:") {
            return Ok(ImageRef::Layout(parse_layout(input, rest)?));
        }
        Ok(ImageRef::Registry(parse_registry(input)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(s: &str) -> RegistryRef {
        match s.parse::<ImageRef>().unwrap() {
            ImageRef::Registry(r) => r,
            ImageRef::Layout(_) => panic!("expected registry ref for {s}"),
        }
    }

    #[test]
    fn docker_short_names() {
        let r = reg("nginx");
        assert_eq!(r.registry, "docker.io");
        assert_eq!(r.repository, "library/nginx");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert!(!r.explicit_tag);
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.to_string(), "docker.io/library/nginx:latest");

        let r = reg("nginx:1.27");
        assert!(r.explicit_tag);
        assert_eq!(r.tag.as_deref(), Some("1.27"));
        let r = reg("acme/api:v1");
        assert_eq!(r.repository, "acme/api");
        assert_eq!(reg("index.docker.io/library/redis:7").registry, "docker.io");
        assert_eq!(
            reg("docker://docker.io/library/redis:7").tag.as_deref(),
            Some("7")
        );
    }

    #[test]
    fn hosts_ports_digests() {
        let d = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let r = reg(&format!("localhost:5000/app@{d}"));
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "app");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_ref().map(|d| d.as_str()), Some(d));
        assert_eq!(r.manifest_reference(), d);

        let r = reg(&format!("127.0.0.1:5005/a/b/c:1.0@{d}"));
        assert_eq!(r.repository, "a/b/c");
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        assert!(r.digest.is_some());
        assert_eq!(
            reg("123456789012.dkr.ecr.us-east-1.amazonaws.com/nginx:1.27").registry,
            "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        );
        assert_eq!(reg("localhost:5000/app").tag.as_deref(), Some("latest"));
        assert_eq!(reg("localhost/app").registry, "localhost");
        assert_eq!(reg("a.b-c.io/x__y/z-w.v_1").repository, "x__y/z-w.v_1");
        assert_eq!(reg("registry-1.docker.io/acme/x").registry, "docker.io");
        assert_eq!(reg("Host/app").registry, "Host");
        assert_eq!(reg("a---b/c").repository, "a---b/c");
    }

    #[test]
    fn layouts() {
        let l = match "oci:./export:app".parse::<ImageRef>().unwrap() {
            ImageRef::Layout(l) => l,
            ImageRef::Registry(_) => panic!(),
        };
        assert_eq!(l.path, PathBuf::from("./export"));
        assert_eq!(l.tag.as_deref(), Some("app"));
        let l = match "oci:/tmp/x".parse::<ImageRef>().unwrap() {
            ImageRef::Layout(l) => l,
            ImageRef::Registry(_) => panic!(),
        };
        assert_eq!(l.tag, None);
        assert!("oci:".parse::<ImageRef>().is_err());
        assert!("oci:/x:bad tag".parse::<ImageRef>().is_err());
    }

    #[test]
    fn malformed_are_errors_not_panics() {
        for bad in [
            "",
            "library/UPPER",
            "Nginx",
            "nginx:",
            "nginx@sha256:123",
            "nginx@md5:abc",
            "a b",
            "nginx:-bad",
            "host:port:x/y",
            "host:99999999/x",
            "localhost:99999/x",
            "localhost:0/x",
            "a..b/c",
            "x/-y",
            "x/y-",
            "x/y___z",
            ":tag",
            "//x",
            "nginx:tag@",
        ] {
            assert!(
                bad.parse::<ImageRef>().is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn references_never_panic_and_parse_to_valid_parts(
                s in "\\PC{0,80}|(docker://)?([a-zA-Z0-9.:-]{1,20}/)?[a-z0-9._/-]{1,30}(:[\\w.%/-]{0,20})?(@sha256:[0-9a-f]{0,64})?|oci:[^\\x00]{0,30}",
            ) {
                if let Ok(ImageRef::Registry(r)) = s.parse::<ImageRef>() {
                    prop_assert!(crate::types::name::check_repository(&r.repository).is_ok());
                    prop_assert!(crate::types::name::check_host(&r.registry).is_ok());
                    if let Some(t) = &r.tag {
                        prop_assert!(crate::types::name::check_tag(t).is_ok());
                    }
                    // What is displayed parses back to the same reference.
                    let again = r.to_string().parse::<ImageRef>();
                    prop_assert!(matches!(again, Ok(ImageRef::Registry(ref x)) if x.repository == r.repository && x.tag == r.tag));
                }
            }
        }
    }
}
