//! What a component says of itself, read without compiling it: its size,
//! its kind, the names it imports and exports. Enough to refuse a
//! component that cannot be a plugin before paying for its compilation.

use wasmparser::{ComponentExternalKind, ComponentTypeRef, Parser, Payload};

use warrant_domain::plugin::World;

use crate::errors::LoadError;

/// The package whose worlds plugins target, and the versions of it the
/// host runs, oldest first.
const PACKAGE: &str = "warrant:policy";
pub(crate) const CONTRACT_VERSIONS: [&str; 5] = ["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"];
/// The WASI 0.2 packages a plugin may import; the host's versions of them
/// give no authority (see the crate documentation).
const WASI_PACKAGES: [&str; 6] = [
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
];

/// The top-level imports and exports of a component.
#[derive(Debug, Default)]
pub(crate) struct Outline {
    pub(crate) imports: Vec<String>,
    pub(crate) exports: Vec<String>,
    /// How many core instances the component creates when instantiated.
    pub(crate) core_instances: usize,
}

impl Outline {
    /// Reads a component's outline: refuses what is over `max_bytes`, not
    /// WebAssembly, a core module, or not well formed enough to name its
    /// imports and exports.
    pub(crate) fn read(bytes: &[u8], max_bytes: usize) -> Result<Self, LoadError> {
        if bytes.len() > max_bytes {
            return Err(LoadError::TooLarge {
                size: bytes.len(),
                max: max_bytes,
            });
        }
        if Parser::is_core_wasm(bytes) {
            return Err(LoadError::CoreModule);
        }
        if !Parser::is_component(bytes) {
            return Err(LoadError::NotWasm);
        }
        let mut outline = Outline::default();
        // Nested modules and components have imports and exports of their
        // own; only the outermost ones are the plugin's.
        let mut depth = 0usize;
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(|e| LoadError::Invalid(e.to_string()))?;
            match payload {
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) => depth = depth.saturating_sub(1),
                Payload::ComponentImportSection(section) if depth == 0 => {
                    for import in section {
                        let import = import.map_err(|e| LoadError::Invalid(e.to_string()))?;
                        // Types a world uses are imported by name too; they
                        // are not something the host provides.
                        if !matches!(import.ty, ComponentTypeRef::Type(_)) {
                            outline.imports.push(import.name.name.to_owned());
                        }
                    }
                }
                Payload::InstanceSection(section) if depth == 0 => {
                    // Instances made of other instances' exports cost
                    // nothing; only instantiated modules are created.
                    for instance in section {
                        let instance = instance.map_err(|e| LoadError::Invalid(e.to_string()))?;
                        if matches!(instance, wasmparser::Instance::Instantiate { .. }) {
                            outline.core_instances += 1;
                        }
                    }
                }
                Payload::ComponentExportSection(section) if depth == 0 => {
                    for export in section {
                        let export = export.map_err(|e| LoadError::Invalid(e.to_string()))?;
                        if export.kind != ComponentExternalKind::Type {
                            outline.exports.push(export.name.name.to_owned());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(outline)
    }

    /// The world the export names point to.
    pub(crate) fn world(&self) -> Result<World, LoadError> {
        let exports = &self.exports;
        let has = |name: &str| exports.iter().any(|export| export == name);
        match (has("evaluate"), has("assess")) {
            (true, false) => Ok(World::Policy),
            (false, true) => Ok(World::Risk),
            (true, true) => Err(LoadError::World(
                "it exports both `evaluate` and `assess`; a plugin is a policy plugin or a risk plugin".into(),
            )),
            (false, false) => Err(LoadError::World(format!(
                "a policy plugin exports `evaluate` and a risk plugin `assess`, but it exports {}",
                if exports.is_empty() {
                    "nothing".to_owned()
                } else {
                    format!("`{}`", exports.join("`, `"))
                }
            ))),
        }
    }

    /// The one version of the contract the component imports from, if it
    /// imports from exactly one the host runs.
    pub(crate) fn imported_version(&self) -> Option<&'static str> {
        let mut versions = self
            .imports
            .iter()
            .filter_map(|name| name.strip_prefix(PACKAGE))
            .filter_map(|rest| rest.split_once('@').map(|(_, v)| v));
        let first = versions.next()?;
        let known = CONTRACT_VERSIONS.iter().find(|v| **v == first)?;
        versions.all(|v| v == first).then_some(known)
    }

    /// Refuses, by name, imports from outside what the host offers.
    pub(crate) fn check_imports(&self) -> Result<(), LoadError> {
        for name in &self.imports {
            let ours = name
                .strip_prefix(PACKAGE)
                .and_then(|rest| rest.split_once('@'))
                .is_some_and(|(interface, version)| {
                    matches!(interface, "/types" | "/host") && CONTRACT_VERSIONS.contains(&version)
                });
            let wasi = WASI_PACKAGES.iter().any(|p| name.starts_with(p))
                && name
                    .rsplit_once('@')
                    .is_some_and(|(_, v)| v.starts_with("0.2."));
            if !ours && !wasi {
                return Err(LoadError::Import {
                    import: name.clone(),
                    detail: format!(
                        "; a plugin may import `{PACKAGE}/host` (version {}) and the WASI 0.2 interfaces of {}",
                        CONTRACT_VERSIONS.join(", "),
                        WASI_PACKAGES.map(|p| p.trim_end_matches('/')).join(", ")
                    ),
                });
            }
        }
        Ok(())
    }
}
