//! The copy engine: plans an image copy (walks the manifest tree generically,
//! HEADs the destination, de-duplicates blobs) and runs it — blobs in
//! parallel streams from source socket to destination socket with the digest
//! verified on the way, then child manifests, then the root, tag last. It
//! reports through [`Reporter`] and never prints; it sees only [`Repo`].

mod referrers;
mod verify;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::{stream, StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use crate::config::RetryConfig;
use crate::error::{Error, Result};
use crate::registry::retry::{with_retries, Backoff};
use crate::registry::{Manifest, Repo, UploadTarget};
use crate::types::media::{self, Descriptor, Parsed};
use crate::types::{Digest, Platform};

pub use referrers::{discover, Discovered, Found, ReferrerOptions, ReferrerResult, ReferrerStatus};
pub use verify::Verifying;

/// How one blob got to the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobOutcome {
    /// Streamed from the source.
    Copied,
    /// Already present.
    Skipped,
    /// Mounted from another repository of the same registry.
    Mounted,
}

/// What an image copy did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyStatus {
    /// Written to the destination.
    Copied,
    /// The destination already had it.
    Unchanged,
    /// Planned only (`--dry-run`).
    DryRun,
}

impl std::fmt::Display for CopyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CopyStatus::Copied => "copied",
            CopyStatus::Unchanged => "unchanged",
            CopyStatus::DryRun => "dry-run",
        })
    }
}

/// Receives progress events. Every method has a no-op default.
pub trait Reporter: Send + Sync {
    /// The plan is known: blobs and bytes that will be transferred.
    fn planned(&self, _blobs: usize, _bytes: u64) {}
    /// A blob transfer starts (again, after a retry).
    fn blob_started(&self, _d: &Digest, _size: u64) {}
    /// More bytes of a blob went through.
    fn blob_progress(&self, _d: &Digest, _delta: u64) {}
    /// A blob is done.
    fn blob_finished(&self, _d: &Digest, _size: u64, _outcome: BlobOutcome) {}
    /// A blob attempt failed and will be retried.
    fn blob_retry(&self, _d: &Digest, _attempt: u32, _err: &Error) {}
    /// A manifest was written.
    fn manifest_pushed(&self, _d: &Digest, _reference: &str) {}
    /// Something worth telling the user.
    fn note(&self, _msg: &str) {}
}

/// A request to stop taking new work (SIGTERM in `sync --watch`), shared by
/// the runner and the engine. Raising it is permanent.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<std::sync::atomic::AtomicBool>);

impl Stop {
    /// Asks every holder to stop taking new work.
    pub fn raise(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_raised(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A reporter that ignores everything.
pub struct Silent;
impl Reporter for Silent {}

/// Copy settings.
#[derive(Clone, Debug)]
pub struct CopyOptions {
    /// Concurrent blob streams.
    pub jobs: usize,
    /// Plan only; write nothing.
    pub dry_run: bool,
    /// Retry policy for whole-blob retries.
    pub retry: RetryConfig,
    /// Signatures, SBOMs and attestations: whether and which travel.
    pub referrers: ReferrerOptions,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            jobs: 4,
            dry_run: false,
            retry: RetryConfig::default(),
            referrers: ReferrerOptions::default(),
        }
    }
}

/// What one image copy did.
#[derive(Clone, Debug, Serialize)]
pub struct CopyReport {
    /// Source reference.
    pub source: String,
    /// Destination reference.
    pub destination: String,
    /// Digest of the destination's top manifest.
    pub digest: Digest,
    /// Digest of the source's top manifest.
    pub source_digest: Digest,
    /// Media type of the top manifest.
    pub media_type: String,
    /// `copied`, `unchanged` (destination already had it) or `dry-run`.
    pub status: CopyStatus,
    /// Platforms copied (empty for a single-platform image or when unchanged).
    pub platforms: Vec<String>,
    /// Whether `--platform` rewrote the index (its digest then differs).
    pub platform_filtered: bool,
    /// Manifests written (or to write, in a dry run).
    pub manifests: usize,
    /// Child manifests already present at the destination.
    pub manifests_skipped: usize,
    /// Blobs streamed (or to stream, in a dry run).
    pub blobs_copied: usize,
    /// Blobs already present.
    pub blobs_skipped: usize,
    /// Blobs mounted from another repository.
    pub blobs_mounted: usize,
    /// Bytes streamed (or to stream).
    pub bytes_copied: u64,
    /// Referrers (signatures, SBOMs, attestations) written (or to write, in a dry run).
    pub referrers_copied: usize,
    /// Referrers already at the destination.
    pub referrers_skipped: usize,
    /// Referrers that could not be copied (see `referrers`).
    pub referrers_failed: usize,
    /// Every referrer found, with what happened to it.
    pub referrers: Vec<ReferrerResult>,
    /// Wall time.
    pub duration_s: f64,
}

/// One copy job: where from, where to.
pub struct CopyJob<'a> {
    /// Source repository.
    pub src: &'a Repo,
    /// Tag or digest at the source ("" = the only image of a layout).
    pub src_ref: &'a str,
    /// Destination repository.
    pub dst: &'a Repo,
    /// Tag or digest to write the root under.
    pub dst_ref: &'a str,
    /// Source, for the report.
    pub src_name: String,
    /// Destination, for the report.
    pub dst_name: String,
    /// Keep only these platforms of an index (empty: all).
    pub platforms: &'a [Platform],
}

