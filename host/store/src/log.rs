//! The tenant's event log: what every write records beside its change, in
//! its own transaction, and the webhook outbox filled from it.
//!
//! The store writes the events itself, where it makes the changes they
//! record, so that no change can be committed without its event. An event
//! carries the object as the API shows it; the store asks the [`Views`]
//! installed by the API ([`show_objects_with`]) to render it, and the
//! request that caused it ([`within_request`]).

use std::future::Future;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::records::{AgentRecord, IntentRecord, PluginRecord, PolicyRecord, TokenRecord};

/// Renders the objects events carry as the API shows them, as JSON text.
pub trait Views: Send + Sync {
    /// An intent (without its history).
    fn intent(&self, intent: &IntentRecord) -> String;
    /// An agent.
    fn agent(&self, agent: &AgentRecord) -> String;
    /// An agent's token (never a secret: the store holds none).
    fn token(&self, token: &TokenRecord) -> String;
    /// A policy's version.
    fn policy(&self, policy: &PolicyRecord) -> String;
    /// An uploaded plugin.
    fn plugin(&self, plugin: &PluginRecord) -> String;
    /// A webhook endpoint (never its secret).
    fn endpoint(&self, endpoint: &EndpointRecord) -> String;
    /// A card.
    fn card(&self, card: &crate::CardRecord) -> String;
    /// A card authorization.
    fn authorization(&self, authorization: &crate::AuthorizationRecord) -> String;
    /// An entry of the ledger.
    fn transaction(&self, transaction: &crate::TransactionRecord) -> String;
}

/// Renders only each object's id: what events carry where no API has
/// installed its views (the store's own tests, tools that embed it).
struct IdsOnly;

fn id_only(id: &str) -> String {
    serde_json::json!({ "id": id }).to_string()
}

impl Views for IdsOnly {
    fn intent(&self, intent: &IntentRecord) -> String {
        id_only(&intent.id)
    }
    fn agent(&self, agent: &AgentRecord) -> String {
        id_only(&agent.agent.id)
    }
    fn token(&self, token: &TokenRecord) -> String {
        id_only(&token.id)
    }
    fn policy(&self, policy: &PolicyRecord) -> String {
        id_only(&policy.id)
    }
    fn plugin(&self, plugin: &PluginRecord) -> String {
        id_only(&plugin.id)
    }
    fn endpoint(&self, endpoint: &EndpointRecord) -> String {
        id_only(&endpoint.id)
    }
    fn card(&self, card: &crate::CardRecord) -> String {
        id_only(&card.id)
    }
    fn authorization(&self, authorization: &crate::AuthorizationRecord) -> String {
        id_only(&authorization.id)
    }
    fn transaction(&self, transaction: &crate::TransactionRecord) -> String {
        id_only(&transaction.id)
    }
}

static VIEWS: OnceLock<Box<dyn Views>> = OnceLock::new();

/// Installs how events render their objects, once per process; a later
/// call changes nothing.
pub fn show_objects_with(views: Box<dyn Views>) {
    let _ = VIEWS.set(views);
}

