//! Why a service refused or failed: one error for every service, which
//! each surface turns into its own answer (REST: a status and a code).

use warrant_domain::ValidationError;
use warrant_domain::context::AgentStatus;
use warrant_domain::lifecycle::{IntentStatus, Transition};
use warrant_domain::plan::{Plan, PlanLimit, Quota};
use warrant_runtime::LoadError;
use warrant_store::StoreError;

/// The result of a service.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Why a service refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed; names the field at fault.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// No valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// An agent token touched another agent's data.
    #[error("an agent token may only act on its own agent and that agent's intents")]
    AgentIsolation,
    /// The tenant's plan allows no more.
    #[error("{}", plan_limit_message(.0))]
    PlanLimit(#[from] PlanLimit),
    /// No such object of the caller's tenant.
    #[error("no {what} `{id}`")]
    NotFound {
        /// What was looked for: `intent`, `agent`, ….
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// No such version of an object.
    #[error("{what} `{id}` has no version {version}")]
    NoVersion {
        /// `policy` or `agent`.
        what: &'static str,
        /// Its id.
        id: String,
        /// The version asked for.
        version: i64,
    },
    /// The object is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// An intent cannot make this move from where it stands.
    #[error(
        "cannot {verb} an intent that is {current}; only one that is {}",
        statuses(allowed)
    )]
    InvalidTransition {
        /// What was asked: `approve`, `verify`, ….
        verb: &'static str,
        /// Where the intent stands.
        current: IntentStatus,
        /// Where it would have to stand.
        allowed: Vec<IntentStatus>,
    },
    /// An agent cannot make this move from where it stands.
    #[error("{message}")]
    AgentTransition {
        /// Where the agent stands.
        current: AgentStatus,
        /// What is wrong.
        message: String,
    },
    /// A frozen, suspended or archived agent gets no approval.
    #[error("{0}")]
    AgentNotActive(String),
    /// A frozen or closed card: nothing is approved or authorized on it.
    #[error("{0}")]
    CardNotUsable(String),
    /// An uploaded component is refused.
    #[error(transparent)]
    Plugin(#[from] LoadError),
    /// The tenant has as much work running and waiting as it may.
    #[error("{0}")]
    Busy(String),
    /// The key or token made more requests than it may; it may retry
    /// after this many seconds.
    #[error("this key or token made more requests than it may; retry in {0} s")]
    RateLimited(u32),
    /// An idempotency key used with another request.
    #[error(
        "this `Idempotency-Key` was used with a different request; use a new key for a new request"
    )]
    IdempotencyMismatch,
    /// Another request with the same idempotency key committed first; its
    /// answer is this one's.
    #[error("another request with this `Idempotency-Key` is being answered; retry")]
    IdempotencyRace,
    /// A plugin's signature is missing where the tenant requires one, or
    /// does not verify.
    #[error("{0}")]
    PluginSignature(String),
    /// A request carries an agent's signature that does not verify.
    #[error("{0}")]
    AgentSignature(String),
    /// Something failed that is not the caller's doing; nothing was
    /// changed.
    #[error("internal error: {0}")]
    Internal(String),
}

fn statuses(allowed: &[IntentStatus]) -> String {
    allowed
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

fn plan_limit_message(limit: &PlanLimit) -> String {
    let PlanLimit { plan, quota, limit } = *limit;
    let plural = |one: &str, many: &str| if limit == 1 { one } else { many }.to_owned();
    let (allowance, way_out) = match quota {
        Quota::Agents => (
            format!(
                "{limit} {} not archived",
                plural("agent that is", "agents that are")
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
    format!(
        "the `{}` plan allows {allowance}; {way_out} or move to a larger plan",
        Plan::as_str(plan)
    )
}

impl AppError {
    /// A mistake in `field`.
    pub fn validation(field: &str, message: impl std::fmt::Display) -> Self {
        AppError::Validation(ValidationError::new(field, message))
    }

    /// No `what` called `id`.
    pub fn not_found(what: &'static str, id: &str) -> Self {
        AppError::NotFound {
            what,
            id: id.to_owned(),
        }
    }

    /// A failure that is not the caller's doing.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string())
    }

    /// `transition` is not allowed from `current`.
    pub fn invalid_transition(transition: Transition, current: IntentStatus) -> Self {
        AppError::InvalidTransition {
            verb: transition.as_str(),
            current,
            allowed: transition.sources().to_vec(),
        }
    }

    /// The stable code of the error, as every surface reports it.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "E_VALIDATION",
            AppError::Unauthorized(_) => "E_UNAUTHORIZED",
            AppError::Forbidden(_) => "E_FORBIDDEN",
            AppError::AgentIsolation => "E_AGENT_ISOLATION",
            AppError::PlanLimit(_) => "E_PLAN_LIMIT",
            AppError::NotFound { .. } | AppError::NoVersion { .. } => "E_NOT_FOUND",
            AppError::Conflict(_) => "E_CONFLICT",
            AppError::InvalidTransition { .. } | AppError::AgentTransition { .. } => {
                "E_INVALID_TRANSITION"
            }
            AppError::AgentNotActive(_) => "E_AGENT_NOT_ACTIVE",
            AppError::CardNotUsable(_) => "E_CARD_FROZEN",
            AppError::Plugin(error) => error.code(),
            AppError::Busy(_) => "E_BUSY",
            AppError::RateLimited(_) => "E_RATE_LIMITED",
            AppError::IdempotencyMismatch => "E_IDEMPOTENCY_MISMATCH",
            AppError::IdempotencyRace => "E_IDEMPOTENCY_RACE",
            AppError::PluginSignature(_) => "E_PLUGIN_SIGNATURE",
            AppError::AgentSignature(_) => "E_AGENT_SIGNATURE",
            AppError::Internal(_) => "E_INTERNAL",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::IdempotencyKeyTaken => AppError::IdempotencyRace,
            StoreError::Duplicate => AppError::Conflict("already exists".into()),
            StoreError::InUse => AppError::Conflict("still in use".into()),
            StoreError::PlanLimit(limit) => AppError::PlanLimit(limit),
            StoreError::AgentNotActive(status) => AppError::AgentNotActive(format!(
                "the agent is {}: it gets no approval until it is active",
                status.as_str()
            )),
            other => AppError::Internal(other.to_string()),
        }
    }
}
