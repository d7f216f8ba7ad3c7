//! The PostgreSQL store, for one server or several on one database.
//!
//! Writes run side by side in `READ COMMITTED` transactions. What SQLite's
//! single writer gives for free is made explicit with row locks: a write
//! that moves an intent, its counters or its agent first locks the agent's
//! row, so writes of one agent queue (and never deadlock) while those of
//! different agents do not wait for each other; an agent's creation locks
//! its tenant's row to count the tenant's agents; the sweeper claims
//! agents with `SKIP LOCKED`, so that of several servers each expires an
//! intent exactly once. A commit returns once PostgreSQL has flushed it
//! (`synchronous_commit`, on by default), and concurrent commits share
//! flushes of the write-ahead log.
//!
//! A tenant's receipts form one chain, so its writes take turns on the
//! chain's row. A declared intent, the busiest write, is made in the
//! transaction of its agent's turn in four round trips after the turn's
//! two ([`PostgresStore::write_intent_in_turn`]) and signs its receipt
//! after the head this server's last declaration left, before it has the
//! row ([`Chains`]).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Transaction;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow, Postgres};

type Db = Postgres;
type DbRow = PgRow;
type Tx = PgTx;

/// One write transaction; dropped without [`PgTx::commit`], it is rolled
/// back. Its commit (the flush of PostgreSQL's log) is timed for
/// `/metrics`.
#[derive(Debug)]
struct PgTx {
    tx: Transaction<'static, Postgres>,
    /// The store's signing keys, for the receipts the write adds.
    signing: Arc<crate::signing::Signing>,
}

impl PgTx {
    async fn commit(self) -> Result<()> {
        let started = std::time::Instant::now();
        self.tx.commit().await?;
        metrics::histogram!("warrant_store_commit_seconds").record(started.elapsed().as_secs_f64());
        Ok(())
    }
}

impl std::ops::Deref for PgTx {
    type Target = sqlx::PgConnection;

    fn deref(&self) -> &sqlx::PgConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for PgTx {
    fn deref_mut(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }
}
type ThisStore = PostgresStore;
const FOR_UPDATE: &str = " FOR UPDATE";
const SKIP_LOCKED: &str = " SKIP LOCKED";
/// The usage query as one join, one key seek per range and never run in
/// parallel (`sql/usage.rs`).
const USAGE_AS_ONE_JOIN: bool = true;
/// Statements that write through `WITH` clauses: several writes in one
/// round trip.
const DATA_MODIFYING_WITH: bool = true;

include!("sql/shared.rs");
include!("sql/idempotency.rs");
include!("sql/tenants.rs");
include!("sql/keys.rs");
include!("sql/plugins.rs");
include!("sql/policies.rs");
include!("sql/agents.rs");
include!("sql/intents.rs");
include!("sql/usage.rs");
include!("sql/events.rs");
include!("sql/receipts.rs");
include!("sql/cards.rs");
include!("sql/payments.rs");

/// PostgreSQL's migrations, oldest first. A released file is never edited:
/// a change is a new file.
const MIGRATIONS: [(i64, &str, &str); 14] = [
    (
        1,
        "schema",
        include_str!("../migrations/postgres/0001_schema.sql"),
    ),
    (
        2,
        "settlements",
        include_str!("../migrations/postgres/0002_settlements.sql"),
    ),
    (
        3,
        "settlement history",
        include_str!("../migrations/postgres/0003_settlement_history.sql"),
    ),
    (
        4,
        "api keys",
        include_str!("../migrations/postgres/0004_api_keys.sql"),
    ),
    (
        5,
        "policy actors",
        include_str!("../migrations/postgres/0005_policy_actors.sql"),
    ),
    (
        6,
        "events",
        include_str!("../migrations/postgres/0006_events.sql"),
    ),
    (
        7,
        "receipts",
        include_str!("../migrations/postgres/0007_receipts.sql"),
    ),
    (
        8,
        "publishers",
        include_str!("../migrations/postgres/0008_publishers.sql"),
    ),
    (
        9,
        "agent keys",
        include_str!("../migrations/postgres/0009_agent_keys.sql"),
    ),
    (
        10,
        "deleted plugins",
        include_str!("../migrations/postgres/0010_deleted_plugins.sql"),
    ),
    (
        11,
        "cards and secrets",
        include_str!("../migrations/postgres/0011_cards_and_secrets.sql"),
    ),
    (
        12,
        "authorizations",
        include_str!("../migrations/postgres/0012_authorizations.sql"),
    ),
    (
        13,
        "intent cards",
        include_str!("../migrations/postgres/0013_intent_cards.sql"),
    ),
    (
        14,
        "usage versions",
        include_str!("../migrations/postgres/0014_usage_versions.sql"),
    ),
];

/// Warrant's store on a PostgreSQL database.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    /// Connections that hold agents' turns, apart from `pool`: a request
    /// holding a turn needs connections of `pool` to finish (its usage
    /// read), so the two drawing from one pool could wait for each other
    /// forever. A declared intent is written on its turn's connection.
    turns: PgPool,
    /// The keys receipts are signed with.
    signing: Arc<crate::signing::Signing>,
    /// The receipt chains' heads as this server's declarations left them.
    chains: Arc<Chains>,
    /// Agents' usage as their last decisions read it.
    kept_usage: Arc<KeptUsage>,
}

