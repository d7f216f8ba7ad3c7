//! Warrant's storage: a repository trait per aggregate (tenants, plugins,
//! policies, agents, intents, usage, idempotency), the [`Store`] that is
//! all of them, and two implementations: [`SqliteStore`],
//! the embedded SQLite database, and [`PostgresStore`], for one or several
//! servers on a PostgreSQL database.
//!
//! Both run the same statements (numbered `$N` parameters, `TEXT` and
//! `BIGINT` columns, times as Unix milliseconds), written once in `sql/`,
//! a file per aggregate; each has its own migrations.
//!
//! Every write that answers a request with an `Idempotency-Key` takes an
//! [`IdempotencyRecord`] and commits it in the same transaction as the
//! write itself: the response is remembered exactly when its effects are.
#![deny(missing_docs)]

mod buckets;
mod errors;
mod kept_usage;
pub mod log;
mod postgres;
mod records;
mod repositories;
mod signing;
mod sqlite;

pub use buckets::{MAX_BUCKET_SPEND, spend_minor};
pub use errors::{Result, StoreError};
pub use postgres::PostgresStore;
pub use records::{
    Actor, AgentEvent, AgentFilter, AgentKeyRecord, AgentRecord, AgentVersion, ApiKeyRecord,
    AuthorizationRecord, BaselineUpdate, CardFilter, CardRecord, ChainHead, ChargeRecord,
    DecisionActions, HistoryEntry, IdempotencyRecord, IntentEvent, IntentFilter, IntentRecord,
    Page, Plan, PluginRecord, PluginRemoval, PolicyRecord, PublisherKeyRecord, Quota,
    ReceiptRecord, RememberIntent, SecretRecord, SettledAmount, SettlementUpdate, SettlementWrite,
    SigningKeyRecord, StatusChange, StoredInput, Suspension, Take, TenantRecord, TokenRecord,
    TransactionFilter, TransactionRecord, cancellation_event_id,
};
pub use repositories::{
    AgentRepository, ApiKeyRepository, CardRepository, EventRepository, IdempotencyRepository,
    IntentRepository, PaymentRepository, PluginRepository, PolicyRepository, ReceiptRepository,
    TenantRepository, UsageRepository, WebhookRepository,
};
pub use sqlite::SqliteStore;

use async_trait::async_trait;

/// Everything Warrant keeps. Reads are scoped by tenant: an object of
/// another tenant is never returned.
#[async_trait]
pub trait Store:
    TenantRepository
    + ApiKeyRepository
    + PluginRepository
    + PolicyRepository
    + AgentRepository
    + IntentRepository
    + UsageRepository
    + IdempotencyRepository
    + EventRepository
    + WebhookRepository
    + ReceiptRepository
    + CardRepository
    + PaymentRepository
    + Send
    + Sync
    + 'static
{
    /// Closes every connection, waiting for those in use.
    async fn close(&self);

    /// Seals and opens the secret halves of signing keys with `vault`:
    /// until a vault is given, a write that adds a receipt fails.
    fn use_key_vault(&self, vault: std::sync::Arc<dyn warrant_domain::receipt::KeyVault>);

    /// Waits until every write made so far is on disk and visible to reads.
    /// A write answers once its own commit is on disk; a write that failed
    /// or changed nothing may have seen writes still on their way there
    /// (SQLite commits writes in groups), so a caller about to answer with
    /// such a failure, or to read what a concurrent write did, syncs first.
    async fn sync(&self) -> Result<()>;

    /// Waits for the turn of the tenant's agent to be decided for, among
    /// every server on the database: until the returned turn is dropped, no
    /// other server's turn for that agent begins. The turn is the tenant's
    /// own: another tenant naming the same id takes another turn. (A server
    /// also takes turns among its own requests; SQLite serves one server,
    /// so has nothing to add.)
    async fn agent_turn(&self, tenant_id: &str, agent_id: &str) -> Result<AgentTurn>;

    /// A server-wide setting.
    async fn setting(&self, key: &str) -> Result<Option<String>>;

    /// Sets a server-wide setting, replacing any earlier value.
    async fn set_setting(&self, key: &str, value: &str) -> Result<()>;

    /// The connections of the pool requests read (and, on PostgreSQL,
    /// write) through: how many are open, and how many of them idle.
    fn connections(&self) -> (u32, usize);
}

/// An agent's turn, held until dropped (see [`Store::agent_turn`]).
#[must_use = "the turn ends when dropped"]
pub struct AgentTurn(#[allow(dead_code)] Option<Box<dyn std::any::Any + Send>>);

impl std::fmt::Debug for AgentTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentTurn")
    }
}

/// The migrator of a list of migrations, oldest first.
fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    std::borrow::Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}
