//! Replays: a past decision made again from what its plugins saw, kept
//! with it (`warrant_domain::policy::input`), on the plugins it names by
//! sha256; the answer says whether every step answered the same. Nothing
//! is stored and no action runs.

use std::sync::Arc;

use serde::Serialize;

use warrant_domain::decision::VerdictKind;
use warrant_domain::plugin::{Plugin, PluginMeta, World};
use warrant_domain::policy::input::{Configs, EvaluationInput, StepInput};
use warrant_domain::policy::record::DecisionRecord;
use warrant_domain::policy::{Outcome, Policy, PolicyDecision, Stage, TraceEntry};

use crate::App;
use crate::auth::Principal;
use crate::errors::{AppError, Result};
use crate::registry::Unloadable;

/// What a replay found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    /// Whether every step answered as recorded, so the verdict is the same.
    pub identical: bool,
    /// The verdict recorded.
    #[schema(value_type = String)]
    pub recorded: Outcome,
    /// The verdict of the replay.
    #[schema(value_type = String)]
    pub replayed: Outcome,
    /// The steps that answered otherwise, in order.
    pub differences: Vec<StepDifference>,
}

/// A step that answered otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepDifference {
    /// Its place: risk steps first, then the rules, from 0.
    pub index: usize,
    /// `risk` or `rule`.
    pub stage: String,
    /// The plugin.
    pub plugin: String,
    /// What it answered then.
    pub recorded: StepAnswer,
    /// What it answers now.
    pub replayed: StepAnswer,
}

/// What a step answered, as a replay compares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepAnswer {
    /// A rule's verdict (or what its failure counts as).
    #[schema(value_type = Option<String>)]
    pub verdict: Option<VerdictKind>,
    /// A risk step's score.
    pub score: Option<u8>,
    /// Its reason codes.
    pub codes: Vec<String>,
    /// Its failure's code, when it failed.
    pub error: Option<String>,
}

impl StepAnswer {
    fn of(entry: &TraceEntry) -> Self {
        StepAnswer {
            verdict: entry.verdict,
            score: entry.score,
            codes: entry.codes.clone(),
            error: entry.error.as_ref().map(|e| e.code.clone()),
        }
    }
}

/// The steps of `replayed` that answered otherwise than `recorded`.
pub fn differences(recorded: &[TraceEntry], replayed: &[TraceEntry]) -> Vec<StepDifference> {
    let missing = StepAnswer {
        verdict: None,
        score: None,
        codes: Vec::new(),
        error: Some("E_MISSING".into()),
    };
    let count = recorded.len().max(replayed.len());
    (0..count)
        .filter_map(|index| {
            let before = recorded.get(index);
            let after = replayed.get(index);
            let answer = |entry: Option<&TraceEntry>| entry.map_or(missing.clone(), StepAnswer::of);
            let (was, is) = (answer(before), answer(after));
            if was == is {
                return None;
            }
            let entry = before.or(after).expect("one of them");
            Some(StepDifference {
                index,
                stage: match entry.stage {
                    Stage::Risk => "risk".into(),
                    Stage::Rule => "rule".into(),
                },
                plugin: entry.plugin.clone(),
                recorded: was,
                replayed: is,
            })
        })
        .collect()
}

impl App {
    /// The policy a kept input ran, each plugin found by its name and
    /// version among the tenant's and the built-ins, and checked by its
    /// sha256: a plugin that is gone or changed fails its step (closed).
    pub(crate) async fn policy_of_input(
        &self,
        tenant_id: &str,
        input: &EvaluationInput,
        configs: &Configs,
    ) -> Result<Policy> {
        let mut plugins = Vec::new();
        for (step, world) in input
            .risk
            .iter()
            .map(|s| (s, World::Risk))
            .chain(input.rules.iter().map(|s| (s, World::Policy)))
        {
            plugins.push(self.plugin_of_step(tenant_id, step, world).await?);
        }
        let mut next = plugins.into_iter();
        input.policy(
            configs,
            |_| Ok(next.next().expect("a plugin per step")),
            |step| {
                AppError::internal(format!(
                    "the configuration {} of `{}` is not kept",
                    step.config_sha256, step.plugin
                ))
            },
        )
    }

