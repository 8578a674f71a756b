//! `crossdock rewrite`: flags, `ecr://` expansion of the map targets, then
//! the library's `rewrite::run`; prints the unified diff (default), writes
//! the files (`--write`) or gates CI (`--check`), with a summary of every
//! reference left alone; `-o json` lists every reference.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use crossdock::rewrite::map::Mapper;
use crossdock::rewrite::walk::Skipped;
use crossdock::rewrite::{self, edit, Outcome, Reference, Status};

use super::{Context, Reported};

/// Arguments of `rewrite`.
#[derive(Debug, clap::Args)]
pub struct RewriteArgs {
    /// Files and directories to scan (directories are walked; .gitignore is respected)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// SOURCE_PREFIX=MIRROR_PREFIX, repeatable; the longest matching prefix wins
    /// (e.g. docker.io/library=123456789012.dkr.ecr.us-east-1.amazonaws.com/hub)
    #[arg(long = "map", value_name = "FROM=TO", required = true)]
    pub maps: Vec<String>,
    /// Append the mirror's digest (HEAD on the mirror; the source must have the same digest)
    #[arg(long)]
    pub pin: bool,
    /// Apply the changes to the files (default: print a unified diff and write nothing)
    #[arg(long, conflicts_with = "check")]
    pub write: bool,
    /// Write nothing; exit 1 when a mapped reference is not yet as the rewrite would leave it
    #[arg(long)]
    pub check: bool,
}

/// What the run did with the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Diff,
    Write,
    Check,
}

#[derive(Serialize)]
struct Out<'a> {
    mode: Mode,
    pin: bool,
    files_scanned: usize,
    files_changed: Vec<&'a str>,
    written: bool,
    rewritten: usize,
    pinned: usize,
    current: usize,
    not_mirrored: usize,
    unmapped: usize,
    dynamic: usize,
    invalid: usize,
    outstanding: usize,
    references: &'a [Reference],
    skipped: &'a [Skipped],
    diff: String,
}

fn count(o: &Outcome, s: Status) -> usize {
    o.references.iter().filter(|r| r.status == s).count()
}

/// Summary line and the references left alone.
fn summary(o: &Outcome, out: &Out) -> String {
    let mut text = format!(
        "{} references in {} files: {} rewritten, {} pinned, {} already on the mirror, {} not mirrored, {} unmapped, {} dynamic, {} invalid; {} files {}",
        o.references.len(),
        o.scanned,
        out.rewritten,
        out.pinned,
        out.current,
        out.not_mirrored,
        out.unmapped,
        out.dynamic,
        out.invalid,
        o.changed.len(),
        match out.mode {
            Mode::Write => "written",
            Mode::Diff | Mode::Check => "would change",
        }
    );
    let left: Vec<&Reference> = o
        .references
        .iter()
        .filter(|r| {
            !matches!(
                r.status,
                Status::Rewritten | Status::Pinned | Status::Current
            )
        })
        .collect();
    if !left.is_empty() {
        text += "\nleft alone:";
        for r in left {
            text += &format!(
                "\n  {}:{}  {}  [{}]{}",
                r.file,
                r.line,
                r.old,
                r.status.as_str(),
                r.note
                    .as_deref()
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default()
            );
        }
    }
    if !o.skipped.is_empty() {
        text += "\nnot read:";
        for s in &o.skipped {
            text += &format!("\n  {}: {}", s.file, s.reason);
        }
    }
    text
}

pub async fn run(ctx: &Context, a: &RewriteArgs) -> anyhow::Result<()> {
    let mut pairs = Vec::new();
    for spec in &a.maps {
        let (from, to) = Mapper::split(spec)?;
        pairs.push((from, ctx.expand(&to).await?));
    }
    let mapper = Mapper::new(&pairs)?;
    let outcome = rewrite::run(&a.paths, &mapper, a.pin.then_some(&ctx.pool)).await?;
    let mode = match (a.write, a.check) {
        (true, _) => Mode::Write,
        (_, true) => Mode::Check,
        _ => Mode::Diff,
    };
    let diff: String = outcome
        .changed
        .iter()
        .map(|c| edit::unified_diff(&c.name, &c.before, &c.after))
        .collect();
    if mode == Mode::Write {
        for c in &outcome.changed {
            edit::write_atomic(&c.path, &c.after)?;
        }
    }
    let out = Out {
        mode,
        pin: a.pin,
        files_scanned: outcome.scanned,
        files_changed: outcome.changed.iter().map(|c| c.name.as_str()).collect(),
        written: mode == Mode::Write && !outcome.changed.is_empty(),
        rewritten: count(&outcome, Status::Rewritten),
        pinned: count(&outcome, Status::Pinned),
        current: count(&outcome, Status::Current),
        not_mirrored: count(&outcome, Status::NotMirrored),
        unmapped: count(&outcome, Status::Unmapped),
        dynamic: count(&outcome, Status::Dynamic),
        invalid: count(&outcome, Status::Invalid),
        outstanding: outcome.references.iter().filter(|r| r.outstanding).count(),
        references: &outcome.references,
        skipped: &outcome.skipped,
        diff,
    };
    let text = summary(&outcome, &out);
    if ctx.printer.json() {
        ctx.printer.result(&out, String::new);
    } else if mode == Mode::Diff {
        // stdout is the patch alone (`> fix.patch`, `patch -p0`); the summary goes to stderr.
        let mut stdout = std::io::stdout().lock();
        let _ = stdout
            .write_all(out.diff.as_bytes())
            .and_then(|()| stdout.flush());
        ctx.printer.note(&text);
    } else {
        let written: String = out
            .files_changed
            .iter()
            .filter(|_| mode == Mode::Write)
            .map(|f| format!("wrote {f}\n"))
            .collect();
        ctx.printer.result(&out, || format!("{written}{text}"));
    }
    if mode == Mode::Check && out.outstanding > 0 {
        let list: Vec<String> = outcome
            .references
            .iter()
            .filter(|r| r.outstanding)
            .map(|r| {
                format!(
                    "{}:{}  {} → {}",
                    r.file,
                    r.line,
                    r.old,
                    r.new.as_deref().unwrap_or(r.status.as_str())
                )
            })
            .collect();
        return Err(Reported(format!(
            "{} references still point at the source (run crossdock rewrite --write{}):\n  {}",
            out.outstanding,
            if a.pin { " --pin" } else { "" },
            list.join("\n  ")
        ))
        .into());
    }
    Ok(())
}
