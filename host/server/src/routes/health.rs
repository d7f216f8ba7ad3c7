//! `/livez` (and its older name `/healthz`): the process answers;
//! `/readyz`: it can serve requests; neither needs credentials.
//! `/metrics`: what the process counted, for the metrics token.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use warrant_app::secret_hash;

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{Reply, bearer};

/// `GET /livez`: the process serves requests.
#[utoipa::path(
    get,
    operation_id = "health_live",
    path = "/livez",
    tag = "operations",
    security(()),
    responses((status = 200, description = "`ok`.", body = String, content_type = "text/plain"))
)]
pub(crate) async fn live() -> &'static str {
    "ok"
}

/// `GET /healthz`: the older name of `/livez`.
#[utoipa::path(
    get,
    operation_id = "health_healthz",
    path = "/healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "`ok`.", body = String, content_type = "text/plain"))
)]
pub(crate) async fn healthz() -> &'static str {
    live().await
}

/// Ready to serve.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ReadyView {
    /// `ready`.
    status: &'static str,
}

/// `GET /readyz`: 200 when the database answers, else 503 `E_NOT_READY`.
#[utoipa::path(
    get,
    operation_id = "health_ready",
    path = "/readyz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The database answers, its schema migrated.", body = ReadyView))
)]
pub(crate) async fn ready(State(state): State<AppState>) -> Result<Reply> {
    match state.app.ready().await {
        Ok(()) => Reply::json(StatusCode::OK, &ReadyView { status: "ready" }),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            Err(ApiError::not_ready("the database cannot be reached"))
        }
    }
}

/// `GET /metrics` for the bearer of the metrics token; 404 when metrics
/// are off (no token configured), 401 for any other credential.
#[utoipa::path(
    get,
    operation_id = "health_metrics",
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus' text format.", body = String, content_type = "text/plain"))
)]
pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let endpoint = state.metrics.as_ref().ok_or_else(|| {
        ApiError::not_found("metrics are off: start the server with a metrics token")
    })?;
    let presented = bearer(&headers).map(secret_hash);
    if presented.as_deref() != Some(endpoint.token_sha256.as_str()) {
        return Err(ApiError::unauthorized(
            "send `Authorization: Bearer <metrics token>`",
        ));
    }
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        (endpoint.render)(),
    )
        .into_response())
}