type BlobCell = Arc<OnceCell<BlobOutcome>>;

/// Below this size a blob's transfer is dominated by round trips, not bytes.
const SMALL_BLOB: u64 = 1 << 20;
/// Small-blob transfers allowed per `--jobs` stream.
const SMALL_PER_JOB: usize = 4;

/// Runs copies; shares the concurrency limit and the per-digest "once"
/// between every image it copies, so a blob shared by several tags moves once.
pub struct Copier {
    opts: CopyOptions,
    reporter: Arc<dyn Reporter>,
    stop: Stop,
    jobs: Arc<Semaphore>,
    /// Transfers of blobs under [`SMALL_BLOB`].
    small: Arc<Semaphore>,
    blobs: Mutex<HashMap<(String, Digest), BlobCell>>,
    planned: Mutex<HashSet<(String, Digest)>>,
    /// Destination repositories this run created: they hold no blob that
    /// this run did not put there, so their blobs are not HEADed.
    fresh: Mutex<HashSet<String>>,
    /// Manifests this run wrote, per destination repository: in a fresh
    /// repository they are the only ones there.
    pushed: Mutex<HashSet<(String, Digest)>>,
    referrer_state: referrers::State,
}

struct Plan {
    /// Manifests to push, children before parents; the last is the root.
    manifests: Vec<Manifest>,
    manifests_skipped: usize,
    /// Unique blobs, in first-seen order.
    blobs: Vec<Descriptor>,
    platforms: Vec<String>,
    filtered: bool,
}

impl Copier {
    /// A copier with its options and reporter.
    pub fn new(opts: CopyOptions, reporter: Arc<dyn Reporter>) -> Self {
        let jobs = Arc::new(Semaphore::new(opts.jobs.max(1)));
        let small = Arc::new(Semaphore::new(
            opts.jobs.max(1).saturating_mul(SMALL_PER_JOB),
        ));
        Copier {
            opts,
            reporter,
            stop: Stop::default(),
            jobs,
            small,
            blobs: Mutex::new(HashMap::new()),
            planned: Mutex::new(HashSet::new()),
            fresh: Mutex::new(HashSet::new()),
            pushed: Mutex::new(HashSet::new()),
            referrer_state: referrers::State::default(),
        }
    }

    /// Marks a destination repository as created by this run (empty but for
    /// what this copier writes): blob existence checks there are skipped.
    pub fn created(&self, dst: &Repo) {
        if let Ok(mut f) = self.fresh.lock() {
            f.insert(dst.describe());
        }
    }

    fn is_fresh(&self, dst: &Repo) -> bool {
        self.fresh
            .lock()
            .map(|f| f.contains(&dst.describe()))
            .unwrap_or(false)
    }

    /// Stops taking new work when `stop` is raised: blobs already streaming
    /// finish, no new blob starts, no manifest is written (so nothing is
    /// tagged), and the copy ends with [`Error::Stopped`].
    pub fn with_stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    fn stopped(&self) -> Result<()> {
        if self.stop.is_raised() {
            Err(Error::Stopped)
        } else {
            Ok(())
        }
    }

