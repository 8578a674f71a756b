//! The Amazon ECR adapter: recognises ECR registry hosts, gets the `/v2`
//! password with `GetAuthorizationToken` through the AWS default credential
//! chain (`aws-config`: env, profiles, SSO, web identity, instance and
//! container roles; `AWS_ENDPOINT_URL_ECR` / `AWS_ENDPOINT_URL` honoured), and
//! creates repositories with the user's settings, and reads the registry facts
//! `compare` shows (policies, scanning, replication, cache rules, findings,
//! caller identity), and deletes tags (`BatchDeleteImage`) for `--prune`.
//! `aws-sdk-*` is used here
//! and nowhere else.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageFailureCode, ImageIdentifier,
    ImageScanningConfiguration, ImageTagMutability, ImageTagMutabilityExclusionFilter,
    ImageTagMutabilityExclusionFilterType, Tag,
};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
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
        // ECR tokens last 12 hours; a later expiry (or one beyond what the
        // clock can hold) is not believed.
        let now = SystemTime::now();
        let expires = data
            .expires_at()
            .and_then(|t| u64::try_from(t.secs()).ok())
            .map(|s| {
                let latest = now + Duration::from_secs(12 * 3600);
                SystemTime::UNIX_EPOCH
                    .checked_add(Duration::from_secs(s))
                    .map_or(latest, |t| t.min(latest))
            })
            .filter(|t| *t > now);
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
        let mut seen_tokens = std::collections::HashSet::new();
        loop {
            let page = client
                .describe_repositories()
                .registry_id(&host.account)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws_error("DescribeRepositories", e))?;
            for r in page.repositories() {
                // Names go into /v2 URLs: only the distribution grammar.
                let name = r
                    .repository_name()
                    .filter(|n| crate::types::name::check_repository(n).is_ok());
                if let Some(name) = name {
                    if prefix.is_empty()
                        || name == prefix
                        || name.starts_with(&format!("{prefix}/"))
                    {
                        out.push(name.to_string());
                    }
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => {
                    if !seen_tokens.insert(t.to_string()) {
                        return Err(Error::Aws {
                            operation: "DescribeRepositories".into(),
                            detail: "the API repeated a page token (a pagination loop); stopped"
                                .into(),
                        });
                    }
                    token = Some(t.to_string())
                }
                _ => break,
            }
        }
        out.sort();
        Ok(out)
    }

    /// Deletes tags with `BatchDeleteImage` (by tag, so an image left without
    /// tags falls to the repository's lifecycle policy), 100 per call. Returns
    /// the tags that could not be deleted, with ECR's reason.
    pub async fn delete_tags(
        &self,
        host: &EcrHost,
        repository: &str,
        tags: &[String],
    ) -> Result<Vec<(String, String)>> {
        let client = self.client(&host.region).await;
        let mut failures = Vec::new();
        for chunk in tags.chunks(100) {
            let mut req = client
                .batch_delete_image()
                .registry_id(&host.account)
                .repository_name(repository);
            for t in chunk {
                req = req.image_ids(ImageIdentifier::builder().image_tag(t).build());
            }
            let out = req
                .send()
                .await
                .map_err(|e| aws_error("BatchDeleteImage", e))?;
            for f in out.failures() {
                let tag = f
                    .image_id()
                    .and_then(|i| i.image_tag())
                    .unwrap_or_default()
                    .to_string();
                // Already gone is what we wanted.
                if f.failure_code() == Some(&ImageFailureCode::ImageNotFound) {
                    continue;
                }
                let reason = format!(
                    "{}{}",
                    f.failure_code().map(|c| c.as_str()).unwrap_or("failure"),
                    f.failure_reason()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                );
                failures.push((tag, reason));
            }
        }
        Ok(failures)
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

// ---------------------------------------------------------------------------
// Read-only facts about a registry, for `compare`'s feature table. Each call
// fails with an [`ApiGap`] that says why the fact is unknown (denied, not
// implemented by the API at hand, or another failure) instead of guessing.
// ---------------------------------------------------------------------------

/// Why an ECR API call gave no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// The caller lacks the IAM permission (403, `AccessDenied*`).
    Denied,
    /// The API has no handler for the action (HTTP 501, or a 404/500 without
    /// any AWS error code: an implemented action always names its error).
    NotImplemented,
    /// Credentials are missing or were refused.
    NoCredentials,
    /// Any other failure (network, throttling after retries, server fault).
    Failed,
}

