//! The embedded SQLite store: one database file in WAL mode with full
//! synchronization, so a committed write survives a crash of the process or
//! the machine.
//!
//! SQLite takes one writer at a time, and each commit waits for the disk.
//! So that concurrent requests do not each wait for their own flush, every
//! write goes through one connection that commits in groups: a write runs
//! in a savepoint of the open transaction, and the transaction commits
//! (one flush) when the first of its writers asks for it, with every write
//! made by then. No write returns before the commit that holds it is on
//! disk; a write that fails is rolled back to its savepoint alone.
//!
//! Each statement sent to sqlx's connection is a round trip to the
//! connection's own thread. The write of a declared intent, the busiest,
//! is therefore sent as one batch of statements (see [`Batch`]): the
//! writer keeps the heads of the receipt chains and the tenants' webhook
//! endpoints it last wrote or read, and two triggers of its connection
//! refuse what it could not check beforehand (an agent that is no longer
//! active, a chain that moved).

use std::collections::{BTreeSet, HashMap};
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

type Db = sqlx::Sqlite;
type DbRow = SqliteRow;
type Tx = WriteTx;
type ThisStore = SqliteStore;
/// One writer at a time: nothing to lock.
const FOR_UPDATE: &str = "";
const SKIP_LOCKED: &str = "";
/// SQLite seeks the counters' key whatever the shape of the usage query,
/// and runs the union of 32 aggregates faster than the join (about 170
/// against 220 µs for an agent with 10,000 intents).
const USAGE_AS_ONE_JOIN: bool = false;
/// SQLite has no `INSERT` or `UPDATE` inside `WITH`.
const DATA_MODIFYING_WITH: bool = false;

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

/// The versioned migrations, oldest first. A released file is never
/// edited: a change is a new file.
const MIGRATIONS: [(i64, &str, &str); 15] = [
    (
        1,
        "lifecycle",
        include_str!("../migrations/0001_lifecycle.sql"),
    ),
    (
        2,
        "governance",
        include_str!("../migrations/0002_governance.sql"),
    ),
    (
        3,
        "settlements",
        include_str!("../migrations/0003_settlements.sql"),
    ),
    (
        4,
        "settlement history",
        include_str!("../migrations/0004_settlement_history.sql"),
    ),
    (
        5,
        "api keys",
        include_str!("../migrations/0005_api_keys.sql"),
    ),
    (
        6,
        "policy actors",
        include_str!("../migrations/0006_policy_actors.sql"),
    ),
    (7, "events", include_str!("../migrations/0007_events.sql")),
    (
        8,
        "receipts",
        include_str!("../migrations/0008_receipts.sql"),
    ),
    (
        9,
        "publishers",
        include_str!("../migrations/0009_publishers.sql"),
    ),
    (
        10,
        "agent keys",
        include_str!("../migrations/0010_agent_keys.sql"),
    ),
    (
        11,
        "deleted plugins",
        include_str!("../migrations/0011_deleted_plugins.sql"),
    ),
    (
        12,
        "cards and secrets",
        include_str!("../migrations/0012_cards_and_secrets.sql"),
    ),
    (
        13,
        "authorizations",
        include_str!("../migrations/0013_authorizations.sql"),
    ),
    (
        14,
        "intent cards",
        include_str!("../migrations/0014_intent_cards.sql"),
    ),
    (
        15,
        "usage versions",
        include_str!("../migrations/0015_usage_versions.sql"),
    ),
];

