//! `crossdock migrate`, `sync` and `diff`: flags, planning through the
//! library's `mirror` module, the summary table (comfy-table) and JSON.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::Serialize;

use crossdock::copy::{Copier, CopyOptions, ReferrerOptions, Stop};
use crossdock::mirror::diff::{diff, DiffRow, DiffStatus};
use crossdock::mirror::prune::{prune, PruneReason, PruneRepo, PruneStatus, Scope};
use crossdock::mirror::run::{ImageResult, ImageStatus, RunOptions, Runner};
use crossdock::mirror::sync::SyncFile;
use crossdock::mirror::{
    in_shard, parse_shard, plan_namespace, Item, Namespace, RepoFilter, Selection, TagFilter,
};
use crossdock::prices::Prices;
use crossdock::registry::client::ClientStats;
use crossdock::registry::ecr::RepoSettings;
use crossdock::types::name::Skipped;
use crossdock::types::reference::DOCKER_HUB;
use crossdock::types::Platform;

use super::copy::ReferrerArgs;
use super::output::bytes;
use super::progress::{Phase, Progress};
use super::{Context, Printer, Reported, UsageError};

/// Tag selection flags.
#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// Only tags whose whole name matches this regex
    #[arg(long, value_name = "REGEX")]
    pub tags: Option<String>,
    /// Only tags that are versions in this semver range (e.g. '>=1.2, <2')
    #[arg(long, value_name = "RANGE")]
    pub semver: Option<String>,
    /// Only the N newest matching tags (by push time on Docker Hub, else by version)
    #[arg(long, value_name = "N")]
    pub latest: Option<usize>,
}

impl TagArgs {
    fn filter(&self) -> anyhow::Result<TagFilter> {
        Ok(TagFilter::new(
            Vec::new(),
            self.tags.as_deref(),
            self.semver.as_deref(),
            self.latest,
        )?)
    }
}

/// Repository selection flags.
#[derive(Debug, clap::Args)]
pub struct RepoArgs {
    /// Only repositories whose whole name (inside the namespace) matches this regex
    #[arg(long, value_name = "REGEX")]
    pub repos: Option<String>,
    /// Skip repositories whose whole name matches this regex
    #[arg(long, value_name = "REGEX")]
    pub exclude_repos: Option<String>,
}

impl RepoArgs {
    fn filter(&self) -> anyhow::Result<RepoFilter> {
        Ok(RepoFilter::new(
            self.repos.as_deref(),
            self.exclude_repos.as_deref(),
        )?)
    }
}

/// Settings for ECR repositories created on the way.
#[derive(Debug, clap::Args)]
pub struct RepoSettingsArgs {
    /// Tag mutability of created repositories
    #[arg(long, value_name = "MODE", value_parser = ["MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"])]
    pub tag_mutability: Option<String>,
    /// Wildcard tag filter excluded from the mutability mode (repeatable, ≤ 5)
    #[arg(long, value_name = "FILTER")]
    pub mutability_exclusion: Vec<String>,
    /// Turn on scan on push for created repositories
    #[arg(long)]
    pub scan_on_push: bool,
    /// Encryption of created repositories
    #[arg(long, value_parser = ["AES256", "KMS"])]
    pub encryption: Option<String>,
    /// KMS key (ARN or id) with --encryption KMS
    #[arg(long, value_name = "KEY")]
    pub kms_key: Option<String>,
    /// Lifecycle policy JSON file for created repositories
    #[arg(long, value_name = "FILE")]
    pub lifecycle_policy: Option<PathBuf>,
    /// Resource tag KEY=VALUE for created repositories (repeatable)
    #[arg(long = "repo-tag", value_name = "KEY=VALUE")]
    pub repo_tags: Vec<String>,
}

