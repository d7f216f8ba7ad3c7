//! Governance reads and dry runs: an agent's usage against its policy's
//! limits, baselines and anomalies, charges of recurring intents, and
//! decisions made without storing anything.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use warrant_domain::context::{Agent, Baseline, Charge, EvaluationContext, Timestamp, Usage};
use warrant_domain::intent::{IntentRequest, MAX_NAME_CHARS};
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
use warrant_domain::policy::{PolicyDecision, Stage};
use warrant_store::{
    AgentEvent, AgentRecord, BaselineUpdate, ChargeRecord, IntentFilter, IntentRecord, Page,
    PolicyRecord,
};

use crate::AppState;
use crate::auth::{Permission, Principal};
use crate::decide::{
    DecisionView, actions_of, calendar_starts, currency_of, decide, run, usage_of,
};
use crate::errors::{ApiError, Result};
use crate::http::{
    ApiPath, ApiQuery, Listing, PageQuery, Reply, Submission, checked_text, new_id, now_ms, number,
    once, rfc3339, time_of,
};
use crate::policies::{CompiledPolicy, PolicyDoc, compiled};

/// The built-ins whose configuration the usage endpoint reads.
const RATE_LIMIT: &str = "rate-limit";
const BUDGET: &str = "budget";
const ANOMALY: &str = "anomaly";
/// How many recent intents the anomaly views look through.
const RECENT_INTENTS: i64 = 200;
/// The most days a baseline is learnt from.
const MAX_BASELINE_DAYS: u32 = 90;
/// The most intents a baseline is learnt from.
const MAX_BASELINE_INTENTS: i64 = 100_000;
/// The most merchants a baseline keeps.
const MAX_BASELINE_MERCHANTS: usize = 500;
const DAY_MS: i64 = 86_400_000;

/// The tenant's agent, after checking the caller may read it.
async fn agent_of(
    state: &AppState,
    principal: &Principal,
    id: &str,
    permission: Permission,
) -> Result<AgentRecord> {
    let tenant_id = principal.tenant_id()?;
    principal.may(id, permission)?;
    state
        .store
        .agent(tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("agent", id))
}

/// The current version of an agent's policy, stored and compiled.
async fn policy_of(
    state: &AppState,
    agent: &AgentRecord,
) -> Result<(PolicyRecord, std::sync::Arc<CompiledPolicy>)> {
    let record = state
        .store
        .policy(&agent.tenant_id, &agent.policy_id, None)
        .await?
        .ok_or_else(|| ApiError::internal("an agent's policy is missing"))?;
    let policy = compiled(state, &record).await?;
    Ok((record, policy))
}

fn euros(minor: u64) -> Result<Box<RawValue>> {
    number(Money::new(minor, Currency::EUR).major_units_text())
}

// ---------------------------------------------------------------------
// GET /agents/:id/usage

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Meter {
    limit: u64,
    current: u64,
    remaining: u64,
}

