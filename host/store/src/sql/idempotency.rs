// Answers remembered for idempotency keys.

#[async_trait]
impl IdempotencyRepository for ThisStore {
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
}
