//! `crossdock inspect REF`: digest, media type and size of a manifest, and
//! for an index every platform with its digest, layer count and size; and the
//! image's referrers (type, digest, size).

use std::collections::HashSet;

use anyhow::Context as _;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::Serialize;

use crossdock::copy::{discover, Discovered};
use crossdock::registry::Repo;
use crossdock::types::media::{self, Parsed};

use super::output::bytes;
use super::Context;

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Image: registry reference or oci:PATH[:TAG]
    pub image: String,
    /// Print the manifest's raw bytes instead of a summary
    #[arg(long)]
    pub raw: bool,
    /// Do not look for the image's referrers (signatures, SBOMs, attestations)
    #[arg(long)]
    pub no_referrers: bool,
}

#[derive(Serialize)]
struct PlatformInfo {
    platform: String,
    digest: String,
    media_type: String,
    layers: usize,
    /// Config plus layers, in bytes.
    size: u64,
}

#[derive(Serialize)]
struct Inspection {
    reference: String,
    digest: String,
    media_type: String,
    manifest_size: usize,
    platforms: Vec<PlatformInfo>,
    /// Unique blobs of the whole image (shared layers counted once).
    total_size: u64,
    /// Signatures, SBOMs and attestations of the image and its platforms.
    referrers: Vec<Discovered>,
}

async fn image_info(
    repo: &Repo,
    reference: &str,
    platform: String,
    seen: &mut HashSet<String>,
    total: &mut u64,
) -> anyhow::Result<PlatformInfo> {
    let m = repo.get_manifest(reference).await?;
    match media::parse(m.digest.as_str(), &m.media_type, &m.bytes)? {
        Parsed::Image { config, layers } => {
            let n = layers.len();
            let mut size = 0;
            for b in std::iter::once(config).chain(layers) {
                size = b.size.saturating_add(size);
                if seen.insert(b.digest.to_string()) {
                    *total = total.saturating_add(b.size);
                }
            }
            Ok(PlatformInfo {
                platform,
                digest: m.digest.to_string(),
                media_type: m.media_type,
                layers: n,
                size,
            })
        }
        Parsed::Index(children) => Ok(PlatformInfo {
            platform,
            digest: m.digest.to_string(),
            media_type: m.media_type,
            layers: children.len(),
            size: 0,
        }),
    }
}

pub async fn run(ctx: &Context, a: &InspectArgs) -> anyhow::Result<()> {
    let r = ctx.parse_ref(&a.image).await?;
    let repo = ctx.pool.repo(&r)?;
    let reference = r.repo_reference();
    let top = repo
        .get_manifest(&reference)
        .await
        .with_context(|| format!("inspect {r}"))?;
    if a.raw {
        use std::io::Write;
        let mut out = std::io::stdout();
        out.write_all(&top.bytes)?;
        out.flush()?;
        return Ok(());
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut platforms = Vec::new();
    let mut subjects = vec![top.digest.clone()];
    match media::parse(top.digest.as_str(), &top.media_type, &top.bytes)? {
        Parsed::Index(children) => {
            subjects.extend(children.iter().map(|c| c.digest.clone()));
            for c in children {
                let p = c
                    .platform
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into());
                platforms
                    .push(image_info(&repo, c.digest.as_str(), p, &mut seen, &mut total).await?);
            }
        }
        Parsed::Image { .. } => {
            platforms.push(
                image_info(
                    &repo,
                    top.digest.as_str(),
                    "-".into(),
                    &mut seen,
                    &mut total,
                )
                .await?,
            );
        }
    }
    let referrers = if a.no_referrers {
        Vec::new()
    } else {
        // The image was read: a registry that cannot list its referrers
        // does not make the inspection fail.
        match discover(&repo, &subjects, 4).await {
            Ok(list) => list,
            Err(e) => {
                ctx.printer
                    .note(&format!("could not list the referrers of {r}: {e}"));
                Vec::new()
            }
        }
    };
    let out = Inspection {
        reference: r.to_string(),
        digest: top.digest.to_string(),
        media_type: top.media_type.clone(),
        manifest_size: top.bytes.len(),
        platforms,
        total_size: total,
        referrers,
    };
    ctx.printer.result(&out, || {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header(["platform", "digest", "layers", "size"]);
        for p in &out.platforms {
            t.add_row([
                p.platform.clone(),
                p.digest.clone(),
                p.layers.to_string(),
                bytes(p.size),
            ]);
        }
        let mut text = format!(
            "{}\n  digest     {}\n  media type {}\n  total size {} (unique blobs)\n{}",
            out.reference,
            out.digest,
            out.media_type,
            bytes(out.total_size),
            ctx.printer.table(&t)
        );
        if !out.referrers.is_empty() {
            let mut rt = Table::new();
            rt.load_preset(UTF8_FULL_CONDENSED);
            rt.set_header(["referrer of", "type", "digest", "size", "found as"]);
            for x in &out.referrers {
                rt.add_row([
                    x.subject.short(),
                    x.artifact_type.clone().unwrap_or_default(),
                    x.digest.to_string(),
                    x.size.map(bytes).unwrap_or_default(),
                    x.tag.clone().unwrap_or_else(|| {
                        serde_json::to_value(x.found)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    }),
                ]);
            }
            text += &format!("\nreferrers:\n{}", ctx.printer.table(&rt));
        }
        text
    });
    Ok(())
}
