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

mod dashboard;
mod errors;
pub mod http;
pub mod mcp;
mod openapi;
mod providers;
mod routes;

use axum::Router;

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
    // Events carry their objects as this API shows them.
    warrant_app::show_objects_with(Box::new(routes::events::ApiViews));
    let metrics = serving.metrics.clone();
    let (routes, _) = routes_and_document(app.max_plugin_bytes());
    let routes = routes
        .fallback(async || ApiError::no_such_endpoint())
        .method_not_allowed_fallback(async || ApiError::method_not_allowed())
        // The dashboard's pages are HTML for people, not in the document.
        .merge(dashboard::router())
        // Providers post their own events, signed their way, not in the
        // document.
        .merge(providers::stripe::router())
        .with_state(AppState {
            app: app.clone(),
            metrics,
        })
        // MCP is a protocol of its own beside the REST API, not in its
        // document.
        .merge(mcp::router(app));
    http::operate::layers(routes, serving)
}

/// The OpenAPI document of the API, as `GET /openapi.json` serves it.
pub fn openapi_json() -> &'static str {
    openapi::document()
}

/// Every route, each from its handler's `#[utoipa::path]`, and the
/// document they make: a route is in the router only if it is in the
/// document. Uploads take bodies of up to `plugin_limit` bytes.
fn routes_and_document(plugin_limit: usize) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use routes::{
        agents, cards, events, health, intents, keys, oversight, payments, plugins, policies,
        receipts, tenants, webhooks,
    };
    use utoipa::OpenApi;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    // Uploads take bodies up to the largest component.
    let (schemas, paths, upload) = routes!(plugins::upload);
    let upload = upload.layer(axum::Extension(http::BodyLimit(plugin_limit)));
    let (routes, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::live))
        .routes(routes!(health::healthz))
        .routes(routes!(health::ready))
        .routes(routes!(health::metrics))
        .routes(routes!(openapi::serve_document))
        .routes(routes!(openapi::docs_page))
        .routes(routes!(openapi::docs_asset))
        .routes(routes!(tenants::create))
        .routes(routes!(tenants::show, tenants::update))
        .routes(routes!(keys::create, keys::list))
        .routes(routes!(keys::show, keys::revoke))
        .routes(routes!(keys::roll))
        .routes((schemas, paths, upload))
        .routes(routes!(plugins::list))
        .routes(routes!(plugins::show, plugins::remove))
        .routes(routes!(policies::create, policies::list))
        .routes(routes!(policies::show, policies::update))
        .routes(routes!(policies::versions))
        .routes(routes!(policies::rollback))
        .routes(routes!(policies::try_out))
        .routes(routes!(policies::backtest))
        .routes(routes!(agents::create, agents::list))
        .routes(routes!(agents::show, agents::update, agents::archive))
        .routes(routes!(agents::freeze))
        .routes(routes!(agents::unfreeze))
        .routes(routes!(agents::versions))
        .routes(routes!(agents::rollback))
        .routes(routes!(agents::emergency_suspend))
        .routes(routes!(agents::activate))
        .routes(routes!(agents::events))
        .routes(routes!(agents::issue_token, agents::tokens))
        .routes(routes!(agents::revoke_token))
        .routes(routes!(agents::add_key))
        .routes(routes!(agents::jwks))
        .routes(routes!(oversight::usage))
        .routes(routes!(oversight::set_baselines))
        .routes(routes!(oversight::anomalies))
        .routes(routes!(oversight::dry_run))
        .routes(routes!(intents::declare, intents::list))
        .routes(routes!(intents::show))
        .routes(routes!(intents::approve))
        .routes(routes!(intents::deny))
        .routes(routes!(intents::cancel))
        .routes(routes!(intents::complete))
        .routes(routes!(intents::fail))
        .routes(routes!(intents::verify))
        .routes(routes!(intents::report_charge, intents::charges))
        .routes(routes!(cards::create, cards::list))
        .routes(routes!(cards::show, cards::update, cards::close))
        .routes(routes!(cards::freeze))
        .routes(routes!(cards::unfreeze))
        .routes(routes!(cards::agent_secrets))
        .routes(routes!(cards::put_agent_secret, cards::delete_agent_secret))
        .routes(routes!(cards::tenant_secrets))
        .routes(routes!(
            cards::put_tenant_secret,
            cards::delete_tenant_secret
        ))
        .routes(routes!(cards::reveal))
        .routes(routes!(payments::authorize))
        .routes(routes!(payments::show))
        .routes(routes!(payments::capture))
        .routes(routes!(payments::reverse))
        .routes(routes!(payments::transactions))
        .routes(routes!(payments::transaction))
        .routes(routes!(payments::refund))
        .routes(routes!(events::list))
        .routes(routes!(events::show))
        .routes(routes!(events::redeliver))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::show, webhooks::update, webhooks::remove))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(receipts::jwks))
        .routes(routes!(receipts::tenant_jwks))
        .routes(routes!(receipts::keys))
        .routes(routes!(receipts::rotate))
        .routes(routes!(receipts::of_intent))
        .routes(routes!(receipts::verify))
        .routes(routes!(receipts::replay))
        .routes(routes!(receipts::add_publisher, receipts::publishers))
        .routes(routes!(receipts::settings, receipts::update_settings))
        .routes(routes!(webhooks::test))
        .routes(routes!(webhooks::deliveries))
        .split_for_parts();
    // What every operation shares, once every operation is in.
    utoipa::Modify::modify(&openapi::Conventions, &mut document);
    (routes, document)
}
