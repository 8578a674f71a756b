//! Supply-chain artifacts travel with their images. After an image is copied
//! (or found unchanged), its referrers — signatures, SBOMs, attestations —
//! and theirs (a signature on an SBOM, up to a depth bound) are found at the
//! source and copied digest for digest, `subject` intact:
//!
//! - discovery, for the image and every child manifest of an index: the OCI
//!   1.1 referrers API where the source serves it (`artifactType` filter,
//!   every page), the referrers tag schema (`sha256-<hex>`, an index of
//!   referrers), and cosign's tags (`sha256-<hex>.sig`, `.att`, `.sbom`),
//!   found in one tag listing per source repository;
//! - copy: artifact manifests are pushed by digest after their blobs; on a
//!   destination without the referrers API (or that does not index a
//!   `subject`, or refuses one) the fallback tag index is maintained —
//!   merged with what is there, never dropping an entry. Cosign tags are
//!   copied as tags;
//! - a rerun costs HEADs: what is at the destination is recognised by digest
//!   (a fallback index copied verbatim, or merged with a note of the source
//!   index it came from; on a referrers-API destination the source's index
//!   is stored by digest as the marker).
//!
//! Part of the copy engine: sees only [`Repo`]; never imports `mirror` or `cli`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use futures_util::{stream, StreamExt};
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::error::{Error, Result};
use crate::registry::{Manifest, Repo};
use crate::types::media::{self, Parsed};
use crate::types::referrers::{
    self, CosignKind, Referrer, ReferrerList, ReferrerTag, ANN_REFERRERS_SOURCE,
    ANN_REFERRERS_TYPES,
};
use crate::types::Digest;

use super::{BlobOutcome, Copier, CopyJob, CopyReport, CopyStatus};

/// Which referrers move, and how deep.
#[derive(Clone, Debug)]
pub struct ReferrerOptions {
    /// Copy referrers at all (`--no-referrers` turns it off).
    pub enabled: bool,
    /// Keep only these artifact types (`--referrers-type`, empty: all).
    pub types: Vec<String>,
    /// Referrers of referrers down to this depth (1 = only the image's own).
    pub max_depth: usize,
}

impl Default for ReferrerOptions {
    fn default() -> Self {
        ReferrerOptions {
            enabled: true,
            types: Vec::new(),
            max_depth: 4,
        }
    }
}

impl ReferrerOptions {
    fn wanted(&self, artifact_type: Option<&str>) -> bool {
        self.types.is_empty() || artifact_type.is_some_and(|t| self.types.iter().any(|x| x == t))
    }

    fn types_key(&self) -> String {
        let mut t = self.types.clone();
        t.sort();
        t.dedup();
        t.join(",")
    }
}

/// How a referrer was found at the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Found {
    /// The OCI 1.1 referrers API.
    ReferrersApi,
    /// The referrers tag schema (`sha256-<hex>` index).
    FallbackTag,
    /// A cosign tag (`sha256-<hex>.sig|.att|.sbom`).
    CosignTag,
}

/// What happened to one referrer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferrerStatus {
    /// Written now.
    Copied,
    /// Already at the destination.
    Present,
    /// Would be written (dry run).
    WouldCopy,
    /// Could not be copied (see `error`).
    Failed,
}

