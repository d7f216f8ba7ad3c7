//! `/intents`: declare an intent (decided by the agent's policy), read it,
//! move it through its lifecycle, settle and verify it; charges of
//! recurring ones.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use warrant_app::Principal;
use warrant_app::agent_keys::SignedRequest;
use warrant_app::charges::ChargeRequest;
use warrant_app::intents::{
    Declared, IntentQuery, IntentWithHistory, Intents, MoveBody, ReasonRequest, approvals_given,
};
use warrant_domain::context::{Cadence, Card};
use warrant_domain::intent::{IntentRequest, SettleRequest};
use warrant_domain::lifecycle::{IntentStatus, Transition};
use warrant_domain::money;
use warrant_domain::policy::record::DecisionRecord;
use warrant_store::{ChargeRecord, IntentEvent, IntentRecord};

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{
    ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, amount, number, once, rfc3339,
};

/// An intent as the API shows it: the request's fields, its status and
/// its decision.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IntentView<'a> {
    id: &'a str,
    status: IntentStatus,
    agent_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_name: Option<&'a str>,
    purpose: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    expected_amount_euros: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_merchant: Option<&'a str>,
    currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurring: Option<RecurringView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_intent_id: Option<&'a str>,
    /// The agent's key whose signature (`Warrant-Agent-Signature`) the
    /// declaring request carried, when it was signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_by: Option<&'a str>,
    ttl_minutes: u32,
    expires_at: String,
    created_at: String,
    updated_at: String,
    policy_id: &'a str,
    policy_version: i64,
    #[schema(value_type = Object)]
    decision: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    settlement: Option<&'a RawValue>,
    /// Four eyes: the approvals it needs and has, when it needs more
    /// than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    approvals: Option<ApprovalsView>,
    /// While it waits for a person: where to approve it
    /// (`POST /intents/:id/approve`; `/deny` beside it).
    #[serde(skip_serializing_if = "Option::is_none")]
    approve_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<Vec<EventView<'a>>>,
    /// Its latest receipt (a compact JWS; see `GET /intents/:id/receipts`),
    /// shown with its history.
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<&'a str>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = IntentApprovals)]
struct ApprovalsView {
    required: i64,
    /// Shown with the history it is counted from.
    #[serde(skip_serializing_if = "Option::is_none")]
    given: Option<usize>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct RecurringView {
    cadence: Cadence,
    window_start_days_before: u32,
    window_end_days_after: u32,
    #[schema(value_type = f64)]
    amount_tolerance_percent: Box<RawValue>,
    merchant_match: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = IntentHistoryEntry)]
struct EventView<'a> {
    from: Option<IntentStatus>,
    to: IntentStatus,
    actor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    settlement: Option<&'a RawValue>,
    /// What the entry records when it is not a move: `secret_revealed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    at: String,
}

fn raw(text: &str) -> Result<&RawValue> {
    serde_json::from_str(text).map_err(ApiError::internal)
}

