//! Warrant's application layer: the services every surface calls — REST
//! today, the CLI, and MCP, a dashboard or provider adapters tomorrow — so
//! that an intent declared through any of them is decided, recorded and
//! moved the same way.
//!
//! A surface parses its input, calls one service and renders the result:
//!
//! - [`App::tenants`], [`App::plugins`], [`App::policies`],
//!   [`App::agents`], [`App::intents`] and [`App::oversight`] (usage,
//!   anomalies, baselines, dry runs) are the services;
//! - [`App::authenticate`] says who a bearer credential is;
//! - [`App::sweep`] is the background work (expiry, forgetting old
//!   idempotency keys).
//!
//! Inside, the [`catalog`] keeps each policy version compiled, the
//! [`registry`] keeps plugins loaded, the [`decider`] makes decisions (an
//! agent's turn, its usage, the evaluation pool, the actions asked for),
//! and everything durable goes through the [`Store`]. No service imports
//! HTTP: errors are [`AppError`]s, which each surface turns into its own
//! answer.
#![deny(missing_docs)]

pub mod agent_keys;
pub mod agents;
pub mod auth;
pub mod backtest;
mod bounded;
pub mod cards;
pub mod catalog;
pub mod charges;
mod clock;
pub mod decider;
mod errors;
pub mod events;
mod ids;
pub mod intents;
mod keyed;
pub mod keys;
pub mod limits;
pub mod oversight;
pub mod payments;
pub mod plugins;
pub mod policies;
mod pool;
pub mod publishers;
pub mod receipts;
pub mod registry;
pub mod replay;
pub mod sealing;
pub mod secrets;
pub mod sessions;
pub mod tenants;
pub mod tokens;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use warrant_runtime::{LoadError, Runtime};
use warrant_store::{IdempotencyRecord, Store};

pub use auth::{Needs, Permission, Principal, Role, TenantKey};
pub use clock::{now_ms, time_of};
pub use errors::{AppError, Result};
pub use ids::{new_id, new_secret, secret_hash};
pub use pool::PoolSize;
pub use warrant_store::log::{Views, request_id, show_objects_with, within_request};

use catalog::PolicyCatalog;
use pool::{AgentTurns, FairPool};
use registry::Registry;

/// How long an idempotency key is remembered at least.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(48 * 3600);

/// What a write remembers for an idempotency key, made from what it is
/// about to commit (so that the answer is remembered in the same
/// transaction as its effects); `None` to remember nothing.
pub type Remember<'a, T> = &'a (dyn Fn(&T) -> Option<IdempotencyRecord> + Sync);

/// Remembers nothing.
pub fn forget<T>(_: &T) -> Option<IdempotencyRecord> {
    None
}

/// The services, over one store and one runtime; cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    /// Calls to the store, each a round trip to the database (a read, or
    /// one write's transaction), for tests and benchmarks to count.
    store_calls: std::sync::atomic::AtomicU64,
    registry: Registry,
    catalog: PolicyCatalog,
    /// Intents of one agent are decided one at a time, so that each sees
    /// the usage of the one before (a budget cannot be overrun by sending
    /// intents in parallel); each agent has a turn of its own.
    turns: AgentTurns,
    /// Where plugins are evaluated, fairly among tenants.
    evaluations: FairPool,
    /// Where uploaded plugins are compiled, one at a time.
    compilations: FairPool,
    /// Requests per credential, when they are limited.
    limiter: Option<limits::Limiter>,
    /// Whether webhook endpoints may be `http` and reach any address (for
    /// local development and tests only).
    insecure_webhooks: bool,
    /// What seals secrets: a key derived from the key-encryption key, once
    /// it is given.
    secrets_cipher: std::sync::OnceLock<aes_gcm::Aes256Gcm>,
}

