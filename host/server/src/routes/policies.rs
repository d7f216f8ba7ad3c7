//! `/policies`: ordered rules and risk steps, each a plugin with its
//! configuration; every change makes a new immutable version, which can
//! be rolled back to and tried on an intent.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use warrant_app::Principal;
use warrant_app::policies::{PolicyRequest, PolicyUpdate, PolicyVersion};
use warrant_domain::intent::IntentRequest;
use warrant_domain::money;
use warrant_domain::policy::definition::Step;

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{
    ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, amount, number, once, rfc3339,
};
use crate::routes::oversight::dry_run_reply;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyView<'a> {
    id: &'a str,
    name: &'a str,
    version: i64,
    rules: &'a [Step],
    risk: &'a [Step],
    charges: &'a [Step],
    timezone: &'a str,
    #[schema(value_type = f64)]
    amount_tolerance_percent: Box<RawValue>,
    review_flagged_settlements: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    approvals_required: Option<ApprovalsView>,
    created_at: String,
    /// Who made this version: `key:ak_…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_name: Option<&'a str>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ApprovalsRequired)]
struct ApprovalsView {
    count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    above_euros: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'static str>,
}

pub(crate) fn view(version: &PolicyVersion) -> Result<PolicyView<'_>> {
    let (record, definition) = (&version.record, &version.definition);
    Ok(PolicyView {
        id: &record.id,
        name: &record.name,
        version: record.version,
        rules: &definition.rules,
        risk: &definition.risk,
        charges: &definition.charges,
        timezone: &definition.timezone,
        amount_tolerance_percent: number(money::format_percent_bps(
            definition.amount_tolerance_bps,
        ))?,
        review_flagged_settlements: definition.review_flagged_settlements,
        approvals_required: definition
            .approvals_required
            .as_ref()
            .map(|approvals| -> Result<ApprovalsView> {
                Ok(ApprovalsView {
                    count: approvals.count,
                    above_euros: approvals.above.map(amount).transpose()?,
                    currency: approvals.above.map(|above| above.currency.code()),
                })
            })
            .transpose()?,
        created_at: rfc3339(record.created_ms),
        actor: record.actor.as_deref(),
        actor_name: record.actor_name.as_deref(),
    })
}

/// `POST /policies`: 201 with version 1.
#[utoipa::path(
    post,
    operation_id = "policies_create",
    path = "/policies",
    tag = "policies",
    request_body = PolicyRequest,
    responses((status = 201, description = "The policy's version 1.", body = PolicyView<'static>))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    principal: Principal,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let request: PolicyRequest = submission.json()?;
    once(&state, &principal, &submission, async |ticket| {
        let render = |version: &PolicyVersion| Reply::json(StatusCode::CREATED, &view(version)?);
        let created = state
            .app
            .policies()
            .create(&principal, request, &|version| {
                ticket.record(&render(version).ok()?)
            })
            .await?;
        render(&created)
    })
    .await
}

/// `PATCH /policies/:id`: a new version.
#[utoipa::path(
    patch,
    operation_id = "policies_update",
    path = "/policies/{id}",
    tag = "policies",
    params(("id" = String, Path, description = "The object's id.")), request_body = PolicyUpdate,
    responses((status = 200, description = "The policy's new version.", body = PolicyView<'static>))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let update: PolicyUpdate = submission.json()?;
    let version = state.app.policies().update(&principal, &id, update).await?;
    Reply::ok(&view(&version)?)
}

/// `GET /policies/:id`: the current version.
#[utoipa::path(
    get,
    operation_id = "policies_show",
    path = "/policies/{id}",
    tag = "policies",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The policy's current version.", body = PolicyView<'static>))
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let version = state.app.policies().show(&principal, &id).await?;
    Reply::ok(&view(&version)?)
}

/// `GET /policies`: the current version of each, newest first.
#[utoipa::path(
    get,
    operation_id = "policies_list",
    path = "/policies",
    tag = "policies",
    params(PageQuery),
    responses((status = 200, description = "A page of policies.", body = crate::http::ListingPage<'static, PolicyView<'static>>))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    principal.reads()?;
    let page = query.page()?;
    let versions = state.app.policies().list(&principal, &page).await?;
    let listing = Listing::new(versions, &page, |v| v.record.id.clone());
    listing.reply(view)
}

