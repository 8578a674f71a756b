//! `compare`'s measured sides and its verdict: one registry's latency (and
//! throughput when asked) on a sampled image with the manifest GETs it cost,
//! what the user's images occupy (unique blobs walked in ECR, or the sizes the
//! Docker Hub API reports), and the one-paragraph verdict drawn from the
//! pull limit, the cost and the latencies.
//!
//! Imports `registry`, `prices` and the rest of `measure`; never `mirror` or
//! the CLI (listings are handed in).

use serde::Serialize;

use crate::error::Result;
use crate::measure::blobs::ImageBlobs;
use crate::measure::cost::{window_pulls, EcrCost};
use crate::measure::{self, OpStats, Operation, Throughput};
use crate::prices::Prices;
use crate::registry::ratelimit::RateLimit;
use crate::registry::Remote;

/// One registry, measured on a sampled image.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    /// Registry name.
    pub registry: String,
    /// `registry/repository:tag` sampled, when there was an image.
    pub sample: Option<String>,
    /// Latency per operation.
    pub latency: Vec<OpStats>,
    /// Blob throughput at concurrency 1, when asked.
    pub throughput: Option<Throughput>,
    /// Manifest GETs the measurement spent (pulls on Docker Hub).
    pub pulls_spent: u64,
}

/// What the user's images occupy.
#[derive(Clone, Debug, Serialize)]
pub struct Storage {
    /// Bytes.
    pub bytes: u64,
    /// Images (tags) counted.
    pub images: usize,
    /// Where the number comes from.
    pub source: String,
}

impl Storage {
    /// The unique blobs walked in a registry's manifests.
    pub fn of_blobs(b: &ImageBlobs, registry: &str) -> Storage {
        Storage {
            bytes: b.bytes(),
            images: b.images(),
            source: format!("{registry} manifests (unique blobs)"),
        }
    }

    /// From the per-platform sizes the Docker Hub API reports (no pull):
    /// each platform image once, by digest; the API does not list layers,
    /// so layers shared between images are counted in each.
    pub fn of_hub_sizes<'a>(tags: impl IntoIterator<Item = &'a [(String, u64)]>) -> Storage {
        let mut seen = std::collections::HashSet::new();
        let (mut bytes, mut images) = (0u64, 0usize);
        for platforms in tags {
            images += 1;
            for (digest, size) in platforms {
                if seen.insert(digest.as_str()) {
                    bytes = bytes.saturating_add(*size);
                }
            }
        }
        Storage {
            bytes,
            images,
            source: "Docker Hub API sizes (layers shared between images not de-duplicated)".into(),
        }
    }
}

/// Measures one side: latency on `sample` (`samples` times each), and with
/// `throughput` a blob's first byte and one download (finding the blob GETs
/// manifests: pulls on Docker Hub, counted in `pulls_spent`). Without a
/// sample the side says so and measures nothing.
pub async fn side(
    sample: Option<(Remote, String)>,
    registry: &str,
    samples: usize,
    throughput: bool,
) -> Result<Side> {
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
    let blob = if throughput {
        Some(measure::find_blob(&remote, &tag).await?)
    } else {
        None
    };
    let latency =
        measure::latency(&remote, &tag, samples, blob.as_ref().map(|b| &b.digest)).await?;
    let throughput = match &blob {
        Some(b) => Some(measure::pull_throughput(&remote, b, 1).await?),
        None => None,
    };
    Ok(Side {
        registry: registry.to_string(),
        sample: Some(format!("{}/{}:{tag}", remote.client.name, remote.repo)),
        latency,
        throughput,
        pulls_spent: remote.client.manifest_gets().saturating_sub(before),
    })
}

impl Side {
    /// The summary of one operation, when it was measured.
    pub fn summary(&self, op: Operation) -> Option<&measure::Summary> {
        self.latency
            .iter()
            .find(|o| o.operation == op)?
            .summary
            .as_ref()
    }
}

fn p50(side: Option<&Side>, op: Operation) -> Option<f64> {
    side?.summary(op).map(|s| s.p50_ms)
}

/// The verdict: whether Docker Hub's limit fits the pulls, what ECR costs,
/// which registry answered a manifest HEAD faster.
pub fn verdict(
    prices: &Prices,
    rl: Option<&RateLimit>,
    cost: Option<&EcrCost>,
    hub: Option<&Side>,
    ecr: Option<&Side>,
    pulls_per_month: u64,
) -> String {
    let mut parts = Vec::new();
    if let Some(rl) = rl {
        let per_window = window_pulls(prices, pulls_per_month);
        if per_window > rl.limit as f64 {
            parts.push(format!(
                "{} pulls/month is ~{:.0} per {} h window, above Docker Hub's {} for this identity: ECR (no pull limit) or a paid Hub plan",
                pulls_per_month, per_window, prices.dockerhub.window_hours, rl.limit
            ));
        } else {
            parts.push(format!(
                "Docker Hub's limit ({} per {} h) fits {} pulls/month",
                rl.limit, prices.dockerhub.window_hours, pulls_per_month
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

/// The ECR API quotas the tables show, from the prices file.
pub fn ecr_quotas(p: &Prices) -> Vec<(&'static str, u64)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Summary;

    fn side(head_p50: f64) -> Side {
        Side {
            registry: "r".into(),
            sample: Some("r/x:1".into()),
            latency: vec![OpStats {
                operation: Operation::ManifestHead,
                source: "measured",
                summary: Some(Summary {
                    n: 3,
                    min_ms: head_p50,
                    p50_ms: head_p50,
                    p95_ms: head_p50,
                    max_ms: head_p50,
                    mean_ms: head_p50,
                }),
                note: None,
            }],
            throughput: None,
            pulls_spent: 0,
        }
    }

    #[test]
    fn verdict_names_the_limit_the_cost_and_the_faster_registry() {
        let p = Prices::load(None).unwrap();
        let rl = RateLimit {
            limit: 100,
            remaining: 100,
            window_s: Some(21600),
            source: None,
            observed_at: 0,
        };
        let v = verdict(
            &p,
            Some(&rl),
            None,
            Some(&side(40.0)),
            Some(&side(10.0)),
            100_000,
        );
        assert!(v.contains("above Docker Hub's 100"), "{v}");
        assert!(v.contains("(ECR 4.0× faster)"), "{v}");
        let v = verdict(&p, Some(&rl), None, Some(&side(10.0)), None, 1000);
        assert!(v.starts_with("Docker Hub's limit (100 per"), "{v}");
    }

    #[test]
    fn hub_sizes_count_each_platform_image_once() {
        let a = vec![("sha256:a".to_string(), 10u64), ("sha256:b".into(), 20)];
        let b = vec![("sha256:a".to_string(), 10u64)];
        let s = Storage::of_hub_sizes([a.as_slice(), b.as_slice()]);
        assert_eq!((s.bytes, s.images), (30, 2));
    }
}
