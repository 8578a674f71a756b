//! Monthly cost arithmetic from the prices file: ECR storage of the bytes
//! really stored (unique blobs), transfer for a number of pulls by egress
//! kind (internet tiers after the free allowance), and Docker Hub plans.

use serde::Serialize;

use crate::prices::{Prices, GB};

/// Where pulls go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Egress {
    /// To the internet (tiered, after the free allowance).
    Internet,
    /// To compute in the same region (free).
    SameRegion,
    /// To another region.
    CrossRegion,
}

/// An ECR monthly estimate.
#[derive(Clone, Debug, Serialize)]
pub struct EcrCost {
    /// Stored GB (2^30 bytes).
    pub stored_gb: f64,
    /// Storage, per month.
    pub storage: f64,
    /// Transferred GB per month.
    pub transfer_gb: f64,
    /// Transfer, per month.
    pub transfer: f64,
    /// Storage + transfer.
    pub total: f64,
}

/// Internet egress cost of `gb` in a month: the free allowance first, then
/// the tiers in order (a tier of size 0 takes the rest).
pub fn internet_transfer(p: &Prices, gb: f64) -> f64 {
    let mut left = (gb - p.ecr.internet_free_gb_month).max(0.0);
    let mut cost = 0.0;
    for &(size, price) in &p.ecr.internet_tiers_gb {
        if left <= 0.0 {
            break;
        }
        let take = if size <= 0.0 { left } else { left.min(size) };
        cost += take * price;
        left -= take;
    }
    cost
}

/// ECR's monthly cost for `stored_bytes`, plus `pulls` pulls of
/// `bytes_per_pull` each going to `egress`.
pub fn ecr_monthly(
    p: &Prices,
    stored_bytes: u64,
    pulls: u64,
    bytes_per_pull: u64,
    egress: Egress,
) -> EcrCost {
    let stored_gb = stored_bytes as f64 / GB;
    let storage = stored_gb * p.ecr.storage_gb_month;
    let transfer_gb = pulls as f64 * bytes_per_pull as f64 / GB;
    let transfer = match egress {
        Egress::Internet => internet_transfer(p, transfer_gb),
        Egress::SameRegion => transfer_gb * p.ecr.same_region_gb,
        Egress::CrossRegion => transfer_gb * p.ecr.cross_region_gb,
    };
    EcrCost {
        stored_gb,
        storage,
        transfer_gb,
        transfer,
        total: storage + transfer,
    }
}

/// One Docker Hub plan.
#[derive(Clone, Debug, Serialize)]
pub struct HubPlan {
    /// Plan name.
    pub plan: &'static str,
    /// Per month for the seats asked (annual billing).
    pub monthly: f64,
    /// Pulls per window, `None` = unlimited (fair use).
    pub pulls_per_window: Option<u64>,
}

/// Docker Hub plans for `seats` users.
pub fn hub_plans(p: &Prices, seats: u64) -> Vec<HubPlan> {
    let seats = seats.max(1) as f64;
    vec![
        HubPlan {
            plan: "Personal",
            monthly: p.dockerhub.personal_month,
            pulls_per_window: Some(p.dockerhub.personal_pulls),
        },
        HubPlan {
            plan: "Pro",
            monthly: p.dockerhub.pro_month_annual,
            pulls_per_window: None,
        },
        HubPlan {
            plan: "Team",
            monthly: p.dockerhub.team_user_month_annual * seats,
            pulls_per_window: None,
        },
        HubPlan {
            plan: "Business",
            monthly: p.dockerhub.business_user_month_annual * seats,
            pulls_per_window: None,
        },
    ]
}

/// `pulls_per_month` spread evenly over Docker Hub's windows (a 30-day month).
pub fn window_pulls(p: &Prices, pulls_per_month: u64) -> f64 {
    pulls_per_month as f64 / (30.0 * 24.0 / p.dockerhub.window_hours.max(1) as f64)
}

/// The cheapest Docker Hub plan whose pull limit fits `pulls_per_month`
/// (paid plans have none), for the seats `plans` were priced for.
pub fn cheapest_hub_plan<'a>(
    p: &Prices,
    plans: &'a [HubPlan],
    pulls_per_month: u64,
) -> Option<&'a HubPlan> {
    let need = window_pulls(p, pulls_per_month);
    plans
        .iter()
        .filter(|plan| plan.pulls_per_window.is_none_or(|n| n as f64 >= need))
        .min_by(|a, b| a.monthly.total_cmp(&b.monthly))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices() -> Prices {
        Prices::load(None).unwrap()
    }

    #[test]
    fn storage_and_same_region_are_hand_checked() {
        let p = prices();
        // 5 GiB stored at $0.10 = $0.50; same-region pulls are free.
        let c = ecr_monthly(
            &p,
            5 * 1_073_741_824,
            1000,
            1_073_741_824,
            Egress::SameRegion,
        );
        assert!((c.storage - 0.50).abs() < 1e-9);
        assert_eq!(c.transfer, 0.0);
        assert!((c.transfer_gb - 1000.0).abs() < 1e-9);
        // Cross-region: 1000 GB × $0.02 = $20.
        let c = ecr_monthly(&p, 0, 1000, 1_073_741_824, Egress::CrossRegion);
        assert!((c.transfer - 20.0).abs() < 1e-9);
    }

    #[test]
    fn internet_tiers_after_the_free_allowance() {
        let p = prices();
        assert_eq!(internet_transfer(&p, 100.0), 0.0);
        // 150 GB: 50 billable × $0.09 = $4.50.
        assert!((internet_transfer(&p, 150.0) - 4.5).abs() < 1e-9);
        // 100 + 10240 + 1000 GB: 10240 × 0.09 + 1000 × 0.085 = 921.6 + 85 = 1006.6.
        assert!((internet_transfer(&p, 100.0 + 10240.0 + 1000.0) - 1006.6).abs() < 1e-6);
        // Past every sized tier, the rest at $0.05.
        let all = 100.0 + 10240.0 + 40960.0 + 102400.0 + 1000.0;
        let want = 10240.0 * 0.09 + 40960.0 * 0.085 + 102400.0 * 0.07 + 1000.0 * 0.05;
        assert!((internet_transfer(&p, all) - want).abs() < 1e-6);
    }

    #[test]
    fn hub_plans_scale_with_seats() {
        let p = prices();
        let plans = hub_plans(&p, 3);
        assert_eq!(plans[0].pulls_per_window, Some(200));
        assert!((plans[2].monthly - 45.0).abs() < 1e-9);
        assert!((plans[3].monthly - 72.0).abs() < 1e-9);
    }

    #[test]
    fn the_cheapest_plan_that_fits_the_pulls() {
        let p = prices();
        let plans = hub_plans(&p, 1);
        // 200 pulls per 6 h window is 24 000 a month: Personal fits, for free.
        assert_eq!(window_pulls(&p, 24_000), 200.0);
        assert_eq!(
            cheapest_hub_plan(&p, &plans, 24_000).unwrap().plan,
            "Personal"
        );
        assert_eq!(cheapest_hub_plan(&p, &plans, 24_001).unwrap().plan, "Pro");
    }
}
