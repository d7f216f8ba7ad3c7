//! `budget`: daily and monthly budgets in euros, with an alert as spend
//! reaches a share of a budget and, optionally, suspension of an agent that
//! tries to go over one.
//!
//! Configuration:
//!
//! ```json
//! {
//!   "maxDailyEuros": 100,
//!   "maxMonthlyEuros": 1000,
//!   "alertThresholdPercent": 80,
//!   "autoSuspendOnExceeded": true
//! }
//! ```
//!
//! At least one of `maxDailyEuros` and `maxMonthlyEuros` is required.
//! `alertThresholdPercent` (1..=100) and `autoSuspendOnExceeded` (default
//! `false`) are optional.
//!
//! The daily budget counts the spend of the calendar day so far
//! (`usage.calendar_day`), the monthly budget that of the calendar month
//! (`usage.calendar_month`), both in the policy's time zone
//! (`usage.timezone`); the intent's amount comes on top.
//!
//! - no amount on the intent: review (`no-amount`), since no budget can be
//!   checked;
//! - an amount (or usage) in a currency other than EUR: review
//!   (`currency-mismatch`);
//! - the spend would go over the daily budget: deny
//!   (`budget-daily-exceeded`); over the monthly budget: deny
//!   (`budget-monthly-exceeded`); both codes when both are. With
//!   `autoSuspendOnExceeded`, the decision also asks the host to suspend
//!   the agent;
//! - with `alertThresholdPercent`, an intent that brings the spend from
//!   below that share of a budget to at least it: approve with an alert for
//!   each budget so reached (`budget-alert-threshold`);
//! - otherwise approve.
//!
//! Spend equal to a budget is within it. Every decision past the amount
//! checks is annotated with `dailySpent` and `dailyBudget`, and
//! `monthlySpent` and `monthlyBudget`, for the budgets configured, the
//! spend including this intent.
#![cfg_attr(target_arch = "wasm32", no_std)]

use warrant_sdk::prelude::*;

/// The rule's configuration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The most spent in a calendar day, in euros.
    #[serde(default)]
    pub max_daily_euros: Option<Amount>,
    /// The most spent in a calendar month, in euros.
    #[serde(default)]
    pub max_monthly_euros: Option<Amount>,
    /// Alert when an intent brings the spend to this share of a budget,
    /// 1..=100 percent.
    #[serde(default)]
    pub alert_threshold_percent: Option<u32>,
    /// Ask the host to suspend the agent when an intent would go over a
    /// budget.
    #[serde(default)]
    pub auto_suspend_on_exceeded: bool,
}

/// Euro cents in a euro.
const EUR_DECIMALS: u32 = 2;

/// One budget, checked against one intent.
struct Budget {
    /// `daily` or `monthly`, also the prefix of its annotations.
    name: &'static str,
    /// Its calendar period: `day` or `month`.
    period: &'static str,
    /// Whose spend: `today's spend` or `this month's spend`.
    whose: &'static str,
    /// The code when it is exceeded.
    code: &'static str,
    /// The budget in cents.
    max: u64,
    /// Spent before this intent, in cents.
    spent: u64,
    /// Spent with this intent, in cents.
    after: u128,
}

impl Budget {
    fn exceeded(&self) -> bool {
        self.after > u128::from(self.max)
    }

    /// Whether this intent brings the spend from below `percent` of the
    /// budget to at least it.
    fn crosses(&self, percent: u32) -> bool {
        let threshold = u128::from(percent) * u128::from(self.max);
        u128::from(self.spent) * 100 < threshold && threshold <= self.after * 100
    }
}

