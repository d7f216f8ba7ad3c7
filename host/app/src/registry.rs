//! Plugins ready to run: the built-ins and the tenant plugins policies
//! used lately (within a budget of bytes), each compiled once (or loaded
//! from the on-disk cache).

use std::collections::HashMap;
use std::sync::Arc;

use warrant_domain::context::EvaluationContext;
use warrant_domain::decision::{Assessment, Decision};
use warrant_domain::plugin::{
    Cancel, FailureKind, Invocation, Limits, Plugin, PluginFailure, PluginMeta, World,
};
use warrant_runtime::{LoadError, LoadedPlugin, Runtime};
use warrant_store::PluginRecord;

use crate::App;
use crate::bounded::BoundedCache;
use crate::errors::AppError;

/// The prefix of a built-in plugin's id: `plg_builtin_spend-limit`.
const BUILTIN_PREFIX: &str = "plg_builtin_";

/// A plugin as the API lists it, built-in or uploaded.
#[derive(Clone, Debug)]
pub struct PluginEntry {
    /// `plg_…`.
    pub id: String,
    /// Name, version, sha256 and world.
    pub meta: PluginMeta,
    /// Size in bytes.
    pub size: usize,
    /// Whether it ships with Warrant.
    pub builtin: bool,
    /// When it was uploaded; none for a built-in.
    pub created_ms: Option<i64>,
    /// The key id of the publisher that signed it, when one did.
    pub signed_by: Option<String>,
}

impl PluginEntry {
    /// An uploaded plugin's entry.
    pub fn from_record(record: &PluginRecord) -> Self {
        PluginEntry {
            id: record.id.clone(),
            meta: PluginMeta {
                name: record.name.clone(),
                version: record.version.clone(),
                sha256: record.sha256.clone(),
                world: record.world,
            },
            size: usize::try_from(record.size).unwrap_or(usize::MAX),
            builtin: false,
            signed_by: record.signed_by.clone(),
            created_ms: Some(record.created_ms),
        }
    }
}

/// How many bytes of uploaded components the registry keeps loaded;
/// the plugins used least recently beyond it are loaded again (from the
/// compiled-code cache) on their next use.
const LOADED_PLUGIN_BYTES: u64 = 512 << 20;

/// The runtime and the plugins loaded in it.
pub struct Registry {
    runtime: Runtime,
    builtins: Vec<PluginEntry>,
    /// The built-ins, always loaded.
    builtin_plugins: HashMap<String, Arc<dyn Plugin>>,
    /// Uploaded plugins, by id, within [`LOADED_PLUGIN_BYTES`].
    loaded: BoundedCache<String, Arc<dyn Plugin>>,
}

impl Registry {
    /// Loads every built-in plugin.
    pub fn new(runtime: Runtime) -> Result<Self, LoadError> {
        let mut builtins = Vec::new();
        let mut loaded: HashMap<String, Arc<dyn Plugin>> = HashMap::new();
        for builtin in warrant_builtins::BUILTINS {
            let (plugin, _) = runtime.load(builtin.name, builtin.version, builtin.wasm)?;
            let id = format!("{BUILTIN_PREFIX}{}", builtin.name);
            builtins.push(PluginEntry {
                id: id.clone(),
                meta: plugin.meta().clone(),
                size: builtin.wasm.len(),
                builtin: true,
                created_ms: None,
                signed_by: None,
            });
            loaded.insert(id, Arc::new(plugin));
        }
        Ok(Registry {
            runtime,
            builtins,
            builtin_plugins: loaded,
            loaded: BoundedCache::new(1024, LOADED_PLUGIN_BYTES),
        })
    }

    /// The built-in plugins.
    pub fn builtins(&self) -> &[PluginEntry] {
        &self.builtins
    }

    /// The built-in plugin with this id or name.
    pub fn builtin(&self, id_or_name: &str) -> Option<&PluginEntry> {
        self.builtins
            .iter()
            .find(|entry| entry.id == id_or_name || entry.meta.name == id_or_name)
    }

