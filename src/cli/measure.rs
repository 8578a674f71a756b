//! `crossdock ratelimit`, `compare` and `bench`: live numbers side by side —
//! pull limits read from headers (HEAD, no pull), costs from the dated prices
//! file and the user's real manifests, latency and throughput measured now.
//! Every number says where it came from.

use std::collections::HashSet;
use std::path::PathBuf;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::Serialize;

use crossdock::measure::cost::{ecr_monthly, hub_plans, EcrCost, Egress, HubPlan};
use crossdock::measure::features::{FeatureRow, RiskOut, SampleImage};
use crossdock::measure::{self, OpStats, Operation, PushResult, SampleBlob, Throughput};
use crossdock::mirror::{Lister, Namespace};
use crossdock::prices::Prices;
use crossdock::registry::ecr;
use crossdock::registry::ratelimit::RateLimit;
use crossdock::registry::{Remote, Repo};
use crossdock::types::media::{self, Parsed};
use crossdock::types::reference::DOCKER_HUB;
use crossdock::types::ImageRef;

use super::chart::{self, Bar, Chart};
use super::features;
use super::output::bytes;
use super::{Context, OutputFormat, Printer, ProgressMode, UsageError};

/// The image Docker documents for reading the limit.
const RATELIMIT_PREVIEW: &str = "docker.io/ratelimitpreview/test:latest";

/// Arguments of `ratelimit`.
#[derive(Debug, clap::Args)]
pub struct RatelimitArgs {
    /// Image to HEAD (any registry that sends the headers) [default: docker.io/ratelimitpreview/test:latest]
    pub image: Option<String>,
}

#[derive(Serialize)]
struct RatelimitOut {
    registry: String,
    reference: String,
    identity: String,
    limited: bool,
    limit: Option<u64>,
    remaining: Option<u64>,
    window_s: Option<u64>,
    resets: String,
    source: Option<String>,
    read_with: &'static str,
}

fn remote_of(ctx: &Context, r: &ImageRef) -> anyhow::Result<(Remote, String)> {
    match r {
        ImageRef::Registry(rr) => Ok((
            Remote {
                client: ctx.pool.client(&rr.registry)?,
                repo: rr.repository.clone(),
            },
            rr.manifest_reference(),
        )),
        ImageRef::Layout(_) => {
            Err(UsageError("this command measures registries, not oci: layouts".into()).into())
        }
    }
}

fn window(w: Option<u64>) -> String {
    match w {
        Some(w) if w % 3600 == 0 => format!("{} h", w / 3600),
        Some(w) => format!("{w} s"),
        None => "-".into(),
    }
}

pub async fn ratelimit(ctx: &Context, a: &RatelimitArgs) -> anyhow::Result<()> {
    let r = ctx
        .parse_ref(a.image.as_deref().unwrap_or(RATELIMIT_PREVIEW))
        .await?;
    let (remote, reference) = remote_of(ctx, &r)?;
    let rl = measure::ratelimit(&remote, &reference).await?;
    let out = RatelimitOut {
        registry: remote.client.name.clone(),
        reference: r.to_string(),
        identity: remote.client.identity().await?,
        limited: rl.is_some(),
        limit: rl.as_ref().map(|r| r.limit),
        remaining: rl.as_ref().map(|r| r.remaining),
        window_s: rl.as_ref().and_then(|r| r.window_s),
        resets: match rl.as_ref().and_then(|r| r.window_s) {
            Some(w) => format!("rolling window: each pull counts for {}", window(Some(w))),
            None => "-".into(),
        },
        source: rl.as_ref().and_then(|r| r.source.clone()),
        read_with: "manifest HEAD (no pull spent)",
    };
    ctx.printer.result(&out, || match &rl {
        Some(rl) => format!(
            "{} pull limit for {} (counted as {})\n  limit      {} per {}\n  remaining  {}\n  resets     {}\n  read with  HEAD {} — no pull spent",
            out.registry,
            out.identity,
            rl.source.as_deref().unwrap_or("-"),
            rl.limit,
            window(rl.window_s),
            rl.remaining,
            out.resets,
            out.reference
        ),
        None => format!(
            "{} sent no rate-limit headers for {}: unlimited for {} (paid plan, or a registry without pull limits)\n  read with  HEAD {} — no pull spent",
            out.registry, out.reference, out.identity, out.reference
        ),
    });
    Ok(())
}

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Images to measure (one or more registries)
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Samples per latency measurement
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub samples: u32,
    /// Pull throughput at each of these concurrencies
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    pub concurrency: Vec<usize>,
    /// Also measure push throughput to this writable repository (random blobs, deleted afterwards where allowed)
    #[arg(long, value_name = "REPO")]
    pub push_to: Option<String>,
    /// Size of each pushed test blob in bytes
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub push_size: u64,
    /// Write a self-contained HTML report with the charts (SVG, no network)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Serialize)]
