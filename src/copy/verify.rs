//! A stream adapter that checks blob bytes as they pass from the source to
//! the destination, reports progress, and turns a size (or digest) mismatch
//! into a stream error, so the upload is aborted before the registry commits.
//! The digest is computed here only when the destination does not verify it
//! itself: a registry checks `?digest=` when the upload closes (the spec
//! requires it, and refuses the blob with `DIGEST_INVALID`), so hashing in
//! the client too would spend a second core's worth of CPU on every byte for
//! a check that already happens.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

use crate::copy::Reporter;
use crate::error::{Error, Result};
use crate::registry::ByteStream;
use crate::types::{Digest, DigestVerifier};

/// Where a [`Verifying`] stream leaves the error that ended it.
#[derive(Clone, Default)]
pub struct FailureSlot(Arc<Mutex<Option<Error>>>);

impl FailureSlot {
    fn put(&self, e: Error) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(e);
        }
    }
    /// Takes the recorded error, if any.
    pub fn take(&self) -> Option<Error> {
        self.0.lock().ok().and_then(|mut g| g.take())
    }
}

/// Verifies size (and, when asked, digest) of the bytes passing through.
pub struct Verifying {
    inner: ByteStream,
    verifier: Option<DigestVerifier>,
    hash: bool,
    digest: Digest,
    size: u64,
    reporter: Arc<dyn Reporter>,
    failure: FailureSlot,
    failed: bool,
}

impl Verifying {
    /// Wraps `inner`; the slot receives the error that ends the stream.
    /// `hash`: compute and check the digest here (the destination does not).
    pub fn new(
        inner: ByteStream,
        digest: Digest,
        size: u64,
        reporter: Arc<dyn Reporter>,
        hash: bool,
    ) -> (Self, FailureSlot) {
        let failure = FailureSlot::default();
        (
            Verifying {
                inner,
                verifier: Some(DigestVerifier::new(&digest)),
                hash,
                digest,
                size,
                reporter,
                failure: failure.clone(),
                failed: false,
            },
            failure,
        )
    }

    fn fail(&mut self, e: Error) -> Poll<Option<Result<Bytes>>> {
        self.verifier = None;
        self.failed = true;
        // The upload sees a copy of the message; the slot keeps the typed error.
        let shown = Error::DigestMismatch {
            digest: self.digest.to_string(),
            detail: e.to_string(),
        };
        self.failure.put(e);
        Poll::Ready(Some(Err(shown)))
    }
}

impl Stream for Verifying {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                let Some(v) = this.verifier.as_mut() else {
                    let e = Error::DigestMismatch {
                        digest: this.digest.to_string(),
                        detail: format!("more than the {} bytes the manifest declares", this.size),
                    };
                    return this.fail(e);
                };
                if this.hash {
                    v.update(&chunk);
                } else {
                    v.count(chunk.len());
                }
                if v.len() > this.size {
                    let e = Error::DigestMismatch {
                        digest: this.digest.to_string(),
                        detail: format!("more than the {} bytes the manifest declares", this.size),
                    };
                    return this.fail(e);
                }
                // Verify on the last byte, before handing over the last
                // chunk: an HTTP client stops polling a body once it has
                // Content-Length bytes, so the end of the stream may never be
                // seen, and a bad blob must not reach the registry whole.
                if v.len() == this.size {
                    if let Some(v) = this.verifier.take() {
                        if this.hash {
                            if let Err(e) = v.verify(&this.digest, Some(this.size)) {
                                return this.fail(e);
                            }
                        }
                    }
                }
                this.reporter
                    .blob_progress(&this.digest, chunk.len() as u64);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => this.fail(e),
            Poll::Ready(None) => match this.verifier.take() {
                // Fewer bytes than declared (or a zero-byte blob).
                Some(v) if this.hash => match v.verify(&this.digest, Some(this.size)) {
                    Ok(()) => Poll::Ready(None),
                    Err(e) => this.fail(e),
                },
                Some(v) if v.len() != this.size => this.fail(Error::DigestMismatch {
                    digest: this.digest.to_string(),
                    detail: format!(
                        "the source sent {} of the {} bytes the manifest declares",
                        v.len(),
                        this.size
                    ),
                }),
                _ => Poll::Ready(None),
            },
        }
    }
}