/// The policy.
pub fn evaluate(cx: &Context, config: Config) -> Result<Decision, PluginError> {
    let daily = config
        .max_daily_euros
        .map(|amount| cents(amount, "maxDailyEuros"))
        .transpose()?;
    let monthly = config
        .max_monthly_euros
        .map(|amount| cents(amount, "maxMonthlyEuros"))
        .transpose()?;
    if daily.is_none() && monthly.is_none() {
        return Err(PluginError::invalid_config(
            "at least one of `maxDailyEuros` and `maxMonthlyEuros` is required",
        ));
    }
    if let Some(percent) = config.alert_threshold_percent
        && !(1..=100).contains(&percent)
    {
        return Err(PluginError::invalid_config(format!(
            "`alertThresholdPercent` must be from 1 to 100, not {percent}"
        )));
    }

    let Some(amount) = &cx.intent.amount else {
        return Ok(
            review("the intent has no amount, so the budget cannot be checked")
                .with_code("no-amount"),
        );
    };
    if amount.currency != "EUR" {
        return Ok(review(format!(
            "the budget is in EUR and the intent is in {}",
            amount.currency
        ))
        .with_code("currency-mismatch"));
    }
    if cx.usage.currency != "EUR" {
        return Ok(review(format!(
            "the budget is in EUR and the agent's spend is counted in {}",
            cx.usage.currency
        ))
        .with_code("currency-mismatch"));
    }

    let this = amount.minor_units;
    let budget = |name, period, whose, code, max: u64, spent: u64| Budget {
        name,
        period,
        whose,
        code,
        max,
        spent,
        after: u128::from(spent) + u128::from(this),
    };
    let budgets: Vec<Budget> = [
        daily.map(|max| {
            budget(
                "daily",
                "day",
                "today's spend",
                "budget-daily-exceeded",
                max,
                cx.usage.calendar_day.spend,
            )
        }),
        monthly.map(|max| {
            budget(
                "monthly",
                "month",
                "this month's spend",
                "budget-monthly-exceeded",
                max,
                cx.usage.calendar_month.spend,
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    let timezone = &cx.usage.timezone;

    let exceeded: Vec<&Budget> = budgets.iter().filter(|b| b.exceeded()).collect();
    let mut decision = if !exceeded.is_empty() {
        let clauses: Vec<String> = exceeded
            .iter()
            .enumerate()
            .map(|(n, b)| {
                let zone = if n == 0 {
                    format!(" ({timezone})")
                } else {
                    String::new()
                };
                format!(
                    "{}{zone} to {}, over the {} budget of {}",
                    b.whose,
                    euros(b.after),
                    b.name,
                    euros(b.max.into())
                )
            })
            .collect();
        let mut decision = deny(format!(
            "this {} would bring {}",
            euros(this.into()),
            clauses.join(", and ")
        ));
        for b in &exceeded {
            decision = decision.with_code(b.code);
        }
        if config.auto_suspend_on_exceeded {
            let which: Vec<String> = exceeded
                .iter()
                .map(|b| format!("the {} budget of {}", b.name, euros(b.max.into())))
                .collect();
            let periods: Vec<&str> = exceeded.iter().map(|b| b.period).collect();
            decision = decision.with_suspend_agent(format!(
                "suspended by the budget rule: an intent of {} would have gone over {} \
                 (calendar {} in {timezone})",
                euros(this.into()),
                which.join(" and "),
                periods.join(" and "),
            ));
        }
        decision
    } else {
        let mut decision = approve();
        if let Some(percent) = config.alert_threshold_percent {
            let crossed: Vec<&Budget> = budgets.iter().filter(|b| b.crosses(percent)).collect();
            for b in &crossed {
                decision = decision.with_alert(format!(
                    "{} ({timezone}) reached {percent}% of the {} budget of {} ({})",
                    b.whose,
                    b.name,
                    euros(b.max.into()),
                    euros(b.after)
                ));
            }
            if !crossed.is_empty() {
                decision = decision.with_code("budget-alert-threshold");
            }
        }
        decision
    };
    for b in &budgets {
        decision = decision
            .with_annotation(format!("{}Spent", b.name), euros(b.after))
            .with_annotation(format!("{}Budget", b.name), euros(b.max.into()));
    }
    Ok(decision)
}

fn cents(amount: Amount, field: &str) -> Result<u64, PluginError> {
    amount.to_minor_units(EUR_DECIMALS).ok_or_else(|| {
        PluginError::invalid_config(format!(
            "`{field}` must be a euro amount with at most 2 decimals, not {amount}"
        ))
    })
}

fn euros(cents: u128) -> String {
    format!("{}.{:02} EUR", cents / 100, cents % 100)
}

warrant_sdk::export_policy!(evaluate);

#[cfg(test)]
// Amounts in tests are written as euros_cents.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use warrant_sdk::testing;

    use super::*;

    /// Decides on `amount` with `today` and `month` spent before it, in
    /// Europe/Berlin.
    fn decide(
        amount: Option<Money>,
        today: u64,
        month: u64,
        config: &str,
    ) -> Result<Decision, PluginError> {
        let mut cx = testing::context();
        cx.intent.amount = amount;
        cx.usage.timezone = "Europe/Berlin".into();
        cx.usage.calendar_day.spend = today;
        cx.usage.calendar_month.spend = month;
        testing::evaluate(evaluate, &cx, config)
    }

    const DAILY: &str = r#"{"maxDailyEuros": 100}"#;
    const BOTH: &str = r#"{"maxDailyEuros": 100, "maxMonthlyEuros": 1000}"#;
    const ALERTS: &str =
        r#"{"maxDailyEuros": 100, "maxMonthlyEuros": 1000, "alertThresholdPercent": 80}"#;
    const SUSPEND: &str =
        r#"{"maxDailyEuros": 100, "maxMonthlyEuros": 1000, "autoSuspendOnExceeded": true}"#;

    #[test]
    fn approves_within_the_budgets() {
        let decision = decide(Some(Money::eur(30_00)), 50_00, 500_00, BOTH).unwrap();
        assert!(decision.is_approve());
        assert!(decision.codes.is_empty());
        assert!(decision.actions.is_empty());
        assert_eq!(decision.annotation("dailySpent"), Some("80.00 EUR"));
        assert_eq!(decision.annotation("dailyBudget"), Some("100.00 EUR"));
        assert_eq!(decision.annotation("monthlySpent"), Some("530.00 EUR"));
        assert_eq!(decision.annotation("monthlyBudget"), Some("1000.00 EUR"));
    }

    #[test]
    fn spend_equal_to_a_budget_is_within_it() {
        assert!(
            decide(Some(Money::eur(30_00)), 70_00, 0, DAILY)
                .unwrap()
                .is_approve()
        );
        assert!(
            decide(Some(Money::eur(30_01)), 70_00, 0, DAILY)
                .unwrap()
                .is_deny()
        );
        assert!(
            decide(Some(Money::eur(1_00)), 0, 999_00, BOTH)
                .unwrap()
                .is_approve()
        );
        assert!(
            decide(Some(Money::eur(1_01)), 0, 999_00, BOTH)
                .unwrap()
                .is_deny()
        );
    }

    #[test]
    fn denies_an_intent_over_the_daily_budget() {
        let decision = decide(Some(Money::eur(30_00)), 90_00, 90_00, BOTH).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["budget-daily-exceeded"]);
        assert_eq!(
            decision.reason(),
            Some(
                "this 30.00 EUR would bring today's spend (Europe/Berlin) to 120.00 EUR, \
                 over the daily budget of 100.00 EUR"
            )
        );
        assert!(decision.actions.is_empty());
        assert_eq!(decision.annotation("dailySpent"), Some("120.00 EUR"));
        assert_eq!(decision.annotation("monthlySpent"), Some("120.00 EUR"));
    }

    #[test]
    fn denies_an_intent_over_the_monthly_budget() {
        let decision = decide(Some(Money::eur(20_00)), 0, 990_00, BOTH).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["budget-monthly-exceeded"]);
        assert_eq!(
            decision.reason(),
            Some(
                "this 20.00 EUR would bring this month's spend (Europe/Berlin) to 1010.00 EUR, \
                 over the monthly budget of 1000.00 EUR"
            )
        );
    }

    #[test]
    fn names_both_budgets_when_both_are_exceeded() {
        let decision = decide(Some(Money::eur(50_00)), 60_00, 960_00, BOTH).unwrap();
        assert!(decision.is_deny());
        assert_eq!(
            decision.codes,
            ["budget-daily-exceeded", "budget-monthly-exceeded"]
        );
        assert_eq!(
            decision.reason(),
            Some(
                "this 50.00 EUR would bring today's spend (Europe/Berlin) to 110.00 EUR, \
                 over the daily budget of 100.00 EUR, and this month's spend to 1010.00 EUR, \
                 over the monthly budget of 1000.00 EUR"
            )
        );
    }

    #[test]
    fn suspends_the_agent_when_asked_to() {
        let decision = decide(Some(Money::eur(30_00)), 90_00, 0, SUSPEND).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.actions.len(), 1);
        assert!(decision.has_action(Action::SUSPEND_AGENT));
        assert_eq!(
            decision.actions[0].message,
            "suspended by the budget rule: an intent of 30.00 EUR would have gone over the \
             daily budget of 100.00 EUR (calendar day in Europe/Berlin)"
        );

        let decision = decide(Some(Money::eur(30_00)), 0, 990_00, SUSPEND).unwrap();
        assert_eq!(
            decision.actions[0].message,
            "suspended by the budget rule: an intent of 30.00 EUR would have gone over the \
             monthly budget of 1000.00 EUR (calendar month in Europe/Berlin)"
        );

        let decision = decide(Some(Money::eur(30_00)), 90_00, 990_00, SUSPEND).unwrap();
        assert_eq!(decision.actions.len(), 1);
        assert_eq!(
            decision.actions[0].message,
            "suspended by the budget rule: an intent of 30.00 EUR would have gone over the \
             daily budget of 100.00 EUR and the monthly budget of 1000.00 EUR \
             (calendar day and month in Europe/Berlin)"
        );

        // Within the budgets, nothing is suspended.
        let decision = decide(Some(Money::eur(10_00)), 90_00, 0, SUSPEND).unwrap();
        assert!(decision.is_approve());
        assert!(decision.actions.is_empty());
    }

    #[test]
    fn does_not_suspend_by_default() {
        let config = r#"{"maxDailyEuros": 100, "autoSuspendOnExceeded": false}"#;
        let decision = decide(Some(Money::eur(200_00)), 0, 0, config).unwrap();
        assert!(decision.is_deny());
        assert!(decision.actions.is_empty());
    }

    #[test]
    fn alerts_when_an_intent_crosses_the_threshold() {
        let decision = decide(Some(Money::eur(10_00)), 75_00, 100_00, ALERTS).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.codes, ["budget-alert-threshold"]);
        assert_eq!(decision.actions.len(), 1);
        assert!(decision.has_action(Action::ALERT));
        assert_eq!(
            decision.actions[0].message,
            "today's spend (Europe/Berlin) reached 80% of the daily budget of 100.00 EUR \
             (85.00 EUR)"
        );
    }

    #[test]
    fn alerts_for_each_budget_crossed() {
        let decision = decide(Some(Money::eur(10_00)), 75_00, 795_00, ALERTS).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.codes, ["budget-alert-threshold"]);
        let messages: Vec<&str> = decision
            .actions
            .iter()
            .map(|a| a.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "today's spend (Europe/Berlin) reached 80% of the daily budget of 100.00 EUR \
                 (85.00 EUR)",
                "this month's spend (Europe/Berlin) reached 80% of the monthly budget of \
                 1000.00 EUR (805.00 EUR)",
            ]
        );
        assert!(decision.actions.iter().all(|a| a.kind == Action::ALERT));
    }

    #[test]
    fn alerts_only_on_the_intent_that_crosses_the_threshold() {
        // Reaching the threshold exactly crosses it.
        let decision = decide(Some(Money::eur(5_00)), 75_00, 0, ALERTS).unwrap();
        assert_eq!(decision.codes, ["budget-alert-threshold"]);
        // Staying below it does not.
        let decision = decide(Some(Money::eur(4_99)), 75_00, 0, ALERTS).unwrap();
        assert!(decision.is_approve());
        assert!(decision.codes.is_empty());
        assert!(decision.actions.is_empty());
        // Spend already at or past it: the alert was given before.
        for today in [80_00, 85_00] {
            let decision = decide(Some(Money::eur(1_00)), today, 0, ALERTS).unwrap();
            assert!(decision.is_approve());
            assert!(decision.codes.is_empty(), "{today}");
            assert!(decision.actions.is_empty(), "{today}");
        }
    }

    #[test]
    fn an_exceeded_budget_denies_without_an_alert() {
        let decision = decide(Some(Money::eur(30_00)), 75_00, 790_00, ALERTS).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["budget-daily-exceeded"]);
        assert!(decision.actions.is_empty());
    }

    #[test]
    fn a_threshold_of_100_percent_alerts_on_reaching_the_budget() {
        let config = r#"{"maxDailyEuros": 100, "alertThresholdPercent": 100}"#;
        let decision = decide(Some(Money::eur(10_00)), 90_00, 0, config).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.codes, ["budget-alert-threshold"]);
        assert!(decision.actions[0].message.contains("reached 100% of"));
        let decision = decide(Some(Money::eur(9_99)), 90_00, 0, config).unwrap();
        assert!(decision.codes.is_empty());
    }

    #[test]
    fn a_threshold_of_1_percent_alerts_on_the_first_cent_past_it() {
        let config = r#"{"maxMonthlyEuros": 100, "alertThresholdPercent": 1}"#;
        let decision = decide(Some(Money::eur(1_00)), 0, 0, config).unwrap();
        assert_eq!(decision.codes, ["budget-alert-threshold"]);
        assert_eq!(
            decision.actions[0].message,
            "this month's spend (Europe/Berlin) reached 1% of the monthly budget of \
             100.00 EUR (1.00 EUR)"
        );
        let decision = decide(Some(Money::eur(99)), 0, 0, config).unwrap();
        assert!(decision.codes.is_empty());
    }

    #[test]
    fn only_the_configured_budgets_count() {
        let monthly = r#"{"maxMonthlyEuros": 50}"#;
        let decision = decide(Some(Money::eur(40_00)), 1_000_00, 0, monthly).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("dailySpent"), None);
        assert_eq!(decision.annotation("dailyBudget"), None);
        assert_eq!(decision.annotation("monthlySpent"), Some("40.00 EUR"));
        let decision = decide(Some(Money::eur(40_00)), 0, 1_000_00, DAILY).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("monthlySpent"), None);
    }

    #[test]
    fn a_zero_budget_allows_only_free_intents() {
        let config = r#"{"maxDailyEuros": 0}"#;
        assert!(
            decide(Some(Money::eur(0)), 0, 0, config)
                .unwrap()
                .is_approve()
        );
        let decision = decide(Some(Money::eur(1)), 0, 0, config).unwrap();
        assert_eq!(decision.codes, ["budget-daily-exceeded"]);
        let alerts = r#"{"maxDailyEuros": 0, "alertThresholdPercent": 50}"#;
        assert!(
            decide(Some(Money::eur(0)), 0, 0, alerts)
                .unwrap()
                .codes
                .is_empty()
        );
    }

    #[test]
    fn reviews_an_intent_without_an_amount() {
        let decision = decide(None, 0, 0, BOTH).unwrap();
        assert!(decision.is_review());
        assert_eq!(decision.codes, ["no-amount"]);
        assert_eq!(
            decision.reason(),
            Some("the intent has no amount, so the budget cannot be checked")
        );
    }

    #[test]
    fn reviews_another_currency_rather_than_compare_it_with_euros() {
        let decision = decide(Some(Money::new(1, "USD")), 0, 0, BOTH).unwrap();
        assert!(decision.is_review());
        assert_eq!(decision.codes, ["currency-mismatch"]);
        assert_eq!(
            decision.reason(),
            Some("the budget is in EUR and the intent is in USD")
        );

        let mut cx = testing::context();
        cx.intent.amount = Some(Money::eur(1));
        cx.usage.currency = "USD".into();
        let decision = testing::evaluate(evaluate, &cx, BOTH).unwrap();
        assert!(decision.is_review());
        assert_eq!(decision.codes, ["currency-mismatch"]);
    }

    #[test]
    fn names_the_policys_time_zone() {
        let mut cx = testing::context();
        cx.intent.amount = Some(Money::eur(200_00));
        let decision = testing::evaluate(evaluate, &cx, DAILY).unwrap();
        assert_eq!(
            decision.reason(),
            Some(
                "this 200.00 EUR would bring today's spend (UTC) to 200.00 EUR, \
                 over the daily budget of 100.00 EUR"
            )
        );
    }

    #[test]
    fn handles_amounts_at_the_edge_of_u64() {
        let max = r#"{"maxDailyEuros": 184467440737095516.15, "maxMonthlyEuros": 184467440737095516.15, "alertThresholdPercent": 100}"#;
        // u64::MAX cents spent plus u64::MAX more does not overflow.
        let decision = decide(Some(Money::eur(u64::MAX)), u64::MAX, 0, max).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["budget-daily-exceeded"]);
        assert_eq!(
            decision.annotation("dailySpent"),
            Some("368934881474191032.30 EUR")
        );
        // The largest amount is within the largest budget, and reaches 100 %.
        let decision = decide(Some(Money::eur(u64::MAX)), 0, 0, max).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.codes, ["budget-alert-threshold"]);
        assert_eq!(decision.actions.len(), 2);
    }

    #[test]
    fn reads_budgets_exactly() {
        let config = r#"{"maxDailyEuros": 100.05}"#;
        assert!(
            decide(Some(Money::eur(100_05)), 0, 0, config)
                .unwrap()
                .is_approve()
        );
        assert!(
            decide(Some(Money::eur(100_06)), 0, 0, config)
                .unwrap()
                .is_deny()
        );
        let decision = decide(Some(Money::eur(1)), 0, 0, r#"{"maxDailyEuros": 1e2}"#).unwrap();
        assert_eq!(decision.annotation("dailyBudget"), Some("100.00 EUR"));
    }

    #[test]
    fn refuses_invalid_configurations() {
        for config in [
            "{}",
            r#"{"alertThresholdPercent": 80}"#,
            r#"{"autoSuspendOnExceeded": true}"#,
            r#"{"maxDailyEuros": null}"#,
            r#"{"maxDailyEuros": -1}"#,
            r#"{"maxDailyEuros": "100"}"#,
            r#"{"maxDailyEuros": 100.001}"#,
            r#"{"maxMonthlyEuros": 184467440737095516.16}"#,
            r#"{"maxDailyEuros": 100, "alertThresholdPercent": 0}"#,
            r#"{"maxDailyEuros": 100, "alertThresholdPercent": 101}"#,
            r#"{"maxDailyEuros": 100, "alertThresholdPercent": 80.5}"#,
            r#"{"maxDailyEuros": 100, "alertThresholdPercent": -5}"#,
            r#"{"maxDailyEuros": 100, "autoSuspendOnExceeded": "yes"}"#,
            r#"{"maxDailyEuros": 100, "maxWeeklyEuros": 500}"#,
            "[100]",
            "not json",
        ] {
            let error = decide(Some(Money::eur(1)), 0, 0, config).unwrap_err();
            assert_eq!(error.code, "invalid-config", "{config}");
        }
    }
}
