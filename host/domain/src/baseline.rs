//! An agent's baseline, which anomaly plugins compare an intent with:
//! learnt from its history, or given by its tenant.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use crate::ValidationError;
use crate::context::{Baseline, merchant_key};
use crate::intent::{MAX_NAME_CHARS, checked_text};
use crate::money::{Currency, Money};

/// The most days a baseline is learnt from.
pub const MAX_BASELINE_DAYS: u32 = 90;
/// The most intents a baseline is learnt from.
pub const MAX_BASELINE_INTENTS: i64 = 100_000;
/// The most merchants a baseline keeps.
pub const MAX_BASELINE_MERCHANTS: usize = 500;
/// The days a baseline is learnt from unless asked otherwise.
pub const DEFAULT_BASELINE_DAYS: u32 = 30;

/// One intent of an agent's history, as a baseline is learnt from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When it was declared.
    pub created_ms: i64,
    /// Its declared amount, if any.
    pub amount: Option<Money>,
    /// Its merchant, lower case.
    pub merchant_key: Option<String>,
}

/// What a tenant asks for: a baseline learnt from the last `days` of
/// history, or the values it gives.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BaselineRequest {
    /// Learn from this many days of history (the default: 30).
    #[serde(default)]
    pub days: Option<u32>,
    /// The currency of the amounts (the default: EUR).
    #[serde(default)]
    pub currency: Option<String>,
    /// The mean amount, in major units.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount_mean_euros: Option<Box<RawValue>>,
    /// The standard deviation of the amounts, in major units.
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub amount_std_dev_euros: Option<Box<RawValue>>,
    /// Intents per day.
    #[serde(default)]
    pub intents_per_day: Option<u32>,
    /// The UTC hours the agent is active in.
    #[serde(default)]
    pub active_hours: Option<Vec<u8>>,
    /// The merchants it pays.
    #[serde(default)]
    pub merchants: Option<Vec<String>>,
}

/// Where a baseline comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum BaselineSource {
    /// Learnt from the last `days` of history, amounts in `currency`.
    History {
        /// How many days back.
        days: u32,
        /// The currency of the amounts.
        currency: Currency,
    },
    /// The values a tenant gave.
    Given(Baseline),
}

impl BaselineSource {
    /// Says where a baseline came from, for the agent's events.
    pub fn describe(&self) -> String {
        match self {
            BaselineSource::History { days, .. } => format!("the last {days} days of history"),
            BaselineSource::Given(_) => "given values".to_owned(),
        }
    }
}

impl BaselineRequest {
    fn gives_values(&self) -> bool {
        self.amount_mean_euros.is_some()
            || self.amount_std_dev_euros.is_some()
            || self.intents_per_day.is_some()
            || self.active_hours.is_some()
            || self.merchants.is_some()
    }

    /// Checks the request: either `days` or the values, each within range.
    pub fn source(&self, now: OffsetDateTime) -> Result<BaselineSource, ValidationError> {
        let currency = match &self.currency {
            Some(code) => {
                Currency::from_code(code).map_err(|e| ValidationError::new("currency", e))?
            }
            None => Currency::EUR,
        };
        if self.gives_values() {
            if self.days.is_some() {
                return Err(ValidationError::new(
                    "days",
                    "give either `days` (learn from history) or the values, not both",
                ));
            }
            return self.given(currency, now).map(BaselineSource::Given);
        }
        let days = check_days(self.days.unwrap_or(DEFAULT_BASELINE_DAYS))?;
        Ok(BaselineSource::History { days, currency })
    }

