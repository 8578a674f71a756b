//! `crossdock compare`: Docker Hub vs Amazon ECR side by side for the user's
//! own repositories — rate limits read live (HEAD, no pull), the monthly cost
//! of what is really stored, latency measured now, the feature table read
//! live and the risks — as four tables and a verdict, JSON, Markdown, or with
//! `--html` a report with the two registries side by side in grouped bar
//! charts. The listing is here (it needs `mirror`); the measuring, the
//! storage walk and the verdict are in `crossdock::measure`.

use std::path::PathBuf;

use comfy_table::Table;
use serde::Serialize;

use crossdock::measure::blobs::ImageBlobs;
use crossdock::measure::compare::{self as cmp, ecr_quotas, Side, Storage};
use crossdock::measure::cost::{
    cheapest_hub_plan, ecr_monthly, hub_plans, EcrCost, Egress, HubPlan,
};
use crossdock::measure::features::{FeatureRow, RiskOut, SampleImage};
use crossdock::measure::{Operation, Summary, Throughput};
use crossdock::mirror::{Lister, Namespace};
use crossdock::prices::Prices;
use crossdock::registry::ecr;
use crossdock::registry::ratelimit::RateLimit;
use crossdock::registry::{Remote, Repo};
use crossdock::types::reference::DOCKER_HUB;

use super::bench::latency_bar;
use super::chart::{Group, GroupBar, Grouped};
use super::features;
use super::output::{bytes, table};
use super::ratelimit::{remote_of, window, RATELIMIT_PREVIEW};
use super::report::{self, Page};
use super::{Context, Printer, UsageError};

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
    /// Also write a self-contained HTML report: the tables, Docker Hub and ECR side by side in grouped bar charts, the risks highlighted (inline SVG, no network)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
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

/// What the HTML report says about the run beyond the JSON.
struct ReportFacts {
    hub_ns: Option<String>,
    ecr_ns: Option<String>,
    ecr_identity: Option<String>,
    prices_file: String,
}

/// Lists the ECR repositories under the prefix and walks every tagged image
/// (manifest GETs are free on ECR): the unique-blob storage, the image to
/// time, and the image whose scan findings the feature table shows.
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
    let mut blobs = ImageBlobs::new();
    let mut sample = None;
    let mut scan_sample = None;
    for repo in repos {
        let remote = Remote {
            client: client.clone(),
            repo: repo.clone(),
        };
        let r = Repo::Remote(remote.clone());
        for tag in r.tags().await.map(|t| t.names).unwrap_or_default() {
            let top = blobs.add_image(&remote, &tag).await?;
            if sample.is_none() {
                scan_sample = Some(SampleImage::of_manifest(&repo, &tag, &top)?);
                sample = Some((remote.clone(), tag.clone()));
            }
        }
    }
    Ok((Storage::of_blobs(&blobs, "ECR"), sample, scan_sample))
}

/// Sizes from the Hub API (no pull), and the first image to time.
async fn hub_storage(
    ctx: &Context,
    ns: &Namespace,
) -> anyhow::Result<(Storage, Option<(Remote, String)>)> {
    let lister = Lister::new(&ctx.pool, DOCKER_HUB).await?;
    let client = ctx.pool.client(DOCKER_HUB)?;
    let mut sample = None;
    let mut sizes = Vec::new();
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
            sizes.push(t.images);
        }
    }
    Ok((
        Storage::of_hub_sizes(sizes.iter().map(Vec::as_slice)),
        sample,
    ))
}

