//! Image references in YAML and JSON (JSON is read as YAML 1.2): a node
//! tree with the exact byte span of every scalar, built from saphyr's events
//! (nothing is re-serialised), and the finders for Kubernetes manifests,
//! Helm values, compose files, GitHub Actions workflows and ECS task
//! definitions. Imports only the parent's types.

use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver};

use super::{Field, Form, Found, Kind, Parts, Quote, Token};

/// Nesting deeper than this is refused (hostile files).
const MAX_DEPTH: usize = 256;

/// A scalar and where it is in the text.
#[derive(Clone, Debug)]
pub(crate) struct Scalar {
    pub value: String,
    pub style: ScalarStyle,
    /// Byte range of the whole token (quotes included).
    pub start: usize,
    pub end: usize,
    /// 1-based line.
    pub line: usize,
}

/// A YAML node.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// An alias (`*anchor`): its anchor is found where it is defined.
    Alias,
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| matches!(k, Node::Scalar(s) if s.value == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    fn map_values(&self) -> impl Iterator<Item = (&str, &Node)> {
        let pairs: &[(Node, Node)] = match self {
            Node::Map(p) => p,
            _ => &[],
        };
        pairs
            .iter()
            .filter_map(|(k, v)| Some((k.scalar()?.value.as_str(), v)))
    }

    fn children(&self) -> Vec<&Node> {
        match self {
            Node::Map(p) => p.iter().flat_map(|(k, v)| [k, v]).collect(),
            Node::Seq(items) => items.iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// Character index → byte offset (saphyr counts characters).
struct Offsets {
    ascii: bool,
    bytes: Vec<usize>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Offsets {
        let ascii = text.is_ascii();
        Offsets {
            ascii,
            bytes: if ascii {
                Vec::new()
            } else {
                text.char_indices().map(|(b, _)| b).collect()
            },
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.ascii {
            char_index.min(self.len)
        } else {
            self.bytes.get(char_index).copied().unwrap_or(self.len)
        }
    }
}

enum Frame {
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>, Option<Node>),
}

struct Builder {
    offsets: Offsets,
    stack: Vec<Frame>,
    docs: Vec<Node>,
    /// Collections opened below `MAX_DEPTH` that are being skipped.
    skipped: usize,
    too_deep: bool,
}

impl Builder {
    fn push(&mut self, n: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(n),
            Some(Frame::Seq(items)) => items.push(n),
            Some(Frame::Map(pairs, key)) => match key.take() {
                None => *key = Some(n),
                Some(k) => pairs.push((k, n)),
            },
        }
    }

    fn open(&mut self, f: Frame) {
        if self.skipped > 0 || self.stack.len() >= MAX_DEPTH {
            self.skipped += 1;
            self.too_deep = true;
        } else {
            self.stack.push(f);
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        let skipping = self.skipped > 0;
        match ev {
            Event::Scalar(value, style, _, _) if !skipping => {
                let s = Scalar {
                    value: value.into_owned(),
                    style,
                    start: self.offsets.byte(span.start.index()),
                    end: self.offsets.byte(span.end.index()),
                    line: span.start.line(),
                };
                self.push(Node::Scalar(s));
            }
            Event::Alias(_) if !skipping => self.push(Node::Alias),
            Event::SequenceStart(..) => self.open(Frame::Seq(Vec::new())),
            Event::MappingStart(..) => self.open(Frame::Map(Vec::new(), None)),
            Event::SequenceEnd | Event::MappingEnd if skipping => self.skipped -= 1,
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Seq(items)) => Node::Seq(items),
                    Some(Frame::Map(pairs, _)) => Node::Map(pairs),
                    None => return,
                };
                self.push(node);
            }
            _ => {}
        }
    }
}