/// `GET /policies/:id/versions`: oldest first, a page at a time.
#[utoipa::path(
    get,
    operation_id = "policies_versions",
    path = "/policies/{id}/versions",
    tag = "policies",
    params(("id" = String, Path, description = "The object's id."), PageQuery),
    responses((status = 200, description = "A page of the policy's versions, newest first.", body = crate::http::ListingPage<'static, PolicyView<'static>>))
)]
pub(crate) async fn versions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    principal.reads()?;
    let page = query.version_page()?;
    let versions = state
        .app
        .policies()
        .versions(&principal, &id, &page)
        .await?;
    let listing = Listing::new(versions, &page, |v| v.record.version.to_string());
    listing.reply(view)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RollbackPolicy {
    target_version: i64,
}

/// `POST /policies/:id/rollback {"targetVersion"}`: a new version, made
/// current, whose rules, risk steps and tolerance are the target's.
#[utoipa::path(
    post,
    operation_id = "policies_rollback",
    path = "/policies/{id}/rollback",
    tag = "policies",
    params(("id" = String, Path, description = "The object's id.")), request_body = RollbackPolicy,
    responses((status = 200, description = "A new version with the target's rules.", body = PolicyView<'static>))
)]
pub(crate) async fn rollback(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let body: RollbackPolicy = submission.json()?;
    once(&state, &principal, &submission, async |ticket| {
        let render = |version: &PolicyVersion| Reply::ok(&view(version)?);
        let version = state
            .app
            .policies()
            .rollback(&principal, &id, body.target_version, &|version| {
                ticket.record(&render(version).ok()?)
            })
            .await?;
        render(&version)
    })
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct VersionQuery {
    /// The version to try; the current one when absent.
    #[serde(default)]
    #[param(value_type = Option<u32>)]
    version: Option<String>,
}

/// `POST /policies/:id/evaluate?version=`: the policy (its current
/// version, or the one asked for) decides an intent; with `agentId`, as
/// that agent with its usage. Nothing is stored.
#[utoipa::path(
    post,
    operation_id = "policies_try_out",
    path = "/policies/{id}/evaluate",
    tag = "policies",
    params(("id" = String, Path, description = "The object's id."), VersionQuery), request_body = IntentRequest,
    responses((status = 200, description = "What the policy would decide; nothing is stored.", body = crate::routes::oversight::DryRunView<'static>))
)]
pub(crate) async fn try_out(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<VersionQuery>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
    let request: IntentRequest = submission.json()?;
    let version = query
        .version
        .as_deref()
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::validation("version", "must be a version number, 1 or more"))
        })
        .transpose()?;
    let dry_run = state
        .app
        .policies()
        .try_out(&principal, &id, version, request)
        .await?;
    dry_run_reply(&dry_run)
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct TransitionCount {
    /// The verdict recorded.
    from: &'static str,
    /// The candidate's.
    to: &'static str,
    count: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AmountSum {
    currency: &'static str,
    #[schema(value_type = f64)]
    amount: Box<RawValue>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct BacktestExample<'a> {
    intent_id: &'a str,
    agent_id: &'a str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    expected_amount: Option<Box<RawValue>>,
    currency: &'static str,
    /// The decision recorded, with its trace.
    #[schema(value_type = Object)]
    recorded: &'a warrant_domain::policy::record::DecisionRecord,
    /// The candidate's, with its trace.
    #[schema(value_type = Object)]
    candidate: &'a warrant_domain::policy::record::DecisionRecord,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct BacktestView<'a> {
    /// Decisions decided again.
    evaluated: u64,
    /// Decisions of the range made before inputs were kept.
    skipped: u64,
    /// How many the candidate decides otherwise.
    changed: u64,
    /// Counts by (recorded verdict → candidate's verdict), unchanged ones
    /// included.
    transitions: Vec<TransitionCount>,
    /// The declared amounts the candidate would have approved and the
    /// recorded decisions did not, per currency.
    newly_approved: Vec<AmountSum>,
    /// The declared amounts the candidate would have denied and the
    /// recorded decisions did not, per currency.
    newly_denied: Vec<AmountSum>,
    /// Changed decisions, newest first, with both traces.
    examples: Vec<BacktestExample<'a>>,
}

fn outcome_text(outcome: warrant_domain::policy::Outcome) -> &'static str {
    warrant_domain::lifecycle::IntentStatus::from_outcome(outcome).as_str()
}

fn backtest_view(found: &warrant_app::backtest::Backtest) -> Result<BacktestView<'_>> {
    let sums = |sums: &std::collections::BTreeMap<&'static str, u64>| -> Result<Vec<AmountSum>> {
        sums.iter()
            .map(|(code, minor)| {
                let currency = money::Currency::from_code(code).map_err(ApiError::internal)?;
                Ok(AmountSum {
                    currency: currency.code(),
                    amount: amount(money::Money::new(*minor, currency))?,
                })
            })
            .collect()
    };
    Ok(BacktestView {
        evaluated: found.evaluated,
        skipped: found.skipped,
        changed: found
            .transitions
            .iter()
            .filter(|((from, to), _)| from != to)
            .map(|(_, count)| count)
            .sum(),
        transitions: found
            .transitions
            .iter()
            .map(|((from, to), count)| TransitionCount {
                from: outcome_text(*from),
                to: outcome_text(*to),
                count: *count,
            })
            .collect(),
        newly_approved: sums(&found.newly_approved)?,
        newly_denied: sums(&found.newly_denied)?,
        examples: found
            .examples
            .iter()
            .map(|example| {
                let intent = &example.intent.intent;
                Ok(BacktestExample {
                    intent_id: &example.intent.id,
                    agent_id: &example.intent.agent_id,
                    created_at: rfc3339(example.intent.created_ms),
                    expected_amount: intent.amount.map(amount).transpose()?,
                    currency: intent.currency().code(),
                    recorded: &example.recorded,
                    candidate: &example.candidate,
                })
            })
            .collect::<Result<_>>()?,
    })
}

