//! `/livez` (and its older name `/healthz`): the process answers;
//! `/readyz`: it can serve requests. No credentials.

use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::Reply;

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
