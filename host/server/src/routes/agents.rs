//! `/agents`: a tenant's agents, their status (freeze, archive, the kill
//! switch, activation), their versions and rollback, their events and
//! their tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use warrant_app::Principal;
use warrant_app::agent_keys::{self, AgentKeyRequest};
use warrant_app::agents::{AgentQuery, Hold};
use warrant_app::tokens::{IssuedToken, TokenRequest};
use warrant_domain::agent::{AgentRequest, AgentUpdate};
use warrant_domain::context::{AgentProfile, AgentStatus, AgentType};
use warrant_domain::receipt::Jwk;
use warrant_domain::receipt::Jwks;
use warrant_domain::signature::SecretJwk;
use warrant_store::{AgentEvent, AgentRecord, AgentVersion, Suspension, TokenRecord};

use crate::AppState;
use crate::errors::Result;
use crate::http::{ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, once, rfc3339};
use crate::routes::oversight::BaselineView;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgentView<'a> {
    id: &'a str,
    name: &'a str,
    status: AgentStatus,
    agent_type: AgentType,
    profile: &'a AgentProfile,
    tags: &'a [String],
    metadata: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<BaselineView<'a>>,
    policy_id: &'a str,
    version: i64,
    created_at: String,
    updated_at: String,
    /// The public key the agent signs its requests with
    /// (`Warrant-Agent-Signature`); all its keys are at
    /// `GET /agents/:id/jwks.json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_key: Option<Jwk>,
}

/// `POST /agents`' first answer: the agent and its key's secret half,
/// shown this once.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedAgentView<'a> {
    #[serde(flatten)]
    agent: AgentView<'a>,
    /// The secret key (a JWK with `d`) the agent signs with. Kept
    /// nowhere: an idempotent replay of the request answers without it.
    secret_key: &'a SecretJwk,
}

pub(crate) fn view(record: &AgentRecord) -> Result<AgentView<'_>> {
    let agent = &record.agent;
    Ok(AgentView {
        id: &agent.id,
        name: &agent.name,
        status: agent.status,
        agent_type: agent.agent_type,
        profile: &agent.profile,
        tags: &agent.tags,
        metadata: &agent.metadata,
        baseline: BaselineView::of_option(agent.baseline.as_ref())?,
        policy_id: &record.policy_id,
        version: record.version,
        created_at: rfc3339(record.created_ms),
        updated_at: rfc3339(record.updated_ms),
        signing_key: record.signing_key.as_ref().map(agent_keys::jwk),
    })
}

pub(crate) fn reply(record: &AgentRecord) -> Result<Reply> {
    Reply::ok(&view(record)?)
}

