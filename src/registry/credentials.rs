//! Where a registry client's credentials come from, as a small trait the
//! transport calls without knowing the source: the Docker config and
//! environment ([`StoreSource`]), ECR's `GetAuthorizationToken` (implemented
//! by the ECR adapter), or a chain of them. [`CredentialCache`] keeps the
//! answer until shortly before it expires and drops it after a 401 when the
//! source can issue a new one. Imports `error` and `registry::auth`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Mutex;

use crate::error::Result;
use crate::registry::auth::{Credential, CredentialStore};

/// A boxed future, for the object-safe trait.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A credential and, when it expires, until when.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The credential.
    pub credential: Credential,
    /// When it stops working (`None`: unknown or never).
    pub expires: Option<SystemTime>,
    /// Whether asking again yields a new one (so a 401 is worth a refresh).
    pub refreshable: bool,
}

/// Something that can give a registry's credentials.
pub trait CredentialSource: Send + Sync {
    /// The credentials, or `None` for anonymous access.
    fn fetch(&self) -> BoxFuture<'_, Result<Option<Issued>>>;
}

/// Credentials from the Docker config and environment for one registry name.
pub struct StoreSource {
    /// The store.
    pub store: CredentialStore,
    /// The logical registry name.
    pub registry: String,
}

impl CredentialSource for StoreSource {
    fn fetch(&self) -> BoxFuture<'_, Result<Option<Issued>>> {
        Box::pin(async move {
            Ok(self
                .store
                .lookup(&self.registry)
                .await?
                .map(|credential| Issued {
                    credential,
                    expires: None,
                    refreshable: false,
                }))
        })
    }
}

/// The first source that has credentials wins.
pub struct Chain(pub Vec<Arc<dyn CredentialSource>>);

impl CredentialSource for Chain {
    fn fetch(&self) -> BoxFuture<'_, Result<Option<Issued>>> {
        Box::pin(async move {
            for s in &self.0 {
                if let Some(c) = s.fetch().await? {
                    return Ok(Some(c));
                }
            }
            Ok(None)
        })
    }
}

struct Cached {
    credential: Option<Credential>,
    refresh_at: Option<Instant>,
    refreshable: bool,
}

/// A source's answer, kept until shortly before it expires.
pub struct CredentialCache {
    source: Arc<dyn CredentialSource>,
    cached: Mutex<Option<Cached>>,
}

/// When to refresh a credential that expires at `expires`: 5 minutes before,
/// but never later than half its remaining life. An expiry already past
/// (some emulators) means "unknown": refresh on a 401 only, never in a loop.
pub fn refresh_instant(expires: Option<SystemTime>, now: SystemTime) -> Option<Instant> {
    let left = expires?.duration_since(now).ok()?;
    let early = left.saturating_sub(Duration::from_secs(300)).max(left / 2);
    Instant::now().checked_add(early)
}

impl CredentialCache {
    /// A cache over `source`.
    pub fn new(source: Arc<dyn CredentialSource>) -> Self {
        CredentialCache {
            source,
            cached: Mutex::new(None),
        }
    }

    /// The current credentials (fetched when missing or due for refresh).
    pub async fn get(&self) -> Result<Option<Credential>> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            if c.refresh_at.is_none_or(|t| Instant::now() < t) {
                return Ok(c.credential.clone());
            }
        }
        let fresh = self.source.fetch().await?;
        let out = fresh.as_ref().map(|i| i.credential.clone());
        *cached = Some(match fresh {
            Some(i) => Cached {
                credential: Some(i.credential),
                refresh_at: refresh_instant(i.expires, SystemTime::now()),
                refreshable: i.refreshable,
            },
            None => Cached {
                credential: None,
                refresh_at: None,
                refreshable: false,
            },
        });
        Ok(out)
    }

    /// After a 401: forget credentials the source can issue anew.
    pub async fn invalidate(&self) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.refreshable) {
            *cached = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::auth::Secret;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Rotating(AtomicU32, Option<Duration>);
    impl CredentialSource for Rotating {
        fn fetch(&self) -> BoxFuture<'_, Result<Option<Issued>>> {
            Box::pin(async move {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                Ok(Some(Issued {
                    credential: Credential {
                        username: "AWS".into(),
                        password: Secret::new(format!("p{n}")),
                        source: "test".into(),
                    },
                    expires: self.1.map(|d| SystemTime::now() + d),
                    refreshable: true,
                }))
            })
        }
    }

    #[tokio::test]
    async fn refreshes_before_expiry_and_after_401() {
        let c = CredentialCache::new(Arc::new(Rotating(AtomicU32::new(0), None)));
        assert_eq!(c.get().await.unwrap().unwrap().password.expose(), "p0");
        assert_eq!(c.get().await.unwrap().unwrap().password.expose(), "p0");
        c.invalidate().await;
        assert_eq!(c.get().await.unwrap().unwrap().password.expose(), "p1");

        // Expiring in 40 ms: refreshed at half its life.
        let e = CredentialCache::new(Arc::new(Rotating(
            AtomicU32::new(0),
            Some(Duration::from_millis(40)),
        )));
        assert_eq!(e.get().await.unwrap().unwrap().password.expose(), "p0");
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(e.get().await.unwrap().unwrap().password.expose(), "p1");
    }

    #[test]
    fn far_expiry_does_not_overflow() {
        let far = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(1 << 60));
        let _ = refresh_instant(far, SystemTime::now());
        assert!(refresh_instant(Some(SystemTime::UNIX_EPOCH), SystemTime::now()).is_none());
    }
}
