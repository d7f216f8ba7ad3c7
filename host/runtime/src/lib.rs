//! Warrant's sandbox: runs policy and risk plugins, WebAssembly components
//! that target the worlds of `wit/warrant.wit`, on Wasmtime.
//!
//! - **Fresh instance per call.** A [`LoadedPlugin`] is compiled and linked
//!   once; every call instantiates it anew from a pooling allocator, so no
//!   state survives between decisions or tenants.
//! - **Limits per call**: fuel, a wall-clock deadline (epoch
//!   interruption), linear memory and table size, the size of the answer;
//!   defaults in [`Limits::DEFAULT`], overridable per rule. The wasm stack
//!   is capped engine-wide at [`RuntimeConfig::max_wasm_stack`].
//! - **No ambient authority.** Plugins get no files, sockets, environment,
//!   arguments or standard input; clocks read the decision's time and
//!   randomness is a fixed sequence, so a decision is a function of the
//!   component, its configuration and the context.
//! - **Fail closed.** Every failure of a plugin is a [`PluginFailure`]
//!   with a code (`E_PLUGIN_TRAP`, `E_PLUGIN_FUEL`, …), never a panic.
//! - **Validated uploads**, refused with a [`LoadError`] code each.
//! - **Compiled code cached on disk** by sha256 and engine fingerprint.
//!
//! [`Limits::DEFAULT`]: warrant_domain::plugin::Limits::DEFAULT
//! [`PluginFailure`]: warrant_domain::plugin::PluginFailure
#![deny(missing_docs)]

mod bindings;
mod cache;
mod convert;
mod ctx;
mod errors;
mod lowered;
mod outline;
mod plugin;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use warrant_domain::plugin::{Limits, PluginMeta, World};

pub use convert::{MAX_ANSWER_ITEMS, MAX_PREPARED_BYTES};
pub use ctx::{MAX_LOG_LINE_BYTES, MAX_LOG_LINES};
pub use errors::{LoadError, RuntimeError};
pub use plugin::{LoadedPlugin, ReusedInstance};

use bindings::{v1, v2, v3, v4, v5};
use cache::CodeCache;
use ctx::PluginCtx;
use outline::Outline;
use plugin::Pre;

/// How the runtime is set up. The defaults suit a server.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Where compiled plugins are kept between runs; `None` compiles every
    /// plugin at every start.
    pub cache_dir: Option<PathBuf>,
    /// The largest component accepted, in bytes. Default 64 MiB: a Python
    /// or JavaScript plugin carries its interpreter, some 10 to 20 MiB.
    pub max_component_bytes: usize,
    /// How many plugin instances may exist at once (the pool's size).
    /// Default 1000.
    pub max_instances: u32,
    /// The wasm stack of every call, in bytes. Default 512 KiB.
    pub max_wasm_stack: usize,
    /// How often the deadline clock ticks; deadlines are precise to about
    /// one tick. Default 2 ms.
    pub epoch_tick: Duration,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            max_component_bytes: 64 << 20,
            max_instances: 1000,
            max_wasm_stack: 512 << 10,
            epoch_tick: Duration::from_millis(2),
        }
    }
}

/// Where a loaded plugin's code came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeSource {
    /// Compiled now (and cached, when the runtime has a cache).
    Compiled,
    /// Loaded from the on-disk cache, without compiling.
    Cache,
}

/// How a plugin was loaded.
#[derive(Clone, Copy, Debug)]
pub struct LoadReport {
    /// Compiled or cached.
    pub source: CodeSource,
    /// Time to validate, compile or load, and link.
    pub duration: Duration,
}

/// What a component is, as `warrant plugin inspect` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentInfo {
    /// The world its exports point to, if any.
    pub world: Option<World>,
    /// The sha256 of its bytes, lower-case hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: usize,
    /// The names of its imports.
    pub imports: Vec<String>,
    /// The names of its exports.
    pub exports: Vec<String>,
    /// How many core instances every call creates: one for a plugin that
    /// imports nothing through its own memory (a 0.5.0 plugin without
    /// WASI), more for a language runtime or an older contract's `log`.
    pub core_instances: usize,
    /// Why it cannot be a plugin (what an upload would be refused with),
    /// when it cannot.
    pub refusal: Option<LoadError>,
}

/// The Wasmtime engine, its linker and its code cache; cheap to clone and
/// shared by all plugins.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<PluginCtx>,
    cache: Option<CodeCache>,
    config: RuntimeConfig,
    ticker: Arc<EpochTicker>,
}