impl RepoSettingsArgs {
    fn settings(&self) -> anyhow::Result<RepoSettings> {
        let mut tags = std::collections::BTreeMap::new();
        for t in &self.repo_tags {
            let (k, v) = t
                .split_once('=')
                .ok_or_else(|| UsageError(format!("--repo-tag {t:?}: expected KEY=VALUE")))?;
            tags.insert(k.to_string(), v.to_string());
        }
        let s = RepoSettings {
            tag_mutability: self.tag_mutability.clone(),
            mutability_exclusions: self.mutability_exclusion.clone(),
            scan_on_push: self.scan_on_push.then_some(true),
            encryption: self.encryption.clone(),
            kms_key: self.kms_key.clone(),
            lifecycle_policy: self.lifecycle_policy.clone(),
            tags,
        };
        s.validate()?;
        if let Some(p) = &s.lifecycle_policy {
            let text = std::fs::read_to_string(p)
                .map_err(|e| UsageError(format!("--lifecycle-policy {}: {e}", p.display())))?;
            serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
                UsageError(format!("--lifecycle-policy {}: not JSON: {e}", p.display()))
            })?;
        }
        Ok(s)
    }
}

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// Source namespace (docker.io/acme) or one repository (docker.io/acme/api)
    pub source: String,
    /// Destination prefix (123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror); repositories keep their names under it
    pub destination: String,
    #[command(flatten)]
    pub repos: RepoArgs,
    #[command(flatten)]
    pub tags: TagArgs,
    /// Copy only these platforms (comma-separated os/arch[/variant]); index digests then change
    #[arg(long, value_delimiter = ',')]
    pub platform: Vec<String>,
    /// Concurrent blob streams
    #[arg(long, short = 'j', default_value_t = 8, env = "CROSSDOCK_JOBS", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Images copied at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub images: u16,
    /// Show the plan: repositories, tags, bytes, Docker Hub pulls, ECR storage cost; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Take only slice I of N of the plan (0 <= I < N), for parallel CI jobs
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Do not create missing ECR repositories
    #[arg(long)]
    pub no_create_repos: bool,
    #[command(flatten)]
    pub settings: RepoSettingsArgs,
    /// Prices and limits file overriding the built-in one (see data/prices.toml)
    #[arg(long, value_name = "FILE", env = "CROSSDOCK_PRICES")]
    pub prices: Option<PathBuf>,
    #[command(flatten)]
    pub referrers: ReferrerArgs,
    #[command(flatten)]
    pub prune: PruneArgs,
}

/// Deleting destination tags the source no longer has.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// After a successful run, delete destination tags the source no longer has (within the run's repositories and tag filters)
    #[arg(long)]
    pub prune: bool,
    /// Confirm --prune's deletions (not needed with --dry-run, or when CI is set)
    #[arg(long)]
    pub yes: bool,
}

impl PruneArgs {
    /// Refuses an unconfirmed prune before anything runs.
    fn check(&self, dry_run: bool, sharded: bool) -> anyhow::Result<()> {
        if self.prune && sharded {
            return Err(UsageError(
                "--prune cannot be combined with --shard: a shard sees only part of the run; prune in an unsharded run"
                    .into(),
            )
            .into());
        }
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        if self.prune && !dry_run && !self.yes && !ci {
            return Err(UsageError(
                "--prune deletes destination tags: confirm with --yes, or see what it would delete with --dry-run"
                    .into(),
            )
            .into());
        }
        Ok(())
    }
}

