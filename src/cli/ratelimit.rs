//! `crossdock ratelimit`: the pull limit of the current identity, read from
//! the headers of a manifest HEAD (no pull spent). Also home of the two
//! helpers the measuring commands share: the remote a reference names, and a
//! window length as people say it.

use serde::Serialize;

use crossdock::measure;
use crossdock::registry::Remote;
use crossdock::types::ImageRef;

use super::{Context, UsageError};

/// The image Docker documents for reading the limit.
pub(super) const RATELIMIT_PREVIEW: &str = "docker.io/ratelimitpreview/test:latest";

/// Arguments of `ratelimit`.
#[derive(Debug, clap::Args)]
pub struct RatelimitArgs {
    /// Image to HEAD (any registry that sends the headers) [default: docker.io/ratelimitpreview/test:latest]
    pub image: Option<String>,
}

#[derive(Serialize)]
struct RatelimitOut {
    registry: String,
    reference: String,
    identity: String,
    limited: bool,
    limit: Option<u64>,
    remaining: Option<u64>,
    window_s: Option<u64>,
    resets: String,
    source: Option<String>,
    read_with: &'static str,
}

/// The registry remote and manifest reference of `r` (layouts are refused).
pub(super) fn remote_of(ctx: &Context, r: &ImageRef) -> anyhow::Result<(Remote, String)> {
    match r {
        ImageRef::Registry(rr) => Ok((
            Remote {
                client: ctx.pool.client(&rr.registry)?,
                repo: rr.repository.clone(),
            },
            rr.manifest_reference(),
        )),
        ImageRef::Layout(_) => {
            Err(UsageError("this command measures registries, not oci: layouts".into()).into())
        }
    }
}

/// A window length: `6 h`, `90 s`, `-`.
pub(super) fn window(w: Option<u64>) -> String {
    match w {
        Some(w) if w % 3600 == 0 => format!("{} h", w / 3600),
        Some(w) => format!("{w} s"),
        None => "-".into(),
    }
}

pub async fn ratelimit(ctx: &Context, a: &RatelimitArgs) -> anyhow::Result<()> {
    let r = ctx
        .parse_ref(a.image.as_deref().unwrap_or(RATELIMIT_PREVIEW))
        .await?;
    let (remote, reference) = remote_of(ctx, &r)?;
    let rl = measure::ratelimit(&remote, &reference).await?;
    let out = RatelimitOut {
        registry: remote.client.name.clone(),
        reference: r.to_string(),
        identity: remote.client.identity().await?,
        limited: rl.is_some(),
        limit: rl.as_ref().map(|r| r.limit),
        remaining: rl.as_ref().map(|r| r.remaining),
        window_s: rl.as_ref().and_then(|r| r.window_s),
        resets: match rl.as_ref().and_then(|r| r.window_s) {
            Some(w) => format!("rolling window: each pull counts for {}", window(Some(w))),
            None => "-".into(),
        },
        source: rl.as_ref().and_then(|r| r.source.clone()),
        read_with: "manifest HEAD (no pull spent)",
    };
    ctx.printer.result(&out, || match &rl {
        Some(rl) => format!(
            "{} pull limit for {} (counted as {})\n  limit      {} per {}\n  remaining  {}\n  resets     {}\n  read with  HEAD {} — no pull spent",
            out.registry,
            out.identity,
            rl.source.as_deref().unwrap_or("-"),
            rl.limit,
            window(rl.window_s),
            rl.remaining,
            out.resets,
            out.reference
        ),
        None => format!(
            "{} sent no rate-limit headers for {}: unlimited for {} (paid plan, or a registry without pull limits)\n  read with  HEAD {} — no pull spent",
            out.registry, out.reference, out.identity, out.reference
        ),
    });
    Ok(())
}
