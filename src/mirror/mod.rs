//! Many images at once: naming namespaces, listing repositories and tags
//! (through the Docker Hub API where the source is Hub, else `_catalog` and
//! `tags/list`), planning (repository and tag filters, disjoint shards), and
//! running the plan through the copy engine ([`run`]); plus the parity check
//! ([`diff`]) and the CI mirror file ([`sync`]). Imports `registry`, `copy`,
//! `types`; never prints.

pub mod diff;
pub mod filter;
pub mod prune;
pub mod run;
pub mod sync;

use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::registry::hub::{HubApi, HubTag, DEFAULT_HUB_API};
use crate::registry::{Pool, Remote, Repo};
use crate::types::name::{self, Checked, NameKind, Skipped};
use crate::types::reference::DOCKER_HUB;
use crate::types::referrers;
use crate::types::{Digest, ImageRef};

pub use filter::{RepoFilter, TagFilter};

/// A registry plus a repository path prefix (`docker.io/acme`,
/// `123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// Logical registry name.
    pub registry: String,
    /// Path inside it ("" = the registry's root).
    pub path: String,
}

impl Namespace {
    /// Parses `[registry/]path`; the registry is the first part when it looks
    /// like a host (has `.` or `:`, or is `localhost`), else Docker Hub.
    pub fn parse(s: &str) -> Result<Namespace> {
        let s = s
            .strip_prefix("docker://")
            .unwrap_or(s)
            .trim_end_matches('/');
        let (registry, path) = match s.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ if s.contains('.') || s.contains(':') || s == "localhost" => {
                (s.to_string(), String::new())
            }
            _ => (DOCKER_HUB.to_string(), s.to_string()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        if let Err(reason) = name::check_host(&registry) {
            return Err(Error::InvalidReference {
                input: s.to_string(),
                reason: format!("invalid registry host: {reason}"),
            });
        }
        if s.is_empty() || (registry == DOCKER_HUB && path.is_empty()) {
            return Err(Error::InvalidReference {
                input: s.to_string(),
                reason: "a namespace is [registry/]path, e.g. docker.io/acme".into(),
            });
        }
        if !path.is_empty() {
            // Same grammar as a repository (validated by the reference parser).
            format!("{registry}/{path}")
                .parse::<ImageRef>()
                .map_err(|_| Error::InvalidReference {
                    input: s.to_string(),
                    reason: "invalid repository path".into(),
                })?;
        }
        Ok(Namespace { registry, path })
    }

    /// A repository path under this namespace.
    pub fn join(&self, relative: &str) -> String {
        match (self.path.is_empty(), relative.is_empty()) {
            (true, _) => relative.to_string(),
            (false, true) => self.path.clone(),
            (false, false) => format!("{}/{relative}", self.path),
        }
    }

    /// `registry/path`.
    pub fn display(&self) -> String {
        if self.path.is_empty() {
            self.registry.clone()
        } else {
            format!("{}/{}", self.registry, self.path)
        }
    }

    /// Whether this names one Docker Hub repository (`acme/api`) rather than a namespace.
    pub fn is_hub_repository(&self) -> bool {
        self.registry == DOCKER_HUB && self.path.contains('/')
    }
}

/// What is known about a tag before copying it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TagInfo {
    /// Tag name.
    pub name: String,
    /// Top manifest digest (from the Hub API), when known without a request.
    pub digest: Option<Digest>,
    /// Last push (RFC 3339), from the Hub API.
    pub last_updated: Option<String>,
    /// Platforms, from the Hub API.
    pub platforms: Vec<String>,
    /// Per-platform (manifest digest, compressed size), from the Hub API.
    pub images: Vec<(String, u64)>,
    /// The tag's size as Docker Hub reports it (`full_size`).
    pub full_size: Option<u64>,
}

impl TagInfo {
    /// A tag known only by name.
    pub fn named(name: &str) -> Self {
        TagInfo {
            name: name.to_string(),
            ..TagInfo::default()
        }
    }

    fn from_hub(t: HubTag) -> Self {
        TagInfo {
            full_size: t.full_size,
            digest: t.digest.as_deref().and_then(|d| d.parse().ok()),
            last_updated: t.last_updated.clone(),
            platforms: t.images.iter().map(|i| i.platform()).collect(),
            images: t
                .images
                .iter()
                .filter_map(|i| Some((i.digest.clone()?, i.size.unwrap_or(0))))
                .collect(),
            name: t.name,
        }
    }

