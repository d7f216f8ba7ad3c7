//! `settlement-review`: sends an agent's intents to a human while the
//! agent has settlements that were flagged (it reported another amount
//! than it declared, beyond the tolerance, or another merchant) and that
//! the tenant has not confirmed since.
//!
//! Warrant runs it after the rules of every policy that does not turn it
//! off (`"reviewFlaggedSettlements": false`), so that an agent that
//! reports less than it paid cannot go on spending unseen. It can also be
//! named as a rule of its own, with a configuration.
//!
//! Configuration:
//!
//! ```json
//! {"window": "lastMonth", "verdict": "review"}
//! ```
//!
//! - `window`: which usage window's flagged settlements count:
//!   `lastDay`, `lastWeek` or `lastMonth` (the default: the last 30
//!   days, by when each intent was declared);
//! - `verdict`: `review` (the default) or `deny`.
//!
//! With a flagged settlement in the window: the verdict, with the code
//! `flagged-settlement`; otherwise approve. Every decision is annotated
//! with the flagged settlements in the window (`flagged`).
#![cfg_attr(target_arch = "wasm32", no_std)]

use warrant_sdk::prelude::*;

/// Which window counts.
#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Window {
    /// The last 24 hours.
    LastDay,
    /// The last 7 days.
    LastWeek,
    /// The last 30 days.
    #[default]
    LastMonth,
}

/// What a flagged settlement makes of an intent.
#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// A human decides.
    #[default]
    Review,
    /// Denied.
    Deny,
}

/// The rule's configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Which window's flagged settlements count.
    #[serde(default)]
    pub window: Window,
    /// What they make of an intent.
    #[serde(default)]
    pub verdict: Verdict,
}

/// The policy.
pub fn evaluate(cx: &Context, config: Config) -> Result<Decision, PluginError> {
    let usage = &cx.usage;
    let (window, span) = match config.window {
        Window::LastDay => (&usage.last_day, "24 hours"),
        Window::LastWeek => (&usage.last_week, "7 days"),
        Window::LastMonth => (&usage.last_month, "30 days"),
    };
    let flagged = window.flagged_count;
    if flagged == 0 {
        return Ok(approve().with_annotation("flagged", 0));
    }
    let settlements = if flagged == 1 {
        "a settlement"
    } else {
        "settlements"
    };
    let reason = format!(
        "the agent reported {settlements} in the last {span} that did not match what it declared ({flagged} flagged, not confirmed by the tenant)"
    );
    let decision = match config.verdict {
        Verdict::Review => review(reason),
        Verdict::Deny => deny(reason),
    };
    Ok(decision
        .with_code("flagged-settlement")
        .with_annotation("flagged", flagged))
}

warrant_sdk::export_policy!(evaluate);

#[cfg(test)]
mod tests {
    use warrant_sdk::testing;

    use super::*;

    fn decide(day: u64, month: u64, config: &str) -> Result<Decision, PluginError> {
        let mut cx = testing::context();
        cx.usage.last_day.flagged_count = day;
        cx.usage.last_week.flagged_count = month;
        cx.usage.last_month.flagged_count = month;
        testing::evaluate(evaluate, &cx, config)
    }

    #[test]
    fn approves_an_agent_without_flagged_settlements() {
        let decision = decide(0, 0, "{}").unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("flagged"), Some("0"));
    }

    #[test]
    fn reviews_while_a_flagged_settlement_is_in_the_last_30_days() {
        let decision = decide(0, 1, "{}").unwrap();
        assert!(decision.is_review());
        assert_eq!(decision.codes, ["flagged-settlement"]);
        assert!(
            decision
                .reason()
                .unwrap()
                .contains("a settlement in the last 30 days"),
            "{decision:?}"
        );
    }

    #[test]
    fn a_shorter_window_and_a_deny_can_be_asked_for() {
        let config = r#"{"window": "lastDay", "verdict": "deny"}"#;
        assert!(decide(0, 3, config).unwrap().is_approve());
        let decision = decide(2, 3, config).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.annotation("flagged"), Some("2"));
    }

    #[test]
    fn refuses_an_unknown_window() {
        assert!(decide(0, 0, r#"{"window": "lastYear"}"#).is_err());
    }
}
