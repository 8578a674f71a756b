
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'crossdock' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'crossdock'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'crossdock' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy an image (all platforms by default) from one registry or OCI layout to another')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Migrate a whole namespace (e.g. Docker Hub → ECR): every repository and chosen tag, resumable')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Mirror the images listed in a YAML file (for CI); a no-op run costs HEADs only')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Compare tags and digests of a source and a mirror (HEAD only); exit 1 when not in sync')
            [CompletionResult]::new('ratelimit', 'ratelimit', [CompletionResultType]::ParameterValue, 'Show the pull rate limit of the current identity (Docker Hub by default); a HEAD, no pull spent')
            [CompletionResult]::new('compare', 'compare', [CompletionResultType]::ParameterValue, 'Docker Hub vs ECR side by side: rate limits, cost for your repositories, latency measured now')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Benchmark registries: latency percentiles, pull/push throughput per concurrency, charts')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the tags of a repository')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show a manifest: digest, media type, platforms, sizes')
            [CompletionResult]::new('rewrite', 'rewrite', [CompletionResultType]::ParameterValue, 'Point image references in Kubernetes, Helm, Dockerfiles, compose, ECS and workflows at a mirror')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crossdock;copy' {
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Copy only these platforms (comma-separated os/arch[/variant]); the index is rewritten and its digest changes')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Concurrent blob streams')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Concurrent blob streams')
            [CompletionResult]::new('--referrers-type', '--referrers-type', [CompletionResultType]::ParameterName, 'Copy only referrers of this artifact type (repeatable), e.g. application/spdx+json')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('--all-tags', '--all-tags', [CompletionResultType]::ParameterName, 'Copy every tag of the source repository')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would move (manifests, blobs, bytes); write nothing')
            [CompletionResult]::new('--create-repos', '--create-repos', [CompletionResultType]::ParameterName, 'Create the destination ECR repository first if it is missing (default settings)')
            [CompletionResult]::new('--no-referrers', '--no-referrers', [CompletionResultType]::ParameterName, 'Do not copy signatures, SBOMs and attestations (referrers and cosign tags) with the images')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;migrate' {
            [CompletionResult]::new('--repos', '--repos', [CompletionResultType]::ParameterName, 'Only repositories whose whole name (inside the namespace) matches this regex')
            [CompletionResult]::new('--exclude-repos', '--exclude-repos', [CompletionResultType]::ParameterName, 'Skip repositories whose whole name matches this regex')
            [CompletionResult]::new('--tags', '--tags', [CompletionResultType]::ParameterName, 'Only tags whose whole name matches this regex')
            [CompletionResult]::new('--semver', '--semver', [CompletionResultType]::ParameterName, 'Only tags that are versions in this semver range (e.g. ''>=1.2, <2'')')
            [CompletionResult]::new('--latest', '--latest', [CompletionResultType]::ParameterName, 'Only the N newest matching tags (by push time on Docker Hub, else by version)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Copy only these platforms (comma-separated os/arch[/variant]); index digests then change')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Concurrent blob streams')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Concurrent blob streams')
            [CompletionResult]::new('--images', '--images', [CompletionResultType]::ParameterName, 'Images copied at once')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Take only slice I of N of the plan (0 <= I < N), for parallel CI jobs')
            [CompletionResult]::new('--tag-mutability', '--tag-mutability', [CompletionResultType]::ParameterName, 'Tag mutability of created repositories')
            [CompletionResult]::new('--mutability-exclusion', '--mutability-exclusion', [CompletionResultType]::ParameterName, 'Wildcard tag filter excluded from the mutability mode (repeatable, ≤ 5)')
            [CompletionResult]::new('--encryption', '--encryption', [CompletionResultType]::ParameterName, 'Encryption of created repositories')
            [CompletionResult]::new('--kms-key', '--kms-key', [CompletionResultType]::ParameterName, 'KMS key (ARN or id) with --encryption KMS')
            [CompletionResult]::new('--lifecycle-policy', '--lifecycle-policy', [CompletionResultType]::ParameterName, 'Lifecycle policy JSON file for created repositories')
            [CompletionResult]::new('--repo-tag', '--repo-tag', [CompletionResultType]::ParameterName, 'Resource tag KEY=VALUE for created repositories (repeatable)')
            [CompletionResult]::new('--prices', '--prices', [CompletionResultType]::ParameterName, 'Prices and limits file overriding the built-in one (see data/prices.toml)')
            [CompletionResult]::new('--referrers-type', '--referrers-type', [CompletionResultType]::ParameterName, 'Copy only referrers of this artifact type (repeatable), e.g. application/spdx+json')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan: repositories, tags, bytes, Docker Hub pulls, ECR storage cost; write nothing')
            [CompletionResult]::new('--no-create-repos', '--no-create-repos', [CompletionResultType]::ParameterName, 'Do not create missing ECR repositories')
            [CompletionResult]::new('--scan-on-push', '--scan-on-push', [CompletionResultType]::ParameterName, 'Turn on scan on push for created repositories')
            [CompletionResult]::new('--no-referrers', '--no-referrers', [CompletionResultType]::ParameterName, 'Do not copy signatures, SBOMs and attestations (referrers and cosign tags) with the images')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'After a successful run, delete destination tags the source no longer has (within the run''s repositories and tag filters)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Confirm --prune''s deletions (not needed with --dry-run, or when CI is set)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;sync' {
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Concurrent blob streams')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Concurrent blob streams')
            [CompletionResult]::new('--images', '--images', [CompletionResultType]::ParameterName, 'Images copied at once')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Take only slice I of N of the plan (0 <= I < N)')
            [CompletionResult]::new('--prices', '--prices', [CompletionResultType]::ParameterName, 'Prices and limits file overriding the built-in one')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Keep running: sync every INTERVAL (e.g. 15m; ±10 % jitter, never overlapping), re-reading FILE each cycle')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'With --watch: serve /healthz, /readyz and /metrics (Prometheus) on this address, e.g. 127.0.0.1:9464')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'With --watch: on SIGTERM/SIGINT, how long the blobs in flight may take to finish')
            [CompletionResult]::new('--referrers-type', '--referrers-type', [CompletionResultType]::ParameterName, 'Copy only referrers of this artifact type (repeatable), e.g. application/spdx+json')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would be copied; write nothing')
            [CompletionResult]::new('--no-referrers', '--no-referrers', [CompletionResultType]::ParameterName, 'Do not copy signatures, SBOMs and attestations (referrers and cosign tags) with the images')
            [CompletionResult]::new('--prune', '--prune', [CompletionResultType]::ParameterName, 'After a successful run, delete destination tags the source no longer has (within the run''s repositories and tag filters)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Confirm --prune''s deletions (not needed with --dry-run, or when CI is set)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;diff' {
            [CompletionResult]::new('--repos', '--repos', [CompletionResultType]::ParameterName, 'Only repositories whose whole name (inside the namespace) matches this regex')
            [CompletionResult]::new('--exclude-repos', '--exclude-repos', [CompletionResultType]::ParameterName, 'Skip repositories whose whole name matches this regex')
            [CompletionResult]::new('--tags', '--tags', [CompletionResultType]::ParameterName, 'Only tags whose whole name matches this regex')
            [CompletionResult]::new('--semver', '--semver', [CompletionResultType]::ParameterName, 'Only tags that are versions in this semver range (e.g. ''>=1.2, <2'')')
            [CompletionResult]::new('--latest', '--latest', [CompletionResultType]::ParameterName, 'Only the N newest matching tags (by push time on Docker Hub, else by version)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('--only-differences', '--only-differences', [CompletionResultType]::ParameterName, 'Only list tags that are not in sync')
            [CompletionResult]::new('--no-referrers', '--no-referrers', [CompletionResultType]::ParameterName, 'Do not check that the images'' signatures, SBOMs and attestations are at the destination')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;ratelimit' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;compare' {
            [CompletionResult]::new('--hub', '--hub', [CompletionResultType]::ParameterName, 'Docker Hub namespace or repository (docker.io/acme[/repo])')
            [CompletionResult]::new('--ecr', '--ecr', [CompletionResultType]::ParameterName, 'ECR registry and prefix (ACCOUNT.dkr.ecr.REGION.amazonaws.com[/prefix], or ecr://prefix)')
            [CompletionResult]::new('--pulls-per-month', '--pulls-per-month', [CompletionResultType]::ParameterName, 'Pulls per month, for the transfer cost')
            [CompletionResult]::new('--egress', '--egress', [CompletionResultType]::ParameterName, 'Where those pulls go')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'Samples per latency measurement')
            [CompletionResult]::new('--seats', '--seats', [CompletionResultType]::ParameterName, 'Docker Hub seats (Team and Business prices are per user)')
            [CompletionResult]::new('--prices', '--prices', [CompletionResultType]::ParameterName, 'Prices and limits file overriding the built-in one')
            [CompletionResult]::new('--html', '--html', [CompletionResultType]::ParameterName, 'Also write a self-contained HTML report: the tables, Docker Hub and ECR side by side in grouped bar charts, the risks highlighted (inline SVG, no network)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('--throughput', '--throughput', [CompletionResultType]::ParameterName, 'Also sample blob first byte and throughput (costs manifest GETs: pulls on Docker Hub; the table says how many)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;bench' {
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'Samples per latency measurement')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Pull throughput at each of these concurrencies')
            [CompletionResult]::new('--push-to', '--push-to', [CompletionResultType]::ParameterName, 'Also measure push throughput to this writable repository (random blobs, deleted afterwards where allowed)')
            [CompletionResult]::new('--push-size', '--push-size', [CompletionResultType]::ParameterName, 'Size of each pushed test blob in bytes')
            [CompletionResult]::new('--html', '--html', [CompletionResultType]::ParameterName, 'Write a self-contained HTML report: tables, and the registries side by side in grouped bar charts (inline SVG, no network)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;ls' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;inspect' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Print the manifest''s raw bytes instead of a summary')
            [CompletionResult]::new('--no-referrers', '--no-referrers', [CompletionResultType]::ParameterName, 'Do not look for the image''s referrers (signatures, SBOMs, attestations)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;rewrite' {
            [CompletionResult]::new('--map', '--map', [CompletionResultType]::ParameterName, 'SOURCE_PREFIX=MIRROR_PREFIX, repeatable; the longest matching prefix wins (e.g. docker.io/library=123456789012.dkr.ecr.us-east-1.amazonaws.com/hub)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'Append the mirror''s digest (HEAD on the mirror; the source must have the same digest)')
            [CompletionResult]::new('--write', '--write', [CompletionResultType]::ParameterName, 'Apply the changes to the files (default: print a unified diff and write nothing)')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Write nothing; exit 1 when a mapped reference is not yet as the rewrite would leave it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;completions' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Progress display: bars on a terminal, plain lines otherwise')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'AWS profile for ECR (default: the AWS credential chain)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'AWS region for the ECR API (default: the registry host''s region)')
            [CompletionResult]::new('--on-ratelimit', '--on-ratelimit', [CompletionResultType]::ParameterName, 'When Docker Hub''s pull limit runs out: wait for the window (checking with free HEADs) or fail')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing but errors (and the JSON result with --output json)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'crossdock;help' {
            [CompletionResult]::new('copy', 'copy', [CompletionResultType]::ParameterValue, 'Copy an image (all platforms by default) from one registry or OCI layout to another')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Migrate a whole namespace (e.g. Docker Hub → ECR): every repository and chosen tag, resumable')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Mirror the images listed in a YAML file (for CI); a no-op run costs HEADs only')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Compare tags and digests of a source and a mirror (HEAD only); exit 1 when not in sync')
            [CompletionResult]::new('ratelimit', 'ratelimit', [CompletionResultType]::ParameterValue, 'Show the pull rate limit of the current identity (Docker Hub by default); a HEAD, no pull spent')
            [CompletionResult]::new('compare', 'compare', [CompletionResultType]::ParameterValue, 'Docker Hub vs ECR side by side: rate limits, cost for your repositories, latency measured now')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Benchmark registries: latency percentiles, pull/push throughput per concurrency, charts')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the tags of a repository')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show a manifest: digest, media type, platforms, sizes')
            [CompletionResult]::new('rewrite', 'rewrite', [CompletionResultType]::ParameterValue, 'Point image references in Kubernetes, Helm, Dockerfiles, compose, ECS and workflows at a mirror')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'crossdock;help;copy' {
            break
        }
        'crossdock;help;migrate' {
            break
        }
        'crossdock;help;sync' {
            break
        }
        'crossdock;help;diff' {
            break
        }
        'crossdock;help;ratelimit' {
            break
        }
        'crossdock;help;compare' {
            break
        }
        'crossdock;help;bench' {
            break
        }
        'crossdock;help;ls' {
            break
        }
        'crossdock;help;inspect' {
            break
        }
        'crossdock;help;rewrite' {
            break
        }
        'crossdock;help;completions' {
            break
        }
        'crossdock;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
