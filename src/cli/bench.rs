//! `crossdock bench`: latency percentiles per operation, pull throughput per
//! concurrency (and push throughput to a scratch repository) for one or more
//! registries; tables and terminal charts, and with `--html` a report with
//! the registries side by side in grouped bar charts. The measuring is in
//! `crossdock::measure`; this file runs it and shows it.

use std::path::PathBuf;

use comfy_table::Table;
use serde::Serialize;

use crossdock::measure::{self, OpStats, Operation, PushResult, SampleBlob, Summary, Throughput};

use super::chart::{self, Bar, Chart, Group, GroupBar, Grouped};
use super::output::{bytes, table};
use super::ratelimit::remote_of;
use super::report::{self, Page};
use super::{Context, UsageError};

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Images to measure (one or more registries)
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Samples per latency measurement
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub samples: u32,
    /// Pull throughput at each of these concurrencies
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    pub concurrency: Vec<usize>,
    /// Also measure push throughput to this writable repository (random blobs, deleted afterwards where allowed)
    #[arg(long, value_name = "REPO")]
    pub push_to: Option<String>,
    /// Size of each pushed test blob in bytes
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub push_size: u64,
    /// Write a self-contained HTML report: tables, and the registries side by side in grouped bar charts (inline SVG, no network)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Serialize)]
struct BenchTarget {
    image: String,
    latency: Vec<OpStats>,
    sample_blob: Option<SampleBlob>,
    pulls_spent: u64,
    pull: Vec<Throughput>,
}

#[derive(Serialize)]
struct BenchOut {
    samples: u32,
    targets: Vec<BenchTarget>,
    push: Option<PushOut>,
}

#[derive(Serialize)]
struct PushOut {
    repository: String,
    blob_size: u64,
    results: Vec<PushResult>,
}

/// Runs `bench`.
pub async fn bench(ctx: &Context, a: &BenchArgs) -> anyhow::Result<()> {
    if a.concurrency.iter().any(|c| *c == 0 || *c > 256) {
        return Err(UsageError("--concurrency values must be between 1 and 256".into()).into());
    }
    let mut targets = Vec::new();
    // Who each registry saw (for the report; never a secret).
    let mut identities = Vec::new();
    for image in &a.images {
        let r = ctx.parse_ref(image).await?;
        let (remote, reference) = remote_of(ctx, &r)?;
        let before = remote.client.manifest_gets();
        let blob = measure::find_blob(&remote, &reference).await?;
        let latency =
            measure::latency(&remote, &reference, a.samples as usize, Some(&blob.digest)).await?;
        let mut pull = Vec::new();
        for c in &a.concurrency {
            pull.push(measure::pull_throughput(&remote, &blob, *c).await?);
        }
        identities.push((r.to_string(), remote.client.identity().await?));
        targets.push(BenchTarget {
            image: r.to_string(),
            latency,
            pulls_spent: remote.client.manifest_gets().saturating_sub(before),
            sample_blob: Some(blob),
            pull,
        });
    }
    let push = match &a.push_to {
        None => None,
        Some(repo) => {
            let r = ctx.parse_ref(repo).await?;
            let (remote, _) = remote_of(ctx, &r)?;
            let mut results = Vec::new();
            for c in &a.concurrency {
                results.push(measure::push_throughput(&remote, a.push_size, *c).await?);
            }
            let repository = format!("{}/{}", remote.client.name, remote.repo);
            identities.push((repository.clone(), remote.client.identity().await?));
            Some(PushOut {
                repository,
                blob_size: a.push_size,
                results,
            })
        }
    };
    let out = BenchOut {
        samples: a.samples,
        targets,
        push,
    };
    let tables = tables(&out);
    if let Some(path) = &a.html {
        html(&out, &tables, &identities).write(path)?;
        ctx.printer
            .note(&format!("report written to {}", path.display()));
    }
    ctx.printer.result(&out, || {
        let mut s = tables
            .iter()
            .map(|(title, t)| format!("{title}\n{}", ctx.printer.table(t)))
            .collect::<Vec<_>>()
            .join("\n");
        s.push('\n');
        for c in &terminal_charts(&out) {
            s += &ctx.printer.preformatted(&chart::terminal(c, 40));
        }
        s
    });
    Ok(())
}