    async fn plugin_of_step(
        &self,
        tenant_id: &str,
        step: &StepInput,
        world: World,
    ) -> Result<Arc<dyn Plugin>> {
        let meta = PluginMeta {
            name: step.plugin.clone(),
            version: step.version.clone(),
            sha256: step.sha256.clone(),
            world,
        };
        let gone = |message: String| -> Arc<dyn Plugin> {
            Arc::new(Unloadable {
                meta: meta.clone(),
                message,
            })
        };
        let id = match self.registry().builtin(&step.plugin) {
            Some(entry) if entry.meta.sha256 == step.sha256 => entry.id.clone(),
            _ => match self
                .store()
                .plugin_by_version(tenant_id, &step.plugin, &step.version)
                .await?
            {
                Some(record) if record.sha256 == step.sha256 => record.id,
                _ => {
                    return Ok(gone(format!(
                        "no plugin `{}` {} with sha256 {} is kept",
                        step.plugin, step.version, step.sha256
                    )));
                }
            },
        };
        self.registry().get(self, &id, &meta).await
    }

    /// Runs `policy` on `context` in the tenant's share of the evaluation
    /// pool.
    pub(crate) async fn run_policy(
        &self,
        tenant_id: &str,
        policy: Arc<Policy>,
        input: EvaluationInput,
    ) -> Result<PolicyDecision> {
        self.inner
            .evaluations
            .run(tenant_id, move |cancel| {
                policy.evaluate(&input.context, cancel)
            })
            .await
    }

    /// Replays the decision of the caller's intent: its kept input on the
    /// plugins it names. Stores nothing.
    pub async fn replay(&self, principal: &Principal, id: &str) -> Result<ReplayReport> {
        let intent = self.intents().show(principal, id).await?;
        let record = &intent.record;
        let sha256 = record.input_sha256.as_deref().ok_or_else(|| {
            AppError::Conflict(format!(
                "intent `{id}` was decided before decisions kept their input: it cannot be replayed"
            ))
        })?;
        let stored = self
            .store()
            .evaluation_input(&record.tenant_id, sha256)
            .await?
            .ok_or_else(|| AppError::internal(format!("the input {sha256} is not kept")))?;
        let input = EvaluationInput::parse(&stored.body).map_err(AppError::internal)?;
        let policy = self
            .policy_of_input(&record.tenant_id, &input, &stored.configs)
            .await?;
        let decided = DecisionRecord::parse(&record.decision).map_err(AppError::internal)?;
        let replayed = self
            .run_policy(&record.tenant_id, Arc::new(policy), input)
            .await?;
        let differences = differences(&decided.rules, &replayed.trace);
        Ok(ReplayReport {
            identical: differences.is_empty() && decided.verdict == replayed.outcome,
            recorded: decided.verdict,
            replayed: replayed.outcome,
            differences,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warrant_domain::policy::{Mode, OnError};

    fn entry(verdict: VerdictKind, codes: &[&str]) -> TraceEntry {
        TraceEntry {
            stage: Stage::Rule,
            plugin: "spend-limit".into(),
            version: "0.1.0".into(),
            sha256: "ab".repeat(32),
            mode: Mode::Enforce,
            on_error: OnError::Deny,
            verdict: Some(verdict),
            reason: None,
            code: codes.first().map(|c| (*c).to_owned()),
            codes: codes.iter().map(|c| (*c).to_owned()).collect(),
            annotations: Vec::new(),
            score: None,
            signals: Vec::new(),
            error: None,
            fuel_used: 10,
            duration_us: 5,
            logs: Vec::new(),
            actions: Vec::new(),
        }
    }

    #[test]
    fn a_replay_names_each_step_that_answered_otherwise_and_ignores_timing() {
        let recorded = vec![
            entry(VerdictKind::Approve, &[]),
            entry(VerdictKind::Review, &["x"]),
        ];
        let mut same = recorded.clone();
        same[0].duration_us = 999;
        same[1].fuel_used = 1;
        assert!(differences(&recorded, &same).is_empty());

        let changed = vec![
            entry(VerdictKind::Approve, &[]),
            entry(VerdictKind::Deny, &["y"]),
        ];
        let found = differences(&recorded, &changed);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].index, 1);
        assert_eq!(found[0].recorded.verdict, Some(VerdictKind::Review));
        assert_eq!(found[0].replayed.codes, ["y"]);

        let shorter = differences(&recorded, &recorded[..1]);
        assert_eq!(shorter[0].replayed.error.as_deref(), Some("E_MISSING"));
    }
}
