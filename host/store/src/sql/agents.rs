// Agents: versions, status, events, baselines, tokens, and the plan's
// limit of them.

#[async_trait]
impl AgentRepository for ThisStore {
    async fn insert_agent(
        &self,
        agent: &AgentRecord,
        actor: &Actor,
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
        record_agent_version(&mut tx, &a.id, actor, None).await?;
        if let Some(key) = &agent.signing_key {
            insert_agent_key(&mut tx, key).await?;
        }
        let event = new_event(
            &agent.tenant_id,
            "agent.created",
            actor,
            "agent",
            &a.id,
            Some(&a.id),
            crate::log::views().agent(agent),
            agent.created_ms,
        );
        log_event(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_agent_key(&self, key: &AgentKeyRecord, event: &AgentEvent) -> Result<bool> {
        let mut tx = self.write().await?;
        match agent_status(&mut tx, &key.tenant_id, &key.agent_id).await? {
            None | Some(AgentStatus::Archived) => return Ok(false),
            Some(_) => {}
        }
        sqlx::query(
            "UPDATE agent_keys SET retired_ms = $2 WHERE agent_id = $1 AND retired_ms IS NULL",
        )
        .bind(&key.agent_id)
        .bind(key.created_ms)
        .execute(&mut *tx)
        .await?;
        insert_agent_key(&mut tx, key).await?;
        insert_agent_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn agent_keys(&self, agent_id: &str) -> Result<Vec<AgentKeyRecord>> {
        sqlx::query(
            "SELECT tenant_id, agent_id, kid, public_key, created_ms, retired_ms
             FROM agent_keys WHERE agent_id = $1
             ORDER BY retired_ms IS NULL, created_ms, kid",
        )
        .bind(agent_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(AgentKeyRecord {
                tenant_id: row.try_get("tenant_id")?,
                agent_id: row.try_get("agent_id")?,
                kid: row.try_get("kid")?,
                public_key: row.try_get("public_key")?,
                created_ms: row.try_get("created_ms")?,
                retired_ms: row.try_get("retired_ms")?,
            })
        })
        .collect()
    }

    async fn agent(&self, tenant_id: &str, id: &str) -> Result<Option<AgentRecord>> {
        let sql =
            format!("SELECT {AGENT_FIELDS} FROM {AGENT_FROM} WHERE a.tenant_id = $1 AND a.id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(agent_row)
            .transpose()
    }

    async fn agent_with_card(
        &self,
        tenant_id: &str,
        id: &str,
        card: &Card,
    ) -> Result<Option<(AgentRecord, Option<(IntentCard, CardStatus)>)>> {
        let (card_id, card_name) = match card {
            Card::Id(id) => (Some(id.as_str()), None),
            Card::Name(name) => (None, Some(name.as_str())),
        };
        let sql = format!(
            "SELECT {AGENT_FIELDS}, c.id AS card_id, c.name AS card_name, c.status AS card_status
             FROM {AGENT_FROM}
             LEFT JOIN cards c
               ON c.agent_id = a.id
              AND (c.id = $3 OR (c.name = $4 AND c.status <> 'closed'))
             WHERE a.tenant_id = $1 AND a.id = $2"
        );
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .bind(card_id)
            .bind(card_name)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let card = match row.try_get::<Option<String>, _>("card_id")? {
            Some(id) => Some((
                IntentCard {
                    id,
                    name: row.try_get("card_name")?,
                },
                parse_enum("cards.status", row.try_get("card_status")?)?,
            )),
            None => None,
        };
        Ok(Some((agent_row(&row)?, card)))
    }

    async fn agents(
        &self,
        tenant_id: &str,
        filter: &AgentFilter,
        page: &Page,
    ) -> Result<Vec<AgentRecord>> {
        let sql = format!(
            "SELECT {AGENT_FIELDS} FROM {AGENT_FROM}
             WHERE a.tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR a.id < $2)
               AND (CAST($4 AS TEXT) IS NULL OR a.status = $4)
               AND (CAST($5 AS TEXT) IS NULL OR a.agent_type = $5)
             ORDER BY a.id DESC LIMIT $3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(&page.after)
            .bind(limit_plus_one(page))
            .bind(filter.status.as_ref().map(enum_text))
            .bind(filter.agent_type.as_ref().map(enum_text))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(agent_row)
            .collect()
    }

    async fn update_agent(
        &self,
        agent: &AgentRecord,
        from: AgentStatus,
        new_version: bool,
        actor: &Actor,
        event: Option<&AgentEvent>,
    ) -> Result<bool> {
        let a = &agent.agent;
        if warrant_domain::agent::crosses_suspension(from, a.status) {
            return Ok(false);
        }
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE agents SET name = $1, policy_id = $2, agent_type = $3, profile = $4,
                               tags = $5, metadata = $6, updated_ms = $7,
                               status = $10, version = version + $12
             WHERE tenant_id = $8 AND id = $9 AND status <> 'archived' AND status = $11",
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
        .bind(enum_text(&a.status))
        .bind(enum_text(&from))
        .bind(i64::from(new_version))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if new_version {
            record_agent_version(&mut tx, &a.id, actor, None).await?;
            if let Some(now) = agent_in(&mut tx, &a.id).await? {
                let event = new_event(
                    &agent.tenant_id,
                    "agent.updated",
                    actor,
                    "agent",
                    &a.id,
                    Some(&a.id),
                    crate::log::views().agent(&now),
                    agent.updated_ms,
                );
                log_event(&mut tx, &event).await?;
            }
        }
        if let Some(event) = event {
            insert_agent_event(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_token(
        &self,
        token: &TokenRecord,
        token_sha256: &str,
        event: &AgentEvent,
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
        let data = crate::log::views().token(token);
        log_agent_event_about(&mut tx, event, "token", &token.id, data).await?;
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
        .map(token_row)
        .collect()
    }

    async fn revoke_token(
        &self,
        tenant_id: &str,
        agent_id: &str,
        token_id: &str,
        event: &AgentEvent,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE agent_tokens SET revoked_ms = $1
             WHERE tenant_id = $2 AND agent_id = $3 AND id = $4 AND revoked_ms IS NULL",
        )
        .bind(event.at_ms)
        .bind(tenant_id)
        .bind(agent_id)
        .bind(token_id)
        .execute(&mut *tx)
        .await?;
        let revoked = done.rows_affected() == 1;
        if revoked {
            let token = token_row(
                &sqlx::query("SELECT * FROM agent_tokens WHERE id = $1")
                    .bind(token_id)
                    .fetch_one(&mut *tx)
                    .await?,
            )?;
            let data = crate::log::views().token(&token);
            log_agent_event_about(&mut tx, event, "token", token_id, data).await?;
        }
        tx.commit().await?;
        Ok(revoked)
    }

    async fn count_agent_events(
        &self,
        agent_id: &str,
        kind: &str,
        actor: &str,
        since_ms: i64,
    ) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM events
             WHERE agent_id = $1 AND kind = $2 AND actor = $3 AND created_ms >= $4",
        )
        .bind(agent_id)
        .bind(kind)
        .bind(actor)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
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

    async fn agent_versions(
        &self,
        tenant_id: &str,
        agent_id: &str,
        page: &Page,
    ) -> Result<Vec<AgentVersion>> {
        sqlx::query(
            "SELECT v.* FROM agent_versions v JOIN agents a ON a.id = v.agent_id
             WHERE a.tenant_id = $1 AND v.agent_id = $2 AND v.version < $3
             ORDER BY v.version DESC LIMIT $4",
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
        actor: &Actor,
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
        if matches!(to, AgentStatus::Suspended | AgentStatus::Archived) {
            freeze_cards_of(&mut tx, &event.agent_id, &event.actor(), event.at_ms).await?;
        }
        insert_agent_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn stop_agent(
        &self,
        event: &AgentEvent,
        to: AgentStatus,
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
            .bind(enum_text(&to))
            .bind(now)
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        let cancelled_intents =
            cancel_live_intents(&mut tx, agent_id, &event.actor(), intent_reason, now).await?;
        freeze_cards_of(&mut tx, agent_id, &event.actor(), now).await?;
        let revoked = sqlx::query(
            "UPDATE agent_tokens SET revoked_ms = $1 WHERE agent_id = $2 AND revoked_ms IS NULL",
        )
        .bind(now)
        .bind(agent_id)
        .execute(&mut *tx)
        .await?;
        insert_agent_event(&mut tx, event).await?;
        let agent = agent_in(&mut tx, agent_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                column: "agents.id",
                detail: format!("agent `{agent_id}` vanished while it was stopped"),
            })?;
        let suspension = Suspension {
            agent,
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
        let filter = EventFilter {
            agent_id: Some(agent_id.to_owned()),
            agent_events_only: true,
            ..EventFilter::default()
        };
        Ok(self
            .events(tenant_id, &filter, page)
            .await?
            .into_iter()
            .map(|event| AgentEvent {
                id: event.id,
                tenant_id: event.tenant_id,
                agent_id: event.agent_id.unwrap_or_default(),
                kind: event.kind.unwrap_or_default(),
                actor: event.actor,
                actor_name: event.actor_name,
                message: event.message.unwrap_or_default(),
                intent_id: event.intent_id,
                at_ms: event.created_ms,
            })
            .collect())
    }
}

/// An agent with its policy's current version and its signing key, for
/// [`agent_row`]; ends where a `WHERE` on `a.` columns can follow.
/// What [`agent_row`] reads of an agent (`a`), its policy (`p`) and its
/// active key (`k`), from [`AGENT_FROM`].
const AGENT_FIELDS: &str = "a.*, p.current_version AS policy_version,
                            k.kid AS key_id, k.public_key AS key_public,
                            k.created_ms AS key_created_ms";
const AGENT_FROM: &str = "agents a JOIN policies p ON p.id = a.policy_id
                          LEFT JOIN agent_keys k
                            ON k.agent_id = a.id AND k.retired_ms IS NULL";

/// Adds an agent's key, the only active one of the agent.
async fn insert_agent_key(tx: &mut Tx, key: &AgentKeyRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO agent_keys (tenant_id, agent_id, kid, public_key, created_ms, retired_ms)
         VALUES ($1, $2, $3, $4, $5, NULL)",
    )
    .bind(&key.tenant_id)
    .bind(&key.agent_id)
    .bind(&key.kid)
    .bind(&key.public_key)
    .bind(key.created_ms)
    .execute(&mut **tx)
    .await
    .map_err(|e| unique_as(e, StoreError::Duplicate))?;
    Ok(())
}

fn agent_row(row: &DbRow) -> Result<AgentRecord> {
    Ok(AgentRecord {
        tenant_id: row.try_get("tenant_id")?,
        policy_id: row.try_get("policy_id")?,
        policy_version: row.try_get("policy_version")?,
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
        usage_version: row.try_get("usage_version")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
        signing_key: match row.try_get::<Option<String>, _>("key_id")? {
            Some(kid) => Some(AgentKeyRecord {
                tenant_id: row.try_get("tenant_id")?,
                agent_id: row.try_get("id")?,
                kid,
                public_key: row.try_get("key_public")?,
                created_ms: row.try_get("key_created_ms")?,
                retired_ms: None,
            }),
            None => None,
        },
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

/// Carries out a decision's actions in the transaction that records it:
/// suspends the agent if it is active, and records the events.
async fn apply_actions(tx: &mut Tx, agent_id: &str, actions: &DecisionActions) -> Result<()> {
    if let Some(suspension) = &actions.suspend {
        let suspended = sqlx::query(
            "UPDATE agents SET status = 'suspended', updated_ms = $1
             WHERE id = $2 AND status = 'active'",
        )
        .bind(suspension.at_ms)
        .bind(agent_id)
        .execute(&mut **tx)
        .await?;
        insert_agent_event(tx, suspension).await?;
        // A suspended agent has nothing left to pay, whoever suspended it;
        // a millisecond after the decision, which comes first in history.
        if suspended.rows_affected() == 1 {
            cancel_live_intents(
                tx,
                agent_id,
                &suspension.actor(),
                &DecisionActions::suspension_reason(suspension),
                suspension.at_ms + 1,
            )
            .await?;
            freeze_cards_of(tx, agent_id, &suspension.actor(), suspension.at_ms + 1).await?;
        }
    }
    for alert in &actions.alerts {
        insert_agent_event(tx, alert).await?;
    }
    Ok(())
}

/// Records an agent event in a write's transaction: in the log.
async fn insert_agent_event(tx: &mut Tx, event: &AgentEvent) -> Result<()> {
    log_agent_event(tx, event).await
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
    let count: i64 = sqlx::query(LIVE_AGENTS_SQL)
        .bind(tenant_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    Ok(plan.allows(Quota::Agents, count, 1)?)
}

/// How many agents of a tenant (`$1`) are not archived: what its plan
/// limits.
const LIVE_AGENTS_SQL: &str =
    "SELECT COUNT(*) AS n FROM agents WHERE tenant_id = $1 AND status <> 'archived'";

/// Records an agent's configuration as it now is as its current version.
async fn record_agent_version(
    tx: &mut Tx,
    agent_id: &str,
    actor: &Actor,
    reason: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO agent_versions (agent_id, version, name, policy_id, agent_type, profile,
                                     tags, metadata, actor, reason, created_ms, actor_name)
         SELECT id, version, name, policy_id, agent_type, profile, tags, metadata, $2, $3,
                updated_ms, $4
         FROM agents WHERE id = $1",
    )
    .bind(agent_id)
    .bind(&actor.id)
    .bind(reason)
    .bind(&actor.name)
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
        actor_name: row.try_get("actor_name")?,
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
