//! Runs a plan of images through one [`Copier`] (so a blob shared by many
//! images moves once), several images at a time; creates missing ECR
//! repositories on the way; a failed image never stops the others. In a dry
//! run it reports what would move — bytes after de-duplication and the
//! Docker Hub pulls it would spend — and writes nothing.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::{stream, StreamExt};
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::copy::{Copier, CopyJob, CopyStatus, Stop};
use crate::error::Error;
use crate::mirror::Item;
use crate::registry::client::Scope;
use crate::registry::ecr::{self, Ensured};
use crate::registry::{Pool, Remote, Repo};
use crate::types::reference::DOCKER_HUB;

/// Catalog pages (of 1,000 names) worth reading to learn which destination
/// repositories are new; a bigger registry keeps the per-image checks.
const CATALOG_PAGES: usize = 3;

/// What happened to one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageStatus {
    /// Copied to the destination.
    Copied,
    /// The destination already had it.
    Unchanged,
    /// The copy failed (see `error`).
    Failed,
    /// Dry run: would be copied.
    WouldCopy,
    /// Not attempted: the run stopped (Docker Hub's pull limit with `--on-ratelimit fail`).
    Skipped,
}

impl std::fmt::Display for ImageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImageStatus::Copied => "copied",
            ImageStatus::Unchanged => "unchanged",
            ImageStatus::Failed => "failed",
            ImageStatus::WouldCopy => "would-copy",
            ImageStatus::Skipped => "skipped",
        })
    }
}

/// The outcome of one image.
#[derive(Clone, Debug, Serialize)]
pub struct ImageResult {
    /// Source `registry/repo:tag`.
    pub source: String,
    /// Destination `registry/repo:tag`.
    pub destination: String,
    /// `copied`, `unchanged`, `failed`, `skipped`, or in a dry run `would-copy` / `unchanged`.
    pub status: ImageStatus,
    /// Destination top digest (or the source's, in a dry run).
    pub digest: Option<String>,
    /// Blobs streamed (or to stream).
    pub blobs_copied: usize,
    /// Bytes streamed (or to stream, after de-duplication).
    pub bytes_copied: u64,
    /// Docker Hub pulls spent (or that would be spent).
    pub pulls: u64,
    /// Referrers (signatures, SBOMs, attestations) copied (or to copy).
    pub referrers_copied: usize,
    /// Referrers already at the destination.
    pub referrers_skipped: usize,
    /// Referrers that failed (the image then counts as failed: rerun).
    pub referrers_failed: usize,
    /// Why it failed.
    pub error: Option<String>,
    /// Wall time.
    pub duration_s: f64,
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Images copied at once.
    pub images: usize,
    /// Create missing ECR repositories.
    pub create_repos: bool,
    /// Plan only.
    pub dry_run: bool,
}

/// Runs items; remembers which repositories it ensured.
pub struct Runner<'a> {
    pool: &'a Pool,
    copier: &'a Copier,
    opts: RunOptions,
    ensured: Mutex<HashMap<String, Arc<OnceCell<Ensured>>>>,
    created: Mutex<Vec<String>>,
    hub_images_seen: Mutex<HashSet<String>>,
    /// Set when a pull budget ran out under `--on-ratelimit fail`: images
    /// not yet started are skipped (a clean stop, no pull wasted).
    stopped: std::sync::atomic::AtomicBool,
    /// Raised from outside (a signal): images not yet started are skipped.
    stop: Stop,
}

fn describe(e: &Error) -> String {
    let text = e.to_string();
    if text.contains("TAG_INVALID") || text.contains("ImageTagAlreadyExists") {
        return format!(
            "the tag already exists with a different digest in an immutable repository ({text})"
        );
    }
    text
}

/// One token per registry for every repository of a run (pull at the
/// sources, pull and push at the destinations), instead of one per
/// repository. `pairs`: (source registry, source repository, destination
/// registry, destination repository). Scopes already cached cost nothing.
pub async fn prefetch_tokens<'p>(
    pool: &Pool,
    pairs: impl IntoIterator<Item = (&'p str, &'p str, &'p str, &'p str)>,
) {
    let mut wanted: HashMap<(&str, bool), Vec<Scope>> = HashMap::new();
    let mut seen = HashSet::new();
    for (src_registry, src_repo, dst_registry, dst_repo) in pairs {
        if seen.insert((src_registry, false, src_repo)) {
            wanted
                .entry((src_registry, false))
                .or_default()
                .push(Scope::pull(src_repo));
        }
        if seen.insert((dst_registry, true, dst_repo)) {
            wanted
                .entry((dst_registry, true))
                .or_default()
                .extend([Scope::pull(dst_repo), Scope::push(dst_repo)]);
        }
    }
    let jobs = wanted.into_iter().filter_map(|((registry, _), scopes)| {
        let client = pool.client(registry).ok()?;
        Some(async move { client.prefetch_tokens(&scopes).await })
    });
    futures_util::future::join_all(jobs).await;
}

