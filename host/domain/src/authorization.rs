//! Card authorizations at payment time: what an issuer asks, and whether an
//! approved intent covers it (requireIntent: no money moves without one).
//! A decline is an answer with a code, never an error.

use serde::{Deserialize, Serialize};

use crate::card::IntentCard;
use crate::context::{Cadence, Card, Intent, RecurringTerms};
use crate::errors::ValidationError;
use crate::intent::checked_text;
use crate::money::{Currency, Money};

/// The longest merchant name a card network sends that is kept.
pub const MAX_MERCHANT_NAME: usize = 200;

/// The merchant a card network names in an authorization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Merchant {
    /// Its name, as the network sends it.
    pub name: String,
    /// Its web domain, when known (`hetzner.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Its merchant category code, four digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcc: Option<String>,
    /// Its country, ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Merchant {
    /// The merchant with every field checked and trimmed; the field at
    /// fault is named under `merchant.`.
    pub fn checked(self) -> Result<Merchant, ValidationError> {
        let name = checked_text("merchant.name", &self.name, MAX_MERCHANT_NAME)?;
        let domain = self
            .domain
            .map(|domain| {
                let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
                crate::card::allowed_hosts(vec![domain.clone()])
                    .map(|_| domain)
                    .map_err(|_| {
                        ValidationError::new(
                            "merchant.domain",
                            "must be a host name like `shop.example.com`",
                        )
                    })
            })
            .transpose()?;
        let mcc = self
            .mcc
            .map(|mcc| {
                if mcc.len() == 4 && mcc.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(mcc)
                } else {
                    Err(ValidationError::new("merchant.mcc", "must be four digits"))
                }
            })
            .transpose()?;
        let country = self
            .country
            .map(|country| {
                if country.len() == 2 && country.bytes().all(|b| b.is_ascii_alphabetic()) {
                    Ok(country.to_ascii_uppercase())
                } else {
                    Err(ValidationError::new(
                        "merchant.country",
                        "must be two letters (ISO 3166-1 alpha-2)",
                    ))
                }
            })
            .transpose()?;
        Ok(Merchant {
            name,
            domain,
            mcc,
            country,
        })
    }

    /// Whether the merchant is `expected`, an intent's merchant: its domain
    /// or its name, exactly, ignoring letter case and surrounding spaces
    /// (as `merchant-rules` compares merchants).
    pub fn is(&self, expected: &str) -> bool {
        let expected = expected.trim().to_lowercase();
        !expected.is_empty()
            && (self.name.trim().to_lowercase() == expected
                || self.domain.as_deref().is_some_and(|d| d == expected))
    }
}

/// Where an authorization stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthorizationStatus {
    /// Declined: nothing was reserved.
    Declined,
    /// Approved; its amount reserved until it is captured or reversed.
    Pending,
    /// Captured: the payment settled, in the ledger.
    Captured,
    /// Reversed: the reservation released.
    Reversed,
}

impl AuthorizationStatus {
    /// The status as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationStatus::Declined => "declined",
            AuthorizationStatus::Pending => "pending",
            AuthorizationStatus::Captured => "captured",
            AuthorizationStatus::Reversed => "reversed",
        }
    }
}

/// What a ledger entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransactionKind {
    /// An authorization captured: money paid.
    Capture,
    /// Money back, from a capture.
    Refund,
}

impl TransactionKind {
    /// The kind as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::Capture => "capture",
            TransactionKind::Refund => "refund",
        }
    }
}

/// Why an authorization is declined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decline {
    /// No approved, unexpired intent of the card's agent on that card.
    NoIntent,
    /// Intents on the card, none in the authorization's currency.
    CurrencyMismatch,
    /// Intents on the card, none for this merchant.
    MerchantMismatch,
    /// An intent for this merchant, not for this amount.
    AmountMismatch,
    /// A recurring intent's charge outside its cadence window, or in a
    /// window already charged.
    OutsideWindow,
    /// The card is frozen or closed.
    CardFrozen,
    /// The card's agent is frozen, suspended or archived.
    AgentNotActive,
}

impl Decline {
    /// The code the answer carries.
    pub fn code(self) -> &'static str {
        match self {
            Decline::NoIntent => "E_NO_INTENT",
            Decline::CurrencyMismatch => "E_CURRENCY_MISMATCH",
            Decline::MerchantMismatch => "E_MERCHANT_MISMATCH",
            Decline::AmountMismatch => "E_AMOUNT_MISMATCH",
            Decline::OutsideWindow => "E_OUTSIDE_WINDOW",
            Decline::CardFrozen => "E_CARD_FROZEN",
            Decline::AgentNotActive => "E_AGENT_NOT_ACTIVE",
        }
    }
}

/// Whether an intent is on card `card_id`: the card it was declared on,
/// `resolved`; or, for an intent declared before cards were checked, the
/// card whose id or name it named.
pub fn on_card(
    resolved: Option<&IntentCard>,
    intent: &Intent,
    card_id: &str,
    card_name: &str,
) -> bool {
    match (resolved, &intent.card) {
        (Some(card), _) => card.id == card_id,
        (None, Card::Id(id)) => id == card_id,
        (None, Card::Name(name)) => name == card_name,
    }
}

