//! Errors of the runtime.

use warrant_domain::plugin::World;

/// Why a component is refused, at upload or at load. Each kind has a stable
/// code for APIs and scripts; see [`LoadError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Larger than the runtime accepts.
    #[error("the plugin is {size} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not a WebAssembly binary at all.
    #[error(
        "not a WebAssembly component: the bytes do not start with the WebAssembly magic number and version"
    )]
    NotWasm,
    /// A core module, not a component.
    #[error(
        "a core WebAssembly module, not a component: build for `wasm32-wasip2`, or wrap the module with `wasm-tools component new`"
    )]
    CoreModule,
    /// A component that does not validate or compile.
    #[error("not a valid component: {0}")]
    Invalid(String),
    /// A component whose exports fit neither world.
    #[error("does not target Warrant's `policy` or `risk` world: {0}")]
    World(String),
    /// A component that targets `world` but whose exports do not match it.
    #[error("exports do not match the `{world}` world of warrant:policy@0.1.0: {detail}")]
    Exports {
        /// The world its export names point to.
        world: World,
        /// What does not match.
        detail: String,
    },
    /// A component that imports what the host does not provide.
    #[error("imports `{import}`, which the host does not provide{detail}")]
    Import {
        /// The import's name.
        import: String,
        /// More about it, starting with a separator, or empty.
        detail: String,
    },
    /// A precompiled artifact that cannot be used.
    #[error("cannot instantiate the plugin: {0}")]
    Instantiate(String),
}

impl LoadError {
    /// The stable code of this refusal:
    ///
    /// | code | meaning |
    /// |---|---|
    /// | `E_PLUGIN_TOO_LARGE` | over the size cap |
    /// | `E_PLUGIN_NOT_WASM` | not WebAssembly |
    /// | `E_PLUGIN_CORE_MODULE` | a core module, not a component |
    /// | `E_PLUGIN_INVALID` | does not validate or compile |
    /// | `E_PLUGIN_WORLD` | targets neither `policy` nor `risk` |
    /// | `E_PLUGIN_IMPORT` | imports something the host does not provide |
    /// | `E_PLUGIN_LOAD` | cannot be prepared for instantiation |
    pub fn code(&self) -> &'static str {
        match self {
            LoadError::TooLarge { .. } => "E_PLUGIN_TOO_LARGE",
            LoadError::NotWasm => "E_PLUGIN_NOT_WASM",
            LoadError::CoreModule => "E_PLUGIN_CORE_MODULE",
            LoadError::Invalid(_) => "E_PLUGIN_INVALID",
            LoadError::World(_) | LoadError::Exports { .. } => "E_PLUGIN_WORLD",
            LoadError::Import { .. } => "E_PLUGIN_IMPORT",
            LoadError::Instantiate(_) => "E_PLUGIN_LOAD",
        }
    }
}

/// Why the runtime itself could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The engine refused its configuration.
    #[error("cannot configure the WebAssembly engine: {0}")]
    Engine(String),
    /// The compiled-code cache directory cannot be used.
    #[error("cannot use the plugin cache directory `{path}`: {source}")]
    Cache {
        /// The directory.
        path: std::path::PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}
