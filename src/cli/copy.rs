//! `crossdock copy SRC DST`: resolves references (destination tag defaults to
//! the source's), runs the copy engine with progress, prints the summary or
//! one JSON object. `--all-tags` copies every tag; one failed tag does not
//! stop the others.

use std::sync::Arc;

use anyhow::Context as _;
use serde::Serialize;

use crossdock::copy::{
    Copier, CopyJob, CopyOptions, CopyReport, CopyStatus, ReferrerOptions, ReferrerStatus,
};
use crossdock::registry::Repo;
use crossdock::types::name::Skipped;
use crossdock::types::{ImageRef, Platform};

use super::output::bytes;
use super::progress::Progress;
use super::{Context, Reported, UsageError};

/// Arguments of `copy`.
#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// Source: registry reference (nginx:1.27, host:port/repo@sha256:…) or oci:PATH[:TAG]
    pub source: String,
    /// Destination: registry reference or oci:PATH[:TAG]; the tag defaults to the source's
    pub destination: String,
    /// Copy only these platforms (comma-separated os/arch[/variant]); the index is rewritten and its digest changes
    #[arg(long, value_delimiter = ',')]
    pub platform: Vec<String>,
    /// Copy every tag of the source repository
    #[arg(long)]
    pub all_tags: bool,
    /// Show what would move (manifests, blobs, bytes); write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Concurrent blob streams
    #[arg(long, short = 'j', default_value_t = 4, env = "CROSSDOCK_JOBS", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Create the destination ECR repository first if it is missing (default settings)
    #[arg(long)]
    pub create_repos: bool,
    #[command(flatten)]
    pub referrers: ReferrerArgs,
}

/// Signatures, SBOMs and attestations (referrers).
#[derive(Debug, clap::Args)]
pub struct ReferrerArgs {
    /// Do not copy signatures, SBOMs and attestations (referrers and cosign tags) with the images
    #[arg(long)]
    pub no_referrers: bool,
    /// Copy only referrers of this artifact type (repeatable), e.g. application/spdx+json
    #[arg(long, value_name = "TYPE")]
    pub referrers_type: Vec<String>,
}

impl ReferrerArgs {
    /// The engine's referrer options.
    pub fn options(&self) -> ReferrerOptions {
        ReferrerOptions {
            enabled: !self.no_referrers,
            types: self.referrers_type.clone(),
            ..ReferrerOptions::default()
        }
    }
}

#[derive(Serialize)]
struct AllTags {
    source: String,
    destination: String,
    tags: usize,
    images: Vec<CopyReport>,
    failures: Vec<Failure>,
    /// Listed tags that break the tag grammar: never copied.
    invalid_names: Vec<Skipped>,
    blobs_copied: usize,
    blobs_skipped: usize,
    blobs_mounted: usize,
    bytes_copied: u64,
    referrers_copied: usize,
    referrers_skipped: usize,
    referrers_failed: usize,
    duration_s: f64,
}

#[derive(Serialize)]
struct Failure {
    tag: String,
    error: String,
}

/// The destination reference: the user's tag, else the source's tag, else
/// the source digest, else `latest`.
fn destination_ref(src: &ImageRef, dst: &ImageRef) -> ImageRef {
    if dst.has_explicit_target() {
        return dst.clone();
    }
    match (src.tag(), src.digest()) {
        (_, Some(d)) if !src.has_explicit_target() || src.tag().is_none() => match dst {
            ImageRef::Registry(r) => ImageRef::Registry(crossdock::types::RegistryRef {
                tag: None,
                digest: Some(d.clone()),
                ..r.clone()
            }),
            ImageRef::Layout(l) => ImageRef::Layout(crossdock::types::LayoutRef {
                tag: None,
                digest: Some(d.clone()),
                ..l.clone()
            }),
        },
        (Some(t), _) if src.has_explicit_target() => dst.with_tag(t),
        _ => dst.with_tag("latest"),
    }
}