    /// The built-in plugin with exactly this id (`plg_builtin_…`).
    pub fn builtin_by_id(&self, id: &str) -> Option<&PluginEntry> {
        self.builtins.iter().find(|entry| entry.id == id)
    }

    /// The runtime plugins are loaded in.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Keeps a registered plugin of `size` bytes loaded under its id, and
    /// its compiled code in the runtime's cache.
    pub fn keep(&self, id: &str, plugin: LoadedPlugin, size: usize) {
        self.runtime.keep_compiled(&plugin);
        self.loaded
            .insert(id.to_owned(), Arc::new(plugin), size as u64);
    }

    /// The plugin with this id, loading it from the store the first time.
    /// A plugin that cannot be loaded is returned as one whose every call
    /// fails with `E_PLUGIN_LOAD`, so that its rule fails closed.
    pub(crate) async fn get(
        &self,
        app: &App,
        id: &str,
        meta: &PluginMeta,
    ) -> Result<Arc<dyn Plugin>, AppError> {
        if let Some(plugin) = self.builtin_plugins.get(id) {
            return Ok(plugin.clone());
        }
        if let Some(plugin) = self.loaded.get(&id.to_owned()) {
            return Ok(plugin);
        }
        let Some(bytes) = app.store().plugin_wasm(id).await? else {
            return Ok(Arc::new(Unloadable {
                meta: meta.clone(),
                message: format!("plugin `{id}` is no longer stored"),
            }));
        };
        let size = bytes.len() as u64;
        let runtime = self.runtime.clone();
        let (name, version) = (meta.name.clone(), meta.version.clone());
        let loaded = tokio::task::spawn_blocking(move || runtime.load(&name, &version, &bytes))
            .await
            .map_err(AppError::internal)?;
        let plugin: Arc<dyn Plugin> = match loaded {
            Ok((plugin, _)) => Arc::new(plugin),
            Err(e) => {
                tracing::error!(plugin = id, "stored plugin cannot be loaded: {e}");
                return Ok(Arc::new(Unloadable {
                    meta: meta.clone(),
                    message: format!("cannot load the plugin: {e}"),
                }));
            }
        };
        self.loaded.insert(id.to_owned(), plugin.clone(), size);
        Ok(plugin)
    }

    /// Drops a deleted plugin.
    pub fn forget(&self, id: &str) {
        self.loaded.remove(&id.to_owned());
    }
}

/// A plugin that could not be loaded: every call fails closed.
pub(crate) struct Unloadable {
    pub(crate) meta: PluginMeta,
    pub(crate) message: String,
}

impl Unloadable {
    fn fail<T>(&self) -> Invocation<T> {
        Invocation::failed(PluginFailure::new(FailureKind::Load, self.message.clone()))
    }
}

impl Plugin for Unloadable {
    fn meta(&self) -> &PluginMeta {
        &self.meta
    }

    fn evaluate(
        &self,
        _: &EvaluationContext,
        _: &str,
        _: &Limits,
        _: &Cancel,
    ) -> Invocation<Decision> {
        self.fail()
    }

    fn assess(
        &self,
        _: &EvaluationContext,
        _: &str,
        _: &Limits,
        _: &Cancel,
    ) -> Invocation<Assessment> {
        self.fail()
    }
}

/// Whether a plugin's world is the one a place in a policy needs.
pub fn check_world(field: &str, meta: &PluginMeta, needed: World) -> Result<(), AppError> {
    if meta.world == needed {
        return Ok(());
    }
    let place = match needed {
        World::Policy => "a rule needs a `policy` plugin",
        World::Risk => "a risk step needs a `risk` plugin",
    };
    Err(AppError::validation(
        field,
        format!(
            "`{}@{}` targets the `{}` world; {place}",
            meta.name, meta.version, meta.world
        ),
    ))
}
