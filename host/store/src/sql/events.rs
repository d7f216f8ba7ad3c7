// The event log, written by every write beside its change, and the
// webhook outbox it fills: endpoints, deliveries and their attempts.

use crate::log::{
    AttemptOutcome, AttemptRecord, ClaimedDelivery, DeliveryRecord, DeliveryStatus, EndpointRecord,
    EventFilter, EventRecord, agent_event_type, subscribed,
};

/// Records `event` in the log, in a write's transaction, with a delivery
/// for every enabled endpoint of its tenant that receives its type.
async fn log_event(tx: &mut Tx, event: &EventRecord) -> Result<()> {
    insert_log_row(tx, event).await?;
    for endpoint_id in receivers(tx, &event.tenant_id, &event.event_type).await? {
        insert_delivery(
            tx,
            &event.tenant_id,
            &endpoint_id,
            &event.id,
            event.created_ms,
        )
        .await?;
    }
    Ok(())
}

/// Records `event` in the log alone, sent nowhere.
async fn insert_log_row(tx: &mut Tx, event: &EventRecord) -> Result<()> {
    bind_log_row(sqlx::query(INSERT_LOG_ROW), event)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records an event in the log: [`bind_log_row`].
const INSERT_LOG_ROW: &str =
    "INSERT INTO events (id, tenant_id, type, actor, actor_name, object_type, object_id,
                     agent_id, kind, message, intent_id, data, request_id, created_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

fn bind_log_row<B: Binds>(b: B, event: &EventRecord) -> B {
    b.bind_next(&event.id)
        .bind_next(&event.tenant_id)
        .bind_next(&event.event_type)
        .bind_next(&event.actor)
        .bind_next(&event.actor_name)
        .bind_next(&event.object_type)
        .bind_next(&event.object_id)
        .bind_next(&event.agent_id)
        .bind_next(&event.kind)
        .bind_next(&event.message)
        .bind_next(&event.intent_id)
        .bind_next(&event.data)
        .bind_next(&event.request_id)
        .bind_next(event.created_ms)
}

/// The tenant's enabled endpoints that receive `event_type`.
async fn receivers(tx: &mut Tx, tenant_id: &str, event_type: &str) -> Result<Vec<String>> {
    Ok(enabled_endpoints(tx, tenant_id)
        .await?
        .into_iter()
        .filter(|endpoint| endpoint.receives(event_type))
        .map(|endpoint| endpoint.id)
        .collect())
}

/// An enabled endpoint of a tenant and the event types it receives.
#[derive(Clone, Debug)]
struct Receiver {
    id: String,
    patterns: Vec<String>,
}

impl Receiver {
    fn receives(&self, event_type: &str) -> bool {
        subscribed(&self.patterns, event_type)
    }

    /// The endpoint a row's `id` and `events` name; none where the row
    /// has no `id` (an outer join that found no endpoint).
    fn of_row(row: &DbRow) -> Result<Option<Receiver>> {
        let Some(id) = row.try_get::<Option<String>, _>("id")? else {
            return Ok(None);
        };
        Ok(Some(Receiver {
            id,
            patterns: parse_json("webhook_endpoints.events", row.try_get("events")?)?,
        }))
    }
}

/// The tenant's enabled endpoints.
async fn enabled_endpoints(tx: &mut Tx, tenant_id: &str) -> Result<Vec<Receiver>> {
    let endpoints = sqlx::query(
        "SELECT id, events FROM webhook_endpoints WHERE tenant_id = $1 AND disabled_ms IS NULL",
    )
    .bind(tenant_id)
    .fetch_all(&mut **tx)
    .await?;
    endpoints
        .iter()
        .filter_map(|row| Receiver::of_row(row).transpose())
        .collect()
}

async fn insert_delivery(
    tx: &mut Tx,
    tenant_id: &str,
    endpoint_id: &str,
    event_id: &str,
    now_ms: i64,
) -> Result<()> {
    bind_delivery(
        sqlx::query(INSERT_DELIVERY),
        tenant_id,
        endpoint_id,
        event_id,
        now_ms,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues an event for an endpoint: [`bind_delivery`].
const INSERT_DELIVERY: &str =
    "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, status, attempts,
                                 next_attempt_ms, created_ms, updated_ms)
     VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5)";

fn bind_delivery<B: Binds>(
    b: B,
    tenant_id: &str,
    endpoint_id: &str,
    event_id: &str,
    now_ms: i64,
) -> B {
    b.bind_next(crate::log::new_id("whd"))
        .bind_next(tenant_id)
        .bind_next(endpoint_id)
        .bind_next(event_id)
        .bind_next(now_ms)
}

/// A new event of the log, made now by `actor` in the current request.
#[allow(clippy::too_many_arguments)]
fn new_event(
    tenant_id: &str,
    event_type: &str,
    actor: &Actor,
    object_type: &str,
    object_id: &str,
    agent_id: Option<&str>,
    data: String,
    at_ms: i64,
) -> EventRecord {
    EventRecord {
        id: crate::log::new_id("evt"),
        tenant_id: tenant_id.to_owned(),
        event_type: event_type.to_owned(),
        actor: actor.id.clone(),
        actor_name: actor.name.clone(),
        object_type: object_type.to_owned(),
        object_id: object_id.to_owned(),
        agent_id: agent_id.map(str::to_owned),
        kind: None,
        message: None,
        intent_id: None,
        data,
        request_id: crate::log::request_id(),
        created_ms: at_ms,
    }
}

/// Logs what an intent's history entry records, the intent being as
/// `intent` shows after it: its declaration and decision, a move, a
/// verification, an approval that four eyes still wait on, and a
/// settlement's flag.
async fn log_intent_event(
    tx: &mut Tx,
    event: &IntentEvent,
    intent: &IntentRecord,
    flagged: bool,
) -> Result<()> {
    for logged in intent_event_records(event, intent, flagged) {
        log_event(tx, &logged).await?;
    }
    Ok(())
}

/// The events of the log an intent's history entry makes:
/// [`log_intent_event`].
fn intent_event_records(
    event: &IntentEvent,
    intent: &IntentRecord,
    flagged: bool,
) -> Vec<EventRecord> {
    let actor = Actor {
        id: event.actor.clone(),
        name: event.actor_name.clone(),
    };
    let data = crate::log::views().intent(intent);
    let mut types = Vec::with_capacity(2);
    match event.from {
        _ if let Some(kind) = &event.kind => types.push(format!("intent.{kind}")),
        None => {
            types.push("intent.created".to_owned());
            types.push(format!("intent.{}", event.to.as_str()));
        }
        Some(from) if from == event.to => {
            if event.settlement.is_some() && !flagged {
                types.push("intent.verified".to_owned());
            } else if event.settlement.is_none() {
                types.push("intent.approval_added".to_owned());
            }
        }
        Some(_) => types.push(format!("intent.{}", event.to.as_str())),
    }
    if flagged {
        types.push("intent.flagged".to_owned());
    }
    types
        .into_iter()
        .map(|event_type| {
            let mut logged = new_event(
                &intent.tenant_id,
                &event_type,
                &actor,
                "intent",
                &intent.id,
                Some(&intent.agent_id),
                data.clone(),
                event.at_ms,
            );
            logged.intent_id = Some(intent.id.clone());
            logged
        })
        .collect()
}

/// The intent `id` as the write's transaction sees it.
async fn intent_in(tx: &mut Tx, id: &str) -> Result<IntentRecord> {
    let sql = format!("SELECT {INTENT_COLUMNS} FROM intents WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    intent_row(&row)
}

/// The agent `id` as the write's transaction sees it.
async fn agent_in(tx: &mut Tx, id: &str) -> Result<Option<AgentRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {AGENT_FIELDS} FROM {AGENT_FROM} WHERE a.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(agent_row).transpose()
}

/// Logs an agent event, the agent being as the transaction sees it; a
/// token's event is about the token.
async fn log_agent_event(tx: &mut Tx, event: &AgentEvent) -> Result<()> {
    let data = match agent_in(tx, &event.agent_id).await? {
        Some(agent) => crate::log::views().agent(&agent),
        None => serde_json::json!({ "id": event.agent_id }).to_string(),
    };
    log_agent_event_about(tx, event, "agent", &event.agent_id, data).await
}

async fn log_agent_event_about(
    tx: &mut Tx,
    event: &AgentEvent,
    object_type: &str,
    object_id: &str,
    data: String,
) -> Result<()> {
    let logged = EventRecord {
        id: event.id.clone(),
        tenant_id: event.tenant_id.clone(),
        event_type: agent_event_type(&event.kind, &event.actor),
        actor: event.actor.clone(),
        actor_name: event.actor_name.clone(),
        object_type: object_type.to_owned(),
        object_id: object_id.to_owned(),
        agent_id: Some(event.agent_id.clone()),
        kind: Some(event.kind.clone()),
        message: Some(event.message.clone()),
        intent_id: event.intent_id.clone(),
        data,
        request_id: crate::log::request_id(),
        created_ms: event.at_ms,
    };
    log_event(tx, &logged).await
}

const EVENT_COLUMNS: &str = "id, tenant_id, type, actor, actor_name, object_type, object_id, \
                             agent_id, kind, message, intent_id, data, request_id, created_ms";

fn log_event_row(row: &DbRow) -> Result<EventRecord> {
    Ok(EventRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        event_type: row.try_get("type")?,
        actor: row.try_get("actor")?,
        actor_name: row.try_get("actor_name")?,
        object_type: row.try_get("object_type")?,
        object_id: row.try_get("object_id")?,
        agent_id: row.try_get("agent_id")?,
        kind: row.try_get("kind")?,
        message: row.try_get("message")?,
        intent_id: row.try_get("intent_id")?,
        data: row.try_get("data")?,
        request_id: row.try_get("request_id")?,
        created_ms: row.try_get("created_ms")?,
    })
}

