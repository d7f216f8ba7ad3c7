//! An agent's oversight: `/agents/:id/usage` against its policy's limits,
//! `/agents/:id/anomalies` and `/agents/:id/set-baselines`, and dry runs
//! (`/agents/:id/evaluate`, rendered here for `/policies/:id/evaluate`
//! too).

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use warrant_app::Principal;
use warrant_app::oversight::{Anomaly, BaselineSet, Meter, UsageReport};
use warrant_app::policies::DryRun;
use warrant_domain::baseline::{BaselineRequest, MAX_BASELINE_DAYS};
use warrant_domain::context::{Baseline, Usage, WindowUsage};
use warrant_domain::intent::IntentRequest;
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
use warrant_domain::policy::record::DecisionRecord;

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{self, ApiPath, ApiQuery, Reply, Submission, once, rfc3339};

/// `minor` units of `currency` as the API writes an amount.
fn amount(minor: u64, currency: Currency) -> Result<Box<RawValue>> {
    http::amount(Money::new(minor, currency))
}

#[derive(Serialize, utoipa::ToSchema)]
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

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct MoneyMeterView {
    #[schema(value_type = f64)]
    limit_euros: Box<RawValue>,
    #[schema(value_type = f64)]
    current_euros: Box<RawValue>,
    #[schema(value_type = f64)]
    remaining_euros: Box<RawValue>,
}