pub(crate) fn intent_view<'a>(
    record: &'a IntentRecord,
    events: Option<&'a [IntentEvent]>,
) -> Result<IntentView<'a>> {
    let intent = &record.intent;
    // The card it was declared on, by id and name; an intent declared
    // before cards were checked shows the text it named.
    let (card_id, card_name) = match (&record.card, &intent.card) {
        (Some(card), _) => (Some(card.id.as_str()), Some(card.name.as_str())),
        (None, Card::Id(id)) => (Some(id.as_str()), None),
        (None, Card::Name(name)) => (None, Some(name.as_str())),
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
        expected_amount_euros: intent.amount.map(amount).transpose()?,
        expected_merchant: intent.merchant.as_deref(),
        currency: intent.currency().code(),
        recurring,
        client_intent_id: intent.client_intent_id.as_deref(),
        signed_by: intent.signed_by.as_deref(),
        ttl_minutes: intent.ttl_minutes,
        expires_at: rfc3339(record.expires_ms),
        created_at: rfc3339(record.created_ms),
        updated_at: rfc3339(record.updated_ms),
        policy_id: &record.policy_id,
        policy_version: record.policy_version,
        decision: raw(&record.decision)?,
        status_reason: record.status_reason.as_deref(),
        settlement: record.settlement.as_deref().map(raw).transpose()?,
        approvals: (record.approvals_required > 1).then(|| ApprovalsView {
            required: record.approvals_required,
            given: events.map(|events| approvals_given(events).count()),
        }),
        approve_path: (record.status == IntentStatus::PendingApproval)
            .then(|| format!("/intents/{}/approve", record.id)),
        history: events
            .map(|events| {
                events
                    .iter()
                    .map(|event| {
                        Ok(EventView {
                            from: event.from,
                            to: event.to,
                            actor: &event.actor,
                            actor_name: event.actor_name.as_deref(),
                            reason: event.reason.as_deref(),
                            note: event.note.as_deref(),
                            settlement: event.settlement.as_deref().map(raw).transpose()?,
                            kind: event.kind.as_deref(),
                            at: rfc3339(event.at_ms),
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?,
        receipt: None,
    })
}

/// An intent as it stands, with its history and latest receipt.
pub(crate) fn full_view(intent: &IntentWithHistory) -> Result<IntentView<'_>> {
    Ok(IntentView {
        receipt: intent.receipt.as_deref(),
        ..intent_view(&intent.record, Some(&intent.events))?
    })
}

fn reply_with(status: StatusCode, intent: &IntentWithHistory) -> Result<Reply> {
    Reply::json(status, &full_view(intent)?)
}

pub(crate) fn reply(intent: &IntentWithHistory) -> Result<Reply> {
    reply_with(StatusCode::OK, intent)
}

/// `POST /intents`: 201 with the decided intent; a repeated client intent
/// id of the agent answers 200 with the existing one. With
/// `Warrant-Agent-Signature: keyid=…,sig=…` (the agent's Ed25519 signature
/// of the body's sha256), the plugins see that the agent signed it; a
/// signature that does not verify is 400 `E_AGENT_SIGNATURE`.
#[utoipa::path(
    post,
    operation_id = "intents_declare",
    path = "/intents",
    tag = "intents",
    request_body = IntentRequest,
    responses((status = 201, description = "The intent, decided.", body = IntentView<'static>), (status = 200, description = "The intent declared before with this clientIntentId.", body = IntentView<'static>))
)]
pub(crate) async fn declare(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    submission: Submission,
) -> Result<Reply> {
    principal.requires(warrant_app::Permission::Create)?;
    let request: IntentRequest = submission.json()?;
    Intents::declaring_agent(&principal, &request)?;
    let header = match headers.get(warrant_domain::signature::AGENT_HEADER) {
        None => None,
        Some(value) => Some(value.to_str().map_err(|_| {
            ApiError::from(warrant_app::AppError::AgentSignature(
                "`Warrant-Agent-Signature` is not text".into(),
            ))
        })?),
    };
    let signed = header.map(|header| SignedRequest {
        header,
        body: &submission.body,
    });
    once(&state, &principal, &submission, async |ticket| {
        let created = |intent: &IntentWithHistory| reply_with(StatusCode::CREATED, intent);
        let declared = state
            .app
            .intents()
            .declare_signed(&principal, request, signed, &|intent| {
                ticket.record(&created(intent).ok()?)
            })
            .await?;
        match &declared {
            Declared::Created(intent) => created(intent),
            Declared::Existing(intent) => reply(intent),
        }
    })
    .await
}

/// The largest page of the caller's intents that stand in `status` now,
/// newest first: what the dashboard's inbox and the MCP resources show.
pub(crate) async fn largest_page_in(
    app: &warrant_app::App,
    principal: &Principal,
    status: IntentStatus,
) -> Result<Vec<IntentRecord>> {
    let page = PageQuery::largest();
    let query = IntentQuery {
        status: Some(status),
        ..IntentQuery::default()
    };
    let records = app.intents().list(principal, query, &page).await?;
    Ok(Listing::new(records, &page, |r| r.id.clone()).into_items())
}

/// `GET /intents/:id`: the intent as it stands, with its history.
#[utoipa::path(
    get,
    operation_id = "intents_show",
    path = "/intents/{id}",
    tag = "intents",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The intent as it stands, with its history.", body = IntentView<'static>))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    reply(&state.app.intents().show(&principal, &id).await?)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListQuery {
    agent_id: Option<String>,
    /// Only intents in this status.
    #[param(value_type = Option<IntentStatus>)]
    status: Option<String>,
    /// At most this many (1 to 200; 50 when absent).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The previous page's `nextCursor`.
    cursor: Option<String>,
    /// Only intents declared at or after this time (RFC 3339).
    created_from: Option<String>,
    /// Only intents declared before this time (RFC 3339).
    created_before: Option<String>,
}