/// Warrant's store on an SQLite database.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Arc<Mutex<Writer>>,
    /// The keys receipts are signed with.
    signing: Arc<crate::signing::Signing>,
    /// Agents' usage as their last decisions read it.
    kept_usage: Arc<KeptUsage>,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database file at `path` and runs
    /// the migrations it has not seen.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        Self::with_options(options, LogTuning::DEFAULT).await
    }

    /// Opens the database of an `sqlite:` URL and runs its migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        Self::with_options(options, LogTuning::DEFAULT).await
    }

    async fn with_options(options: SqliteConnectOptions, log: LogTuning) -> Result<Self> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("journal_size_limit", LOG_LIMIT_BYTES.to_string());
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A local file does not drop connections; a ping per query
            // would only add a round trip to the connection's thread.
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        crate::migrator(&MIGRATIONS).run(&pool).await?;
        // The writer never checkpoints the log itself (a commit that did
        // would make every write of its group wait for the copy); a task
        // does, beside it, without blocking writes, and asks the writer to
        // restart a log grown past a bound.
        let mut conn = options.connect().await?;
        conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
        conn.execute(WRITER_TRIGGERS).await?;
        let restart_log = Arc::new(AtomicBool::new(false));
        tokio::spawn(checkpoint_every(pool.clone(), log, restart_log.clone()));
        let writer = Writer {
            conn,
            open: false,
            batch: 0,
            abandoned: false,
            failed: BTreeSet::new(),
            writes: 0,
            known: Known::default(),
            data_version: 0,
            restart_log,
            restarts_outlasted: 0,
        };
        Ok(SqliteStore {
            pool,
            writer: Arc::new(Mutex::new(writer)),
            signing: Default::default(),
            kept_usage: Default::default(),
        })
    }

    /// Starts a write: a savepoint in the writer's open transaction. What
    /// the writer knew of the database is forgotten, since the write may
    /// change it.
    async fn write(&self) -> Result<WriteTx> {
        self.begin_write(true).await
    }

    /// Takes the writer, its transaction open; with `savepoint`, starts
    /// the write's savepoint too (forgetting what the writer knew), else
    /// the caller does. Whatever happens to the caller, the writer is
    /// left as the database is.
    async fn begin_write(&self, savepoint: bool) -> Result<WriteTx> {
        let mut writer = self.writer.clone().lock_owned().await;
        let writer = uncancelled(async move {
            writer.begin().await?;
            if savepoint {
                writer.known.forget();
                writer.conn.execute("SAVEPOINT write").await?;
            }
            Ok::<_, StoreError>(writer)
        })
        .await?;
        Ok(WriteTx {
            writer: Some(writer),
            store: self.writer.clone(),
            signing: self.signing.clone(),
            saved: savepoint,
            released: false,
        })
    }

    /// Writes a decided intent and all it brings: see
    /// [`SqliteStore::try_write_intent`]. A decision that suspends the
    /// agent or raises alerts, or whose events go to more endpoints than
    /// [`intent_rows`] batches, is written in steps.
    async fn write_intent(
        &self,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: RememberIntent<'_>,
    ) -> Result<String> {
        let mut tried = self.try_write_intent(intent, event, actions, idem).await;
        if let Err(Refused::ChainMoved) = tried {
            // The chain's head the writer knew is forgotten: read it again.
            tried = self.try_write_intent(intent, event, actions, idem).await;
        }
        match tried {
            Err(Refused::InSteps) => {
                let tx = claim_intent_write(self.write().await?, intent, idem).await?;
                write_in_steps(tx, intent, event, actions, idem).await
            }
            done => done.map_err(Refused::into_error),
        }
    }

    /// [`SqliteStore::write_intent`]: SQLite's turn is this server's own,
    /// held until the write is done.
    async fn write_intent_in_turn(
        &self,
        turn: crate::AgentTurn,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: RememberIntent<'_>,
    ) -> Result<String> {
        let written = self.write_intent(intent, event, actions, idem).await;
        drop(turn);
        written
    }

    /// Writes a decided intent, its idempotency key, counters, history
    /// entry, events, deliveries and receipt as one batch of statements in
    /// its own savepoint: one round trip to the writer's connection when
    /// the writer knows the tenant's chain head and endpoints, a read for
    /// each it does not. [`Refused::InSteps`] for a write that goes in
    /// steps instead.
    async fn try_write_intent(
        &self,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: RememberIntent<'_>,
    ) -> std::result::Result<String, Refused> {
        if actions.suspend.is_some() || !actions.alerts.is_empty() {
            return Err(Refused::InSteps);
        }
        let tenant_id = &intent.tenant_id;
        let input = decision_input(actions)?;
        let mut tx = self.begin_write(false).await?;
        let endpoints = match tx.known().endpoints.get(tenant_id).cloned() {
            Some(endpoints) => endpoints,
            None => {
                let read = Arc::new(enabled_endpoints(&mut tx, tenant_id).await?);
                tx.known().keep_endpoints(tenant_id, read.clone());
                read
            }
        };
        let mut batch = Batch::default();
        let head = match tx.known().heads.get(tenant_id).cloned() {
            Some(head) => {
                batch = batch.statement("SAVEPOINT write");
                head
            }
            None => {
                tx.savepoint().await?;
                locked_head(&mut tx, tenant_id, event.at_ms).await?
            }
        };
        let key = signing_key(&mut tx, &head.kid).await?;
        let receipt = receipt_of(event, intent, false, input.as_ref())?;
        let chained = chain(receipt, &head, &key, &event.id, event.at_ms);

        if let Some(idem) = idem(None) {
            batch = bind_remember(batch.statement(REMEMBER), &idem);
        }
        batch = intent_rows(batch, intent, event, actions, &endpoints).ok_or(Refused::InSteps)?;
        batch = bind_receipt(batch.statement(INSERT_RECEIPT), &chained);
        batch = bind_chain_head(batch.statement(MOVE_CHAIN_HEAD), &chained);
        if let Some(idem) = idem(Some(&chained.jws)) {
            batch = bind_remember_again(batch.statement(REMEMBER_AGAIN), &idem);
        }
        batch = batch.statement("RELEASE write");

        let moved = chained.head_after(head.kid);
        let (tenant_id, agent_id) = (tenant_id.clone(), intent.agent_id.clone());
        let (declared, kept_usage) = (DeclaredUsage::of(intent), self.kept_usage.clone());
        // Sent, the batch runs to its end and the write commits or rolls
        // back even if the request is given up meanwhile.
        uncancelled(async move {
            // From here, a failure leaves the savepoint open, to be rolled
            // back.
            tx.saved = true;
            let rows = match batch.run(&mut tx).await {
                Ok(rows) => rows,
                Err(e) => {
                    return Err(match Refused::of(e) {
                        Refused::ChainMoved => {
                            tx.known().forget();
                            Refused::ChainMoved
                        }
                        Refused::AgentNotActive => {
                            let status = agent_status(&mut tx, &tenant_id, &agent_id)
                                .await?
                                .unwrap_or(AgentStatus::Archived);
                            StoreError::AgentNotActive(status).into()
                        }
                        other => other,
                    });
                }
            };
            tx.released = true;
            tx.known().keep_head(&tenant_id, moved);
            tx.commit().await?;
            declared.committed(&kept_usage, &rows);
            Ok(chained.jws)
        })
        .await
    }
}