/// Runs `compare`.
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
        crossdock::measure::ratelimit(&remote, &reference).await?
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
        Some(_) => Some(cmp::side(hub_sample, DOCKER_HUB, a.samples as usize, a.throughput).await?),
        None => None,
    };
    let ecr_side = match &ecr_ns {
        Some(ns) => {
            Some(cmp::side(ecr_sample, &ns.registry, a.samples as usize, a.throughput).await?)
        }
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
    let mut verdict = cmp::verdict(
        &prices,
        hub_rl.as_ref(),
        ecr_cost.as_ref(),
        hub_side.as_ref(),
        ecr_side.as_ref(),
        a.pulls_per_month,
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
    if let Some(path) = &a.html {
        let facts = ReportFacts {
            hub_ns: hub_ns.as_ref().map(|n| n.display()),
            ecr_ns: ecr_ns.as_ref().map(|n| n.display()),
            ecr_identity: gathered.ecr.as_ref().map(|e| {
                let caller = match &e.caller {
                    Ok(c) => c.arn.clone(),
                    Err(g) => format!("unknown: {g}"),
                };
                format!("{caller}; /v2 as {}", e.v2_identity)
            }),
            prices_file: match &a.prices {
                Some(p) => format!("{} over the built-in data/prices.toml", p.display()),
                None => "built-in data/prices.toml".into(),
            },
        };
        html(&out, &prices, &facts).write(path)?;
        ctx.printer
            .note(&format!("report written to {}", path.display()));
    }
    ctx.printer
        .result(&out, || render_text(&out, &prices, &ctx.printer));
    Ok(())
}

/// The four tables and the verdict, as text or Markdown.
fn render_text(o: &CompareOut, prices: &Prices, p: &Printer) -> String {
    let mut s = String::new();
    for t in [
        ratelimit_table(o, prices),
        cost_table(o, prices),
        latency_table(o),
        features::table(&o.features),
    ] {
        s += &format!("{}\n", p.table(&t));
    }
    s += &format!("Verdict: {}\n", o.verdict);
    s
}

fn price_src(prices: &Prices) -> String {
    format!("price file {}", prices.as_of)
}

/// 1. Rate limits: live for this identity, as documented, ECR's API quotas.
fn ratelimit_table(o: &CompareOut, prices: &Prices) -> Table {
    let price_src = price_src(prices);
    let mut t = table();
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
    t
}

/// 2. Cost per month: what is stored, ECR's storage and transfer, Hub's plans.
fn cost_table(o: &CompareOut, prices: &Prices) -> Table {
    let price_src = price_src(prices);
    let mut t = table();
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
                egress_name(o.egress)
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
    t
}

/// 3. Latency and throughput, measured now.
fn latency_table(o: &CompareOut) -> Table {
    let mut t = table();
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
    t
}

const SERIES: [&str; 2] = ["Docker Hub", "Amazon ECR"];

/// Latency p50 and p95 per operation: Docker Hub and ECR side by side.
fn latency_chart(o: &CompareOut) -> Grouped {
    let bar = |side: &Option<Side>, op: Operation, pick: fn(&Summary) -> f64| match side {
        Some(s) => latency_bar(s.latency.iter().find(|x| x.operation == op), pick),
        None => GroupBar {
            value: None,
            text: "n/a: not compared".into(),
        },
    };
    let mut groups = Vec::new();
    for op in Operation::ALL {
        for (q, pick) in [
            ("p50", (|s: &Summary| s.p50_ms) as fn(&Summary) -> f64),
            ("p95", |s: &Summary| s.p95_ms),
        ] {
            groups.push(Group {
                label: format!("{op} {q}"),
                bars: vec![bar(&o.hub, op, pick), bar(&o.ecr, op, pick)],
            });
        }
    }
    Grouped {
        title: "latency, measured now".into(),
        unit: "ms".into(),
        series: SERIES.map(String::from).to_vec(),
        groups,
    }
}

/// Blob throughput, when it was sampled.
fn throughput_chart(o: &CompareOut) -> Option<Grouped> {
    fn tp(s: &Option<Side>) -> Option<&Throughput> {
        s.as_ref().and_then(|s| s.throughput.as_ref())
    }
    if tp(&o.hub).is_none() && tp(&o.ecr).is_none() {
        return None;
    }
    let bar = |s: &Option<Side>| match tp(s) {
        Some(t) => GroupBar {
            value: Some(t.mb_per_s),
            text: format!("{:.1} MB/s", t.mb_per_s),
        },
        None => GroupBar {
            value: None,
            text: "n/a".into(),
        },
    };
    Some(Grouped {
        title: "blob throughput, one stream".into(),
        unit: "MB/s".into(),
        series: SERIES.map(String::from).to_vec(),
        groups: vec![Group {
            label: "blob download".into(),
            bars: vec![bar(&o.hub), bar(&o.ecr)],
        }],
    })
}

/// Cost per month per item: Docker Hub (its plan includes storage and
/// transfer; the total is the cheapest plan that fits the pulls) and ECR.
fn cost_chart(o: &CompareOut, prices: &Prices) -> Option<Grouped> {
    let c = o.ecr_cost.as_ref()?;
    let cur = &prices.currency;
    let money = |v: f64| GroupBar {
        value: Some(v),
        text: format!("{} {cur}", money(v)),
    };
    let included = || GroupBar {
        value: Some(0.0),
        text: "included in the plan".into(),
    };
    let hub_total = match cheapest_hub_plan(prices, &o.hub_plans, o.pulls_per_month) {
        Some(p) => GroupBar {
            value: Some(p.monthly),
            text: format!("{:.2} {cur} ({} plan fits the pulls)", p.monthly, p.plan),
        },
        None => GroupBar {
            value: None,
            text: "n/a: no plan in the prices file".into(),
        },
    };
    Some(Grouped {
        title: format!(
            "cost per month, {} pulls ({})",
            o.pulls_per_month,
            egress_name(o.egress)
        ),
        unit: cur.clone(),
        series: SERIES.map(String::from).to_vec(),
        groups: vec![
            Group {
                label: "storage".into(),
                bars: vec![included(), money(c.storage)],
            },
            Group {
                label: "transfer".into(),
                bars: vec![included(), money(c.transfer)],
            },
            Group {
                label: "total".into(),
                bars: vec![hub_total, money(c.total)],
            },
        ],
    })
}

/// An amount: cents, or the first significant digits of less than a cent.
fn money(v: f64) -> String {
    if v > 0.0 && v < 0.01 {
        format!("{v:.6}")
    } else {
        format!("{v:.2}")
    }
}

fn egress_name(e: Egress) -> &'static str {
    match e {
        Egress::Internet => "internet",
        Egress::SameRegion => "same region",
        Egress::CrossRegion => "cross-region",
    }
}

