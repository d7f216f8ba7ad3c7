//! A policy: risk plugins, then an ordered chain of rules, combined into one
//! outcome with a trace of every step; as a tenant defines it and the
//! store keeps it ([`definition`]); and a decision as the store keeps it
//! ([`record`]).

pub mod definition;
pub mod input;
pub mod record;

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::context::{EvaluationContext, RiskSummary, Signal};
use crate::decision::{Action, ActionKind, Annotation, VerdictKind};
use crate::plugin::{
    Cancel, FailureKind, Invocation, Limits, LogLine, Plugin, PluginFailure, World,
};

/// What a rule's failure counts as. A failure is never an approval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// The failure denies the intent.
    #[default]
    Deny,
    /// The failure sends the intent to a human.
    Review,
}

impl OnError {
    fn verdict(self) -> VerdictKind {
        match self {
            OnError::Deny => VerdictKind::Deny,
            OnError::Review => VerdictKind::Review,
        }
    }
}

/// Whether a rule's verdict counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The verdict counts.
    #[default]
    Enforce,
    /// The rule runs and is traced, but its verdict does not count: a way
    /// to try a rule on live traffic.
    Monitor,
}

/// One step of a policy's chain: a policy plugin with its configuration.
#[derive(Clone)]
pub struct Rule {
    /// The plugin, which must target the `policy` world.
    pub plugin: Arc<dyn Plugin>,
    /// Its configuration, the text of a JSON value.
    pub config: String,
    /// What a failure of the plugin counts as.
    pub on_error: OnError,
    /// Whether its verdict counts.
    pub mode: Mode,
    /// What one call may use.
    pub limits: Limits,
}

/// A risk plugin with its configuration.
#[derive(Clone)]
pub struct RiskRule {
    /// The plugin, which must target the `risk` world.
    pub plugin: Arc<dyn Plugin>,
    /// Its configuration, the text of a JSON value.
    pub config: String,
    /// What a failure of the plugin counts as.
    pub on_error: OnError,
    /// What one call may use.
    pub limits: Limits,
}

/// Risk plugins and an ordered chain of rules.
#[derive(Clone, Default)]
pub struct Policy {
    /// Run first; their aggregated score is given to every rule.
    pub risk: Vec<RiskRule>,
    /// Run in order, every one of them, whatever the earlier ones said.
    pub rules: Vec<Rule>,
}

/// The outcome of a policy for one intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An enforced rule approved and no enforced rule objected.
    Approved,
    /// No enforced rule denied, and at least one asked for review.
    PendingApproval,
    /// At least one enforced rule denied.
    Denied,
}

/// Which part of a policy a trace entry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// A risk plugin.
    Risk,
    /// A policy rule.
    Rule,
}

/// A plugin failure as the trace shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceError {
    /// `E_PLUGIN_TRAP`, `E_PLUGIN_FUEL`, …
    pub code: String,
    /// What happened.
    pub message: String,
    /// For `E_PLUGIN_ERROR`, the plugin's own code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_code: Option<String>,
}

impl From<&PluginFailure> for TraceError {
    fn from(failure: &PluginFailure) -> Self {
        TraceError {
            code: failure.kind.code().to_owned(),
            message: failure.message.clone(),
            plugin_code: match &failure.kind {
                FailureKind::Plugin { code } => Some(code.clone()),
                _ => None,
            },
        }
    }
}

/// One step of an evaluation, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceEntry {
    /// Risk plugin or rule.
    pub stage: Stage,
    /// The plugin's name.
    pub plugin: String,
    /// The plugin's version.
    pub version: String,
    /// The sha256 of the plugin's component.
    pub sha256: String,
    /// Whether the verdict counted.
    pub mode: Mode,
    /// What a failure counts as.
    pub on_error: OnError,
    /// The rule's verdict, or what its failure counts as. None for a risk
    /// plugin that answered.
    pub verdict: Option<VerdictKind>,
    /// Why, for a deny or review.
    pub reason: Option<String>,
    /// The plugin's first reason code, or the failure's error code.
    pub code: Option<String>,
    /// All reason codes the plugin gave; always written, empty for none.
    #[serde(default)]
    pub codes: Vec<String>,
    /// The plugin's annotations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// A risk plugin's score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    /// A risk plugin's signals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<Signal>,
    /// Why the plugin gave no answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TraceError>,
    /// Fuel spent.
    pub fuel_used: u64,
    /// Wall-clock time in microseconds.
    pub duration_us: u64,
    /// What the plugin logged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogLine>,
    /// The actions the plugin asked for, each with why it was ignored when
    /// it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<TracedAction>,
}

