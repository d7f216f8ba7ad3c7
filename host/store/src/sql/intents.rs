// Intents: their events, settlements and expiry; charges of recurring
// ones.

#[async_trait]
impl IntentRepository for ThisStore {
    async fn insert_intent(
        &self,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: RememberIntent<'_>,
    ) -> Result<String> {
        self.write_intent(intent, event, actions, idem).await
    }

    async fn insert_intent_in_turn(
        &self,
        turn: crate::AgentTurn,
        intent: &IntentRecord,
        event: &IntentEvent,
        actions: &DecisionActions,
        idem: RememberIntent<'_>,
    ) -> Result<String> {
        self.write_intent_in_turn(turn, intent, event, actions, idem)
            .await
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
        // The status filter is on the status an intent shows at `$6`: one
        // whose time to live has ended is expired, swept or not.
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM intents
             WHERE tenant_id = $1
               AND (CAST($2 AS TEXT) IS NULL OR agent_id = $2)
               AND (CAST($3 AS TEXT) IS NULL
                    OR (status = $3 AND NOT ({LIVES_OUT} AND expires_ms <= $6))
                    OR ($3 = 'expired' AND {LIVES_OUT} AND expires_ms <= $6))
               AND (CAST($4 AS TEXT) IS NULL OR id < $4)
               AND (CAST($7 AS BIGINT) IS NULL OR created_ms >= $7)
               AND (CAST($8 AS BIGINT) IS NULL OR created_ms < $8)
             ORDER BY id DESC LIMIT $5"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(&filter.agent_id)
            .bind(filter.status.map(IntentStatus::as_str))
            .bind(&page.after)
            .bind(limit_plus_one(page))
            .bind(filter.now_ms)
            .bind(filter.created_from_ms)
            .bind(filter.created_before_ms)
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
        idem: RememberIntent<'_>,
    ) -> Result<Option<String>> {
        let mut tx = self.write().await?;
        // First, so that of two requests with one key the second replays
        // the first instead of finding the status moved.
        remember(&mut tx, idem(None).as_ref()).await?;
        let Some(receipt) = move_intent(&mut tx, change, None).await? else {
            return Ok(None);
        };
        remember_again(&mut tx, idem(Some(&receipt)).as_ref()).await?;
        tx.commit().await?;
        Ok(Some(receipt))
    }

