//! `/intents`: declare an intent (decided by the agent's policy), read it,
//! and move it through its lifecycle.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use warrant_domain::context::{AgentStatus, Card, Intent};
use warrant_domain::decision::VerdictKind;
use warrant_domain::intent::{IntentRequest, MAX_NAME_CHARS, MAX_PURPOSE_CHARS};
use warrant_domain::lifecycle::{IntentStatus, Transition};
use warrant_domain::money::{self, Money};
use warrant_domain::policy::{Outcome, PolicyDecision};
use warrant_domain::settlement::Reporter;
use warrant_store::{
    IntentEvent, IntentFilter, IntentRecord, SettledAmount, SettlementUpdate, SettlementWrite,
    StatusChange, StoreError,
};

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::decide::{DecisionView, actions_of, currency_of, decide};
use crate::errors::{ApiError, Result};
use crate::http::{
    ApiPath, ApiQuery, Listing, Reply, Submission, Ticket, checked_text, new_id, now_ms, number,
    once, rfc3339,
};
use crate::policies::{PolicyDoc, compiled};

/// The largest amount accepted, in minor units: ten trillion euros. Far
/// beyond any payment, and far enough below 2^63 that sums of amounts stay
/// exact in a 64-bit database column.
const MAX_AMOUNT_MINOR: u64 = 1_000_000_000_000_000;
/// How many due intents the sweeper expires per batch.
const SWEEP_BATCH: i64 = 500;
/// Why an intent expired.
const EXPIRY_REASON: &str = "its time to live ended";

/// An intent as the API shows it: the request's fields, its status and
/// its decision.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IntentView<'a> {
    id: &'a str,
    status: IntentStatus,
    agent_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_name: Option<&'a str>,
    purpose: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_amount_euros: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_merchant: Option<&'a str>,
    currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurring: Option<RecurringView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_intent_id: Option<&'a str>,
    ttl_minutes: u32,
    expires_at: String,
    created_at: String,
    updated_at: String,
    policy_id: &'a str,
    policy_version: i64,
    decision: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    settlement: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<EventView<'a>>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecurringView {
    cadence: warrant_domain::context::Cadence,
    window_start_days_before: u32,
    window_end_days_after: u32,
    amount_tolerance_percent: Box<RawValue>,
    merchant_match: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventView<'a> {
    from: Option<IntentStatus>,
    to: IntentStatus,
    actor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    at: String,
}

fn raw(text: &str) -> Result<&RawValue> {
    serde_json::from_str(text).map_err(ApiError::internal)
}

fn view(record: &IntentRecord, events: Option<&[IntentEvent]>) -> Result<Reply> {
    view_with(StatusCode::OK, record, events)
}

fn view_with(
    status: StatusCode,
    record: &IntentRecord,
    events: Option<&[IntentEvent]>,
) -> Result<Reply> {
    Reply::json(status, &intent_view(record, events)?)
}

fn intent_view<'a>(
    record: &'a IntentRecord,
    events: Option<&'a [IntentEvent]>,
) -> Result<IntentView<'a>> {
    let intent = &record.intent;
    let (card_id, card_name) = match &intent.card {
        Card::Id(id) => (Some(id.as_str()), None),
        Card::Name(name) => (None, Some(name.as_str())),
    };
    let recurring = intent
        .recurring
        .map(|terms| -> Result<RecurringView> {
            Ok(RecurringView {
                cadence: terms.cadence,
                window_start_days_before: terms.window_start_days_before,
                window_end_days_after: terms.window_end_days_after,
                amount_tolerance_percent: number(money::format_percent_bps(
                    terms.amount_tolerance_bps,
                ))?,
                merchant_match: terms.merchant_match,
            })
        })
        .transpose()?;
    Ok(IntentView {
        id: &record.id,
        status: record.status,
        agent_id: &record.agent_id,
        card_id,
        card_name,
        purpose: &intent.purpose,
        expected_amount_euros: intent
            .amount
            .map(|amount| number(amount.major_units_text()))
            .transpose()?,
        expected_merchant: intent.merchant.as_deref(),
        currency: currency_of(intent).code(),
        recurring,
        client_intent_id: intent.client_intent_id.as_deref(),
        ttl_minutes: intent.ttl_minutes,
        expires_at: rfc3339(record.expires_ms),
        created_at: rfc3339(record.created_ms),
        updated_at: rfc3339(record.updated_ms),
        policy_id: &record.policy_id,
        policy_version: record.policy_version,
        decision: raw(&record.decision)?,
        status_reason: record.status_reason.as_deref(),
        settlement: record.settlement.as_deref().map(raw).transpose()?,
        history: events.map(|events| {
            events
                .iter()
                .map(|event| EventView {
                    from: event.from,
                    to: event.to,
                    actor: &event.actor,
                    reason: event.reason.as_deref(),
                    at: rfc3339(event.at_ms),
                })
                .collect()
        }),
    })
}