struct BenchTarget {
    image: String,
    latency: Vec<OpStats>,
    sample_blob: Option<SampleBlob>,
    pulls_spent: u64,
    pull: Vec<Throughput>,
}

#[derive(Serialize)]
struct BenchOut {
    samples: u32,
    targets: Vec<BenchTarget>,
    push: Option<PushOut>,
}

#[derive(Serialize)]
struct PushOut {
    repository: String,
    blob_size: u64,
    results: Vec<PushResult>,
}

fn ms(o: &OpStats, f: impl Fn(&measure::Summary) -> f64) -> String {
    o.summary
        .as_ref()
        .map(|s| format!("{:.1}", f(s)))
        .unwrap_or_else(|| "-".into())
}

fn latency_table(t: &BenchTarget, p: &Printer) -> String {
    let mut tab = Table::new();
    tab.load_preset(UTF8_FULL_CONDENSED);
    tab.set_header(["operation", "p50 ms", "p95 ms", "max ms", "n", "source"]);
    for o in &t.latency {
        tab.add_row([
            o.operation.to_string(),
            ms(o, |s| s.p50_ms),
            ms(o, |s| s.p95_ms),
            ms(o, |s| s.max_ms),
            o.summary
                .as_ref()
                .map(|s| s.n.to_string())
                .unwrap_or_default(),
            o.note.clone().unwrap_or_else(|| o.source.to_string()),
        ]);
    }
    format!("{}\n{}", t.image, p.table(&tab))
}

fn throughput_table(title: &str, rows: &[Throughput], p: &Printer) -> String {
    let mut tab = Table::new();
    tab.load_preset(UTF8_FULL_CONDENSED);
    tab.set_header(["concurrency", "MB/s", "bytes", "seconds"]);
    for r in rows {
        tab.add_row([
            r.concurrency.to_string(),
            format!("{:.1}", r.mb_per_s),
            bytes(r.bytes),
            format!("{:.3}", r.seconds),
        ]);
    }
    format!("{title}\n{}", p.table(&tab))
}

pub async fn bench(ctx: &Context, a: &BenchArgs) -> anyhow::Result<()> {
    if a.concurrency.iter().any(|c| *c == 0 || *c > 256) {
        return Err(UsageError("--concurrency values must be between 1 and 256".into()).into());
    }
    let mut targets = Vec::new();
    for image in &a.images {
        let r = ctx.parse_ref(image).await?;
        let (remote, reference) = remote_of(ctx, &r)?;
        let before = remote.client.manifest_gets();
        let blob = measure::find_blob(&remote, &reference).await?;
        let latency =
            measure::latency(&remote, &reference, a.samples as usize, Some(&blob.digest)).await?;
        let mut pull = Vec::new();
        for c in &a.concurrency {
            pull.push(measure::pull_throughput(&remote, &blob, *c).await?);
        }
        targets.push(BenchTarget {
            image: r.to_string(),
            latency,
            pulls_spent: remote.client.manifest_gets() - before,
            sample_blob: Some(blob),
            pull,
        });
    }
    let push = match &a.push_to {
        None => None,
        Some(repo) => {
            let r = ctx.parse_ref(repo).await?;
            let (remote, _) = remote_of(ctx, &r)?;
            let mut results = Vec::new();
            for c in &a.concurrency {
                results.push(measure::push_throughput(&remote, a.push_size, *c).await?);
            }
            Some(PushOut {
                repository: format!("{}/{}", remote.client.name, remote.repo),
                blob_size: a.push_size,
                results,
            })
        }
    };
    let out = BenchOut {
        samples: a.samples,
        targets,
        push,
    };
    let (tables, charts) = bench_render(&out, &ctx.printer);
    let html_tables = if a.html.is_some() {
        bench_render(
            &out,
            &Printer::new(OutputFormat::Text, true, ProgressMode::None),
        )
        .0
    } else {
        Vec::new()
    };
    if let Some(path) = &a.html {
        std::fs::write(path, chart::html("crossdock bench", &html_tables, &charts))
            .map_err(|e| UsageError(format!("--html {}: {e}", path.display())))?;
        ctx.printer
            .note(&format!("report written to {}", path.display()));
    }
    ctx.printer.result(&out, || {
        let mut s = tables.join("\n");
        s.push('\n');
        for c in &charts {
            s += &ctx.printer.preformatted(&chart::terminal(c, 40));
        }
        s
    });
    Ok(())
}

