// The store's statements and row readers, shared by the SQLite and the
// PostgreSQL stores: each includes this file into a module that defines
// `DbRow`, `Tx` (its write transaction), `ThisStore` (with a
// `pool` and a `write()`), `FOR_UPDATE` and `SKIP_LOCKED` (row locks
// where the database has them; SQLite has one writer at a time and needs
// none).

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;

use warrant_domain::context::{Agent, AgentStatus, Usage, WindowUsage};
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};

use crate::Store;
use crate::buckets::{MAX_BUCKET_SPEND, bucket_starts, spend_minor, suffix_ranges};
use crate::errors::{Result, StoreError};
use warrant_domain::settlement::Reporter;
use crate::records::*;

impl ThisStore {
    /// Records many decided intents in one transaction, counted in their
    /// agent's usage exactly as [`Store::insert_intent`] counts them. Only
    /// for filling a store in benchmarks: it records no events and skips
    /// every check.
    #[doc(hidden)]
    pub async fn bulk_insert_intents(&self, intents: &[IntentRecord]) -> Result<()> {
        let mut tx = self.write().await?;
        for intent in intents {
            insert_counted(&mut tx, intent).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The usage query: for each window (in [`Usage`]'s order, the merchant's
/// last) and each bucket level, the count of intents and their spend in
/// one currency, and the same of those with a flagged settlement. `$1` is the agent, `$2` the currency, `$3` the merchant
/// scope (NULL when the intent has none); then a `[from, to)` pair of
/// bucket starts per window and level.
static USAGE_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut parts = Vec::new();
    for window in 0..8 {
        let scope = if window == 7 { "$3" } else { "''" };
        for level in 0..4 {
            let from = 4 + (window * 4 + level) * 2;
            let to = from + 1;
            parts.push(format!(
                "SELECT CAST({window} AS BIGINT) AS w, CAST(COALESCE(SUM(count), 0) AS BIGINT) AS c,
                        CAST(COALESCE(SUM(CASE WHEN currency = $2 THEN spend ELSE 0 END), 0)
                             AS BIGINT) AS s,
                        CAST(COALESCE(SUM(flagged_count), 0) AS BIGINT) AS fc,
                        CAST(COALESCE(SUM(CASE WHEN currency = $2 THEN flagged_spend ELSE 0 END), 0)
                             AS BIGINT) AS fs
                 FROM usage_buckets
                 WHERE agent_id = $1 AND scope = {scope} AND level = {level}
                   AND start_s >= ${from} AND start_s < ${to}"
            ));
        }
    }
    parts.join("\nUNION ALL\n")
});

/// Inserts a decided intent's row and counts it in its agent's usage.
/// [`StoreError::Duplicate`] when the agent already used its client
/// intent id.
async fn insert_counted(tx: &mut Tx, intent: &IntentRecord) -> Result<()> {
    let declared = &intent.intent;
    let currency = declared
        .amount
        .map(|amount| amount.currency)
        .unwrap_or(Currency::EUR);
    let amount = declared.amount.map(|a| a.minor_units);
    let spend = spend_minor(intent.status, amount, None, Reporter::Agent);
    let merchant_key = declared.merchant.as_ref().map(|m| m.to_lowercase());
    sqlx::query(
        "INSERT INTO intents (id, tenant_id, agent_id, status, intent, decision, policy_id,
                              policy_version, currency, amount_minor, merchant_key,
                              client_intent_id, status_reason, settlement, created_ms,
                              updated_ms, expires_ms, spend_minor, recurring)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19)",
    )
    .bind(&intent.id)
    .bind(&intent.tenant_id)
    .bind(&intent.agent_id)
    .bind(intent.status.as_str())
    .bind(json_text(declared))
    .bind(&intent.decision)
    .bind(&intent.policy_id)
    .bind(intent.policy_version)
    .bind(currency.code())
    .bind(amount.and_then(minor_i64))
    .bind(&merchant_key)
    .bind(&declared.client_intent_id)
    .bind(&intent.status_reason)
    .bind(&intent.settlement)
    .bind(intent.created_ms)
    .bind(intent.updated_ms)
    .bind(intent.expires_ms)
    .bind(spend)
    .bind(i64::from(declared.recurring.is_some()))
    .execute(&mut **tx)
    .await
    .map_err(|e| unique_as(e, StoreError::Duplicate))?;
    bump_usage(
        tx,
        &intent.agent_id,
        merchant_key.as_deref(),
        currency.code(),
        intent.created_ms,
        Counts {
            count: 1,
            spend,
            ..Counts::default()
        },
    )
    .await
}

/// How much an intent's counters move: intents, spend (more or less), and
/// the same of intents with a flagged settlement.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    count: i64,
    spend: i64,
    flagged_count: i64,
    flagged_spend: i64,
}

/// The statement that moves an agent's buckets, one row per level for
/// all of the agent's intents and, with `merchant`, one per level for the
/// merchant's: `$1` agent, `$2` currency, `$3` count, `$4` spend (more or
/// less), `$5` the spends' ceiling, `$6` the spend of a new bucket, `$7` to
/// `$10` the bucket starts per level, `$11` flagged count, `$12` flagged
/// spend (more or less), `$13` the flagged spend of a new bucket, `$14`
/// the merchant scope.
fn bump_sql(merchant: bool) -> &'static str {
    static SQL: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
        [false, true].map(|merchant| {
            let scopes: &[&str] = if merchant { &["''", "$14"] } else { &["''"] };
            let rows: Vec<String> = scopes
                .iter()
                .flat_map(|scope| {
                    (0..4).map(move |level| {
                        format!(
                            "($1, {scope}, {level}, ${}, $2, $3, $6, $11, $13)",
                            7 + level
                        )
                    })
                })
                .collect();
            let clamped = |column: &str, delta: &str| {
                format!(
                    "CASE WHEN usage_buckets.{column} + {delta} < 0 THEN 0
                          WHEN usage_buckets.{column} + {delta} > $5 THEN $5
                          ELSE usage_buckets.{column} + {delta} END"
                )
            };
            format!(
                "INSERT INTO usage_buckets (agent_id, scope, level, start_s, currency, count, spend,
                                            flagged_count, flagged_spend)
                 VALUES {}
                 ON CONFLICT (agent_id, scope, level, start_s, currency) DO UPDATE SET
                     count = usage_buckets.count + excluded.count,
                     spend = {},
                     flagged_count = usage_buckets.flagged_count + excluded.flagged_count,
                     flagged_spend = {}",
                rows.join(", "),
                clamped("spend", "$4"),
                clamped("flagged_spend", "$12"),
            )
        })
    });
    &SQL[usize::from(merchant)]
}

