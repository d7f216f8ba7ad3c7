//! Runs a plugin's function natively, the way the host runs it in
//! WebAssembly: the configuration is parsed from JSON first, and an invalid
//! one is an `invalid-config` error.
//!
//! ```
//! use warrant_sdk::prelude::*;
//! use warrant_sdk::testing;
//!
//! #[derive(Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct Config {
//!     max_amount_euros: Amount,
//! }
//!
//! fn evaluate(cx: &Context, config: Config) -> Result<Decision, PluginError> {
//!     let max = config.max_amount_euros.to_minor_units(2).unwrap_or(u64::MAX);
//!     match &cx.intent.amount {
//!         Some(amount) if amount.minor_units > max => Ok(deny("over the limit")),
//!         _ => Ok(approve()),
//!     }
//! }
//!
//! let mut cx = testing::context();
//! cx.intent.amount = Some(Money::eur(15_000));
//! let decision = testing::evaluate(evaluate, &cx, r#"{"maxAmountEuros": 100}"#).unwrap();
//! assert!(decision.is_deny());
//!
//! let error = testing::evaluate(evaluate, &cx, r#"{"max": 100}"#).unwrap_err();
//! assert_eq!(error.code, "invalid-config");
//! ```

use alloc::vec::Vec;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{
    Agent, AgentProfile, AgentStatus, AgentType, Assessment, Card, Context, Decision, Intent,
    PluginError, Timestamp, Usage, WindowUsage,
};

/// 2026-01-01T00:00:00Z, the `now` of [`context`].
pub const NOW: Timestamp = Timestamp {
    seconds: 1_767_225_600,
    nanoseconds: 0,
};

/// A context to start a test from: an intent with no amount and no
/// merchant, paid with the card named `main`, from an active supervised
/// agent with no history, at [`NOW`].
pub fn context() -> Context {
    let zero = WindowUsage {
        count: 0,
        spend: 0,
        flagged_count: 0,
        flagged_spend: 0,
    };
    Context {
        intent: Intent {
            id: "int_test".into(),
            amount: None,
            merchant: None,
            card: Card::Name("main".into()),
            purpose: "test".into(),
            recurring: None,
            client_intent_id: None,
            ttl_minutes: 1440,
            signed_by: None,
        },
        agent: Agent {
            id: "ag_test".into(),
            name: "test agent".into(),
            status: AgentStatus::Active,
            agent_type: AgentType::Supervised,
            profile: AgentProfile {
                purpose: "testing".into(),
                framework: None,
                capabilities: Vec::new(),
                description: None,
                department: None,
                owner_contact: None,
            },
            tags: Vec::new(),
            metadata: "{}".into(),
            baseline: None,
        },
        usage: Usage {
            currency: "EUR".into(),
            timezone: "UTC".into(),
            last_minute: zero,
            last_hour: zero,
            last_day: zero,
            last_week: zero,
            last_month: zero,
            calendar_day: zero,
            calendar_month: zero,
            merchant_last_month: zero,
        },
        risk: None,
        now: NOW,
        charge: None,
    }
}

/// Runs a policy function as the host would, with `config` as JSON text.
pub fn evaluate<C, F>(evaluate: F, context: &Context, config: &str) -> Result<Decision, PluginError>
where
    C: DeserializeOwned,
    F: FnOnce(&Context, C) -> Result<Decision, PluginError>,
{
    crate::__private::run_policy(evaluate, context, config)
}

/// Runs a policy function that has a preparation as the host would:
/// `config`, JSON text, parsed and given to `prepare`, whose answer is
/// kept in its binary form and read back for `evaluate`.
pub fn evaluate_prepared<C, P, G, F>(
    prepare: G,
    evaluate: F,
    context: &Context,
    config: &str,
) -> Result<Decision, PluginError>
where
    C: DeserializeOwned,
    P: Serialize + DeserializeOwned,
    G: FnOnce(C) -> Result<P, PluginError>,
    F: FnOnce(&Context, P) -> Result<Decision, PluginError>,
{
    let prepared = crate::__private::prepare_with(prepare, config)?;
    evaluate(context, crate::__private::read_prepared(&prepared)?)
}

/// [`evaluate_prepared`] for a risk function.
pub fn assess_prepared<C, P, G, F>(
    prepare: G,
    assess: F,
    context: &Context,
    config: &str,
) -> Result<Assessment, PluginError>
where
    C: DeserializeOwned,
    P: Serialize + DeserializeOwned,
    G: FnOnce(C) -> Result<P, PluginError>,
    F: FnOnce(&Context, P) -> Result<Assessment, PluginError>,
{
    let prepared = crate::__private::prepare_with(prepare, config)?;
    assess(context, crate::__private::read_prepared(&prepared)?)
}

/// Runs a risk function as the host would, with `config` as JSON text.
pub fn assess<C, F>(assess: F, context: &Context, config: &str) -> Result<Assessment, PluginError>
where
    C: DeserializeOwned,
    F: FnOnce(&Context, C) -> Result<Assessment, PluginError>,
{
    crate::__private::run_risk(assess, context, config)
}

/// Takes the lines logged on this thread so far (native builds only).
#[cfg(not(target_arch = "wasm32"))]
pub fn take_logs() -> Vec<(crate::log::LogLevel, alloc::string::String)> {
    crate::log::native::LINES.with(|lines| core::mem::take(&mut *lines.borrow_mut()))
}