    /// Remembers a manifest written to `dst`.
    fn record_push(&self, dst: &Repo, d: &Digest) {
        if let Ok(mut p) = self.pushed.lock() {
            p.insert((dst.describe(), d.clone()));
        }
    }

    /// Whether a manifest of a fresh repository is there (this run wrote it).
    fn was_pushed(&self, dst: &Repo, d: &Digest) -> bool {
        self.pushed
            .lock()
            .map(|p| p.contains(&(dst.describe(), d.clone())))
            .unwrap_or(false)
    }

    fn cell(&self, dst: &Repo, d: &Digest) -> BlobCell {
        let mut map = match self.blobs.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry((dst.describe(), d.clone()))
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone()
    }

    /// Copies one image, then its referrers (unless turned off). Nothing is
    /// tagged unless everything it references is present at the destination.
    pub async fn copy(&self, job: CopyJob<'_>) -> Result<CopyReport> {
        let start = Instant::now();
        // Boxed: the referrer walk nests image copies, and unboxed the
        // future types grow too deep for the compiler in callers.
        // The source's referrer tags are listed while the image copies.
        let warm = async {
            if self.opts.referrers.enabled {
                self.warm_source_tags(job.src).await;
            }
        };
        let (copied, ()) = tokio::join!(Box::pin(self.copy_image(&job)), warm);
        let (mut report, root) = copied?;
        if self.opts.referrers.enabled {
            Box::pin(self.copy_referrers(&job, root.as_ref(), &mut report)).await;
            report.duration_s = start.elapsed().as_secs_f64();
        }
        Ok(report)
    }

