//! `/agents`: the agents of a tenant, their status and their tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use warrant_domain::context::{Agent, AgentProfile, AgentStatus, AgentType};
use warrant_domain::intent::MAX_PURPOSE_CHARS;
use warrant_store::{AgentRecord, TokenRecord};

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::errors::{ApiError, Result};
use crate::http::{
    ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, checked_text, new_id, new_secret,
    now_ms, once, rfc3339, secret_hash,
};

const MAX_NAME_CHARS: usize = 200;
const MAX_TAGS: usize = 50;
const MAX_TAG_CHARS: usize = 100;
const MAX_METADATA_BYTES: usize = 16 << 10;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateAgent {
    name: String,
    policy_id: String,
    profile: AgentProfile,
    #[serde(default)]
    agent_type: AgentType,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateAgent {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    policy_id: Option<String>,
    #[serde(default)]
    profile: Option<AgentProfile>,
    #[serde(default)]
    agent_type: Option<AgentType>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default)]
    status: Option<AgentStatus>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueToken {
    #[serde(default)]
    permissions: Option<Vec<Permission>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgentView<'a> {
    #[serde(flatten)]
    agent: &'a Agent,
    policy_id: &'a str,
    version: i64,
    created_at: String,
    updated_at: String,
}

pub(crate) fn view(record: &AgentRecord) -> AgentView<'_> {
    AgentView {
        agent: &record.agent,
        policy_id: &record.policy_id,
        version: record.version,
        created_at: rfc3339(record.created_ms),
        updated_at: rfc3339(record.updated_ms),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenView<'a> {
    id: &'a str,
    agent_id: &'a str,
    permissions: &'a [String],
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
}

fn token_view(token: &TokenRecord) -> TokenView<'_> {
    TokenView {
        id: &token.id,
        agent_id: &token.agent_id,
        permissions: &token.permissions,
        created_at: rfc3339(token.created_ms),
        revoked_at: token.revoked_ms.map(rfc3339),
    }
}

/// Checks and trims what a tenant says about an agent.
fn check_profile(profile: AgentProfile) -> Result<AgentProfile> {
    let optional = |field: &str, value: Option<String>| -> Result<Option<String>> {
        value
            .map(|v| checked_text(field, &v, MAX_PURPOSE_CHARS))
            .transpose()
    };
    Ok(AgentProfile {
        purpose: checked_text("profile.purpose", &profile.purpose, MAX_PURPOSE_CHARS)?,
        framework: optional("profile.framework", profile.framework)?,
        capabilities: check_list("profile.capabilities", profile.capabilities)?,
        description: optional("profile.description", profile.description)?,
        department: optional("profile.department", profile.department)?,
        owner_contact: optional("profile.ownerContact", profile.owner_contact)?,
    })
}

fn check_list(field: &str, items: Vec<String>) -> Result<Vec<String>> {
    if items.len() > MAX_TAGS {
        return Err(ApiError::validation(
            field,
            format!("must have at most {MAX_TAGS} entries"),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| checked_text(&format!("{field}[{i}]"), item, MAX_TAG_CHARS))
        .collect()
}

fn check_metadata(metadata: Map<String, Value>) -> Result<Map<String, Value>> {
    let size = serde_json::to_string(&metadata)
        .map_err(ApiError::internal)?
        .len();
    if size > MAX_METADATA_BYTES {
        return Err(ApiError::validation(
            "metadata",
            format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
        ));
    }
    Ok(metadata)
}

async fn check_policy(state: &AppState, tenant_id: &str, policy_id: &str) -> Result<()> {
    match state.store.policy(tenant_id, policy_id, None).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::validation(
            "policyId",
            format!("no policy `{policy_id}`"),
        )),
    }
}