/// An ECR (or STS) API call that gave no answer, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiGap {
    /// The API operation (`GetRepositoryPolicy`).
    pub operation: &'static str,
    /// Why it failed, classified.
    pub kind: GapKind,
    /// The error as the API (or the SDK) put it, one line.
    pub detail: String,
}

impl std::fmt::Display for ApiGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            GapKind::Denied => write!(
                f,
                "{} not permitted for this identity (needs ecr:{} or equivalent)",
                self.operation, self.operation
            ),
            GapKind::NotImplemented => write!(
                f,
                "{} not implemented by the registry API ({})",
                self.operation, self.detail
            ),
            GapKind::NoCredentials => {
                write!(
                    f,
                    "{}: no usable AWS credentials ({})",
                    self.operation, self.detail
                )
            }
            GapKind::Failed => write!(f, "{} failed: {}", self.operation, self.detail),
        }
    }
}

/// Classifies an SDK error by its AWS error code and HTTP status (never by
/// the message text).
fn gap<E>(
    operation: &'static str,
    e: aws_sdk_ecr::error::SdkError<E, aws_sdk_ecr::config::http::HttpResponse>,
) -> ApiGap
where
    E: aws_sdk_ecr::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_ecr::error::ProvideErrorMetadata as _;
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_string);
    let kind = match (status, code.as_deref()) {
        (_, Some(c)) if c.starts_with("AccessDenied") => GapKind::Denied,
        (Some(403), _) => GapKind::Denied,
        (_, Some("UnrecognizedClientException" | "InvalidSignatureException"))
        | (_, Some("ExpiredTokenException" | "InvalidClientTokenId")) => GapKind::NoCredentials,
        (_, Some("NotImplemented" | "UnknownOperationException")) | (Some(501), _) => {
            GapKind::NotImplemented
        }
        (Some(404 | 500), None) => GapKind::NotImplemented,
        (None, _) if matches!(e, aws_sdk_ecr::error::SdkError::ConstructionFailure(_)) => {
            GapKind::NoCredentials
        }
        _ => GapKind::Failed,
    };
    let detail = match (status, &code) {
        (Some(s), Some(c)) => format!("HTTP {s} {c}"),
        (Some(s), None) => format!("HTTP {s} without an AWS error code"),
        _ => match aws_error(operation, e) {
            Error::Aws { detail, .. } => detail,
            other => other.to_string(),
        },
    };
    ApiGap {
        operation,
        kind,
        detail,
    }
}

/// A fact, or why it is unknown.
pub type Fact<T> = std::result::Result<T, ApiGap>;

/// Who the AWS credentials belong to (`sts:GetCallerIdentity`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallerIdentity {
    /// Account id.
    pub account: String,
    /// The principal's ARN (user, role session).
    pub arn: String,
}

/// A repository's settings as `DescribeRepositories` reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepoFacts {
    /// Repository name.
    pub name: String,
    /// `MUTABLE`, `IMMUTABLE`, `*_WITH_EXCLUSION` as ECR spells it.
    pub tag_mutability: String,
    /// Number of mutability exclusion filters.
    pub mutability_exclusions: usize,
    /// Scan on push.
    pub scan_on_push: bool,
    /// `AES256` or `KMS` (`KMS_DSSE`), as ECR spells it.
    pub encryption: String,
    /// The KMS key, with KMS encryption.
    pub kms_key: Option<String>,
}

impl RepoFacts {
    /// Whether tags can be overwritten in general (the mode before exclusions).
    pub fn immutable(&self) -> bool {
        self.tag_mutability.starts_with("IMMUTABLE")
    }
}

/// What a repository policy grants to everyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    /// No policy, or no statement allowing `"Principal": "*"`.
    Private,
    /// An `Allow` statement for `"Principal": "*"` (or `{"AWS": "*"}`) without conditions: public.
    Public,
    /// `"Principal": "*"` allowed under conditions (org, VPC endpoint, source account…).
    Conditional,
}

