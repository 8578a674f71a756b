//! `compare`'s feature table: Docker Hub vs Amazon ECR read live for the
//! user's own repositories — visibility (Hub API `is_private`, ECR repository
//! policies granting `"Principal": "*"`), the identities in use, tag
//! immutability, scanning and the sampled image's findings, encryption,
//! replication, lifecycle, counts and parity, pull-through cache — plus the
//! risks a migration runs into. Every row names its source (the API call, or
//! the dated facts file); a call that fails makes its cell
//! "unknown: <reason>", never a guess.
//!
//! Owns the gathering through the registry adapters (`registry::hub`,
//! `registry::ecr`) and the rows and risks built from what was gathered. It
//! must not import `mirror` or `cli`: listings and parity are handed in.

use std::collections::BTreeMap;

use futures_util::{stream, StreamExt};
use serde::Serialize;

use crate::prices::Prices;
use crate::registry::ecr::{
    CacheRule, CallerIdentity, Ecr, EcrHost, Exposure, Fact, RegistryScanning, ReplicationTarget,
    RepoFacts, ScanOutcome, TokenFacts,
};
use crate::registry::hub::{HubApi, HubAuth, HubRepo};
use crate::registry::Manifest;
use crate::types::media::{self, Parsed};

/// Cell text for something no API could say.
fn unknown(reason: impl std::fmt::Display) -> String {
    format!("unknown: {reason}")
}

/// One Docker Hub repository as the feature table sees it.
#[derive(Clone, Debug, Serialize)]
pub struct HubRepoFacts {
    /// Name inside the namespace (`api`).
    pub name: String,
    /// `is_private` from the Hub API (`None`: the field was absent).
    pub private: Option<bool>,
}

/// What was read about Docker Hub.
#[derive(Clone, Debug)]
pub struct HubSide {
    /// Namespace (`acme`).
    pub namespace: String,
    /// How the identity in use authenticates.
    pub auth: HubAuth,
    /// Its user name (never the secret) and where the credentials came from.
    pub identity: String,
    /// Whether the Hub API calls carried a login (else private repositories stay hidden).
    pub logged_in: bool,
    /// The namespace's repositories, or why they are unknown.
    pub repositories: Result<Vec<HubRepoFacts>, String>,
    /// Tags listed per repository name (from the caller's listing).
    pub tags: Option<usize>,
}

