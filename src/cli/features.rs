//! `compare`'s fourth table, the CLI side: gathers the Docker Hub and ECR
//! facts for the namespaces given (through `measure::features`, with the
//! listings and the `diff` parity the command already has) and renders the
//! rows. No Docker Hub pull is spent: the Hub API and HEADs only.

use crossdock::measure::features::{
    self, EcrSide, FeatureRow, HubSide, Inputs, Parity, Risk, RiskOut, SampleImage,
};
use crossdock::mirror::diff::{diff, DiffStatus};
use crossdock::mirror::{Lister, Namespace, RepoFilter, TagFilter};
use crossdock::prices::Prices;
use crossdock::registry::ecr::EcrHost;
use crossdock::registry::hub::HubAuth;
use crossdock::types::reference::DOCKER_HUB;

use comfy_table::Table;

use super::output;
use super::Context;

/// What the table is built from.
pub struct Gathered {
    /// Docker Hub facts.
    pub hub: Option<HubSide>,
    /// ECR facts.
    pub ecr: Option<EcrSide>,
    /// `diff` counts, when both sides were given.
    pub parity: Option<Result<Parity, String>>,
    /// The ECR prefix Hub repositories map to.
    pub ecr_prefix: String,
}

impl Gathered {
    fn inputs<'a>(&'a self, prices: &'a Prices) -> Inputs<'a> {
        Inputs {
            prices,
            hub: self.hub.as_ref(),
            ecr: self.ecr.as_ref(),
            ecr_prefix: &self.ecr_prefix,
            parity: self.parity.clone(),
        }
    }

    /// The rows.
    pub fn rows(&self, prices: &Prices) -> Vec<FeatureRow> {
        features::rows(&self.inputs(prices))
    }

    /// The risks, with their sentences.
    pub fn risks(&self, prices: &Prices) -> Vec<RiskOut> {
        features::risks(&self.inputs(prices))
            .into_iter()
            .map(|risk: Risk| RiskOut {
                message: risk.to_string(),
                risk,
            })
            .collect()
    }
}

/// The side of Docker Hub: identity, repositories (`is_private`), tag count.
async fn hub_side(ctx: &Context, ns: &Namespace, tags: Option<usize>) -> anyhow::Result<HubSide> {
    let client = ctx.pool.client(DOCKER_HUB)?;
    let cred = client.credential().await?;
    let lister = Lister::new(&ctx.pool, DOCKER_HUB).await?;
    let (namespace, single) = match ns.path.split_once('/') {
        Some((n, r)) => (n.to_string(), Some(r.to_string())),
        None => (ns.path.clone(), None),
    };
    let (repositories, logged_in) = match lister.hub_api() {
        Some(api) => (
            features::hub_repositories(api, &namespace, single.as_deref()).await,
            api.logged_in(),
        ),
        None => (Err("no Hub API client".into()), false),
    };
    Ok(HubSide {
        namespace,
        auth: HubAuth::of(cred.as_ref()),
        identity: client.identity().await?,
        logged_in,
        repositories,
        tags,
    })
}

/// Reads both sides (and their parity when both are given).
pub async fn gather(
    ctx: &Context,
    hub_ns: Option<&Namespace>,
    ecr: Option<(&Namespace, &EcrHost)>,
    hub_tags: Option<usize>,
    ecr_tags: Option<usize>,
    sample: Option<&SampleImage>,
) -> anyhow::Result<Gathered> {
    let hub = match hub_ns {
        Some(ns) => Some(hub_side(ctx, ns, hub_tags).await?),
        None => None,
    };
    let ecr_side = match (ecr, ctx.pool.ecr()) {
        (Some((ns, host)), Some(api)) => {
            let v2 = match ctx.pool.client(&ns.registry)?.identity().await {
                Ok(i) => i,
                Err(e) => format!("unknown: {e}"),
            };
            let mut side = features::ecr_side(api, host, &ns.path, v2, sample).await;
            side.tags = ecr_tags;
            Some(side)
        }
        _ => None,
    };
    let parity = match (hub_ns, ecr) {
        (Some(h), Some((e, _))) => Some(parity(ctx, h, e).await),
        _ => None,
    };
    Ok(Gathered {
        hub,
        ecr: ecr_side,
        parity,
        ecr_prefix: ecr.map(|(ns, _)| ns.path.clone()).unwrap_or_default(),
    })
}

/// The `diff` of the namespaces in counts (Hub API digests, HEADs on ECR).
async fn parity(ctx: &Context, hub: &Namespace, ecr: &Namespace) -> Result<Parity, String> {
    let all_repos = RepoFilter::new(None, None).map_err(|e| e.to_string())?;
    let all_tags = TagFilter::new(Vec::new(), None, None, None).map_err(|e| e.to_string())?;
    // Images only: checking referrers could cost pulls here.
    let (rows, _invalid_names) = diff(&ctx.pool, hub, ecr, &all_repos, &all_tags, 8, None)
        .await
        .map_err(|e| e.to_string())?;
    let count = |s: DiffStatus| rows.iter().filter(|r| r.status == s).count();
    Ok(Parity {
        same: count(DiffStatus::Same),
        missing: count(DiffStatus::Missing),
        different: count(DiffStatus::Different),
        extra: count(DiffStatus::Extra),
    })
}

/// The feature table (text, Markdown or HTML, as the caller prints it).
pub fn table(rows: &[FeatureRow]) -> Table {
    let mut t = output::table();
    t.set_header(["features", "Docker Hub", "Amazon ECR", "source"]);
    for r in rows {
        t.add_row([
            r.feature.clone(),
            r.docker_hub.clone(),
            r.ecr.clone(),
            r.source.clone(),
        ]);
    }
    t
}