fn bench_render(out: &BenchOut, pr: &Printer) -> (Vec<String>, Vec<Chart>) {
    let mut tables = Vec::new();
    let mut charts = Vec::new();
    for t in &out.targets {
        tables.push(latency_table(t, pr));
        let pulls = if t.pulls_spent > 0 {
            format!(
                " ({} manifest GETs to find the sample blob — pulls on Docker Hub)",
                t.pulls_spent
            )
        } else {
            String::new()
        };
        let blob = t
            .sample_blob
            .as_ref()
            .map(|b| format!("{} {}", b.digest.short(), bytes(b.size)))
            .unwrap_or_default();
        tables.push(throughput_table(
            &format!("pull throughput of {}, blob {blob}{pulls}", t.image),
            &t.pull,
            pr,
        ));
        charts.push(Chart {
            title: format!("{}: latency distribution (p50, p95, max)", t.image),
            unit: "ms".into(),
            bars: t
                .latency
                .iter()
                .filter_map(|o| o.summary.as_ref().map(|s| (o.operation.name(), s)))
                .flat_map(|(op, s)| {
                    [("p50", s.p50_ms), ("p95", s.p95_ms), ("max", s.max_ms)]
                        .into_iter()
                        .map(move |(q, v)| Bar {
                            label: format!("{op} {q}"),
                            value: v,
                        })
                })
                .collect(),
        });
        charts.push(Chart {
            title: format!("{}: pull throughput", t.image),
            unit: "MB/s".into(),
            bars: t
                .pull
                .iter()
                .map(|p| Bar {
                    label: format!("concurrency {}", p.concurrency),
                    value: p.mb_per_s,
                })
                .collect(),
        });
    }
    if let Some(p) = &out.push {
        let rows: Vec<Throughput> = p.results.iter().map(|r| r.throughput.clone()).collect();
        let deleted: usize = p.results.iter().map(|r| r.deleted).sum();
        let left: usize = p.results.iter().map(|r| r.left).sum();
        tables.push(throughput_table(
            &format!(
                "push throughput to {} ({} blobs of {}; {deleted} deleted afterwards, {left} left where the registry refuses deletes)",
                p.repository,
                rows.iter().map(|r| r.concurrency).sum::<usize>(),
                bytes(p.blob_size)
            ),
            &rows,
            pr,
        ));
        charts.push(Chart {
            title: format!("{}: push throughput", p.repository),
            unit: "MB/s".into(),
            bars: rows
                .iter()
                .map(|r| Bar {
                    label: format!("concurrency {}", r.concurrency),
                    value: r.mb_per_s,
                })
                .collect(),
        });
    }
    (tables, charts)
}

