//! Facts that age — prices, documented limits, quotas — from one dated data
//! file (`data/prices.toml`, compiled in) that the user can override with
//! `--prices FILE`. Nothing else in the code holds such numbers.

use std::path::Path;

use serde::Deserialize;

use crate::error::Error;

/// The compiled-in data file.
pub const DEFAULT: &str = include_str!("../data/prices.toml");

/// ECR prices and quotas.
#[derive(Clone, Debug, Deserialize)]
pub struct EcrPrices {
    /// Region the prices are for.
    pub region: String,
    /// Private storage, $/GB-month.
    pub storage_gb_month: f64,
    /// Free-tier storage, GB-month.
    pub free_tier_storage_gb_month: f64,
    /// Same-region transfer, $/GB.
    pub same_region_gb: f64,
    /// Cross-region transfer, $/GB.
    pub cross_region_gb: f64,
    /// Free internet egress per month, GB.
    pub internet_free_gb_month: f64,
    /// Internet egress tiers: `[size GB (0 = the rest), $/GB]`.
    pub internet_tiers_gb: Vec<(f64, f64)>,
    /// Everything else, e.g. the API quotas (`quota_<operation>_tps`).
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, toml::Value>,
}

/// Docker Hub limits and plan prices.
#[derive(Clone, Debug, Deserialize)]
pub struct HubPrices {
    /// Pull-limit window, hours.
    pub window_hours: u64,
    /// Anonymous pulls per window.
    pub anonymous_pulls: u64,
    /// Personal-plan pulls per window.
    pub personal_pulls: u64,
    /// Personal plan, per month.
    pub personal_month: f64,
    /// Pro, per month, billed annually.
    pub pro_month_annual: f64,
    /// Team, per user per month, billed annually.
    pub team_user_month_annual: f64,
    /// Business, per user per month, billed annually.
    pub business_user_month_annual: f64,
}

/// Dated facts about Docker Hub that no API crossdock calls can say.
#[derive(Clone, Debug, Deserialize)]
pub struct HubFacts {
    /// Who runs it and where.
    pub operator: String,
    /// Visibility of new repositories.
    pub default_access: String,
    /// Tag immutability.
    pub tag_immutability: String,
    /// Vulnerability scanning.
    pub scanning: String,
    /// Encryption at rest.
    pub encryption: String,
    /// Replication.
    pub replication: String,
    /// Lifecycle (retention) rules.
    pub lifecycle: String,
    /// Pull-through cache.
    pub pull_through_cache: String,
}

/// Dated facts about ECR that no API call says.
#[derive(Clone, Debug, Deserialize)]
pub struct EcrFacts {
    /// Who runs it.
    pub operator: String,
    /// Visibility of new repositories.
    pub default_access: String,
}

/// The `[facts]` tables.
#[derive(Clone, Debug, Deserialize)]
pub struct Facts {
    /// Docker Hub.
    pub dockerhub: HubFacts,
    /// Amazon ECR.
    pub ecr: EcrFacts,
}

/// Bytes in a billing GB (AWS bills storage and transfer in GiB).
pub const GB: f64 = 1_073_741_824.0;

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
pub struct Prices {
    /// The date the figures were checked.
    pub as_of: String,
    /// Currency of every price.
    pub currency: String,
    /// Amazon ECR.
    pub ecr: EcrPrices,
    /// Docker Hub.
    pub dockerhub: HubPrices,
    /// Dated facts for the feature table.
    pub facts: Facts,
}

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

impl Prices {
    /// The compiled-in figures, overridden key by key by `path` if given.
    pub fn load(path: Option<&Path>) -> Result<Prices, Error> {
        let bad = |p: &str, e: String| Error::Config {
            path: p.to_string(),
            reason: e,
        };
        let mut base: toml::Value =
            toml::from_str(DEFAULT).map_err(|e| bad("data/prices.toml", e.to_string()))?;
        if let Some(p) = path {
            let shown = p.display().to_string();
            let text = std::fs::read_to_string(p).map_err(|e| bad(&shown, e.to_string()))?;
            let over: toml::Value =
                toml::from_str(&text).map_err(|e| bad(&shown, e.to_string()))?;
            merge(&mut base, over);
        }
        base.try_into()
            .map_err(|e: toml::de::Error| bad("prices", e.to_string()))
    }

    /// An ECR API quota in transactions per second (`quota_<op>_tps`), 0 if absent.
    pub fn ecr_quota(&self, op: &str) -> u64 {
        self.ecr
            .other
            .get(&format!("quota_{op}_tps"))
            .and_then(|v| v.as_integer())
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0)
    }

    /// Monthly ECR storage cost of `bytes`, before any free tier.
    pub fn ecr_storage_month(&self, bytes: u64) -> f64 {
        bytes as f64 / GB * self.ecr.storage_gb_month
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_loads_and_overrides_merge() {
        let p = Prices::load(None).unwrap();
        assert_eq!(p.currency, "USD");
        assert_eq!(p.ecr_quota("put_image"), 10);
        assert!(p.facts.dockerhub.scanning.contains("Docker Scout"));
        assert!(
            (p.ecr_storage_month(10 * 1_073_741_824) - 10.0 * p.ecr.storage_gb_month).abs() < 1e-9
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(
            &f,
            "as_of = \"2030-01-01\"\n[ecr]\nstorage_gb_month = 0.5\n",
        )
        .unwrap();
        let p = Prices::load(Some(&f)).unwrap();
        assert_eq!(p.as_of, "2030-01-01");
        assert!((p.ecr.storage_gb_month - 0.5).abs() < 1e-12);
        assert_eq!(p.ecr.region, "us-east-1", "other keys keep their defaults");
        std::fs::write(&f, "[ecr]\nstorage_gb_month = \"cheap\"\n").unwrap();
        assert!(Prices::load(Some(&f)).is_err());
    }
}