/// One referrer of an image.
#[derive(Clone, Debug, Serialize)]
pub struct ReferrerResult {
    /// The manifest it refers to.
    pub subject: Digest,
    /// The artifact manifest (unknown when a tag could not be read).
    pub digest: Option<Digest>,
    /// Its artifact type.
    pub artifact_type: Option<String>,
    /// The tag it travels under (cosign tags).
    pub tag: Option<String>,
    /// How it was found.
    pub found: Found,
    /// What happened.
    pub status: ReferrerStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Referrer tags of a source repository, by subject.
#[derive(Default)]
struct SubjectTags {
    fallback: bool,
    cosign: Vec<CosignKind>,
}

type TagIndex = Arc<HashMap<Digest, SubjectTags>>;

/// Per-run memory of the referrer machinery (shared by every image).
#[derive(Default)]
pub(super) struct State {
    /// Whether a registry serves the referrers API (key: registry or layout),
    /// probed once.
    api: Mutex<HashMap<String, Arc<OnceCell<bool>>>>,
    /// Destinations that refused a manifest with `subject`.
    refused: Mutex<HashSet<String>>,
    /// Referrer tags of each source repository, listed once.
    tags: Mutex<HashMap<String, Arc<OnceCell<TagIndex>>>>,
    /// One writer per destination fallback tag.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Referrer tags by subject; names set aside by the name check are not among
/// them, and referrer tags are recognised by a strict parse.
fn index_tags(names: &[String]) -> TagIndex {
    let mut map: HashMap<Digest, SubjectTags> = HashMap::new();
    for t in names {
        match ReferrerTag::parse(t) {
            Some(ReferrerTag::Fallback(d)) => map.entry(d).or_default().fallback = true,
            Some(ReferrerTag::Cosign(d, k)) => map.entry(d).or_default().cosign.push(k),
            None => {}
        }
    }
    Arc::new(map)
}

/// The registry a repository is on, for capability memory.
fn registry_key(r: &Repo) -> String {
    match r {
        Repo::Remote(x) => x.client.name.clone(),
        Repo::Layout(_) => r.describe(),
    }
}

/// A referrer to ensure at the destination, with how it was found.
struct Pending {
    r: Referrer,
    found: Found,
}

/// What happened to a referrer at the destination, and whether the registry
/// indexed its `subject` (when written).
type Ensured = (ReferrerStatus, Option<bool>);

/// What one subject's walk produced.
#[derive(Default)]
struct Walk {
    results: Vec<ReferrerResult>,
    /// Referrers (present or copied) whose own referrers are looked for next.
    next: Vec<Digest>,
}

impl Copier {
    /// Finds and copies the referrers of an image that was just copied or
    /// found unchanged; fills the report's referrer fields. Failures are
    /// recorded per referrer, never hiding the image's own success.
    pub(super) async fn copy_referrers(
        &self,
        job: &CopyJob<'_>,
        root: Option<&Manifest>,
        report: &mut CopyReport,
    ) {
        if self.source_has_none(job.src, &report.source_digest).await {
            return;
        }
        let subjects = match self.subjects(job, root, report).await {
            Ok(s) => s,
            Err(e) => {
                report.referrers.push(ReferrerResult {
                    subject: report.digest.clone(),
                    digest: None,
                    artifact_type: None,
                    tag: None,
                    found: Found::ReferrersApi,
                    status: ReferrerStatus::Failed,
                    error: Some(format!("reading the image's manifests: {e}")),
                });
                report.referrers_failed += 1;
                return;
            }
        };
        // Which scheme the destination keeps (one probe per registry and run).
        if !self.opts.dry_run {
            if let Some(first) = subjects.first() {
                self.dst_indexes(job.dst, first).await;
            }
        }
        // Level by level (the image's manifests, their referrers, theirs…),
        // the subjects of one level in parallel, results in a stable order.
        let mut seen: HashSet<Digest> = HashSet::new();
        let mut level = subjects;
        let mut depth = 1;
        while !level.is_empty() {
            level.retain(|d| seen.insert(d.clone()));
            let walks: Vec<Walk> = stream::iter(level)
                .map(|subject| async move { self.referrers_of(job, &subject).await })
                .buffered(self.opts.jobs.max(1))
                .collect()
                .await;
            let mut next = Vec::new();
            for walk in walks {
                for r in walk.results {
                    match r.status {
                        ReferrerStatus::Copied | ReferrerStatus::WouldCopy => {
                            report.referrers_copied += 1
                        }
                        ReferrerStatus::Present => report.referrers_skipped += 1,
                        ReferrerStatus::Failed => report.referrers_failed += 1,
                    }
                    report.referrers.push(r);
                }
                next.extend(walk.next);
            }
            if depth >= self.opts.referrers.max_depth {
                break;
            }
            level = next;
            depth += 1;
        }
    }

