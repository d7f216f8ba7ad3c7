//! The 0.5.0 context as it is lowered into a plugin: the records of
//! `wit/0.5.0/warrant.wit`, field for field, borrowing the domain's values
//! instead of owning copies of them.
//!
//! The bindings' own `Context` owns every string and list it holds, so
//! each call would first copy some twenty strings of the decision's context
//! on the host, only to copy them again into the plugin's memory and free
//! them. These types are lowered straight from the domain's values: only
//! the card (a variant, which Wasmtime's derive cannot give a borrowed
//! payload) and a charge's earlier dates are copied.
//!
//! A 0.5.0 plugin's export was checked against the WIT when the plugin was
//! loaded. These types are checked against that same WIT type by Wasmtime
//! itself, through real 0.5.0 components of both worlds, in the test
//! `a_plugin_sees_every_field_of_the_context_lowered_from_the_domain`
//! (`plugin.rs`), which also compares what a plugin sees of them with what
//! it sees of the bindings' owned copy. That is what makes passing them
//! unchecked to every 0.5.0 plugin sound; a change to the WIT of 0.5.0
//! (which a published contract never gets) would fail that test.

use wasmtime::component::{ComponentType, Lower};

use crate::bindings::v5::types as wit;
use crate::convert::v5::{agent_type, recurring, status, timestamp, window};
use warrant_domain::context as domain;
use warrant_domain::money::Money as DomainMoney;

/// `context`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct Context<'a> {
    intent: Intent<'a>,
    agent: Agent<'a>,
    usage: Usage<'a>,
    risk: Option<RiskSummary<'a>>,
    now: wit::Timestamp,
    charge: Option<Charge<'a>>,
}

/// `intent`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct Intent<'a> {
    id: &'a str,
    amount: Option<Money<'a>>,
    merchant: Option<&'a str>,
    card: wit::Card,
    purpose: &'a str,
    recurring: Option<wit::RecurringTerms>,
    #[component(name = "client-intent-id")]
    client_intent_id: Option<&'a str>,
    #[component(name = "ttl-minutes")]
    ttl_minutes: u32,
    #[component(name = "signed-by")]
    signed_by: Option<&'a str>,
}

/// `money`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct Money<'a> {
    #[component(name = "minor-units")]
    minor_units: u64,
    currency: &'a str,
}

/// `agent`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct Agent<'a> {
    id: &'a str,
    name: &'a str,
    status: wit::AgentStatus,
    #[component(name = "agent-type")]
    agent_type: wit::AgentType,
    profile: AgentProfile<'a>,
    tags: &'a [String],
    metadata: &'a str,
    baseline: Option<Baseline<'a>>,
}

/// `agent-profile`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct AgentProfile<'a> {
    purpose: &'a str,
    framework: Option<&'a str>,
    capabilities: &'a [String],
    description: Option<&'a str>,
    department: Option<&'a str>,
    #[component(name = "owner-contact")]
    owner_contact: Option<&'a str>,
}

/// `baseline`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct Baseline<'a> {
    currency: &'a str,
    #[component(name = "amount-mean")]
    amount_mean: u64,
    #[component(name = "amount-std-dev")]
    amount_std_dev: u64,
    #[component(name = "intents-per-day")]
    intents_per_day: u32,
    #[component(name = "active-hours")]
    active_hours: &'a [u8],
    merchants: &'a [String],
    #[component(name = "set-at")]
    set_at: wit::Timestamp,
}

/// `usage`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct Usage<'a> {
    currency: &'a str,
    timezone: &'a str,
    #[component(name = "last-minute")]
    last_minute: wit::WindowUsage,
    #[component(name = "last-hour")]
    last_hour: wit::WindowUsage,
    #[component(name = "last-day")]
    last_day: wit::WindowUsage,
    #[component(name = "last-week")]
    last_week: wit::WindowUsage,
    #[component(name = "last-month")]
    last_month: wit::WindowUsage,
    #[component(name = "calendar-day")]
    calendar_day: wit::WindowUsage,
    #[component(name = "calendar-month")]
    calendar_month: wit::WindowUsage,
    #[component(name = "merchant-last-month")]
    merchant_last_month: wit::WindowUsage,
}