pub(crate) fn views() -> &'static dyn Views {
    VIEWS.get().map_or(&IdsOnly, |views| views.as_ref())
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` as part of the request `request_id`: the events its writes
/// record carry that id.
pub async fn within_request<F: Future>(request_id: String, work: F) -> F::Output {
    REQUEST_ID.scope(request_id, work).await
}

/// The id of the request being served, inside [`within_request`].
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// A new id with `prefix`, sorting by creation time.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::generate())
}

/// One event of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// `evt_…` (`aev_…` for agent events recorded before the log).
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// `intent.approved`, `agent.frozen`, `budget.alert`, ….
    pub event_type: String,
    /// Who did it: `key:ak_…`, `agent:ag_…`, `admin`, `policy:<plugin>`,
    /// `system`.
    pub actor: String,
    /// The acting key's name, when a key acted.
    pub actor_name: Option<String>,
    /// The kind of object it is about: `intent`, `agent`, `token`,
    /// `policy`, `plugin`, `tenant`, `webhook_endpoint`.
    pub object_type: String,
    /// The object's id.
    pub object_id: String,
    /// The agent it concerns, when one.
    pub agent_id: Option<String>,
    /// For an agent's events: what `GET /agents/:id/events` calls it
    /// (`frozen`, `alert`, `token-issued`, …).
    pub kind: Option<String>,
    /// For an agent's events: why, or what the alert says.
    pub message: Option<String>,
    /// The intent whose decision caused it, when one did.
    pub intent_id: Option<String>,
    /// The object as the API showed it after the change, as JSON text.
    pub data: String,
    /// The request that caused it.
    pub request_id: Option<String>,
    /// When.
    pub created_ms: i64,
}

/// Which events to read.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Exactly this type, or with a trailing `*` every type starting so
    /// (`intent.*`).
    pub event_type: Option<String>,
    /// About this object.
    pub object_id: Option<String>,
    /// Of this agent.
    pub agent_id: Option<String>,
    /// Only an agent's own events (those with a `kind`).
    pub agent_events_only: bool,
    /// At or after this time.
    pub since_ms: Option<i64>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
}

impl EventFilter {
    /// The `LIKE` pattern of the type filter.
    pub(crate) fn type_pattern(&self) -> Option<String> {
        self.event_type.as_ref().map(|t| type_like(t))
    }
}

fn type_like(pattern: &str) -> String {
    let escaped = pattern
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    match escaped.strip_suffix('*') {
        Some(prefix) => format!("{prefix}%"),
        None => escaped,
    }
}

/// Whether an endpoint subscribed to `patterns` receives `event_type`:
/// `*` is every type, `intent.*` every type starting `intent.`, anything
/// else that type exactly.
pub fn subscribed(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => event_type.starts_with(prefix),
        None => p == event_type,
    })
}

/// The type of the log's event for an agent event of `kind` by `actor`.
pub fn agent_event_type(kind: &str, actor: &str) -> String {
    match kind {
        "rollback" => "agent.rolled_back".into(),
        "emergency-suspend" => "agent.suspended".into(),
        "token-issued" => "token.created".into(),
        "token-revoked" => "token.revoked".into(),
        "alert" if actor == "policy:budget" => "budget.alert".into(),
        "alert" => "alert".into(),
        kind => format!("agent.{}", kind.replace('-', "_")),
    }
}

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointRecord {
    /// `we_…`.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The event types it receives (`intent.*`, `agent.frozen`, `*`).
    pub events: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
    /// The secret that signs its deliveries (`whsec_…`).
    pub secret: String,
    /// After a rotation, the secret that signs beside it until
    /// `previous_until_ms`.
    pub previous_secret: Option<String>,
    /// Until when the previous secret signs.
    pub previous_until_ms: Option<i64>,
    /// When it was disabled (by the tenant, or after failing for days).
    pub disabled_ms: Option<i64>,
    /// Why.
    pub disabled_reason: Option<String>,
    /// When it was made.
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
}

/// The state of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// Answered with a 2xx.
    Delivered,
    /// Given up on.
    Failed,
}

impl DeliveryStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One event's delivery to one endpoint, with its attempts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// `whd_…`.
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event, whose id is the delivery's `webhook-id`.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// How many attempts were made.
    pub attempts: i64,
    /// When the next attempt is due, while pending.
    pub next_attempt_ms: Option<i64>,
    /// When it was written.
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
    /// Its attempts, oldest first.
    pub tries: Vec<AttemptRecord>,
}

/// One attempt at a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    /// 1, 2, …
    pub n: i64,
    /// When it began.
    pub at_ms: i64,
    /// How long it took.
    pub duration_ms: i64,
    /// The endpoint's HTTP status, when it answered.
    pub response_status: Option<i64>,
    /// What went wrong, when something did.
    pub error: Option<String>,
}

/// A delivery a worker claimed, with what it needs to send it.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    /// `whd_…`.
    pub id: String,
    /// How many attempts were made before this one.
    pub attempts: i64,
    /// When it was written.
    pub created_ms: i64,
    /// The event.
    pub event: EventRecord,
    /// The endpoint, as it is now.
    pub endpoint: EndpointRecord,
}

/// What became of an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// The attempt.
    pub attempt: AttemptRecord,
    /// Delivered, failed for good, or pending again (with when).
    pub status: DeliveryStatus,
    /// When to try again, while pending.
    pub next_attempt_ms: Option<i64>,
    /// Disable the endpoint for this reason (it has failed for days).
    pub disable_endpoint: Option<String>,
}