    /// The manifests whose referrers travel: the image's root (unless
    /// `--platform` rewrote it: the source root's referrers have no subject
    /// at the destination) and every child manifest the destination holds.
    async fn subjects(
        &self,
        job: &CopyJob<'_>,
        root: Option<&Manifest>,
        report: &CopyReport,
    ) -> Result<Vec<Digest>> {
        let filtered = report.digest != report.source_digest;
        let mut out = Vec::new();
        if !filtered {
            out.push(report.source_digest.clone());
        }
        if !media::is_index(&report.media_type) {
            return Ok(out);
        }
        let fetched;
        let root = match root {
            Some(r) => r,
            None => {
                // Unchanged: the destination holds the same tree (its GET is no
                // source pull).
                fetched = job.dst.get_manifest(report.digest.as_str()).await?;
                &fetched
            }
        };
        if let Parsed::Index(children) =
            media::parse(root.digest.as_str(), &root.media_type, &root.bytes)?
        {
            out.extend(children.into_iter().map(|c| c.digest));
        }
        Ok(out)
    }

    /// Referrer tags of the source repository (one listing per run).
    async fn source_tags(&self, src: &Repo) -> TagIndex {
        let cell = lock(&self.referrer_state.tags)
            .entry(src.describe())
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        cell.get_or_init(|| async {
            match src.tags().await {
                Ok(tags) => index_tags(&tags.names),
                Err(Error::NotFound { .. }) => Arc::default(),
                Err(e) => {
                    self.reporter.note(&format!(
                        "cannot list the tags of {} ({e}): its fallback and cosign referrer tags are not copied",
                        src.describe()
                    ));
                    Arc::default()
                }
            }
        })
        .await
        .clone()
    }

    /// Lists the source's referrer tags ahead of need (once per repository).
    pub(super) async fn warm_source_tags(&self, src: &Repo) {
        self.source_tags(src).await;
    }

    /// The tags of a source repository, listed by the caller (a plan's
    /// listing): the referrer machinery will not list them again.
    pub fn know_source_tags(&self, src: &Repo, names: &[String]) {
        let cell = lock(&self.referrer_state.tags)
            .entry(src.describe())
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        if !cell.initialized() {
            let _ = cell.set(index_tags(names));
        }
    }

    /// Whether the source holds no referrer at all: it has no referrer or
    /// signature tag and does not serve the referrers API. Then an unchanged image's manifests need
    /// not be read to look for theirs.
    /// The first image of a run probes the API (its answer is asked again
    /// by the walk when the API is served: one request per run).
    async fn source_has_none(&self, src: &Repo, subject: &Digest) -> bool {
        if !self.source_tags(src).await.is_empty() {
            return false;
        }
        let one_type = match self.opts.referrers.types.as_slice() {
            [t] => Some(t.as_str()),
            _ => None,
        };
        let cell = self.api_cell(src);
        let served = cell
            .get_or_try_init(|| async {
                src.referrers(subject, one_type).await.map(|a| a.is_some())
            })
            .await
            .copied();
        matches!(served, Ok(false))
    }

    /// The probe cell of a registry (one probe per registry and run, even
    /// with many images at once).
    fn api_cell(&self, repo: &Repo) -> Arc<OnceCell<bool>> {
        lock(&self.referrer_state.api)
            .entry(registry_key(repo))
            .or_default()
            .clone()
    }

