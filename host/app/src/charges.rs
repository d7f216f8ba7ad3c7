//! Charges of recurring intents: each checked by the charge rules of the
//! intent's policy version, and recorded accepted or flagged.

use serde::Deserialize;

use warrant_domain::context::{Charge, EvaluationContext, Timestamp};
use warrant_domain::intent::{MAX_NAME_CHARS, checked_text, recordable_amount};
use warrant_domain::lifecycle::IntentStatus;
use warrant_domain::policy::Outcome;
use warrant_domain::policy::record::DecisionRecord;
use warrant_store::{ChargeRecord, Page};

use crate::auth::{Permission, Principal};
use crate::catalog::CompiledPolicy;
use crate::decider::{actions_of, context_of, stored_input};
use crate::errors::{AppError, Result};
use crate::intents::{Intents, effective};
use crate::{Remember, new_id, now_ms, time_of};

/// How far in the future a charge's time may lie: clocks differ a little.
const MAX_CHARGE_CLOCK_SKEW_MS: i64 = 5 * 60_000;

/// A charge of a recurring intent, as reported.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChargeRequest {
    /// The amount charged, in major units of the intent's currency.
    #[schema(value_type = f64)]
    pub amount_euros: Box<serde_json::value::RawValue>,
    /// The merchant that charged.
    pub merchant: String,
    /// When, RFC 3339; now when absent.
    #[serde(default)]
    pub at: Option<String>,
}

impl Intents<'_> {
    /// Checks the caller may report what settled (a charge, a
    /// verification) at all, before anything else.
    pub fn may_settle(principal: &Principal) -> Result<()> {
        principal.requires(Permission::Settle)
    }

    /// Checks a charge of an approved recurring intent with the charge
    /// rules of the intent's policy version, and records it (accepted or
    /// flagged) with the actions its rules ask for.
    pub async fn report_charge(
        &self,
        principal: &Principal,
        id: &str,
        body: ChargeRequest,
        remember: Remember<'_, ChargeRecord>,
    ) -> Result<ChargeRecord> {
        let app = self.app;
        let tenant_id = principal.tenant_id()?;
        principal.requires(Permission::Settle)?;
        let merchant = checked_text("merchant", &body.merchant, MAX_NAME_CHARS)?;
        let now = now_ms();
        let at_ms = match &body.at {
            None => now,
            Some(text) => {
                let ms = crate::clock::parse_time_ms("at", text)?;
                if ms > now + MAX_CHARGE_CLOCK_SKEW_MS {
                    return Err(AppError::validation("at", "lies in the future"));
                }
                ms
            }
        };
        let record = self.stored(principal, id, Permission::Settle).await?;
        let Some(_) = record.intent.recurring else {
            return Err(AppError::Conflict(format!(
                "intent `{id}` is not recurring: report its payment with /complete"
            )));
        };
        let record = effective(record, now);
        if record.status != IntentStatus::Approved {
            return Err(AppError::InvalidTransition {
                verb: "take charges",
                current: record.status,
                allowed: vec![IntentStatus::Approved],
            });
        }
        let currency = record.intent.currency();
        let amount = recordable_amount("amountEuros", &body.amount_euros, currency)?;
        let agent = app
            .store()
            .agent(tenant_id, &record.agent_id)
            .await?
            .ok_or_else(|| AppError::internal("an intent's agent is missing"))?;
        let policy = app
            .policy_version(tenant_id, &record.policy_id, record.policy_version)
            .await?;

        // One charge of a series at a time (on every server), so that each
        // sees the ones accepted before it.
        let _turn = app.decision_turn(tenant_id, &record.agent_id).await?;
        let previous = app
            .store()
            .accepted_charge_times(tenant_id, id)
            .await?
            .into_iter()
            .map(|at_ms| Timestamp(time_of(at_ms)))
            .collect();
        let usage = app
            .usage_of(
                &record.agent_id,
                &policy,
                currency,
                Some(&merchant),
                now,
                None,
            )
            .await?;
        let context = EvaluationContext {
            charge: Some(Charge {
                amount,
                merchant: merchant.clone(),
                at: time_of(at_ms),
                series_start: time_of(record.created_ms),
                previous,
            }),
            ..context_of(record.intent.clone(), agent.agent.clone(), usage, now)
        };
        let (context, decision) = app
            .run(
                tenant_id,
                policy.clone(),
                CompiledPolicy::charge_chain,
                context,
            )
            .await?;
        let charge = ChargeRecord {
            id: new_id("chg"),
            tenant_id: tenant_id.to_owned(),
            intent_id: id.to_owned(),
            amount,
            merchant,
            at_ms,
            accepted: decision.outcome == Outcome::Approved,
            decision: DecisionRecord::of(&decision).to_json(),
            created_ms: now,
        };
        let mut actions = actions_of(&decision, &agent, id, now);
        actions.input = Some(stored_input(policy.charge_chain(&context), &context));
        app.store()
            .insert_charge(
                &charge,
                &record.agent_id,
                &actions,
                remember(&charge).as_ref(),
            )
            .await?;
        Ok(charge)
    }

    /// A page of the charges of the caller's intent, by the time charged.
    pub async fn charges(
        &self,
        principal: &Principal,
        id: &str,
        page: &Page,
    ) -> Result<Vec<ChargeRecord>> {
        let record = self.stored(principal, id, Permission::Read).await?;
        Ok(self
            .app
            .store()
            .charges(&record.tenant_id, id, page)
            .await?)
    }
}