/// Runs `work` in a task of its own, so that it ends even if the caller
/// is given up: the writer's state changes (a transaction begun or
/// committed, a write rolled back) with the database's, never half. A
/// panic in it goes on in the caller; a task stopped with the runtime is
/// an unfinished write.
async fn uncancelled<T: Send + 'static, E: From<StoreError> + Send + 'static>(
    work: impl Future<Output = std::result::Result<T, E>> + Send + 'static,
) -> std::result::Result<T, E> {
    match tokio::spawn(work).await {
        Ok(done) => done,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => Err(StoreError::Unfinished(format!("its task was stopped: {e}")).into()),
        },
    }
}

/// Triggers of the writer's connection (and of no other) that refuse
/// what a batched write could not check before it was sent: an intent of
/// an agent that is not active, and a receipt that does not follow its
/// chain's head (which the writer may have known wrong). The writes in
/// steps check both before they write, and meet neither.
const WRITER_TRIGGERS: &str = "
    CREATE TEMP TRIGGER intents_of_active_agents BEFORE INSERT ON main.intents
    WHEN (SELECT status FROM main.agents WHERE id = NEW.agent_id AND tenant_id = NEW.tenant_id)
         IS NOT 'active'
    BEGIN SELECT RAISE(ABORT, 'warrant: the agent is not active'); END;
    CREATE TEMP TRIGGER receipts_follow_their_head BEFORE INSERT ON main.receipts
    WHEN NEW.sequence IS NOT
         (SELECT sequence + 1 FROM main.receipt_chains WHERE tenant_id = NEW.tenant_id)
    BEGIN SELECT RAISE(ABORT, 'warrant: the receipt chain moved'); END;
";