    /// Whether `repo`'s registry serves the referrers API, and the referrers
    /// of `subject` when it does. The first caller probes (with its subject);
    /// the others wait for the answer.
    async fn serves_api(
        &self,
        repo: &Repo,
        subject: &Digest,
    ) -> Result<(bool, Option<ReferrerList>)> {
        let one_type = match self.opts.referrers.types.as_slice() {
            [t] => Some(t.as_str()),
            _ => None,
        };
        let cell = self.api_cell(repo);
        let mut probed: Option<Option<ReferrerList>> = None;
        let serves = *cell
            .get_or_try_init(|| async {
                let answer = repo.referrers(subject, one_type).await?;
                let serves = answer.is_some();
                probed = Some(answer);
                Ok::<_, Error>(serves)
            })
            .await?;
        if let Some(answer) = probed {
            return Ok((serves, answer));
        }
        if !serves {
            return Ok((false, None));
        }
        Ok((true, repo.referrers(subject, one_type).await?))
    }

    /// Whether the destination keeps referrers through the API (else: the
    /// fallback tag). A repository that does not exist yet (dry run) tells
    /// nothing: the question stays open.
    async fn dst_indexes(&self, dst: &Repo, subject: &Digest) -> bool {
        if lock(&self.referrer_state.refused).contains(&registry_key(dst)) {
            return false;
        }
        let cell = self.api_cell(dst);
        cell.get_or_try_init(|| async { dst.referrers(subject, None).await.map(|a| a.is_some()) })
            .await
            .ok()
            .copied()
            .unwrap_or(false)
    }

    /// Whether the destination is known to index referrers (no request).
    fn known_api(&self, dst: &Repo) -> bool {
        !lock(&self.referrer_state.refused).contains(&registry_key(dst))
            && self.api_cell(dst).get() == Some(&true)
    }

    /// The destination refused a manifest with `subject`: the fallback tag
    /// from now on.
    fn mark_no_api(&self, dst: &Repo) {
        lock(&self.referrer_state.refused).insert(registry_key(dst));
    }

