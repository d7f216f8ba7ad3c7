//! `/cards`: the cards agents pay with; `/agents/:id/secrets` and
//! `/secrets`: secrets, whose values no answer shows but a reveal for an
//! approved intent (`/intents/:id/secrets/:key/reveal`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use warrant_app::Principal;
use warrant_app::cards::{CardMove, CardPatch, CardQuery, CardRequest};
use warrant_app::secrets::{Owner, SecretRequest};
use warrant_domain::card::{CardStatus, Provider};
use warrant_store::{CardRecord, SecretRecord};

use crate::AppState;
use crate::errors::Result;
use crate::http::{ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, rfc3339};

/// A card as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CardView<'a> {
    id: &'a str,
    agent_id: &'a str,
    name: &'a str,
    currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last4: Option<&'a str>,
    provider: Provider,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    status: CardStatus,
    created_at: String,
    updated_at: String,
}

pub(crate) fn view(card: &CardRecord) -> CardView<'_> {
    CardView {
        id: &card.id,
        agent_id: &card.agent_id,
        name: &card.name,
        currency: card.currency.code(),
        last4: card.last4.as_deref(),
        provider: card.provider,
        external_id: card.external_id.as_deref(),
        status: card.status,
        created_at: rfc3339(card.created_ms),
        updated_at: rfc3339(card.updated_ms),
    }
}

/// `POST /cards {"agentId","name","currency"?,"last4"?,"provider"?,"externalId"?}`.
#[utoipa::path(
    post,
    operation_id = "cards_create",
    path = "/cards",
    tag = "cards",
    request_body = CardRequest,
    responses((status = 201, description = "The card.", body = CardView<'static>))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let request: CardRequest = submission.json()?;
    let card = state.app.cards().create(&principal, request).await?;
    Reply::json(StatusCode::CREATED, &view(&card))
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
    /// Only this agent's cards.
    agent_id: Option<String>,
}

/// `GET /cards?agentId=`: newest first; an agent token sees its own
/// agent's.
#[utoipa::path(
    get,
    operation_id = "cards_list",
    path = "/cards",
    tag = "cards",
    params(ListQuery),
    responses((status = 200, description = "A page of cards, newest first.", body = crate::http::ListingPage<'static, CardView<'static>>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Reply> {
    let page = PageQuery::new(query.limit, query.cursor).page()?;
    let filter = CardQuery {
        agent_id: query.agent_id,
    };
    let cards = state.app.cards().list(&principal, filter, &page).await?;
    let listing = Listing::new(cards, &page, |c| c.id.clone());
    listing.reply(|card| Ok(view(card)))
}

/// `GET /cards/:id`.
#[utoipa::path(
    get,
    operation_id = "cards_show",
    path = "/cards/{id}",
    tag = "cards",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The card.", body = CardView<'static>))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    Reply::ok(&view(&state.app.cards().show(&principal, &id).await?))
}

/// `PATCH /cards/:id {"name"?,"last4"?,"externalId"?}`.
#[utoipa::path(
    patch,
    operation_id = "cards_update",
    path = "/cards/{id}",
    tag = "cards",
    params(("id" = String, Path, description = "The object's id.")),
    request_body = CardPatch,
    responses((status = 200, description = "The card as changed.", body = CardView<'static>))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let patch: CardPatch = submission.json()?;
    Reply::ok(&view(
        &state.app.cards().update(&principal, &id, patch).await?,
    ))
}

async fn move_card(
    state: &AppState,
    principal: &Principal,
    id: &str,
    step: CardMove,
) -> Result<Reply> {
    Reply::ok(&view(
        &state.app.cards().move_to(principal, id, step).await?,
    ))
}

/// `DELETE /cards/:id`: closes the card for good; 200 with it.
#[utoipa::path(
    delete,
    operation_id = "cards_close",
    path = "/cards/{id}",
    tag = "cards",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The card, closed.", body = CardView<'static>))
)]
pub(crate) async fn close(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    move_card(&state, &principal, &id, CardMove::Close).await
}

/// `POST /cards/:id/freeze`: nothing is approved or authorized on it.
#[utoipa::path(
    post,
    operation_id = "cards_freeze",
    path = "/cards/{id}/freeze",
    tag = "cards",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The card, frozen.", body = CardView<'static>))
)]
pub(crate) async fn freeze(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    move_card(&state, &principal, &id, CardMove::Freeze).await
}

/// `POST /cards/:id/unfreeze`.
#[utoipa::path(
    post,
    operation_id = "cards_unfreeze",
    path = "/cards/{id}/unfreeze",
    tag = "cards",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The card, active again.", body = CardView<'static>))
)]
pub(crate) async fn unfreeze(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    move_card(&state, &principal, &id, CardMove::Unfreeze).await
}

/// A secret as the API shows it: never its value.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretView<'a> {
    key: &'a str,
    allowed_hosts: &'a [String],
    set_at: String,
}

fn secret_view(secret: &SecretRecord) -> SecretView<'_> {
    SecretView {
        key: &secret.key,
        allowed_hosts: &secret.allowed_hosts,
        set_at: rfc3339(secret.set_ms),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct SecretList<'a> {
    data: Vec<SecretView<'a>>,
}