/// Why a batched write of an intent did not land.
#[derive(Debug)]
enum Refused {
    /// The chain's head moved since the writer last saw it.
    ChainMoved,
    /// The agent is not active (which status, a read tells).
    AgentNotActive,
    /// The write is one for steps: a decision that suspends the agent or
    /// raises alerts, or events that go to more endpoints than one batch
    /// holds.
    InSteps,
    Error(StoreError),
}

impl Refused {
    /// What a failed batch's error means: a trigger's refusal, a claimed
    /// idempotency key or client intent id, or a database error.
    fn of(error: StoreError) -> Self {
        let StoreError::Database(sqlx::Error::Database(db)) = &error else {
            return Refused::Error(error);
        };
        let message = db.message();
        if message == "warrant: the receipt chain moved" {
            Refused::ChainMoved
        } else if message == "warrant: the agent is not active" {
            Refused::AgentNotActive
        } else if db.is_unique_violation() && message.contains(" idempotency.") {
            Refused::Error(StoreError::IdempotencyKeyTaken)
        } else if db.is_unique_violation() && message.contains(" intents.") {
            Refused::Error(StoreError::Duplicate)
        } else {
            Refused::Error(error)
        }
    }

    fn into_error(self) -> StoreError {
        match self {
            Refused::Error(e) => e,
            Refused::ChainMoved => {
                StoreError::Unfinished("the receipt chain moved under it twice".to_owned())
            }
            Refused::AgentNotActive => StoreError::AgentNotActive(AgentStatus::Archived),
            Refused::InSteps => {
                StoreError::Unfinished("a write in steps tried as a batch".to_owned())
            }
        }
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Error(e)
    }
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Self {
        Refused::Error(e.into())
    }
}

/// What the writer knows of the database from its own writes and reads,
/// for batched writes: the heads of the tenants' receipt chains, and their
/// enabled webhook endpoints. A write in steps, which may change either,
/// forgets it all, and so does a group that fails or a commit by another
/// connection; a head known wrong all the same is refused by the writer's
/// trigger. Bounded: past [`Known::TENANTS`] tenants it starts again.
#[derive(Debug, Default)]
struct Known {
    heads: HashMap<String, ChainHead>,
    endpoints: HashMap<String, Arc<Vec<Receiver>>>,
}

impl Known {
    const TENANTS: usize = 4_096;

    fn forget(&mut self) {
        self.heads.clear();
        self.endpoints.clear();
    }

    fn keep_head(&mut self, tenant_id: &str, head: ChainHead) {
        if self.heads.len() >= Self::TENANTS && !self.heads.contains_key(tenant_id) {
            self.heads.clear();
        }
        self.heads.insert(tenant_id.to_owned(), head);
    }

    fn keep_endpoints(&mut self, tenant_id: &str, endpoints: Arc<Vec<Receiver>>) {
        if self.endpoints.len() >= Self::TENANTS {
            self.endpoints.clear();
        }
        self.endpoints.insert(tenant_id.to_owned(), endpoints);
    }
}

/// Copies the write-ahead log into the database every `period`, as far as
/// readers allow, without blocking the writer; ends when the pool closes.
///
/// Under steady load some reader is nearly always reading when a write
/// begins, so the log would never start again from its beginning: it grew
/// to gigabytes in a minute of the load benchmark, each commit writing to
/// new blocks of the file (which the file system zeroes and allocates, and
/// whose flush must also journal the file's new size). So once the log
/// holds more than [`LogTuning::restart_frames`], the checkpoint asks the writer to
/// restart it (`restart_log`): before its next transaction the writer
/// copies what is left with the log restarted ([`Writer::begin`]), which
/// waits for the few frames written since and for the readers then
/// reading, holding writes back only that long. The next commit writes
/// from the log's start again, over blocks the file already has, and
/// `journal_size_limit` cuts a log that grew past [`LOG_LIMIT_BYTES`] back
/// to it.
async fn checkpoint_every(pool: SqlitePool, log: LogTuning, restart_log: Arc<AtomicBool>) {
    let mut ticks = tokio::time::interval(log.checkpoint_every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if pool.is_closed() {
            return;
        }
        // `(busy, frames in the log, frames copied)`.
        let copied: std::result::Result<(i64, i64, i64), _> =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&pool)
                .await;
        match copied {
            Ok((_, frames, _)) if frames > log.restart_frames => {
                restart_log.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(e) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "the write-ahead log could not be checkpointed");
            }
        }
    }
}

