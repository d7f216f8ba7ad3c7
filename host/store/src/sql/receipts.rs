// Receipts: each history entry of an intent signed and chained per tenant
// in the write's transaction; the tenants' signing keys; the evaluation
// inputs decisions saw.

use warrant_domain::policy::input::EvaluationInput;
use warrant_domain::policy::record::DecisionRecord;
use warrant_domain::receipt::{self, PolicyRef, Receipt, RuleRecord};

/// What a receipt calls a history entry of an intent: its decision, a
/// move, a verification, an approval that four eyes still wait on, or a
/// settlement's flag; an entry of another kind by its kind
/// (`intent.secret_revealed`).
fn receipt_event(event: &IntentEvent, flagged: bool) -> String {
    if let Some(kind) = &event.kind {
        return format!("intent.{kind}");
    }
    match event.from {
        None => "intent.decided".to_owned(),
        Some(_) if flagged => "intent.flagged".to_owned(),
        Some(from) if from == event.to && event.settlement.is_some() => {
            "intent.verified".to_owned()
        }
        Some(from) if from == event.to => "intent.approval_added".to_owned(),
        Some(_) => format!("intent.{}", event.to.as_str()),
    }
}

/// The receipt of a history entry, the intent being as `intent` shows
/// after it, before its place in the chain is known; `input` is the
/// decision's, for the entry that records it.
fn receipt_of(
    event: &IntentEvent,
    intent: &IntentRecord,
    flagged: bool,
    input: Option<&EvaluationInput>,
) -> Result<Receipt> {
    let decided = event.from.is_none();
    let rules = match input {
        Some(input) if decided => RuleRecord::of_decision(
            &stored_decision("intents.decision", &intent.decision)?,
            input,
        ),
        _ => Vec::new(),
    };
    Ok(Receipt {
        // A declared intent stands as its decision's outcome.
        verdict: decided.then(|| event.to.as_str().to_owned()),
        rules,
        ..unchained(
            intent,
            receipt_event(event, flagged),
            event.from.map(|status| status.as_str().to_owned()),
            event.to.as_str().to_owned(),
            event.at_ms,
        )
    })
}

/// A receipt about `intent`, before its place in the chain is known:
/// its event, the statuses before and after, and the time; no verdict or
/// rules, and the input the intent's decision saw.
fn unchained(
    intent: &IntentRecord,
    event: String,
    from: Option<String>,
    to: String,
    at_ms: i64,
) -> Receipt {
    Receipt {
        format: receipt::FORMAT.to_owned(),
        tenant_id: intent.tenant_id.clone(),
        sequence: 0,
        previous: None,
        intent_id: intent.id.clone(),
        agent_id: intent.agent_id.clone(),
        event,
        from,
        to,
        verdict: None,
        policy: Some(PolicyRef {
            id: intent.policy_id.clone(),
            version: u32::try_from(intent.policy_version).unwrap_or(u32::MAX),
        }),
        rules: Vec::new(),
        input_sha256: intent.input_sha256.clone(),
        at: receipt_time(at_ms),
    }
}

/// The receipt of a charge of a recurring intent: the charge rules'
/// verdict on it (`charge.accepted` or `charge.flagged`), the intent's
/// status unchanged, and the input those rules saw.
fn charge_receipt(
    charge: &ChargeRecord,
    intent: &IntentRecord,
    input: Option<&EvaluationInput>,
    input_sha256: Option<String>,
) -> Result<Receipt> {
    let decision = stored_decision("charges.decision", &charge.decision)?;
    let status = intent.status.as_str();
    let event = if charge.accepted {
        "charge.accepted"
    } else {
        "charge.flagged"
    };
    Ok(Receipt {
        verdict: Some(
            IntentStatus::from_outcome(decision.verdict)
                .as_str()
                .to_owned(),
        ),
        rules: input
            .map(|input| RuleRecord::of_decision(&decision, input))
            .unwrap_or_default(),
        input_sha256,
        ..unchained(
            intent,
            event.to_owned(),
            Some(status.to_owned()),
            status.to_owned(),
            charge.created_ms,
        )
    })
}

/// The sha256 of the input a decision's actions keep.
fn input_sha256_of(actions: &DecisionActions) -> Option<String> {
    actions.input.as_ref().map(|input| input.sha256.clone())
}

