//! Builds WebAssembly guests from a build script: the built-in plugins that
//! ship inside the `warrant` binary and the guests the tests run.
//!
//! A guest is a crate built for `wasm32-wasip2` with the `plugin` profile of
//! its workspace. The target is added with rustup when it is missing, so a
//! fresh machine needs no manual step.
#![deny(missing_docs)]

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target guests are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// A guest crate found in a folder of crates.
#[derive(Debug, Clone)]
pub struct Guest {
    /// The package name, e.g. `spend-limit`.
    pub name: String,
    /// The package version.
    pub version: String,
    /// The package description, or empty.
    pub description: String,
    /// `[package.metadata.warrant]` of its manifest, if any.
    pub metadata: Option<toml::Table>,
    /// Its folder.
    pub dir: PathBuf,
}

impl Guest {
    /// The name of the `.wasm` file cargo writes for it.
    pub fn artifact_name(&self) -> String {
        format!("{}.wasm", self.name.replace('-', "_"))
    }

    /// A string field of its `[package.metadata.warrant]`.
    pub fn metadata_str(&self, key: &str) -> Option<&str> {
        self.metadata.as_ref()?.get(key)?.as_str()
    }
}

/// Every crate in the direct subfolders of `dir`, sorted by name.
pub fn guests_in(dir: &Path) -> Vec<Guest> {
    let mut guests = Vec::new();
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("cannot read a folder entry").path();
        let manifest = path.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", manifest.display()));
        let table: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("`{}` is not valid TOML: {e}", manifest.display()));
        let Some(package) = table.get("package").and_then(|p| p.as_table()) else {
            continue;
        };
        let field = |key: &str| -> String {
            match package.get(key) {
                Some(toml::Value::String(value)) => value.clone(),
                // `version.workspace = true`: the workspace's version.
                Some(toml::Value::Table(_)) => env::var("CARGO_PKG_VERSION").unwrap_or_default(),
                _ => String::new(),
            }
        };
        guests.push(Guest {
            name: field("name"),
            version: field("version"),
            description: field("description"),
            metadata: package
                .get("metadata")
                .and_then(|m| m.get("warrant"))
                .and_then(|w| w.as_table())
                .cloned(),
            dir: path,
        });
    }
    guests.sort_by(|a, b| a.name.cmp(&b.name));
    guests
}

/// A folder for guest builds shared by every profile of the outer build
/// (`target/wasm-guests`), so that `cargo test`, `cargo clippy` and
/// `cargo build --release` do not each rebuild the guests.
pub fn shared_target_dir() -> PathBuf {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out, or with an
    // explicit --target <target>/<triple>/<profile>/build/…/out.
    let target = out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.join("wasm-guests"));
    target.join("wasm-guests")
}

/// Builds `packages` of the workspace at `manifest` for [`TARGET`] with the
/// workspace's `plugin` profile, into `target_dir`, and returns the path of
/// each package's `.wasm`, in order. Panics with a clear message on
/// failure: it is meant for build scripts.
pub fn build(manifest: &Path, guests: &[Guest], target_dir: &Path) -> Vec<PathBuf> {
    ensure_target();
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(manifest)
        .args(["--target", TARGET, "--profile", "plugin", "--target-dir"])
        .arg(target_dir);
    for guest in guests {
        command.args(["--package", &guest.name]);
    }
    // The outer build's flags and wrappers (clippy's, coverage's) are for
    // host code; guests get only a small stack, which keeps their initial
    // memory at a page or two.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        command.env_remove(var);
    }
    command.env("CARGO_ENCODED_RUSTFLAGS", "-Clink-arg=-zstack-size=65536");
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the WebAssembly guests: {e}"));
    if !status.success() {
        panic!(
            "building the WebAssembly guests in `{}` failed ({status}); see the errors above",
            manifest.display()
        );
    }
    let out = target_dir.join(TARGET).join("plugin");
    guests
        .iter()
        .map(|guest| {
            let path = out.join(guest.artifact_name());
            assert!(path.is_file(), "cargo built no `{}`", path.display());
            path
        })
        .collect()
}

/// Adds the `wasm32-wasip2` target with rustup when the toolchain lacks it.
pub fn ensure_target() {
    if target_installed() {
        return;
    }
    println!("cargo:warning=adding the {TARGET} target with rustup");
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    let result = rustup.status();
    if !matches!(result, Ok(status) if status.success()) || !target_installed() {
        panic!(
            "the Rust target `{TARGET}` is not installed and `rustup target add {TARGET}` did not \
             install it ({result:?}); install the target and build again"
        );
    }
}

fn target_installed() -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir()
}

/// Tells cargo to run the build script again when anything under these
/// paths changes.
pub fn rerun_if_changed<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) {
    for path in paths {
        println!("cargo:rerun-if-changed={}", path.as_ref().display());
    }
}