    /// The size Docker Hub reports for the tag, else the sum of its platforms.
    pub fn size(&self) -> Option<u64> {
        self.full_size.or_else(|| {
            (!self.images.is_empty()).then(|| {
                self.images
                    .iter()
                    .fold(0u64, |n, (_, s)| n.saturating_add(*s))
            })
        })
    }
}

/// Listing for one run: the Hub API for Docker Hub, the registry otherwise.
/// Names that break the distribution grammar are never used: they are kept
/// aside ([`Lister::skipped`]) to be reported.
pub struct Lister<'a> {
    pool: &'a Pool,
    hub: Option<HubApi>,
    skipped: std::sync::Mutex<Vec<Skipped>>,
}

impl<'a> Lister<'a> {
    /// A lister for sources on `registry`.
    pub async fn new(pool: &'a Pool, registry: &str) -> Result<Lister<'a>> {
        let hub = if registry == DOCKER_HUB {
            let client = pool.client(registry)?;
            let base = pool
                .config()
                .registry(registry)
                .hub_api
                .unwrap_or_else(|| DEFAULT_HUB_API.to_string());
            let creds = client.credential().await?;
            Some(HubApi::new(
                &base,
                client.http().clone(),
                creds,
                pool.config().retry.clone(),
            )?)
        } else {
            None
        };
        Ok(Lister {
            pool,
            hub,
            skipped: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Keeps the valid names; remembers the others.
    fn keep(&self, c: Checked) -> Vec<String> {
        if !c.skipped.is_empty() {
            if let Ok(mut g) = self.skipped.lock() {
                g.extend(c.skipped);
            }
        }
        c.names
    }

    /// Names seen so far that were not used, with the reason.
    pub fn skipped(&self) -> Vec<Skipped> {
        self.skipped.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// The Hub API client, when listing Docker Hub (same login as the listing).
    pub fn hub_api(&self) -> Option<&HubApi> {
        self.hub.as_ref()
    }

    /// Repository paths under a namespace (a Hub repository lists itself).
    pub async fn repositories(&self, ns: &Namespace) -> Result<Vec<String>> {
        if ns.is_hub_repository() {
            return Ok(vec![ns.path.clone()]);
        }
        let mut repos = match &self.hub {
            Some(hub) => {
                let names = hub
                    .repositories(&ns.path)
                    .await?
                    .into_iter()
                    .map(|r| format!("{}/{}", ns.path, r.name));
                let source = format!("the Hub API listing of {}", ns.display());
                self.keep(Checked::of(NameKind::Repository, &source, names))
            }
            None => {
                let client = self.pool.client(&ns.registry)?;
                let prefix = format!("{}/", ns.path);
                self.keep(Remote::catalog(&client).await?)
                    .into_iter()
                    .filter(|r| ns.path.is_empty() || r == &ns.path || r.starts_with(&prefix))
                    .collect()
            }
        };
        repos.sort();
        repos.dedup();
        Ok(repos)
    }

    /// Tags of a repository (with digests, dates and sizes from the Hub API),
    /// without referrer and signature tags (`sha256-<hex>[.sig|.att|.sbom]`:
    /// they travel with their images) and without names that break the tag
    /// grammar. A repository that does not exist has no tags.
    pub async fn tags(&self, registry: &str, repo: &str) -> Result<Vec<TagInfo>> {
        Ok(self.tags_with_names(registry, repo).await?.0)
    }

    /// [`Lister::tags`], plus every valid tag name listed, referrer and
    /// signature tags included (the copy engine finds referrers in them
    /// without listing the repository again).
    pub async fn tags_with_names(
        &self,
        registry: &str,
        repo: &str,
    ) -> Result<(Vec<TagInfo>, Arc<Vec<String>>)> {
        let mut tags = self.all_tags(registry, repo).await?;
        let names = Arc::new(tags.iter().map(|t| t.name.clone()).collect());
        tags.retain(|t| !referrers::is_referrer_tag(&t.name));
        Ok((tags, names))
    }

    async fn all_tags(&self, registry: &str, repo: &str) -> Result<Vec<TagInfo>> {
        if let (Some(hub), Some((ns, name))) = (&self.hub, repo.split_once('/')) {
            if registry == DOCKER_HUB {
                return match hub.tags(ns, name).await {
                    Ok(t) => Ok(self.keep_hub_tags(repo, t)),
                    Err(Error::NotFound { .. }) => Ok(Vec::new()),
                    Err(e) => Err(e),
                };
            }
        }
        let r = Repo::Remote(Remote {
            client: self.pool.client(registry)?,
            repo: repo.to_string(),
        });
        match r.tags().await {
            Ok(t) => Ok(self
                .keep(t)
                .into_iter()
                .map(|n| TagInfo::named(&n))
                .collect()),
            Err(Error::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    fn keep_hub_tags(&self, repo: &str, tags: Vec<HubTag>) -> Vec<TagInfo> {
        let source = format!("the Hub API tags of {repo}");
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for t in tags {
            match name::check_tag(&t.name) {
                Ok(()) => out.push(TagInfo::from_hub(t)),
                Err(reason) => bad.push(name::skipped(NameKind::Tag, &t.name, reason, &source)),
            }
        }
        self.keep(Checked {
            names: Vec::new(),
            skipped: bad,
        });
        out
    }
}

/// The part of `repo` below the namespace (`acme/api` under `acme` → `api`;
/// "" when the namespace names the repository itself).
pub fn relative(ns: &Namespace, repo: &str) -> String {
    if ns.path.is_empty() {
        return repo.to_string();
    }
    if let Some(rest) = repo.strip_prefix(&format!("{}/", ns.path)) {
        return rest.to_string();
    }
    // The namespace is the repository itself.
    String::new()
}

/// One image to mirror.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// Source registry.
    pub src_registry: String,
    /// Source repository path.
    pub src_repo: String,
    /// Destination registry.
    pub dst_registry: String,
    /// Destination repository path.
    pub dst_repo: String,
    /// What is known about the tag.
    pub tag: TagInfo,
    /// Platforms to keep (empty: all).
    #[serde(skip)]
    pub platforms: Vec<crate::types::Platform>,
    /// Settings for the destination repository if it is created.
    #[serde(skip)]
    pub repo_settings: crate::registry::ecr::RepoSettings,
    /// Every tag of the source repository, when the plan listed them
    /// (shared by the repository's items): its referrer tags are then known
    /// without another listing.
    #[serde(skip)]
    pub source_tags: Option<Arc<Vec<String>>>,
}

impl Item {
    /// `registry/repo:tag` of the source.
    pub fn source(&self) -> String {
        format!("{}/{}:{}", self.src_registry, self.src_repo, self.tag.name)
    }
    /// `registry/repo:tag` of the destination.
    pub fn destination(&self) -> String {
        format!("{}/{}:{}", self.dst_registry, self.dst_repo, self.tag.name)
    }
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Parses `I/N` (0 ≤ I < N).
pub fn parse_shard(s: &str) -> Result<(u64, u64)> {
    let bad = || {
        Error::Usage(format!(
            "--shard {s:?}: expected I/N with 0 <= I < N, e.g. 0/4"
        ))
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Whether an item belongs to shard `i` of `n`: a stable hash of the source
/// image, so shards are disjoint, cover the plan, and do not move when
/// other images are added.
pub fn in_shard(item: &Item, (i, n): (u64, u64)) -> bool {
    fnv1a(&item.source()) % n == i
}

/// A plan: the images, and the names from outside that were not used.
#[derive(Clone, Debug, Default)]
pub struct Planned {
    /// Images to mirror.
    pub items: Vec<Item>,
    /// Tags and repositories refused by the name check, with the reason.
    pub skipped: Vec<Skipped>,
    /// The repositories of the run with their source listings (for `--prune`).
    pub scopes: Vec<prune::Scope>,
}

/// What a namespace plan takes besides the two namespaces.
pub struct Selection<'a> {
    /// Repositories to take.
    pub repos: &'a RepoFilter,
    /// Tags to take.
    pub tags: &'a TagFilter,
    /// Platforms to keep (empty: all).
    pub platforms: &'a [crate::types::Platform],
    /// Settings for destination repositories that are created.
    pub settings: &'a crate::registry::ecr::RepoSettings,
    /// Fetch the run's tokens while the tags are listed (not in a dry run).
    pub warm_tokens: bool,
}

/// Plans a namespace migration: every accepted repository of `src`, every
/// accepted tag, mapped under `dst` (`acme/api` under `docker.io/acme` goes
/// to `<dst>/api`). Lists through the Hub API on Docker Hub, so digests and
/// sizes are known without a registry request.
pub async fn plan_namespace(
    pool: &Pool,
    src: &Namespace,
    dst: &Namespace,
    sel: Selection<'_>,
) -> Result<Planned> {
    let Selection {
        repos,
        tags,
        platforms,
        settings,
        warm_tokens,
    } = sel;
    let lister = Lister::new(pool, &src.registry).await?;
    let mut repos_rel = Vec::new();
    for repo in lister.repositories(src).await? {
        let mut rel = relative(src, &repo);
        if rel.is_empty() {
            // One repository migrated under a prefix keeps its own name.
            rel = repo.rsplit('/').next().unwrap_or(&repo).to_string();
        }
        if repos.accepts(&rel) {
            repos_rel.push((repo, rel));
        }
    }
    // While the tags are listed, the tokens of the run are fetched (pull
    // at the source, pull and push at the destination: one request each).
    let dst_repos: Vec<String> = repos_rel.iter().map(|(_, rel)| dst.join(rel)).collect();
    let warm = async {
        if warm_tokens {
            let pairs = repos_rel.iter().zip(&dst_repos).map(|((repo, _), d)| {
                (
                    src.registry.as_str(),
                    repo.as_str(),
                    dst.registry.as_str(),
                    d.as_str(),
                )
            });
            run::prefetch_tokens(pool, pairs).await;
        }
    };
    // List tags of several repositories at once (one round trip each).
    let lister = &lister;
    type Listed = (String, String, Vec<TagInfo>, Option<Arc<Vec<String>>>);
    let listed = futures_util::stream::iter(repos_rel.clone())
        .map(|(repo, rel)| async move {
            let (tags, names) = if tags.needs_listing() {
                let (t, n) = lister.tags_with_names(&src.registry, &repo).await?;
                (t, Some(n))
            } else {
                (Vec::new(), None)
            };
            Ok::<_, Error>((repo, rel, tags, names))
        })
        .buffered(16)
        .try_collect();
    let (listed, ()) = tokio::join!(listed, warm);
    let listed: Vec<Listed> = listed?;
    let mut items = Vec::new();
    let mut scopes = Vec::new();
    for (repo, rel, listed, names) in listed {
        scopes.push(prune::Scope {
            src_registry: src.registry.clone(),
            src_repo: repo.clone(),
            dst_registry: dst.registry.clone(),
            dst_repo: dst.join(&rel),
            source_tags: listed.iter().map(|t| t.name.clone()).collect(),
            filter: tags.clone(),
        });
        for t in tags.apply(listed) {
            items.push(Item {
                src_registry: src.registry.clone(),
                src_repo: repo.clone(),
                dst_registry: dst.registry.clone(),
                dst_repo: dst.join(&rel),
                tag: t,
                platforms: platforms.to_vec(),
                repo_settings: settings.clone(),
                source_tags: names.clone(),
            });
        }
    }
    Ok(Planned {
        items,
        skipped: lister.skipped(),
        scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces() {
        let n = Namespace::parse("docker.io/acme").unwrap();
        assert_eq!(
            (n.registry.as_str(), n.path.as_str()),
            ("docker.io", "acme")
        );
        assert!(!n.is_hub_repository());
        assert_eq!(Namespace::parse("acme").unwrap().registry, "docker.io");
        assert!(Namespace::parse("docker.io/acme/api")
            .unwrap()
            .is_hub_repository());
        let e = Namespace::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror").unwrap();
        assert_eq!(e.join("api"), "mirror/api");
        let root = Namespace::parse("localhost:5000").unwrap();
        assert_eq!(root.path, "");
        assert_eq!(root.join("api"), "api");
        assert!(Namespace::parse("docker.io").is_err());
        assert!(Namespace::parse("docker.io/Acme").is_err());
        assert!(Namespace::parse("localhost:99999").is_err());
        assert!(Namespace::parse("localhost:99999/x").is_err());
        assert_eq!(relative(&n, "acme/api"), "api");
        assert_eq!(
            relative(&Namespace::parse("docker.io/acme/api").unwrap(), "acme/api"),
            ""
        );
    }

    #[test]
    fn shards_partition() {
        assert!(parse_shard("4/4").is_err());
        assert!(parse_shard("x").is_err());
        assert_eq!(parse_shard("1/3").unwrap(), (1, 3));
        let items: Vec<Item> = (0..200)
            .map(|k| Item {
                src_registry: "docker.io".into(),
                src_repo: format!("acme/r{}", k % 7),
                dst_registry: "x".into(),
                dst_repo: "y".into(),
                tag: TagInfo::named(&format!("t{k}")),
                platforms: vec![],
                repo_settings: Default::default(),
                source_tags: None,
            })
            .collect();
        let mut total = 0;
        for i in 0..4 {
            let n = items.iter().filter(|it| in_shard(it, (i, 4))).count();
            assert!(n > 20, "shard {i} has {n}");
            total += n;
        }
        assert_eq!(total, items.len());
    }
}
