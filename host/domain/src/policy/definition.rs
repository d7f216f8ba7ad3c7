//! A policy as a tenant writes it ([`StepRequest`]) and as the store keeps
//! each version of it ([`PolicyDefinition`]: every step resolved to one
//! exact component), and the limits on what one decision may cost.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ValidationError;
use crate::context::Intent;
use crate::money::{Currency, Money};
use crate::plugin::{Limits, World};
use crate::policy::{Mode, OnError};

/// The largest configuration of one rule or risk step, in bytes of JSON.
pub const MAX_STEP_CONFIG_BYTES: usize = 64 << 10;
/// The largest configuration of all the steps of a policy together.
pub const MAX_POLICY_CONFIG_BYTES: usize = 256 << 10;
/// The most wall-clock time the plugins of one decision may be given in
/// all: the deadlines of its risk steps and rules added up (and, apart,
/// of its charge rules).
pub const MAX_DECISION_TIMEOUT_MS: u64 = 2_000;
/// The most memory one plugin call of a policy may be given. A decision
/// runs its plugins one after another, each on a fresh instance, so this
/// is also the most a decision holds at once.
pub const MAX_DECISION_MEMORY_BYTES: u64 = 256 << 20;
/// The most rules, risk steps or charge rules in one policy.
pub const MAX_STEPS: usize = 64;
/// The most approvals from different keys an intent may need.
pub const MAX_APPROVALS: u32 = 5;
/// The time zone of the calendar windows of a policy that names none.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// A rule or risk step as a tenant writes it: a plugin by name, id or
/// `name@version`, and how to run it.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepRequest {
    /// The plugin: a built-in's name, `name@1.2.0`, `plg_…`, or a name
    /// alone (the highest version).
    pub plugin: String,
    /// Its configuration; `{}` when absent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub config: Option<Box<RawValue>>,
    /// What its failure counts as.
    #[serde(default)]
    pub on_error: OnError,
    /// Whether its verdict counts (rules only).
    #[serde(default)]
    pub mode: Option<Mode>,
    /// What one call may use.
    #[serde(default)]
    pub limits: Option<Limits>,
}

impl StepRequest {
    /// The configuration's JSON text.
    pub fn config_text(&self) -> &str {
        self.config.as_deref().map_or("{}", RawValue::get)
    }

    /// The limits a call runs under.
    pub fn limits(&self) -> Limits {
        self.limits.unwrap_or_default()
    }

    /// Checks what the step itself says, before its plugin is looked up:
    /// its limits, and that only rules have a mode.
    pub fn check(&self, at: &str, world: World) -> Result<(), ValidationError> {
        self.limits()
            .check()
            .map_err(|e| ValidationError::new(format!("{at}.limits"), e))?;
        if world == World::Risk && self.mode.is_some() {
            return Err(ValidationError::new(
                format!("{at}.mode"),
                "risk steps always count; `mode` applies to rules",
            ));
        }
        Ok(())
    }
}

/// A rule or risk step as stored: the plugin resolved to one exact
/// component.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// The plugin's name.
    pub plugin: String,
    /// Its id: `plg_…`, or `plg_builtin_…`.
    pub plugin_id: String,
    /// Its version.
    pub plugin_version: String,
    /// The sha256 of its component.
    pub sha256: String,
    /// Its configuration, as JSON.
    #[schema(value_type = Object)]
    pub config: Box<RawValue>,
    /// What its failure counts as.
    pub on_error: OnError,
    /// Whether its verdict counts; none for a risk step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// What one call may use.
    pub limits: Limits,
}

/// One version of a policy, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDefinition {
    /// The rules, in order.
    pub rules: Vec<Step>,
    /// The risk steps, run first.
    pub risk: Vec<Step>,
    /// Rules run for each charge reported against a recurring intent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charges: Vec<Step>,
    /// The IANA time zone of the calendar windows.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// How far a settled amount may deviate from the expected one before
    /// verification flags it, for intents without recurring terms.
    pub amount_tolerance_bps: u32,
    /// Whether the built-in `settlement-review` runs after the rules:
    /// while the agent has flagged settlements the tenant has not
    /// confirmed, its intents go to a human. On unless turned off.
    #[serde(default = "on")]
    pub review_flagged_settlements: bool,
    /// Four eyes: how many approvals from different keys an intent that
    /// goes to a human needs; one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals_required: Option<Approvals>,
}

