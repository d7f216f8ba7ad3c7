//! Deciding an intent: the evaluation context (the agent, its usage in the
//! policy's time zone, the time), the policy's verdict, and the actions the
//! decision asks for. Shared by declaring an intent and by the dry runs,
//! which decide the same way and store nothing.

use std::sync::Arc;

use serde::Serialize;

use warrant_domain::context::{EvaluationContext, Intent, Signal, Usage};
use warrant_domain::decision::ActionKind;
use warrant_domain::money::Currency;
use warrant_domain::policy::{Outcome, Policy, PolicyDecision, RequestedAction, TraceEntry};
use warrant_store::{AgentEvent, AgentRecord, DecisionActions};

use crate::AppState;
use crate::errors::{ApiError, Result};
use crate::http::{new_id, time_of};
use crate::policies::CompiledPolicy;

/// The decision as stored and shown: the outcome, the aggregated risk, the
/// trace of every plugin and the actions carried out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DecisionView<'a> {
    pub verdict: Outcome,
    pub risk_score: Option<u8>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub signals: &'a [Signal],
    pub rules: &'a [TraceEntry],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub actions: &'a [RequestedAction],
}

impl<'a> DecisionView<'a> {
    pub(crate) fn of(decision: &'a PolicyDecision) -> Self {
        DecisionView {
            verdict: decision.outcome,
            risk_score: decision.risk.as_ref().map(|r| r.score),
            signals: decision
                .risk
                .as_ref()
                .map(|r| r.signals.as_slice())
                .unwrap_or(&[]),
            rules: &decision.trace,
            actions: &decision.actions,
        }
    }

    /// The view as JSON text, as intents store it.
    pub(crate) fn text(&self) -> Result<String> {
        serde_json::to_string(self).map_err(ApiError::internal)
    }
}

/// Where the calendar day and month that hold `now_ms` begin in `zone`, in
/// Unix milliseconds (never after `now_ms`).
pub(crate) fn calendar_starts(zone: &jiff::tz::TimeZone, now_ms: i64) -> Result<(i64, i64)> {
    let now = jiff::Timestamp::from_millisecond(now_ms).map_err(ApiError::internal)?;
    let local = now.to_zoned(zone.clone());
    let day = local.start_of_day().map_err(ApiError::internal)?;
    let month = local
        .first_of_month()
        .and_then(|first| first.start_of_day())
        .map_err(ApiError::internal)?;
    let ms = |zoned: &jiff::Zoned| zoned.timestamp().as_millisecond().min(now_ms);
    Ok((ms(&day), ms(&month)))
}

/// The agent's usage at `now_ms` as the policy sees it: spend in
/// `currency`, calendar windows in the policy's time zone.
pub(crate) async fn usage_of(
    state: &AppState,
    agent_id: &str,
    policy: &CompiledPolicy,
    currency: Currency,
    merchant: Option<&str>,
    now_ms: i64,
) -> Result<Usage> {
    let (day, month) = calendar_starts(&policy.zone, now_ms)?;
    let merchant_key = merchant.map(str::to_lowercase);
    let mut usage = state
        .store
        .usage(
            agent_id,
            currency,
            merchant_key.as_deref(),
            now_ms,
            day,
            month,
        )
        .await?;
    usage.timezone.clone_from(&policy.timezone);
    Ok(usage)
}

/// The currency an intent's spend is counted in: its own, or EUR.
pub(crate) fn currency_of(intent: &Intent) -> Currency {
    intent
        .amount
        .map(|amount| amount.currency)
        .unwrap_or(Currency::EUR)
}

/// Decides `intent` of `agent` with `policy` at `now_ms`.
pub(crate) async fn decide(
    state: &AppState,
    agent: &AgentRecord,
    policy: &Arc<CompiledPolicy>,
    intent: Intent,
    now_ms: i64,
) -> Result<(EvaluationContext, PolicyDecision)> {
    let usage = usage_of(
        state,
        &agent.agent.id,
        policy,
        currency_of(&intent),
        intent.merchant.as_deref(),
        now_ms,
    )
    .await?;
    let context = EvaluationContext {
        intent,
        agent: agent.agent.clone(),
        usage,
        risk: None,
        now: time_of(now_ms),
        charge: None,
    };
    run(
        state,
        &agent.tenant_id,
        policy.clone(),
        CompiledPolicy::chain_for,
        context,
    )
    .await
}

impl CompiledPolicy {
    /// The chain that decides `context`'s intent: the rules, and the
    /// settlement review when the agent has flagged settlements in the
    /// last 30 days (and the policy reviews them).
    pub(crate) fn chain_for(&self, context: &EvaluationContext) -> &Policy {
        match &self.decide_reviewing {
            Some(reviewing) if context.usage.last_month.flagged_count > 0 => reviewing,
            _ => &self.decide,
        }
    }
}

/// Runs the chain of a compiled policy that `chain` picks for the context
/// in the tenant's share of the evaluation pool (plugins are CPU work);
/// stopped if the caller gives up.
pub(crate) async fn run(
    state: &AppState,
    tenant_id: &str,
    policy: Arc<CompiledPolicy>,
    chain: for<'p> fn(&'p CompiledPolicy, &EvaluationContext) -> &'p Policy,
    context: EvaluationContext,
) -> Result<(EvaluationContext, PolicyDecision)> {
    state
        .evaluations
        .run(tenant_id, move |cancel| {
            let decision = chain(&policy, &context).evaluate(&context, cancel);
            (context, decision)
        })
        .await
}

/// What the store is to carry out with a decision: one suspension (the
/// first asked for) and every alert, each an agent event naming the plugin
/// that asked and the intent.
pub(crate) fn actions_of(
    decision: &PolicyDecision,
    agent: &AgentRecord,
    intent_id: &str,
    now_ms: i64,
) -> DecisionActions {
    let event = |action: &RequestedAction, kind: &str| AgentEvent {
        id: new_id("aev"),
        tenant_id: agent.tenant_id.clone(),
        agent_id: agent.agent.id.clone(),
        kind: kind.to_owned(),
        actor: format!("policy:{}", action.plugin),
        message: action.message.clone(),
        intent_id: Some(intent_id.to_owned()),
        at_ms: now_ms,
    };
    let mut actions = DecisionActions::default();
    for action in &decision.actions {
        match action.kind {
            ActionKind::SuspendAgent if actions.suspend.is_none() => {
                actions.suspend = Some(event(action, "suspended"));
            }
            ActionKind::SuspendAgent => {}
            ActionKind::Alert => actions.alerts.push(event(action, "alert")),
        }
    }
    actions
}
