//! Charts for people who would rather look than read: horizontal bars in
//! the terminal (Unicode blocks), and grouped bar charts as inline SVG for
//! the HTML reports — the registries side by side in every group, one colour
//! per registry and a legend (no scripts, no network).

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

/// Colours of the series, in order: Docker Hub's blue, then AWS orange (so
/// `compare`'s Docker Hub and ECR keep theirs), then others for `bench`.
pub const PALETTE: [&str; 6] = [
    "#1d63ed", "#ff9900", "#2e9e44", "#8e44ad", "#d62728", "#17a2b8",
];

/// The colour of series `i`.
pub fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// One bar of a group: its value (`None`: nothing to draw) and the text
/// beside it (the number with its unit, or why there is none).
pub struct GroupBar {
    pub value: Option<f64>,
    pub text: String,
}

/// A group of bars, one per series, side by side (`manifest HEAD p50`:
/// Docker Hub, Amazon ECR).
pub struct Group {
    pub label: String,
    pub bars: Vec<GroupBar>,
}

/// A grouped bar chart: series (registries) with a colour each and a legend.
pub struct Grouped {
    pub title: String,
    pub unit: String,
    pub series: Vec<String>,
    pub groups: Vec<Group>,
}

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const LABEL_W: f64 = 230.0;
const BAR_AREA: f64 = 470.0;
const BAR_H: f64 = 16.0;
const BAR_GAP: f64 = 2.0;
const GROUP_GAP: f64 = 14.0;
const LEGEND_ROW: f64 = 20.0;
const WIDTH: f64 = 960.0;

/// A grouped chart as inline SVG: class `chart grouped`, a `g.legend` with
/// one `g.legend-item` per series, then one `g.group` per group holding a
/// `rect.bar.series-N` per series with a value (filled with the series'
/// colour). Horizontal bars, all on one scale.
pub fn svg(c: &Grouped) -> String {
    let max = c
        .groups
        .iter()
        .flat_map(|g| g.bars.iter().filter_map(|b| b.value))
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let legend_top = 30.0;
    let top = legend_top + LEGEND_ROW * c.series.len() as f64 + 8.0;
    let group_h = (BAR_H + BAR_GAP) * c.series.len().max(1) as f64 + GROUP_GAP;
    let h = top + group_h * c.groups.len() as f64;
    let mut out = format!(
        r#"<svg class="chart grouped" width="{WIDTH}" height="{h}" viewBox="0 0 {WIDTH} {h}" role="img" aria-label="{t}">"#,
        t = esc(&c.title)
    );
    out += &format!(
        r#"<text x="0" y="18" class="title">{} ({})</text>"#,
        esc(&c.title),
        esc(&c.unit)
    );
    out += r#"<g class="legend">"#;
    for (i, name) in c.series.iter().enumerate() {
        let y = legend_top + LEGEND_ROW * i as f64;
        out += &format!(
            r#"<g class="legend-item" data-series="{n}"><rect class="swatch series-{i}" x="{LABEL_W}" y="{y}" width="14" height="14" fill="{col}"></rect><text x="{tx}" y="{ty}">{n}</text></g>"#,
            n = esc(name),
            col = colour(i),
            tx = LABEL_W + 20.0,
            ty = y + 12.0,
        );
    }
    out += "</g>";
    for (gi, g) in c.groups.iter().enumerate() {
        let gy = top + group_h * gi as f64;
        out += &format!(
            r#"<g class="group" data-group="{l}"><text x="0" y="{ly:.1}" class="label">{l}</text>"#,
            l = esc(&g.label),
            ly = gy + (BAR_H + BAR_GAP) * g.bars.len() as f64 / 2.0 + 4.0,
        );
        for (i, b) in g.bars.iter().enumerate() {
            let y = gy + (BAR_H + BAR_GAP) * i as f64;
            let series = c.series.get(i).map(String::as_str).unwrap_or("");
            let end = match b.value.filter(|v| v.is_finite() && *v >= 0.0) {
                Some(v) => {
                    let w = if max > 0.0 {
                        (v / max * BAR_AREA).max(2.0)
                    } else {
                        2.0
                    };
                    out += &format!(
                        r#"<rect class="bar series-{i}" x="{LABEL_W}" y="{y:.1}" width="{w:.1}" height="{BAR_H}" fill="{col}"><title>{s}, {l}: {t}</title></rect>"#,
                        col = colour(i),
                        s = esc(series),
                        l = esc(&g.label),
                        t = esc(&b.text),
                    );
                    LABEL_W + w
                }
                None => LABEL_W,
            };
            out += &format!(
                r#"<text x="{x:.1}" y="{ty:.1}" class="value{na}">{t}</text>"#,
                x = end + 6.0,
                ty = y + BAR_H - 3.0,
                na = if b.value.is_none() { " na" } else { "" },
                t = esc(&b.text),
            );
        }
        out += "</g>";
    }
    out + "</svg>"
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

    fn bar(v: Option<f64>) -> GroupBar {
        GroupBar {
            value: v,
            text: v
                .map(|v| format!("{v} ms"))
                .unwrap_or_else(|| "n/a <none>".into()),
        }
    }

    #[test]
    fn grouped_svg_puts_the_series_side_by_side_with_a_legend() {
        let c = Grouped {
            title: "latency <p50>".into(),
            unit: "ms".into(),
            series: vec!["Docker Hub".into(), "Amazon ECR".into()],
            groups: vec![
                Group {
                    label: "manifest HEAD p50".into(),
                    bars: vec![bar(Some(40.0)), bar(Some(10.0))],
                },
                Group {
                    label: "token p50".into(),
                    bars: vec![bar(Some(20.0)), bar(None)],
                },
            ],
        };
        let s = svg(&c);
        assert_eq!(s.matches(r#"<g class="group""#).count(), 2);
        assert_eq!(s.matches(r#"class="bar series-0""#).count(), 2);
        assert_eq!(s.matches(r#"class="bar series-1""#).count(), 1);
        assert_eq!(s.matches(r#"class="legend-item""#).count(), 2);
        assert!(s.contains(&format!(r#"fill="{}""#, PALETTE[1])));
        // One scale: 40 ms is the full width, 10 ms a quarter of it.
        assert!(s.contains(&format!(r#"width="{BAR_AREA:.1}""#)));
        assert!(s.contains(&format!(r#"width="{:.1}""#, BAR_AREA / 4.0)));
        assert!(s.contains("latency &lt;p50&gt;") && s.contains("n/a &lt;none&gt;"));
        assert!(!s.contains("<script"));
    }
}
