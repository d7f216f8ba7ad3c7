//! Warrant's reference policy, the same in every language of `examples/`.
//!
//! Configuration: `{"maxAmountEuros": n, "reviewAboveEuros": n?, "allow": [merchant, …]?}`.
//!
//! Findings, checked in this order:
//! - no amount: review, `no-amount`;
//! - an amount in another currency than EUR: review, `currency-mismatch`;
//! - an amount over `maxAmountEuros`: deny, `amount-over-max`;
//! - an amount over `reviewAboveEuros`: review, `amount-over-review-threshold`;
//! - with a non-empty `allow`: no merchant: review, `no-merchant`; a
//!   merchant not in it (exact, ignoring ASCII letter case): deny,
//!   `merchant-not-allowed`.
//!
//! Any deny finding denies, with the codes of the deny findings; else any
//! review finding reviews, with the codes of the review findings; else the
//! intent is approved. Every answer carries the annotation `maxAmount`
//! (`100.00 EUR`). An invalid configuration is the plugin's own error
//! (`invalid-config`), never an approval.
#![cfg_attr(target_arch = "wasm32", no_std)]

use warrant_sdk::prelude::*;

/// The rule's configuration.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    max_amount_euros: Amount,
    #[serde(default)]
    review_above_euros: Option<Amount>,
    #[serde(default)]
    allow: Vec<String>,
}

/// The policy.
pub fn evaluate(cx: &Context, config: Config) -> Result<Decision, PluginError> {
    let max = cents(config.max_amount_euros, "maxAmountEuros")?;
    let review_above = config
        .review_above_euros
        .map(|amount| cents(amount, "reviewAboveEuros"))
        .transpose()?;
    if review_above.is_some_and(|threshold| threshold > max) {
        return Err(PluginError::invalid_config(
            "`reviewAboveEuros` is above `maxAmountEuros`",
        ));
    }
    if config
        .allow
        .iter()
        .any(|merchant| merchant.trim().is_empty())
    {
        return Err(PluginError::invalid_config(
            "`allow` must list merchants, not empty strings",
        ));
    }

    let mut denies: Vec<(&str, String)> = Vec::new();
    let mut reviews: Vec<(&str, String)> = Vec::new();
    match &cx.intent.amount {
        None => reviews.push(("no-amount", "the intent has no amount".into())),
        Some(amount) if amount.currency != "EUR" => reviews.push((
            "currency-mismatch",
            format!("the limits are in EUR, the intent in {}", amount.currency),
        )),
        Some(amount) => {
            if amount.minor_units > max {
                denies.push((
                    "amount-over-max",
                    format!(
                        "{} is over the limit of {}",
                        euros(amount.minor_units),
                        euros(max)
                    ),
                ));
            } else if let Some(threshold) = review_above.filter(|&t| amount.minor_units > t) {
                reviews.push((
                    "amount-over-review-threshold",
                    format!(
                        "{} is above the review threshold of {}",
                        euros(amount.minor_units),
                        euros(threshold)
                    ),
                ));
            }
        }
    }
    if !config.allow.is_empty() {
        match &cx.intent.merchant {
            None => reviews.push(("no-merchant", "the intent names no merchant".into())),
            Some(merchant)
                if !config
                    .allow
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(merchant)) =>
            {
                denies.push((
                    "merchant-not-allowed",
                    format!("`{merchant}` is not an allowed merchant"),
                ));
            }
            Some(_) => {}
        }
    }

    let (mut decision, findings) = match (denies.first(), reviews.first()) {
        (Some((_, reason)), _) => (deny(reason.clone()), denies),
        (None, Some((_, reason))) => (review(reason.clone()), reviews),
        (None, None) => (approve(), Vec::new()),
    };
    for (code, _) in findings {
        decision = decision.with_code(code);
    }
    Ok(decision.with_annotation("maxAmount", euros(max)))
}

fn cents(amount: Amount, field: &str) -> Result<u64, PluginError> {
    amount.to_minor_units(2).ok_or_else(|| {
        PluginError::invalid_config(format!(
            "`{field}` must be a euro amount with at most 2 decimals"
        ))
    })
}

fn euros(cents: u64) -> String {
    format!("{}.{:02} EUR", cents / 100, cents % 100)
}

warrant_sdk::export_policy!(evaluate);
