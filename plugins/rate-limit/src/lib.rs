//! `rate-limit`: denies an intent when the agent has already declared as
//! many intents as allowed in the last minute, hour or day.
//!
//! Configuration:
//!
//! ```json
//! {"perMinute": 10, "perHour": 100, "perDay": 500}
//! ```
//!
//! Each limit is optional, but at least one is required. The windows are
//! rolling: the last 60 seconds, the last 60 minutes and the last 24 hours
//! before the intent (`usage.last_minute`, `last_hour` and `last_day`). They
//! count every intent the agent declared, whatever became of it, and the
//! intent being decided comes on top.
//!
//! - the intent would be one more than a limit allows: deny, with
//!   `rate-limit-per-minute`, `rate-limit-per-hour` and `rate-limit-per-day`
//!   for each window whose limit it passes, in that order. A limit of 0
//!   denies every intent;
//! - otherwise approve.
//!
//! Every decision is annotated with the intents in each limited window,
//! this one included, out of the limit: `perMinute` = `3/10`.
#![cfg_attr(target_arch = "wasm32", no_std)]

use warrant_sdk::prelude::*;

/// The rule's configuration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The most intents allowed in the last 60 seconds, this one included.
    #[serde(default)]
    pub per_minute: Option<u32>,
    /// The most intents allowed in the last 60 minutes, this one included.
    #[serde(default)]
    pub per_hour: Option<u32>,
    /// The most intents allowed in the last 24 hours, this one included.
    #[serde(default)]
    pub per_day: Option<u32>,
}

/// A limited window.
struct Window {
    /// The annotation key, e.g. `perMinute`.
    key: &'static str,
    /// The reason code when the limit is passed.
    code: &'static str,
    /// The window, in "the Nth intent in …".
    span: &'static str,
    /// The unit of the limit, in "10 per …".
    unit: &'static str,
    /// Intents in the window, this one included.
    intents: u64,
    /// The limit.
    limit: u32,
}

impl Window {
    fn exceeded(&self) -> bool {
        self.intents > u64::from(self.limit)
    }
}

