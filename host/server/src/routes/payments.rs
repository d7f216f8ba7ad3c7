//! `/authorizations`: card authorizations at payment time, approved only
//! against an approved intent, captured or reversed; `/transactions`: the
//! ledger of captures and refunds.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use warrant_app::Principal;
use warrant_app::payments::{AuthorizationRequest, CaptureRequest, RefundRequest};
use warrant_domain::authorization::{AuthorizationStatus, Merchant, TransactionKind};
use warrant_store::{AuthorizationRecord, TransactionFilter, TransactionRecord};

use crate::AppState;
use crate::errors::Result;
use crate::http::{ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, rfc3339};

/// An authorization as the API shows it. A decline is `approved: false`
/// with its `code`, never an error.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthorizationView<'a> {
    id: &'a str,
    approved: bool,
    /// The intent it took (or, declined, the one that came closest).
    #[serde(skip_serializing_if = "Option::is_none")]
    intent_id: Option<&'a str>,
    /// `approved`, or why not: `E_NO_INTENT`, `E_AMOUNT_MISMATCH`,
    /// `E_MERCHANT_MISMATCH`, `E_CURRENCY_MISMATCH`, `E_OUTSIDE_WINDOW`,
    /// `E_CARD_FROZEN`, `E_AGENT_NOT_ACTIVE`.
    code: &'a str,
    reason: &'a str,
    status: AuthorizationStatus,
    card_id: &'a str,
    agent_id: &'a str,
    /// Minor units of `currency`.
    amount: u64,
    currency: &'a str,
    merchant: &'a Merchant,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    /// Minor units, once captured.
    #[serde(skip_serializing_if = "Option::is_none")]
    captured_amount: Option<u64>,
    created_at: String,
    updated_at: String,
}

pub(crate) fn authorization_view(record: &AuthorizationRecord) -> AuthorizationView<'_> {
    AuthorizationView {
        id: &record.id,
        approved: record.approved,
        intent_id: record.intent_id.as_deref(),
        code: &record.code,
        reason: &record.reason,
        status: record.status,
        card_id: &record.card_id,
        agent_id: &record.agent_id,
        amount: record.amount.minor_units,
        currency: record.amount.currency.code(),
        merchant: &record.merchant,
        external_id: record.external_id.as_deref(),
        captured_amount: record.captured_minor,
        created_at: rfc3339(record.created_ms),
        updated_at: rfc3339(record.updated_ms),
    }
}

/// An entry of the ledger.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransactionView<'a> {
    id: &'a str,
    kind: TransactionKind,
    authorization_id: &'a str,
    /// For a refund, the capture it refunds.
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_of: Option<&'a str>,
    card_id: &'a str,
    agent_id: &'a str,
    /// The intent it settles.
    #[serde(skip_serializing_if = "Option::is_none")]
    intent_id: Option<&'a str>,
    /// Minor units of `currency`, exact.
    amount: u64,
    currency: &'a str,
    merchant: &'a Merchant,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    created_at: String,
}

pub(crate) fn transaction_view(record: &TransactionRecord) -> TransactionView<'_> {
    TransactionView {
        id: &record.id,
        kind: record.kind,
        authorization_id: &record.authorization_id,
        refund_of: record.refund_of.as_deref(),
        card_id: &record.card_id,
        agent_id: &record.agent_id,
        intent_id: record.intent_id.as_deref(),
        amount: record.amount.minor_units,
        currency: record.amount.currency.code(),
        merchant: &record.merchant,
        external_id: record.external_id.as_deref(),
        created_at: rfc3339(record.created_ms),
    }
}

/// `POST /authorizations {"cardId"|"externalCardId","amount","currency","merchant":{…},"externalId"?}`:
/// 200 approved or declined.
#[utoipa::path(
    post,
    operation_id = "authorizations_create",
    path = "/authorizations",
    tag = "payments",
    request_body = AuthorizationRequest,
    responses((status = 200, description = "Approved or declined, with its code.", body = AuthorizationView<'static>))
)]
pub(crate) async fn authorize(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let request: AuthorizationRequest = submission.json()?;
    let authorization = state.app.payments().authorize(&principal, request).await?;
    Reply::ok(&authorization_view(&authorization))
}