/// How long a connection waits for a lock another holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the writer's restart of the log first waits for the reads in
/// progress: a longer read (a large listing) leaves the restart to the
/// next checkpoint, instead of holding every write back. Each restart that
/// could not wait long enough doubles the next one's wait, up to
/// [`RESTART_WAIT_MAX`]: reads that always last longer than the wait
/// (someone listing intents without a pause) would otherwise keep the log
/// from ever starting again, and it would grow without end.
const RESTART_WAIT: Duration = Duration::from_millis(10);

/// The longest the restart of the log waits for the reads in progress.
const RESTART_WAIT_MAX: Duration = Duration::from_secs(1);

/// How often the log is checkpointed, and how long it may grow before it
/// is restarted (see [`checkpoint_every`]).
#[derive(Clone, Copy, Debug)]
struct LogTuning {
    /// The period of the checkpoint beside the writer.
    checkpoint_every: Duration,
    /// The log's frames past which it is restarted.
    restart_frames: i64,
}

impl LogTuning {
    /// Every half second; restarted past 4,096 frames (some 16 MiB of
    /// 4 KiB pages). At four times that, the p99 at half load was no better
    /// (`BENCHMARKS.md`).
    const DEFAULT: LogTuning = LogTuning {
        checkpoint_every: Duration::from_millis(500),
        restart_frames: 4096,
    };
}

/// The size a log is cut back to when it restarts: above what it grows to
/// between two checkpoints at the benchmark's rates, so that it is not cut
/// and grown again.
const LOG_LIMIT_BYTES: i64 = 64 << 20;

/// The connection all writes go through, and where its group stands.
#[derive(Debug)]
struct Writer {
    conn: SqliteConnection,
    /// A transaction is open.
    open: bool,
    /// The group the open transaction (or the next one) commits.
    batch: u64,
    /// A write ended without committing: its savepoint is still open.
    abandoned: bool,
    /// Recent groups whose commit failed.
    failed: BTreeSet<u64>,
    /// Writes in the open group.
    writes: u64,
    /// What batched writes rely on.
    known: Known,
    /// The connection's `PRAGMA data_version` when it last began a
    /// transaction: it changes when another connection commits.
    data_version: i64,
    /// Set when the log should be restarted before the next transaction
    /// (see [`checkpoint_every`]).
    restart_log: Arc<AtomicBool>,
    /// Restarts of the log in a row that the reads in progress outlasted.
    restarts_outlasted: u32,
}

impl Writer {
    /// Settles an abandoned write and opens a transaction if none is,
    /// restarting the log first if the checkpoint asked (see
    /// [`checkpoint_every`]).
    async fn begin(&mut self) -> Result<()> {
        self.settle().await;
        if !self.open {
            if self
                .restart_log
                .swap(false, std::sync::atomic::Ordering::Relaxed)
            {
                self.restart_log().await?;
            }
            // Another connection (another process on the same file) can
            // only have written between two transactions of the writer:
            // its data version, read as the write lock is taken, says so.
            let version: i64 = sqlx::query_scalar("BEGIN IMMEDIATE; PRAGMA data_version")
                .fetch_one(&mut self.conn)
                .await?;
            if version != self.data_version {
                self.known.forget();
                self.data_version = version;
            }
            self.open = true;
        }
        self.writes += 1;
        Ok(())
    }

