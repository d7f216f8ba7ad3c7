//! `risk-threshold`: approves, reviews or denies an intent by the risk
//! score of the policy's risk plugins.
//!
//! Configuration:
//!
//! ```json
//! {"autoApproveBelow": 30, "maxRiskThreshold": 80}
//! ```
//!
//! Both are scores from 0 to 100 and optional; each one left out defaults
//! by the agent's type:
//!
//! | agent type   | `autoApproveBelow` | `maxRiskThreshold` |
//! |--------------|--------------------|--------------------|
//! | `supervised` | 30                 | 80                 |
//! | `autonomous` | 20                 | 60                 |
//! | `advisory`   | 50                 | 90                 |
//! | `mcp-server` | 30                 | 80                 |
//!
//! `autoApproveBelow` above `maxRiskThreshold` (after the defaults) is an
//! invalid configuration.
//!
//! - no risk score (the policy has no risk plugins): review
//!   (`no-risk-score`);
//! - a score below `autoApproveBelow`: approve;
//! - a score above `maxRiskThreshold`: deny (`risk-above-max`);
//! - otherwise review (`risk-needs-review`).
//!
//! Reasons name the score, the thresholds and the strongest risk signals.
//! Decisions are annotated with `score`, `autoApproveBelow`,
//! `maxRiskThreshold` and `agentType`.
#![cfg_attr(target_arch = "wasm32", no_std)]

use warrant_sdk::prelude::*;

/// The rule's configuration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Scores below this are approved, 0..=100.
    #[serde(default)]
    pub auto_approve_below: Option<u32>,
    /// Scores above this are denied, 0..=100.
    #[serde(default)]
    pub max_risk_threshold: Option<u32>,
}

/// How many signals a reason names at most.
const TOP_SIGNALS: usize = 3;

/// The policy.
pub fn evaluate(cx: &Context, config: Config) -> Result<Decision, PluginError> {
    let agent_type = cx.agent.agent_type;
    let (default_approve, default_max) = defaults(agent_type);
    let approve_below =
        score("autoApproveBelow", config.auto_approve_below)?.unwrap_or(default_approve);
    let max = score("maxRiskThreshold", config.max_risk_threshold)?.unwrap_or(default_max);
    if approve_below > max {
        return Err(PluginError::invalid_config(format!(
            "`autoApproveBelow` ({approve_below}) is above `maxRiskThreshold` ({max}) for \
             an agent of type {}",
            type_name(agent_type)
        )));
    }

    let thresholds = |decision: Decision| {
        decision
            .with_annotation("autoApproveBelow", approve_below)
            .with_annotation("maxRiskThreshold", max)
            .with_annotation("agentType", type_name(agent_type))
    };
    let Some(risk) = &cx.risk else {
        return Ok(thresholds(
            review("the policy has no risk score, so the risk threshold cannot be checked")
                .with_code("no-risk-score"),
        ));
    };
    let score = u32::from(risk.score);
    let signals = top_signals(&risk.signals);

    let decision = if score < approve_below {
        approve()
    } else if score > max {
        deny(format!(
            "the risk score {score} is above the maximum of {max}{signals}"
        ))
        .with_code("risk-above-max")
    } else {
        review(format!(
            "the risk score {score} is between the auto-approval threshold of {approve_below} \
             and the maximum of {max}{signals}"
        ))
        .with_code("risk-needs-review")
    };
    Ok(thresholds(decision.with_annotation("score", score)))
}

/// The thresholds for an agent type: (`autoApproveBelow`,
/// `maxRiskThreshold`).
fn defaults(agent_type: AgentType) -> (u32, u32) {
    match agent_type {
        AgentType::Supervised => (30, 80),
        AgentType::Autonomous => (20, 60),
        AgentType::Advisory => (50, 90),
        AgentType::McpServer => (30, 80),
    }
}

fn type_name(agent_type: AgentType) -> &'static str {
    match agent_type {
        AgentType::Supervised => "supervised",
        AgentType::Autonomous => "autonomous",
        AgentType::Advisory => "advisory",
        AgentType::McpServer => "mcp-server",
    }
}

fn score(field: &str, value: Option<u32>) -> Result<Option<u32>, PluginError> {
    match value {
        Some(value) if value > 100 => Err(PluginError::invalid_config(format!(
            "`{field}` must be a score from 0 to 100, not {value}"
        ))),
        _ => Ok(value),
    }
}

