//! `crossdock rewrite`: the other half of a migration — image references in
//! the files a deployment is made of (Kubernetes YAML, Helm values,
//! Dockerfiles, compose files, ECS task definitions, GitHub Actions
//! workflows) moved to the mirror by the longest `--map` prefix, optionally
//! pinned to the mirror's verified digest, each edit on the exact text span
//! of the reference so comments, quoting, key order and indentation stay
//! byte-identical. Owns finding ([`yaml`], [`dockerfile`]), mapping
//! ([`map`]), pinning ([`pin`]), walking ([`walk`]) and editing ([`edit`]).
//! Imports `registry` (pin only) and `types`; never prints, never imports
//! `copy` or `mirror`.

mod dockerfile;
pub mod edit;
pub mod map;
pub mod pin;
pub mod walk;
mod yaml;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use futures_util::{stream, StreamExt};
use serde::Serialize;

use crate::error::Result;
use crate::registry::Pool;
use crate::types::reference::RegistryRef;
use crate::types::ImageRef;

use edit::Edit;
use map::Mapper;
use pin::Pin;
use walk::{FileKind, Skipped};

/// Files larger than this are not read.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Which kind of file a reference was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `image:` of a container in a Kubernetes object.
    Kubernetes,
    /// Helm values: `image:` or `repository:`/`tag:`.
    Helm,
    /// `FROM` or `COPY --from=`.
    Dockerfile,
    /// `services.*.image` of a compose file.
    Compose,
    /// `containerDefinitions[].image` of an ECS task definition.
    Ecs,
    /// `container:`, `services.*.image` or `docker://` steps of a workflow.
    GithubActions,
}

/// What happened to a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Moved to the mirror.
    Rewritten,
    /// Moved to the mirror (or already there) with the verified digest appended.
    Pinned,
    /// Already points at the mirror as asked: nothing to change.
    Current,
    /// `--pin`: the image is not (or not identically) in the mirror; left alone.
    NotMirrored,
    /// No `--map` covers it; left alone.
    Unmapped,
    /// Built from variables (`ARG`, `${…}`, templates); left alone.
    Dynamic,
    /// Not a reference crossdock can parse or edit in place; left alone.
    Invalid,
}

impl Status {
    /// The JSON spelling, for text output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Rewritten => "rewritten",
            Status::Pinned => "pinned",
            Status::Current => "current",
            Status::NotMirrored => "not-mirrored",
            Status::Unmapped => "unmapped",
            Status::Dynamic => "dynamic",
            Status::Invalid => "invalid",
        }
    }
}

/// How a replaced token is quoted in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quote {
    /// Bare (YAML plain scalar, Dockerfile word).
    None,
    /// `'…'`.
    Single,
    /// `"…"` (YAML or JSON).
    Double,
}

/// The exact text span of a value, replaced as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Byte offset of the token (its opening quote, if quoted).
    pub start: usize,
    /// Byte offset after it.
    pub end: usize,
    /// Its quoting, kept on rewrite.
    pub quote: Quote,
    /// Text inside the quotes before the reference (`docker://`).
    pub prefix: &'static str,
}

impl Token {
    /// The token's new text for `value`. References hold no quote, backslash
    /// or space, so every style stays valid as it is.
    pub fn render(&self, value: &str) -> String {
        let inner = format!("{}{value}", self.prefix);
        match self.quote {
            Quote::None => inner,
            Quote::Single => format!("'{inner}'"),
            Quote::Double => format!("\"{inner}\""),
        }
    }
}

/// One field of a Helm image map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Its value.
    pub value: String,
    /// Where it is.
    pub token: Token,
}

/// Helm's `registry:` / `repository:` / `tag:` / `digest:` fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parts {
    /// `registry:`, when present.
    pub registry: Option<Field>,
    /// `repository:`.
    pub repository: Field,
    /// `tag:`, when present.
    pub tag: Option<Field>,
    /// `digest:`, when present.
    pub digest: Option<Field>,
}