/// Whether `actual` is within `tolerance_bps` (1000 = 10 %) of `expected`.
pub fn within_tolerance(expected: u64, actual: u64, tolerance_bps: u32) -> bool {
    u128::from(expected.abs_diff(actual)) * 10_000
        <= u128::from(expected) * u128::from(tolerance_bps)
}

/// Checks an authorization of `amount` at `merchant` against an approved
/// intent on its card, with the tolerance that applies to it: the first
/// thing that does not match, in the order currency, merchant, amount.
pub fn covers(
    intent: &Intent,
    amount: Money,
    merchant: &Merchant,
    tolerance_bps: u32,
) -> Result<(), (Decline, String)> {
    let Some(expected) = intent.amount else {
        return Err((
            Decline::AmountMismatch,
            "the intent names no amount, so no authorization matches it".into(),
        ));
    };
    if expected.currency != amount.currency {
        return Err((
            Decline::CurrencyMismatch,
            format!(
                "the authorization is in {} and the intent in {}",
                amount.currency.code(),
                expected.currency.code()
            ),
        ));
    }
    match intent.merchant.as_deref() {
        Some(expected) if merchant.is(expected) => {}
        Some(expected) => {
            return Err((
                Decline::MerchantMismatch,
                format!(
                    "the merchant `{}` is not the intent's `{expected}`",
                    merchant.domain.as_deref().unwrap_or(&merchant.name)
                ),
            ));
        }
        None => {
            return Err((
                Decline::MerchantMismatch,
                "the intent names no merchant, so no authorization matches it".into(),
            ));
        }
    }
    if !within_tolerance(expected.minor_units, amount.minor_units, tolerance_bps) {
        return Err((
            Decline::AmountMismatch,
            format!(
                "{} {} is not the intent's {} {} (tolerance {}.{:02} %)",
                amount.major_units_text(),
                amount.currency.code(),
                expected.major_units_text(),
                expected.currency.code(),
                tolerance_bps / 100,
                tolerance_bps % 100
            ),
        ));
    }
    Ok(())
}

/// The window of a recurring intent's series that `at_ms` falls in, as
/// `[from, to]` in Unix milliseconds (UTC): the payments are due every
/// cadence from the series' start (`start_ms`, when the intent was
/// declared), and each may come from `windowStartDaysBefore` days before
/// its due time to `windowEndDaysAfter` days after. None when `at_ms` falls
/// in no window.
pub fn charge_window(terms: &RecurringTerms, start_ms: i64, at_ms: i64) -> Option<(i64, i64)> {
    const DAY_MS: i64 = 86_400_000;
    let start = jiff::Timestamp::from_millisecond(start_ms)
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC);
    let due = |k: i64| -> Option<i64> {
        let span = match terms.cadence {
            Cadence::Daily => jiff::Span::new().days(k),
            Cadence::Weekly => jiff::Span::new().weeks(k),
            Cadence::Monthly => jiff::Span::new().months(k),
            Cadence::Yearly => jiff::Span::new().years(k),
        };
        Some(start.checked_add(span).ok()?.timestamp().as_millisecond())
    };
    let period_ms = match terms.cadence {
        Cadence::Daily => DAY_MS,
        Cadence::Weekly => 7 * DAY_MS,
        Cadence::Monthly => 30 * DAY_MS,
        Cadence::Yearly => 365 * DAY_MS,
    };
    let before = i64::from(terms.window_start_days_before) * DAY_MS;
    let after = i64::from(terms.window_end_days_after) * DAY_MS;
    let guess = (at_ms - start_ms).div_euclid(period_ms);
    (guess - 2..=guess + 2)
        .filter(|k| *k >= 0)
        .filter_map(|k| due(k).map(|due| (due - before, due + after)))
        .find(|(from, to)| (*from..=*to).contains(&at_ms))
}

