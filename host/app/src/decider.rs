//! Deciding: the evaluation context of an intent (the agent, its usage in
//! the policy's time zone, the time), the policy's verdict from the
//! evaluation pool, and the actions the decision asks for. Declaring an
//! intent, the dry runs and the charges of recurring intents all decide
//! here.

use std::sync::Arc;

use warrant_domain::context::{Agent, EvaluationContext, Intent, Usage, merchant_key};
use warrant_domain::decision::ActionKind;
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::money::Currency;
use warrant_domain::policy::input::{EvaluationInput, text_sha256};
use warrant_domain::policy::{Policy, PolicyDecision, RequestedAction};
use warrant_store::{AgentEvent, AgentRecord, AgentTurn, DecisionActions, StoredInput};

use crate::App;
use crate::catalog::CompiledPolicy;
use crate::errors::{AppError, Result};
use crate::pool::Turn;
use crate::{new_id, time_of};

/// Picks the chain of a compiled policy that decides a context.
pub type Chain = for<'p> fn(&'p CompiledPolicy, &EvaluationContext) -> &'p Policy;

/// Where the calendar day and month that hold `now_ms` begin in `zone`,
/// in Unix milliseconds (never after `now_ms`).
pub fn calendar_starts(zone: &jiff::tz::TimeZone, now_ms: i64) -> Result<(i64, i64)> {
    let now = jiff::Timestamp::from_millisecond(now_ms).map_err(AppError::internal)?;
    let local = now.to_zoned(zone.clone());
    let day = local.start_of_day().map_err(AppError::internal)?;
    let month = local
        .first_of_month()
        .and_then(|first| first.start_of_day())
        .map_err(AppError::internal)?;
    let ms = |zoned: &jiff::Zoned| zoned.timestamp().as_millisecond().min(now_ms);
    Ok((ms(&day), ms(&month)))
}

/// The evaluation context of `intent` for `agent`, with its `usage`, at
/// `now_ms`; the risk comes from the policy's risk steps.
pub(crate) fn context_of(
    intent: Intent,
    agent: Agent,
    usage: Usage,
    now_ms: i64,
) -> EvaluationContext {
    EvaluationContext {
        intent,
        agent,
        usage,
        risk: None,
        now: time_of(now_ms),
        charge: None,
    }
}

/// An agent's turn to be decided for, on this server and on every server
/// sharing the database, until dropped: the usage each decision sees
/// includes the one before.
pub(crate) struct DecisionTurn<'a> {
    // The database's turn is given back first.
    shared: AgentTurn,
    local: Turn<'a>,
}

impl<'a> DecisionTurn<'a> {
    /// The database's turn, for the write that ends it, and this server's,
    /// to hold until then.
    pub(crate) fn into_parts(self) -> (AgentTurn, Turn<'a>) {
        (self.shared, self.local)
    }
}

