//! The Amazon ECR adapter: recognises ECR registry hosts, gets the `/v2`
//! password with `GetAuthorizationToken` through the AWS default credential
//! chain (`aws-config`: env, profiles, SSO, web identity, instance and
//! container roles; `AWS_ENDPOINT_URL_ECR` / `AWS_ENDPOINT_URL` honoured), and
//! creates repositories with the user's settings. `aws-sdk-*` is used here
//! and nowhere else.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType, Tag,
};
use base64::Engine as _;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::registry::auth::{Credential, Secret};
use crate::registry::credentials::{BoxFuture, CredentialSource, Issued};
use crate::types::Action;

/// An ECR private registry host: `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcrHost {
    /// 12-digit account id.
    pub account: String,
    /// Region (`us-east-1`).
    pub region: String,
}

/// Recognises an ECR registry host name.
pub fn parse_host(host: &str) -> Option<EcrHost> {
    let host = host.split(':').next().unwrap_or(host);
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let mut parts = rest.split('.');
    let account = parts.next()?;
    let dkr = parts.next()?;
    let ecr = parts.next()?;
    let region = parts.next()?;
    if parts.next().is_some()
        || dkr != "dkr"
        || !(ecr == "ecr" || ecr == "ecr-fips")
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
        || region.is_empty()
    {
        return None;
    }
    Some(EcrHost {
        account: account.to_string(),
        region: region.to_string(),
    })
}

/// Settings for repositories crossdock creates.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RepoSettings {
    /// `MUTABLE`, `IMMUTABLE`, `IMMUTABLE_WITH_EXCLUSION` or `MUTABLE_WITH_EXCLUSION`.
    pub tag_mutability: Option<String>,
    /// Wildcard tag filters excluded from the mutability mode (≤ 5).
    #[serde(default)]
    pub mutability_exclusions: Vec<String>,
    /// Scan images on push.
    pub scan_on_push: Option<bool>,
    /// `AES256` or `KMS`.
    pub encryption: Option<String>,
    /// KMS key ARN or id (with `encryption = "KMS"`).
    pub kms_key: Option<String>,
    /// A lifecycle policy JSON file applied to new repositories.
    pub lifecycle_policy: Option<PathBuf>,
    /// Resource tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl RepoSettings {
    /// Checks values before any API call.
    pub fn validate(&self) -> Result<()> {
        if let Some(m) = &self.tag_mutability {
            if !matches!(
                m.as_str(),
                "MUTABLE" | "IMMUTABLE" | "IMMUTABLE_WITH_EXCLUSION" | "MUTABLE_WITH_EXCLUSION"
            ) {
                return Err(Error::Usage(format!(
                    "tag mutability {m:?}: expected MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION"
                )));
            }
            if m.ends_with("_WITH_EXCLUSION") && self.mutability_exclusions.is_empty() {
                return Err(Error::Usage(format!(
                    "{m} needs at least one exclusion filter (--mutability-exclusion 'latest*')"
                )));
            }
        }
        if self.mutability_exclusions.len() > 5 {
            return Err(Error::Usage(
                "ECR accepts at most 5 mutability exclusion filters".into(),
            ));
        }
        if let Some(e) = &self.encryption {
            if !matches!(e.as_str(), "AES256" | "KMS") {
                return Err(Error::Usage(format!(
                    "encryption {e:?}: expected AES256 or KMS"
                )));
            }
        }
        if self.kms_key.is_some() && self.encryption.as_deref() != Some("KMS") {
            return Err(Error::Usage("a KMS key needs encryption KMS".into()));
        }
        Ok(())
    }

    /// Fills unset fields from `other`.
    pub fn or(mut self, other: &RepoSettings) -> RepoSettings {
        self.tag_mutability = self.tag_mutability.or(other.tag_mutability.clone());
        if self.mutability_exclusions.is_empty() {
            self.mutability_exclusions = other.mutability_exclusions.clone();
        }
        self.scan_on_push = self.scan_on_push.or(other.scan_on_push);
        self.encryption = self.encryption.or(other.encryption.clone());
        self.kms_key = self.kms_key.or(other.kms_key.clone());
        self.lifecycle_policy = self.lifecycle_policy.or(other.lifecycle_policy.clone());
        for (k, v) in &other.tags {
            self.tags.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self
    }
}