/// `; strongest signals: a (60), b (30)`, the names of the highest-scoring
/// signals, each once; empty when no signal scores above 0.
fn top_signals(signals: &[Signal]) -> String {
    let mut ranked: Vec<&Signal> = signals.iter().filter(|s| s.score > 0).collect();
    // Stable: among equal scores, the policy's order.
    ranked.sort_by_key(|s| core::cmp::Reverse(s.score));
    let mut named: Vec<&Signal> = Vec::new();
    for signal in ranked {
        if named.len() == TOP_SIGNALS {
            break;
        }
        if !named.iter().any(|n| n.name == signal.name) {
            named.push(signal);
        }
    }
    if named.is_empty() {
        return String::new();
    }
    let names: Vec<String> = named
        .iter()
        .map(|s| format!("{} ({})", s.name, s.score))
        .collect();
    let label = if names.len() == 1 {
        "strongest signal"
    } else {
        "strongest signals"
    };
    format!("; {label}: {}", names.join(", "))
}

warrant_sdk::export_policy!(evaluate);

#[cfg(test)]
mod tests {
    use warrant_sdk::testing;

    use super::*;

    fn signal(name: &str, score: u8) -> Signal {
        Signal {
            name: name.into(),
            score,
            detail: format!("{name} detail"),
        }
    }

    fn decide_as(
        agent_type: AgentType,
        score: Option<u8>,
        signals: Vec<Signal>,
        config: &str,
    ) -> Result<Decision, PluginError> {
        let mut cx = testing::context();
        cx.agent.agent_type = agent_type;
        cx.risk = score.map(|score| RiskSummary { score, signals });
        testing::evaluate(evaluate, &cx, config)
    }

    fn decide(score: u8, config: &str) -> Result<Decision, PluginError> {
        decide_as(AgentType::Supervised, Some(score), Vec::new(), config)
    }

    const EXPLICIT: &str = r#"{"autoApproveBelow": 30, "maxRiskThreshold": 70}"#;

    #[test]
    fn approves_a_score_below_the_auto_approval_threshold() {
        let decision = decide(29, EXPLICIT).unwrap();
        assert!(decision.is_approve());
        assert!(decision.codes.is_empty());
        assert_eq!(decision.annotation("score"), Some("29"));
        assert_eq!(decision.annotation("autoApproveBelow"), Some("30"));
        assert_eq!(decision.annotation("maxRiskThreshold"), Some("70"));
        assert_eq!(decision.annotation("agentType"), Some("supervised"));
        assert!(decide(0, EXPLICIT).unwrap().is_approve());
    }

    #[test]
    fn reviews_a_score_between_the_thresholds_inclusive() {
        for score in [30, 50, 70] {
            let decision = decide(score, EXPLICIT).unwrap();
            assert!(decision.is_review(), "{score}");
            assert_eq!(decision.codes, ["risk-needs-review"]);
        }
        assert_eq!(
            decide(30, EXPLICIT).unwrap().reason(),
            Some(
                "the risk score 30 is between the auto-approval threshold of 30 and the maximum of 70"
            )
        );
    }