/// How many approvals from different keys an intent pending approval
/// needs before it is approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approvals {
    /// How many: 2 to [`MAX_APPROVALS`].
    pub count: u32,
    /// Only intents above this amount need them; every intent when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<Money>,
}

impl Approvals {
    /// The approvals `intent` needs: `count` unless it is shown to be at
    /// most `above` (an intent without an amount, or in another currency,
    /// is not).
    pub fn required_for(&self, intent: &Intent) -> u32 {
        match (&self.above, &intent.amount) {
            (Some(above), Some(amount))
                if amount.currency == above.currency && amount.minor_units <= above.minor_units =>
            {
                1
            }
            _ => self.count,
        }
    }
}

/// `approvalsRequired` as a tenant writes it:
/// `{"count": 2, "aboveEuros": 1000.00, "currency": "EUR"}`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalsRequest {
    /// How many approvals, from 1 (the default: one approval) to
    /// [`MAX_APPROVALS`].
    pub count: u32,
    /// Only intents above this amount need them.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub above_euros: Option<Box<RawValue>>,
    /// The currency of `aboveEuros`; EUR when absent.
    #[serde(default)]
    pub currency: Option<String>,
}

impl ApprovalsRequest {
    /// The setting as stored: none for a count of 1.
    pub fn check(&self) -> Result<Option<Approvals>, ValidationError> {
        if !(1..=MAX_APPROVALS).contains(&self.count) {
            return Err(ValidationError::new(
                "approvalsRequired.count",
                format!("must be from 1 to {MAX_APPROVALS}"),
            ));
        }
        let currency = match &self.currency {
            Some(code) => Currency::from_code(code)
                .map_err(|e| ValidationError::new("approvalsRequired.currency", e))?,
            None => Currency::EUR,
        };
        if self.above_euros.is_none() && self.currency.is_some() {
            return Err(ValidationError::new(
                "approvalsRequired.currency",
                "is the currency of `aboveEuros`, which is missing",
            ));
        }
        let above = self
            .above_euros
            .as_ref()
            .map(|raw| {
                Money::parse(raw.get(), currency)
                    .map_err(|e| ValidationError::new("approvalsRequired.aboveEuros", e))
            })
            .transpose()?;
        Ok((self.count > 1).then_some(Approvals {
            count: self.count,
            above,
        }))
    }
}

fn default_timezone() -> String {
    DEFAULT_TIMEZONE.to_owned()
}

fn on() -> bool {
    true
}

impl PolicyDefinition {
    /// A stored version's definition.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The definition as stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a policy definition serializes")
    }

    /// The configurations of the enforced rules that run the plugin
    /// `plugin_id`, in order.
    pub fn enforced_configs(&self, plugin_id: &str) -> Vec<&RawValue> {
        self.rules
            .iter()
            .filter(|step| step.plugin_id == plugin_id && step.mode != Some(Mode::Monitor))
            .map(|step| step.config.as_ref())
            .collect()
    }

    /// Whether a risk step runs the plugin `plugin_id`.
    pub fn assesses_with(&self, plugin_id: &str) -> bool {
        self.risk.iter().any(|step| step.plugin_id == plugin_id)
    }

    /// Every plugin the definition runs, by id.
    pub fn plugin_ids(&self) -> Vec<String> {
        self.rules
            .iter()
            .chain(&self.risk)
            .chain(&self.charges)
            .map(|step| step.plugin_id.clone())
            .collect()
    }

    /// The time zone of the calendar windows.
    pub fn zone(&self) -> Result<jiff::tz::TimeZone, ValidationError> {
        time_zone("timezone", &self.timezone)
    }
}

/// The IANA time zone called `name`, or a mistake in `field`.
pub fn time_zone(field: &str, name: &str) -> Result<jiff::tz::TimeZone, ValidationError> {
    jiff::tz::TimeZone::get(name).map_err(|_| {
        ValidationError::new(
            field,
            format!("`{name}` is not an IANA time zone (e.g. `Europe/Berlin`, `UTC`)"),
        )
    })
}

/// A policy must have a rule whose verdict counts (`modes` are its rules'
/// modes, enforced unless given): Warrant approves nothing on its own.
pub fn check_enforced(
    modes: impl IntoIterator<Item = Option<Mode>>,
) -> Result<(), ValidationError> {
    if modes.into_iter().any(|mode| mode != Some(Mode::Monitor)) {
        return Ok(());
    }
    Err(ValidationError::new(
        "rules",
        "must have at least one rule in `enforce` mode: Warrant approves nothing on its own",
    ))
}

