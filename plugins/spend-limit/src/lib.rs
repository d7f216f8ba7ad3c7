//! `spend-limit`: denies an intent above a maximum amount and sends one above
//! a lower threshold to review.
//!
//! Configuration:
//!
//! ```json
//! {"maxAmountEuros": 100, "reviewAboveEuros": 50, "signedAboveEuros": 20}
//! ```
//!
//! - no amount on the intent: review (`no-amount`), since no limit can be
//!   checked;
//! - an amount in a currency other than EUR: review (`currency-mismatch`);
//! - above `maxAmountEuros`: deny (`amount-over-max`);
//! - above `signedAboveEuros` (optional) and not signed by the agent
//!   (`Warrant-Agent-Signature`, `intent.signed-by`): deny
//!   (`unsigned-over-limit`);
//! - above `reviewAboveEuros` (optional): review (`amount-over-review-threshold`);
//! - otherwise approve. An amount equal to a limit is within it.
#![cfg_attr(target_arch = "wasm32", no_std)]

use warrant_sdk::prelude::*;

/// The rule's configuration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The largest amount approved, in euros.
    pub max_amount_euros: Amount,
    /// Amounts above this, in euros, go to review.
    #[serde(default)]
    pub review_above_euros: Option<Amount>,
    /// Amounts above this, in euros, must be signed by the agent.
    #[serde(default)]
    pub signed_above_euros: Option<Amount>,
}

/// Euro cents in a euro.
const EUR_DECIMALS: u32 = 2;

/// The limits as every decision reads them, in euro cents: checked once,
/// when the configuration is prepared.
#[derive(Debug, Serialize, Deserialize)]
pub struct Limits {
    /// The largest amount approved.
    pub max: u64,
    /// Amounts above this go to review.
    pub review_above: Option<u64>,
    /// Amounts above this must be signed by the agent.
    pub signed_above: Option<u64>,
}

/// Checks the configuration and turns its amounts into cents.
pub fn prepare(config: Config) -> Result<Limits, PluginError> {
    let max = cents(config.max_amount_euros, "maxAmountEuros")?;
    let review_above = config
        .review_above_euros
        .map(|amount| cents(amount, "reviewAboveEuros"))
        .transpose()?;
    let signed_above = config
        .signed_above_euros
        .map(|amount| cents(amount, "signedAboveEuros"))
        .transpose()?;
    if let Some(threshold) = review_above
        && threshold > max
    {
        return Err(PluginError::invalid_config(format!(
            "`reviewAboveEuros` ({}) is above `maxAmountEuros` ({}) and would never apply",
            euros(threshold),
            euros(max)
        )));
    }
    Ok(Limits {
        max,
        review_above,
        signed_above,
    })
}

/// The policy.
pub fn evaluate(cx: &Context, limits: Limits) -> Result<Decision, PluginError> {
    let Limits {
        max,
        review_above,
        signed_above,
    } = limits;

    let Some(amount) = &cx.intent.amount else {
        return Ok(
            review("the intent has no amount, so the spend limit cannot be checked")
                .with_code("no-amount"),
        );
    };
    if amount.currency != "EUR" {
        return Ok(review(format!(
            "the spend limit is in EUR and the intent is in {}",
            amount.currency
        ))
        .with_code("currency-mismatch"));
    }

    let spent = amount.minor_units;
    let decision = if spent > max {
        deny(format!(
            "{} is over the limit of {}",
            euros(spent),
            euros(max)
        ))
        .with_code("amount-over-max")
    } else if let Some(threshold) = signed_above.filter(|&threshold| spent > threshold)
        && cx.intent.signed_by.is_none()
    {
        deny(format!(
            "{} is above {}, and the agent did not sign the intent",
            euros(spent),
            euros(threshold)
        ))
        .with_code("unsigned-over-limit")
    } else if let Some(threshold) = review_above.filter(|&threshold| spent > threshold) {
        review(format!(
            "{} is above the review threshold of {}",
            euros(spent),
            euros(threshold)
        ))
        .with_code("amount-over-review-threshold")
    } else {
        approve()
    };
    Ok(decision
        .with_annotation("amount", euros(spent))
        .with_annotation("maxAmount", euros(max)))
}

fn cents(amount: Amount, field: &str) -> Result<u64, PluginError> {
    amount.to_minor_units(EUR_DECIMALS).ok_or_else(|| {
        PluginError::invalid_config(format!(
            "`{field}` must be a euro amount with at most 2 decimals, not {amount}"
        ))
    })
}

fn euros(cents: u64) -> String {
    format!("{}.{:02} EUR", cents / 100, cents % 100)
}

warrant_sdk::export_policy!(evaluate, prepare = prepare);