/// An action a rule asked for, as the trace shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TracedAction {
    /// The kind the plugin named.
    pub kind: String,
    /// Its message.
    pub message: String,
    /// Why the host does not carry it out; none when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// An action the host is to carry out for a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestedAction {
    /// What to do.
    pub kind: ActionKind,
    /// Why.
    pub message: String,
    /// The plugin that asked for it.
    pub plugin: String,
}

impl TraceEntry {
    fn new<T>(
        stage: Stage,
        plugin: &dyn Plugin,
        mode: Mode,
        on_error: OnError,
        invocation: &Invocation<T>,
    ) -> Self {
        let meta = plugin.meta();
        let mut entry = TraceEntry {
            stage,
            plugin: meta.name.clone(),
            version: meta.version.clone(),
            sha256: meta.sha256.clone(),
            mode,
            on_error,
            verdict: None,
            reason: None,
            code: None,
            codes: Vec::new(),
            annotations: Vec::new(),
            score: None,
            signals: Vec::new(),
            error: None,
            fuel_used: invocation.fuel_used,
            duration_us: u64::try_from(invocation.duration.as_micros()).unwrap_or(u64::MAX),
            logs: invocation.logs.clone(),
            actions: Vec::new(),
        };
        if let Err(failure) = &invocation.outcome {
            entry.verdict = Some(on_error.verdict());
            entry.reason = Some(failure.message.clone());
            entry.code = Some(failure.kind.code().to_owned());
            entry.error = Some(failure.into());
        }
        entry
    }

    /// Whether this entry's verdict takes part in the outcome.
    pub fn counts(&self) -> bool {
        self.mode == Mode::Enforce
    }
}

/// The result of evaluating a policy for one intent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDecision {
    /// Approved, pending approval or denied.
    pub outcome: Outcome,
    /// The aggregated risk, when the policy has risk plugins.
    pub risk: Option<RiskSummary>,
    /// One entry per risk plugin, then one per rule, in order.
    pub trace: Vec<TraceEntry>,
    /// The actions the enforced rules asked for, in rule order, for the
    /// host to carry out with the decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<RequestedAction>,
}

impl Policy {
    /// A policy of one plugin, enforced: a policy plugin as its only rule,
    /// a risk plugin as its only risk step (with no rule, such a policy
    /// decides nothing and denies). What `warrant eval` runs.
    pub fn of_one(
        plugin: Arc<dyn Plugin>,
        config: String,
        on_error: OnError,
        limits: Limits,
    ) -> Self {
        match plugin.meta().world {
            World::Policy => Policy {
                risk: Vec::new(),
                rules: vec![Rule {
                    plugin,
                    config,
                    on_error,
                    mode: Mode::Enforce,
                    limits,
                }],
            },
            World::Risk => Policy {
                risk: vec![RiskRule {
                    plugin,
                    config,
                    on_error,
                    limits,
                }],
                rules: Vec::new(),
            },
        }
    }

    /// Runs the risk plugins, then every rule, and combines: any enforced
    /// deny ⇒ denied; else any enforced review ⇒ pending approval; else
    /// approved. A failing plugin counts as its rule's `on_error` verdict.
    ///
    /// A risk plugin that fails counts as the highest risk (100) in the
    /// aggregated score, with a signal named after its error code.
    ///
    /// Once `cancel` is cancelled, the plugin running stops and the ones
    /// after it fail at once: the decision is still complete and fails
    /// closed, for whoever reads it.
    pub fn evaluate(&self, context: &EvaluationContext, cancel: &Cancel) -> PolicyDecision {
        let mut trace = Vec::with_capacity(self.risk.len() + self.rules.len());

        let context = if self.risk.is_empty() {
            Cow::Borrowed(context)
        } else {
            let summary = self.assess(context, cancel, &mut trace);
            let mut with_risk = context.clone();
            with_risk.risk = Some(summary);
            Cow::Owned(with_risk)
        };

        let mut actions = Vec::new();
        for rule in &self.rules {
            let invocation = rule
                .plugin
                .evaluate(&context, &rule.config, &rule.limits, cancel);
            let mut entry = TraceEntry::new(
                Stage::Rule,
                rule.plugin.as_ref(),
                rule.mode,
                rule.on_error,
                &invocation,
            );
            if let Ok(decision) = invocation.outcome {
                entry.verdict = Some(decision.verdict.kind());
                entry.reason = decision.verdict.reason().map(str::to_owned);
                entry.code = decision.codes.first().cloned();
                entry.codes = decision.codes;
                entry.annotations = decision.annotations;
                entry.actions = decision
                    .actions
                    .into_iter()
                    .map(|action| trace_action(action, rule.mode, &entry.plugin, &mut actions))
                    .collect();
            }
            trace.push(entry);
        }

        PolicyDecision {
            actions,
            outcome: combine(&trace),
            risk: if self.risk.is_empty() {
                None
            } else {
                context.risk.clone()
            },
            trace,
        }
    }

