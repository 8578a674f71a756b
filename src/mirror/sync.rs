//! The CI mirror file (`crossdock sync mirror.yaml`): which sources go where,
//! which tags (exact names need no listing; patterns do), platforms and
//! repository settings. It becomes a plan of [`Item`]s for the runner.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::mirror::prune::Scope;
use crate::mirror::{Item, Lister, Planned, TagFilter, TagInfo};
use crate::registry::ecr::RepoSettings;
use crate::registry::Pool;
use crate::types::name::check_tag;
use crate::types::{ImageRef, Platform};

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncFile {
    /// Settings every mirror inherits.
    #[serde(default)]
    pub defaults: Defaults,
    /// The mirrors.
    pub mirrors: Vec<Mirror>,
}

/// Inherited settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Platforms to keep (empty: all).
    #[serde(default)]
    pub platforms: Vec<String>,
    /// Create missing ECR repositories (default true).
    pub create_repos: Option<bool>,
    /// Settings for created repositories.
    #[serde(default)]
    pub repository: RepoSettings,
}

/// One source repository mirrored to one destination repository.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    /// Source repository (`docker.io/library/nginx`, `nginx`).
    pub source: String,
    /// Destination repository.
    pub destination: String,
    /// Exact tags (need no listing).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Anchored regex over the source's tags.
    pub tag_regex: Option<String>,
    /// Semver range over the source's tags.
    pub semver: Option<String>,
    /// Keep the N newest matching tags.
    pub latest: Option<usize>,
    /// Platforms (overrides the defaults).
    pub platforms: Option<Vec<String>>,
    /// Repository settings (override the defaults key by key).
    pub repository: Option<RepoSettings>,
}

fn repo_of(input: &str, what: &str) -> Result<(String, String)> {
    match input.parse::<ImageRef>()? {
        ImageRef::Registry(r) if !r.explicit_tag && r.digest.is_none() => {
            Ok((r.registry, r.repository))
        }
        ImageRef::Registry(_) => Err(Error::Usage(format!(
            "{what} {input:?}: give a repository without a tag; list tags under `tags:`"
        ))),
        ImageRef::Layout(_) => Err(Error::Usage(format!(
            "{what} {input:?}: sync works between registries"
        ))),
    }
}

