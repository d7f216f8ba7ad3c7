//! The one error answer of the API: a status, a stable code and a message,
//! written as `{"error": {"code": "E_…", "message": "…"}}`. Every
//! [`AppError`] of a service becomes one; the HTTP layer adds its own few
//! (a body too large, a query that does not parse, an unknown route).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use warrant_app::AppError;
use warrant_domain::ValidationError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// Seconds after which a retry may succeed, sent as `Retry-After`.
    retry_after: Option<u32>,
    /// What the log says of an internal error (the answer says nothing).
    cause: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// The current status of the intent or agent a move was refused on.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

/// The result of a handler.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                field: None,
                status: None,
            },
            retry_after: None,
            cause: None,
        }
    }

    /// 400 `E_VALIDATION`: `field` is wrong.
    pub fn validation(field: &str, message: impl std::fmt::Display) -> Self {
        ValidationError::new(field, message).into()
    }

    /// 401 `E_UNAUTHORIZED`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "E_UNAUTHORIZED", message)
    }

    /// 404 `E_NOT_FOUND` for a route that does not exist.
    pub fn no_such_endpoint() -> Self {
        Self::new(StatusCode::NOT_FOUND, "E_NOT_FOUND", "no such endpoint")
    }

    /// 404 `E_NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "E_NOT_FOUND", message)
    }

    /// 405 `E_METHOD_NOT_ALLOWED`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "E_METHOD_NOT_ALLOWED",
            "this endpoint does not take this method",
        )
    }

    /// 408 `E_TIMEOUT`: the request took longer than it may.
    pub fn timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "E_TIMEOUT",
            format!(
                "the request took longer than {} s; if it was a write, retry it with the same Idempotency-Key",
                limit.as_secs_f64()
            ),
        )
    }

    /// 503 `E_NOT_READY`: the server cannot serve requests now.
    pub fn not_ready(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "E_NOT_READY", message)
    }

    /// 413 `E_TOO_LARGE`.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "E_TOO_LARGE", message)
    }

    /// 500 `E_INTERNAL`; the cause is logged when answered, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::internal(cause).into()
    }

    /// Whether the server failed, rather than the request.
    pub(crate) fn is_internal(&self) -> bool {
        self.status.is_server_error()
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        let mut api = Self::new(StatusCode::BAD_REQUEST, "E_VALIDATION", error.to_string());
        api.body.field = error.field;
        api
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let code = error.code();
        let status = match &error {
            AppError::Validation(validation) => return validation.clone().into(),
            AppError::Plugin(_) | AppError::PluginSignature(_) | AppError::AgentSignature(_) => {
                StatusCode::BAD_REQUEST
            }
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::AgentIsolation | AppError::PlanLimit(_) => {
                StatusCode::FORBIDDEN
            }
            AppError::NotFound { .. } | AppError::NoVersion { .. } => StatusCode::NOT_FOUND,
            AppError::Conflict(_)
            | AppError::InvalidTransition { .. }
            | AppError::AgentTransition { .. }
            | AppError::AgentNotActive(_)
            | AppError::CardNotUsable(_)
            | AppError::IdempotencyRace => StatusCode::CONFLICT,
            AppError::IdempotencyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Busy(_) | AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match &error {
            AppError::Internal(_) => "internal error; nothing was changed".to_owned(),
            other => other.to_string(),
        };
        let mut api = Self::new(status, code, message);
        match error {
            AppError::InvalidTransition { current, .. } => api.body.status = Some(current.as_str()),
            AppError::AgentTransition { current, .. } => api.body.status = Some(current.as_str()),
            AppError::Busy(_) => api.retry_after = Some(1),
            AppError::RateLimited(seconds) => api.retry_after = Some(seconds),
            AppError::Internal(cause) => api.cause = Some(cause),
            _ => {}
        }
        api
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.body.message, self.body.code)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// The answer's body, `{"error": {…, "requestId"?}}`; an internal
    /// error's cause is logged here, the one place it is.
    pub(crate) fn envelope(&self) -> String {
        if let Some(cause) = &self.cause {
            tracing::error!("internal error: {cause}");
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct WithRequest<'a> {
            #[serde(flatten)]
            body: &'a ErrorBody,
            /// The request's id, as its `Request-Id` header says.
            #[serde(skip_serializing_if = "Option::is_none")]
            request_id: Option<String>,
        }
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: WithRequest<'a>,
        }
        serde_json::to_string(&Envelope {
            error: WithRequest {
                body: &self.body,
                request_id: warrant_app::request_id(),
            },
        })
        .unwrap_or_else(|_| r#"{"error":{"code":"E_INTERNAL","message":"internal error"}}"#.into())
    }

    /// The stable code, `E_…`.
    pub(crate) fn code(&self) -> &'static str {
        self.body.code
    }

    /// What happened, for a person.
    pub(crate) fn message(&self) -> &str {
        &self.body.message
    }

    /// The answer's status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// Whether the caller's credential was missing or refused.
    pub(crate) fn is_unauthorized(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.envelope();
        let mut response = (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