    /// Copies what is left of the log and starts it again from its
    /// beginning, waiting for the reads in progress at most
    /// [`RESTART_WAIT`], twice that for each restart before it in a row
    /// that they outlasted (up to [`RESTART_WAIT_MAX`]). A restart that
    /// does not happen is left to the next checkpoint. Fails only if the
    /// connection's own lock wait cannot be set back.
    async fn restart_log(&mut self) -> Result<()> {
        let wait = |limit: Duration| format!("PRAGMA busy_timeout = {}", limit.as_millis());
        let patience = RESTART_WAIT
            .saturating_mul(1 << self.restarts_outlasted.min(16))
            .min(RESTART_WAIT_MAX);
        let restarted = async {
            self.conn
                .execute(sqlx::AssertSqlSafe(wait(patience)))
                .await?;
            // `(busy, frames in the log, frames copied)`: busy when the
            // reads outlasted the wait.
            sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(RESTART)")
                .fetch_one(&mut self.conn)
                .await
        }
        .await;
        let result = match restarted {
            Ok((0, _, _)) => {
                self.restarts_outlasted = 0;
                "restarted"
            }
            Ok(_) => {
                self.restarts_outlasted = self.restarts_outlasted.saturating_add(1);
                "outlasted"
            }
            Err(e) => {
                self.restarts_outlasted = self.restarts_outlasted.saturating_add(1);
                tracing::warn!(error = %e, "the write-ahead log could not be restarted");
                "failed"
            }
        };
        metrics::counter!("warrant_store_log_restarts_total", "result" => result).increment(1);
        self.conn
            .execute(sqlx::AssertSqlSafe(wait(BUSY_TIMEOUT)))
            .await?;
        Ok(())
    }

    /// Rolls back an abandoned write; if that fails, the whole group.
    async fn settle(&mut self) {
        if !self.abandoned {
            return;
        }
        self.abandoned = false;
        let rolled_back = self.conn.execute("ROLLBACK TO write").await.is_ok()
            && self.conn.execute("RELEASE write").await.is_ok();
        if !rolled_back {
            self.fail_group().await;
        }
    }

    /// Gives up the open group: nothing of it is kept.
    async fn fail_group(&mut self) {
        let _ = self.conn.execute("ROLLBACK").await;
        self.known.forget();
        self.open = false;
        self.writes = 0;
        self.failed.insert(self.batch);
        self.batch += 1;
        while self.failed.len() > 64 {
            self.failed.pop_first();
        }
    }

    /// Commits the open group if it is `batch`; then says whether `batch`
    /// is on disk.
    async fn flush(&mut self, batch: u64) -> Result<()> {
        self.settle().await;
        if self.open && self.batch == batch {
            let started = std::time::Instant::now();
            match self.conn.execute("COMMIT").await {
                Ok(_) => {
                    metrics::histogram!("warrant_store_commit_seconds")
                        .record(started.elapsed().as_secs_f64());
                    metrics::histogram!("warrant_store_commit_group_size")
                        .record(self.writes as f64);
                    self.open = false;
                    self.writes = 0;
                    self.batch += 1;
                }
                Err(e) => {
                    self.fail_group().await;
                    return Err(e.into());
                }
            }
        }
        if self.failed.contains(&batch) {
            return Err(StoreError::GroupCommitFailed);
        }
        Ok(())
    }
}

/// One write in the writer's open transaction; dropped without
/// [`WriteTx::commit`], it is rolled back.
#[derive(Debug)]
struct WriteTx {
    writer: Option<OwnedMutexGuard<Writer>>,
    store: Arc<Mutex<Writer>>,
    /// The store's signing keys, for the receipts the write adds.
    signing: Arc<crate::signing::Signing>,
    /// The write's savepoint is (or may be) open: a write dropped after
    /// it is rolled back to it.
    saved: bool,
    /// The write's savepoint was released by its own batch.
    released: bool,
}

impl WriteTx {
    /// Ends the write and waits until the group that holds it is on disk.
    async fn commit(mut self) -> Result<()> {
        let mut writer = self.writer.take().expect("a write commits once");
        let (released, store) = (self.released, self.store.clone());
        uncancelled(async move {
            if !released && let Err(e) = writer.conn.execute("RELEASE write").await {
                writer.abandoned = true;
                return Err(e.into());
            }
            let batch = writer.batch;
            // Let the writes queued behind this one join its group.
            drop(writer);
            store.lock().await.flush(batch).await
        })
        .await
    }

    fn known(&mut self) -> &mut Known {
        &mut self.writer.as_mut().expect("an open write").known
    }

    /// Starts the write's savepoint. Marked open first: a write given up
    /// on the way is rolled back to it, or with its group if it was never
    /// made.
    async fn savepoint(&mut self) -> Result<()> {
        self.saved = true;
        self.execute("SAVEPOINT write").await?;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(writer) = &mut self.writer
            && self.saved
        {
            writer.abandoned = true;
        }
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.writer.as_ref().expect("an open write").conn
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.writer.as_mut().expect("an open write").conn
    }
}