impl SyncFile {
    /// Reads and validates the file.
    pub fn load(path: &Path) -> Result<SyncFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Parses and validates the text of the file at `path` (for messages).
    pub fn parse(text: &str, path: &Path) -> Result<SyncFile> {
        let f: SyncFile = yaml_serde::from_str(text).map_err(|e| Error::Config {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if f.mirrors.is_empty() {
            return Err(Error::Config {
                path: path.display().to_string(),
                reason: "no mirrors listed".into(),
            });
        }
        f.defaults.repository.validate()?;
        for m in &f.mirrors {
            for (v, what) in [(&m.source, "source"), (&m.destination, "destination")] {
                if !v.starts_with("ecr://") {
                    repo_of(v, what)?;
                }
            }
            if let Some(r) = &m.repository {
                r.clone().or(&f.defaults.repository).validate()?;
            }
            // Tags go into URLs: only the distribution grammar is accepted.
            for t in &m.tags {
                check_tag(t).map_err(|reason| Error::Config {
                    path: path.display().to_string(),
                    reason: format!(
                        "mirror of {:?}: tag {:?} is not a valid tag: {reason}",
                        m.source,
                        t.chars().take(200).collect::<String>()
                    ),
                })?;
            }
            TagFilter::new(
                m.tags.clone(),
                m.tag_regex.as_deref(),
                m.semver.as_deref(),
                m.latest,
            )?;
        }
        Ok(f)
    }

    /// Whether missing repositories are created.
    pub fn create_repos(&self) -> bool {
        self.defaults.create_repos.unwrap_or(true)
    }

    /// Resolves every mirror to items; lists tags only where patterns need it.
    /// Listed tags that break the grammar are reported as skipped. With
    /// `list_all` (for `--prune`), mirrors of exact tags are listed too, so
    /// each mirror's repository comes with its source listing.
    pub async fn plan(&self, pool: &Pool, list_all: bool) -> Result<Planned> {
        let mut items = Vec::new();
        let mut skipped = Vec::new();
        let mut scopes: Vec<Scope> = Vec::new();
        for m in &self.mirrors {
            let expand = |s: &str| {
                let s = s.to_string();
                async move {
                    match pool.ecr() {
                        Some(e) if s.starts_with("ecr://") => e.expand(&s).await,
                        _ => Ok(s),
                    }
                }
            };
            let (src_registry, src_repo) = repo_of(&expand(&m.source).await?, "source")?;
            let (dst_registry, dst_repo) = repo_of(&expand(&m.destination).await?, "destination")?;
            let filter = TagFilter::new(
                m.tags.clone(),
                m.tag_regex.as_deref(),
                m.semver.as_deref(),
                m.latest,
            )?;
            let mut names = None;
            let tags = if filter.needs_listing() || list_all {
                let lister = Lister::new(pool, &src_registry).await?;
                let (listed, all) = lister.tags_with_names(&src_registry, &src_repo).await?;
                names = Some(all);
                skipped.extend(lister.skipped());
                scopes.push(Scope {
                    src_registry: src_registry.clone(),
                    src_repo: src_repo.clone(),
                    dst_registry: dst_registry.clone(),
                    dst_repo: dst_repo.clone(),
                    source_tags: listed.iter().map(|t| t.name.clone()).collect(),
                    filter: filter.clone(),
                });
                filter.apply(listed)
            } else {
                filter.apply(Vec::<TagInfo>::new())
            };
            let platforms = m
                .platforms
                .as_ref()
                .unwrap_or(&self.defaults.platforms)
                .iter()
                .map(|p| p.parse::<Platform>())
                .collect::<Result<Vec<_>>>()?;
            let settings = m
                .repository
                .clone()
                .unwrap_or_default()
                .or(&self.defaults.repository);
            for t in tags {
                items.push(Item {
                    src_registry: src_registry.clone(),
                    src_repo: src_repo.clone(),
                    dst_registry: dst_registry.clone(),
                    dst_repo: dst_repo.clone(),
                    tag: t,
                    platforms: platforms.clone(),
                    repo_settings: settings.clone(),
                    source_tags: names.clone(),
                });
            }
        }
        Ok(Planned {
            items,
            skipped,
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_examples_are_valid() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let f = SyncFile::load(&root.join("mirror.yaml")).unwrap();
        assert_eq!(f.mirrors.len(), 3);
        for ci in std::fs::read_dir(root.join("ci")).unwrap() {
            let p = ci.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            yaml_serde::from_str::<yaml_serde::Value>(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }

    #[test]
    fn parses_the_example_shape() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.yaml");
        std::fs::write(
            &p,
            r#"
defaults:
  platforms: [linux/amd64]
  repository:
    tag_mutability: IMMUTABLE
    scan_on_push: true
mirrors:
  - source: docker.io/library/nginx
    destination: 123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/nginx
    tags: ["1.27", "1.26"]
  - source: redis
    destination: 123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/redis
    semver: ">=7.2"
    latest: 2
"#,
        )
        .unwrap();
        let f = SyncFile::load(&p).unwrap();
        assert_eq!(f.mirrors.len(), 2);
        assert!(f.create_repos());
        std::fs::write(
            &p,
            "mirrors:\n  - source: nginx:1.27\n    destination: x.io/n\n",
        )
        .unwrap();
        assert!(SyncFile::load(&p).is_err(), "tags belong under tags:");
        std::fs::write(
            &p,
            "mirrors:\n  - source: nginx\n    destination: x.io/n\n    tagz: [a]\n",
        )
        .unwrap();
        assert!(SyncFile::load(&p).is_err(), "unknown keys are refused");
        for bad in ["../x", "%2e%2e/y", "a/b", "", "-x", "\\u001b[2J"] {
            std::fs::write(
                &p,
                format!(
                    "mirrors:\n  - source: nginx\n    destination: x.io/n\n    tags: [\"{bad}\"]\n"
                ),
            )
            .unwrap();
            match SyncFile::load(&p) {
                Err(e @ Error::Config { .. }) => {
                    assert!(e.is_usage());
                    assert!(e.to_string().contains("not a valid tag"), "{e}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn sync_text_never_panics(
                text in "\\PC{0,200}",
                src in "\\PC{0,30}",
                tag in "\\PC{0,20}",
                latest in any::<i64>(),
                semver in "\\PC{0,12}",
            ) {
                let p = Path::new("m.yaml");
                let _ = SyncFile::parse(&text, p);
                let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
                let doc = format!(
                    "mirrors:\n  - source: {}\n    destination: x.io/y\n    tags: [{}]\n    latest: {latest}\n    semver: {}\n    platforms: [{}]\n",
                    q(&src), q(&tag), q(&semver), q(&tag)
                );
                if let Ok(f) = SyncFile::parse(&doc, p) {
                    for m in &f.mirrors {
                        for t in &m.tags {
                            prop_assert!(check_tag(t).is_ok());
                        }
                    }
                }
            }
        }
    }
}
