//! Warrant's REST API: tenants, plugins, policies, agents, agent tokens and
//! the intent lifecycle, over a [`Store`].
//!
//! [`router`] is the whole API as an axum router; [`sweep`] is the
//! background work (expiring intents on time, forgetting old idempotency
//! keys). The `warrant serve` command wires them to a listener.
#![deny(missing_docs)]

mod agents;
mod auth;
mod bounded;
mod decide;
mod errors;
mod governance;
mod http;
mod intents;
mod keyed;
mod oversight;
mod plugins;
mod policies;
mod pool;
mod registry;
mod tenants;

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Router;
use axum::routing::{delete, get, post};

use warrant_runtime::{LoadError, Runtime};
use warrant_store::Store;

pub use errors::ApiError;
pub use pool::PoolSize;
pub use tenants::{AdminKey, CreatedTenant, admin_key, create_tenant};

use pool::{AgentTurns, FairPool};
use registry::Registry;

/// The largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 1 << 20;
/// How long an idempotency key is remembered at least.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(48 * 3600);

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

/// What the handlers share.
pub struct Inner {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    admin_key_sha256: String,
    max_plugin_bytes: usize,
    /// Intents of one agent are decided one at a time, so that each sees
    /// the usage of the one before (a budget cannot be overrun by sending
    /// intents in parallel); each agent has a turn of its own.
    turns: AgentTurns,
    /// Where plugins are evaluated, fairly among tenants.
    evaluations: FairPool,
    /// Where uploaded plugins are compiled, one at a time.
    compilations: FairPool,
    /// Compiled policies by id and version, within a budget of bytes;
    /// read on every decision.
    policies: policies::Compiled,
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl AppState {
    /// Loads the built-in plugins into `runtime` and builds the state.
    /// `admin_key_sha256` is the hash of the admin key.
    pub fn new(
        store: Arc<dyn Store>,
        runtime: Runtime,
        max_plugin_bytes: usize,
        admin_key_sha256: String,
    ) -> Result<Self, LoadError> {
        let registry = Arc::new(Registry::new(runtime)?);
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                registry,
                admin_key_sha256,
                max_plugin_bytes,
                turns: AgentTurns::default(),
                evaluations: FairPool::new("evaluations", PoolSize::evaluations()),
                compilations: FairPool::new("plugin compilations", PoolSize::compilations()),
                policies: policies::compiled_cache(),
            }),
        })
    }
}

impl AppState {
    /// Removes compiled code that no plugin of the database (nor any
    /// built-in) uses, such as what an upload refused or a deleted plugin
    /// left behind; gives how many entries went.
    pub async fn remove_unused_compiled(&self) -> Result<usize, ApiError> {
        let mut keep: std::collections::HashSet<String> =
            self.store.plugin_hashes().await?.into_iter().collect();
        keep.extend(
            self.registry
                .builtins()
                .iter()
                .map(|entry| entry.meta.sha256.clone()),
        );
        let runtime = self.registry.runtime().clone();
        tokio::task::spawn_blocking(move || runtime.remove_cached_except(&keep))
            .await
            .map_err(ApiError::internal)
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let plugin_limit = state.max_plugin_bytes;
    Router::new()
        .route("/healthz", get(async || "ok"))
        .route("/tenants", post(tenants::create))
        .route(
            "/plugins",
            post(plugins::upload)
                .layer(Extension(http::BodyLimit(plugin_limit)))
                .get(plugins::list),
        )
        .route("/plugins/{id}", get(plugins::show).delete(plugins::remove))
        .route("/policies", post(policies::create).get(policies::list))
        .route(
            "/policies/{id}",
            get(policies::show).patch(policies::update),
        )
        .route("/policies/{id}/versions", get(policies::versions))
        .route("/policies/{id}/evaluate", post(oversight::evaluate_policy))
        .route("/agents", post(agents::create).get(agents::list))
        .route(
            "/agents/{id}",
            get(agents::show)
                .patch(agents::update)
                .delete(agents::archive),
        )
        .route("/agents/{id}/freeze", post(agents::freeze))
        .route("/agents/{id}/unfreeze", post(agents::unfreeze))
        .route("/agents/{id}/usage", get(oversight::usage))
        .route("/agents/{id}/set-baselines", post(oversight::set_baselines))
        .route("/agents/{id}/anomalies", get(oversight::anomalies))
        .route("/agents/{id}/evaluate", post(oversight::evaluate_for_agent))
        .route(
            "/agents/{id}/tokens",
            post(agents::issue_token).get(agents::list_tokens),
        )
        .route(
            "/agents/{id}/tokens/{token_id}",
            delete(agents::revoke_token),
        )
        .route("/intents", post(intents::create).get(intents::list))
        .route("/intents/{id}", get(intents::show))
        .route("/intents/{id}/approve", post(intents::approve))
        .route("/intents/{id}/deny", post(intents::deny))
        .route("/intents/{id}/cancel", post(intents::cancel))
        .route("/intents/{id}/complete", post(intents::complete))
        .route("/intents/{id}/fail", post(intents::fail))
        .route("/intents/{id}/verify", post(intents::verify))
        .route(
            "/intents/{id}/charges",
            post(oversight::report_charge).get(oversight::list_charges),
        )
        .merge(governance::routes())
        .fallback(async || {
            ApiError::other(
                axum::http::StatusCode::NOT_FOUND,
                "E_NOT_FOUND",
                "no such endpoint",
            )
        })
        .method_not_allowed_fallback(async || {
            ApiError::other(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "E_METHOD_NOT_ALLOWED",
                "this endpoint does not take this method",
            )
        })
        .with_state(state)
}

/// Background work until `shutdown` resolves: expires intents whose time
/// to live has ended, every `interval`, and forgets idempotency keys older
/// than [`IDEMPOTENCY_TTL`].
pub async fn sweep(state: AppState, interval: Duration, shutdown: impl Future<Output = ()>) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge = 0;
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = ticker.tick() => {}
        }
        if let Err(e) = intents::expire_due(&state).await {
            tracing::warn!("expiring intents failed: {}", e.code());
        }
        let now = http::now_ms();
        if now - last_purge > 3_600_000 {
            let before = now - IDEMPOTENCY_TTL.as_millis() as i64;
            match state.store.purge_idempotency(before).await {
                Ok(_) => last_purge = now,
                Err(e) => tracing::warn!("forgetting old idempotency keys failed: {e}"),
            }
        }
    }
}