/// `POST /agents`: 201, active, version 1, with its key's secret half.
#[utoipa::path(
    post,
    operation_id = "agents_create",
    path = "/agents",
    tag = "agents",
    request_body = AgentRequest,
    responses((status = 201, description = "The agent, active, version 1, and the secret key it signs with (this answer only).", body = CreatedAgentView<'static>))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let request: AgentRequest = submission.json()?;
    once(&state, &principal, &submission, async |ticket| {
        let render = |record: &AgentRecord| Reply::json(StatusCode::CREATED, &view(record)?);
        let (record, secret_key) = state
            .app
            .agents()
            .create(&principal, request, &|record| {
                ticket.record(&render(record).ok()?)
            })
            .await?;
        Reply::json(
            StatusCode::CREATED,
            &CreatedAgentView {
                agent: view(&record)?,
                secret_key: &secret_key,
            },
        )
    })
    .await
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
    status: Option<AgentStatus>,
    agent_type: Option<AgentType>,
}

/// `GET /agents?status=&agentType=`: newest first, a page at a time.
#[utoipa::path(
    get,
    operation_id = "agents_list",
    path = "/agents",
    tag = "agents",
    params(ListQuery),
    responses((status = 200, description = "A page of agents, newest first.", body = crate::http::ListingPage<'static, AgentView<'static>>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Reply> {
    principal.reads()?;
    let page = PageQuery::new(query.limit, query.cursor).page()?;
    let filter = AgentQuery {
        status: query.status,
        agent_type: query.agent_type,
    };
    let records = state.app.agents().list(&principal, filter, &page).await?;
    let listing = Listing::new(records, &page, |r| r.agent.id.clone());
    listing.reply(view)
}

/// `GET /agents/:id`; an agent token reads its own.
#[utoipa::path(
    get,
    operation_id = "agents_show",
    path = "/agents/{id}",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The agent.", body = AgentView<'static>))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    reply(&state.app.agents().show(&principal, &id).await?)
}

/// `PATCH /agents/:id`: a new version; `status` between active and
/// frozen only.
#[utoipa::path(
    patch,
    operation_id = "agents_update",
    path = "/agents/{id}",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id.")), request_body = AgentUpdate,
    responses((status = 200, description = "The agent, a new version when its configuration changed.", body = AgentView<'static>))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let update: AgentUpdate = submission.json()?;
    reply(&state.app.agents().update(&principal, &id, update).await?)
}

/// `POST /agents/:id/freeze`.
#[utoipa::path(
    post,
    operation_id = "agents_freeze",
    path = "/agents/{id}/freeze",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The agent, frozen.", body = AgentView<'static>))
)]
pub(crate) async fn freeze(
    state: State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    hold(state, principal, id, submission, Hold::Freeze).await
}

/// `POST /agents/:id/unfreeze`.
#[utoipa::path(
    post,
    operation_id = "agents_unfreeze",
    path = "/agents/{id}/unfreeze",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The agent, active.", body = AgentView<'static>))
)]
pub(crate) async fn unfreeze(
    state: State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    hold(state, principal, id, submission, Hold::Unfreeze).await
}

async fn hold(
    State(state): State<AppState>,
    principal: Principal,
    id: String,
    submission: Submission,
    hold: Hold,
) -> Result<Reply> {
    principal.configures()?;
    once(&state, &principal, &submission, async |ticket| {
        let remember = |record: &AgentRecord| ticket.record(&reply(record).ok()?);
        reply(
            &state
                .app
                .agents()
                .hold(&principal, &id, hold, &remember)
                .await?,
        )
    })
    .await
}

/// `DELETE /agents/:id`: archives the agent, cancels its live intents and
/// revokes its tokens.
#[utoipa::path(
    delete,
    operation_id = "agents_archive",
    path = "/agents/{id}",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The agent, archived; its live intents cancelled, its tokens revoked.", body = AgentView<'static>))
)]
pub(crate) async fn archive(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    reply(&state.app.agents().archive(&principal, &id).await?)
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct VersionView<'a> {
    version: i64,
    name: &'a str,
    policy_id: &'a str,
    agent_type: AgentType,
    profile: &'a AgentProfile,
    tags: &'a [String],
    metadata: &'a Map<String, Value>,
    actor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_name: Option<&'a str>,
    reason: Option<&'a str>,
    created_at: String,
}

fn version_view(version: &AgentVersion) -> VersionView<'_> {
    VersionView {
        version: version.version,
        name: &version.name,
        policy_id: &version.policy_id,
        agent_type: version.agent_type,
        profile: &version.profile,
        tags: &version.tags,
        metadata: &version.metadata,
        actor: &version.actor,
        actor_name: version.actor_name.as_deref(),
        reason: version.reason.as_deref(),
        created_at: rfc3339(version.created_ms),
    }
}

