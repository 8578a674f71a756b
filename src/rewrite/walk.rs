//! Which files `rewrite` reads: the paths given, directories walked with the
//! `ignore` crate (`.gitignore`, `.ignore` and `.git/info/exclude` respected,
//! hidden directories such as `.github/` included, `.git/` skipped, symlinks
//! not followed), kept when their name says Dockerfile, YAML or JSON.
//! Imports only `error`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// How a file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Kubernetes, Helm values, compose, GitHub Actions, ECS in YAML.
    Yaml,
    /// ECS task definitions.
    Json,
    /// Dockerfiles and Containerfiles.
    Dockerfile,
}

/// A path that was not read, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    /// The file.
    pub file: String,
    /// Why.
    pub reason: String,
}

/// What a file name says it is.
pub fn kind_of(path: &Path) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    if lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || lower.starts_with("containerfile.")
        || lower.ends_with(".dockerfile")
        || lower.ends_with(".containerfile")
    {
        return Some(FileKind::Dockerfile);
    }
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        return Some(FileKind::Yaml);
    }
    if lower.ends_with(".json") {
        return Some(FileKind::Json);
    }
    None
}

/// The path as shown in diffs and reports (`./a/b` → `a/b`).
pub fn display(path: &Path) -> String {
    let s = path.display().to_string();
    match s.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s,
    }
}

/// Files to read, with how.
pub type Files = Vec<(PathBuf, FileKind)>;

/// The files to read under `paths`, in a stable order, and what was passed over.
pub fn files(paths: &[PathBuf]) -> Result<(Files, Vec<Skipped>)> {
    let Some(first) = paths.first() else {
        return Err(Error::Usage("give at least one file or directory".into()));
    };
    for p in paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(Error::Usage(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    let mut b = ignore::WalkBuilder::new(first);
    for p in &paths[1..] {
        b.add(p);
    }
    b.hidden(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|e| e.file_name() != ".git");
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for entry in b.build() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                skipped.push(Skipped {
                    file: String::new(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.into_path();
        // A link given by name: rewriting it would replace the link with a file.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            skipped.push(Skipped {
                file: display(&path),
                reason: "a symbolic link: give the file it points to".into(),
            });
            continue;
        }
        match kind_of(&path) {
            Some(k) if !found.iter().any(|(p, _)| p == &path) => found.push((path, k)),
            Some(_) => {}
            None if paths.iter().any(|p| p == &path) => skipped.push(Skipped {
                file: display(&path),
                reason: "not a Dockerfile, YAML or JSON file (by its name)".into(),
            }),
            None => {}
        }
    }
    Ok((found, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name() {
        for (name, kind) in [
            ("Dockerfile", Some(FileKind::Dockerfile)),
            ("Dockerfile.prod", Some(FileKind::Dockerfile)),
            ("api.Dockerfile", Some(FileKind::Dockerfile)),
            ("Containerfile", Some(FileKind::Dockerfile)),
            ("values.yaml", Some(FileKind::Yaml)),
            ("ci.YML", Some(FileKind::Yaml)),
            ("task.json", Some(FileKind::Json)),
            ("README.md", None),
        ] {
            assert_eq!(kind_of(Path::new(name)), kind, "{name}");
        }
        assert_eq!(display(Path::new("./k8s/a.yaml")), "k8s/a.yaml");
    }

    #[test]
    fn walks_with_gitignore_and_hidden_dirs() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for f in [
            ".github/workflows/ci.yml",
            "k8s/app.yaml",
            "build/out.yaml",
            "Dockerfile",
            "notes.txt",
            ".git/config.yaml",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x").unwrap();
        }
        std::fs::write(root.join(".gitignore"), "build/\n").unwrap();
        let (files, skipped) = files(&[root.to_path_buf()]).unwrap();
        let rel: Vec<String> = files
            .iter()
            .map(|(p, _)| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            rel,
            [".github/workflows/ci.yml", "Dockerfile", "k8s/app.yaml"]
        );
        assert!(skipped.is_empty());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("k8s/app.yaml"), root.join("link.yaml")).unwrap();
            let (files, skipped) =
                super::files(&[root.join("link.yaml"), root.to_path_buf()]).unwrap();
            assert_eq!(skipped.len(), 1, "{skipped:?}");
            assert_eq!(files.len(), 3, "a link is neither followed nor read");
        }
        // An explicit file of an unknown kind is reported, a missing one refused.
        let (_, skipped) = super::files(&[root.join("notes.txt")]).unwrap();
        assert_eq!(skipped.len(), 1);
        assert!(super::files(&[root.join("nope")]).is_err());
    }
}
