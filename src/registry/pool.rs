//! The set of registry clients of one run: one [`RegistryClient`] per logical
//! registry name, so auth tokens, backoff state and permits are shared by
//! every repository on that host. This is where adapters meet the transport:
//! the pool gives each host its credential sources (Docker config, ECR), its
//! pull-limit policy (Docker Hub) and its request rates (ECR's documented
//! quotas, then the config's `rates`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{Config, RetryConfig};
use crate::error::{Error, Result};
use crate::registry::auth::CredentialStore;
use crate::registry::client::{ClientParts, HostOptions, HttpClients, Notify, RegistryClient};
use crate::registry::credentials::{Chain, CredentialSource, StoreSource};
use crate::registry::ecr::{Ecr, EcrSource};
use crate::registry::hub::HubPullLimit;
use crate::registry::ratelimit::OnRateLimit;
use crate::registry::{Layout, Remote, Repo};
use crate::types::reference::{DOCKER_HUB, DOCKER_HUB_API};
use crate::types::{Action, ImageRef};

/// Settings shared by every registry client of a run.
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// Retry policy.
    pub retry: RetryConfig,
    /// Where credentials come from.
    pub store: CredentialStore,
    /// AWS access for ECR hosts without Docker-config credentials.
    pub ecr: Option<Arc<Ecr>>,
    /// Documented request rates per API action for ECR hosts (the prices file).
    pub ecr_rates: HashMap<Action, f64>,
    /// What to do when Docker Hub's pull limit runs out.
    pub on_ratelimit: OnRateLimit,
    /// Concurrent blob streams per host unless configured.
    pub default_permits: usize,
    /// Where waits (rate limit) are announced.
    pub notify: Option<Notify>,
}

/// Registry clients keyed by logical name.
pub struct Pool {
    config: Config,
    opts: ClientOptions,
    http: HttpClients,
    clients: Mutex<HashMap<String, Arc<RegistryClient>>>,
}

impl Pool {
    /// A pool using `config` and credentials from `store`; `default_permits`
    /// bounds concurrent blob streams per host unless the config says otherwise.
    pub fn new(config: Config, store: CredentialStore, default_permits: usize) -> Result<Self> {
        let opts = ClientOptions {
            retry: config.retry.clone(),
            store,
            default_permits,
            ..ClientOptions::default()
        };
        Self::with_options(config, opts)
    }

    /// A pool with every client option spelled out (ECR access, rate-limit policy…).
    pub fn with_options(config: Config, opts: ClientOptions) -> Result<Self> {
        Ok(Pool {
            config,
            opts,
            http: HttpClients::new()?,
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// The ECR access of this run, if any.
    pub fn ecr(&self) -> Option<&Arc<crate::registry::ecr::Ecr>> {
        self.opts.ecr.as_ref()
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The client for a logical registry name.
    pub fn client(&self, registry: &str) -> Result<Arc<RegistryClient>> {
        let mut clients = self
            .clients
            .lock()
            .map_err(|_| Error::Internal("registry pool lock poisoned".into()))?;
        if let Some(c) = clients.get(registry) {
            return Ok(c.clone());
        }
        let c = Arc::new(self.build(registry)?);
        clients.insert(registry.to_string(), c.clone());
        Ok(c)
    }

    /// Every client made so far (for per-host statistics).
    pub fn clients(&self) -> Vec<Arc<RegistryClient>> {
        let clients = match self.clients.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        let mut v: Vec<_> = clients.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    fn build(&self, registry: &str) -> Result<RegistryClient> {
        let settings = self.config.registry(registry);
        let mut sources: Vec<Arc<dyn CredentialSource>> = vec![Arc::new(StoreSource {
            store: self.opts.store.clone(),
            registry: registry.to_string(),
        })];
        let mut rates = HashMap::new();
        let is_ecr = crate::registry::ecr::parse_host(registry).is_some();
        if let Some(host) = crate::registry::ecr::parse_host(registry) {
            if let Some(ecr) = &self.opts.ecr {
                sources.push(Arc::new(EcrSource {
                    ecr: ecr.clone(),
                    host,
                }));
            }
            rates = self.opts.ecr_rates.clone();
        }
        for (name, rate) in &settings.rates {
            if let Some(a) = Action::parse(name) {
                rates.insert(a, *rate);
            }
        }
        let is_hub = registry == DOCKER_HUB;
        let parts = ClientParts {
            credentials: Arc::new(Chain(sources)),
            pull_limit: if is_hub {
                Some(Arc::new(HubPullLimit))
            } else {
                None
            },
            rates,
            serves_catalog: !is_hub && !is_ecr,
        };
        let opts = HostOptions {
            retry: self.opts.retry.clone(),
            on_ratelimit: self.opts.on_ratelimit,
            default_permits: self.opts.default_permits,
            notify: self.opts.notify.clone(),
        };
        let default_host = if is_hub { DOCKER_HUB_API } else { registry };
        RegistryClient::new(registry, default_host, settings, opts, parts, &self.http)
    }

    /// The repository an image reference lives in.
    pub fn repo(&self, r: &ImageRef) -> Result<Repo> {
        Ok(match r {
            ImageRef::Registry(rr) => Repo::Remote(Remote {
                client: self.client(&rr.registry)?,
                repo: rr.repository.clone(),
            }),
            ImageRef::Layout(l) => Repo::Layout(Layout::new(&l.path)),
        })
    }
}
