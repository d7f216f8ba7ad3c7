//! Governance: tenants' plans, agents' versions and their rollback, the
//! emergency kill switch and its undoing, agents' event log, and policy
//! rollback.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use warrant_domain::context::{AgentProfile, AgentStatus, AgentType};
use warrant_domain::intent::MAX_PURPOSE_CHARS;
use warrant_store::{
    AgentEvent, AgentVersion, Page, Plan, PolicyRecord, StoreError, Suspension, TenantRecord,
};

use crate::AppState;
use crate::agents::{AgentView, find, view};
use crate::auth::Principal;
use crate::errors::{ApiError, Result};
use crate::http::{
    ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, checked_text, new_id, now_ms, once,
    rfc3339,
};
use crate::policies::{self, PolicyDoc};

/// The governance endpoints.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/tenants/{id}", get(show_tenant).patch(update_tenant))
        .route("/policies/{id}/rollback", post(rollback_policy))
        .route("/agents/{id}/versions", get(agent_versions))
        .route("/agents/{id}/rollback", post(rollback_agent))
        .route("/agents/{id}/emergency-suspend", post(emergency_suspend))
        .route("/agents/{id}/activate", post(activate))
        .route("/agents/{id}/events", get(agent_events))
}

/// A version asked for: 1 or more.
fn target_version(version: i64) -> Result<i64> {
    if version < 1 {
        return Err(ApiError::validation("targetVersion", "must be 1 or more"));
    }
    Ok(version)
}

fn no_version(what: &str, id: &str, version: i64) -> ApiError {
    ApiError::other(
        StatusCode::NOT_FOUND,
        "E_NOT_FOUND",
        format!("{what} `{id}` has no version {version}"),
    )
}

// Tenants' plans.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TenantView<'a> {
    id: &'a str,
    name: &'a str,
    plan: Plan,
    agent_limit: Option<i64>,
    /// Its agents that are not archived.
    agents: i64,
    created_at: String,
}

async fn tenant_reply(state: &AppState, tenant: &TenantRecord) -> Result<Reply> {
    let agents = state.store.live_agent_count(&tenant.id).await?;
    Reply::ok(&TenantView {
        id: &tenant.id,
        name: &tenant.name,
        plan: tenant.plan,
        agent_limit: tenant.plan.agent_limit(),
        agents,
        created_at: rfc3339(tenant.created_ms),
    })
}

/// `GET /tenants/:id`: the admin key sees any tenant, a tenant's key only
/// its own (another's is a 404, as if it did not exist).
async fn show_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    if !matches!(principal, Principal::Admin) && principal.tenant()? != id {
        return Err(ApiError::not_found("tenant", &id));
    }
    let tenant = state
        .store
        .tenant(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant", &id))?;
    tenant_reply(&state, &tenant).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateTenant {
    plan: Plan,
}

/// `PATCH /tenants/:id {"plan"}`, with the admin key. A plan smaller than
/// the tenant's agents keeps them; only new ones are refused.
async fn update_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.admin()?;
    let body: UpdateTenant = submission.json()?;
    if !state.store.set_tenant_plan(&id, body.plan).await? {
        return Err(ApiError::not_found("tenant", &id));
    }
    let tenant = state
        .store
        .tenant(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant", &id))?;
    tenant_reply(&state, &tenant).await
}

// Agents' versions.

#[derive(Serialize)]
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
        reason: version.reason.as_deref(),
        created_at: rfc3339(version.created_ms),
    }
}

