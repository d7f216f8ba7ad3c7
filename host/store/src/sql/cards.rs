// Cards agents pay with, the secrets of agents and tenants (sealed), and
// the history entry a secret's reveal leaves on its intent.

use warrant_domain::card::{CardStatus, Provider};

const CARD_COLUMNS: &str = "id, tenant_id, agent_id, name, currency, last4, provider, \
                            external_id, status, created_ms, updated_ms";

fn card_row(row: &DbRow) -> Result<CardRecord> {
    let provider: String = row.try_get("provider")?;
    Ok(CardRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        agent_id: row.try_get("agent_id")?,
        name: row.try_get("name")?,
        currency: parse_currency("cards.currency", row.try_get("currency")?)?,
        last4: row.try_get("last4")?,
        provider: provider.parse().map_err(|detail| StoreError::Corrupt {
            column: "cards.provider",
            detail,
        })?,
        external_id: row.try_get("external_id")?,
        status: parse_enum("cards.status", row.try_get("status")?)?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
    })
}

/// Logs `event_type` about `card`, as it stands after the change.
async fn log_card_event(
    tx: &mut Tx,
    card: &CardRecord,
    event_type: &str,
    actor: &Actor,
) -> Result<()> {
    let event = new_event(
        &card.tenant_id,
        event_type,
        actor,
        "card",
        &card.id,
        Some(&card.agent_id),
        crate::log::views().card(card),
        card.updated_ms,
    );
    log_event(tx, &event).await
}

