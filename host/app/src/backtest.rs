//! Back-tests: a candidate policy (a definition, or another version of
//! the policy) decides again the past decisions of a policy, each from the
//! input its plugins saw then (the usage, the agent, the time, as kept),
//! and the answer counts what would have changed. Nothing is stored and no
//! action runs. The decisions are read a page at a time and forgotten once
//! counted, so a range of any size runs in bounded memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use warrant_domain::money::Money;
use warrant_domain::policy::Outcome;
use warrant_domain::policy::definition::StepRequest;
use warrant_domain::policy::input::EvaluationInput;
use warrant_domain::policy::record::DecisionRecord;
use warrant_store::{IntentFilter, IntentRecord, Page, PolicyRecord};

use crate::auth::Principal;
use crate::catalog::CompiledPolicy;
use crate::errors::{AppError, Result};
use crate::policies::PolicyRequest;
use crate::{App, new_id, now_ms};

/// How many decisions a back-test reads (and evaluates) at a time.
const PAGE: i64 = 500;
/// How many examples a back-test shows at most.
pub const MAX_EXAMPLES: usize = 100;

/// The body of `POST /policies/:id/backtest`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BacktestRequest {
    /// The policy to try: its rules and risk steps (the rest as the
    /// current version has it).
    #[serde(default)]
    pub candidate: Option<Candidate>,
    /// Or a version of the policy.
    #[serde(default)]
    pub version: Option<i64>,
    /// The decisions made at or after this time (RFC 3339).
    #[serde(default)]
    pub from: Option<String>,
    /// The decisions made before this time (RFC 3339).
    #[serde(default)]
    pub to: Option<String>,
    /// Only this agent's decisions.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// How many examples of changed decisions to show (10 by default, at
    /// most 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A candidate policy.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Candidate {
    /// The rules, in order; at least one enforced.
    pub rules: Vec<StepRequest>,
    /// Risk steps, run first.
    #[serde(default)]
    pub risk: Vec<StepRequest>,
}

/// What a back-test found.
#[derive(Clone, Debug, Default)]
pub struct Backtest {
    /// Decisions evaluated again.
    pub evaluated: u64,
    /// Decisions of the range that kept no input (made before inputs were
    /// kept), not evaluated.
    pub skipped: u64,
    /// How many went from one verdict (recorded) to another (candidate),
    /// the unchanged ones included.
    pub transitions: BTreeMap<(Outcome, Outcome), u64>,
    /// The declared amounts of the intents the candidate would have
    /// approved and the recorded decision did not.
    pub newly_approved: BTreeMap<&'static str, u64>,
    /// The declared amounts of the intents the candidate would have
    /// denied and the recorded decision did not.
    pub newly_denied: BTreeMap<&'static str, u64>,
    /// Examples of changed decisions, newest first.
    pub examples: Vec<Example>,
}

/// One decision the candidate makes otherwise.
#[derive(Clone, Debug)]
pub struct Example {
    /// The intent.
    pub intent: IntentRecord,
    /// Its recorded decision.
    pub recorded: DecisionRecord,
    /// The candidate's.
    pub candidate: DecisionRecord,
}

/// A back-test checked and ready to run.
pub struct BacktestPlan {
    tenant_id: String,
    policy_id: String,
    candidate: Arc<CompiledPolicy>,
    filter: IntentFilter,
    examples: usize,
}

impl App {
    /// Checks a back-test of the caller's policy `id` (the candidate
    /// compiled, the range read), before it runs.
    pub async fn plan_backtest(
        &self,
        principal: &Principal,
        id: &str,
        request: BacktestRequest,
    ) -> Result<BacktestPlan> {
        let tenant_id = principal.configures()?;
        let current = self
            .store()
            .policy(tenant_id, id, None)
            .await?
            .ok_or_else(|| AppError::not_found("policy", id))?;
        let time = |field: &str, text: &Option<String>| {
            text.as_deref()
                .map(|text| crate::clock::parse_time_ms(field, text))
                .transpose()
        };
        let filter = IntentFilter {
            agent_id: request.agent_id.clone(),
            status: None,
            now_ms: now_ms(),
            created_from_ms: time("from", &request.from)?,
            created_before_ms: time("to", &request.to)?,
        };
        let examples = request.limit.unwrap_or(10);
        if examples > MAX_EXAMPLES {
            return Err(AppError::validation(
                "limit",
                format!("is at most {MAX_EXAMPLES}"),
            ));
        }
        let candidate = self.candidate(tenant_id, &current, &request).await?;
        Ok(BacktestPlan {
            tenant_id: tenant_id.to_owned(),
            policy_id: id.to_owned(),
            candidate,
            filter,
            examples,
        })
    }

