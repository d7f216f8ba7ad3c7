//! `anomaly`: a risk plugin that scores how far an intent strays from what
//! is usual for its agent.
//!
//! Configuration (both optional; `{}` takes the defaults):
//!
//! ```json
//! {"amountZScore": 3, "burstPerMinute": 10}
//! ```
//!
//! - `amountZScore`: how many standard deviations from the agent's mean
//!   amount make an amount unusual, a decimal number above 0 (read exactly,
//!   up to 9 decimals); 3 by default.
//! - `burstPerMinute`: how many intents in a minute, this one included,
//!   make a burst, at least 1; 10 by default.
//!
//! Signals, each with a score from 0 to 100:
//!
//! - `amount-deviation`: the agent has a baseline in the intent's currency
//!   and the intent an amount, and z = |amount − mean| / max(std dev, 1)
//!   (in minor units) is at least `amountZScore`. Scores
//!   40 + 10 × (z − `amountZScore`), rounded, at most 100.
//! - `new-merchant` (30): the intent names a merchant the agent named in no
//!   intent of the last 30 days and, when it has a baseline, that is not
//!   among its usual merchants (compared ignoring letter case).
//! - `unusual-hour` (25): the agent's baseline lists the hours (UTC) it is
//!   usually active in, and the time of the decision is in none of them.
//! - `burst`: the intent is at least the `burstPerMinute`-th of the last
//!   minute (50); or else, when the baseline says how many intents the agent
//!   declares in a day, the intent is more than
//!   max(5, 4 × ⌈intents per day / 24⌉) in the last hour (40).
//!
//! The score is the sum of the signals' scores, at most 100; 0 without
//! signals.
#![cfg_attr(target_arch = "wasm32", no_std)]

use warrant_sdk::prelude::*;

/// The plugin's configuration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Standard deviations from the mean that make an amount unusual.
    #[serde(default)]
    pub amount_z_score: Option<Amount>,
    /// Intents in a minute, this one included, that make a burst.
    #[serde(default)]
    pub burst_per_minute: Option<u32>,
}

/// `amountZScore` is kept in billionths, the precision of an [`Amount`].
const NANOS: u128 = 1_000_000_000;
const NANO_DECIMALS: u32 = 9;

