//! Warrant's REST surface: the HTTP shape of the services of
//! [`warrant_app`]. Each route parses its request, calls one service and
//! renders the answer; nothing here touches the store or the runtime.
//!
//! [`router`] is the whole API as an axum router; the `warrant serve`
//! command wires it to a listener, beside the app's sweeper.
//!
//! - [`http`]: extractors (the caller, bodies, paths, queries, pages),
//!   answers and idempotent writes;
//! - `routes/`: one file per resource, each with its views;
//! - [`ApiError`]: every error answer.
#![deny(missing_docs)]

mod errors;
pub mod http;
mod routes;

use axum::Router;
use axum::routing::{delete, get, post};

use warrant_app::App;

pub use errors::ApiError;

/// The largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 1 << 20;

/// What every route shares: the services; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The services.
    pub app: App,
    /// `/metrics`, when it is on.
    pub metrics: Option<http::operate::MetricsEndpoint>,
}

/// The whole API, served as `serving` says.
pub fn router(app: App, serving: http::operate::Serving) -> Router {
    use routes::{agents, health, intents, keys, oversight, plugins, policies, tenants};
    let plugin_limit = app.max_plugin_bytes();
    let metrics = serving.metrics.clone();
    let routes = Router::new()
        .route("/metrics", get(health::metrics))
        .route("/livez", get(health::live))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/tenants", post(tenants::create))
        .route("/tenants/{id}", get(tenants::show).patch(tenants::update))
        .route("/api-keys", post(keys::create).get(keys::list))
        .route("/api-keys/{id}", get(keys::show).delete(keys::revoke))
        .route("/api-keys/{id}/roll", post(keys::roll))
        .route(
            "/plugins",
            post(plugins::upload)
                .layer(axum::Extension(http::BodyLimit(plugin_limit)))
                .get(plugins::list),
        )
        .route("/plugins/{id}", get(plugins::show).delete(plugins::remove))
        .route("/policies", post(policies::create).get(policies::list))
        .route(
            "/policies/{id}",
            get(policies::show).patch(policies::update),
        )
        .route("/policies/{id}/versions", get(policies::versions))
        .route("/policies/{id}/rollback", post(policies::rollback))
        .route("/policies/{id}/evaluate", post(policies::try_out))
        .route("/agents", post(agents::create).get(agents::list))
        .route(
            "/agents/{id}",
            get(agents::show)
                .patch(agents::update)
                .delete(agents::archive),
        )
        .route("/agents/{id}/freeze", post(agents::freeze))
        .route("/agents/{id}/unfreeze", post(agents::unfreeze))
        .route("/agents/{id}/versions", get(agents::versions))
        .route("/agents/{id}/rollback", post(agents::rollback))
        .route(
            "/agents/{id}/emergency-suspend",
            post(agents::emergency_suspend),
        )
        .route("/agents/{id}/activate", post(agents::activate))
        .route("/agents/{id}/events", get(agents::events))
        .route(
            "/agents/{id}/tokens",
            post(agents::issue_token).get(agents::tokens),
        )
        .route(
            "/agents/{id}/tokens/{token_id}",
            delete(agents::revoke_token),
        )
        .route("/agents/{id}/usage", get(oversight::usage))
        .route("/agents/{id}/set-baselines", post(oversight::set_baselines))
        .route("/agents/{id}/anomalies", get(oversight::anomalies))
        .route("/agents/{id}/evaluate", post(oversight::dry_run))
        .route("/intents", post(intents::declare).get(intents::list))
        .route("/intents/{id}", get(intents::show))
        .route("/intents/{id}/approve", post(intents::approve))
        .route("/intents/{id}/deny", post(intents::deny))
        .route("/intents/{id}/cancel", post(intents::cancel))
        .route("/intents/{id}/complete", post(intents::complete))
        .route("/intents/{id}/fail", post(intents::fail))
        .route("/intents/{id}/verify", post(intents::verify))
        .route(
            "/intents/{id}/charges",
            post(intents::report_charge).get(intents::charges),
        )
        .fallback(async || ApiError::no_such_endpoint())
        .method_not_allowed_fallback(async || ApiError::method_not_allowed())
        .with_state(AppState { app, metrics });
    http::operate::layers(routes, serving)
}