    async fn set_settlement(
        &self,
        update: &SettlementUpdate,
        idem: RememberIntent<'_>,
    ) -> Result<Option<String>> {
        let mut tx = self.write().await?;
        remember(&mut tx, idem(None).as_ref()).await?;
        lock_agent_of(&mut tx, &update.intent_id).await?;
        // Never on an intent whose time to live has ended: it is expired,
        // recorded or not.
        let sql = format!(
            "UPDATE intents SET updated_ms = $1
             WHERE tenant_id = $2 AND id = $3 AND status = $4 AND updated_ms = $5
               AND NOT ({LIVES_OUT} AND expires_ms <= $1)"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(update.at_ms)
            .bind(&update.tenant_id)
            .bind(&update.intent_id)
            .bind(update.status.as_str())
            .bind(update.seen_updated_ms)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        write_settlement(&mut tx, &update.intent_id, &update.settlement).await?;
        // A verification is a history entry of its own, from and to the
        // status the intent stays in.
        let event = IntentEvent {
            id: update.event_id.clone(),
            intent_id: update.intent_id.clone(),
            from: Some(update.status),
            to: update.status,
            actor: update.actor.clone(),
            actor_name: update.actor_name.clone(),
            reason: None,
            note: None,
            at_ms: update.at_ms,
            settlement: Some(update.settlement.record.clone()),
            kind: None,
        };
        let receipt = insert_event(&mut tx, &event, None, update.settlement.flagged).await?;
        resync_spend(&mut tx, &update.intent_id, flag_left_by(&update.settlement)).await?;
        remember_again(&mut tx, idem(Some(&receipt)).as_ref()).await?;
        tx.commit().await?;
        Ok(Some(receipt))
    }

    async fn expire_due(
        &self,
        now_ms: i64,
        limit: i64,
        reason: &str,
        new_event_id: &(dyn Fn() -> String + Sync),
        only: Option<&str>,
    ) -> Result<Vec<IntentEvent>> {
        // Due at `$1`, and the one intent `only` (parameter `$n`) names.
        let due = |only: &str| {
            format!(
                "{LIVES_OUT} AND expires_ms <= $1 AND (CAST({only} AS TEXT) IS NULL OR id = {only})"
            )
        };
        // Candidates from a read, so that a round with nothing due takes
        // no write lock; each is claimed and checked again in the write.
        let agents = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT agent_id FROM
                 (SELECT agent_id FROM intents WHERE {} ORDER BY expires_ms LIMIT $2) AS due
             ORDER BY agent_id",
            due("$3")
        )))
        .bind(now_ms)
        .bind(limit)
        .bind(only)
        .fetch_all(&self.pool)
        .await?;
        if agents.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
        let mut events = Vec::new();
        for row in &agents {
            let agent_id: &str = row.try_get("agent_id")?;
            // Claim the agent: in a sweep, one held by another server
            // (expiring its intents, or moving one) is left for the next
            // round; the expiry of one intent, which a move of it waits on,
            // waits for its turn.
            let skip_locked = if only.is_some() { "" } else { SKIP_LOCKED };
            let claimed = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id FROM agents WHERE id = $1{FOR_UPDATE}{skip_locked}"
            )))
            .bind(agent_id)
            .fetch_optional(&mut *tx)
            .await?;
            if claimed.is_none() {
                continue;
            }
            let due = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, status FROM intents WHERE agent_id = $2 AND {}
                 ORDER BY expires_ms LIMIT $3",
                due("$4")
            )))
            .bind(now_ms)
            .bind(agent_id)
            .bind(limit - events.len() as i64)
            .bind(only)
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
                    actor_name: None,
                    reason: Some(reason.to_owned()),
                    note: None,
                    at_ms: now_ms,
                    settlement: None,
                    kind: None,
                };
                insert_event(&mut tx, &event, None, false).await?;
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
        let input =
            keep_decision_input(&mut tx, &charge.tenant_id, actions, charge.created_ms).await?;
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
        let sql = format!("SELECT {INTENT_COLUMNS} FROM intents WHERE id = $1");
        let intent = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&charge.intent_id)
            .fetch_one(&mut *tx)
            .await?;
        let receipt = charge_receipt(
            charge,
            &intent_row(&intent)?,
            input.as_ref(),
            input_sha256_of(actions),
        )?;
        append_receipt(&mut tx, receipt, &charge.id, charge.created_ms).await?;
        apply_actions(&mut tx, agent_id, actions).await?;
        tx.commit().await?;
        Ok(())
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
        // By the time charged, the latest first; the cursor is the last
        // charge seen.
        sqlx::query(
            "SELECT * FROM charges c
             WHERE c.tenant_id = $1 AND c.intent_id = $2
               AND (CAST($3 AS TEXT) IS NULL OR EXISTS (
                    SELECT 1 FROM charges p WHERE p.id = $3 AND p.intent_id = c.intent_id
                      AND (c.at_ms < p.at_ms OR (c.at_ms = p.at_ms AND c.id < p.id))))
             ORDER BY c.at_ms DESC, c.id DESC LIMIT $4",
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
}

/// The flag `settlement` leaves on its intent (none: as it was): the
/// tenant's word sets it, an agent's report can raise it but never clear
/// it.
fn flag_left_by(settlement: &SettlementWrite) -> Option<bool> {
    let by_tenant = settlement
        .amount
        .is_some_and(|amount| amount.by == Reporter::Tenant);
    (by_tenant || settlement.flagged).then_some(settlement.flagged)
}

/// Records a settlement on an intent: its record and, when it brings one,
/// the settled amount and who stands behind it.
/// Applies a status change in a write's transaction, if the intent is
/// still as the change expects: its history entry (with receipt and
/// event), its settlement, and its spend. `reserve` is the amount an
/// authorization holds on an intent it takes; any other move releases it.
/// Gives the entry's receipt; none when the change does not apply.
async fn move_intent(
    tx: &mut Tx,
    change: &StatusChange,
    reserve: Option<u64>,
) -> Result<Option<String>> {
    let event = &change.event;
    let from = event.from.expect("a status change starts from a status");
    lock_agent_of(tx, &event.intent_id).await?;
    let moved = sqlx::query(
        "UPDATE intents SET status = $1, status_reason = $2, updated_ms = $3, reserved_minor = $10
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
    .bind(reserve.and_then(minor_i64))
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Ok(None);
    }
    if let Some(settlement) = &change.settlement {
        write_settlement(tx, &event.intent_id, settlement).await?;
    }
    let flagged = change.settlement.as_ref().is_some_and(|s| s.flagged);
    let receipt = insert_event(tx, event, None, flagged).await?;
    resync_spend(
        tx,
        &event.intent_id,
        change.settlement.as_ref().and_then(flag_left_by),
    )
    .await?;
    Ok(Some(receipt))
}

