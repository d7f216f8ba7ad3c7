//! Plugins ready to run: the built-ins and every tenant plugin a policy
//! has used since start, each compiled once (or loaded from the on-disk
//! cache) and kept.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use warrant_domain::context::EvaluationContext;
use warrant_domain::decision::{Assessment, Decision};
use warrant_domain::plugin::{
    Cancel, FailureKind, Invocation, Limits, Plugin, PluginFailure, PluginMeta, World,
};
use warrant_runtime::{LoadError, Runtime};
use warrant_store::{PluginRecord, Store};

use crate::errors::ApiError;

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
            created_ms: Some(record.created_ms),
        }
    }
}

/// The runtime and the plugins loaded in it.
pub struct Registry {
    runtime: Runtime,
    builtins: Vec<PluginEntry>,
    /// Read on every decision, written once per plugin: readers never
    /// wait for each other.
    loaded: RwLock<HashMap<String, Arc<dyn Plugin>>>,
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
            });
            loaded.insert(id, Arc::new(plugin));
        }
        Ok(Registry {
            runtime,
            builtins,
            loaded: RwLock::new(loaded),
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

    /// Validates and loads uploaded bytes, which are not yet registered.
    pub async fn validate(
        &self,
        name: &str,
        version: &str,
        bytes: Arc<Vec<u8>>,
    ) -> Result<Arc<dyn Plugin>, LoadError> {
        let runtime = self.runtime.clone();
        let (name, version) = (name.to_owned(), version.to_owned());
        let loaded = tokio::task::spawn_blocking(move || runtime.load(&name, &version, &bytes))
            .await
            .map_err(|e| LoadError::Instantiate(e.to_string()))?;
        let (plugin, _) = loaded?;
        Ok(Arc::new(plugin))
    }

    /// Keeps a plugin loaded under its id.
    pub fn keep(&self, id: &str, plugin: Arc<dyn Plugin>) {
        self.loaded
            .write()
            .expect("registry lock")
            .insert(id.to_owned(), plugin);
    }

    /// The plugin with this id, loading it from the store the first time.
    /// A plugin that cannot be loaded is returned as one whose every call
    /// fails with `E_PLUGIN_LOAD`, so that its rule fails closed.
    pub async fn get(
        &self,
        store: &dyn Store,
        id: &str,
        meta: &PluginMeta,
    ) -> Result<Arc<dyn Plugin>, ApiError> {
        if let Some(plugin) = self.loaded.read().expect("registry lock").get(id) {
            return Ok(plugin.clone());
        }
        let Some(bytes) = store.plugin_wasm(id).await? else {
            return Ok(Arc::new(Unloadable {
                meta: meta.clone(),
                message: format!("plugin `{id}` is no longer stored"),
            }));
        };
        let plugin = match self
            .validate(&meta.name, &meta.version, Arc::new(bytes))
            .await
        {
            Ok(plugin) => plugin,
            Err(e) => {
                tracing::error!(plugin = id, "stored plugin cannot be loaded: {e}");
                return Ok(Arc::new(Unloadable {
                    meta: meta.clone(),
                    message: format!("cannot load the plugin: {e}"),
                }));
            }
        };
        self.keep(id, plugin.clone());
        Ok(plugin)
    }

    /// Drops a deleted plugin.
    pub fn forget(&self, id: &str) {
        self.loaded.write().expect("registry lock").remove(id);
    }
}

/// A plugin that could not be loaded: every call fails closed.
struct Unloadable {
    meta: PluginMeta,
    message: String,
}

impl Unloadable {
    fn fail<T>(&self) -> Invocation<T> {
        Invocation {
            outcome: Err(PluginFailure::new(FailureKind::Load, self.message.clone())),
            fuel_used: 0,
            duration: Duration::ZERO,
            logs: Vec::new(),
        }
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
pub fn check_world(field: &str, meta: &PluginMeta, needed: World) -> Result<(), ApiError> {
    if meta.world == needed {
        return Ok(());
    }
    let place = match needed {
        World::Policy => "a rule needs a `policy` plugin",
        World::Risk => "a risk step needs a `risk` plugin",
    };
    Err(ApiError::validation(
        field,
        format!(
            "`{}@{}` targets the `{}` world; {place}",
            meta.name, meta.version, meta.world
        ),
    ))
}