/// Arguments of `compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Docker Hub namespace or repository (docker.io/acme[/repo])
    #[arg(long, value_name = "NS")]
    pub hub: Option<String>,
    /// ECR registry and prefix (ACCOUNT.dkr.ecr.REGION.amazonaws.com[/prefix], or ecr://prefix)
    #[arg(long, value_name = "REGISTRY")]
    pub ecr: Option<String>,
    /// Pulls per month, for the transfer cost
    #[arg(long, default_value_t = 10_000)]
    pub pulls_per_month: u64,
    /// Where those pulls go
    #[arg(long, value_enum, default_value_t = EgressArg::Internet)]
    pub egress: EgressArg,
    /// Samples per latency measurement
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub samples: u32,
    /// Docker Hub seats (Team and Business prices are per user)
    #[arg(long, default_value_t = 1)]
    pub seats: u64,
    /// Also sample blob first byte and throughput (costs manifest GETs: pulls on Docker Hub; the table says how many)
    #[arg(long)]
    pub throughput: bool,
    /// Prices and limits file overriding the built-in one
    #[arg(long, value_name = "FILE", env = "CROSSDOCK_PRICES")]
    pub prices: Option<PathBuf>,
}

/// Egress kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EgressArg {
    /// To the internet.
    Internet,
    /// To AWS compute in the same region.
    SameRegion,
    /// To another region.
    CrossRegion,
}

#[derive(Serialize)]
struct Side {
    registry: String,
    sample: Option<String>,
    latency: Vec<OpStats>,
    throughput: Option<Throughput>,
    pulls_spent: u64,
}

#[derive(Serialize)]
struct Storage {
    bytes: u64,
    images: usize,
    source: String,
}

#[derive(Serialize)]
struct CompareOut {
    prices_as_of: String,
    hub_ratelimit: Option<RateLimit>,
    hub_identity: Option<String>,
    ecr_region: Option<String>,
    storage: Option<Storage>,
    pulls_per_month: u64,
    egress: Egress,
    ecr_cost: Option<EcrCost>,
    hub_plans: Vec<HubPlan>,
    hub: Option<Side>,
    ecr: Option<Side>,
    features: Vec<FeatureRow>,
    risks: Vec<RiskOut>,
    verdict: String,
}