/// Arguments of `sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The mirror file (YAML; see examples/mirror.yaml)
    pub file: PathBuf,
    /// Show what would be copied; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Concurrent blob streams
    #[arg(long, short = 'j', default_value_t = 8, env = "CROSSDOCK_JOBS", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Images copied at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub images: u16,
    /// Take only slice I of N of the plan (0 <= I < N)
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Prices and limits file overriding the built-in one
    #[arg(long, value_name = "FILE", env = "CROSSDOCK_PRICES")]
    pub prices: Option<PathBuf>,
    /// Keep running: sync every INTERVAL (e.g. 15m; ±10 % jitter, never overlapping), re-reading FILE each cycle
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval, conflicts_with = "dry_run")]
    pub watch: Option<Duration>,
    /// With --watch: serve /healthz, /readyz and /metrics (Prometheus) on this address, e.g. 127.0.0.1:9464
    #[arg(long, value_name = "ADDR", requires = "watch")]
    pub listen: Option<SocketAddr>,
    /// With --watch: on SIGTERM/SIGINT, how long the blobs in flight may take to finish
    #[arg(long, value_name = "DURATION", default_value = "25s", value_parser = parse_interval)]
    pub grace: Duration,
    #[command(flatten)]
    pub referrers: ReferrerArgs,
    #[command(flatten)]
    pub prune: PruneArgs,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    crossdock::watch::parse_duration(s).map_err(|e| e.to_string())
}

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// Source namespace or repository (docker.io/acme, docker.io/acme/api)
    pub source: String,
    /// Destination namespace or repository
    pub destination: String,
    #[command(flatten)]
    pub repos: RepoArgs,
    #[command(flatten)]
    pub tags: TagArgs,
    /// Only list tags that are not in sync
    #[arg(long)]
    pub only_differences: bool,
    /// Do not check that the images' signatures, SBOMs and attestations are at the destination
    #[arg(long)]
    pub no_referrers: bool,
}

#[derive(Serialize)]
pub(super) struct RunSummary {
    source: String,
    destination: String,
    dry_run: bool,
    shard: Option<String>,
    repositories: usize,
    images: usize,
    pub(super) copied: usize,
    pub(super) unchanged: usize,
    would_copy: usize,
    pub(super) failed: usize,
    /// Not attempted: the run stopped at Docker Hub's pull limit (`--on-ratelimit fail`).
    pub(super) skipped: usize,
    blobs_copied: usize,
    pub(super) bytes_copied: u64,
    pub(super) hub_pulls: u64,
    estimated_storage_cost_month: Option<f64>,
    prices_as_of: String,
    repositories_created: Vec<String>,
    referrers_copied: usize,
    referrers_skipped: usize,
    referrers_failed: usize,
    /// `--prune`: repositories where tags were (or would be) deleted, or pruning was refused.
    pruned: Vec<PruneRepo>,
    tags_deleted: usize,
    pub(super) duration_s: f64,
    /// Requests, 429s and retries per registry host.
    hosts: Vec<HostStats>,
    pub(super) results: Vec<ImageResult>,
    /// Tags and repositories from the source that break the name grammar.
    invalid_names: Vec<Skipped>,
}

/// Request counts of one registry host in a run.
#[derive(Serialize)]
struct HostStats {
    registry: String,
    #[serde(flatten)]
    stats: ClientStats,
}

fn host_stats(ctx: &Context) -> Vec<HostStats> {
    ctx.pool
        .clients()
        .into_iter()
        .map(|c| HostStats {
            registry: c.name.clone(),
            stats: c.stats(),
        })
        .collect()
}

fn platforms(list: &[String]) -> anyhow::Result<Vec<Platform>> {
    Ok(Platform::parse_list(list)?)
}

struct Plan<'a> {
    source: String,
    destination: String,
    items: Vec<Item>,
    invalid_names: Vec<Skipped>,
    shard: Option<&'a str>,
    dry_run: bool,
    create_repos: bool,
    jobs: usize,
    images: usize,
    prices: Option<PathBuf>,
    referrers: ReferrerOptions,
    /// `--prune`: the repositories of the run (None: no pruning).
    prune: Option<Vec<Scope>>,
    /// When the command started (listing included in the duration).
    start: Instant,
}

async fn execute(ctx: &Context, plan: Plan<'_>) -> anyhow::Result<()> {
    let (summary, prices) = run_plan(ctx, plan, None).await?;
    report(ctx, &summary, &prices)
}