    /// Finds the referrers of one subject and ensures each at the destination.
    async fn referrers_of(&self, job: &CopyJob<'_>, subject: &Digest) -> Walk {
        let mut walk = Walk::default();
        let opts = &self.opts.referrers;
        let fail = |found: Found, tag: Option<String>, e: String| ReferrerResult {
            subject: subject.clone(),
            digest: None,
            artifact_type: None,
            tag,
            found,
            status: ReferrerStatus::Failed,
            error: Some(e),
        };

        // 1. The referrers API at the source.
        let mut pending: Vec<Pending> = Vec::new();
        match self.serves_api(job.src, subject).await {
            Ok((_, Some(list))) => pending.extend(
                list.entries
                    .into_iter()
                    .filter(|r| opts.wanted(r.artifact_type.as_deref()))
                    .map(|r| Pending {
                        r,
                        found: Found::ReferrersApi,
                    }),
            ),
            Ok((_, None)) => {}
            Err(e) => walk.results.push(fail(
                Found::ReferrersApi,
                None,
                format!("listing the referrers at {}: {e}", job.src.describe()),
            )),
        }

        // 2. Tags: the fallback index and cosign's.
        let tags = self.source_tags(job.src).await;
        let (has_fallback, cosign) = match tags.get(subject) {
            Some(t) => (t.fallback, t.cosign.clone()),
            None => (false, Vec::new()),
        };
        let mut source_index: Option<(Digest, Manifest, ReferrerList)> = None;
        if has_fallback {
            match self.fallback_at_source(job, subject, &mut walk).await {
                Ok(Some(src_index)) => {
                    let (_, _, list) = &src_index;
                    for r in &list.entries {
                        if opts.wanted(r.artifact_type.as_deref())
                            && !pending.iter().any(|p| p.r.digest == r.digest)
                        {
                            pending.push(Pending {
                                r: r.clone(),
                                found: Found::FallbackTag,
                            });
                        }
                    }
                    source_index = Some(src_index);
                }
                Ok(None) => {}
                Err(e) => walk.results.push(fail(
                    Found::FallbackTag,
                    Some(ReferrerTag::Fallback(subject.clone()).to_string()),
                    e.to_string(),
                )),
            }
        }

        // 3. Each artifact at the destination, by digest.
        let mut listed: Vec<Referrer> = Vec::new();
        let mut needs_fallback = false;
        let ensured: Vec<(Pending, Result<Ensured>)> = stream::iter(pending)
            .map(|p| async move {
                let out = self.ensure_referrer(job, &p.r).await;
                (p, out)
            })
            .buffered(self.opts.jobs.max(1))
            .collect()
            .await;
        for (p, out) in ensured {
            let (status, indexed, error) = match out {
                Ok((s, indexed)) => (s, indexed, None),
                Err(e) => (ReferrerStatus::Failed, None, Some(e.to_string())),
            };
            if indexed == Some(false) {
                needs_fallback = true;
            }
            if status != ReferrerStatus::Failed {
                walk.next.push(p.r.digest.clone());
                listed.push(p.r.clone());
            }
            walk.results.push(ReferrerResult {
                subject: subject.clone(),
                digest: Some(p.r.digest.clone()),
                artifact_type: p.r.artifact_type.clone(),
                tag: None,
                found: p.found,
                status,
                error,
            });
        }

        // 4. The fallback tag or marker at the destination.
        if !listed.is_empty() && !self.opts.dry_run {
            let tag_schema = needs_fallback || !self.dst_indexes(job.dst, subject).await;
            let written = if tag_schema {
                self.merge_fallback(job, subject, &listed, source_index.as_ref())
                    .await
            } else {
                self.store_marker(job, &listed, source_index.as_ref()).await
            };
            if let Err(e) = written {
                walk.results.push(fail(
                    Found::FallbackTag,
                    Some(ReferrerTag::Fallback(subject.clone()).to_string()),
                    format!("updating the referrers of {subject} at the destination: {e}"),
                ));
            }
        }

        // 5. Cosign tags, copied as tags.
        for kind in cosign {
            if !opts.wanted(Some(kind.artifact_type())) {
                continue;
            }
            let tag = ReferrerTag::Cosign(subject.clone(), kind).to_string();
            let inner = CopyJob {
                src: job.src,
                src_ref: &tag,
                dst: job.dst,
                dst_ref: &tag,
                src_name: format!("{} {tag}", job.src.describe()),
                dst_name: format!("{} {tag}", job.dst.describe()),
                platforms: &[],
            };
            let result = match Box::pin(self.copy_image(&inner)).await {
                Ok((r, _)) => {
                    let status = match r.status {
                        CopyStatus::Unchanged => ReferrerStatus::Present,
                        CopyStatus::DryRun if r.manifests == 0 => ReferrerStatus::Present,
                        CopyStatus::DryRun => ReferrerStatus::WouldCopy,
                        CopyStatus::Copied => ReferrerStatus::Copied,
                    };
                    walk.next.push(r.source_digest.clone());
                    ReferrerResult {
                        subject: subject.clone(),
                        digest: Some(r.source_digest),
                        artifact_type: Some(kind.artifact_type().to_string()),
                        tag: Some(tag),
                        found: Found::CosignTag,
                        status,
                        error: None,
                    }
                }
                Err(e) => fail(Found::CosignTag, Some(tag), e.to_string()),
            };
            walk.results.push(result);
        }
        walk
    }

