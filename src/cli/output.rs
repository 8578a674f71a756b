//! Where output goes: results on stdout (text, one JSON object, or text with
//! GitHub-flavoured Markdown tables), progress and notes on stderr, nothing
//! but errors with `--quiet`; plus table, byte and duration formatting and
//! completion-script generation.

use std::borrow::Cow;
use std::io::IsTerminal;

use clap::CommandFactory;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde::Serialize;

use super::{Cli, OutputFormat, ProgressMode};

/// Decides what is printed where.
#[derive(Clone, Copy, Debug)]
pub struct Printer {
    /// Output format.
    pub format: OutputFormat,
    /// Errors only.
    pub quiet: bool,
    /// Progress style actually in use.
    pub progress: ProgressStyle,
}

/// The resolved progress style.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressStyle {
    /// indicatif bars on stderr.
    Bars,
    /// One line per event on stderr.
    Lines,
    /// Nothing.
    Off,
}

impl Printer {
    /// Resolves the progress mode against the terminal and quiet flag.
    pub fn new(format: OutputFormat, quiet: bool, mode: ProgressMode) -> Self {
        let progress = match (quiet, mode) {
            (true, _) | (_, ProgressMode::None) => ProgressStyle::Off,
            (_, ProgressMode::Bars) => ProgressStyle::Bars,
            (_, ProgressMode::Lines) => ProgressStyle::Lines,
            (_, ProgressMode::Auto) if std::io::stderr().is_terminal() => ProgressStyle::Bars,
            (_, ProgressMode::Auto) => ProgressStyle::Lines,
        };
        Printer {
            format,
            quiet,
            progress,
        }
    }

    /// Whether results are JSON.
    pub fn json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Whether tables are Markdown.
    pub fn markdown(&self) -> bool {
        self.format == OutputFormat::Markdown
    }

    /// A table as this output shows it: box drawing for text, GitHub-flavoured
    /// Markdown with `--output markdown`.
    pub fn table(&self, t: &Table) -> String {
        if self.markdown() {
            // blank lines around: a table must not run into a paragraph
            format!("\n{}", markdown(t))
        } else {
            t.to_string()
        }
    }

    /// Text that is not a table (a terminal chart): as is, or fenced in Markdown.
    pub fn preformatted(&self, s: &str) -> String {
        if self.markdown() {
            format!("```text\n{}\n```\n", s.trim_end())
        } else {
            s.to_string()
        }
    }

    /// Prints the JSON result (json mode) or the text (text mode, unless quiet).
    pub fn result<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) {
        if self.json() {
            match serde_json::to_string_pretty(value) {
                Ok(s) => stdout_line(&s),
                Err(e) => eprintln!("crossdock: cannot encode the result as JSON: {e}"),
            }
        } else if !self.quiet {
            let t = text();
            let t = if self.markdown() {
                t.trim()
            } else {
                t.trim_end()
            };
            if !t.is_empty() {
                stdout_line(&clean(t));
            }
        }
    }

    /// A note on stderr (not in quiet mode).
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{}", clean(msg));
        }
    }
}

/// A new table in the house style.
pub fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t
}

/// One Markdown table cell: pipes escaped, line breaks as `<br>`.
fn md_cell(s: &str) -> String {
    let s = s.trim().replace('\\', "\\\\").replace('|', "\\|");
    let s = s.replace("\r\n", "\n").replace('\n', "<br>");
    if s.is_empty() {
        " ".into()
    } else {
        s
    }
}

/// A table as GitHub-flavoured Markdown (header, `---` separator, rows).
pub fn markdown(t: &Table) -> String {
    let cells = |r: &comfy_table::Row| -> Vec<String> {
        r.cell_iter().map(|c| md_cell(&c.content())).collect()
    };
    let rows: Vec<Vec<String>> = t.row_iter().map(cells).collect();
    let header = t
        .header()
        .map(cells)
        .unwrap_or_else(|| vec![" ".to_string(); rows.iter().map(Vec::len).max().unwrap_or(1)]);
    let width = rows
        .iter()
        .map(Vec::len)
        .chain([header.len()])
        .max()
        .unwrap_or(1);
    let line = |r: &[String]| -> String {
        let mut v: Vec<String> = r.to_vec();
        v.resize(width, " ".into());
        format!("| {} |\n", v.join(" | "))
    };
    let mut out = line(&header);
    out += &format!("|{}\n", "---|".repeat(width));
    for r in &rows {
        out += &line(r);
    }
    out
}

/// Text for a terminal: control characters (escape sequences, carriage
/// returns, bells) and bidirectional overrides from servers are removed;
/// newlines and tabs stay. JSON output needs none of this (it escapes them).
pub fn clean(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if s.chars().any(bad) {
        Cow::Owned(s.chars().filter(|c| !bad(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Writes a line to stdout; a closed pipe (`crossdock ls | head`) is not an error.
pub fn stdout_line(s: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}").and_then(|()| out.flush());
}

/// `12.3 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Writes the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "crossdock", &mut std::io::stdout());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_terminal_controls() {
        assert_eq!(
            clean("a\u{1b}]0;pwned\u{7}b\u{1b}[2Jc\rd"),
            "a]0;pwnedb[2Jcd"
        );
        assert_eq!(clean("x\u{202e}y\u{9b}z"), "xyz");
        assert_eq!(clean("line 1\n\tline 2 │ ─"), "line 1\n\tline 2 │ ─");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn formats_bytes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(64 * 1024 * 1024), "64.0 MiB");
    }

    #[test]
    fn markdown_tables_escape_pipes_and_newlines() {
        let mut t = table();
        t.set_header(["feature", "Docker Hub"]);
        t.add_row(["a|b", "one\ntwo"]);
        t.add_row(["", "x"]);
        assert_eq!(
            markdown(&t),
            "| feature | Docker Hub |\n|---|---|\n| a\\|b | one<br>two |\n|   | x |\n"
        );
    }
}