    #[test]
    fn denies_a_score_above_the_maximum() {
        let decision = decide(71, EXPLICIT).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["risk-above-max"]);
        assert_eq!(
            decision.reason(),
            Some("the risk score 71 is above the maximum of 70")
        );
        assert_eq!(decision.annotation("score"), Some("71"));
        assert!(decide(100, EXPLICIT).unwrap().is_deny());
    }

    #[test]
    fn reasons_name_the_strongest_signals() {
        let signals = vec![
            signal("unusual-hour", 25),
            signal("quiet", 0),
            signal("burst", 50),
            signal("new-merchant", 30),
            signal("amount-deviation", 45),
            signal("burst", 40),
        ];
        let decision = decide_as(AgentType::Supervised, Some(90), signals, EXPLICIT).unwrap();
        assert_eq!(
            decision.reason(),
            Some(
                "the risk score 90 is above the maximum of 70; strongest signals: burst (50), \
                 amount-deviation (45), new-merchant (30)"
            )
        );
        let decision = decide_as(
            AgentType::Supervised,
            Some(40),
            vec![signal("new-merchant", 30), signal("quiet", 0)],
            EXPLICIT,
        )
        .unwrap();
        assert_eq!(
            decision.reason(),
            Some(
                "the risk score 40 is between the auto-approval threshold of 30 and the \
                 maximum of 70; strongest signal: new-merchant (30)"
            )
        );
    }

    #[test]
    fn defaults_the_thresholds_by_agent_type() {
        let cases = [
            (AgentType::Supervised, "supervised", 30, 80),
            (AgentType::Autonomous, "autonomous", 20, 60),
            (AgentType::Advisory, "advisory", 50, 90),
            (AgentType::McpServer, "mcp-server", 30, 80),
        ];
        for (agent_type, name, approve_below, max) in cases {
            let at =
                |score: u32| decide_as(agent_type, Some(score as u8), Vec::new(), "{}").unwrap();
            let decision = at(approve_below - 1);
            assert!(decision.is_approve(), "{name}");
            assert_eq!(decision.annotation("agentType"), Some(name));
            assert_eq!(
                decision.annotation("autoApproveBelow"),
                Some(approve_below.to_string().as_str())
            );
            assert_eq!(
                decision.annotation("maxRiskThreshold"),
                Some(max.to_string().as_str())
            );
            assert!(at(approve_below).is_review(), "{name}");
            assert!(at(max).is_review(), "{name}");
            assert_eq!(at(max + 1).codes, ["risk-above-max"], "{name}");
        }
    }

    #[test]
    fn defaults_only_what_is_left_out() {
        // An autonomous agent: 20/60 by default.
        let decision = decide_as(
            AgentType::Autonomous,
            Some(65),
            Vec::new(),
            r#"{"maxRiskThreshold": 70}"#,
        )
        .unwrap();
        assert!(decision.is_review());
        assert_eq!(decision.annotation("autoApproveBelow"), Some("20"));
        let decision = decide_as(
            AgentType::Autonomous,
            Some(45),
            Vec::new(),
            r#"{"autoApproveBelow": 50}"#,
        )
        .unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("maxRiskThreshold"), Some("60"));
    }

    #[test]
    fn the_extremes_of_the_thresholds() {
        // Nothing is approved automatically below 0; everything above 0 is denied.
        let strict = r#"{"autoApproveBelow": 0, "maxRiskThreshold": 0}"#;
        assert!(decide(0, strict).unwrap().is_review());
        assert!(decide(1, strict).unwrap().is_deny());
        // Everything below 100 is approved; nothing is denied.
        let lax = r#"{"autoApproveBelow": 100, "maxRiskThreshold": 100}"#;
        assert!(decide(99, lax).unwrap().is_approve());
        assert!(decide(100, lax).unwrap().is_review());
        // Equal thresholds review exactly that score.
        let equal = r#"{"autoApproveBelow": 50, "maxRiskThreshold": 50}"#;
        assert!(decide(49, equal).unwrap().is_approve());
        assert!(decide(50, equal).unwrap().is_review());
        assert!(decide(51, equal).unwrap().is_deny());
    }

    #[test]
    fn reviews_without_a_risk_score() {
        let decision = decide_as(AgentType::Autonomous, None, Vec::new(), "{}").unwrap();
        assert!(decision.is_review());
        assert_eq!(decision.codes, ["no-risk-score"]);
        assert_eq!(
            decision.reason(),
            Some("the policy has no risk score, so the risk threshold cannot be checked")
        );
        assert_eq!(decision.annotation("score"), None);
        assert_eq!(decision.annotation("agentType"), Some("autonomous"));
    }

    #[test]
    fn refuses_invalid_configurations() {
        for config in [
            r#"{"autoApproveBelow": 101}"#,
            r#"{"maxRiskThreshold": 101}"#,
            r#"{"autoApproveBelow": -1}"#,
            r#"{"autoApproveBelow": 10.5}"#,
            r#"{"autoApproveBelow": "10"}"#,
            r#"{"autoApproveBelow": 71, "maxRiskThreshold": 70}"#,
            // 90 is above the supervised default maximum of 80.
            r#"{"autoApproveBelow": 90}"#,
            // 20 is below the supervised default of 30.
            r#"{"maxRiskThreshold": 20}"#,
            r#"{"threshold": 50}"#,
            "[]",
            "null",
            "not json",
        ] {
            let error = decide(50, config).unwrap_err();
            assert_eq!(error.code, "invalid-config", "{config}");
        }
        // The same configuration is valid for an agent type whose default
        // allows it.
        assert!(
            decide_as(
                AgentType::Advisory,
                Some(10),
                Vec::new(),
                r#"{"autoApproveBelow": 90}"#
            )
            .is_ok()
        );
        // An invalid configuration is refused even without a risk score.
        let error = decide_as(
            AgentType::Supervised,
            None,
            Vec::new(),
            r#"{"autoApproveBelow": 101}"#,
        )
        .unwrap_err();
        assert_eq!(error.code, "invalid-config");
    }
}