/// `risk-summary`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct RiskSummary<'a> {
    score: u8,
    signals: Vec<Signal<'a>>,
}

/// `signal`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct Signal<'a> {
    name: &'a str,
    score: u8,
    detail: &'a str,
}

/// `charge`.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct Charge<'a> {
    amount: Money<'a>,
    merchant: &'a str,
    at: wit::Timestamp,
    #[component(name = "series-start")]
    series_start: wit::Timestamp,
    previous: Vec<wit::Timestamp>,
}

impl<'a> Context<'a> {
    /// The context of `cx` as a 0.5.0 plugin receives it, with the agent's
    /// `metadata` text ([`crate::convert::metadata_text`]), written once
    /// per call before the context that borrows it.
    pub(crate) fn of(cx: &'a domain::EvaluationContext, metadata: &'a str) -> Self {
        let agent = &cx.agent;
        let usage = &cx.usage;
        Context {
            intent: intent(&cx.intent),
            agent: Agent {
                id: &agent.id,
                name: &agent.name,
                status: status(agent.status),
                agent_type: agent_type(agent.agent_type),
                profile: AgentProfile {
                    purpose: &agent.profile.purpose,
                    framework: agent.profile.framework.as_deref(),
                    capabilities: &agent.profile.capabilities,
                    description: agent.profile.description.as_deref(),
                    department: agent.profile.department.as_deref(),
                    owner_contact: agent.profile.owner_contact.as_deref(),
                },
                tags: &agent.tags,
                metadata,
                baseline: agent.baseline.as_ref().map(|baseline| Baseline {
                    currency: baseline.currency.code(),
                    amount_mean: baseline.amount_mean,
                    amount_std_dev: baseline.amount_std_dev,
                    intents_per_day: baseline.intents_per_day,
                    active_hours: &baseline.active_hours,
                    merchants: &baseline.merchants,
                    set_at: timestamp(baseline.set_at),
                }),
            },
            usage: Usage {
                currency: usage.currency.code(),
                timezone: &usage.timezone,
                last_minute: window(&usage.last_minute),
                last_hour: window(&usage.last_hour),
                last_day: window(&usage.last_day),
                last_week: window(&usage.last_week),
                last_month: window(&usage.last_month),
                calendar_day: window(&usage.calendar_day),
                calendar_month: window(&usage.calendar_month),
                merchant_last_month: window(&usage.merchant_last_month),
            },
            risk: cx.risk.as_ref().map(|risk| RiskSummary {
                score: risk.score,
                signals: risk
                    .signals
                    .iter()
                    .map(|signal| Signal {
                        name: &signal.name,
                        score: signal.score,
                        detail: &signal.detail,
                    })
                    .collect(),
            }),
            now: timestamp(cx.now),
            charge: cx.charge.as_ref().map(|charge| Charge {
                amount: money(&charge.amount),
                merchant: &charge.merchant,
                at: timestamp(charge.at),
                series_start: timestamp(charge.series_start),
                previous: charge.previous.iter().map(|at| timestamp(at.0)).collect(),
            }),
        }
    }
}

fn intent(intent: &domain::Intent) -> Intent<'_> {
    Intent {
        id: &intent.id,
        amount: intent.amount.as_ref().map(money),
        merchant: intent.merchant.as_deref(),
        card: match &intent.card {
            domain::Card::Id(id) => wit::Card::Id(id.clone()),
            domain::Card::Name(name) => wit::Card::Name(name.clone()),
        },
        purpose: &intent.purpose,
        recurring: intent.recurring.map(recurring),
        client_intent_id: intent.client_intent_id.as_deref(),
        ttl_minutes: intent.ttl_minutes,
        signed_by: intent.signed_by.as_deref(),
    }
}

fn money(money: &DomainMoney) -> Money<'static> {
    Money {
        minor_units: money.minor_units,
        currency: money.currency.code(),
    }
}
