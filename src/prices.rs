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
}

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

    /// Monthly ECR storage cost of `bytes`, before any free tier.
    pub fn ecr_storage_month(&self, bytes: u64) -> f64 {
        bytes as f64 / 1e9 * self.ecr.storage_gb_month
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_loads_and_overrides_merge() {
        let p = Prices::load(None).unwrap();
        assert_eq!(p.currency, "USD");
        assert!((p.ecr_storage_month(10_000_000_000) - 10.0 * p.ecr.storage_gb_month).abs() < 1e-9);
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
