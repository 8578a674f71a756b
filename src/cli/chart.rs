//! Small charts for people who would rather look than read: horizontal bars
//! in the terminal (Unicode blocks), and a self-contained HTML report with
//! inline SVG bar charts (no scripts, no network).

/// One bar: a label and a value.
pub struct Bar {
    pub label: String,
    pub value: f64,
}

/// A titled group of bars with a unit.
pub struct Chart {
    pub title: String,
    pub unit: String,
    pub bars: Vec<Bar>,
}

/// Horizontal bars, `width` cells for the largest value.
pub fn terminal(c: &Chart, width: usize) -> String {
    let max = c.bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let label_w = c
        .bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!("{}\n", c.title);
    for b in &c.bars {
        let cells = if max > 0.0 {
            b.value / max * width as f64
        } else {
            0.0
        };
        let full = cells.floor() as usize;
        let eighths = ((cells - full as f64) * 8.0).round() as usize;
        let mut bar = "█".repeat(full);
        if eighths > 0 && full < width {
            bar.push(['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'][eighths.min(8) - 1]);
        }
        out += &format!("  {:<label_w$} │{bar} {:.1} {}\n", b.label, b.value, c.unit);
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One chart as an inline SVG (class `chart`, one `rect.bar` per bar).
pub fn svg(c: &Chart) -> String {
    let row = 26.0;
    let label_w = 220.0;
    let bar_w = 420.0;
    let h = 36.0 + row * c.bars.len() as f64;
    let max = c.bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let mut out = format!(
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">"#,
        w = label_w + bar_w + 120.0,
        t = esc(&c.title)
    );
    out += &format!(
        r#"<text x="0" y="18" class="title">{} ({})</text>"#,
        esc(&c.title),
        esc(&c.unit)
    );
    for (i, b) in c.bars.iter().enumerate() {
        let y = 30.0 + row * i as f64;
        let w = if max > 0.0 {
            (b.value / max * bar_w).max(1.0)
        } else {
            1.0
        };
        out += &format!(
            r#"<text x="0" y="{ty}" class="label">{l}</text><rect class="bar" x="{label_w}" y="{y}" width="{w:.1}" height="18"><title>{l}: {v:.2} {u}</title></rect><text x="{vx:.1}" y="{ty}" class="value">{v:.1}</text>"#,
            ty = y + 14.0,
            l = esc(&b.label),
            v = b.value,
            u = esc(&c.unit),
            vx = label_w + w + 6.0,
        );
    }
    out + "</svg>"
}

/// A self-contained HTML page: a heading, tables as preformatted text, and the charts.
pub fn html(title: &str, tables: &[String], charts: &[Chart]) -> String {
    let mut body = String::new();
    for t in tables {
        body += &format!("<pre>{}</pre>\n", esc(t));
    }
    for c in charts {
        body += &format!("<figure>{}</figure>\n", svg(c));
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{t}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
svg .bar {{ fill: #3b7dd8; }} svg text {{ font-size: 13px; fill: #222; }} svg .title {{ font-weight: 600; }}
</style></head>
<body><h1>{t}</h1>
{body}</body></html>
"#,
        t = esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            title: "p50 <latency>".into(),
            unit: "ms".into(),
            bars: vec![
                Bar {
                    label: "ping".into(),
                    value: 10.0,
                },
                Bar {
                    label: "HEAD".into(),
                    value: 5.0,
                },
            ],
        }
    }

    #[test]
    fn terminal_bars_scale() {
        let t = terminal(&chart(), 20);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[1].matches('█').count(), 20);
        assert_eq!(lines[2].matches('█').count(), 10);
    }

    #[test]
    fn svg_has_one_rect_per_bar_and_escapes() {
        let s = svg(&chart());
        assert_eq!(s.matches("<rect class=\"bar\"").count(), 2);
        assert!(s.contains("p50 &lt;latency&gt;"));
        let h = html("report", &["a < b".into()], &[chart()]);
        assert!(
            h.starts_with("<!DOCTYPE html>") && h.contains("a &lt; b") && !h.contains("<script")
        );
    }
}