/// Moves an agent's counters for an intent declared at `created_ms` by
/// `by`, for all of the agent's intents and for the merchant's; one
/// statement.
async fn bump_usage(
    tx: &mut Tx,
    agent_id: &str,
    merchant_key: Option<&str>,
    currency: &str,
    created_ms: i64,
    by: Counts,
) -> Result<()> {
    // An empty merchant would be the scope of all intents.
    let merchant_key = merchant_key.filter(|key| !key.is_empty());
    let mut query = sqlx::query(sqlx::AssertSqlSafe(bump_sql(merchant_key.is_some())))
        .bind(agent_id)
        .bind(currency)
        .bind(by.count)
        .bind(by.spend)
        .bind(MAX_BUCKET_SPEND)
        .bind(by.spend.clamp(0, MAX_BUCKET_SPEND));
    for start in bucket_starts(created_ms) {
        query = query.bind(start);
    }
    query = query
        .bind(by.flagged_count)
        .bind(by.flagged_spend)
        .bind(by.flagged_spend.clamp(0, MAX_BUCKET_SPEND));
    if let Some(merchant) = merchant_key {
        query = query.bind(merchant);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Brings an intent's share of its agent's spend, and of its flagged
/// settlements, up to date with its status, amounts and settlement,
/// moving the counters by the difference. Every write that changes an
/// intent's status or settlement calls it; `flagged` is whether its
/// settlement now counts as flagged, none to leave that as it is.
async fn resync_spend(tx: &mut Tx, intent_id: &str, flagged: Option<bool>) -> Result<()> {
    let row = sqlx::query(
        "SELECT agent_id, created_ms, currency, merchant_key, status, amount_minor,
                actual_minor, settled_confirmed, spend_minor, flagged
         FROM intents WHERE id = $1",
    )
    .bind(intent_id)
    .fetch_one(&mut **tx)
    .await?;
    let status = status_of("intents.status", row.try_get("status")?)?;
    let minor = |column: &str| -> Result<Option<u64>> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .map(|v| v.max(0) as u64))
    };
    let settled_by = if row.try_get::<i64, _>("settled_confirmed")? == 1 {
        Reporter::Tenant
    } else {
        Reporter::Agent
    };
    let declared = minor("amount_minor")?;
    let spend = spend_minor(status, declared, minor("actual_minor")?, settled_by);
    let before: i64 = row.try_get("spend_minor")?;
    let was_flagged = row.try_get::<i64, _>("flagged")? == 1;
    let is_flagged = flagged.unwrap_or(was_flagged);
    if spend == before && is_flagged == was_flagged {
        return Ok(());
    }
    sqlx::query("UPDATE intents SET spend_minor = $1, flagged = $2 WHERE id = $3")
        .bind(spend)
        .bind(i64::from(is_flagged))
        .bind(intent_id)
        .execute(&mut **tx)
        .await?;
    let flag = i64::from(is_flagged) - i64::from(was_flagged);
    let declared = declared.unwrap_or(0).min(MAX_BUCKET_SPEND as u64) as i64;
    bump_usage(
        tx,
        row.try_get("agent_id")?,
        row.try_get("merchant_key")?,
        row.try_get("currency")?,
        row.try_get("created_ms")?,
        Counts {
            count: 0,
            spend: spend - before,
            flagged_count: flag,
            flagged_spend: flag * declared,
        },
    )
    .await
}

/// Records a settlement on an intent: its record and, when it brings one,
/// the settled amount and who stands behind it.
async fn write_settlement(tx: &mut Tx, intent_id: &str, settlement: &SettlementWrite) -> Result<()> {
    let (set_amount, minor, confirmed) = match settlement.amount {
        Some(amount) => (
            1,
            amount.minor.and_then(minor_i64),
            i64::from(amount.by == Reporter::Tenant),
        ),
        None => (0, None, 0),
    };
    sqlx::query(
        "UPDATE intents SET settlement = $1,
                actual_minor = CASE WHEN $2 = 1 THEN COALESCE($3, actual_minor)
                                    ELSE actual_minor END,
                settled_confirmed = CASE WHEN $2 = 1 THEN $4 ELSE settled_confirmed END
         WHERE id = $5",
    )
    .bind(&settlement.record)
    .bind(set_amount)
    .bind(minor)
    .bind(confirmed)
    .bind(intent_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Remembers a response in the write's own transaction.
async fn remember(tx: &mut Tx, idem: Option<&IdempotencyRecord>) -> Result<()> {
    let Some(idem) = idem else { return Ok(()) };
    sqlx::query(
        "INSERT INTO idempotency (scope, key, request_sha256, status, body, created_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&idem.scope)
    .bind(&idem.key)
    .bind(&idem.request_sha256)
    .bind(i64::from(idem.status))
    .bind(&idem.body)
    .bind(idem.created_ms)
    .execute(&mut **tx)
    .await
    .map_err(|e| unique_as(e, StoreError::IdempotencyKeyTaken))?;
    Ok(())
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
    text.parse()
        .map_err(|detail| StoreError::Corrupt { column, detail })
}

fn limit_plus_one(page: &Page) -> i64 {
    page.limit.saturating_add(1)
}

/// The version a page of versions starts after: its cursor, a version
/// number (checked by the caller), or 0.
fn version_cursor(page: &Page) -> i64 {
    page.after
        .as_deref()
        .and_then(|after| after.parse().ok())
        .unwrap_or(0)
}

fn minor_i64(minor_units: u64) -> Option<i64> {
    i64::try_from(minor_units).ok()
}

fn tenant_row(row: &DbRow) -> Result<TenantRecord> {
    Ok(TenantRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        plan: parse_enum("tenants.plan", row.try_get("plan")?)?,
        created_ms: row.try_get("created_ms")?,
    })
}

const PLUGIN_COLUMNS: &str = "id, tenant_id, name, version, sha256, world, size, created_ms";

fn plugin_row(row: &DbRow) -> Result<PluginRecord> {
    Ok(PluginRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        sha256: row.try_get("sha256")?,
        world: parse_enum("plugins.world", row.try_get("world")?)?,
        size: row.try_get("size")?,
        created_ms: row.try_get("created_ms")?,
    })
}

fn policy_row(row: &DbRow) -> Result<PolicyRecord> {
    Ok(PolicyRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        body: row.try_get("body")?,
        created_ms: row.try_get("created_ms")?,
    })
}

fn agent_row(row: &DbRow) -> Result<AgentRecord> {
    Ok(AgentRecord {
        tenant_id: row.try_get("tenant_id")?,
        policy_id: row.try_get("policy_id")?,
        agent: Agent {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            status: parse_enum("agents.status", row.try_get("status")?)?,
            agent_type: parse_enum("agents.agent_type", row.try_get("agent_type")?)?,
            profile: parse_json("agents.profile", row.try_get("profile")?)?,
            tags: parse_json("agents.tags", row.try_get("tags")?)?,
            metadata: parse_json("agents.metadata", row.try_get("metadata")?)?,
            baseline: row
                .try_get::<Option<&str>, _>("baseline")?
                .map(|text| parse_json("agents.baseline", text))
                .transpose()?,
        },
        version: row.try_get("version")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
    })
}

