//! The dashboard's pages and the forms they post. Each reads through the
//! services as the signed-in key, and each change is the service's, with
//! its checks: a key whose role may not approve is refused here exactly as
//! over REST.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use warrant_app::agents::{AgentQuery, Hold};
use warrant_app::events::EventQuery;
use warrant_app::intents::{IntentQuery, MoveBody, ReasonRequest};
use warrant_app::sessions::Session;
use warrant_app::{Needs, Principal, forget};
use warrant_domain::context::AgentStatus;
use warrant_domain::intent::IntentRequest;
use warrant_domain::lifecycle::{IntentStatus, Transition};
use warrant_domain::money::{Currency, Money};
use warrant_domain::policy::record::DecisionRecord;
use warrant_store::{AgentRecord, IntentRecord};

use super::{CsrfForm, Section, Signed, fragment_error, from_script, layout, page, same_token};
use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{Listing, PageQuery, Reply, decimal_json, rfc3339};
use crate::routes::{events, intents, oversight, plugins, policies};

fn json(reply: Reply) -> Result<Value> {
    serde_json::from_str(&reply.body).map_err(ApiError::internal)
}

/// A page of a section, or the section with what went wrong.
fn answer(session: &Session, section: Section, content: Result<Markup>) -> Response {
    match content {
        Ok(content) => page(StatusCode::OK, layout(session, section, content)),
        Err(error) => {
            let status = error.status();
            page(
                status,
                layout(
                    session,
                    section,
                    html! { p.error role="alert" { (error.message()) } },
                ),
            )
        }
    }
}

/// An amount as the page shows it: exact, in its currency's decimals; the
/// script formats it the viewer's way.
fn money(amount: Money) -> Markup {
    html! {
        data.money value=(amount.major_units_text()) data-currency=(amount.currency.code()) {
            (amount.to_string())
        }
    }
}

/// An amount the REST view wrote as a number, in `currency`.
fn money_value(value: &Value, currency: &str) -> Markup {
    let text = match value {
        Value::Number(number) => number.to_string(),
        other => other.as_str().unwrap_or("").to_owned(),
    };
    let shown = match (Currency::from_code(currency), text.parse::<f64>()) {
        (Ok(code), Ok(number)) => format!("{:.*} {currency}", code.exponent() as usize, number),
        _ => format!("{text} {currency}"),
    };
    html! { data.money value=(text) data-currency=(currency) { (shown) } }
}

/// A time the script shows in the viewer's time zone.
fn time_ms(ms: i64) -> Markup {
    let at = rfc3339(ms);
    html! { time datetime=(at) { (at) } }
}

fn time_text(at: &str) -> Markup {
    html! { time datetime=(at) { (at) } }
}

/// A value as the API writes it (`pending_approval`, `enforce`, …).
fn wire<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => text,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn status_badge(status: &str) -> Markup {
    html! { span class={"badge " (status)} { (status.replace('_', " ")) } }
}

/// The tenant's agents by id, for names.
async fn agent_names(state: &AppState, principal: &Principal) -> Result<HashMap<String, String>> {
    let records = state
        .app
        .agents()
        .list(principal, AgentQuery::default(), &PageQuery::largest())
        .await?;
    Ok(records
        .into_iter()
        .map(|record| (record.agent.id, record.agent.name))
        .collect())
}

/// The reasons an intent's rules gave.
fn reasons(record: &IntentRecord) -> Vec<String> {
    let Ok(decision) = DecisionRecord::parse(&record.decision) else {
        return record.status_reason.iter().cloned().collect();
    };
    let mut reasons: Vec<String> = decision
        .rules
        .iter()
        .filter_map(|entry| {
            entry
                .reason
                .as_ref()
                .map(|reason| format!("{}: {reason}", entry.plugin))
        })
        .collect();
    if reasons.is_empty() {
        reasons.extend(record.status_reason.iter().cloned());
    }
    reasons
}

// ---------------------------------------------------------------- approvals

pub(crate) async fn approvals(State(state): State<AppState>, Signed(session): Signed) -> Response {
    let content = approval_rows(&state, &session).await.map(|rows| {
        html! {
            p.lead {
                "Intents waiting for a person, oldest first. This list refreshes by itself."
            }
            div id="approvals" data-poll="/dashboard/approvals/list" { (rows) }
        }
    });
    answer(&session, Section::Approvals, content)
}

/// The inbox's rows alone, for the script's refresh.
pub(crate) async fn approvals_list(
    State(state): State<AppState>,
    Signed(session): Signed,
) -> Response {
    match approval_rows(&state, &session).await {
        Ok(rows) => page(StatusCode::OK, rows),
        Err(error) => fragment_error(error.status(), error.message()),
    }
}