/// The reason of the first counting rule whose verdict made the outcome.
fn outcome_reason(decision: &PolicyDecision) -> Option<String> {
    let verdict = match decision.outcome {
        Outcome::Approved => return None,
        Outcome::PendingApproval => VerdictKind::Review,
        Outcome::Denied => VerdictKind::Deny,
    };
    decision
        .trace
        .iter()
        .filter(|entry| entry.counts() && entry.verdict == Some(verdict))
        .find_map(|entry| entry.reason.clone())
}

/// The tenant's intent, expired first if its time to live has ended.
async fn current(
    state: &AppState,
    principal: &Principal,
    id: &str,
    permission: Permission,
) -> Result<IntentRecord> {
    let tenant_id = principal.tenant_id()?;
    let record = state
        .store
        .intent(tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("intent", id))?;
    principal.may(&record.agent_id, permission)?;
    expire_if_due(state, record).await
}

/// Whether an intent expires when its time to live ends: pending and
/// approved ones do, except an approved recurring intent, which stays
/// approved across its series until it is cancelled, completed or failed.
fn lives_out(record: &IntentRecord) -> bool {
    record.status.can_expire()
        && !(record.status == IntentStatus::Approved && record.intent.recurring.is_some())
}

/// Expires an intent whose time to live has ended and that is still
/// pending or approved, and returns it as it now stands.
async fn expire_if_due(state: &AppState, record: IntentRecord) -> Result<IntentRecord> {
    let now = now_ms();
    if !lives_out(&record) || record.expires_ms > now {
        return Ok(record);
    }
    expire(state, &record.tenant_id, &record.id, record.status, now).await?;
    state
        .store
        .intent(&record.tenant_id, &record.id)
        .await?
        .ok_or_else(|| ApiError::internal("an expired intent vanished"))
}

async fn expire(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    from: IntentStatus,
    now: i64,
) -> Result<bool> {
    let change = StatusChange {
        tenant_id: tenant_id.to_owned(),
        event: IntentEvent {
            id: new_id("ev"),
            intent_id: id.to_owned(),
            from: Some(from),
            to: IntentStatus::Expired,
            actor: "system".into(),
            reason: Some(EXPIRY_REASON.into()),
            at_ms: now,
        },
        settlement: None,
        seen_updated_ms: None,
        require_unexpired: false,
        require_active_agent: false,
    };
    Ok(state.store.change_status(&change, None).await?)
}