    /// Copies one image's manifest tree; returns the report and, when the
    /// tree was read from the source, its root.
    async fn copy_image(&self, job: &CopyJob<'_>) -> Result<(CopyReport, Option<Manifest>)> {
        let start = Instant::now();
        let CopyJob {
            src,
            src_ref,
            dst,
            dst_ref,
            ..
        } = *job;
        let platforms = job.platforms;
        let filtering = !platforms.is_empty();

        // Cheap check first: HEADs only (both at once), no pull spent when
        // nothing changed. A repository this run created holds nothing it
        // did not write: no check there, the tree is read at once.
        // At a layout destination, "present" means the whole image is intact.
        let fresh = self.is_fresh(dst);
        let (head, dst_head) = if fresh {
            (None, None)
        } else {
            let (head, dst_head) =
                tokio::join!(src.head_manifest(src_ref), dst.head_complete(dst_ref));
            let head = head?.ok_or_else(|| Error::NotFound {
                what: format!("manifest {}", job.src_name),
                detail: "no such tag or digest at the source".into(),
            })?;
            (Some(head), dst_head?)
        };
        if let Some((head, sd)) = head.as_ref().and_then(|h| Some((h, h.digest.as_ref()?))) {
            if let Some(dh) = &dst_head {
                // Filtered: the destination index records what it was cut
                // from (read from the destination: no source pull).
                let same = if filtering {
                    media::is_index(dh.media_type.as_deref().unwrap_or(""))
                        && dst
                            .get_manifest(dst_ref)
                            .await
                            .ok()
                            .and_then(|m| media::filtered_from(&m.bytes))
                            == Some((sd.to_string(), platform_key(platforms)))
                } else {
                    dh.digest.as_ref() == Some(sd)
                };
                if same {
                    let root = Root {
                        digest: dh.digest.clone().unwrap_or_else(|| sd.clone()),
                        source_digest: sd.clone(),
                        media_type: head.media_type.clone().unwrap_or_default(),
                    };
                    return Ok((
                        report(
                            job,
                            start,
                            root,
                            CopyStatus::Unchanged,
                            None,
                            &Tally::default(),
                        ),
                        None,
                    ));
                }
            }
        }

        // Docker Hub counts manifest GETs as pulls: reserve before spending.
        let grant = src.reserve_pulls(1, src_ref).await?;
        let top = src.get_manifest_with(src_ref, Some(&grant)).await?;
        drop(grant);
        let source_digest = top.digest.clone();
        let plan = self.plan(src, dst, top, platforms).await?;
        let root = plan
            .manifests
            .last()
            .cloned()
            .ok_or_else(|| Error::InvalidManifest {
                what: job.src_name.clone(),
                reason: "empty manifest tree".into(),
            })?;
        if plan.filtered {
            self.reporter.note(&format!(
                "--platform kept {} of the source index: the destination index is rewritten, so its digest {} differs from the source's {}",
                plan.platforms.join(", "),
                root.digest.short(),
                source_digest.short()
            ));
        }

        // Which blobs are missing at the destination (HEAD, in parallel;
        // none in a repository this run created: what this run put there
        // is known to the per-digest cells).
        let fresh = self.is_fresh(dst);
        let checks = stream::iter(plan.blobs.iter().cloned())
            .map(|b| async move {
                let cell = self.cell(dst, &b.digest);
                if cell.initialized() {
                    return Ok::<_, Error>((b, true));
                }
                if fresh {
                    return Ok((b, false));
                }
                let present = dst.has_blob(&b.digest, b.size).await?;
                if present {
                    let _ = cell.set(BlobOutcome::Skipped);
                }
                Ok((b, present))
            })
            .buffer_unordered(self.opts.jobs.max(1) * 2)
            .try_collect::<Vec<_>>()
            .await?;
        let mut tally = Tally::default();
        let mut todo = Vec::new();
        for (b, present) in checks {
            if present {
                tally.skipped += 1;
            } else {
                todo.push(b);
            }
        }
        let todo_bytes: u64 = todo.iter().fold(0u64, |n, b| n.saturating_add(b.size));

        if self.opts.dry_run {
            // Across the images of one run, a blob is counted once.
            let mut planned = match self.planned.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            for b in &todo {
                if planned.insert((dst.describe(), b.digest.clone())) {
                    tally.copied += 1;
                    tally.bytes = tally.bytes.saturating_add(b.size);
                } else {
                    tally.skipped += 1;
                }
            }
            tally.manifests = plan.manifests.len();
            tally.manifests_skipped = plan.manifests_skipped;
            return Ok((
                report(
                    job,
                    start,
                    Root {
                        digest: root.digest.clone(),
                        source_digest,
                        media_type: root.media_type.clone(),
                    },
                    CopyStatus::DryRun,
                    Some(&plan),
                    &tally,
                ),
                Some(root),
            ));
        }

        self.reporter.planned(todo.len(), todo_bytes);
        // Largest first, so the last stream to finish is a short one. The
        // permits (streams, small transfers) bound what is in flight; the
        // futures only wait on them.
        todo.sort_by_key(|b| std::cmp::Reverse(b.size));
        let waiting = self
            .opts
            .jobs
            .max(1)
            .saturating_mul(SMALL_PER_JOB.saturating_add(1));
        let mut blobs = stream::iter(todo)
            .map(|b| self.copy_blob(src, dst, b))
            .buffer_unordered(waiting);
        // A failure ends the copy at once; a stop lets the streams in flight finish.
        let mut stopped = false;
        while let Some(r) = blobs.next().await {
            match r {
                Ok((BlobOutcome::Copied, size)) => {
                    tally.copied += 1;
                    tally.bytes = tally.bytes.saturating_add(size);
                }
                Ok((BlobOutcome::Mounted, _)) => tally.mounted += 1,
                Ok((BlobOutcome::Skipped, _)) => tally.skipped += 1,
                Err(Error::Stopped) => stopped = true,
                Err(e) => return Err(e),
            }
        }
        drop(blobs);
        if stopped {
            return Err(Error::Stopped);
        }
        self.stopped()?;

        // Children by digest, then the root under its tag: the tag is last.
        // Image manifests name only blobs (all present now): they go in
        // parallel; indexes follow in order, children before parents.
        let Some((root_m, children)) = plan.manifests.split_last() else {
            return Err(Error::Internal("a plan without manifests".into()));
        };
        let (leaves, nested): (Vec<&Manifest>, Vec<&Manifest>) = children
            .iter()
            .partition(|m| !media::is_index(&m.media_type));
        let mut pushed = stream::iter(leaves)
            .map(|m| async move {
                dst.put_manifest(m.digest.as_str(), m, false).await?;
                self.record_push(dst, &m.digest);
                self.reporter.manifest_pushed(&m.digest, m.digest.as_str());
                Ok::<_, Error>(())
            })
            .buffer_unordered(self.opts.jobs.max(1))
            .try_fold(0usize, |n, ()| async move { Ok(n + 1) })
            .await?;
        for m in nested {
            dst.put_manifest(m.digest.as_str(), m, false).await?;
            self.record_push(dst, &m.digest);
            pushed += 1;
            self.reporter.manifest_pushed(&m.digest, m.digest.as_str());
        }
        // The tag may already hold exactly this root (a --platform rerun):
        // leave it, so immutable repositories count it as present. The HEAD
        // at the start says what the tag held.
        let tag_holds_root = dst_ref != root_m.digest.as_str()
            && dst_head
                .as_ref()
                .is_some_and(|h| h.digest.as_ref() == Some(&root_m.digest));
        if !tag_holds_root {
            dst.put_manifest(dst_ref, root_m, true).await?;
            self.record_push(dst, &root_m.digest);
            pushed += 1;
            self.reporter.manifest_pushed(&root_m.digest, dst_ref);
        }
        tally.manifests = pushed;
        tally.manifests_skipped = plan.manifests_skipped;
        Ok((
            report(
                job,
                start,
                Root {
                    digest: root.digest.clone(),
                    source_digest,
                    media_type: root.media_type.clone(),
                },
                CopyStatus::Copied,
                Some(&plan),
                &tally,
            ),
            Some(root),
        ))
    }