/// The tenant's agent, or 404.
pub(crate) async fn find(state: &AppState, tenant_id: &str, id: &str) -> Result<AgentRecord> {
    state
        .store
        .agent(tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("agent", id))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    let body: CreateAgent = submission.json()?;
    let name = checked_text("name", &body.name, MAX_NAME_CHARS)?;
    let profile = check_profile(body.profile)?;
    let tags = check_list("tags", body.tags)?;
    let metadata = check_metadata(body.metadata)?;
    check_policy(&state, &tenant_id, &body.policy_id).await?;
    once(&state, &principal, &submission, async |ticket| {
        let now = now_ms();
        let record = AgentRecord {
            tenant_id: tenant_id.clone(),
            policy_id: body.policy_id,
            agent: Agent {
                id: new_id("ag"),
                name,
                status: AgentStatus::Active,
                agent_type: body.agent_type,
                profile,
                tags,
                metadata,
                baseline: None,
            },
            version: 1,
            created_ms: now,
            updated_ms: now,
        };
        let reply = Reply::json(StatusCode::CREATED, &view(&record))?;
        state
            .store
            .insert_agent(&record, ticket.record(&reply).as_ref())
            .await?;
        Ok(reply)
    })
    .await
}

pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    let page = query.page()?;
    let records = state.store.agents(tenant_id, &page).await?;
    let listing = Listing::new(records, &page, |r| r.agent.id.clone());
    listing.reply(|record| Ok(view(record)))
}

pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let record = find(&state, principal.tenant_id()?, &id).await?;
    principal.may(&id, Permission::Read)?;
    Reply::ok(&view(&record))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    let body: UpdateAgent = submission.json()?;
    let mut record = find(&state, tenant_id, &id).await?;
    if let Some(name) = &body.name {
        record.agent.name = checked_text("name", name, MAX_NAME_CHARS)?;
    }
    if let Some(profile) = body.profile {
        record.agent.profile = check_profile(profile)?;
    }
    if let Some(agent_type) = body.agent_type {
        record.agent.agent_type = agent_type;
    }
    if let Some(tags) = body.tags {
        record.agent.tags = check_list("tags", tags)?;
    }
    if let Some(metadata) = body.metadata {
        record.agent.metadata = check_metadata(metadata)?;
    }
    if let Some(policy_id) = body.policy_id {
        check_policy(&state, tenant_id, &policy_id).await?;
        record.policy_id = policy_id;
    }
    if body.status == Some(AgentStatus::Archived) {
        return Err(ApiError::validation(
            "status",
            "archive an agent with `DELETE /agents/{id}`",
        ));
    }
    let suspended = AgentStatus::Suspended;
    if body.status == Some(suspended) && record.agent.status != suspended {
        return Err(ApiError::validation(
            "status",
            "suspend an agent with `POST /agents/{id}/emergency-suspend`",
        ));
    }
    if body.status.is_some_and(|s| s != suspended) && record.agent.status == suspended {
        return Err(ApiError::agent_transition(
            suspended,
            format!("agent `{id}` is suspended: only `POST /agents/{id}/activate` ends that"),
        ));
    }
    record.updated_ms = now_ms();
    if !state.store.update_agent(&record, body.status).await? {
        let now = find(&state, tenant_id, &id).await?;
        return Err(match now.agent.status {
            AgentStatus::Archived => {
                ApiError::conflict(format!("agent `{id}` is archived and cannot change"))
            }
            status @ AgentStatus::Suspended => {
                ApiError::agent_transition(status, format!("agent `{id}` was suspended meanwhile"))
            }
            _ => ApiError::conflict(format!("agent `{id}` changed meanwhile; retry")),
        });
    }
    Reply::ok(&view(&find(&state, tenant_id, &id).await?))
}