const ENDPOINT_COLUMNS: &str = "id, tenant_id, url, events, description, secret, previous_secret, \
                                previous_until_ms, disabled_ms, disabled_reason, created_ms, \
                                updated_ms";

fn endpoint_row(row: &DbRow) -> Result<EndpointRecord> {
    Ok(EndpointRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        url: row.try_get("url")?,
        events: parse_json("webhook_endpoints.events", row.try_get("events")?)?,
        description: row.try_get("description")?,
        secret: row.try_get("secret")?,
        previous_secret: row.try_get("previous_secret")?,
        previous_until_ms: row.try_get("previous_until_ms")?,
        disabled_ms: row.try_get("disabled_ms")?,
        disabled_reason: row.try_get("disabled_reason")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
    })
}

fn delivery_status(text: &str) -> Result<DeliveryStatus> {
    parse_enum("webhook_deliveries.status", text)
}

/// Logs a change of an endpoint.
async fn log_endpoint_event(
    tx: &mut Tx,
    endpoint: &EndpointRecord,
    event_type: &str,
    actor: &Actor,
    at_ms: i64,
) -> Result<()> {
    let data = crate::log::views().endpoint(endpoint);
    let event = new_event(
        &endpoint.tenant_id,
        event_type,
        actor,
        "webhook_endpoint",
        &endpoint.id,
        None,
        data,
        at_ms,
    );
    log_event(tx, &event).await
}

