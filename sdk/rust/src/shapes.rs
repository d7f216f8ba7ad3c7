//! Short ways to build the answers a plugin gives.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::{Action, Annotation, Assessment, Decision, Money, PluginError, Signal, Verdict};

/// A decision with no objection.
pub fn approve() -> Decision {
    Decision::new(Verdict::Approve)
}

/// A decision that forbids the intent, saying why.
pub fn deny(reason: impl Into<String>) -> Decision {
    Decision::new(Verdict::Deny(reason.into()))
}

/// A decision that sends the intent to a human, saying why.
pub fn review(reason: impl Into<String>) -> Decision {
    Decision::new(Verdict::Review(reason.into()))
}

impl Decision {
    /// A decision with `verdict`, no codes and no annotations.
    pub fn new(verdict: Verdict) -> Self {
        Decision {
            verdict,
            codes: Vec::new(),
            annotations: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Asks the host to suspend the agent, saying why. The host does so in
    /// the transaction that records the intent, unless the rule is in
    /// monitor mode or the evaluation is a dry run.
    pub fn with_suspend_agent(self, reason: impl Into<String>) -> Self {
        self.with_action(Action::SUSPEND_AGENT, reason)
    }

    /// Asks the host to record an alert event for the agent.
    pub fn with_alert(self, message: impl Into<String>) -> Self {
        self.with_action(Action::ALERT, message)
    }

    /// Asks the host for an action of any kind; the host ignores (and
    /// traces) kinds it does not know.
    pub fn with_action(mut self, kind: impl Into<String>, message: impl Into<String>) -> Self {
        self.actions.push(Action {
            kind: kind.into(),
            message: message.into(),
        });
        self
    }

    /// Whether the decision asks for an action of `kind`.
    pub fn has_action(&self, kind: &str) -> bool {
        self.actions.iter().any(|a| a.kind == kind)
    }

    /// Adds a machine-readable reason code, e.g. `amount-over-max`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.codes.push(code.into());
        self
    }

    /// Adds a fact for the trace.
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.annotations.push(Annotation {
            key: key.into(),
            value: value.to_string(),
        });
        self
    }

    /// Whether the verdict is approve.
    pub fn is_approve(&self) -> bool {
        matches!(self.verdict, Verdict::Approve)
    }

    /// Whether the verdict is deny.
    pub fn is_deny(&self) -> bool {
        matches!(self.verdict, Verdict::Deny(_))
    }

    /// Whether the verdict is review.
    pub fn is_review(&self) -> bool {
        matches!(self.verdict, Verdict::Review(_))
    }

    /// The reason of a deny or review.
    pub fn reason(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Approve => None,
            Verdict::Deny(reason) | Verdict::Review(reason) => Some(reason),
        }
    }

    /// The value of the first annotation named `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }
}

impl Action {
    /// The kind that suspends the agent.
    pub const SUSPEND_AGENT: &'static str = "suspend-agent";
    /// The kind that records an alert event.
    pub const ALERT: &'static str = "alert";
}

impl Assessment {
    /// An assessment with `score` (0..=100) and no signals.
    pub fn new(score: u8) -> Self {
        Assessment {
            score,
            signals: Vec::new(),
        }
    }

    /// Adds a factor behind the score.
    pub fn with_signal(
        mut self,
        name: impl Into<String>,
        score: u8,
        detail: impl Into<String>,
    ) -> Self {
        self.signals.push(Signal {
            name: name.into(),
            score,
            detail: detail.into(),
        });
        self
    }
}

impl PluginError {
    /// An error with the plugin's own `code`.
    pub fn new(code: impl Into<String>, message: impl ToString) -> Self {
        PluginError {
            code: code.into(),
            message: message.to_string(),
        }
    }

    /// The configuration is not what the plugin accepts.
    pub fn invalid_config(message: impl ToString) -> Self {
        PluginError::new("invalid-config", message)
    }
}

impl Money {
    /// An amount in minor units of `currency` (an ISO 4217 code).
    pub fn new(minor_units: u64, currency: &str) -> Self {
        Money {
            minor_units,
            currency: currency.into(),
        }
    }

    /// An amount in euro cents.
    pub fn eur(cents: u64) -> Self {
        Money::new(cents, "EUR")
    }
}