/// How a found reference can be edited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Form {
    /// One token holds the whole reference.
    Single(Token),
    /// Helm fields.
    Parts(Box<Parts>),
    /// Built from variables.
    Dynamic,
    /// Cannot be edited in place, and why.
    Unsupported(String),
}

/// An image reference as a finder saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The kind of file.
    pub kind: Kind,
    /// 1-based line.
    pub line: usize,
    /// The reference as written (Helm: composed from its fields).
    pub value: String,
    /// How to edit it.
    pub form: Form,
}

impl Found {
    fn start(&self) -> usize {
        match &self.form {
            Form::Single(t) => t.start,
            Form::Parts(p) => p.repository.token.start,
            _ => 0,
        }
    }
}

/// One reference in the report.
#[derive(Clone, Debug, Serialize)]
pub struct Reference {
    /// The file, as given or walked (`./` dropped).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The kind of file.
    pub kind: Kind,
    /// The reference as written.
    pub old: String,
    /// The reference after the rewrite (absent when left alone).
    pub new: Option<String>,
    /// What happened.
    pub status: Status,
    /// The pinned digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Why, for references left alone; or what is worth knowing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Covered by a map and not yet as the rewrite would leave it (`--check`
    /// fails on these).
    #[serde(skip)]
    pub outstanding: bool,
}

/// A file the rewrite changes.
#[derive(Clone, Debug)]
pub struct Changed {
    /// Where it is.
    pub path: PathBuf,
    /// How it is shown.
    pub name: String,
    /// Its text now.
    pub before: String,
    /// Its text after the rewrite.
    pub after: String,
}

/// Everything a run found and would change.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Files read.
    pub scanned: usize,
    /// Files that change, in walk order.
    pub changed: Vec<Changed>,
    /// Every reference found, in file and line order.
    pub references: Vec<Reference>,
    /// Files passed over, and why.
    pub skipped: Vec<Skipped>,
}

/// Reads a file (bounded, UTF-8).
fn read(path: &Path) -> std::result::Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "larger than {} MiB: not read",
            MAX_FILE_BYTES / 1024 / 1024
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text: not read".to_string())
}

/// The references of one file.
pub fn find(path: &Path, kind: FileKind, text: &str) -> std::result::Result<Vec<Found>, String> {
    let mut found = match kind {
        FileKind::Dockerfile => dockerfile::find(text),
        FileKind::Yaml => yaml::find(text, &path.display().to_string())?,
        // Only task definitions matter among JSON files: skip the rest unparsed.
        FileKind::Json if text.contains("ontainerDefinitions") => yaml::find_json(text)?,
        FileKind::Json => Vec::new(),
    };
    found.sort_by_key(|f| (f.line, f.start()));
    found.dedup();
    Ok(found)
}

/// A reference matched to the mirror.
#[derive(Clone, Debug)]
struct Move {
    source: RegistryRef,
    mirror: RegistryRef,
    /// The file already names the mirror.
    at_mirror: bool,
}

/// A mapped reference, or its final status and why.
type Resolution = std::result::Result<Move, (Status, Option<String>)>;

/// Resolution against the maps, before any network.
fn resolve(f: &Found, mapper: &Mapper) -> Resolution {
    if f.form == Form::Dynamic {
        return Err((
            Status::Dynamic,
            Some("built from variables: rewrite it where they are set".into()),
        ));
    }
    let r = match f.value.parse::<ImageRef>() {
        Ok(ImageRef::Registry(r)) => r,
        Ok(ImageRef::Layout(_)) => {
            return Err((
                Status::Invalid,
                Some("an OCI layout, not a registry".into()),
            ))
        }
        Err(e) => return Err((Status::Invalid, Some(e.to_string()))),
    };
    let mv = match (mapper.map(&r), mapper.unmap(&r)) {
        (Some(Ok(mirror)), _) => Move {
            source: r,
            mirror,
            at_mirror: false,
        },
        (Some(Err(e)), _) => return Err((Status::Invalid, Some(e.to_string()))),
        (None, Some(Ok(source))) => Move {
            source,
            mirror: r,
            at_mirror: true,
        },
        (None, Some(Err(_))) => return Err((Status::Current, None)),
        (None, None) => return Err((Status::Unmapped, None)),
    };
    if let Form::Unsupported(reason) = &f.form {
        if !mv.at_mirror {
            return Err((Status::Invalid, Some(reason.clone())));
        }
    }
    Ok(mv)
}

