//! Warrant's built-in plugins: the crates in `plugins/`, compiled by this
//! crate's build script into WebAssembly components and embedded here, so
//! the `warrant` binary needs nothing beside it.
#![deny(missing_docs)]

/// A built-in plugin.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its name, e.g. `spend-limit`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
    /// What it does.
    pub description: &'static str,
    /// The component's bytes.
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// The built-in plugin called `name`.
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|builtin| builtin.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_every_plugin_as_a_component() {
        for name in [
            "spend-limit",
            "merchant-rules",
            "rate-limit",
            "budget",
            "time-window",
            "risk-threshold",
            "anomaly",
            "recurring-match",
            "settlement-review",
        ] {
            let builtin = find(name).unwrap_or_else(|| panic!("`{name}` is not built in"));
            // The component-model binary header: magic, version 0x0d, layer 1.
            assert_eq!(&builtin.wasm[..8], b"\0asm\x0d\0\x01\0", "{name}");
            assert!(!builtin.description.is_empty());
        }
    }
}