/// Runs a plan (a `stop` ends it early: no new image, nothing tagged) and
/// sums it up; prints nothing but progress.
async fn run_plan(
    ctx: &Context,
    plan: Plan<'_>,
    stop: Option<&Stop>,
) -> anyhow::Result<(RunSummary, Prices)> {
    let start = plan.start;
    let prices = Prices::load(plan.prices.as_deref())?;
    let mut items = plan.items;
    if let Some(s) = plan.shard {
        let shard = parse_shard(s)?;
        items.retain(|it| in_shard(it, shard));
    }
    let progress = Arc::new(Progress::new(ctx.printer.progress));
    let stop = stop.cloned().unwrap_or_default();
    let copier = Copier::new(
        CopyOptions {
            jobs: plan.jobs,
            dry_run: plan.dry_run,
            retry: ctx.pool.config().retry.clone(),
            referrers: plan.referrers.clone(),
        },
        progress.clone(),
    )
    .with_stop(stop.clone());
    let runner = Runner::new(
        &ctx.pool,
        &copier,
        RunOptions {
            images: plan.images,
            create_repos: plan.create_repos,
            dry_run: plan.dry_run,
        },
    )
    .with_stop(stop);
    let hub_before = hub_pulls(ctx);
    let results = runner.run(&items).await;
    progress.finish();
    let pruned = match &plan.prune {
        Some(scopes) => {
            let phase = Phase::start(ctx.printer.progress, "pruning …");
            let p = prune(&ctx.pool, scopes, &results, plan.dry_run).await;
            drop(phase);
            p
        }
        None => Vec::new(),
    };
    let tags_deleted = pruned
        .iter()
        .flat_map(|p| &p.tags)
        .filter(|t| t.status == PruneStatus::Deleted)
        .count();
    let count = |s: ImageStatus| results.iter().filter(|r| r.status == s).count();
    let mut repos: Vec<&str> = items.iter().map(|i| i.dst_repo.as_str()).collect();
    repos.sort();
    repos.dedup();
    let bytes_copied = results
        .iter()
        .fold(0u64, |n, r| n.saturating_add(r.bytes_copied));
    let summary = RunSummary {
        source: plan.source,
        destination: plan.destination,
        dry_run: plan.dry_run,
        shard: plan.shard.map(str::to_string),
        repositories: repos.len(),
        images: results.len(),
        copied: count(ImageStatus::Copied),
        unchanged: count(ImageStatus::Unchanged),
        would_copy: count(ImageStatus::WouldCopy),
        failed: count(ImageStatus::Failed),
        skipped: count(ImageStatus::Skipped),
        blobs_copied: results.iter().map(|r| r.blobs_copied).sum(),
        bytes_copied,
        hub_pulls: if plan.dry_run {
            results.iter().map(|r| r.pulls).sum()
        } else {
            hub_pulls(ctx) - hub_before
        },
        estimated_storage_cost_month: plan.dry_run.then(|| prices.ecr_storage_month(bytes_copied)),
        prices_as_of: prices.as_of.clone(),
        repositories_created: runner.created(),
        referrers_copied: results.iter().map(|r| r.referrers_copied).sum(),
        referrers_skipped: results.iter().map(|r| r.referrers_skipped).sum(),
        referrers_failed: results.iter().map(|r| r.referrers_failed).sum(),
        pruned,
        tags_deleted,
        duration_s: start.elapsed().as_secs_f64(),
        hosts: host_stats(ctx),
        results,
        invalid_names: plan.invalid_names,
    };
    Ok((summary, prices))
}

