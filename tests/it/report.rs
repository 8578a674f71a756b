//! Looking at the HTML reports the way a person does: headless Chromium
//! (installed by scripts/setup) parses the file and dumps its DOM, or renders
//! it to a PNG whose pixels are searched for the registries' colours — the
//! grouped bars (one registry's bar right above the other's) and the legend
//! (two swatches, one under the other). Nothing is fetched: Chromium runs
//! with its networking features off and the page has no links to follow.

use std::path::Path;
use std::process::{Command, Output};

/// The colours the reports give the first two series (Docker Hub, ECR).
pub const BLUE: [u8; 3] = [0x1d, 0x63, 0xed];
pub const ORANGE: [u8; 3] = [0xff, 0x99, 0x00];

fn chromium(dir: &Path, args: &[String]) -> Output {
    let profile = dir.join("chromium-profile");
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--force-color-profile=srgb",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium must be installed: run scripts/setup")
}

/// The DOM Chromium built from the file.
pub fn dom(dir: &Path, page: &Path) -> String {
    let out = chromium(
        dir,
        &["--dump-dom".into(), format!("file://{}", page.display())],
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An RGB screenshot.
pub struct Shot {
    pub width: usize,
    pub height: usize,
    rgb: Vec<u8>,
}

impl Shot {
    fn px(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// Whether the pixel is `c` (give or take rounding in the renderer).
    pub fn is(&self, x: usize, y: usize, c: [u8; 3]) -> bool {
        let p = self.px(x, y);
        (0..3).all(|i| p[i].abs_diff(c[i]) <= 6)
    }

    /// Pixels of colour `c`.
    pub fn count(&self, c: [u8; 3]) -> usize {
        (0..self.height)
            .flat_map(|y| (0..self.width).map(move |x| (x, y)))
            .filter(|&(x, y)| self.is(x, y, c))
            .count()
    }

    /// Runs of colour `c` down column `x`: (first row, length).
    fn runs(&self, x: usize, c: [u8; 3]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut y = 0;
        while y < self.height {
            if self.is(x, y, c) {
                let start = y;
                while y < self.height && self.is(x, y, c) {
                    y += 1;
                }
                out.push((start, y - start));
            } else {
                y += 1;
            }
        }
        out
    }

    /// Places where a run of `a` exactly `len_a` rows high is followed,
    /// `gap` rows further down the same column, by a run of `b` exactly
    /// `len_b` high: (column, first row of `a`), one per `a` run.
    pub fn stacked(
        &self,
        a: [u8; 3],
        len_a: usize,
        gap: usize,
        b: [u8; 3],
        len_b: usize,
    ) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        let mut rows = std::collections::HashSet::new();
        for x in 0..self.width {
            let below = self.runs(x, b);
            for (y, n) in self.runs(x, a) {
                if n.abs_diff(len_a) <= 1
                    && below.iter().any(|&(yb, nb)| {
                        (yb as i64 - (y + n) as i64 - gap as i64).abs() <= 1
                            && nb.abs_diff(len_b) <= 1
                    })
                    && rows.insert(y)
                {
                    found.push((x, y));
                }
            }
        }
        found
    }
}

/// Renders the file to a `width`×`height` PNG and decodes it.
pub fn screenshot(dir: &Path, page: &Path, width: u32, height: u32) -> Shot {
    let png = dir.join("shot.png");
    let _ = std::fs::remove_file(&png);
    let out = chromium(
        dir,
        &[
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
            format!("file://{}", page.display()),
        ],
    );
    let file = std::fs::File::open(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let rgb = buf[..info.buffer_size()]
        .chunks(channels)
        .flat_map(|p| match channels {
            1 | 2 => [p[0], p[0], p[0]],
            _ => [p[0], p[1], p[2]],
        })
        .collect();
    Shot {
        width: info.width as usize,
        height: info.height as usize,
        rgb,
    }
}

/// The markup of each `<g class="group" …>…</g>` in the DOM.
pub fn groups(dom: &str) -> Vec<&str> {
    dom.split("<g class=\"group\"")
        .skip(1)
        .map(|g| g.split("</g>").next().unwrap_or(""))
        .collect()
}

/// Checks a report file is self-contained: no script, nothing to fetch.
pub fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    for bad in [
        "<script", "http://", "https://", "<link", "src=", "@import", "url(",
    ] {
        assert!(!html.contains(bad), "{bad:?} in the report");
    }
    assert!(
        !html.contains("<pre>"),
        "tables are HTML tables, not preformatted text"
    );
}