/// Whether a repository was created or was already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ensured {
    /// Created now.
    Created,
    /// Already existed (its settings are left alone).
    Existed,
}

/// AWS access for ECR: SDK clients per region, built from the default chain.
pub struct Ecr {
    profile: Option<String>,
    region: Option<String>,
    clients: Mutex<HashMap<String, aws_sdk_ecr::Client>>,
    accounts: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for Ecr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ecr")
            .field("profile", &self.profile)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// The error chain in one line (the SDK's `Debug` dumps are not for users).
fn aws_error(op: &str, e: impl std::error::Error) -> Error {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        let m = s.to_string();
        if !parts.iter().any(|p| p.contains(&m)) {
            parts.push(m);
        }
        src = s.source();
    }
    let mut detail = parts.join(": ");
    if detail.contains("credentials") {
        detail.push_str(" (configure AWS credentials: env, --profile, SSO or an instance role; or pass --no-create-repos and a docker login for the registry)");
    }
    Error::Aws {
        operation: op.to_string(),
        detail,
    }
}

impl Ecr {
    /// ECR access with an optional profile (`--profile`) and region override (`--region`).
    pub fn new(profile: Option<String>, region: Option<String>) -> Self {
        Ecr {
            profile,
            region,
            clients: Mutex::new(HashMap::new()),
            accounts: Mutex::new(HashMap::new()),
        }
    }

    /// The AWS config loader with our HTTP client (rustls + ring) and profile.
    fn loader(&self) -> aws_config::ConfigLoader {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        loader
    }