fn ms(o: &OpStats, f: impl Fn(&Summary) -> f64) -> String {
    o.summary
        .as_ref()
        .map(|s| format!("{:.1}", f(s)))
        .unwrap_or_else(|| "-".into())
}

fn latency_table(t: &BenchTarget) -> Table {
    let mut tab = table();
    tab.set_header(["operation", "p50 ms", "p95 ms", "max ms", "n", "source"]);
    for o in &t.latency {
        tab.add_row([
            o.operation.to_string(),
            ms(o, |s| s.p50_ms),
            ms(o, |s| s.p95_ms),
            ms(o, |s| s.max_ms),
            o.summary
                .as_ref()
                .map(|s| s.n.to_string())
                .unwrap_or_default(),
            o.note.clone().unwrap_or_else(|| o.source.to_string()),
        ]);
    }
    tab
}

fn throughput_table(rows: &[Throughput]) -> Table {
    let mut tab = table();
    tab.set_header(["concurrency", "MB/s", "bytes", "seconds"]);
    for r in rows {
        tab.add_row([
            r.concurrency.to_string(),
            format!("{:.1}", r.mb_per_s),
            bytes(r.bytes),
            format!("{:.3}", r.seconds),
        ]);
    }
    tab
}

fn push_rows(p: &PushOut) -> Vec<Throughput> {
    p.results.iter().map(|r| r.throughput.clone()).collect()
}

/// Every table with its title line, in the order shown.
fn tables(out: &BenchOut) -> Vec<(String, Table)> {
    let mut tables = Vec::new();
    for t in &out.targets {
        tables.push((t.image.clone(), latency_table(t)));
        let pulls = if t.pulls_spent > 0 {
            format!(
                " ({} manifest GETs to find the sample blob — pulls on Docker Hub)",
                t.pulls_spent
            )
        } else {
            String::new()
        };
        let blob = t
            .sample_blob
            .as_ref()
            .map(|b| format!("{} {}", b.digest.short(), bytes(b.size)))
            .unwrap_or_default();
        tables.push((
            format!("pull throughput of {}, blob {blob}{pulls}", t.image),
            throughput_table(&t.pull),
        ));
    }
    if let Some(p) = &out.push {
        let rows = push_rows(p);
        let deleted: usize = p.results.iter().map(|r| r.deleted).sum();
        let left: usize = p.results.iter().map(|r| r.left).sum();
        tables.push((
            format!(
                "push throughput to {} ({} blobs of {}; {deleted} deleted afterwards, {left} left where the registry refuses deletes)",
                p.repository,
                rows.iter().map(|r| r.concurrency).sum::<usize>(),
                bytes(p.blob_size)
            ),
            throughput_table(&rows),
        ));
    }
    tables
}

/// The terminal's charts: one per registry and measurement.
fn terminal_charts(out: &BenchOut) -> Vec<Chart> {
    let mut charts = Vec::new();
    for t in &out.targets {
        charts.push(Chart {
            title: format!("{}: latency distribution (p50, p95, max)", t.image),
            unit: "ms".into(),
            bars: t
                .latency
                .iter()
                .filter_map(|o| o.summary.as_ref().map(|s| (o.operation.name(), s)))
                .flat_map(|(op, s)| {
                    [("p50", s.p50_ms), ("p95", s.p95_ms), ("max", s.max_ms)]
                        .into_iter()
                        .map(move |(q, v)| Bar {
                            label: format!("{op} {q}"),
                            value: v,
                        })
                })
                .collect(),
        });
        charts.push(Chart {
            title: format!("{}: pull throughput", t.image),
            unit: "MB/s".into(),
            bars: t
                .pull
                .iter()
                .map(|p| Bar {
                    label: format!("concurrency {}", p.concurrency),
                    value: p.mb_per_s,
                })
                .collect(),
        });
    }
    if let Some(p) = &out.push {
        charts.push(Chart {
            title: format!("{}: push throughput", p.repository),
            unit: "MB/s".into(),
            bars: push_rows(p)
                .iter()
                .map(|r| Bar {
                    label: format!("concurrency {}", r.concurrency),
                    value: r.mb_per_s,
                })
                .collect(),
        });
    }
    charts
}