async fn card_in(tx: &mut Tx, tenant_id: &str, id: &str) -> Result<Option<CardRecord>> {
    let sql =
        format!("SELECT {CARD_COLUMNS} FROM cards WHERE tenant_id = $1 AND id = $2{FOR_UPDATE}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(card_row).transpose()
}

async fn write_card(tx: &mut Tx, card: &CardRecord) -> Result<()> {
    sqlx::query(
        "UPDATE cards SET name = $1, last4 = $2, external_id = $3, status = $4, updated_ms = $5
         WHERE id = $6",
    )
    .bind(&card.name)
    .bind(&card.last4)
    .bind(&card.external_id)
    .bind(card.status.as_str())
    .bind(card.updated_ms)
    .bind(&card.id)
    .execute(&mut **tx)
    .await
    .map_err(|e| unique_as(e, StoreError::Duplicate))?;
    Ok(())
}

/// Freezes every active card of an agent, each with its event: what
/// archiving or suspending the agent does in its own transaction.
async fn freeze_cards_of(tx: &mut Tx, agent_id: &str, actor: &Actor, now_ms: i64) -> Result<()> {
    let sql =
        format!("SELECT {CARD_COLUMNS} FROM cards WHERE agent_id = $1 AND status = $2 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(agent_id)
        .bind(CardStatus::Active.as_str())
        .fetch_all(&mut **tx)
        .await?;
    for row in &rows {
        let mut card = card_row(row)?;
        card.status = CardStatus::Frozen;
        card.updated_ms = now_ms;
        write_card(tx, &card).await?;
        log_card_event(tx, &card, "card.frozen", actor).await?;
    }
    Ok(())
}

fn secret_row(row: &DbRow) -> Result<SecretRecord> {
    let owner: String = row.try_get("owner")?;
    let hosts: String = row.try_get("allowed_hosts")?;
    Ok(SecretRecord {
        tenant_id: row.try_get("tenant_id")?,
        agent_id: (!owner.is_empty()).then_some(owner),
        key: row.try_get("key")?,
        sealed: row.try_get("sealed")?,
        allowed_hosts: parse_json("secrets.allowed_hosts", &hosts)?,
        set_ms: row.try_get("set_ms")?,
    })
}

/// What a secret's event carries: never its value.
fn secret_data(secret: &SecretRecord) -> String {
    serde_json::json!({
        "key": secret.key,
        "agentId": secret.agent_id,
        "allowedHosts": secret.allowed_hosts,
    })
    .to_string()
}

async fn log_secret_event(
    tx: &mut Tx,
    secret: &SecretRecord,
    event_type: &str,
    actor: &Actor,
    at_ms: i64,
) -> Result<()> {
    let (object_type, object_id) = match &secret.agent_id {
        Some(agent_id) => ("agent", agent_id.as_str()),
        None => ("tenant", secret.tenant_id.as_str()),
    };
    let event = new_event(
        &secret.tenant_id,
        event_type,
        actor,
        object_type,
        object_id,
        secret.agent_id.as_deref(),
        secret_data(secret),
        at_ms,
    );
    log_event(tx, &event).await
}

#[async_trait]
impl CardRepository for ThisStore {
    async fn insert_card(&self, card: &CardRecord, actor: &Actor) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO cards (id, tenant_id, agent_id, name, currency, last4, provider,
                                external_id, status, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&card.id)
        .bind(&card.tenant_id)
        .bind(&card.agent_id)
        .bind(&card.name)
        .bind(card.currency.code())
        .bind(&card.last4)
        .bind(card.provider.as_str())
        .bind(&card.external_id)
        .bind(card.status.as_str())
        .bind(card.created_ms)
        .bind(card.updated_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_as(e, StoreError::Duplicate))?;
        log_card_event(&mut tx, card, "card.created", actor).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn card(&self, tenant_id: &str, id: &str) -> Result<Option<CardRecord>> {
        let sql = format!("SELECT {CARD_COLUMNS} FROM cards WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(card_row).transpose()
    }

    async fn card_by_external_id(
        &self,
        tenant_id: &str,
        provider: Provider,
        external_id: &str,
    ) -> Result<Option<CardRecord>> {
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM cards
             WHERE tenant_id = $1 AND provider = $2 AND external_id = $3
             ORDER BY status = 'closed', id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(provider.as_str())
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(card_row).transpose()
    }

    async fn cards(
        &self,
        tenant_id: &str,
        filter: &CardFilter,
        page: &Page,
    ) -> Result<Vec<CardRecord>> {
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM cards
             WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR agent_id = $2)
               AND (CAST($3 AS TEXT) IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(&filter.agent_id)
            .bind(&page.after)
            .bind(limit_plus_one(page))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(card_row)
            .collect()
    }

    async fn update_card(
        &self,
        tenant_id: &str,
        id: &str,
        change: &(dyn for<'c> Fn(&'c mut CardRecord) -> Option<&'static str> + Sync),
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Option<CardRecord>> {
        let mut tx = self.write().await?;
        let Some(mut card) = card_in(&mut tx, tenant_id, id).await? else {
            return Ok(None);
        };
        let Some(event_type) = change(&mut card) else {
            // Nothing to change: answered as it stands.
            return Ok(Some(card));
        };
        card.updated_ms = now_ms.max(card.updated_ms + 1);
        write_card(&mut tx, &card).await?;
        log_card_event(&mut tx, &card, event_type, actor).await?;
        tx.commit().await?;
        Ok(Some(card))
    }

    async fn put_secret(&self, secret: &SecretRecord, actor: &Actor) -> Result<bool> {
        let mut tx = self.write().await?;
        let owner = secret.agent_id.as_deref().unwrap_or("");
        let existed = sqlx::query(
            "SELECT 1 AS one FROM secrets WHERE tenant_id = $1 AND owner = $2 AND key = $3",
        )
        .bind(&secret.tenant_id)
        .bind(owner)
        .bind(&secret.key)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        sqlx::query(
            "INSERT INTO secrets (tenant_id, owner, key, sealed, allowed_hosts, set_ms)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant_id, owner, key) DO UPDATE
             SET sealed = excluded.sealed, allowed_hosts = excluded.allowed_hosts,
                 set_ms = excluded.set_ms",
        )
        .bind(&secret.tenant_id)
        .bind(owner)
        .bind(&secret.key)
        .bind(&secret.sealed)
        .bind(json_text(&secret.allowed_hosts))
        .bind(secret.set_ms)
        .execute(&mut *tx)
        .await?;
        log_secret_event(&mut tx, secret, "secret.set", actor, secret.set_ms).await?;
        tx.commit().await?;
        Ok(!existed)
    }

    async fn secrets(&self, tenant_id: &str, agent_id: Option<&str>) -> Result<Vec<SecretRecord>> {
        sqlx::query(
            "SELECT tenant_id, owner, key, sealed, allowed_hosts, set_ms FROM secrets
             WHERE tenant_id = $1 AND owner = $2 ORDER BY key",
        )
        .bind(tenant_id)
        .bind(agent_id.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(secret_row)
        .collect()
    }

    async fn secret(
        &self,
        tenant_id: &str,
        agent_id: Option<&str>,
        key: &str,
    ) -> Result<Option<SecretRecord>> {
        let row = sqlx::query(
            "SELECT tenant_id, owner, key, sealed, allowed_hosts, set_ms FROM secrets
             WHERE tenant_id = $1 AND owner = $2 AND key = $3",
        )
        .bind(tenant_id)
        .bind(agent_id.unwrap_or(""))
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(secret_row).transpose()
    }

    async fn delete_secret(
        &self,
        tenant_id: &str,
        agent_id: Option<&str>,
        key: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "DELETE FROM secrets WHERE tenant_id = $1 AND owner = $2 AND key = $3
             RETURNING tenant_id, owner, key, sealed, allowed_hosts, set_ms",
        )
        .bind(tenant_id)
        .bind(agent_id.unwrap_or(""))
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        log_secret_event(&mut tx, &secret_row(&row)?, "secret.deleted", actor, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn record_reveal(&self, tenant_id: &str, event: &IntentEvent) -> Result<bool> {
        let mut tx = self.write().await?;
        lock_agent_of(&mut tx, &event.intent_id).await?;
        let sql = format!(
            "UPDATE intents SET updated_ms = $1
             WHERE tenant_id = $2 AND id = $3 AND status = 'approved'
               AND NOT ({LIVES_OUT} AND expires_ms <= $1)
               AND EXISTS (SELECT 1 FROM agents a WHERE a.id = intents.agent_id AND a.status = 'active')"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(event.at_ms)
            .bind(tenant_id)
            .bind(&event.intent_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        insert_event(&mut tx, event, None, false).await?;
        tx.commit().await?;
        Ok(true)
    }
}