/// A decision as kept in `column`.
fn stored_decision(column: &'static str, text: &str) -> Result<DecisionRecord> {
    DecisionRecord::parse(text).map_err(|e| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}

/// A time as receipts write it: RFC 3339, UTC, milliseconds.
fn receipt_time(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Adds `receipt` to its tenant's chain, signed with the tenant's key, in
/// the write's transaction: the chain's head stays locked until the write
/// commits, and is made with the tenant's first key for its first
/// receipt. Gives the receipt's compact JWS and the head it leaves.
async fn append_receipt(
    tx: &mut Tx,
    receipt: Receipt,
    event_id: &str,
    at_ms: i64,
) -> Result<(String, ChainHead)> {
    let head = locked_head(tx, &receipt.tenant_id, at_ms).await?;
    let key = signing_key(tx, &head.kid).await?;
    let chained = chain(receipt, &head, &key, event_id, at_ms);
    if DATA_MODIFYING_WITH {
        // One round trip less while the chain's row is locked.
        let both = sqlx::query(sqlx::AssertSqlSafe(KEEP_RECEIPT_AND_MOVE_HEAD.as_str()));
        bind_chain_head(bind_receipt(both, &chained), &chained)
            .execute(&mut **tx)
            .await?;
    } else {
        bind_receipt(sqlx::query(INSERT_RECEIPT), &chained)
            .execute(&mut **tx)
            .await?;
        bind_chain_head(sqlx::query(MOVE_CHAIN_HEAD), &chained)
            .execute(&mut **tx)
            .await?;
    }
    let moved = chained.head_after(head.kid);
    Ok((chained.jws, moved))
}

/// [`INSERT_RECEIPT`] and [`MOVE_CHAIN_HEAD`] as one statement, where the
/// database writes through `WITH`: [`bind_receipt`], then
/// [`bind_chain_head`].
static KEEP_RECEIPT_AND_MOVE_HEAD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let (_, receipt_values) = renumbered(INSERT_RECEIPT, 0);
    let (move_head, _) = renumbered(MOVE_CHAIN_HEAD, receipt_values);
    format!("WITH kept AS ({INSERT_RECEIPT}) {move_head}")
});

/// A receipt signed in its place after `head`, ready to be kept.
struct Chained {
    tenant_id: String,
    intent_id: String,
    event_id: String,
    sequence: i64,
    jws: String,
    at_ms: i64,
}

impl Chained {
    /// The chain's head once this receipt, signed with `kid`, is kept.
    fn head_after(&self, kid: String) -> ChainHead {
        ChainHead {
            kid,
            sequence: self.sequence,
            last_sha256: Some(receipt::digest(&self.jws)),
        }
    }
}

/// Signs `receipt` with `key` as the next after `head`.
fn chain(
    mut receipt: Receipt,
    head: &ChainHead,
    key: &receipt::SigningKey,
    event_id: &str,
    at_ms: i64,
) -> Chained {
    let sequence = head.sequence + 1;
    receipt.sequence = u64::try_from(sequence).unwrap_or(u64::MAX);
    receipt.previous = head.last_sha256.clone();
    let jws = receipt::sign(&receipt, &head.kid, key);
    Chained {
        tenant_id: receipt.tenant_id,
        intent_id: receipt.intent_id,
        event_id: event_id.to_owned(),
        sequence,
        jws,
        at_ms,
    }
}

/// Keeps a chained receipt: [`bind_receipt`].
const INSERT_RECEIPT: &str =
    "INSERT INTO receipts (tenant_id, sequence, intent_id, event_id, jws, created_ms)
     VALUES ($1, $2, $3, $4, $5, $6)";

fn bind_receipt<B: Binds>(b: B, chained: &Chained) -> B {
    b.bind_next(&chained.tenant_id)
        .bind_next(chained.sequence)
        .bind_next(&chained.intent_id)
        .bind_next(&chained.event_id)
        .bind_next(&chained.jws)
        .bind_next(chained.at_ms)
}

/// Moves the chain's head to a kept receipt: [`bind_chain_head`].
const MOVE_CHAIN_HEAD: &str =
    "UPDATE receipt_chains SET sequence = $1, last_sha256 = $2 WHERE tenant_id = $3";