    /// The source's fallback index of `subject`, unless the destination
    /// already has what it lists: then its entries are reported present and
    /// `None` is returned (no source GET, so no pull is spent).
    async fn fallback_at_source(
        &self,
        job: &CopyJob<'_>,
        subject: &Digest,
        walk: &mut Walk,
    ) -> Result<Option<(Digest, Manifest, ReferrerList)>> {
        let tag = ReferrerTag::Fallback(subject.clone()).to_string();
        let Some(src_digest) = job.src.head_manifest(&tag).await?.and_then(|h| h.digest) else {
            return Ok(None);
        };
        let opts = &self.opts.referrers;
        // Already there, verbatim (by tag) or as a marker (by digest)…
        let mut at_dst: Option<ReferrerList> = None;
        // A referrers-API destination never gets a fallback tag from us.
        let api_dst = self.known_api(job.dst);
        let dst_tag = if api_dst {
            None
        } else {
            job.dst.head_manifest(&tag).await?
        };
        if dst_tag.as_ref().and_then(|h| h.digest.as_ref()) == Some(&src_digest)
            || (opts.types.is_empty()
                && job.dst.head_complete(src_digest.as_str()).await?.is_some())
        {
            let m = job.dst.get_manifest(src_digest.as_str()).await?;
            at_dst = Some(referrers::parse_list(&tag, &m.bytes)?);
        } else if dst_tag.is_some() {
            // …or merged with a note of the source index it came from.
            let m = job.dst.get_manifest(&tag).await?;
            let list = referrers::parse_list(&tag, &m.bytes)?;
            let from = list
                .annotations
                .get(ANN_REFERRERS_SOURCE)
                .and_then(|v| v.as_str());
            let types = list
                .annotations
                .get(ANN_REFERRERS_TYPES)
                .and_then(|v| v.as_str())
                .unwrap_or("");
            if from == Some(src_digest.as_str()) && types == opts.types_key() {
                at_dst = Some(list);
            }
        }
        // Still there, each of them (checked by digest: HEADs, no source pull)?
        let mut complete = at_dst.is_some();
        for r in at_dst.iter().flat_map(|l| &l.entries) {
            if complete
                && opts.wanted(r.artifact_type.as_deref())
                && job.dst.head_complete(r.digest.as_str()).await?.is_none()
            {
                complete = false;
            }
        }
        if let Some(list) = at_dst.filter(|_| complete) {
            for r in list.entries {
                if !opts.wanted(r.artifact_type.as_deref()) {
                    continue;
                }
                walk.next.push(r.digest.clone());
                walk.results.push(ReferrerResult {
                    subject: subject.clone(),
                    digest: Some(r.digest),
                    artifact_type: r.artifact_type,
                    tag: None,
                    found: Found::FallbackTag,
                    status: ReferrerStatus::Present,
                    error: None,
                });
            }
            return Ok(None);
        }
        let m = job.src.get_manifest(src_digest.as_str()).await?;
        let list = referrers::parse_list(&tag, &m.bytes)?;
        Ok(Some((src_digest, m, list)))
    }

    /// Makes one referrer present at the destination: its blobs, its child
    /// manifests, then the manifest itself by digest. Returns what happened
    /// and, when written, whether the registry indexed its `subject`.
    async fn ensure_referrer(&self, job: &CopyJob<'_>, r: &Referrer) -> Result<Ensured> {
        let (src, dst) = (job.src, job.dst);
        if dst.head_complete(r.digest.as_str()).await?.is_some() {
            return Ok((ReferrerStatus::Present, None));
        }
        if self.opts.dry_run {
            return Ok((ReferrerStatus::WouldCopy, None));
        }
        let m = src.get_manifest(r.digest.as_str()).await?;
        let plan = self.plan(src, dst, m, &[]).await?;
        for b in &plan.blobs {
            let cell = self.cell(dst, &b.digest);
            if cell.initialized() {
                continue;
            }
            if dst.blob_size(&b.digest).await?.is_some() {
                let _ = cell.set(BlobOutcome::Skipped);
                continue;
            }
            self.copy_blob(src, dst, b.clone()).await?;
        }
        let n = plan.manifests.len();
        let mut indexed = None;
        for (i, m) in plan.manifests.iter().enumerate() {
            if i + 1 < n {
                dst.put_manifest(m.digest.as_str(), m, false).await?;
                continue;
            }
            match dst.put_referrer(m).await {
                Ok(x) => indexed = Some(x),
                Err(Error::Http {
                    status,
                    detail,
                    codes,
                    ..
                }) if (400..500).contains(&status) => {
                    // The spec's way out for registries that refuse `subject`:
                    // later referrers go to the fallback tag.
                    self.mark_no_api(dst);
                    return Err(Error::Http {
                        method: "PUT".into(),
                        url: format!("{}@{}", dst.describe(), m.digest),
                        status,
                        detail: format!(
                            "the destination refused a manifest with `subject` ({detail}); \
                             copy without it with --no-referrers, or use a registry that accepts OCI 1.1 artifacts"
                        ),
                        codes,
                        retry_after: None,
                    });
                }
                Err(e) => return Err(e),
            }
            self.reporter.manifest_pushed(&m.digest, m.digest.as_str());
        }
        Ok((ReferrerStatus::Copied, indexed))
    }

