//! The one error type of the API: a status, a stable code and a message,
//! written as `{"error": {"code": "E_…", "message": "…"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use warrant_domain::ValidationError;
use warrant_domain::context::AgentStatus;
use warrant_domain::lifecycle::{IntentStatus, Transition};
use warrant_store::{Plan, Quota, StoreError};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    /// Seconds after which a retry may succeed, sent as `Retry-After`.
    retry_after: Option<u32>,
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

/// A code that never leaves the server: another request with the same
/// idempotency key committed first, so this one answers with its response.
pub(crate) const IDEMPOTENCY_RACE: &str = "E_IDEMPOTENCY_RACE";

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

    /// 403 `E_FORBIDDEN`: the credentials are valid but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "E_FORBIDDEN", message)
    }

    /// 403 `E_AGENT_ISOLATION`: an agent token touched another agent's data.
    pub fn agent_isolation() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E_AGENT_ISOLATION",
            "an agent token may only act on its own agent and that agent's intents",
        )
    }

    /// 404 `E_NOT_FOUND`.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E_NOT_FOUND",
            format!("no {what} `{id}`"),
        )
    }

    /// 409 `E_CONFLICT`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "E_CONFLICT", message)
    }

    /// 409 `E_INVALID_TRANSITION`, with the intent's current status.
    pub fn invalid_transition(transition: Transition, current: IntentStatus) -> Self {
        Self::cannot(transition.as_str(), current, &transition.sources())
    }

    /// 409 `E_INVALID_TRANSITION`: `verb` is allowed only from `allowed`.
    pub fn cannot(verb: &str, current: IntentStatus, allowed: &[IntentStatus]) -> Self {
        let allowed: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        let mut error = Self::new(
            StatusCode::CONFLICT,
            "E_INVALID_TRANSITION",
            format!(
                "cannot {verb} an intent that is {current}; only one that is {}",
                allowed.join(" or ")
            ),
        );
        error.body.status = Some(current.as_str());
        error
    }

    /// 409 `E_INVALID_TRANSITION`: an agent cannot move from its
    /// `current` status as asked; with that status.
    pub fn agent_transition(current: AgentStatus, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::CONFLICT, "E_INVALID_TRANSITION", message);
        error.body.status = Some(current.as_str());
        error
    }

    /// 403 `E_PLAN_LIMIT`: the tenant's plan allows no more of `quota`.
    pub fn plan_limit(plan: Plan, quota: Quota, limit: i64) -> Self {
        let plural = |one: &str, many: &str| if limit == 1 { one } else { many }.to_owned();
        let (allowance, way_out) = match quota {
            Quota::Agents => (
                format!(
                    "{limit} {} that are not archived",
                    plural("agent", "agents")
                ),
                "archive one",
            ),
            Quota::Plugins => (
                format!("{limit} uploaded {}", plural("plugin", "plugins")),
                "delete one",
            ),
            Quota::PluginBytes => (
                format!("{} MiB of uploaded plugins", limit >> 20),
                "delete one",
            ),
        };
        Self::new(
            StatusCode::FORBIDDEN,
            "E_PLAN_LIMIT",
            format!(
                "the `{}` plan allows {allowance}; {way_out} or move to a larger plan",
                plan.as_str()
            ),
        )
    }

    /// 409 `E_AGENT_NOT_ACTIVE`: a frozen, suspended or archived agent gets
    /// no approval.
    pub fn agent_not_active(agent_id: &str, status: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "E_AGENT_NOT_ACTIVE",
            format!("agent `{agent_id}` is {status}: it gets no approval until it is active"),
        )
    }

    /// 429 `E_BUSY`: the tenant has as much work running and waiting as
    /// it may; retry after a second.
    pub fn busy(message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, "E_BUSY", message);
        error.retry_after = Some(1);
        error
    }

    /// 413 `E_TOO_LARGE`.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "E_TOO_LARGE", message)
    }

    /// 422 `E_IDEMPOTENCY_MISMATCH`.
    pub fn idempotency_mismatch() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "E_IDEMPOTENCY_MISMATCH",
            "this `Idempotency-Key` was used with a different request; use a new key for a new request",
        )
    }

    /// 500 `E_INTERNAL`; the cause is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E_INTERNAL",
            "internal error; nothing was changed",
        )
    }

    /// An error with any status and code.
    pub fn other(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(status, code, message)
    }

    pub(crate) fn idempotency_race() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            IDEMPOTENCY_RACE,
            "another request with this `Idempotency-Key` is being answered; retry",
        )
    }

    pub(crate) fn is_idempotency_race(&self) -> bool {
        self.body.code == IDEMPOTENCY_RACE
    }

    /// The error's code.
    pub fn code(&self) -> &'static str {
        self.body.code
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        let mut api = Self::new(StatusCode::BAD_REQUEST, "E_VALIDATION", error.to_string());
        api.body.field = error.field;
        api
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::IdempotencyKeyTaken => ApiError::idempotency_race(),
            StoreError::Duplicate => ApiError::conflict("already exists"),
            StoreError::InUse => ApiError::conflict("still in use"),
            StoreError::PlanLimit { plan, quota, limit } => {
                ApiError::plan_limit(plan, quota, limit)
            }
            StoreError::AgentNotActive(status) => Self::new(
                StatusCode::CONFLICT,
                "E_AGENT_NOT_ACTIVE",
                format!(
                    "the agent is {}: it gets no approval until it is active",
                    status.as_str()
                ),
            ),
            other => ApiError::internal(other),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.body.message, self.body.code)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: &'a ErrorBody,
        }
        let body = serde_json::to_string(&Envelope { error: &self.body }).unwrap_or_else(|_| {
            r#"{"error":{"code":"E_INTERNAL","message":"internal error"}}"#.into()
        });
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
