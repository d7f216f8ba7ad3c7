//! Between the domain's types and the generated bindings of each version
//! of the contract, and the checks an answer must pass before the domain
//! sees it.

use warrant_domain::context as domain;
use warrant_domain::decision::{Action, Annotation, Assessment, Decision, Verdict};
use warrant_domain::plugin::{FailureKind, Limits, PluginFailure};

/// How many reason codes, annotations, signals or actions an answer may
/// carry.
pub const MAX_ANSWER_ITEMS: usize = 256;

/// The largest configuration a plugin may prepare, in bytes.
pub const MAX_PREPARED_BYTES: usize = 1 << 20;

/// A plugin's own error, as the domain sees it: its code and message.
pub(crate) struct OwnError {
    code: String,
    message: String,
}

/// The agent's metadata as every version of the contract gives it: the
/// text of a JSON object, `{}` when there is none.
pub(crate) fn metadata_text(agent: &domain::Agent) -> String {
    serde_json::to_string(&agent.metadata).unwrap_or_else(|_| "{}".to_owned())
}

/// The conversions every version of the contract shares: every type but
/// the context, the agent, the usage and the decision, which 0.2.0
/// extended, the usage's windows, which 0.3.0 extended, and the intent,
/// which 0.4.0 extended. (0.5.0 changed the answer, not the types.)
macro_rules! shared_conversions {
    () => {
        use super::*;

        pub(crate) fn recurring(terms: domain::RecurringTerms) -> wit::RecurringTerms {
            wit::RecurringTerms {
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
            }
        }

        pub(crate) fn status(status: domain::AgentStatus) -> wit::AgentStatus {
            match status {
                domain::AgentStatus::Active => wit::AgentStatus::Active,
                domain::AgentStatus::Frozen => wit::AgentStatus::Frozen,
                domain::AgentStatus::Suspended => wit::AgentStatus::Suspended,
                domain::AgentStatus::Archived => wit::AgentStatus::Archived,
            }
        }

        pub(crate) fn agent_type(agent_type: domain::AgentType) -> wit::AgentType {
            match agent_type {
                domain::AgentType::Autonomous => wit::AgentType::Autonomous,
                domain::AgentType::Supervised => wit::AgentType::Supervised,
                domain::AgentType::Advisory => wit::AgentType::Advisory,
                domain::AgentType::McpServer => wit::AgentType::McpServer,
            }
        }

        pub(crate) fn timestamp(at: time::OffsetDateTime) -> wit::Timestamp {
            wit::Timestamp {
                seconds: at.unix_timestamp(),
                nanoseconds: at.nanosecond(),
            }
        }

        fn verdict(verdict: wit::Verdict) -> Verdict {
            match verdict {
                wit::Verdict::Approve => Verdict::Approve,
                wit::Verdict::Deny(reason) => Verdict::Deny(reason),
                wit::Verdict::Review(reason) => Verdict::Review(reason),
            }
        }

        fn annotations(annotations: Vec<wit::Annotation>) -> Vec<Annotation> {
            annotations
                .into_iter()
                .map(|a| Annotation {
                    key: a.key,
                    value: a.value,
                })
                .collect()
        }

        /// A risk plugin's answer, unchecked.
        pub(crate) fn assessment(
            answer: Result<wit::Assessment, wit::PluginError>,
        ) -> Result<Assessment, OwnError> {
            answer.map_err(own_error).map(|assessment| Assessment {
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

        fn own_error(error: wit::PluginError) -> OwnError {
            OwnError {
                code: error.code,
                message: error.message,
            }
        }
    };
}

/// The parts of the context that a version up to 0.4.0 receives as an
/// owned copy, which the bindings lower (0.5.0's context is lowered
/// straight from the domain's values: `crate::lowered`).
macro_rules! owned_conversions {
    () => {
        fn money(money: &warrant_domain::money::Money) -> wit::Money {
            wit::Money {
                minor_units: money.minor_units,
                currency: money.currency.code().to_owned(),
            }
        }

        fn profile(profile: &domain::AgentProfile) -> wit::AgentProfile {
            wit::AgentProfile {
                purpose: profile.purpose.clone(),
                framework: profile.framework.clone(),
                capabilities: profile.capabilities.clone(),
                description: profile.description.clone(),
                department: profile.department.clone(),
                owner_contact: profile.owner_contact.clone(),
            }
        }

        fn risk(risk: &domain::RiskSummary) -> wit::RiskSummary {
            wit::RiskSummary {
                score: risk.score,
                signals: risk
                    .signals
                    .iter()
                    .map(|signal| wit::Signal {
                        name: signal.name.clone(),
                        score: signal.score,
                        detail: signal.detail.clone(),
                    })
                    .collect(),
            }
        }
    };
}

/// The intent, with the fields `$field: $value(intent)` a version adds.
macro_rules! intent_conversion {
    ($($field:ident: $value:expr),* $(,)?) => {
        fn intent(intent: &domain::Intent) -> wit::Intent {
            wit::Intent {
                id: intent.id.clone(),
                amount: intent.amount.as_ref().map(money),
                merchant: intent.merchant.clone(),
                card: match &intent.card {
                    domain::Card::Id(id) => wit::Card::Id(id.clone()),
                    domain::Card::Name(name) => wit::Card::Name(name.clone()),
                },
                purpose: intent.purpose.clone(),
                recurring: intent.recurring.map(recurring),
                client_intent_id: intent.client_intent_id.clone(),
                ttl_minutes: intent.ttl_minutes,
                $($field: ($value)(intent),)*
            }
        }

    };
}

/// A usage window without its flagged settlements, as 0.1.0 and 0.2.0
/// plugins receive it.
macro_rules! window_without_flags {
    () => {
        pub(crate) fn window(w: &domain::WindowUsage) -> wit::WindowUsage {
            wit::WindowUsage {
                count: w.count,
                spend: w.spend,
            }
        }
    };
}

/// `warrant:policy@0.1.0`.
pub(crate) mod v1 {
    use crate::bindings::v1::types as wit;

    shared_conversions!();
    owned_conversions!();
    intent_conversion!();
    window_without_flags!();

    /// The context as a 0.1.0 plugin receives it: without the baseline,
    /// the time zone and the charge.
    pub(crate) fn context(cx: &domain::EvaluationContext) -> wit::Context {
        let agent = &cx.agent;
        let usage = &cx.usage;
        wit::Context {
            intent: intent(&cx.intent),
            agent: wit::Agent {
                id: agent.id.clone(),
                name: agent.name.clone(),
                status: status(agent.status),
                agent_type: agent_type(agent.agent_type),
                profile: profile(&agent.profile),
                tags: agent.tags.clone(),
                metadata: metadata_text(agent),
            },
            usage: wit::Usage {
                currency: usage.currency.code().to_owned(),
                last_minute: window(&usage.last_minute),
                last_hour: window(&usage.last_hour),
                last_day: window(&usage.last_day),
                last_week: window(&usage.last_week),
                last_month: window(&usage.last_month),
                calendar_day: window(&usage.calendar_day),
                calendar_month: window(&usage.calendar_month),
                merchant_last_month: window(&usage.merchant_last_month),
            },
            risk: cx.risk.as_ref().map(risk),
            now: timestamp(cx.now),
        }
    }

    /// A policy plugin's answer, unchecked; a 0.1.0 plugin asks for no
    /// actions.
    pub(crate) fn decision(
        answer: Result<wit::Decision, wit::PluginError>,
    ) -> Result<Decision, OwnError> {
        answer.map_err(own_error).map(|decision| Decision {
            verdict: verdict(decision.verdict),
            codes: decision.codes,
            annotations: annotations(decision.annotations),
            actions: Vec::new(),
        })
    }
}

/// The context from 0.2.0 to 0.4.0: the same shape in every version, each
/// with its own `window` and `intent`.
macro_rules! context_since_v2 {
    () => {
        /// The context as a plugin of this version receives it.
        pub(crate) fn context(cx: &domain::EvaluationContext) -> wit::Context {
            let agent = &cx.agent;
            let usage = &cx.usage;
            wit::Context {
                intent: intent(&cx.intent),
                agent: wit::Agent {
                    id: agent.id.clone(),
                    name: agent.name.clone(),
                    status: status(agent.status),
                    agent_type: agent_type(agent.agent_type),
                    profile: profile(&agent.profile),
                    tags: agent.tags.clone(),
                    metadata: metadata_text(agent),
                    baseline: agent.baseline.as_ref().map(|baseline| wit::Baseline {
                        currency: baseline.currency.code().to_owned(),
                        amount_mean: baseline.amount_mean,
                        amount_std_dev: baseline.amount_std_dev,
                        intents_per_day: baseline.intents_per_day,
                        active_hours: baseline.active_hours.clone(),
                        merchants: baseline.merchants.clone(),
                        set_at: timestamp(baseline.set_at),
                    }),
                },
                usage: wit::Usage {
                    currency: usage.currency.code().to_owned(),
                    timezone: usage.timezone.clone(),
                    last_minute: window(&usage.last_minute),
                    last_hour: window(&usage.last_hour),
                    last_day: window(&usage.last_day),
                    last_week: window(&usage.last_week),
                    last_month: window(&usage.last_month),
                    calendar_day: window(&usage.calendar_day),
                    calendar_month: window(&usage.calendar_month),
                    merchant_last_month: window(&usage.merchant_last_month),
                },
                risk: cx.risk.as_ref().map(risk),
                now: timestamp(cx.now),
                charge: cx.charge.as_ref().map(|charge| wit::Charge {
                    amount: money(&charge.amount),
                    merchant: charge.merchant.clone(),
                    at: timestamp(charge.at),
                    series_start: timestamp(charge.series_start),
                    previous: charge.previous.iter().map(|at| timestamp(at.0)).collect(),
                }),
            }
        }
    };
}

/// A policy plugin's answer from 0.2.0 on, which may ask for actions.
macro_rules! decision_since_v2 {
    () => {
        /// A policy plugin's answer, unchecked.
        pub(crate) fn decision(
            answer: Result<wit::Decision, wit::PluginError>,
        ) -> Result<Decision, OwnError> {
            answer.map_err(own_error).map(|decision| Decision {
                verdict: verdict(decision.verdict),
                codes: decision.codes,
                annotations: annotations(decision.annotations),
                actions: decision
                    .actions
                    .into_iter()
                    .map(|a| Action {
                        kind: a.kind,
                        message: a.message,
                    })
                    .collect(),
            })
        }
    };
}

/// `warrant:policy@0.2.0`.
pub(crate) mod v2 {
    use crate::bindings::v2::types as wit;

    shared_conversions!();
    intent_conversion!();
    window_without_flags!();
    owned_conversions!();
    context_since_v2!();
    decision_since_v2!();
}

/// A usage window with its flagged settlements, from 0.3.0 on.
macro_rules! window_with_flags {
    () => {
        pub(crate) fn window(w: &domain::WindowUsage) -> wit::WindowUsage {
            wit::WindowUsage {
                count: w.count,
                spend: w.spend,
                flagged_count: w.flagged_count,
                flagged_spend: w.flagged_spend,
            }
        }
    };
}

/// `warrant:policy@0.3.0`.
pub(crate) mod v3 {
    use crate::bindings::v3::types as wit;

    shared_conversions!();
    intent_conversion!();
    window_with_flags!();
    owned_conversions!();
    context_since_v2!();
    decision_since_v2!();
}

/// `warrant:policy@0.4.0`: the intent says which of the agent's keys
/// signed it.
pub(crate) mod v4 {
    use crate::bindings::v4::types as wit;

    shared_conversions!();
    intent_conversion!(signed_by: |intent: &domain::Intent| intent.signed_by.clone());
    window_with_flags!();
    owned_conversions!();
    context_since_v2!();
    decision_since_v2!();
}

/// `warrant:policy@0.5.0`: the types of 0.4.0; the plugin's log lines
/// come back with its answer.
pub(crate) mod v5 {
    use crate::bindings::v5::types as wit;
    use crate::ctx::LogBuffer;
    use warrant_domain::plugin::LogLevel;

    shared_conversions!();
    window_with_flags!();
    decision_since_v2!();

    /// What `prepare` made of a configuration, checked: the plugin's own
    /// refusal is a failure with its code, as an answer's is.
    pub(crate) fn prepared(
        answer: Result<Vec<u8>, wit::PluginError>,
        limits: &Limits,
    ) -> Result<Vec<u8>, PluginFailure> {
        let bytes = plugin_answer(answer.map_err(own_error), limits)?;
        if bytes.len() > MAX_PREPARED_BYTES {
            return Err(PluginFailure::new(
                FailureKind::Output,
                format!(
                    "the prepared configuration holds {} bytes, over the limit of {MAX_PREPARED_BYTES}",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
    }

    /// Keeps the lines a plugin returned in the call's log, which bounds
    /// them as it bounds lines logged through the host's `log` import.
    pub(crate) fn keep_log(log: wit::Log, buffer: &mut LogBuffer) {
        for line in log.lines {
            let level = match line.level {
                wit::LogLevel::Debug => LogLevel::Debug,
                wit::LogLevel::Info => LogLevel::Info,
                wit::LogLevel::Warn => LogLevel::Warn,
                wit::LogLevel::Error => LogLevel::Error,
            };
            buffer.push(level, line.message);
        }
        buffer.count_dropped(usize::try_from(log.dropped).unwrap_or(usize::MAX));
    }
}

/// Checks a policy plugin's answer against the contract and `limits`.
pub(crate) fn decision(
    answer: Result<Decision, OwnError>,
    limits: &Limits,
) -> Result<Decision, PluginFailure> {
    let decision = plugin_answer(answer, limits)?;
    check_items(decision.codes.len() + decision.annotations.len() + decision.actions.len())?;
    let text = decision
        .verdict
        .reason()
        .into_iter()
        .chain(decision.codes.iter().map(String::as_str))
        .chain(
            decision
                .annotations
                .iter()
                .flat_map(|a| [a.key.as_str(), a.value.as_str()]),
        )
        .chain(
            decision
                .actions
                .iter()
                .flat_map(|a| [a.kind.as_str(), a.message.as_str()]),
        );
    check_text(text, limits)?;
    Ok(decision)
}

/// Checks a risk plugin's answer against the contract and `limits`.
pub(crate) fn assessment(
    answer: Result<Assessment, OwnError>,
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
    Ok(assessment)
}

/// Turns the plugin's own error into a failure, after checking its size.
fn plugin_answer<T>(answer: Result<T, OwnError>, limits: &Limits) -> Result<T, PluginFailure> {
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
                "the answer has {count} codes, annotations, signals or actions, over the limit of {MAX_ANSWER_ITEMS}"
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
