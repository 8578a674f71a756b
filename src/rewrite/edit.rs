//! Text edits on exact byte spans (everything outside a span stays
//! byte-identical), the unified diff of a file before and after (the
//! `similar` crate), and the atomic write of `--write` (a temporary file in
//! the same directory, the original's permissions, then a rename).
//! Imports only `error`.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Replace `text[start..end]` with `replacement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Byte offset where the replaced span starts.
    pub start: usize,
    /// Byte offset where it ends (exclusive).
    pub end: usize,
    /// The new text.
    pub replacement: String,
}

/// Applies non-overlapping edits; overlapping or out-of-range edits are an
/// internal error (the finders never produce them).
pub fn apply(text: &str, edits: &[Edit]) -> Result<String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| e.start);
    let mut out = String::with_capacity(text.len() + 64 * edits.len());
    let mut at = 0;
    for e in sorted {
        let bad = e.start < at
            || e.end < e.start
            || !text.is_char_boundary(e.start)
            || !text.is_char_boundary(e.end)
            || e.end > text.len();
        if bad {
            return Err(Error::Usage(format!(
                "internal: overlapping or invalid edit at byte {}",
                e.start
            )));
        }
        out.push_str(&text[at..e.start]);
        out.push_str(&e.replacement);
        at = e.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// A unified diff (3 lines of context) with `--- name` / `+++ name`
/// headers, empty when nothing changed; `patch -p0` applies it.
pub fn unified_diff(name: &str, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(name, name)
        .to_string()
}

/// Replaces `path`'s content atomically, keeping its permissions.
pub fn write_atomic(path: &Path, content: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.crossdock-{}.tmp", std::process::id()));
    let result = (|| {
        let perms = std::fs::metadata(path)?.permissions();
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        std::fs::set_permissions(&tmp, perms)?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_touch_only_their_spans() {
        let text = "a: 'x' # keep\nb: y\n";
        let out = apply(
            text,
            &[
                Edit {
                    start: 17,
                    end: 18,
                    replacement: "zz".into(),
                },
                Edit {
                    start: 3,
                    end: 6,
                    replacement: "'q/r'".into(),
                },
            ],
        )
        .unwrap();
        assert_eq!(out, "a: 'q/r' # keep\nb: zz\n");
        assert!(apply(
            text,
            &[
                Edit {
                    start: 3,
                    end: 6,
                    replacement: String::new()
                },
                Edit {
                    start: 5,
                    end: 7,
                    replacement: String::new()
                }
            ]
        )
        .is_err());
        assert!(apply(
            text,
            &[Edit {
                start: 30,
                end: 31,
                replacement: String::new()
            }]
        )
        .is_err());
    }

    #[test]
    fn diff_and_write() {
        assert_eq!(unified_diff("f", "a\n", "a\n"), "");
        let d = unified_diff("k8s/a.yaml", "1\n2\nimage: x\n4\n", "1\n2\nimage: y\n4\n");
        assert!(
            d.starts_with("--- k8s/a.yaml\n+++ k8s/a.yaml\n@@ -1,4 +1,4 @@\n"),
            "{d}"
        );
        assert!(d.contains("-image: x\n+image: y\n"), "{d}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.yaml");
        std::fs::write(&p, "old").unwrap();
        write_atomic(&p, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
