//! `/tenants`: created with the admin key, their plans.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use warrant_app::Principal;
use warrant_app::tenants::{TenantRequest, TenantSummary};
use warrant_domain::plan::Plan;

use crate::AppState;
use crate::errors::Result;
use crate::http::{ApiPath, Reply, Submission, once, rfc3339};

#[derive(Serialize, utoipa::ToSchema)]
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

fn view(summary: &TenantSummary) -> Result<Reply> {
    let tenant = &summary.record;
    Reply::ok(&TenantView {
        id: &tenant.id,
        name: &tenant.name,
        plan: tenant.plan,
        agent_limit: tenant.plan.agent_limit(),
        agents: summary.live_agents,
        created_at: rfc3339(tenant.created_ms),
    })
}

/// `POST /tenants {"name","plan"?}`, with the admin key: 201 with the
/// tenant's API key, shown once.
#[utoipa::path(
    post,
    operation_id = "tenants_create",
    path = "/tenants",
    tag = "tenants",
    request_body = TenantRequest,
    responses((status = 201, description = "The tenant, its API key shown once.", body = warrant_app::tenants::CreatedTenant))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    principal.admin()?;
    let request: TenantRequest = submission.json()?;
    once(&state, &principal, &submission, async |ticket| {
        let render = |created: &_| Reply::json(StatusCode::CREATED, created);
        let created = state
            .app
            .tenants()
            .create(&principal, request, &|created| {
                ticket.record(&render(created).ok()?)
            })
            .await?;
        render(&created)
    })
    .await
}

/// `GET /tenants/:id`: the admin key sees any tenant, a tenant's key only
/// its own.
#[utoipa::path(
    get,
    operation_id = "tenants_show",
    path = "/tenants/{id}",
    tag = "tenants",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The tenant.", body = TenantView<'static>))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    view(&state.app.tenants().show(&principal, &id).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTenant {
    plan: Plan,
}

/// `PATCH /tenants/:id {"plan"}`, with the admin key.
#[utoipa::path(
    patch,
    operation_id = "tenants_update",
    path = "/tenants/{id}",
    tag = "tenants",
    params(("id" = String, Path, description = "The object's id.")), request_body = UpdateTenant,
    responses((status = 200, description = "The tenant on its new plan.", body = TenantView<'static>))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.admin()?;
    let body: UpdateTenant = submission.json()?;
    view(
        &state
            .app
            .tenants()
            .set_plan(&principal, &id, body.plan)
            .await?,
    )
}