/// `POST /policies/:id/backtest {"candidate": {"rules","risk"?} | "version",
/// "from"?, "to"?, "agentId"?, "limit"?}`: the candidate decides again the
/// policy's past decisions in the range, each from the input its plugins
/// saw then; counts what would change, and shows up to `limit` changed
/// decisions with both traces. Nothing is stored; no action runs. With
/// `Accept: application/x-ndjson` the answer is a stream of lines: `{"evaluated":n}`
/// after every 500 decisions, then `{"result":{…}}` (or `{"error":{…}}`).
#[utoipa::path(
    post,
    operation_id = "policies_backtest",
    path = "/policies/{id}/backtest",
    tag = "policies",
    params(("id" = String, Path, description = "The object's id.")),
    request_body = warrant_app::backtest::BacktestRequest,
    responses((status = 200, description = "What the candidate would have decided otherwise.", body = BacktestView<'static>))
)]
pub(crate) async fn backtest(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    headers: axum::http::HeaderMap,
    submission: Submission,
) -> Result<axum::response::Response> {
    use axum::response::IntoResponse as _;
    let request: warrant_app::backtest::BacktestRequest = submission.json()?;
    let plan = state.app.plan_backtest(&principal, &id, request).await?;
    let streamed = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/x-ndjson"));
    if !streamed {
        let found = state.app.backtest(&plan, &|_| {}).await?;
        return Ok(Reply::ok(&backtest_view(&found)?)?.into_response());
    }
    let (lines, receiver) = tokio::sync::mpsc::unbounded_channel::<String>();
    let app = state.app.clone();
    tokio::spawn(async move {
        let work = async {
            let progress = |evaluated: u64| {
                let _ = lines.send(format!("{{\"evaluated\":{evaluated}}}\n"));
            };
            let last = match app.backtest(&plan, &progress).await {
                Ok(found) => backtest_view(&found).and_then(|view| {
                    serde_json::to_string(&serde_json::json!({ "result": view }))
                        .map_err(ApiError::internal)
                }),
                Err(e) => Err(ApiError::from(e)),
            };
            let last = last.unwrap_or_else(|e| {
                serde_json::json!({"error": {"code": e.code(), "message": e.to_string()}})
                    .to_string()
            });
            let _ = lines.send(last + "\n");
        };
        // A client that goes away stops the back-test, as it would stop
        // one answered in one piece.
        tokio::select! {
            () = work => {}
            () = lines.closed() => {}
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let line = receiver.recv().await?;
        Some((Ok::<_, std::convert::Infallible>(line), receiver))
    });
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}