/// An amount in minor units of `currency`, as an authorization gives it:
/// positive and at most 2^53 − 1.
pub fn amount(minor_units: u64, currency: Currency) -> Result<Money, ValidationError> {
    if minor_units == 0 {
        return Err(ValidationError::new("amount", "must be positive"));
    }
    if minor_units > (1 << 53) - 1 {
        return Err(ValidationError::new(
            "amount",
            "must be at most 2^53 - 1 minor units",
        ));
    }
    Ok(Money {
        minor_units,
        currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(amount: Option<Money>, merchant: Option<&str>) -> Intent {
        Intent {
            id: "int_1".into(),
            amount,
            merchant: merchant.map(str::to_owned),
            card: Card::Name("subs".into()),
            purpose: "x".into(),
            recurring: None::<RecurringTerms>,
            client_intent_id: None,
            ttl_minutes: 60,
            signed_by: None,
        }
    }

    fn merchant(name: &str, domain: Option<&str>) -> Merchant {
        Merchant {
            name: name.into(),
            domain: domain.map(str::to_owned),
            mcc: None,
            country: None,
        }
    }

    #[test]
    fn an_intent_is_on_the_card_it_was_declared_on_or_the_one_it_named() {
        let declared = intent(None, None);
        let resolved = IntentCard {
            id: "ca_1".into(),
            name: "subs".into(),
        };
        assert!(on_card(Some(&resolved), &declared, "ca_1", "renamed"));
        assert!(!on_card(Some(&resolved), &declared, "ca_2", "subs"));
        // Declared before cards were checked: by the text it named.
        assert!(on_card(None, &declared, "ca_2", "subs"));
        assert!(!on_card(None, &declared, "ca_1", "Subs"));
        let by_id = Intent {
            card: Card::Id("ca_1".into()),
            ..declared
        };
        assert!(on_card(None, &by_id, "ca_1", "x"));
        assert!(!on_card(None, &by_id, "ca_2", "ca_1"));
    }

    #[test]
    fn a_merchant_matches_by_domain_or_name_ignoring_case() {
        let hetzner = merchant("HETZNER ONLINE GMBH", Some("hetzner.com"));
        assert!(hetzner.is("Hetzner.com"));
        assert!(hetzner.is("hetzner online gmbh"));
        assert!(!hetzner.is("hetzner"));
        assert!(!hetzner.is(""));
        assert!(!merchant("shop", None).is("hetzner.com"));
    }

    #[test]
    fn an_intent_covers_its_currency_merchant_and_amount_within_tolerance() {
        let eur = |minor| Money {
            minor_units: minor,
            currency: Currency::EUR,
        };
        let at = merchant("Hetzner", Some("hetzner.com"));
        let covered = intent(Some(eur(4510)), Some("hetzner.com"));
        assert!(covers(&covered, eur(4510), &at, 0).is_ok());
        assert_eq!(
            covers(&covered, eur(4511), &at, 0).unwrap_err().0,
            Decline::AmountMismatch
        );
        // 10 %: 4059 to 4961.
        assert!(covers(&covered, eur(4961), &at, 1000).is_ok());
        assert!(covers(&covered, eur(4059), &at, 1000).is_ok());
        assert_eq!(
            covers(&covered, eur(4962), &at, 1000).unwrap_err().0,
            Decline::AmountMismatch
        );
        let usd = Money {
            minor_units: 4510,
            currency: Currency::from_code("USD").unwrap(),
        };
        assert_eq!(
            covers(&covered, usd, &at, 0).unwrap_err().0,
            Decline::CurrencyMismatch
        );
        let elsewhere = merchant("AWS", Some("aws.amazon.com"));
        assert_eq!(
            covers(&covered, eur(4510), &elsewhere, 0).unwrap_err().0,
            Decline::MerchantMismatch
        );
        assert_eq!(
            covers(&intent(Some(eur(1)), None), eur(1), &at, 0)
                .unwrap_err()
                .0,
            Decline::MerchantMismatch
        );
        assert_eq!(
            covers(&intent(None, Some("hetzner.com")), eur(1), &at, 0)
                .unwrap_err()
                .0,
            Decline::AmountMismatch
        );
    }

    #[test]
    fn a_charge_window_surrounds_each_due_date() {
        const DAY: i64 = 86_400_000;
        // 2026-01-31T00:00Z: monthly due dates clamp to the month's end.
        let start = 1_769_817_600_000;
        let monthly = RecurringTerms {
            cadence: Cadence::Monthly,
            window_start_days_before: 2,
            window_end_days_after: 3,
            amount_tolerance_bps: 0,
            merchant_match: true,
        };
        assert_eq!(
            charge_window(&monthly, start, start),
            Some((start - 2 * DAY, start + 3 * DAY))
        );
        // 2026-02-28 is the next due date.
        let february = start + 28 * DAY;
        assert_eq!(
            charge_window(&monthly, start, february + DAY),
            Some((february - 2 * DAY, february + 3 * DAY))
        );
        assert_eq!(charge_window(&monthly, start, start + 10 * DAY), None);
        assert_eq!(charge_window(&monthly, start, start - 3 * DAY), None);
        let daily = RecurringTerms {
            cadence: Cadence::Daily,
            window_start_days_before: 0,
            window_end_days_after: 0,
            ..monthly
        };
        assert_eq!(
            charge_window(&daily, start, start + 5 * DAY),
            Some((start + 5 * DAY, start + 5 * DAY))
        );
        assert_eq!(charge_window(&daily, start, start + 5 * DAY + 1), None);
    }

    #[test]
    fn merchant_fields_are_checked() {
        let bad = |m: Merchant| m.checked().unwrap_err().field.unwrap();
        assert_eq!(bad(merchant(" ", None)), "merchant.name");
        assert_eq!(bad(merchant("a", Some("https://x.com"))), "merchant.domain");
        let mut m = merchant("a", None);
        m.mcc = Some("54".into());
        assert_eq!(bad(m.clone()), "merchant.mcc");
        m.mcc = None;
        m.country = Some("DEU".into());
        assert_eq!(bad(m), "merchant.country");
        assert!(amount(0, Currency::EUR).is_err());
        assert!(amount(1 << 53, Currency::EUR).is_err());
    }
}