impl App {
    /// Loads the built-in plugins into `runtime` and builds the services.
    /// The admin key is the one stored ([`tenants::admin_key`]).
    pub fn new(store: Arc<dyn Store>, runtime: Runtime) -> Result<Self, LoadError> {
        Ok(App {
            inner: Arc::new(Inner {
                store,
                store_calls: std::sync::atomic::AtomicU64::new(0),
                registry: Registry::new(runtime)?,
                catalog: PolicyCatalog::default(),
                turns: AgentTurns::default(),
                evaluations: FairPool::new("evaluations", PoolSize::evaluations()),
                compilations: FairPool::new("plugin compilations", PoolSize::compilations()),
                limiter: None,
                insecure_webhooks: false,
                secrets_cipher: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Limits the requests of each credential to `limit` (none: no
    /// limit), before the app is shared.
    pub fn with_rate_limit(mut self, limit: Option<limits::RateLimit>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("the rate limit is set before the app is shared")
            .limiter = limit.map(limits::Limiter::new);
        self
    }

    /// Lets webhook endpoints be `http` and reach loopback and private
    /// addresses, before the app is shared: for local development and
    /// tests only.
    pub fn with_insecure_webhooks(mut self, allow: bool) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("webhook settings are set before the app is shared")
            .insecure_webhooks = allow;
        self
    }

    /// Whether webhook endpoints may be `http` and reach any address.
    pub fn insecure_webhooks(&self) -> bool {
        self.inner.insecure_webhooks
    }

    /// The store; every call through here is counted.
    pub(crate) fn store(&self) -> &dyn Store {
        self.inner
            .store_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.store.as_ref()
    }

    /// How many times the services called the store so far (each call a
    /// read, or one write's transaction; an agent's turn, which takes a
    /// lock rather than reading, is not counted).
    #[doc(hidden)]
    pub fn store_calls(&self) -> u64 {
        self.inner
            .store_calls
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The largest component an upload may be, in bytes.
    pub fn max_plugin_bytes(&self) -> usize {
        self.inner.registry.runtime().max_component_bytes()
    }

    /// Waits until every write made so far is on disk, before a refusal
    /// that may rest on them is answered (see [`Store::sync`]).
    pub async fn sync(&self) -> Result<()> {
        Ok(self.store().sync().await?)
    }

    /// The answer remembered for an idempotency key (its hash, `key`) of
    /// the caller whose keys are `scope`.
    pub async fn remembered(&self, scope: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        Ok(self.store().idempotent_response(scope, key).await?)
    }

    /// Closes the database, waiting for writes under way.
    pub async fn close(&self) {
        self.inner.store.close().await;
    }

    /// Background work until `shutdown` resolves: expires intents whose
    /// time to live has ended, every `interval`, and forgets idempotency
    /// keys older than [`IDEMPOTENCY_TTL`].
    pub async fn sweep(&self, interval: Duration, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_purge = 0;
        loop {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = ticker.tick() => {}
            }
            if let Err(e) = self.intents().expire_due().await {
                tracing::warn!("expiring intents failed: {e}");
            }
            let (open, idle) = self.inner.store.connections();
            metrics::gauge!("warrant_store_connections", "state" => "in_use")
                .set(f64::from(open) - idle as f64);
            metrics::gauge!("warrant_store_connections", "state" => "idle").set(idle as f64);
            let now = now_ms();
            if now - last_purge > 3_600_000 {
                let before = now - IDEMPOTENCY_TTL.as_millis() as i64;
                match self.inner.store.purge_idempotency(before).await {
                    Ok(_) => last_purge = now,
                    Err(e) => tracing::warn!("forgetting old idempotency keys failed: {e}"),
                }
            }
        }
    }

    /// Removes compiled code that no plugin of the database (nor any
    /// built-in) uses, such as a deleted plugin's; gives how many entries
    /// went.
    pub async fn remove_unused_compiled(&self) -> Result<usize> {
        let mut keep: std::collections::HashSet<String> =
            self.store().plugin_hashes().await?.into_iter().collect();
        keep.extend(
            self.registry()
                .builtins()
                .iter()
                .map(|entry| entry.meta.sha256.clone()),
        );
        let runtime = self.registry().runtime().clone();
        tokio::task::spawn_blocking(move || runtime.remove_cached_except(&keep))
            .await
            .map_err(AppError::internal)
    }
}
