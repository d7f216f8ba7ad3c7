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

/// `GET /livez`, `GET /healthz`.
pub(crate) async fn live() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the database answers, else 503 `E_NOT_READY`.
pub(crate) async fn ready(State(state): State<AppState>) -> Result<Reply> {
    match state.app.ready().await {
        Ok(()) => Reply::json(StatusCode::OK, &serde_json::json!({"status": "ready"})),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            Err(ApiError::not_ready("the database cannot be reached"))
        }
    }
}

/// `GET /metrics` for the bearer of the metrics token; 404 when metrics
/// are off (no token configured), 401 for any other credential.
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
