//! Copy an image from Rust code with the crossdock library.
//!
//! ```text
//! cargo run --example copy_image -- docker.io/acme/demo:1.0 oci:/tmp/demo:1.0
//! ```
//!
//! Uses the same config file (`CROSSDOCK_CONFIG`) and credentials
//! (`~/.docker/config.json`, `DOCKERHUB_USERNAME`/`DOCKERHUB_TOKEN`) as the CLI,
//! and prints each blob as it lands through a small [`Reporter`].

use std::sync::Arc;

use crossdock::config::Config;
use crossdock::copy::{BlobOutcome, Copier, CopyJob, CopyOptions, Reporter};
use crossdock::registry::auth::CredentialStore;
use crossdock::registry::Pool;
use crossdock::types::{Digest, ImageRef};

struct Print;

impl Reporter for Print {
    fn blob_finished(&self, d: &Digest, size: u64, outcome: BlobOutcome) {
        println!("{outcome:?} {} ({size} bytes)", d.short());
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, dst] = args.as_slice() else {
        eprintln!("usage: copy_image SRC DST");
        std::process::exit(2);
    };
    let src: ImageRef = src.parse()?;
    let dst: ImageRef = dst.parse()?;

    let config_path = std::env::var_os("CROSSDOCK_CONFIG").map(std::path::PathBuf::from);
    let config = Config::load(config_path.as_deref())?;
    let retry = config.retry.clone();
    let pool = Pool::new(config, CredentialStore::from_env(), 4)?;
    let (from, to) = (pool.repo(&src)?, pool.repo(&dst)?);

    let copier = Copier::new(
        CopyOptions {
            retry,
            ..CopyOptions::default()
        },
        Arc::new(Print),
    );
    let report = copier
        .copy(CopyJob {
            src: &from,
            src_ref: &src.repo_reference(),
            dst: &to,
            dst_ref: &dst.repo_reference(),
            src_name: src.to_string(),
            dst_name: dst.to_string(),
            platforms: &[],
        })
        .await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