/// The HTML report: who, when and with which prices; the verdict and the
/// risks; the charts; the four tables, risky feature rows highlighted.
fn html(o: &CompareOut, prices: &Prices, f: &ReportFacts) -> Page {
    let mut page = Page::new("crossdock compare: Docker Hub vs Amazon ECR");
    page.fact("date", &report::now());
    if let Some(ns) = &f.hub_ns {
        page.fact("Docker Hub", ns);
        page.fact(
            "Docker Hub identity",
            o.hub_identity.as_deref().unwrap_or("-"),
        );
    }
    if let Some(ns) = &f.ecr_ns {
        page.fact("Amazon ECR", ns);
        page.fact("ECR identity", f.ecr_identity.as_deref().unwrap_or("-"));
    }
    page.fact(
        "prices file",
        &format!("{} (as of {})", f.prices_file, prices.as_of),
    );
    page.heading("Verdict");
    page.paragraph("verdict", &o.verdict);
    let risks: Vec<String> = o.risks.iter().map(|r| r.message.clone()).collect();
    page.list("risks", &risks);
    page.heading("Latency");
    page.chart(&latency_chart(o));
    if let Some(c) = throughput_chart(o) {
        page.chart(&c);
    }
    page.table(None, &latency_table(o), |_| false);
    page.heading("Cost per month");
    if let Some(c) = cost_chart(o, prices) {
        page.chart(&c);
    }
    page.table(None, &cost_table(o, prices), |_| false);
    page.heading("Rate limits");
    page.table(None, &ratelimit_table(o, prices), |_| false);
    page.heading("Features");
    page.table(None, &features::table(&o.features), |cells| {
        cells
            .first()
            .is_some_and(|f| o.risks.iter().any(|r| r.risk.feature() == f))
    });
    page
}
