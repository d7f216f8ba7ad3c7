//! The intent an agent declares, in the JSON shape of `POST /intents`, and
//! its validation into an [`Intent`].

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::context::{Cadence, Card, Intent, RecurringTerms};
use crate::errors::ValidationError;
use crate::money::{self, Currency, Money};

/// How long an intent stays valid when the agent does not say: 24 hours.
pub const DEFAULT_TTL_MINUTES: u32 = 1440;
/// The longest an intent may stay valid: 30 days.
pub const MAX_TTL_MINUTES: u32 = 43_200;
/// The longest purpose accepted, in characters.
pub const MAX_PURPOSE_CHARS: usize = 2000;
/// The longest merchant, card name, card id or client intent id accepted,
/// in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// The widest recurring time window accepted on either side, in days.
pub const MAX_WINDOW_DAYS: u32 = 366;
/// The largest amount Warrant records, in minor units: ten trillion euros.
/// Far beyond any payment, and far enough below 2^63 that sums of amounts
/// stay exact in a 64-bit database column.
pub const MAX_AMOUNT_MINOR: u64 = 1_000_000_000_000_000;

/// Refuses to record an intent whose amount is over [`MAX_AMOUNT_MINOR`]
/// (a plugin may still be asked about one, by `warrant eval`).
pub fn check_recordable(intent: &Intent) -> Result<(), ValidationError> {
    match intent.amount {
        Some(amount) => check_amount("expectedAmountEuros", amount),
        None => Ok(()),
    }
}

/// Refuses an amount, given as `field`, over [`MAX_AMOUNT_MINOR`]: every
/// amount Warrant records (declared, settled, charged) passes here.
pub fn check_amount(field: &str, amount: Money) -> Result<(), ValidationError> {
    if amount.minor_units > MAX_AMOUNT_MINOR {
        return Err(ValidationError::new(
            field,
            format!(
                "must be at most {}",
                Money::new(MAX_AMOUNT_MINOR, amount.currency)
            ),
        ));
    }
    Ok(())
}

/// An amount given as `field` in major units of `currency`, read exactly
/// and within what Warrant records.
pub fn recordable_amount(
    field: &str,
    raw: &RawValue,
    currency: Currency,
) -> Result<Money, ValidationError> {
    let amount = Money::parse(raw.get(), currency).map_err(|e| ValidationError::new(field, e))?;
    check_amount(field, amount)?;
    Ok(amount)
}

/// What an agent or a tenant reports of a settlement: the body of
/// `/complete` and `/verify`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettleRequest {
    /// The amount actually paid, in major units of the intent's currency.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub actual_amount_euros: Option<Box<RawValue>>,
    /// The merchant actually paid.
    #[serde(default)]
    pub actual_merchant: Option<String>,
}

impl SettleRequest {
    /// The amount (in `currency`) and merchant reported, checked.
    pub fn check(
        &self,
        currency: Currency,
    ) -> Result<(Option<Money>, Option<String>), ValidationError> {
        let actual = self
            .actual_amount_euros
            .as_deref()
            .map(|raw| recordable_amount("actualAmountEuros", raw, currency))
            .transpose()?;
        let merchant = self
            .actual_merchant
            .as_ref()
            .map(|m| checked_text("actualMerchant", m, MAX_NAME_CHARS))
            .transpose()?;
        Ok((actual, merchant))
    }
}

/// The body of `POST /intents` (and of `warrant eval --intent`), as the
/// agent sends it. Amounts stay raw JSON text until they are parsed exactly.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntentRequest {
    /// The agent the intent is for (required by the REST API).
    #[serde(default)]
    pub agent_id: Option<String>,
    /// The id of one of the agent's cards (`ca_…`); give this or
    /// `cardName`.
    #[serde(default)]
    pub card_id: Option<String>,
    /// The exact name of one of the agent's cards that is not closed; give
    /// this or `cardId`.
    #[serde(default)]
    pub card_name: Option<String>,
    /// Why the agent wants to pay.
    pub purpose: String,
    /// The expected amount in major units of `currency`, e.g. `4.51`.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub expected_amount_euros: Option<Box<RawValue>>,
    /// The expected merchant, e.g. `hetzner.com`.
    #[serde(default)]
    pub expected_merchant: Option<String>,
    /// ISO 4217 code; `EUR` when absent.
    #[serde(default)]
    pub currency: Option<String>,
    /// Terms of a series of charges.
    #[serde(default)]
    pub recurring: Option<RecurringRequest>,
    /// The agent's own de-duplication key.
    #[serde(default)]
    pub client_intent_id: Option<String>,
    /// Minutes the intent stays valid; 1440 when absent, at most 43200.
    #[serde(default)]
    pub ttl_minutes: Option<u32>,
}

