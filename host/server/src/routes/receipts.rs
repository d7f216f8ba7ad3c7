//! Proof: the public keys that sign receipts (`/.well-known/jwks.json`,
//! per tenant, and the tenant's own listing), their rotation, an intent's
//! receipts, and the walk of the tenant's chain.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use warrant_app::Principal;
use warrant_app::publishers::{PublisherKeyRequest, Settings, SettingsUpdate};
use warrant_app::receipts::{ChainReport, jwk_of};
use warrant_app::replay::ReplayReport;
use warrant_domain::receipt::{self, Jwk, Jwks, Receipt};
use warrant_store::{PublisherKeyRecord, ReceiptRecord, SigningKeyRecord};

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{ApiPath, ApiQuery, Reply, Submission, rfc3339};

/// The public keys of every tenant's receipts, active and retired, as a
/// JWK Set (RFC 7517; OKP Ed25519 keys, RFC 8037): what a verifier of any
/// receipt needs. Public.
#[utoipa::path(
    get,
    operation_id = "receipts_jwks",
    path = "/.well-known/jwks.json",
    tag = "receipts",
    security(()),
    responses((status = 200, description = "Every tenant's public signing keys.", body = Jwks))
)]
pub(crate) async fn jwks(State(state): State<AppState>) -> Result<Reply> {
    Reply::ok(&state.app.receipts().jwks(None).await?)
}

/// `GET /tenants/:id/jwks.json`: one tenant's public signing keys, active
/// and retired. Public.
#[utoipa::path(
    get,
    operation_id = "receipts_tenant_jwks",
    path = "/tenants/{id}/jwks.json",
    tag = "receipts",
    security(()),
    params(("id" = String, Path, description = "The tenant's id.")),
    responses((status = 200, description = "The tenant's public signing keys.", body = Jwks))
)]
pub(crate) async fn tenant_jwks(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    Reply::ok(&state.app.receipts().jwks(Some(&id)).await?)
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SigningKeyView {
    /// The key id receipts name (its RFC 7638 thumbprint).
    kid: String,
    /// Whether it signs the tenant's next receipts.
    active: bool,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    retired_at: Option<String>,
    /// The public key.
    jwk: Jwk,
}

fn key_view(key: &SigningKeyRecord) -> SigningKeyView {
    SigningKeyView {
        kid: key.kid.clone(),
        active: key.retired_ms.is_none(),
        created_at: rfc3339(key.created_ms),
        retired_at: key.retired_ms.map(rfc3339),
        jwk: jwk_of(key),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct SigningKeys {
    data: Vec<SigningKeyView>,
}

/// `GET /signing-keys`: the caller's tenant's signing keys, oldest first
/// (none before its first receipt).
#[utoipa::path(
    get,
    operation_id = "receipts_keys",
    path = "/signing-keys",
    tag = "receipts",
    responses((status = 200, description = "The tenant's signing keys.", body = SigningKeys))
)]
pub(crate) async fn keys(State(state): State<AppState>, principal: Principal) -> Result<Reply> {
    let keys = state.app.receipts().keys(&principal).await?;
    Reply::ok(&SigningKeys {
        data: keys.iter().map(key_view).collect(),
    })
}

/// `POST /signing-keys/rotate` (an `admin` key): a new key signs the
/// tenant's receipts from now on; the one before is retired and stays
/// published, so that the receipts it signed still verify.
#[utoipa::path(
    post,
    operation_id = "receipts_rotate",
    path = "/signing-keys/rotate",
    tag = "receipts",
    responses((status = 200, description = "The new signing key.", body = SigningKeyView))
)]
pub(crate) async fn rotate(State(state): State<AppState>, principal: Principal) -> Result<Reply> {
    let made = state.app.receipts().rotate(&principal).await?;
    Reply::ok(&key_view(&made))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReceiptView {
    sequence: i64,
    /// The compact JWS: what a verifier checks.
    jws: String,
    /// What it says, decoded (unverified; verify `jws`).
    receipt: Receipt,
    created_at: String,
}

fn receipt_view(record: &ReceiptRecord) -> Result<ReceiptView> {
    Ok(ReceiptView {
        sequence: record.sequence,
        jws: record.jws.clone(),
        receipt: receipt::unverified(&record.jws).map_err(ApiError::internal)?,
        created_at: rfc3339(record.created_ms),
    })
}

#[derive(Serialize, utoipa::ToSchema)]
struct Receipts {
    data: Vec<ReceiptView>,
}

/// `GET /intents/:id/receipts`: the intent's receipts, oldest first: one
/// per entry of its history.
#[utoipa::path(
    get,
    operation_id = "receipts_of_intent",
    path = "/intents/{id}/receipts",
    tag = "receipts",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The intent's receipts.", body = Receipts))
)]
pub(crate) async fn of_intent(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let receipts = state.app.receipts().of_intent(&principal, &id).await?;
    Reply::ok(&Receipts {
        data: receipts.iter().map(receipt_view).collect::<Result<_>>()?,
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyQuery {
    /// The first sequence to walk; 1 when absent.
    from: Option<i64>,
    /// The last sequence to walk; the chain's head when absent.
    to: Option<i64>,
}

/// `GET /receipts/verify?from=&to=`: walks the tenant's chain of receipts
/// against its published keys and names the first link that does not
/// hold (changed, missing, reordered, or signed by an unknown key). 200
/// either way: `intact` says which.
#[utoipa::path(
    get,
    operation_id = "receipts_verify",
    path = "/receipts/verify",
    tag = "receipts",
    params(VerifyQuery),
    responses((status = 200, description = "What the walk found.", body = ChainReport))
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<VerifyQuery>,
) -> Result<Reply> {
    let report = state
        .app
        .receipts()
        .verify(&principal, query.from, query.to)
        .await?;
    Reply::ok(&report)
}

/// `POST /intents/:id/replay`: makes the intent's decision again from the
/// input its plugins saw (kept with it) on the plugins it names by sha256,
/// and answers `{"identical": true, …}` or the steps that answered
/// otherwise. Stores nothing; no action runs.
#[utoipa::path(
    post,
    operation_id = "receipts_replay",
    path = "/intents/{id}/replay",
    tag = "receipts",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "What the replay found.", body = ReplayReport))
)]
pub(crate) async fn replay(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    Reply::ok(&state.app.replay(&principal, &id).await?)
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct PublisherKeyView<'a> {
    /// The id an upload's signature names (`keyid=`).
    kid: &'a str,
    name: &'a str,
    /// The Ed25519 public key, base64url.
    public_key: &'a str,
    created_at: String,
}