/// Prints a run's table (or JSON); exit 1 when images failed or were skipped.
fn report(ctx: &Context, summary: &RunSummary, prices: &Prices) -> anyhow::Result<()> {
    ctx.printer
        .result(summary, || render(summary, prices, &ctx.printer));
    if summary.failed > 0 || summary.skipped > 0 {
        let list: Vec<String> = summary
            .results
            .iter()
            .filter(|r| r.status == ImageStatus::Failed)
            .map(|r| format!("{}: {}", r.source, r.error.as_deref().unwrap_or("")))
            .collect();
        let mut msg = format!(
            "{} of {} images failed:\n  {}",
            summary.failed,
            summary.images,
            list.join("\n  ")
        );
        if summary.skipped > 0 {
            let skipped: Vec<&str> = summary
                .results
                .iter()
                .filter(|r| r.status == ImageStatus::Skipped)
                .map(|r| r.source.as_str())
                .collect();
            msg += &format!(
                "\n{} images not copied (the run stopped at Docker Hub's pull rate limit; rerun later or with --on-ratelimit wait):\n  {}",
                skipped.len(),
                skipped.join("\n  ")
            );
        }
        return Err(Reported(msg).into());
    }
    let prune_failed = summary
        .pruned
        .iter()
        .flat_map(|p| &p.tags)
        .filter(|t| t.status == PruneStatus::Failed)
        .count();
    if prune_failed > 0 {
        return Err(Reported(format!(
            "--prune could not delete {prune_failed} tags (see the table)"
        ))
        .into());
    }
    Ok(())
}

fn hub_pulls(ctx: &Context) -> u64 {
    ctx.pool
        .client(DOCKER_HUB)
        .map(|c| c.manifest_gets())
        .unwrap_or(0)
}

pub(super) fn render(s: &RunSummary, prices: &Prices, printer: &Printer) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "source",
        "destination",
        "status",
        "digest",
        "bytes",
        "referrers",
        "note",
    ]);
    for r in &s.results {
        t.add_row([
            r.source.clone(),
            r.destination.clone(),
            r.status.to_string(),
            r.digest
                .as_deref()
                .map(|d| d.chars().take(19).collect())
                .unwrap_or_default(),
            if r.bytes_copied > 0 {
                bytes(r.bytes_copied)
            } else {
                String::new()
            },
            referrer_cell(r),
            r.error.clone().unwrap_or_default(),
        ]);
    }
    let mut out = format!(
        "{}
",
        printer.table(&t)
    );
    out += &skipped_lines(&s.invalid_names);
    if !s.pruned.is_empty() {
        let mut p = Table::new();
        p.load_preset(UTF8_FULL_CONDENSED);
        p.set_header(["repository", "tag", "digest", "prune", "note"]);
        for r in &s.pruned {
            if let Some(why) = &r.refused {
                p.add_row([
                    r.repository.clone(),
                    "-".into(),
                    String::new(),
                    "refused".into(),
                    why.clone(),
                ]);
            }
            for t in &r.tags {
                p.add_row([
                    r.repository.clone(),
                    t.tag.clone(),
                    t.digest
                        .as_deref()
                        .map(|d| d.chars().take(19).collect())
                        .unwrap_or_default(),
                    enum_text(&t.status),
                    match (&t.error, t.reason) {
                        (Some(e), _) => e.clone(),
                        (None, PruneReason::ReferrerOfPruned) => {
                            "referrer of a pruned image".into()
                        }
                        (None, PruneReason::GoneAtSource) => "gone at the source".into(),
                    },
                ]);
            }
        }
        out += &format!("{}\n", printer.table(&p));
    }
    if s.dry_run {
        out += &format!(
            "Plan{}: {} repositories, {} images: {} to copy, {} unchanged; {} to move after de-duplication; {} Docker Hub pulls; ECR storage ≈ {:.2} {}/month (prices as of {})\n",
            s.shard.as_deref().map(|x| format!(" (shard {x})")).unwrap_or_default(),
            s.repositories,
            s.images,
            s.would_copy,
            s.unchanged,
            bytes(s.bytes_copied),
            s.hub_pulls,
            s.estimated_storage_cost_month.unwrap_or(0.0),
            prices.currency,
            prices.as_of
        );
    } else {
        out += &format!(
            "{}{} images in {} repositories: {} copied, {} unchanged, {} failed; {} blobs ({}) moved; {} Docker Hub pulls; {} repositories created; {:.2} s\n",
            s.shard.as_deref().map(|x| format!("shard {x}: ")).unwrap_or_default(),
            s.images,
            s.repositories,
            s.copied,
            s.unchanged,
            s.failed,
            s.blobs_copied,
            bytes(s.bytes_copied),
            s.hub_pulls,
            s.repositories_created.len(),
            s.duration_s
        );
    }
    if s.referrers_copied + s.referrers_skipped + s.referrers_failed > 0 {
        out += &format!(
            "Referrers (signatures, SBOMs, attestations): {} {}, {} already present, {} failed\n",
            s.referrers_copied,
            if s.dry_run { "to copy" } else { "copied" },
            s.referrers_skipped,
            s.referrers_failed
        );
    }
    let listed: usize = s.pruned.iter().map(|p| p.tags.len()).sum();
    if !s.pruned.is_empty() {
        out += &if s.dry_run {
            format!("Prune: {listed} tags would be deleted\n")
        } else {
            format!(
                "Prune: {} tags deleted, {} failed\n",
                s.tags_deleted,
                listed - s.tags_deleted
            )
        };
    }
    out
}