    fn fallback_lock(&self, dst: &Repo, tag: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.referrer_state.locks)
            .entry(format!("{} {tag}", dst.describe()))
            .or_default()
            .clone()
    }

    /// Adds `listed` to the destination's fallback tag of `subject`, keeping
    /// every entry already there. Where nothing else is there and the
    /// source's index lists exactly these, its bytes are written verbatim.
    async fn merge_fallback(
        &self,
        job: &CopyJob<'_>,
        subject: &Digest,
        listed: &[Referrer],
        source: Option<&(Digest, Manifest, ReferrerList)>,
    ) -> Result<()> {
        let tag = ReferrerTag::Fallback(subject.clone()).to_string();
        let guard = self.fallback_lock(job.dst, &tag);
        let _held = guard.lock().await;
        let existing = match job.dst.head_manifest(&tag).await? {
            Some(_) => {
                let m = job.dst.get_manifest(&tag).await?;
                referrers::parse_list(&tag, &m.bytes)?
            }
            None => ReferrerList::default(),
        };
        let have: HashSet<&Digest> = existing.entries.iter().map(|e| &e.digest).collect();
        let new: Vec<&Referrer> = listed
            .iter()
            .filter(|r| !have.contains(&r.digest))
            .collect();
        let source_noted = source.is_none_or(|(d, _, _)| {
            existing
                .annotations
                .get(ANN_REFERRERS_SOURCE)
                .and_then(|v| v.as_str())
                == Some(d.as_str())
        });
        if new.is_empty() && source_noted {
            return Ok(());
        }
        let verbatim = source.filter(|(_, _, list)| {
            existing.entries.is_empty()
                && list.entries.len() == listed.len()
                && list
                    .entries
                    .iter()
                    .zip(listed)
                    .all(|(a, b)| a.digest == b.digest)
        });
        let index = match verbatim {
            Some((_, m, _)) => m.clone(),
            None => {
                let mut entries = existing.entries.clone();
                entries.extend(new.into_iter().cloned());
                let mut ann = existing.annotations.clone();
                if let Some((d, _, _)) = source {
                    ann.insert(ANN_REFERRERS_SOURCE.into(), d.to_string().into());
                    ann.insert(
                        ANN_REFERRERS_TYPES.into(),
                        self.opts.referrers.types_key().into(),
                    );
                }
                let bytes = referrers::build_index(&entries, &ann)?;
                Manifest {
                    digest: Digest::sha256_of(&bytes),
                    bytes: bytes.into(),
                    media_type: media::OCI_INDEX.to_string(),
                }
            }
        };
        job.dst.put_manifest(&tag, &index, true).await?;
        self.reporter.manifest_pushed(&index.digest, &tag);
        Ok(())
    }

