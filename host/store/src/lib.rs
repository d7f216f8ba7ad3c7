//! Warrant's storage: one [`Store`] trait with a repository method for each
//! thing the API reads or writes, and two implementations: [`SqliteStore`],
//! the embedded SQLite database, and [`PostgresStore`], for one or several
//! servers on a PostgreSQL database.
//!
//! Both run the same statements (numbered `$N` parameters, `TEXT` and
//! `BIGINT` columns, times as Unix milliseconds), written once in `sql.rs`;
//! each has its own migrations.
//!
//! Every write that answers a request with an `Idempotency-Key` takes an
//! [`IdempotencyRecord`] and commits it in the same transaction as the
//! write itself: the response is remembered exactly when its effects are.
#![deny(missing_docs)]

mod buckets;
mod errors;
mod postgres;
mod records;
mod sqlite;

pub use buckets::{MAX_BUCKET_SPEND, spend_minor};
pub use errors::{Result, StoreError};
pub use postgres::PostgresStore;
pub use records::{
    AgentEvent, AgentRecord, AgentVersion, BaselineUpdate, ChargeRecord, DecisionActions,
    HistoryEntry, IdempotencyRecord, IntentEvent, IntentFilter, IntentRecord, Page, Plan,
    PluginRecord, PolicyRecord, Quota, SettledAmount, SettlementUpdate, SettlementWrite,
    StatusChange, Suspension, TenantRecord, TokenRecord,
};
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use warrant_domain::context::{AgentStatus, Usage};
use warrant_domain::money::Currency;