/// The risk assessment.
pub fn assess(cx: &Context, config: Config) -> Result<Assessment, PluginError> {
    let z_threshold = match config.amount_z_score {
        None => Amount::from_minor_units(3, 0),
        Some(amount) if amount == Amount::ZERO => {
            return Err(PluginError::invalid_config(
                "`amountZScore` must be above 0",
            ));
        }
        Some(amount) => amount,
    };
    let z_nanos = z_threshold.to_minor_units(NANO_DECIMALS).ok_or_else(|| {
        PluginError::invalid_config(format!("`amountZScore` is too large: {z_threshold}"))
    })?;
    let burst_per_minute = config.burst_per_minute.unwrap_or(10);
    if burst_per_minute == 0 {
        return Err(PluginError::invalid_config(
            "`burstPerMinute` must be at least 1",
        ));
    }

    let mut signals: Vec<Signal> = Vec::new();
    let baseline = cx.agent.baseline.as_ref();

    if let (Some(baseline), Some(amount)) = (baseline, &cx.intent.amount)
        && baseline.currency.eq_ignore_ascii_case(&amount.currency)
    {
        let diff = u128::from(amount.minor_units.abs_diff(baseline.amount_mean));
        let std_dev = u128::from(baseline.amount_std_dev.max(1));
        let threshold = u128::from(z_nanos);
        // z ≥ threshold, in whole numbers: diff / std_dev ≥ nanos / 10^9.
        let scaled_diff = diff * NANOS;
        if scaled_diff >= threshold * std_dev {
            // 10 × (z − threshold), rounded half up.
            let excess = scaled_diff - threshold * std_dev;
            let unit = std_dev * NANOS;
            let tenths = (excess * 20 + unit) / (2 * unit);
            let score = 40 + tenths.min(60) as u8;
            // z to one decimal, rounded half up.
            let z_tenths = (diff * 20 + std_dev) / (2 * std_dev);
            signals.push(Signal {
                name: "amount-deviation".into(),
                score,
                detail: format!(
                    "{} is {}.{} standard deviations from the agent's mean of {} \
                     (unusual from {})",
                    money(amount.minor_units, &amount.currency),
                    z_tenths / 10,
                    z_tenths % 10,
                    money(baseline.amount_mean, &amount.currency),
                    z_threshold
                ),
            });
        }
    }

    if let Some(merchant) = cx.intent.merchant.as_deref().map(str::trim)
        && !merchant.is_empty()
        && cx.usage.merchant_last_month.count == 0
    {
        let usual = baseline.is_some_and(|b| {
            b.merchants
                .iter()
                .any(|m| m.trim().to_lowercase() == merchant.to_lowercase())
        });
        if !usual {
            let also = if baseline.is_some() {
                ", nor is it among the agent's usual merchants"
            } else {
                ""
            };
            signals.push(Signal {
                name: "new-merchant".into(),
                score: 30,
                detail: format!(
                    "the agent named `{merchant}` in no intent of the last 30 days{also}"
                ),
            });
        }
    }

    if let Some(baseline) = baseline
        && !baseline.active_hours.is_empty()
    {
        let hour = (cx.now.seconds.rem_euclid(86_400) / 3600) as u8;
        if !baseline.active_hours.contains(&hour) {
            signals.push(Signal {
                name: "unusual-hour".into(),
                score: 25,
                detail: format!(
                    "the intent comes between {hour:02}:00 and {:02}:00 UTC, outside the \
                     agent's usual hours ({} UTC)",
                    hour + 1,
                    describe_hours(&baseline.active_hours)
                ),
            });
        }
    }

    let minute = cx.usage.last_minute.count.saturating_add(1);
    if minute >= u64::from(burst_per_minute) {
        signals.push(Signal {
            name: "burst".into(),
            score: 50,
            detail: format!(
                "this is the {} intent in the last minute; {burst_per_minute} in a minute \
                 make a burst",
                ordinal(minute)
            ),
        });
    } else if let Some(baseline) = baseline
        && baseline.intents_per_day > 0
    {
        let per_hour = u64::from(baseline.intents_per_day.div_ceil(24));
        let limit = (4 * per_hour).max(5);
        let hour = cx.usage.last_hour.count.saturating_add(1);
        if hour > limit {
            signals.push(Signal {
                name: "burst".into(),
                score: 40,
                detail: format!(
                    "this is the {} intent in the last hour; the agent usually declares {} \
                     a day, so more than {limit} in an hour make a burst",
                    ordinal(hour),
                    baseline.intents_per_day
                ),
            });
        }
    }

    let total: u32 = signals.iter().map(|s| u32::from(s.score)).sum();
    Ok(Assessment {
        score: total.min(100) as u8,
        signals,
    })
}

/// `45.00 EUR`, `4500 JPY`, `1.500 KWD`: minor units in the currency's
/// usual decimals.
fn money(minor_units: u64, currency: &str) -> String {
    let decimals = decimals(currency);
    if decimals == 0 {
        return format!("{minor_units} {currency}");
    }
    let unit = 10u64.pow(decimals);
    format!(
        "{}.{:0width$} {currency}",
        minor_units / unit,
        minor_units % unit,
        width = decimals as usize
    )
}

/// The decimals of an ISO 4217 currency: 2 but for the few with none or
/// three.
fn decimals(currency: &str) -> u32 {
    const NONE: [&str; 17] = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
        "VUV", "XAF", "XOF", "XPF",
    ];
    const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if NONE.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else {
        2
    }
}

