// The store's statements and row readers, shared by the SQLite and the
// PostgreSQL stores: each includes the files of this folder into a module
// that defines `Db`, `DbRow`, `Tx` (its write transaction), `ThisStore` (with a
// `pool`, a `write()` and the usage it keeps, `kept_usage`), `FOR_UPDATE` and `SKIP_LOCKED` (row locks
// where the database has them; SQLite has one writer at a time and needs
// none), `USAGE_AS_ONE_JOIN` (the usage query's shape) and
// `DATA_MODIFYING_WITH` (whether writes may be joined in `WITH` clauses).
// This file holds what every aggregate uses; the others, one per
// aggregate, its statements and row readers.

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;

use warrant_domain::card::IntentCard;
use warrant_domain::context::{Agent, AgentStatus, Card, Usage, WindowUsage, merchant_key};
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
use warrant_domain::receipt::KeyVault;
use warrant_domain::settlement::Reporter;

use crate::buckets::{MAX_BUCKET_SPEND, bucket_starts, spend_minor, suffix_ranges};
use crate::errors::{Result, StoreError};
use crate::kept_usage::{KeptUsage, Read, WINDOWS};
use crate::records::*;
use crate::{
    AgentRepository, ApiKeyRepository, CardRepository, EventRepository, IdempotencyRepository,
    IntentRepository, PaymentRepository, PluginRepository, PolicyRepository, ReceiptRepository,
    Store, TenantRepository, UsageRepository, WebhookRepository,
};

#[async_trait]
impl Store for ThisStore {
    async fn close(&self) {
        self.close_connections().await
    }

    fn use_key_vault(&self, vault: Arc<dyn KeyVault>) {
        self.signing.use_vault(vault);
    }

    async fn sync(&self) -> Result<()> {
        self.sync_writes().await
    }

    fn connections(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    async fn agent_turn(&self, tenant_id: &str, agent_id: &str) -> Result<crate::AgentTurn> {
        self.take_agent_turn(tenant_id, agent_id).await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("value")).transpose()?)
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Where a statement's values go, in the order of its parameters: a
/// query sent alone or, on SQLite, one statement of a batch. A statement
/// whose text is a constant and whose values are bound by a function
/// generic over `Binds` is written the same way by both.
trait Binds: Sized {
    /// Binds the statement's next parameter.
    fn bind_next<'t, T: sqlx::Encode<'t, Db> + sqlx::Type<Db>>(self, value: T) -> Self;
}

impl Binds for sqlx::query::Query<'_, Db, <Db as sqlx::Database>::Arguments> {
    fn bind_next<'t, T: sqlx::Encode<'t, Db> + sqlx::Type<Db>>(self, value: T) -> Self {
        self.bind(value)
    }
}

/// Statements sent as one query, each written with its own parameters
/// `$1`… and renumbered to follow the values bound before it. SQLite runs
/// them one after another in one call on its connection's thread, stopping
/// at the first that fails; PostgreSQL (`DATA_MODIFYING_WITH`) runs them
/// as the `WITH` clauses of one statement, which holds or fails whole.
/// Either way, one round trip.
#[derive(Default)]
struct Batch {
    sql: String,
    args: <Db as sqlx::Database>::Arguments,
    /// Statements so far.
    statements: usize,
    /// Values bound so far.
    bound: usize,
    /// Values the statements so far take.
    wanted: usize,
    /// The first value that could not be encoded.
    error: Option<String>,
    /// The statement whose `RETURNING` rows the batch gives.
    returning: Option<usize>,
}

impl Batch {
    /// Adds a statement; its values are bound next. On PostgreSQL it must
    /// be an `INSERT`, `UPDATE` or `DELETE`.
    fn statement(mut self, sql: &str) -> Self {
        assert_eq!(
            self.bound, self.wanted,
            "a batched statement is bound all its values"
        );
        let (sql, wanted) = renumbered(sql, self.wanted);
        if DATA_MODIFYING_WITH {
            let joint = if self.statements == 0 { "WITH" } else { "," };
            self.sql
                .push_str(&format!("{joint} s{} AS ({sql})\n", self.statements));
        } else {
            self.sql.push_str(&sql);
            self.sql.push_str(";\n");
        }
        self.statements += 1;
        self.wanted = wanted;
        self
    }

    /// Marks the last statement added, one with a `RETURNING` clause, as
    /// the one whose rows [`Batch::run`] gives; no other statement of the
    /// batch may return rows.
    fn returning(mut self) -> Self {
        self.returning = self.statements.checked_sub(1);
        self
    }