pub async fn run(ctx: &Context, a: &CopyArgs) -> anyhow::Result<()> {
    let src_ref = ctx.parse_ref(&a.source).await?;
    let dst_ref = ctx.parse_ref(&a.destination).await?;
    let platforms = Platform::parse_list(&a.platform)?;
    if let (true, false, ImageRef::Registry(d)) = (a.create_repos, a.dry_run, &dst_ref) {
        if let (Some(host), Some(api)) = (
            crossdock::registry::ecr::parse_host(&d.registry),
            ctx.pool.ecr(),
        ) {
            // Before any pull is spent on the source.
            api.ensure_repository(&host, &d.repository, &Default::default())
                .await
                .with_context(|| format!("creating ECR repository {}", d.repo_name()))?;
        }
    }
    let src = ctx.pool.repo(&src_ref)?;
    let dst = ctx.pool.repo(&dst_ref)?;
    let progress = Arc::new(Progress::new(ctx.printer.progress));
    let copier = Copier::new(
        CopyOptions {
            jobs: a.jobs as usize,
            dry_run: a.dry_run,
            retry: ctx.pool.config().retry.clone(),
            referrers: a.referrers.options(),
        },
        progress.clone(),
    );
    let result = if a.all_tags {
        if src_ref.has_explicit_target() || dst_ref.has_explicit_target() {
            return Err(UsageError(
                "--all-tags copies whole repositories: give SRC and DST without a tag or digest"
                    .into(),
            )
            .into());
        }
        all_tags(ctx, &copier, (&src, &dst), (&src_ref, &dst_ref), &platforms).await
    } else {
        let dst_ref = destination_ref(&src_ref, &dst_ref);
        let job = CopyJob {
            src: &src,
            src_ref: &src_ref.repo_reference(),
            dst: &dst,
            dst_ref: &dst_ref.repo_reference(),
            src_name: src_ref.to_string(),
            dst_name: dst_ref.to_string(),
            platforms: &platforms,
        };
        let r = copier
            .copy(job)
            .await
            .with_context(|| format!("copy {src_ref} → {dst_ref} failed"));
        progress.finish();
        let report = r?;
        ctx.printer.result(&report, || summary(&report));
        if report.referrers_failed > 0 {
            return Err(Reported(format!(
                "the image was copied, but {} of its referrers failed (rerun to retry them):\n  {}",
                report.referrers_failed,
                referrer_failures(&report).join("\n  ")
            ))
            .into());
        }
        Ok(())
    };
    progress.finish();
    result
}

async fn all_tags(
    ctx: &Context,
    copier: &Copier,
    (src, dst): (&Repo, &Repo),
    (src_ref, dst_ref): (&ImageRef, &ImageRef),
    platforms: &[Platform],
) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let listed = src
        .tags()
        .await
        .with_context(|| format!("listing the tags of {}", src.describe()))?;
    let mut tags = listed.names;
    tags.sort();
    if !ctx.printer.json() {
        for k in &listed.skipped {
            ctx.printer.note(&k.describe());
        }
    }
    let mut out = AllTags {
        source: src.describe(),
        destination: dst.describe(),
        tags: tags.len(),
        images: Vec::new(),
        failures: Vec::new(),
        invalid_names: listed.skipped,
        blobs_copied: 0,
        blobs_skipped: 0,
        blobs_mounted: 0,
        bytes_copied: 0,
        referrers_copied: 0,
        referrers_skipped: 0,
        referrers_failed: 0,
        duration_s: 0.0,
    };
    // Signature and referrer tags travel with their images, not as images.
    tags.retain(|t| !crossdock::types::referrers::is_referrer_tag(t));
    out.tags = tags.len();
    for tag in &tags {
        let s = src_ref.with_tag(tag);
        let d = dst_ref.with_tag(tag);
        let job = CopyJob {
            src,
            src_ref: tag,
            dst,
            dst_ref: tag,
            src_name: s.to_string(),
            dst_name: d.to_string(),
            platforms,
        };
        match copier.copy(job).await {
            Ok(r) => {
                out.blobs_copied += r.blobs_copied;
                out.blobs_skipped += r.blobs_skipped;
                out.blobs_mounted += r.blobs_mounted;
                out.bytes_copied = out.bytes_copied.saturating_add(r.bytes_copied);
                out.referrers_copied += r.referrers_copied;
                out.referrers_skipped += r.referrers_skipped;
                out.referrers_failed += r.referrers_failed;
                if r.referrers_failed > 0 {
                    out.failures.push(Failure {
                        tag: tag.clone(),
                        error: format!(
                            "{} referrers failed: {}",
                            r.referrers_failed,
                            referrer_failures(&r).join("; ")
                        ),
                    });
                }
                if !ctx.printer.json() {
                    ctx.printer.note(&format!("{tag}: {}", r.status));
                }
                out.images.push(r);
            }
            Err(e) => {
                ctx.printer.note(&format!("{tag}: FAILED: {e}"));
                out.failures.push(Failure {
                    tag: tag.clone(),
                    error: e.to_string(),
                });
            }
        }
    }
    out.duration_s = start.elapsed().as_secs_f64();
    ctx.printer.result(&out, || {
        format!(
            "{} tags {} → {}: {} copied/unchanged, {} failed, {} invalid names skipped; {} blobs copied ({}), {} skipped, {} mounted; referrers: {} copied, {} present, {} failed; in {:.2} s",
            out.tags,
            out.source,
            out.destination,
            out.images.len(),
            out.failures.len(),
            out.invalid_names.len(),
            out.blobs_copied,
            bytes(out.bytes_copied),
            out.blobs_skipped,
            out.blobs_mounted,
            out.referrers_copied,
            out.referrers_skipped,
            out.referrers_failed,
            out.duration_s
        )
    });
    if out.failures.is_empty() {
        Ok(())
    } else {
        let list: Vec<String> = out
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.tag, f.error))
            .collect();
        Err(Reported(format!(
            "{} of {} tags failed:\n  {}",
            out.failures.len(),
            out.tags,
            list.join("\n  ")
        ))
        .into())
    }
}