/// Reads the namespace's repositories (`is_private`) through the Hub API; one
/// repository when `single` names it. No registry request, no pull.
pub async fn hub_repositories(
    api: &HubApi,
    namespace: &str,
    single: Option<&str>,
) -> Result<Vec<HubRepoFacts>, String> {
    let repos: Vec<HubRepo> = match single {
        Some(name) => vec![api
            .repository(namespace, name)
            .await
            .map_err(|e| e.to_string())?],
        None => api
            .repositories(namespace)
            .await
            .map_err(|e| e.to_string())?,
    };
    let mut out: Vec<HubRepoFacts> = repos
        .into_iter()
        .map(|r| HubRepoFacts {
            private: r.is_private,
            name: r.name,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// One ECR repository: its settings and per-repository policies.
#[derive(Clone, Debug, Serialize)]
pub struct EcrRepo {
    /// `DescribeRepositories`.
    pub settings: RepoFacts,
    /// `GetRepositoryPolicy`.
    pub exposure: Fact<Exposure>,
    /// `GetLifecyclePolicy`.
    pub lifecycle: Fact<bool>,
}

/// The image whose scan findings are shown.
#[derive(Clone, Debug)]
pub struct SampleImage {
    /// Repository name in ECR.
    pub repository: String,
    /// Tag.
    pub tag: String,
    /// Platform images of a multi-platform index (`os/arch`, digest): ECR
    /// scans each platform image, not the index.
    pub platforms: Vec<(String, String)>,
}

impl SampleImage {
    /// The image `repository:tag` whose top manifest is `top`: for an index,
    /// its platform images (ECR scans those, not the index).
    pub fn of_manifest(repository: &str, tag: &str, top: &Manifest) -> crate::error::Result<Self> {
        let platforms = match media::parse(top.digest.as_str(), &top.media_type, &top.bytes)? {
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
        Ok(SampleImage {
            repository: repository.to_string(),
            tag: tag.to_string(),
            platforms,
        })
    }
}

/// The sampled image's latest scan.
#[derive(Clone, Debug)]
pub struct SampleScan {
    /// `repo:tag` (and the platform, when the index's child was read).
    pub image: String,
    /// The outcome, or why it is unknown.
    pub outcome: Fact<ScanOutcome>,
}

/// What was read about ECR.
#[derive(Clone, Debug)]
pub struct EcrSide {
    /// The registry's region.
    pub region: String,
    /// `sts:GetCallerIdentity`.
    pub caller: Fact<CallerIdentity>,
    /// Who the `/v2` requests authenticate as (never the secret).
    pub v2_identity: String,
    /// `GetAuthorizationToken`'s expiry.
    pub token: Fact<TokenFacts>,
    /// Repositories under the prefix.
    pub repositories: Fact<Vec<EcrRepo>>,
    /// Tags listed in those repositories (from the caller's listing).
    pub tags: Option<usize>,
    /// `GetRegistryScanningConfiguration`.
    pub scanning: Fact<RegistryScanning>,
    /// `DescribeRegistry`.
    pub replication: Fact<Vec<ReplicationTarget>>,
    /// `DescribePullThroughCacheRules`.
    pub cache_rules: Fact<Vec<CacheRule>>,
    /// The sampled image's scan, when there is an image.
    pub sample: Option<SampleScan>,
}

/// Reads every ECR fact the table needs; independent calls run together and
/// none of them stops the others.
pub async fn ecr_side(
    api: &Ecr,
    host: &EcrHost,
    prefix: &str,
    v2_identity: String,
    sample: Option<&SampleImage>,
) -> EcrSide {
    let (caller, token, repositories, scanning, replication, cache_rules, sample) = tokio::join!(
        api.caller_identity(&host.region),
        api.token_facts(host),
        ecr_repositories(api, host, prefix),
        api.registry_scanning(host),
        api.replication(host),
        api.cache_rules(host),
        sample_scan(api, host, sample),
    );
    EcrSide {
        region: host.region.clone(),
        caller,
        v2_identity,
        token,
        repositories,
        tags: None,
        scanning,
        replication,
        cache_rules,
        sample,
    }
}

async fn ecr_repositories(api: &Ecr, host: &EcrHost, prefix: &str) -> Fact<Vec<EcrRepo>> {
    let repos = api.repository_facts(host, prefix).await?;
    Ok(stream::iter(repos)
        .map(|settings| async move {
            let (exposure, lifecycle) = tokio::join!(
                api.repository_exposure(host, &settings.name),
                api.has_lifecycle_policy(host, &settings.name)
            );
            EcrRepo {
                settings,
                exposure,
                lifecycle,
            }
        })
        .buffered(8)
        .collect()
        .await)
}

async fn sample_scan(
    api: &Ecr,
    host: &EcrHost,
    sample: Option<&SampleImage>,
) -> Option<SampleScan> {
    let s = sample?;
    let image = format!("{}:{}", s.repository, s.tag);
    let first = api
        .scan_findings(host, &s.repository, Some(&s.tag), None)
        .await;
    if matches!(first, Ok(ScanOutcome::Scanned { .. })) || s.platforms.is_empty() {
        return Some(SampleScan {
            image,
            outcome: first,
        });
    }
    // A multi-platform index: ECR scans the platform images.
    for (platform, digest) in &s.platforms {
        let r = api
            .scan_findings(host, &s.repository, None, Some(digest))
            .await;
        if matches!(r, Ok(ScanOutcome::Scanned { .. })) {
            return Some(SampleScan {
                image: format!("{image} ({platform})"),
                outcome: r,
            });
        }
    }
    Some(SampleScan {
        image,
        outcome: first,
    })
}

/// Tag parity of the Hub namespace and its ECR mirror (the `diff` counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Parity {
    /// Same digest on both sides.
    pub same: usize,
    /// On Docker Hub, not in ECR.
    pub missing: usize,
    /// In both, with different digests.
    pub different: usize,
    /// In ECR only.
    pub extra: usize,
}

/// A risk the migration runs into, found in the facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Risk {
    /// Public Docker Hub repositories whose ECR counterpart is not public.
    PublicBecomesPrivate {
        /// How many.
        count: usize,
    },
    /// ECR repositories readable by everyone (`"Principal": "*"`).
    PublicInEcr {
        /// How many.
        count: usize,
    },
    /// Repositories without scan on push (and no registry rule scanning on push).
    ScanOnPushOff {
        /// Without.
        off: usize,
        /// Of.
        total: usize,
    },
    /// Repositories whose tags can be overwritten.
    MutableTags {
        /// Mutable.
        mutable: usize,
        /// Of.
        total: usize,
    },
    /// Hub tags not (or not identically) in ECR.
    NotYetInEcr {
        /// Missing in ECR.
        missing: usize,
        /// Different digest in ECR.
        different: usize,
    },
    /// Critical or high findings in the sampled image.
    Findings {
        /// Critical.
        critical: u64,
        /// High.
        high: u64,
        /// The image.
        image: String,
    },
}

impl Risk {
    /// The row of the feature table this risk is about (reports highlight it).
    pub fn feature(&self) -> &'static str {
        match self {
            Risk::PublicBecomesPrivate { .. } | Risk::PublicInEcr { .. } => {
                "visibility and default access"
            }
            Risk::ScanOnPushOff { .. } => "vulnerability scanning",
            Risk::MutableTags { .. } => "tag immutability",
            Risk::NotYetInEcr { .. } => "not yet in ECR (diff)",
            Risk::Findings { .. } => "scan findings, sampled image",
        }
    }
}

impl std::fmt::Display for Risk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        match self {
            Risk::PublicBecomesPrivate { count } => write!(
                f,
                "{count} public Hub repositor{} would become private in ECR",
                if *count == 1 { "y" } else { "ies" }
            ),
            Risk::PublicInEcr { count } => write!(
                f,
                "{count} ECR repositor{} public (policy grants \"*\")",
                if *count == 1 { "y is" } else { "ies are" }
            ),
            Risk::ScanOnPushOff { off, total } => {
                write!(f, "scan on push off in {off} of {total}")
            }
            Risk::MutableTags { mutable, total } => {
                write!(
                    f,
                    "tags can be overwritten in {mutable} of {total} ECR repositories"
                )
            }
            Risk::NotYetInEcr { missing, different } => {
                write!(f, "{missing} Hub tag{} not yet in ECR", s(*missing))?;
                if *different > 0 {
                    write!(f, " and {different} with a different digest there")?;
                }
                Ok(())
            }
            Risk::Findings {
                critical,
                high,
                image,
            } => write!(
                f,
                "{image} has {critical} critical and {high} high findings"
            ),
        }
    }
}