impl<'a> Runner<'a> {
    /// A runner using `pool` and `copier`.
    pub fn new(pool: &'a Pool, copier: &'a Copier, opts: RunOptions) -> Self {
        Runner {
            pool,
            copier,
            opts,
            ensured: Mutex::new(HashMap::new()),
            created: Mutex::new(Vec::new()),
            hub_images_seen: Mutex::new(HashSet::new()),
            stopped: std::sync::atomic::AtomicBool::new(false),
            stop: Stop::default(),
        }
    }

    /// Starts no new image once `stop` is raised (give the copier the same
    /// stop, so images in flight end after their streaming blobs, untagged).
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// Repositories created during the run.
    pub fn created(&self) -> Vec<String> {
        let mut v = self.created.lock().map(|g| g.clone()).unwrap_or_default();
        v.sort();
        v
    }

    /// Runs every item, `images` at a time; results in plan order.
    pub async fn run(&self, items: &[Item]) -> Vec<ImageResult> {
        if !self.opts.dry_run {
            tokio::join!(self.prefetch_tokens(items), self.find_fresh(items));
        }
        let mut results: Vec<(usize, ImageResult)> = stream::iter(items.iter().enumerate())
            .map(|(i, it)| async move { (i, self.one(it).await) })
            .buffer_unordered(self.opts.images.max(1))
            .collect()
            .await;
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }

    /// One token per registry for every repository of the run.
    async fn prefetch_tokens(&self, items: &[Item]) {
        prefetch_tokens(
            self.pool,
            items.iter().map(|it| {
                (
                    it.src_registry.as_str(),
                    it.src_repo.as_str(),
                    it.dst_registry.as_str(),
                    it.dst_repo.as_str(),
                )
            }),
        )
        .await;
    }

    /// Destination repositories that do not exist yet, from the registry's
    /// catalog (one request per registry, where it serves one and lists at
    /// most a few pages): the copier then skips every existence check in
    /// them — the tag, child manifest and blob HEADs. A catalog that cannot
    /// be read tells nothing; the checks stay.
    async fn find_fresh(&self, items: &[Item]) {
        let mut wanted: HashMap<&str, HashSet<&str>> = HashMap::new();
        for it in items {
            wanted
                .entry(it.dst_registry.as_str())
                .or_default()
                .insert(it.dst_repo.as_str());
        }
        let jobs = wanted.into_iter().filter_map(|(registry, repos)| {
            let client = self.pool.client(registry).ok()?;
            client.serves_catalog().then_some(async move {
                let Ok(listed) = Remote::catalog_pages(&client, CATALOG_PAGES).await else {
                    return;
                };
                let listed: HashSet<&str> = listed.names.iter().map(String::as_str).collect();
                for repo in repos.into_iter().filter(|r| !listed.contains(r)) {
                    self.copier.created(&Repo::Remote(Remote {
                        client: client.clone(),
                        repo: repo.to_string(),
                    }));
                }
            })
        });
        futures_util::future::join_all(jobs).await;
    }

    /// Creates the destination repository on ECR if missing; `true` when
    /// this run created it.
    async fn ensure_repo(&self, it: &Item) -> Result<bool, Error> {
        let Some(host) = ecr::parse_host(&it.dst_registry) else {
            return Ok(false); // other registries create repositories on push
        };
        let Some(api) = self.pool.ecr() else {
            return Ok(false);
        };
        let key = format!("{}/{}", it.dst_registry, it.dst_repo);
        let cell = {
            let mut map = match self.ensured.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            map.entry(key.clone())
                .or_insert_with(|| Arc::new(OnceCell::new()))
                .clone()
        };
        let outcome = *cell
            .get_or_try_init(|| api.ensure_repository(&host, &it.dst_repo, &it.repo_settings))
            .await?;
        if outcome == Ensured::Created {
            if let Ok(mut c) = self.created.lock() {
                if !c.contains(&key) {
                    c.push(key);
                }
            }
        }
        Ok(outcome == Ensured::Created)
    }