/// Reads a repository policy document: does it allow `*` (everyone)?
/// An unreadable document is an error, not a guess.
pub fn policy_exposure(text: &str) -> std::result::Result<Exposure, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("policy is not JSON: {e}"))?;
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Object(_) => vec![doc["Statement"].clone()],
        _ => return Ok(Exposure::Private),
    };
    let star = |v: &serde_json::Value| -> bool {
        match v {
            serde_json::Value::String(s) => s == "*",
            serde_json::Value::Array(a) => a.iter().any(|x| x.as_str() == Some("*")),
            _ => false,
        }
    };
    let mut out = Exposure::Private;
    for st in &statements {
        if st["Effect"].as_str() != Some("Allow") {
            continue;
        }
        let p = &st["Principal"];
        let everyone = star(p) || p.get("AWS").is_some_and(star);
        if !everyone {
            continue;
        }
        let conditional = st
            .get("Condition")
            .is_some_and(|c| c.as_object().is_some_and(|o| !o.is_empty()));
        if !conditional {
            return Ok(Exposure::Public);
        }
        out = Exposure::Conditional;
    }
    Ok(out)
}

/// The registry's scanning configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegistryScanning {
    /// `BASIC` or `ENHANCED`.
    pub scan_type: String,
    /// Scanning rules (`SCAN_ON_PUSH`, `CONTINUOUS_SCAN` with repository filters).
    pub rules: Vec<String>,
}

/// One replication destination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicationTarget {
    /// Destination region.
    pub region: String,
    /// Destination registry (account).
    pub registry_id: String,
}

/// A pull-through cache rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CacheRule {
    /// ECR repository prefix the cache serves.
    pub prefix: String,
    /// Upstream registry URL (`registry-1.docker.io`).
    pub upstream_url: String,
    /// Whether the upstream is Docker Hub.
    pub docker_hub: bool,
}

/// The latest scan of one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ScanOutcome {
    /// A scan result: its status and the count of findings per severity.
    Scanned {
        /// `COMPLETE`, `IN_PROGRESS`, `FAILED`, … as ECR spells it.
        status: String,
        /// Severity (`CRITICAL`, `HIGH`, …) → count, highest first.
        severities: Vec<(String, u64)>,
        /// When the scan completed (RFC 3339), if it did.
        completed_at: Option<String>,
    },
    /// The image was never scanned.
    NoScan,
    /// The ECR API does not know the image (pushed, but not visible to the API).
    NotFound,
}

/// The `/v2` token as `GetAuthorizationToken` hands it out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenFacts {
    /// `expiresAt` (RFC 3339) as the API returned it.
    pub expires_at: Option<String>,
    /// Seconds from now until then (negative: already past).
    pub expires_in_s: Option<i64>,
}

const SEVERITY_ORDER: [&str; 7] = [
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNDEFINED",
    "UNTRIAGED",
];

fn rfc3339(t: &aws_sdk_ecr::primitives::DateTime) -> Option<String> {
    t.fmt(aws_sdk_ecr::primitives::DateTimeFormat::DateTime)
        .ok()
}