impl PostgresStore {
    /// Connects to the database of a `postgres://` URL, creating the
    /// database if the server has none of that name (and the role may), and
    /// runs the migrations it has not seen. Servers started together on one
    /// database run them once.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, 16).await
    }

    /// [`PostgresStore::connect`] with at most `connections` connections.
    pub async fn connect_with(url: &str, connections: u32) -> Result<Self> {
        if !Postgres::database_exists(url).await? {
            // Another server may be creating it at the same moment.
            if let Err(e) = Postgres::create_database(url).await
                && !Postgres::database_exists(url).await?
            {
                return Err(e.into());
            }
        }
        // PostgreSQL's own plan caching: a prepared statement's generic plan
        // is kept after five executions, so the intent path's statements
        // are not planned again on every request (planning each for its
        // values, as the store once did, cost some 1.5 ms per usage query
        // alone). The usage query is written so that any plan of it seeks
        // the counters' key per range (`sql/usage.rs`).
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        crate::migrator(&MIGRATIONS).run(&pool).await?;
        let turns = PgPoolOptions::new()
            .max_connections(connections.max(2))
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        Ok(PostgresStore {
            pool,
            turns,
            signing: Default::default(),
            chains: Default::default(),
            kept_usage: Default::default(),
        })
    }

    /// Vacuums every table, refreshes the planner's statistics and writes
    /// every changed page out (a checkpoint, which needs a superuser). Only
    /// for benchmarks that fill a store in bulk, faster than autovacuum
    /// keeps up with and with gigabytes of log whose checkpoint would
    /// otherwise write while they measure; a database that grows by
    /// requests is kept so by autovacuum and spread checkpoints.
    #[doc(hidden)]
    pub async fn vacuum(&self) -> Result<()> {
        sqlx::raw_sql("VACUUM ANALYZE").execute(&self.pool).await?;
        sqlx::raw_sql("CHECKPOINT").execute(&self.pool).await?;
        Ok(())
    }

    /// Starts a write transaction.
    async fn write(&self) -> Result<Tx> {
        Ok(PgTx {
            tx: self.pool.begin().await?,
            signing: self.signing.clone(),
        })
    }
}