async fn endpoint_in(tx: &mut Tx, tenant_id: &str, id: &str) -> Result<Option<EndpointRecord>> {
    let sql = format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2{FOR_UPDATE}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(endpoint_row).transpose()
}

#[async_trait]
impl EventRepository for ThisStore {
    async fn events(
        &self,
        tenant_id: &str,
        filter: &EventFilter,
        page: &Page,
    ) -> Result<Vec<EventRecord>> {
        let (cmp, order) = if filter.oldest_first {
            (">", "ASC")
        } else {
            ("<", "DESC")
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE tenant_id = $1
               AND (CAST($2 AS TEXT) IS NULL OR type LIKE $2 ESCAPE '\\')
               AND (CAST($3 AS TEXT) IS NULL OR object_id = $3)
               AND (CAST($4 AS TEXT) IS NULL OR agent_id = $4)
               AND ($5 = 0 OR kind IS NOT NULL)
               AND (CAST($6 AS BIGINT) IS NULL OR created_ms >= $6)
               AND (CAST($7 AS TEXT) IS NULL
                    OR seq {cmp} (SELECT seq FROM events WHERE tenant_id = $1 AND id = $7))
             ORDER BY seq {order} LIMIT $8"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(filter.type_pattern())
            .bind(&filter.object_id)
            .bind(&filter.agent_id)
            .bind(i64::from(filter.agent_events_only))
            .bind(filter.since_ms)
            .bind(&page.after)
            .bind(limit_plus_one(page))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(log_event_row)
            .collect()
    }

    async fn event(&self, tenant_id: &str, id: &str) -> Result<Option<EventRecord>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(log_event_row).transpose()
    }