impl App {
    /// Waits for the turn of the tenant's `agent_id` to be decided for: the
    /// tenant's own, so that another tenant naming the same id (which its
    /// read of the agent then refuses) never waits on it or holds it up.
    pub(crate) async fn decision_turn(
        &self,
        tenant_id: &str,
        agent_id: &str,
    ) -> Result<DecisionTurn<'_>> {
        let local = self
            .inner
            .turns
            .take(&format!("{tenant_id}/{agent_id}"))
            .await;
        let shared = self.inner.store.agent_turn(tenant_id, agent_id).await?;
        Ok(DecisionTurn { shared, local })
    }

    /// The agent's usage at `now_ms` as `policy` sees it: spend in
    /// `currency`, calendar windows in the policy's time zone. `version`
    /// is the agent's usage version read in its turn, if it was: see
    /// [`warrant_store::UsageRepository::usage`].
    pub(crate) async fn usage_of(
        &self,
        agent_id: &str,
        policy: &CompiledPolicy,
        currency: Currency,
        merchant: Option<&str>,
        now_ms: i64,
        version: Option<i64>,
    ) -> Result<Usage> {
        let (day, month) = calendar_starts(&policy.zone, now_ms)?;
        let merchant_key = merchant.map(merchant_key);
        let mut usage = self
            .store()
            .usage(
                agent_id,
                currency,
                merchant_key.as_deref(),
                now_ms,
                day,
                month,
                version,
            )
            .await?;
        usage.timezone.clone_from(&policy.definition.timezone);
        Ok(usage)
    }

    /// Decides `intent` of `agent` with `policy` at `now_ms`, with the
    /// agent's usage. `usage_version` is the agent's, when `agent` was read
    /// in the agent's turn (see [`warrant_store::UsageRepository::usage`]).
    #[tracing::instrument(
        target = "warrant::decision",
        name = "decision",
        level = "info",
        skip_all,
        fields(agent_id = %agent.agent.id, policy_id = %policy.record.id, policy_version = policy.record.version)
    )]
    pub(crate) async fn decide(
        &self,
        agent: &AgentRecord,
        policy: &Arc<CompiledPolicy>,
        intent: Intent,
        now_ms: i64,
        usage_version: Option<i64>,
    ) -> Result<(EvaluationContext, PolicyDecision)> {
        let usage = self
            .usage_of(
                &agent.agent.id,
                policy,
                intent.currency(),
                intent.merchant.as_deref(),
                now_ms,
                usage_version,
            )
            .await?;
        let context = context_of(intent, agent.agent.clone(), usage, now_ms);
        self.run(
            &agent.tenant_id,
            policy.clone(),
            CompiledPolicy::chain_for,
            context,
        )
        .await
    }

    /// Decides `intent` with `policy` as a sample agent with no history
    /// would be, at `now_ms`.
    pub(crate) async fn decide_for_nobody(
        &self,
        tenant_id: &str,
        policy: &Arc<CompiledPolicy>,
        intent: Intent,
        now_ms: i64,
    ) -> Result<(EvaluationContext, PolicyDecision)> {
        let usage = Usage {
            currency: intent.currency(),
            timezone: policy.definition.timezone.clone(),
            ..Usage::default()
        };
        let context = context_of(intent, Agent::default(), usage, now_ms);
        self.run(
            tenant_id,
            policy.clone(),
            CompiledPolicy::chain_for,
            context,
        )
        .await
    }

    /// Runs the chain of a compiled policy that `chain` picks for the
    /// context, in the tenant's share of the evaluation pool (plugins are
    /// CPU work); stopped if the caller gives up.
    pub(crate) async fn run(
        &self,
        tenant_id: &str,
        policy: Arc<CompiledPolicy>,
        chain: Chain,
        context: EvaluationContext,
    ) -> Result<(EvaluationContext, PolicyDecision)> {
        self.inner
            .evaluations
            .run(tenant_id, move |cancel| {
                let decision = chain(&policy, &context).evaluate(&context, cancel);
                count(&decision);
                (context, decision)
            })
            .await
    }
}

/// What the plugins of `policy` see deciding `context`, to keep with the
/// decision.
pub(crate) fn stored_input(policy: &Policy, context: &EvaluationContext) -> StoredInput {
    let (input, configs) = EvaluationInput::of(policy, context);
    let body = input.to_json();
    StoredInput {
        sha256: text_sha256(&body),
        body,
        configs,
    }
}

/// Counts a decision for `/metrics`: by outcome, and per plugin its time,
/// its fuel and its failures.
fn count(decision: &PolicyDecision) {
    let outcome = IntentStatus::from_outcome(decision.outcome).as_str();
    metrics::counter!("warrant_decisions_total", "outcome" => outcome).increment(1);
    for entry in &decision.trace {
        let plugin = entry.plugin.clone();
        metrics::histogram!("warrant_plugin_evaluation_seconds", "plugin" => plugin.clone())
            .record(entry.duration_us as f64 / 1e6);
        metrics::histogram!("warrant_plugin_fuel", "plugin" => plugin.clone())
            .record(entry.fuel_used as f64);
        if let Some(error) = &entry.error {
            tracing::warn!(
                plugin = %entry.plugin,
                version = %entry.version,
                sha256 = %entry.sha256,
                code = %error.code,
                message = %error.message,
                "a plugin failed; its rule counts as its on-error verdict"
            );
            metrics::counter!(
                "warrant_plugin_failures_total",
                "plugin" => plugin,
                "code" => error.code.clone()
            )
            .increment(1);
        }
    }
}

/// Counts a move of an intent for `/metrics`; `from` is none for a new one.
pub(crate) fn count_transition(from: Option<IntentStatus>, to: IntentStatus) {
    metrics::counter!(
        "warrant_intent_transitions_total",
        "from" => from.map_or("none", IntentStatus::as_str),
        "to" => to.as_str()
    )
    .increment(1);
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
        id: new_id("evt"),
        tenant_id: agent.tenant_id.clone(),
        agent_id: agent.agent.id.clone(),
        kind: kind.to_owned(),
        actor: format!("policy:{}", action.plugin),
        actor_name: None,
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