/// The `recurring` object of an intent request.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecurringRequest {
    /// `daily`, `weekly`, `monthly` or `yearly`.
    pub cadence: Cadence,
    /// Days a charge may come early; 0 when absent.
    #[serde(default)]
    pub window_start_days_before: u32,
    /// Days a charge may come late; 0 when absent.
    #[serde(default)]
    pub window_end_days_after: u32,
    /// Allowed deviation of a charge's amount in percent, up to two
    /// decimals (`10`, `2.5`); 0 when absent.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount_tolerance_percent: Option<Box<RawValue>>,
    /// Whether each charge must come from the intent's merchant; true when
    /// absent.
    #[serde(default)]
    pub merchant_match: Option<bool>,
}

impl IntentRequest {
    /// Parses the JSON text of a request. A syntax error, a wrong type, an
    /// unknown field or an unknown enum value is a [`ValidationError`]
    /// naming the field.
    pub fn from_json(text: &str) -> Result<Self, ValidationError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(ValidationError::from_json_path)
    }

    /// Checks every field and builds the intent the plugins will see.
    /// `id` is the intent's id, empty for a dry run.
    pub fn into_intent(self, id: String) -> Result<Intent, ValidationError> {
        let card = match (self.card_id, self.card_name) {
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "cardId",
                    "give either `cardId` or `cardName`, not both",
                ));
            }
            (Some(card_id), None) => Card::Id(checked_name("cardId", card_id)?),
            (None, Some(card_name)) => Card::Name(checked_name("cardName", card_name)?),
            (None, None) => {
                return Err(ValidationError::new(
                    "cardName",
                    "give one of `cardId` or `cardName`",
                ));
            }
        };

        let purpose = checked_text("purpose", &self.purpose, MAX_PURPOSE_CHARS)?;

        let currency = match self.currency {
            Some(code) => {
                Currency::from_code(&code).map_err(|e| ValidationError::new("currency", e))?
            }
            None => Currency::EUR,
        };
        let amount = self
            .expected_amount_euros
            .map(|raw| {
                Money::parse(raw.get(), currency)
                    .map_err(|e| ValidationError::new("expectedAmountEuros", e))
            })
            .transpose()?;

        let merchant = self
            .expected_merchant
            .map(|merchant| checked_name("expectedMerchant", merchant))
            .transpose()?;
        let client_intent_id = self
            .client_intent_id
            .map(|id| checked_name("clientIntentId", id))
            .transpose()?;

        let ttl_minutes = self.ttl_minutes.unwrap_or(DEFAULT_TTL_MINUTES);
        if !(1..=MAX_TTL_MINUTES).contains(&ttl_minutes) {
            return Err(ValidationError::new(
                "ttlMinutes",
                format!("must be between 1 and {MAX_TTL_MINUTES}"),
            ));
        }

        let recurring = self
            .recurring
            .map(RecurringRequest::into_terms)
            .transpose()?;

        Ok(Intent {
            id,
            amount,
            merchant,
            card,
            purpose,
            recurring,
            client_intent_id,
            ttl_minutes,
            signed_by: None,
        })
    }
}

impl RecurringRequest {
    fn into_terms(self) -> Result<RecurringTerms, ValidationError> {
        for (field, days) in [
            (
                "recurring.windowStartDaysBefore",
                self.window_start_days_before,
            ),
            ("recurring.windowEndDaysAfter", self.window_end_days_after),
        ] {
            if days > MAX_WINDOW_DAYS {
                return Err(ValidationError::new(
                    field,
                    format!("must be at most {MAX_WINDOW_DAYS} days"),
                ));
            }
        }
        let amount_tolerance_bps = match self.amount_tolerance_percent {
            None => 0,
            Some(raw) => money::parse_percent_bps(raw.get())
                .map_err(|e| ValidationError::new("recurring.amountTolerancePercent", e))?,
        };
        Ok(RecurringTerms {
            cadence: self.cadence,
            window_start_days_before: self.window_start_days_before,
            window_end_days_after: self.window_end_days_after,
            amount_tolerance_bps,
            merchant_match: self.merchant_match.unwrap_or(true),
        })
    }
}

/// Trims a short identifier-like text and checks it is neither empty nor
/// too long.
fn checked_name(field: &str, value: String) -> Result<String, ValidationError> {
    checked_text(field, &value, MAX_NAME_CHARS)
}

/// The reason given with a move of an intent or an agent, checked.
pub fn check_reason(reason: &str) -> Result<String, ValidationError> {
    checked_text("reason", reason, MAX_PURPOSE_CHARS)
}

