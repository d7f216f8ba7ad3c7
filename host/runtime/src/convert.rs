//! Between the domain's types and the generated bindings, and the checks an
//! answer must pass before the domain sees it.

use warrant_domain::context as domain;
use warrant_domain::decision::{Annotation, Assessment, Decision, Verdict};
use warrant_domain::plugin::{FailureKind, Limits, PluginFailure};

use crate::bindings::types as wit;

/// How many reason codes, annotations or signals an answer may carry.
pub const MAX_ANSWER_ITEMS: usize = 256;

/// The context as the plugin receives it.
pub(crate) fn context(cx: &domain::EvaluationContext) -> wit::Context {
    wit::Context {
        intent: intent(&cx.intent),
        agent: agent(&cx.agent),
        usage: usage(&cx.usage),
        risk: cx.risk.as_ref().map(|risk| wit::RiskSummary {
            score: risk.score,
            signals: risk.signals.iter().map(signal).collect(),
        }),
        now: wit::Timestamp {
            seconds: cx.now.unix_timestamp(),
            nanoseconds: cx.now.nanosecond(),
        },
    }
}

fn intent(intent: &domain::Intent) -> wit::Intent {
    wit::Intent {
        id: intent.id.clone(),
        amount: intent.amount.map(|money| wit::Money {
            minor_units: money.minor_units,
            currency: money.currency.code().to_owned(),
        }),
        merchant: intent.merchant.clone(),
        card: match &intent.card {
            domain::Card::Id(id) => wit::Card::Id(id.clone()),
            domain::Card::Name(name) => wit::Card::Name(name.clone()),
        },
        purpose: intent.purpose.clone(),
        recurring: intent.recurring.map(|terms| wit::RecurringTerms {
            cadence: match terms.cadence {
                domain::Cadence::Daily => wit::Cadence::Daily,
                domain::Cadence::Weekly => wit::Cadence::Weekly,
                domain::Cadence::Monthly => wit::Cadence::Monthly,
                domain::Cadence::Yearly => wit::Cadence::Yearly,
            },
            window_start_days_before: terms.window_start_days_before,
            window_end_days_after: terms.window_end_days_after,
            amount_tolerance_bps: terms.amount_tolerance_bps,
            merchant_match: terms.merchant_match,
        }),
        client_intent_id: intent.client_intent_id.clone(),
        ttl_minutes: intent.ttl_minutes,
    }
}

fn agent(agent: &domain::Agent) -> wit::Agent {
    wit::Agent {
        id: agent.id.clone(),
        name: agent.name.clone(),
        status: match agent.status {
            domain::AgentStatus::Active => wit::AgentStatus::Active,
            domain::AgentStatus::Frozen => wit::AgentStatus::Frozen,
            domain::AgentStatus::Suspended => wit::AgentStatus::Suspended,
            domain::AgentStatus::Archived => wit::AgentStatus::Archived,
        },
        agent_type: match agent.agent_type {
            domain::AgentType::Autonomous => wit::AgentType::Autonomous,
            domain::AgentType::Supervised => wit::AgentType::Supervised,
            domain::AgentType::Advisory => wit::AgentType::Advisory,
            domain::AgentType::McpServer => wit::AgentType::McpServer,
        },
        profile: wit::AgentProfile {
            purpose: agent.profile.purpose.clone(),
            framework: agent.profile.framework.clone(),
            capabilities: agent.profile.capabilities.clone(),
            description: agent.profile.description.clone(),
            department: agent.profile.department.clone(),
            owner_contact: agent.profile.owner_contact.clone(),
        },
        tags: agent.tags.clone(),
        metadata: serde_json::Value::Object(agent.metadata.clone()).to_string(),
    }
}

fn usage(usage: &domain::Usage) -> wit::Usage {
    let window = |w: &domain::WindowUsage| wit::WindowUsage {
        count: w.count,
        spend: w.spend,
    };
    wit::Usage {
        currency: usage.currency.code().to_owned(),
        last_minute: window(&usage.last_minute),
        last_hour: window(&usage.last_hour),
        last_day: window(&usage.last_day),
        last_week: window(&usage.last_week),
        last_month: window(&usage.last_month),
        calendar_day: window(&usage.calendar_day),
        calendar_month: window(&usage.calendar_month),
        merchant_last_month: window(&usage.merchant_last_month),
    }
}

