//! Live measurements of registries for `ratelimit`, `compare` and `bench`:
//! per-operation latency samples (token fetch, `/v2/` ping, manifest HEAD,
//! blob first byte), pull and push throughput at a given concurrency, and the
//! pull-limit snapshot. Manifests are only HEADed unless a blob is needed for
//! a throughput sample, whose pulls are counted and reported.
//!
//! Below: the unique blobs of a set of images (`blobs`), `compare`'s sides,
//! storage and verdict (`compare`), costs (`cost`), the feature table
//! (`features`) and percentiles (`stats`). `measure` imports `registry`,
//! `types` and `prices`; never `mirror`, `copy` or the CLI.

pub mod blobs;
pub mod compare;
pub mod cost;
pub mod features;
pub mod stats;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{stream, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::registry::client::Scope;
use crate::registry::ratelimit::RateLimit;
use crate::registry::{Remote, UploadTarget};
use crate::types::media::{self, Parsed};
use crate::types::{Digest, DigestVerifier};

pub use stats::{summarize, Summary};

/// A measured registry operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Operation {
    /// A bearer-token fetch.
    #[serde(rename = "token")]
    Token,
    /// `GET /v2/`.
    #[serde(rename = "ping /v2/")]
    Ping,
    /// A manifest HEAD.
    #[serde(rename = "manifest HEAD")]
    ManifestHead,
    /// Time to the first byte of a blob GET.
    #[serde(rename = "blob first byte")]
    BlobFirstByte,
}

impl Operation {
    /// Every operation, in table order.
    pub const ALL: [Operation; 4] = [
        Operation::Token,
        Operation::Ping,
        Operation::ManifestHead,
        Operation::BlobFirstByte,
    ];

    /// The operation's name, as tables and JSON show it.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Token => "token",
            Operation::Ping => "ping /v2/",
            Operation::ManifestHead => "manifest HEAD",
            Operation::BlobFirstByte => "blob first byte",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Latency of one operation.
#[derive(Clone, Debug, Serialize)]
pub struct OpStats {
    /// The operation.
    pub operation: Operation,
    /// Where the number comes from.
    pub source: &'static str,
    /// The statistics, when the operation applies.
    pub summary: Option<Summary>,
    /// Why there is no number, or a remark.
    pub note: Option<String>,
}

async fn sample<F, Fut>(n: usize, mut f: F) -> Result<Vec<Duration>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Duration>>,
{
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(f().await?);
    }
    Ok(out)
}

fn timed(op: Operation, samples: Vec<Duration>) -> OpStats {
    OpStats {
        operation: op,
        source: "measured",
        summary: summarize(&samples),
        note: None,
    }
}

/// Samples token fetch, ping, manifest HEAD and (when `blob` is given) blob
/// first byte, `n` times each, one after another.
pub async fn latency(
    remote: &Remote,
    reference: &str,
    n: usize,
    blob: Option<&Digest>,
) -> Result<Vec<OpStats>> {
    let client = &remote.client;
    let n = n.max(1);
    let scope = Scope::pull(&remote.repo);
    let mut out = Vec::new();
    // Token: a fresh fetch each time (the cache is bypassed).
    let mut tokens = Vec::new();
    for _ in 0..n {
        match client.probe_token(&scope, Some(&remote.repo)).await? {
            Some(d) => tokens.push(d),
            None => break,
        }
    }
    if tokens.is_empty() {
        out.push(OpStats {
            operation: Operation::Token,
            source: "measured",
            summary: None,
            note: Some("no bearer token (Basic or no auth)".into()),
        });
    } else {
        out.push(timed(Operation::Token, tokens));
    }
    out.push(timed(
        Operation::Ping,
        sample(n, || client.probe_ping()).await?,
    ));
    let head = sample(n, || async {
        let start = Instant::now();
        remote
            .head_manifest(reference)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("manifest {}/{}:{reference}", client.name, remote.repo),
                detail: String::new(),
            })?;
        Ok(start.elapsed())
    })
    .await?;
    out.push(timed(Operation::ManifestHead, head));
    match blob {
        Some(d) => {
            let first = sample(n, || async {
                let start = Instant::now();
                let mut s = remote.get_blob(d).await?;
                s.next().await.transpose()?;
                Ok(start.elapsed())
            })
            .await?;
            out.push(timed(Operation::BlobFirstByte, first));
        }
        None => out.push(OpStats {
            operation: Operation::BlobFirstByte,
            source: "measured",
            summary: None,
            note: Some(
                "needs a throughput sample (--throughput): finding a blob costs pulls".into(),
            ),
        }),
    }
    Ok(out)
}

/// A blob to sample, and what finding it cost.
#[derive(Clone, Debug, Serialize)]
pub struct SampleBlob {
    /// Its digest.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// Manifest GETs spent finding it (pulls, on Docker Hub).
    pub pulls: u64,
}