/// Unique-blob bytes of every tagged image under an ECR prefix, from the
/// manifests (GETs on ECR cost nothing); shared layers counted once.
async fn ecr_storage(
    ctx: &Context,
    ns: &Namespace,
) -> anyhow::Result<(Storage, Option<(Remote, String)>, Option<SampleImage>)> {
    let client = ctx.pool.client(&ns.registry)?;
    let repos = match (ecr::parse_host(&ns.registry), ctx.pool.ecr()) {
        (Some(host), Some(api)) => api.list_repositories(&host, &ns.path).await?,
        _ => {
            Lister::new(&ctx.pool, &ns.registry)
                .await?
                .repositories(ns)
                .await?
        }
    };
    let mut seen = HashSet::new();
    let (mut total, mut images) = (0u64, 0usize);
    let mut sample = None;
    let mut scan_sample: Option<SampleImage> = None;
    for repo in repos {
        let remote = Remote {
            client: client.clone(),
            repo: repo.clone(),
        };
        let r = Repo::Remote(remote.clone());
        for tag in r.tags().await.unwrap_or_default() {
            let top = remote.get_manifest(&tag).await?;
            if sample.is_none() {
                sample = Some((remote.clone(), tag.clone()));
                // The image whose scan findings the feature table shows; ECR
                // scans the platform images of an index.
                let platforms =
                    match media::parse(top.digest.as_str(), &top.media_type, &top.bytes)? {
                        Parsed::Index(children) => children
                            .into_iter()
                            .map(|c| {
                                let p = c
                                    .platform
                                    .map(|p| p.to_string())
                                    .unwrap_or_else(|| "unknown".into());
                                (p, c.digest.to_string())
                            })
                            .collect(),
                        Parsed::Image { .. } => Vec::new(),
                    };
                scan_sample = Some(SampleImage {
                    repository: repo.clone(),
                    tag: tag.clone(),
                    platforms,
                });
            }
            let mut stack = vec![top];
            images += 1;
            while let Some(m) = stack.pop() {
                match media::parse(m.digest.as_str(), &m.media_type, &m.bytes)? {
                    Parsed::Index(children) => {
                        for c in children {
                            stack.push(remote.get_manifest(c.digest.as_str()).await?);
                        }
                    }
                    Parsed::Image { config, layers } => {
                        for b in std::iter::once(config).chain(layers) {
                            if seen.insert(b.digest.clone()) {
                                total += b.size;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok((
        Storage {
            bytes: total,
            images,
            source: "ECR manifests (unique blobs)".into(),
        },
        sample,
        scan_sample,
    ))
}

/// Sizes from the Hub API (no pull): platform images, de-duplicated by digest.
async fn hub_storage(
    ctx: &Context,
    ns: &Namespace,
) -> anyhow::Result<(Storage, Option<(Remote, String)>)> {
    let lister = Lister::new(&ctx.pool, DOCKER_HUB).await?;
    let client = ctx.pool.client(DOCKER_HUB)?;
    let mut seen = HashSet::new();
    let (mut total, mut images) = (0u64, 0usize);
    let mut sample = None;
    for repo in lister.repositories(ns).await? {
        for t in lister.tags(DOCKER_HUB, &repo).await? {
            if sample.is_none() {
                sample = Some((
                    Remote {
                        client: client.clone(),
                        repo: repo.clone(),
                    },
                    t.name.clone(),
                ));
            }
            images += 1;
            for (d, size) in &t.images {
                if seen.insert(d.clone()) {
                    total += size;
                }
            }
        }
    }
    Ok((
        Storage {
            bytes: total,
            images,
            source: "Docker Hub API sizes (layers shared between images not de-duplicated)".into(),
        },
        sample,
    ))
}

async fn side(
    sample: Option<(Remote, String)>,
    registry: &str,
    a: &CompareArgs,
) -> anyhow::Result<Side> {
    let Some((remote, tag)) = sample else {
        return Ok(Side {
            registry: registry.to_string(),
            sample: None,
            latency: Vec::new(),
            throughput: None,
            pulls_spent: 0,
        });
    };
    let before = remote.client.manifest_gets();
    let blob = if a.throughput {
        Some(measure::find_blob(&remote, &tag).await?)
    } else {
        None
    };
    let latency = measure::latency(
        &remote,
        &tag,
        a.samples as usize,
        blob.as_ref().map(|b| &b.digest),
    )
    .await?;
    let throughput = match &blob {
        Some(b) => Some(measure::pull_throughput(&remote, b, 1).await?),
        None => None,
    };
    Ok(Side {
        registry: registry.to_string(),
        sample: Some(format!("{}/{}:{tag}", remote.client.name, remote.repo)),
        latency,
        throughput,
        pulls_spent: remote.client.manifest_gets() - before,
    })
}

pub async fn compare(ctx: &Context, a: &CompareArgs) -> anyhow::Result<()> {
    if a.hub.is_none() && a.ecr.is_none() {
        return Err(
            UsageError("give --hub NAMESPACE, --ecr REGISTRY[/prefix], or both".into()).into(),
        );
    }
    let prices = Prices::load(a.prices.as_deref())?;
    let hub_ns = match &a.hub {
        Some(h) => Some(Namespace::parse(&ctx.expand(h).await?)?),
        None => None,
    };
    let ecr_ns = match &a.ecr {
        Some(e) => Some(Namespace::parse(&ctx.expand(e).await?)?),
        None => None,
    };
    if let Some(ns) = &hub_ns {
        if ns.registry != DOCKER_HUB {
            return Err(UsageError(format!(
                "--hub {}: expected a Docker Hub namespace (docker.io/…)",
                ns.display()
            ))
            .into());
        }
    }
    let ecr_host = ecr_ns.as_ref().and_then(|n| ecr::parse_host(&n.registry));
    if let (Some(ns), None) = (&ecr_ns, &ecr_host) {
        return Err(UsageError(format!(
            "--ecr {}: expected ACCOUNT.dkr.ecr.REGION.amazonaws.com[/prefix]",
            ns.display()
        ))
        .into());
    }

    // 1. Rate limits: live headers (HEAD on the user's own image, else Docker's preview image).
    let (hub_storage, hub_sample) = match &hub_ns {
        Some(ns) => {
            let (s, sample) = hub_storage(ctx, ns).await?;
            (Some(s), sample)
        }
        None => (None, None),
    };
    let hub_client = ctx.pool.client(DOCKER_HUB)?;
    let hub_rl = if hub_ns.is_some() {
        let (remote, reference) = match &hub_sample {
            Some((r, t)) => (r.clone(), t.clone()),
            None => remote_of(ctx, &RATELIMIT_PREVIEW.parse()?)?,
        };
        measure::ratelimit(&remote, &reference).await?
    } else {
        None
    };
    // 2. Storage from the user's real repositories.
    let (ecr_storage, ecr_sample, scan_sample) = match &ecr_ns {
        Some(ns) => match ecr_storage(ctx, ns).await {
            Ok((s, sample, scan)) => (Some(s), sample, scan),
            // The other tables and the feature table still say what they can.
            Err(e) => {
                ctx.printer.note(&format!(
                    "ECR storage unknown (the cost uses Docker Hub's sizes): {e:#}"
                ));
                (None, None, None)
            }
        },
        None => (None, None, None),
    };
    let hub_tags = hub_storage.as_ref().map(|s| s.images);
    let ecr_tags = ecr_storage.as_ref().map(|s| s.images);
    let storage = match (ecr_storage, hub_storage) {
        (Some(e), _) if e.images > 0 => Some(e),
        (_, Some(h)) => Some(h),
        (e, None) => e,
    };
    let egress = match a.egress {
        EgressArg::Internet => Egress::Internet,
        EgressArg::SameRegion => Egress::SameRegion,
        EgressArg::CrossRegion => Egress::CrossRegion,
    };
    let ecr_cost = storage.as_ref().map(|s| {
        let per_pull = if s.images > 0 {
            s.bytes / s.images as u64
        } else {
            0
        };
        ecr_monthly(&prices, s.bytes, a.pulls_per_month, per_pull, egress)
    });
    // 3. Latency (and throughput when asked).
    let hub_side = match &hub_ns {
        Some(_) => Some(side(hub_sample, DOCKER_HUB, a).await?),
        None => None,
    };
    let ecr_side = match &ecr_ns {
        Some(ns) => Some(side(ecr_sample, &ns.registry, a).await?),
        None => None,
    };
    // 4. Features, read live (Hub API, ECR API, HEADs: no pull).
    let gathered = features::gather(
        ctx,
        hub_ns.as_ref(),
        ecr_ns.as_ref().zip(ecr_host.as_ref()),
        hub_tags,
        ecr_tags,
        scan_sample.as_ref(),
    )
    .await?;
    let feature_rows = gathered.rows(&prices);
    let risks = gathered.risks(&prices);
    let plans = hub_plans(&prices, a.seats);
    let mut verdict = verdict(
        &prices,
        hub_rl.as_ref(),
        ecr_cost.as_ref(),
        hub_side.as_ref(),
        ecr_side.as_ref(),
        a,
    );
    if !risks.is_empty() {
        let list: Vec<&str> = risks.iter().map(|r| r.message.as_str()).collect();
        verdict += &format!("; risks: {}", list.join("; "));
    }
    let out = CompareOut {
        prices_as_of: prices.as_of.clone(),
        hub_identity: if hub_ns.is_some() {
            Some(hub_client.identity().await?)
        } else {
            None
        },
        hub_ratelimit: hub_rl,
        ecr_region: ecr_host.map(|h| h.region),
        features: feature_rows,
        risks,
        storage,
        pulls_per_month: a.pulls_per_month,
        egress,
        ecr_cost,
        hub_plans: plans,
        hub: hub_side,
        ecr: ecr_side,
        verdict,
    };
    ctx.printer
        .result(&out, || render_compare(&out, &prices, &ctx.printer));
    Ok(())
}

fn p50(side: Option<&Side>, op: Operation) -> Option<f64> {
    side?
        .latency
        .iter()
        .find(|o| o.operation == op)?
        .summary
        .as_ref()
        .map(|s| s.p50_ms)
}

fn verdict(
    prices: &Prices,
    rl: Option<&RateLimit>,
    cost: Option<&EcrCost>,
    hub: Option<&Side>,
    ecr: Option<&Side>,
    a: &CompareArgs,
) -> String {
    let mut parts = Vec::new();
    if let Some(rl) = rl {
        let window_pulls =
            a.pulls_per_month as f64 / (30.0 * 24.0 / prices.dockerhub.window_hours as f64);
        if window_pulls > rl.limit as f64 {
            parts.push(format!(
                "{} pulls/month is ~{:.0} per {} h window, above Docker Hub's {} for this identity: ECR (no pull limit) or a paid Hub plan",
                a.pulls_per_month, window_pulls, prices.dockerhub.window_hours, rl.limit
            ));
        } else {
            parts.push(format!(
                "Docker Hub's limit ({} per {} h) fits {} pulls/month",
                rl.limit, prices.dockerhub.window_hours, a.pulls_per_month
            ));
        }
    } else if hub.is_some() {
        parts.push("no Docker Hub pull limit applies to this identity".into());
    }
    if let Some(c) = cost {
        parts.push(format!(
            "ECR ≈ {:.2} {}/month for these images",
            c.total, prices.currency
        ));
    }
    if let (Some(h), Some(e)) = (
        p50(hub, Operation::ManifestHead),
        p50(ecr, Operation::ManifestHead),
    ) {
        let (fast, r) = if e < h {
            ("ECR", h / e.max(1e-6))
        } else {
            ("Docker Hub", e / h.max(1e-6))
        };
        parts.push(format!(
            "manifest HEAD p50: Docker Hub {h:.1} ms, ECR {e:.1} ms ({fast} {r:.1}× faster)"
        ));
    }
    parts.join("; ")
}

fn render_compare(o: &CompareOut, prices: &Prices, p: &Printer) -> String {
    let price_src = format!("price file {}", prices.as_of);
    let mut s = String::new();
    // 1. Rate limits.
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["rate limits", "Docker Hub", "Amazon ECR", "source"]);
    let live = match &o.hub_ratelimit {
        Some(rl) => format!(
            "{}/{} left per {}",
            rl.remaining,
            rl.limit,
            window(rl.window_s)
        ),
        None if o.hub.is_some() => "no limit headers (unlimited)".into(),
        None => "-".into(),
    };
    t.add_row([
        "pulls, this identity (live)".to_string(),
        format!("{live} ({})", o.hub_identity.as_deref().unwrap_or("-")),
        "no pull-count limit".into(),
        "headers (HEAD, no pull) / price file".into(),
    ]);
    t.add_row([
        "pulls, documented".to_string(),
        format!(
            "anonymous {} / personal {} per {} h; paid plans unlimited (fair use)",
            prices.dockerhub.anonymous_pulls,
            prices.dockerhub.personal_pulls,
            prices.dockerhub.window_hours
        ),
        "none".into(),
        price_src.clone(),
    ]);
    for (op, tps) in ecr_quotas(prices) {
        t.add_row([
            format!("API quota {op}"),
            "-".into(),
            format!("{tps} TPS (adjustable)"),
            price_src.clone(),
        ]);
    }
    t.add_row([
        "region".to_string(),
        "global (CDN)".into(),
        o.ecr_region.clone().unwrap_or_else(|| "-".into()),
        "registry host".into(),
    ]);
    s += &format!("{}\n", p.table(&t));
    // 2. Cost.
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["cost per month", "Docker Hub", "Amazon ECR", "source"]);
    if let (Some(st), Some(c)) = (&o.storage, &o.ecr_cost) {
        t.add_row([
            format!("stored ({} images)", st.images),
            bytes(st.bytes),
            format!("{:.3} GB", c.stored_gb),
            st.source.clone(),
        ]);
        t.add_row([
            "storage".to_string(),
            "included in the plan".into(),
            format!(
                "{:.2} {} ({} {}/GB-month)",
                c.storage, prices.currency, prices.ecr.storage_gb_month, prices.currency
            ),
            price_src.clone(),
        ]);
        t.add_row([
            format!(
                "transfer, {} pulls ({})",
                o.pulls_per_month,
                match o.egress {
                    Egress::Internet => "internet",
                    Egress::SameRegion => "same region",
                    Egress::CrossRegion => "cross-region",
                }
            ),
            "included in the plan".into(),
            format!(
                "{:.2} {} for {:.1} GB",
                c.transfer, prices.currency, c.transfer_gb
            ),
            price_src.clone(),
        ]);
        t.add_row([
            "total".to_string(),
            "see plans".into(),
            format!("{:.2} {}", c.total, prices.currency),
            "computed".into(),
        ]);
    }
    for p in &o.hub_plans {
        t.add_row([
            format!("plan {}", p.plan),
            format!(
                "{:.2} {}{}",
                p.monthly,
                prices.currency,
                p.pulls_per_window
                    .map(|n| format!(", {n} pulls per {} h", prices.dockerhub.window_hours))
                    .unwrap_or_else(|| ", unlimited pulls".into())
            ),
            "-".into(),
            price_src.clone(),
        ]);
    }
    t.add_row([
        "free tier".to_string(),
        "Personal plan".into(),
        format!(
            "{} GB-month storage (accounts before 2025-07-15, 12 months); {} GB/month internet egress",
            prices.ecr.free_tier_storage_gb_month, prices.ecr.internet_free_gb_month
        ),
        price_src.clone(),
    ]);
    s += &format!("{}\n", p.table(&t));
    // 3. Latency and throughput.
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "latency (p50 / p95 / max ms)",
        "Docker Hub",
        "Amazon ECR",
        "source",
    ]);
    let ops = Operation::ALL;
    let cell = |side: &Option<Side>, op: Operation| -> String {
        let Some(side) = side else { return "-".into() };
        match side.latency.iter().find(|o| o.operation == op) {
            Some(o) => match &o.summary {
                Some(s) => format!("{:.1} / {:.1} / {:.1}", s.p50_ms, s.p95_ms, s.max_ms),
                None => o.note.clone().unwrap_or_default(),
            },
            None => "no image to sample".into(),
        }
    };
    for op in ops {
        t.add_row([
            op.to_string(),
            cell(&o.hub, op),
            cell(&o.ecr, op),
            "measured".into(),
        ]);
    }
    let tp = |side: &Option<Side>| -> String {
        match side.as_ref().and_then(|s| s.throughput.as_ref()) {
            Some(t) => format!("{:.1} MB/s", t.mb_per_s),
            None => "-".into(),
        }
    };
    t.add_row([
        "blob throughput".to_string(),
        tp(&o.hub),
        tp(&o.ecr),
        "measured".into(),
    ]);
    let spent = |side: &Option<Side>| {
        side.as_ref()
            .map(|s| s.pulls_spent.to_string())
            .unwrap_or_else(|| "-".into())
    };
    t.add_row([
        "manifest GETs spent".to_string(),
        spent(&o.hub),
        spent(&o.ecr),
        "counted".into(),
    ]);
    let sample = |side: &Option<Side>| {
        side.as_ref()
            .and_then(|s| s.sample.clone())
            .unwrap_or_else(|| "-".into())
    };
    t.add_row([
        "sampled image".to_string(),
        sample(&o.hub),
        sample(&o.ecr),
        "-".into(),
    ]);
    s += &format!("{}\n", p.table(&t));
    s += &format!("{}\n", features::render(&o.features, p));
    s += &format!("Verdict: {}\n", o.verdict);
    s
}

fn ecr_quotas(p: &Prices) -> Vec<(&'static str, u64)> {
    vec![
        ("BatchGetImage", p.ecr_quota("batch_get_image")),
        (
            "GetDownloadUrlForLayer",
            p.ecr_quota("get_download_url_for_layer"),
        ),
        ("PutImage", p.ecr_quota("put_image")),
        ("UploadLayerPart", p.ecr_quota("upload_layer_part")),
    ]
}
