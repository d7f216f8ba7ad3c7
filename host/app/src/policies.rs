//! Policies: ordered rules and risk steps, each a plugin with its
//! configuration; every change makes a new immutable version, and a
//! version can be tried on an intent without storing anything.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

use warrant_domain::context::{Agent, Card, EvaluationContext, Intent, Usage};
use warrant_domain::intent::{IntentRequest, checked_text};
use warrant_domain::money::{self, Money};
use warrant_domain::plugin::{Limits, Plugin, PluginFailure, World};
use warrant_domain::policy::PolicyDecision;
use warrant_domain::policy::definition::{
    ApprovalsRequest, DEFAULT_TIMEZONE, PolicyDefinition, Step, StepRequest, changed_costs,
    check_costs, check_count, check_enforced, requested_costs, time_zone,
};
use warrant_store::{AgentRecord, Page, PolicyRecord, StoreError};

use crate::agents::target_version;
use crate::auth::Principal;
use crate::catalog::CompiledPolicy;
use crate::decider::context_of;
use crate::errors::{AppError, Result};
use crate::registry::check_world;
use crate::{App, Remember, new_id, now_ms};

/// The longest policy name accepted.
const MAX_POLICY_NAME: usize = 200;

/// The policies service.
pub struct Policies<'a> {
    app: &'a App,
}

impl App {
    /// Policies: create, change, read, roll back, try.
    pub fn policies(&self) -> Policies<'_> {
        Policies { app: self }
    }
}

/// The body of `POST /policies`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRequest {
    /// Its name.
    pub name: String,
    /// The rules, in order; at least one enforced.
    pub rules: Vec<StepRequest>,
    /// Risk steps, run first.
    #[serde(default)]
    pub risk: Vec<StepRequest>,
    /// Rules for the charges of recurring intents.
    #[serde(default)]
    pub charges: Vec<StepRequest>,
    /// The IANA time zone of the calendar windows.
    #[serde(default)]
    pub timezone: Option<String>,
    /// How far a settled amount may deviate, in percent.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount_tolerance_percent: Option<Box<RawValue>>,
    /// Whether `settlement-review` runs after the rules (default true).
    #[serde(default)]
    pub review_flagged_settlements: Option<bool>,
    /// Four eyes: how many approvals from different keys an intent that
    /// goes to a human needs (above an amount, or always).
    #[serde(default)]
    pub approvals_required: Option<ApprovalsRequest>,
}

/// The body of `PATCH /policies/:id`: what changes.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyUpdate {
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// New rules.
    #[serde(default)]
    pub rules: Option<Vec<StepRequest>>,
    /// New risk steps.
    #[serde(default)]
    pub risk: Option<Vec<StepRequest>>,
    /// New charge rules.
    #[serde(default)]
    pub charges: Option<Vec<StepRequest>>,
    /// Another time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Another tolerance.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount_tolerance_percent: Option<Box<RawValue>>,
    /// Turns the settlement review on or off.
    #[serde(default)]
    pub review_flagged_settlements: Option<bool>,
    /// Four eyes: how many approvals from different keys an intent that
    /// goes to a human needs (above an amount, or always).
    #[serde(default)]
    pub approvals_required: Option<ApprovalsRequest>,
}

/// One version of a policy, with its definition.
#[derive(Clone, Debug)]
pub struct PolicyVersion {
    /// The version's record.
    pub record: PolicyRecord,
    /// Its definition.
    pub definition: PolicyDefinition,
}

impl PolicyVersion {
    /// A stored version with its definition read.
    pub fn of(record: PolicyRecord) -> Result<Self> {
        let definition = PolicyDefinition::parse(&record.body).map_err(AppError::internal)?;
        Ok(PolicyVersion { record, definition })
    }
}

/// A decision made without storing anything.
#[derive(Clone, Debug)]
pub struct DryRun {
    /// The policy version that decided.
    pub policy: PolicyRecord,
    /// The agent it decided for, if any.
    pub agent: Option<AgentRecord>,
    /// What the plugins saw.
    pub context: EvaluationContext,
    /// What they decided.
    pub decision: PolicyDecision,
}

fn tolerance_bps(raw: &RawValue) -> Result<u32> {
    money::parse_percent_bps(raw.get())
        .map_err(|e| AppError::validation("amountTolerancePercent", e))
}

fn checked_name(name: &str) -> Result<String> {
    Ok(checked_text("name", name, MAX_POLICY_NAME)?)
}

