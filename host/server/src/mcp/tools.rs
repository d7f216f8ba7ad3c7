//! The tools and resources: each parses its arguments as the REST route
//! parses its body (the same types, so the same errors), calls the same
//! service and answers the same view, with a sentence for the model.

use std::sync::{Arc, LazyLock};

use rmcp::model::{JsonObject, Resource, ToolAnnotations};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use warrant_app::agents::{AgentQuery, Hold};
use warrant_app::intents::{
    Declared, IntentQuery, IntentWithHistory, Intents, MoveBody, ReasonRequest,
};
use warrant_app::{App, Permission, Principal, forget};
use warrant_domain::context::{AgentStatus, AgentType};
use warrant_domain::intent::{IntentRequest, SettleRequest};
use warrant_domain::lifecycle::{IntentStatus, Transition};
use warrant_store::IntentRecord;

use crate::errors::{ApiError, Result};
use crate::http::{Listing, PageQuery, Reply, decimal_json, parse_json};
use crate::routes::{agents, intents, oversight};

/// Every tool, by the name a client calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tool {
    DeclareIntent,
    GetIntent,
    ListIntents,
    CancelIntent,
    CompleteIntent,
    VerifyIntent,
    ApproveIntent,
    DenyIntent,
    ListAgents,
    FreezeAgent,
    UnfreezeAgent,
    AgentUsage,
}

/// The tools an agent token is shown.
const AGENT_TOOLS: &[Tool] = &[
    Tool::DeclareIntent,
    Tool::GetIntent,
    Tool::ListIntents,
    Tool::CancelIntent,
    Tool::CompleteIntent,
    Tool::VerifyIntent,
];

/// The tools a tenant's API key is shown: supervision, as the seed's
/// `ovra_agent`, and reading and settling intents.
const TENANT_TOOLS: &[Tool] = &[
    Tool::ListAgents,
    Tool::AgentUsage,
    Tool::FreezeAgent,
    Tool::UnfreezeAgent,
    Tool::ListIntents,
    Tool::GetIntent,
    Tool::ApproveIntent,
    Tool::DenyIntent,
    Tool::CancelIntent,
    Tool::VerifyIntent,
];

const ALL: &[Tool] = &[
    Tool::DeclareIntent,
    Tool::GetIntent,
    Tool::ListIntents,
    Tool::CancelIntent,
    Tool::CompleteIntent,
    Tool::VerifyIntent,
    Tool::ApproveIntent,
    Tool::DenyIntent,
    Tool::ListAgents,
    Tool::FreezeAgent,
    Tool::UnfreezeAgent,
    Tool::AgentUsage,
];

impl Tool {
    pub(super) fn named(name: &str) -> Option<Tool> {
        ALL.iter().copied().find(|tool| tool.name() == name)
    }