    async fn one(&self, it: &Item) -> ImageResult {
        let start = Instant::now();
        let mut r = ImageResult {
            source: it.source(),
            destination: it.destination(),
            status: ImageStatus::Failed,
            digest: None,
            blobs_copied: 0,
            bytes_copied: 0,
            pulls: 0,
            referrers_copied: 0,
            referrers_skipped: 0,
            referrers_failed: 0,
            error: None,
            duration_s: 0.0,
        };
        if self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            r.status = ImageStatus::Skipped;
            r.error = Some("not attempted: the run stopped at Docker Hub's pull rate limit".into());
            return r;
        }
        if self.stop.is_raised() {
            r.status = ImageStatus::Skipped;
            r.error = Some("not attempted: crossdock was asked to stop".into());
            return r;
        }
        let outcome = self.attempt(it, &mut r).await;
        if let Err(Error::Stopped) = outcome {
            r.status = ImageStatus::Skipped;
            r.error = Some(Error::Stopped.to_string());
        } else if let Err(e) = outcome {
            if matches!(e, Error::RateLimited { .. }) {
                self.stopped
                    .store(true, std::sync::atomic::Ordering::SeqCst);
            }
            r.status = ImageStatus::Failed;
            r.error = Some(describe(&e));
        }
        r.duration_s = start.elapsed().as_secs_f64();
        r
    }

    async fn attempt(&self, it: &Item, r: &mut ImageResult) -> Result<(), Error> {
        let src = Repo::Remote(Remote {
            client: self.pool.client(&it.src_registry)?,
            repo: it.src_repo.clone(),
        });
        let dst = Repo::Remote(Remote {
            client: self.pool.client(&it.dst_registry)?,
            repo: it.dst_repo.clone(),
        });
        if self.opts.dry_run && it.src_registry == DOCKER_HUB && !it.tag.images.is_empty() {
            return self.dry_run_from_hub(it, &src, &dst, r).await;
        }
        if let Some(names) = &it.source_tags {
            self.copier.know_source_tags(&src, names);
        }
        if self.opts.create_repos && !self.opts.dry_run && self.ensure_repo(it).await? {
            self.copier.created(&dst);
        }
        let src_client = self.pool.client(&it.src_registry)?;
        let pulls_before = src_client.manifest_gets();
        let report = self
            .copier
            .copy(CopyJob {
                src: &src,
                src_ref: &it.tag.name,
                dst: &dst,
                dst_ref: &it.tag.name,
                src_name: it.source(),
                dst_name: it.destination(),
                platforms: &it.platforms,
            })
            .await;
        // Pulls are counted per registry client; with images in parallel the
        // count of one image may include a neighbour's. Totals are exact.
        if it.src_registry == DOCKER_HUB {
            r.pulls = src_client.manifest_gets().saturating_sub(pulls_before);
        }
        let report = report?;
        r.status = match report.status {
            CopyStatus::DryRun if report.manifests == 0 => ImageStatus::Unchanged,
            CopyStatus::DryRun => ImageStatus::WouldCopy,
            CopyStatus::Copied => ImageStatus::Copied,
            CopyStatus::Unchanged => ImageStatus::Unchanged,
        };
        r.digest = Some(report.digest.to_string());
        r.blobs_copied = report.blobs_copied;
        r.bytes_copied = report.bytes_copied;
        r.referrers_copied = report.referrers_copied;
        r.referrers_skipped = report.referrers_skipped;
        r.referrers_failed = report.referrers_failed;
        if report.referrers_failed > 0 {
            let first = report
                .referrers
                .iter()
                .find_map(|x| x.error.clone())
                .unwrap_or_default();
            return Err(Error::Referrers {
                failed: report.referrers_failed,
                detail: first,
            });
        }
        if self.opts.dry_run && it.src_registry == DOCKER_HUB {
            r.pulls = report.manifests as u64;
        }
        Ok(())
    }

    /// A Docker Hub dry run costs no pull: digests and sizes come from the
    /// Hub API, the destination is checked with a HEAD.
    async fn dry_run_from_hub(
        &self,
        it: &Item,
        src: &Repo,
        dst: &Repo,
        r: &mut ImageResult,
    ) -> Result<(), Error> {
        let src_digest = match &it.tag.digest {
            Some(d) => Some(d.clone()),
            None => src
                .head_manifest(&it.tag.name)
                .await?
                .and_then(|h| h.digest),
        };
        let dst_digest = dst
            .head_manifest(&it.tag.name)
            .await?
            .and_then(|h| h.digest);
        r.digest = src_digest.as_ref().map(|d| d.to_string());
        if it.platforms.is_empty() && src_digest.is_some() && src_digest == dst_digest {
            r.status = ImageStatus::Unchanged;
            return Ok(());
        }
        r.status = ImageStatus::WouldCopy;
        let mut seen = match self.hub_images_seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let wanted: Vec<&(String, u64)> = it
            .tag
            .images
            .iter()
            .zip(it.tag.platforms.iter())
            .filter(|(_, p)| {
                it.platforms.is_empty()
                    || p.parse::<crate::types::Platform>()
                        .is_ok_and(|p| it.platforms.iter().any(|f| f.accepts(&p)))
            })
            .map(|(i, _)| i)
            .collect();
        // One pull for the index (when there is one) and one per platform.
        r.pulls = wanted.len() as u64 + u64::from(it.tag.images.len() > 1);
        for (digest, size) in wanted {
            if seen.insert(format!("{}|{digest}", it.dst_repo)) {
                r.bytes_copied = r.bytes_copied.saturating_add(*size);
            }
        }
        Ok(())
    }
}
