//! What plugins answer: a policy plugin's decision, a risk plugin's
//! assessment.

use serde::{Deserialize, Serialize};

use crate::context::Signal;

/// The kind of a verdict, without its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// No objection.
    Approve,
    /// Forbidden.
    Deny,
    /// A human must look.
    Review,
}

impl VerdictKind {
    /// `approve`, `deny` or `review`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Approve => "approve",
            VerdictKind::Deny => "deny",
            VerdictKind::Review => "review",
        }
    }
}

/// What a policy rule says about an intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No objection.
    Approve,
    /// Forbidden, with the reason.
    Deny(String),
    /// A human must look, with the reason.
    Review(String),
}

impl Verdict {
    /// The verdict's kind.
    pub fn kind(&self) -> VerdictKind {
        match self {
            Verdict::Approve => VerdictKind::Approve,
            Verdict::Deny(_) => VerdictKind::Deny,
            Verdict::Review(_) => VerdictKind::Review,
        }
    }

    /// The reason of a deny or review.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Approve => None,
            Verdict::Deny(reason) | Verdict::Review(reason) => Some(reason),
        }
    }
}

/// A fact a plugin attaches to its decision for the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// A short name.
    pub key: String,
    /// Its value as text.
    pub value: String,
}

/// A policy plugin's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// Machine-readable reason codes.
    pub codes: Vec<String>,
    /// Extra facts for the trace.
    pub annotations: Vec<Annotation>,
    /// What the plugin asks the host to do.
    pub actions: Vec<Action>,
}

/// Something a decision asks the host to carry out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// `suspend-agent`, `alert`, or a kind the host ignores.
    pub kind: String,
    /// Why.
    pub message: String,
}

/// The kinds of action the host carries out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// Suspend the agent.
    SuspendAgent,
    /// Record an alert event.
    Alert,
}

impl ActionKind {
    /// The kind an action names, if the host knows it.
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "suspend-agent" => Some(ActionKind::SuspendAgent),
            "alert" => Some(ActionKind::Alert),
            _ => None,
        }
    }

    /// The kind as plugins name it.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::SuspendAgent => "suspend-agent",
            ActionKind::Alert => "alert",
        }
    }
}

/// A risk plugin's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// 0 (no risk) ..= 100.
    pub score: u8,
    /// The factors behind the score.
    pub signals: Vec<Signal>,
}