/// `subject → artifact: error` for each failed referrer.
fn referrer_failures(r: &CopyReport) -> Vec<String> {
    r.referrers
        .iter()
        .filter(|x| x.status == ReferrerStatus::Failed)
        .map(|x| {
            format!(
                "{} of {}: {}",
                x.tag
                    .clone()
                    .or_else(|| x.digest.as_ref().map(|d| d.short()))
                    .unwrap_or_else(|| "referrers".into()),
                x.subject.short(),
                x.error.as_deref().unwrap_or("")
            )
        })
        .collect()
}

fn summary(r: &CopyReport) -> String {
    let verb = match r.status {
        CopyStatus::Unchanged => "Already up to date",
        CopyStatus::DryRun => "Would copy",
        CopyStatus::Copied => "Copied",
    };
    let mut s = format!(
        "{verb}: {} → {}\n  digest   {}\n",
        r.source, r.destination, r.digest
    );
    if r.digest != r.source_digest {
        s += &format!(
            "  source   {} (index rewritten by --platform)\n",
            r.source_digest
        );
    }
    if !r.platforms.is_empty() {
        s += &format!("  platforms {}\n", r.platforms.join(", "));
    }
    if r.status != CopyStatus::Unchanged {
        let rate = if r.duration_s > 0.0 {
            format!(
                ", {}/s",
                bytes((r.bytes_copied as f64 / r.duration_s) as u64)
            )
        } else {
            String::new()
        };
        s += &format!(
            "  {} manifests ({} already present), blobs: {} copied ({}), {} skipped, {} mounted in {:.2} s{rate}\n",
            r.manifests,
            r.manifests_skipped,
            r.blobs_copied,
            bytes(r.bytes_copied),
            r.blobs_skipped,
            r.blobs_mounted,
            r.duration_s
        );
    }
    if !r.referrers.is_empty() {
        let verb = if r.status == CopyStatus::DryRun {
            "to copy"
        } else {
            "copied"
        };
        s += &format!(
            "  referrers: {} {verb}, {} already present, {} failed\n",
            r.referrers_copied, r.referrers_skipped, r.referrers_failed
        );
        for x in &r.referrers {
            s += &format!(
                "    {:<10} {} → {} {}\n",
                serde_json::to_value(x.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                x.subject.short(),
                x.tag
                    .clone()
                    .or_else(|| x.digest.as_ref().map(|d| d.short()))
                    .unwrap_or_default(),
                x.artifact_type.as_deref().unwrap_or("")
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> ImageRef {
        s.parse().unwrap()
    }

    #[test]
    fn destination_tag_defaults_to_source() {
        assert_eq!(
            destination_ref(&r("nginx:1.27"), &r("localhost:5000/nginx")).to_string(),
            "localhost:5000/nginx:1.27"
        );
        assert_eq!(
            destination_ref(&r("nginx:1.27"), &r("localhost:5000/nginx:x")).to_string(),
            "localhost:5000/nginx:x"
        );
        let d = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert_eq!(
            destination_ref(&r(&format!("a/b@{d}")), &r("oci:/tmp/x")).to_string(),
            format!("oci:/tmp/x@{d}")
        );
        assert_eq!(
            destination_ref(&r("oci:/tmp/x"), &r("localhost:5000/x")).to_string(),
            "localhost:5000/x:latest"
        );
        assert_eq!(
            destination_ref(&r("oci:/tmp/x:v2"), &r("localhost:5000/x")).to_string(),
            "localhost:5000/x:v2"
        );
    }
}
