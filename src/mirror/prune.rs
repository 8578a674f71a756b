//! `--prune`: after a run, delete destination tags the source no longer has —
//! only in the run's repositories and within its tag filters; never in a
//! repository where an image failed or whose listing failed; never a
//! referrer or signature tag of an image that is kept (those of a pruned
//! image go with it); and never when the source listed no tags while the
//! destination has some (a listing glitch must not empty a mirror). ECR
//! deletes through `BatchDeleteImage` by tag (untagged images fall to the
//! lifecycle policy); other registries through the distribution API's
//! DELETE (by tag, else by digest when no kept tag shares it).
//! Imports `registry`, `types` and the planning types of `mirror`; never prints.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::mirror::run::{ImageResult, ImageStatus};
use crate::mirror::TagFilter;
use crate::registry::{ecr, DeleteOutcome, Pool, Remote, Repo};
use crate::types::referrers::{CosignKind, ReferrerTag};
use crate::types::Digest;

/// One repository of a run, as `--prune` sees it.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Source registry.
    pub src_registry: String,
    /// Source repository.
    pub src_repo: String,
    /// Destination registry.
    pub dst_registry: String,
    /// Destination repository.
    pub dst_repo: String,
    /// Every image tag the source listed (before the tag filters).
    pub source_tags: Vec<String>,
    /// The run's tag filter for this repository.
    pub filter: TagFilter,
}

/// What happened to a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PruneStatus {
    /// Deleted.
    Deleted,
    /// Would be deleted (dry run).
    WouldDelete,
    /// Not deleted (see `error`).
    Failed,
}

/// Why a tag is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PruneReason {
    /// The source no longer has the tag.
    GoneAtSource,
    /// A referrer or signature tag of an image whose tag is pruned.
    ReferrerOfPruned,
}