/// Finds the largest layer of the image (the first platform of an index).
pub async fn find_blob(remote: &Remote, reference: &str) -> Result<SampleBlob> {
    let mut m = remote.get_manifest(reference).await?;
    let mut pulls = 1;
    loop {
        match media::parse(m.digest.as_str(), &m.media_type, &m.bytes)? {
            Parsed::Index(children) => {
                let child = children
                    .iter()
                    .find(|c| c.platform.as_ref().is_some_and(|p| !p.is_unknown()))
                    .or(children.first())
                    .ok_or_else(|| Error::InvalidManifest {
                        what: m.digest.to_string(),
                        reason: "empty index".into(),
                    })?;
                m = remote.get_manifest(child.digest.as_str()).await?;
                pulls += 1;
            }
            Parsed::Image { config, layers } => {
                let b = layers.into_iter().max_by_key(|l| l.size).unwrap_or(config);
                return Ok(SampleBlob {
                    digest: b.digest,
                    size: b.size,
                    pulls,
                });
            }
        }
    }
}

/// Bytes moved at one concurrency.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    /// Parallel streams.
    pub concurrency: usize,
    /// Bytes moved in total.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
    /// Decimal MB per second.
    pub mb_per_s: f64,
}

fn throughput(concurrency: usize, bytes: u64, took: Duration) -> Throughput {
    let seconds = took.as_secs_f64().max(1e-9);
    Throughput {
        concurrency,
        bytes,
        seconds,
        mb_per_s: bytes as f64 / seconds / 1e6,
    }
}

/// Downloads the blob `concurrency` times at once (verified, discarded).
pub async fn pull_throughput(
    remote: &Remote,
    blob: &SampleBlob,
    concurrency: usize,
) -> Result<Throughput> {
    let start = Instant::now();
    let total: u64 = stream::iter(0..concurrency.max(1))
        .map(|_| async {
            let mut s = remote.get_blob(&blob.digest).await?;
            let mut v = DigestVerifier::new(&blob.digest);
            while let Some(chunk) = s.next().await {
                v.update(&chunk?);
            }
            let n = v.len();
            v.verify(&blob.digest, Some(blob.size))?;
            Ok::<_, Error>(n)
        })
        .buffer_unordered(concurrency.max(1))
        .try_fold(0u64, |acc, n| async move { Ok(acc + n) })
        .await?;
    Ok(throughput(concurrency, total, start.elapsed()))
}

/// Pseudo-random bytes, the same for a seed: hashed once, then streamed.
fn random_stream(
    seed: u64,
    size: u64,
) -> impl futures_util::Stream<Item = Result<Bytes>> + Send + 'static {
    const CHUNK: u64 = 64 * 1024;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut left = size;
    stream::poll_fn(move |_| {
        if left == 0 {
            return std::task::Poll::Ready(None);
        }
        let n = left.min(CHUNK) as usize;
        left -= n as u64;
        let mut buf = vec![0u8; n];
        rng.fill(&mut buf);
        std::task::Poll::Ready(Some(Ok(Bytes::from(buf))))
    })
}

async fn digest_of(seed: u64, size: u64) -> Result<Digest> {
    let mut h = DigestVerifier::new(&Digest::sha256_of(b""));
    let mut s = Box::pin(random_stream(seed, size));
    while let Some(c) = s.next().await {
        h.update(&c?);
    }
    h.finish_digest()
}

/// Push throughput, and how many test blobs could be deleted afterwards.
#[derive(Clone, Debug, Serialize)]
pub struct PushResult {
    /// The measurement.
    pub throughput: Throughput,
    /// Test blobs deleted again.
    pub deleted: usize,
    /// Test blobs the registry would not delete.
    pub left: usize,
}

/// Uploads `concurrency` random blobs of `size` bytes at once to `remote`,
/// then deletes them where the registry allows.
pub async fn push_throughput(remote: &Remote, size: u64, concurrency: usize) -> Result<PushResult> {
    let seed0 = fastrand::u64(..);
    let mut blobs = Vec::new();
    for i in 0..concurrency.max(1) as u64 {
        blobs.push((
            seed0.wrapping_add(i),
            digest_of(seed0.wrapping_add(i), size).await?,
        ));
    }
    let start = Instant::now();
    stream::iter(blobs.iter().cloned())
        .map(|(seed, d)| async move {
            match remote.begin_upload(&d, None).await? {
                UploadTarget::Session(url) => {
                    remote
                        .upload(url, &d, size, random_stream(seed, size).boxed())
                        .await
                }
                _ => Ok(()),
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<_>>()
        .await?;
    let t = throughput(concurrency, size * concurrency as u64, start.elapsed());
    let mut deleted = 0;
    for (_, d) in &blobs {
        if remote.delete_blob(d).await.unwrap_or(false) {
            deleted += 1;
        }
    }
    Ok(PushResult {
        throughput: t,
        deleted,
        left: blobs.len() - deleted,
    })
}

/// The pull-limit snapshot of a registry, read with a manifest HEAD (no pull).
pub async fn ratelimit(remote: &Remote, reference: &str) -> Result<Option<RateLimit>> {
    remote
        .head_manifest(reference)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!(
                "manifest {}/{}:{reference}",
                remote.client.name, remote.repo
            ),
            detail: "the rate limit is read from a manifest HEAD".into(),
        })?;
    Ok(remote.client.ratelimit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn random_blobs_are_reproducible() {
        let a = digest_of(7, 200_000).await.unwrap();
        let b = digest_of(7, 200_000).await.unwrap();
        let c = digest_of(8, 200_000).await.unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut n = 0;
        let mut s = Box::pin(random_stream(7, 200_000));
        while let Some(x) = s.next().await {
            n += x.unwrap().len();
        }
        assert_eq!(n, 200_000);
    }
}
