//! Errors of the storage layer.

/// Why a repository call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken: a plugin's name and version, an agent's
    /// client intent id, a policy version.
    #[error("already exists")]
    Duplicate,
    /// Another request with the same idempotency key committed first.
    #[error("the idempotency key was used by a request that committed first")]
    IdempotencyKeyTaken,
    /// The agent is not active (frozen, suspended, archived or gone).
    #[error("the agent is {}", .0.as_str())]
    AgentNotActive(warrant_domain::context::AgentStatus),
    /// The object is still referenced, e.g. a plugin by a policy version.
    #[error("still in use")]
    InUse,
    /// The tenant's plan allows no more.
    #[error(transparent)]
    PlanLimit(#[from] warrant_domain::plan::PlanLimit),
    /// A stored value cannot be read back.
    #[error("corrupt stored value in `{column}`: {detail}")]
    Corrupt {
        /// The column.
        column: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The group commit that held this write failed: nothing of it was
    /// kept.
    #[error("the commit that held this write failed")]
    GroupCommitFailed,
    /// A write could not finish: its task was stopped with the runtime,
    /// or what it relies on kept moving under it. Nothing of it was kept.
    #[error("the write could not finish: {0}")]
    Unfinished(String),
    /// A signing key cannot be made or opened (no key-encryption key, or
    /// another one than sealed it).
    #[error("{0}")]
    Keys(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations could not run.
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The result of a repository call.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
