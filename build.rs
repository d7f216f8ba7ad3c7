//! Embeds what `warrant plugin new` writes: the WIT, the reference policy
//! of each template language, the toolchain script and the conformance
//! suite, as `TEMPLATE_FILES` (repository path, text). The SDKs are not
//! embedded: a template depends on its language's SDK package by path.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The folders and files templates are made from, relative to the root.
const SOURCES: &[&str] = &[
    "wit",
    "examples/rust",
    "examples/python",
    "examples/javascript",
    "examples/c",
    "examples/zig",
    "examples/go",
    "examples/tools.sh",
    "examples/cases/reference-policy.json",
];

/// Never part of a template: build outputs and caches.
const SKIPPED: &[&str] = &[
    "target",
    "node_modules",
    "__pycache__",
    "zig-out",
    "package-lock.json",
];

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let mut files = Vec::new();
    for source in SOURCES {
        let path = root.join(source);
        if !path.exists() {
            println!("cargo::warning=`{source}` is missing: templates will lack it");
            continue;
        }
        collect(&root, &path, false, &mut files);
    }
    files.sort();

    let mut out = String::from("/// Every file a template is made from: (path, text).\n");
    out.push_str("pub static TEMPLATE_FILES: &[(&str, &str)] = &[\n");
    for relative in &files {
        let absolute = root.join(relative);
        writeln!(out, "    ({relative:?}, include_str!({absolute:?})),").unwrap();
    }
    out.push_str("];\n");
    out.push_str("/// What the templates leave out: build outputs and caches.\n#[cfg(test)]\n");
    writeln!(out, "const SKIPPED: &[&str] = &{SKIPPED:?};").unwrap();
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    std::fs::write(out_dir.join("templates.rs"), out).unwrap();
}

/// Adds every file under `path` (or `path` itself) to `files`, and asks
/// Cargo to rebuild when one changes or is added. A folder is watched as a
/// whole only when nothing below it is skipped, so that building an example
/// or running its tests never rebuilds `warrant`; the files of other folders
/// are watched one by one.
fn collect(root: &Path, path: &Path, watched_above: bool, files: &mut Vec<String>) {
    if path.is_file() {
        let relative = path.strip_prefix(root).unwrap().to_str().unwrap();
        files.push(relative.replace('\\', "/"));
        if !watched_above {
            println!("cargo::rerun-if-changed={}", path.display());
        }
        return;
    }
    let watched = watched_above || is_clean(path);
    if watched && !watched_above {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    for entry in entries(path) {
        collect(root, &entry, watched, files);
    }
}

/// The entries of a folder that belong in a template, sorted.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            !name.starts_with('.') && !SKIPPED.contains(&name.as_ref())
        })
        .collect();
    entries.sort();
    entries
}

/// Whether no build output or cache lies anywhere below `dir`.
fn is_clean(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().all(|entry| {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy();
        !SKIPPED.contains(&name.as_ref()) && (!path.is_dir() || is_clean(&path))
    })
}
