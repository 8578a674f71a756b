//! The copy engine's [`Reporter`] for the terminal: indicatif bars (one per
//! active blob plus an overall bytes bar with rate and ETA) when stderr is a
//! terminal, one plain line per event otherwise, nothing when quiet.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle as Style};

use crossdock::copy::{BlobOutcome, Reporter};
use crossdock::types::Digest;
use crossdock::Error;

use super::output::{bytes, clean, ProgressStyle};

/// Progress for a copy run.
pub struct Progress {
    style: ProgressStyle,
    multi: MultiProgress,
    overall: Mutex<Option<ProgressBar>>,
    bars: Mutex<HashMap<Digest, ProgressBar>>,
}

/// A spinner (terminal) or a line (otherwise) for a phase with no byte count,
/// such as listing a namespace; cleared when dropped.
pub struct Phase(Option<ProgressBar>);

impl Phase {
    /// Starts showing `msg`.
    pub fn start(style: ProgressStyle, msg: &str) -> Phase {
        match style {
            ProgressStyle::Bars => {
                let bar = ProgressBar::new_spinner();
                bar.set_draw_target(ProgressDrawTarget::stderr());
                bar.set_style(template("{spinner} {msg} {elapsed}"));
                bar.set_message(clean(msg).into_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                Phase(Some(bar))
            }
            ProgressStyle::Lines => {
                eprintln!("{}", clean(msg));
                Phase(None)
            }
            ProgressStyle::Off => Phase(None),
        }
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(b) = self.0.take() {
            b.finish_and_clear();
        }
    }
}

impl Progress {
    /// Progress in the given style.
    pub fn new(style: ProgressStyle) -> Self {
        let multi = MultiProgress::with_draw_target(if style == ProgressStyle::Bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Progress {
            style,
            multi,
            overall: Mutex::new(None),
            bars: Mutex::new(HashMap::new()),
        }
    }

    /// Removes every bar (before the summary is printed).
    pub fn finish(&self) {
        if let Ok(mut o) = self.overall.lock() {
            if let Some(b) = o.take() {
                b.finish_and_clear();
            }
        }
        if let Ok(mut bars) = self.bars.lock() {
            for (_, b) in bars.drain() {
                b.finish_and_clear();
            }
        }
        let _ = self.multi.clear();
    }

    fn line(&self, msg: String) {
        let msg = clean(&msg);
        match self.style {
            ProgressStyle::Lines => eprintln!("{msg}"),
            ProgressStyle::Bars => {
                let _ = self.multi.println(msg.as_ref());
            }
            ProgressStyle::Off => {}
        }
    }
}

fn template(s: &str) -> Style {
    Style::with_template(s).unwrap_or_else(|_| Style::default_bar())
}

impl Reporter for Progress {
    fn planned(&self, blobs: usize, total: u64) {
        match self.style {
            ProgressStyle::Bars => {
                let Ok(mut o) = self.overall.lock() else {
                    return;
                };
                // Several images of one run share the overall bar: it grows.
                if let Some(bar) = o.as_ref() {
                    bar.inc_length(total);
                    return;
                }
                let bar = self.multi.add(ProgressBar::new(total));
                bar.set_style(template(
                    "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                ));
                bar.set_prefix("total");
                bar.enable_steady_tick(Duration::from_millis(200));
                *o = Some(bar);
            }
            ProgressStyle::Lines => eprintln!("copying {blobs} blobs ({})", bytes(total)),
            ProgressStyle::Off => {}
        }
    }

    fn blob_started(&self, d: &Digest, size: u64) {
        if self.style != ProgressStyle::Bars {
            return;
        }
        let bar = self.multi.add(ProgressBar::new(size));
        bar.set_style(template(
            "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        ));
        bar.set_prefix(d.hex().chars().take(10).collect::<String>());
        if let Ok(mut bars) = self.bars.lock() {
            if let Some(old) = bars.insert(d.clone(), bar) {
                // A retried blob starts over: the old bar's bytes are undone.
                if let Ok(o) = self.overall.lock() {
                    if let Some(ob) = o.as_ref() {
                        ob.set_position(ob.position().saturating_sub(old.position()));
                    }
                }
                old.finish_and_clear();
            }
        }
    }

    fn blob_progress(&self, d: &Digest, delta: u64) {
        if self.style != ProgressStyle::Bars {
            return;
        }
        if let Ok(bars) = self.bars.lock() {
            if let Some(b) = bars.get(d) {
                b.inc(delta);
            }
        }
        if let Ok(o) = self.overall.lock() {
            if let Some(b) = o.as_ref() {
                b.inc(delta);
            }
        }
    }

    fn blob_finished(&self, d: &Digest, size: u64, outcome: BlobOutcome) {
        if let Ok(mut bars) = self.bars.lock() {
            if let Some(b) = bars.remove(d) {
                b.finish_and_clear();
            }
        }
        let verb = match outcome {
            BlobOutcome::Copied => "copied",
            BlobOutcome::Skipped => "exists",
            BlobOutcome::Mounted => "mounted",
        };
        self.line(format!("{verb:>8} {} {}", d.short(), bytes(size)));
    }

    fn blob_retry(&self, d: &Digest, attempt: u32, err: &Error) {
        self.line(format!(
            "   retry {} after attempt {attempt}: {err}",
            d.short()
        ));
    }

    fn manifest_pushed(&self, d: &Digest, reference: &str) {
        let what = if reference == d.as_str() {
            "manifest".to_string()
        } else {
            format!("tagged {reference}")
        };
        self.line(format!("{:>8} {} {what}", "pushed", d.short()));
    }

    fn note(&self, msg: &str) {
        match self.style {
            ProgressStyle::Off => {}
            _ => self.line(format!("note: {msg}")),
        }
    }
}