/// Expires every intent whose time to live has ended, but those of agents
/// another server is working on right now, which its next round takes.
pub(crate) async fn expire_due(state: &AppState) -> Result<u64> {
    let mut expired = 0;
    loop {
        let events = state
            .store
            .expire_due(now_ms(), SWEEP_BATCH, EXPIRY_REASON, &|| new_id("ev"))
            .await?;
        expired += events.len() as u64;
        if (events.len() as i64) < SWEEP_BATCH {
            return Ok(expired);
        }
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant_id()?.to_owned();
    let request = IntentRequest::from_json(submission.text()?)?;
    let agent_id = match (&request.agent_id, principal.own_agent()) {
        (Some(id), _) => id.trim().to_owned(),
        (None, Some(own)) => own.to_owned(),
        (None, None) => return Err(ApiError::validation("agentId", "is required")),
    };
    principal.may(&agent_id, Permission::Create)?;
    once(&state, &principal, &submission, async |ticket| {
        let agent = state
            .store
            .agent(&tenant_id, &agent_id)
            .await?
            .ok_or_else(|| ApiError::validation("agentId", format!("no agent `{agent_id}`")))?;
        if agent.agent.status != AgentStatus::Active {
            return Err(ApiError::agent_not_active(
                &agent_id,
                agent.agent.status.as_str(),
            ));
        }
        let intent = request.into_intent(new_id("int"))?;
        if let Some(client_intent_id) = &intent.client_intent_id
            && let Some(existing) = state
                .store
                .intent_by_client_id(&agent_id, client_intent_id)
                .await?
        {
            return existing_intent(&state, existing, &intent).await;
        }
        if intent
            .amount
            .is_some_and(|a| a.minor_units > MAX_AMOUNT_MINOR)
        {
            return Err(ApiError::validation(
                "expectedAmountEuros",
                format!(
                    "must be at most {}",
                    Money::new(MAX_AMOUNT_MINOR, currency_of(&intent))
                ),
            ));
        }
        let policy_record = state
            .store
            .policy(&tenant_id, &agent.policy_id, None)
            .await?
            .ok_or_else(|| ApiError::internal("an agent's policy is missing"))?;
        let policy = compiled(&state, &policy_record).await?;

        // One decision at a time per agent, on this server and on every
        // server sharing the database: the usage each sees includes the one
        // before.
        let _turn = state.turns.take(&agent_id).await;
        let _shared_turn = state.store.agent_turn(&agent_id).await?;
        let now = now_ms();
        let (context, decision) = decide(&state, &agent, &policy, intent, now).await?;
        let status = IntentStatus::from_outcome(decision.outcome);
        let reason = outcome_reason(&decision);
        let decision_json = DecisionView::of(&decision).text()?;
        let actions = actions_of(&decision, &agent, &context.intent.id, now);
        let ttl_ms = i64::from(context.intent.ttl_minutes) * 60_000;
        let record = IntentRecord {
            id: context.intent.id.clone(),
            tenant_id: tenant_id.clone(),
            agent_id: agent_id.clone(),
            status,
            intent: context.intent,
            decision: decision_json,
            policy_id: policy_record.id.clone(),
            policy_version: policy_record.version,
            status_reason: reason.clone(),
            settlement: None,
            created_ms: now,
            updated_ms: now,
            expires_ms: now + ttl_ms,
        };
        let event = IntentEvent {
            id: new_id("ev"),
            intent_id: record.id.clone(),
            from: None,
            to: status,
            actor: "policy".into(),
            reason,
            at_ms: now,
        };
        let reply = view_with(
            StatusCode::CREATED,
            &record,
            Some(std::slice::from_ref(&event)),
        )?;
        match state
            .store
            .insert_intent(&record, &event, &actions, ticket.record(&reply).as_ref())
            .await
        {
            Ok(()) => Ok(reply),
            // The same client intent id was declared meanwhile.
            Err(StoreError::Duplicate) => {
                let client_intent_id = record.intent.client_intent_id.as_deref().unwrap_or("");
                let existing = state
                    .store
                    .intent_by_client_id(&agent_id, client_intent_id)
                    .await?
                    .ok_or_else(|| ApiError::internal("a duplicate intent vanished"))?;
                existing_intent(&state, existing, &record.intent).await
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// The answer to a repeated client intent id: the intent as it stands, if
/// it declared the same; a conflict if the id was used for another intent.
async fn existing_intent(
    state: &AppState,
    record: IntentRecord,
    declared: &Intent,
) -> Result<Reply> {
    let same = Intent {
        id: record.intent.id.clone(),
        ..declared.clone()
    };
    if record.intent != same {
        return Err(ApiError::conflict(format!(
            "`clientIntentId` `{}` was used for another intent of this agent (`{}`)",
            declared.client_intent_id.as_deref().unwrap_or_default(),
            record.id
        )));
    }
    let record = expire_if_due(state, record).await?;
    let events = state.store.intent_events(&record.id).await?;
    view(&record, Some(&events))
}

pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let record = current(&state, &principal, &id, Permission::Read).await?;
    let events = state.store.intent_events(&record.id).await?;
    view(&record, Some(&events))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListQuery {
    agent_id: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Reply> {
    let tenant_id = principal.tenant_id()?;
    let agent_id = match (query.agent_id, principal.own_agent()) {
        (Some(id), _) => Some(id),
        (None, own) => own.map(str::to_owned),
    };
    if let Some(agent_id) = &agent_id {
        principal.may(agent_id, Permission::Read)?;
    }
    let status = query
        .status
        .map(|s| s.parse::<IntentStatus>())
        .transpose()
        .map_err(|e| ApiError::validation("status", e))?;
    let page = crate::http::PageQuery::new(query.limit, query.cursor).page()?;
    let filter = IntentFilter { agent_id, status };
    let mut records = Vec::new();
    for record in state.store.intents(tenant_id, &filter, &page).await? {
        records.push(expire_if_due(&state, record).await?);
    }
    let listing = Listing::new(records, &page, |r| r.id.clone());
    listing.reply(|record| intent_view(record, None))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettleBody {
    #[serde(default)]
    actual_amount_euros: Option<Box<RawValue>>,
    #[serde(default)]
    actual_merchant: Option<String>,
}

/// What settlement and verification record on an intent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Settlement {
    #[serde(skip_serializing_if = "Option::is_none")]
    actual_amount_euros: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actual_merchant: Option<String>,
    amount_tolerance_percent: Box<RawValue>,
    flagged: bool,
    flags: Vec<&'static str>,
    /// Who reported it: the tenant (whose amount counts as it is) or the
    /// agent (whose amount never lowers its spend below what it declared).
    reported_by: String,
    checked_at: String,
}

/// Who stands behind a settlement the caller reports.
fn reporter(principal: &Principal) -> Reporter {
    match principal {
        Principal::Agent { .. } => Reporter::Agent,
        Principal::Tenant(_) | Principal::Admin => Reporter::Tenant,
    }
}

/// Compares what settled with what was declared: an amount beyond the
/// tolerance (the recurring terms', else the policy's) or another merchant
/// flags the intent. `sets_amount` says whether the settled amount is to
/// count (completion, or the tenant's verification) or is only recorded
/// (an agent's verification, which never changes spend).
async fn settle(
    state: &AppState,
    record: &IntentRecord,
    body: &SettleBody,
    principal: &Principal,
    sets_amount: bool,
    now: i64,
) -> Result<SettlementWrite> {
    let intent = &record.intent;
    let actual = body
        .actual_amount_euros
        .as_ref()
        .map(|raw| {
            Money::parse(raw.get(), currency_of(intent))
                .map_err(|e| ApiError::validation("actualAmountEuros", e))
        })
        .transpose()?;
    if actual.is_some_and(|a| a.minor_units > MAX_AMOUNT_MINOR) {
        return Err(ApiError::validation("actualAmountEuros", "is too large"));
    }
    let actual_merchant = body
        .actual_merchant
        .as_ref()
        .map(|m| checked_text("actualMerchant", m, MAX_NAME_CHARS))
        .transpose()?;
    let tolerance_bps = match intent.recurring {
        Some(terms) => terms.amount_tolerance_bps,
        None => {
            let policy = state
                .store
                .policy(
                    &record.tenant_id,
                    &record.policy_id,
                    Some(record.policy_version),
                )
                .await?
                .ok_or_else(|| ApiError::internal("an intent's policy version is missing"))?;
            PolicyDoc::parse(&policy)?.amount_tolerance_bps
        }
    };
    let mut flags = Vec::new();
    if let (Some(expected), Some(actual)) = (intent.amount, actual) {
        let deviation = u128::from(expected.minor_units.abs_diff(actual.minor_units)) * 10_000;
        if deviation > u128::from(expected.minor_units) * u128::from(tolerance_bps) {
            flags.push("amount-deviation");
        }
    }
    let merchant_must_match = intent.recurring.is_none_or(|terms| terms.merchant_match);
    if let (Some(expected), Some(actual)) = (&intent.merchant, &actual_merchant)
        && merchant_must_match
        && !expected.eq_ignore_ascii_case(actual)
    {
        flags.push("merchant-mismatch");
    }
    let by = reporter(principal);
    let settlement = Settlement {
        actual_amount_euros: actual.map(|a| number(a.major_units_text())).transpose()?,
        actual_merchant,
        amount_tolerance_percent: number(money::format_percent_bps(tolerance_bps))?,
        flagged: !flags.is_empty(),
        flags,
        reported_by: principal.actor(),
        checked_at: rfc3339(now),
    };
    Ok(SettlementWrite {
        record: serde_json::to_string(&settlement).map_err(ApiError::internal)?,
        amount: (sets_amount || by == Reporter::Tenant).then_some(SettledAmount {
            minor: actual.map(|a| a.minor_units),
            by,
        }),
        // What the tenant reports is its own word, never a suspicion.
        flagged: settlement.flagged && by == Reporter::Agent,
    })
}

/// How often a change is tried again when the intent changed under it in
/// a way that may still allow it (a settlement was recorded meanwhile).
const ATTEMPTS: usize = 3;

/// Applies `transition` to an intent, once per idempotency key: checks
/// who may, that the FSM allows it from the current status, and that
/// exactly one concurrent change wins. The change commits only if the
/// intent is still as it was read (so the answer is what committed), its
/// time to live has not ended, and, for an approval, its agent is active.
async fn transition(
    state: AppState,
    principal: Principal,
    id: String,
    submission: Submission,
    transition: Transition,
) -> Result<Reply> {
    let permission = match transition {
        Transition::Approve | Transition::Deny => {
            principal.tenant()?;
            Permission::Read
        }
        Transition::Cancel => Permission::Cancel,
        Transition::Complete | Transition::Fail | Transition::Expire => Permission::Settle,
    };
    let (reason, settlement) = match transition {
        Transition::Complete => (None, Some(submission.json_or_empty::<SettleBody>()?)),
        _ => {
            let body: ReasonBody = submission.json_or_empty()?;
            let reason = body
                .reason
                .map(|r| checked_text("reason", &r, MAX_PURPOSE_CHARS))
                .transpose()?;
            if transition == Transition::Fail && reason.is_none() {
                return Err(ApiError::validation("reason", "is required"));
            }
            (reason, None)
        }
    };
    let tenant_id = principal.tenant_id()?.to_owned();
    principal.requires(permission)?;
    once(&state, &principal, &submission, async |ticket: &Ticket| {
        for _ in 0..ATTEMPTS {
            let record = current(&state, &principal, &id, permission).await?;
            if !transition.allowed_from(record.status) {
                return Err(ApiError::invalid_transition(transition, record.status));
            }
            if transition == Transition::Approve {
                let agent = state
                    .store
                    .agent(&tenant_id, &record.agent_id)
                    .await?
                    .ok_or_else(|| ApiError::internal("an intent's agent is missing"))?;
                if agent.agent.status != AgentStatus::Active {
                    return Err(ApiError::agent_not_active(
                        &record.agent_id,
                        agent.agent.status.as_str(),
                    ));
                }
            }
            let now = now_ms().max(record.updated_ms + 1);
            let settlement = match &settlement {
                Some(body) => Some(settle(&state, &record, body, &principal, true, now).await?),
                None => None,
            };
            let event = IntentEvent {
                id: new_id("ev"),
                intent_id: record.id.clone(),
                from: Some(record.status),
                to: transition.target(),
                actor: principal.actor(),
                reason: reason.clone(),
                at_ms: now,
            };
            let mut events = state.store.intent_events(&record.id).await?;
            events.push(event.clone());
            let changed = IntentRecord {
                status: event.to,
                status_reason: reason.clone(),
                updated_ms: now,
                settlement: settlement
                    .as_ref()
                    .map(|s| s.record.clone())
                    .or_else(|| record.settlement.clone()),
                ..record.clone()
            };
            let reply = view(&changed, Some(&events))?;
            let change = StatusChange {
                tenant_id: tenant_id.clone(),
                event,
                settlement,
                seen_updated_ms: Some(record.updated_ms),
                require_unexpired: lives_out(&record),
                require_active_agent: transition == Transition::Approve,
            };
            if state
                .store
                .change_status(&change, ticket.record(&reply).as_ref())
                .await?
            {
                return Ok(reply);
            }
            // The intent changed, expired or lost its agent meanwhile: read
            // it again, and answer from where it stands now.
        }
        Err(ApiError::conflict(format!(
            "intent `{id}` keeps changing; retry"
        )))
    })
    .await
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    transition(state, principal, id, submission, Transition::Approve).await
}

pub(crate) async fn deny(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    transition(state, principal, id, submission, Transition::Deny).await
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    transition(state, principal, id, submission, Transition::Cancel).await
}

pub(crate) async fn complete(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    transition(state, principal, id, submission, Transition::Complete).await
}

pub(crate) async fn fail(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    transition(state, principal, id, submission, Transition::Fail).await
}

/// Records what actually settled, without changing the status: allowed on
/// an approved or completed intent.
pub(crate) async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let body: SettleBody = submission.json()?;
    if body.actual_amount_euros.is_none() {
        return Err(ApiError::validation("actualAmountEuros", "is required"));
    }
    let tenant_id = principal.tenant_id()?.to_owned();
    principal.requires(Permission::Settle)?;
    let verifiable = [IntentStatus::Approved, IntentStatus::Completed];
    once(&state, &principal, &submission, async |ticket| {
        for _ in 0..ATTEMPTS {
            let record = current(&state, &principal, &id, Permission::Settle).await?;
            if !verifiable.contains(&record.status) {
                return Err(ApiError::cannot("verify", record.status, &verifiable));
            }
            let now = now_ms().max(record.updated_ms + 1);
            let settlement = settle(&state, &record, &body, &principal, false, now).await?;
            let changed = IntentRecord {
                settlement: Some(settlement.record.clone()),
                updated_ms: now,
                ..record.clone()
            };
            let events = state.store.intent_events(&record.id).await?;
            let reply = view(&changed, Some(&events))?;
            let update = SettlementUpdate {
                tenant_id: tenant_id.clone(),
                intent_id: id.clone(),
                status: record.status,
                settlement,
                at_ms: now,
                seen_updated_ms: record.updated_ms,
            };
            if state
                .store
                .set_settlement(&update, ticket.record(&reply).as_ref())
                .await?
            {
                return Ok(reply);
            }
        }
        Err(ApiError::conflict(format!(
            "intent `{id}` keeps changing; retry"
        )))
    })
    .await
}