fn token_row(row: &DbRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        agent_id: row.try_get("agent_id")?,
        permissions: parse_json("agent_tokens.permissions", row.try_get("permissions")?)?,
        created_ms: row.try_get("created_ms")?,
        revoked_ms: row.try_get("revoked_ms")?,
    })
}

const INTENT_COLUMNS: &str = "id, tenant_id, agent_id, status, intent, decision, policy_id, \
     policy_version, status_reason, settlement, created_ms, updated_ms, expires_ms";

fn intent_row(row: &DbRow) -> Result<IntentRecord> {
    Ok(IntentRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        agent_id: row.try_get("agent_id")?,
        status: status_of("intents.status", row.try_get("status")?)?,
        intent: parse_json("intents.intent", row.try_get("intent")?)?,
        decision: row.try_get("decision")?,
        policy_id: row.try_get("policy_id")?,
        policy_version: row.try_get("policy_version")?,
        status_reason: row.try_get("status_reason")?,
        settlement: row.try_get("settlement")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
        expires_ms: row.try_get("expires_ms")?,
    })
}

fn event_row(row: &DbRow) -> Result<IntentEvent> {
    let from: Option<String> = row.try_get("from_status")?;
    Ok(IntentEvent {
        id: row.try_get("id")?,
        intent_id: row.try_get("intent_id")?,
        from: from
            .map(|text| status_of("intent_events.from_status", &text))
            .transpose()?,
        to: status_of("intent_events.to_status", row.try_get("to_status")?)?,
        actor: row.try_get("actor")?,
        reason: row.try_get("reason")?,
        at_ms: row.try_get("at_ms")?,
    })
}

fn parse_currency(column: &'static str, code: &str) -> Result<Currency> {
    Currency::from_code(code).map_err(|e| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}

fn charge_row(row: &DbRow) -> Result<ChargeRecord> {
    let currency = parse_currency("charges.currency", row.try_get("currency")?)?;
    let minor: i64 = row.try_get("amount_minor")?;
    Ok(ChargeRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        intent_id: row.try_get("intent_id")?,
        amount: Money::new(minor.max(0) as u64, currency),
        merchant: row.try_get("merchant")?,
        at_ms: row.try_get("at_ms")?,
        accepted: row.try_get::<&str, _>("status")? == "accepted",
        decision: row.try_get("decision")?,
        created_ms: row.try_get("created_ms")?,
    })
}

fn agent_event_row(row: &DbRow) -> Result<AgentEvent> {
    Ok(AgentEvent {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        agent_id: row.try_get("agent_id")?,
        kind: row.try_get("kind")?,
        actor: row.try_get("actor")?,
        message: row.try_get("message")?,
        intent_id: row.try_get("intent_id")?,
        at_ms: row.try_get("at_ms")?,
    })
}

/// Carries out a decision's actions in the transaction that records it:
/// suspends the agent if it is active, and records the events.
async fn apply_actions(tx: &mut Tx, agent_id: &str, actions: &DecisionActions) -> Result<()> {
    if let Some(suspension) = &actions.suspend {
        sqlx::query(
            "UPDATE agents SET status = 'suspended', updated_ms = $1
             WHERE id = $2 AND status = 'active'",
        )
        .bind(suspension.at_ms)
        .bind(agent_id)
        .execute(&mut **tx)
        .await?;
        insert_agent_event(tx, suspension).await?;
    }
    for alert in &actions.alerts {
        insert_agent_event(tx, alert).await?;
    }
    Ok(())
}

