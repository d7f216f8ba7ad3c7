// Tenants' uploaded plugins, and the plan's quota of them.

#[async_trait]
impl PluginRepository for ThisStore {
    async fn insert_plugin(
        &self,
        plugin: &PluginRecord,
        wasm: &[u8],
        actor: &Actor,
        idem: Option<&IdempotencyRecord>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem).await?;
        check_plugin_quota(&mut tx, &plugin.tenant_id, plugin.size).await?;
        sqlx::query(
            "INSERT INTO plugins (id, tenant_id, name, version, sha256, world, size, wasm, created_ms,
                                  signed_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        .bind(&plugin.signed_by)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_as(e, StoreError::Duplicate))?;
        let event = new_event(
            &plugin.tenant_id,
            "plugin.uploaded",
            actor,
            "plugin",
            &plugin.id,
            None,
            crate::log::views().plugin(plugin),
            plugin.created_ms,
        );
        log_event(&mut tx, &event).await?;
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
        rows.iter().map(|row| Ok(row.try_get("sha256")?)).collect()
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
             WHERE tenant_id = $1 AND deleted_ms IS NULL
               AND (CAST($2 AS TEXT) IS NULL OR name = $2)
               AND (CAST($3 AS TEXT) IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4"
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

    async fn delete_plugin(
        &self,
        tenant_id: &str,
        id: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Option<PluginRemoval>> {
        let mut tx = self.write().await?;
        let sql = format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugins
             WHERE tenant_id = $1 AND id = $2 AND deleted_ms IS NULL{FOR_UPDATE}"
        );
        let Some(ours) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let plugin = plugin_row(&ours)?;
        let used = sqlx::query("SELECT policy_id FROM policy_version_plugins WHERE plugin_id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let removal = if used.is_some() {
            sqlx::query("UPDATE plugins SET deleted_ms = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            PluginRemoval::Hidden
        } else {
            sqlx::query("DELETE FROM plugins WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            PluginRemoval::Removed
        };
        let event = new_event(
            tenant_id,
            "plugin.deleted",
            actor,
            "plugin",
            id,
            None,
            crate::log::views().plugin(&plugin),
            now_ms,
        );
        log_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Some(removal))
    }
}

const PLUGIN_COLUMNS: &str =
    "id, tenant_id, name, version, sha256, world, size, created_ms, signed_by, deleted_ms";

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
        signed_by: row.try_get("signed_by")?,
        deleted_ms: row.try_get("deleted_ms")?,
    })
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
    Ok(plan.allows_plugin(count, bytes, size)?)
}