/// One destination tag `--prune` deletes.
#[derive(Clone, Debug, Serialize)]
pub struct PrunedTag {
    /// The tag.
    pub tag: String,
    /// What it pointed at.
    pub digest: Option<String>,
    /// Why it goes.
    pub reason: PruneReason,
    /// What happened.
    pub status: PruneStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `--prune` in one destination repository.
#[derive(Clone, Debug, Serialize)]
pub struct PruneRepo {
    /// `registry/repository` at the destination.
    pub repository: String,
    /// Tags deleted (or to delete).
    pub tags: Vec<PrunedTag>,
    /// Why nothing was pruned here, when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Prunes every scope of a run (after it ran: `results` tell which
/// repositories had failures). Repositories with nothing to delete are left
/// out of the answer.
pub async fn prune(
    pool: &Pool,
    scopes: &[Scope],
    results: &[ImageResult],
    dry_run: bool,
) -> Vec<PruneRepo> {
    // A destination fed by several sources cannot be compared with one.
    let mut per_dst: HashMap<(String, String), usize> = HashMap::new();
    for s in scopes {
        *per_dst
            .entry((s.dst_registry.clone(), s.dst_repo.clone()))
            .or_default() += 1;
    }
    let mut out = Vec::new();
    for s in scopes {
        let repository = format!("{}/{}", s.dst_registry, s.dst_repo);
        let failed = results
            .iter()
            .filter(|r| {
                r.status == ImageStatus::Failed
                    && r.destination.starts_with(&format!("{repository}:"))
            })
            .count();
        let refused = if per_dst
            .get(&(s.dst_registry.clone(), s.dst_repo.clone()))
            .is_some_and(|n| *n > 1)
        {
            Some("several sources are mirrored into this repository; not pruning it".to_string())
        } else if failed > 0 {
            Some(format!(
                "{failed} images of this repository failed in this run; not pruning it (rerun)"
            ))
        } else {
            None
        };
        let r = match refused {
            Some(why) => Ok(PruneRepo {
                repository: repository.clone(),
                tags: Vec::new(),
                refused: Some(why),
            }),
            None => prune_repo(pool, s, dry_run).await,
        };
        match r {
            Ok(p) if p.tags.is_empty() && p.refused.is_none() => {}
            Ok(p) => out.push(p),
            Err(e) => out.push(PruneRepo {
                repository,
                tags: Vec::new(),
                refused: Some(format!("not pruning it: {e}")),
            }),
        }
    }
    out
}

async fn prune_repo(pool: &Pool, s: &Scope, dry_run: bool) -> Result<PruneRepo> {
    let repository = format!("{}/{}", s.dst_registry, s.dst_repo);
    let dst = Repo::Remote(Remote {
        client: pool.client(&s.dst_registry)?,
        repo: s.dst_repo.clone(),
    });
    // Names that break the tag grammar are set aside by the listing.
    let dst_tags: Vec<String> = match dst.tags().await {
        Ok(t) => t.names,
        Err(Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let images: Vec<&String> = dst_tags
        .iter()
        .filter(|t| ReferrerTag::parse(t).is_none())
        .collect();
    let mut result = PruneRepo {
        repository,
        tags: Vec::new(),
        refused: None,
    };
    if s.source_tags.is_empty() && !images.is_empty() {
        result.refused = Some(format!(
            "the source {}/{} listed no tags while the destination has {}; refusing to prune \
             (if the source repository is really gone, delete the mirror by hand)",
            s.src_registry,
            s.src_repo,
            images.len()
        ));
        return Ok(result);
    }
    let at_source: HashSet<&str> = s.source_tags.iter().map(String::as_str).collect();
    let (gone, kept): (Vec<&String>, Vec<&String>) = images
        .into_iter()
        .partition(|t| s.filter.covers(t) && !at_source.contains(t.as_str()));
    if gone.is_empty() {
        return Ok(result);
    }
    let digest_of = |tag: String| {
        let dst = &dst;
        async move {
            dst.head_manifest(&tag)
                .await
                .map(|h| h.and_then(|h| h.digest))
        }
    };
    let mut kept_digests: HashMap<Digest, String> = HashMap::new();
    for t in &kept {
        if let Some(d) = digest_of(t.to_string()).await? {
            kept_digests.entry(d).or_insert_with(|| t.to_string());
        }
    }
    let mut plan: BTreeMap<String, (Option<Digest>, PruneReason)> = BTreeMap::new();
    let present: HashSet<&str> = dst_tags.iter().map(String::as_str).collect();
    for t in &gone {
        let d = digest_of(t.to_string()).await?;
        // The image goes: so do its referrer and signature tags, unless a kept
        // tag still holds it.
        if let Some(d) = d.as_ref().filter(|d| !kept_digests.contains_key(*d)) {
            let mut names = vec![ReferrerTag::Fallback(d.clone()).to_string()];
            names.extend(
                CosignKind::ALL
                    .iter()
                    .map(|k| ReferrerTag::Cosign(d.clone(), *k).to_string()),
            );
            for n in names {
                if present.contains(n.as_str()) {
                    plan.insert(n, (None, PruneReason::ReferrerOfPruned));
                }
            }
        }
        plan.insert(t.to_string(), (d, PruneReason::GoneAtSource));
    }
    let ecr_api = ecr::parse_host(&s.dst_registry).zip(pool.ecr().cloned());
    if dry_run {
        result.tags = plan
            .into_iter()
            .map(|(tag, (d, reason))| PrunedTag {
                tag,
                digest: d.map(|d| d.to_string()),
                reason,
                status: PruneStatus::WouldDelete,
                error: None,
            })
            .collect();
        return Ok(result);
    }
    if let Some((host, api)) = ecr_api {
        let names: Vec<String> = plan.keys().cloned().collect();
        let failures: HashMap<String, String> = api
            .delete_tags(&host, &s.dst_repo, &names)
            .await?
            .into_iter()
            .collect();
        result.tags = plan
            .into_iter()
            .map(|(tag, (d, reason))| {
                let error = failures.get(&tag).cloned();
                PrunedTag {
                    digest: d.map(|d| d.to_string()),
                    reason,
                    status: if error.is_some() {
                        PruneStatus::Failed
                    } else {
                        PruneStatus::Deleted
                    },
                    error,
                    tag,
                }
            })
            .collect();
        return Ok(result);
    }
    for (tag, (d, reason)) in plan {
        let outcome = delete_one(&dst, &tag, d.as_ref(), &kept_digests).await;
        let (status, error) = match outcome {
            Ok(()) => (PruneStatus::Deleted, None),
            Err(e) => (PruneStatus::Failed, Some(e)),
        };
        result.tags.push(PrunedTag {
            tag,
            digest: d.map(|d| d.to_string()),
            reason,
            status,
            error,
        });
    }
    Ok(result)
}

/// Deletes one tag through the distribution API: by tag where the registry
/// can (OCI 1.1), else by digest when no kept tag shares it.
async fn delete_one(
    dst: &Repo,
    tag: &str,
    digest: Option<&Digest>,
    kept: &HashMap<Digest, String>,
) -> std::result::Result<(), String> {
    let refused = match dst.delete_tag(tag).await {
        Ok(DeleteOutcome::Deleted | DeleteOutcome::NotFound) => return Ok(()),
        Ok(DeleteOutcome::Refused { status, detail }) => format!("HTTP {status} {detail}"),
        Err(e) => return Err(e.to_string()),
    };
    let d = match digest {
        Some(d) => d.clone(),
        None => match dst.head_manifest(tag).await {
            Ok(Some(h)) => match h.digest {
                Some(d) => d,
                None => return Err(format!("the registry refuses to delete a tag ({refused}) and sent no digest to delete by")),
            },
            Ok(None) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        },
    };
    if let Some(other) = kept.get(&d) {
        return Err(format!(
            "the registry deletes manifests, not tags ({refused}), and the kept tag {other:?} holds the same digest {}; left in place",
            d.short()
        ));
    }
    match dst.delete_digest(&d).await {
        Ok(DeleteOutcome::Deleted | DeleteOutcome::NotFound) => Ok(()),
        Ok(DeleteOutcome::Refused { status, detail }) => Err(format!(
            "the registry refuses deletes (HTTP {status} {detail}); allow them (CNCF distribution: storage.delete.enabled) or delete the tag by hand"
        )),
        Err(e) => Err(e.to_string()),
    }
}