    /// On a referrers-API destination, stores the source's fallback index by
    /// digest (every entry is there now): a rerun's HEAD finds it and skips.
    async fn store_marker(
        &self,
        job: &CopyJob<'_>,
        listed: &[Referrer],
        source: Option<&(Digest, Manifest, ReferrerList)>,
    ) -> Result<()> {
        let Some((_, m, list)) = source else {
            return Ok(());
        };
        let all_there = list
            .entries
            .iter()
            .all(|e| listed.iter().any(|l| l.digest == e.digest));
        if !all_there || !self.opts.referrers.types.is_empty() {
            return Ok(());
        }
        if job.dst.head_manifest(m.digest.as_str()).await?.is_none() {
            job.dst.put_manifest(m.digest.as_str(), m, false).await?;
        }
        Ok(())
    }
}

/// A referrer as `inspect` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Discovered {
    /// The manifest it refers to.
    pub subject: Digest,
    /// The artifact manifest.
    pub digest: Digest,
    /// Its media type, when known.
    pub media_type: Option<String>,
    /// Its artifact type.
    pub artifact_type: Option<String>,
    /// Its manifest size in bytes, when known.
    pub size: Option<u64>,
    /// How it was found.
    pub found: Found,
    /// The tag it lives under (cosign tags).
    pub tag: Option<String>,
}

/// Lists the referrers of `subjects` in `repo` (and theirs, `max_depth`
/// deep): the referrers API where served, else the fallback tag, plus
/// cosign tags. Reading a fallback index is a manifest GET (a pull on
/// Docker Hub).
pub async fn discover(
    repo: &Repo,
    subjects: &[Digest],
    max_depth: usize,
) -> Result<Vec<Discovered>> {
    let tags = match repo.tags().await {
        Ok(t) => t.names,
        Err(Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let tagged: HashSet<ReferrerTag> = tags.iter().filter_map(|t| ReferrerTag::parse(t)).collect();
    let mut api = true;
    let mut out: Vec<Discovered> = Vec::new();
    let mut queue: VecDeque<(Digest, usize)> = subjects.iter().map(|d| (d.clone(), 1)).collect();
    let mut seen = HashSet::new();
    while let Some((subject, depth)) = queue.pop_front() {
        if !seen.insert(subject.clone()) {
            continue;
        }
        let mut found: Vec<(Referrer, Found)> = Vec::new();
        if api {
            match repo.referrers(&subject, None).await? {
                Some(list) => {
                    found.extend(list.entries.into_iter().map(|r| (r, Found::ReferrersApi)))
                }
                None => api = false,
            }
        }
        let fallback = ReferrerTag::Fallback(subject.clone());
        if tagged.contains(&fallback) {
            let tag = fallback.to_string();
            let m = repo.get_manifest(&tag).await?;
            for r in referrers::parse_list(&tag, &m.bytes)?.entries {
                if !found.iter().any(|(f, _)| f.digest == r.digest) {
                    found.push((r, Found::FallbackTag));
                }
            }
        }
        let mut next = Vec::new();
        for (r, how) in found {
            next.push(r.digest.clone());
            out.push(Discovered {
                subject: subject.clone(),
                digest: r.digest,
                media_type: Some(r.media_type),
                artifact_type: r.artifact_type,
                size: Some(r.size),
                found: how,
                tag: None,
            });
        }
        for kind in CosignKind::ALL {
            let t = ReferrerTag::Cosign(subject.clone(), kind);
            if !tagged.contains(&t) {
                continue;
            }
            let tag = t.to_string();
            if let Some(h) = repo.head_manifest(&tag).await? {
                if let Some(d) = h.digest {
                    next.push(d.clone());
                    out.push(Discovered {
                        subject: subject.clone(),
                        digest: d,
                        media_type: h.media_type,
                        artifact_type: Some(kind.artifact_type().to_string()),
                        size: h.size,
                        found: Found::CosignTag,
                        tag: Some(tag),
                    });
                }
            }
        }
        if depth < max_depth {
            queue.extend(next.into_iter().map(|d| (d, depth + 1)));
        }
    }
    Ok(out)
}