/// `GET /agents/:id/versions`: oldest first, a page at a time.
#[utoipa::path(
    get,
    operation_id = "agents_versions",
    path = "/agents/{id}/versions",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id."), PageQuery),
    responses((status = 200, description = "A page of the agent's versions, newest first.", body = crate::http::ListingPage<'static, VersionView<'static>>))
)]
pub(crate) async fn versions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    principal.reads()?;
    let page = query.version_page()?;
    let versions = state.app.agents().versions(&principal, &id, &page).await?;
    let listing = Listing::new(versions, &page, |v| v.version.to_string());
    listing.reply(|version| Ok(version_view(version)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RollbackAgent {
    target_version: i64,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /agents/:id/rollback {"targetVersion","reason"?}`.
#[utoipa::path(
    post,
    operation_id = "agents_rollback",
    path = "/agents/{id}/rollback",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id.")), request_body = RollbackAgent,
    responses((status = 200, description = "The agent with a new version, the target's configuration.", body = AgentView<'static>))
)]
pub(crate) async fn rollback(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let body: RollbackAgent = submission.json()?;
    once(&state, &principal, &submission, async |ticket| {
        let remember = |record: &AgentRecord| ticket.record(&reply(record).ok()?);
        let record = state
            .app
            .agents()
            .rollback(&principal, &id, body.target_version, body.reason, &remember)
            .await?;
        reply(&record)
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmergencySuspend {
    reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SuspensionView<'a> {
    agent: AgentView<'a>,
    cancelled_intents: &'a [String],
    revoked_tokens: u64,
}

fn suspension_reply(suspension: &Suspension) -> Result<Reply> {
    Reply::ok(&SuspensionView {
        agent: view(&suspension.agent)?,
        cancelled_intents: &suspension.cancelled_intents,
        revoked_tokens: suspension.revoked_tokens,
    })
}

/// `POST /agents/:id/emergency-suspend {"reason"}`: the kill switch.
#[utoipa::path(
    post,
    operation_id = "agents_emergency_suspend",
    path = "/agents/{id}/emergency-suspend",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id.")), request_body = EmergencySuspend,
    responses((status = 200, description = "The agent, suspended, and what the suspension cancelled and revoked.", body = SuspensionView<'static>))
)]
pub(crate) async fn emergency_suspend(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let body: EmergencySuspend = submission.json_or_empty()?;
    once(&state, &principal, &submission, async |ticket| {
        let remember = |s: &Suspension| ticket.record(&suspension_reply(s).ok()?);
        let suspension = state
            .app
            .agents()
            .emergency_suspend(&principal, &id, &body.reason, &remember)
            .await?;
        suspension_reply(&suspension)
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Activate {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /agents/:id/activate {"reason"?}`: suspended → active.
#[utoipa::path(
    post,
    operation_id = "agents_activate",
    path = "/agents/{id}/activate",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id.")), request_body = Activate,
    responses((status = 200, description = "The agent, active.", body = AgentView<'static>))
)]
pub(crate) async fn activate(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let body: Activate = submission.json_or_empty()?;
    once(&state, &principal, &submission, async |ticket| {
        let remember = |record: &AgentRecord| ticket.record(&reply(record).ok()?);
        let record = state
            .app
            .agents()
            .activate(&principal, &id, body.reason, &remember)
            .await?;
        reply(&record)
    })
    .await
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AgentEventView)]
struct EventView<'a> {
    id: &'a str,
    kind: &'a str,
    actor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_name: Option<&'a str>,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    intent_id: Option<&'a str>,
    at: String,
}

/// `GET /agents/:id/events`: newest first, a page at a time.
#[utoipa::path(
    get,
    operation_id = "agents_events",
    path = "/agents/{id}/events",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id."), PageQuery),
    responses((status = 200, description = "A page of the agent's events, newest first.", body = crate::http::ListingPage<'static, EventView<'static>>))
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    principal.reads()?;
    let page = query.page()?;
    let events = state.app.agents().events(&principal, &id, &page).await?;
    let listing = Listing::new(events, &page, |e| e.id.clone());
    listing.reply(|event: &AgentEvent| {
        Ok(EventView {
            id: &event.id,
            kind: &event.kind,
            actor: &event.actor,
            actor_name: event.actor_name.as_deref(),
            message: &event.message,
            intent_id: event.intent_id.as_deref(),
            at: rfc3339(event.at_ms),
        })
    })
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenView<'a> {
    id: &'a str,
    agent_id: &'a str,
    permissions: &'a [String],
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
}

pub(crate) fn token_view(token: &TokenRecord) -> TokenView<'_> {
    TokenView {
        id: &token.id,
        agent_id: &token.agent_id,
        permissions: &token.permissions,
        created_at: rfc3339(token.created_ms),
        revoked_at: token.revoked_ms.map(rfc3339),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct IssuedView<'a> {
    #[serde(flatten)]
    view: TokenView<'a>,
    token: &'a str,
}