/// Refuses a list of more than [`MAX_STEPS`] steps.
pub fn check_count(list: &str, count: usize) -> Result<(), ValidationError> {
    if count > MAX_STEPS {
        return Err(ValidationError::new(
            list,
            format!("must have at most {MAX_STEPS} entries"),
        ));
    }
    Ok(())
}

/// A step as [`check_costs`] reads it: its place (`rules[2]`), its
/// configuration's text and its limits.
pub type StepCost<'a> = (String, &'a str, Limits);

/// The costs of a list of steps as requested.
pub fn requested_costs<'a>(list: &str, steps: &'a [StepRequest]) -> Vec<StepCost<'a>> {
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| (format!("{list}[{i}]"), step.config_text(), step.limits()))
        .collect()
}

/// The costs of a list of steps as stored.
fn stored_costs<'a>(list: &str, steps: &'a [Step]) -> Vec<StepCost<'a>> {
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| (format!("{list}[{i}]"), step.config.get(), step.limits))
        .collect()
}

/// The costs of a list a change gives, or else of the stored one.
pub fn changed_costs<'a>(
    list: &str,
    given: Option<&'a [StepRequest]>,
    stored: &'a [Step],
) -> Vec<StepCost<'a>> {
    match given {
        Some(steps) => requested_costs(list, steps),
        None => stored_costs(list, stored),
    }
}

/// Refuses, before anything runs, a policy whose steps would cost more
/// than a decision may: a configuration over [`MAX_STEP_CONFIG_BYTES`], or
/// all of them over [`MAX_POLICY_CONFIG_BYTES`]; a step's memory over
/// [`MAX_DECISION_MEMORY_BYTES`]; deadlines of the risk steps and rules
/// (or of the charge rules) that add up past [`MAX_DECISION_TIMEOUT_MS`].
pub fn check_costs(
    risk: Vec<StepCost<'_>>,
    rules: Vec<StepCost<'_>>,
    charges: Vec<StepCost<'_>>,
) -> Result<(), ValidationError> {
    let decide = chain_cost(risk.into_iter().chain(rules))?;
    decide.check_timeout("rules")?;
    let charges = chain_cost(charges)?;
    charges.check_timeout("charges")?;
    let bytes = decide.config_bytes + charges.config_bytes;
    if bytes > MAX_POLICY_CONFIG_BYTES {
        return Err(ValidationError::new(
            "rules",
            format!(
                "the configurations of the policy's steps are {bytes} bytes together; a policy may have at most {MAX_POLICY_CONFIG_BYTES}"
            ),
        ));
    }
    Ok(())
}

/// What the steps of a chain cost together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ChainCost {
    config_bytes: usize,
    timeout_ms: u64,
}

fn chain_cost<'a>(
    steps: impl IntoIterator<Item = StepCost<'a>>,
) -> Result<ChainCost, ValidationError> {
    let mut totals = ChainCost::default();
    for (at, config, limits) in steps {
        if config.len() > MAX_STEP_CONFIG_BYTES {
            return Err(ValidationError::new(
                format!("{at}.config"),
                format!(
                    "is {} bytes; a step's configuration may have at most {MAX_STEP_CONFIG_BYTES}",
                    config.len()
                ),
            ));
        }
        if limits.memory_bytes > MAX_DECISION_MEMORY_BYTES {
            return Err(ValidationError::new(
                format!("{at}.limits.memoryBytes"),
                format!("must be at most {MAX_DECISION_MEMORY_BYTES} in a policy"),
            ));
        }
        totals.config_bytes += config.len();
        totals.timeout_ms += u64::from(limits.timeout_ms);
    }
    Ok(totals)
}