/// Trims a text and checks it is neither empty nor longer than `max`
/// characters.
pub fn checked_text(field: &str, value: &str, max: usize) -> Result<String, ValidationError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.contains('\0') {
        return Err(ValidationError::new(
            field,
            "must not contain NUL characters",
        ));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(json: &str) -> Result<Intent, ValidationError> {
        IntentRequest::from_json(json)?.into_intent(String::new())
    }

    #[test]
    fn builds_the_seed_example() {
        let intent = intent(
            r#"{"agentId":"ag_1","cardName":"subscriptions","purpose":"Renew Hetzner monthly",
                "expectedAmountEuros":4.51,"expectedMerchant":"hetzner.com","ttlMinutes":60}"#,
        )
        .unwrap();
        assert_eq!(intent.amount, Some(Money::new(451, Currency::EUR)));
        assert_eq!(intent.merchant.as_deref(), Some("hetzner.com"));
        assert_eq!(intent.card, Card::Name("subscriptions".into()));
        assert_eq!(intent.ttl_minutes, 60);
    }

    #[test]
    fn applies_defaults() {
        let intent = intent(r#"{"cardId":"ca_1","purpose":"x"}"#).unwrap();
        assert_eq!(intent.ttl_minutes, DEFAULT_TTL_MINUTES);
        assert_eq!(intent.amount, None);
        assert_eq!(intent.recurring, None);
    }

    #[test]
    fn parses_recurring_terms() {
        let intent = intent(
            r#"{"cardName":"subs","purpose":"x","expectedAmountEuros":4.51,
                "recurring":{"cadence":"monthly","windowStartDaysBefore":3,
                "windowEndDaysAfter":2,"amountTolerancePercent":2.5,"merchantMatch":false}}"#,
        )
        .unwrap();
        let terms = intent.recurring.unwrap();
        assert_eq!(terms.cadence, Cadence::Monthly);
        assert_eq!(terms.amount_tolerance_bps, 250);
        assert!(!terms.merchant_match);
    }

    #[test]
    fn names_the_field_of_every_mistake() {
        let cases = [
            (r#"{"purpose":"x"}"#, "cardName"),
            (r#"{"cardId":"a","cardName":"b","purpose":"x"}"#, "cardId"),
            (r#"{"cardName":"b"}"#, "purpose"),
            (r#"{"cardName":"b","purpose":"  "}"#, "purpose"),
            (
                r#"{"cardName":"b","purpose":"x","expectedAmountEuros":4.515}"#,
                "expectedAmountEuros",
            ),
            (
                r#"{"cardName":"b","purpose":"x","expectedAmountEuros":"4.51"}"#,
                "expectedAmountEuros",
            ),
            (
                r#"{"cardName":"b","purpose":"x","expectedAmountEuros":-1}"#,
                "expectedAmountEuros",
            ),
            (
                r#"{"cardName":"b","purpose":"x","currency":"EURO"}"#,
                "currency",
            ),
            (
                r#"{"cardName":"b","purpose":"x","ttlMinutes":0}"#,
                "ttlMinutes",
            ),
            (
                r#"{"cardName":"b","purpose":"x","ttlMinutes":43201}"#,
                "ttlMinutes",
            ),
            (
                r#"{"cardName":"b","purpose":"x","ttlMinutes":"60"}"#,
                "ttlMinutes",
            ),
            (
                r#"{"cardName":"b","purpose":"x","recurring":{"cadence":"hourly"}}"#,
                "recurring.cadence",
            ),
            (
                r#"{"cardName":"b","purpose":"x","recurring":{"cadence":"daily","amountTolerancePercent":101}}"#,
                "recurring.amountTolerancePercent",
            ),
            (
                r#"{"cardName":"b","purpose":"x","expectedMerchant":""}"#,
                "expectedMerchant",
            ),
            (r#"{"cardName":"b","purpose":"x","color":"red"}"#, "color"),
        ];
        for (json, field) in cases {
            let err = intent(json).expect_err(json);
            assert_eq!(err.field.as_deref(), Some(field), "{json}: {err}");
        }
    }

    #[test]
    fn reports_malformed_json_clearly() {
        let err = intent(r#"{"cardName":"b","purpose":"#).unwrap_err();
        assert!(err.message.contains("EOF"), "{err}");
    }

    #[test]
    fn keeps_large_amounts_exact() {
        let intent =
            intent(r#"{"cardName":"b","purpose":"x","expectedAmountEuros":184467440737095516.15}"#)
                .unwrap();
        assert_eq!(intent.amount.unwrap().minor_units, u64::MAX);
    }
}
