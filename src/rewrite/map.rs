//! `--map FROM=TO` rules: repository path prefixes on a registry
//! (`docker.io/acme` → `123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror`),
//! matched on whole path components, the longest prefix winning; and the
//! reverse look-up (a reference already in the mirror → its source). Imports
//! `types` and `error` only.

use crate::error::{Error, Result};
use crate::types::reference::{RegistryRef, DOCKER_HUB};
use crate::types::ImageRef;

/// A registry plus a repository path prefix ("" = the whole registry).
/// Paths are literal: `docker.io/library/nginx` names the official nginx
/// image, `docker.io/acme` the `acme` namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// Logical registry name (`docker.io`, `localhost:5000`).
    pub registry: String,
    /// Repository path prefix, without a trailing `/`.
    pub path: String,
}

fn is_host(s: &str) -> bool {
    s.contains('.') || s.contains(':') || s == "localhost"
}

fn usage(input: &str, reason: &str) -> Error {
    Error::Usage(format!("--map {input:?}: {reason}"))
}

impl Prefix {
    /// Parses `[registry/]path` (`docker.io/acme`, `ghcr.io`, `acme/team`).
    pub fn parse(input: &str) -> Result<Prefix> {
        let s = input.trim();
        let s = s
            .strip_prefix("docker://")
            .unwrap_or(s)
            .trim_end_matches('/');
        if s.is_empty() {
            return Err(usage(input, "empty prefix"));
        }
        let (registry, path) = match s.split_once('/') {
            Some((first, rest)) if is_host(first) => (first, rest),
            None if is_host(s) => (s, ""),
            _ => (DOCKER_HUB, s),
        };
        let registry = match registry {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
            r => r,
        };
        if s.contains('@') || path.contains(':') {
            return Err(usage(
                input,
                "a prefix is [registry/]path, without a tag or digest",
            ));
        }
        // Same grammar as a repository: let the reference parser judge it.
        let probe = if path.is_empty() {
            format!("{registry}/x")
        } else {
            format!("{registry}/{path}")
        };
        match probe.parse::<ImageRef>() {
            Ok(ImageRef::Registry(r)) if r.registry == registry => {}
            Ok(_) => return Err(usage(input, "not a registry path")),
            Err(e) => return Err(usage(input, &e.to_string())),
        }
        Ok(Prefix {
            registry: registry.to_string(),
            path: path.to_string(),
        })
    }

    /// The part of `repo` below this prefix, if `registry/repo` is under it
    /// (whole components: `acme` covers `acme/api`, not `acmeco/api`).
    pub fn covers<'a>(&self, registry: &str, repo: &'a str) -> Option<&'a str> {
        if registry != self.registry {
            return None;
        }
        if self.path.is_empty() {
            return Some(repo);
        }
        if repo == self.path {
            return Some("");
        }
        repo.strip_prefix(self.path.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
    }

    /// The repository `relative` under this prefix.
    pub fn join(&self, relative: &str) -> String {
        match (self.path.is_empty(), relative.is_empty()) {
            (true, _) => relative.to_string(),
            (false, true) => self.path.clone(),
            (false, false) => format!("{}/{relative}", self.path),
        }
    }

    /// `registry[/path]`.
    pub fn display(&self) -> String {
        if self.path.is_empty() {
            self.registry.clone()
        } else {
            format!("{}/{}", self.registry, self.path)
        }
    }

    /// Path components (for "longest prefix").
    fn depth(&self) -> usize {
        if self.path.is_empty() {
            0
        } else {
            self.path.split('/').count()
        }
    }
}

/// One `FROM=TO` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Source prefix.
    pub from: Prefix,
    /// Mirror prefix.
    pub to: Prefix,
}

/// Every rule of a run.
#[derive(Clone, Debug, Default)]
pub struct Mapper {
    rules: Vec<Rule>,
}

/// A reference moved under another prefix.
fn moved(r: &RegistryRef, to: &Prefix, rest: &str) -> Result<RegistryRef> {
    let repository = to.join(rest);
    let text = format!("{}/{repository}", to.registry);
    // Validate the composed repository (e.g. an empty path under a bare registry).
    match text.parse::<ImageRef>() {
        Ok(ImageRef::Registry(_)) if !repository.is_empty() => Ok(RegistryRef {
            registry: to.registry.clone(),
            repository,
            ..r.clone()
        }),
        _ => Err(Error::InvalidReference {
            input: text,
            reason: format!(
                "mapping {} under {} gives no valid repository",
                r.repo_name(),
                to.display()
            ),
        }),
    }
}

