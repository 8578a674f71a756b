//! Value types parsed once at the edge: image references, digests, media
//! types and platforms. This module imports nothing else from the crate but
//! [`crate::error`].

pub mod action;
pub mod digest;
pub mod media;
pub mod name;
pub mod platform;
pub mod reference;
pub mod referrers;
pub mod tree;

pub use action::Action;
pub use digest::{Digest, DigestVerifier};
pub use platform::Platform;
pub use reference::{ImageRef, LayoutRef, RegistryRef};