/// Parses every document of a YAML (or JSON) text.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, String> {
    let mut b = Builder {
        offsets: Offsets::new(text),
        stack: Vec::new(),
        docs: Vec::new(),
        skipped: 0,
        too_deep: false,
    };
    Parser::new_from_str(text)
        .load(&mut b, true)
        .map_err(|e| format!("not valid YAML: {e}"))?;
    if b.too_deep {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    Ok(b.docs)
}

/// Where a quoted scalar that opens at `start` closes (saphyr's span can run
/// on over a trailing comment, so the end is found here).
fn closing_quote(text: &str, start: usize, q: u8) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if q == b'"' => i += 2,
            c if c == q => {
                if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2; // '' is an escaped quote
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Where the scalar itself starts, past an anchor (`&a`) or tag (`!!str`)
/// that saphyr's span may include.
fn past_properties(text: &str, mut at: usize) -> usize {
    let b = text.as_bytes();
    while matches!(b.get(at), Some(b'&' | b'!')) {
        while at < b.len() && !b[at].is_ascii_whitespace() {
            at += 1;
        }
        while at < b.len() && (b[at] == b' ' || b[at] == b'\t') {
            at += 1;
        }
    }
    at
}

/// The replaceable token of a scalar, checked against the text.
fn token(text: &str, s: &Scalar, prefix: &'static str) -> Result<Token, String> {
    let start = past_properties(text, s.start);
    let s = &Scalar {
        start,
        end: s.end.max(start),
        ..s.clone()
    };
    let at = |q: u8| text.as_bytes().get(s.start) == Some(&q);
    let (end, quote) = match s.style {
        ScalarStyle::Plain => {
            let exact = s.start + s.value.len();
            if text.get(s.start..exact) == Some(s.value.as_str()) {
                (exact, Quote::None)
            } else {
                // A plain scalar folded over several lines.
                let raw = text.get(s.start..s.end).unwrap_or("");
                if raw.split_whitespace().collect::<Vec<_>>().join(" ") != s.value {
                    return Err("the scalar's text does not match its value".into());
                }
                (s.end, Quote::None)
            }
        }
        ScalarStyle::SingleQuoted if at(b'\'') => (
            closing_quote(text, s.start, b'\'').ok_or("unterminated quote")?,
            Quote::Single,
        ),
        ScalarStyle::DoubleQuoted if at(b'"') => (
            closing_quote(text, s.start, b'"').ok_or("unterminated quote")?,
            Quote::Double,
        ),
        ScalarStyle::Literal | ScalarStyle::Folded => {
            return Err("a block scalar (| or >): edit it by hand".into())
        }
        _ => return Err("the scalar's quotes do not match its text".into()),
    };
    if !text.is_char_boundary(s.start) || !text.is_char_boundary(end) {
        return Err("the scalar's span is not on character boundaries".into());
    }
    Ok(Token {
        start: s.start,
        end,
        quote,
        prefix,
    })
}

fn dynamic(v: &str) -> bool {
    v.contains('$') || v.contains("{{")
}

/// A reference held by one scalar.
fn single(text: &str, kind: Kind, s: &Scalar, prefix: &'static str) -> Option<Found> {
    let value = s.value.strip_prefix(prefix).unwrap_or(&s.value).trim();
    if value.is_empty() {
        return None;
    }
    let form = if dynamic(value) {
        Form::Dynamic
    } else {
        match token(text, s, prefix) {
            Ok(t) => Form::Single(t),
            Err(reason) => Form::Unsupported(reason),
        }
    };
    Some(Found {
        kind,
        line: s.line,
        value: value.to_string(),
        form,
    })
}

fn image_of(text: &str, kind: Kind, container: &Node, key: &str, out: &mut Vec<Found>) {
    if let Some(s) = container.get(key).and_then(Node::scalar) {
        out.extend(single(text, kind, s, ""));
    }
}

/// What a document is, from its top-level keys (and the file's path).
fn classify(doc: &Node, path: &str) -> Kind {
    let has = |k: &str| doc.get(k).is_some();
    if has("apiVersion") && has("kind") {
        return Kind::Kubernetes;
    }
    if matches!(doc.get("jobs"), Some(Node::Map(_)))
        && (has("on") || path.replace('\\', "/").contains(".github/workflows/"))
    {
        return Kind::GithubActions;
    }
    if has("containerDefinitions")
        || has("ContainerDefinitions")
        || doc
            .get("taskDefinition")
            .is_some_and(|t| t.get("containerDefinitions").is_some())
    {
        return Kind::Ecs;
    }
    if let Some(Node::Map(services)) = doc.get("services") {
        if !services.is_empty() && services.iter().all(|(_, v)| matches!(v, Node::Map(_))) {
            return Kind::Compose;
        }
    }
    Kind::Helm
}

/// Every `image` of `containers`, `initContainers`, `ephemeralContainers`
/// lists anywhere in a Kubernetes object (Pods, workload templates,
/// CronJob job templates, `List` items, custom resources with pod specs).
fn kubernetes(text: &str, n: &Node, depth: usize, out: &mut Vec<Found>) {
    if depth > MAX_DEPTH {
        return;
    }
    for (k, v) in n.map_values() {
        if matches!(k, "containers" | "initContainers" | "ephemeralContainers") {
            if let Node::Seq(items) = v {
                for c in items {
                    image_of(text, Kind::Kubernetes, c, "image", out);
                }
            }
        }
    }
    for c in n.children() {
        kubernetes(text, c, depth + 1, out);
    }
}

/// `services.*.image`.
fn compose(text: &str, doc: &Node, out: &mut Vec<Found>) {
    if let Some(services) = doc.get("services") {
        for (_, svc) in services.map_values() {
            image_of(text, Kind::Compose, svc, "image", out);
        }
    }
}

/// `jobs.*.container` (a string or `{image}`), `jobs.*.services.*.image`,
/// and `docker://` step actions.
fn actions(text: &str, doc: &Node, out: &mut Vec<Found>) {
    let Some(jobs) = doc.get("jobs") else { return };
    for (_, job) in jobs.map_values() {
        match job.get("container") {
            Some(Node::Scalar(s)) => out.extend(single(text, Kind::GithubActions, s, "")),
            Some(c @ Node::Map(_)) => image_of(text, Kind::GithubActions, c, "image", out),
            _ => {}
        }
        if let Some(services) = job.get("services") {
            for (_, svc) in services.map_values() {
                image_of(text, Kind::GithubActions, svc, "image", out);
            }
        }
        if let Some(Node::Seq(steps)) = job.get("steps") {
            for step in steps {
                if let Some(s) = step.get("uses").and_then(Node::scalar) {
                    if s.value.starts_with("docker://") {
                        out.extend(single(text, Kind::GithubActions, s, "docker://"));
                    }
                }
            }
        }
    }
}

/// `containerDefinitions[].image` anywhere (a task definition, the output of
/// `describe-task-definition`, CloudFormation's `ContainerDefinitions`).
pub(crate) fn ecs(text: &str, n: &Node, depth: usize, out: &mut Vec<Found>) {
    if depth > MAX_DEPTH {
        return;
    }
    for (k, v) in n.map_values() {
        if matches!(k, "containerDefinitions" | "ContainerDefinitions") {
            if let Node::Seq(items) = v {
                for c in items {
                    image_of(text, Kind::Ecs, c, "image", out);
                    image_of(text, Kind::Ecs, c, "Image", out);
                }
            }
        }
    }
    for c in n.children() {
        ecs(text, c, depth + 1, out);
    }
}

fn field(text: &str, s: &Scalar) -> Result<Field, String> {
    Ok(Field {
        value: s.value.trim().to_string(),
        token: token(text, s, "")?,
    })
}

fn nonempty(s: Option<&Scalar>) -> Option<&str> {
    s.map(|s| s.value.trim()).filter(|v| !v.is_empty())
}

/// Helm's `repository:` (+ `tag:`, `registry:`, `digest:`) pattern.
fn helm_parts(text: &str, map: &Node, parent_key: &str) -> Option<Found> {
    let repo = map.get("repository")?.scalar()?;
    let scalar = |k: &str| map.get(k).and_then(Node::scalar);
    let (registry, tag, digest) = (scalar("registry"), scalar("tag"), scalar("digest"));
    let looks_like_image = registry.is_some()
        || tag.is_some()
        || digest.is_some()
        || parent_key.to_ascii_lowercase().contains("image");
    if !looks_like_image || repo.value.trim().is_empty() {
        return None;
    }
    let mut value = match nonempty(registry) {
        Some(r) => format!("{r}/{}", repo.value.trim()),
        None => repo.value.trim().to_string(),
    };
    if let Some(t) = nonempty(tag) {
        value += &format!(":{t}");
    }
    if let Some(d) = nonempty(digest) {
        value += &format!("@{d}");
    }
    let all = [Some(repo), registry, tag, digest];
    let form = if all.iter().flatten().any(|s| dynamic(&s.value)) {
        Form::Dynamic
    } else {
        let built = (|| -> Result<Parts, String> {
            Ok(Parts {
                registry: registry.map(|s| field(text, s)).transpose()?,
                repository: field(text, repo)?,
                tag: tag.map(|s| field(text, s)).transpose()?,
                digest: digest.map(|s| field(text, s)).transpose()?,
            })
        })();
        match built {
            Ok(p) => Form::Parts(Box::new(p)),
            Err(reason) => Form::Unsupported(reason),
        }
    };
    Some(Found {
        kind: Kind::Helm,
        line: repo.line,
        value,
        form,
    })
}

/// Helm values: `image: REF` anywhere, and `repository:`/`tag:` maps.
fn helm(text: &str, n: &Node, parent_key: &str, depth: usize, out: &mut Vec<Found>) {
    if depth > MAX_DEPTH {
        return;
    }
    match n {
        Node::Map(_) => {
            if let Some(f) = helm_parts(text, n, parent_key) {
                out.push(f);
                return;
            }
            for (k, v) in n.map_values() {
                match v {
                    Node::Scalar(s) if k == "image" => out.extend(single(text, Kind::Helm, s, "")),
                    _ => helm(text, v, k, depth + 1, out),
                }
            }
        }
        Node::Seq(items) => {
            for i in items {
                helm(text, i, parent_key, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// Every image reference of a YAML file (each document classified on its own).
pub(crate) fn find(text: &str, path: &str) -> Result<Vec<Found>, String> {
    let mut out = Vec::new();
    for doc in parse(text)? {
        match classify(&doc, path) {
            Kind::Kubernetes => kubernetes(text, &doc, 0, &mut out),
            Kind::GithubActions => actions(text, &doc, &mut out),
            Kind::Ecs => ecs(text, &doc, 0, &mut out),
            Kind::Compose => compose(text, &doc, &mut out),
            Kind::Helm | Kind::Dockerfile => helm(text, &doc, "", 0, &mut out),
        }
    }
    Ok(out)
}

/// Image references of an ECS task definition in JSON.
pub(crate) fn find_json(text: &str) -> Result<Vec<Found>, String> {
    let mut out = Vec::new();
    for doc in parse(text)? {
        ecs(text, &doc, 0, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str, path: &str) -> Vec<(Kind, usize, String, String)> {
        find(text, path)
            .unwrap()
            .into_iter()
            .map(|f| {
                let raw = match &f.form {
                    Form::Single(t) => text[t.start..t.end].to_string(),
                    Form::Parts(p) => {
                        text[p.repository.token.start..p.repository.token.end].to_string()
                    }
                    Form::Dynamic => "<dynamic>".into(),
                    Form::Unsupported(r) => format!("<{r}>"),
                };
                (f.kind, f.line, f.value, raw)
            })
            .collect()
    }

    #[test]
    fn kubernetes_multi_doc_with_comments_and_quotes() {
        let text = "# a comment\napiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      initContainers:\n        - name: init\n          image: 'busybox:1.36' # pinned later\n      containers:\n        - {name: web, image: \"nginx:1.27\"}\n---\napiVersion: batch/v1\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - name: c\n            image: acme/job\n          ephemeralContainers:\n          - image: ${DEBUG}\n";
        let got = spans(text, "k8s/app.yaml");
        assert_eq!(
            got,
            vec![
                (
                    Kind::Kubernetes,
                    9,
                    "busybox:1.36".into(),
                    "'busybox:1.36'".into()
                ),
                (
                    Kind::Kubernetes,
                    11,
                    "nginx:1.27".into(),
                    "\"nginx:1.27\"".into()
                ),
                (Kind::Kubernetes, 22, "acme/job".into(), "acme/job".into()),
                (Kind::Kubernetes, 24, "${DEBUG}".into(), "<dynamic>".into()),
            ]
        );
    }

    #[test]
    fn helm_values_both_patterns() {
        let text = "image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: \"7.2\"\nsidecar:\n  image: busybox\nexporter:\n  image:\n    repository: prom/exporter\nnotes:\n  repository: not-an-image\nblock:\n  image: >-\n    nginx\n";
        let got = spans(text, "values.yaml");
        assert_eq!(got[0].2, "docker.io/bitnami/redis:7.2");
        assert_eq!(got[0].3, "bitnami/redis");
        assert_eq!(got[1].2, "busybox");
        assert_eq!(got[2].2, "prom/exporter");
        assert!(got[3].3.starts_with("<a block scalar"), "{got:?}");
        assert_eq!(got.len(), 4, "{got:?}");
    }

    #[test]
    fn compose_actions_and_ecs() {
        let compose = "services:\n  db:\n    image: postgres:16\n  app:\n    build: .\n";
        assert_eq!(spans(compose, "compose.yaml")[0].0, Kind::Compose);
        let wf = "on: push\njobs:\n  t:\n    container: node:20\n    services:\n      redis:\n        image: redis:7\n    steps:\n      - uses: docker://alpine:3.20\n      - uses: actions/checkout@v4\n  u:\n    container:\n      image: ghcr.io/acme/ci:1\n";
        let got = spans(wf, ".github/workflows/ci.yml");
        let values: Vec<&str> = got.iter().map(|g| g.2.as_str()).collect();
        assert_eq!(
            values,
            ["node:20", "redis:7", "alpine:3.20", "ghcr.io/acme/ci:1"]
        );
        assert_eq!(got[2].3, "docker://alpine:3.20");
        let json = "{\n\t\"family\": \"api\",\n\t\"containerDefinitions\": [\n\t\t{\"name\": \"api\", \"image\": \"acme/api:1.1\"}\n\t]\n}\n";
        let found = find_json(json).unwrap();
        assert_eq!(found.len(), 1);
        match &found[0].form {
            Form::Single(t) => assert_eq!(&json[t.start..t.end], "\"acme/api:1.1\""),
            f => panic!("{f:?}"),
        }
        assert_eq!(found[0].line, 4);
    }

    #[test]
    fn unicode_offsets_and_hostile_input() {
        let text = "# héllo wörld\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: ünï\n    image: nginx:1\n";
        let got = spans(text, "pod.yaml");
        assert_eq!(got[0].3, "nginx:1");
        let props = "apiVersion: v1\r\nkind: Pod\r\nspec:\r\n  containers:\r\n    - image: &img nginx:1.27\r\n    - image: !!str \"redis:7\"\r\n    - image: *img\r\n";
        let got = spans(props, "pod.yaml");
        assert_eq!(
            got.len(),
            2,
            "an alias is found where its anchor is: {got:?}"
        );
        assert_eq!(got[0].3, "nginx:1.27");
        assert_eq!(got[1].3, "\"redis:7\"");
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse(&deep).is_err());
        assert!(parse("a: [b").is_err());
    }
}