fn bind_chain_head<B: Binds>(b: B, chained: &Chained) -> B {
    b.bind_next(chained.sequence)
        .bind_next(receipt::digest(&chained.jws))
        .bind_next(&chained.tenant_id)
}

/// The head of the tenant's chain, locked for the rest of the write; made
/// with a first key when the tenant has none.
async fn locked_head(tx: &mut Tx, tenant_id: &str, at_ms: i64) -> Result<ChainHead> {
    if let Some(head) = head_in(tx, tenant_id).await? {
        return Ok(head);
    }
    let made = new_signing_key(tx, tenant_id, at_ms).await?;
    let started = sqlx::query(
        "INSERT INTO receipt_chains (tenant_id, kid, sequence, last_sha256)
         VALUES ($1, $2, 0, NULL) ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(&made.kid)
    .execute(&mut **tx)
    .await?;
    if started.rows_affected() == 0 {
        // Another server started the chain first: its key signs.
        sqlx::query("DELETE FROM signing_keys WHERE kid = $1")
            .bind(&made.kid)
            .execute(&mut **tx)
            .await?;
    }
    head_in(tx, tenant_id)
        .await?
        .ok_or_else(|| StoreError::Keys(format!("the chain of tenant `{tenant_id}` was not kept")))
}

async fn head_in(tx: &mut Tx, tenant_id: &str) -> Result<Option<ChainHead>> {
    let sql = format!(
        "SELECT kid, sequence, last_sha256 FROM receipt_chains WHERE tenant_id = $1{FOR_UPDATE}"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant_id)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(head_row)
        .transpose()
}

fn head_row(row: &DbRow) -> Result<ChainHead> {
    Ok(ChainHead {
        kid: row.try_get("kid")?,
        sequence: row.try_get("sequence")?,
        last_sha256: row.try_get("last_sha256")?,
    })
}

/// Makes and keeps a new signing key of the tenant, its secret half
/// sealed by the store's vault.
async fn new_signing_key(tx: &mut Tx, tenant_id: &str, at_ms: i64) -> Result<SigningKeyRecord> {
    let (key, sealed) = tx.signing.new_key()?;
    let public = key.verifying_key();
    let record = SigningKeyRecord {
        kid: receipt::key_id(&public),
        tenant_id: tenant_id.to_owned(),
        public_key: receipt::Jwk::ed25519("", &public).x,
        created_ms: at_ms,
        retired_ms: None,
    };
    sqlx::query(
        "INSERT INTO signing_keys (kid, tenant_id, public_key, sealed_secret, created_ms)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&record.kid)
    .bind(tenant_id)
    .bind(&record.public_key)
    .bind(&sealed)
    .bind(at_ms)
    .execute(&mut **tx)
    .await?;
    tx.signing.keep(&record.kid, key);
    Ok(record)
}

/// The secret key `kid`, opened by the store's vault.
async fn signing_key(tx: &mut Tx, kid: &str) -> Result<receipt::SigningKey> {
    if let Some(key) = tx.signing.cached(kid) {
        return Ok(key);
    }
    let sealed: String =
        sqlx::query_scalar("SELECT sealed_secret FROM signing_keys WHERE kid = $1")
            .bind(kid)
            .fetch_one(&mut **tx)
            .await?;
    tx.signing.open(kid, &sealed)
}

/// The newest receipt of an intent, as the write's transaction sees it.
async fn latest_receipt_in(tx: &mut Tx, intent_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT jws FROM receipts WHERE intent_id = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(intent_id)
    .fetch_optional(&mut **tx)
    .await?)
}

fn signing_key_row(row: &DbRow) -> Result<SigningKeyRecord> {
    Ok(SigningKeyRecord {
        kid: row.try_get("kid")?,
        tenant_id: row.try_get("tenant_id")?,
        public_key: row.try_get("public_key")?,
        created_ms: row.try_get("created_ms")?,
        retired_ms: row.try_get("retired_ms")?,
    })
}

fn receipt_row(row: &DbRow) -> Result<ReceiptRecord> {
    Ok(ReceiptRecord {
        sequence: row.try_get("sequence")?,
        intent_id: row.try_get("intent_id")?,
        event_id: row.try_get("event_id")?,
        jws: row.try_get("jws")?,
        created_ms: row.try_get("created_ms")?,
    })
}

/// Keeps the evaluation input a decision's actions carry, if any, and
/// gives it as the receipt reads it.
async fn keep_decision_input(
    tx: &mut Tx,
    tenant_id: &str,
    actions: &DecisionActions,
    at_ms: i64,
) -> Result<Option<EvaluationInput>> {
    let Some(stored) = &actions.input else {
        return Ok(None);
    };
    keep_input(tx, tenant_id, stored, at_ms).await?;
    decision_input(actions)
}

/// The evaluation input a decision's actions carry, as the receipt reads
/// it.
fn decision_input(actions: &DecisionActions) -> Result<Option<EvaluationInput>> {
    let Some(stored) = &actions.input else {
        return Ok(None);
    };
    EvaluationInput::parse(&stored.body)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            column: "evaluation_inputs.body",
            detail: e.to_string(),
        })
}