    fn assess(
        &self,
        context: &EvaluationContext,
        cancel: &Cancel,
        trace: &mut Vec<TraceEntry>,
    ) -> RiskSummary {
        // Risk plugins see no aggregated risk: they are what makes it.
        let without_risk;
        let context = if context.risk.is_some() {
            let mut copy = context.clone();
            copy.risk = None;
            without_risk = copy;
            &without_risk
        } else {
            context
        };

        let mut summary = RiskSummary::default();
        for rule in &self.risk {
            let invocation = rule
                .plugin
                .assess(context, &rule.config, &rule.limits, cancel);
            let mut entry = TraceEntry::new(
                Stage::Risk,
                rule.plugin.as_ref(),
                Mode::Enforce,
                rule.on_error,
                &invocation,
            );
            match invocation.outcome {
                Ok(assessment) => {
                    summary.score = summary.score.max(assessment.score);
                    summary.signals.extend(assessment.signals.iter().cloned());
                    entry.score = Some(assessment.score);
                    entry.signals = assessment.signals;
                }
                Err(failure) => {
                    summary.score = 100;
                    summary.signals.push(Signal {
                        name: failure.kind.code().to_owned(),
                        score: 100,
                        detail: format!(
                            "risk plugin `{}` failed: {}",
                            entry.plugin, failure.message
                        ),
                    });
                }
            }
            trace.push(entry);
        }
        summary
    }
}

/// Traces an action a rule asked for and, when the host carries it out,
/// adds it to `requested`. Unknown kinds and monitored rules' actions are
/// ignored, with a trace line saying so.
fn trace_action(
    action: Action,
    mode: Mode,
    plugin: &str,
    requested: &mut Vec<RequestedAction>,
) -> TracedAction {
    let ignored = match (ActionKind::parse(&action.kind), mode) {
        (None, _) => {
            tracing::info!(plugin, kind = %action.kind, "ignoring an action of an unknown kind");
            Some(format!(
                "unknown kind `{}`: the host carries out `suspend-agent` and `alert`",
                action.kind
            ))
        }
        (Some(_), Mode::Monitor) => Some("the rule is in monitor mode".to_owned()),
        (Some(kind), Mode::Enforce) => {
            requested.push(RequestedAction {
                kind,
                message: action.message.clone(),
                plugin: plugin.to_owned(),
            });
            None
        }
    };
    TracedAction {
        kind: action.kind,
        message: action.message,
        ignored,
    }
}

/// Combines the verdicts of the entries that count, failing closed: a
/// trace in which no enforced rule decided approves nothing (denied), so
/// an approval always stands on at least one rule's own approve.
fn combine(trace: &[TraceEntry]) -> Outcome {
    let verdicts = || {
        trace
            .iter()
            .filter(|e| e.counts())
            .filter_map(|e| e.verdict)
    };
    if !a_rule_decided(trace) || verdicts().any(|v| v == VerdictKind::Deny) {
        Outcome::Denied
    } else if verdicts().any(|v| v == VerdictKind::Review) {
        Outcome::PendingApproval
    } else {
        Outcome::Approved
    }
}

/// Whether an enforced rule gave a verdict (its own, or its failure's).
fn a_rule_decided(trace: &[TraceEntry]) -> bool {
    trace
        .iter()
        .any(|e| e.counts() && e.stage == Stage::Rule && e.verdict.is_some())
}

