// Policies and their immutable versions.

#[async_trait]
impl PolicyRepository for ThisStore {
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
        log_policy_event(&mut tx, policy, "policy.created").await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_policy_version(
        &self,
        policy: &PolicyRecord,
        plugin_ids: &[String],
        event_type: &str,
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
        log_policy_event(&mut tx, policy, event_type).await?;
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
            "SELECT p.id, p.tenant_id, v.name, v.version, v.body, v.created_ms, v.actor, v.actor_name
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
            "SELECT p.id, p.tenant_id, v.name, v.version, v.body, v.created_ms, v.actor, v.actor_name
             FROM policies p JOIN policy_versions v ON v.policy_id = p.id
             WHERE p.tenant_id = $1 AND p.id = $2 AND v.version < $3
             ORDER BY v.version DESC LIMIT $4",
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
            "SELECT p.id, p.tenant_id, v.name, v.version, v.body, v.created_ms, v.actor, v.actor_name
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
}

fn policy_row(row: &DbRow) -> Result<PolicyRecord> {
    Ok(PolicyRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        body: row.try_get("body")?,
        created_ms: row.try_get("created_ms")?,
        actor: row.try_get("actor")?,
        actor_name: row.try_get("actor_name")?,
    })
}

/// Logs a new version of a policy, made by its version's actor.
async fn log_policy_event(tx: &mut Tx, policy: &PolicyRecord, event_type: &str) -> Result<()> {
    let actor = Actor {
        id: policy.actor.clone().unwrap_or_else(|| "tenant".to_owned()),
        name: policy.actor_name.clone(),
    };
    let event = new_event(
        &policy.tenant_id,
        event_type,
        &actor,
        "policy",
        &policy.id,
        None,
        crate::log::views().policy(policy),
        policy.created_ms,
    );
    log_event(tx, &event).await
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
        "INSERT INTO policy_versions (policy_id, version, name, body, created_ms, actor, actor_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&policy.id)
    .bind(policy.version)
    .bind(&policy.name)
    .bind(&policy.body)
    .bind(policy.created_ms)
    .bind(&policy.actor)
    .bind(&policy.actor_name)
    .execute(&mut **tx)
    .await
    .map_err(|e| unique_as(e, StoreError::Duplicate))?;
    insert_policy_plugins(tx, policy, plugin_ids).await
}
