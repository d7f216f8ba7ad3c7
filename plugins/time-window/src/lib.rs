//! `time-window`: allows intents only within hours of the day, on some days
//! of the week, in a time zone.
//!
//! Configuration:
//!
//! ```json
//! {"start": "09:00", "end": "17:00", "timezone": "Europe/Berlin", "allowedDays": [1, 2, 3, 4, 5]}
//! ```
//!
//! - `start` and `end` are local times written `HH:MM` (two digits each,
//!   `00:00` to `23:59`); `end` may also be `24:00`, the end of the day. The
//!   window includes `start` and excludes `end`. They must differ.
//! - `timezone` is an IANA time zone name such as `Europe/Berlin`, `UTC`
//!   when left out. The IANA database is compiled into the plugin, and local
//!   time follows its daylight saving rules.
//! - `allowedDays` are ISO weekdays, 1 (Monday) to 7 (Sunday); every day
//!   when left out. An empty list is refused; repeated days are fine.
//!
//! The local time is the time of the decision (`context.now`) in the zone.
//! When `start` is before `end` the intent is inside the window when the
//! local time is at or after `start` and before `end`, on an allowed day.
//! When `start` is after `end` the window crosses midnight (`22:00`–`06:00`)
//! and belongs to the day it starts on: the intent is inside when the local
//! time is at or after `start` on an allowed day, or before `end` on a day
//! that follows an allowed day.
//!
//! - outside the window: deny (`outside-time-window`);
//! - otherwise approve.
//!
//! Both are annotated with `localTime` (`Saturday 18:30`), `timezone` and
//! `window`. A decision time that no calendar can hold (beyond the years
//! -9999..=9999) is an error, `time-out-of-range`.
#![cfg_attr(target_arch = "wasm32", no_std)]

use jiff::Timestamp;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use warrant_sdk::prelude::*;

/// The rule's configuration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Where the window opens, `HH:MM` local time, included.
    pub start: String,
    /// Where the window closes, `HH:MM` local time or `24:00`, excluded.
    pub end: String,
    /// The IANA time zone of `start` and `end`, `UTC` by default.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The ISO weekdays (1 = Monday … 7 = Sunday) the window opens on;
    /// every day by default.
    #[serde(default)]
    pub allowed_days: Option<Vec<u32>>,
}

/// Minutes in a day.
const DAY: u32 = 24 * 60;

const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The policy.
pub fn evaluate(cx: &Context, config: Config) -> Result<Decision, PluginError> {
    let start = minutes("start", &config.start, false)?;
    let end = minutes("end", &config.end, true)?;
    if start == end {
        return Err(PluginError::invalid_config(format!(
            "`start` and `end` are both {}: the window would be empty",
            config.start
        )));
    }
    let zone_name = config.timezone.as_deref().unwrap_or("UTC");
    let zone = time_zone(zone_name)?;
    let zone_name = zone.iana_name().unwrap_or(zone_name);
    // `allowed[d]` for ISO weekday d + 1.
    let mut allowed = [false; 7];
    match &config.allowed_days {
        None => allowed = [true; 7],
        Some(days) if days.is_empty() => {
            return Err(PluginError::invalid_config(
                "`allowedDays` is empty, so the window would never open; leave it out to \
                 allow every day",
            ));
        }
        Some(days) => {
            for &day in days {
                if !(1..=7).contains(&day) {
                    return Err(PluginError::invalid_config(format!(
                        "`allowedDays` holds {day}; days are 1 (Monday) to 7 (Sunday)"
                    )));
                }
                allowed[day as usize - 1] = true;
            }
        }
    }

    // Minutes are all that count, and the second holds them.
    let now = Timestamp::new(cx.now.seconds, 0).map_err(|_| {
        PluginError::new(
            "time-out-of-range",
            format!(
                "the time of the decision, {} seconds after 1970-01-01, is beyond the calendar",
                cx.now.seconds
            ),
        )
    })?;
    let local = zone.to_datetime(now);
    // 0 = Monday.
    let day = local.weekday().to_monday_zero_offset() as usize;
    let previous_day = (day + 6) % 7;
    let time = local.hour() as u32 * 60 + local.minute() as u32;

    let inside = if start < end {
        allowed[day] && start <= time && time < end
    } else {
        (allowed[day] && time >= start) || (allowed[previous_day] && time < end)
    };

    let local_time = format!("{} {}", DAY_NAMES[day], hh_mm(time));
    let window = format!(
        "{}, {}–{}{}",
        describe_days(&allowed),
        hh_mm(start),
        hh_mm(end),
        if start > end { " the next day" } else { "" }
    );
    let decision = if inside {
        approve()
    } else {
        deny(format!(
            "{local_time} in {zone_name} is outside the allowed window ({window})"
        ))
        .with_code("outside-time-window")
    };
    Ok(decision
        .with_annotation("localTime", local_time)
        .with_annotation("timezone", zone_name)
        .with_annotation("window", window))
}