    fn name(self) -> &'static str {
        match self {
            Tool::DeclareIntent => "declare_intent",
            Tool::GetIntent => "get_intent",
            Tool::ListIntents => "list_intents",
            Tool::CancelIntent => "cancel_intent",
            Tool::CompleteIntent => "complete_intent",
            Tool::VerifyIntent => "verify_intent",
            Tool::ApproveIntent => "approve_intent",
            Tool::DenyIntent => "deny_intent",
            Tool::ListAgents => "list_agents",
            Tool::FreezeAgent => "freeze_agent",
            Tool::UnfreezeAgent => "unfreeze_agent",
            Tool::AgentUsage => "agent_usage",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Tool::DeclareIntent => {
                "Declare a payment before making it: what for, how much, to whom. Warrant's \
                 policy decides at once: `approved` (pay now, then call complete_intent), \
                 `pending_approval` (a person must approve first; poll get_intent until the \
                 status changes and do not pay meanwhile) or `denied` (do not pay). A repeated \
                 clientIntentId answers the intent declared before instead of a new one."
            }
            Tool::GetIntent => {
                "Read an intent as it stands now, with its history: use it to wait for a \
                 pending approval."
            }
            Tool::ListIntents => {
                "List intents, newest first, optionally by status, a page at a time."
            }
            Tool::CancelIntent => {
                "Cancel an intent that is pending approval or approved and will not be paid."
            }
            Tool::CompleteIntent => {
                "Report that an approved intent was paid: the amount and merchant actually paid \
                 (an amount outside the policy's tolerance flags it for review)."
            }
            Tool::VerifyIntent => {
                "Record what a settled intent actually cost, without changing its status."
            }
            Tool::ApproveIntent => {
                "Approve an intent that is pending approval (a person's decision; a policy with \
                 four eyes needs approvals from two keys)."
            }
            Tool::DenyIntent => "Deny an intent that is pending approval.",
            Tool::ListAgents => "List the tenant's agents, newest first.",
            Tool::FreezeAgent => {
                "Freeze an active agent: its new intents are refused until it is unfrozen."
            }
            Tool::UnfreezeAgent => "Unfreeze a frozen agent.",
            Tool::AgentUsage => {
                "An agent's usage against its policy's rate limits and budgets, and its spend \
                 in every window."
            }
        }
    }

    /// Whether the tool changes nothing.
    fn read_only(self) -> bool {
        matches!(
            self,
            Tool::GetIntent | Tool::ListIntents | Tool::ListAgents | Tool::AgentUsage
        )
    }

    fn input_schema(self) -> JsonObject {
        let id = (
            "id",
            json!({"type": "string", "description": "The intent's id, `int_…`."}),
        );
        let agent_id = (
            "agentId",
            json!({"type": "string", "description": "The agent's id, `ag_…`."}),
        );
        let page = [
            (
                "limit",
                json!({"type": "integer", "minimum": 1, "maximum": 200,
                       "description": "At most this many (50 when absent)."}),
            ),
            (
                "cursor",
                json!({"type": "string", "description": "The previous page's `nextCursor`."}),
            ),
        ];
        match self {
            Tool::DeclareIntent => {
                let mut schema = component("IntentRequest");
                if let Some(Value::Object(properties)) = schema.get_mut("properties") {
                    properties.remove("agentId");
                }
                schema
            }
            Tool::GetIntent => object(&["id"], [id]),
            Tool::ListIntents => object(
                &[],
                [
                    (
                        "agentId",
                        json!({"type": "string",
                               "description": "Only this agent's (a tenant key's filter)."}),
                    ),
                    (
                        "status",
                        json!({"type": "string", "description": "Only intents in this status.",
                               "enum": IntentStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()}),
                    ),
                ]
                .into_iter()
                .chain(page),
            ),
            Tool::CancelIntent | Tool::ApproveIntent | Tool::DenyIntent => {
                with_id(id, component("ReasonRequest"))
            }
            Tool::CompleteIntent | Tool::VerifyIntent => with_id(id, component("SettleRequest")),
            Tool::ListAgents => object(
                &[],
                [
                    (
                        "status",
                        json!({"type": "string", "description": "Only agents in this status.",
                               "enum": ["active", "frozen", "suspended", "archived"]}),
                    ),
                    (
                        "agentType",
                        json!({"type": "string", "description": "Only agents of this type."}),
                    ),
                ]
                .into_iter()
                .chain(page),
            ),
            Tool::FreezeAgent | Tool::UnfreezeAgent | Tool::AgentUsage => {
                object(&["agentId"], [agent_id])
            }
        }
    }

    fn describe(self) -> rmcp::model::Tool {
        let mut annotations = ToolAnnotations::new()
            .read_only(self.read_only())
            .destructive(false)
            .open_world(false);
        if matches!(self, Tool::DeclareIntent) {
            annotations = annotations.idempotent(false);
        }
        rmcp::model::Tool::new(
            self.name(),
            self.description(),
            Arc::new(self.input_schema()),
        )
        .annotate(annotations)
    }
}

/// The tools a caller is shown; any tool may be called, and the service
/// refuses what the credential may not do, exactly as over REST.
pub(super) fn listed(principal: &Principal) -> Vec<rmcp::model::Tool> {
    let tools = match principal {
        Principal::Agent { .. } => AGENT_TOOLS,
        Principal::Tenant(_) => TENANT_TOOLS,
        Principal::Admin => &[],
    };
    tools.iter().map(|tool| tool.describe()).collect()
}

/// A tool's answer: the REST object and what it means, in a sentence.
pub(super) struct Answer {
    pub(super) value: Value,
    pub(super) text: String,
}

impl Answer {
    fn of(reply: Reply, text: String) -> Result<Answer> {
        Ok(Answer {
            value: serde_json::from_str(&reply.body).map_err(ApiError::internal)?,
            text,
        })
    }