async fn approval_rows(state: &AppState, session: &Session) -> Result<Markup> {
    let principal = &session.principal;
    let mut pending =
        intents::largest_page_in(&state.app, principal, IntentStatus::PendingApproval).await?;
    pending.reverse();
    let names = agent_names(state, principal).await?;
    let csrf = principal
        .needs(Needs::Approve)
        .is_ok()
        .then_some(session.csrf.as_str());
    Ok(html! {
        @if pending.is_empty() {
            p.empty data-empty { "Nothing is waiting for approval." }
        }
        ul.cards {
            @for record in &pending {
                (approval_card(record, &names, csrf))
            }
        }
    })
}

/// An intent waiting for a person; with the form to decide it when the
/// key's role may (`csrf`).
fn approval_card(
    record: &IntentRecord,
    names: &HashMap<String, String>,
    csrf: Option<&str>,
) -> Markup {
    let intent = &record.intent;
    let agent = names
        .get(&record.agent_id)
        .map(String::as_str)
        .unwrap_or(&record.agent_id);
    let note_id = format!("note-{}", record.id);
    html! {
        li.card data-row data-id=(record.id) {
            div.card-head {
                span.amount {
                    @match intent.amount {
                        Some(amount) => (money(amount)),
                        None => "no amount given",
                    }
                }
                span.merchant { (intent.merchant.as_deref().unwrap_or("any merchant")) }
            }
            dl.facts {
                dt { "Agent" } dd { (agent) }
                dt { "Purpose" } dd { (intent.purpose) }
                dt { "Why it waits" }
                dd {
                    ul.reasons { @for reason in reasons(record) { li { (reason) } } }
                }
                dt { "Expires" }
                dd { time datetime=(rfc3339(record.expires_ms)) data-countdown { (rfc3339(record.expires_ms)) } }
                @if record.approvals_required > 1 {
                    dt { "Approvals" } dd { "needs " (record.approvals_required) " approvals from different keys" }
                }
            }
            @if let Some(csrf) = csrf {
            form.decide method="post" action={"/dashboard/intents/" (record.id) "/approve"} data-inline {
                input type="hidden" name="csrf" value=(csrf);
                label for=(note_id) { "Note (kept in the history)" }
                input id=(note_id) name="note" type="text" maxlength="500";
                div.buttons {
                    button.approve type="submit" { "Approve" }
                    button.deny type="submit" formaction={"/dashboard/intents/" (record.id) "/deny"} { "Deny" }
                    a href={"/dashboard/intents/" (record.id)} data-drawer { "Details" }
                }
            }
            } @else {
                p.muted { "This key's role cannot approve. "
                    a href={"/dashboard/intents/" (record.id)} data-drawer { "Details" } }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

fn forged() -> Response {
    fragment_error(
        StatusCode::FORBIDDEN,
        "The form's anti-forgery token is missing or wrong; reload the page.",
    )
}

fn nonempty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Approves or denies an intent as the signed-in key.
pub(crate) async fn decide(
    State(state): State<AppState>,
    Signed(session): Signed,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<DecideForm>,
    transition: Transition,
) -> Response {
    if !same_token(&form.csrf, &session.csrf) {
        return forged();
    }
    let body = MoveBody::Reason(ReasonRequest {
        reason: nonempty(form.reason),
        note: nonempty(form.note),
    });
    let moved = state
        .app
        .intents()
        .transition(&session.principal, &id, transition, body, &forget)
        .await;
    match moved {
        Ok(intent) => {
            if !from_script(&headers) {
                return Redirect::to("/dashboard/approvals").into_response();
            }
            let record = &intent.record;
            let what = match record.status {
                IntentStatus::Approved => "Approved".to_owned(),
                IntentStatus::Denied => "Denied".to_owned(),
                IntentStatus::PendingApproval => {
                    "Your approval is recorded; it still needs another key's".to_owned()
                }
                other => format!("Now {}", other.as_str().replace('_', " ")),
            };
            page(
                StatusCode::OK,
                html! {
                    li.card.done data-row data-id=(record.id) data-done {
                        p { strong { (what) } ": "
                            @if let Some(amount) = record.intent.amount { (money(amount)) " " }
                            "at " (record.intent.merchant.as_deref().unwrap_or("any merchant"))
                            " (" (record.intent.purpose) "). "
                            a href={"/dashboard/intents/" (record.id)} data-drawer { "Details" }
                        }
                    }
                },
            )
        }
        Err(e) => {
            let error = ApiError::from(e);
            fragment_error(error.status(), error.message())
        }
    }
}

// ------------------------------------------------------------------ intents

#[derive(Deserialize, Default)]
pub(crate) struct IntentsQuery {
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    status: Option<String>,
    /// A day, `YYYY-MM-DD` (UTC), from its start.
    #[serde(default)]
    from: Option<String>,
    /// A day, `YYYY-MM-DD` (UTC), to its end.
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

/// The start of a `YYYY-MM-DD` day (UTC) in ms, and of the day after.
fn day_ms(field: &str, text: &str) -> Result<(i64, i64)> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(text.trim(), &format)
        .map_err(|_| ApiError::validation(field, "must be a day, YYYY-MM-DD"))?;
    let start = day.midnight().assume_utc().unix_timestamp() * 1000;
    Ok((start, start + 86_400_000))
}

fn blank(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

pub(crate) async fn intents(
    State(state): State<AppState>,
    Signed(session): Signed,
    Query(query): Query<IntentsQuery>,
) -> Response {
    let content = intents_table(&state, &session, &query).await;
    answer(&session, Section::Intents, content)
}

async fn intents_table(
    state: &AppState,
    session: &Session,
    query: &IntentsQuery,
) -> Result<Markup> {
    let principal = &session.principal;
    let status = blank(&query.status)
        .map(|s| s.parse::<IntentStatus>())
        .transpose()
        .map_err(|e| ApiError::validation("status", e))?;
    let from = blank(&query.from).map(|d| day_ms("from", d)).transpose()?;
    let to = blank(&query.to).map(|d| day_ms("to", d)).transpose()?;
    let page_query = PageQuery::new(Some("50".into()), blank(&query.cursor).map(str::to_owned));
    let page_of = page_query.page()?;
    let filter = IntentQuery {
        agent_id: blank(&query.agent).map(str::to_owned),
        status,
        created_from_ms: from.map(|(start, _)| start),
        created_before_ms: to.map(|(_, end)| end),
    };
    let records = state
        .app
        .intents()
        .list(principal, filter, &page_of)
        .await?;
    let listing = Listing::new(records, &page_of, |r| r.id.clone());
    let names = agent_names(state, principal).await?;
    let mut agents: Vec<(&String, &String)> = names.iter().collect();
    agents.sort_by(|a, b| a.1.cmp(b.1));
    let chosen = |value: &str, given: Option<&str>| given == Some(value);
    let next_link = listing.next_cursor().map(|cursor| {
        link(
            "/dashboard/intents",
            &[
                ("cursor", Some(cursor)),
                ("agent", blank(&query.agent)),
                ("status", blank(&query.status)),
                ("from", blank(&query.from)),
                ("to", blank(&query.to)),
            ],
        )
    });
    Ok(html! {
        form.filters method="get" action="/dashboard/intents" {
            div {
                label for="f-agent" { "Agent" }
                select id="f-agent" name="agent" {
                    option value="" { "All agents" }
                    @for (id, name) in &agents {
                        option value=(id) selected[chosen(id, blank(&query.agent))] { (name) }
                    }
                }
            }
            div {
                label for="f-status" { "Status" }
                select id="f-status" name="status" {
                    option value="" { "Any status" }
                    @for status in IntentStatus::ALL {
                        option value=(status.as_str()) selected[chosen(status.as_str(), blank(&query.status))] {
                            (status.as_str().replace('_', " "))
                        }
                    }
                }
            }
            div {
                label for="f-from" { "From (UTC day)" }
                input id="f-from" name="from" type="date" value=(blank(&query.from).unwrap_or(""));
            }
            div {
                label for="f-to" { "To (UTC day)" }
                input id="f-to" name="to" type="date" value=(blank(&query.to).unwrap_or(""));
            }
            button type="submit" { "Filter" }
        }
        @if listing.items().is_empty() {
            p.empty { "No intents match." }
        } @else {
            div.table-wrap {
                table {
                    caption.visually-hidden { "Intents, newest first" }
                    thead { tr {
                        th scope="col" { "Declared" } th scope="col" { "Agent" }
                        th scope="col" { "Amount" } th scope="col" { "Merchant" }
                        th scope="col" { "Status" } th scope="col" { "Purpose" }
                    } }
                    tbody {
                        @for record in listing.items() {
                            tr {
                                td { a href={"/dashboard/intents/" (record.id)} data-drawer { (time_ms(record.created_ms)) } }
                                td { (names.get(&record.agent_id).map(String::as_str).unwrap_or(&record.agent_id)) }
                                td.num { @if let Some(amount) = record.intent.amount { (money(amount)) } }
                                td { (record.intent.merchant.as_deref().unwrap_or("")) }
                                td { (status_badge(record.status.as_str())) }
                                td { (record.intent.purpose) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(link) = next_link {
            p { a href=(link) { "Older intents" } }
        }
    })
}

/// `path` with the given query parameters, encoded.
fn link(path: &str, query: &[(&str, Option<&str>)]) -> String {
    let mut encoded = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in query {
        if let Some(value) = value {
            encoded.append_pair(name, value);
        }
    }
    format!("{path}?{}", encoded.finish())
}

#[derive(Deserialize, Default)]
pub(crate) struct FragmentQuery {
    #[serde(default)]
    fragment: Option<String>,
}

/// One intent: what was declared, the decision's trace, its history,
/// settlement and charges. The drawer shows it without the page around.
pub(crate) async fn intent(
    State(state): State<AppState>,
    Signed(session): Signed,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<FragmentQuery>,
) -> Response {
    let content = intent_detail(&state, &session, &id).await;
    if from_script(&headers) || query.fragment.is_some() {
        return match content {
            Ok(content) => page(StatusCode::OK, content),
            Err(error) => fragment_error(error.status(), error.message()),
        };
    }
    answer(&session, Section::Intents, content)
}

async fn intent_detail(state: &AppState, session: &Session, id: &str) -> Result<Markup> {
    let principal = &session.principal;
    let intent = state.app.intents().show(principal, id).await?;
    let charges = state
        .app
        .intents()
        .charges(principal, id, &PageQuery::largest())
        .await?;
    let names = agent_names(state, principal).await?;
    let record = &intent.record;
    let decision = DecisionRecord::parse(&record.decision).ok();
    let view = json(intents::reply(&intent)?)?;
    Ok(html! {
        article.intent-detail {
            h2 { (record.intent.purpose) }
            dl.facts {
                dt { "Id" } dd { code { (record.id) } }
                dt { "Status" } dd { (status_badge(record.status.as_str()))
                    @if let Some(reason) = &record.status_reason { " — " (reason) } }
                dt { "Agent" } dd { (names.get(&record.agent_id).map(String::as_str).unwrap_or(&record.agent_id)) }
                dt { "Amount" } dd { @match record.intent.amount { Some(amount) => (money(amount)), None => "—" } }
                dt { "Merchant" } dd { (record.intent.merchant.as_deref().unwrap_or("—")) }
                dt { "Policy" } dd { code { (record.policy_id) } " version " (record.policy_version) }
                dt { "Declared" } dd { (time_ms(record.created_ms)) }
                dt { "Expires" } dd { (time_ms(record.expires_ms)) }
            }
            h3 { "Decision" }
            @if let Some(decision) = &decision {
                p { "Verdict: " strong { (IntentStatus::from_outcome(decision.verdict).as_str().replace('_', " ")) }
                    @if let Some(score) = decision.risk_score { " · risk score " (score) } }
                div.table-wrap {
                    table {
                        caption.visually-hidden { "Each plugin's answer" }
                        thead { tr {
                            th scope="col" { "Plugin" } th scope="col" { "Verdict" }
                            th scope="col" { "Reason" } th scope="col" { "Mode" }
                            th scope="col" { "Time" }
                        } }
                        tbody {
                            @for entry in &decision.rules {
                                tr {
                                    td { (entry.plugin) " " small { (entry.version) } }
                                    td { @if let Some(verdict) = entry.verdict { (wire(&verdict)) } @else { "score " (entry.score.unwrap_or_default()) } }
                                    td { (entry.reason.as_deref().unwrap_or("")) @if let Some(code) = &entry.code { " " code { (code) } } }
                                    td { (wire(&entry.mode)) }
                                    td.num { (entry.duration_us) " µs" }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "History" }
            ol.history {
                @for event in &intent.events {
                    li {
                        (time_ms(event.at_ms)) " — "
                        @if let Some(from) = event.from { (from.as_str().replace('_', " ")) " → " }
                        strong { (event.to.as_str().replace('_', " ")) }
                        " by " (event.actor_name.as_deref().unwrap_or(&event.actor))
                        @if let Some(reason) = &event.reason { " — " (reason) }
                        @if let Some(note) = &event.note { " (note: " (note) ")" }
                    }
                }
            }
            @if let Some(settlement) = view.get("settlement") {
                h3 { "Settlement" }
                pre { (serde_json::to_string_pretty(settlement).unwrap_or_default()) }
            }
            @if !charges.is_empty() {
                h3 { "Charges" }
                ul {
                    @for charge in &charges {
                        li { (time_ms(charge.at_ms)) " — " (money(charge.amount)) " at " (charge.merchant)
                             " — " (if charge.accepted { "accepted" } else { "flagged" }) }
                    }
                }
            }
        }
    })
}

// ------------------------------------------------------------------- agents

pub(crate) async fn agents(State(state): State<AppState>, Signed(session): Signed) -> Response {
    let content = agent_cards(&state, &session).await;
    answer(&session, Section::Agents, content)
}

/// A bar of `current` against `limit`.
fn bar(label: &str, current: f64, limit: f64, shown: Markup) -> Markup {
    let percent = if limit > 0.0 {
        (current / limit * 100.0).clamp(0.0, 100.0)
    } else {
        100.0
    };
    let level = if percent >= 90.0 {
        "high"
    } else if percent >= 70.0 {
        "mid"
    } else {
        "low"
    };
    html! {
        div.meter {
            span.meter-label { (label) ": " (shown) }
            progress class=(level) max="100" value=(format!("{percent:.0}")) aria-label=(label) {
                (format!("{percent:.0}%"))
            }
        }
    }
}

async fn agent_cards(state: &AppState, session: &Session) -> Result<Markup> {
    let principal = &session.principal;
    let records: Vec<AgentRecord> = state
        .app
        .agents()
        .list(principal, AgentQuery::default(), &PageQuery::largest())
        .await?;
    let configures = principal.configures().is_ok();
    let mut cards = Vec::new();
    for record in &records {
        let usage = usage_of(state, principal, record).await?;
        cards.push(agent_card(
            record,
            usage.as_ref(),
            configures.then_some(session.csrf.as_str()),
        ));
    }
    Ok(html! {
        @if cards.is_empty() { p.empty { "No agents yet." } }
        ul.cards { @for card in cards { (card) } }
    })
}

/// An agent's usage report as the API shows it; none for an archived
/// agent, which has no policy to be measured against any more.
async fn usage_of(
    state: &AppState,
    principal: &Principal,
    record: &AgentRecord,
) -> Result<Option<Value>> {
    if record.agent.status == AgentStatus::Archived {
        return Ok(None);
    }
    let report = state
        .app
        .oversight()
        .usage(principal, &record.agent.id)
        .await?;
    Ok(Some(json(oversight::usage_reply(&report)?)?))
}

/// An agent with its usage; with the forms that hold it when the key's
/// role may (`csrf`).
fn agent_card(record: &AgentRecord, usage: Option<&Value>, csrf: Option<&str>) -> Markup {
    let agent = &record.agent;
    let id = &agent.id;
    let status = agent.status.as_str();
    html! {
        li.card data-row data-id=(id) {
            div.card-head {
                span.name { (agent.name) }
                (status_badge(status))
            }
            dl.facts {
                dt { "Id" } dd { code { (id) } }
                dt { "Policy" } dd { code { (record.policy_id) } " version " (record.policy_version) }
                dt { "Purpose" } dd { (agent.profile.purpose) }
            }
            @if let Some(usage) = usage {
                @let currency = usage["currency"].as_str().unwrap_or("EUR");
                div.meters {
                    @for (name, key) in [("Today", "daily"), ("This month", "monthly")] {
                        @let meter = &usage["budget"][key];
                        @if meter.is_object() {
                            (bar(&format!("Budget {}", name.to_lowercase()),
                                 meter["currentEuros"].as_f64().unwrap_or(0.0),
                                 meter["limitEuros"].as_f64().unwrap_or(0.0),
                                 html! { (money_value(&meter["currentEuros"], currency)) " of " (money_value(&meter["limitEuros"], currency)) }))
                        }
                    }
                    @for (name, key) in [("Intents this minute", "perMinute"), ("Intents this hour", "perHour"), ("Intents today", "perDay")] {
                        @let meter = &usage["rateLimits"][key];
                        @if meter.is_object() {
                            (bar(name,
                                 meter["current"].as_f64().unwrap_or(0.0),
                                 meter["limit"].as_f64().unwrap_or(0.0),
                                 html! { (meter["current"]) " of " (meter["limit"]) }))
                        }
                    }
                    @if !usage["budget"].is_object() && !usage["rateLimits"].is_object() {
                        p.muted { "Its policy sets no budget or rate limit." }
                    }
                }
            }
            @if let Some(csrf) = csrf {
            div.buttons {
                @if agent.status == AgentStatus::Active {
                    form method="post" action={"/dashboard/agents/" (id) "/freeze"} data-inline {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Freeze" }
                    }
                }
                @if agent.status == AgentStatus::Frozen {
                    form method="post" action={"/dashboard/agents/" (id) "/unfreeze"} data-inline {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "Unfreeze" }
                    }
                }
                @if matches!(agent.status, AgentStatus::Active | AgentStatus::Frozen) {
                    details.suspend {
                        summary { "Emergency suspend…" }
                        form method="post" action={"/dashboard/agents/" (id) "/suspend"} data-inline
                            data-confirm={"Suspend " (agent.name) " now? Its open intents are cancelled and its tokens revoked."} {
                            input type="hidden" name="csrf" value=(csrf);
                            label for={"reason-" (id)} { "Reason" }
                            input id={"reason-" (id)} name="reason" type="text" required maxlength="500";
                            label.check {
                                input type="checkbox" name="confirm" value="yes" required;
                                " I understand: open intents are cancelled and tokens revoked"
                            }
                            button.deny type="submit" { "Suspend now" }
                        }
                    }
                }
            }
            }
        }
    }
}

/// Freezes or unfreezes an agent as the signed-in key.
pub(crate) async fn hold(
    State(state): State<AppState>,
    Signed(session): Signed,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<CsrfForm>,
    hold: Hold,
) -> Response {
    if !same_token(&form.csrf, &session.csrf) {
        return forged();
    }
    let held = state
        .app
        .agents()
        .hold(&session.principal, &id, hold, &forget)
        .await;
    agent_answer(&state, &session, &headers, held.map(|_| ()), &id).await
}

#[derive(Deserialize)]
pub(crate) struct SuspendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: Option<String>,
}

pub(crate) async fn suspend(
    State(state): State<AppState>,
    Signed(session): Signed,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<SuspendForm>,
) -> Response {
    if !same_token(&form.csrf, &session.csrf) {
        return forged();
    }
    if form.confirm.as_deref() != Some("yes") {
        return fragment_error(
            StatusCode::BAD_REQUEST,
            "Tick the box to confirm the suspension.",
        );
    }
    let suspended = state
        .app
        .agents()
        .emergency_suspend(&session.principal, &id, &form.reason, &forget)
        .await;
    agent_answer(&state, &session, &headers, suspended.map(|_| ()), &id).await
}

/// After a change of an agent: its card again (for the script) or the
/// page; what went wrong otherwise.
async fn agent_answer(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    changed: warrant_app::Result<()>,
    id: &str,
) -> Response {
    if let Err(e) = changed {
        let error = ApiError::from(e);
        return fragment_error(error.status(), error.message());
    }
    if !from_script(headers) {
        return Redirect::to("/dashboard/agents").into_response();
    }
    let card = async {
        let principal = &session.principal;
        let record = state.app.agents().show(principal, id).await?;
        let usage = usage_of(state, principal, &record).await?;
        Ok::<_, ApiError>(agent_card(&record, usage.as_ref(), Some(&session.csrf)))
    };
    match card.await {
        Ok(card) => page(StatusCode::OK, card),
        Err(error) => fragment_error(error.status(), error.message()),
    }
}

// ----------------------------------------------------------------- policies

pub(crate) async fn policies(State(state): State<AppState>, Signed(session): Signed) -> Response {
    let content = policies_page(&state, &session, None).await;
    answer(&session, Section::Policies, content)
}

async fn policies_page(
    state: &AppState,
    session: &Session,
    tried: Option<(Markup, &DryRunForm)>,
) -> Result<Markup> {
    let principal = &session.principal;
    let page_of = PageQuery::largest();
    let versions = state.app.policies().list(principal, &page_of).await?;
    let mut history = HashMap::new();
    for version in &versions {
        let id = &version.record.id;
        let all = state
            .app
            .policies()
            .versions(principal, id, &page_of)
            .await?;
        history.insert(id.clone(), all);
    }
    let listing = Listing::new(versions, &page_of, |v| v.record.id.clone());
    let policies_json = json(listing.reply(policies::view)?)?;
    let given = tried.as_ref().map(|(_, form)| *form);
    let value = |pick: fn(&DryRunForm) -> &str| given.map(pick).unwrap_or("");
    let plugin_entries = state.app.plugins().list(principal, &page_of).await?;
    let plugins_listing = Listing::new(plugin_entries, &page_of, |e| e.id.clone());
    let plugins_json = json(plugins_listing.reply(|entry| Ok(plugins::PluginView::from(entry)))?)?;
    let names = agent_names(state, principal).await?;
    let mut agents: Vec<(&String, &String)> = names.iter().collect();
    agents.sort_by(|a, b| a.1.cmp(b.1));
    let empty = Vec::new();
    Ok(html! {
        section aria-labelledby="policies-title" {
            h2 id="policies-title" { "Policies" }
            @for policy in policies_json["data"].as_array().unwrap_or(&empty) {
                article.card {
                    div.card-head {
                        span.name { (policy["name"].as_str().unwrap_or("")) }
                        span.muted { "version " (policy["version"]) " · " code { (policy["id"].as_str().unwrap_or("")) } }
                    }
                    p.muted { "Changed " (time_text(policy["createdAt"].as_str().unwrap_or("")))
                        @if let Some(by) = policy["actorName"].as_str() { " by " (by) } }
                    @if let Some(versions) = policy["id"].as_str().and_then(|id| history.get(id)) {
                        @if versions.len() > 1 {
                            details {
                                summary { "All " (versions.len()) " versions" }
                                ol.history {
                                    @for version in versions {
                                        li { "version " (version.record.version) " — " (time_ms(version.record.created_ms))
                                             " — " (version.definition.rules.len()) " rules" }
                                    }
                                }
                            }
                        }
                    }
                    div.table-wrap {
                        table {
                            caption.visually-hidden { "Its rules, in order" }
                            thead { tr {
                                th scope="col" { "Stage" } th scope="col" { "Plugin" }
                                th scope="col" { "Mode" } th scope="col" { "On error" }
                                th scope="col" { "Configuration" }
                            } }
                            tbody {
                                @for (stage, key) in [("risk", "risk"), ("rule", "rules"), ("charge", "charges")] {
                                    @for step in policy[key].as_array().unwrap_or(&empty) {
                                        tr {
                                            td { (stage) }
                                            td { (step["plugin"].as_str().unwrap_or("")) " " small { (step["pluginVersion"].as_str().unwrap_or("")) } }
                                            td { (step["mode"].as_str().unwrap_or("")) }
                                            td { (step["onError"].as_str().unwrap_or("")) }
                                            td { code.config { (step["config"].to_string()) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if policies_json["data"].as_array().is_none_or(Vec::is_empty) { p.empty { "No policies yet." } }
        }
        section aria-labelledby="dry-title" {
            h2 id="dry-title" { "Try an intent" }
            p.muted { "The agent's policy decides it with the agent's real usage; nothing is stored." }
            form.filters method="post" action="/dashboard/policies/dry-run" {
                input type="hidden" name="csrf" value=(session.csrf);
                div {
                    label for="d-agent" { "Agent" }
                    select id="d-agent" name="agent" required {
                        @for (id, name) in &agents { option value=(id) selected[value(|f| &f.agent) == id.as_str()] { (name) } }
                    }
                }
                div { label for="d-amount" { "Amount" } input id="d-amount" name="amount" inputmode="decimal" required placeholder="86.40" value=(value(|f| &f.amount)); }
                div { label for="d-currency" { "Currency" } input id="d-currency" name="currency" maxlength="3" required value=(given.map_or("EUR", |f| f.currency.as_str())); }
                div { label for="d-merchant" { "Merchant" } input id="d-merchant" name="merchant" required placeholder="hetzner.com" value=(value(|f| &f.merchant)); }
                div { label for="d-purpose" { "Purpose" } input id="d-purpose" name="purpose" required placeholder="renew the build server" value=(value(|f| &f.purpose)); }
                div { label for="d-card" { "Card" } input id="d-card" name="card" required placeholder="subscriptions" value=(value(|f| &f.card)); }
                button type="submit" { "Try it" }
            }
            @if let Some((tried, _)) = &tried { (tried) }
        }
        section aria-labelledby="plugins-title" {
            h2 id="plugins-title" { "Plugins" }
            div.table-wrap {
                table {
                    caption.visually-hidden { "The tenant's plugins, then the built-ins" }
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Version" }
                        th scope="col" { "Kind" } th scope="col" { "sha256" }
                    } }
                    tbody {
                        @for plugin in plugins_json["data"].as_array().unwrap_or(&empty) {
                            tr {
                                td { (plugin["name"].as_str().unwrap_or("")) }
                                td { (plugin["version"].as_str().unwrap_or("")) }
                                td { (if plugin["builtin"].as_bool().unwrap_or(false) { "built-in" } else { "uploaded" }) }
                                td { code { (plugin["sha256"].as_str().unwrap_or("").chars().take(16).collect::<String>()) "…" } }
                            }
                        }
                    }
                }
            }
        }
    })
}

#[derive(Deserialize)]
pub(crate) struct DryRunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    agent: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    merchant: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    card: String,
}

pub(crate) async fn dry_run(
    State(state): State<AppState>,
    Signed(session): Signed,
    axum::Form(form): axum::Form<DryRunForm>,
) -> Response {
    if !same_token(&form.csrf, &session.csrf) {
        return forged();
    }
    let tried = async {
        let amount = serde_json::value::RawValue::from_string(decimal_json(&form.amount))
            .map_err(ApiError::internal)?;
        let request = IntentRequest {
            agent_id: None,
            card_id: None,
            card_name: Some(form.card.clone()),
            purpose: form.purpose.clone(),
            expected_amount_euros: Some(amount),
            expected_merchant: Some(form.merchant.clone()),
            currency: Some(form.currency.trim().to_owned()),
            recurring: None,
            client_intent_id: None,
            ttl_minutes: None,
        };
        let dry_run = state
            .app
            .oversight()
            .dry_run(&session.principal, &form.agent, request)
            .await?;
        let view = json(oversight::dry_run_reply(&dry_run)?)?;
        let empty = Vec::new();
        Ok::<_, ApiError>(html! {
            div.result role="region" aria-label="What the policy decided" {
                p { "The policy would answer " (status_badge(view["status"].as_str().unwrap_or(""))) }
                ul.reasons {
                    @for entry in view["decision"]["rules"].as_array().unwrap_or(&empty) {
                        li { (entry["plugin"].as_str().unwrap_or("")) ": "
                             (entry["verdict"].as_str().unwrap_or("")) 
                             @if let Some(reason) = entry["reason"].as_str() { " — " (reason) } }
                    }
                }
            }
        })
    }
    .await;
    let tried = tried.unwrap_or_else(|error| html! { p.error role="alert" { (error.message()) } });
    let content = policies_page(&state, &session, Some((tried, &form))).await;
    answer(&session, Section::Policies, content)
}

// ------------------------------------------------------------------- events

#[derive(Deserialize, Default)]
pub(crate) struct EventsQuery {
    #[serde(default, rename = "type")]
    event_type: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

pub(crate) async fn events(
    State(state): State<AppState>,
    Signed(session): Signed,
    Query(query): Query<EventsQuery>,
) -> Response {
    let content = async {
        let page_of =
            PageQuery::new(Some("50".into()), blank(&query.cursor).map(str::to_owned)).page()?;
        let filter = EventQuery {
            event_type: blank(&query.event_type).map(str::to_owned),
            ..EventQuery::default()
        };
        let records = state
            .app
            .events()
            .list(&session.principal, filter, &page_of)
            .await?;
        let listing = Listing::new(records, &page_of, |e| e.id.clone());
        let view = json(listing.reply(events::event_view)?)?;
        let empty = Vec::new();
        let next = listing.next_cursor().map(|cursor| {
            link(
                "/dashboard/events",
                &[("cursor", Some(cursor)), ("type", blank(&query.event_type))],
            )
        });
        Ok::<_, ApiError>(html! {
            form.filters method="get" action="/dashboard/events" {
                div {
                    label for="e-type" { "Type (" code { "intent.*" } " for all of a kind)" }
                    input id="e-type" name="type" value=(blank(&query.event_type).unwrap_or("")) placeholder="intent.approved";
                }
                button type="submit" { "Filter" }
            }
            div.table-wrap {
                table {
                    caption.visually-hidden { "Events, newest first" }
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "Type" }
                        th scope="col" { "Object" } th scope="col" { "Who" }
                        th scope="col" { "Request" }
                    } }
                    tbody {
                        @for event in view["data"].as_array().unwrap_or(&empty) {
                            tr {
                                td { (time_text(event["createdAt"].as_str().unwrap_or(""))) }
                                td { code { (event["type"].as_str().unwrap_or("")) } }
                                td {
                                    @let object_id = event["object"]["id"].as_str().unwrap_or("");
                                    @if event["object"]["type"] == "intent" {
                                        a href={"/dashboard/intents/" (object_id)} data-drawer { code { (object_id) } }
                                    } @else {
                                        (event["object"]["type"].as_str().unwrap_or("")) " " code { (object_id) }
                                    }
                                }
                                td { (event["actor"]["name"].as_str().or(event["actor"]["id"].as_str()).unwrap_or("")) }
                                td { code { (event["requestId"].as_str().unwrap_or("")) } }
                            }
                        }
                    }
                }
            }
            @if let Some(link) = next { p { a href=(link) { "Older events" } } }
        })
    }
    .await;
    answer(&session, Section::Events, content)
}