fn signal(signal: &domain::Signal) -> wit::Signal {
    wit::Signal {
        name: signal.name.clone(),
        score: signal.score,
        detail: signal.detail.clone(),
    }
}

/// Checks a policy plugin's answer against the contract and `limits`.
pub(crate) fn decision(
    answer: Result<wit::Decision, wit::PluginError>,
    limits: &Limits,
) -> Result<Decision, PluginFailure> {
    let decision = plugin_answer(answer, limits)?;
    let reason = match &decision.verdict {
        wit::Verdict::Approve => None,
        wit::Verdict::Deny(reason) | wit::Verdict::Review(reason) => Some(reason.as_str()),
    };
    check_items(decision.codes.len() + decision.annotations.len())?;
    let text = reason
        .into_iter()
        .chain(decision.codes.iter().map(String::as_str))
        .chain(
            decision
                .annotations
                .iter()
                .flat_map(|a| [a.key.as_str(), a.value.as_str()]),
        );
    check_text(text, limits)?;
    Ok(Decision {
        verdict: match decision.verdict {
            wit::Verdict::Approve => Verdict::Approve,
            wit::Verdict::Deny(reason) => Verdict::Deny(reason),
            wit::Verdict::Review(reason) => Verdict::Review(reason),
        },
        codes: decision.codes,
        annotations: decision
            .annotations
            .into_iter()
            .map(|a| Annotation {
                key: a.key,
                value: a.value,
            })
            .collect(),
    })
}

/// Checks a risk plugin's answer against the contract and `limits`.
pub(crate) fn assessment(
    answer: Result<wit::Assessment, wit::PluginError>,
    limits: &Limits,
) -> Result<Assessment, PluginFailure> {
    let assessment = plugin_answer(answer, limits)?;
    check_score("score", assessment.score)?;
    check_items(assessment.signals.len())?;
    for signal in &assessment.signals {
        check_score(&format!("signal `{}`", signal.name), signal.score)?;
    }
    let text = assessment
        .signals
        .iter()
        .flat_map(|s| [s.name.as_str(), s.detail.as_str()]);
    check_text(text, limits)?;
    Ok(Assessment {
        score: assessment.score,
        signals: assessment
            .signals
            .into_iter()
            .map(|s| domain::Signal {
                name: s.name,
                score: s.score,
                detail: s.detail,
            })
            .collect(),
    })
}

/// Turns the plugin's own error into a failure, after checking its size.
fn plugin_answer<T>(
    answer: Result<T, wit::PluginError>,
    limits: &Limits,
) -> Result<T, PluginFailure> {
    answer.or_else(|error| {
        check_text([error.code.as_str(), error.message.as_str()], limits)?;
        Err(PluginFailure::new(
            FailureKind::Plugin { code: error.code },
            error.message,
        ))
    })
}

fn check_score(what: &str, score: u8) -> Result<(), PluginFailure> {
    if score > 100 {
        return Err(PluginFailure::new(
            FailureKind::Output,
            format!("{what} is {score}, outside 0..=100"),
        ));
    }
    Ok(())
}

fn check_items(count: usize) -> Result<(), PluginFailure> {
    if count > MAX_ANSWER_ITEMS {
        return Err(PluginFailure::new(
            FailureKind::Output,
            format!(
                "the answer has {count} codes, annotations or signals, over the limit of {MAX_ANSWER_ITEMS}"
            ),
        ));
    }
    Ok(())
}

fn check_text<'a>(
    text: impl IntoIterator<Item = &'a str>,
    limits: &Limits,
) -> Result<(), PluginFailure> {
    let bytes: usize = text.into_iter().map(str::len).sum();
    let max = usize::try_from(limits.output_bytes).unwrap_or(usize::MAX);
    if bytes > max {
        return Err(PluginFailure::new(
            FailureKind::Output,
            format!("the answer holds {bytes} bytes of text, over the limit of {max}"),
        ));
    }
    Ok(())
}
