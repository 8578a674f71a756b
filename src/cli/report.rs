//! The HTML reports of `compare --html` and `bench --html`: one
//! self-contained file a person looks at instead of reading — the date, the
//! identities and the prices file first, then grouped bar charts (inline SVG
//! from `chart`) and real HTML tables, rows at risk highlighted. No scripts,
//! no stylesheet or font fetched, no link followed: it opens offline.
//!
//! Owns the page, its CSS and the table markup; the commands decide what goes
//! in. Imports comfy-table (the tables the text output prints) and `chart`.

use std::path::Path;

use comfy_table::Table;

use super::chart::{self, esc, Grouped};
use super::UsageError;

const CSS: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 2em auto; max-width: 1100px; padding: 0 1em; }
h1 { margin-bottom: .2em; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: 1em 0; }
dl.meta dt { font-weight: 600; color: #555; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
p.verdict { font-size: 1.05em; background: #f4f7fb; border-left: 4px solid #1d63ed; padding: .6em 1em; }
ul.risks li { color: #a61b1b; }
figure { margin: 1em 0; }
svg.chart { max-width: 100%; height: auto; }
svg text { font-size: 13px; fill: #222; }
svg .title { font-size: 15px; font-weight: 600; }
svg .value.na { fill: #777; font-style: italic; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1.5em; font-size: 14px; }
caption { text-align: left; font-weight: 600; padding: .3em 0; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: anywhere; min-width: 5.5em; }
td:first-child { min-width: 10em; }
th { background: #f2f2f2; }
tr.risk td { background: #fdecea; }
tr.risk td:first-child { border-left: 4px solid #d62728; font-weight: 600; }
span.badge { display: inline-block; margin-left: .5em; padding: 0 .4em; border-radius: 3px; background: #d62728; color: #fff; font-size: 11px; font-weight: 600; }
"#;

/// A report being assembled.
pub struct Page {
    title: String,
    facts: Vec<(String, String)>,
    body: String,
}

impl Page {
    /// An empty page.
    pub fn new(title: &str) -> Self {
        Page {
            title: title.to_string(),
            facts: Vec::new(),
            body: String::new(),
        }
    }

    /// A line of the header (`date`, `identity`, `prices file`).
    pub fn fact(&mut self, label: &str, value: &str) {
        self.facts.push((label.to_string(), value.to_string()));
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) {
        self.body += &format!("<h2>{}</h2>\n", esc(text));
    }

    /// A paragraph with a class.
    pub fn paragraph(&mut self, class: &str, text: &str) {
        self.body += &format!("<p class=\"{}\">{}</p>\n", esc(class), esc(text));
    }

    /// A bulleted list with a class (nothing when empty).
    pub fn list(&mut self, class: &str, items: &[String]) {
        if items.is_empty() {
            return;
        }
        self.body += &format!("<ul class=\"{}\">\n", esc(class));
        for i in items {
            self.body += &format!("<li>{}</li>\n", esc(i));
        }
        self.body += "</ul>\n";
    }

    /// A grouped bar chart.
    pub fn chart(&mut self, c: &Grouped) {
        self.body += &format!("<figure>{}</figure>\n", chart::svg(c));
    }

    /// A table as HTML: the header, then one row per table row; rows
    /// `at_risk` accepts get class `risk` and a badge.
    pub fn table(&mut self, caption: Option<&str>, t: &Table, at_risk: impl Fn(&[String]) -> bool) {
        self.body += "<table>\n";
        if let Some(c) = caption {
            self.body += &format!("<caption>{}</caption>\n", esc(c));
        }
        if let Some(h) = t.header() {
            self.body += "<thead><tr>";
            for c in h.cell_iter() {
                self.body += &format!("<th scope=\"col\">{}</th>", esc(&c.content()));
            }
            self.body += "</tr></thead>\n";
        }
        self.body += "<tbody>\n";
        for r in t.row_iter() {
            let cells: Vec<String> = r.cell_iter().map(|c| c.content()).collect();
            let risk = at_risk(&cells);
            self.body += if risk { "<tr class=\"risk\">" } else { "<tr>" };
            for (i, c) in cells.iter().enumerate() {
                let badge = if risk && i == 0 {
                    "<span class=\"badge\">risk</span>"
                } else {
                    ""
                };
                // Line breaks inside a cell stay line breaks.
                let text = esc(c).replace('\n', "<br>");
                self.body += &format!("<td>{text}{badge}</td>");
            }
            self.body += "</tr>\n";
        }
        self.body += "</tbody></table>\n";
    }

    /// The whole document.
    pub fn html(&self) -> String {
        let mut meta = String::new();
        if !self.facts.is_empty() {
            meta += "<dl class=\"meta\">\n";
            for (k, v) in &self.facts {
                meta += &format!("<dt>{}</dt><dd>{}</dd>\n", esc(k), esc(v));
            }
            meta += "</dl>\n";
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{t}</title>\n<style>{CSS}</style></head>\n<body>\n<h1>{t}</h1>\n{meta}{body}</body></html>\n",
            t = esc(&self.title),
            body = self.body,
        )
    }

    /// Writes the document to `path`.
    pub fn write(&self, path: &Path) -> Result<(), UsageError> {
        std::fs::write(path, self.html())
            .map_err(|e| UsageError(format!("--html {}: {e}", path.display())))
    }
}

/// Now, as a report shows it (`Sat, 28 Nov 2026 06:16:33 GMT`).
pub fn now() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::output::table;

    #[test]
    fn tables_are_html_with_risky_rows_marked_and_everything_escaped() {
        let mut t = table();
        t.set_header(["features", "Docker Hub", "Amazon ECR"]);
        t.add_row(["visibility", "2 public", "policy grants \"*\" <all>"]);
        t.add_row(["encryption", "a\nb", "AES256"]);
        let mut p = Page::new("crossdock <compare>");
        p.fact("prices file", "built-in & dated");
        p.table(Some("features"), &t, |cells| cells[0] == "visibility");
        let h = p.html();
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains("<title>crossdock &lt;compare&gt;</title>"));
        assert!(h.contains("<dt>prices file</dt><dd>built-in &amp; dated</dd>"));
        assert!(h.contains("<th scope=\"col\">Amazon ECR</th>"));
        assert_eq!(h.matches("<tr class=\"risk\">").count(), 1);
        assert!(
            h.contains("<tr class=\"risk\"><td>visibility<span class=\"badge\">risk</span></td>")
        );
        assert!(h.contains("policy grants &quot;*&quot; &lt;all&gt;"));
        assert!(h.contains("<td>a<br>b</td>"));
        assert!(!h.contains("<script") && !h.contains("http://") && !h.contains("https://"));
    }
}
