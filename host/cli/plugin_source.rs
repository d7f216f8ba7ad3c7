//! Where a plugin named on the command line comes from: a file, or the
//! built-in plugins.

use std::path::Path;

use anyhow::Context as _;

/// A plugin's bytes and the name and version it runs under.
pub struct PluginSource {
    pub name: String,
    pub version: String,
    pub bytes: Vec<u8>,
}

impl PluginSource {
    /// `plugin` is a path to a `.wasm` file, or a built-in plugin's name.
    pub fn resolve(plugin: &str) -> anyhow::Result<Self> {
        let path = Path::new(plugin);
        let looks_like_path = plugin.contains(std::path::MAIN_SEPARATOR)
            || plugin.ends_with(".wasm")
            || path.exists();
        if looks_like_path {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read plugin `{}`", path.display()))?;
            let name = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_else(|| plugin.to_owned());
            return Ok(PluginSource {
                name,
                version: "local".into(),
                bytes,
            });
        }
        match warrant_builtins::find(plugin) {
            Some(builtin) => Ok(PluginSource {
                name: builtin.name.into(),
                version: builtin.version.into(),
                bytes: builtin.wasm.to_vec(),
            }),
            None => {
                let names: Vec<&str> = warrant_builtins::BUILTINS.iter().map(|b| b.name).collect();
                anyhow::bail!(
                    "`{plugin}` is neither a `.wasm` file nor a built-in plugin (built-in: {})",
                    names.join(", ")
                )
            }
        }
    }
}