/// Reads `HH:MM` as minutes since midnight; `24:00` only when `end_of_day`.
fn minutes(field: &str, text: &str, end_of_day: bool) -> Result<u32, PluginError> {
    let invalid = || {
        let range = if end_of_day {
            "00:00 to 23:59, or 24:00"
        } else {
            "00:00 to 23:59"
        };
        PluginError::invalid_config(format!(
            "`{field}` must be a time written HH:MM, {range}, not `{text}`"
        ))
    };
    let bytes = text.as_bytes();
    if bytes.len() != 5 || bytes[2] != b':' {
        return Err(invalid());
    }
    let two_digits = |at: usize| -> Option<u32> {
        let (tens, ones) = (bytes[at], bytes[at + 1]);
        (tens.is_ascii_digit() && ones.is_ascii_digit())
            .then(|| u32::from(tens - b'0') * 10 + u32::from(ones - b'0'))
    };
    let (Some(hours), Some(mins)) = (two_digits(0), two_digits(3)) else {
        return Err(invalid());
    };
    if end_of_day && hours == 24 && mins == 0 {
        return Ok(DAY);
    }
    if hours > 23 || mins > 59 {
        return Err(invalid());
    }
    Ok(hours * 60 + mins)
}

/// The time zone named `name` in the bundled IANA database.
fn time_zone(name: &str) -> Result<TimeZone, PluginError> {
    let unknown = || {
        PluginError::invalid_config(format!(
            "`timezone` must be an IANA time zone such as `Europe/Berlin`, not `{name}`"
        ))
    };
    let zone = TimeZoneDatabase::bundled()
        .get(name)
        .map_err(|_| unknown())?;
    // `Etc/Unknown` is jiff's name for a zone nobody knows.
    if zone.is_unknown() {
        return Err(unknown());
    }
    Ok(zone)
}

