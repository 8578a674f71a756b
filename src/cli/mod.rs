//! The command tree (clap derive types whose doc comments are the help), the
//! shared settings every command resolves (config, credentials, output mode),
//! and the exit codes. clap, indicatif, comfy-table and anyhow live here and
//! in its children only; the library below never prints.

mod bench;
mod chart;
mod compare;
mod copy;
mod features;
mod inspect;
mod ls;
mod mirror;
mod output;
mod progress;
mod ratelimit;
mod report;
mod rewrite;
mod watch;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use std::sync::Arc;

use crossdock::config::Config;
use crossdock::registry::auth::CredentialStore;
use crossdock::registry::ecr::Ecr;
use crossdock::registry::pool::ClientOptions;
use crossdock::registry::ratelimit::OnRateLimit;
use crossdock::registry::Pool;
use crossdock::types::ImageRef;

pub use output::Printer;

/// Exit codes (documented in the README).
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// The operation failed (registry, network, auth, integrity, not found).
    pub const FAILED: i32 = 1;
    /// Bad usage: flags, references, config file.
    pub const USAGE: i32 = 2;
    /// A registry or token server refused the credentials (or none were given).
    pub const AUTH: i32 = 3;
    /// Interrupted (Ctrl-C, SIGINT); rerunning finishes the job.
    pub const INTERRUPTED: i32 = 130;
    /// Terminated (SIGTERM); rerunning finishes the job.
    pub const TERMINATED: i32 = 143;
}

/// Copy, migrate and compare container images between Docker Hub, Amazon ECR
/// and any OCI registry — digest for digest, multi-arch intact.
#[derive(Debug, Parser)]
#[command(name = "crossdock", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: GlobalArgs,
}

/// Flags every command takes.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Config file with per-registry settings [default: ~/.config/crossdock/config.toml]
    #[arg(long, global = true, env = "CROSSDOCK_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
    /// Print nothing but errors (and the JSON result with --output json)
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    /// Progress display: bars on a terminal, plain lines otherwise
    #[arg(long, global = true, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// AWS profile for ECR (default: the AWS credential chain)
    #[arg(long, global = true, env = "AWS_PROFILE", value_name = "NAME")]
    profile: Option<String>,
    /// AWS region for the ECR API (default: the registry host's region)
    #[arg(long, global = true, value_name = "REGION")]
    region: Option<String>,
    /// When Docker Hub's pull limit runs out: wait for the window (checking with free HEADs) or fail
    #[arg(long, global = true, value_enum, default_value_t = RateLimitMode::Wait)]
    on_ratelimit: RateLimitMode,
}

/// What to do when the pull limit runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RateLimitMode {
    /// Pause until pulls are allowed again.
    Wait,
    /// Stop with an error.
    Fail,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text and tables.
    Text,
    /// One JSON object on stdout.
    Json,
    /// Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request).
    Markdown,
}

/// Progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// Bars when stderr is a terminal, lines otherwise.
    Auto,
    /// Always bars.
    Bars,
    /// Always plain lines.
    Lines,
    /// No progress output.
    None,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Copy an image (all platforms by default) from one registry or OCI layout to another
    Copy(copy::CopyArgs),
    /// Migrate a whole namespace (e.g. Docker Hub → ECR): every repository and chosen tag, resumable
    Migrate(mirror::MigrateArgs),
    /// Mirror the images listed in a YAML file (for CI); a no-op run costs HEADs only
    Sync(mirror::SyncArgs),
    /// Compare tags and digests of a source and a mirror (HEAD only); exit 1 when not in sync
    Diff(mirror::DiffArgs),
    /// Show the pull rate limit of the current identity (Docker Hub by default); a HEAD, no pull spent
    Ratelimit(ratelimit::RatelimitArgs),
    /// Docker Hub vs ECR side by side: rate limits, cost for your repositories, latency measured now
    Compare(compare::CompareArgs),
    /// Benchmark registries: latency percentiles, pull/push throughput per concurrency, charts
    Bench(bench::BenchArgs),
    /// List the tags of a repository
    Ls(ls::LsArgs),
    /// Show a manifest: digest, media type, platforms, sizes
    Inspect(inspect::InspectArgs),
    /// Point image references in Kubernetes, Helm, Dockerfiles, compose, ECS and workflows at a mirror
    Rewrite(rewrite::RewriteArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// What every command needs: settings, credentials, registry clients, printer.
pub struct Context {
    /// Registry clients.
    pub pool: Pool,
    /// Where output goes.
    pub printer: Printer,
}

impl Context {
    fn new(g: &GlobalArgs, default_permits: usize) -> Result<Self, crossdock::Error> {
        let config = Config::load(g.config.as_deref())?;
        let printer = Printer::new(g.output, g.quiet, g.progress);
        let opts = ClientOptions {
            retry: config.retry.clone(),
            store: CredentialStore {
                helper_timeout: config.credentials.helper_timeout(),
                ..CredentialStore::from_env()
            },
            ecr: Some(Arc::new(Ecr::new(g.profile.clone(), g.region.clone()))),
            on_ratelimit: match g.on_ratelimit {
                RateLimitMode::Wait => OnRateLimit::Wait,
                RateLimitMode::Fail => OnRateLimit::Fail,
            },
            default_permits,
            notify: Some(Arc::new(move |msg: &str| printer.note(msg))),
            ecr_rates: {
                // The documented ECR quotas, from the dated prices file
                // (CROSSDOCK_PRICES overrides it, as --prices does).
                let path = std::env::var_os("CROSSDOCK_PRICES")
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from);
                let prices = crossdock::prices::Prices::load(path.as_deref())?;
                crossdock::registry::ecr::documented_rates(&prices.ecr.other)
            },
        };
        let pool = Pool::with_options(config, opts)?;
        Ok(Context { pool, printer })
    }
}