/// Everything Warrant keeps. Reads are scoped by tenant: an object of
/// another tenant is never returned.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Closes every connection, waiting for those in use.
    async fn close(&self);

    /// Waits until every write made so far is on disk and visible to reads.
    /// A write answers once its own commit is on disk; a write that failed
    /// or changed nothing may have seen writes still on their way there
    /// (SQLite commits writes in groups), so a caller about to answer with
    /// such a failure, or to read what a concurrent write did, syncs first.
    async fn sync(&self) -> Result<()>;

    /// Waits for the agent's turn to be decided for, among every server on
    /// the database: until the returned turn is dropped, no other server's
    /// turn for that agent begins. (A server also takes turns among its own
    /// requests; SQLite serves one server, so has nothing to add.)
    async fn agent_turn(&self, agent_id: &str) -> Result<AgentTurn>;

    /// A server-wide setting.
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    /// Sets a server-wide setting, replacing any earlier value.
    async fn set_setting(&self, key: &str, value: &str) -> Result<()>;

    /// The response remembered for an idempotency key.
    async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>>;
    /// Forgets idempotency keys created before `before_ms`.
    async fn purge_idempotency(&self, before_ms: i64) -> Result<u64>;

    /// Creates a tenant whose API key has the hash `api_key_sha256`.
    async fn create_tenant(
        &self,
        tenant: &TenantRecord,
        api_key_sha256: &str,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// The tenant whose API key has this hash.
    async fn tenant_by_key(&self, api_key_sha256: &str) -> Result<Option<TenantRecord>>;

    /// Registers a plugin. [`StoreError::Duplicate`] when the tenant has
    /// one of that name and version; [`StoreError::PlanLimit`] when the
    /// tenant's plan allows no more plugins, or not this many bytes of
    /// them, counted in the same transaction.
    async fn insert_plugin(
        &self,
        plugin: &PluginRecord,
        wasm: &[u8],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// A tenant's plugin.
    async fn plugin(&self, tenant_id: &str, id: &str) -> Result<Option<PluginRecord>>;
    /// A tenant's plugin by name and version.
    async fn plugin_by_version(
        &self,
        tenant_id: &str,
        name: &str,
        version: &str,
    ) -> Result<Option<PluginRecord>>;
    /// A page of a tenant's plugins, oldest first, after the plugin
    /// `page.after`; only those called `name` when given. Gives one more
    /// than the page's limit when there are more.
    async fn plugins(
        &self,
        tenant_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<PluginRecord>>;
    /// A plugin's component bytes.
    async fn plugin_wasm(&self, id: &str) -> Result<Option<Vec<u8>>>;
    /// How many plugins a tenant has uploaded, and their bytes together.
    async fn plugin_totals(&self, tenant_id: &str) -> Result<(i64, i64)>;
    /// The sha256 of every uploaded plugin of every tenant.
    async fn plugin_hashes(&self) -> Result<Vec<String>>;
    /// Deletes a tenant's plugin; false when there is none.
    /// [`StoreError::InUse`] while a policy version uses it.
    async fn delete_plugin(&self, tenant_id: &str, id: &str) -> Result<bool>;

    /// Creates a policy with its first version.
    async fn insert_policy(
        &self,
        policy: &PolicyRecord,
        plugin_ids: &[String],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// Adds `policy.version` and makes it current, if the current version
    /// is still `policy.version - 1`; [`StoreError::Duplicate`] otherwise.
    async fn add_policy_version(
        &self,
        policy: &PolicyRecord,
        plugin_ids: &[String],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// A policy's current version, or the version asked for.
    async fn policy(
        &self,
        tenant_id: &str,
        id: &str,
        version: Option<i64>,
    ) -> Result<Option<PolicyRecord>>;
    /// A page of a policy's versions, oldest first, after the version
    /// numbered `page.after` (one more than the limit when there are more).
    async fn policy_versions(
        &self,
        tenant_id: &str,
        id: &str,
        page: &Page,
    ) -> Result<Vec<PolicyRecord>>;
    /// The current version of each of a tenant's policies, newest first.
    async fn policies(&self, tenant_id: &str, page: &Page) -> Result<Vec<PolicyRecord>>;

    /// Creates an agent with its first version (actor `tenant:<tenant>`).
    /// [`StoreError::PlanLimit`] when the tenant's plan allows no more
    /// agents that are not archived, counted in the same transaction.
    async fn insert_agent(
        &self,
        agent: &AgentRecord,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// A tenant's agent.
    async fn agent(&self, tenant_id: &str, id: &str) -> Result<Option<AgentRecord>>;
    /// A tenant's agents, newest first.
    async fn agents(&self, tenant_id: &str, page: &Page) -> Result<Vec<AgentRecord>>;
    /// Replaces an agent's name, policy, type, profile, tags and metadata,
    /// and its status when `status` is given, unless it is archived, and
    /// records the result as its next version (actor `tenant:<tenant>`), in
    /// one transaction. False when it is archived (or does not exist), and
    /// when `status` would move it into or out of `suspended`: that takes
    /// an emergency suspension or an activation.
    async fn update_agent(&self, agent: &AgentRecord, status: Option<AgentStatus>) -> Result<bool>;
    /// Moves an agent to `to` if its status is one of `from`; false
    /// otherwise. Archiving revokes every token of the agent.
    async fn set_agent_status(
        &self,
        tenant_id: &str,
        id: &str,
        from: &[AgentStatus],
        to: AgentStatus,
        now_ms: i64,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool>;

    /// Issues an agent token whose secret has the hash `token_sha256`.
    async fn insert_token(
        &self,
        token: &TokenRecord,
        token_sha256: &str,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// The live token with this hash, if its agent is not archived.
    async fn token_by_hash(&self, token_sha256: &str) -> Result<Option<TokenRecord>>;
    /// A page of an agent's tokens, revoked ones included, oldest first,
    /// after the token `page.after` (one more than the limit when there
    /// are more).
    async fn tokens(
        &self,
        tenant_id: &str,
        agent_id: &str,
        page: &Page,
    ) -> Result<Vec<TokenRecord>>;
    /// Revokes a token; false when the agent has no such live token.
    async fn revoke_token(
        &self,
        tenant_id: &str,
        agent_id: &str,
        token_id: &str,
        now_ms: i64,
    ) -> Result<bool>;

    /// Records a decided intent with its first event, counts it in its
    /// agent's usage, and carries out the decision's actions, all in one
    /// transaction.
    /// [`StoreError::Duplicate`] when the agent already has an intent with
    /// the same client intent id; [`StoreError::AgentNotActive`] when the
    /// agent is no longer active as the intent commits.
    async fn insert_intent(
        &self,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// A tenant's intent.
    async fn intent(&self, tenant_id: &str, id: &str) -> Result<Option<IntentRecord>>;
    /// The agent's intent with this client intent id.
    async fn intent_by_client_id(
        &self,
        agent_id: &str,
        client_intent_id: &str,
    ) -> Result<Option<IntentRecord>>;
    /// A tenant's intents, newest first.
    async fn intents(
        &self,
        tenant_id: &str,
        filter: &IntentFilter,
        page: &Page,
    ) -> Result<Vec<IntentRecord>>;
    /// An intent's status history, oldest first.
    async fn intent_events(&self, intent_id: &str) -> Result<Vec<IntentEvent>>;
    /// Applies a status change if the intent is still as the change saw
    /// it (status and `seen_updated_ms`) and the change's guards hold;
    /// false otherwise (another change won, or a guard failed).
    async fn change_status(
        &self,
        change: &StatusChange,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool>;
    /// Replaces an intent's settlement record if it is still as the
    /// update saw it (status and `seen_updated_ms`); false otherwise.
    async fn set_settlement(
        &self,
        update: &SettlementUpdate,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool>;
    /// Expires up to `limit` intents that are pending, or approved and not
    /// recurring (a recurring intent stays approved across its series), and
    /// whose time to live ended at or before `now_ms`, each with an event
    /// by `system` for `reason` whose id `new_event_id` makes; gives the
    /// events, oldest expiry first. The intents are claimed per agent: of
    /// several servers sweeping one database, each intent is expired by
    /// exactly one, and an agent another server is working on is left for
    /// the next round.
    async fn expire_due(
        &self,
        now_ms: i64,
        limit: i64,
        reason: &str,
        new_event_id: &(dyn Fn() -> String + Sync),
    ) -> Result<Vec<IntentEvent>>;

    /// Records a charge of a recurring intent of `agent_id` and carries out
    /// the charge rules' actions, in one transaction.
    async fn insert_charge(
        &self,
        charge: &ChargeRecord,
        agent_id: &str,
        actions: &DecisionActions,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()>;
    /// How many events of `kind` by `actor` an agent had since `since_ms`.
    async fn count_agent_events(
        &self,
        agent_id: &str,
        kind: &str,
        actor: &str,
        since_ms: i64,
    ) -> Result<i64>;
    /// A page of the charges of an intent, oldest first (by the time
    /// charged), after the charge `page.after` (one more than the limit
    /// when there are more).
    async fn charges(
        &self,
        tenant_id: &str,
        intent_id: &str,
        page: &Page,
    ) -> Result<Vec<ChargeRecord>>;
    /// When each accepted charge of an intent was charged, oldest first.
    async fn accepted_charge_times(&self, tenant_id: &str, intent_id: &str) -> Result<Vec<i64>>;
    /// The intents an agent declared from `since_ms` on that were not
    /// denied, oldest first, at most `limit`.
    async fn history(&self, agent_id: &str, since_ms: i64, limit: i64)
    -> Result<Vec<HistoryEntry>>;
    /// Sets an agent's baseline and records the event; false when the
    /// tenant has no such agent.
    async fn set_baseline(
        &self,
        update: &BaselineUpdate,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool>;

    /// The agent's usage up to `now_ms`, from its counters. `day_start_ms`
    /// and `month_start_ms` start the calendar windows; `merchant_key` is
    /// the intent's lower-case merchant. Windows count whole seconds: each
    /// starts at the beginning of the second its start falls in. Spend is
    /// [`spend_minor`] of each intent in `currency`; the time zone is left
    /// at `UTC` for the caller to name.
    async fn usage(
        &self,
        agent_id: &str,
        currency: Currency,
        merchant_key: Option<&str>,
        now_ms: i64,
        day_start_ms: i64,
        month_start_ms: i64,
    ) -> Result<Usage>;

    // Governance: plans, agent versions, agent events, emergency suspension.

    /// A tenant.
    async fn tenant(&self, id: &str) -> Result<Option<TenantRecord>>;
    /// How many of a tenant's agents are not archived.
    async fn live_agent_count(&self, tenant_id: &str) -> Result<i64>;
    /// Puts a tenant on `plan`; false when there is no such tenant. Agents
    /// past the new plan's limit are kept; only new ones are refused.
    async fn set_tenant_plan(&self, id: &str, plan: Plan) -> Result<bool>;

    /// A page of the versions of a tenant's agent, oldest first, after the
    /// version numbered `page.after` (one more than the limit when there
    /// are more); none when the tenant has no such agent.
    async fn agent_versions(
        &self,
        tenant_id: &str,
        agent_id: &str,
        page: &Page,
    ) -> Result<Vec<AgentVersion>>;
    /// Replaces an agent's name, policy, type, profile, tags and metadata
    /// with `agent`'s as its version `agent.version`, recorded with `actor`
    /// and `reason`, and records `event`, in one transaction, if the
    /// agent's version is still `agent.version - 1`, it is not archived and
    /// `agent.policy_id` is a policy of its tenant; false otherwise. The
    /// status is left as it is.
    async fn add_agent_version(
        &self,
        agent: &AgentRecord,
        actor: &str,
        reason: Option<&str>,
        event: &AgentEvent,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool>;

    /// Moves `event`'s agent to `to` if its status is one of `from` and
    /// records `event`, in one transaction; false otherwise.
    async fn set_agent_status_logged(
        &self,
        event: &AgentEvent,
        from: &[AgentStatus],
        to: AgentStatus,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool>;
    /// Stops `event`'s agent at once, in one transaction: its status
    /// becomes `suspended` (from active, frozen or suspended), each of its
    /// intents that is pending approval or approved (and still within its
    /// time to live) is cancelled by `event.actor` for `intent_reason`, each
    /// of its live tokens is revoked, and `event` is recorded. `remember`
    /// gives the idempotency record of the answer, which is committed with
    /// the rest. None when the tenant has no such agent;
    /// [`StoreError::AgentNotActive`] when it is archived.
    async fn emergency_suspend(
        &self,
        event: &AgentEvent,
        intent_reason: &str,
        remember: &(dyn for<'s> Fn(&'s Suspension) -> Option<IdempotencyRecord> + Sync),
    ) -> Result<Option<Suspension>>;
    /// Records an event of an agent that changes nothing else, such as a
    /// dry run of its policy.
    async fn record_agent_event(&self, event: &AgentEvent) -> Result<()>;
    /// A tenant's agent's events, newest first.
    async fn agent_events(
        &self,
        tenant_id: &str,
        agent_id: &str,
        page: &Page,
    ) -> Result<Vec<AgentEvent>>;
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