impl Ecr {
    /// `sts:GetCallerIdentity`: who the AWS credentials are.
    pub async fn caller_identity(&self, region: &str) -> Fact<CallerIdentity> {
        let cfg = self.sdk_config(region).await;
        let out = aws_sdk_sts::Client::new(&cfg)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                use aws_sdk_sts::error::ProvideErrorMetadata as _;
                let status = e.raw_response().map(|r| r.status().as_u16());
                let kind = match (status, e.code()) {
                    (_, Some(c)) if c.starts_with("AccessDenied") => GapKind::Denied,
                    (Some(403), _) | (_, Some("InvalidClientTokenId" | "ExpiredToken")) => {
                        GapKind::NoCredentials
                    }
                    (Some(404 | 500 | 501), None) => GapKind::NotImplemented,
                    (None, _) => GapKind::NoCredentials,
                    _ => GapKind::Failed,
                };
                let detail = match aws_error("GetCallerIdentity", e) {
                    Error::Aws { detail, .. } => detail,
                    other => other.to_string(),
                };
                ApiGap {
                    operation: "GetCallerIdentity",
                    kind,
                    detail,
                }
            })?;
        Ok(CallerIdentity {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        })
    }

    /// When the `/v2` token from `GetAuthorizationToken` expires (as returned,
    /// even when already past).
    pub async fn token_facts(&self, host: &EcrHost) -> Fact<TokenFacts> {
        let out = self
            .client(&host.region)
            .await
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| gap("GetAuthorizationToken", e))?;
        let at = out
            .authorization_data()
            .first()
            .and_then(|d| d.expires_at());
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Ok(TokenFacts {
            expires_at: at.and_then(rfc3339),
            expires_in_s: at.map(|t| t.secs().saturating_sub(now)),
        })
    }

    /// Settings of every repository under `prefix` (`DescribeRepositories`, paginated).
    pub async fn repository_facts(&self, host: &EcrHost, prefix: &str) -> Fact<Vec<RepoFacts>> {
        let client = self.client(&host.region).await;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let page = client
                .describe_repositories()
                .registry_id(&host.account)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| gap("DescribeRepositories", e))?;
            for r in page.repositories() {
                let Some(name) = r.repository_name() else {
                    continue;
                };
                if !(prefix.is_empty() || name == prefix || name.starts_with(&format!("{prefix}/")))
                {
                    continue;
                }
                let enc = r.encryption_configuration();
                out.push(RepoFacts {
                    name: name.to_string(),
                    tag_mutability: r
                        .image_tag_mutability()
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_else(|| "MUTABLE".into()),
                    mutability_exclusions: r.image_tag_mutability_exclusion_filters().len(),
                    scan_on_push: r
                        .image_scanning_configuration()
                        .is_some_and(|c| c.scan_on_push()),
                    encryption: enc
                        .map(|c| c.encryption_type().as_str().to_string())
                        .unwrap_or_else(|| "AES256".into()),
                    kms_key: enc.and_then(|c| c.kms_key()).map(str::to_string),
                });
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The repository policy's exposure (`GetRepositoryPolicy`; no policy = private).
    pub async fn repository_exposure(&self, host: &EcrHost, name: &str) -> Fact<Exposure> {
        let res = self
            .client(&host.region)
            .await
            .get_repository_policy()
            .registry_id(&host.account)
            .repository_name(name)
            .send()
            .await;
        match res {
            Ok(out) => {
                policy_exposure(out.policy_text().unwrap_or("{}")).map_err(|detail| ApiGap {
                    operation: "GetRepositoryPolicy",
                    kind: GapKind::Failed,
                    detail,
                })
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_policy_not_found_exception()) =>
            {
                Ok(Exposure::Private)
            }
            Err(e) => Err(gap("GetRepositoryPolicy", e)),
        }
    }

    /// Whether a repository has a lifecycle policy (`GetLifecyclePolicy`).
    pub async fn has_lifecycle_policy(&self, host: &EcrHost, name: &str) -> Fact<bool> {
        let res = self
            .client(&host.region)
            .await
            .get_lifecycle_policy()
            .registry_id(&host.account)
            .repository_name(name)
            .send()
            .await;
        match res {
            Ok(out) => Ok(out.lifecycle_policy_text().is_some_and(|t| !t.is_empty())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_lifecycle_policy_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(gap("GetLifecyclePolicy", e)),
        }
    }

    /// The registry's scanning configuration (`GetRegistryScanningConfiguration`).
    pub async fn registry_scanning(&self, host: &EcrHost) -> Fact<RegistryScanning> {
        let out = self
            .client(&host.region)
            .await
            .get_registry_scanning_configuration()
            .send()
            .await
            .map_err(|e| gap("GetRegistryScanningConfiguration", e))?;
        let cfg = out.scanning_configuration();
        Ok(RegistryScanning {
            scan_type: cfg
                .and_then(|c| c.scan_type())
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "BASIC".into()),
            rules: cfg
                .map(|c| {
                    c.rules()
                        .iter()
                        .map(|r| {
                            let filters: Vec<&str> =
                                r.repository_filters().iter().map(|f| f.filter()).collect();
                            format!("{} {}", r.scan_frequency().as_str(), filters.join(","))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Replication destinations of the registry (`DescribeRegistry`).
    pub async fn replication(&self, host: &EcrHost) -> Fact<Vec<ReplicationTarget>> {
        let out = self
            .client(&host.region)
            .await
            .describe_registry()
            .send()
            .await
            .map_err(|e| gap("DescribeRegistry", e))?;
        Ok(out
            .replication_configuration()
            .map(|c| {
                c.rules()
                    .iter()
                    .flat_map(|r| r.destinations())
                    .map(|d| ReplicationTarget {
                        region: d.region().to_string(),
                        registry_id: d.registry_id().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Pull-through cache rules (`DescribePullThroughCacheRules`).
    pub async fn cache_rules(&self, host: &EcrHost) -> Fact<Vec<CacheRule>> {
        let out = self
            .client(&host.region)
            .await
            .describe_pull_through_cache_rules()
            .registry_id(&host.account)
            .send()
            .await
            .map_err(|e| gap("DescribePullThroughCacheRules", e))?;
        Ok(out
            .pull_through_cache_rules()
            .iter()
            .map(|r| {
                let url = r.upstream_registry_url().unwrap_or_default().to_string();
                CacheRule {
                    prefix: r.ecr_repository_prefix().unwrap_or_default().to_string(),
                    docker_hub: matches!(
                        r.upstream_registry(),
                        Some(aws_sdk_ecr::types::UpstreamRegistry::DockerHub)
                    ) || url == "registry-1.docker.io",
                    upstream_url: url,
                }
            })
            .collect())
    }

    /// The latest scan findings of `repo` at `tag` or `digest`
    /// (`DescribeImageScanFindings`; "never scanned" is an outcome, not an error).
    pub async fn scan_findings(
        &self,
        host: &EcrHost,
        repo: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Fact<ScanOutcome> {
        let id = aws_sdk_ecr::types::ImageIdentifier::builder()
            .set_image_tag(tag.map(str::to_string))
            .set_image_digest(digest.map(str::to_string))
            .build();
        let res = self
            .client(&host.region)
            .await
            .describe_image_scan_findings()
            .registry_id(&host.account)
            .repository_name(repo)
            .image_id(id)
            .max_results(1)
            .send()
            .await;
        let out = match res {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_scan_not_found_exception()) =>
            {
                return Ok(ScanOutcome::NoScan)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_image_not_found_exception()) =>
            {
                return Ok(ScanOutcome::NotFound)
            }
            Err(e) => return Err(gap("DescribeImageScanFindings", e)),
        };
        let findings = out.image_scan_findings();
        let mut severities: Vec<(String, u64)> = findings
            .and_then(|f| f.finding_severity_counts())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().to_string(), u64::try_from(*v).unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        let rank = |s: &str| {
            SEVERITY_ORDER
                .iter()
                .position(|x| *x == s)
                .unwrap_or(SEVERITY_ORDER.len())
        };
        severities.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then(a.0.cmp(&b.0)));
        Ok(ScanOutcome::Scanned {
            status: out
                .image_scan_status()
                .and_then(|s| s.status())
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "UNKNOWN".into()),
            severities,
            completed_at: findings
                .and_then(|f| f.image_scan_completed_at())
                .and_then(rfc3339),
        })
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
    fn policies_granting_everyone_are_public_unless_conditioned() {
        let st = |extra: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"ecr:BatchGetImage"{extra}}}]}}"#
            )
        };
        assert_eq!(
            policy_exposure(&st(r#","Principal":"*""#)),
            Ok(Exposure::Public)
        );
        assert_eq!(
            policy_exposure(&st(r#","Principal":{"AWS":["arn:aws:iam::1:root","*"]}"#)),
            Ok(Exposure::Public)
        );
        assert_eq!(
            policy_exposure(&st(
                r#","Principal":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}"#
            )),
            Ok(Exposure::Conditional)
        );
        assert_eq!(
            policy_exposure(&st(r#","Principal":{"AWS":"arn:aws:iam::1:root"}"#)),
            Ok(Exposure::Private)
        );
        // A single statement object, and Deny, are read too.
        assert_eq!(
            policy_exposure(r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"*"}}"#),
            Ok(Exposure::Private)
        );
        assert_eq!(
            policy_exposure(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}"#),
            Ok(Exposure::Public)
        );
        assert!(policy_exposure("not json").is_err());
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