impl Runtime {
    /// Starts a runtime: configures the engine, links the host's imports,
    /// opens the code cache and starts the deadline clock.
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let engine = engine(&config)?;
        let mut linker = Linker::new(&engine);
        let link_error = |e: wasmtime::Error| RuntimeError::Engine(format!("{e:#}"));
        v1::policy::Policy::add_to_linker::<_, HasSelf<_>>(&mut linker, |ctx| ctx)
            .map_err(link_error)?;
        v2::policy::Policy::add_to_linker::<_, HasSelf<_>>(&mut linker, |ctx| ctx)
            .map_err(link_error)?;
        v3::policy::Policy::add_to_linker::<_, HasSelf<_>>(&mut linker, |ctx| ctx)
            .map_err(link_error)?;
        v4::policy::Policy::add_to_linker::<_, HasSelf<_>>(&mut linker, |ctx| ctx)
            .map_err(link_error)?;
        v5::policy::Policy::add_to_linker::<_, HasSelf<_>>(&mut linker, |ctx| ctx)
            .map_err(link_error)?;
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link_error)?;
        link_clock_waits(&mut linker).map_err(link_error)?;
        let cache = config
            .cache_dir
            .as_deref()
            .map(|dir| CodeCache::open(dir, &engine))
            .transpose()?;
        let ticker = EpochTicker::start(&engine, config.epoch_tick)
            .map_err(|e| RuntimeError::Engine(format!("cannot start the deadline clock: {e}")))?;
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache,
                config,
                ticker: Arc::new(ticker),
            }),
        })
    }

    /// Validates, compiles (or loads from the cache) and links a component,
    /// ready for calls, and keeps what it compiled in the cache. Every
    /// refusal is a [`LoadError`] with its own code.
    pub fn load(
        &self,
        name: &str,
        version: &str,
        bytes: &[u8],
    ) -> Result<(LoadedPlugin, LoadReport), LoadError> {
        let loaded = self.check(name, version, bytes)?;
        if loaded.1.source == CodeSource::Compiled {
            self.keep_compiled(&loaded.0);
        }
        Ok(loaded)
    }

    /// Like [`Runtime::load`], but keeps nothing in the cache: for a
    /// component not yet accepted, such as an upload, whose compiled code
    /// [`Runtime::keep_compiled`] keeps once it is registered.
    ///
    /// The world, the imports and the size are checked by reading the
    /// component before anything is compiled, so a component that cannot
    /// be a plugin costs no compilation.
    pub fn check(
        &self,
        name: &str,
        version: &str,
        bytes: &[u8],
    ) -> Result<(LoadedPlugin, LoadReport), LoadError> {
        let start = Instant::now();
        let outline = Outline::read(bytes, self.inner.config.max_component_bytes)?;
        outline.world()?;
        outline.check_imports()?;
        let (component, sha256, source) = self.compile(bytes)?;
        let pre = self.prepare(&outline, &component)?;
        let meta = PluginMeta {
            name: name.to_owned(),
            version: version.to_owned(),
            sha256,
            world: outline.world()?,
        };
        let world = meta.world;
        let plugin = LoadedPlugin::new(
            meta,
            pre,
            self.inner.engine.clone(),
            self.inner.ticker.clone(),
        )
        .ok_or_else(|| LoadError::Exports {
            world,
            detail: "the component does not export its world's function".into(),
        })?;
        let report = LoadReport {
            source,
            duration: start.elapsed(),
        };
        Ok((plugin, report))
    }

    /// Links a compiled component against the host and binds its exports
    /// to the contract version it imports (or, importing none, the newest
    /// it exports).
    fn prepare(&self, outline: &Outline, component: &Component) -> Result<Pre, LoadError> {
        let world = outline.world()?;
        let instance_pre =
            self.inner
                .linker
                .instantiate_pre(component)
                .map_err(|e| LoadError::Import {
                    import: "an interface".into(),
                    detail: format!(": {e:#}"),
                })?;
        let exports_error = |e: wasmtime::Error| LoadError::Exports {
            world,
            detail: format!("{e:#}"),
        };
        // A component that imports one version of the contract must
        // export that version's functions; one that imports none is tried
        // newest version first. An error names the version tried first.
        let prepare = |version: &str| -> wasmtime::Result<Pre> {
            let instance_pre = instance_pre.clone();
            match (world, version) {
                (World::Policy, "0.1.0") => {
                    v1::policy::PolicyPre::new(instance_pre).map(Pre::PolicyV1)
                }
                (World::Policy, "0.2.0") => {
                    v2::policy::PolicyPre::new(instance_pre).map(Pre::PolicyV2)
                }
                (World::Policy, "0.3.0") => {
                    v3::policy::PolicyPre::new(instance_pre).map(Pre::PolicyV3)
                }
                (World::Policy, "0.4.0") => {
                    v4::policy::PolicyPre::new(instance_pre).map(Pre::PolicyV4)
                }
                (World::Risk, "0.1.0") => v1::risk::RiskPre::new(instance_pre).map(Pre::RiskV1),
                (World::Risk, "0.2.0") => v2::risk::RiskPre::new(instance_pre).map(Pre::RiskV2),
                (World::Risk, "0.3.0") => v3::risk::RiskPre::new(instance_pre).map(Pre::RiskV3),
                (World::Risk, "0.4.0") => v4::risk::RiskPre::new(instance_pre).map(Pre::RiskV4),
                (World::Policy, "0.5.0") => {
                    v5::policy::PolicyPre::new(instance_pre).map(Pre::PolicyV5)
                }
                (World::Risk, "0.5.0") => v5::risk::RiskPre::new(instance_pre).map(Pre::RiskV5),
                (_, version) => Err(wasmtime::format_err!(
                    "the host has no bindings for contract version {version}"
                )),
            }
        };
        match outline.imported_version() {
            Some(version) => prepare(version),
            None => {
                let mut versions = outline::CONTRACT_VERSIONS.iter().rev();
                let newest = prepare(versions.next().expect("a version"));
                versions.fold(newest, |found, version| {
                    found.or_else(|error| prepare(version).map_err(|_| error))
                })
            }
        }
        .map_err(exports_error)
    }

    /// The largest component accepted, in bytes.
    pub fn max_component_bytes(&self) -> usize {
        self.inner.config.max_component_bytes
    }

    /// Keeps a plugin's compiled code in the cache (when the runtime has
    /// one), so that the next start does not compile it again.
    pub fn keep_compiled(&self, plugin: &LoadedPlugin) {
        if let Some(cache) = &self.inner.cache {
            cache.store(
                &warrant_domain::plugin::Plugin::meta(plugin).sha256,
                plugin.component(),
            );
        }
    }

    /// Removes from the cache every compiled plugin but those of `keep`
    /// (sha256s), and every one compiled for another engine: what no
    /// registered plugin can use any more. Gives how many were removed.
    pub fn remove_cached_except(&self, keep: &std::collections::HashSet<String>) -> usize {
        self.inner
            .cache
            .as_ref()
            .map_or(0, |cache| cache.remove_except(keep))
    }

    /// Describes a component without requiring it to target a world.
    pub fn inspect(&self, bytes: &[u8]) -> Result<ComponentInfo, LoadError> {
        let outline = Outline::read(bytes, self.inner.config.max_component_bytes)?;
        let (component, sha256, _) = self.compile(bytes)?;
        // What `check` would refuse it for, in the same order.
        let refusal = outline
            .world()
            .and_then(|_| outline.check_imports())
            .and_then(|()| self.prepare(&outline, &component))
            .err();
        Ok(ComponentInfo {
            world: outline.world().ok(),
            sha256,
            size: bytes.len(),
            imports: outline.imports,
            exports: outline.exports,
            core_instances: outline.core_instances,
            refusal,
        })
    }

    /// Compiles a component (checked by [`Outline::read`] first), or loads
    /// it from the cache.
    fn compile(&self, bytes: &[u8]) -> Result<(Component, String, CodeSource), LoadError> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let engine = &self.inner.engine;
        if let Some(component) = self
            .inner
            .cache
            .as_ref()
            .and_then(|c| c.load(engine, &sha256))
        {
            return Ok((component, sha256, CodeSource::Cache));
        }
        let component =
            Component::new(engine, bytes).map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        Ok((component, sha256, CodeSource::Compiled))
    }
}