fn issued_reply(issued: &IssuedToken) -> Result<Reply> {
    Reply::json(
        StatusCode::CREATED,
        &IssuedView {
            view: token_view(&issued.token),
            token: &issued.secret,
        },
    )
}

/// `POST /agents/:id/tokens {"permissions"?}`: 201 with the token, shown
/// once.
#[utoipa::path(
    post,
    operation_id = "agents_issue_token",
    path = "/agents/{id}/tokens",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id.")), request_body = TokenRequest,
    responses((status = 201, description = "The token, its secret shown once.", body = IssuedView<'static>))
)]
pub(crate) async fn issue_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let request: TokenRequest = submission.json_or_empty()?;
    once(&state, &principal, &submission, async |ticket| {
        let remember = |issued: &IssuedToken| ticket.record(&issued_reply(issued).ok()?);
        let issued = state
            .app
            .agents()
            .issue_token(&principal, &id, request, &remember)
            .await?;
        issued_reply(&issued)
    })
    .await
}

/// `GET /agents/:id/tokens`: revoked ones included, oldest first.
#[utoipa::path(
    get,
    operation_id = "agents_tokens",
    path = "/agents/{id}/tokens",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id."), PageQuery),
    responses((status = 200, description = "A page of the agent's tokens, revoked ones included.", body = crate::http::ListingPage<'static, TokenView<'static>>))
)]
pub(crate) async fn tokens(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    principal.reads()?;
    let page = query.page()?;
    let tokens = state.app.agents().tokens(&principal, &id, &page).await?;
    let listing = Listing::new(tokens, &page, |t| t.id.clone());
    listing.reply(|token| Ok(token_view(token)))
}

/// `DELETE /agents/:id/tokens/:token_id`: 204.
#[utoipa::path(
    delete,
    operation_id = "agents_revoke_token",
    path = "/agents/{id}/tokens/{token_id}",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id."), ("token_id" = String, Path, description = "The token's id.")),
    responses((status = 204, description = "Revoked."))
)]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, token_id)): ApiPath<(String, String)>,
) -> Result<Response> {
    state
        .app
        .agents()
        .revoke_token(&principal, &id, &token_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /agents/:id/keys`' answer: the agent's new key, and its secret
/// half when Warrant made it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgentKeyView {
    /// The public key, now the agent's.
    signing_key: Jwk,
    /// The secret key (a JWK with `d`), when Warrant made the pair; shown
    /// this once and kept nowhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key: Option<SecretJwk>,
}

/// `POST /agents/:id/keys {"publicKey"?}` (a key that configures): the
/// agent's new Ed25519 key, the one given or one Warrant makes (its secret
/// half answered once). The key before is retired, and stays published.
#[utoipa::path(
    post,
    operation_id = "agents_add_key",
    path = "/agents/{id}/keys",
    tag = "agents",
    params(("id" = String, Path, description = "The object's id.")),
    request_body = AgentKeyRequest,
    responses((status = 201, description = "The agent's new key.", body = AgentKeyView))
)]
pub(crate) async fn add_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let request: AgentKeyRequest = submission.json_or_empty()?;
    let made = state.app.agents().add_key(&principal, &id, request).await?;
    Reply::json(
        StatusCode::CREATED,
        &AgentKeyView {
            signing_key: agent_keys::jwk(&made.key),
            secret_key: made.secret,
        },
    )
}

/// `GET /agents/:id/jwks.json`: the agent's public keys, retired ones
/// first and its key last, to check what it signed. Public.
#[utoipa::path(
    get,
    operation_id = "agents_jwks",
    path = "/agents/{id}/jwks.json",
    tag = "agents",
    security(()),
    params(("id" = String, Path, description = "The agent's id.")),
    responses((status = 200, description = "The agent's public keys.", body = Jwks))
)]
pub(crate) async fn jwks(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    Reply::ok(&state.app.agents().jwks(&id).await?)
}
