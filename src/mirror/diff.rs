//! Tag-by-tag parity between a source and a mirror, with HEAD requests only
//! (no Docker Hub pull is spent): for each tag, the source and destination
//! digests and a status — same, missing, different, or extra; a tag whose
//! referrers (signatures, SBOMs, attestations) are not all at the
//! destination is different.

use std::collections::BTreeSet;

use futures_util::{stream, StreamExt, TryStreamExt};
use serde::Serialize;

use std::sync::Arc;

use crate::copy::{Copier, CopyJob, CopyOptions, ReferrerOptions, ReferrerStatus, Silent};
use crate::error::Result;
use crate::mirror::{relative, Lister, Namespace, RepoFilter, TagFilter, TagInfo};
use crate::registry::{Pool, Remote, Repo};
use crate::types::name::Skipped;

/// How a tag compares between the source and the mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffStatus {
    /// Same digest on both sides.
    Same,
    /// Not at the destination.
    Missing,
    /// Different digests.
    Different,
    /// Only at the destination.
    Extra,
}

impl DiffStatus {
    /// The status as JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DiffStatus::Same => "same",
            DiffStatus::Missing => "missing",
            DiffStatus::Different => "different",
            DiffStatus::Extra => "extra",
        }
    }
}

impl std::fmt::Display for DiffStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tag's parity.
#[derive(Clone, Debug, Serialize)]
pub struct DiffRow {
    /// Repository, relative to the namespaces.
    pub repository: String,
    /// Tag.
    pub tag: String,
    /// Source digest, if the tag exists there.
    pub source_digest: Option<String>,
    /// Destination digest, if the tag exists there.
    pub destination_digest: Option<String>,
    /// `same`, `missing` (not at the destination), `different`, `extra` (only at the destination).
    pub status: DiffStatus,
    /// Platforms (from the Hub API, when the source is Docker Hub).
    pub platforms: Vec<String>,
    /// Compressed size (from the Hub API), when known.
    pub size: Option<u64>,
    /// Referrers of the source image missing at the destination (makes a
    /// `same` tag `different`).
    pub referrers_missing: usize,
}

async fn head_digest(pool: &Pool, registry: &str, repo: &str, tag: &str) -> Result<Option<String>> {
    let r = Repo::Remote(Remote {
        client: pool.client(registry)?,
        repo: repo.to_string(),
    });
    match r.head_manifest(tag).await {
        Ok(h) => Ok(h.and_then(|h| h.digest).map(|d| d.to_string())),
        Err(crate::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Referrers of a tag at the source that the destination lacks: a dry run of
/// the referrer copy (HEADs; reading a source fallback index the destination
/// lacks is one manifest GET).
async fn missing_referrers(
    copier: &Copier,
    pool: &Pool,
    (src_registry, src_repo): (&str, &str),
    (dst_registry, dst_repo): (&str, &str),
    tag: &str,
) -> Result<usize> {
    let src = Repo::Remote(Remote {
        client: pool.client(src_registry)?,
        repo: src_repo.to_string(),
    });
    let dst = Repo::Remote(Remote {
        client: pool.client(dst_registry)?,
        repo: dst_repo.to_string(),
    });
    let report = copier
        .copy(CopyJob {
            src: &src,
            src_ref: tag,
            dst: &dst,
            dst_ref: tag,
            src_name: tag.to_string(),
            dst_name: tag.to_string(),
            platforms: &[],
        })
        .await?;
    Ok(report
        .referrers
        .iter()
        .filter(|r| r.status != ReferrerStatus::Present)
        .count())
}

/// Compares every (filtered) repository and tag of `src` with `dst`; with
/// `referrers`, a tag whose image is the same but whose referrers are not
/// all at the destination is `different`. Also returns the listed names
/// that were refused by the name check.
pub async fn diff(
    pool: &Pool,
    src: &Namespace,
    dst: &Namespace,
    repos: &RepoFilter,
    tags: &TagFilter,
    concurrency: usize,
    referrers: Option<ReferrerOptions>,
) -> Result<(Vec<DiffRow>, Vec<Skipped>)> {
    let copier = referrers.map(|r| {
        Copier::new(
            CopyOptions {
                jobs: concurrency,
                dry_run: true,
                retry: pool.config().retry.clone(),
                referrers: r,
            },
            Arc::new(Silent),
        )
    });
    let copier = copier.as_ref();
    let src_list = Lister::new(pool, &src.registry).await?;
    let dst_list = Lister::new(pool, &dst.registry).await?;
    let mut rows = Vec::new();
    for repo in src_list.repositories(src).await? {
        let rel = relative(src, &repo);
        // A repository compared with a repository: no name to filter on.
        if !rel.is_empty() && !repos.accepts(&rel) {
            continue;
        }
        let dst_repo = dst.join(&rel);
        let src_tags = tags.apply(src_list.tags(&src.registry, &repo).await?);
        let dst_tags: Vec<String> = dst_list
            .tags(&dst.registry, &dst_repo)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        let src_names: BTreeSet<&str> = src_tags.iter().map(|t| t.name.as_str()).collect();
        let mut work: Vec<(TagInfo, bool)> = src_tags.iter().cloned().map(|t| (t, true)).collect();
        let dst_filtered = tags.apply(dst_tags.iter().map(|n| TagInfo::named(n)).collect());
        for t in dst_filtered {
            if !src_names.contains(t.name.as_str()) {
                work.push((t, false));
            }
        }
        let (repo_ref, rel_ref, dst_ref) = (&repo, &rel, &dst_repo);
        let mut part: Vec<DiffRow> = stream::iter(work)
            .map(|(t, at_source)| async move {
                let s = match (&t.digest, at_source) {
                    (Some(d), _) => Some(d.to_string()),
                    (None, true) => head_digest(pool, &src.registry, repo_ref, &t.name).await?,
                    (None, false) => None,
                };
                let d = head_digest(pool, &dst.registry, dst_ref, &t.name).await?;
                let mut referrers_missing = 0;
                if let (Some(c), Some(a), Some(b)) = (copier, &s, &d) {
                    if a == b {
                        referrers_missing = missing_referrers(
                            c,
                            pool,
                            (&src.registry, repo_ref),
                            (&dst.registry, dst_ref),
                            &t.name,
                        )
                        .await?;
                    }
                }
                let status = match (&s, &d) {
                    (Some(a), Some(b)) if a == b && referrers_missing == 0 => DiffStatus::Same,
                    (Some(_), Some(_)) => DiffStatus::Different,
                    (Some(_), None) => DiffStatus::Missing,
                    (None, Some(_)) => DiffStatus::Extra,
                    (None, None) => DiffStatus::Missing,
                };
                Ok::<_, crate::Error>(DiffRow {
                    repository: if rel_ref.is_empty() {
                        repo_ref.clone()
                    } else {
                        rel_ref.clone()
                    },
                    size: t.size(),
                    tag: t.name,
                    source_digest: s,
                    destination_digest: d,
                    status,
                    platforms: t.platforms,
                    referrers_missing,
                })
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        part.sort_by(|a, b| a.tag.cmp(&b.tag));
        rows.extend(part);
    }
    let mut skipped = src_list.skipped();
    skipped.extend(dst_list.skipped());
    Ok((rows, skipped))
}