    async fn redeliver(&self, tenant_id: &str, event_id: &str, now_ms: i64) -> Result<Option<u64>> {
        let mut tx = self.write().await?;
        let Some(row) = sqlx::query("SELECT type FROM events WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let event_type: String = row.try_get("type")?;
        let mut queued = 0;
        for endpoint_id in receivers(&mut tx, tenant_id, &event_type).await? {
            // A delivery that is still pending is sent at once; one that
            // ended (delivered, or failed after its schedule) is sent again
            // as a new delivery, with a schedule of its own, its attempts
            // kept beside it.
            let moved = sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_ms = $1, updated_ms = $1
                 WHERE endpoint_id = $2 AND event_id = $3 AND status = 'pending'",
            )
            .bind(now_ms)
            .bind(&endpoint_id)
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() == 0 {
                insert_delivery(&mut tx, tenant_id, &endpoint_id, event_id, now_ms).await?;
            }
            queued += 1;
        }
        tx.commit().await?;
        Ok(Some(queued))
    }
}

#[async_trait]
impl WebhookRepository for ThisStore {
    async fn insert_endpoint(&self, endpoint: &EndpointRecord, actor: &Actor) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, tenant_id, url, events, description, secret,
                                            created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&endpoint.id)
        .bind(&endpoint.tenant_id)
        .bind(&endpoint.url)
        .bind(json_text(&endpoint.events))
        .bind(&endpoint.description)
        .bind(&endpoint.secret)
        .bind(endpoint.created_ms)
        .bind(endpoint.updated_ms)
        .execute(&mut *tx)
        .await?;
        log_endpoint_event(
            &mut tx,
            endpoint,
            "webhook_endpoint.created",
            actor,
            endpoint.created_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn endpoints(&self, tenant_id: &str, page: &Page) -> Result<Vec<EndpointRecord>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
             WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(&page.after)
            .bind(limit_plus_one(page))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(endpoint_row)
            .collect()
    }

    async fn endpoint(&self, tenant_id: &str, id: &str) -> Result<Option<EndpointRecord>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(endpoint_row).transpose()
    }

    async fn update_endpoint(
        &self,
        tenant_id: &str,
        id: &str,
        change: &(dyn for<'e> Fn(&'e mut EndpointRecord) + Sync),
        event_type: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<Option<EndpointRecord>> {
        let mut tx = self.write().await?;
        let Some(mut endpoint) = endpoint_in(&mut tx, tenant_id, id).await? else {
            return Ok(None);
        };
        change(&mut endpoint);
        endpoint.updated_ms = now_ms;
        sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, events = $2, description = $3, secret = $4,
                    previous_secret = $5, previous_until_ms = $6, disabled_ms = $7,
                    disabled_reason = $8, updated_ms = $9
             WHERE id = $10",
        )
        .bind(&endpoint.url)
        .bind(json_text(&endpoint.events))
        .bind(&endpoint.description)
        .bind(&endpoint.secret)
        .bind(&endpoint.previous_secret)
        .bind(endpoint.previous_until_ms)
        .bind(endpoint.disabled_ms)
        .bind(&endpoint.disabled_reason)
        .bind(endpoint.updated_ms)
        .bind(&endpoint.id)
        .execute(&mut *tx)
        .await?;
        log_endpoint_event(&mut tx, &endpoint, event_type, actor, now_ms).await?;
        tx.commit().await?;
        Ok(Some(endpoint))
    }

    async fn delete_endpoint(
        &self,
        tenant_id: &str,
        id: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let Some(endpoint) = endpoint_in(&mut tx, tenant_id, id).await? else {
            return Ok(false);
        };
        sqlx::query(
            "DELETE FROM webhook_attempts WHERE delivery_id IN
                 (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        log_endpoint_event(
            &mut tx,
            &endpoint,
            "webhook_endpoint.deleted",
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn ping_endpoint(
        &self,
        endpoint: &EndpointRecord,
        actor: &Actor,
        now_ms: i64,
    ) -> Result<String> {
        let mut tx = self.write().await?;
        // Sent to this endpoint alone, whatever it receives.
        let event = new_event(
            &endpoint.tenant_id,
            "ping",
            actor,
            "webhook_endpoint",
            &endpoint.id,
            None,
            crate::log::views().endpoint(endpoint),
            now_ms,
        );
        insert_log_row(&mut tx, &event).await?;
        insert_delivery(
            &mut tx,
            &endpoint.tenant_id,
            &endpoint.id,
            &event.id,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(event.id)
    }

    async fn deliveries(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        page: &Page,
    ) -> Result<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT d.id, d.endpoint_id, d.event_id, e.type, d.status, d.attempts,
                    d.next_attempt_ms, d.created_ms, d.updated_ms
             FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
             WHERE d.tenant_id = $1 AND d.endpoint_id = $2
               AND (CAST($3 AS TEXT) IS NULL OR d.id < $3)
             ORDER BY d.id DESC LIMIT $4",
        )
        .bind(tenant_id)
        .bind(endpoint_id)
        .bind(&page.after)
        .bind(limit_plus_one(page))
        .fetch_all(&self.pool)
        .await?;
        let mut deliveries = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id")?;
            let tries = sqlx::query(
                "SELECT n, at_ms, duration_ms, response_status, error FROM webhook_attempts
                 WHERE delivery_id = $1 ORDER BY n",
            )
            .bind(&id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|a| -> Result<AttemptRecord> {
                Ok(AttemptRecord {
                    n: a.try_get("n")?,
                    at_ms: a.try_get("at_ms")?,
                    duration_ms: a.try_get("duration_ms")?,
                    response_status: a.try_get("response_status")?,
                    error: a.try_get("error")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
            deliveries.push(DeliveryRecord {
                id,
                endpoint_id: row.try_get("endpoint_id")?,
                event_id: row.try_get("event_id")?,
                event_type: row.try_get("type")?,
                status: delivery_status(row.try_get("status")?)?,
                attempts: row.try_get("attempts")?,
                next_attempt_ms: row.try_get("next_attempt_ms")?,
                created_ms: row.try_get("created_ms")?,
                updated_ms: row.try_get("updated_ms")?,
                tries,
            });
        }
        Ok(deliveries)
    }

    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        // Candidates from a read, so that a round with nothing due takes
        // no write lock; each is claimed in the write, where a row another
        // server holds is skipped and one claimed meanwhile no longer due.
        // Due, not leased, and to an endpoint that is enabled (a disabled
        // one's deliveries wait for it to be enabled again).
        let due = "status = 'pending' AND next_attempt_ms <= $1
                   AND (claimed_until_ms IS NULL OR claimed_until_ms <= $1)
                   AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled_ms IS NULL)";
        let sql = format!(
            "SELECT id FROM webhook_deliveries WHERE {due} ORDER BY next_attempt_ms LIMIT $2"
        );
        let candidates = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for candidate in &candidates {
            let id: String = candidate.try_get("id")?;
            let sql = format!(
                "SELECT id, attempts, event_id, endpoint_id, tenant_id, created_ms
                 FROM webhook_deliveries WHERE id = $2 AND {due}{FOR_UPDATE}{SKIP_LOCKED}"
            );
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now_ms)
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await?
            else {
                continue;
            };
            sqlx::query("UPDATE webhook_deliveries SET claimed_until_ms = $1 WHERE id = $2")
                .bind(now_ms + lease_ms)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            let tenant_id: String = row.try_get("tenant_id")?;
            let event_id: String = row.try_get("event_id")?;
            let endpoint_id: String = row.try_get("endpoint_id")?;
            let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
            let event = log_event_row(
                &sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&event_id)
                    .fetch_one(&mut *tx)
                    .await?,
            )?;
            let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1");
            let endpoint = endpoint_row(
                &sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&endpoint_id)
                    .fetch_one(&mut *tx)
                    .await?,
            )?;
            debug_assert_eq!(endpoint.tenant_id, tenant_id);
            claimed.push(ClaimedDelivery {
                id,
                attempts: row.try_get("attempts")?,
                created_ms: row.try_get("created_ms")?,
                event,
                endpoint,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn finish_attempt(&self, delivery_id: &str, outcome: &AttemptOutcome) -> Result<()> {
        let mut tx = self.write().await?;
        let attempt = &outcome.attempt;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, n, at_ms, duration_ms, response_status,
                                           error)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (delivery_id, n) DO NOTHING",
        )
        .bind(delivery_id)
        .bind(attempt.n)
        .bind(attempt.at_ms)
        .bind(attempt.duration_ms)
        .bind(attempt.response_status)
        .bind(&attempt.error)
        .execute(&mut *tx)
        .await?;
        let now = attempt.at_ms + attempt.duration_ms;
        let row = sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_ms = $3,
                    claimed_until_ms = NULL, updated_ms = $4
             WHERE id = $5
             RETURNING tenant_id, endpoint_id, created_ms",
        )
        .bind(outcome.status.as_str())
        .bind(attempt.n)
        .bind(outcome.next_attempt_ms)
        .bind(now)
        .bind(delivery_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let (Some(row), Some(reason)) = (row, &outcome.disable_endpoint) {
            let tenant_id: String = row.try_get("tenant_id")?;
            let endpoint_id: String = row.try_get("endpoint_id")?;
            let since: i64 = row.try_get("created_ms")?;
            // Failing for days: nothing reached it since this delivery was
            // written.
            let reached = sqlx::query(
                "SELECT 1 AS one FROM webhook_deliveries
                 WHERE endpoint_id = $1 AND status = 'delivered' AND updated_ms >= $2
                 LIMIT 1",
            )
            .bind(&endpoint_id)
            .bind(since)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
            if !reached
                && let Some(mut endpoint) = endpoint_in(&mut tx, &tenant_id, &endpoint_id).await?
                && endpoint.disabled_ms.is_none()
            {
                endpoint.disabled_ms = Some(now);
                endpoint.disabled_reason = Some(reason.clone());
                endpoint.updated_ms = now;
                sqlx::query(
                    "UPDATE webhook_endpoints SET disabled_ms = $1, disabled_reason = $2,
                            updated_ms = $1
                     WHERE id = $3",
                )
                .bind(now)
                .bind(reason)
                .bind(&endpoint_id)
                .execute(&mut *tx)
                .await?;
                // What is still pending for it fails with it (an event can be
                // sent again once it is enabled: `POST /events/:id/redeliver`).
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'failed', next_attempt_ms = NULL,
                            updated_ms = $1
                     WHERE endpoint_id = $2 AND status = 'pending'",
                )
                .bind(now)
                .bind(&endpoint_id)
                .execute(&mut *tx)
                .await?;
                log_endpoint_event(
                    &mut tx,
                    &endpoint,
                    "webhook_endpoint.disabled",
                    &Actor::named_by_id("system"),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
