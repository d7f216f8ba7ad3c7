// API keys: created, rolled with a grace period, revoked; read on every
// request that presents one.

#[async_trait]
impl ApiKeyRepository for ThisStore {
    async fn api_key_by_hash(
        &self,
        sha256: &str,
        now_ms: i64,
    ) -> Result<Option<(TenantRecord, ApiKeyRecord)>> {
        let row = sqlx::query(
            "SELECT k.*, t.name AS tenant_name, t.plan, t.created_ms AS tenant_created_ms
             FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
             WHERE (k.sha256 = $1 OR (k.previous_sha256 = $1 AND k.previous_until_ms > $2))
               AND k.revoked_ms IS NULL AND (k.expires_ms IS NULL OR k.expires_ms > $2)",
        )
        .bind(sha256)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let key = api_key_row(&row)?;
        let tenant = TenantRecord {
            id: key.tenant_id.clone(),
            name: row.try_get("tenant_name")?,
            plan: parse_enum("tenants.plan", row.try_get("plan")?)?,
            created_ms: row.try_get("tenant_created_ms")?,
        };
        Ok(Some((tenant, key)))
    }

    async fn insert_api_key(
        &self,
        key: &ApiKeyRecord,
        sha256: &str,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        insert_key(&mut tx, key, sha256).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn api_keys(&self, tenant_id: &str, page: &Page) -> Result<Vec<ApiKeyRecord>> {
        sqlx::query(
            "SELECT * FROM api_keys
             WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(tenant_id)
        .bind(&page.after)
        .bind(limit_plus_one(page))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(api_key_row)
        .collect()
    }

    async fn api_key(&self, tenant_id: &str, id: &str) -> Result<Option<ApiKeyRecord>> {
        sqlx::query("SELECT * FROM api_keys WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(api_key_row)
            .transpose()
    }

    async fn roll_api_key(
        &self,
        tenant_id: &str,
        id: &str,
        sha256: &str,
        prefix: &str,
        previous_until_ms: i64,
        idem: &(dyn for<'s> Fn(&'s ApiKeyRecord) -> Option<IdempotencyRecord> + Sync),
    ) -> Result<Option<ApiKeyRecord>> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE api_keys
             SET previous_sha256 = sha256, previous_until_ms = $1, sha256 = $2,
                 prefix = $3
             WHERE tenant_id = $4 AND id = $5 AND revoked_ms IS NULL",
        )
        .bind(previous_until_ms)
        .bind(sha256)
        .bind(prefix)
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        finish_key_write(tx, tenant_id, id, idem).await
    }

    async fn revoke_api_key(
        &self,
        tenant_id: &str,
        id: &str,
        at_ms: i64,
        idem: &(dyn for<'s> Fn(&'s ApiKeyRecord) -> Option<IdempotencyRecord> + Sync),
    ) -> Result<Option<ApiKeyRecord>> {
        let mut tx = self.write().await?;
        // The tenant's row is locked first, so that of two revocations of
        // its last two admin keys the second counts after the first.
        locked_plan(&mut tx, tenant_id).await?;
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_ms = $1
             WHERE tenant_id = $2 AND id = $3 AND revoked_ms IS NULL
               AND (role <> 'admin'
                    OR EXISTS (SELECT 1 FROM api_keys k
                               WHERE k.tenant_id = $2 AND k.id <> $3 AND k.role = 'admin'
                                 AND k.revoked_ms IS NULL
                                 AND (k.expires_ms IS NULL OR k.expires_ms > $1)))",
        )
        .bind(at_ms)
        .bind(tenant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        finish_key_write(tx, tenant_id, id, idem).await
    }

    async fn touch_api_key(&self, id: &str, at_ms: i64) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE api_keys SET last_used_ms = $1
             WHERE id = $2 AND (last_used_ms IS NULL OR last_used_ms < $1)",
        )
        .bind(at_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_key(tx: &mut Tx, key: &ApiKeyRecord, sha256: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, name, role, prefix, sha256, created_ms, expires_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&key.id)
    .bind(&key.tenant_id)
    .bind(&key.name)
    .bind(&key.role)
    .bind(&key.prefix)
    .bind(sha256)
    .bind(key.created_ms)
    .bind(key.expires_ms)
    .execute(&mut **tx)
    .await
    .map_err(|e| unique_as(e, StoreError::Duplicate))?;
    Ok(())
}

/// Reads the key a write changed, remembers the answer made of it and
/// commits.
async fn finish_key_write(
    mut tx: Tx,
    tenant_id: &str,
    id: &str,
    idem: &(dyn for<'s> Fn(&'s ApiKeyRecord) -> Option<IdempotencyRecord> + Sync),
) -> Result<Option<ApiKeyRecord>> {
    let row = sqlx::query("SELECT * FROM api_keys WHERE tenant_id = $1 AND id = $2")
        .bind(tenant_id)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let key = api_key_row(&row)?;
    remember(&mut tx, idem(&key).as_ref()).await?;
    tx.commit().await?;
    Ok(Some(key))
}

fn api_key_row(row: &DbRow) -> Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        prefix: row.try_get("prefix")?,
        created_ms: row.try_get("created_ms")?,
        expires_ms: row.try_get("expires_ms")?,
        last_used_ms: row.try_get("last_used_ms")?,
        previous_until_ms: row.try_get("previous_until_ms")?,
        revoked_ms: row.try_get("revoked_ms")?,
    })
}