/// A time of a query, in ms since the epoch.
pub(crate) fn query_time(field: &str, text: Option<&str>) -> Result<Option<i64>> {
    text.map(|text| {
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .map(|at| (at.unix_timestamp_nanos() / 1_000_000) as i64)
            .map_err(|_| {
                ApiError::validation(
                    field,
                    "must be a time as RFC 3339 writes it, e.g. `2026-12-01T00:00:00Z`",
                )
            })
    })
    .transpose()
}

/// `GET /intents?agentId=&status=&createdFrom=&createdBefore=`: newest
/// first, a page at a time.
#[utoipa::path(
    get,
    operation_id = "intents_list",
    path = "/intents",
    tag = "intents",
    params(ListQuery),
    responses((status = 200, description = "A page of intents, newest first.", body = crate::http::ListingPage<'static, IntentView<'static>>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Reply> {
    principal.tenant_id()?;
    let status = query
        .status
        .map(|s| s.parse::<IntentStatus>())
        .transpose()
        .map_err(|e| ApiError::validation("status", e))?;
    let created_from_ms = query_time("createdFrom", query.created_from.as_deref())?;
    let created_before_ms = query_time("createdBefore", query.created_before.as_deref())?;
    let page = PageQuery::new(query.limit, query.cursor).page()?;
    let filter = IntentQuery {
        agent_id: query.agent_id,
        status,
        created_from_ms,
        created_before_ms,
    };
    let records = state.app.intents().list(&principal, filter, &page).await?;
    let listing = Listing::new(records, &page, |r| r.id.clone());
    listing.reply(|record| intent_view(record, None))
}

/// A move of an intent, once per idempotency key.
async fn move_intent(
    state: AppState,
    principal: Principal,
    id: String,
    submission: Submission,
    transition: Transition,
) -> Result<Reply> {
    Intents::may_move(&principal, transition)?;
    let body = match transition {
        Transition::Complete => MoveBody::Settlement(submission.json_or_empty::<SettleRequest>()?),
        _ => MoveBody::Reason(submission.json_or_empty::<ReasonRequest>()?),
    };
    once(&state, &principal, &submission, async |ticket| {
        let remember = |intent: &IntentWithHistory| ticket.record(&reply(intent).ok()?);
        let moved = state
            .app
            .intents()
            .transition(&principal, &id, transition, body, &remember)
            .await?;
        reply(&moved)
    })
    .await
}

/// `POST /intents/:id/approve` (the tenant's key).
#[utoipa::path(
    post,
    operation_id = "intents_approve",
    path = "/intents/{id}/approve",
    tag = "intents",
    params(("id" = String, Path, description = "The object's id.")), request_body = ReasonRequest,
    responses((status = 200, description = "The intent, approved (or still pending approval when it needs more approvals).", body = IntentView<'static>))
)]
pub(crate) async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    move_intent(state, principal, id, submission, Transition::Approve).await
}

/// `POST /intents/:id/deny {"reason"?}` (the tenant's key).
#[utoipa::path(
    post,
    operation_id = "intents_deny",
    path = "/intents/{id}/deny",
    tag = "intents",
    params(("id" = String, Path, description = "The object's id.")), request_body = ReasonRequest,
    responses((status = 200, description = "The intent, denied.", body = IntentView<'static>))
)]
pub(crate) async fn deny(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    move_intent(state, principal, id, submission, Transition::Deny).await
}

/// `POST /intents/:id/cancel {"reason"?}`.
#[utoipa::path(
    post,
    operation_id = "intents_cancel",
    path = "/intents/{id}/cancel",
    tag = "intents",
    params(("id" = String, Path, description = "The object's id.")), request_body = ReasonRequest,
    responses((status = 200, description = "The intent, cancelled.", body = IntentView<'static>))
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    move_intent(state, principal, id, submission, Transition::Cancel).await
}

/// `POST /intents/:id/complete {"actualAmountEuros"?,"actualMerchant"?}`.
#[utoipa::path(
    post,
    operation_id = "intents_complete",
    path = "/intents/{id}/complete",
    tag = "intents",
    params(("id" = String, Path, description = "The object's id.")), request_body = SettleRequest,
    responses((status = 200, description = "The intent, completed, with its settlement.", body = IntentView<'static>))
)]
pub(crate) async fn complete(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    move_intent(state, principal, id, submission, Transition::Complete).await
}

/// `POST /intents/:id/fail {"reason"}`.
#[utoipa::path(
    post,
    operation_id = "intents_fail",
    path = "/intents/{id}/fail",
    tag = "intents",
    params(("id" = String, Path, description = "The object's id.")), request_body = ReasonRequest,
    responses((status = 200, description = "The intent, failed.", body = IntentView<'static>))
)]
pub(crate) async fn fail(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    move_intent(state, principal, id, submission, Transition::Fail).await
}

/// `POST /intents/:id/verify {"actualAmountEuros","actualMerchant"?}`.
#[utoipa::path(
    post,
    operation_id = "intents_verify",
    path = "/intents/{id}/verify",
    tag = "intents",
    params(("id" = String, Path, description = "The object's id.")), request_body = SettleRequest,
    responses((status = 200, description = "The intent with the settlement recorded.", body = IntentView<'static>))
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    Intents::may_settle(&principal)?;
    let body: SettleRequest = submission.json()?;
    once(&state, &principal, &submission, async |ticket| {
        let remember = |intent: &IntentWithHistory| ticket.record(&reply(intent).ok()?);
        let verified = state
            .app
            .intents()
            .verify(&principal, &id, body, &remember)
            .await?;
        reply(&verified)
    })
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChargeView<'a> {
    id: &'a str,
    intent_id: &'a str,
    #[schema(value_type = f64)]
    amount_euros: Box<RawValue>,
    currency: &'static str,
    merchant: &'a str,
    at: String,
    status: &'static str,
    codes: Vec<String>,
    #[schema(value_type = Object)]
    decision: &'a RawValue,
    created_at: String,
}

fn charge_view(charge: &ChargeRecord) -> Result<ChargeView<'_>> {
    let decision = DecisionRecord::parse(&charge.decision).map_err(ApiError::internal)?;
    Ok(ChargeView {
        id: &charge.id,
        intent_id: &charge.intent_id,
        amount_euros: amount(charge.amount)?,
        currency: charge.amount.currency.code(),
        merchant: &charge.merchant,
        at: rfc3339(charge.at_ms),
        status: if charge.accepted {
            "accepted"
        } else {
            "flagged"
        },
        codes: decision.counted_codes(),
        decision: raw(&charge.decision)?,
        created_at: rfc3339(charge.created_ms),
    })
}

fn charge_reply(charge: &ChargeRecord) -> Result<Reply> {
    Reply::json(StatusCode::CREATED, &charge_view(charge)?)
}

/// `POST /intents/:id/charges {"amountEuros","merchant","at"?}`: 201,
/// accepted or flagged by the policy's charge rules.
#[utoipa::path(
    post,
    operation_id = "intents_report_charge",
    path = "/intents/{id}/charges",
    tag = "intents",
    params(("id" = String, Path, description = "The object's id.")), request_body = ChargeRequest,
    responses((status = 201, description = "The charge, accepted or flagged.", body = ChargeView<'static>))
)]
pub(crate) async fn report_charge(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.tenant_id()?;
    Intents::may_settle(&principal)?;
    let body: ChargeRequest = submission.json()?;
    once(&state, &principal, &submission, async |ticket| {
        let remember = |charge: &ChargeRecord| ticket.record(&charge_reply(charge).ok()?);
        let charge = state
            .app
            .intents()
            .report_charge(&principal, &id, body, &remember)
            .await?;
        charge_reply(&charge)
    })
    .await
}

/// `GET /intents/:id/charges`: by the time charged, a page at a time.
#[utoipa::path(
    get,
    operation_id = "intents_charges",
    path = "/intents/{id}/charges",
    tag = "intents",
    params(("id" = String, Path, description = "The object's id."), PageQuery),
    responses((status = 200, description = "A page of the intent's charges, latest first.", body = crate::http::ListingPage<'static, ChargeView<'static>>))
)]
pub(crate) async fn charges(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    principal.tenant_id()?;
    let page = query.page()?;
    let charges = state.app.intents().charges(&principal, &id, &page).await?;
    let listing = Listing::new(charges, &page, |c| c.id.clone());
    listing.reply(charge_view)
}
