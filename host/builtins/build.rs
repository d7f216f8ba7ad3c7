//! Builds every crate in `plugins/` as a WebAssembly component and
//! generates the table of built-in plugins that embeds them.

use std::fmt::Write;
use std::path::PathBuf;

use warrant_guest_build as guests;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.join("../..").canonicalize().unwrap();
    let plugins = guests::guests_in(&root.join("plugins"));
    assert!(!plugins.is_empty(), "no plugin crates in `plugins/`");
    guests::rerun_if_changed([
        root.join("plugins"),
        root.join("sdk/rust"),
        root.join("wit"),
        root.join("Cargo.lock"),
        root.join("Cargo.toml"),
    ]);

    let artifacts = guests::build(
        &root.join("Cargo.toml"),
        &plugins,
        &guests::shared_target_dir(),
    );

    let mut table =
        String::from("/// Every built-in plugin, by name.\npub static BUILTINS: &[Builtin] = &[\n");
    for (plugin, wasm) in plugins.iter().zip(&artifacts) {
        writeln!(
            table,
            "    Builtin {{ name: {:?}, version: {:?}, description: {:?}, wasm: include_bytes!({:?}) }},",
            plugin.name,
            plugin.version,
            plugin.description,
            wasm.display().to_string(),
        )
        .unwrap();
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    std::fs::write(out.join("builtins.rs"), table).unwrap();
}