    /// Runs the statements on `conn`; gives the rows of the statement
    /// marked [`Batch::returning`], if any.
    async fn run(mut self, conn: &mut <Db as sqlx::Database>::Connection) -> Result<Vec<DbRow>> {
        assert_eq!(
            self.bound, self.wanted,
            "a batched statement is bound all its values"
        );
        if let Some(error) = self.error {
            return Err(StoreError::Database(sqlx::Error::Encode(error.into())));
        }
        if self.statements == 0 {
            return Ok(Vec::new());
        }
        if DATA_MODIFYING_WITH {
            // Every clause runs to its end whether read or not.
            match self.returning {
                Some(statement) => self.sql.push_str(&format!("SELECT * FROM s{statement}")),
                None => self.sql.push_str("SELECT 1"),
            }
        }
        let query = sqlx::query_with(sqlx::AssertSqlSafe(self.sql), self.args);
        if self.returning.is_none() {
            query.execute(conn).await?;
            return Ok(Vec::new());
        }
        Ok(query.fetch_all(conn).await?)
    }
}

impl Binds for Batch {
    fn bind_next<'t, T: sqlx::Encode<'t, Db> + sqlx::Type<Db>>(mut self, value: T) -> Self {
        if let Err(e) = sqlx::Arguments::add(&mut self.args, value)
            && self.error.is_none()
        {
            self.error = Some(format!("value ${} of a batch: {e}", self.bound + 1));
        }
        self.bound += 1;
        self
    }
}

/// Claims an idempotency key with its answer: [`bind_remember`].
const REMEMBER: &str =
    "INSERT INTO idempotency (scope, key, request_sha256, status, body, created_ms)
     VALUES ($1, $2, $3, $4, $5, $6)";

fn bind_remember<B: Binds>(b: B, idem: &IdempotencyRecord) -> B {
    b.bind_next(&idem.scope)
        .bind_next(&idem.key)
        .bind_next(&idem.request_sha256)
        .bind_next(i64::from(idem.status))
        .bind_next(&idem.body)
        .bind_next(idem.created_ms)
}

/// Remembers a response in the write's own transaction.
async fn remember(tx: &mut Tx, idem: Option<&IdempotencyRecord>) -> Result<()> {
    let Some(idem) = idem else { return Ok(()) };
    bind_remember(sqlx::query(REMEMBER), idem)
        .execute(&mut **tx)
        .await
        .map_err(|e| unique_as(e, StoreError::IdempotencyKeyTaken))?;
    Ok(())
}

/// `sql` with each parameter `$n` renumbered `$(n + offset)`, to follow
/// `offset` values bound before it in one query; and the highest parameter
/// it then takes (`offset` when it takes none).
fn renumbered(sql: &str, offset: usize) -> (String, usize) {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut highest = offset;
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if let Ok(n) = rest[..digits].parse::<usize>() {
            out.push_str(&(n + offset).to_string());
            highest = highest.max(n + offset);
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    (out, highest)
}

/// `insert`, an `INSERT … VALUES (…)` of one row whose parameters are all
/// in that last row, as the same `INSERT` of `rows` rows, each row's
/// parameters following the row's before: one statement, which inserts
/// its rows in their order.
fn with_rows(insert: &str, rows: usize) -> String {
    let at = insert.rfind("VALUES").expect("an INSERT … VALUES") + "VALUES".len();
    let (head, row) = insert.split_at(at);
    let (_, per_row) = renumbered(row, 0);
    let rows: Vec<String> = (0..rows).map(|n| renumbered(row, n * per_row).0).collect();
    format!("{head}{}", rows.join(","))
}

/// Maps a unique-constraint violation to `error`.
fn unique_as(e: sqlx::Error, error: StoreError) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => error,
        _ => StoreError::Database(e),
    }
}

/// An enum as the text serde gives it, e.g. `pending_approval`.
fn enum_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        other => unreachable!("enums serialize as strings, not {other:?}"),
    }
}

fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records serialize to JSON")
}

fn parse_json<T: DeserializeOwned>(column: &'static str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}

fn parse_enum<T: DeserializeOwned>(column: &'static str, text: &str) -> Result<T> {
    parse_json(
        column,
        &serde_json::Value::String(text.to_owned()).to_string(),
    )
}

fn status_of(column: &'static str, text: &str) -> Result<IntentStatus> {
    text.parse().map_err(
        |e: warrant_domain::lifecycle::UnknownStatus| StoreError::Corrupt {
            column,
            detail: e.to_string(),
        },
    )
}

fn limit_plus_one(page: &Page) -> i64 {
    page.limit.saturating_add(1)
}

/// The version a page of versions, newest first, starts below: its
/// cursor, a version number (checked by the caller), or none.
fn version_cursor(page: &Page) -> i64 {
    page.after
        .as_deref()
        .and_then(|after| after.parse().ok())
        .unwrap_or(i64::MAX)
}

fn minor_i64(minor_units: u64) -> Option<i64> {
    i64::try_from(minor_units).ok()
}

fn parse_currency(column: &'static str, code: &str) -> Result<Currency> {
    Currency::from_code(code).map_err(|e| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}