impl MoneyMeterView {
    fn of(meter: &Meter, currency: Currency) -> Result<Self> {
        Ok(MoneyMeterView {
            limit_euros: amount(meter.limit, currency)?,
            current_euros: amount(meter.current, currency)?,
            remaining_euros: amount(meter.remaining, currency)?,
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct BudgetView {
    daily: Option<MoneyMeterView>,
    monthly: Option<MoneyMeterView>,
    alert_threshold_percent: Option<u8>,
    auto_suspend_on_exceeded: bool,
    alert_sent: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct WindowView {
    count: u64,
    #[schema(value_type = f64)]
    spend_euros: Box<RawValue>,
    flagged_count: u64,
    #[schema(value_type = f64)]
    flagged_spend_euros: Box<RawValue>,
}

fn window(usage: &WindowUsage, currency: Currency) -> Result<WindowView> {
    Ok(WindowView {
        count: usage.count,
        spend_euros: amount(usage.spend, currency)?,
        flagged_count: usage.flagged_count,
        flagged_spend_euros: amount(usage.flagged_spend, currency)?,
    })
}

/// Every window of `usage`; the one of the intent's merchant when
/// `merchant` (a dry run's).
fn windows(usage: &Usage, merchant: bool) -> Result<BTreeMap<&'static str, WindowView>> {
    let c = usage.currency;
    let mut windows = BTreeMap::from([
        ("lastMinute", window(&usage.last_minute, c)?),
        ("lastHour", window(&usage.last_hour, c)?),
        ("lastDay", window(&usage.last_day, c)?),
        ("lastWeek", window(&usage.last_week, c)?),
        ("lastMonth", window(&usage.last_month, c)?),
        ("calendarDay", window(&usage.calendar_day, c)?),
        ("calendarMonth", window(&usage.calendar_month, c)?),
    ]);
    if merchant {
        windows.insert("merchantLastMonth", window(&usage.merchant_last_month, c)?);
    }
    Ok(windows)
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AnomalyDetectionView {
    enabled: bool,
    baseline_set: bool,
    count24h: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct UsageView<'a> {
    agent_id: &'a str,
    policy_id: &'a str,
    policy_version: i64,
    timezone: &'a str,
    currency: &'static str,
    rate_limits: Option<BTreeMap<&'static str, MeterView>>,
    budget: Option<BudgetView>,
    anomaly_detection: AnomalyDetectionView,
    windows: BTreeMap<&'static str, WindowView>,
    at: String,
}

/// `GET /agents/:id/usage`: limit, current and remaining of the policy's
/// rate limits and budgets, anomaly detection, every window.
#[utoipa::path(
    get,
    operation_id = "oversight_usage",
    path = "/agents/{id}/usage",
    tag = "oversight",
    params(("id" = String, Path, description = "The object's id.")),
    responses((status = 200, description = "The agent's usage against its policy's limits, and every usage window.", body = UsageView<'static>))
)]
pub(crate) async fn usage(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    usage_reply(&state.app.oversight().usage(&principal, &id).await?)
}

/// An agent's usage report as `GET /agents/:id/usage` answers it.
pub(crate) fn usage_reply(report: &UsageReport) -> Result<Reply> {
    let usage = &report.usage;
    let currency = usage.currency;
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
    let meter = |meter: &Option<Meter>| {
        meter
            .as_ref()
            .map(|m| MoneyMeterView::of(m, currency))
            .transpose()
    };
    let budget = match &report.budget {
        None => None,
        Some(budget) => Some(BudgetView {
            daily: meter(&budget.daily)?,
            monthly: meter(&budget.monthly)?,
            alert_threshold_percent: budget.alert_threshold_percent,
            auto_suspend_on_exceeded: budget.auto_suspend_on_exceeded,
            alert_sent: budget.alert_sent,
        }),
    };
    Reply::ok(&UsageView {
        agent_id: &report.agent_id,
        policy_id: &report.policy_id,
        policy_version: report.policy_version,
        timezone: &usage.timezone,
        currency: currency.code(),
        rate_limits,
        budget,
        anomaly_detection: AnomalyDetectionView {
            enabled: report.anomaly_detection,
            baseline_set: report.baseline_set,
            count24h: report.anomalies_24h,
        },
        windows: windows(usage, false)?,
        at: rfc3339(report.at_ms),
    })
}

/// An agent's baseline as the API shows it: amounts as decimals in major
/// units of its currency, as `set-baselines` takes them.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BaselineView<'a> {
    currency: &'static str,
    #[schema(value_type = f64)]
    amount_mean_euros: Box<RawValue>,
    #[schema(value_type = f64)]
    amount_std_dev_euros: Box<RawValue>,
    intents_per_day: u32,
    active_hours: &'a [u8],
    merchants: &'a [String],
    set_at: String,
}

impl<'a> BaselineView<'a> {
    pub(crate) fn of(baseline: &'a Baseline) -> Result<Self> {
        let currency = baseline.currency;
        Ok(BaselineView {
            currency: currency.code(),
            amount_mean_euros: amount(baseline.amount_mean, currency)?,
            amount_std_dev_euros: amount(baseline.amount_std_dev, currency)?,
            intents_per_day: baseline.intents_per_day,
            active_hours: &baseline.active_hours,
            merchants: &baseline.merchants,
            set_at: http::rfc3339_of(baseline.set_at),
        })
    }

    pub(crate) fn of_option(baseline: Option<&'a Baseline>) -> Result<Option<Self>> {
        baseline.map(BaselineView::of).transpose()
    }
}

#[derive(Serialize, utoipa::ToSchema)]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AnomalyQuery {
    /// How many days back to look.
    #[serde(default)]
    #[param(value_type = Option<u32>)]
    days: Option<String>,
}

/// `GET /agents/:id/anomalies?days=`: the agent's baseline and its recent
/// intents with `anomaly` signals, newest first.
#[utoipa::path(
    get,
    operation_id = "oversight_anomalies",
    path = "/agents/{id}/anomalies",
    tag = "oversight",
    params(("id" = String, Path, description = "The object's id."), AnomalyQuery),
    responses((status = 200, description = "The agent's baseline and its recent intents with anomaly signals.", body = AnomaliesView<'static>))
)]
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
    Reply::ok(&AnomaliesView {
        agent_id: &id,
        baseline: BaselineView::of_option(agent.agent.baseline.as_ref())?,
        days,
        data: anomalies.iter().map(anomaly_view).collect(),
    })
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct AnomaliesView<'a> {
    agent_id: &'a str,
    baseline: Option<BaselineView<'a>>,
    days: u32,
    data: Vec<AnomalyView<'a>>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct BaselineSetView<'a> {
    agent_id: &'a str,
    baseline: BaselineView<'a>,
    source: &'a str,
}

fn baseline_reply(set: &BaselineSet) -> Result<Reply> {
    Reply::ok(&BaselineSetView {
        agent_id: &set.agent_id,
        baseline: BaselineView::of(&set.baseline)?,
        source: &set.source,
    })
}

/// `POST /agents/:id/set-baselines`: learnt from history, or as given.
#[utoipa::path(
    post,
    operation_id = "oversight_set_baselines",
    path = "/agents/{id}/set-baselines",
    tag = "oversight",
    params(("id" = String, Path, description = "The object's id.")), request_body = BaselineRequest,
    responses((status = 200, description = "The baseline set, learnt from history or as given.", body = BaselineSetView<'static>))
)]
pub(crate) async fn set_baselines(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    principal.configures()?;
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

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DryRunView<'a> {
    dry_run: bool,
    policy_id: &'a str,
    policy_version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_status: Option<&'static str>,
    /// What the intent's status would be.
    status: IntentStatus,
    #[schema(value_type = Object)]
    decision: DecisionRecord,
    usage: DryRunUsageView<'a>,
}

/// The usage a dry run's plugins saw, as `/agents/:id/usage` shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct DryRunUsageView<'a> {
    currency: &'static str,
    timezone: &'a str,
    #[serde(flatten)]
    windows: BTreeMap<&'static str, WindowView>,
}

/// A dry run's answer: the decision, its trace and the usage it saw.
pub(crate) fn dry_run_reply(dry_run: &DryRun) -> Result<Reply> {
    let agent = dry_run.agent.as_ref();
    let usage = &dry_run.context.usage;
    Reply::ok(&DryRunView {
        dry_run: true,
        policy_id: &dry_run.policy.id,
        policy_version: dry_run.policy.version,
        agent_id: agent.map(|a| a.agent.id.as_str()),
        agent_status: agent.map(|a| a.agent.status.as_str()),
        status: IntentStatus::from_outcome(dry_run.decision.outcome),
        decision: DecisionRecord::of(&dry_run.decision),
        usage: DryRunUsageView {
            currency: usage.currency.code(),
            timezone: &usage.timezone,
            windows: windows(usage, true)?,
        },
    })
}

/// `POST /agents/:id/evaluate`: the agent's policy decides an intent body
/// with the agent's real usage; no intent is stored, the dry run is
/// recorded among the agent's events.
#[utoipa::path(
    post,
    operation_id = "oversight_dry_run",
    path = "/agents/{id}/evaluate",
    tag = "oversight",
    params(("id" = String, Path, description = "The object's id.")), request_body = IntentRequest,
    responses((status = 200, description = "What the agent's policy would decide; nothing is stored.", body = DryRunView<'static>))
)]
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