    async fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        self.loader()
            .region(aws_config::Region::new(
                self.region.clone().unwrap_or_else(|| region.to_string()),
            ))
            .load()
            .await
    }

    async fn client(&self, region: &str) -> aws_sdk_ecr::Client {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(region) {
            return c.clone();
        }
        let c = aws_sdk_ecr::Client::new(&self.sdk_config(region).await);
        clients.insert(region.to_string(), c.clone());
        c
    }

    /// The `/v2` credential for a host, and until when to use it. An
    /// `expiresAt` already in the past (some emulators) means "unknown":
    /// the caller then refreshes only on a 401.
    pub async fn authorization(&self, host: &EcrHost) -> Result<(Credential, Option<SystemTime>)> {
        let out = self
            .client(&host.region)
            .await
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| aws_error("GetAuthorizationToken", e))?;
        let data = out.authorization_data().first().ok_or_else(|| Error::Aws {
            operation: "GetAuthorizationToken".into(),
            detail: "no authorization data in the answer".into(),
        })?;
        let token = data.authorization_token().unwrap_or_default();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| Error::Aws {
                operation: "GetAuthorizationToken".into(),
                detail: "the token is not base64 of user:password".into(),
            })?;
        let (user, pass) = decoded.split_once(':').ok_or_else(|| Error::Aws {
            operation: "GetAuthorizationToken".into(),
            detail: "the token is not user:password".into(),
        })?;
        let expires = data
            .expires_at()
            .and_then(|t| u64::try_from(t.secs()).ok())
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .filter(|t| *t > SystemTime::now());
        Ok((
            Credential {
                username: user.to_string(),
                password: Secret::new(pass),
                source: "ECR GetAuthorizationToken".into(),
            },
            expires,
        ))
    }

    /// Creates `name` with `settings` unless it exists.
    pub async fn ensure_repository(
        &self,
        host: &EcrHost,
        name: &str,
        settings: &RepoSettings,
    ) -> Result<Ensured> {
        let client = self.client(&host.region).await;
        let described = client
            .describe_repositories()
            .registry_id(&host.account)
            .repository_names(name)
            .send()
            .await;
        match described {
            Ok(_) => return Ok(Ensured::Existed),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_not_found_exception()) => {}
            Err(e) => return Err(aws_error("DescribeRepositories", e)),
        }
        let mut req = client
            .create_repository()
            .registry_id(&host.account)
            .repository_name(name);
        if let Some(m) = &settings.tag_mutability {
            req = req.image_tag_mutability(ImageTagMutability::from(m.as_str()));
        }
        for f in &settings.mutability_exclusions {
            let filter = ImageTagMutabilityExclusionFilter::builder()
                .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
                .filter(f)
                .build()
                .map_err(|e| aws_error("CreateRepository", e))?;
            req = req.image_tag_mutability_exclusion_filters(filter);
        }
        if let Some(scan) = settings.scan_on_push {
            req = req.image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(scan)
                    .build(),
            );
        }
        if let Some(enc) = &settings.encryption {
            let mut b = EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::from(enc.as_str()));
            if let Some(k) = &settings.kms_key {
                b = b.kms_key(k);
            }
            req = req
                .encryption_configuration(b.build().map_err(|e| aws_error("CreateRepository", e))?);
        }
        for (k, v) in &settings.tags {
            req = req.tags(
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| aws_error("CreateRepository", e))?,
            );
        }
        match req.send().await {
            Ok(_) => {}
            // Someone else created it in the meantime: fine.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_already_exists_exception()) =>
            {
                return Ok(Ensured::Existed)
            }
            Err(e) => return Err(aws_error("CreateRepository", e)),
        }
        if let Some(path) = &settings.lifecycle_policy {
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| Error::io(path, e))?;
            client
                .put_lifecycle_policy()
                .registry_id(&host.account)
                .repository_name(name)
                .lifecycle_policy_text(text)
                .send()
                .await
                .map_err(|e| aws_error("PutLifecyclePolicy", e))?;
        }
        Ok(Ensured::Created)
    }

    /// Repository names of a registry under `prefix` (DescribeRepositories, paginated).
    pub async fn list_repositories(&self, host: &EcrHost, prefix: &str) -> Result<Vec<String>> {
        let client = self.client(&host.region).await;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = client
                .describe_repositories()
                .registry_id(&host.account)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws_error("DescribeRepositories", e))?;
            for r in page.repositories() {
                if let Some(name) = r.repository_name() {
                    if prefix.is_empty()
                        || name == prefix
                        || name.starts_with(&format!("{prefix}/"))
                    {
                        out.push(name.to_string());
                    }
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort();
        Ok(out)
    }

    /// The caller's account id (STS `GetCallerIdentity`), for `ecr://` references.
    pub async fn account_id(&self, region: &str) -> Result<String> {
        let cfg = self.sdk_config(region).await;
        let out = aws_sdk_sts::Client::new(&cfg)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| aws_error("GetCallerIdentity", e))?;
        out.account().map(str::to_string).ok_or_else(|| Error::Aws {
            operation: "GetCallerIdentity".into(),
            detail: "no account in the answer".into(),
        })
    }

    /// Expands the `ecr://REPO[:TAG]` shorthand to
    /// `<account>.dkr.ecr.<region>.amazonaws.com/REPO[:TAG]`, with the account
    /// from STS `GetCallerIdentity` and the region from `--region` or the AWS
    /// configuration. Other strings are returned unchanged.
    pub async fn expand(&self, input: &str) -> Result<String> {
        let Some(rest) = input.strip_prefix("ecr://") else {
            return Ok(input.to_string());
        };
        let region = self.default_region().await.ok_or_else(|| {
            Error::Usage(format!(
                "{input}: no AWS region for the ecr:// shorthand; pass --region or set AWS_REGION"
            ))
        })?;
        let account = {
            let mut cache = self.accounts.lock().await;
            match cache.get(&region) {
                Some(a) => a.clone(),
                None => {
                    let a = self.account_id(&region).await?;
                    cache.insert(region.clone(), a.clone());
                    a
                }
            }
        };
        Ok(format!("{account}.dkr.ecr.{region}.amazonaws.com/{rest}"))
    }

    /// The region from `--region` or the AWS configuration (env, profile,
    /// instance metadata), if any.
    pub async fn default_region(&self) -> Option<String> {
        if let Some(r) = &self.region {
            return Some(r.clone());
        }
        self.loader().load().await.region().map(|r| r.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_ecr_hosts() {
        let h = parse_host("123456789012.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        assert_eq!(h.account, "123456789012");
        assert_eq!(h.region, "us-east-1");
        assert!(parse_host("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com").is_some());
        assert_eq!(
            parse_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn")
                .unwrap()
                .region,
            "cn-north-1"
        );
        for no in [
            "public.ecr.aws",
            "docker.io",
            "12345.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.amazonaws.com",
        ] {
            assert!(parse_host(no).is_none(), "{no}");
        }
    }

    #[test]
    fn settings_validate() {
        assert!(RepoSettings {
            tag_mutability: Some("IMMUTABLE".into()),
            ..Default::default()
        }
        .validate()
        .is_ok());
        assert!(RepoSettings {
            tag_mutability: Some("immutable".into()),
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(RepoSettings {
            tag_mutability: Some("IMMUTABLE_WITH_EXCLUSION".into()),
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(RepoSettings {
            encryption: Some("KMS".into()),
            kms_key: Some("k".into()),
            ..Default::default()
        }
        .validate()
        .is_ok());
        assert!(RepoSettings {
            kms_key: Some("k".into()),
            ..Default::default()
        }
        .validate()
        .is_err());
    }
}

/// ECR's `/v2` credentials for one registry host, as a credential source:
/// `GetAuthorizationToken`, refreshed before its 12 h expiry and after a 401.
pub struct EcrSource {
    /// The AWS access of the run.
    pub ecr: std::sync::Arc<Ecr>,
    /// The registry host.
    pub host: EcrHost,
}

impl CredentialSource for EcrSource {
    fn fetch(&self) -> BoxFuture<'_, Result<Option<Issued>>> {
        Box::pin(async move {
            let (credential, expires) = self.ecr.authorization(&self.host).await?;
            Ok(Some(Issued {
                credential,
                expires,
                refreshable: true,
            }))
        })
    }
}

/// ECR's documented request rates per `/v2` action, from the prices file's
/// `quota_<operation>_tps` keys (dated; the user may override the file).
pub fn documented_rates(quotas: &BTreeMap<String, toml::Value>) -> HashMap<Action, f64> {
    let key = |a: Action| {
        let mut k = String::from("quota_");
        for (i, c) in a.name().chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                k.push('_');
            }
            k.push(c.to_ascii_lowercase());
        }
        k.push_str("_tps");
        k
    };
    Action::NAMES
        .iter()
        .filter_map(|n| Action::parse(n))
        .filter_map(|a| {
            let v = quotas.get(&key(a))?;
            let rate = v.as_float().or_else(|| v.as_integer().map(|i| i as f64))?;
            (rate.is_finite() && rate > 0.0).then_some((a, rate))
        })
        .collect()
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    #[test]
    fn reads_the_quotas_of_the_prices_file() {
        let p = crate::prices::Prices::load(None).unwrap();
        let r = documented_rates(&p.ecr.other);
        assert_eq!(r.get(&Action::PutImage), Some(&10.0));
        assert_eq!(r.get(&Action::BatchCheckLayerAvailability), Some(&1000.0));
        assert_eq!(r.len(), 7);
    }
}
