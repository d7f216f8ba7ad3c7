//! What a plugin sees when it decides: the evaluation context.
//!
//! These types mirror the `types` interface of the WIT package in `wit/`
//! field by field; the runtime converts them to the generated bindings. They
//! serialize in the camelCase JSON shape of Warrant's API.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::money::{Currency, Money};

/// Everything a plugin knows when it decides on one intent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvaluationContext {
    /// What is being asked for.
    pub intent: Intent,
    /// Who is asking.
    pub agent: Agent,
    /// What the agent did before.
    #[serde(default)]
    pub usage: Usage,
    /// The aggregated risk of the policy's risk plugins; none for risk
    /// plugins themselves and for policies without risk plugins.
    #[serde(default)]
    pub risk: Option<RiskSummary>,
    /// The time of the decision. Plugins read the time only from here.
    #[serde(with = "time::serde::rfc3339")]
    pub now: OffsetDateTime,
    /// The charge being checked, when the policy's charge rules run for a
    /// charge of a recurring intent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge: Option<Charge>,
}

/// A charge reported against a recurring intent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Charge {
    /// What was charged.
    pub amount: Money,
    /// Who charged it.
    pub merchant: String,
    /// When it was charged.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// When the series began: the time the intent was declared.
    #[serde(with = "time::serde::rfc3339")]
    pub series_start: OffsetDateTime,
    /// When the series' earlier accepted charges were made, oldest first.
    #[serde(default)]
    pub previous: Vec<Timestamp>,
}

/// A point in time that serializes as RFC 3339 text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(#[serde(with = "time::serde::rfc3339")] pub OffsetDateTime);

/// What is usual for an agent; anomaly plugins compare an intent with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Baseline {
    /// The currency of the amounts.
    pub currency: Currency,
    /// The mean amount, in minor units (stored before as `amountMean`).
    #[serde(rename = "amountMeanMinor", alias = "amountMean")]
    pub amount_mean: u64,
    /// The standard deviation of the amounts, in minor units.
    #[serde(rename = "amountStdDevMinor", alias = "amountStdDev")]
    pub amount_std_dev: u64,
    /// Intents declared on a usual day.
    pub intents_per_day: u32,
    /// Hours of the day (0..=23, UTC) in which the agent is usually active.
    #[serde(default)]
    pub active_hours: Vec<u8>,
    /// Merchants (lower case) the agent usually pays.
    #[serde(default)]
    pub merchants: Vec<String>,
    /// When it was set.
    #[serde(with = "time::serde::rfc3339")]
    pub set_at: OffsetDateTime,
}

/// What an agent declares it wants to pay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Intent {
    /// The intent's id (`int_…`); empty in a dry run.
    #[serde(default)]
    pub id: String,
    /// The expected amount, if the agent gave one.
    #[serde(default)]
    pub amount: Option<Money>,
    /// The expected merchant, if the agent gave one.
    #[serde(default)]
    pub merchant: Option<String>,
    /// The card to charge.
    pub card: Card,
    /// Why the agent wants to pay.
    pub purpose: String,
    /// The terms of a series of charges, for a recurring intent.
    #[serde(default)]
    pub recurring: Option<RecurringTerms>,
    /// The agent's own de-duplication key.
    #[serde(default)]
    pub client_intent_id: Option<String>,
    /// Minutes the intent stays valid.
    pub ttl_minutes: u32,
    /// The id of the agent's key whose signature the declaring request
    /// carried, checked; none when it was not signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
}

impl Intent {
    /// The currency the intent's spend is counted in: its amount's, or
    /// EUR when it gave none.
    pub fn currency(&self) -> Currency {
        self.amount.map_or(Currency::EUR, |amount| amount.currency)
    }
}

/// A merchant as usage counts and baselines compare it: lower case.
pub fn merchant_key(merchant: &str) -> String {
    merchant.to_lowercase()
}

/// The card an intent is paid with: its id or its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Card {
    /// A card id, `ca_…`.
    Id(String),
    /// A card name the tenant gave, e.g. `subscriptions`.
    Name(String),
}

/// How often a recurring intent charges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cadence {
    /// Every day.
    Daily,
    /// Every week.
    Weekly,
    /// Every month.
    Monthly,
    /// Every year.
    Yearly,
}

