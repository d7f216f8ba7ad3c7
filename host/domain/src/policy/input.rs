//! What a decision's plugins saw, kept so that the decision can be made
//! again: the evaluation context as the first step received it, and each
//! step's plugin (by the sha256 of its component), configuration (by the
//! sha256 of its text, the text kept once apart), what its failure counts
//! as, whether it counted and its limits.
//!
//! An input is stored as the JSON text [`EvaluationInput::to_json`] writes
//! and named by that text's sha256, which a decision's receipt carries.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::context::EvaluationContext;
use crate::plugin::{Limits, Plugin};
use crate::policy::{Mode, OnError, Policy, RiskRule, Rule};

/// One decision's input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvaluationInput {
    /// The context, before the risk steps add their aggregated risk.
    pub context: EvaluationContext,
    /// The risk steps, in order.
    pub risk: Vec<StepInput>,
    /// The rules, in order.
    pub rules: Vec<StepInput>,
}

/// One step of a decision's chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepInput {
    /// The plugin's name.
    pub plugin: String,
    /// The plugin's version.
    pub version: String,
    /// The sha256 of the plugin's component.
    pub sha256: String,
    /// The sha256 (hex) of the configuration's text.
    pub config_sha256: String,
    /// What a failure counts as.
    pub on_error: OnError,
    /// Whether the verdict counts (always for a risk step).
    pub mode: Mode,
    /// What one call may use.
    pub limits: Limits,
}

/// Configurations by the sha256 of their text.
pub type Configs = BTreeMap<String, String>;

impl EvaluationInput {
    /// The input of deciding `context` with `policy`, and the texts of the
    /// configurations it names.
    pub fn of(policy: &Policy, context: &EvaluationContext) -> (Self, Configs) {
        let mut configs = Configs::new();
        let mut step = |plugin: &Arc<dyn Plugin>,
                        config: &str,
                        on_error: OnError,
                        mode: Mode,
                        limits: Limits| {
            let config_sha256 = text_sha256(config);
            configs
                .entry(config_sha256.clone())
                .or_insert_with(|| config.to_owned());
            let meta = plugin.meta();
            StepInput {
                plugin: meta.name.clone(),
                version: meta.version.clone(),
                sha256: meta.sha256.clone(),
                config_sha256,
                on_error,
                mode,
                limits,
            }
        };
        let risk = policy
            .risk
            .iter()
            .map(|r| step(&r.plugin, &r.config, r.on_error, Mode::Enforce, r.limits))
            .collect();
        let rules = policy
            .rules
            .iter()
            .map(|r| step(&r.plugin, &r.config, r.on_error, r.mode, r.limits))
            .collect();
        let mut context = context.clone();
        context.risk = None;
        (
            EvaluationInput {
                context,
                risk,
                rules,
            },
            configs,
        )
    }

    /// The text the input is stored as.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an evaluation input serializes")
    }

    /// A stored input.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The policy this input ran: each step's plugin from `plugin` (given
    /// the step), its configuration from `configs`. Fails with the first
    /// step whose plugin or configuration cannot be had.
    pub fn policy<E>(
        &self,
        configs: &Configs,
        mut plugin: impl FnMut(&StepInput) -> Result<Arc<dyn Plugin>, E>,
        missing_config: impl Fn(&StepInput) -> E,
    ) -> Result<Policy, E> {
        let config = |step: &StepInput| {
            configs
                .get(&step.config_sha256)
                .cloned()
                .ok_or_else(|| missing_config(step))
        };
        let mut policy = Policy::default();
        for step in &self.risk {
            policy.risk.push(RiskRule {
                plugin: plugin(step)?,
                config: config(step)?,
                on_error: step.on_error,
                limits: step.limits,
            });
        }
        for step in &self.rules {
            policy.rules.push(Rule {
                plugin: plugin(step)?,
                config: config(step)?,
                on_error: step.on_error,
                mode: step.mode,
                limits: step.limits,
            });
        }
        Ok(policy)
    }
}

/// The sha256 (lower-case hex) of a text.
pub fn text_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Agent, Card, Intent, Usage};
    use crate::decision::{Assessment, Decision};
    use crate::money::{Currency, Money};
    use crate::plugin::{Cancel, Invocation, PluginMeta, World};

    struct Named(PluginMeta);

    impl Plugin for Named {
        fn meta(&self) -> &PluginMeta {
            &self.0
        }
        fn evaluate(
            &self,
            _: &EvaluationContext,
            _: &str,
            _: &Limits,
            _: &Cancel,
        ) -> Invocation<Decision> {
            unreachable!("never run here")
        }
        fn assess(
            &self,
            _: &EvaluationContext,
            _: &str,
            _: &Limits,
            _: &Cancel,
        ) -> Invocation<Assessment> {
            unreachable!("never run here")
        }
    }

    fn plugin(name: &str) -> Arc<dyn Plugin> {
        Arc::new(Named(PluginMeta {
            name: name.into(),
            version: "1.0.0".into(),
            sha256: format!("{name:0>64}"),
            world: World::Policy,
        }))
    }

    fn context() -> EvaluationContext {
        EvaluationContext {
            intent: Intent {
                id: "int_1".into(),
                amount: Some(Money::new(1_050, Currency::EUR)),
                merchant: Some("Acme".into()),
                card: Card::Name("ops".into()),
                purpose: "a book".into(),
                recurring: None,
                client_intent_id: None,
                ttl_minutes: 60,
                signed_by: None,
            },
            agent: Agent::default(),
            usage: Usage::default(),
            risk: None,
            now: time::OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789)
                .unwrap(),
            charge: None,
        }
    }

    #[test]
    fn an_input_keeps_each_configuration_once_and_reads_back_the_same() {
        let policy = Policy {
            risk: vec![],
            rules: vec![
                Rule {
                    plugin: plugin("limit"),
                    config: r#"{"max": 100}"#.into(),
                    on_error: OnError::Deny,
                    mode: Mode::Enforce,
                    limits: Limits::DEFAULT,
                },
                Rule {
                    plugin: plugin("limit"),
                    config: r#"{"max": 100}"#.into(),
                    on_error: OnError::Review,
                    mode: Mode::Monitor,
                    limits: Limits::DEFAULT,
                },
            ],
        };
        let (input, configs) = EvaluationInput::of(&policy, &context());
        assert_eq!(configs.len(), 1);
        assert_eq!(input.rules[0].config_sha256, input.rules[1].config_sha256);
        assert_eq!(
            configs[&input.rules[0].config_sha256], r#"{"max": 100}"#,
            "the configuration's text is kept as the plugin saw it"
        );
        let text = input.to_json();
        assert_eq!(EvaluationInput::parse(&text).unwrap(), input);
        assert_eq!(EvaluationInput::parse(&text).unwrap().to_json(), text);

        let rebuilt = input
            .policy(
                &configs,
                |step| Ok::<_, String>(plugin(&step.plugin)),
                |_| "missing".to_owned(),
            )
            .unwrap();
        assert_eq!(rebuilt.rules.len(), 2);
        assert_eq!(rebuilt.rules[1].mode, Mode::Monitor);
        assert_eq!(rebuilt.rules[1].on_error, OnError::Review);
        let missing = input
            .policy(
                &Configs::new(),
                |_| Ok(plugin("x")),
                |step| step.config_sha256.clone(),
            )
            .err();
        assert_eq!(missing, Some(input.rules[0].config_sha256.clone()));
    }
}
