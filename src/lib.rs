//! crossdock: copy, migrate and compare container images between Docker Hub,
//! Amazon ECR, any OCI distribution registry and OCI image layout directories.
//!
//! Layers, top to bottom (imports only flow downward):
//! - [`mirror`]: many images at once — plans (namespace listing, tag
//!   filters, shards) and runs them through the copy engine (`migrate`,
//!   `sync`, `diff`).
//! - [`measure`]: live latency/throughput samples and cost arithmetic
//!   (`ratelimit`, `compare`, `bench`).
//! - [`watch`]: `sync --watch` — schedule, health, Prometheus metrics and
//!   their HTTP endpoints.
//! - [`rewrite`]: image references in deployment files moved to a mirror
//!   (`rewrite`), exact-span edits, `--pin` checked with HEADs.
//! - [`copy`]: the engine that plans and runs an image copy and reports through
//!   [`copy::Reporter`]; it never prints.
//! - [`registry`]: one API over remote registries (HTTP, auth, retries) and
//!   on-disk OCI layouts.
//! - [`config`]: per-registry settings read from a TOML file; [`prices`]:
//!   the dated prices and limits file.
//! - [`types`]: references, digests, media types and platforms, parsed once.
//! - [`error`]: the typed error every layer returns.

pub mod config;
pub mod copy;
pub mod error;
pub mod measure;
pub mod mirror;
pub mod prices;
pub mod registry;
pub mod rewrite;
pub mod types;
pub mod watch;

pub use error::{Error, Result};
