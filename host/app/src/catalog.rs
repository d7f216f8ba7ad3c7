//! The policy catalog: each policy version made runnable once — its
//! plugins loaded, its rules in order, the host's own rules added — and
//! kept, within a budget of bytes, for every decision after.
//!
//! Versions are immutable, so an entry never goes stale. Which version is
//! an agent's current one comes with the agent itself (its read joins the
//! policy's current version), so a decision reads no policy record when
//! the version is already compiled, on this server or after a change made
//! on another.

use std::sync::Arc;

use warrant_domain::context::EvaluationContext;
use warrant_domain::plugin::{Limits, World};
use warrant_domain::policy::definition::{PolicyDefinition, Step};
use warrant_domain::policy::{Mode, OnError, Policy, RiskRule, Rule};
use warrant_store::{AgentRecord, PolicyRecord};

use crate::App;
use crate::bounded::BoundedCache;
use crate::errors::{AppError, Result};

/// How many bytes of policy versions (their stored text) are kept
/// compiled; the ones used least recently beyond it are compiled again on
/// their next use.
const COMPILED_POLICY_BYTES: u64 = 64 << 20;
/// The built-in that checks charges when a policy names no charge rules.
const RECURRING_MATCH: &str = "recurring-match";
/// The built-in that runs after the rules unless a policy turns it off.
const SETTLEMENT_REVIEW: &str = "settlement-review";

/// A policy version ready to run.
pub struct CompiledPolicy {
    /// The version's record: its id, name, number and definition text.
    pub record: PolicyRecord,
    /// Its definition.
    pub definition: PolicyDefinition,
    /// Decides intents: risk plugins, then the rules.
    decide: Policy,
    /// `decide` with the built-in `settlement-review` after the rules, for
    /// an agent with flagged settlements in the last 30 days (for any
    /// other, the review would approve: it is not run); none when the
    /// policy turns the review off.
    decide_reviewing: Option<Policy>,
    /// Checks charges of recurring intents: the charge rules, or the
    /// built-in `recurring-match` when the policy names none.
    charges: Policy,
    /// The time zone of the calendar windows.
    pub zone: jiff::tz::TimeZone,
}

impl CompiledPolicy {
    /// The chain that decides `context`'s intent: the rules, and the
    /// settlement review when the agent has flagged settlements in the
    /// last 30 days (and the policy reviews them).
    pub fn chain_for(&self, context: &EvaluationContext) -> &Policy {
        match &self.decide_reviewing {
            Some(reviewing) if context.usage.last_month.flagged_count > 0 => reviewing,
            _ => &self.decide,
        }
    }

    /// The chain that checks a charge of a recurring intent.
    pub fn charge_chain(&self, _: &EvaluationContext) -> &Policy {
        &self.charges
    }
}

/// Compiled policies by id and version, within a budget of bytes.
pub(crate) struct PolicyCatalog {
    compiled: BoundedCache<(String, i64), Arc<CompiledPolicy>>,
}

impl Default for PolicyCatalog {
    fn default() -> Self {
        PolicyCatalog {
            compiled: BoundedCache::new(4096, COMPILED_POLICY_BYTES),
        }
    }
}

impl App {
    /// The current version of `agent`'s policy, compiled; read from the
    /// store only the first time this server needs it.
    pub(crate) async fn policy_of(&self, agent: &AgentRecord) -> Result<Arc<CompiledPolicy>> {
        self.policy_version(&agent.tenant_id, &agent.policy_id, agent.policy_version)
            .await
    }

    /// Version `version` of a tenant's policy, compiled.
    pub(crate) async fn policy_version(
        &self,
        tenant_id: &str,
        policy_id: &str,
        version: i64,
    ) -> Result<Arc<CompiledPolicy>> {
        let key = (policy_id.to_owned(), version);
        if let Some(policy) = self.inner.catalog.compiled.get(&key) {
            return Ok(policy);
        }
        let record = self
            .store()
            .policy(tenant_id, policy_id, Some(version))
            .await?
            .ok_or_else(|| {
                AppError::internal(format!("policy `{policy_id}` has no version {version}"))
            })?;
        self.compile(record).await
    }

    /// A stored version, compiled and kept.
    pub(crate) async fn compile(&self, record: PolicyRecord) -> Result<Arc<CompiledPolicy>> {
        let key = (record.id.clone(), record.version);
        if let Some(policy) = self.inner.catalog.compiled.get(&key) {
            return Ok(policy);
        }
        // A compiled policy stands for its text, and a little for itself.
        let bytes = record.body.len() as u64 + 1024;
        let policy = Arc::new(self.compile_unkept(record).await?);
        self.inner
            .catalog
            .compiled
            .insert(key, policy.clone(), bytes);
        Ok(policy)
    }

    /// A version compiled, not kept: a candidate that is not stored.
    pub(crate) async fn compile_unkept(&self, record: PolicyRecord) -> Result<CompiledPolicy> {
        let definition = PolicyDefinition::parse(&record.body).map_err(AppError::internal)?;
        let mut decide = Policy::default();
        for step in &definition.risk {
            decide.risk.push(RiskRule {
                plugin: self.step_plugin(step, World::Risk).await?,
                config: step.config.get().to_owned(),
                on_error: step.on_error,
                limits: step.limits,
            });
        }
        for step in &definition.rules {
            decide.rules.push(self.step_rule(step).await?);
        }
        let decide_reviewing = if definition.review_flagged_settlements {
            let mut reviewing = decide.clone();
            reviewing.rules.push(
                self.builtin_rule(SETTLEMENT_REVIEW, OnError::Review)
                    .await?,
            );
            Some(reviewing)
        } else {
            None
        };
        let mut charges = Policy::default();
        for step in &definition.charges {
            charges.rules.push(self.step_rule(step).await?);
        }
        if charges.rules.is_empty() {
            charges
                .rules
                .push(self.builtin_rule(RECURRING_MATCH, OnError::Deny).await?);
        }
        Ok(CompiledPolicy {
            zone: definition.zone().map_err(AppError::internal)?,
            definition,
            decide,
            decide_reviewing,
            charges,
            record,
        })
    }

    async fn step_plugin(
        &self,
        step: &Step,
        world: World,
    ) -> Result<Arc<dyn warrant_domain::plugin::Plugin>> {
        let meta = warrant_domain::plugin::PluginMeta {
            name: step.plugin.clone(),
            version: step.plugin_version.clone(),
            sha256: step.sha256.clone(),
            world,
        };
        self.registry().get(self, &step.plugin_id, &meta).await
    }

    async fn step_rule(&self, step: &Step) -> Result<Rule> {
        Ok(Rule {
            plugin: self.step_plugin(step, World::Policy).await?,
            config: step.config.get().to_owned(),
            on_error: step.on_error,
            mode: step.mode.unwrap_or_default(),
            limits: step.limits,
        })
    }

    /// A rule the host adds of its own: the built-in `name` with its
    /// default configuration, enforced.
    async fn builtin_rule(&self, name: &str, on_error: OnError) -> Result<Rule> {
        let entry = self
            .registry()
            .builtin(name)
            .ok_or_else(|| AppError::internal(format!("the built-in `{name}` is missing")))?;
        let plugin = self.registry().get(self, &entry.id, &entry.meta).await?;
        Ok(Rule {
            plugin,
            config: "{}".to_owned(),
            on_error,
            mode: Mode::Enforce,
            limits: Limits::default(),
        })
    }
}