/// A risk in JSON: its kind and numbers, and the sentence.
#[derive(Clone, Debug, Serialize)]
pub struct RiskOut {
    /// The risk.
    #[serde(flatten)]
    pub risk: Risk,
    /// As the verdict says it.
    pub message: String,
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeatureRow {
    /// The feature.
    pub feature: String,
    /// Docker Hub's cell.
    pub docker_hub: String,
    /// Amazon ECR's cell.
    pub ecr: String,
    /// Where the cells come from: API calls, or the facts file and its date.
    pub source: String,
}

/// Everything the rows are built from.
pub struct Inputs<'a> {
    /// Facts file.
    pub prices: &'a Prices,
    /// Docker Hub, when `--hub` was given.
    pub hub: Option<&'a HubSide>,
    /// ECR, when `--ecr` was given.
    pub ecr: Option<&'a EcrSide>,
    /// The ECR prefix the Hub repositories map to (`mirror` → `mirror/api`).
    pub ecr_prefix: &'a str,
    /// Tag parity, when both sides were given (or why unknown).
    pub parity: Option<Result<Parity, String>>,
}

fn ecr_name(prefix: &str, hub_name: &str) -> String {
    if prefix.is_empty() {
        hub_name.to_string()
    } else {
        format!("{prefix}/{hub_name}")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Counts by key, in key order (`1 MUTABLE, 2 IMMUTABLE`).
fn tally<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut m: BTreeMap<&str, usize> = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    m.iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Inputs<'_> {
    fn facts_src(&self) -> String {
        format!("facts file {}", self.prices.as_of)
    }

    fn hub_cell(&self, f: impl FnOnce(&HubSide) -> String) -> String {
        self.hub.map(f).unwrap_or_else(|| "-".into())
    }

    fn ecr_cell(&self, f: impl FnOnce(&EcrSide) -> String) -> String {
        self.ecr.map(f).unwrap_or_else(|| "-".into())
    }

    fn ecr_repos<T>(&self, f: impl FnOnce(&[EcrRepo]) -> T) -> Option<Result<T, String>> {
        let e = self.ecr?;
        Some(match &e.repositories {
            Ok(r) => Ok(f(r)),
            Err(g) => Err(unknown(g)),
        })
    }

    /// Docker Hub repositories that are public, by name.
    fn hub_public(&self) -> Option<Vec<&str>> {
        let repos = self.hub?.repositories.as_ref().ok()?;
        Some(
            repos
                .iter()
                .filter(|r| r.private == Some(false))
                .map(|r| r.name.as_str())
                .collect(),
        )
    }
}

fn row(feature: &str, docker_hub: String, ecr: String, source: String) -> FeatureRow {
    FeatureRow {
        feature: feature.into(),
        docker_hub,
        ecr,
        source,
    }
}

/// The table's rows, in the order shown.
pub fn rows(i: &Inputs) -> Vec<FeatureRow> {
    let f = &i.prices.facts;
    let fsrc = i.facts_src();
    let mut out = vec![
        row(
            "operator and region",
            i.hub_cell(|_| f.dockerhub.operator.clone()),
            i.ecr_cell(|e| format!("{}, region {}", f.ecr.operator, e.region)),
            format!("{fsrc} / registry host"),
        ),
        visibility_row(i),
        auth_row(i),
        row(
            "tag immutability",
            i.hub_cell(|_| f.dockerhub.tag_immutability.clone()),
            cell(i.ecr_repos(|r| {
                if r.is_empty() {
                    return "no repositories".into();
                }
                let excl = r
                    .iter()
                    .filter(|x| x.settings.mutability_exclusions > 0)
                    .count();
                format!(
                    "{} ({} with exclusions) of {}",
                    tally(r.iter().map(|x| {
                        if x.settings.immutable() {
                            "IMMUTABLE"
                        } else {
                            "MUTABLE"
                        }
                    })),
                    excl,
                    r.len()
                )
            })),
            format!("{fsrc} / DescribeRepositories"),
        ),
        scanning_row(i),
        findings_row(i),
        row(
            "encryption",
            i.hub_cell(|_| f.dockerhub.encryption.clone()),
            cell(i.ecr_repos(|r| {
                if r.is_empty() {
                    return "no repositories".into();
                }
                let mut keys: Vec<&str> = r
                    .iter()
                    .filter_map(|x| x.settings.kms_key.as_deref())
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                let t = tally(r.iter().map(|x| x.settings.encryption.as_str()));
                if keys.is_empty() {
                    t
                } else {
                    format!("{t} (key {})", keys.join(", "))
                }
            })),
            format!("{fsrc} / DescribeRepositories"),
        ),
        row(
            "replication",
            i.hub_cell(|_| f.dockerhub.replication.clone()),
            i.ecr_cell(|e| match &e.replication {
                Ok(t) if t.is_empty() => "no replication rules".into(),
                Ok(t) => format!(
                    "to {}",
                    t.iter()
                        .map(|d| format!("{} ({})", d.region, d.registry_id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Err(g) => unknown(g),
            }),
            format!("{fsrc} / DescribeRegistry"),
        ),
        row(
            "lifecycle policies",
            i.hub_cell(|_| f.dockerhub.lifecycle.clone()),
            i.ecr_cell(|e| match &e.repositories {
                Err(g) => unknown(g),
                Ok(r) if r.is_empty() => "no repositories".into(),
                Ok(r) => {
                    let gaps: Vec<_> = r
                        .iter()
                        .filter_map(|x| x.lifecycle.as_ref().err())
                        .collect();
                    match gaps.first() {
                        Some(g) if gaps.len() == r.len() => unknown(g),
                        _ => {
                            let with = r.iter().filter(|x| x.lifecycle == Ok(true)).count();
                            let mut s = format!("{with} of {} repositories have one", r.len());
                            if let Some(g) = gaps.first() {
                                s += &format!(" ({} unknown: {g})", gaps.len());
                            }
                            s
                        }
                    }
                }
            }),
            format!("{fsrc} / GetLifecyclePolicy"),
        ),
        row(
            "repositories and tags",
            i.hub_cell(|h| match &h.repositories {
                Ok(r) => format!(
                    "{}, {}",
                    plural(r.len(), "repository", "repositories"),
                    h.tags
                        .map(|t| plural(t, "tag", "tags"))
                        .unwrap_or_else(|| "tags unknown".into())
                ),
                Err(e) => unknown(e),
            }),
            i.ecr_cell(|e| match &e.repositories {
                Ok(r) => format!(
                    "{}, {}",
                    plural(r.len(), "repository", "repositories"),
                    e.tags
                        .map(|t| plural(t, "tag", "tags"))
                        .unwrap_or_else(|| "tags unknown".into())
                ),
                Err(g) => unknown(g),
            }),
            "Hub API / DescribeRepositories, /v2 tags/list".into(),
        ),
    ];
    if let Some(p) = &i.parity {
        let (hub, ecr) = match p {
            Ok(p) => (
                format!(
                    "{} of {} Hub tags not yet in ECR",
                    p.missing + p.different,
                    p.same + p.missing + p.different
                ),
                format!(
                    "{} same, {} missing, {} different, {} extra",
                    p.same, p.missing, p.different, p.extra
                ),
            ),
            Err(e) => (unknown(e), unknown(e)),
        };
        out.push(row(
            "not yet in ECR (diff)",
            hub,
            ecr,
            "Hub API digests vs ECR manifest HEADs".into(),
        ));
    }
    out.push(row(
        "pull-through cache",
        i.hub_cell(|_| f.dockerhub.pull_through_cache.clone()),
        i.ecr_cell(|e| match &e.cache_rules {
            Ok(rules) => {
                let hub: Vec<&CacheRule> = rules.iter().filter(|r| r.docker_hub).collect();
                match hub.first() {
                    Some(r) => format!("rule for Docker Hub: {}/… ← {}", r.prefix, r.upstream_url),
                    None if rules.is_empty() => "no rules".into(),
                    None => format!("no rule for Docker Hub ({} other)", rules.len()),
                }
            }
            Err(g) => unknown(g),
        }),
        format!("{fsrc} / DescribePullThroughCacheRules"),
    ));
    out
}

fn cell(c: Option<Result<String, String>>) -> String {
    match c {
        None => "-".into(),
        Some(Ok(s)) | Some(Err(s)) => s,
    }
}

fn visibility_row(i: &Inputs) -> FeatureRow {
    let f = &i.prices.facts;
    let hub = i.hub_cell(|h| match &h.repositories {
        Err(e) => unknown(e),
        Ok(r) => {
            let public = r.iter().filter(|x| x.private == Some(false)).count();
            let private = r.iter().filter(|x| x.private == Some(true)).count();
            let absent = r.len() - public - private;
            let mut s = if h.logged_in {
                format!("{public} public, {private} private")
            } else {
                format!(
                    "{public} public; private ones unknown: the Hub API lists them only to a login (anonymous here)"
                )
            };
            if absent > 0 {
                s += &format!(", {absent} unknown (no is_private)");
            }
            s
        }
    });
    let ecr = cell(i.ecr_repos(|r| {
        let public: Vec<&str> = r
            .iter()
            .filter(|x| x.exposure == Ok(Exposure::Public))
            .map(|x| x.settings.name.as_str())
            .collect();
        let conditional = r
            .iter()
            .filter(|x| x.exposure == Ok(Exposure::Conditional))
            .count();
        let gaps: Vec<_> = r.iter().filter_map(|x| x.exposure.as_ref().err()).collect();
        let mut s = format!("{}; ", f.ecr.default_access);
        if public.is_empty() {
            s += &format!(
                "no repository policy grants \"*\" ({} checked)",
                r.len() - gaps.len()
            );
        } else {
            s += &format!(
                "{} of {} public (policy grants \"*\"): {}",
                public.len(),
                r.len(),
                public.join(", ")
            );
        }
        if conditional > 0 {
            s += &format!("; {conditional} grant \"*\" under conditions");
        }
        if let Some(g) = gaps.first() {
            s += &format!("; {} unknown: {g}", gaps.len());
        }
        s
    }));
    row(
        "visibility and default access",
        hub,
        ecr,
        "Hub API is_private / GetRepositoryPolicy".into(),
    )
}

fn auth_row(i: &Inputs) -> FeatureRow {
    let hub = i.hub_cell(|h| match h.auth {
        HubAuth::Anonymous => "anonymous".into(),
        a => format!("{a}: {}", h.identity),
    });
    let ecr = i.ecr_cell(|e| {
        let who = match &e.caller {
            Ok(c) => c.arn.clone(),
            Err(g) => unknown(g),
        };
        let token = match &e.token {
            Ok(TokenFacts {
                expires_at: Some(at),
                expires_in_s: Some(s),
            }) if *s > 0 => format!("token expires {at} (in {:.1} h)", *s as f64 / 3600.0),
            Ok(TokenFacts {
                expires_at: Some(at),
                ..
            }) => format!("token expiresAt {at} is already past as returned (refreshed on 401)"),
            Ok(_) => "token expiry not given".into(),
            Err(g) => unknown(g),
        };
        format!("{who}; /v2 as {}; {token}", e.v2_identity)
    });
    row(
        "authentication in use",
        hub,
        ecr,
        "credentials in use / sts:GetCallerIdentity, GetAuthorizationToken".into(),
    )
}

fn scanning_row(i: &Inputs) -> FeatureRow {
    let f = &i.prices.facts;
    let ecr = i.ecr_cell(|e| {
        let cfg = match &e.scanning {
            Ok(s) if s.rules.is_empty() => format!("{} scanning, no registry rules", s.scan_type),
            Ok(s) => format!("{} scanning, rules: {}", s.scan_type, s.rules.join("; ")),
            Err(g) => unknown(g),
        };
        let push = match &e.repositories {
            Ok(r) => format!(
                "scan on push in {} of {}",
                r.iter().filter(|x| x.settings.scan_on_push).count(),
                r.len()
            ),
            Err(g) => format!("scan on push {}", unknown(g)),
        };
        format!("{cfg}; {push}")
    });
    row(
        "vulnerability scanning",
        i.hub_cell(|_| f.dockerhub.scanning.clone()),
        ecr,
        format!(
            "{} / GetRegistryScanningConfiguration, DescribeRepositories",
            i.facts_src()
        ),
    )
}

fn findings_row(i: &Inputs) -> FeatureRow {
    let ecr = i.ecr_cell(|e| match &e.sample {
        None => "no image to sample".into(),
        Some(s) => match &s.outcome {
            Ok(ScanOutcome::Scanned {
                status, severities, ..
            }) => {
                let counts = if severities.is_empty() {
                    "no findings".to_string()
                } else {
                    severities
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!("{}: {counts} (scan {status})", s.image)
            }
            Ok(ScanOutcome::NoScan) => format!("{}: no scan yet", s.image),
            Ok(ScanOutcome::NotFound) => {
                format!("{}: unknown: the ECR API does not know this image", s.image)
            }
            Err(g) => format!("{}: {}", s.image, unknown(g)),
        },
    });
    row(
        "scan findings, sampled image",
        i.hub_cell(|_| "unknown: Docker Scout is not readable with registry credentials".into()),
        ecr,
        "DescribeImageScanFindings".into(),
    )
}

/// The risks found, most consequential first.
pub fn risks(i: &Inputs) -> Vec<Risk> {
    let mut out = Vec::new();
    let ecr_repos = i.ecr.and_then(|e| e.repositories.as_ref().ok());
    if let Some(public) = i.hub_public() {
        let public_in_ecr = |name: &str| {
            let want = ecr_name(i.ecr_prefix, name);
            ecr_repos.is_some_and(|r| {
                r.iter()
                    .any(|x| x.settings.name == want && x.exposure == Ok(Exposure::Public))
            })
        };
        let count = public.iter().filter(|n| !public_in_ecr(n)).count();
        if count > 0 && i.ecr.is_some() {
            out.push(Risk::PublicBecomesPrivate { count });
        }
    }
    if let Some(r) = ecr_repos.filter(|r| !r.is_empty()) {
        let public = r
            .iter()
            .filter(|x| x.exposure == Ok(Exposure::Public))
            .count();
        if public > 0 {
            out.push(Risk::PublicInEcr { count: public });
        }
        let registry_scans_on_push = i
            .ecr
            .and_then(|e| e.scanning.as_ref().ok())
            .is_some_and(|s| s.rules.iter().any(|r| r.starts_with("SCAN_ON_PUSH")));
        let off = r.iter().filter(|x| !x.settings.scan_on_push).count();
        if off > 0 && !registry_scans_on_push {
            out.push(Risk::ScanOnPushOff {
                off,
                total: r.len(),
            });
        }
        let mutable = r.iter().filter(|x| !x.settings.immutable()).count();
        if mutable > 0 {
            out.push(Risk::MutableTags {
                mutable,
                total: r.len(),
            });
        }
    }
    if let Some(Ok(p)) = &i.parity {
        if p.missing + p.different > 0 {
            out.push(Risk::NotYetInEcr {
                missing: p.missing,
                different: p.different,
            });
        }
    }
    if let Some(SampleScan {
        image,
        outcome: Ok(ScanOutcome::Scanned { severities, .. }),
    }) = i.ecr.and_then(|e| e.sample.as_ref())
    {
        let get = |k: &str| {
            severities
                .iter()
                .find(|(s, _)| s == k)
                .map(|(_, v)| *v)
                .unwrap_or(0)
        };
        let (critical, high) = (get("CRITICAL"), get("HIGH"));
        if critical + high > 0 {
            out.push(Risk::Findings {
                critical,
                high,
                image: image.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ecr::{ApiGap, GapKind};

    fn repo(name: &str, mutability: &str, scan: bool, exposure: Exposure) -> EcrRepo {
        EcrRepo {
            settings: RepoFacts {
                name: name.into(),
                tag_mutability: mutability.into(),
                mutability_exclusions: 0,
                scan_on_push: scan,
                encryption: "AES256".into(),
                kms_key: None,
            },
            exposure: Ok(exposure),
            lifecycle: Ok(false),
        }
    }

    fn gap(op: &'static str, kind: GapKind) -> ApiGap {
        ApiGap {
            operation: op,
            kind,
            detail: "HTTP 500 without an AWS error code".into(),
        }
    }

    fn ecr(repos: Vec<EcrRepo>) -> EcrSide {
        EcrSide {
            region: "us-east-1".into(),
            caller: Err(gap("GetCallerIdentity", GapKind::Denied)),
            v2_identity: "AWS (ECR GetAuthorizationToken)".into(),
            token: Ok(TokenFacts {
                expires_at: Some("2015-01-01T00:00:00Z".into()),
                expires_in_s: Some(-10),
            }),
            repositories: Ok(repos),
            tags: Some(3),
            scanning: Ok(RegistryScanning {
                scan_type: "BASIC".into(),
                rules: vec![],
            }),
            replication: Ok(vec![]),
            cache_rules: Err(gap(
                "DescribePullThroughCacheRules",
                GapKind::NotImplemented,
            )),
            sample: Some(SampleScan {
                image: "m/a:1".into(),
                outcome: Ok(ScanOutcome::Scanned {
                    status: "COMPLETE".into(),
                    severities: vec![("CRITICAL".into(), 1), ("HIGH".into(), 2)],
                    completed_at: None,
                }),
            }),
        }
    }

    fn hub() -> HubSide {
        HubSide {
            namespace: "acme".into(),
            auth: HubAuth::Password,
            identity: "demo (docker config)".into(),
            logged_in: true,
            repositories: Ok(vec![
                HubRepoFacts {
                    name: "a".into(),
                    private: Some(false),
                },
                HubRepoFacts {
                    name: "b".into(),
                    private: Some(false),
                },
                HubRepoFacts {
                    name: "c".into(),
                    private: Some(true),
                },
            ]),
            tags: Some(4),
        }
    }

    #[test]
    fn rows_and_risks_from_the_facts() {
        let prices = Prices::load(None).unwrap();
        let h = hub();
        let e = ecr(vec![
            repo("m/a", "IMMUTABLE", true, Exposure::Public),
            repo("m/b", "MUTABLE", false, Exposure::Private),
            repo("m/c", "MUTABLE", false, Exposure::Conditional),
        ]);
        let i = Inputs {
            prices: &prices,
            hub: Some(&h),
            ecr: Some(&e),
            ecr_prefix: "m",
            parity: Some(Ok(Parity {
                same: 2,
                missing: 1,
                different: 1,
                extra: 0,
            })),
        };
        let rows = rows(&i);
        let get = |f: &str| rows.iter().find(|r| r.feature == f).unwrap();
        assert_eq!(
            get("visibility and default access").docker_hub,
            "2 public, 1 private"
        );
        assert!(get("visibility and default access")
            .ecr
            .contains("1 of 3 public (policy grants \"*\"): m/a; 1 grant \"*\" under conditions"));
        assert_eq!(
            get("tag immutability").ecr,
            "1 IMMUTABLE, 2 MUTABLE (0 with exclusions) of 3"
        );
        assert!(get("tag immutability").source.starts_with("facts file 20"));
        assert!(get("vulnerability scanning")
            .ecr
            .ends_with("scan on push in 1 of 3"));
        assert_eq!(
            get("scan findings, sampled image").ecr,
            "m/a:1: CRITICAL 1, HIGH 2 (scan COMPLETE)"
        );
        assert!(get("authentication in use")
            .ecr
            .starts_with("unknown: GetCallerIdentity not permitted"));
        assert!(get("authentication in use").ecr.contains("already past"));
        assert_eq!(
            get("authentication in use").docker_hub,
            "password: demo (docker config)"
        );
        assert_eq!(
            get("pull-through cache").ecr,
            "unknown: DescribePullThroughCacheRules not implemented by the registry API (HTTP 500 without an AWS error code)"
        );
        assert_eq!(
            get("not yet in ECR (diff)").docker_hub,
            "2 of 4 Hub tags not yet in ECR"
        );
        assert_eq!(get("repositories and tags").ecr, "3 repositories, 3 tags");

        let risks = risks(&i);
        let text: Vec<String> = risks.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            text,
            [
                // a is public in ECR too; b is not.
                "1 public Hub repository would become private in ECR",
                "1 ECR repository is public (policy grants \"*\")",
                "scan on push off in 2 of 3",
                "tags can be overwritten in 2 of 3 ECR repositories",
                "1 Hub tag not yet in ECR and 1 with a different digest there",
                "m/a:1 has 1 critical and 2 high findings",
            ]
        );
        // Every risk points at a row that is in the table.
        for r in &risks {
            assert!(rows.iter().any(|x| x.feature == r.feature()), "{r:?}");
        }
    }

    #[test]
    fn a_failed_listing_is_unknown_everywhere_it_matters() {
        let prices = Prices::load(None).unwrap();
        let mut e = ecr(vec![]);
        e.repositories = Err(gap("DescribeRepositories", GapKind::Denied));
        e.sample = None;
        let mut h = hub();
        h.logged_in = false;
        h.auth = HubAuth::Anonymous;
        let i = Inputs {
            prices: &prices,
            hub: Some(&h),
            ecr: Some(&e),
            ecr_prefix: "m",
            parity: None,
        };
        let rows = rows(&i);
        for f in ["tag immutability", "encryption", "lifecycle policies"] {
            let r = rows.iter().find(|r| r.feature == f).unwrap();
            assert!(
                r.ecr
                    .starts_with("unknown: DescribeRepositories not permitted"),
                "{f}: {}",
                r.ecr
            );
        }
        let vis = rows
            .iter()
            .find(|r| r.feature == "visibility and default access")
            .unwrap();
        assert!(vis.docker_hub.starts_with("2 public; private ones unknown"));
        assert!(rows.iter().all(|r| r.feature != "not yet in ECR (diff)"));
        // Two public Hub repositories, nothing known to be public in ECR.
        assert_eq!(risks(&i), [Risk::PublicBecomesPrivate { count: 2 }]);
    }
}