/// Keeps a decision's evaluation input and its configurations, each once.
async fn keep_input(tx: &mut Tx, tenant_id: &str, input: &StoredInput, at_ms: i64) -> Result<()> {
    bind_input(sqlx::query(KEEP_INPUT), tenant_id, input, at_ms)
        .execute(&mut **tx)
        .await?;
    for config in &input.configs {
        bind_config(sqlx::query(KEEP_CONFIG), config)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Keeps an evaluation input once: [`bind_input`].
const KEEP_INPUT: &str = "INSERT INTO evaluation_inputs (sha256, tenant_id, body, created_ms)
     VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING";

fn bind_input<B: Binds>(b: B, tenant_id: &str, input: &StoredInput, at_ms: i64) -> B {
    b.bind_next(&input.sha256)
        .bind_next(tenant_id)
        .bind_next(&input.body)
        .bind_next(at_ms)
}

/// Keeps a configuration once, by its sha256: [`bind_config`].
const KEEP_CONFIG: &str = "INSERT INTO evaluation_configs (sha256, config) VALUES ($1, $2)
     ON CONFLICT (sha256) DO NOTHING";

fn bind_config<B: Binds>(b: B, (sha256, config): (&String, &String)) -> B {
    b.bind_next(sha256).bind_next(config)
}

/// Replaces the answer remembered for an idempotency key claimed earlier
/// in the write, now that the answer is complete.
async fn remember_again(tx: &mut Tx, idem: Option<&IdempotencyRecord>) -> Result<()> {
    let Some(idem) = idem else { return Ok(()) };
    bind_remember_again(sqlx::query(REMEMBER_AGAIN), idem)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Replaces a claimed key's answer: [`bind_remember_again`].
const REMEMBER_AGAIN: &str =
    "UPDATE idempotency SET status = $1, body = $2 WHERE scope = $3 AND key = $4";

fn bind_remember_again<B: Binds>(b: B, idem: &IdempotencyRecord) -> B {
    b.bind_next(i64::from(idem.status))
        .bind_next(&idem.body)
        .bind_next(&idem.scope)
        .bind_next(&idem.key)
}

fn publisher_key_row(row: &DbRow) -> Result<PublisherKeyRecord> {
    Ok(PublisherKeyRecord {
        tenant_id: row.try_get("tenant_id")?,
        kid: row.try_get("kid")?,
        name: row.try_get("name")?,
        public_key: row.try_get("public_key")?,
        created_ms: row.try_get("created_ms")?,
    })
}

#[async_trait]
impl ReceiptRepository for ThisStore {
    async fn insert_publisher_key(&self, key: &PublisherKeyRecord) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO publisher_keys (tenant_id, kid, name, public_key, created_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.tenant_id)
        .bind(&key.kid)
        .bind(&key.name)
        .bind(&key.public_key)
        .bind(key.created_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_as(e, StoreError::Duplicate))?;
        tx.commit().await?;
        Ok(())
    }

    async fn publisher_keys(&self, tenant_id: &str) -> Result<Vec<PublisherKeyRecord>> {
        sqlx::query(
            "SELECT tenant_id, kid, name, public_key, created_ms FROM publisher_keys
             WHERE tenant_id = $1 ORDER BY created_ms, kid",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(publisher_key_row)
        .collect()
    }

    async fn publisher_key(
        &self,
        tenant_id: &str,
        kid: &str,
    ) -> Result<Option<PublisherKeyRecord>> {
        sqlx::query(
            "SELECT tenant_id, kid, name, public_key, created_ms FROM publisher_keys
             WHERE tenant_id = $1 AND kid = $2",
        )
        .bind(tenant_id)
        .bind(kid)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(publisher_key_row)
        .transpose()
    }

    async fn signing_keys(&self, tenant_id: Option<&str>) -> Result<Vec<SigningKeyRecord>> {
        sqlx::query(
            "SELECT kid, tenant_id, public_key, created_ms, retired_ms FROM signing_keys
             WHERE CAST($1 AS TEXT) IS NULL OR tenant_id = $1
             ORDER BY tenant_id, created_ms, kid",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(signing_key_row)
        .collect()
    }

    async fn rotate_signing_key(&self, tenant_id: &str, at_ms: i64) -> Result<SigningKeyRecord> {
        let mut tx = self.write().await?;
        let head = locked_head(&mut tx, tenant_id, at_ms).await?;
        let made = new_signing_key(&mut tx, tenant_id, at_ms).await?;
        sqlx::query("UPDATE signing_keys SET retired_ms = $1 WHERE kid = $2")
            .bind(at_ms)
            .bind(&head.kid)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE receipt_chains SET kid = $1 WHERE tenant_id = $2")
            .bind(&made.kid)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(made)
    }

    async fn intent_receipts(
        &self,
        tenant_id: &str,
        intent_id: &str,
    ) -> Result<Vec<ReceiptRecord>> {
        sqlx::query(
            "SELECT sequence, intent_id, event_id, jws, created_ms FROM receipts
             WHERE tenant_id = $1 AND intent_id = $2 ORDER BY sequence",
        )
        .bind(tenant_id)
        .bind(intent_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(receipt_row)
        .collect()
    }

    async fn latest_intent_receipt(
        &self,
        tenant_id: &str,
        intent_id: &str,
    ) -> Result<Option<ReceiptRecord>> {
        sqlx::query(
            "SELECT sequence, intent_id, event_id, jws, created_ms FROM receipts
             WHERE tenant_id = $1 AND intent_id = $2 ORDER BY sequence DESC LIMIT 1",
        )
        .bind(tenant_id)
        .bind(intent_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(receipt_row)
        .transpose()
    }

    async fn receipts(
        &self,
        tenant_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<ReceiptRecord>> {
        sqlx::query(
            "SELECT sequence, intent_id, event_id, jws, created_ms FROM receipts
             WHERE tenant_id = $1 AND sequence >= $2 AND sequence <= $3
             ORDER BY sequence LIMIT $4",
        )
        .bind(tenant_id)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(receipt_row)
        .collect()
    }

    async fn chain_head(&self, tenant_id: &str) -> Result<Option<ChainHead>> {
        sqlx::query("SELECT kid, sequence, last_sha256 FROM receipt_chains WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(head_row)
            .transpose()
    }

    async fn evaluation_input_text(&self, tenant_id: &str, sha256: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT body FROM evaluation_inputs WHERE tenant_id = $1 AND sha256 = $2",
        )
        .bind(tenant_id)
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn evaluation_input(&self, tenant_id: &str, sha256: &str) -> Result<Option<StoredInput>> {
        let Some(body) = self.evaluation_input_text(tenant_id, sha256).await? else {
            return Ok(None);
        };
        let input = EvaluationInput::parse(&body).map_err(|e| StoreError::Corrupt {
            column: "evaluation_inputs.body",
            detail: e.to_string(),
        })?;
        let mut configs = std::collections::BTreeMap::new();
        for step in input.risk.iter().chain(&input.rules) {
            if configs.contains_key(&step.config_sha256) {
                continue;
            }
            let config: Option<String> =
                sqlx::query_scalar("SELECT config FROM evaluation_configs WHERE sha256 = $1")
                    .bind(&step.config_sha256)
                    .fetch_optional(&self.pool)
                    .await?;
            if let Some(config) = config {
                configs.insert(step.config_sha256.clone(), config);
            }
        }
        Ok(Some(StoredInput {
            sha256: sha256.to_owned(),
            body,
            configs,
        }))
    }
}