    /// Walks the source tree from `top`. Child manifests already at the
    /// destination are not fetched (their blobs are there by construction).
    async fn plan(
        &self,
        src: &Repo,
        dst: &Repo,
        top: Manifest,
        platforms: &[Platform],
    ) -> Result<Plan> {
        let mut plan = Plan {
            manifests: Vec::new(),
            manifests_skipped: 0,
            blobs: Vec::new(),
            platforms: Vec::new(),
            filtered: false,
        };
        let mut seen_blobs = HashSet::new();
        let fresh = self.is_fresh(dst);
        let mut top = top;
        if media::is_index(&top.media_type) && !platforms.is_empty() {
            top = filter_index(&top, platforms)?;
            plan.filtered = true;
        } else if !platforms.is_empty() {
            self.reporter
                .note("the source is a single-platform image: --platform has nothing to filter");
        }
        // Iterative depth-first walk; a manifest is pushed after its children.
        enum Step {
            Enter(Manifest),
            Leave(Manifest),
        }
        let mut seen_manifests = HashSet::new();
        seen_manifests.insert(top.digest.clone());
        let mut stack = vec![Step::Enter(top)];
        let mut depth_guard = 0usize;
        while let Some(step) = stack.pop() {
            depth_guard += 1;
            if depth_guard > 100_000 {
                return Err(Error::InvalidManifest {
                    what: "manifest tree".into(),
                    reason: "too many manifests".into(),
                });
            }
            let m = match step {
                Step::Leave(m) => {
                    plan.manifests.push(m);
                    continue;
                }
                Step::Enter(m) => m,
            };
            let what = m.digest.to_string();
            match media::parse(&what, &m.media_type, &m.bytes)? {
                Parsed::Index(children) => {
                    let is_top = plan.manifests.is_empty() && stack.is_empty();
                    if is_top {
                        plan.platforms = children
                            .iter()
                            .filter_map(|c| c.platform.as_ref())
                            .filter(|p| !p.is_unknown())
                            .map(|p| p.to_string())
                            .collect();
                    }
                    // HEAD every child at the destination (free), then fetch
                    // the missing ones with their pulls reserved together.
                    // A child listed twice (in this index or another one of
                    // the tree) is fetched once.
                    let children: Vec<_> = children
                        .into_iter()
                        .filter(|c| seen_manifests.insert(c.digest.clone()))
                        .collect();
                    let present = if fresh {
                        children
                            .iter()
                            .map(|c| self.was_pushed(dst, &c.digest))
                            .collect()
                    } else {
                        stream::iter(children.iter())
                            .map(|c| async move {
                                dst.head_complete(c.digest.as_str())
                                    .await
                                    .map(|h| h.is_some())
                            })
                            .buffered(self.opts.jobs.max(1))
                            .try_collect::<Vec<_>>()
                            .await?
                    };
                    let missing: Vec<_> = children
                        .iter()
                        .zip(&present)
                        .filter(|(_, here)| !**here)
                        .map(|(c, _)| c)
                        .collect();
                    let grant = match missing.first() {
                        Some(first) => Some(
                            src.reserve_pulls(missing.len() as u64, first.digest.as_str())
                                .await?,
                        ),
                        None => None,
                    };
                    let grant = grant.as_ref();
                    let got = stream::iter(missing)
                        .map(|c| src.get_manifest_with(c.digest.as_str(), grant))
                        .buffered(self.opts.jobs.max(1))
                        .try_collect::<Vec<_>>()
                        .await?;
                    let mut got = got.into_iter();
                    let results: Vec<Option<Manifest>> = present
                        .iter()
                        .map(|here| if *here { None } else { got.next() })
                        .collect();
                    let mut fetched = Vec::new();
                    for r in results {
                        match r {
                            Some(child) => fetched.push(child),
                            None => plan.manifests_skipped += 1,
                        }
                    }
                    stack.push(Step::Leave(m));
                    for child in fetched.into_iter().rev() {
                        stack.push(Step::Enter(child));
                    }
                }
                Parsed::Image { config, layers } => {
                    for b in std::iter::once(config).chain(layers) {
                        if seen_blobs.insert(b.digest.clone()) {
                            plan.blobs.push(b);
                        }
                    }
                    plan.manifests.push(m);
                }
            }
        }
        Ok(plan)
    }

