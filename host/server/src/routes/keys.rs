//! `/api-keys`: a tenant's named keys with roles, managed with an `admin`
//! key; each secret shown once.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use warrant_app::Principal;
use warrant_app::keys::{ApiKeyRequest, KeyWithSecret, RollRequest};
use warrant_app::{Needs, forget};
use warrant_store::ApiKeyRecord;

use crate::AppState;
use crate::errors::Result;
use crate::http::{ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, once, rfc3339};

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct KeyView<'a> {
    id: &'a str,
    name: &'a str,
    role: &'a str,
    /// The secret's first characters.
    prefix: &'a str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    /// Until when the secret it was rolled from still works.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_key_valid_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
}

fn view(key: &ApiKeyRecord) -> KeyView<'_> {
    KeyView {
        id: &key.id,
        name: &key.name,
        role: &key.role,
        prefix: &key.prefix,
        created_at: rfc3339(key.created_ms),
        last_used_at: key.last_used_ms.map(rfc3339),
        expires_at: key.expires_ms.map(rfc3339),
        previous_key_valid_until: key
            .previous_until_ms
            .filter(|until| *until > warrant_app::now_ms())
            .map(rfc3339),
        revoked_at: key.revoked_ms.map(rfc3339),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct WithSecret<'a> {
    #[serde(flatten)]
    view: KeyView<'a>,
    /// `sk_…`, shown only here.
    key: &'a str,
}

fn with_secret(status: StatusCode, made: &KeyWithSecret) -> Result<Reply> {
    Reply::json(
        status,
        &WithSecret {
            view: view(&made.key),
            key: &made.secret,
        },
    )
}

/// `POST /api-keys {"name","role","expiresAt"?}`: 201 with the key's
/// secret, shown once.
#[utoipa::path(
    post,
    operation_id = "keys_create",
    path = "/api-keys",
    tag = "keys",
    request_body = ApiKeyRequest,
    responses((status = 201, description = "The key, its secret shown once.", body = WithSecret<'static>))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    principal.needs(Needs::ManageKeys)?;
    let request: ApiKeyRequest = submission.json()?;
    once(&state, &principal, &submission, async |ticket| {
        let render = |made: &KeyWithSecret| with_secret(StatusCode::CREATED, made);
        let remember = |made: &KeyWithSecret| ticket.record(&render(made).ok()?);
        render(
            &state
                .app
                .api_keys()
                .create(&principal, request, &remember)
                .await?,
        )
    })
    .await
}

/// `GET /api-keys`: newest first, revoked ones included; no secrets.
#[utoipa::path(
    get,
    operation_id = "keys_list",
    path = "/api-keys",
    tag = "keys",
    params(PageQuery),
    responses((status = 200, description = "A page of the tenant's keys, newest first; no secrets.", body = crate::http::ListingPage<'static, KeyView<'static>>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let page = query.page()?;
    let keys = state.app.api_keys().list(&principal, &page).await?;
    let listing = Listing::new(keys, &page, |k| k.id.clone());
    listing.reply(|key| Ok(view(key)))
}

/// `GET /api-keys/:id`.
#[utoipa::path(
    get,
    operation_id = "keys_show",
    path = "/api-keys/{id}",
    tag = "keys",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The key; no secret.", body = KeyView<'static>))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    Reply::ok(&view(&state.app.api_keys().show(&principal, &id).await?))
}

/// `POST /api-keys/:id/roll {"graceSeconds"?}`: 200 with the new secret,
/// shown once; the old one works for the grace period (24 h by default).
#[utoipa::path(
    post,
    operation_id = "keys_roll",
    path = "/api-keys/{id}/roll",
    tag = "keys",
    params(("id" = String, Path, description = "The object's id.")), request_body = RollRequest,
    responses((status = 200, description = "The key with its new secret, shown once.", body = WithSecret<'static>))
)]
pub(crate) async fn roll(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.needs(Needs::ManageKeys)?;
    let request: RollRequest = submission.json_or_empty()?;
    once(&state, &principal, &submission, async |ticket| {
        let render = |made: &KeyWithSecret| with_secret(StatusCode::OK, made);
        let remember = |made: &KeyWithSecret| ticket.record(&render(made).ok()?);
        render(
            &state
                .app
                .api_keys()
                .roll(&principal, &id, request, &remember)
                .await?,
        )
    })
    .await
}

/// `DELETE /api-keys/:id`: 200 with the key, revoked at once on every
/// server (a revoked key answers as it is).
#[utoipa::path(
    delete,
    operation_id = "keys_revoke",
    path = "/api-keys/{id}",
    tag = "keys",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The key, revoked.", body = KeyView<'static>))
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let key = state
        .app
        .api_keys()
        .revoke(&principal, &id, &forget)
        .await?;
    Reply::ok(&view(&key))
}
