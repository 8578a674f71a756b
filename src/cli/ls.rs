//! `crossdock ls REPO`: the tags of a repository (registry or OCI layout).

use anyhow::Context as _;
use serde::Serialize;

use crossdock::types::name::Skipped;

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
    /// Listed names that are not valid tags (never used).
    invalid_names: Vec<Skipped>,
}

pub async fn run(ctx: &Context, a: &LsArgs) -> anyhow::Result<()> {
    let r = ctx.parse_ref(&a.repository).await?;
    let repo = ctx.pool.repo(&r)?;
    let listed = repo
        .tags()
        .await
        .with_context(|| format!("listing the tags of {}", repo.describe()))?;
    let mut tags = listed.names;
    tags.sort();
    let out = Listing {
        repository: repo.describe(),
        tags,
        invalid_names: listed.skipped,
    };
    if !ctx.printer.json() {
        for k in &out.invalid_names {
            ctx.printer.note(&k.describe());
        }
    }
    ctx.printer.result(&out, || out.tags.join("\n"));
    Ok(())
}