impl Meter {
    fn new(limit: u64, current: u64) -> Self {
        Meter {
            limit,
            current,
            remaining: limit.saturating_sub(current),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MoneyMeter {
    limit_euros: Box<RawValue>,
    current_euros: Box<RawValue>,
    remaining_euros: Box<RawValue>,
}

impl MoneyMeter {
    fn new(limit: u64, current: u64) -> Result<Self> {
        Ok(MoneyMeter {
            limit_euros: euros(limit)?,
            current_euros: euros(current)?,
            remaining_euros: euros(limit.saturating_sub(current))?,
        })
    }
}

/// The configuration of the built-in `rate-limit`, as far as the usage
/// view needs it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RateLimits {
    per_minute: Option<u64>,
    per_hour: Option<u64>,
    per_day: Option<u64>,
}

/// The configuration of the built-in `budget`, as far as the usage view
/// needs it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Budget {
    max_daily_euros: Option<Box<RawValue>>,
    max_monthly_euros: Option<Box<RawValue>>,
    alert_threshold_percent: Option<u8>,
    #[serde(default)]
    auto_suspend_on_exceeded: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WindowView {
    count: u64,
    spend: Box<RawValue>,
    flagged_count: u64,
    flagged_spend: Box<RawValue>,
}

fn window(usage: &warrant_domain::context::WindowUsage, currency: Currency) -> Result<WindowView> {
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

/// The tightest of several optional limits.
fn tightest(limits: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    limits.flatten().min()
}

pub(crate) async fn usage(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> Result<Reply> {
    let agent = agent_of(&state, &principal, &id, Permission::Read).await?;
    let (record, policy) = policy_of(&state, &agent).await?;
    let doc = PolicyDoc::parse(&record)?;
    let now = now_ms();
    let usage = usage_of(&state, &id, &policy, Currency::EUR, None, now).await?;
    let builtin_id = |name: &str| -> Result<String> {
        state
            .registry
            .builtin(name)
            .map(|entry| entry.id.clone())
            .ok_or_else(|| ApiError::internal(format!("the built-in `{name}` is missing")))
    };

    // Rate limits: the tightest of the policy's enforced `rate-limit` rules.
    let rate_rules: Vec<RateLimits> = doc
        .enforced_configs(&builtin_id(RATE_LIMIT)?)
        .into_iter()
        .map(|raw| serde_json::from_str(raw.get()).unwrap_or_default())
        .collect();
    let rate_limits = if rate_rules.is_empty() {
        None
    } else {
        let mut meters = BTreeMap::new();
        let windows = [
            (
                "perMinute",
                usage.last_minute.count,
                tightest(rate_rules.iter().map(|r| r.per_minute)),
            ),
            (
                "perHour",
                usage.last_hour.count,
                tightest(rate_rules.iter().map(|r| r.per_hour)),
            ),
            (
                "perDay",
                usage.last_day.count,
                tightest(rate_rules.iter().map(|r| r.per_day)),
            ),
        ];
        for (name, current, limit) in windows {
            if let Some(limit) = limit {
                meters.insert(name, Meter::new(limit, current));
            }
        }
        Some(meters)
    };

    // Budgets: the tightest of the policy's enforced `budget` rules.
    let budgets: Vec<Budget> = doc
        .enforced_configs(&builtin_id(BUDGET)?)
        .into_iter()
        .filter_map(|raw| serde_json::from_str(raw.get()).ok())
        .collect();
    let cents = |raw: &Option<Box<RawValue>>| {
        raw.as_ref()
            .and_then(|raw| Money::parse(raw.get(), Currency::EUR).ok())
            .map(|m| m.minor_units)
    };
    let budget = if budgets.is_empty() {
        None
    } else {
        let daily = tightest(budgets.iter().map(|b| cents(&b.max_daily_euros)));
        let monthly = tightest(budgets.iter().map(|b| cents(&b.max_monthly_euros)));
        let (day_start, _) = calendar_starts(&policy.zone, now)?;
        let alerts = state
            .store
            .count_agent_events(&id, "alert", &format!("policy:{BUDGET}"), day_start)
            .await?;
        Some(serde_json::json!({
            "daily": daily.map(|limit| MoneyMeter::new(limit, usage.calendar_day.spend)).transpose()?,
            "monthly": monthly.map(|limit| MoneyMeter::new(limit, usage.calendar_month.spend)).transpose()?,
            "alertThresholdPercent": budgets.iter().filter_map(|b| b.alert_threshold_percent).min(),
            "autoSuspendOnExceeded": budgets.iter().any(|b| b.auto_suspend_on_exceeded),
            "alertSent": alerts > 0,
        }))
    };

    let anomaly_id = builtin_id(ANOMALY)?;
    let recent = recent_anomalies(&state, &agent, now - DAY_MS).await?;
    Reply::ok(&serde_json::json!({
        "agentId": id,
        "policyId": record.id,
        "policyVersion": record.version,
        "timezone": usage.timezone,
        "currency": usage.currency.code(),
        "rateLimits": rate_limits,
        "budget": budget,
        "anomalyDetection": {
            "enabled": doc.assesses_with(&anomaly_id),
            "baselineSet": agent.agent.baseline.is_some(),
            "count24h": recent.len(),
        },
        "windows": windows(&usage)?,
        "at": rfc3339(now),
    }))
}

// ---------------------------------------------------------------------
// Anomalies

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnomalyView {
    intent_id: String,
    status: IntentStatus,
    created_at: String,
    risk_score: Option<u8>,
    signals: Vec<warrant_domain::context::Signal>,
}

/// The agent's recent intents (declared from `since_ms` on, among the
/// last few hundred) whose decision carries signals of the `anomaly`
/// risk plugin, newest first.
async fn recent_anomalies(
    state: &AppState,
    agent: &AgentRecord,
    since_ms: i64,
) -> Result<Vec<AnomalyView>> {
    let filter = IntentFilter {
        agent_id: Some(agent.agent.id.clone()),
        status: None,
    };
    let page = Page {
        after: None,
        limit: RECENT_INTENTS,
    };
    let records = state
        .store
        .intents(&agent.tenant_id, &filter, &page)
        .await?;
    let mut found = Vec::new();
    for record in records.iter().filter(|r| r.created_ms >= since_ms) {
        if let Some(view) = anomaly_of(record)? {
            found.push(view);
        }
    }
    Ok(found)
}

/// The anomaly signals in one intent's stored decision.
fn anomaly_of(record: &IntentRecord) -> Result<Option<AnomalyView>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Stored {
        risk_score: Option<u8>,
        rules: Vec<warrant_domain::policy::TraceEntry>,
    }
    let stored: Stored = serde_json::from_str(&record.decision).map_err(ApiError::internal)?;
    let signals: Vec<_> = stored
        .rules
        .into_iter()
        .filter(|entry| entry.stage == Stage::Risk && entry.plugin == ANOMALY)
        .flat_map(|entry| entry.signals)
        .collect();
    if signals.is_empty() {
        return Ok(None);
    }
    Ok(Some(AnomalyView {
        intent_id: record.id.clone(),
        status: record.status,
        created_at: rfc3339(record.created_ms),
        risk_score: stored.risk_score,
        signals,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AnomalyQuery {
    #[serde(default)]
    days: Option<String>,
}

pub(crate) async fn anomalies(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AnomalyQuery>,
) -> Result<Reply> {
    let agent = agent_of(&state, &principal, &id, Permission::Read).await?;
    let days = match query.days.as_deref() {
        None => 7,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_BASELINE_DAYS).contains(d))
            .ok_or_else(|| {
                ApiError::validation("days", format!("must be 1 to {MAX_BASELINE_DAYS}"))
            })?,
    };
    let since = now_ms() - i64::from(days) * DAY_MS;
    let data = recent_anomalies(&state, &agent, since).await?;
    Reply::ok(&serde_json::json!({
        "agentId": id,
        "baseline": agent.agent.baseline,
        "days": days,
        "data": data,
    }))
}

// ---------------------------------------------------------------------
// POST /agents/:id/set-baselines

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BaselineBody {
    /// Learn from this many days of history (the default: 30).
    #[serde(default)]
    days: Option<u32>,
    /// The currency of the amounts (the default: EUR).
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    amount_mean_euros: Option<Box<RawValue>>,
    #[serde(default)]
    amount_std_dev_euros: Option<Box<RawValue>>,
    #[serde(default)]
    intents_per_day: Option<u32>,
    #[serde(default)]
    active_hours: Option<Vec<u8>>,
    #[serde(default)]
    merchants: Option<Vec<String>>,
}

impl BaselineBody {
    fn gives_values(&self) -> bool {
        self.amount_mean_euros.is_some()
            || self.amount_std_dev_euros.is_some()
            || self.intents_per_day.is_some()
            || self.active_hours.is_some()
            || self.merchants.is_some()
    }
}

/// A baseline from the values a tenant gives.
fn given_baseline(body: &BaselineBody, currency: Currency, now: i64) -> Result<Baseline> {
    let amount = |field: &str, raw: &Option<Box<RawValue>>| -> Result<u64> {
        let raw = raw
            .as_ref()
            .ok_or_else(|| ApiError::validation(field, "is required when giving values"))?;
        Money::parse(raw.get(), currency)
            .map(|m| m.minor_units)
            .map_err(|e| ApiError::validation(field, e))
    };
    let active_hours = body.active_hours.clone().unwrap_or_default();
    if let Some(hour) = active_hours.iter().find(|&&h| h > 23) {
        return Err(ApiError::validation(
            "activeHours",
            format!("{hour} is not an hour of the day (0 to 23, UTC)"),
        ));
    }
    let merchants = body.merchants.clone().unwrap_or_default();
    if merchants.len() > MAX_BASELINE_MERCHANTS {
        return Err(ApiError::validation(
            "merchants",
            format!("must have at most {MAX_BASELINE_MERCHANTS} entries"),
        ));
    }
    let merchants = merchants
        .iter()
        .enumerate()
        .map(|(i, m)| {
            checked_text(&format!("merchants[{i}]"), m, MAX_NAME_CHARS).map(|m| m.to_lowercase())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Baseline {
        currency,
        amount_mean: amount("amountMeanEuros", &body.amount_mean_euros)?,
        amount_std_dev: amount("amountStdDevEuros", &body.amount_std_dev_euros)?,
        intents_per_day: body.intents_per_day.ok_or_else(|| {
            ApiError::validation("intentsPerDay", "is required when giving values")
        })?,
        active_hours: dedup_sorted(active_hours),
        merchants: dedup_sorted(merchants),
        set_at: time_of(now),
    })
}

fn dedup_sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items.dedup();
    items
}

/// A baseline learnt from the agent's intents of the last `days` days
/// that were not denied: the mean and standard deviation of their amounts
/// in `currency`, intents per day, the UTC hours it was active in, and the
/// merchants it paid, most frequent first.
async fn learnt_baseline(
    state: &AppState,
    agent_id: &str,
    days: u32,
    currency: Currency,
    now: i64,
) -> Result<Baseline> {
    let history = state
        .store
        .history(
            agent_id,
            now - i64::from(days) * DAY_MS,
            MAX_BASELINE_INTENTS,
        )
        .await?;
    if history.is_empty() {
        return Err(ApiError::conflict(format!(
            "the agent declared no intents in the last {days} days to learn a baseline from; \
             give the values instead"
        )));
    }
    let amounts: Vec<u128> = history
        .iter()
        .filter_map(|entry| entry.amount)
        .filter(|amount| amount.currency == currency)
        .map(|amount| u128::from(amount.minor_units))
        .collect();
    let (mean, std_dev) = if amounts.is_empty() {
        (0, 0)
    } else {
        let n = amounts.len() as u128;
        let mean = amounts.iter().sum::<u128>() / n;
        let variance = amounts
            .iter()
            .map(|&a| {
                let d = a.abs_diff(mean);
                d * d
            })
            .sum::<u128>()
            / n;
        (mean, variance.isqrt())
    };
    let mut hours = Vec::new();
    let mut merchants: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in &history {
        hours.push((entry.created_ms.div_euclid(3_600_000) % 24) as u8);
        if let Some(merchant) = &entry.merchant_key {
            *merchants.entry(merchant).or_default() += 1;
        }
    }
    let mut by_frequency: Vec<(&str, usize)> = merchants.into_iter().collect();
    by_frequency.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    Ok(Baseline {
        currency,
        amount_mean: u64::try_from(mean).unwrap_or(u64::MAX),
        amount_std_dev: u64::try_from(std_dev).unwrap_or(u64::MAX),
        intents_per_day: u32::try_from(history.len().div_ceil(days as usize)).unwrap_or(u32::MAX),
        active_hours: dedup_sorted(hours),
        merchants: by_frequency
            .into_iter()
            .take(MAX_BASELINE_MERCHANTS)
            .map(|(m, _)| m.to_owned())
            .collect(),
        set_at: time_of(now),
    })
}

pub(crate) async fn set_baselines(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    let body: BaselineBody = submission.json_or_empty()?;
    let currency = match &body.currency {
        Some(code) => Currency::from_code(code).map_err(|e| ApiError::validation("currency", e))?,
        None => Currency::EUR,
    };
    if body.gives_values() && body.days.is_some() {
        return Err(ApiError::validation(
            "days",
            "give either `days` (learn from history) or the values, not both",
        ));
    }
    let days = body.days.unwrap_or(30);
    if !(1..=MAX_BASELINE_DAYS).contains(&days) {
        return Err(ApiError::validation(
            "days",
            format!("must be 1 to {MAX_BASELINE_DAYS}"),
        ));
    }
    once(&state, &principal, &submission, async |ticket| {
        let agent = agent_of(&state, &principal, &id, Permission::Read).await?;
        let now = now_ms();
        let (baseline, source) = if body.gives_values() {
            (
                given_baseline(&body, currency, now)?,
                "given values".to_owned(),
            )
        } else {
            let baseline = learnt_baseline(&state, &id, days, currency, now).await?;
            (baseline, format!("the last {days} days of history"))
        };
        let update = BaselineUpdate {
            tenant_id: tenant_id.clone(),
            agent_id: id.clone(),
            baseline: baseline.clone(),
            event: AgentEvent {
                id: new_id("aev"),
                tenant_id: tenant_id.clone(),
                agent_id: id.clone(),
                kind: "baseline-set".into(),
                actor: principal.event_actor(),
                message: format!("baseline set from {source}"),
                intent_id: None,
                at_ms: now,
            },
        };
        let reply = Reply::ok(&serde_json::json!({
            "agentId": agent.agent.id,
            "baseline": baseline,
            "source": source,
        }))?;
        if !state
            .store
            .set_baseline(&update, ticket.record(&reply).as_ref())
            .await?
        {
            return Err(ApiError::not_found("agent", &id));
        }
        Ok(reply)
    })
    .await
}

// ---------------------------------------------------------------------
// Dry runs

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
    decision: DecisionView<'a>,
    usage: &'a Usage,
}

fn dry_run_reply(
    record: &PolicyRecord,
    agent: Option<&AgentRecord>,
    context: &EvaluationContext,
    decision: &PolicyDecision,
) -> Result<Reply> {
    Reply::ok(&DryRunView {
        dry_run: true,
        policy_id: &record.id,
        policy_version: record.version,
        agent_id: agent.map(|a| a.agent.id.as_str()),
        agent_status: agent.map(|a| a.agent.status.as_str()),
        status: IntentStatus::from_outcome(decision.outcome),
        decision: DecisionView::of(decision),
        usage: &context.usage,
    })
}

/// `POST /agents/:id/evaluate`: the agent's policy decides an intent body
/// with the agent's real usage; no intent is stored, no counter moves and
/// no action is carried out, but the dry run itself is recorded among the
/// agent's events. An agent token needs `intents:evaluate`.
pub(crate) async fn evaluate_for_agent(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let request = IntentRequest::from_json(submission.text()?)?;
    if let Some(given) = &request.agent_id
        && given.trim() != id
    {
        return Err(ApiError::validation(
            "agentId",
            format!("names another agent than the path (`{id}`)"),
        ));
    }
    let agent = agent_of(&state, &principal, &id, Permission::Evaluate).await?;
    let intent = request.into_intent(String::new())?;
    let (record, policy) = policy_of(&state, &agent).await?;
    let now = now_ms();
    let (context, decision) = decide(&state, &agent, &policy, intent, now).await?;
    let status = IntentStatus::from_outcome(decision.outcome);
    let what = match (&context.intent.amount, &context.intent.merchant) {
        (Some(amount), Some(merchant)) => format!("{amount} at {merchant}"),
        (Some(amount), None) => amount.to_string(),
        (None, Some(merchant)) => format!("an intent at {merchant}"),
        (None, None) => "an intent".to_owned(),
    };
    state
        .store
        .record_agent_event(&AgentEvent {
            id: new_id("aev"),
            tenant_id: agent.tenant_id.clone(),
            agent_id: agent.agent.id.clone(),
            kind: "dry-run".into(),
            actor: principal.event_actor(),
            message: format!(
                "dry run of policy `{}` version {}: {what} would be {}",
                record.id,
                record.version,
                status.as_str()
            ),
            intent_id: None,
            at_ms: now,
        })
        .await?;
    dry_run_reply(&record, Some(&agent), &context, &decision)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct VersionQuery {
    #[serde(default)]
    version: Option<String>,
}

/// `POST /policies/:id/evaluate`: a policy (its current version, or
/// `?version=`) decides an intent body; with `agentId`, as that agent with
/// its usage, else as a sample agent with no history. Nothing is stored.
pub(crate) async fn evaluate_policy(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<VersionQuery>,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant()?.to_owned();
    let request = IntentRequest::from_json(submission.text()?)?;
    let version = query
        .version
        .as_deref()
        .map(|v| {
            v.parse::<i64>().ok().filter(|v| *v >= 1).ok_or_else(|| {
                ApiError::validation("version", "must be a version number, 1 or more")
            })
        })
        .transpose()?;
    let record = state
        .store
        .policy(&tenant_id, &id, version)
        .await?
        .ok_or_else(|| ApiError::not_found("policy", &id))?;
    let agent = match &request.agent_id {
        Some(agent_id) => Some(
            state
                .store
                .agent(&tenant_id, agent_id.trim())
                .await?
                .ok_or_else(|| ApiError::validation("agentId", format!("no agent `{agent_id}`")))?,
        ),
        None => None,
    };
    let intent = request.into_intent(String::new())?;
    let policy = compiled(&state, &record).await?;
    let now = now_ms();
    let (context, decision) = match &agent {
        Some(agent) => decide(&state, agent, &policy, intent, now).await?,
        None => {
            let usage = Usage {
                currency: currency_of(&intent),
                timezone: policy.timezone.clone(),
                ..Usage::default()
            };
            let context = EvaluationContext {
                intent,
                agent: Agent::default(),
                usage,
                risk: None,
                now: time_of(now),
                charge: None,
            };
            run(
                &state,
                &tenant_id,
                policy.clone(),
                CompiledPolicy::chain_for,
                context,
            )
            .await?
        }
    };
    dry_run_reply(&record, agent.as_ref(), &context, &decision)
}

// ---------------------------------------------------------------------
// Charges of recurring intents

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChargeBody {
    amount_euros: Box<RawValue>,
    merchant: String,
    #[serde(default)]
    at: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChargeView<'a> {
    id: &'a str,
    intent_id: &'a str,
    amount_euros: Box<RawValue>,
    currency: &'static str,
    merchant: &'a str,
    at: String,
    status: &'static str,
    codes: Vec<String>,
    decision: &'a RawValue,
    created_at: String,
}

fn charge_view(charge: &ChargeRecord) -> Result<ChargeView<'_>> {
    #[derive(Deserialize)]
    struct Stored {
        rules: Vec<warrant_domain::policy::TraceEntry>,
    }
    let stored: Stored = serde_json::from_str(&charge.decision).map_err(ApiError::internal)?;
    let codes = stored
        .rules
        .into_iter()
        .filter(|entry| entry.counts())
        .flat_map(|entry| match entry.error {
            Some(error) => vec![error.code],
            None => entry.codes,
        })
        .collect();
    Ok(ChargeView {
        id: &charge.id,
        intent_id: &charge.intent_id,
        amount_euros: number(charge.amount.major_units_text())?,
        currency: charge.amount.currency.code(),
        merchant: &charge.merchant,
        at: rfc3339(charge.at_ms),
        status: if charge.accepted {
            "accepted"
        } else {
            "flagged"
        },
        codes,
        decision: serde_json::from_str(&charge.decision).map_err(ApiError::internal)?,
        created_at: rfc3339(charge.created_ms),
    })
}

/// How far in the future a charge's time may lie: clocks differ a little.
const MAX_CHARGE_CLOCK_SKEW_MS: i64 = 5 * 60_000;

pub(crate) async fn report_charge(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    submission: Submission,
) -> Result<Reply> {
    let tenant_id = principal.tenant_id()?.to_owned();
    principal.requires(Permission::Settle)?;
    let body: ChargeBody = submission.json()?;
    let merchant = checked_text("merchant", &body.merchant, MAX_NAME_CHARS)?;
    let now = now_ms();
    let at_ms = match &body.at {
        None => now,
        Some(text) => {
            let at =
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| {
                    ApiError::validation(
                        "at",
                        "must be an RFC 3339 time, e.g. `2026-11-23T10:00:00Z`",
                    )
                })?;
            let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
                .map_err(|_| ApiError::validation("at", "is out of range"))?;
            if ms > now + MAX_CHARGE_CLOCK_SKEW_MS {
                return Err(ApiError::validation("at", "lies in the future"));
            }
            ms
        }
    };
    once(&state, &principal, &submission, async |ticket| {
        let record = state
            .store
            .intent(&tenant_id, &id)
            .await?
            .ok_or_else(|| ApiError::not_found("intent", &id))?;
        principal.may(&record.agent_id, Permission::Settle)?;
        let Some(_) = record.intent.recurring else {
            return Err(ApiError::conflict(format!(
                "intent `{id}` is not recurring: report its payment with /complete"
            )));
        };
        if record.status != IntentStatus::Approved {
            return Err(ApiError::cannot(
                "take charges",
                record.status,
                &[IntentStatus::Approved],
            ));
        }
        let currency = currency_of(&record.intent);
        let amount = Money::parse(body.amount_euros.get(), currency)
            .map_err(|e| ApiError::validation("amountEuros", e))?;
        let agent = state
            .store
            .agent(&tenant_id, &record.agent_id)
            .await?
            .ok_or_else(|| ApiError::internal("an intent's agent is missing"))?;
        let policy_record = state
            .store
            .policy(&tenant_id, &record.policy_id, Some(record.policy_version))
            .await?
            .ok_or_else(|| ApiError::internal("an intent's policy version is missing"))?;
        let policy = compiled(&state, &policy_record).await?;

        // One charge of a series at a time (on every server), so that each
        // sees the ones accepted before it.
        let _turn = state.turns.take(&record.agent_id).await;
        let _shared_turn = state.store.agent_turn(&record.agent_id).await?;
        let previous = state
            .store
            .accepted_charge_times(&tenant_id, &id)
            .await?
            .into_iter()
            .map(|at_ms| Timestamp(time_of(at_ms)))
            .collect();
        let usage = usage_of(
            &state,
            &record.agent_id,
            &policy,
            currency,
            Some(&merchant),
            now,
        )
        .await?;
        let context = EvaluationContext {
            intent: record.intent.clone(),
            agent: agent.agent.clone(),
            usage,
            risk: None,
            now: time_of(now),
            charge: Some(Charge {
                amount,
                merchant: merchant.clone(),
                at: time_of(at_ms),
                series_start: time_of(record.created_ms),
                previous,
            }),
        };
        let (_, decision) = run(
            &state,
            &tenant_id,
            policy.clone(),
            |p, _| &p.charges,
            context,
        )
        .await?;
        let charge = ChargeRecord {
            id: new_id("chg"),
            tenant_id: tenant_id.clone(),
            intent_id: id.clone(),
            amount,
            merchant: merchant.clone(),
            at_ms,
            accepted: decision.outcome == warrant_domain::policy::Outcome::Approved,
            decision: DecisionView::of(&decision).text()?,
            created_ms: now,
        };
        let actions = actions_of(&decision, &agent, &id, now);
        let reply = Reply::json(StatusCode::CREATED, &charge_view(&charge)?)?;
        state
            .store
            .insert_charge(
                &charge,
                &record.agent_id,
                &actions,
                ticket.record(&reply).as_ref(),
            )
            .await?;
        Ok(reply)
    })
    .await
}

pub(crate) async fn list_charges(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Reply> {
    let tenant_id = principal.tenant_id()?;
    let page = query.page()?;
    let record = state
        .store
        .intent(tenant_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("intent", &id))?;
    principal.may(&record.agent_id, Permission::Read)?;
    let charges = state.store.charges(tenant_id, &id, &page).await?;
    let listing = Listing::new(charges, &page, |c| c.id.clone());
    listing.reply(charge_view)
}