/// `GET /authorizations/:id`.
#[utoipa::path(
    get,
    operation_id = "authorizations_show",
    path = "/authorizations/{id}",
    tag = "payments",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The authorization.", body = AuthorizationView<'static>))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let authorization = state.app.payments().show(&principal, &id).await?;
    Reply::ok(&authorization_view(&authorization))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CapturedView<'a> {
    authorization: AuthorizationView<'a>,
    transaction: TransactionView<'a>,
}

/// `POST /authorizations/:id/capture {"amount"?}`: the intent completes;
/// the ledger gains the capture.
#[utoipa::path(
    post,
    operation_id = "authorizations_capture",
    path = "/authorizations/{id}/capture",
    tag = "payments",
    params(("id" = String, Path, description = "The object's id.")),
    request_body = CaptureRequest,
    responses((status = 200, description = "The authorization, captured, and its ledger entry.", body = CapturedView<'static>))
)]
pub(crate) async fn capture(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let request: CaptureRequest = submission.json_or_empty()?;
    let captured = state
        .app
        .payments()
        .capture(&principal, &id, request)
        .await?;
    Reply::ok(&CapturedView {
        authorization: authorization_view(&captured.authorization),
        transaction: transaction_view(&captured.transaction),
    })
}

/// `POST /authorizations/:id/reverse`: the reservation is released.
#[utoipa::path(
    post,
    operation_id = "authorizations_reverse",
    path = "/authorizations/{id}/reverse",
    tag = "payments",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The authorization, reversed.", body = AuthorizationView<'static>))
)]
pub(crate) async fn reverse(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    principal.configures()?;
    let reversed = state.app.payments().reverse(&principal, &id).await?;
    Reply::ok(&authorization_view(&reversed))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// At most this many (1 to 200; 50 when absent).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The previous page's `nextCursor`.
    cursor: Option<String>,
    /// Only this agent's.
    agent_id: Option<String>,
    /// Only this card's.
    card_id: Option<String>,
    /// Only those settling this intent.
    intent_id: Option<String>,
}

/// `GET /transactions?agentId=&cardId=&intentId=`: the ledger, newest
/// first.
#[utoipa::path(
    get,
    operation_id = "transactions_list",
    path = "/transactions",
    tag = "payments",
    params(ListQuery),
    responses((status = 200, description = "A page of the ledger, newest first.", body = crate::http::ListingPage<'static, TransactionView<'static>>))
)]
pub(crate) async fn transactions(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Reply> {
    let page = PageQuery::new(query.limit, query.cursor).page()?;
    let filter = TransactionFilter {
        agent_id: query.agent_id,
        card_id: query.card_id,
        intent_id: query.intent_id,
    };
    let entries = state
        .app
        .payments()
        .transactions(&principal, filter, &page)
        .await?;
    let listing = Listing::new(entries, &page, |t| t.id.clone());
    listing.reply(|entry| Ok(transaction_view(entry)))
}

/// `GET /transactions/:id`.
#[utoipa::path(
    get,
    operation_id = "transactions_show",
    path = "/transactions/{id}",
    tag = "payments",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The ledger entry.", body = TransactionView<'static>))
)]
pub(crate) async fn transaction(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let entry = state.app.payments().transaction(&principal, &id).await?;
    Reply::ok(&transaction_view(&entry))
}

/// `POST /transactions/:id/refund {"amount"}`: 201 with the refund, at
/// most what is left of the capture.
#[utoipa::path(
    post,
    operation_id = "transactions_refund",
    path = "/transactions/{id}/refund",
    tag = "payments",
    params(("id" = String, Path, description = "The capture's id.")),
    request_body = RefundRequest,
    responses((status = 201, description = "The refund, in the ledger.", body = TransactionView<'static>))
)]
pub(crate) async fn refund(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let request: RefundRequest = submission.json()?;
    let refund = state
        .app
        .payments()
        .refund(&principal, &id, request)
        .await?;
    Reply::json(StatusCode::CREATED, &transaction_view(&refund))
}