/// Latency p50 and p95 per operation, the registries side by side.
fn latency_chart(out: &BenchOut) -> Grouped {
    let mut groups = Vec::new();
    for op in Operation::ALL {
        for (q, pick) in [
            ("p50", (|s: &Summary| s.p50_ms) as fn(&Summary) -> f64),
            ("p95", |s: &Summary| s.p95_ms),
        ] {
            groups.push(Group {
                label: format!("{op} {q}"),
                bars: out
                    .targets
                    .iter()
                    .map(|t| latency_bar(t.latency.iter().find(|o| o.operation == op), pick))
                    .collect(),
            });
        }
    }
    Grouped {
        title: "latency".into(),
        unit: "ms".into(),
        series: out.targets.iter().map(|t| t.image.clone()).collect(),
        groups,
    }
}

/// One latency bar: the number, or why there is none.
pub(super) fn latency_bar(o: Option<&OpStats>, pick: fn(&Summary) -> f64) -> GroupBar {
    match o {
        Some(o) => match &o.summary {
            Some(s) => GroupBar {
                value: Some(pick(s)),
                text: format!("{:.1} ms", pick(s)),
            },
            None => GroupBar {
                value: None,
                text: format!("n/a: {}", o.note.as_deref().unwrap_or("not measured")),
            },
        },
        None => GroupBar {
            value: None,
            text: "n/a: no image to sample".into(),
        },
    }
}

/// Throughput per concurrency, one series per registry.
fn throughput_chart(title: &str, series: Vec<String>, runs: &[&[Throughput]]) -> Grouped {
    let mut levels: Vec<usize> = runs
        .iter()
        .flat_map(|r| r.iter().map(|t| t.concurrency))
        .collect();
    levels.sort_unstable();
    levels.dedup();
    Grouped {
        title: title.into(),
        unit: "MB/s".into(),
        series,
        groups: levels
            .into_iter()
            .map(|c| Group {
                label: format!("concurrency {c}"),
                bars: runs
                    .iter()
                    .map(|r| match r.iter().find(|t| t.concurrency == c) {
                        Some(t) => GroupBar {
                            value: Some(t.mb_per_s),
                            text: format!("{:.1} MB/s", t.mb_per_s),
                        },
                        None => GroupBar {
                            value: None,
                            text: "n/a".into(),
                        },
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// The HTML report.
fn html(out: &BenchOut, tables: &[(String, Table)], identities: &[(String, String)]) -> Page {
    let mut page = Page::new("crossdock bench");
    page.fact("date", &report::now());
    for (what, who) in identities {
        page.fact(&format!("identity at {what}"), who);
    }
    page.fact(
        "samples",
        &format!("{} per latency measurement", out.samples),
    );
    page.heading("Latency");
    page.chart(&latency_chart(out));
    page.heading("Pull throughput");
    let runs: Vec<&[Throughput]> = out.targets.iter().map(|t| t.pull.as_slice()).collect();
    page.chart(&throughput_chart(
        "pull throughput",
        out.targets.iter().map(|t| t.image.clone()).collect(),
        &runs,
    ));
    if let Some(p) = &out.push {
        page.heading("Push throughput");
        let rows = push_rows(p);
        page.chart(&throughput_chart(
            "push throughput",
            vec![p.repository.clone()],
            &[rows.as_slice()],
        ));
    }
    page.heading("Tables");
    for (title, t) in tables {
        page.table(Some(title), t, |_| false);
    }
    page
}