    fn intent(intent: &IntentWithHistory) -> Result<Answer> {
        Answer::of(intents::reply(intent)?, intent_text(&intent.record))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdArgs {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AgentArgs {
    agent_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MoveArgs {
    id: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettleArgs {
    id: String,
    #[serde(default)]
    actual_amount_euros: Option<Box<RawValue>>,
    #[serde(default)]
    actual_merchant: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListIntentsArgs {
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    status: Option<IntentStatus>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListAgentsArgs {
    #[serde(default)]
    status: Option<AgentStatus>,
    #[serde(default)]
    agent_type: Option<AgentType>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

/// Calls `tool` as `principal`.
pub(super) async fn call(
    app: &App,
    principal: &Principal,
    tool: Tool,
    arguments: JsonObject,
) -> Result<Answer> {
    let text = exact_json(&Value::Object(arguments));
    match tool {
        Tool::DeclareIntent => {
            principal.requires(Permission::Create)?;
            let request = IntentRequest::from_json(&text)?;
            Intents::declaring_agent(principal, &request)?;
            match app.intents().declare(principal, request, &forget).await? {
                Declared::Created(intent) | Declared::Existing(intent) => Answer::intent(&intent),
            }
        }
        Tool::GetIntent => {
            let args: IdArgs = parse_json(&text)?;
            Answer::intent(&app.intents().show(principal, &args.id).await?)
        }
        Tool::ListIntents => {
            let args: ListIntentsArgs = parse_json(&text)?;
            principal.tenant_id()?;
            let page = PageQuery::new(args.limit.map(|l| l.to_string()), args.cursor).page()?;
            let records = app
                .intents()
                .list(
                    principal,
                    IntentQuery {
                        agent_id: args.agent_id,
                        status: args.status,
                        ..IntentQuery::default()
                    },
                    &page,
                )
                .await?;
            let listing = Listing::new(records, &page, |r| r.id.clone());
            let text = list_text(listing.items());
            Answer::of(
                listing.reply(|record| intents::intent_view(record, None))?,
                text,
            )
        }
        Tool::CancelIntent | Tool::ApproveIntent | Tool::DenyIntent => {
            let transition = match tool {
                Tool::ApproveIntent => Transition::Approve,
                Tool::DenyIntent => Transition::Deny,
                _ => Transition::Cancel,
            };
            Intents::may_move(principal, transition)?;
            let args: MoveArgs = parse_json(&text)?;
            let body = MoveBody::Reason(ReasonRequest {
                reason: args.reason,
                note: args.note,
            });
            let moved = app
                .intents()
                .transition(principal, &args.id, transition, body, &forget)
                .await?;
            Answer::intent(&moved)
        }
        Tool::CompleteIntent => {
            Intents::may_move(principal, Transition::Complete)?;
            let args: SettleArgs = parse_json(&text)?;
            let body = MoveBody::Settlement(SettleRequest {
                actual_amount_euros: args.actual_amount_euros,
                actual_merchant: args.actual_merchant,
            });
            let moved = app
                .intents()
                .transition(principal, &args.id, Transition::Complete, body, &forget)
                .await?;
            Answer::intent(&moved)
        }
        Tool::VerifyIntent => {
            Intents::may_settle(principal)?;
            let args: SettleArgs = parse_json(&text)?;
            let body = SettleRequest {
                actual_amount_euros: args.actual_amount_euros,
                actual_merchant: args.actual_merchant,
            };
            let verified = app
                .intents()
                .verify(principal, &args.id, body, &forget)
                .await?;
            Answer::intent(&verified)
        }
        Tool::ListAgents => {
            principal.reads()?;
            let args: ListAgentsArgs = parse_json(&text)?;
            let page = PageQuery::new(args.limit.map(|l| l.to_string()), args.cursor).page()?;
            let filter = AgentQuery {
                status: args.status,
                agent_type: args.agent_type,
            };
            let records = app.agents().list(principal, filter, &page).await?;
            let listing = Listing::new(records, &page, |r| r.agent.id.clone());
            let reply = listing.reply(agents::view)?;
            let value: Value = serde_json::from_str(&reply.body).map_err(ApiError::internal)?;
            let lines: Vec<String> = value["data"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|agent| {
                    format!(
                        "{} ({}): {}",
                        agent["name"].as_str().unwrap_or("?"),
                        agent["id"].as_str().unwrap_or("?"),
                        agent["status"].as_str().unwrap_or("?"),
                    )
                })
                .collect();
            let text = if lines.is_empty() {
                "no agents".to_owned()
            } else {
                format!("{} agents: {}", lines.len(), lines.join("; "))
            };
            Ok(Answer { value, text })
        }
        Tool::FreezeAgent | Tool::UnfreezeAgent => {
            principal.configures()?;
            let args: AgentArgs = parse_json(&text)?;
            let hold = if tool == Tool::FreezeAgent {
                Hold::Freeze
            } else {
                Hold::Unfreeze
            };
            let record = app
                .agents()
                .hold(principal, &args.agent_id, hold, &forget)
                .await?;
            let text = format!(
                "agent {} ({}) is {}",
                record.agent.name,
                record.agent.id,
                record.agent.status.as_str()
            );
            Answer::of(agents::reply(&record)?, text)
        }
        Tool::AgentUsage => {
            let args: AgentArgs = parse_json(&text)?;
            let report = app.oversight().usage(principal, &args.agent_id).await?;
            let text = format!(
                "usage of agent {} under policy {} version {}; limits and spend per window are \
                 in the structured content",
                report.agent_id, report.policy_id, report.policy_version
            );
            Answer::of(oversight::usage_reply(&report)?, text)
        }
    }
}

/// The resource of an agent's policy and usage.
const POLICY_URI: &str = "warrant://agent/policy";
/// The resource of an agent's open intents.
const OPEN_URI: &str = "warrant://agent/intents/open";
/// The resource of a tenant's intents waiting for a person.
const PENDING_URI: &str = "warrant://intents/pending";

pub(super) fn resources(principal: &Principal) -> Vec<Resource> {
    let json = |resource: Resource| resource.with_mime_type("application/json");
    match principal {
        Principal::Agent { .. } => vec![
            json(Resource::new(POLICY_URI, "policy").with_description(
                "The agent as Warrant knows it (status, policy) and its usage against the \
                 policy's rate limits and budgets.",
            )),
            json(Resource::new(OPEN_URI, "open-intents").with_description(
                "The agent's intents still open: approved (payable) and pending approval.",
            )),
        ],
        Principal::Tenant(_) => vec![json(
            Resource::new(PENDING_URI, "pending-approvals")
                .with_description("The tenant's intents waiting for a person, oldest first."),
        )],
        Principal::Admin => Vec::new(),
    }
}

/// A resource's JSON text; `None` when the caller has no such resource.
pub(super) async fn read(app: &App, principal: &Principal, uri: &str) -> Result<Option<String>> {
    match (principal, uri) {
        (Principal::Agent { agent_id, .. }, POLICY_URI) => {
            let agent = agents::reply(&app.agents().show(principal, agent_id).await?)?;
            let usage = oversight::usage_reply(&app.oversight().usage(principal, agent_id).await?)?;
            Ok(Some(format!(
                r#"{{"agent":{},"usage":{}}}"#,
                agent.body, usage.body
            )))
        }
        (Principal::Agent { .. }, OPEN_URI) => {
            let mut open = Vec::new();
            for status in [IntentStatus::Approved, IntentStatus::PendingApproval] {
                open.extend(intents::largest_page_in(app, principal, status).await?);
            }
            open.sort_by_key(|intent| intent.created_ms);
            intents_json(&open).map(Some)
        }
        (Principal::Tenant(_), PENDING_URI) => {
            let mut pending =
                intents::largest_page_in(app, principal, IntentStatus::PendingApproval).await?;
            pending.reverse();
            intents_json(&pending).map(Some)
        }
        _ => Ok(None),
    }
}

fn intents_json(records: &[IntentRecord]) -> Result<String> {
    let views = records
        .iter()
        .map(|record| intents::intent_view(record, None))
        .collect::<Result<Vec<_>>>()?;
    serde_json::to_string(&json!({ "data": views })).map_err(ApiError::internal)
}

/// What an intent's state means for the agent, in a sentence or two.
pub(super) fn intent_text(record: &IntentRecord) -> String {
    let intent = &record.intent;
    let what = match (&intent.amount, &intent.merchant) {
        (Some(amount), Some(merchant)) => format!("{amount} at {merchant}"),
        (Some(amount), None) => amount.to_string(),
        (None, Some(merchant)) => format!("a payment at {merchant}"),
        (None, None) => "a payment".to_owned(),
    };
    let reason = record
        .status_reason
        .as_deref()
        .map(|reason| format!(" ({reason})"))
        .unwrap_or_default();
    let expires = crate::http::rfc3339(record.expires_ms);
    let id = &record.id;
    match record.status {
        IntentStatus::Approved => format!(
            "approved: {what}{reason}. You may pay now, until {expires}; then report the \
             payment with complete_intent (id {id})."
        ),
        IntentStatus::PendingApproval => format!(
            "pending approval: {}; a human must approve before you pay. Do not pay yet: call \
             get_intent with id {id} from time to time until its status changes (it expires at \
             {expires}).",
            record
                .status_reason
                .as_deref()
                .unwrap_or("the policy asks a person to decide")
        ),
        IntentStatus::Denied => format!(
            "denied: {}. Do not pay {what}.",
            record
                .status_reason
                .as_deref()
                .unwrap_or("the policy refused it")
        ),
        IntentStatus::Cancelled => format!("cancelled: {what}{reason}. Do not pay."),
        IntentStatus::Expired => {
            format!("expired: {what} was not paid in time. Declare a new intent to pay it.")
        }
        IntentStatus::Authorized => format!(
            "authorized: the card payment for {what} is under way; it completes when the issuer \
             captures it. Do not pay it again."
        ),
        IntentStatus::Completed => format!("completed: {what} was paid and reported{reason}."),
        IntentStatus::Failed => format!("failed: {what}{reason}."),
    }
}

fn list_text(records: &[IntentRecord]) -> String {
    if records.is_empty() {
        return "no intents".to_owned();
    }
    let lines: Vec<String> = records
        .iter()
        .map(|record| {
            let amount = record
                .intent
                .amount
                .map(|a| format!(" {a}"))
                .unwrap_or_default();
            format!("{} {}{amount}", record.id, record.status.as_str())
        })
        .collect();
    format!("{} intents: {}", lines.len(), lines.join("; "))
}

/// The arguments as JSON text, with an amount or percentage given as a
/// decimal string (`"86.40"`) written as that exact number, so that the
/// request types read it as they read a REST body.
fn exact_json(value: &Value) -> String {
    fn write(value: &Value, key: Option<&str>, out: &mut String) {
        match value {
            Value::Object(map) => {
                out.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(v, Some(k), out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, None, out);
                }
                out.push(']');
            }
            Value::String(text) if key.is_some_and(is_decimal_key) => {
                out.push_str(&decimal_json(text));
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, None, &mut out);
    out
}

fn is_decimal_key(key: &str) -> bool {
    key.ends_with("Euros") || key.ends_with("Percent")
}

/// An object schema of `properties`, `required` among them.
fn object<'a>(
    required: &[&str],
    properties: impl IntoIterator<Item = (&'a str, Value)>,
) -> JsonObject {
    let properties: Map<String, Value> = properties
        .into_iter()
        .map(|(name, schema)| (name.to_owned(), schema))
        .collect();
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".into(), json!(required));
    }
    schema.insert("additionalProperties".into(), json!(false));
    schema
}

/// A request body's schema with the object's id added, required.
fn with_id(id: (&str, Value), mut schema: JsonObject) -> JsonObject {
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        let mut with = Map::new();
        with.insert(id.0.to_owned(), id.1);
        with.extend(std::mem::take(properties));
        *properties = with;
    }
    let mut required = vec![json!(id.0)];
    if let Some(Value::Array(before)) = schema.remove("required") {
        required.extend(before);
    }
    schema.insert("required".into(), Value::Array(required));
    schema
}

/// A schema of the REST API's document, self-contained (its references
/// replaced by what they name), amounts taking a decimal string too.
fn component(name: &str) -> JsonObject {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
        serde_json::from_str(crate::openapi::document()).expect("the document is JSON")
    });
    let components = &DOCUMENT["components"]["schemas"];
    fn inline(value: &Value, components: &Value, key: Option<&str>) -> Value {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let name = reference.rsplit('/').next().unwrap_or_default();
                    let mut target = inline(&components[name], components, key);
                    if let (Value::Object(target), Some(description)) =
                        (&mut target, map.get("description"))
                    {
                        target.insert("description".into(), description.clone());
                    }
                    return target;
                }
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), inline(v, components, Some(k)));
                }
                if key.is_some_and(is_decimal_key) && out.contains_key("format") {
                    out.remove("format");
                    out.insert("type".into(), json!(["string", "number", "null"]));
                    let said = out
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    out.insert(
                        "description".into(),
                        json!(format!(
                            "{said} A decimal string (\"86.40\") is exact; a number is read \
                             as JSON numbers are."
                        )),
                    );
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| inline(item, components, None))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    match inline(&components[name], components, None) {
        Value::Object(mut schema) => {
            schema.remove("description");
            schema
        }
        _ => unreachable!("`{name}` is a schema of the document"),
    }
}
