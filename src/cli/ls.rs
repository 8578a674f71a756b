//! `crossdock ls REPO`: the tags of a repository (registry or OCI layout).

use anyhow::Context as _;
use serde::Serialize;

use super::Context;

/// Arguments of `ls`.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Repository: registry reference (a tag, if given, is ignored) or oci:PATH
    pub repository: String,
}

#[derive(Serialize)]
struct Listing {
    repository: String,
    tags: Vec<String>,
}

pub async fn run(ctx: &Context, a: &LsArgs) -> anyhow::Result<()> {
    let r = ctx.parse_ref(&a.repository).await?;
    let repo = ctx.pool.repo(&r)?;
    let mut tags = repo
        .tags()
        .await
        .with_context(|| format!("listing the tags of {}", repo.describe()))?;
    tags.sort();
    let out = Listing {
        repository: repo.describe(),
        tags,
    };
    ctx.printer.result(&out, || out.tags.join("\n"));
    Ok(())
}