impl SqliteStore {
    /// One server per SQLite database: its own turns are enough.
    async fn take_agent_turn(&self, _tenant_id: &str, _agent_id: &str) -> Result<crate::AgentTurn> {
        Ok(crate::AgentTurn(None))
    }

    /// Commits the open group, if any.
    async fn sync_writes(&self) -> Result<()> {
        let mut writer = self.writer.clone().lock_owned().await;
        uncancelled(async move {
            let batch = writer.batch;
            writer.flush(batch).await
        })
        .await
    }

    /// Closes every connection, waiting for those in use.
    async fn close_connections(&self) {
        let mut writer = self.writer.lock().await;
        // Every committed write has been flushed by its own writer; what is
        // left open belongs to no one.
        if writer.open {
            let _ = writer.conn.execute("ROLLBACK").await;
            writer.open = false;
        }
        // Leave the database in one file: the log copied in and emptied
        // (as far as other processes' readers allow).
        let _ = writer.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await;
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under writes with reads always in progress, the log stops growing:
    /// the writer restarts it from its beginning once it passes its bound.
    /// (Without the restart, SQLite never starts the log again while some
    /// read is using it, and the log holds everything written.) The bound
    /// is made small here, 256 frames, and the checkpoint frequent, so
    /// that some 36 MB of writes show it, with reads that each outlast the
    /// restart's first wait.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_stops_growing_under_writes_with_reads_always_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("warrant.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let tuning = LogTuning {
            checkpoint_every: Duration::from_millis(50),
            restart_frames: 256,
        };
        let store = SqliteStore::with_options(options, tuning).await.unwrap();
        let mut tx = store.write().await.unwrap();
        tx.execute("CREATE TABLE filler (bytes BLOB)")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // Four readers, each holding its snapshot a few milliseconds, one
        // after another without a pause: some read is nearly always in
        // progress, as under load.
        let reading = Arc::new(AtomicBool::new(true));
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (pool, reading) = (store.pool.clone(), reading.clone());
                tokio::spawn(async move {
                    while reading.load(std::sync::atomic::Ordering::Relaxed) {
                        let mut read = pool.begin().await.unwrap();
                        let _: i64 = sqlx::query_scalar("SELECT count(*) FROM filler")
                            .fetch_one(&mut *read)
                            .await
                            .unwrap();
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        read.commit().await.unwrap();
                    }
                })
            })
            .collect();

        const WRITES: usize = 900;
        const BYTES: usize = 40_000;
        for _ in 0..WRITES {
            let mut tx = store.write().await.unwrap();
            sqlx::query("INSERT INTO filler (bytes) VALUES (zeroblob($1))")
                .bind(BYTES as i64)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        reading.store(false, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            reader.await.unwrap();
        }

        let log = std::fs::metadata(dir.path().join("warrant.db-wal"))
            .unwrap()
            .len();
        let written = (WRITES * BYTES) as u64;
        assert!(
            log < written / 3,
            "the log holds {log} bytes after {written} bytes of rows written"
        );
    }

    #[test]
    fn a_statement_renumbered_follows_the_values_bound_before_it() {
        assert_eq!(
            renumbered("UPDATE t SET a = $1, b = $12 WHERE c = $2", 6),
            ("UPDATE t SET a = $7, b = $18 WHERE c = $8".to_owned(), 18)
        );
        // A `$` that is no parameter stays, and a statement with none
        // takes nothing more.
        assert_eq!(
            renumbered("SELECT '$' || x FROM t", 3),
            ("SELECT '$' || x FROM t".to_owned(), 3)
        );
    }

    #[test]
    fn an_insert_of_several_rows_numbers_each_rows_values_after_the_last() {
        assert_eq!(
            with_rows("INSERT INTO t (a, b) VALUES ($1, $2)", 3),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6)"
        );
        assert_eq!(
            with_rows("INSERT INTO t (a) VALUES ($1)", 1),
            "INSERT INTO t (a) VALUES ($1)"
        );
    }
}