impl ChainCost {
    fn check_timeout(&self, field: &str) -> Result<(), ValidationError> {
        if self.timeout_ms > MAX_DECISION_TIMEOUT_MS {
            return Err(ValidationError::new(
                field,
                format!(
                    "give their plugins {} ms in all (`limits.timeoutMs`, {} ms each by default); one decision may take at most {MAX_DECISION_TIMEOUT_MS} ms",
                    self.timeout_ms,
                    Limits::DEFAULT.timeout_ms
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(config: &str, timeout_ms: u32) -> StepRequest {
        StepRequest {
            plugin: "spend-limit".into(),
            config: Some(RawValue::from_string(config.to_owned()).unwrap()),
            on_error: OnError::Deny,
            mode: None,
            limits: Some(Limits {
                timeout_ms,
                ..Limits::DEFAULT
            }),
        }
    }

    fn approvals(text: &str) -> Result<Option<Approvals>, ValidationError> {
        serde_json::from_str::<ApprovalsRequest>(text)
            .unwrap()
            .check()
    }

    fn intent(amount: Option<Money>) -> Intent {
        Intent {
            id: String::new(),
            amount,
            merchant: None,
            card: crate::context::Card::Name("c".into()),
            purpose: "p".into(),
            recurring: None,
            client_intent_id: None,
            ttl_minutes: 60,
            signed_by: None,
        }
    }

    #[test]
    fn four_eyes_apply_above_their_amount_and_wherever_it_cannot_be_compared() {
        let above = approvals(r#"{"count":2,"aboveEuros":80.00}"#)
            .unwrap()
            .unwrap();
        assert_eq!(above.required_for(&intent(Some(Money::eur(8000)))), 1);
        assert_eq!(above.required_for(&intent(Some(Money::eur(8001)))), 2);
        assert_eq!(above.required_for(&intent(None)), 2);
        let yen = Money::new(1, Currency::from_code("JPY").unwrap());
        assert_eq!(above.required_for(&intent(Some(yen))), 2);
        let always = approvals(r#"{"count":3}"#).unwrap().unwrap();
        assert_eq!(always.required_for(&intent(Some(Money::eur(1)))), 3);
        // One approval is no setting at all.
        assert_eq!(approvals(r#"{"count":1}"#).unwrap(), None);
        for (text, field) in [
            (r#"{"count":0}"#, "approvalsRequired.count"),
            (r#"{"count":6}"#, "approvalsRequired.count"),
            (
                r#"{"count":2,"aboveEuros":"80"}"#,
                "approvalsRequired.aboveEuros",
            ),
            (
                r#"{"count":2,"aboveEuros":1.234}"#,
                "approvalsRequired.aboveEuros",
            ),
            (
                r#"{"count":2,"currency":"EUR"}"#,
                "approvalsRequired.currency",
            ),
            (
                r#"{"count":2,"aboveEuros":1,"currency":"EURO"}"#,
                "approvalsRequired.currency",
            ),
        ] {
            let error = approvals(text).unwrap_err();
            assert_eq!(error.field.as_deref(), Some(field), "{text}");
        }
    }

    #[test]
    fn deadlines_of_a_decision_add_up_to_at_most_two_seconds() {
        let eight = vec![step("{}", 250); 8];
        assert!(check_costs(vec![], requested_costs("rules", &eight), vec![]).is_ok());
        let nine = vec![step("{}", 250); 9];
        let error = check_costs(vec![], requested_costs("rules", &nine), vec![]).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("rules"));
        // Risk steps count with the rules; charge rules apart.
        let risk = vec![step("{}", 250)];
        assert!(
            check_costs(
                requested_costs("risk", &risk),
                requested_costs("rules", &eight),
                vec![]
            )
            .is_err()
        );
        assert!(
            check_costs(
                vec![],
                requested_costs("rules", &eight),
                requested_costs("charges", &eight)
            )
            .is_ok()
        );
    }

    #[test]
    fn configurations_are_bounded_per_step_and_per_policy() {
        let big = format!("[\"{}\"]", "x".repeat(MAX_STEP_CONFIG_BYTES));
        let error =
            check_costs(vec![], requested_costs("rules", &[step(&big, 10)]), vec![]).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("rules[0].config"));
        let sizeable = format!("[\"{}\"]", "x".repeat(60 << 10));
        let five = vec![step(&sizeable, 10); 5];
        let error = check_costs(vec![], requested_costs("rules", &five), vec![]).unwrap_err();
        assert!(error.message.contains("together"), "{error}");
    }

    #[test]
    fn a_stored_definition_keeps_the_review_on_unless_turned_off() {
        let old = r#"{"rules":[],"risk":[],"amountToleranceBps":0}"#;
        let definition = PolicyDefinition::parse(old).unwrap();
        assert!(definition.review_flagged_settlements);
        assert_eq!(definition.timezone, "UTC");
    }
}