impl Context {
    /// Expands the `ecr://REPO[:TAG]` shorthand (account from STS, region
    /// from `--region` or the AWS configuration).
    pub async fn expand(&self, s: &str) -> Result<String, crossdock::Error> {
        match self.pool.ecr() {
            Some(e) if s.starts_with("ecr://") => e.expand(s).await,
            _ => Ok(s.to_string()),
        }
    }

    /// Parses a reference (after `ecr://` expansion); malformed is a usage error.
    pub async fn parse_ref(&self, s: &str) -> Result<ImageRef, crossdock::Error> {
        self.expand(s).await?.parse()
    }
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crossdock: cannot start the async runtime: {e}");
            return exit::FAILED;
        }
    };
    let output = cli.global.output;
    // `sync --watch` turns SIGTERM/SIGINT into a drain of its own.
    let own_signals = matches!(&cli.command, Command::Sync(a) if a.watch.is_some());
    rt.block_on(async move {
        if own_signals {
            return run(cli).await;
        }
        tokio::select! {
            code = run(cli) => code,
            code = signalled() => {
                let what = if code == exit::TERMINATED { "terminated (SIGTERM)" } else { "interrupted" };
                eprintln!("crossdock: {what}; nothing half-written was tagged — rerun the same command to finish");
                if output == OutputFormat::Json {
                    output::stdout_line(&serde_json::json!({"error": what, "exit_code": code}).to_string());
                }
                code
            }
        }
    })
}

/// Waits for SIGINT (exit 130) or SIGTERM (exit 143).
async fn signalled() -> i32 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => exit::INTERRUPTED,
                _ = term.recv() => exit::TERMINATED,
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    exit::INTERRUPTED
}

async fn run(cli: Cli) -> i32 {
    let g = &cli.global;
    if let Command::Completions(a) = &cli.command {
        output::completions(a.shell);
        return exit::OK;
    }
    // Blob streams per host: what the command's --jobs asks for.
    let permits = match &cli.command {
        Command::Copy(a) => a.jobs as usize,
        Command::Migrate(a) => a.jobs as usize,
        Command::Sync(a) => a.jobs as usize,
        Command::Bench(_) => 16,
        Command::Diff(_) => 8,
        _ => 4,
    };
    let result = match Context::new(g, permits) {
        Err(e) => Err(e.into()),
        Ok(ctx) => match &cli.command {
            Command::Copy(a) => copy::run(&ctx, a).await,
            Command::Migrate(a) => mirror::migrate(&ctx, a).await,
            Command::Sync(a) => mirror::sync(&ctx, a).await,
            Command::Diff(a) => mirror::diff_cmd(&ctx, a).await,
            Command::Ratelimit(a) => ratelimit::ratelimit(&ctx, a).await,
            Command::Compare(a) => compare::compare(&ctx, a).await,
            Command::Bench(a) => bench::bench(&ctx, a).await,
            Command::Ls(a) => ls::run(&ctx, a).await,
            Command::Inspect(a) => inspect::run(&ctx, a).await,
            Command::Rewrite(a) => rewrite::run(&ctx, a).await,
            Command::Completions(_) => Ok(()),
        },
    };
    match result {
        Ok(()) => exit::OK,
        Err(e) => report_error(g.output, &e),
    }
}

/// Exit code for an error chain.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if let Some(ce) = cause.downcast_ref::<crossdock::Error>() {
            return if ce.is_usage() {
                exit::USAGE
            } else if ce.is_auth() {
                exit::AUTH
            } else {
                exit::FAILED
            };
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return exit::USAGE;
        }
    }
    exit::FAILED
}

/// A failure whose details were already printed with the result (failed
/// images, tags out of sync): exit 1 without a second JSON object.
#[derive(Debug)]
pub struct Reported(pub String);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Reported {}

/// A usage error raised by the CLI itself.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn report_error(output: OutputFormat, e: &anyhow::Error) -> i32 {
    if let Some(o) = e.downcast_ref::<Reported>() {
        // The result (table or JSON) already said everything.
        eprintln!("crossdock: {}", output::clean(&o.to_string()));
        return exit::FAILED;
    }
    let code = exit_code(e);
    // Skip a cause whose text its parent already shows.
    let mut chain: Vec<String> = Vec::new();
    for c in e.chain() {
        let msg = c.to_string();
        if !chain.last().is_some_and(|prev| prev.contains(&msg)) {
            chain.push(msg);
        }
    }
    eprintln!("crossdock: error: {}", output::clean(&chain.join(": ")));
    if code == exit::USAGE {
        eprintln!("(usage error: see `crossdock --help`)");
    }
    if output == OutputFormat::Json {
        output::stdout_line(
            &serde_json::json!({"error": chain.join(": "), "exit_code": code}).to_string(),
        );
    }
    code
}
