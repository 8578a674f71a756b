//! The set of registry clients of one run: one [`RegistryClient`] per logical
//! registry name, so auth tokens, backoff state and permits are shared by
//! every repository on that host.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::registry::auth::CredentialStore;
use crate::registry::client::{ClientOptions, HttpClients, RegistryClient};
use crate::registry::{Layout, Remote, Repo};
use crate::types::ImageRef;

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
            .map_err(|_| Error::Usage("internal: registry pool lock poisoned".into()))?;
        if let Some(c) = clients.get(registry) {
            return Ok(c.clone());
        }
        let c = Arc::new(RegistryClient::new(
            registry,
            self.config.registry(registry),
            self.opts.clone(),
            &self.http,
        )?);
        clients.insert(registry.to_string(), c.clone());
        Ok(c)
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