/// Moves an agent from one of `from` to `to`; an agent already in `to`
/// answers as it is, any other status is a 409.
async fn set_status(
    state: &AppState,
    principal: &Principal,
    id: &str,
    submission: Option<&Submission>,
    from: &[AgentStatus],
    to: AgentStatus,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    let change = async |ticket: Option<&crate::http::Ticket>| -> Result<Reply> {
        let mut record = find(state, tenant_id, id).await?;
        if record.agent.status == to {
            return Reply::ok(&view(&record));
        }
        if !from.contains(&record.agent.status) {
            return Err(ApiError::conflict(format!(
                "agent `{id}` is {}",
                record.agent.status.as_str()
            )));
        }
        let now = now_ms();
        record.agent.status = to;
        record.updated_ms = now;
        let reply = Reply::ok(&view(&record))?;
        let idem = ticket.and_then(|t| t.record(&reply));
        if state
            .store
            .set_agent_status(tenant_id, id, from, to, now, idem.as_ref())
            .await?
        {
            Ok(reply)
        } else {
            Err(ApiError::conflict(format!(
                "agent `{id}` changed meanwhile; retry"
            )))
        }
    };
    match submission {
        Some(submission) => {
            once(state, principal, submission, async |ticket| {
                change(Some(ticket)).await
            })
            .await
        }
        None => change(None).await,
    }
}

pub(crate) async fn freeze(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let from = [AgentStatus::Active];
    set_status(
        &state,
        &principal,
        &id,
        Some(&submission),
        &from,
        AgentStatus::Frozen,
    )
    .await
}

pub(crate) async fn unfreeze(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let from = [AgentStatus::Frozen];
    set_status(
        &state,
        &principal,
        &id,
        Some(&submission),
        &from,
        AgentStatus::Active,
    )
    .await
}

pub(crate) async fn archive(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let from = [
        AgentStatus::Active,
        AgentStatus::Frozen,
        AgentStatus::Suspended,
    ];
    set_status(&state, &principal, &id, None, &from, AgentStatus::Archived).await
}

pub(crate) async fn issue_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    let body: IssueToken = submission.json_or_empty()?;
    let mut permissions = body
        .permissions
        .unwrap_or_else(|| Permission::DEFAULT.to_vec());
    if permissions.is_empty() {
        return Err(ApiError::validation(
            "permissions",
            "must name at least one permission",
        ));
    }
    permissions.sort_by_key(|p| Permission::ALL.iter().position(|q| q == p));
    permissions.dedup();
    once(&state, &principal, &submission, async |ticket| {
        let agent = find(&state, &tenant_id, &id).await?;
        if agent.agent.status == AgentStatus::Archived {
            return Err(ApiError::conflict(format!(
                "agent `{id}` is archived; it gets no tokens"
            )));
        }
        let secret = new_secret("at")?;
        let token = TokenRecord {
            id: new_id("tok"),
            tenant_id: tenant_id.clone(),
            agent_id: id.clone(),
            permissions: permissions.iter().map(|p| p.as_str().to_owned()).collect(),
            created_ms: now_ms(),
            revoked_ms: None,
        };
        #[derive(Serialize)]
        struct Issued<'a> {
            #[serde(flatten)]
            view: TokenView<'a>,
            token: &'a str,
        }
        let shown = Issued {
            view: token_view(&token),
            token: &secret,
        };
        let reply = Reply::json(StatusCode::CREATED, &shown)?;
        state
            .store
            .insert_token(
                &token,
                &secret_hash(&secret),
                ticket.record(&reply).as_ref(),
            )
            .await?;
        Ok(reply)
    })
    .await
}

pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?;
    let page = query.page()?;
    find(&state, tenant_id, &id).await?;
    let tokens = state.store.tokens(tenant_id, &id, &page).await?;
    let listing = Listing::new(tokens, &page, |t| t.id.clone());
    listing.reply(|token| Ok(token_view(token)))
}

pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, token_id)): ApiPath<(String, String)>,
) -> Result<Response> {
    let tenant_id = principal.tenant()?;
    find(&state, tenant_id, &id).await?;
    if state
        .store
        .revoke_token(tenant_id, &id, &token_id, now_ms())
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found("live token", &token_id))
    }
}
