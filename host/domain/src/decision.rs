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
}

/// A risk plugin's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// 0 (no risk) ..= 100.
    pub score: u8,
    /// The factors behind the score.
    pub signals: Vec<Signal>,
}