async fn write_settlement(
    tx: &mut Tx,
    intent_id: &str,
    settlement: &SettlementWrite,
) -> Result<()> {
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

/// The intents whose time to live matters, in SQL: pending ones, and
/// approved ones that are not recurring. The store's copy of
/// [`IntentStatus::lives_out`], the one expiry rule (a store test checks
/// that they agree).
const LIVES_OUT: &str = "(status = 'pending_approval' OR (status = 'approved' AND recurring = 0))";

const INTENT_COLUMNS: &str = "id, tenant_id, agent_id, status, intent, decision, policy_id, \
     policy_version, status_reason, settlement, created_ms, updated_ms, expires_ms, \
     approvals_required, input_sha256, card_id, card_name";

fn intent_row(row: &DbRow) -> Result<IntentRecord> {
    Ok(IntentRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        agent_id: row.try_get("agent_id")?,
        status: status_of("intents.status", row.try_get("status")?)?,
        intent: parse_json("intents.intent", row.try_get("intent")?)?,
        card: match (row.try_get("card_id")?, row.try_get("card_name")?) {
            (Some(id), Some(name)) => Some(IntentCard { id, name }),
            _ => None,
        },
        decision: row.try_get("decision")?,
        policy_id: row.try_get("policy_id")?,
        policy_version: row.try_get("policy_version")?,
        status_reason: row.try_get("status_reason")?,
        settlement: row.try_get("settlement")?,
        approvals_required: row.try_get("approvals_required")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
        expires_ms: row.try_get("expires_ms")?,
        input_sha256: row.try_get("input_sha256")?,
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
        actor_name: row.try_get("actor_name")?,
        reason: row.try_get("reason")?,
        note: row.try_get("note")?,
        at_ms: row.try_get("at_ms")?,
        settlement: row.try_get("settlement")?,
        kind: row.try_get("kind")?,
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

/// Records an intent's history entry, logs it and adds its receipt to
/// the tenant's chain, the intent being `known` or as the transaction sees
/// it; `flagged` when the entry's settlement raises a flag. Gives the
/// receipt.
async fn insert_event(
    tx: &mut Tx,
    event: &IntentEvent,
    known: Option<&IntentRecord>,
    flagged: bool,
) -> Result<String> {
    insert_event_with(tx, event, known, flagged, None).await
}

/// [`insert_event`], with the evaluation input of the decision the entry
/// records.
async fn insert_event_with(
    tx: &mut Tx,
    event: &IntentEvent,
    known: Option<&IntentRecord>,
    flagged: bool,
    input: Option<&EvaluationInput>,
) -> Result<String> {
    bind_intent_event(sqlx::query(INSERT_INTENT_EVENT), event)
        .execute(&mut **tx)
        .await?;
    let read;
    let intent = match known {
        Some(intent) => intent,
        None => {
            read = intent_in(tx, &event.intent_id).await?;
            &read
        }
    };
    log_intent_event(tx, event, intent, flagged).await?;
    let receipt = receipt_of(event, intent, flagged, input)?;
    let (jws, _) = append_receipt(tx, receipt, &event.id, event.at_ms).await?;
    Ok(jws)
}

/// Records an intent's history entry: [`bind_intent_event`].
const INSERT_INTENT_EVENT: &str = "INSERT INTO intent_events
         (id, intent_id, from_status, to_status, actor, reason, at_ms, settlement,
          actor_name, note, kind)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

fn bind_intent_event<B: Binds>(b: B, event: &IntentEvent) -> B {
    b.bind_next(&event.id)
        .bind_next(&event.intent_id)
        .bind_next(event.from.map(IntentStatus::as_str))
        .bind_next(event.to.as_str())
        .bind_next(&event.actor)
        .bind_next(&event.reason)
        .bind_next(event.at_ms)
        .bind_next(&event.settlement)
        .bind_next(&event.actor_name)
        .bind_next(&event.note)
        .bind_next(&event.kind)
}

/// Cancels every intent of the agent that is pending approval or approved
/// and still within its time to live (one past it is the sweeper's to
/// expire), each with an event by `actor` for `reason`; gives the
/// cancelled intents' ids, oldest first.
async fn cancel_live_intents(
    tx: &mut Tx,
    agent_id: &str,
    actor: &Actor,
    reason: &str,
    now_ms: i64,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT id, status FROM intents
         WHERE agent_id = $1 AND status IN ($2, $3)
           AND NOT ({LIVES_OUT} AND expires_ms <= $4)
         ORDER BY id"
    );
    let live = sqlx::query(sqlx::AssertSqlSafe(sql))
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
            id: cancellation_event_id(&id),
            intent_id: id.clone(),
            from: Some(from),
            to: IntentStatus::Cancelled,
            actor: actor.id.clone(),
            actor_name: actor.name.clone(),
            reason: Some(reason.to_owned()),
            note: None,
            at_ms: now_ms,
            settlement: None,
            kind: None,
        };
        insert_event(tx, &event, None, false).await?;
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

/// The most deliveries one declaration's batch carries, five values each.
/// PostgreSQL takes at most 65,535 values in a statement (its batch is
/// one), SQLite 32,766 (its batch is a statement per row): a tenant with
/// more endpoints than this fills has its declarations written in steps,
/// a statement per delivery.
const BATCHED_DELIVERIES: usize = 200;
const _: () = assert!(BATCHED_DELIVERIES * 5 <= 32_766 / 16);

/// Adds to `batch` a decided intent's row, its counters' move, its
/// evaluation input and configurations, its history entry, and its events
/// with their deliveries to the tenant's enabled `endpoints`: all of its
/// write but the receipt, the idempotency key and its decision's actions.
/// `None` when the events go to more than [`BATCHED_DELIVERIES`]
/// endpoints' deliveries.
fn intent_rows(
    mut batch: Batch,
    intent: &IntentRecord,
    event: &IntentEvent,
    actions: &DecisionActions,
    endpoints: &[Receiver],
) -> Option<Batch> {
    let events = intent_event_records(event, intent, false);
    let deliveries = events
        .iter()
        .map(|logged| {
            endpoints
                .iter()
                .filter(|e| e.receives(&logged.event_type))
                .count()
        })
        .sum::<usize>();
    if deliveries > BATCHED_DELIVERIES {
        return None;
    }
    let tenant_id = &intent.tenant_id;
    let counted = Counted::of(intent);
    batch = bind_intent(batch.statement(INSERT_INTENT), intent, &counted);
    batch = counted.bump(intent).statements(batch);
    if let Some(stored) = &actions.input {
        batch = bind_input(batch.statement(KEEP_INPUT), tenant_id, stored, event.at_ms);
        for config in &stored.configs {
            batch = bind_config(batch.statement(KEEP_CONFIG), config);
        }
    }
    batch = bind_intent_event(batch.statement(INSERT_INTENT_EVENT), event);
    // The events in one statement, which numbers them in their order (the
    // `WITH` clauses of one statement run in no order one may rely on).
    if !events.is_empty() {
        batch = batch.statement(&with_rows(INSERT_LOG_ROW, events.len()));
        for logged in &events {
            batch = bind_log_row(batch, logged);
        }
    }
    for logged in &events {
        for endpoint in endpoints.iter().filter(|e| e.receives(&logged.event_type)) {
            batch = bind_delivery(
                batch.statement(INSERT_DELIVERY),
                tenant_id,
                &endpoint.id,
                &logged.id,
                logged.created_ms,
            );
        }
    }
    Some(batch)
}

/// Starts the write of a decided intent in `tx`, just begun: claims its
/// idempotency key, if any, and takes its agent's lock, refusing an agent
/// that is not active.
async fn claim_intent_write(
    mut tx: Tx,
    intent: &IntentRecord,
    idem: RememberIntent<'_>,
) -> Result<Tx> {
    remember(&mut tx, idem(None).as_ref()).await?;
    let status = agent_status(&mut tx, &intent.tenant_id, &intent.agent_id).await?;
    refuse_inactive(status)?;
    Ok(tx)
}

/// Refuses the write of an intent of an agent whose status, as its write
/// read it, is not active (none: the agent is gone).
fn refuse_inactive(status: Option<AgentStatus>) -> Result<()> {
    match status.unwrap_or(AgentStatus::Archived) {
        AgentStatus::Active => Ok(()),
        status => Err(StoreError::AgentNotActive(status)),
    }
}

/// Writes a decided intent, its counters, its history entry, events and
/// receipt, and what its decision asks for, one statement after another
/// in `tx`, a write [`claim_intent_write`] started, and commits it. Gives
/// the receipt.
async fn write_in_steps(
    mut tx: Tx,
    intent: &IntentRecord,
    event: &IntentEvent,
    actions: &DecisionActions,
    idem: RememberIntent<'_>,
) -> Result<String> {
    insert_counted(&mut tx, intent).await?;
    let input = keep_decision_input(&mut tx, &intent.tenant_id, actions, event.at_ms).await?;
    let receipt = insert_event_with(&mut tx, event, Some(intent), false, input.as_ref()).await?;
    apply_actions(&mut tx, &intent.agent_id, actions).await?;
    // A suspension the decision asks for cancels the intent too.
    let receipt = match &actions.suspend {
        Some(_) => latest_receipt_in(&mut tx, &intent.id)
            .await?
            .unwrap_or(receipt),
        None => receipt,
    };
    remember_again(&mut tx, idem(Some(&receipt)).as_ref()).await?;
    tx.commit().await?;
    Ok(receipt)
}