impl PostgresStore {
    /// A transaction holding an advisory lock on the tenant's and agent's
    /// ids; dropping it rolls back, which releases the lock, and a declared
    /// intent's write commits it ([`PostgresStore::write_intent_in_turn`]).
    async fn take_agent_turn(&self, tenant_id: &str, agent_id: &str) -> Result<crate::AgentTurn> {
        let mut tx = self.turns.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))")
            .bind(tenant_id)
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        Ok(crate::AgentTurn(Some(Box::new(tx))))
    }

    /// Writes a decided intent and all it brings in one transaction: see
    /// [`PostgresStore::write_intent_in_turn`], in a transaction of its
    /// own.
    async fn write_intent(
        &self,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: RememberIntent<'_>,
    ) -> Result<String> {
        self.write_intent_in_turn(crate::AgentTurn(None), intent, event, actions, idem)
            .await
    }

    /// Writes a decided intent and all it brings in the agent's turn,
    /// whose transaction (begun, the agent's advisory lock held) it is
    /// made and committed in: the agent's row locked and the tenant's
    /// endpoints read in one statement ([`locked_agent_and_endpoints`]),
    /// then every row but the receipt as one statement ([`intent_rows`]),
    /// then the receipt as [`Chains::append`] keeps it, then the commit.
    /// Four round trips after the turn's two (two more when the chain's
    /// head must be read, one for each side of an idempotency key), where
    /// a write of its own after a turn of its own took nine, and the write
    /// in steps sixteen. A decision that suspends the agent or raises
    /// alerts, or whose events go to more endpoints than [`intent_rows`]
    /// batches, is written in steps, in the same transaction.
    async fn write_intent_in_turn(
        &self,
        turn: crate::AgentTurn,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: RememberIntent<'_>,
    ) -> Result<String> {
        // A turn that is no transaction is held to the end.
        let (mut tx, _held) = match turn
            .0
            .map(|held| held.downcast::<Transaction<'static, Postgres>>())
        {
            Some(Ok(tx)) => {
                let signing = self.signing.clone();
                (PgTx { tx: *tx, signing }, None)
            }
            held => (self.write().await?, held),
        };
        if actions.suspend.is_some() || !actions.alerts.is_empty() {
            let tx = claim_intent_write(tx, intent, idem).await?;
            return write_in_steps(tx, intent, event, actions, idem).await;
        }
        let input = decision_input(actions)?;
        remember(&mut tx, idem(None).as_ref()).await?;
        let (status, endpoints) =
            locked_agent_and_endpoints(&mut tx, &intent.tenant_id, &intent.agent_id).await?;
        refuse_inactive(status)?;
        let Some(rows) = intent_rows(Batch::default(), intent, event, actions, &endpoints) else {
            // More deliveries than one statement holds.
            return write_in_steps(tx, intent, event, actions, idem).await;
        };
        let rows = rows.run(&mut tx).await.map_err(|e| match e {
            // The agent already used its client intent id.
            StoreError::Database(sqlx::Error::Database(db))
                if db.is_unique_violation() && db.table() == Some("intents") =>
            {
                StoreError::Duplicate
            }
            e => e,
        })?;
        let receipt = receipt_of(event, intent, false, input.as_ref())?;
        let receipt = self.chains.append(&mut tx, receipt, event).await?;
        remember_again(&mut tx, idem(Some(&receipt)).as_ref()).await?;
        tx.commit().await?;
        DeclaredUsage::of(intent).committed(&self.kept_usage, &rows);
        Ok(receipt)
    }

    /// Every commit is on disk when it returns: nothing to wait for.
    async fn sync_writes(&self) -> Result<()> {
        Ok(())
    }

    /// Closes every connection, waiting for those in use.
    async fn close_connections(&self) {
        self.turns.close().await;
        self.pool.close().await;
    }
}

/// The agent's status, its row locked for the rest of the write (none if
/// there is no such agent), and its tenant's enabled endpoints, in one
/// statement: [`agent_status`] and [`enabled_endpoints`] at once.
async fn locked_agent_and_endpoints(
    tx: &mut Tx,
    tenant_id: &str,
    agent_id: &str,
) -> Result<(Option<AgentStatus>, Vec<Receiver>)> {
    let rows = sqlx::query(
        "SELECT a.status, e.id, e.events
           FROM agents a
           LEFT JOIN webhook_endpoints e
             ON e.tenant_id = a.tenant_id AND e.disabled_ms IS NULL
          WHERE a.tenant_id = $1 AND a.id = $2
            FOR UPDATE OF a",
    )
    .bind(tenant_id)
    .bind(agent_id)
    .fetch_all(&mut **tx)
    .await?;
    let Some(first) = rows.first() else {
        return Ok((None, Vec::new()));
    };
    let status = parse_enum("agents.status", first.try_get("status")?)?;
    let endpoints = rows
        .iter()
        .filter_map(|row| Receiver::of_row(row).transpose())
        .collect::<Result<_>>()?;
    Ok((Some(status), endpoints))
}