/// `08:00–12:00, 14:00–15:00`: the hours as ranges.
fn describe_hours(hours: &[u8]) -> String {
    let mut active = [false; 24];
    for &hour in hours {
        if let Some(slot) = active.get_mut(usize::from(hour)) {
            *slot = true;
        }
    }
    let mut ranges = Vec::new();
    let mut hour = 0;
    while hour < 24 {
        if !active[hour] {
            hour += 1;
            continue;
        }
        let first = hour;
        while hour < 24 && active[hour] {
            hour += 1;
        }
        ranges.push(format!("{first:02}:00–{hour:02}:00"));
    }
    ranges.join(", ")
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

warrant_sdk::export_risk!(assess);

#[cfg(test)]
// Amounts in tests are written as euros_cents.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use warrant_sdk::testing;

    use super::*;

    /// A baseline: 10.00 EUR ± 2.00 EUR, 48 intents a day (2 an hour),
    /// active 08:00–18:00 UTC, usually paying `hetzner.com`.
    fn baseline() -> Baseline {
        Baseline {
            currency: "EUR".into(),
            amount_mean: 10_00,
            amount_std_dev: 2_00,
            intents_per_day: 48,
            active_hours: (8..18).collect(),
            merchants: vec!["hetzner.com".into()],
            set_at: testing::NOW,
        }
    }

    /// A context at 2026-01-01T10:00:00Z, inside the baseline's hours, for
    /// an intent to `hetzner.com` (paid before) of `amount`.
    fn context(amount: Option<Money>) -> Context {
        let mut cx = testing::context();
        cx.now.seconds += 10 * 3600;
        cx.agent.baseline = Some(baseline());
        cx.intent.amount = amount;
        cx.intent.merchant = Some("hetzner.com".into());
        cx.usage.merchant_last_month.count = 3;
        cx
    }

    fn assess_with(cx: &Context, config: &str) -> Assessment {
        testing::assess(assess, cx, config).unwrap()
    }

    fn names(assessment: &Assessment) -> Vec<&str> {
        assessment.signals.iter().map(|s| s.name.as_str()).collect()
    }

    fn deviation(cents: u64, config: &str) -> Option<Signal> {
        let assessment = assess_with(&context(Some(Money::eur(cents))), config);
        assessment
            .signals
            .into_iter()
            .find(|s| s.name == "amount-deviation")
    }

    #[test]
    fn a_usual_intent_scores_zero() {
        let assessment = assess_with(&context(Some(Money::eur(11_00))), "{}");
        assert_eq!(assessment.score, 0);
        assert!(assessment.signals.is_empty());
        // Without a baseline, amount, merchant or usage, nothing stands out.
        let assessment = assess_with(&testing::context(), "{}");
        assert_eq!(assessment.score, 0);
        assert!(assessment.signals.is_empty());
    }

    #[test]
    fn an_amount_at_the_threshold_deviates() {
        // Mean 10.00, std dev 2.00: z = 3 at 16.00 and at 4.00.
        let signal = deviation(16_00, "{}").unwrap();
        assert_eq!(signal.score, 40);
        assert_eq!(
            signal.detail,
            "16.00 EUR is 3.0 standard deviations from the agent's mean of 10.00 EUR \
             (unusual from 3)"
        );
        assert_eq!(deviation(4_00, "{}").unwrap().score, 40);
        assert!(deviation(15_99, "{}").is_none());
        assert!(deviation(4_01, "{}").is_none());
    }

    #[test]
    fn the_deviation_score_grows_with_z() {
        // z = 4.2: 40 + round(1.2 × 10) = 52.
        let signal = deviation(18_40, "{}").unwrap();
        assert_eq!(signal.score, 52);
        assert!(signal.detail.contains("is 4.2 standard deviations"));
        // z = 3.05: 40 + round(0.5) = 41 (half rounds up); z = 3.04: 40.
        assert_eq!(deviation(16_10, "{}").unwrap().score, 41);
        assert_eq!(deviation(16_08, "{}").unwrap().score, 40);
        // z = 9: 100; far beyond, still 100.
        assert_eq!(deviation(28_00, "{}").unwrap().score, 100);
        assert_eq!(deviation(u64::MAX, "{}").unwrap().score, 100);
        let assessment = assess_with(&context(Some(Money::eur(u64::MAX))), "{}");
        assert_eq!(assessment.score, 100);
    }

    #[test]
    fn the_z_score_threshold_is_configurable_and_exact() {
        let config = r#"{"amountZScore": 2.5}"#;
        // z = 2.5 at 15.00.
        let signal = deviation(15_00, config).unwrap();
        assert_eq!(signal.score, 40);
        assert!(signal.detail.ends_with("(unusual from 2.5)"));
        assert!(deviation(14_99, config).is_none());
        // z = 3: 40 + 5.
        assert_eq!(deviation(16_00, config).unwrap().score, 45);
        // A threshold with 9 decimals, just above z = 3.
        assert!(deviation(16_00, r#"{"amountZScore": 3.000000001}"#).is_none());
        assert!(deviation(16_00, r#"{"amountZScore": 1e0}"#).is_some());
        // The smallest threshold flags any deviation.
        assert!(deviation(10_01, r#"{"amountZScore": 0.000000001}"#).is_some());
        assert!(deviation(10_00, r#"{"amountZScore": 0.000000001}"#).is_none());
    }

    #[test]
    fn a_zero_standard_deviation_counts_as_one_minor_unit() {
        let mut cx = context(Some(Money::eur(10_03)));
        cx.agent.baseline.as_mut().unwrap().amount_std_dev = 0;
        let assessment = assess_with(&cx, "{}");
        assert_eq!(names(&assessment), ["amount-deviation"]);
        assert_eq!(assessment.score, 40);
        cx.intent.amount = Some(Money::eur(10_02));
        assert!(assess_with(&cx, "{}").signals.is_empty());
    }

    #[test]
    fn amounts_in_another_currency_or_missing_are_not_compared() {
        let cx = context(Some(Money::new(100_000, "USD")));
        assert!(assess_with(&cx, "{}").signals.is_empty());
        let cx = context(None);
        assert!(assess_with(&cx, "{}").signals.is_empty());
        // Without a baseline there is no mean to compare with.
        let mut cx = context(Some(Money::eur(100_000_00)));
        cx.agent.baseline = None;
        assert!(assess_with(&cx, "{}").signals.is_empty());
    }

    #[test]
    fn describes_amounts_in_their_currencys_decimals() {
        let mut cx = context(Some(Money::new(5000, "JPY")));
        let baseline = cx.agent.baseline.as_mut().unwrap();
        baseline.currency = "JPY".into();
        baseline.amount_mean = 1000;
        baseline.amount_std_dev = 500;
        let assessment = assess_with(&cx, "{}");
        assert_eq!(
            assessment.signals[0].detail,
            "5000 JPY is 8.0 standard deviations from the agent's mean of 1000 JPY \
             (unusual from 3)"
        );
        assert_eq!(money(1_500, "KWD"), "1.500 KWD");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
    }

    #[test]
    fn flags_a_new_merchant() {
        let mut cx = context(Some(Money::eur(10_00)));
        cx.intent.merchant = Some("Shop.example".into());
        cx.usage.merchant_last_month.count = 0;
        let assessment = assess_with(&cx, "{}");
        assert_eq!(names(&assessment), ["new-merchant"]);
        assert_eq!(assessment.score, 30);
        assert_eq!(
            assessment.signals[0].detail,
            "the agent named `Shop.example` in no intent of the last 30 days, nor is it \
             among the agent's usual merchants"
        );
        // Without a baseline, the last 30 days alone decide.
        cx.agent.baseline = None;
        let assessment = assess_with(&cx, "{}");
        assert_eq!(names(&assessment), ["new-merchant"]);
        assert_eq!(
            assessment.signals[0].detail,
            "the agent named `Shop.example` in no intent of the last 30 days"
        );
    }

    #[test]
    fn a_usual_or_recent_merchant_is_not_new() {
        let mut cx = context(Some(Money::eur(10_00)));
        cx.usage.merchant_last_month.count = 0;
        // In the baseline, in any letter case.
        cx.intent.merchant = Some("HETZNER.com".into());
        assert!(assess_with(&cx, "{}").signals.is_empty());
        // Named in an intent of the last 30 days.
        cx.intent.merchant = Some("shop.example".into());
        cx.usage.merchant_last_month.count = 1;
        assert!(assess_with(&cx, "{}").signals.is_empty());
        // No merchant at all.
        cx.intent.merchant = None;
        cx.usage.merchant_last_month.count = 0;
        assert!(assess_with(&cx, "{}").signals.is_empty());
        cx.intent.merchant = Some("  ".into());
        assert!(assess_with(&cx, "{}").signals.is_empty());
    }

    #[test]
    fn flags_an_unusual_hour() {
        let mut cx = context(Some(Money::eur(10_00)));
        // 2026-01-01T03:15:00Z.
        cx.now.seconds = testing::NOW.seconds + 3 * 3600 + 15 * 60;
        let assessment = assess_with(&cx, "{}");
        assert_eq!(names(&assessment), ["unusual-hour"]);
        assert_eq!(assessment.score, 25);
        assert_eq!(
            assessment.signals[0].detail,
            "the intent comes between 03:00 and 04:00 UTC, outside the agent's usual hours \
             (08:00–18:00 UTC)"
        );
        // The first and last hours of the baseline are usual; the next one is not.
        cx.now.seconds = testing::NOW.seconds + 8 * 3600;
        assert!(assess_with(&cx, "{}").signals.is_empty());
        cx.now.seconds = testing::NOW.seconds + 18 * 3600 - 1;
        assert!(assess_with(&cx, "{}").signals.is_empty());
        cx.now.seconds = testing::NOW.seconds + 18 * 3600;
        assert_eq!(names(&assess_with(&cx, "{}")), ["unusual-hour"]);
        // Before 1970 the hour is still the hour of the day.
        cx.now.seconds = -86_400 + 23 * 3600;
        assert!(
            assess_with(&cx, "{}").signals[0]
                .detail
                .contains("between 23:00 and 24:00")
        );
    }

    #[test]
    fn no_active_hours_means_no_unusual_hour() {
        let mut cx = context(Some(Money::eur(10_00)));
        cx.now.seconds = testing::NOW.seconds + 3 * 3600;
        cx.agent.baseline.as_mut().unwrap().active_hours.clear();
        assert!(assess_with(&cx, "{}").signals.is_empty());
        cx.agent.baseline = None;
        assert!(assess_with(&cx, "{}").signals.is_empty());
    }

    #[test]
    fn describes_active_hours_as_ranges() {
        assert_eq!(
            describe_hours(&[9, 8, 10, 14, 23, 99]),
            "08:00–11:00, 14:00–15:00, 23:00–24:00"
        );
        assert_eq!(describe_hours(&[0]), "00:00–01:00");
    }

    #[test]
    fn flags_a_burst_in_the_last_minute() {
        let mut cx = context(Some(Money::eur(10_00)));
        cx.usage.last_minute.count = 9;
        let assessment = assess_with(&cx, "{}");
        assert_eq!(names(&assessment), ["burst"]);
        assert_eq!(assessment.score, 50);
        assert_eq!(
            assessment.signals[0].detail,
            "this is the 10th intent in the last minute; 10 in a minute make a burst"
        );
        cx.usage.last_minute.count = 8;
        assert!(assess_with(&cx, "{}").signals.is_empty());
        // A configured rate, without a baseline.
        cx.agent.baseline = None;
        cx.usage.last_minute.count = 2;
        assert_eq!(
            names(&assess_with(&cx, r#"{"burstPerMinute": 3}"#)),
            ["burst"]
        );
        assert!(
            assess_with(&cx, r#"{"burstPerMinute": 4}"#)
                .signals
                .is_empty()
        );
        // A rate of 1 makes every intent a burst.
        cx.usage.last_minute.count = 0;
        assert_eq!(
            names(&assess_with(&cx, r#"{"burstPerMinute": 1}"#)),
            ["burst"]
        );
    }

    #[test]
    fn flags_a_burst_in_the_last_hour_against_the_baseline() {
        // 48 a day is 2 an hour: a burst is more than max(5, 8) = 8.
        let mut cx = context(Some(Money::eur(10_00)));
        cx.usage.last_hour.count = 8;
        let assessment = assess_with(&cx, "{}");
        assert_eq!(names(&assessment), ["burst"]);
        assert_eq!(assessment.score, 40);
        assert_eq!(
            assessment.signals[0].detail,
            "this is the 9th intent in the last hour; the agent usually declares 48 a day, so \
             more than 8 in an hour make a burst"
        );
        cx.usage.last_hour.count = 7;
        assert!(assess_with(&cx, "{}").signals.is_empty());
        // A quiet agent (1 a day) still gets 5 an hour.
        cx.agent.baseline.as_mut().unwrap().intents_per_day = 1;
        cx.usage.last_hour.count = 4;
        assert!(assess_with(&cx, "{}").signals.is_empty());
        cx.usage.last_hour.count = 5;
        assert_eq!(names(&assess_with(&cx, "{}")), ["burst"]);
        // 49 a day rounds up to 3 an hour: more than 12.
        cx.agent.baseline.as_mut().unwrap().intents_per_day = 49;
        cx.usage.last_hour.count = 11;
        assert!(assess_with(&cx, "{}").signals.is_empty());
        cx.usage.last_hour.count = 12;
        assert_eq!(names(&assess_with(&cx, "{}")), ["burst"]);
        // Without a usual rate there is no hourly burst.
        cx.agent.baseline.as_mut().unwrap().intents_per_day = 0;
        cx.usage.last_hour.count = 1_000;
        assert!(assess_with(&cx, "{}").signals.is_empty());
    }

    #[test]
    fn a_burst_in_the_last_minute_wins_over_one_in_the_hour() {
        let mut cx = context(Some(Money::eur(10_00)));
        cx.usage.last_minute.count = 20;
        cx.usage.last_hour.count = 100;
        let assessment = assess_with(&cx, "{}");
        assert_eq!(names(&assessment), ["burst"]);
        assert_eq!(assessment.signals[0].score, 50);
        cx.usage.last_minute.count = u64::MAX;
        assert_eq!(assess_with(&cx, "{}").signals[0].score, 50);
    }

    #[test]
    fn sums_the_signals_up_to_100() {
        let mut cx = context(Some(Money::eur(16_00)));
        cx.intent.merchant = Some("shop.example".into());
        cx.usage.merchant_last_month.count = 0;
        cx.now.seconds = testing::NOW.seconds + 3 * 3600;
        let assessment = assess_with(&cx, "{}");
        assert_eq!(
            names(&assessment),
            ["amount-deviation", "new-merchant", "unusual-hour"]
        );
        assert_eq!(assessment.score, 40 + 30 + 25);
        cx.usage.last_minute.count = 50;
        let assessment = assess_with(&cx, "{}");
        assert_eq!(
            names(&assessment),
            ["amount-deviation", "new-merchant", "unusual-hour", "burst"]
        );
        assert_eq!(assessment.score, 100);
        assert!(assessment.signals.iter().all(|s| s.score <= 100));
    }

    #[test]
    fn refuses_invalid_configurations() {
        for config in [
            r#"{"amountZScore": 0}"#,
            r#"{"amountZScore": 0.0}"#,
            r#"{"amountZScore": -3}"#,
            r#"{"amountZScore": "3"}"#,
            r#"{"amountZScore": 0.0000000001}"#,
            r#"{"amountZScore": 18446744074}"#,
            r#"{"burstPerMinute": 0}"#,
            r#"{"burstPerMinute": -1}"#,
            r#"{"burstPerMinute": 2.5}"#,
            r#"{"burstPerMinute": 4294967296}"#,
            r#"{"zScore": 3}"#,
            "[]",
            "null",
            "not json",
        ] {
            let error = testing::assess(assess, &context(None), config).unwrap_err();
            assert_eq!(error.code, "invalid-config", "{config}");
        }
        // The largest threshold that fits is accepted.
        assert!(
            testing::assess(assess, &context(None), r#"{"amountZScore": 18446744073}"#).is_ok()
        );
    }
}
