//! `/webhook-endpoints`: where a tenant's events are sent, each signed
//! with the endpoint's secret (shown once), with its deliveries.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use warrant_app::Principal;
use warrant_app::webhooks::{EndpointPatch, EndpointRequest, EndpointWithSecret};
use warrant_store::log::{DeliveryRecord, DeliveryStatus, EndpointRecord};

use crate::AppState;
use crate::errors::Result;
use crate::http::{ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, rfc3339};

/// A webhook endpoint as the API shows it (never its secret).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EndpointView<'a> {
    id: &'a str,
    url: &'a str,
    events: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disabled_reason: Option<&'a str>,
    /// Until when the secret it was rotated from still signs beside the
    /// new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_secret_valid_until: Option<String>,
    created_at: String,
    updated_at: String,
}

pub(crate) fn view(endpoint: &EndpointRecord) -> EndpointView<'_> {
    EndpointView {
        id: &endpoint.id,
        url: &endpoint.url,
        events: &endpoint.events,
        description: endpoint.description.as_deref(),
        enabled: endpoint.disabled_ms.is_none(),
        disabled_at: endpoint.disabled_ms.map(rfc3339),
        disabled_reason: endpoint.disabled_reason.as_deref(),
        previous_secret_valid_until: endpoint
            .previous_until_ms
            .filter(|until| *until > warrant_app::now_ms())
            .map(rfc3339),
        created_at: rfc3339(endpoint.created_ms),
        updated_at: rfc3339(endpoint.updated_ms),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = WebhookEndpointWithSecret)]
struct WithSecret<'a> {
    #[serde(flatten)]
    view: EndpointView<'a>,
    /// `whsec_…`, shown only here.
    secret: &'a str,
}

fn with_secret(status: StatusCode, made: &EndpointWithSecret) -> Result<Reply> {
    Reply::json(
        status,
        &WithSecret {
            view: view(&made.endpoint),
            secret: &made.secret,
        },
    )
}

/// `POST /webhook-endpoints {"url","events","description"?}`: 201 with
/// the signing secret, shown once.
#[utoipa::path(
    post,
    operation_id = "webhooks_create",
    path = "/webhook-endpoints",
    tag = "webhooks",
    request_body = EndpointRequest,
    responses((status = 201, description = "The endpoint, its secret shown once.", body = WithSecret<'static>))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let request: EndpointRequest = submission.json()?;
    let made = state.app.webhooks().create(&principal, request).await?;
    with_secret(StatusCode::CREATED, &made)
}

/// `GET /webhook-endpoints`: newest first; no secrets.
#[utoipa::path(
    get,
    operation_id = "webhooks_list",
    path = "/webhook-endpoints",
    tag = "webhooks",
    params(PageQuery),
    responses((status = 200, description = "A page of the tenant's endpoints, newest first.", body = crate::http::ListingPage<'static, EndpointView<'static>>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let page = query.page()?;
    let endpoints = state.app.webhooks().list(&principal, &page).await?;
    let listing = Listing::new(endpoints, &page, |e| e.id.clone());
    listing.reply(|endpoint| Ok(view(endpoint)))
}

/// `GET /webhook-endpoints/:id`.
#[utoipa::path(
    get,
    operation_id = "webhooks_show",
    path = "/webhook-endpoints/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The endpoint.", body = EndpointView<'static>))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    Reply::ok(&view(&state.app.webhooks().show(&principal, &id).await?))
}

/// `PATCH /webhook-endpoints/:id {"url"?,"events"?,"description"?,"enabled"?}`.
#[utoipa::path(
    patch,
    operation_id = "webhooks_update",
    path = "/webhook-endpoints/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The object's id.")),
    request_body = EndpointPatch,
    responses((status = 200, description = "The endpoint as changed.", body = EndpointView<'static>))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let patch: EndpointPatch = submission.json()?;
    let endpoint = state.app.webhooks().update(&principal, &id, patch).await?;
    Reply::ok(&view(&endpoint))
}

/// `DELETE /webhook-endpoints/:id`: 204; its deliveries go with it, its
/// events stay in the log.
#[utoipa::path(
    delete,
    operation_id = "webhooks_delete",
    path = "/webhook-endpoints/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 204, description = "Deleted."))
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    state.app.webhooks().delete(&principal, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /webhook-endpoints/:id/rotate-secret`: a new secret, shown once;
/// the old one signs beside it for 24 hours.
#[utoipa::path(
    post,
    operation_id = "webhooks_rotate_secret",
    path = "/webhook-endpoints/{id}/rotate-secret",
    tag = "webhooks",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The endpoint with its new secret, shown once.", body = WithSecret<'static>))
)]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let rotated = state.app.webhooks().rotate_secret(&principal, &id).await?;
    with_secret(StatusCode::OK, &rotated)
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct PingView {
    /// The `ping` event sent; its delivery shows among the endpoint's.
    event_id: String,
}

/// `POST /webhook-endpoints/:id/test`: sends the endpoint a `ping`; 202.
#[utoipa::path(
    post,
    operation_id = "webhooks_test",
    path = "/webhook-endpoints/{id}/test",
    tag = "webhooks",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 202, description = "The ping is queued.", body = PingView))
)]
pub(crate) async fn test(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let event_id = state.app.webhooks().test(&principal, &id).await?;
    Reply::json(StatusCode::ACCEPTED, &PingView { event_id })
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AttemptView<'a> {
    at: String,
    duration_ms: i64,
    /// The endpoint's HTTP status, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    response_status: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeliveryView<'a> {
    id: &'a str,
    event_id: &'a str,
    event_type: &'a str,
    /// `pending`, `delivered` or `failed`.
    #[schema(value_type = String)]
    status: DeliveryStatus,
    attempts: Vec<AttemptView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<String>,
    created_at: String,
    updated_at: String,
}

fn delivery_view(delivery: &DeliveryRecord) -> DeliveryView<'_> {
    DeliveryView {
        id: &delivery.id,
        event_id: &delivery.event_id,
        event_type: &delivery.event_type,
        status: delivery.status,
        attempts: delivery
            .tries
            .iter()
            .map(|attempt| AttemptView {
                at: rfc3339(attempt.at_ms),
                duration_ms: attempt.duration_ms,
                response_status: attempt.response_status,
                error: attempt.error.as_deref(),
            })
            .collect(),
        next_attempt_at: delivery
            .next_attempt_ms
            .filter(|_| delivery.status == DeliveryStatus::Pending)
            .map(rfc3339),
        created_at: rfc3339(delivery.created_ms),
        updated_at: rfc3339(delivery.updated_ms),
    }
}

/// `GET /webhook-endpoints/:id/deliveries`: newest first, each with its
/// attempts (status, response code, duration) and next attempt.
#[utoipa::path(
    get,
    operation_id = "webhooks_deliveries",
    path = "/webhook-endpoints/{id}/deliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The object's id."), PageQuery),
    responses((status = 200, description = "A page of deliveries, newest first.", body = crate::http::ListingPage<'static, DeliveryView<'static>>))
)]
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let page = query.page()?;
    let deliveries = state
        .app
        .webhooks()
        .deliveries(&principal, &id, &page)
        .await?;
    let listing = Listing::new(deliveries, &page, |d| d.id.clone());
    listing.reply(|delivery| Ok(delivery_view(delivery)))
}