/// Records an agent event in a write's transaction.
async fn insert_agent_event(tx: &mut Tx, event: &AgentEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO agent_events (id, tenant_id, agent_id, kind, actor, message, intent_id, at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&event.id)
    .bind(&event.tenant_id)
    .bind(&event.agent_id)
    .bind(&event.kind)
    .bind(&event.actor)
    .bind(&event.message)
    .bind(&event.intent_id)
    .bind(event.at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_event(tx: &mut Tx, event: &IntentEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO intent_events (id, intent_id, from_status, to_status, actor, reason, at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&event.id)
    .bind(&event.intent_id)
    .bind(event.from.map(IntentStatus::as_str))
    .bind(event.to.as_str())
    .bind(&event.actor)
    .bind(&event.reason)
    .bind(event.at_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_policy_plugins(
    tx: &mut Tx,
    policy: &PolicyRecord,
    plugin_ids: &[String],
) -> Result<()> {
    let mut ids: Vec<&String> = plugin_ids.iter().collect();
    ids.sort();
    ids.dedup();
    for plugin_id in ids {
        sqlx::query(
            "INSERT INTO policy_version_plugins (policy_id, version, plugin_id) VALUES ($1, $2, $3)",
        )
        .bind(&policy.id)
        .bind(policy.version)
        .bind(plugin_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn insert_policy_version(
    tx: &mut Tx,
    policy: &PolicyRecord,
    plugin_ids: &[String],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO policy_versions (policy_id, version, name, body, created_ms)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&policy.id)
    .bind(policy.version)
    .bind(&policy.name)
    .bind(&policy.body)
    .bind(policy.created_ms)
    .execute(&mut **tx)
    .await
    .map_err(|e| unique_as(e, StoreError::Duplicate))?;
    insert_policy_plugins(tx, policy, plugin_ids).await
}

#[async_trait]
impl Store for ThisStore {
    async fn close(&self) {
        self.close_connections().await
    }

    async fn sync(&self) -> Result<()> {
        self.sync_writes().await
    }

    async fn agent_turn(&self, agent_id: &str) -> Result<crate::AgentTurn> {
        self.take_agent_turn(agent_id).await
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

    async fn idempotent_response(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>> {
        let row = sqlx::query(
            "SELECT scope, key, request_sha256, status, body, created_ms
             FROM idempotency WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let status: i64 = row.try_get("status")?;
        Ok(Some(IdempotencyRecord {
            scope: row.try_get("scope")?,
            key: row.try_get("key")?,
            request_sha256: row.try_get("request_sha256")?,
            status: u16::try_from(status).map_err(|e| StoreError::Corrupt {
                column: "idempotency.status",
                detail: e.to_string(),
            })?,
            body: row.try_get("body")?,
            created_ms: row.try_get("created_ms")?,
        }))
    }

    async fn purge_idempotency(&self, before_ms: i64) -> Result<u64> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM idempotency WHERE created_ms < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn create_tenant(
        &self,
        tenant: &TenantRecord,
        api_key_sha256: &str,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        sqlx::query(
            "INSERT INTO tenants (id, name, api_key_sha256, plan, created_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&tenant.id)
        .bind(&tenant.name)
        .bind(api_key_sha256)
        .bind(tenant.plan.as_str())
        .bind(tenant.created_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn tenant_by_key(&self, api_key_sha256: &str) -> Result<Option<TenantRecord>> {
        sqlx::query("SELECT id, name, plan, created_ms FROM tenants WHERE api_key_sha256 = $1")
            .bind(api_key_sha256)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(tenant_row)
            .transpose()
    }

    async fn insert_plugin(
        &self,
        plugin: &PluginRecord,
        wasm: &[u8],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        check_plugin_quota(&mut tx, &plugin.tenant_id, plugin.size).await?;
        sqlx::query(
            "INSERT INTO plugins (id, tenant_id, name, version, sha256, world, size, wasm, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&plugin.id)
        .bind(&plugin.tenant_id)
        .bind(&plugin.name)
        .bind(&plugin.version)
        .bind(&plugin.sha256)
        .bind(plugin.world.as_str())
        .bind(plugin.size)
        .bind(wasm)
        .bind(plugin.created_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_as(e, StoreError::Duplicate))?;
        tx.commit().await?;
        Ok(())
    }

    async fn plugin_totals(&self, tenant_id: &str) -> Result<(i64, i64)> {
        let row = sqlx::query(PLUGIN_TOTALS_SQL)
            .bind(tenant_id)
            .fetch_one(&self.pool)
            .await?;
        plugin_totals_row(&row)
    }

    async fn plugin_hashes(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT DISTINCT sha256 FROM plugins")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok(row.try_get("sha256")?))
            .collect()
    }

    async fn plugin(&self, tenant_id: &str, id: &str) -> Result<Option<PluginRecord>> {
        let sql = format!("SELECT {PLUGIN_COLUMNS} FROM plugins WHERE tenant_id = $1 AND id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(plugin_row)
            .transpose()
    }

    async fn plugin_by_version(
        &self,
        tenant_id: &str,
        name: &str,
        version: &str,
    ) -> Result<Option<PluginRecord>> {
        let sql = format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugins WHERE tenant_id = $1 AND name = $2 AND version = $3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(name)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(plugin_row)
            .transpose()
    }

    async fn plugins(
        &self,
        tenant_id: &str,
        name: Option<&str>,
        page: &Page,
    ) -> Result<Vec<PluginRecord>> {
        let sql = format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugins
             WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR name = $2)
               AND (CAST($3 AS TEXT) IS NULL OR id > $3)
             ORDER BY id LIMIT $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(name)
            .bind(&page.after)
            .bind(limit_plus_one(page))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(plugin_row)
            .collect()
    }

    async fn plugin_wasm(&self, id: &str) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT wasm FROM plugins WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("wasm")).transpose()?)
    }

    async fn delete_plugin(&self, tenant_id: &str, id: &str) -> Result<bool> {
        let mut tx = self.write().await?;
        let ours = sqlx::query("SELECT id FROM plugins WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if ours.is_none() {
            return Ok(false);
        }
        let used = sqlx::query("SELECT policy_id FROM policy_version_plugins WHERE plugin_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if used.is_some() {
            return Err(StoreError::InUse);
        }
        let done = sqlx::query("DELETE FROM plugins WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_policy(
        &self,
        policy: &PolicyRecord,
        plugin_ids: &[String],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        sqlx::query(
            "INSERT INTO policies (id, tenant_id, current_version, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(&policy.id)
        .bind(&policy.tenant_id)
        .bind(policy.version)
        .bind(policy.created_ms)
        .execute(&mut *tx)
        .await?;
        insert_policy_version(&mut tx, policy, plugin_ids).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_policy_version(
        &self,
        policy: &PolicyRecord,
        plugin_ids: &[String],
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        let moved = sqlx::query(
            "UPDATE policies SET current_version = $1
             WHERE id = $2 AND tenant_id = $3 AND current_version = $4",
        )
        .bind(policy.version)
        .bind(&policy.id)
        .bind(&policy.tenant_id)
        .bind(policy.version - 1)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::Duplicate);
        }
        insert_policy_version(&mut tx, policy, plugin_ids).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn policy(
        &self,
        tenant_id: &str,
        id: &str,
        version: Option<i64>,
    ) -> Result<Option<PolicyRecord>> {
        sqlx::query(
            "SELECT p.id, p.tenant_id, v.name, v.version, v.body, v.created_ms
             FROM policies p JOIN policy_versions v ON v.policy_id = p.id
             WHERE p.tenant_id = $1 AND p.id = $2
               AND v.version = COALESCE($3, p.current_version)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(policy_row)
        .transpose()
    }

    async fn policy_versions(
        &self,
        tenant_id: &str,
        id: &str,
        page: &Page,
    ) -> Result<Vec<PolicyRecord>> {
        sqlx::query(
            "SELECT p.id, p.tenant_id, v.name, v.version, v.body, v.created_ms
             FROM policies p JOIN policy_versions v ON v.policy_id = p.id
             WHERE p.tenant_id = $1 AND p.id = $2 AND v.version > $3
             ORDER BY v.version LIMIT $4",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(version_cursor(page))
        .bind(limit_plus_one(page))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(policy_row)
        .collect()
    }

    async fn policies(&self, tenant_id: &str, page: &Page) -> Result<Vec<PolicyRecord>> {
        sqlx::query(
            "SELECT p.id, p.tenant_id, v.name, v.version, v.body, v.created_ms
             FROM policies p JOIN policy_versions v
               ON v.policy_id = p.id AND v.version = p.current_version
             WHERE p.tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR p.id < $2)
             ORDER BY p.id DESC LIMIT $3",
        )
        .bind(tenant_id)
        .bind(&page.after)
        .bind(limit_plus_one(page))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(policy_row)
        .collect()
    }

    async fn insert_agent(
        &self,
        agent: &AgentRecord,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        check_plan_limit(&mut tx, &agent.tenant_id).await?;
        let a = &agent.agent;
        sqlx::query(
            "INSERT INTO agents (id, tenant_id, name, policy_id, status, agent_type, profile,
                                 tags, metadata, created_ms, updated_ms, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&a.id)
        .bind(&agent.tenant_id)
        .bind(&a.name)
        .bind(&agent.policy_id)
        .bind(enum_text(&a.status))
        .bind(enum_text(&a.agent_type))
        .bind(json_text(&a.profile))
        .bind(json_text(&a.tags))
        .bind(json_text(&a.metadata))
        .bind(agent.created_ms)
        .bind(agent.updated_ms)
        .bind(agent.version)
        .execute(&mut *tx)
        .await?;
        let actor = format!("tenant:{}", agent.tenant_id);
        record_agent_version(&mut tx, &a.id, &actor, None).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn agent(&self, tenant_id: &str, id: &str) -> Result<Option<AgentRecord>> {
        sqlx::query("SELECT * FROM agents WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(agent_row)
            .transpose()
    }

    async fn agents(&self, tenant_id: &str, page: &Page) -> Result<Vec<AgentRecord>> {
        sqlx::query(
            "SELECT * FROM agents
             WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant_id)
        .bind(&page.after)
        .bind(limit_plus_one(page))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(agent_row)
        .collect()
    }

    async fn update_agent(&self, agent: &AgentRecord, status: Option<AgentStatus>) -> Result<bool> {
        let a = &agent.agent;
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE agents SET name = $1, policy_id = $2, agent_type = $3, profile = $4,
                               tags = $5, metadata = $6, updated_ms = $7,
                               status = COALESCE($10, status), version = version + 1
             WHERE tenant_id = $8 AND id = $9 AND status <> 'archived'
               AND (CAST($10 AS TEXT) IS NULL OR $10 = status
                    OR (status <> 'suspended' AND $10 <> 'suspended'))",
        )
        .bind(&a.name)
        .bind(&agent.policy_id)
        .bind(enum_text(&a.agent_type))
        .bind(json_text(&a.profile))
        .bind(json_text(&a.tags))
        .bind(json_text(&a.metadata))
        .bind(agent.updated_ms)
        .bind(&agent.tenant_id)
        .bind(&a.id)
        .bind(status.map(|s| enum_text(&s)))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let actor = format!("tenant:{}", agent.tenant_id);
        record_agent_version(&mut tx, &a.id, &actor, None).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_agent_status(
        &self,
        tenant_id: &str,
        id: &str,
        from: &[AgentStatus],
        to: AgentStatus,
        now_ms: i64,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        let Some(status) = agent_status(&mut tx, tenant_id, id).await? else {
            return Ok(false);
        };
        if !from.contains(&status) {
            return Ok(false);
        }
        sqlx::query("UPDATE agents SET status = $1, updated_ms = $2 WHERE id = $3")
            .bind(enum_text(&to))
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if to == AgentStatus::Archived {
            sqlx::query(
                "UPDATE agent_tokens SET revoked_ms = $1 WHERE agent_id = $2 AND revoked_ms IS NULL",
            )
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_token(
        &self,
        token: &TokenRecord,
        token_sha256: &str,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        sqlx::query(
            "INSERT INTO agent_tokens (id, tenant_id, agent_id, token_sha256, permissions, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&token.id)
        .bind(&token.tenant_id)
        .bind(&token.agent_id)
        .bind(token_sha256)
        .bind(json_text(&token.permissions))
        .bind(token.created_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn token_by_hash(&self, token_sha256: &str) -> Result<Option<TokenRecord>> {
        sqlx::query(
            "SELECT t.* FROM agent_tokens t JOIN agents a ON a.id = t.agent_id
             WHERE t.token_sha256 = $1 AND t.revoked_ms IS NULL AND a.status <> 'archived'",
        )
        .bind(token_sha256)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(token_row)
        .transpose()
    }

    async fn tokens(
        &self,
        tenant_id: &str,
        agent_id: &str,
        page: &Page,
    ) -> Result<Vec<TokenRecord>> {
        sqlx::query(
            "SELECT * FROM agent_tokens
             WHERE tenant_id = $1 AND agent_id = $2 AND (CAST($3 AS TEXT) IS NULL OR id > $3)
             ORDER BY id LIMIT $4",
        )
        .bind(tenant_id)
        .bind(agent_id)
        .bind(&page.after)
        .bind(limit_plus_one(page))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(token_row)
            .collect()
    }

    async fn revoke_token(
        &self,
        tenant_id: &str,
        agent_id: &str,
        token_id: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE agent_tokens SET revoked_ms = $1
             WHERE tenant_id = $2 AND agent_id = $3 AND id = $4 AND revoked_ms IS NULL",
        )
        .bind(now_ms)
        .bind(tenant_id)
        .bind(agent_id)
        .bind(token_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_intent(
        &self,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        let status = agent_status(&mut tx, &intent.tenant_id, &intent.agent_id)
            .await?
            .unwrap_or(AgentStatus::Archived);
        if status != AgentStatus::Active {
            return Err(StoreError::AgentNotActive(status));
        }
        insert_counted(&mut tx, intent).await?;
        insert_event(&mut tx, event).await?;
        apply_actions(&mut tx, &intent.agent_id, actions).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn intent(&self, tenant_id: &str, id: &str) -> Result<Option<IntentRecord>> {
        let sql = format!("SELECT {INTENT_COLUMNS} FROM intents WHERE tenant_id = $1 AND id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(intent_row)
            .transpose()
    }

    async fn intent_by_client_id(
        &self,
        agent_id: &str,
        client_intent_id: &str,
    ) -> Result<Option<IntentRecord>> {
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM intents WHERE agent_id = $1 AND client_intent_id = $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(agent_id)
            .bind(client_intent_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(intent_row)
            .transpose()
    }

    async fn intents(
        &self,
        tenant_id: &str,
        filter: &IntentFilter,
        page: &Page,
    ) -> Result<Vec<IntentRecord>> {
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM intents
             WHERE tenant_id = $1
               AND (CAST($2 AS TEXT) IS NULL OR agent_id = $2)
               AND (CAST($3 AS TEXT) IS NULL OR status = $3)
               AND (CAST($4 AS TEXT) IS NULL OR id < $4)
             ORDER BY id DESC LIMIT $5"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(&filter.agent_id)
            .bind(filter.status.map(IntentStatus::as_str))
            .bind(&page.after)
            .bind(limit_plus_one(page))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(intent_row)
            .collect()
    }

    async fn intent_events(&self, intent_id: &str) -> Result<Vec<IntentEvent>> {
        sqlx::query("SELECT * FROM intent_events WHERE intent_id = $1 ORDER BY at_ms, id")
            .bind(intent_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(event_row)
            .collect()
    }

    async fn change_status(
        &self,
        change: &StatusChange,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool> {
        let event = &change.event;
        let from = event.from.expect("a status change starts from a status");
        let mut tx = self.write().await?;
        // First, so that of two requests with one key the second replays
        // the first instead of finding the status moved.
        remember(&mut tx, idem).await?;
        lock_agent_of(&mut tx, &event.intent_id).await?;
        let moved = sqlx::query(
            "UPDATE intents SET status = $1, status_reason = $2, updated_ms = $3
             WHERE tenant_id = $4 AND id = $5 AND status = $6
               AND (CAST($7 AS BIGINT) IS NULL OR updated_ms = $7)
               AND ($8 = 0 OR expires_ms > $3)
               AND ($9 = 0 OR EXISTS (SELECT 1 FROM agents a
                                      WHERE a.id = intents.agent_id AND a.status = 'active'))",
        )
        .bind(event.to.as_str())
        .bind(&event.reason)
        .bind(event.at_ms)
        .bind(&change.tenant_id)
        .bind(&event.intent_id)
        .bind(from.as_str())
        .bind(change.seen_updated_ms)
        .bind(i64::from(change.require_unexpired))
        .bind(i64::from(change.require_active_agent))
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(settlement) = &change.settlement {
            write_settlement(&mut tx, &event.intent_id, settlement).await?;
        }
        insert_event(&mut tx, event).await?;
        resync_spend(
            &mut tx,
            &event.intent_id,
            change.settlement.as_ref().map(|s| s.flagged),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_settlement(
        &self,
        update: &SettlementUpdate,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        lock_agent_of(&mut tx, &update.intent_id).await?;
        let done = sqlx::query(
            "UPDATE intents SET updated_ms = $1
             WHERE tenant_id = $2 AND id = $3 AND status = $4 AND updated_ms = $5",
        )
        .bind(update.at_ms)
        .bind(&update.tenant_id)
        .bind(&update.intent_id)
        .bind(update.status.as_str())
        .bind(update.seen_updated_ms)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        write_settlement(&mut tx, &update.intent_id, &update.settlement).await?;
        resync_spend(&mut tx, &update.intent_id, Some(update.settlement.flagged)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn expire_due(
        &self,
        now_ms: i64,
        limit: i64,
        reason: &str,
        new_event_id: &(dyn Fn() -> String + Sync),
    ) -> Result<Vec<IntentEvent>> {
        const DUE: &str = "(status = 'pending_approval' OR (status = 'approved' AND recurring = 0))
                           AND expires_ms <= $1";
        // Candidates from a read, so that a round with nothing due takes
        // no write lock; each is claimed and checked again in the write.
        let agents = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT agent_id FROM
                 (SELECT agent_id FROM intents WHERE {DUE} ORDER BY expires_ms LIMIT $2) AS due
             ORDER BY agent_id"
        )))
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        if agents.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
        let mut events = Vec::new();
        for row in &agents {
            let agent_id: &str = row.try_get("agent_id")?;
            // Claim the agent: one held by another server (expiring its
            // intents, or moving one) is left for the next round.
            let claimed = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id FROM agents WHERE id = $1{FOR_UPDATE}{SKIP_LOCKED}"
            )))
            .bind(agent_id)
            .fetch_optional(&mut *tx)
            .await?;
            if claimed.is_none() {
                continue;
            }
            let due = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, status FROM intents WHERE agent_id = $2 AND {DUE}
                 ORDER BY expires_ms LIMIT $3"
            )))
            .bind(now_ms)
            .bind(agent_id)
            .bind(limit - events.len() as i64)
            .fetch_all(&mut *tx)
            .await?;
            for intent in &due {
                let id: String = intent.try_get("id")?;
                let from = status_of("intents.status", intent.try_get("status")?)?;
                sqlx::query(
                    "UPDATE intents SET status = $1, status_reason = $2, updated_ms = $3
                     WHERE id = $4",
                )
                .bind(IntentStatus::Expired.as_str())
                .bind(reason)
                .bind(now_ms)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                resync_spend(&mut tx, &id, None).await?;
                let event = IntentEvent {
                    id: new_event_id(),
                    intent_id: id,
                    from: Some(from),
                    to: IntentStatus::Expired,
                    actor: "system".to_owned(),
                    reason: Some(reason.to_owned()),
                    at_ms: now_ms,
                };
                insert_event(&mut tx, &event).await?;
                events.push(event);
            }
        }
        tx.commit().await?;
        Ok(events)
    }

    async fn insert_charge(
        &self,
        charge: &ChargeRecord,
        agent_id: &str,
        actions: &DecisionActions,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        lock_agent_of(&mut tx, &charge.intent_id).await?;
        apply_actions(&mut tx, agent_id, actions).await?;
        sqlx::query(
            "INSERT INTO charges (id, tenant_id, intent_id, amount_minor, currency, merchant,
                                  at_ms, status, decision, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&charge.id)
        .bind(&charge.tenant_id)
        .bind(&charge.intent_id)
        .bind(minor_i64(charge.amount.minor_units).unwrap_or(i64::MAX))
        .bind(charge.amount.currency.code())
        .bind(&charge.merchant)
        .bind(charge.at_ms)
        .bind(if charge.accepted {
            "accepted"
        } else {
            "flagged"
        })
        .bind(&charge.decision)
        .bind(charge.created_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn count_agent_events(
        &self,
        agent_id: &str,
        kind: &str,
        actor: &str,
        since_ms: i64,
    ) -> Result<i64> {
        Ok(sqlx::query(
            "SELECT COUNT(*) AS n FROM agent_events
             WHERE agent_id = $1 AND kind = $2 AND actor = $3 AND at_ms >= $4",
        )
        .bind(agent_id)
        .bind(kind)
        .bind(actor)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?)
    }

    async fn accepted_charge_times(&self, tenant_id: &str, intent_id: &str) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT at_ms FROM charges
             WHERE tenant_id = $1 AND intent_id = $2 AND status = 'accepted'
             ORDER BY at_ms, id",
        )
        .bind(tenant_id)
        .bind(intent_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok(row.try_get("at_ms")?)).collect()
    }

    async fn charges(
        &self,
        tenant_id: &str,
        intent_id: &str,
        page: &Page,
    ) -> Result<Vec<ChargeRecord>> {
        // Ordered by the time charged; the cursor is the last charge seen.
        sqlx::query(
            "SELECT * FROM charges c
             WHERE c.tenant_id = $1 AND c.intent_id = $2
               AND (CAST($3 AS TEXT) IS NULL OR EXISTS (
                    SELECT 1 FROM charges p WHERE p.id = $3 AND p.intent_id = c.intent_id
                      AND (c.at_ms > p.at_ms OR (c.at_ms = p.at_ms AND c.id > p.id))))
             ORDER BY c.at_ms, c.id LIMIT $4",
        )
        .bind(tenant_id)
        .bind(intent_id)
        .bind(&page.after)
        .bind(limit_plus_one(page))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(charge_row)
        .collect()
    }

    async fn history(
        &self,
        agent_id: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<HistoryEntry>> {
        sqlx::query(
            "SELECT created_ms, amount_minor, currency, merchant_key FROM intents
             WHERE agent_id = $1 AND created_ms >= $2 AND status <> 'denied'
             ORDER BY created_ms LIMIT $3",
        )
        .bind(agent_id)
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let currency = parse_currency("intents.currency", row.try_get("currency")?)?;
            let amount: Option<i64> = row.try_get("amount_minor")?;
            Ok(HistoryEntry {
                created_ms: row.try_get("created_ms")?,
                amount: amount.map(|minor| Money::new(minor.max(0) as u64, currency)),
                merchant_key: row.try_get("merchant_key")?,
            })
        })
        .collect()
    }

    async fn set_baseline(
        &self,
        update: &BaselineUpdate,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        let done = sqlx::query("UPDATE agents SET baseline = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(json_text(&update.baseline))
            .bind(&update.tenant_id)
            .bind(&update.agent_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_agent_event(&mut tx, &update.event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn usage(
        &self,
        agent_id: &str,
        currency: Currency,
        merchant_key: Option<&str>,
        now_ms: i64,
        day_start_ms: i64,
        month_start_ms: i64,
    ) -> Result<Usage> {
        const MINUTE: i64 = 60_000;
        const DAY: i64 = 24 * 60 * MINUTE;
        let starts = [
            now_ms - MINUTE,
            now_ms - 60 * MINUTE,
            now_ms - DAY,
            now_ms - 7 * DAY,
            now_ms - 30 * DAY,
            day_start_ms,
            month_start_ms,
            now_ms - 30 * DAY,
        ];
        let mut query = sqlx::query(sqlx::AssertSqlSafe(USAGE_SQL.as_str()))
            .bind(agent_id)
            .bind(currency.code())
            .bind(merchant_key);
        for start in starts {
            for (from, to) in suffix_ranges(start) {
                query = query.bind(from).bind(to);
            }
        }
        let mut windows = [WindowUsage::default(); 8];
        for row in query.fetch_all(&self.pool).await? {
            let window: i64 = row.try_get("w")?;
            let count: i64 = row.try_get("c")?;
            let spend: i64 = row.try_get("s")?;
            let flagged_count: i64 = row.try_get("fc")?;
            let flagged_spend: i64 = row.try_get("fs")?;
            let usage = &mut windows[window as usize];
            let add = |total: &mut u64, more: i64| *total = total.saturating_add(more.max(0) as u64);
            add(&mut usage.count, count);
            add(&mut usage.spend, spend);
            add(&mut usage.flagged_count, flagged_count);
            add(&mut usage.flagged_spend, flagged_spend);
        }
        let [
            last_minute,
            last_hour,
            last_day,
            last_week,
            last_month,
            calendar_day,
            calendar_month,
            merchant_last_month,
        ] = windows;
        Ok(Usage {
            currency,
            timezone: "UTC".to_owned(),
            last_minute,
            last_hour,
            last_day,
            last_week,
            last_month,
            calendar_day,
            calendar_month,
            merchant_last_month,
        })
    }

    // Governance: plans, agent versions, agent events, emergency suspension.

    async fn tenant(&self, id: &str) -> Result<Option<TenantRecord>> {
        sqlx::query("SELECT id, name, plan, created_ms FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(tenant_row)
            .transpose()
    }

    async fn live_agent_count(&self, tenant_id: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM agents WHERE tenant_id = $1 AND status <> 'archived'",
        )
        .bind(tenant_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    async fn set_tenant_plan(&self, id: &str, plan: Plan) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE tenants SET plan = $1 WHERE id = $2")
            .bind(plan.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    async fn agent_versions(
        &self,
        tenant_id: &str,
        agent_id: &str,
        page: &Page,
    ) -> Result<Vec<AgentVersion>> {
        sqlx::query(
            "SELECT v.* FROM agent_versions v JOIN agents a ON a.id = v.agent_id
             WHERE a.tenant_id = $1 AND v.agent_id = $2 AND v.version > $3
             ORDER BY v.version LIMIT $4",
        )
        .bind(tenant_id)
        .bind(agent_id)
        .bind(version_cursor(page))
        .bind(limit_plus_one(page))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(agent_version_row)
        .collect()
    }

    async fn add_agent_version(
        &self,
        agent: &AgentRecord,
        actor: &str,
        reason: Option<&str>,
        event: &AgentEvent,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool> {
        let a = &agent.agent;
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        let done = sqlx::query(
            "UPDATE agents SET name = $1, policy_id = $2, agent_type = $3, profile = $4,
                               tags = $5, metadata = $6, updated_ms = $7, version = $8
             WHERE tenant_id = $9 AND id = $10 AND version = $11 AND status <> 'archived'
               AND EXISTS (SELECT 1 FROM policies p WHERE p.id = $2 AND p.tenant_id = $9)",
        )
        .bind(&a.name)
        .bind(&agent.policy_id)
        .bind(enum_text(&a.agent_type))
        .bind(json_text(&a.profile))
        .bind(json_text(&a.tags))
        .bind(json_text(&a.metadata))
        .bind(agent.updated_ms)
        .bind(agent.version)
        .bind(&agent.tenant_id)
        .bind(&a.id)
        .bind(agent.version - 1)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        record_agent_version(&mut tx, &a.id, actor, reason).await?;
        insert_agent_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_agent_status_logged(
        &self,
        event: &AgentEvent,
        from: &[AgentStatus],
        to: AgentStatus,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        let Some(status) = agent_status(&mut tx, &event.tenant_id, &event.agent_id).await? else {
            return Ok(false);
        };
        if !from.contains(&status) {
            return Ok(false);
        }
        sqlx::query("UPDATE agents SET status = $1, updated_ms = $2 WHERE id = $3")
            .bind(enum_text(&to))
            .bind(event.at_ms)
            .bind(&event.agent_id)
            .execute(&mut *tx)
            .await?;
        insert_agent_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn emergency_suspend(
        &self,
        event: &AgentEvent,
        intent_reason: &str,
        remember_answer: &(dyn for<'s> Fn(&'s Suspension) -> Option<IdempotencyRecord> + Sync),
    ) -> Result<Option<Suspension>> {
        let (tenant_id, agent_id, now) = (&event.tenant_id, &event.agent_id, event.at_ms);
        let mut tx = self.write().await?;
        let Some(status) = agent_status(&mut tx, tenant_id, agent_id).await? else {
            return Ok(None);
        };
        if status == AgentStatus::Archived {
            return Err(StoreError::AgentNotActive(status));
        }
        sqlx::query("UPDATE agents SET status = $1, updated_ms = $2 WHERE id = $3")
            .bind(enum_text(&AgentStatus::Suspended))
            .bind(now)
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        let cancelled_intents =
            cancel_live_intents(&mut tx, agent_id, &event.actor, intent_reason, now).await?;
        let revoked = sqlx::query(
            "UPDATE agent_tokens SET revoked_ms = $1 WHERE agent_id = $2 AND revoked_ms IS NULL",
        )
        .bind(now)
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
        insert_agent_event(&mut tx, event).await?;
        let agent = sqlx::query("SELECT * FROM agents WHERE id = $1")
            .bind(agent_id)
            .fetch_one(&mut *tx)
            .await?;
        let suspension = Suspension {
            agent: agent_row(&agent)?,
            cancelled_intents,
            revoked_tokens: revoked.rows_affected(),
        };
        remember(&mut tx, remember_answer(&suspension).as_ref()).await?;
        tx.commit().await?;
        Ok(Some(suspension))
    }

    async fn record_agent_event(&self, event: &AgentEvent) -> Result<()> {
        let mut tx = self.write().await?;
        insert_agent_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn agent_events(
        &self,
        tenant_id: &str,
        agent_id: &str,
        page: &Page,
    ) -> Result<Vec<AgentEvent>> {
        sqlx::query(
            "SELECT * FROM agent_events
             WHERE tenant_id = $1 AND agent_id = $2 AND (CAST($3 AS TEXT) IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4",
        )
        .bind(tenant_id)
        .bind(agent_id)
        .bind(&page.after)
        .bind(limit_plus_one(page))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(agent_event_row)
        .collect()
    }
}

// Governance: plans, agent versions, emergency suspension.

/// Refuses a new agent when the tenant's plan allows no more agents that
/// are not archived. Runs in the write that inserts the agent, which holds
/// the database's write lock from its first statement, so two concurrent
/// creations cannot both pass on the same count; PostgreSQL, which lets
/// writers run side by side, locks the tenant's row for the same effect.
async fn check_plan_limit(tx: &mut Tx, tenant_id: &str) -> Result<()> {
    let Some(plan) = locked_plan(tx, tenant_id).await? else {
        return Ok(());
    };
    let Some(limit) = plan.agent_limit() else {
        return Ok(());
    };
    let count: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM agents WHERE tenant_id = $1 AND status <> 'archived'",
    )
    .bind(tenant_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?;
    if count >= limit {
        return Err(StoreError::PlanLimit {
            plan,
            quota: Quota::Agents,
            limit,
        });
    }
    Ok(())
}

/// The plan of a tenant, whose row is locked until the write commits (see
/// [`check_plan_limit`]); none when there is no such tenant.
async fn locked_plan(tx: &mut Tx, tenant_id: &str) -> Result<Option<Plan>> {
    let sql = format!("SELECT plan FROM tenants WHERE id = $1{FOR_UPDATE}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| parse_enum("tenants.plan", row.try_get("plan")?))
        .transpose()
}

/// How many plugins a tenant (`$1`) has, and their bytes together.
const PLUGIN_TOTALS_SQL: &str =
    "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes
     FROM plugins WHERE tenant_id = $1";

fn plugin_totals_row(row: &DbRow) -> Result<(i64, i64)> {
    Ok((row.try_get("n")?, row.try_get("bytes")?))
}

/// Refuses a new plugin of `size` bytes when the tenant's plan allows no
/// more plugins or not that many bytes of them, in the write that inserts
/// it (as [`check_plan_limit`] does for agents).
async fn check_plugin_quota(tx: &mut Tx, tenant_id: &str, size: i64) -> Result<()> {
    let Some(plan) = locked_plan(tx, tenant_id).await? else {
        return Ok(());
    };
    let row = sqlx::query(PLUGIN_TOTALS_SQL)
        .bind(tenant_id)
        .fetch_one(&mut **tx)
        .await?;
    let (count, bytes) = plugin_totals_row(&row)?;
    for (quota, used, adding) in [
        (Quota::Plugins, count, 1),
        (Quota::PluginBytes, bytes, size),
    ] {
        if let Some(limit) = plan.limit(quota)
            && used.saturating_add(adding) > limit
        {
            return Err(StoreError::PlanLimit { plan, quota, limit });
        }
    }
    Ok(())
}

/// Records an agent's configuration as it now is as its current version.
async fn record_agent_version(
    tx: &mut Tx,
    agent_id: &str,
    actor: &str,
    reason: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO agent_versions (agent_id, version, name, policy_id, agent_type, profile,
                                     tags, metadata, actor, reason, created_ms)
         SELECT id, version, name, policy_id, agent_type, profile, tags, metadata, $2, $3,
                updated_ms
         FROM agents WHERE id = $1",
    )
    .bind(agent_id)
    .bind(actor)
    .bind(reason)
    .execute(&mut **tx)
    .await
    .map_err(|e| unique_as(e, StoreError::Duplicate))?;
    Ok(())
}

fn agent_version_row(row: &DbRow) -> Result<AgentVersion> {
    Ok(AgentVersion {
        agent_id: row.try_get("agent_id")?,
        version: row.try_get("version")?,
        name: row.try_get("name")?,
        policy_id: row.try_get("policy_id")?,
        agent_type: parse_enum("agent_versions.agent_type", row.try_get("agent_type")?)?,
        profile: parse_json("agent_versions.profile", row.try_get("profile")?)?,
        tags: parse_json("agent_versions.tags", row.try_get("tags")?)?,
        metadata: parse_json("agent_versions.metadata", row.try_get("metadata")?)?,
        actor: row.try_get("actor")?,
        reason: row.try_get("reason")?,
        created_ms: row.try_get("created_ms")?,
    })
}

/// A tenant's agent's status, read in a write, which from then on holds
/// the agent's lock (see [`lock_agent_of`]).
async fn agent_status(tx: &mut Tx, tenant_id: &str, agent_id: &str) -> Result<Option<AgentStatus>> {
    let sql = format!("SELECT status FROM agents WHERE tenant_id = $1 AND id = $2{FOR_UPDATE}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(agent_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| parse_enum("agents.status", row.try_get("status")?))
        .transpose()
}

/// Cancels every intent of the agent that is pending approval or approved
/// and still within its time to live (one past it is the sweeper's to
/// expire), each with an event by `actor` for `reason`; gives the
/// cancelled intents' ids, oldest first.
async fn cancel_live_intents(
    tx: &mut Tx,
    agent_id: &str,
    actor: &str,
    reason: &str,
    now_ms: i64,
) -> Result<Vec<String>> {
    let live = sqlx::query(
        "SELECT id, status FROM intents
         WHERE agent_id = $1 AND status IN ($2, $3)
           AND (expires_ms > $4 OR (status = $3 AND recurring = 1))
         ORDER BY id",
    )
    .bind(agent_id)
    .bind(IntentStatus::PendingApproval.as_str())
    .bind(IntentStatus::Approved.as_str())
    .bind(now_ms)
    .fetch_all(&mut **tx)
    .await?;
    let mut cancelled = Vec::with_capacity(live.len());
    for row in &live {
        let id: String = row.try_get("id")?;
        let from = status_of("intents.status", row.try_get("status")?)?;
        let moved = sqlx::query(
            "UPDATE intents SET status = $1, status_reason = $2, updated_ms = $3
             WHERE id = $4 AND status = $5",
        )
        .bind(IntentStatus::Cancelled.as_str())
        .bind(reason)
        .bind(now_ms)
        .bind(&id)
        .bind(from.as_str())
        .execute(&mut **tx)
        .await?;
        if moved.rows_affected() != 1 {
            continue;
        }
        resync_spend(tx, &id, None).await?;
        let event = IntentEvent {
            // An intent is cancelled at most once: its id makes the event's.
            id: format!("ev_{}_cancelled", id.strip_prefix("int_").unwrap_or(&id)),
            intent_id: id.clone(),
            from: Some(from),
            to: IntentStatus::Cancelled,
            actor: actor.to_owned(),
            reason: Some(reason.to_owned()),
            at_ms: now_ms,
        };
        insert_event(tx, &event).await?;
        cancelled.push(id);
    }
    Ok(cancelled)
}

/// Takes the lock of the agent of an intent, for a write that moves the
/// intent or its agent's counters. Every such write takes its agent's lock
/// before any intent or counter row, so two writes of one agent queue
/// instead of deadlocking; SQLite, with one writer at a time, has nothing
/// to lock.
async fn lock_agent_of(tx: &mut Tx, intent_id: &str) -> Result<()> {
    if FOR_UPDATE.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT id FROM agents WHERE id = (SELECT agent_id FROM intents WHERE id = $1){FOR_UPDATE}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(intent_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(())
}