/// The context of the check made of each step when a policy is written:
/// a plain 1.00 EUR intent.
fn sample_context() -> EvaluationContext {
    let intent = Intent {
        id: "int_dry_run".into(),
        amount: Some(Money::eur(100)),
        merchant: Some("example.com".into()),
        card: Card::Name("dry-run".into()),
        purpose: "configuration check".into(),
        recurring: None,
        client_intent_id: None,
        ttl_minutes: 60,
        signed_by: None,
    };
    context_of(intent, Agent::default(), Usage::default(), now_ms())
}

impl Policies<'_> {
    /// Creates a policy with its version 1.
    pub async fn create(
        &self,
        principal: &Principal,
        request: PolicyRequest,
        remember: Remember<'_, PolicyVersion>,
    ) -> Result<PolicyVersion> {
        let tenant_id = principal.configures()?;
        let actor = principal.actor();
        let name = checked_name(&request.name)?;
        let definition = self.definition(tenant_id, request).await?;
        let version = PolicyVersion {
            record: PolicyRecord {
                id: new_id("pol"),
                tenant_id: tenant_id.to_owned(),
                name,
                version: 1,
                body: definition.to_json(),
                created_ms: now_ms(),
                actor: Some(actor.id),
                actor_name: actor.name,
            },
            definition,
        };
        self.app
            .store()
            .insert_policy(
                &version.record,
                &version.definition.plugin_ids(),
                remember(&version).as_ref(),
            )
            .await?;
        Ok(version)
    }

    /// The definition a request describes, each step's plugin resolved
    /// and its configuration checked: what a new policy stores, and what a
    /// back-test tries.
    pub(crate) async fn definition(
        &self,
        tenant_id: &str,
        request: PolicyRequest,
    ) -> Result<PolicyDefinition> {
        let approvals = match &request.approvals_required {
            Some(request) => request.check()?,
            None => None,
        };
        check_enforced(request.rules.iter().map(|rule| rule.mode))?;
        let amount_tolerance_bps = request
            .amount_tolerance_percent
            .as_deref()
            .map(tolerance_bps)
            .transpose()?
            .unwrap_or(0);
        let timezone = match &request.timezone {
            Some(name) => {
                time_zone("timezone", name)?;
                name.clone()
            }
            None => DEFAULT_TIMEZONE.to_owned(),
        };
        check_costs(
            requested_costs("risk", &request.risk),
            requested_costs("rules", &request.rules),
            requested_costs("charges", &request.charges),
        )?;
        Ok(PolicyDefinition {
            rules: self
                .resolve_steps(tenant_id, "rules", request.rules, World::Policy)
                .await?,
            risk: self
                .resolve_steps(tenant_id, "risk", request.risk, World::Risk)
                .await?,
            charges: self
                .resolve_steps(tenant_id, "charges", request.charges, World::Policy)
                .await?,
            timezone,
            amount_tolerance_bps,
            review_flagged_settlements: request.review_flagged_settlements.unwrap_or(true),
            approvals_required: approvals,
        })
    }

    /// Decides `context` with the policy's current version exactly as the
    /// server decides an intent (or, when the context carries a charge, a
    /// charge of a recurring intent): the version compiled as for every
    /// decision, the chain the context calls for (the settlement review
    /// when the agent has flagged settlements), in the tenant's share of
    /// the evaluation pool. Nothing is read or stored but the policy: the
    /// context's usage, agent and time are the caller's (`warrant policy
    /// test`).
    pub async fn decide_context(
        &self,
        principal: &Principal,
        id: &str,
        context: EvaluationContext,
    ) -> Result<PolicyDecision> {
        let tenant_id = principal.reads()?;
        let policy = self.app.compile(self.current(tenant_id, id).await?).await?;
        let chain = if context.charge.is_some() {
            CompiledPolicy::charge_chain
        } else {
            CompiledPolicy::chain_for
        };
        let (_, decision) = self.app.run(tenant_id, policy, chain, context).await?;
        Ok(decision)
    }

    /// The tenant's policy's current version.
    async fn current(&self, tenant_id: &str, id: &str) -> Result<PolicyRecord> {
        self.app
            .store()
            .policy(tenant_id, id, None)
            .await?
            .ok_or_else(|| AppError::not_found("policy", id))
    }

    /// Makes a new version from the current one with what `update` changes.
    pub async fn update(
        &self,
        principal: &Principal,
        id: &str,
        update: PolicyUpdate,
    ) -> Result<PolicyVersion> {
        let tenant_id = principal.configures()?;
        let actor = principal.actor();
        let current = self.current(tenant_id, id).await?;
        let PolicyVersion {
            record: current,
            mut definition,
        } = PolicyVersion::of(current)?;
        let name = match &update.name {
            Some(name) => checked_name(name)?,
            None => current.name.clone(),
        };
        if let Some(raw) = &update.amount_tolerance_percent {
            definition.amount_tolerance_bps = tolerance_bps(raw)?;
        }
        check_costs(
            changed_costs("risk", update.risk.as_deref(), &definition.risk),
            changed_costs("rules", update.rules.as_deref(), &definition.rules),
            changed_costs("charges", update.charges.as_deref(), &definition.charges),
        )?;
        if let Some(rules) = update.rules {
            check_enforced(rules.iter().map(|rule| rule.mode))?;
            definition.rules = self
                .resolve_steps(tenant_id, "rules", rules, World::Policy)
                .await?;
        }
        if let Some(risk) = update.risk {
            definition.risk = self
                .resolve_steps(tenant_id, "risk", risk, World::Risk)
                .await?;
        }
        if let Some(charges) = update.charges {
            definition.charges = self
                .resolve_steps(tenant_id, "charges", charges, World::Policy)
                .await?;
        }
        if let Some(name) = &update.timezone {
            time_zone("timezone", name)?;
            definition.timezone = name.clone();
        }
        if let Some(review) = update.review_flagged_settlements {
            definition.review_flagged_settlements = review;
        }
        if let Some(approvals) = &update.approvals_required {
            definition.approvals_required = approvals.check()?;
        }
        let version = PolicyVersion {
            record: PolicyRecord {
                version: current.version + 1,
                name,
                body: definition.to_json(),
                created_ms: now_ms(),
                actor: Some(actor.id),
                actor_name: actor.name,
                ..current
            },
            definition,
        };
        self.add_version(&version, None, "this update", "policy.updated")
            .await?;
        Ok(version)
    }

    /// Records a new version made current, unless another was added since
    /// the one it follows.
    async fn add_version(
        &self,
        version: &PolicyVersion,
        idem: Option<&warrant_store::IdempotencyRecord>,
        what: &str,
        event_type: &str,
    ) -> Result<()> {
        match self
            .app
            .store()
            .add_policy_version(
                &version.record,
                &version.definition.plugin_ids(),
                event_type,
                idem,
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(StoreError::Duplicate) => Err(AppError::Conflict(format!(
                "the policy changed while {what} was made; read it again and retry"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// A new version, made current, whose rules, risk steps, charge rules,
    /// time zone and tolerance are `target`'s; the name stays.
    pub async fn rollback(
        &self,
        principal: &Principal,
        id: &str,
        target: i64,
        remember: Remember<'_, PolicyVersion>,
    ) -> Result<PolicyVersion> {
        let tenant_id = principal.configures()?;
        let actor = principal.actor();
        let target = target_version(target)?;
        let current = self.current(tenant_id, id).await?;
        let old = self
            .app
            .store()
            .policy(tenant_id, id, Some(target))
            .await?
            .ok_or_else(|| AppError::NoVersion {
                what: "policy",
                id: id.to_owned(),
                version: target,
            })?;
        let version = PolicyVersion::of(PolicyRecord {
            version: current.version + 1,
            body: old.body,
            created_ms: now_ms(),
            actor: Some(actor.id),
            actor_name: actor.name,
            ..current
        })?;
        self.add_version(
            &version,
            remember(&version).as_ref(),
            "this rollback",
            "policy.rolled_back",
        )
        .await?;
        Ok(version)
    }

    /// The tenant's policy's current version.
    pub async fn show(&self, principal: &Principal, id: &str) -> Result<PolicyVersion> {
        PolicyVersion::of(self.current(principal.reads()?, id).await?)
    }

    /// A page of the tenant's policies' current versions, newest first.
    pub async fn list(&self, principal: &Principal, page: &Page) -> Result<Vec<PolicyVersion>> {
        let records = self.app.store().policies(principal.reads()?, page).await?;
        records.into_iter().map(PolicyVersion::of).collect()
    }

    /// A page of a policy's versions, oldest first.
    pub async fn versions(
        &self,
        principal: &Principal,
        id: &str,
        page: &Page,
    ) -> Result<Vec<PolicyVersion>> {
        let tenant_id = principal.reads()?;
        self.current(tenant_id, id).await?;
        let records = self
            .app
            .store()
            .policy_versions(tenant_id, id, page)
            .await?;
        records.into_iter().map(PolicyVersion::of).collect()
    }

    /// A policy (its current version, or `version`) decides an intent:
    /// with `agentId`, as that agent with its usage, else as a sample
    /// agent with no history. Nothing is stored.
    pub async fn try_out(
        &self,
        principal: &Principal,
        id: &str,
        version: Option<i64>,
        request: IntentRequest,
    ) -> Result<DryRun> {
        let app = self.app;
        let tenant_id = principal.configures()?;
        if version.is_some_and(|v| v < 1) {
            return Err(AppError::validation(
                "version",
                "must be a version number, 1 or more",
            ));
        }
        let record = app
            .store()
            .policy(tenant_id, id, version)
            .await?
            .ok_or_else(|| AppError::not_found("policy", id))?;
        let agent = match &request.agent_id {
            Some(agent_id) => Some(
                app.store()
                    .agent(tenant_id, agent_id.trim())
                    .await?
                    .ok_or_else(|| {
                        AppError::validation("agentId", format!("no agent `{agent_id}`"))
                    })?,
            ),
            None => None,
        };
        let intent = request.into_intent(String::new())?;
        let policy: Arc<CompiledPolicy> = app.compile(record).await?;
        let now = now_ms();
        let (context, decision) = match &agent {
            Some(agent) => app.decide(agent, &policy, intent, now, None).await?,
            None => {
                app.decide_for_nobody(tenant_id, &policy, intent, now)
                    .await?
            }
        };
        Ok(DryRun {
            policy: policy.record.clone(),
            agent,
            context,
            decision,
        })
    }

    /// Resolves the steps of a request, checks each plugin's world and
    /// limits, and runs each once on a sample intent: a configuration the
    /// plugin refuses is a mistake naming the step.
    async fn resolve_steps(
        &self,
        tenant_id: &str,
        list: &str,
        steps: Vec<StepRequest>,
        world: World,
    ) -> Result<Vec<Step>> {
        check_count(list, steps.len())?;
        let mut resolved = Vec::with_capacity(steps.len());
        for (i, step) in steps.into_iter().enumerate() {
            let at = format!("{list}[{i}]");
            let field = |name: &str| format!("{at}.{name}");
            let (plugin_id, meta) = self
                .app
                .plugins()
                .resolve(tenant_id, &field("plugin"), &step.plugin)
                .await?;
            check_world(&field("plugin"), &meta, world)?;
            step.check(&at, world)?;
            let limits = step.limits();
            let config = step
                .config
                .unwrap_or_else(|| RawValue::from_string("{}".into()).expect("`{}` is JSON"));
            let plugin = self.app.plugins().loaded(&plugin_id, &meta).await?;
            if let Err(failure) = self
                .check_step(tenant_id, plugin, world, config.get().to_owned(), limits)
                .await?
            {
                return Err(AppError::validation(
                    &field("config"),
                    format!(
                        "`{}@{}` fails with this configuration ({}): {}",
                        meta.name,
                        meta.version,
                        failure.kind.code(),
                        failure.message
                    ),
                ));
            }
            resolved.push(Step {
                plugin: meta.name,
                plugin_id,
                plugin_version: meta.version,
                sha256: meta.sha256,
                config,
                on_error: step.on_error,
                mode: match world {
                    World::Policy => Some(step.mode.unwrap_or_default()),
                    World::Risk => None,
                },
                limits,
            });
        }
        Ok(resolved)
    }

    /// Runs a step's plugin once on the sample intent, in the tenant's
    /// share of the evaluation pool.
    async fn check_step(
        &self,
        tenant_id: &str,
        plugin: Arc<dyn Plugin>,
        world: World,
        config: String,
        limits: Limits,
    ) -> Result<Result<(), PluginFailure>> {
        self.app
            .inner
            .evaluations
            .run(tenant_id, move |cancel| {
                let context = sample_context();
                match world {
                    World::Policy => plugin
                        .evaluate(&context, &config, &limits, cancel)
                        .outcome
                        .map(drop),
                    World::Risk => plugin
                        .assess(&context, &config, &limits, cancel)
                        .outcome
                        .map(drop),
                }
            })
            .await
    }
}