/// The terms of an intent that authorizes a series of charges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecurringTerms {
    /// How often a charge is expected.
    pub cadence: Cadence,
    /// Days a charge may come before its due date.
    pub window_start_days_before: u32,
    /// Days a charge may come after its due date.
    pub window_end_days_after: u32,
    /// Allowed deviation of a charge's amount, in basis points (1000 = 10 %).
    pub amount_tolerance_bps: u32,
    /// Whether every charge must come from the intent's merchant.
    pub merchant_match: bool,
}

/// Whether an agent may act.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// May submit intents.
    #[default]
    Active,
    /// Paused by its tenant.
    Frozen,
    /// Stopped by a governance action.
    Suspended,
    /// Deleted; kept for the record.
    Archived,
}

impl AgentStatus {
    /// The status as the API writes it: `active`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Frozen => "frozen",
            AgentStatus::Suspended => "suspended",
            AgentStatus::Archived => "archived",
        }
    }
}

/// How much human oversight an agent runs under.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentType {
    /// Acts on its own.
    Autonomous,
    /// A human oversees it.
    #[default]
    Supervised,
    /// Only recommends.
    Advisory,
    /// A Model Context Protocol server.
    McpServer,
}

/// What an agent is for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentProfile {
    /// What the agent does.
    pub purpose: String,
    /// The framework it runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    /// What it can do.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// A longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A cost-centre tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Who to escalate to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_contact: Option<String>,
}

/// The agent that declared an intent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Agent {
    /// `ag_…`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether it may act.
    pub status: AgentStatus,
    /// How much oversight it runs under.
    pub agent_type: AgentType,
    /// What it is for.
    pub profile: AgentProfile,
    /// Tags.
    pub tags: Vec<String>,
    /// Free-form metadata, a JSON object.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// What is usual for it, once its tenant sets a baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
}

impl Default for Agent {
    /// An active, supervised agent: what `warrant eval` assumes when it is
    /// given no agent.
    fn default() -> Self {
        Agent {
            id: "ag_local".into(),
            name: "local agent".into(),
            status: AgentStatus::Active,
            agent_type: AgentType::Supervised,
            profile: AgentProfile {
                purpose: "local evaluation".into(),
                ..AgentProfile::default()
            },
            tags: Vec::new(),
            metadata: serde_json::Map::new(),
            baseline: None,
        }
    }
}

/// Intents declared in a window, and what they spend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct WindowUsage {
    /// Intents declared, whatever their currency.
    pub count: u64,
    /// Their spend in minor units of [`Usage::currency`].
    #[serde(rename = "spendMinor", alias = "spend")]
    pub spend: u64,
    /// Those of them whose settlement, as the agent reported it, was
    /// flagged and not confirmed by the tenant since.
    pub flagged_count: u64,
    /// What the flagged ones declared, in minor units of
    /// [`Usage::currency`].
    #[serde(rename = "flaggedSpendMinor", alias = "flaggedSpend")]
    pub flagged_spend: u64,
}

/// An agent's activity before the intent being decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Usage {
    /// The currency spend is counted in.
    pub currency: Currency,
    /// The IANA time zone of the calendar windows.
    pub timezone: String,
    /// The last 60 seconds.
    pub last_minute: WindowUsage,
    /// The last 60 minutes.
    pub last_hour: WindowUsage,
    /// The last 24 hours.
    pub last_day: WindowUsage,
    /// The last 7 days.
    pub last_week: WindowUsage,
    /// The last 30 days.
    pub last_month: WindowUsage,
    /// Since midnight in the policy's time zone.
    pub calendar_day: WindowUsage,
    /// Since the first of the month in the policy's time zone.
    pub calendar_month: WindowUsage,
    /// The last 30 days with this intent's merchant.
    pub merchant_last_month: WindowUsage,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            currency: Currency::EUR,
            timezone: "UTC".to_owned(),
            last_minute: WindowUsage::default(),
            last_hour: WindowUsage::default(),
            last_day: WindowUsage::default(),
            last_week: WindowUsage::default(),
            last_month: WindowUsage::default(),
            calendar_day: WindowUsage::default(),
            calendar_month: WindowUsage::default(),
            merchant_last_month: WindowUsage::default(),
        }
    }
}

/// One factor behind a risk score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Signal {
    /// A short stable name, e.g. `new-merchant`.
    pub name: String,
    /// Its weight, 0..=100.
    pub score: u8,
    /// Free text.
    #[serde(default)]
    pub detail: String,
}

/// The combined answer of a policy's risk plugins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RiskSummary {
    /// The highest score, 0..=100.
    pub score: u8,
    /// Every risk plugin's signals, in policy order.
    #[serde(default)]
    pub signals: Vec<Signal>,
}
