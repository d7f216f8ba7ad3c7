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

use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

type DbRow = SqliteRow;
type Tx = WriteTx;
type ThisStore = SqliteStore;
/// One writer at a time: nothing to lock.
const FOR_UPDATE: &str = "";
const SKIP_LOCKED: &str = "";

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
const MIGRATIONS: [(i64, &str, &str); 14] = [
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
];

/// Warrant's store on an SQLite database.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Arc<Mutex<Writer>>,
    /// The keys receipts are signed with.
    signing: Arc<crate::signing::Signing>,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database file at `path` and runs
    /// the migrations it has not seen.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        Self::with_options(options).await
    }

    /// Opens the database of an `sqlite:` URL and runs its migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        Self::with_options(options).await
    }

    async fn with_options(options: SqliteConnectOptions) -> Result<Self> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
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
        // does, beside it, without blocking writes.
        let mut conn = options.connect().await?;
        conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
        tokio::spawn(checkpoint_every(pool.clone(), Duration::from_millis(500)));
        let writer = Writer {
            conn,
            open: false,
            batch: 0,
            abandoned: false,
            failed: BTreeSet::new(),
            writes: 0,
        };
        Ok(SqliteStore {
            pool,
            writer: Arc::new(Mutex::new(writer)),
            signing: Default::default(),
        })
    }

    /// Starts a write: a savepoint in the writer's open transaction.
    async fn write(&self) -> Result<WriteTx> {
        let mut writer = self.writer.clone().lock_owned().await;
        writer.settle().await;
        if !writer.open {
            writer.conn.execute("BEGIN IMMEDIATE").await?;
            writer.open = true;
        }
        writer.conn.execute("SAVEPOINT write").await?;
        writer.writes += 1;
        Ok(WriteTx {
            writer: Some(writer),
            store: self.writer.clone(),
            signing: self.signing.clone(),
        })
    }
}

/// Copies the write-ahead log into the database every `period`, as far as
/// readers allow, without blocking the writer; ends when the pool closes.
async fn checkpoint_every(pool: SqlitePool, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "the write-ahead log could not be checkpointed");
        }
    }
}

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
}

impl Writer {
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
}

impl WriteTx {
    /// Ends the write and waits until the group that holds it is on disk.
    async fn commit(mut self) -> Result<()> {
        let mut writer = self.writer.take().expect("a write commits once");
        if let Err(e) = writer.conn.execute("RELEASE write").await {
            writer.abandoned = true;
            return Err(e.into());
        }
        let batch = writer.batch;
        // Let the writes queued behind this one join its group.
        drop(writer);
        self.store.lock().await.flush(batch).await
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(writer) = &mut self.writer {
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
    async fn take_agent_turn(&self, _agent_id: &str) -> Result<crate::AgentTurn> {
        Ok(crate::AgentTurn(None))
    }

    /// Commits the open group, if any.
    async fn sync_writes(&self) -> Result<()> {
        let mut writer = self.writer.lock().await;
        let batch = writer.batch;
        writer.flush(batch).await
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