/// Why a decision in which no enforced rule decided is denied.
pub const NO_RULE_DECIDED: &str =
    "no enforced rule of the policy decided: Warrant approves nothing on its own";

impl PolicyDecision {
    /// Why the outcome is what it is: the reason of the first counting
    /// rule whose verdict made it; none for an approval.
    pub fn reason(&self) -> Option<String> {
        let verdict = match self.outcome {
            Outcome::Approved => return None,
            Outcome::PendingApproval => VerdictKind::Review,
            Outcome::Denied => VerdictKind::Deny,
        };
        let decided = self
            .trace
            .iter()
            .filter(|entry| entry.counts() && entry.verdict == Some(verdict))
            .find_map(|entry| entry.reason.clone());
        decided.or_else(|| (!a_rule_decided(&self.trace)).then(|| NO_RULE_DECIDED.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::context::{Agent, Card, Intent, Usage};
    use crate::decision::{Assessment, Decision, Verdict};
    use crate::plugin::PluginMeta;

    /// A plugin that answers what it was built with, and remembers the risk
    /// it was shown.
    struct Scripted {
        meta: PluginMeta,
        decision: Result<Verdict, FailureKind>,
        score: u8,
        seen_risk: Mutex<Vec<Option<u8>>>,
    }

    fn scripted(name: &str, decision: Result<Verdict, FailureKind>) -> Arc<Scripted> {
        Arc::new(Scripted {
            meta: PluginMeta {
                name: name.into(),
                version: "1.0.0".into(),
                sha256: "00".into(),
                world: World::Policy,
            },
            decision,
            score: 0,
            seen_risk: Mutex::new(Vec::new()),
        })
    }

    fn invocation<T>(outcome: Result<T, PluginFailure>) -> Invocation<T> {
        Invocation {
            outcome,
            fuel_used: 7,
            duration: Duration::from_micros(3),
            logs: Vec::new(),
        }
    }

    impl Plugin for Scripted {
        fn meta(&self) -> &PluginMeta {
            &self.meta
        }

        fn evaluate(
            &self,
            cx: &EvaluationContext,
            _: &str,
            _: &Limits,
            _: &Cancel,
        ) -> Invocation<Decision> {
            self.seen_risk
                .lock()
                .unwrap()
                .push(cx.risk.as_ref().map(|r| r.score));
            invocation(match &self.decision {
                Ok(verdict) => Ok(Decision {
                    verdict: verdict.clone(),
                    codes: vec![format!("{}-code", self.meta.name)],
                    annotations: Vec::new(),
                    actions: vec![
                        Action {
                            kind: "alert".into(),
                            message: format!("{} says hello", self.meta.name),
                        },
                        Action {
                            kind: "launch-rocket".into(),
                            message: "no".into(),
                        },
                    ],
                }),
                Err(kind) => Err(PluginFailure::new(kind.clone(), "it broke")),
            })
        }

        fn assess(
            &self,
            cx: &EvaluationContext,
            _: &str,
            _: &Limits,
            _: &Cancel,
        ) -> Invocation<Assessment> {
            assert!(cx.risk.is_none(), "a risk plugin saw an aggregated risk");
            invocation(match &self.decision {
                Ok(_) => Ok(Assessment {
                    score: self.score,
                    signals: vec![Signal {
                        name: self.meta.name.clone(),
                        score: self.score,
                        detail: String::new(),
                    }],
                }),
                Err(kind) => Err(PluginFailure::new(kind.clone(), "it broke")),
            })
        }
    }

    fn context() -> EvaluationContext {
        EvaluationContext {
            intent: Intent {
                id: String::new(),
                amount: None,
                merchant: None,
                card: Card::Name("main".into()),
                purpose: "test".into(),
                recurring: None,
                client_intent_id: None,
                ttl_minutes: 60,
                signed_by: None,
            },
            agent: Agent::default(),
            usage: Usage::default(),
            risk: None,
            now: time::OffsetDateTime::UNIX_EPOCH,
            charge: None,
        }
    }

    fn rule(plugin: Arc<Scripted>, mode: Mode, on_error: OnError) -> Rule {
        Rule {
            plugin,
            config: "{}".into(),
            on_error,
            mode,
            limits: Limits::default(),
        }
    }

    fn outcome_of(rules: Vec<Rule>) -> Outcome {
        Policy {
            risk: Vec::new(),
            rules,
        }
        .evaluate(&context(), &Cancel::NEVER)
        .outcome
    }

    const E: Mode = Mode::Enforce;
    const M: Mode = Mode::Monitor;
    const D: OnError = OnError::Deny;

    fn approve() -> Arc<Scripted> {
        scripted("approve", Ok(Verdict::Approve))
    }
    fn deny() -> Arc<Scripted> {
        scripted("deny", Ok(Verdict::Deny("no".into())))
    }
    fn review() -> Arc<Scripted> {
        scripted("review", Ok(Verdict::Review("look".into())))
    }

    #[test]
    fn approves_when_no_rule_objects() {
        assert_eq!(
            outcome_of(vec![rule(approve(), E, D), rule(approve(), E, D)]),
            Outcome::Approved
        );
    }

    /// Fail closed by construction: without an enforced rule that decided,
    /// nothing is approved, whatever the policy's author allowed.
    #[test]
    fn denies_when_no_enforced_rule_decided() {
        assert_eq!(outcome_of(vec![]), Outcome::Denied);
        let policy = Policy {
            risk: Vec::new(),
            rules: vec![rule(approve(), M, D)],
        };
        let decision = policy.evaluate(&context(), &Cancel::NEVER);
        assert_eq!(decision.outcome, Outcome::Denied);
        assert_eq!(decision.reason().as_deref(), Some(NO_RULE_DECIDED));
    }

    /// A policy of one plugin enforces a policy plugin, and with a risk
    /// plugin alone it scores but decides nothing, so it denies.
    #[test]
    fn a_policy_of_one_plugin_enforces_it() {
        let one = |plugin: Arc<Scripted>| {
            Policy::of_one(plugin, "{}".into(), OnError::Review, Limits::default())
                .evaluate(&context(), &Cancel::NEVER)
        };
        let decision = one(deny());
        assert_eq!(decision.outcome, Outcome::Denied);
        assert_eq!(decision.trace[0].mode, Mode::Enforce);
        assert_eq!(one(approve()).outcome, Outcome::Approved);
        let mut risk = scripted("risk", Ok(Verdict::Approve));
        Arc::get_mut(&mut risk).unwrap().meta.world = World::Risk;
        let decision = one(risk);
        assert_eq!(decision.trace[0].stage, Stage::Risk);
        assert_eq!(decision.outcome, Outcome::Denied);
    }

    #[test]
    fn a_deny_outranks_a_review_in_any_order() {
        assert_eq!(
            outcome_of(vec![rule(review(), E, D), rule(deny(), E, D)]),
            Outcome::Denied
        );
        assert_eq!(
            outcome_of(vec![rule(deny(), E, D), rule(review(), E, D)]),
            Outcome::Denied
        );
        assert_eq!(
            outcome_of(vec![rule(approve(), E, D), rule(review(), E, D)]),
            Outcome::PendingApproval
        );
    }

    #[test]
    fn enforced_rules_request_known_actions_and_the_rest_are_traced_as_ignored() {
        let policy = Policy {
            risk: Vec::new(),
            rules: vec![rule(deny(), E, D), rule(review(), M, D)],
        };
        let decision = policy.evaluate(&context(), &Cancel::NEVER);
        assert_eq!(
            decision.actions,
            vec![RequestedAction {
                kind: ActionKind::Alert,
                message: "deny says hello".into(),
                plugin: "deny".into(),
            }]
        );
        let ignored = |entry: &TraceEntry| -> Vec<Option<String>> {
            entry.actions.iter().map(|a| a.ignored.clone()).collect()
        };
        assert_eq!(ignored(&decision.trace[0])[0], None);
        assert!(
            ignored(&decision.trace[0])[1]
                .as_deref()
                .unwrap()
                .contains("unknown kind `launch-rocket`")
        );
        assert_eq!(
            ignored(&decision.trace[1])[0].as_deref(),
            Some("the rule is in monitor mode")
        );
    }

    #[test]
    fn monitored_rules_are_traced_but_do_not_count() {
        let policy = Policy {
            risk: Vec::new(),
            rules: vec![
                rule(deny(), M, D),
                rule(review(), M, D),
                rule(approve(), E, D),
            ],
        };
        let decision = policy.evaluate(&context(), &Cancel::NEVER);
        assert_eq!(decision.outcome, Outcome::Approved);
        assert_eq!(decision.trace.len(), 3);
        assert_eq!(decision.trace[0].verdict, Some(VerdictKind::Deny));
        assert_eq!(decision.trace[0].mode, Mode::Monitor);
    }

    #[test]
    fn a_failing_plugin_counts_as_its_on_error_verdict_never_approve() {
        for kind in [
            FailureKind::Trap,
            FailureKind::Fuel,
            FailureKind::Timeout,
            FailureKind::Memory,
            FailureKind::Output,
            FailureKind::Load,
            FailureKind::Plugin {
                code: "invalid-config".into(),
            },
        ] {
            let broken = scripted("broken", Err(kind.clone()));
            let decision = Policy {
                risk: Vec::new(),
                rules: vec![rule(broken.clone(), E, OnError::Deny)],
            }
            .evaluate(&context(), &Cancel::NEVER);
            assert_eq!(decision.outcome, Outcome::Denied, "{kind:?}");
            let entry = &decision.trace[0];
            assert_eq!(entry.code.as_deref(), Some(kind.code()));
            assert_eq!(entry.error.as_ref().unwrap().code, kind.code());

            let reviewed = outcome_of(vec![rule(broken, E, OnError::Review)]);
            assert_eq!(reviewed, Outcome::PendingApproval, "{kind:?}");
        }
    }

    #[test]
    fn traces_every_rule_with_plugin_identity_and_cost() {
        let decision = Policy {
            risk: Vec::new(),
            rules: vec![rule(deny(), E, D), rule(approve(), E, D)],
        }
        .evaluate(&context(), &Cancel::NEVER);
        let entry = &decision.trace[0];
        assert_eq!(entry.plugin, "deny");
        assert_eq!(entry.version, "1.0.0");
        assert_eq!(entry.reason.as_deref(), Some("no"));
        assert_eq!(entry.code.as_deref(), Some("deny-code"));
        assert_eq!(entry.fuel_used, 7);
        assert_eq!(entry.duration_us, 3);
        assert_eq!(decision.trace[1].verdict, Some(VerdictKind::Approve));
    }

    #[test]
    fn rules_see_the_highest_risk_score() {
        let low = Arc::new(Scripted {
            score: 20,
            ..Arc::into_inner(scripted("low", Ok(Verdict::Approve))).unwrap()
        });
        let high = Arc::new(Scripted {
            score: 70,
            ..Arc::into_inner(scripted("high", Ok(Verdict::Approve))).unwrap()
        });
        let watcher = approve();
        let policy = Policy {
            risk: [low, high]
                .into_iter()
                .map(|plugin| RiskRule {
                    plugin,
                    config: "{}".into(),
                    on_error: OnError::Deny,
                    limits: Limits::default(),
                })
                .collect(),
            rules: vec![rule(watcher.clone(), E, D)],
        };
        let decision = policy.evaluate(&context(), &Cancel::NEVER);
        assert_eq!(decision.outcome, Outcome::Approved);
        assert_eq!(decision.risk.as_ref().unwrap().score, 70);
        assert_eq!(decision.risk.unwrap().signals.len(), 2);
        assert_eq!(*watcher.seen_risk.lock().unwrap(), vec![Some(70)]);
        assert_eq!(decision.trace[1].score, Some(70));
    }

    #[test]
    fn a_failing_risk_plugin_is_maximum_risk_and_fails_closed() {
        let broken = scripted("broken-risk", Err(FailureKind::Trap));
        let watcher = approve();
        let policy = Policy {
            risk: vec![RiskRule {
                plugin: broken,
                config: "{}".into(),
                on_error: OnError::Review,
                limits: Limits::default(),
            }],
            rules: vec![rule(watcher.clone(), E, D)],
        };
        let decision = policy.evaluate(&context(), &Cancel::NEVER);
        assert_eq!(decision.outcome, Outcome::PendingApproval);
        let risk = decision.risk.unwrap();
        assert_eq!(risk.score, 100);
        assert_eq!(risk.signals[0].name, "E_PLUGIN_TRAP");
        assert_eq!(*watcher.seen_risk.lock().unwrap(), vec![Some(100)]);
    }
}