/// `09:00`, `24:00`.
fn hh_mm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `every day`, `Monday–Friday`, `Saturday and Sunday`,
/// `Monday, Wednesday and Friday`, `Friday–Monday`.
fn describe_days(allowed: &[bool; 7]) -> String {
    if allowed.iter().all(|&a| a) {
        return "every day".into();
    }
    let mut parts: Vec<String> = Vec::new();
    for first in 0..7 {
        // A run of allowed days starts where the day before is not allowed.
        if !allowed[first] || allowed[(first + 6) % 7] {
            continue;
        }
        let mut length = 1;
        while allowed[(first + length) % 7] {
            length += 1;
        }
        let last = (first + length - 1) % 7;
        match length {
            1 => parts.push(DAY_NAMES[first].into()),
            2 => {
                parts.push(DAY_NAMES[first].into());
                parts.push(DAY_NAMES[last].into());
            }
            _ => parts.push(format!("{}–{}", DAY_NAMES[first], DAY_NAMES[last])),
        }
    }
    match parts.as_slice() {
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

    /// Decides at `at`, an RFC 3339 instant such as `2026-01-05T10:00:00Z`.
    fn decide(at: &str, config: &str) -> Result<Decision, PluginError> {
        let at: Timestamp = at.parse().unwrap();
        let mut cx = testing::context();
        cx.now = warrant_sdk::Timestamp {
            seconds: at.as_second(),
            nanoseconds: at.subsec_nanosecond() as u32,
        };
        testing::evaluate(evaluate, &cx, config)
    }

    fn inside(at: &str, config: &str) -> bool {
        let decision = decide(at, config).unwrap();
        if decision.is_approve() {
            assert!(decision.codes.is_empty());
            true
        } else {
            assert!(decision.is_deny(), "{at}");
            assert_eq!(decision.codes, ["outside-time-window"], "{at}");
            false
        }
    }

    const OFFICE: &str = r#"{"start": "09:00", "end": "17:00", "timezone": "Europe/Berlin", "allowedDays": [1, 2, 3, 4, 5]}"#;
    const NIGHT: &str = r#"{"start": "22:00", "end": "06:00", "timezone": "Europe/Berlin", "allowedDays": [1, 2, 3, 4, 5]}"#;

    #[test]
    fn approves_inside_the_window() {
        // Monday 2026-01-05, 10:00 in Berlin (UTC+1 in winter).
        let decision = decide("2026-01-05T09:00:00Z", OFFICE).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("localTime"), Some("Monday 10:00"));
        assert_eq!(decision.annotation("timezone"), Some("Europe/Berlin"));
        assert_eq!(
            decision.annotation("window"),
            Some("Monday–Friday, 09:00–17:00")
        );
    }

    #[test]
    fn the_start_is_inside_and_the_end_outside() {
        assert!(!inside("2026-01-05T07:59:59.999999999Z", OFFICE));
        assert!(inside("2026-01-05T08:00:00Z", OFFICE));
        assert!(inside("2026-01-05T15:59:59Z", OFFICE));
        assert!(!inside("2026-01-05T16:00:00Z", OFFICE));
    }

    #[test]
    fn denies_outside_the_hours_and_on_other_days() {
        // Saturday 2026-01-10, 18:30 in Berlin.
        let decision = decide("2026-01-10T17:30:00Z", OFFICE).unwrap();
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["outside-time-window"]);
        assert_eq!(
            decision.reason(),
            Some(
                "Saturday 18:30 in Europe/Berlin is outside the allowed window \
                 (Monday–Friday, 09:00–17:00)"
            )
        );
        assert_eq!(decision.annotation("localTime"), Some("Saturday 18:30"));
        // Saturday within the hours.
        assert!(!inside("2026-01-10T10:00:00Z", OFFICE));
        // Friday within the hours, Friday after them.
        assert!(inside("2026-01-09T10:00:00Z", OFFICE));
        assert!(!inside("2026-01-09T17:30:00Z", OFFICE));
    }

    #[test]
    fn follows_the_spring_change_in_berlin() {
        // 2026-03-29, a Sunday: at 01:00 UTC Berlin goes from 02:00 CET to
        // 03:00 CEST.
        let config = r#"{"start": "08:00", "end": "09:00", "timezone": "Europe/Berlin"}"#;
        // 08:30 CEST is 06:30 UTC; before the change it would be 07:30 UTC.
        let decision = decide("2026-03-29T06:30:00Z", config).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("localTime"), Some("Sunday 08:30"));
        assert!(!inside("2026-03-29T07:30:00Z", config));
        // The day before, still in winter time, 08:30 is 07:30 UTC.
        assert!(inside("2026-03-28T07:30:00Z", config));
        assert!(!inside("2026-03-28T06:30:00Z", config));

        // The local hour 02:00–03:00 does not exist that night.
        let skipped = r#"{"start": "02:00", "end": "03:00", "timezone": "Europe/Berlin"}"#;
        let decision = decide("2026-03-29T00:59:59Z", skipped).unwrap();
        assert_eq!(decision.annotation("localTime"), Some("Sunday 01:59"));
        assert!(decision.is_deny());
        let decision = decide("2026-03-29T01:00:00Z", skipped).unwrap();
        assert_eq!(decision.annotation("localTime"), Some("Sunday 03:00"));
        assert!(decision.is_deny());
        assert!(inside("2026-03-30T00:30:00Z", skipped));
    }

    #[test]
    fn follows_the_autumn_change_in_berlin() {
        // 2026-10-25, a Sunday: at 01:00 UTC Berlin goes from 03:00 CEST
        // back to 02:00 CET, so 02:00–03:00 happens twice.
        let config = r#"{"start": "08:00", "end": "09:00", "timezone": "Europe/Berlin"}"#;
        // 08:30 CET is 07:30 UTC; in summer time it would be 06:30 UTC.
        assert!(inside("2026-10-25T07:30:00Z", config));
        assert!(!inside("2026-10-25T06:30:00Z", config));
        assert!(inside("2026-10-24T06:30:00Z", config));

        let repeated = r#"{"start": "02:00", "end": "03:00", "timezone": "Europe/Berlin"}"#;
        // 02:30 CEST, then 02:30 CET an hour later: both inside.
        let first = decide("2026-10-25T00:30:00Z", repeated).unwrap();
        let second = decide("2026-10-25T01:30:00Z", repeated).unwrap();
        assert_eq!(first.annotation("localTime"), Some("Sunday 02:30"));
        assert_eq!(second.annotation("localTime"), Some("Sunday 02:30"));
        assert!(first.is_approve() && second.is_approve());
        // 01:59 CEST and 03:00 CET are outside.
        assert!(!inside("2026-10-24T23:59:00Z", repeated));
        assert!(!inside("2026-10-25T02:00:00Z", repeated));
    }

    #[test]
    fn follows_daylight_saving_time_in_new_york() {
        let config = r#"{"start": "09:00", "end": "17:00", "timezone": "America/New_York", "allowedDays": [1, 2, 3, 4, 5]}"#;
        // Friday 2026-03-06, EST (UTC-5): 13:30 UTC is 08:30.
        let decision = decide("2026-03-06T13:30:00Z", config).unwrap();
        assert!(decision.is_deny());
        assert_eq!(
            decision.reason(),
            Some(
                "Friday 08:30 in America/New_York is outside the allowed window \
                 (Monday–Friday, 09:00–17:00)"
            )
        );
        assert!(inside("2026-03-06T14:00:00Z", config));
        // Monday 2026-03-09, after the change of 2026-03-08, EDT (UTC-4):
        // 13:30 UTC is 09:30.
        assert!(inside("2026-03-09T13:30:00Z", config));
        assert!(!inside("2026-03-09T21:00:00Z", config));
        // Back to EST after 2026-11-01: Monday 2026-11-02, 13:30 UTC is 08:30.
        assert!(!inside("2026-11-02T13:30:00Z", config));
        assert!(inside("2026-11-02T21:59:00Z", config));
        assert!(!inside("2026-11-02T22:00:00Z", config));
    }

    #[test]
    fn a_window_crossing_midnight_belongs_to_the_day_it_starts() {
        // Berlin is UTC+1 in January. Friday 2026-01-09 23:00: inside.
        assert!(inside("2026-01-09T22:00:00Z", NIGHT));
        // Saturday 01:00 is still Friday night's window.
        let decision = decide("2026-01-10T00:00:00Z", NIGHT).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("localTime"), Some("Saturday 01:00"));
        assert_eq!(
            decision.annotation("window"),
            Some("Monday–Friday, 22:00–06:00 the next day")
        );
        // Saturday 05:59 inside, 06:00 outside; Saturday 22:00 outside.
        assert!(inside("2026-01-10T04:59:00Z", NIGHT));
        assert!(!inside("2026-01-10T05:00:00Z", NIGHT));
        assert!(!inside("2026-01-10T21:00:00Z", NIGHT));
        // Sunday 01:00 follows Saturday, which is not allowed.
        let decision = decide("2026-01-11T00:00:00Z", NIGHT).unwrap();
        assert!(decision.is_deny());
        assert_eq!(
            decision.reason(),
            Some(
                "Sunday 01:00 in Europe/Berlin is outside the allowed window \
                 (Monday–Friday, 22:00–06:00 the next day)"
            )
        );
        // Daytime on a weekday is outside.
        assert!(!inside("2026-01-07T11:00:00Z", NIGHT));
    }

    #[test]
    fn a_window_crossing_from_sunday_into_monday() {
        // Only Sunday nights, in UTC.
        let config = r#"{"start": "23:00", "end": "02:00", "allowedDays": [7]}"#;
        // Sunday 2026-01-04 23:30: inside; Monday 01:59 too.
        assert!(inside("2026-01-04T23:30:00Z", config));
        assert!(inside("2026-01-05T01:59:00Z", config));
        assert!(!inside("2026-01-05T02:00:00Z", config));
        // Monday 23:30 and Sunday 01:00 (Saturday night) are outside.
        assert!(!inside("2026-01-05T23:30:00Z", config));
        assert!(!inside("2026-01-04T01:00:00Z", config));

        // Only Mondays, all day: Sunday 23:59 is outside, Monday 00:00 inside.
        let mondays = r#"{"start": "00:00", "end": "24:00", "allowedDays": [1]}"#;
        assert!(!inside("2026-01-04T23:59:59Z", mondays));
        assert!(inside("2026-01-05T00:00:00Z", mondays));
        assert!(inside("2026-01-05T23:59:59Z", mondays));
        assert!(!inside("2026-01-06T00:00:00Z", mondays));
    }

    #[test]
    fn an_end_of_24_00_reaches_midnight() {
        let config = r#"{"start": "18:00", "end": "24:00"}"#;
        assert!(inside("2026-01-05T23:59:59Z", config));
        assert!(!inside("2026-01-06T00:00:00Z", config));
        assert!(!inside("2026-01-05T17:59:00Z", config));
        let decision = decide("2026-01-05T12:00:00Z", config).unwrap();
        assert_eq!(
            decision.reason(),
            Some("Monday 12:00 in UTC is outside the allowed window (every day, 18:00–24:00)")
        );
        // An end of 00:00 after a later start means the same.
        let config = r#"{"start": "18:00", "end": "00:00"}"#;
        assert!(inside("2026-01-05T23:59:59Z", config));
        assert!(!inside("2026-01-06T00:00:00Z", config));
    }

    #[test]
    fn defaults_to_utc_and_every_day() {
        let config = r#"{"start": "09:00", "end": "17:00"}"#;
        let decision = decide("2026-01-10T09:00:00Z", config).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("timezone"), Some("UTC"));
        assert_eq!(
            decision.annotation("window"),
            Some("every day, 09:00–17:00")
        );
        assert!(!inside("2026-01-10T08:59:00Z", config));
    }

    #[test]
    fn reads_time_zone_names_in_any_case() {
        let config = r#"{"start": "09:00", "end": "17:00", "timezone": "europe/berlin"}"#;
        let decision = decide("2026-01-05T08:00:00Z", config).unwrap();
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("timezone"), Some("Europe/Berlin"));
    }

    #[test]
    fn repeated_days_are_fine() {
        let config = r#"{"start": "09:00", "end": "17:00", "allowedDays": [6, 6, 7]}"#;
        assert!(inside("2026-01-10T10:00:00Z", config));
        assert!(!inside("2026-01-09T10:00:00Z", config));
    }

    #[test]
    fn describes_the_allowed_days() {
        let days = |list: &[usize]| {
            let mut allowed = [false; 7];
            for &d in list {
                allowed[d - 1] = true;
            }
            describe_days(&allowed)
        };
        assert_eq!(days(&[1, 2, 3, 4, 5, 6, 7]), "every day");
        assert_eq!(days(&[1, 2, 3, 4, 5]), "Monday–Friday");
        assert_eq!(days(&[6, 7]), "Saturday and Sunday");
        assert_eq!(days(&[1, 3, 5]), "Monday, Wednesday and Friday");
        assert_eq!(days(&[5, 6, 7, 1]), "Friday–Monday");
        assert_eq!(days(&[2]), "Tuesday");
        assert_eq!(
            days(&[1, 2, 3, 5, 6]),
            "Monday–Wednesday, Friday and Saturday"
        );
        assert_eq!(days(&[1, 2, 3, 4, 5, 6]), "Monday–Saturday");
        assert_eq!(days(&[7, 1, 2, 3, 4, 5]), "Sunday–Friday");
    }

    #[test]
    fn refuses_a_time_beyond_the_calendar() {
        let mut cx = testing::context();
        cx.now.seconds = i64::MAX;
        let error =
            testing::evaluate(evaluate, &cx, r#"{"start": "09:00", "end": "17:00"}"#).unwrap_err();
        assert_eq!(error.code, "time-out-of-range");
    }

    #[test]
    fn refuses_invalid_configurations() {
        for config in [
            "{}",
            r#"{"start": "09:00"}"#,
            r#"{"end": "17:00"}"#,
            r#"{"start": "09:00", "end": "09:00"}"#,
            r#"{"start": "00:00", "end": "00:00"}"#,
            r#"{"start": "9:00", "end": "17:00"}"#,
            r#"{"start": "09:0", "end": "17:00"}"#,
            r#"{"start": "09-00", "end": "17:00"}"#,
            r#"{"start": "09:00:00", "end": "17:00"}"#,
            r#"{"start": " 9:00", "end": "17:00"}"#,
            r#"{"start": "+9:00", "end": "17:00"}"#,
            r#"{"start": "24:00", "end": "17:00"}"#,
            r#"{"start": "09:00", "end": "24:01"}"#,
            r#"{"start": "09:00", "end": "25:00"}"#,
            r#"{"start": "09:60", "end": "17:00"}"#,
            r#"{"start": "٠٩:٠٠", "end": "17:00"}"#,
            r#"{"start": 9, "end": 17}"#,
            r#"{"start": "09:00", "end": "17:00", "timezone": "Mars/Olympus"}"#,
            r#"{"start": "09:00", "end": "17:00", "timezone": ""}"#,
            r#"{"start": "09:00", "end": "17:00", "timezone": "Etc/Unknown"}"#,
            r#"{"start": "09:00", "end": "17:00", "timezone": "+01:00"}"#,
            r#"{"start": "09:00", "end": "17:00", "allowedDays": []}"#,
            r#"{"start": "09:00", "end": "17:00", "allowedDays": [0]}"#,
            r#"{"start": "09:00", "end": "17:00", "allowedDays": [8]}"#,
            r#"{"start": "09:00", "end": "17:00", "allowedDays": [-1]}"#,
            r#"{"start": "09:00", "end": "17:00", "allowedDays": ["Monday"]}"#,
            r#"{"start": "09:00", "end": "17:00", "allowedDays": 1}"#,
            r#"{"start": "09:00", "end": "17:00", "days": [1]}"#,
            "[]",
            "not json",
        ] {
            let error = decide("2026-01-05T10:00:00Z", config).unwrap_err();
            assert_eq!(error.code, "invalid-config", "{config}");
        }
    }
}
