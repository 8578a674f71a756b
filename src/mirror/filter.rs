//! Which repositories and tags take part: anchored regexes for repository
//! names, and for tags exact names, an anchored regex, a semver range and
//! "latest N" (newest by push time when the Hub API says, else by version).

use regex::Regex;
use semver::{Version, VersionReq};

use crate::error::{Error, Result};
use crate::mirror::TagInfo;

fn anchored(what: &str, re: &str) -> Result<Regex> {
    Regex::new(&format!("^(?:{re})$"))
        .map_err(|e| Error::Usage(format!("{what} {re:?} is not a valid regex: {e}")))
}

/// Include/exclude patterns for repository names (relative to the namespace).
#[derive(Clone, Debug, Default)]
pub struct RepoFilter {
    include: Option<Regex>,
    exclude: Option<Regex>,
}

impl RepoFilter {
    /// Both patterns must match the whole name.
    pub fn new(include: Option<&str>, exclude: Option<&str>) -> Result<Self> {
        Ok(RepoFilter {
            include: include.map(|r| anchored("--repos", r)).transpose()?,
            exclude: exclude
                .map(|r| anchored("--exclude-repos", r))
                .transpose()?,
        })
    }

    /// Whether `name` takes part.
    pub fn accepts(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|r| r.is_match(name))
            && !self.exclude.as_ref().is_some_and(|r| r.is_match(name))
    }
}

/// Tag selection.
#[derive(Clone, Debug, Default)]
pub struct TagFilter {
    /// Tags always taken, without listing.
    pub exact: Vec<String>,
    regex: Option<Regex>,
    semver: Option<VersionReq>,
    latest: Option<usize>,
}

/// A tag read as a version: `v1.2` → 1.2.0, `1` → 1.0.0, `1.2.3-rc1` kept.
pub fn tag_version(tag: &str) -> Option<Version> {
    let t = tag.strip_prefix('v').unwrap_or(tag);
    let (core, rest) = match t.find(['-', '+']) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut full = parts.join(".");
    for _ in parts.len()..3 {
        full.push_str(".0");
    }
    Version::parse(&format!("{full}{rest}")).ok()
}

impl TagFilter {
    /// Builds a filter; an empty filter takes every tag.
    pub fn new(
        exact: Vec<String>,
        regex: Option<&str>,
        semver: Option<&str>,
        latest: Option<usize>,
    ) -> Result<Self> {
        let semver = semver
            .map(|s| {
                VersionReq::parse(s).map_err(|e| {
                    Error::Usage(format!("--semver {s:?} is not a version range: {e}"))
                })
            })
            .transpose()?;
        if latest == Some(0) {
            return Err(Error::Usage("--latest must be at least 1".into()));
        }
        Ok(TagFilter {
            exact,
            regex: regex.map(|r| anchored("--tags", r)).transpose()?,
            semver,
            latest,
        })
    }

    /// Whether any pattern (not just exact names) is set.
    pub fn has_patterns(&self) -> bool {
        self.regex.is_some() || self.semver.is_some() || self.latest.is_some()
    }

    /// Whether the tag list must be read: patterns, or no exact names at all.
    pub fn needs_listing(&self) -> bool {
        self.has_patterns() || self.exact.is_empty()
    }

    /// Whether a tag name is within this filter's reach, for pruning: an
    /// exact name, or a name the regex and semver range accept ("latest N"
    /// ranks tags, it does not bound which names the filter covers).
    pub fn covers(&self, name: &str) -> bool {
        if self.exact.iter().any(|e| e == name) {
            return true;
        }
        if !self.has_patterns() {
            return self.exact.is_empty();
        }
        self.regex.as_ref().is_none_or(|r| r.is_match(name))
            && self
                .semver
                .as_ref()
                .is_none_or(|req| tag_version(name).is_some_and(|v| req.matches(&v)))
    }

