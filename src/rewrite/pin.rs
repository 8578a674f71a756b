//! `--pin`: the digest a reference is pinned to is read from the mirror with
//! a HEAD, and the source is checked to have the same digest (a HEAD: no
//! Docker Hub pull). A mirror written with a platform filter is accepted
//! when its index records the source digest it was cut from (a GET on the
//! mirror, never the source). Anything not proven identical is "not
//! mirrored". Imports `registry` and `types`; never prints.

use crate::registry::{Pool, Remote, Repo};
use crate::types::media;
use crate::types::reference::RegistryRef;
use crate::types::Digest;

/// What the check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pin {
    /// The mirror holds this digest and it is the source's image.
    Verified {
        /// The mirror's digest.
        digest: Digest,
        /// Something worth saying (a platform-filtered mirror).
        note: Option<String>,
    },
    /// Not pinned, and why.
    NotMirrored(String),
}

fn repo(pool: &Pool, r: &RegistryRef) -> crate::Result<Repo> {
    Ok(Repo::Remote(Remote {
        client: pool.client(&r.registry)?,
        repo: r.repository.clone(),
    }))
}

/// Checks that `mirror` holds the image `source` names.
pub async fn verify(pool: &Pool, source: &RegistryRef, mirror: &RegistryRef) -> Pin {
    match check(pool, source, mirror).await {
        Ok(p) => p,
        Err(e) => Pin::NotMirrored(format!("could not check: {e}")),
    }
}

async fn check(pool: &Pool, source: &RegistryRef, mirror: &RegistryRef) -> crate::Result<Pin> {
    let mirror_repo = repo(pool, mirror)?;
    let reference = mirror.manifest_reference();
    let Some(head) = mirror_repo.head_manifest(&reference).await? else {
        return Ok(Pin::NotMirrored(format!("{mirror} is not in the mirror")));
    };
    let Some(md) = head.digest else {
        return Ok(Pin::NotMirrored(format!(
            "{} sent no digest for {mirror}",
            mirror.registry
        )));
    };
    // A digest in the reference is the image's identity already.
    if let Some(d) = &mirror.digest {
        return Ok(if &md == d {
            Pin::Verified {
                digest: md,
                note: None,
            }
        } else {
            Pin::NotMirrored(format!("the mirror answered {md} for {d}"))
        });
    }
    let Some(src_head) = repo(pool, source)?
        .head_manifest(&source.manifest_reference())
        .await?
    else {
        return Ok(Pin::NotMirrored(format!(
            "{source} is not at the source any more: cannot prove the mirror is identical"
        )));
    };
    let Some(sd) = src_head.digest else {
        return Ok(Pin::NotMirrored(format!(
            "{} sent no digest for {source}",
            source.registry
        )));
    };
    if sd == md {
        return Ok(Pin::Verified {
            digest: md,
            note: None,
        });
    }
    if media::is_index(head.media_type.as_deref().unwrap_or("")) {
        let m = mirror_repo.get_manifest(md.as_str()).await?;
        if let Some((from, platforms)) = media::filtered_from(&m.bytes) {
            if from == sd.as_str() {
                return Ok(Pin::Verified {
                    digest: md,
                    note: Some(format!(
                        "mirror keeps {platforms} of the source index {}",
                        sd.short()
                    )),
                });
            }
        }
    }
    Ok(Pin::NotMirrored(format!(
        "the mirror has {} but the source has {}: copy it again (crossdock sync or copy)",
        md.short(),
        sd.short()
    )))
}