/// `GET /agents/:id/versions`: every version, oldest first.
async fn agent_versions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    let page = query.version_page()?;
    find(&state, tenant_id, &id).await?;
    let versions = state.store.agent_versions(tenant_id, &id, &page).await?;
    let listing = Listing::new(versions, &page, |v| v.version.to_string());
    listing.reply(|version| Ok(version_view(version)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RollbackAgent {
    target_version: i64,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /agents/:id/rollback {"targetVersion","reason"?}`: a new version
/// whose configuration is the target's; the status stays as it is.
async fn rollback_agent(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    let body: RollbackAgent = submission.json()?;
    let target = target_version(body.target_version)?;
    let reason = body
        .reason
        .map(|r| checked_text("reason", &r, MAX_PURPOSE_CHARS))
        .transpose()?;
    let actor = principal.event_actor();
    once(&state, &principal, &submission, async |ticket| {
        let mut record = find(&state, &tenant_id, &id).await?;
        if record.agent.status == AgentStatus::Archived {
            return Err(archived(&id));
        }
        // The one version after the one before the target.
        let just_target = Page {
            after: Some((target - 1).to_string()),
            limit: 1,
        };
        let snapshot = state
            .store
            .agent_versions(&tenant_id, &id, &just_target)
            .await?
            .into_iter()
            .find(|v| v.version == target)
            .ok_or_else(|| no_version("agent", &id, target))?;
        if state
            .store
            .policy(&tenant_id, &snapshot.policy_id, None)
            .await?
            .is_none()
        {
            return Err(ApiError::conflict(format!(
                "version {target} of agent `{id}` uses policy `{}`, which no longer exists",
                snapshot.policy_id
            )));
        }
        let now = now_ms();
        record.policy_id = snapshot.policy_id;
        record.agent.name = snapshot.name;
        record.agent.agent_type = snapshot.agent_type;
        record.agent.profile = snapshot.profile;
        record.agent.tags = snapshot.tags;
        record.agent.metadata = snapshot.metadata;
        record.version += 1;
        record.updated_ms = now;
        let message = match &reason {
            Some(reason) => format!("rolled back to version {target}: {reason}"),
            None => format!("rolled back to version {target}"),
        };
        let event = AgentEvent {
            id: new_id("aev"),
            tenant_id: tenant_id.clone(),
            agent_id: id.clone(),
            kind: "rollback".into(),
            actor: actor.clone(),
            message: message.clone(),
            intent_id: None,
            at_ms: now,
        };
        let reply = Reply::ok(&view(&record))?;
        if state
            .store
            .add_agent_version(
                &record,
                &actor,
                Some(&message),
                &event,
                ticket.record(&reply).as_ref(),
            )
            .await?
        {
            return Ok(reply);
        }
        let current = find(&state, &tenant_id, &id).await?;
        Err(match current.agent.status {
            AgentStatus::Archived => archived(&id),
            _ => ApiError::conflict(format!("agent `{id}` changed meanwhile; retry")),
        })
    })
    .await
}

fn archived(id: &str) -> ApiError {
    ApiError::other(
        StatusCode::CONFLICT,
        "E_AGENT_NOT_ACTIVE",
        format!("agent `{id}` is archived and cannot change"),
    )
}

// The emergency kill switch.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmergencySuspend {
    reason: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SuspensionView<'a> {
    agent: AgentView<'a>,
    cancelled_intents: &'a [String],
    revoked_tokens: u64,
}

fn suspension_reply(suspension: &Suspension) -> Result<Reply> {
    Reply::ok(&SuspensionView {
        agent: view(&suspension.agent),
        cancelled_intents: &suspension.cancelled_intents,
        revoked_tokens: suspension.revoked_tokens,
    })
}

/// `POST /agents/:id/emergency-suspend {"reason"}`: in one transaction,
/// suspends the agent, cancels its intents that are pending approval or
/// approved, revokes its tokens and records who and why.
async fn emergency_suspend(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    let body: EmergencySuspend = submission.json_or_empty()?;
    let reason = checked_text("reason", &body.reason, MAX_PURPOSE_CHARS)?;
    let actor = principal.event_actor();
    once(&state, &principal, &submission, async |ticket| {
        let event = AgentEvent {
            id: new_id("aev"),
            tenant_id: tenant_id.clone(),
            agent_id: id.clone(),
            kind: "emergency-suspend".into(),
            actor: actor.clone(),
            message: reason.clone(),
            intent_id: None,
            at_ms: now_ms(),
        };
        let remember = |s: &Suspension| {
            suspension_reply(s)
                .ok()
                .and_then(|reply| ticket.record(&reply))
        };
        let intent_reason = format!("emergency suspension: {reason}");
        match state
            .store
            .emergency_suspend(&event, &intent_reason, &remember)
            .await
        {
            Ok(Some(suspension)) => suspension_reply(&suspension),
            Ok(None) => Err(ApiError::not_found("agent", &id)),
            Err(StoreError::AgentNotActive(AgentStatus::Archived)) => Err(archived(&id)),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Activate {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /agents/:id/activate {"reason"?}`: a suspended agent becomes
/// active again. Its revoked tokens stay revoked.
async fn activate(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    let body: Activate = submission.json_or_empty()?;
    let reason = body
        .reason
        .map(|r| checked_text("reason", &r, MAX_PURPOSE_CHARS))
        .transpose()?;
    let actor = principal.event_actor();
    let refuse = |status: AgentStatus| {
        let hint = match status {
            AgentStatus::Frozen => "; a frozen one is thawed with `POST /agents/{id}/unfreeze`",
            _ => "",
        };
        ApiError::agent_transition(
            status,
            format!(
                "cannot activate agent `{id}`: it is {}; only a suspended agent is activated{hint}",
                status.as_str()
            ),
        )
    };
    once(&state, &principal, &submission, async |ticket| {
        let mut record = find(&state, &tenant_id, &id).await?;
        if record.agent.status != AgentStatus::Suspended {
            return Err(refuse(record.agent.status));
        }
        let now = now_ms();
        record.agent.status = AgentStatus::Active;
        record.updated_ms = now;
        let event = AgentEvent {
            id: new_id("aev"),
            tenant_id: tenant_id.clone(),
            agent_id: id.clone(),
            kind: "activated".into(),
            actor: actor.clone(),
            message: reason.clone().unwrap_or_else(|| "activated".into()),
            intent_id: None,
            at_ms: now,
        };
        let reply = Reply::ok(&view(&record))?;
        if state
            .store
            .set_agent_status_logged(
                &event,
                &[AgentStatus::Suspended],
                AgentStatus::Active,
                ticket.record(&reply).as_ref(),
            )
            .await?
        {
            return Ok(reply);
        }
        Err(refuse(find(&state, &tenant_id, &id).await?.agent.status))
    })
    .await
}

// Agents' events.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventView<'a> {
    id: &'a str,
    kind: &'a str,
    actor: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    intent_id: Option<&'a str>,
    at: String,
}

/// `GET /agents/:id/events?limit=&cursor=`: newest first.
async fn agent_events(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    let page = query.page()?;
    find(&state, tenant_id, &id).await?;
    let events = state.store.agent_events(tenant_id, &id, &page).await?;
    let listing = Listing::new(events, &page, |e| e.id.clone());
    listing.reply(|event| {
        Ok(EventView {
            id: &event.id,
            kind: &event.kind,
            actor: &event.actor,
            message: &event.message,
            intent_id: event.intent_id.as_deref(),
            at: rfc3339(event.at_ms),
        })
    })
}

// Policy rollback.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RollbackPolicy {
    target_version: i64,
}

/// `POST /policies/:id/rollback {"targetVersion"}`: a new version, made
/// the current one, whose rules, risk steps and tolerance are the
/// target's; the name stays the current one.
async fn rollback_policy(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    let body: RollbackPolicy = submission.json()?;
    let target = target_version(body.target_version)?;
    once(&state, &principal, &submission, async |ticket| {
        let current = state
            .store
            .policy(&tenant_id, &id, None)
            .await?
            .ok_or_else(|| ApiError::not_found("policy", &id))?;
        let old = state
            .store
            .policy(&tenant_id, &id, Some(target))
            .await?
            .ok_or_else(|| no_version("policy", &id, target))?;
        let doc = PolicyDoc::parse(&old)?;
        let record = PolicyRecord {
            version: current.version + 1,
            body: old.body,
            created_ms: now_ms(),
            ..current
        };
        let reply = Reply::ok(&policies::view(&record, doc.clone())?)?;
        match state
            .store
            .add_policy_version(
                &record,
                &policies::plugin_ids(&doc),
                ticket.record(&reply).as_ref(),
            )
            .await
        {
            Ok(()) => Ok(reply),
            Err(StoreError::Duplicate) => Err(ApiError::conflict(
                "the policy changed while this rollback was made; read it again and retry",
            )),
            Err(e) => Err(e.into()),
        }
    })
    .await
}
