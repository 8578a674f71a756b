//! Image references in Dockerfiles: `FROM [--platform=…] IMAGE [AS name]`
//! and `COPY --from=IMAGE`, with line continuations, the `escape` parser
//! directive, comments and heredocs understood. Stage names (`FROM build`)
//! and stage indexes are not images; a reference built from `ARG`s
//! (`FROM $BASE`) is reported as dynamic. Imports only the parent's types.

use super::{Form, Found, Kind, Quote, Token};

/// One instruction joined over its continuation lines, with the original
/// byte offset of every byte kept.
struct Logical {
    text: String,
    offsets: Vec<usize>,
    /// Original 1-based line of every byte.
    lines: Vec<usize>,
}

/// The escape character from a leading `# escape=` directive (default `\`).
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((k, v)) = rest.split_once('=') else {
            break;
        };
        let key = k.trim().to_ascii_lowercase();
        if key == "escape" {
            if let Some(c) = v.trim().chars().next() {
                if c == '`' || c == '\\' {
                    return c;
                }
            }
        } else if key != "syntax" && key != "check" {
            break;
        }
    }
    '\\'
}

/// Heredoc terminators opened by an instruction (`<<EOF`, `<<-"EOF"`).
fn heredocs(instr: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = instr;
    while let Some(i) = rest.find("<<") {
        rest = &rest[i + 2..];
        let strip = rest.starts_with('-');
        let word: String = rest
            .trim_start_matches('-')
            .trim_start_matches(['"', '\''])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty() {
            out.push((word, strip));
        }
    }
    out
}

/// Splits the file into logical instructions.
fn instructions(text: &str) -> Vec<Logical> {
    let esc = escape_char(text);
    let mut out = Vec::new();
    let mut cur: Option<Logical> = None;
    let mut pending_heredocs: Vec<(String, bool)> = Vec::new();
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if let Some((word, strip)) = pending_heredocs.first() {
            let candidate = if *strip {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if candidate == word {
                pending_heredocs.remove(0);
            }
            continue;
        }
        let trimmed = line.trim_start();
        if cur.is_none() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        // Comment lines inside a continued instruction are dropped.
        if cur.is_some() && trimmed.starts_with('#') {
            continue;
        }
        let body = line.trim_end();
        let continued = body.ends_with(esc);
        let content = if continued {
            &body[..body.len() - esc.len_utf8()]
        } else {
            body
        };
        let l = cur.get_or_insert_with(|| Logical {
            text: String::new(),
            offsets: Vec::new(),
            lines: Vec::new(),
        });
        if !l.text.is_empty() {
            // The continuation joins the lines with nothing but a space.
            l.text.push(' ');
            l.offsets.push(usize::MAX);
            l.lines.push(line_no);
        }
        l.text.push_str(content);
        l.offsets.extend((0..content.len()).map(|b| start + b));
        l.lines.extend(std::iter::repeat_n(line_no, content.len()));
        if !continued {
            if let Some(done) = cur.take() {
                pending_heredocs = heredocs(&done.text);
                out.push(done);
            }
        }
    }
    out.extend(cur);
    out
}

/// Whitespace-separated words with their byte range in `Logical::text`.
fn words(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                out.push((b, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push((b, s.len()));
    }
    out
}

/// A reference at `text[a..b]` of an instruction.
fn found(l: &Logical, a: usize, b: usize) -> Option<Found> {
    let value = l.text.get(a..b)?.to_string();
    let line = l.lines.get(a).copied().unwrap_or(1);
    let form = if value.contains('$') {
        Form::Dynamic
    } else {
        let (s, e) = (l.offsets.get(a).copied()?, l.offsets.get(b - 1).copied()?);
        if s == usize::MAX || e == usize::MAX || e + 1 - s != b - a {
            Form::Unsupported("the reference is split over a line continuation".into())
        } else {
            Form::Single(Token {
                start: s,
                end: e + 1,
                quote: Quote::None,
                prefix: "",
            })
        }
    };
    Some(Found {
        kind: Kind::Dockerfile,
        line,
        value,
        form,
    })
}

/// Every image reference of a Dockerfile.
pub(crate) fn find(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    let mut stages: Vec<String> = Vec::new();
    for l in instructions(text) {
        let w = words(&l.text);
        let Some(&(ka, kb)) = w.first() else { continue };
        let keyword = l.text[ka..kb].to_ascii_uppercase();
        let args: Vec<(usize, usize)> = w[1..].to_vec();
        match keyword.as_str() {
            "FROM" => {
                let mut it = args
                    .iter()
                    .skip_while(|(a, _)| l.text[*a..].starts_with("--"));
                let Some(&(a, b)) = it.next() else { continue };
                let image = &l.text[a..b];
                let is_stage = stages.iter().any(|s| s.eq_ignore_ascii_case(image));
                if !is_stage && !image.eq_ignore_ascii_case("scratch") {
                    out.extend(found(&l, a, b));
                }
                if let (Some(&(x, y)), Some(&(n1, n2))) = (it.next(), it.next()) {
                    if l.text[x..y].eq_ignore_ascii_case("as") {
                        stages.push(l.text[n1..n2].to_string());
                    }
                }
            }
            "COPY" => {
                for &(a, b) in &args {
                    let word = &l.text[a..b];
                    if !word.starts_with("--") {
                        break;
                    }
                    if let Some(from) = word.strip_prefix("--from=") {
                        let is_stage = from.bytes().all(|c| c.is_ascii_digit())
                            || stages.iter().any(|s| s.eq_ignore_ascii_case(from));
                        if !is_stage && !from.is_empty() {
                            out.extend(found(&l, a + "--from=".len(), b));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(text: &str) -> Vec<(usize, String, Option<String>)> {
        find(text)
            .into_iter()
            .map(|f| {
                let raw = match f.form {
                    Form::Single(t) => Some(text[t.start..t.end].to_string()),
                    _ => None,
                };
                (f.line, f.value, raw)
            })
            .collect()
    }

    #[test]
    fn multi_stage_with_platform_args_and_aliases() {
        let text = "# syntax=docker/dockerfile:1\nARG BASE=alpine:3.20\nFROM --platform=$BUILDPLATFORM golang:1.23 AS build\nRUN go build\nFROM $BASE AS runtime\nfrom build as again\nCOPY --from=build /out /out\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\nCOPY --from=0 /a /b\nFROM scratch\nFROM \\\n  gcr.io/distroless/static:nonroot\n";
        assert_eq!(
            refs(text),
            vec![
                (3, "golang:1.23".into(), Some("golang:1.23".into())),
                (5, "$BASE".into(), None),
                (8, "nginx:1.27".into(), Some("nginx:1.27".into())),
                (
                    12,
                    "gcr.io/distroless/static:nonroot".into(),
                    Some("gcr.io/distroless/static:nonroot".into())
                ),
            ]
        );
    }

    #[test]
    fn escape_directive_heredocs_and_comments() {
        let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS base\nRUN <<EOF\nFROM not-an-instruction\nEOF\n# FROM commented:1\nFROM base\n";
        let got = refs(text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].1, "mcr.microsoft.com/windows/servercore:ltsc2022");
    }
}