/// The heads of the tenants' receipt chains as this server's declarations
/// left them, each with a lock that one declaration at a time holds from
/// signing its receipt after the head to moving the head, not to its
/// commit.
///
/// The chain's row in the database is what keeps the chain whole: a
/// receipt is kept only by the statement that moves the head from the one
/// it was signed after. So a declaration signs after the head the one
/// before it left, and its statement waits on the row lock until that one
/// commits; while the one before flushes its commit, the next is already
/// signed and queued on the row, instead of asking for the row only then
/// and holding it for three round trips. A head that is not the row's (a
/// write before it rolled back, another server or another kind of write
/// moved the chain, a new key) moves nothing, and the receipt is signed
/// again after the row's head, locked.
#[derive(Debug, Default)]
struct Chains(std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<ChainHead>>>>>);

impl Chains {
    /// Past this many tenants, the heads no declaration is using are
    /// forgotten.
    const TENANTS: usize = 4096;

    fn of(&self, tenant_id: &str) -> Arc<tokio::sync::Mutex<Option<ChainHead>>> {
        let mut heads = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if heads.len() >= Self::TENANTS && !heads.contains_key(tenant_id) {
            heads.retain(|_, head| Arc::strong_count(head) > 1);
        }
        heads.entry(tenant_id.to_owned()).or_default().clone()
    }

    /// Signs `receipt` after the tenant's head and keeps it in `tx`,
    /// moving the head: see [`Chains`]. Gives the receipt's JWS.
    async fn append(&self, tx: &mut Tx, receipt: Receipt, event: &IntentEvent) -> Result<String> {
        let slot = self.of(&receipt.tenant_id);
        let mut known = slot.lock().await;
        if let Some(head) = known.take() {
            let key = signing_key(tx, &head.kid).await?;
            let chained = chain(receipt.clone(), &head, &key, &event.id, event.at_ms);
            let after = bind_chain_head(
                bind_receipt(
                    sqlx::query(sqlx::AssertSqlSafe(KEEP_RECEIPT_AFTER_HEAD.as_str())),
                    &chained,
                ),
                &chained,
            );
            let kept = after
                .bind(&head.kid)
                .bind(head.sequence)
                .bind(&head.last_sha256)
                .execute(&mut **tx)
                .await?;
            if kept.rows_affected() == 1 {
                *known = Some(chained.head_after(head.kid));
                return Ok(chained.jws);
            }
        }
        let (jws, moved) = append_receipt(tx, receipt, &event.id, event.at_ms).await?;
        *known = Some(moved);
        Ok(jws)
    }
}

/// [`INSERT_RECEIPT`] and the chain's head moved to it, in one statement
/// that does either only if the head is still the one the receipt was
/// signed after (its key, sequence and digest): [`bind_receipt`], then
/// [`bind_chain_head`], then that head's key, sequence and digest.
///
/// The statement locks the chain's row whatever its head, waiting for a
/// write that holds it, and compares the head as that write left it: a
/// `WHERE` on the head would be checked against the row as it was when
/// the statement began, before the write it waited for had moved it. A
/// head that is not the one expected is left as it is (the row stays
/// locked for the write to sign again), and no receipt is kept.
static KEEP_RECEIPT_AFTER_HEAD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let (_, receipt_values) = renumbered(INSERT_RECEIPT, 0);
    let (sequence, digest, tenant) = (receipt_values + 1, receipt_values + 2, receipt_values + 3);
    let (kid, after, last) = (receipt_values + 4, receipt_values + 5, receipt_values + 6);
    let expected = format!(
        "kid = ${kid} AND sequence = ${after} AND last_sha256 IS NOT DISTINCT FROM ${last}"
    );
    let kept = INSERT_RECEIPT
        .replacen("VALUES (", "SELECT ", 1)
        .trim_end()
        .trim_end_matches(')')
        .to_owned();
    format!(
        "WITH moved AS (
             UPDATE receipt_chains
                SET sequence = CASE WHEN {expected} THEN ${sequence} ELSE sequence END,
                    last_sha256 = CASE WHEN {expected} THEN ${digest} ELSE last_sha256 END
              WHERE tenant_id = ${tenant}
          RETURNING sequence, last_sha256)
         {kept} FROM moved WHERE moved.sequence = ${sequence} AND moved.last_sha256 = ${digest}"
    )
});