/// Whether a pin can be checked: a Helm map without a tag takes the chart's appVersion.
fn pinnable(f: &Found) -> bool {
    match &f.form {
        Form::Parts(p) => {
            let set = |x: &Option<Field>| x.as_ref().is_some_and(|x| !x.value.is_empty());
            set(&p.tag) || set(&p.digest)
        }
        _ => true,
    }
}

/// The reference spelled for the file: the tag kept as the file had it
/// (an implied `latest` stays implied unless a digest is appended).
fn spell(r: &RegistryRef, pinned: bool) -> String {
    let mut s = format!("{}/{}", r.registry, r.repository);
    if let Some(t) = &r.tag {
        if r.explicit_tag || pinned {
            s += &format!(":{t}");
        }
    }
    if let Some(d) = &r.digest {
        s += &format!("@{d}");
    }
    s
}

fn field_edit(text: &str, f: &Field, value: &str, out: &mut Vec<Edit>) {
    let replacement = f.token.render(value);
    if text.get(f.token.start..f.token.end) != Some(replacement.as_str()) {
        out.push(Edit {
            start: f.token.start,
            end: f.token.end,
            replacement,
        });
    }
}

/// The edits that make `found` name `target`, and the new reference text.
fn edits_for(text: &str, found: &Found, target: &RegistryRef, pinned: bool) -> (Vec<Edit>, String) {
    let mut edits = Vec::new();
    match &found.form {
        Form::Single(t) => {
            let new = spell(target, pinned);
            let replacement = t.render(&new);
            if text.get(t.start..t.end) != Some(replacement.as_str()) {
                edits.push(Edit {
                    start: t.start,
                    end: t.end,
                    replacement,
                });
            }
            (edits, new)
        }
        Form::Parts(p) => {
            let has_registry = p.registry.as_ref().filter(|r| !r.value.is_empty());
            match has_registry {
                Some(reg) => {
                    field_edit(text, reg, &target.registry, &mut edits);
                    field_edit(text, &p.repository, &target.repository, &mut edits);
                }
                None => field_edit(text, &p.repository, &target.repo_name(), &mut edits),
            }
            if let (true, Some(d)) = (pinned, &target.digest) {
                match (&p.digest, &p.tag) {
                    (Some(df), _) => field_edit(text, df, d.as_str(), &mut edits),
                    (None, Some(tf)) => {
                        let tag = tf.value.split('@').next().unwrap_or("");
                        field_edit(text, tf, &format!("{tag}@{d}"), &mut edits);
                    }
                    (None, None) => {}
                }
            }
            (edits, spell(target, pinned && target.tag.is_some()))
        }
        Form::Dynamic | Form::Unsupported(_) => (edits, found.value.clone()),
    }
}

struct Scanned {
    path: PathBuf,
    name: String,
    text: String,
    found: Vec<Found>,
}

fn scan(paths: &[PathBuf]) -> Result<(Vec<Scanned>, Vec<Skipped>)> {
    let (files, mut skipped) = walk::files(paths)?;
    let mut out = Vec::new();
    for (path, kind) in files {
        let name = walk::display(&path);
        let result = read(&path).and_then(|text| Ok((find(&path, kind, &text)?, text)));
        match result {
            Ok((found, text)) => out.push(Scanned {
                path,
                name,
                text,
                found,
            }),
            Err(reason) => skipped.push(Skipped { file: name, reason }),
        }
    }
    Ok((out, skipped))
}

