//! A decision as the store keeps it with its intent (or charge), and as
//! it is read back: the outcome, the aggregated risk, the trace of every
//! plugin and the actions carried out.

use serde::{Deserialize, Serialize};

use crate::context::Signal;
use crate::policy::{Outcome, PolicyDecision, RequestedAction, Stage, TraceEntry};

/// A decision as stored: what every surface shows as `decision`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    /// Approved, pending approval or denied.
    pub verdict: Outcome,
    /// The aggregated risk score, when the policy has risk steps.
    pub risk_score: Option<u8>,
    /// The aggregated risk's signals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<Signal>,
    /// One entry per risk step, then one per rule.
    pub rules: Vec<TraceEntry>,
    /// The actions carried out with the decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<RequestedAction>,
}

impl DecisionRecord {
    /// The record of a decision.
    pub fn of(decision: &PolicyDecision) -> Self {
        DecisionRecord {
            verdict: decision.outcome,
            risk_score: decision.risk.as_ref().map(|r| r.score),
            signals: decision
                .risk
                .as_ref()
                .map(|r| r.signals.clone())
                .unwrap_or_default(),
            rules: decision.trace.clone(),
            actions: decision.actions.clone(),
        }
    }

    /// A stored record.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The record as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a decision record serializes")
    }

    /// The signals the risk plugin called `plugin` gave.
    pub fn signals_of(&self, plugin: &str) -> Vec<Signal> {
        self.rules
            .iter()
            .filter(|entry| entry.stage == Stage::Risk && entry.plugin == plugin)
            .flat_map(|entry| entry.signals.iter().cloned())
            .collect()
    }

    /// The codes of the entries that counted: each plugin's reason codes,
    /// or its failure's error code.
    pub fn counted_codes(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|entry| entry.counts())
            .flat_map(|entry| match &entry.error {
                Some(error) => vec![error.code.clone()],
                None => entry.codes.clone(),
            })
            .collect()
    }
}