/// The policy.
pub fn evaluate(cx: &Context, config: Config) -> Result<Decision, PluginError> {
    let usage = &cx.usage;
    let windows: Vec<Window> = [
        (
            config.per_minute,
            "perMinute",
            "rate-limit-per-minute",
            "last minute",
            "minute",
            usage.last_minute.count,
        ),
        (
            config.per_hour,
            "perHour",
            "rate-limit-per-hour",
            "last hour",
            "hour",
            usage.last_hour.count,
        ),
        (
            config.per_day,
            "perDay",
            "rate-limit-per-day",
            "last 24 hours",
            "day",
            usage.last_day.count,
        ),
    ]
    .into_iter()
    .filter_map(|(limit, key, code, span, unit, count)| {
        limit.map(|limit| Window {
            key,
            code,
            span,
            unit,
            intents: count.saturating_add(1),
            limit,
        })
    })
    .collect();
    if windows.is_empty() {
        return Err(PluginError::invalid_config(
            "at least one of `perMinute`, `perHour` and `perDay` is required",
        ));
    }

    let exceeded: Vec<&Window> = windows.iter().filter(|w| w.exceeded()).collect();
    let mut decision = if exceeded.is_empty() {
        approve()
    } else {
        let positions = exceeded
            .iter()
            .enumerate()
            .map(|(n, w)| {
                let what = if n == 0 { " intent" } else { "" };
                format!("the {}{what} in the {}", ordinal(w.intents), w.span)
            })
            .collect::<Vec<_>>();
        let limits = exceeded
            .iter()
            .map(|w| format!("{} per {}", w.limit, w.unit))
            .collect::<Vec<_>>();
        let (noun, verb) = if exceeded.len() == 1 {
            ("limit", "is")
        } else {
            ("limits", "are")
        };
        let mut decision = deny(format!(
            "this would be {}; the {noun} {verb} {}",
            list(&positions),
            list(&limits)
        ));
        for w in &exceeded {
            decision = decision.with_code(w.code);
        }
        decision
    };
    for w in &windows {
        decision = decision.with_annotation(w.key, format!("{}/{}", w.intents, w.limit));
    }
    Ok(decision)
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`, `112th`.
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

/// `a`, `a and b`, `a, b and c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

warrant_sdk::export_policy!(evaluate);

#[cfg(test)]
mod tests {
    use warrant_sdk::testing;

    use super::*;

    /// Decides with `minute`, `hour` and `day` intents already in the
    /// windows.
    fn decide(minute: u64, hour: u64, day: u64, config: &str) -> Result<Decision, PluginError> {
        let mut cx = testing::context();
        cx.usage.last_minute.count = minute;
        cx.usage.last_hour.count = hour;
        cx.usage.last_day.count = day;
        testing::evaluate(evaluate, &cx, config)
    }

    const ALL: &str = r#"{"perMinute": 10, "perHour": 60, "perDay": 200}"#;

    #[test]
    fn approves_below_every_limit() {
        let decision = decide(2, 5, 7, ALL).unwrap();
        assert!(decision.is_approve());
        assert!(decision.codes.is_empty());
        assert_eq!(decision.annotation("perMinute"), Some("3/10"));
        assert_eq!(decision.annotation("perHour"), Some("6/60"));
        assert_eq!(decision.annotation("perDay"), Some("8/200"));
    }

    #[test]
    fn the_intent_that_reaches_a_limit_is_within_it() {
        assert!(decide(9, 59, 199, ALL).unwrap().is_approve());
        let decision = decide(9, 0, 0, ALL).unwrap();
        assert_eq!(decision.annotation("perMinute"), Some("10/10"));
    }

    #[test]
    fn denies_the_intent_past_the_per_minute_limit() {
        let decision = decide(10, 10, 10, ALL).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["rate-limit-per-minute"]);
        assert_eq!(
            decision.reason(),
            Some("this would be the 11th intent in the last minute; the limit is 10 per minute")
        );
        assert_eq!(decision.annotation("perMinute"), Some("11/10"));
    }

    #[test]
    fn denies_the_intent_past_the_per_hour_limit() {
        let decision = decide(0, 60, 60, ALL).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["rate-limit-per-hour"]);
        assert_eq!(
            decision.reason(),
            Some("this would be the 61st intent in the last hour; the limit is 60 per hour")
        );
    }

    #[test]
    fn denies_the_intent_past_the_per_day_limit() {
        let decision = decide(0, 0, 201, ALL).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["rate-limit-per-day"]);
        assert_eq!(
            decision.reason(),
            Some("this would be the 202nd intent in the last 24 hours; the limit is 200 per day")
        );
    }

    #[test]
    fn names_every_limit_passed_in_order() {
        let decision = decide(12, 60, 300, ALL).unwrap();
        assert!(decision.is_deny());
        assert_eq!(
            decision.codes,
            [
                "rate-limit-per-minute",
                "rate-limit-per-hour",
                "rate-limit-per-day"
            ]
        );
        assert_eq!(
            decision.reason(),
            Some(
                "this would be the 13th intent in the last minute, the 61st in the last hour \
                 and the 301st in the last 24 hours; the limits are 10 per minute, 60 per hour \
                 and 200 per day"
            )
        );

        let decision = decide(10, 0, 200, ALL).unwrap();
        assert_eq!(
            decision.codes,
            ["rate-limit-per-minute", "rate-limit-per-day"]
        );
        assert_eq!(
            decision.reason(),
            Some(
                "this would be the 11th intent in the last minute and the 201st in the last \
                 24 hours; the limits are 10 per minute and 200 per day"
            )
        );
    }

    #[test]
    fn only_the_configured_windows_count() {
        let config = r#"{"perHour": 5}"#;
        let decision = decide(1000, 4, 1000, config).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("perHour"), Some("5/5"));
        assert_eq!(decision.annotation("perMinute"), None);
        assert_eq!(decision.annotation("perDay"), None);
        assert_eq!(
            decide(0, 5, 0, config).unwrap().codes,
            ["rate-limit-per-hour"]
        );
        assert!(decide(0, 0, 0, r#"{"perDay": 1}"#).unwrap().is_approve());
        assert!(decide(0, 0, 1, r#"{"perDay": 1}"#).unwrap().is_deny());
    }

    #[test]
    fn a_limit_of_zero_denies_everything() {
        let decision = decide(0, 0, 0, r#"{"perMinute": 0}"#).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["rate-limit-per-minute"]);
        assert_eq!(
            decision.reason(),
            Some("this would be the 1st intent in the last minute; the limit is 0 per minute")
        );
        assert_eq!(decision.annotation("perMinute"), Some("1/0"));
    }

    #[test]
    fn handles_the_largest_counts_and_limits() {
        let max = r#"{"perDay": 4294967295}"#;
        assert!(decide(0, 0, 4_294_967_294, max).unwrap().is_approve());
        assert!(decide(0, 0, 4_294_967_295, max).unwrap().is_deny());
        let decision = decide(u64::MAX, 0, 0, r#"{"perMinute": 1}"#).unwrap();
        assert!(decision.is_deny());
        assert_eq!(
            decision.annotation("perMinute"),
            Some("18446744073709551615/1")
        );
    }

    #[test]
    fn writes_ordinals() {
        let cases = [
            (1, "1st"),
            (2, "2nd"),
            (3, "3rd"),
            (4, "4th"),
            (11, "11th"),
            (12, "12th"),
            (13, "13th"),
            (21, "21st"),
            (22, "22nd"),
            (23, "23rd"),
            (101, "101st"),
            (111, "111th"),
            (112, "112th"),
            (1000, "1000th"),
        ];
        for (n, text) in cases {
            assert_eq!(ordinal(n), text);
        }
    }

    #[test]
    fn refuses_invalid_configurations() {
        for config in [
            "{}",
            r#"{"perMinute": null}"#,
            r#"{"perMinute": -1}"#,
            r#"{"perMinute": 1.5}"#,
            r#"{"perMinute": "10"}"#,
            r#"{"perMinute": 4294967296}"#,
            r#"{"perMinute": 10, "perSecond": 1}"#,
            r#"{"per_minute": 10}"#,
            "[10]",
            "null",
            "not json",
        ] {
            let error = decide(0, 0, 0, config).unwrap_err();
            assert_eq!(error.code, "invalid-config", "{config}");
        }
    }
}
