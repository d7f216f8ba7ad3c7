//! `/events`: the tenant's audit log, every event its writes recorded;
//! and how those events render the objects they carry, as the API shows
//! them (installed into the store by [`crate::router`]).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use warrant_app::Principal;
use warrant_app::events::EventQuery;
use warrant_app::policies::PolicyVersion;
use warrant_app::registry::PluginEntry;
use warrant_store::log::{EndpointRecord, EventRecord};
use warrant_store::{AgentRecord, IntentRecord, PluginRecord, PolicyRecord, TokenRecord};

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{ApiPath, ApiQuery, Listing, PageQuery, Reply, rfc3339};

/// Who caused an event.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = EventActor)]
struct ActorView<'a> {
    /// `tenant_key`, `agent_token`, `admin`, `policy` or `system`.
    kind: &'static str,
    /// The key's id (`ak_…`), the agent's id, the plugin's name, or
    /// `admin` / `system`.
    id: &'a str,
    /// The key's name, when a key acted.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

fn actor_view<'a>(actor: &'a str, name: Option<&'a str>) -> ActorView<'a> {
    let (kind, id) = if let Some(key) = actor.strip_prefix("key:") {
        ("tenant_key", key)
    } else if let Some(agent) = actor.strip_prefix("agent:") {
        ("agent_token", agent)
    } else if let Some(plugin) = actor.strip_prefix("policy:") {
        ("policy", plugin)
    } else if actor == "policy" {
        ("policy", actor)
    } else if actor == "admin" {
        ("admin", actor)
    } else if actor == "tenant" {
        ("tenant_key", actor)
    } else {
        ("system", actor)
    };
    ActorView { kind, id, name }
}

/// What an event is about.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = EventObject)]
struct ObjectView<'a> {
    /// `intent`, `agent`, `token`, `policy`, `plugin`, `tenant`,
    /// `webhook_endpoint`.
    #[serde(rename = "type")]
    object_type: &'a str,
    id: &'a str,
}

/// An event of the audit log, as `GET /events` shows it and webhooks
/// carry it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventView<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    created_at: String,
    tenant_id: &'a str,
    actor: ActorView<'a>,
    object: ObjectView<'a>,
    /// The object as the API showed it after the change.
    #[schema(value_type = Object)]
    data: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

pub(crate) fn event_view(event: &EventRecord) -> Result<EventView<'_>> {
    Ok(EventView {
        id: &event.id,
        event_type: &event.event_type,
        created_at: rfc3339(event.created_ms),
        tenant_id: &event.tenant_id,
        actor: actor_view(&event.actor, event.actor_name.as_deref()),
        object: ObjectView {
            object_type: &event.object_type,
            id: &event.object_id,
        },
        data: serde_json::from_str(&event.data).map_err(ApiError::internal)?,
        request_id: event.request_id.as_deref(),
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// A type (`intent.approved`), or a prefix with a trailing `*`
    /// (`intent.*`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    event_type: Option<String>,
    /// Only events about this object.
    object_id: Option<String>,
    /// Only events at or after this time (RFC 3339).
    since: Option<String>,
    /// `newest` (the default) or `oldest` first.
    #[param(value_type = Option<String>, pattern = "^(newest|oldest)$")]
    order: Option<String>,
    /// At most this many (1 to 200; 50 when absent).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The previous page's `nextCursor`.
    cursor: Option<String>,
}

/// `GET /events?type=&objectId=&since=&order=`: the tenant's audit log,
/// newest first unless `order=oldest`; an agent token sees its own
/// agent's intent events.
#[utoipa::path(
    get,
    operation_id = "events_list",
    path = "/events",
    tag = "events",
    params(ListQuery),
    responses((status = 200, description = "A page of events.", body = crate::http::ListingPage<'static, EventView<'static>>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Reply> {
    principal.tenant_id()?;
    let page = PageQuery::new(query.limit, query.cursor).page()?;
    let filters = EventQuery {
        event_type: query.event_type,
        object_id: query.object_id,
        since: query.since,
        order: query.order,
    };
    let events = state.app.events().list(&principal, filters, &page).await?;
    let listing = Listing::new(events, &page, |e| e.id.clone());
    listing.reply(event_view)
}

/// `GET /events/:id`.
#[utoipa::path(
    get,
    operation_id = "events_show",
    path = "/events/{id}",
    tag = "events",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The event.", body = EventView<'static>))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let event = state.app.events().show(&principal, &id).await?;
    Reply::ok(&event_view(&event)?)
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct RedeliveredView {
    /// How many endpoints it is sent to again.
    endpoints: u64,
}

/// `POST /events/:id/redeliver`: sends the event again to every enabled
/// endpoint that receives its type; 202.
#[utoipa::path(
    post,
    operation_id = "events_redeliver",
    path = "/events/{id}/redeliver",
    tag = "events",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 202, description = "Queued for delivery.", body = RedeliveredView))
)]
pub(crate) async fn redeliver(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let endpoints = state.app.events().redeliver(&principal, &id).await?;
    Reply::json(StatusCode::ACCEPTED, &RedeliveredView { endpoints })
}

/// How events render the objects they carry: with the API's own views.
pub(crate) struct ApiViews;

fn json_text<T: Serialize>(view: Result<T>) -> String {
    view.and_then(|view| serde_json::to_string(&view).map_err(ApiError::internal))
        .unwrap_or_else(|e| {
            tracing::error!("an event's object could not be rendered: {e}");
            "{}".to_owned()
        })
}

impl warrant_app::Views for ApiViews {
    fn intent(&self, intent: &IntentRecord) -> String {
        json_text(crate::routes::intents::intent_view(intent, None))
    }

    fn agent(&self, agent: &AgentRecord) -> String {
        json_text(crate::routes::agents::view(agent))
    }

    fn token(&self, token: &TokenRecord) -> String {
        json_text(Ok(crate::routes::agents::token_view(token)))
    }

    fn policy(&self, policy: &PolicyRecord) -> String {
        match PolicyVersion::of(policy.clone()) {
            Ok(version) => json_text(crate::routes::policies::view(&version)),
            Err(e) => json_text::<()>(Err(e.into())),
        }
    }

    fn plugin(&self, plugin: &PluginRecord) -> String {
        let entry = PluginEntry::from_record(plugin);
        json_text(Ok(crate::routes::plugins::PluginView::from(&entry)))
    }

    fn endpoint(&self, endpoint: &EndpointRecord) -> String {
        json_text(Ok(crate::routes::webhooks::view(endpoint)))
    }
    fn card(&self, card: &warrant_store::CardRecord) -> String {
        json_text(Ok(crate::routes::cards::view(card)))
    }
    fn authorization(&self, authorization: &warrant_store::AuthorizationRecord) -> String {
        json_text(Ok(crate::routes::payments::authorization_view(
            authorization,
        )))
    }
    fn transaction(&self, transaction: &warrant_store::TransactionRecord) -> String {
        json_text(Ok(crate::routes::payments::transaction_view(transaction)))
    }
}