/// The interface whose waits the host answers itself, in the version
/// `wasmtime-wasi` links (components importing any 0.2 version reach it).
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Replaces WASI's clock subscriptions, which would sleep the calling
/// thread for as long as a plugin asks, with ones that are ready at once
/// and count against the call's deadline (see [`PluginCtx::wait`]).
fn link_clock_waits(linker: &mut Linker<PluginCtx>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: wasmtime::StoreContextMut<'_, PluginCtx>, (nanos,): (u64,)| {
            Ok((store.data_mut().wait(Duration::from_nanos(nanos))?,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: wasmtime::StoreContextMut<'_, PluginCtx>, (when,): (u64,)| {
            Ok((store.data_mut().wait_until(when)?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The engine: fuel, epochs, deterministic floats, a capped stack and the
/// pooling allocator.
fn engine(config: &RuntimeConfig) -> Result<Engine, RuntimeError> {
    let max = Limits::MAX;
    let instances = config.max_instances;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(4))
        .total_memories(instances)
        .total_tables(instances.saturating_mul(2))
        .max_core_instances_per_component(64)
        .max_memories_per_component(8)
        .max_tables_per_component(64)
        .max_memory_size(usize::try_from(max.memory_bytes).unwrap_or(usize::MAX))
        .table_elements(usize::try_from(max.table_elements).unwrap_or(usize::MAX))
        // Resetting a small memory by `memset` beats returning its pages to
        // the kernel and faulting them back in on the next instance; where
        // the kernel can tell which pages a call touched (Linux 6.7 and
        // later), only those are reset.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(16 << 10)
        .pagemap_scan(Enabled::Auto);

    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .max_wasm_stack(config.max_wasm_stack)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&wasm).map_err(|e| RuntimeError::Engine(format!("{e:#}")))
}

/// Advances the engine's epoch every tick, which is what makes deadlines
/// fire. Shared by the runtime and every plugin it loaded, and stopped when
/// the last of them is dropped: a plugin that outlives its runtime keeps its
/// deadlines.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: &Engine, tick: Duration) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let weak = engine.weak();
        let thread = std::thread::Builder::new()
            .name("warrant-epoch".into())
            .spawn({
                let stop = stop.clone();
                move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        match weak.upgrade() {
                            Some(engine) => engine.increment_epoch(),
                            None => break,
                        }
                    }
                }
            })?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