/// Checks every distinct (source, mirror) pair once, 8 at a time.
async fn pins(
    pool: &Pool,
    pairs: Vec<(RegistryRef, RegistryRef)>,
) -> HashMap<(String, String), Pin> {
    stream::iter(pairs)
        .map(|(s, m)| async move {
            let p = pin::verify(pool, &s, &m).await;
            ((s.to_string(), m.to_string()), p)
        })
        .buffer_unordered(8)
        .collect()
        .await
}

/// Finds every reference under `paths`, maps it, pins it when a pool is
/// given, and computes the new text of every file that changes. Writes nothing.
pub async fn run(paths: &[PathBuf], mapper: &Mapper, pin_with: Option<&Pool>) -> Result<Outcome> {
    let (files, skipped) = scan(paths)?;
    let resolved: Vec<Vec<Resolution>> = files
        .iter()
        .map(|f| f.found.iter().map(|x| resolve(x, mapper)).collect())
        .collect();
    let mut pinned = HashMap::new();
    if let Some(pool) = pin_with {
        let mut pairs: Vec<(RegistryRef, RegistryRef)> = Vec::new();
        for (file, moves) in files.iter().zip(&resolved) {
            for (found, mv) in file.found.iter().zip(moves) {
                if let (Ok(mv), true) = (mv, pinnable(found)) {
                    let pair = (mv.source.clone(), mv.mirror.clone());
                    if !pairs.contains(&pair) {
                        pairs.push(pair);
                    }
                }
            }
        }
        pinned = pins(pool, pairs).await;
    }
    let mut out = Outcome {
        scanned: files.len(),
        skipped,
        ..Outcome::default()
    };
    for (file, moves) in files.into_iter().zip(resolved) {
        let mut edits = Vec::new();
        for (found, mv) in file.found.iter().zip(moves) {
            let mut reference = Reference {
                file: file.name.clone(),
                line: found.line,
                kind: found.kind,
                old: found.value.clone(),
                new: None,
                status: Status::Unmapped,
                digest: None,
                note: None,
                outstanding: false,
            };
            match mv {
                Err((status, note)) => {
                    reference.status = status;
                    reference.note = note;
                    reference.outstanding =
                        status == Status::Invalid && mapper.map_str(&found.value);
                }
                Ok(mv) => decide(
                    &file.text,
                    found,
                    &mv,
                    pin_with.map(|_| &pinned),
                    &mut reference,
                    &mut edits,
                ),
            }
            out.references.push(reference);
        }
        if !edits.is_empty() {
            let after = edit::apply(&file.text, &edits)?;
            if after != file.text {
                out.changed.push(Changed {
                    path: file.path,
                    name: file.name,
                    before: file.text,
                    after,
                });
            }
        }
    }
    Ok(out)
}

/// The status and edits of one mapped reference.
fn decide(
    text: &str,
    found: &Found,
    mv: &Move,
    pins: Option<&HashMap<(String, String), Pin>>,
    r: &mut Reference,
    edits: &mut Vec<Edit>,
) {
    let Some(pins) = pins else {
        if mv.at_mirror {
            r.status = Status::Current;
            return;
        }
        let (e, new) = edits_for(text, found, &mv.mirror, false);
        edits.extend(e);
        r.status = Status::Rewritten;
        r.new = Some(new);
        r.outstanding = true;
        return;
    };
    if !pinnable(found) {
        r.status = if mv.at_mirror {
            Status::Current
        } else {
            Status::Dynamic
        };
        r.note = Some("the tag comes from the chart (appVersion): set tag: to pin it".into());
        r.outstanding = !mv.at_mirror;
        return;
    }
    match pins.get(&(mv.source.to_string(), mv.mirror.to_string())) {
        Some(Pin::Verified { digest, note }) => {
            let target = RegistryRef {
                digest: Some(digest.clone()),
                ..mv.mirror.clone()
            };
            let (e, new) = edits_for(text, found, &target, true);
            r.digest = Some(digest.to_string());
            r.note = note.clone();
            if e.is_empty() {
                r.status = Status::Current;
            } else {
                r.status = Status::Pinned;
                r.new = Some(new);
                r.outstanding = true;
                edits.extend(e);
            }
        }
        Some(Pin::NotMirrored(reason)) => {
            r.status = Status::NotMirrored;
            r.note = Some(reason.clone());
            r.outstanding = true;
        }
        None => {
            r.status = Status::NotMirrored;
            r.note = Some("not checked".into());
            r.outstanding = true;
        }
    }
}

