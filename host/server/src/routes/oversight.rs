//! An agent's oversight: `/agents/:id/usage` against its policy's limits,
//! `/agents/:id/anomalies` and `/agents/:id/set-baselines`, and dry runs
//! (`/agents/:id/evaluate`, rendered here for `/policies/:id/evaluate`
//! too).

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use warrant_app::Principal;
use warrant_app::oversight::{Anomaly, BaselineSet, Meter};
use warrant_app::policies::DryRun;
use warrant_domain::baseline::{BaselineRequest, MAX_BASELINE_DAYS};
use warrant_domain::context::{Usage, WindowUsage};
use warrant_domain::intent::IntentRequest;
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
use warrant_domain::policy::record::DecisionRecord;

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{ApiPath, ApiQuery, Reply, Submission, number, once, rfc3339};

fn euros(minor: u64) -> Result<Box<RawValue>> {
    number(Money::new(minor, Currency::EUR).major_units_text())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MeterView {
    limit: u64,
    current: u64,
    remaining: u64,
}

impl From<&Meter> for MeterView {
    fn from(meter: &Meter) -> Self {
        MeterView {
            limit: meter.limit,
            current: meter.current,
            remaining: meter.remaining,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MoneyMeterView {
    limit_euros: Box<RawValue>,
    current_euros: Box<RawValue>,
    remaining_euros: Box<RawValue>,
}

impl MoneyMeterView {
    fn of(meter: &Meter) -> Result<Self> {
        Ok(MoneyMeterView {
            limit_euros: euros(meter.limit)?,
            current_euros: euros(meter.current)?,
            remaining_euros: euros(meter.remaining)?,
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WindowView {
    count: u64,
    spend: Box<RawValue>,
    flagged_count: u64,
    flagged_spend: Box<RawValue>,
}

fn window(usage: &WindowUsage, currency: Currency) -> Result<WindowView> {
    let amount = |minor| number(Money::new(minor, currency).major_units_text());
    Ok(WindowView {
        count: usage.count,
        spend: amount(usage.spend)?,
        flagged_count: usage.flagged_count,
        flagged_spend: amount(usage.flagged_spend)?,
    })
}

fn windows(usage: &Usage) -> Result<BTreeMap<&'static str, WindowView>> {
    let c = usage.currency;
    Ok(BTreeMap::from([
        ("lastMinute", window(&usage.last_minute, c)?),
        ("lastHour", window(&usage.last_hour, c)?),
        ("lastDay", window(&usage.last_day, c)?),
        ("lastWeek", window(&usage.last_week, c)?),
        ("lastMonth", window(&usage.last_month, c)?),
        ("calendarDay", window(&usage.calendar_day, c)?),
        ("calendarMonth", window(&usage.calendar_month, c)?),
    ]))
}

/// `GET /agents/:id/usage`: limit, current and remaining of the policy's
/// rate limits and budgets, anomaly detection, every window.
pub(crate) async fn usage(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let report = state.app.oversight().usage(&principal, &id).await?;
    let rate_limits = report.rate_limits.as_ref().map(|limits| {
        [
            ("perMinute", &limits.per_minute),
            ("perHour", &limits.per_hour),
            ("perDay", &limits.per_day),
        ]
        .into_iter()
        .filter_map(|(name, meter)| Some((name, MeterView::from(meter.as_ref()?))))
        .collect::<BTreeMap<_, _>>()
    });
    let budget = match &report.budget {
        None => None,
        Some(budget) => Some(serde_json::json!({
            "daily": budget.daily.as_ref().map(MoneyMeterView::of).transpose()?,
            "monthly": budget.monthly.as_ref().map(MoneyMeterView::of).transpose()?,
            "alertThresholdPercent": budget.alert_threshold_percent,
            "autoSuspendOnExceeded": budget.auto_suspend_on_exceeded,
            "alertSent": budget.alert_sent,
        })),
    };
    let usage = &report.usage;
    Reply::ok(&serde_json::json!({
        "agentId": report.agent_id,
        "policyId": report.policy_id,
        "policyVersion": report.policy_version,
        "timezone": usage.timezone,
        "currency": usage.currency.code(),
        "rateLimits": rate_limits,
        "budget": budget,
        "anomalyDetection": {
            "enabled": report.anomaly_detection,
            "baselineSet": report.baseline_set,
            "count24h": report.anomalies_24h,
        },
        "windows": windows(usage)?,
        "at": rfc3339(report.at_ms),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnomalyView<'a> {
    intent_id: &'a str,
    status: IntentStatus,
    created_at: String,
    risk_score: Option<u8>,
    signals: &'a [warrant_domain::context::Signal],
}

fn anomaly_view(anomaly: &Anomaly) -> AnomalyView<'_> {
    AnomalyView {
        intent_id: &anomaly.intent_id,
        status: anomaly.status,
        created_at: rfc3339(anomaly.created_ms),
        risk_score: anomaly.risk_score,
        signals: &anomaly.signals,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AnomalyQuery {
    #[serde(default)]
    days: Option<String>,
}

/// `GET /agents/:id/anomalies?days=`: the agent's baseline and its recent
/// intents with `anomaly` signals, newest first.
pub(crate) async fn anomalies(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AnomalyQuery>,
) -> Result<Reply> {
    let days = query
        .days
        .as_deref()
        .map(|text| {
            text.parse::<u32>().map_err(|_| {
                ApiError::validation("days", format!("must be 1 to {MAX_BASELINE_DAYS}"))
            })
        })
        .transpose()?;
    let (agent, days, anomalies) = state
        .app
        .oversight()
        .anomalies(&principal, &id, days)
        .await?;
    let data: Vec<AnomalyView<'_>> = anomalies.iter().map(anomaly_view).collect();
    Reply::ok(&serde_json::json!({
        "agentId": id,
        "baseline": agent.agent.baseline,
        "days": days,
        "data": data,
    }))
}

fn baseline_reply(set: &BaselineSet) -> Result<Reply> {
    Reply::ok(&serde_json::json!({
        "agentId": set.agent_id,
        "baseline": set.baseline,
        "source": set.source,
    }))
}

/// `POST /agents/:id/set-baselines`: learnt from history, or as given.
pub(crate) async fn set_baselines(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.tenant()?;
    let request: BaselineRequest = submission.json_or_empty()?;
    once(&state, &principal, &submission, async |ticket| {
        let set = state
            .app
            .oversight()
            .set_baseline(&principal, &id, request, &|set| {
                ticket.record(&baseline_reply(set).ok()?)
            })
            .await?;
        baseline_reply(&set)
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DryRunView<'a> {
    dry_run: bool,
    policy_id: &'a str,
    policy_version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_status: Option<&'static str>,
    /// What the intent's status would be.
    status: IntentStatus,
    decision: DecisionRecord,
    usage: &'a Usage,
}

/// A dry run's answer: the decision, its trace and the usage it saw.
pub(crate) fn dry_run_reply(dry_run: &DryRun) -> Result<Reply> {
    let agent = dry_run.agent.as_ref();
    Reply::ok(&DryRunView {
        dry_run: true,
        policy_id: &dry_run.policy.id,
        policy_version: dry_run.policy.version,
        agent_id: agent.map(|a| a.agent.id.as_str()),
        agent_status: agent.map(|a| a.agent.status.as_str()),
        status: IntentStatus::from_outcome(dry_run.decision.outcome),
        decision: DecisionRecord::of(&dry_run.decision),
        usage: &dry_run.context.usage,
    })
}

/// `POST /agents/:id/evaluate`: the agent's policy decides an intent body
/// with the agent's real usage; no intent is stored, the dry run is
/// recorded among the agent's events.
pub(crate) async fn dry_run(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let request: IntentRequest = submission.json()?;
    let dry_run = state
        .app
        .oversight()
        .dry_run(&principal, &id, request)
        .await?;
    dry_run_reply(&dry_run)
}
