// Card authorizations and the ledger: an approved authorization takes its
// intent (one-off intents move to `authorized`, with the amount reserved)
// in the transaction that records it; a capture completes the intent and
// appends to the ledger, a reversal releases it; refunds are appended.

use warrant_domain::authorization::{AuthorizationStatus, TransactionKind};

const AUTHORIZATION_COLUMNS: &str = "id, tenant_id, card_id, agent_id, intent_id, amount_minor, \
     currency, merchant, external_id, approved, code, reason, status, captured_minor, \
     created_ms, updated_ms";

/// How many of an agent's approved intents an authorization reads at most:
/// those for its merchant with the nearest amounts, or, to say which came
/// closest when it is declined, the oldest.
const APPROVED_READ_AT_MOST: i64 = 100;

const TRANSACTION_COLUMNS: &str = "id, tenant_id, kind, authorization_id, refund_of, card_id, \
     agent_id, intent_id, amount_minor, currency, merchant, external_id, created_ms";

fn money_of(row: &DbRow, column: &'static str, minor: i64) -> Result<Money> {
    Ok(Money {
        minor_units: minor.max(0) as u64,
        currency: parse_currency(column, row.try_get("currency")?)?,
    })
}

fn authorization_row(row: &DbRow) -> Result<AuthorizationRecord> {
    let captured: Option<i64> = row.try_get("captured_minor")?;
    Ok(AuthorizationRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        card_id: row.try_get("card_id")?,
        agent_id: row.try_get("agent_id")?,
        intent_id: row.try_get("intent_id")?,
        amount: money_of(row, "authorizations.currency", row.try_get("amount_minor")?)?,
        merchant: parse_json("authorizations.merchant", row.try_get("merchant")?)?,
        external_id: row.try_get("external_id")?,
        approved: row.try_get::<i64, _>("approved")? == 1,
        code: row.try_get("code")?,
        reason: row.try_get("reason")?,
        status: parse_enum("authorizations.status", row.try_get("status")?)?,
        captured_minor: captured.map(|minor| minor.max(0) as u64),
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
    })
}

fn transaction_row(row: &DbRow) -> Result<TransactionRecord> {
    Ok(TransactionRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        kind: parse_enum("transactions.kind", row.try_get("kind")?)?,
        authorization_id: row.try_get("authorization_id")?,
        refund_of: row.try_get("refund_of")?,
        card_id: row.try_get("card_id")?,
        agent_id: row.try_get("agent_id")?,
        intent_id: row.try_get("intent_id")?,
        amount: money_of(row, "transactions.currency", row.try_get("amount_minor")?)?,
        merchant: parse_json("transactions.merchant", row.try_get("merchant")?)?,
        external_id: row.try_get("external_id")?,
        created_ms: row.try_get("created_ms")?,
    })
}