impl Mapper {
    /// Whether a map covers this text as a reference.
    fn map_str(&self, value: &str) -> bool {
        matches!(value.parse::<ImageRef>(), Ok(ImageRef::Registry(r)) if self.map(&r).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapper() -> Mapper {
        Mapper::new(&[
            ("docker.io/acme".into(), "m.io/mirror".into()),
            ("docker.io/library".into(), "m.io/hub".into()),
        ])
        .unwrap()
    }

    async fn rewrite(dir: &Path) -> Outcome {
        run(&[dir.to_path_buf()], &mapper(), None).await.unwrap()
    }

    #[tokio::test]
    async fn rewrites_spans_and_reports_every_reference() {
        let d = tempfile::tempdir().unwrap();
        let k8s = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: \"nginx\"   # web\n    - image: acme/api:1.1\n    - image: ghcr.io/x/y:1\n    - image: m.io/mirror/api:1.0\n";
        std::fs::write(d.path().join("pod.yaml"), k8s).unwrap();
        let helm = "image:\n  registry: docker.io\n  repository: acme/web\n  tag: '2.0'\n";
        std::fs::write(d.path().join("values.yaml"), helm).unwrap();
        let o = rewrite(d.path()).await;
        assert_eq!(o.scanned, 2);
        let st: Vec<(&str, Status, Option<&str>)> = o
            .references
            .iter()
            .map(|r| (r.old.as_str(), r.status, r.new.as_deref()))
            .collect();
        assert_eq!(
            st,
            vec![
                ("nginx", Status::Rewritten, Some("m.io/hub/nginx")),
                (
                    "acme/api:1.1",
                    Status::Rewritten,
                    Some("m.io/mirror/api:1.1")
                ),
                ("ghcr.io/x/y:1", Status::Unmapped, None),
                ("m.io/mirror/api:1.0", Status::Current, None),
                (
                    "docker.io/acme/web:2.0",
                    Status::Rewritten,
                    Some("m.io/mirror/web:2.0")
                ),
            ]
        );
        let pod = &o.changed[0];
        assert_eq!(
            pod.after,
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: \"m.io/hub/nginx\"   # web\n    - image: m.io/mirror/api:1.1\n    - image: ghcr.io/x/y:1\n    - image: m.io/mirror/api:1.0\n"
        );
        assert_eq!(
            o.changed[1].after,
            "image:\n  registry: m.io\n  repository: mirror/web\n  tag: '2.0'\n"
        );
    }

    #[tokio::test]
    async fn nothing_matching_changes_nothing() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("Dockerfile"), "FROM ghcr.io/a/b:1\n").unwrap();
        let o = rewrite(d.path()).await;
        assert!(o.changed.is_empty());
        assert_eq!(o.references[0].status, Status::Unmapped);
        assert!(!o.references[0].outstanding);
    }

    #[test]
    fn spelling_keeps_implied_tags_implied() {
        let r = match "m.io/hub/nginx".parse::<ImageRef>().unwrap() {
            ImageRef::Registry(r) => r,
            _ => unreachable!(),
        };
        assert_eq!(spell(&r, false), "m.io/hub/nginx");
        assert_eq!(spell(&r, true), "m.io/hub/nginx:latest");
    }
}
