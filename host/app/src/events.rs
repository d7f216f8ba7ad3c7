//! The tenant's audit log: every event its writes recorded, read (never
//! changed) with filters; an agent token sees its own agent's intent
//! events only. An event can be sent to the webhooks again.

use warrant_store::Page;
use warrant_store::log::{EventFilter, EventRecord};

use crate::auth::{Permission, Principal};
use crate::errors::{AppError, Result};
use crate::{App, now_ms};

/// The filters of `GET /events`, as the request gives them.
#[derive(Debug, Default)]
pub struct EventQuery {
    /// A type (`intent.approved`), or every type starting so with a
    /// trailing `*` (`intent.*`).
    pub event_type: Option<String>,
    /// Only events about this object (an intent's, agent's, policy's … id).
    pub object_id: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub since: Option<String>,
    /// `newest` (the default) or `oldest` first.
    pub order: Option<String>,
}

/// The events service.
pub struct Events<'a> {
    app: &'a App,
}

impl App {
    /// The tenant's audit log.
    pub fn events(&self) -> Events<'_> {
        Events { app: self }
    }
}

const MAX_TYPE: usize = 100;

impl Events<'_> {
    /// A page of the caller's events: all of its tenant's for a key that
    /// reads, its own agent's intent events for an agent token.
    pub async fn list(
        &self,
        principal: &Principal,
        query: EventQuery,
        page: &Page,
    ) -> Result<Vec<EventRecord>> {
        let (tenant_id, filter) = self.scope(principal, query)?;
        match filter {
            Some(filter) => Ok(self.app.store().events(tenant_id, &filter, page).await?),
            None => Ok(Vec::new()),
        }
    }

    /// One of the caller's events.
    pub async fn show(&self, principal: &Principal, id: &str) -> Result<EventRecord> {
        let (tenant_id, own) = self.scope(principal, EventQuery::default())?;
        let event = self
            .app
            .store()
            .event(tenant_id, id)
            .await?
            .filter(|event| own.as_ref().is_some_and(|own| visible(event, own)))
            .ok_or_else(|| AppError::not_found("event", id))?;
        Ok(event)
    }

    /// Sends one of the tenant's events again to every enabled endpoint
    /// that receives its type: how many.
    pub async fn redeliver(&self, principal: &Principal, id: &str) -> Result<u64> {
        let tenant_id = principal.configures()?;
        self.app
            .store()
            .redeliver(tenant_id, id, now_ms())
            .await?
            .ok_or_else(|| AppError::not_found("event", id))
    }

    fn scope<'p>(
        &self,
        principal: &'p Principal,
        query: EventQuery,
    ) -> Result<(&'p str, Option<EventFilter>)> {
        let mut filter = EventFilter {
            event_type: query.event_type.map(|t| checked_type(&t)).transpose()?,
            object_id: query.object_id.filter(|id| !id.is_empty()),
            since_ms: query
                .since
                .as_deref()
                .map(|since| crate::clock::parse_time_ms("since", since))
                .transpose()?,
            oldest_first: match query.order.as_deref() {
                None | Some("newest") => false,
                Some("oldest") => true,
                Some(other) => {
                    return Err(AppError::validation(
                        "order",
                        format!("must be `newest` or `oldest`, not `{other}`"),
                    ));
                }
            },
            ..EventFilter::default()
        };
        let tenant_id = match principal.own_agent() {
            Some(agent_id) => {
                principal.requires(Permission::Read)?;
                filter.agent_id = Some(agent_id.to_owned());
                let tenant_id = principal.tenant_id()?;
                // Its intents' events, within whatever type it asked for.
                match &filter.event_type {
                    Some(t) if !t.starts_with("intent.") => return Ok((tenant_id, None)),
                    Some(_) => {}
                    None => filter.event_type = Some("intent.*".into()),
                }
                tenant_id
            }
            None => principal.reads()?,
        };
        Ok((tenant_id, Some(filter)))
    }
}

/// Whether an agent token's filter (if any) lets it see `event`.
fn visible(event: &EventRecord, own: &EventFilter) -> bool {
    match &own.agent_id {
        None => true,
        Some(agent_id) => {
            event.agent_id.as_deref() == Some(agent_id) && event.event_type.starts_with("intent.")
        }
    }
}

fn checked_type(text: &str) -> Result<String> {
    let text = text.trim();
    let body = text.strip_suffix('*').unwrap_or(text);
    if text.is_empty()
        || text.len() > MAX_TYPE
        || !body
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
    {
        return Err(AppError::validation(
            "type",
            "must be an event type such as `intent.approved`, or a prefix with a trailing `*` \
             such as `intent.*`",
        ));
    }
    Ok(text.to_owned())
}