    /// A baseline from the values a tenant gives.
    fn given(&self, currency: Currency, now: OffsetDateTime) -> Result<Baseline, ValidationError> {
        let amount = |field: &str, raw: &Option<Box<RawValue>>| -> Result<u64, ValidationError> {
            let raw = raw
                .as_ref()
                .ok_or_else(|| ValidationError::new(field, "is required when giving values"))?;
            Money::parse(raw.get(), currency)
                .map(|m| m.minor_units)
                .map_err(|e| ValidationError::new(field, e))
        };
        let active_hours = self.active_hours.clone().unwrap_or_default();
        if let Some(hour) = active_hours.iter().find(|&&h| h > 23) {
            return Err(ValidationError::new(
                "activeHours",
                format!("{hour} is not an hour of the day (0 to 23, UTC)"),
            ));
        }
        let merchants = self.merchants.clone().unwrap_or_default();
        if merchants.len() > MAX_BASELINE_MERCHANTS {
            return Err(ValidationError::new(
                "merchants",
                format!("must have at most {MAX_BASELINE_MERCHANTS} entries"),
            ));
        }
        let merchants = merchants
            .iter()
            .enumerate()
            .map(|(i, m)| {
                checked_text(&format!("merchants[{i}]"), m, MAX_NAME_CHARS)
                    .map(|m| merchant_key(&m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Baseline {
            currency,
            amount_mean: amount("amountMeanEuros", &self.amount_mean_euros)?,
            amount_std_dev: amount("amountStdDevEuros", &self.amount_std_dev_euros)?,
            intents_per_day: self.intents_per_day.ok_or_else(|| {
                ValidationError::new("intentsPerDay", "is required when giving values")
            })?,
            active_hours: dedup_sorted(active_hours),
            merchants: dedup_sorted(merchants),
            set_at: now,
        })
    }
}

/// A number of days of history to learn from or look through: 1 to
/// [`MAX_BASELINE_DAYS`].
pub fn check_days(days: u32) -> Result<u32, ValidationError> {
    if !(1..=MAX_BASELINE_DAYS).contains(&days) {
        return Err(ValidationError::new(
            "days",
            format!("must be 1 to {MAX_BASELINE_DAYS}"),
        ));
    }
    Ok(days)
}

/// A baseline learnt from an agent's intents of the last `days` days that
/// were not denied: the mean and standard deviation of their amounts in
/// `currency`, intents per day, the UTC hours it was active in, and the
/// merchants it paid, most frequent first. None without history.
pub fn learn(
    history: &[HistoryEntry],
    days: u32,
    currency: Currency,
    now: OffsetDateTime,
) -> Option<Baseline> {
    if history.is_empty() {
        return None;
    }
    let amounts: Vec<u128> = history
        .iter()
        .filter_map(|entry| entry.amount)
        .filter(|amount| amount.currency == currency)
        .map(|amount| u128::from(amount.minor_units))
        .collect();
    let (mean, std_dev) = if amounts.is_empty() {
        (0, 0)
    } else {
        // Saturating: amounts stored before they were capped may be near
        // 2^64, whose squares and sums a u128 cannot always hold.
        let n = amounts.len() as u128;
        let sum = |values: &mut dyn Iterator<Item = u128>| values.fold(0, u128::saturating_add);
        let mean = sum(&mut amounts.iter().copied()) / n;
        let variance = sum(&mut amounts.iter().map(|&a| {
            let d = a.abs_diff(mean);
            d.saturating_mul(d)
        })) / n;
        (mean, variance.isqrt())
    };
    let mut hours = Vec::new();
    let mut merchants: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in history {
        hours.push(entry.created_ms.div_euclid(3_600_000).rem_euclid(24) as u8);
        if let Some(merchant) = &entry.merchant_key {
            *merchants.entry(merchant).or_default() += 1;
        }
    }
    let mut by_frequency: Vec<(&str, usize)> = merchants.into_iter().collect();
    by_frequency.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    Some(Baseline {
        currency,
        amount_mean: u64::try_from(mean).unwrap_or(u64::MAX),
        amount_std_dev: u64::try_from(std_dev).unwrap_or(u64::MAX),
        intents_per_day: u32::try_from(history.len().div_ceil(days.max(1) as usize))
            .unwrap_or(u32::MAX),
        active_hours: dedup_sorted(hours),
        merchants: by_frequency
            .into_iter()
            .take(MAX_BASELINE_MERCHANTS)
            .map(|(m, _)| m.to_owned())
            .collect(),
        set_at: now,
    })
}

fn dedup_sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items.dedup();
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(hour: i64, cents: u64, merchant: &str) -> HistoryEntry {
        HistoryEntry {
            created_ms: hour * 3_600_000,
            amount: Some(Money::eur(cents)),
            merchant_key: Some(merchant.into()),
        }
    }

    #[test]
    fn learns_amounts_hours_and_merchants_from_history() {
        let history = [
            entry(9, 1000, "b.com"),
            entry(10, 3000, "a.com"),
            entry(33, 2000, "a.com"),
        ];
        let now = OffsetDateTime::UNIX_EPOCH;
        let baseline = learn(&history, 2, Currency::EUR, now).unwrap();
        assert_eq!(baseline.amount_mean, 2000);
        assert_eq!(baseline.amount_std_dev, 816);
        assert_eq!(baseline.intents_per_day, 2);
        assert_eq!(baseline.active_hours, [9, 10]);
        assert_eq!(baseline.merchants, ["a.com", "b.com"]);
        assert_eq!(learn(&[], 2, Currency::EUR, now), None);
    }

    #[test]
    fn a_request_gives_either_days_or_values() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let days = BaselineRequest {
            days: Some(7),
            ..BaselineRequest::default()
        };
        assert_eq!(
            days.source(now),
            Ok(BaselineSource::History {
                days: 7,
                currency: Currency::EUR
            })
        );
        let both = BaselineRequest {
            days: Some(7),
            intents_per_day: Some(3),
            ..BaselineRequest::default()
        };
        assert_eq!(both.source(now).unwrap_err().field.as_deref(), Some("days"));
        let too_long = BaselineRequest {
            days: Some(91),
            ..BaselineRequest::default()
        };
        assert!(too_long.source(now).is_err());
        let hours = BaselineRequest {
            intents_per_day: Some(3),
            active_hours: Some(vec![24]),
            ..BaselineRequest::default()
        };
        assert_eq!(
            hours.source(now).unwrap_err().field.as_deref(),
            Some("activeHours")
        );
    }
}
