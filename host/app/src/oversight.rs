//! Oversight of an agent: its usage against its policy's limits, its
//! baseline and anomalies, and dry runs of its policy (recorded among its
//! events, since they let the caller probe the policy's thresholds).

use serde::Deserialize;
use serde_json::value::RawValue;

use warrant_domain::baseline::{
    BaselineRequest, BaselineSource, MAX_BASELINE_INTENTS, check_days, learn,
};
use warrant_domain::context::{Baseline, Signal, Usage};
use warrant_domain::intent::IntentRequest;
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::{Currency, Money};
use warrant_domain::policy::record::DecisionRecord;
use warrant_store::{AgentEvent, AgentRecord, BaselineUpdate, IntentFilter, Page};

use crate::agents::Agents;
use crate::auth::{Permission, Principal};
use crate::decider::calendar_starts;
use crate::errors::{AppError, Result};
use crate::policies::DryRun;
use crate::{App, Remember, now_ms, time_of};

/// The built-ins whose configuration the usage report reads.
const RATE_LIMIT: &str = "rate-limit";
const BUDGET: &str = "budget";
const ANOMALY: &str = "anomaly";
/// How many recent intents the anomaly reports look through.
const RECENT_INTENTS: i64 = 200;
const DAY_MS: i64 = 86_400_000;

/// The oversight service.
pub struct Oversight<'a> {
    app: &'a App,
}

impl App {
    /// Usage, anomalies, baselines and dry runs of an agent.
    pub fn oversight(&self) -> Oversight<'_> {
        Oversight { app: self }
    }
}

/// A limit, what is used of it, and what remains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meter {
    /// The limit.
    pub limit: u64,
    /// What is used.
    pub current: u64,
    /// What remains.
    pub remaining: u64,
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

/// The tightest rate limits of a policy's enforced `rate-limit` rules.
#[derive(Clone, Debug, Default)]
pub struct RateLimits {
    /// Over the last minute.
    pub per_minute: Option<Meter>,
    /// Over the last hour.
    pub per_hour: Option<Meter>,
    /// Over the last 24 hours.
    pub per_day: Option<Meter>,
}

/// The tightest budgets of a policy's enforced `budget` rules, in EUR
/// cents.
#[derive(Clone, Debug)]
pub struct Budgets {
    /// The calendar day's.
    pub daily: Option<Meter>,
    /// The calendar month's.
    pub monthly: Option<Meter>,
    /// The lowest alert threshold, in percent.
    pub alert_threshold_percent: Option<u8>,
    /// Whether a budget suspends the agent when exceeded.
    pub auto_suspend_on_exceeded: bool,
    /// Whether a budget alert was sent today.
    pub alert_sent: bool,
}

/// An agent's usage against its policy's limits.
#[derive(Clone, Debug)]
pub struct UsageReport {
    /// The agent.
    pub agent_id: String,
    /// Its policy's id.
    pub policy_id: String,
    /// The policy's current version.
    pub policy_version: i64,
    /// The usage, in EUR, in the policy's time zone.
    pub usage: Usage,
    /// Rate limits, when the policy has them.
    pub rate_limits: Option<RateLimits>,
    /// Budgets, when the policy has them.
    pub budget: Option<Budgets>,
    /// Whether a risk step runs the built-in `anomaly`.
    pub anomaly_detection: bool,
    /// Whether the agent has a baseline.
    pub baseline_set: bool,
    /// Intents with anomaly signals in the last 24 hours.
    pub anomalies_24h: usize,
    /// When, in Unix milliseconds.
    pub at_ms: i64,
}

/// An intent whose decision carries signals of the `anomaly` risk plugin.
#[derive(Clone, Debug)]
pub struct Anomaly {
    /// The intent.
    pub intent_id: String,
    /// Its status as stored.
    pub status: IntentStatus,
    /// When it was declared.
    pub created_ms: i64,
    /// Its aggregated risk score.
    pub risk_score: Option<u8>,
    /// The `anomaly` plugin's signals.
    pub signals: Vec<Signal>,
}

/// A baseline just set, with where it came from.
#[derive(Clone, Debug)]
pub struct BaselineSet {
    /// The agent.
    pub agent_id: String,
    /// The baseline.
    pub baseline: Baseline,
    /// `given values` or `the last N days of history`.
    pub source: String,
}

/// The configuration of the built-in `rate-limit`, as far as the usage
/// report needs it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RateLimitConfig {
    per_minute: Option<u64>,
    per_hour: Option<u64>,
    per_day: Option<u64>,
}