    /// Permits for one blob transfer. A stream of a big blob holds one of
    /// `--jobs` and one of each host's; a small one (configs, thin layers)
    /// costs round trips rather than bandwidth, so it takes one of a
    /// larger pool and no host stream (the hosts' request lanes still
    /// bound it).
    async fn acquire(
        &self,
        src: &Repo,
        dst: &Repo,
        size: u64,
    ) -> Result<Vec<OwnedSemaphorePermit>> {
        let closed = |_| Error::Internal("concurrency limiter closed".into());
        if size < SMALL_BLOB {
            return Ok(vec![self
                .small
                .clone()
                .acquire_owned()
                .await
                .map_err(closed)?]);
        }
        let mut permits = vec![self.jobs.clone().acquire_owned().await.map_err(closed)?];
        // Source and destination host permits are taken together, in a fixed
        // (name) order so two opposite copies cannot deadlock.
        let mut hosts: Vec<_> = [src.permits(), dst.permits()]
            .into_iter()
            .flatten()
            .collect();
        hosts.sort_by(|a, b| a.0.cmp(&b.0));
        hosts.dedup_by(|a, b| a.0 == b.0);
        for (_, sem) in hosts {
            permits.push(sem.acquire_owned().await.map_err(closed)?);
        }
        Ok(permits)
    }

    async fn copy_blob(&self, src: &Repo, dst: &Repo, b: Descriptor) -> Result<(BlobOutcome, u64)> {
        let cell = self.cell(dst, &b.digest);
        let mut ran = false;
        let outcome = *cell
            .get_or_try_init(|| {
                ran = true;
                self.transfer(src, dst, &b)
            })
            .await?;
        // Someone else moved it while we waited: for this image it was present.
        let outcome = if ran { outcome } else { BlobOutcome::Skipped };
        self.reporter.blob_finished(&b.digest, b.size, outcome);
        Ok((outcome, b.size))
    }

    async fn transfer(&self, src: &Repo, dst: &Repo, b: &Descriptor) -> Result<BlobOutcome> {
        self.stopped()?;
        let _permits = self.acquire(src, dst, b.size).await?;
        // Waiting for a permit is not being in flight: a stop now starts nothing.
        self.stopped()?;
        let local_gate = Backoff::default();
        let gate = dst.backoff().or(src.backoff()).unwrap_or(&local_gate);
        let mount_from = dst.mount_source(src);
        let reporter = self.reporter.clone();
        with_retries(
            &self.opts.retry,
            gate,
            |attempt, e| reporter.blob_retry(&b.digest, attempt, e),
            |attempt| async move {
                if attempt > 1 && dst.has_blob(&b.digest, b.size).await? {
                    return Ok(BlobOutcome::Skipped);
                }
                // Without a mount to try, the upload opens while the source
                // answers its GET: one round trip instead of two. A mount
                // may make the bytes unnecessary, so it goes first.
                let (target, body) = if mount_from.is_some() {
                    let target = dst.begin_upload(&b.digest, mount_from).await?;
                    if matches!(target, UploadTarget::Mounted) {
                        return Ok(BlobOutcome::Mounted);
                    }
                    (target, src.get_blob(&b.digest).await?)
                } else {
                    let (target, body) =
                        tokio::join!(dst.begin_upload(&b.digest, None), src.get_blob(&b.digest));
                    (target?, body?)
                };
                self.reporter.blob_started(&b.digest, b.size);
                let (verifying, failure) = Verifying::new(
                    body,
                    b.digest.clone(),
                    b.size,
                    self.reporter.clone(),
                    !dst.verifies_blob_digests(),
                );
                match dst
                    .finish_upload(target, &b.digest, b.size, verifying.boxed())
                    .await
                {
                    Ok(()) => Ok(BlobOutcome::Copied),
                    // The stream's own error (digest mismatch, source reset)
                    // explains the failure better than the upload's.
                    Err(e) => Err(failure.take().unwrap_or(e)),
                }
            },
        )
        .await
    }
}