fn publisher_view(key: &PublisherKeyRecord) -> PublisherKeyView<'_> {
    PublisherKeyView {
        kid: &key.kid,
        name: &key.name,
        public_key: &key.public_key,
        created_at: rfc3339(key.created_ms),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct PublisherKeys<'a> {
    data: Vec<PublisherKeyView<'a>>,
}

/// `POST /publisher-keys {"name","publicKey"}` (an `admin` key): trusts a
/// publisher's Ed25519 key to sign the tenant's plugins; 201 with its
/// `kid`, the id an upload's `Warrant-Plugin-Signature` names.
#[utoipa::path(
    post,
    operation_id = "publishers_add",
    path = "/publisher-keys",
    tag = "plugins",
    request_body = PublisherKeyRequest,
    responses((status = 201, description = "The key, trusted.", body = PublisherKeyView<'static>))
)]
pub(crate) async fn add_publisher(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    let request: PublisherKeyRequest = submission.json()?;
    let key = state.app.add_publisher_key(&principal, request).await?;
    Reply::json(axum::http::StatusCode::CREATED, &publisher_view(&key))
}

/// `GET /publisher-keys`: the publishers' keys the tenant trusts.
#[utoipa::path(
    get,
    operation_id = "publishers_list",
    path = "/publisher-keys",
    tag = "plugins",
    responses((status = 200, description = "The trusted keys, oldest first.", body = PublisherKeys<'static>))
)]
pub(crate) async fn publishers(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Reply> {
    let keys = state.app.publisher_keys(&principal).await?;
    Reply::ok(&PublisherKeys {
        data: keys.iter().map(publisher_view).collect(),
    })
}

/// `GET /settings`: the tenant's settings.
#[utoipa::path(
    get,
    operation_id = "settings_show",
    path = "/settings",
    tag = "tenants",
    responses((status = 200, description = "The tenant's settings.", body = Settings))
)]
pub(crate) async fn settings(State(state): State<AppState>, principal: Principal) -> Result<Reply> {
    Reply::ok(&state.app.settings(&principal).await?)
}

/// `PATCH /settings {"requireSignedPlugins"?}` (an `admin` key): with
/// `requireSignedPlugins`, an upload without a registered publisher's valid
/// signature is refused (400 `E_PLUGIN_SIGNATURE`) and nothing stored.
#[utoipa::path(
    patch,
    operation_id = "settings_update",
    path = "/settings",
    tag = "tenants",
    request_body = SettingsUpdate,
    responses((status = 200, description = "The tenant's settings.", body = Settings))
)]
pub(crate) async fn update_settings(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    let update: SettingsUpdate = submission.json()?;
    Reply::ok(&state.app.update_settings(&principal, update).await?)
}
