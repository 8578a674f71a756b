# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_crossdock_global_optspecs
    string join \n config= o/output= q/quiet progress= profile= region= on-ratelimit= h/help V/version
end

function __fish_crossdock_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_crossdock_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_crossdock_using_subcommand
    set -l cmd (__fish_crossdock_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c crossdock -n "__fish_crossdock_needs_command" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_needs_command" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_needs_command" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_needs_command" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_needs_command" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_needs_command" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_needs_command" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_needs_command" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "copy" -d 'Copy an image (all platforms by default) from one registry or OCI layout to another'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "migrate" -d 'Migrate a whole namespace (e.g. Docker Hub → ECR): every repository and chosen tag, resumable'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "sync" -d 'Mirror the images listed in a YAML file (for CI); a no-op run costs HEADs only'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "diff" -d 'Compare tags and digests of a source and a mirror (HEAD only); exit 1 when not in sync'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "ratelimit" -d 'Show the pull rate limit of the current identity (Docker Hub by default); a HEAD, no pull spent'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "compare" -d 'Docker Hub vs ECR side by side: rate limits, cost for your repositories, latency measured now'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "bench" -d 'Benchmark registries: latency percentiles, pull/push throughput per concurrency, charts'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "ls" -d 'List the tags of a repository'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "inspect" -d 'Show a manifest: digest, media type, platforms, sizes'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "rewrite" -d 'Point image references in Kubernetes, Helm, Dockerfiles, compose, ECS and workflows at a mirror'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c crossdock -n "__fish_crossdock_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l platform -d 'Copy only these platforms (comma-separated os/arch[/variant]); the index is rewritten and its digest changes' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -s j -l jobs -d 'Concurrent blob streams' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l referrers-type -d 'Copy only referrers of this artifact type (repeatable), e.g. application/spdx+json' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l all-tags -d 'Copy every tag of the source repository'
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l dry-run -d 'Show what would move (manifests, blobs, bytes); write nothing'
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l create-repos -d 'Create the destination ECR repository first if it is missing (default settings)'
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -l no-referrers -d 'Do not copy signatures, SBOMs and attestations (referrers and cosign tags) with the images'
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand copy" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l repos -d 'Only repositories whose whole name (inside the namespace) matches this regex' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l exclude-repos -d 'Skip repositories whose whole name matches this regex' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l tags -d 'Only tags whose whole name matches this regex' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l semver -d 'Only tags that are versions in this semver range (e.g. \'>=1.2, <2\')' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l latest -d 'Only the N newest matching tags (by push time on Docker Hub, else by version)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l platform -d 'Copy only these platforms (comma-separated os/arch[/variant]); index digests then change' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -s j -l jobs -d 'Concurrent blob streams' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l images -d 'Images copied at once' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l shard -d 'Take only slice I of N of the plan (0 <= I < N), for parallel CI jobs' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l tag-mutability -d 'Tag mutability of created repositories' -r -f -a "MUTABLE\t''
IMMUTABLE\t''
IMMUTABLE_WITH_EXCLUSION\t''
MUTABLE_WITH_EXCLUSION\t''"
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l mutability-exclusion -d 'Wildcard tag filter excluded from the mutability mode (repeatable, ≤ 5)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l encryption -d 'Encryption of created repositories' -r -f -a "AES256\t''
KMS\t''"
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l kms-key -d 'KMS key (ARN or id) with --encryption KMS' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l lifecycle-policy -d 'Lifecycle policy JSON file for created repositories' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l repo-tag -d 'Resource tag KEY=VALUE for created repositories (repeatable)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l prices -d 'Prices and limits file overriding the built-in one (see data/prices.toml)' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l referrers-type -d 'Copy only referrers of this artifact type (repeatable), e.g. application/spdx+json' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l dry-run -d 'Show the plan: repositories, tags, bytes, Docker Hub pulls, ECR storage cost; write nothing'
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l no-create-repos -d 'Do not create missing ECR repositories'
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l scan-on-push -d 'Turn on scan on push for created repositories'
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l no-referrers -d 'Do not copy signatures, SBOMs and attestations (referrers and cosign tags) with the images'
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l prune -d 'After a successful run, delete destination tags the source no longer has (within the run\'s repositories and tag filters)'
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -l yes -d 'Confirm --prune\'s deletions (not needed with --dry-run, or when CI is set)'
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand migrate" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -s j -l jobs -d 'Concurrent blob streams' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l images -d 'Images copied at once' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l shard -d 'Take only slice I of N of the plan (0 <= I < N)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l prices -d 'Prices and limits file overriding the built-in one' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l watch -d 'Keep running: sync every INTERVAL (e.g. 15m; ±10 % jitter, never overlapping), re-reading FILE each cycle' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l listen -d 'With --watch: serve /healthz, /readyz and /metrics (Prometheus) on this address, e.g. 127.0.0.1:9464' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l grace -d 'With --watch: on SIGTERM/SIGINT, how long the blobs in flight may take to finish' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l referrers-type -d 'Copy only referrers of this artifact type (repeatable), e.g. application/spdx+json' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l dry-run -d 'Show what would be copied; write nothing'
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l no-referrers -d 'Do not copy signatures, SBOMs and attestations (referrers and cosign tags) with the images'
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l prune -d 'After a successful run, delete destination tags the source no longer has (within the run\'s repositories and tag filters)'
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -l yes -d 'Confirm --prune\'s deletions (not needed with --dry-run, or when CI is set)'
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand sync" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l repos -d 'Only repositories whose whole name (inside the namespace) matches this regex' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l exclude-repos -d 'Skip repositories whose whole name matches this regex' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l tags -d 'Only tags whose whole name matches this regex' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l semver -d 'Only tags that are versions in this semver range (e.g. \'>=1.2, <2\')' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l latest -d 'Only the N newest matching tags (by push time on Docker Hub, else by version)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l only-differences -d 'Only list tags that are not in sync'
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -l no-referrers -d 'Do not check that the images\' signatures, SBOMs and attestations are at the destination'
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand diff" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand ratelimit" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand ratelimit" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand ratelimit" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand ratelimit" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand ratelimit" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand ratelimit" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand ratelimit" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand ratelimit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand ratelimit" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l hub -d 'Docker Hub namespace or repository (docker.io/acme[/repo])' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l ecr -d 'ECR registry and prefix (ACCOUNT.dkr.ecr.REGION.amazonaws.com[/prefix], or ecr://prefix)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l pulls-per-month -d 'Pulls per month, for the transfer cost' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l egress -d 'Where those pulls go' -r -f -a "internet\t'To the internet'
same-region\t'To AWS compute in the same region'
cross-region\t'To another region'"
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l samples -d 'Samples per latency measurement' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l seats -d 'Docker Hub seats (Team and Business prices are per user)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l prices -d 'Prices and limits file overriding the built-in one' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l html -d 'Also write a self-contained HTML report: the tables, Docker Hub and ECR side by side in grouped bar charts, the risks highlighted (inline SVG, no network)' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -l throughput -d 'Also sample blob first byte and throughput (costs manifest GETs: pulls on Docker Hub; the table says how many)'
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand compare" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -l samples -d 'Samples per latency measurement' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -l concurrency -d 'Pull throughput at each of these concurrencies' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -l push-to -d 'Also measure push throughput to this writable repository (random blobs, deleted afterwards where allowed)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -l push-size -d 'Size of each pushed test blob in bytes' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -l html -d 'Write a self-contained HTML report: tables, and the registries side by side in grouped bar charts (inline SVG, no network)' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand bench" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand ls" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand ls" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand ls" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand ls" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand ls" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand ls" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand ls" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand ls" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -l raw -d 'Print the manifest\'s raw bytes instead of a summary'
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -l no-referrers -d 'Do not look for the image\'s referrers (signatures, SBOMs, attestations)'
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -l map -d 'SOURCE_PREFIX=MIRROR_PREFIX, repeatable; the longest matching prefix wins (e.g. docker.io/library=123456789012.dkr.ecr.us-east-1.amazonaws.com/hub)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -l pin -d 'Append the mirror\'s digest (HEAD on the mirror; the source must have the same digest)'
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -l write -d 'Apply the changes to the files (default: print a unified diff and write nothing)'
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -l check -d 'Write nothing; exit 1 when a mapped reference is not yet as the rewrite would leave it'
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand rewrite" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand completions" -l config -d 'Config file with per-registry settings [default: ~/.config/crossdock/config.toml]' -r -F
complete -c crossdock -n "__fish_crossdock_using_subcommand completions" -s o -l output -d 'Output format: human-readable text, one JSON object on stdout, or GitHub-flavoured Markdown tables' -r -f -a "text\t'Human-readable text and tables'
json\t'One JSON object on stdout'
markdown\t'Text with every table as a GitHub-flavoured Markdown table (for a migration plan or a pull request)'"
complete -c crossdock -n "__fish_crossdock_using_subcommand completions" -l progress -d 'Progress display: bars on a terminal, plain lines otherwise' -r -f -a "auto\t'Bars when stderr is a terminal, lines otherwise'
bars\t'Always bars'
lines\t'Always plain lines'
none\t'No progress output'"
complete -c crossdock -n "__fish_crossdock_using_subcommand completions" -l profile -d 'AWS profile for ECR (default: the AWS credential chain)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand completions" -l region -d 'AWS region for the ECR API (default: the registry host\'s region)' -r
complete -c crossdock -n "__fish_crossdock_using_subcommand completions" -l on-ratelimit -d 'When Docker Hub\'s pull limit runs out: wait for the window (checking with free HEADs) or fail' -r -f -a "wait\t'Pause until pulls are allowed again'
fail\t'Stop with an error'"
complete -c crossdock -n "__fish_crossdock_using_subcommand completions" -s q -l quiet -d 'Print nothing but errors (and the JSON result with --output json)'
complete -c crossdock -n "__fish_crossdock_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c crossdock -n "__fish_crossdock_using_subcommand completions" -s V -l version -d 'Print version'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "copy" -d 'Copy an image (all platforms by default) from one registry or OCI layout to another'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "migrate" -d 'Migrate a whole namespace (e.g. Docker Hub → ECR): every repository and chosen tag, resumable'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "sync" -d 'Mirror the images listed in a YAML file (for CI); a no-op run costs HEADs only'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "diff" -d 'Compare tags and digests of a source and a mirror (HEAD only); exit 1 when not in sync'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "ratelimit" -d 'Show the pull rate limit of the current identity (Docker Hub by default); a HEAD, no pull spent'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "compare" -d 'Docker Hub vs ECR side by side: rate limits, cost for your repositories, latency measured now'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "bench" -d 'Benchmark registries: latency percentiles, pull/push throughput per concurrency, charts'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "ls" -d 'List the tags of a repository'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "inspect" -d 'Show a manifest: digest, media type, platforms, sizes'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "rewrite" -d 'Point image references in Kubernetes, Helm, Dockerfiles, compose, ECS and workflows at a mirror'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c crossdock -n "__fish_crossdock_using_subcommand help; and not __fish_seen_subcommand_from copy migrate sync diff ratelimit compare bench ls inspect rewrite completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