fn secret_list(secrets: &[SecretRecord]) -> Result<Reply> {
    Reply::ok(&SecretList {
        data: secrets.iter().map(secret_view).collect(),
    })
}

async fn put_secret(
    state: &AppState,
    principal: &Principal,
    owner: Owner<'_>,
    key: &str,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let request: SecretRequest = submission.json()?;
    let (secret, created) = state
        .app
        .secrets()
        .put(principal, owner, key, request)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Reply::json(status, &secret_view(&secret))
}

/// `PUT /agents/:id/secrets/:key {"value","allowedHosts"?}`: 201 when new,
/// 200 when replaced; the value is never shown again.
#[utoipa::path(
    put,
    operation_id = "agents_put_secret",
    path = "/agents/{id}/secrets/{key}",
    tag = "secrets",
    params(("id" = String, Path, description = "The agent's id."), ("key" = String, Path, description = "The secret's key.")),
    request_body = SecretRequest,
    responses(
        (status = 201, description = "Set; its metadata.", body = SecretView<'static>),
        (status = 200, description = "Replaced; its metadata.", body = SecretView<'static>)
    )
)]
pub(crate) async fn put_agent_secret(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, key)): ApiPath<(String, String)>,
    submission: Submission,
) -> Result<Reply> {
    put_secret(&state, &principal, Owner::Agent(&id), &key, submission).await
}

/// `GET /agents/:id/secrets`: keys and metadata, never values.
#[utoipa::path(
    get,
    operation_id = "agents_secrets",
    path = "/agents/{id}/secrets",
    tag = "secrets",
    params(("id" = String, Path, description = "The agent's id.")),
    responses((status = 200, description = "The agent's secrets, by key.", body = SecretList<'static>))
)]
pub(crate) async fn agent_secrets(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    secret_list(
        &state
            .app
            .secrets()
            .list(&principal, Owner::Agent(&id))
            .await?,
    )
}

/// `DELETE /agents/:id/secrets/:key`: 204.
#[utoipa::path(
    delete,
    operation_id = "agents_delete_secret",
    path = "/agents/{id}/secrets/{key}",
    tag = "secrets",
    params(("id" = String, Path, description = "The agent's id."), ("key" = String, Path, description = "The secret's key.")),
    responses((status = 204, description = "Deleted."))
)]
pub(crate) async fn delete_agent_secret(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, key)): ApiPath<(String, String)>,
) -> Result<Response> {
    state
        .app
        .secrets()
        .delete(&principal, Owner::Agent(&id), &key)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /secrets/:key {"value","allowedHosts"?}`: a secret of the tenant's
/// own (e.g. `STRIPE_SIGNING_SECRET`), never revealed.
#[utoipa::path(
    put,
    operation_id = "secrets_put",
    path = "/secrets/{key}",
    tag = "secrets",
    params(("key" = String, Path, description = "The secret's key.")),
    request_body = SecretRequest,
    responses(
        (status = 201, description = "Set; its metadata.", body = SecretView<'static>),
        (status = 200, description = "Replaced; its metadata.", body = SecretView<'static>)
    )
)]
pub(crate) async fn put_tenant_secret(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    put_secret(&state, &principal, Owner::Tenant, &key, submission).await
}

/// `GET /secrets`: the tenant's own secrets, keys and metadata only.
#[utoipa::path(
    get,
    operation_id = "secrets_list",
    path = "/secrets",
    tag = "secrets",
    responses((status = 200, description = "The tenant's secrets, by key.", body = SecretList<'static>))
)]
pub(crate) async fn tenant_secrets(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Reply> {
    secret_list(&state.app.secrets().list(&principal, Owner::Tenant).await?)
}

/// `DELETE /secrets/:key`: 204.
#[utoipa::path(
    delete,
    operation_id = "secrets_delete",
    path = "/secrets/{key}",
    tag = "secrets",
    params(("key" = String, Path, description = "The secret's key.")),
    responses((status = 204, description = "Deleted."))
)]
pub(crate) async fn delete_tenant_secret(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(key): ApiPath<String>,
) -> Result<Response> {
    state
        .app
        .secrets()
        .delete(&principal, Owner::Tenant, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A secret revealed for an intent.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct RevealedView<'a> {
    key: &'a str,
    value: &'a str,
    intent_id: &'a str,
}

/// `POST /intents/:id/secrets/:key/reveal`: the agent's secret, to its
/// own token with `secrets:reveal`, while the intent is approved and its
/// merchant one of the secret's allowed hosts; recorded on the intent's
/// history.
#[utoipa::path(
    post,
    operation_id = "intents_reveal_secret",
    path = "/intents/{id}/secrets/{key}/reveal",
    tag = "secrets",
    params(("id" = String, Path, description = "The intent's id."), ("key" = String, Path, description = "The secret's key.")),
    responses((status = 200, description = "The secret's value.", body = RevealedView<'static>))
)]
pub(crate) async fn reveal(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, key)): ApiPath<(String, String)>,
) -> Result<Response> {
    let revealed = state.app.secrets().reveal(&principal, &id, &key).await?;
    let mut response = Reply::ok(&RevealedView {
        key: &revealed.key,
        value: &revealed.value,
        intent_id: &revealed.intent_id,
    })?
    .into_response();
    // Never kept by a cache on the way.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