    /// Applies regex, then semver, then latest N, plus the exact names;
    /// the result is sorted by name.
    pub fn apply(&self, tags: Vec<TagInfo>) -> Vec<TagInfo> {
        let mut picked: Vec<TagInfo> = if self.has_patterns() || self.exact.is_empty() {
            tags.iter()
                .filter(|t| self.regex.as_ref().is_none_or(|r| r.is_match(&t.name)))
                .filter(|t| match &self.semver {
                    Some(req) => tag_version(&t.name).is_some_and(|v| req.matches(&v)),
                    None => true,
                })
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        if let Some(n) = self.latest {
            let all_dated = picked.iter().all(|t| t.last_updated.is_some());
            picked.sort_by(|a, b| {
                if all_dated {
                    b.last_updated.cmp(&a.last_updated)
                } else {
                    tag_version(&b.name)
                        .cmp(&tag_version(&a.name))
                        .then_with(|| b.name.cmp(&a.name))
                }
            });
            picked.truncate(n);
        }
        for e in &self.exact {
            if !picked.iter().any(|t| &t.name == e) {
                picked.push(
                    tags.iter()
                        .find(|t| &t.name == e)
                        .cloned()
                        .unwrap_or_else(|| TagInfo::named(e)),
                );
            }
        }
        picked.sort_by(|a, b| a.name.cmp(&b.name));
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(names: &[&str]) -> Vec<TagInfo> {
        names.iter().map(|n| TagInfo::named(n)).collect()
    }

    fn names(t: Vec<TagInfo>) -> Vec<String> {
        t.into_iter().map(|t| t.name).collect()
    }

    #[test]
    fn versions_are_lenient() {
        assert_eq!(tag_version("v1.2"), Some(Version::new(1, 2, 0)));
        assert_eq!(tag_version("7"), Some(Version::new(7, 0, 0)));
        assert!(tag_version("1.2.3-rc1").is_some());
        assert_eq!(tag_version("latest"), None);
        assert_eq!(tag_version("1.2.3.4"), None);
        assert_eq!(tag_version("1..2"), None);
    }

    #[test]
    fn filters_combine() {
        let all = tags(&["1.0", "1.1", "1.2", "2.0", "latest", "1.2-alpine"]);
        let f = TagFilter::new(vec![], Some(r"1\.[0-9]+"), None, None).unwrap();
        assert_eq!(names(f.apply(all.clone())), ["1.0", "1.1", "1.2"]);
        let f = TagFilter::new(vec![], None, Some(">=1.1, <2"), None).unwrap();
        assert_eq!(names(f.apply(all.clone())), ["1.1", "1.2"]);
        let f = TagFilter::new(vec![], None, Some(">=1.0"), Some(2)).unwrap();
        assert_eq!(names(f.apply(all.clone())), ["1.2", "2.0"]);
        let f = TagFilter::new(vec!["latest".into()], None, Some("^2"), None).unwrap();
        assert_eq!(names(f.apply(all.clone())), ["2.0", "latest"]);
        let f = TagFilter::new(vec![], None, None, None).unwrap();
        assert_eq!(f.apply(all.clone()).len(), 6);
        let f = TagFilter::new(vec!["1.0".into()], None, None, None).unwrap();
        assert!(!f.needs_listing());
        assert_eq!(names(f.apply(all)), ["1.0"]);
    }

    #[test]
    fn covers_names_for_pruning() {
        let f = TagFilter::new(vec![], Some(r"1\..*"), None, Some(1)).unwrap();
        assert!(f.covers("1.9") && !f.covers("2.0"));
        let f = TagFilter::new(vec!["a".into()], None, None, None).unwrap();
        assert!(f.covers("a") && !f.covers("b"));
        assert!(TagFilter::default().covers("anything"));
        let f = TagFilter::new(vec![], None, Some(">=2"), None).unwrap();
        assert!(f.covers("2.1") && !f.covers("1.0") && !f.covers("latest"));
    }

    #[test]
    fn latest_prefers_push_time() {
        let mut t = tags(&["a", "b", "c"]);
        t[0].last_updated = Some("2026-01-03T00:00:00Z".into());
        t[1].last_updated = Some("2026-01-01T00:00:00Z".into());
        t[2].last_updated = Some("2026-01-02T00:00:00Z".into());
        let f = TagFilter::new(vec![], None, None, Some(2)).unwrap();
        assert_eq!(names(f.apply(t)), ["a", "c"]);
    }

    #[test]
    fn bad_patterns_are_usage_errors() {
        assert!(TagFilter::new(vec![], Some("("), None, None).is_err());
        assert!(TagFilter::new(vec![], None, Some("not a range"), None).is_err());
        assert!(TagFilter::new(vec![], None, None, Some(0)).is_err());
        assert!(RepoFilter::new(Some("["), None).is_err());
        let r = RepoFilter::new(Some("api|web"), Some("web")).unwrap();
        assert!(r.accepts("api") && !r.accepts("web") && !r.accepts("apiserver"));
    }
}