#[cfg(test)]
// Amounts in tests are written as euros_cents.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use warrant_sdk::testing;

    use super::*;

    fn decide(amount: Option<Money>, config: &str) -> Result<Decision, PluginError> {
        let mut cx = testing::context();
        cx.intent.amount = amount;
        testing::evaluate_prepared(prepare, evaluate, &cx, config)
    }

    const LIMITS: &str = r#"{"maxAmountEuros": 100, "reviewAboveEuros": 50}"#;

    #[test]
    fn approves_an_amount_within_the_limits() {
        let decision = decide(Some(Money::eur(4_51)), LIMITS).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("amount"), Some("4.51 EUR"));
    }

    #[test]
    fn an_amount_equal_to_a_limit_is_within_it() {
        assert!(
            decide(Some(Money::eur(50_00)), LIMITS)
                .unwrap()
                .is_approve()
        );
        assert!(
            decide(Some(Money::eur(100_00)), LIMITS)
                .unwrap()
                .is_review()
        );
    }

    #[test]
    fn reviews_an_amount_above_the_threshold() {
        let decision = decide(Some(Money::eur(50_01)), LIMITS).unwrap();
        assert!(decision.is_review());
        assert_eq!(decision.codes, ["amount-over-review-threshold"]);
        assert_eq!(
            decision.reason(),
            Some("50.01 EUR is above the review threshold of 50.00 EUR")
        );
    }

    #[test]
    fn denies_an_amount_above_the_maximum() {
        let decision = decide(Some(Money::eur(100_01)), LIMITS).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["amount-over-max"]);
        assert_eq!(
            decision.reason(),
            Some("100.01 EUR is over the limit of 100.00 EUR")
        );
    }

    #[test]
    fn above_the_signed_threshold_only_a_signed_intent_passes() {
        let config = r#"{"maxAmountEuros": 100, "signedAboveEuros": 20}"#;
        let unsigned = decide(Some(Money::eur(20_01)), config).unwrap();
        assert!(unsigned.is_deny());
        assert_eq!(unsigned.codes, ["unsigned-over-limit"]);
        assert_eq!(
            unsigned.reason(),
            Some("20.01 EUR is above 20.00 EUR, and the agent did not sign the intent")
        );
        assert!(
            decide(Some(Money::eur(20_00)), config)
                .unwrap()
                .is_approve()
        );
        let mut cx = testing::context();
        cx.intent.amount = Some(Money::eur(20_01));
        cx.intent.signed_by = Some("kid-1".into());
        assert!(
            testing::evaluate_prepared(prepare, evaluate, &cx, config)
                .unwrap()
                .is_approve()
        );
        // The maximum holds for a signed intent too.
        cx.intent.amount = Some(Money::eur(100_01));
        let over = testing::evaluate_prepared(prepare, evaluate, &cx, config).unwrap();
        assert_eq!(over.codes, ["amount-over-max"]);
    }

    #[test]
    fn reviews_an_intent_without_an_amount() {
        let decision = decide(None, LIMITS).unwrap();
        assert!(decision.is_review());
        assert_eq!(decision.codes, ["no-amount"]);
    }

    #[test]
    fn reviews_another_currency_rather_than_compare_it_with_euros() {
        let decision = decide(Some(Money::new(1, "USD")), LIMITS).unwrap();
        assert!(decision.is_review());
        assert_eq!(decision.codes, ["currency-mismatch"]);
    }

    #[test]
    fn the_review_threshold_is_optional() {
        let config = r#"{"maxAmountEuros": 100}"#;
        assert!(
            decide(Some(Money::eur(99_99)), config)
                .unwrap()
                .is_approve()
        );
        assert!(decide(Some(Money::eur(100_01)), config).unwrap().is_deny());
    }

    #[test]
    fn handles_amounts_at_the_edge_of_u64() {
        let decision = decide(Some(Money::eur(u64::MAX)), LIMITS).unwrap();
        assert!(decision.is_deny());
        // Read exactly, though no float holds it: the largest amount is
        // within a limit of the largest amount.
        let no_limit = r#"{"maxAmountEuros": 184467440737095516.15}"#;
        assert!(
            decide(Some(Money::eur(u64::MAX)), no_limit)
                .unwrap()
                .is_approve()
        );
        let one_cent_less = r#"{"maxAmountEuros": 184467440737095516.14}"#;
        assert!(
            decide(Some(Money::eur(u64::MAX)), one_cent_less)
                .unwrap()
                .is_deny()
        );
        let huge = r#"{"maxAmountEuros": 90000000000000000}"#;
        assert!(decide(Some(Money::eur(u64::MAX)), huge).unwrap().is_deny());
    }

    #[test]
    fn refuses_invalid_configurations() {
        for config in [
            "{}",
            r#"{"maxAmountEuros": -1}"#,
            r#"{"maxAmountEuros": "100"}"#,
            r#"{"maxAmountEuros": 100.001}"#,
            r#"{"maxAmountEuros": 100, "reviewAboveEuros": 200}"#,
            r#"{"maxAmountEuros": 100, "maxAmountEuro": 5}"#,
            "not json",
            "[]",
        ] {
            let error = decide(Some(Money::eur(1)), config).unwrap_err();
            assert_eq!(error.code, "invalid-config", "{config}");
        }
    }
}