/// The configuration of the built-in `budget`, as far as the usage report
/// needs it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BudgetConfig {
    max_daily_euros: Option<Box<RawValue>>,
    max_monthly_euros: Option<Box<RawValue>>,
    alert_threshold_percent: Option<u8>,
    #[serde(default)]
    auto_suspend_on_exceeded: bool,
}

/// The tightest of several optional limits.
fn tightest(limits: impl Iterator<Item = Option<u64>>) -> Option<u64> {
    limits.flatten().min()
}

impl Oversight<'_> {
    /// The tenant's agent, after checking the caller may act on it with
    /// `permission`.
    async fn agent(
        &self,
        principal: &Principal,
        id: &str,
        permission: Permission,
    ) -> Result<AgentRecord> {
        let tenant_id = principal.tenant_id()?;
        principal.may(id, permission)?;
        self.app.agents().find(tenant_id, id).await
    }

    fn builtin_id(&self, name: &str) -> Result<String> {
        self.app
            .registry()
            .builtin(name)
            .map(|entry| entry.id.clone())
            .ok_or_else(|| AppError::internal(format!("the built-in `{name}` is missing")))
    }

    /// The agent's usage against the limits of its policy's enforced
    /// `rate-limit` and `budget` rules, and its anomaly detection.
    pub async fn usage(&self, principal: &Principal, id: &str) -> Result<UsageReport> {
        let app = self.app;
        let agent = self.agent(principal, id, Permission::Read).await?;
        let policy = app.policy_of(&agent).await?;
        let definition = &policy.definition;
        let now = now_ms();
        let usage = app
            .usage_of(id, &policy, Currency::EUR, None, now, None)
            .await?;

        let rate_rules: Vec<RateLimitConfig> = definition
            .enforced_configs(&self.builtin_id(RATE_LIMIT)?)
            .into_iter()
            .map(|raw| serde_json::from_str(raw.get()).unwrap_or_default())
            .collect();
        let rate_limits = (!rate_rules.is_empty()).then(|| {
            let meter = |current: u64, limit: Option<u64>| limit.map(|l| Meter::new(l, current));
            RateLimits {
                per_minute: meter(
                    usage.last_minute.count,
                    tightest(rate_rules.iter().map(|r| r.per_minute)),
                ),
                per_hour: meter(
                    usage.last_hour.count,
                    tightest(rate_rules.iter().map(|r| r.per_hour)),
                ),
                per_day: meter(
                    usage.last_day.count,
                    tightest(rate_rules.iter().map(|r| r.per_day)),
                ),
            }
        });

        let budgets: Vec<BudgetConfig> = definition
            .enforced_configs(&self.builtin_id(BUDGET)?)
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
            let alerts = app
                .store()
                .count_agent_events(id, "alert", &format!("policy:{BUDGET}"), day_start)
                .await?;
            Some(Budgets {
                daily: daily.map(|limit| Meter::new(limit, usage.calendar_day.spend)),
                monthly: monthly.map(|limit| Meter::new(limit, usage.calendar_month.spend)),
                alert_threshold_percent: budgets
                    .iter()
                    .filter_map(|b| b.alert_threshold_percent)
                    .min(),
                auto_suspend_on_exceeded: budgets.iter().any(|b| b.auto_suspend_on_exceeded),
                alert_sent: alerts > 0,
            })
        };

        let anomalies = self.recent_anomalies(&agent, now - DAY_MS).await?;
        Ok(UsageReport {
            agent_id: id.to_owned(),
            policy_id: policy.record.id.clone(),
            policy_version: policy.record.version,
            rate_limits,
            budget,
            anomaly_detection: definition.assesses_with(&self.builtin_id(ANOMALY)?),
            baseline_set: agent.agent.baseline.is_some(),
            anomalies_24h: anomalies.len(),
            usage,
            at_ms: now,
        })
    }

    /// The agent's recent intents (declared from `since_ms` on, among the
    /// last few hundred) whose decision carries signals of the `anomaly`
    /// risk plugin, newest first.
    async fn recent_anomalies(&self, agent: &AgentRecord, since_ms: i64) -> Result<Vec<Anomaly>> {
        let filter = IntentFilter {
            agent_id: Some(agent.agent.id.clone()),
            status: None,
            now_ms: now_ms(),
            ..IntentFilter::default()
        };
        let page = Page {
            after: None,
            limit: RECENT_INTENTS,
        };
        let records = self
            .app
            .store()
            .intents(&agent.tenant_id, &filter, &page)
            .await?;
        let mut found = Vec::new();
        for record in records.iter().filter(|r| r.created_ms >= since_ms) {
            let decision = DecisionRecord::parse(&record.decision).map_err(AppError::internal)?;
            let signals = decision.signals_of(ANOMALY);
            if !signals.is_empty() {
                found.push(Anomaly {
                    intent_id: record.id.clone(),
                    status: record.status,
                    created_ms: record.created_ms,
                    risk_score: decision.risk_score,
                    signals,
                });
            }
        }
        Ok(found)
    }

    /// The agent with its anomalies of the last `days` days (7 when not
    /// given).
    pub async fn anomalies(
        &self,
        principal: &Principal,
        id: &str,
        days: Option<u32>,
    ) -> Result<(AgentRecord, u32, Vec<Anomaly>)> {
        let agent = self.agent(principal, id, Permission::Read).await?;
        let days = check_days(days.unwrap_or(7))?;
        let since = now_ms() - i64::from(days) * DAY_MS;
        let anomalies = self.recent_anomalies(&agent, since).await?;
        Ok((agent, days, anomalies))
    }

    /// Sets the agent's baseline, learnt from its history or as given, and
    /// records who did.
    pub async fn set_baseline(
        &self,
        principal: &Principal,
        id: &str,
        request: BaselineRequest,
        remember: Remember<'_, BaselineSet>,
    ) -> Result<BaselineSet> {
        let app = self.app;
        let tenant_id = principal.configures()?;
        let now = now_ms();
        let source = request.source(time_of(now))?;
        let agent = self.agent(principal, id, Permission::Read).await?;
        let baseline = match &source {
            BaselineSource::Given(baseline) => baseline.clone(),
            BaselineSource::History { days, currency } => {
                let history = app
                    .store()
                    .history(id, now - i64::from(*days) * DAY_MS, MAX_BASELINE_INTENTS)
                    .await?;
                learn(&history, *days, *currency, time_of(now)).ok_or_else(|| {
                    AppError::Conflict(format!(
                        "the agent declared no intents in the last {days} days to learn a baseline from; \
                         give the values instead"
                    ))
                })?
            }
        };
        let set = BaselineSet {
            agent_id: agent.agent.id.clone(),
            baseline: baseline.clone(),
            source: source.describe(),
        };
        let update = BaselineUpdate {
            tenant_id: tenant_id.to_owned(),
            agent_id: id.to_owned(),
            baseline,
            event: AgentEvent {
                at_ms: now,
                ..Agents::event_of(
                    principal,
                    tenant_id,
                    id,
                    "baseline-set",
                    format!("baseline set from {}", set.source),
                )
            },
        };
        if !app
            .store()
            .set_baseline(&update, remember(&set).as_ref())
            .await?
        {
            return Err(AppError::not_found("agent", id));
        }
        Ok(set)
    }

    /// The agent's policy decides an intent with the agent's real usage;
    /// no intent is stored, no counter moves and no action is carried
    /// out, but the dry run itself is recorded among the agent's events.
    /// An agent token needs `intents:evaluate`.
    pub async fn dry_run(
        &self,
        principal: &Principal,
        id: &str,
        request: IntentRequest,
    ) -> Result<DryRun> {
        let app = self.app;
        if let Some(given) = &request.agent_id
            && given.trim() != id
        {
            return Err(AppError::validation(
                "agentId",
                format!("names another agent than the path (`{id}`)"),
            ));
        }
        let agent = self.agent(principal, id, Permission::Evaluate).await?;
        let intent = request.into_intent(String::new())?;
        let policy = app.policy_of(&agent).await?;
        let now = now_ms();
        let (context, decision) = app.decide(&agent, &policy, intent, now, None).await?;
        let status = IntentStatus::from_outcome(decision.outcome);
        let what = match (&context.intent.amount, &context.intent.merchant) {
            (Some(amount), Some(merchant)) => format!("{amount} at {merchant}"),
            (Some(amount), None) => amount.to_string(),
            (None, Some(merchant)) => format!("an intent at {merchant}"),
            (None, None) => "an intent".to_owned(),
        };
        app.store()
            .record_agent_event(&AgentEvent {
                at_ms: now,
                ..Agents::event(
                    principal,
                    &agent,
                    "dry-run",
                    format!(
                        "dry run of policy `{}` version {}: {what} would be {}",
                        policy.record.id,
                        policy.record.version,
                        status.as_str()
                    ),
                )
            })
            .await?;
        Ok(DryRun {
            policy: policy.record.clone(),
            agent: Some(agent),
            context,
            decision,
        })
    }
}