async fn authorization_in(
    tx: &mut Tx,
    tenant_id: &str,
    id: &str,
) -> Result<Option<AuthorizationRecord>> {
    let sql = format!(
        "SELECT {AUTHORIZATION_COLUMNS} FROM authorizations WHERE tenant_id = $1 AND id = $2{FOR_UPDATE}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(authorization_row).transpose()
}

async fn authorization_by_external_id_in(
    tx: &mut Tx,
    tenant_id: &str,
    external_id: &str,
) -> Result<Option<AuthorizationRecord>> {
    let sql = format!(
        "SELECT {AUTHORIZATION_COLUMNS} FROM authorizations WHERE tenant_id = $1 AND external_id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(external_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(authorization_row).transpose()
}

async fn log_authorization_event(
    tx: &mut Tx,
    authorization: &AuthorizationRecord,
    event_type: &str,
    actor: &Actor,
) -> Result<()> {
    let mut event = new_event(
        &authorization.tenant_id,
        event_type,
        actor,
        "authorization",
        &authorization.id,
        Some(&authorization.agent_id),
        crate::log::views().authorization(authorization),
        authorization.updated_ms,
    );
    event.intent_id = authorization.intent_id.clone();
    log_event(tx, &event).await
}

async fn insert_transaction(tx: &mut Tx, entry: &TransactionRecord, actor: &Actor) -> Result<()> {
    sqlx::query(
        "INSERT INTO transactions (id, tenant_id, kind, authorization_id, refund_of, card_id,
                                   agent_id, intent_id, amount_minor, currency, merchant,
                                   external_id, created_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&entry.id)
    .bind(&entry.tenant_id)
    .bind(entry.kind.as_str())
    .bind(&entry.authorization_id)
    .bind(&entry.refund_of)
    .bind(&entry.card_id)
    .bind(&entry.agent_id)
    .bind(&entry.intent_id)
    .bind(minor_i64(entry.amount.minor_units))
    .bind(entry.amount.currency.code())
    .bind(json_text(&entry.merchant))
    .bind(&entry.external_id)
    .bind(entry.created_ms)
    .execute(&mut **tx)
    .await
    .map_err(|e| unique_as(e, StoreError::Duplicate))?;
    let mut event = new_event(
        &entry.tenant_id,
        match entry.kind {
            TransactionKind::Capture => "transaction.captured",
            TransactionKind::Refund => "transaction.refunded",
        },
        actor,
        "transaction",
        &entry.id,
        Some(&entry.agent_id),
        crate::log::views().transaction(entry),
        entry.created_ms,
    );
    event.intent_id = entry.intent_id.clone();
    log_event(tx, &event).await
}

impl ThisStore {
    /// The one row of the tenant that `sql` selects with the tenant as `$1`
    /// and `value` as `$2`, read by `read`.
    async fn one_of_tenant<T>(
        &self,
        sql: String,
        tenant_id: &str,
        value: &str,
        read: fn(&DbRow) -> Result<T>,
    ) -> Result<Option<T>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(read).transpose()
    }
}

#[async_trait]
impl PaymentRepository for ThisStore {
    async fn record_authorization(
        &self,
        authorization: &AuthorizationRecord,
        take: Option<Take<'_>>,
        actor: &Actor,
    ) -> Result<Option<AuthorizationRecord>> {
        let mut tx = self.write().await?;
        if let Some(external_id) = &authorization.external_id
            && let Some(known) =
                authorization_by_external_id_in(&mut tx, &authorization.tenant_id, external_id)
                    .await?
        {
            return Ok(Some(known));
        }
        match take {
            Some(Take::Intent(change)) => {
                let reserve = Some(authorization.amount.minor_units);
                if move_intent(&mut tx, change, reserve).await?.is_none() {
                    // The intent moved meanwhile: nothing recorded.
                    return Ok(None);
                }
            }
            Some(Take::Window {
                intent_id,
                from_ms,
                to_ms,
            }) => {
                lock_agent_of(&mut tx, intent_id).await?;
                let held = sqlx::query(
                    "SELECT id FROM authorizations
                     WHERE intent_id = $1 AND status IN ('pending', 'captured')
                       AND created_ms >= $2 AND created_ms <= $3",
                )
                .bind(intent_id)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_optional(&mut *tx)
                .await?;
                if held.is_some() {
                    // Another authorization holds the window.
                    return Ok(None);
                }
            }
            None => {}
        }
        sqlx::query(
            "INSERT INTO authorizations (id, tenant_id, card_id, agent_id, intent_id, amount_minor,
                                         currency, merchant, external_id, approved, code, reason,
                                         status, captured_minor, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&authorization.id)
        .bind(&authorization.tenant_id)
        .bind(&authorization.card_id)
        .bind(&authorization.agent_id)
        .bind(&authorization.intent_id)
        .bind(minor_i64(authorization.amount.minor_units))
        .bind(authorization.amount.currency.code())
        .bind(json_text(&authorization.merchant))
        .bind(&authorization.external_id)
        .bind(i64::from(authorization.approved))
        .bind(&authorization.code)
        .bind(&authorization.reason)
        .bind(authorization.status.as_str())
        .bind(authorization.captured_minor.and_then(minor_i64))
        .bind(authorization.created_ms)
        .bind(authorization.updated_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_as(e, StoreError::Duplicate))?;
        let event_type = if authorization.approved {
            "authorization.approved"
        } else {
            "authorization.declined"
        };
        log_authorization_event(&mut tx, authorization, event_type, actor).await?;
        tx.commit().await?;
        Ok(Some(authorization.clone()))
    }

    async fn authorization(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<AuthorizationRecord>> {
        self.one_of_tenant(
            format!("SELECT {AUTHORIZATION_COLUMNS} FROM authorizations WHERE tenant_id = $1 AND id = $2"),
            tenant_id,
            id,
            authorization_row,
        )
        .await
    }

    async fn authorization_by_external_id(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> Result<Option<AuthorizationRecord>> {
        self.one_of_tenant(
            format!("SELECT {AUTHORIZATION_COLUMNS} FROM authorizations WHERE tenant_id = $1 AND external_id = $2"),
            tenant_id,
            external_id,
            authorization_row,
        )
        .await
    }

    async fn settle_authorization(
        &self,
        tenant_id: &str,
        id: &str,
        to: AuthorizationStatus,
        change: Option<&StatusChange>,
        entry: Option<&TransactionRecord>,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Option<AuthorizationRecord>> {
        let mut tx = self.write().await?;
        let Some(mut authorization) = authorization_in(&mut tx, tenant_id, id).await? else {
            return Ok(None);
        };
        let done = sqlx::query(
            "UPDATE authorizations SET status = $1, captured_minor = $2, updated_ms = $3
             WHERE id = $4 AND status = 'pending'",
        )
        .bind(to.as_str())
        .bind(entry.and_then(|e| minor_i64(e.amount.minor_units)))
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        if let Some(change) = change
            && move_intent(&mut tx, change, None).await?.is_none()
        {
            return Ok(None);
        }
        authorization.status = to;
        authorization.captured_minor = entry.map(|e| e.amount.minor_units);
        authorization.updated_ms = now_ms;
        if let Some(entry) = entry {
            insert_transaction(&mut tx, entry, actor).await?;
        }
        let event_type = match to {
            AuthorizationStatus::Captured => "authorization.captured",
            _ => "authorization.reversed",
        };
        log_authorization_event(&mut tx, &authorization, event_type, actor).await?;
        tx.commit().await?;
        Ok(Some(authorization))
    }

    async fn record_refund(
        &self,
        refund: &TransactionRecord,
        actor: &Actor,
    ) -> Result<Option<std::result::Result<u64, u64>>> {
        let capture_id = refund
            .refund_of
            .as_deref()
            .expect("a refund names its capture");
        let mut tx = self.write().await?;
        let sql = format!(
            "SELECT amount_minor FROM transactions WHERE tenant_id = $1 AND id = $2 AND kind = 'capture'{FOR_UPDATE}"
        );
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&refund.tenant_id)
            .bind(capture_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let captured: i64 = row.try_get("amount_minor")?;
        let refunded: Option<i64> = sqlx::query(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS s FROM transactions WHERE refund_of = $1",
        )
        .bind(capture_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("s")?;
        let left = (captured - refunded.unwrap_or(0)).max(0) as u64;
        if refund.amount.minor_units > left {
            return Ok(Some(Err(left)));
        }
        insert_transaction(&mut tx, refund, actor).await?;
        tx.commit().await?;
        Ok(Some(Ok(left - refund.amount.minor_units)))
    }

    async fn transaction(&self, tenant_id: &str, id: &str) -> Result<Option<TransactionRecord>> {
        self.one_of_tenant(
            format!(
                "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE tenant_id = $1 AND id = $2"
            ),
            tenant_id,
            id,
            transaction_row,
        )
        .await
    }

    async fn transaction_by_external_id(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> Result<Option<TransactionRecord>> {
        self.one_of_tenant(
            format!("SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE tenant_id = $1 AND external_id = $2"),
            tenant_id,
            external_id,
            transaction_row,
        )
        .await
    }

    async fn capture_of(&self, authorization_id: &str) -> Result<Option<TransactionRecord>> {
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions
             WHERE authorization_id = $1 AND kind = 'capture'"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(authorization_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(transaction_row).transpose()
    }

    async fn transactions(
        &self,
        tenant_id: &str,
        filter: &TransactionFilter,
        page: &Page,
    ) -> Result<Vec<TransactionRecord>> {
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS} FROM transactions
             WHERE tenant_id = $1
               AND (CAST($2 AS TEXT) IS NULL OR agent_id = $2)
               AND (CAST($3 AS TEXT) IS NULL OR card_id = $3)
               AND (CAST($4 AS TEXT) IS NULL OR intent_id = $4)
               AND (CAST($5 AS TEXT) IS NULL OR id < $5)
             ORDER BY id DESC LIMIT $6"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(&filter.agent_id)
            .bind(&filter.card_id)
            .bind(&filter.intent_id)
            .bind(&page.after)
            .bind(limit_plus_one(page))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(transaction_row)
            .collect()
    }

    async fn approved_intents_on(
        &self,
        agent_id: &str,
        card_id: &str,
        now_ms: i64,
        near: Option<([&str; 2], u64)>,
    ) -> Result<Vec<IntentRecord>> {
        let (first, second, amount) = match near {
            Some(([first, second], amount)) => (Some(first), Some(second), minor_i64(amount)),
            None => (None, None, None),
        };
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM intents
             WHERE agent_id = $1 AND status = 'approved' AND NOT ({LIVES_OUT} AND expires_ms <= $2)
               AND (CAST($3 AS TEXT) IS NULL OR merchant_key = $3 OR merchant_key = $4)
               AND (card_id IS NULL OR card_id = $6)
             ORDER BY CASE WHEN CAST($5 AS BIGINT) IS NULL THEN 0
                           ELSE ABS(COALESCE(amount_minor, 0) - $5) END, id
             LIMIT {APPROVED_READ_AT_MOST}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(agent_id)
            .bind(now_ms)
            .bind(first)
            .bind(second)
            .bind(amount)
            .bind(card_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(intent_row)
            .collect()
    }
}
