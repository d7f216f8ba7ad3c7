// Tenants and their plans.

#[async_trait]
impl TenantRepository for ThisStore {
    async fn create_tenant(
        &self,
        tenant: &TenantRecord,
        key: &ApiKeyRecord,
        key_sha256: &str,
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
        .bind(key_sha256)
        .bind(tenant.plan.as_str())
        .bind(tenant.created_ms)
        .execute(&mut *tx)
        .await?;
        insert_key(&mut tx, key, key_sha256).await?;
        tx.commit().await?;
        Ok(())
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
        let row = sqlx::query(LIVE_AGENTS_SQL)
            .bind(tenant_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    async fn set_tenant_plan(
        &self,
        id: &str,
        plan: Plan,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let Some(before) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT plan FROM tenants WHERE id = $1{FOR_UPDATE}"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(false);
        };
        let previous: Plan = parse_enum("tenants.plan", before.try_get("plan")?)?;
        sqlx::query("UPDATE tenants SET plan = $1 WHERE id = $2")
            .bind(plan.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let data = serde_json::json!({
            "id": id,
            "plan": plan.as_str(),
            "previousPlan": previous.as_str(),
        });
        let event = new_event(
            id,
            "tenant.plan_changed",
            actor,
            "tenant",
            id,
            None,
            data.to_string(),
            now_ms,
        );
        log_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(true)
    }
}

fn tenant_row(row: &DbRow) -> Result<TenantRecord> {
    Ok(TenantRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        plan: parse_enum("tenants.plan", row.try_get("plan")?)?,
        created_ms: row.try_get("created_ms")?,
    })
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