    /// Runs a back-test; `progress` hears how many decisions were
    /// evaluated after every page.
    pub async fn backtest(
        &self,
        plan: &BacktestPlan,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Backtest> {
        let tenant_id = plan.tenant_id.as_str();
        let mut found = Backtest::default();
        let mut page = Page {
            after: None,
            limit: PAGE,
        };
        loop {
            let mut intents = self.store().intents(tenant_id, &plan.filter, &page).await?;
            let more = intents.len() as i64 > PAGE;
            intents.truncate(PAGE as usize);
            page.after = intents.last().map(|i| i.id.clone());
            let mut batch = Vec::with_capacity(intents.len());
            for intent in intents {
                if intent.policy_id != plan.policy_id {
                    continue;
                }
                let Some(sha256) = intent.input_sha256.as_deref() else {
                    found.skipped += 1;
                    continue;
                };
                let Some(text) = self
                    .store()
                    .evaluation_input_text(tenant_id, sha256)
                    .await?
                else {
                    found.skipped += 1;
                    continue;
                };
                let input = EvaluationInput::parse(&text).map_err(AppError::internal)?;
                batch.push((intent, input));
            }
            self.decide_again(tenant_id, &plan.candidate, batch, plan.examples, &mut found)
                .await?;
            progress(found.evaluated);
            if !more {
                break;
            }
        }
        Ok(found)
    }

    /// The candidate of a request, compiled, never kept.
    async fn candidate(
        &self,
        tenant_id: &str,
        current: &PolicyRecord,
        request: &BacktestRequest,
    ) -> Result<Arc<CompiledPolicy>> {
        match (&request.candidate, request.version) {
            (Some(_), Some(_)) | (None, None) => Err(AppError::validation(
                "candidate",
                "give a `candidate` or a `version` of the policy, one of them",
            )),
            (None, Some(version)) => {
                if version < 1 {
                    return Err(AppError::validation("version", "is 1 or more"));
                }
                let record = self
                    .store()
                    .policy(tenant_id, &current.id, Some(version))
                    .await?
                    .ok_or_else(|| {
                        AppError::validation(
                            "version",
                            format!("the policy has no version {version}"),
                        )
                    })?;
                self.compile(record).await
            }
            (Some(candidate), None) => {
                let base = crate::policies::PolicyVersion::of(current.clone())?;
                let request = PolicyRequest {
                    name: current.name.clone(),
                    rules: candidate.rules.clone(),
                    risk: candidate.risk.clone(),
                    charges: Vec::new(),
                    timezone: Some(base.definition.timezone.clone()),
                    amount_tolerance_percent: None,
                    review_flagged_settlements: Some(base.definition.review_flagged_settlements),
                    approvals_required: None,
                };
                let definition = self.policies().definition(tenant_id, request).await?;
                let record = PolicyRecord {
                    id: new_id("candidate"),
                    version: 0,
                    body: definition.to_json(),
                    ..current.clone()
                };
                Ok(Arc::new(self.compile_unkept(record).await?))
            }
        }
    }

    /// Decides a page of past decisions again with the candidate, in one
    /// job of the tenant's share of the evaluation pool, and counts them.
    async fn decide_again(
        &self,
        tenant_id: &str,
        candidate: &Arc<CompiledPolicy>,
        batch: Vec<(IntentRecord, EvaluationInput)>,
        examples: usize,
        found: &mut Backtest,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let policy = candidate.clone();
        let decided = self
            .inner
            .evaluations
            .run(tenant_id, move |cancel| {
                batch
                    .into_iter()
                    .map(|(intent, input)| {
                        let chain = CompiledPolicy::chain_for(&policy, &input.context);
                        let decision = chain.evaluate(&input.context, cancel);
                        (intent, DecisionRecord::of(&decision))
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
        for (intent, candidate) in decided {
            let recorded = DecisionRecord::parse(&intent.decision).map_err(AppError::internal)?;
            found.evaluated += 1;
            let (was, is) = (recorded.verdict, candidate.verdict);
            *found.transitions.entry((was, is)).or_default() += 1;
            if was == is {
                continue;
            }
            let amount = intent
                .intent
                .amount
                .unwrap_or(Money::new(0, intent.intent.currency()));
            let sums = match is {
                Outcome::Approved => Some(&mut found.newly_approved),
                Outcome::Denied => Some(&mut found.newly_denied),
                Outcome::PendingApproval => None,
            };
            if let Some(sums) = sums {
                let sum = sums.entry(amount.currency.code()).or_default();
                *sum = sum.saturating_add(amount.minor_units);
            }
            if found.examples.len() < examples {
                found.examples.push(Example {
                    intent,
                    recorded,
                    candidate,
                });
            }
        }
        Ok(())
    }
}