/// The top manifest a report describes.
struct Root {
    digest: Digest,
    source_digest: Digest,
    media_type: String,
}

fn report(
    job: &CopyJob<'_>,
    start: Instant,
    root: Root,
    status: CopyStatus,
    plan: Option<&Plan>,
    t: &Tally,
) -> CopyReport {
    CopyReport {
        source: job.src_name.clone(),
        destination: job.dst_name.clone(),
        digest: root.digest,
        source_digest: root.source_digest,
        media_type: root.media_type,
        status,
        platforms: plan.map(|p| p.platforms.clone()).unwrap_or_default(),
        platform_filtered: plan.is_some_and(|p| p.filtered),
        manifests: t.manifests,
        manifests_skipped: t.manifests_skipped,
        blobs_copied: t.copied,
        blobs_skipped: t.skipped,
        blobs_mounted: t.mounted,
        bytes_copied: t.bytes,
        referrers_copied: 0,
        referrers_skipped: 0,
        referrers_failed: 0,
        referrers: Vec::new(),
        duration_s: start.elapsed().as_secs_f64(),
    }
}

#[derive(Default)]
struct Tally {
    copied: usize,
    skipped: usize,
    mounted: usize,
    bytes: u64,
    manifests: usize,
    manifests_skipped: usize,
}

/// Rewrites an index keeping only the platforms asked for (and the
/// attestations of those images); the result has a new digest.
/// The `--platform` set as recorded in a filtered index.
fn platform_key(platforms: &[Platform]) -> String {
    let mut v: Vec<String> = platforms.iter().map(|p| p.to_string()).collect();
    v.sort();
    v.dedup();
    v.join(",")
}

fn filter_index(top: &Manifest, platforms: &[Platform]) -> Result<Manifest> {
    let children = match media::parse(top.digest.as_str(), &top.media_type, &top.bytes)? {
        Parsed::Index(c) => c,
        Parsed::Image { .. } => return Ok(top.clone()),
    };
    let kept: HashSet<String> = children
        .iter()
        .filter(|c| {
            c.platform
                .as_ref()
                .is_some_and(|p| platforms.iter().any(|f| f.accepts(p)))
        })
        .map(|c| c.digest.to_string())
        .collect();
    if kept.is_empty() {
        let available: Vec<String> = children
            .iter()
            .filter_map(|c| c.platform.as_ref().map(|p| p.to_string()))
            .collect();
        let wanted: Vec<String> = platforms.iter().map(|p| p.to_string()).collect();
        return Err(Error::Usage(format!(
            "no platform of the source matches --platform {}; it has: {}",
            wanted.join(","),
            available.join(", ")
        )));
    }
    // Keep attestations that describe a kept image.
    let bytes = media::filter_index(
        &top.bytes,
        |e| {
            let digest = e.get("digest").and_then(|d| d.as_str()).unwrap_or("");
            let attests = e
                .get("annotations")
                .and_then(|a| a.get("vnd.docker.reference.digest"))
                .and_then(|d| d.as_str());
            kept.contains(digest) || attests.is_some_and(|a| kept.contains(a))
        },
        &[
            (media::ANN_SOURCE, top.digest.to_string()),
            (media::ANN_PLATFORMS, platform_key(platforms)),
        ],
    )?;
    Ok(Manifest {
        digest: Digest::sha256_of(&bytes),
        bytes: bytes.into(),
        media_type: top.media_type.clone(),
    })
}