/// One line per refused name (empty when none).
fn skipped_lines(skipped: &[Skipped]) -> String {
    skipped.iter().map(|k| k.describe() + "\n").collect()
}

/// `2 copied, 1 present` for an image's referrers.
fn referrer_cell(r: &ImageResult) -> String {
    let mut parts = Vec::new();
    if r.referrers_copied > 0 {
        parts.push(format!("{} copied", r.referrers_copied));
    }
    if r.referrers_skipped > 0 {
        parts.push(format!("{} present", r.referrers_skipped));
    }
    if r.referrers_failed > 0 {
        parts.push(format!("{} failed", r.referrers_failed));
    }
    parts.join(", ")
}

/// The JSON name of a serde enum, for tables.
fn enum_text<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub async fn migrate(ctx: &Context, a: &MigrateArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let src = Namespace::parse(&ctx.expand(&a.source).await?)?;
    let dst = Namespace::parse(&ctx.expand(&a.destination).await?)?;
    let repos = a.repos.filter()?;
    let tags = a.tags.filter()?;
    if let Some(s) = &a.shard {
        parse_shard(s)?;
    }
    let settings = a.settings.settings()?;
    let platforms = platforms(&a.platform)?;
    a.prune.check(a.dry_run, a.shard.is_some())?;
    let phase = Phase::start(
        ctx.printer.progress,
        &format!("listing {} …", src.display()),
    );
    let planned = plan_namespace(
        &ctx.pool,
        &src,
        &dst,
        Selection {
            repos: &repos,
            tags: &tags,
            platforms: &platforms,
            settings: &settings,
            warm_tokens: !a.dry_run,
        },
    )
    .await?;
    drop(phase);
    execute(
        ctx,
        Plan {
            source: src.display(),
            destination: dst.display(),
            items: planned.items,
            invalid_names: planned.skipped,
            shard: a.shard.as_deref(),
            dry_run: a.dry_run,
            create_repos: !a.no_create_repos,
            jobs: a.jobs as usize,
            images: a.images as usize,
            prices: a.prices.clone(),
            referrers: a.referrers.options(),
            prune: a.prune.prune.then_some(planned.scopes),
            start,
        },
    )
    .await
}

pub async fn sync(ctx: &Context, a: &SyncArgs) -> anyhow::Result<()> {
    a.prune.check(a.dry_run, a.shard.is_some())?;
    if let Some(every) = a.watch {
        return super::watch::run(ctx, a, every).await;
    }
    let file = SyncFile::load(&a.file)?;
    if let Some(s) = &a.shard {
        parse_shard(s)?;
    }
    let (summary, prices) = sync_once(ctx, a, &file, None).await?;
    report(ctx, &summary, &prices)
}

