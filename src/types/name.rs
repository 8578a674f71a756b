//! Names that come from outside — tags from `tags/list`, repositories from
//! `_catalog`, the Hub API and the ECR API, tags in the sync file, ref names
//! in an OCI layout's `index.json` — checked against the distribution
//! grammar before they enter a URL or a path. A name that fails is never
//! used: listings keep it aside as [`Skipped`], with the reason, so the
//! user is told. Imports nothing from the crate.

use serde::Serialize;

/// Longest tag the distribution grammar allows.
pub const MAX_TAG: usize = 128;
/// Longest repository path accepted.
pub const MAX_REPOSITORY: usize = 255;
/// Longest name kept in a [`Skipped`] report (the rest is cut).
const MAX_SHOWN: usize = 200;

/// What kind of name was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NameKind {
    /// A tag.
    Tag,
    /// A repository path.
    Repository,
}

impl std::fmt::Display for NameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameKind::Tag => "tag",
            NameKind::Repository => "repository",
        })
    }
}

/// A name from outside that was not used, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Tag or repository.
    pub kind: NameKind,
    /// The name as received (cut to 200 characters).
    pub name: String,
    /// Why it was refused.
    pub reason: String,
    /// Where it came from (`registry/repo tags`, `catalog of host`, …).
    pub source: String,
}

impl Skipped {
    fn new(kind: NameKind, name: &str, reason: String, source: &str) -> Self {
        let name = if name.chars().count() > MAX_SHOWN {
            let mut cut: String = name.chars().take(MAX_SHOWN).collect();
            cut.push('…');
            cut
        } else {
            name.to_string()
        };
        Skipped {
            kind,
            name,
            reason,
            source: source.to_string(),
        }
    }

    /// One line for humans: `tag "x/y" from …: reason`.
    pub fn describe(&self) -> String {
        format!(
            "skipped {} {:?} from {}: {}",
            self.kind, self.name, self.source, self.reason
        )
    }
}

/// Names that passed the check, and those that did not.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// Valid names, in the order received.
    pub names: Vec<String>,
    /// Refused names.
    pub skipped: Vec<Skipped>,
}

impl Checked {
    /// Checks every name of `kind` received from `source`.
    pub fn of(kind: NameKind, source: &str, names: impl IntoIterator<Item = String>) -> Self {
        let mut out = Checked::default();
        for n in names {
            match check(kind, &n) {
                Ok(()) => out.names.push(n),
                Err(reason) => out.skipped.push(Skipped::new(kind, &n, reason, source)),
            }
        }
        out
    }
}

/// Checks a name of either kind.
pub fn check(kind: NameKind, name: &str) -> Result<(), String> {
    match kind {
        NameKind::Tag => check_tag(name),
        NameKind::Repository => check_repository(name),
    }
}

/// A [`Skipped`] for one refused name.
pub fn skipped(kind: NameKind, name: &str, reason: String, source: &str) -> Skipped {
    Skipped::new(kind, name, reason, source)
}

fn shown(c: char) -> String {
    format!("{:?}", c)
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn check_tag(tag: &str) -> Result<(), String> {
    const RULE: &str = "tags are letters, digits, _ . - (not first: . -), at most 128";
    let first = tag
        .chars()
        .next()
        .ok_or_else(|| format!("empty ({RULE})"))?;
    if tag.len() > MAX_TAG {
        return Err(format!("longer than {MAX_TAG} characters ({RULE})"));
    }
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return Err(format!("starts with {} ({RULE})", shown(first)));
    }
    if let Some(bad) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!("contains {} ({RULE})", shown(bad)));
    }
    Ok(())
}

/// Whether one path component of a repository matches
/// `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`.
pub fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &b[start..i];
        if !(sep == b"." || sep == b"_" || sep == b"__" || sep.iter().all(|x| *x == b'-')) {
            return false;
        }
    }
    true
}

/// A repository path: `/`-separated components, each
/// `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`, at most 255 characters.
pub fn check_repository(repo: &str) -> Result<(), String> {
    const RULE: &str =
        "repository names are lowercase letters and digits joined by . _ __ or -, between /";
    if repo.is_empty() {
        return Err(format!("empty ({RULE})"));
    }
    if repo.len() > MAX_REPOSITORY {
        return Err(format!("longer than {MAX_REPOSITORY} characters"));
    }
    if let Some(bad) = repo.split('/').find(|c| !valid_component(c)) {
        let bad: String = bad.chars().take(40).collect();
        return Err(format!("path component {bad:?} is not valid ({RULE})"));
    }
    Ok(())
}

/// A registry host: DNS labels (or an IPv4 address) with an optional port
/// in 1..=65535.
pub fn check_host(d: &str) -> Result<(), String> {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    if let Some(p) = port {
        let n = (!p.is_empty() && p.len() <= 5 && p.bytes().all(|x| x.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten();
        match n {
            Some(1..=65535) => {}
            _ => return Err(format!("port {p:?} is not a number from 1 to 65535")),
        }
    }
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|x| x.is_ascii_alphanumeric() || x == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{host:?} is not a host name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        for ok in ["latest", "1.27", "_x", "A-b.c_d", &"a".repeat(128)] {
            assert_eq!(check_tag(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            ".x",
            "-x",
            "a/b",
            "%2e%2e",
            "a b",
            "a:b",
            "x\u{1b}[31m",
            "é",
            &"a".repeat(129),
        ] {
            assert!(check_tag(bad).is_err(), "{bad:?}");
        }
        assert!(check_tag("%2e%2e/%2E%2E/victim/manifests/x")
            .unwrap_err()
            .contains("'%'"));
    }

    #[test]
    fn repositories() {
        for ok in ["a", "library/nginx", "a/b/c", "x__y/z-w.v_1", "a---b"] {
            assert_eq!(check_repository(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "A",
            "a//b",
            "/a",
            "a/",
            "..",
            "a/../b",
            "%2e%2e/x",
            "a/./b",
            "x___y",
            "a.",
            "a b",
            &"a".repeat(256),
        ] {
            assert!(check_repository(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosts() {
        for ok in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:1",
            "a.b-c.io:65535",
        ] {
            assert_eq!(check_host(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", "a:99999", "a:0", "a:", "a:x", "-a", "a..b", "a_b", "h:65536",
        ] {
            assert!(check_host(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn listings_keep_refused_names_aside() {
        let c = Checked::of(
            NameKind::Tag,
            "r/x tags",
            ["1.0", "../x", "ok"].map(String::from),
        );
        assert_eq!(c.names, ["1.0", "ok"]);
        assert_eq!(c.skipped.len(), 1);
        assert_eq!(c.skipped[0].name, "../x");
        assert!(c.skipped[0].describe().contains("r/x tags"));
        let long = "é".repeat(1000);
        let c = Checked::of(NameKind::Tag, "s", [long]);
        assert_eq!(c.skipped[0].name.chars().count(), 201);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn never_panics_and_valid_names_are_url_safe(s in "\\PC{0,64}|[a-z0-9._/%-]{0,64}") {
                if check_tag(&s).is_ok() {
                    prop_assert!(!s.contains('/') && !s.contains('%') && !s.starts_with('.'));
                }
                if check_repository(&s).is_ok() {
                    prop_assert!(s.split('/').all(|c| c != ".." && c != "." && !c.is_empty()));
                    prop_assert!(!s.contains('%'));
                }
                let _ = check_host(&s);
            }
        }
    }
}