impl Mapper {
    /// Builds the rules from `(FROM, TO)` pairs (TO already expanded from
    /// `ecr://`). Two rules with the same FROM are a usage error.
    pub fn new(pairs: &[(String, String)]) -> Result<Mapper> {
        let mut rules: Vec<Rule> = Vec::new();
        for (from, to) in pairs {
            let rule = Rule {
                from: Prefix::parse(from)?,
                to: Prefix::parse(to)?,
            };
            if rules.iter().any(|r| r.from == rule.from) {
                return Err(usage(
                    &format!("{from}={to}"),
                    &format!("{} is mapped twice", rule.from.display()),
                ));
            }
            rules.push(rule);
        }
        if rules.is_empty() {
            return Err(Error::Usage(
                "give at least one --map FROM=TO (e.g. --map docker.io/acme=123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror)".into(),
            ));
        }
        Ok(Mapper { rules })
    }

    /// Parses `FROM=TO`.
    pub fn split(spec: &str) -> Result<(String, String)> {
        match spec.split_once('=') {
            Some((f, t)) if !f.trim().is_empty() && !t.trim().is_empty() => {
                Ok((f.trim().to_string(), t.trim().to_string()))
            }
            _ => Err(usage(spec, "expected FROM=TO")),
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The mirror reference for a source reference (longest FROM prefix),
    /// or `None` when no rule covers it.
    pub fn map(&self, r: &RegistryRef) -> Option<Result<RegistryRef>> {
        let (rule, rest) = self
            .rules
            .iter()
            .filter_map(|rule| Some((rule, rule.from.covers(&r.registry, &r.repository)?)))
            .max_by_key(|(rule, _)| rule.from.depth())?;
        Some(moved(r, &rule.to, rest))
    }

    /// The source reference of a reference that already points into a
    /// mirror (longest TO prefix), or `None`.
    pub fn unmap(&self, r: &RegistryRef) -> Option<Result<RegistryRef>> {
        let (rule, rest) = self
            .rules
            .iter()
            .filter_map(|rule| Some((rule, rule.to.covers(&r.registry, &r.repository)?)))
            .max_by_key(|(rule, _)| rule.to.depth())?;
        Some(moved(r, &rule.from, rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(s: &str) -> RegistryRef {
        match s.parse::<ImageRef>().unwrap() {
            ImageRef::Registry(r) => r,
            ImageRef::Layout(_) => panic!("layout"),
        }
    }

    fn mapper(pairs: &[(&str, &str)]) -> Mapper {
        Mapper::new(
            &pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn prefixes() {
        let p = Prefix::parse("docker.io/acme").unwrap();
        assert_eq!(
            (p.registry.as_str(), p.path.as_str()),
            ("docker.io", "acme")
        );
        assert_eq!(Prefix::parse("acme").unwrap().display(), "docker.io/acme");
        assert_eq!(
            Prefix::parse("index.docker.io/acme/").unwrap().display(),
            "docker.io/acme"
        );
        assert_eq!(Prefix::parse("ghcr.io").unwrap().path, "");
        assert_eq!(
            Prefix::parse("localhost:5000").unwrap().registry,
            "localhost:5000"
        );
        for bad in [
            "",
            "docker.io/Acme",
            "docker.io/acme:1.0",
            "a b",
            "x.io/a@sha256:00",
        ] {
            assert!(Prefix::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(p.covers("docker.io", "acme/api"), Some("api"));
        assert_eq!(p.covers("docker.io", "acme"), Some(""));
        assert_eq!(p.covers("docker.io", "acmeco/api"), None);
        assert_eq!(p.covers("ghcr.io", "acme/api"), None);
    }

    #[test]
    fn longest_prefix_wins_and_reverses() {
        let m = mapper(&[
            ("docker.io", "m.io/hub"),
            ("docker.io/library", "m.io/lib"),
            ("docker.io/library/nginx", "m.io/web/nginx"),
        ]);
        let get = |s: &str| m.map(&rr(s)).map(|r| r.unwrap().to_string());
        assert_eq!(get("nginx:1.27").as_deref(), Some("m.io/web/nginx:1.27"));
        assert_eq!(get("redis").as_deref(), Some("m.io/lib/redis:latest"));
        assert_eq!(get("acme/api:1").as_deref(), Some("m.io/hub/acme/api:1"));
        assert_eq!(get("ghcr.io/a/b:1"), None);
        let back = m.unmap(&rr("m.io/lib/redis:7")).unwrap().unwrap();
        assert_eq!(back.to_string(), "docker.io/library/redis:7");
        assert!(m.unmap(&rr("m.io/other/x:1")).is_none());
        // A digest survives the move.
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            get(&format!("nginx@{d}")).unwrap(),
            format!("m.io/web/nginx@{d}")
        );
    }

    #[test]
    fn bad_rules() {
        assert!(Mapper::new(&[]).is_err());
        assert!(Mapper::split("docker.io/acme").is_err());
        assert!(Mapper::split("=x.io").is_err());
        let dup = [
            ("docker.io/acme".to_string(), "a.io/x".to_string()),
            ("acme".to_string(), "b.io/y".to_string()),
        ];
        assert!(Mapper::new(&dup).is_err());
        // The whole repository mapped onto a bare registry has no path left.
        let m = mapper(&[("docker.io/library/nginx", "localhost:5000")]);
        assert!(m.map(&rr("nginx:1")).unwrap().is_err());
    }
}