/// One sync of a (loaded) mirror file: resolve, then run.
pub(super) async fn sync_once(
    ctx: &Context,
    a: &SyncArgs,
    file: &SyncFile,
    stop: Option<&Stop>,
) -> anyhow::Result<(RunSummary, Prices)> {
    let start = Instant::now();
    let phase = Phase::start(
        ctx.printer.progress,
        &format!("resolving {} …", a.file.display()),
    );
    let planned = file.plan(&ctx.pool, a.prune.prune).await?;
    drop(phase);
    run_plan(
        ctx,
        Plan {
            source: a.file.display().to_string(),
            destination: format!("{} mirrors", file.mirrors.len()),
            items: planned.items,
            invalid_names: planned.skipped,
            shard: a.shard.as_deref(),
            dry_run: a.dry_run,
            create_repos: file.create_repos(),
            jobs: a.jobs as usize,
            images: a.images as usize,
            prices: a.prices.clone(),
            referrers: a.referrers.options(),
            prune: a.prune.prune.then_some(planned.scopes),
            start,
        },
        stop,
    )
    .await
}

#[derive(Serialize)]
struct DiffOut {
    source: String,
    destination: String,
    in_sync: bool,
    same: usize,
    missing: usize,
    different: usize,
    extra: usize,
    tags: Vec<DiffRow>,
    /// Listed names that break the name grammar.
    invalid_names: Vec<Skipped>,
}

pub async fn diff_cmd(ctx: &Context, a: &DiffArgs) -> anyhow::Result<()> {
    let src = Namespace::parse(&ctx.expand(&a.source).await?)?;
    let dst = Namespace::parse(&ctx.expand(&a.destination).await?)?;
    let repos = a.repos.filter()?;
    let tags = a.tags.filter()?;
    let referrers = (!a.no_referrers).then(ReferrerOptions::default);
    let (rows, invalid_names) = diff(&ctx.pool, &src, &dst, &repos, &tags, 8, referrers).await?;
    let count = |s: DiffStatus| rows.iter().filter(|r| r.status == s).count();
    let out = DiffOut {
        source: src.display(),
        destination: dst.display(),
        same: count(DiffStatus::Same),
        missing: count(DiffStatus::Missing),
        different: count(DiffStatus::Different),
        extra: count(DiffStatus::Extra),
        in_sync: rows.iter().all(|r| r.status == DiffStatus::Same),
        tags: rows
            .into_iter()
            .filter(|r| !a.only_differences || r.status != DiffStatus::Same)
            .collect(),
        invalid_names,
    };
    ctx.printer.result(&out, || {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header([
            "repository",
            "tag",
            "source digest",
            "destination digest",
            "status",
            "platforms",
            "size",
            "note",
        ]);
        let short = |d: &Option<String>| {
            d.as_deref()
                .map(|d| d.chars().take(19).collect())
                .unwrap_or_else(|| "-".into())
        };
        for r in &out.tags {
            t.add_row([
                r.repository.clone(),
                r.tag.clone(),
                short(&r.source_digest),
                short(&r.destination_digest),
                r.status.to_string(),
                r.platforms.join(", "),
                r.size.map(bytes).unwrap_or_default(),
                if r.referrers_missing > 0 {
                    format!("{} referrers missing", r.referrers_missing)
                } else {
                    String::new()
                },
            ]);
        }
        format!(
            "{}
{}{} → {}: {} same, {} missing, {} different, {} extra{}",
            ctx.printer.table(&t),
            skipped_lines(&out.invalid_names),
            out.source,
            out.destination,
            out.same,
            out.missing,
            out.different,
            out.extra,
            if out.in_sync { " — in sync" } else { "" }
        )
    });
    if out.in_sync {
        Ok(())
    } else {
        Err(Reported(format!(
            "{} tags are not in sync",
            out.missing + out.different + out.extra
        ))
        .into())
    }
}
