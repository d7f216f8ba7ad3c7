//! `recurring-match`: checks each charge reported against a recurring
//! intent: that it comes in the window of a due date, once per due date,
//! for about the expected amount, from the intent's merchant.
//!
//! Configuration: `{}`. The terms are the intent's own (`intent.recurring`).
//!
//! When an intent is being declared (`context.charge` is none) the rule
//! approves, annotating `recurring` with the cadence (`monthly`) or `no`.
//!
//! When a charge is being checked:
//!
//! - an intent without recurring terms: deny (`not-recurring`).
//! - Dates are whole days in the policy's time zone (`usage.timezone`,
//!   UTC for a 0.1.0 context): the series starts on the date it was
//!   declared, and a charge falls on the date it was made.
//! - Due dates: due(k) = the series' first date plus k periods, for
//!   k = 0, 1, 2, …: k days (daily), 7k days (weekly), k months on the same
//!   day of the month (monthly), k years (yearly). A day past the end of a
//!   month is clamped to its last day: a series started on 31 January is
//!   due on 28 (or 29) February and on 31 March; one started on 29
//!   February is due on 28 February in common years.
//! - The window of due(k) runs from `windowStartDaysBefore` days before it
//!   to `windowEndDaysAfter` days after it, both days included: with both
//!   at 0 (the default), a charge at any time of the due date is in it. A
//!   charge in several windows belongs to the one whose due date is
//!   nearest.
//! - The calendar ends with the year 9999: a series has no due dates after
//!   it.
//!
//! A charge is flagged, with every code that applies, in this order:
//!
//! - `outside-window`: it is in no window (the reason names the nearest
//!   due date); this includes any charge before the first window;
//! - `duplicate-charge`: an earlier accepted charge (`charge.previous`) is
//!   in the same window;
//! - `no-amount`: the intent has no amount to compare with;
//! - `currency-mismatch`: the charge is in another currency than the
//!   intent's amount;
//! - `amount-beyond-tolerance`: |charge − expected| × 10 000 > expected ×
//!   `amountToleranceBps`;
//! - `merchant-mismatch`: the terms require the intent's merchant and the
//!   charge comes from another one (ignoring letter case), or the intent
//!   names none.
//!
//! A flagged charge is denied; any other is approved. When the charge is in
//! a window, the decision is annotated with the period k (`period`) and its
//! due date (`dueDate`, `YYYY-MM-DD`).
#![cfg_attr(target_arch = "wasm32", no_std)]

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone, TimeZoneDatabase};
use jiff::{Span, Timestamp as Instant};
use warrant_sdk::prelude::*;

/// The rule's configuration: nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {}

/// Nanoseconds in a day.
const DAY: i128 = 86_400 * 1_000_000_000;

/// The policy.
pub fn evaluate(cx: &Context, _config: Config) -> Result<Decision, PluginError> {
    let terms = cx.intent.recurring.as_ref();
    let Some(charge) = &cx.charge else {
        return Ok(
            approve().with_annotation("recurring", terms.map_or("no", |t| cadence_name(t.cadence)))
        );
    };
    let Some(terms) = terms else {
        return Ok(
            deny("the intent is not recurring, so no charge can be accepted against it")
                .with_code("not-recurring"),
        );
    };

    let zone = time_zone(&cx.usage.timezone)?;
    let day = |t: Timestamp| day_of(nanos(t), &zone);
    let series = Series::new(terms.cadence, day(charge.series_start));
    let before = i128::from(terms.window_start_days_before) * DAY;
    let after = i128::from(terms.window_end_days_after) * DAY;
    let at = day(charge.at);

    let mut codes: Vec<&str> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let period = series.window_containing(at, before, after);
    match period {
        None => {
            let nearest = series.nearest(at);
            codes.push("outside-window");
            reasons.push(format!(
                "the charge on {} falls in no window of the {} series; the nearest due date is \
                 {}, and a charge may come from {} before to {} after a due date",
                date(at),
                cadence_name(terms.cadence),
                date(nearest),
                days(terms.window_start_days_before),
                days(terms.window_end_days_after)
            ));
        }
        Some((k, due)) => {
            let (from, to) = (due - before, due + after);
            if let Some(&earlier) = charge
                .previous
                .iter()
                .find(|&&p| (from..=to).contains(&day(p)))
            {
                codes.push("duplicate-charge");
                reasons.push(format!(
                    "a charge on {} was already accepted for the payment due {} (period {k})",
                    date(day(earlier)),
                    date(due)
                ));
            }
        }
    }

    match &cx.intent.amount {
        None => {
            codes.push("no-amount");
            reasons
                .push("the intent has no amount, so the charge's amount cannot be checked".into());
        }
        Some(expected)
            if !expected
                .currency
                .eq_ignore_ascii_case(&charge.amount.currency) =>
        {
            codes.push("currency-mismatch");
            reasons.push(format!(
                "the charge is in {} and the intent in {}",
                charge.amount.currency, expected.currency
            ));
        }
        Some(expected) => {
            let charged = charge.amount.minor_units;
            let diff = u128::from(charged.abs_diff(expected.minor_units));
            let bps = terms.amount_tolerance_bps;
            if diff * 10_000 > u128::from(expected.minor_units) * u128::from(bps) {
                let currency = &expected.currency;
                let tolerance = u128::from(expected.minor_units) * u128::from(bps) / 10_000;
                codes.push("amount-beyond-tolerance");
                reasons.push(format!(
                    "the charge of {} differs from the expected {} by {}, more than the \
                     tolerance of {}.{:02}% ({})",
                    money(charged.into(), currency),
                    money(expected.minor_units.into(), currency),
                    money(diff, currency),
                    bps / 100,
                    bps % 100,
                    money(tolerance, currency)
                ));
            }
        }
    }

    if terms.merchant_match {
        let charged_by = charge.merchant.trim();
        match cx.intent.merchant.as_deref().map(str::trim) {
            Some(merchant) if merchant.to_lowercase() == charged_by.to_lowercase() => {}
            Some(merchant) => {
                codes.push("merchant-mismatch");
                reasons.push(format!(
                    "the charge comes from `{charged_by}`, not from the intent's merchant \
                     `{merchant}`"
                ));
            }
            None => {
                codes.push("merchant-mismatch");
                reasons.push(format!(
                    "the charge comes from `{charged_by}` and the intent names no merchant to \
                     match it with"
                ));
            }
        }
    }

    let mut decision = if codes.is_empty() {
        approve()
    } else {
        let mut decision = deny(reasons.join("; "));
        for code in codes {
            decision = decision.with_code(code);
        }
        decision
    };
    if let Some((k, due)) = period {
        decision = decision
            .with_annotation("period", k)
            .with_annotation("dueDate", date(due));
    }
    Ok(decision)
}

/// The policy's time zone; an empty name (a 0.1.0 context) is UTC.
fn time_zone(name: &str) -> Result<TimeZone, PluginError> {
    if name.is_empty() || name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    match TimeZoneDatabase::bundled().get(name) {
        // `Etc/Unknown` is jiff's name for a zone nobody knows.
        Ok(zone) if !zone.is_unknown() => Ok(zone),
        _ => Err(PluginError::new(
            "invalid-timezone",
            format!("the policy's time zone `{name}` is not a known IANA time zone"),
        )),
    }
}

/// The date `nanos` falls on in `zone`, as its midnight in UTC (so that
/// dates compare and add as instants do); instants beyond the calendar
/// stay as they are.
fn day_of(nanos: i128, zone: &TimeZone) -> i128 {
    let Ok(t) = Instant::from_nanosecond(nanos) else {
        return nanos;
    };
    let date = zone.to_datetime(t).date();
    Offset::UTC
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .map_or(nanos, Instant::as_nanosecond)
}

/// The due dates of a series, as nanoseconds since 1970 of each date's
/// midnight in UTC.
struct Series {
    cadence: Cadence,
    /// due(0).
    start: i128,
    /// due(0) as a civil date and time in UTC, for months and years; none
    /// beyond jiff's calendar (years -9999..=9999).
    civil: Option<DateTime>,
}

impl Series {
    fn new(cadence: Cadence, start: i128) -> Self {
        let civil = Instant::from_nanosecond(start)
            .ok()
            .map(|t| Offset::UTC.to_datetime(t));
        Series {
            cadence,
            start,
            civil,
        }
    }

    /// due(k); none beyond the calendar (after the year 9999), where a
    /// series ends.
    fn due(&self, k: u64) -> Option<i128> {
        if k == 0 {
            return Some(self.start);
        }
        let k = i128::from(k);
        let on_calendar = |due: i128| (due <= Instant::MAX.as_nanosecond()).then_some(due);
        match self.cadence {
            Cadence::Daily => on_calendar(self.start + k * DAY),
            Cadence::Weekly => on_calendar(self.start + k * 7 * DAY),
            Cadence::Monthly | Cadence::Yearly => {
                let k = i64::try_from(k).ok()?;
                let span = match self.cadence {
                    Cadence::Monthly => Span::new().try_months(k),
                    _ => Span::new().try_years(k),
                }
                .ok()?;
                let due = self.civil?.checked_add(span).ok()?;
                Offset::UTC
                    .to_timestamp(due)
                    .ok()
                    .map(Instant::as_nanosecond)
            }
        }
    }

    /// The last period due at or before `t`; none before the series.
    fn last_due_by(&self, t: i128) -> Option<u64> {
        if t < self.start {
            return None;
        }
        // No due date but the first comes after the calendar's end.
        let t = t.min(Instant::MAX.as_nanosecond().max(self.start));
        let elapsed = t - self.start;
        match self.cadence {
            Cadence::Daily => u64::try_from(elapsed / DAY).ok(),
            Cadence::Weekly => u64::try_from(elapsed / (7 * DAY)).ok(),
            Cadence::Monthly | Cadence::Yearly => {
                let Some(start) = self.civil else {
                    // Only due(0) is on the calendar.
                    return Some(0);
                };
                let then = Offset::UTC.to_datetime(Instant::from_nanosecond(t).ok()?);
                let years = i64::from(then.year()) - i64::from(start.year());
                let estimate = match self.cadence {
                    Cadence::Monthly => {
                        years * 12 + i64::from(then.month()) - i64::from(start.month())
                    }
                    _ => years,
                };
                // The estimate is the period due in the same month (or
                // year) as `t`, which is at most one period late.
                let mut k = u64::try_from(estimate).unwrap_or(0);
                while k > 0 && self.due(k).is_none_or(|due| due > t) {
                    k -= 1;
                }
                while self.due(k + 1).is_some_and(|due| due <= t) {
                    k += 1;
                }
                Some(k)
            }
        }
    }

    /// The period whose window, from `before` before its due date to
    /// `after` after it, holds `at`, and its due date; the nearest due date
    /// when several windows do.
    fn window_containing(&self, at: i128, before: i128, after: i128) -> Option<(u64, i128)> {
        // The windows that hold `at` are those due from `at - after` to
        // `at + before`: periods `first..=last`.
        let last = self.last_due_by(at + before)?;
        let earliest = at - after;
        let first = match self.last_due_by(earliest) {
            None => 0,
            Some(k) if self.due(k) == Some(earliest) => k,
            Some(k) => k + 1,
        };
        if first > last {
            return None;
        }
        let (below, above) = match self.last_due_by(at) {
            None => (0, 0),
            Some(k) => (k, k + 1),
        };
        [below, above]
            .into_iter()
            .map(|k| k.clamp(first, last))
            .filter_map(|k| self.due(k).map(|due| (k, due)))
            // The earlier one on a tie.
            .min_by_key(|&(k, due)| ((due - at).abs(), k))
    }

    /// The due date nearest to `at`, the earlier one on a tie.
    fn nearest(&self, at: i128) -> i128 {
        let candidates = match self.last_due_by(at) {
            None => [Some(0), None],
            Some(k) => [Some(k), Some(k + 1)],
        };
        candidates
            .into_iter()
            .flatten()
            .filter_map(|k| self.due(k))
            .min_by_key(|&due| ((due - at).abs(), due))
            .unwrap_or(self.start)
    }
}

fn nanos(t: Timestamp) -> i128 {
    i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanoseconds)
}

/// `2026-04-01`, the date in UTC.
fn date(nanos: i128) -> String {
    match Instant::from_nanosecond(nanos) {
        Ok(t) => format!("{}", Offset::UTC.to_datetime(t).date()),
        Err(_) if nanos > 0 => "a date after the year 9999".into(),
        Err(_) => "a date before the year -9999".into(),
    }
}

fn days(n: u32) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

fn cadence_name(cadence: Cadence) -> &'static str {
    match cadence {
        Cadence::Daily => "daily",
        Cadence::Weekly => "weekly",
        Cadence::Monthly => "monthly",
        Cadence::Yearly => "yearly",
    }
}

/// `45.00 EUR`, `4500 JPY`, `1.500 KWD`: minor units in the currency's
/// usual decimals.
fn money(minor_units: u128, currency: &str) -> String {
    let decimals = decimals(currency);
    if decimals == 0 {
        return format!("{minor_units} {currency}");
    }
    let unit = 10u128.pow(decimals);
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

warrant_sdk::export_policy!(evaluate);

#[cfg(test)]
// Amounts in tests are written as euros_cents.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use warrant_sdk::testing;

    use super::*;

    /// An RFC 3339 instant as the contract's timestamp.
    fn ts(text: &str) -> Timestamp {
        let t: Instant = text.parse().unwrap();
        Timestamp {
            seconds: t.as_second(),
            nanoseconds: t.subsec_nanosecond() as u32,
        }
    }

    fn terms(cadence: Cadence, before: u32, after: u32) -> RecurringTerms {
        RecurringTerms {
            cadence,
            window_start_days_before: before,
            window_end_days_after: after,
            amount_tolerance_bps: 1000,
            merchant_match: true,
        }
    }

    /// A context checking a charge of 10.00 EUR from `hetzner.com` at `at`
    /// against an intent for 10.00 EUR at `hetzner.com`, recurring with
    /// `terms` since `start`.
    fn context(terms: RecurringTerms, start: &str, at: &str) -> Context {
        let mut cx = testing::context();
        cx.intent.amount = Some(Money::eur(10_00));
        cx.intent.merchant = Some("hetzner.com".into());
        cx.intent.recurring = Some(terms);
        cx.charge = Some(Charge {
            amount: Money::eur(10_00),
            merchant: "hetzner.com".into(),
            at: ts(at),
            series_start: ts(start),
            previous: Vec::new(),
        });
        cx
    }

    fn decide(cx: &Context) -> Decision {
        testing::evaluate(evaluate, cx, "{}").unwrap()
    }

    /// The charge at `at` of a series with `terms` since `start`: its
    /// period and due date when accepted, none when outside every window.
    fn period(terms: RecurringTerms, start: &str, at: &str) -> Option<(String, String)> {
        let decision = decide(&context(terms, start, at));
        if decision.is_approve() {
            Some((
                decision.annotation("period").unwrap().to_owned(),
                decision.annotation("dueDate").unwrap().to_owned(),
            ))
        } else {
            assert_eq!(decision.codes, ["outside-window"], "{at}");
            assert_eq!(decision.annotation("period"), None);
            None
        }
    }

    fn accepted(k: u64, due: &str) -> Option<(String, String)> {
        Some((k.to_string(), due.to_owned()))
    }

    const MONTHLY_START: &str = "2026-01-15T10:00:00Z";

    #[test]
    fn approves_the_declaration_of_an_intent() {
        let mut cx = context(terms(Cadence::Monthly, 3, 5), MONTHLY_START, MONTHLY_START);
        cx.charge = None;
        let decision = decide(&cx);
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("recurring"), Some("monthly"));
        cx.intent.recurring = None;
        let decision = decide(&cx);
        assert!(decision.is_approve());
        assert_eq!(decision.annotation("recurring"), Some("no"));
        for (cadence, name) in [
            (Cadence::Daily, "daily"),
            (Cadence::Weekly, "weekly"),
            (Cadence::Yearly, "yearly"),
        ] {
            cx.intent.recurring = Some(terms(cadence, 0, 0));
            assert_eq!(decide(&cx).annotation("recurring"), Some(name));
        }
    }

    #[test]
    fn denies_a_charge_against_an_intent_that_is_not_recurring() {
        let mut cx = context(terms(Cadence::Monthly, 3, 5), MONTHLY_START, MONTHLY_START);
        cx.intent.recurring = None;
        let decision = decide(&cx);
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["not-recurring"]);
        assert_eq!(
            decision.reason(),
            Some("the intent is not recurring, so no charge can be accepted against it")
        );
    }

    #[test]
    fn accepts_a_monthly_charge_on_its_due_date() {
        let cx = context(
            terms(Cadence::Monthly, 3, 5),
            MONTHLY_START,
            "2026-03-15T10:00:00Z",
        );
        let decision = decide(&cx);
        assert!(decision.is_approve());
        assert!(decision.codes.is_empty());
        assert_eq!(decision.annotation("period"), Some("2"));
        assert_eq!(decision.annotation("dueDate"), Some("2026-03-15"));
        // The first charge, at the start of the series, is period 0.
        assert_eq!(
            period(terms(Cadence::Monthly, 3, 5), MONTHLY_START, MONTHLY_START),
            accepted(0, "2026-01-15")
        );
    }

    #[test]
    fn the_window_includes_both_ends() {
        let t = || terms(Cadence::Monthly, 3, 5);
        let due = accepted(2, "2026-03-15");
        // Whole days: from the first instant of the 12th to the last of
        // the 20th, whatever the series' time of day.
        assert_eq!(period(t(), MONTHLY_START, "2026-03-12T00:00:00Z"), due);
        assert_eq!(
            period(t(), MONTHLY_START, "2026-03-11T23:59:59.999999999Z"),
            None
        );
        assert_eq!(
            period(t(), MONTHLY_START, "2026-03-20T23:59:59.999999999Z"),
            due
        );
        assert_eq!(period(t(), MONTHLY_START, "2026-03-21T00:00:00Z"), None);
    }

    /// The charge at `at` of a monthly series without windows, declared at
    /// `start`, with the policy in `zone`.
    fn in_zone(zone: &str, start: &str, at: &str) -> Decision {
        let mut cx = context(terms(Cadence::Monthly, 0, 0), start, at);
        cx.usage.timezone = zone.into();
        decide(&cx)
    }

    #[test]
    fn a_charge_any_time_on_the_due_date_is_in_a_window_of_no_days() {
        // Declared on 5 December 2026 at 10:00 in Berlin (09:00 UTC).
        let start = "2026-12-05T09:00:00Z";
        // Seconds later, the same day: period 0.
        let decision = in_zone("Europe/Berlin", start, "2026-12-05T09:00:05Z");
        assert!(decision.is_approve(), "{:?}", decision.reason());
        assert_eq!(decision.annotation("dueDate"), Some("2026-12-05"));
        // 00:00, 12:00 and 23:59 in Berlin on the due date, 5 January.
        for at in [
            "2027-01-04T23:00:00Z",
            "2027-01-05T11:00:00Z",
            "2027-01-05T22:59:00Z",
        ] {
            let decision = in_zone("Europe/Berlin", start, at);
            assert!(decision.is_approve(), "{at}: {:?}", decision.reason());
            assert_eq!(decision.annotation("period"), Some("1"), "{at}");
            assert_eq!(decision.annotation("dueDate"), Some("2027-01-05"), "{at}");
        }
        // A minute before and after the day, in Berlin.
        for at in ["2027-01-04T22:59:00Z", "2027-01-05T23:00:00Z"] {
            let decision = in_zone("Europe/Berlin", start, at);
            assert_eq!(decision.codes, ["outside-window"], "{at}");
        }
        // 23:00 on 4 January in New York is the 5th in UTC: not the due
        // date in New York.
        let decision = in_zone("America/New_York", start, "2027-01-05T04:00:00Z");
        assert_eq!(decision.codes, ["outside-window"]);
        assert_eq!(
            decision.reason(),
            Some(
                "the charge on 2027-01-04 falls in no window of the monthly series; the \
                 nearest due date is 2027-01-05, and a charge may come from 0 days before to \
                 0 days after a due date"
            )
        );
    }

    #[test]
    fn due_dates_are_dates_in_the_policys_time_zone() {
        // Declared at 20:00 on 4 December in New York (01:00 UTC on the 5th):
        // due on the 4th of every month there.
        let start = "2026-12-05T01:00:00Z";
        for at in [
            "2027-01-04T05:00:00Z",
            "2027-01-04T17:00:00Z",
            "2027-01-05T04:59:00Z",
        ] {
            let decision = in_zone("America/New_York", start, at);
            assert!(decision.is_approve(), "{at}: {:?}", decision.reason());
            assert_eq!(decision.annotation("dueDate"), Some("2027-01-04"), "{at}");
        }
        assert_eq!(
            in_zone("America/New_York", start, "2027-01-05T05:00:00Z").codes,
            ["outside-window"]
        );
        // The same instants in UTC: due on the 5th.
        let decision = in_zone("UTC", start, "2027-01-05T04:59:00Z");
        assert_eq!(decision.annotation("dueDate"), Some("2027-01-05"));
        // A 0.1.0 context names no time zone: UTC.
        let decision = in_zone("", start, "2027-01-05T23:59:00Z");
        assert_eq!(decision.annotation("dueDate"), Some("2027-01-05"));
        // An unknown zone fails closed.
        let mut cx = context(terms(Cadence::Monthly, 0, 0), start, start);
        cx.usage.timezone = "Mars/Olympus".into();
        let error = testing::evaluate(evaluate, &cx, "{}").unwrap_err();
        assert_eq!(error.code, "invalid-timezone");
    }

    #[test]
    fn denies_a_charge_outside_every_window() {
        let cx = context(
            terms(Cadence::Monthly, 3, 5),
            MONTHLY_START,
            "2026-04-02T08:00:00Z",
        );
        let decision = decide(&cx);
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["outside-window"]);
        assert_eq!(
            decision.reason(),
            Some(
                "the charge on 2026-04-02 falls in no window of the monthly series; the \
                 nearest due date is 2026-04-15, and a charge may come from 3 days before to \
                 5 days after a due date"
            )
        );
        let cx = context(
            terms(Cadence::Monthly, 1, 1),
            MONTHLY_START,
            "2026-03-20T08:00:00Z",
        );
        assert!(
            decide(&cx)
                .reason()
                .unwrap()
                .contains("the nearest due date is 2026-03-15, and a charge may come from 1 day before to 1 day after")
        );
    }

    #[test]
    fn a_charge_before_the_first_window_is_outside() {
        let t = || terms(Cadence::Monthly, 3, 5);
        assert_eq!(
            period(t(), MONTHLY_START, "2026-01-12T00:00:00Z"),
            accepted(0, "2026-01-15")
        );
        assert_eq!(period(t(), MONTHLY_START, "2026-01-11T23:59:59Z"), None);
        let decision = decide(&context(t(), MONTHLY_START, "2025-06-01T00:00:00Z"));
        assert_eq!(decision.codes, ["outside-window"]);
        assert!(
            decision
                .reason()
                .unwrap()
                .contains("the nearest due date is 2026-01-15")
        );
        // Without a window before the due date, nothing before the start.
        let t = || terms(Cadence::Daily, 0, 0);
        assert_eq!(period(t(), MONTHLY_START, "2026-01-14T23:59:59Z"), None);
        // But the whole first day.
        assert_eq!(
            period(t(), MONTHLY_START, "2026-01-15T00:00:00Z"),
            accepted(0, "2026-01-15")
        );
    }

    #[test]
    fn monthly_due_dates_are_clamped_to_the_end_of_the_month() {
        let start = "2026-01-31T10:00:00Z";
        let t = || terms(Cadence::Monthly, 0, 0);
        assert_eq!(
            period(t(), start, "2026-02-28T10:00:00Z"),
            accepted(1, "2026-02-28")
        );
        // Not the 28th of every later month: each period counts from the start.
        assert_eq!(period(t(), start, "2026-03-28T10:00:00Z"), None);
        assert_eq!(
            period(t(), start, "2026-03-31T10:00:00Z"),
            accepted(2, "2026-03-31")
        );
        assert_eq!(
            period(t(), start, "2026-04-30T10:00:00Z"),
            accepted(3, "2026-04-30")
        );
        assert_eq!(
            period(t(), start, "2027-02-28T10:00:00Z"),
            accepted(13, "2027-02-28")
        );
        assert_eq!(
            period(t(), start, "2028-02-29T10:00:00Z"),
            accepted(25, "2028-02-29")
        );
        // Any time of the due date; not the day after.
        assert_eq!(
            period(t(), start, "2026-02-28T23:59:59Z"),
            accepted(1, "2026-02-28")
        );
        assert_eq!(period(t(), start, "2026-03-01T00:00:00Z"), None);
    }

    #[test]
    fn yearly_due_dates_clamp_the_29th_of_february() {
        let start = "2024-02-29T12:00:00Z";
        let t = || terms(Cadence::Yearly, 0, 0);
        assert_eq!(
            period(t(), start, "2025-02-28T12:00:00Z"),
            accepted(1, "2025-02-28")
        );
        assert_eq!(period(t(), start, "2025-03-01T12:00:00Z"), None);
        assert_eq!(
            period(t(), start, "2027-02-28T12:00:00Z"),
            accepted(3, "2027-02-28")
        );
        assert_eq!(
            period(t(), start, "2028-02-29T12:00:00Z"),
            accepted(4, "2028-02-29")
        );
        assert_eq!(period(t(), start, "2028-02-28T12:00:00Z"), None);
        let t = || terms(Cadence::Yearly, 10, 10);
        assert_eq!(
            period(t(), start, "2026-03-05T00:00:00Z"),
            accepted(2, "2026-02-28")
        );
    }

    #[test]
    fn daily_and_weekly_due_dates() {
        let start = "2026-01-01T00:00:00Z";
        let daily = || terms(Cadence::Daily, 0, 0);
        assert_eq!(
            period(daily(), start, "2026-01-11T00:00:00Z"),
            accepted(10, "2026-01-11")
        );
        assert_eq!(
            period(daily(), start, "2026-01-11T23:00:00Z"),
            accepted(10, "2026-01-11")
        );
        let late = || terms(Cadence::Daily, 0, 1);
        // On the 12th: in the windows of the 11th and the 12th, nearest
        // the 12th.
        assert_eq!(
            period(late(), start, "2026-01-12T03:00:00Z"),
            accepted(11, "2026-01-12")
        );
        let weekly = || terms(Cadence::Weekly, 1, 1);
        assert_eq!(
            period(weekly(), start, "2026-01-15T00:00:00Z"),
            accepted(2, "2026-01-15")
        );
        assert_eq!(
            period(weekly(), start, "2026-01-16T00:00:00Z"),
            accepted(2, "2026-01-15")
        );
        assert_eq!(period(weekly(), start, "2026-01-17T00:00:00Z"), None);
        assert_eq!(
            period(weekly(), start, "2026-01-21T00:00:00Z"),
            accepted(3, "2026-01-22")
        );
    }

    #[test]
    fn a_charge_in_overlapping_windows_belongs_to_the_nearest_due_date() {
        let start = "2026-01-01T00:00:00Z";
        let t = || terms(Cadence::Weekly, 5, 5);
        // Day 3 is 3 days after due(0) and 4 before due(1).
        assert_eq!(
            period(t(), start, "2026-01-04T00:00:00Z"),
            accepted(0, "2026-01-01")
        );
        assert_eq!(
            period(t(), start, "2026-01-05T00:00:00Z"),
            accepted(1, "2026-01-08")
        );
        // Any time of the 4th is its day: 3 days after due(0).
        assert_eq!(
            period(t(), start, "2026-01-04T23:00:00Z"),
            accepted(0, "2026-01-01")
        );
        // Windows much longer than the period: the due date is the day.
        let t = || terms(Cadence::Daily, 400, 400);
        assert_eq!(
            period(t(), start, "2026-01-04T13:00:00Z"),
            accepted(3, "2026-01-04")
        );
        assert_eq!(
            period(t(), start, "2025-01-01T00:00:00Z"),
            accepted(0, "2026-01-01")
        );
    }

    #[test]
    fn a_charge_belongs_to_the_window_that_holds_it_not_the_nearest_due_date() {
        // Charges come up to 20 days late, never early: on 20 January the
        // nearest due date is 1 February, but only January's window holds it.
        let start = "2026-01-01T00:00:00Z";
        let t = || terms(Cadence::Monthly, 0, 20);
        assert_eq!(
            period(t(), start, "2026-01-20T00:00:00Z"),
            accepted(0, "2026-01-01")
        );
        assert_eq!(period(t(), start, "2026-01-25T00:00:00Z"), None);
        let decision = decide(&context(t(), start, "2026-01-25T00:00:00Z"));
        assert!(
            decision
                .reason()
                .unwrap()
                .contains("the nearest due date is 2026-02-01")
        );
        // And charges up to 20 days early.
        let t = || terms(Cadence::Monthly, 20, 0);
        assert_eq!(
            period(t(), start, "2026-01-12T00:00:00Z"),
            accepted(1, "2026-02-01")
        );
        assert_eq!(period(t(), start, "2026-01-05T00:00:00Z"), None);
    }

    #[test]
    fn flags_a_second_charge_in_the_same_window() {
        let mut cx = context(
            terms(Cadence::Monthly, 3, 5),
            MONTHLY_START,
            "2026-03-16T10:00:00Z",
        );
        cx.charge.as_mut().unwrap().previous = vec![
            ts("2026-01-15T10:00:00Z"),
            ts("2026-02-15T10:00:00Z"),
            ts("2026-03-13T08:00:00Z"),
        ];
        let decision = decide(&cx);
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["duplicate-charge"]);
        assert_eq!(
            decision.reason(),
            Some(
                "a charge on 2026-03-13 was already accepted for the payment due 2026-03-15 \
                 (period 2)"
            )
        );
        assert_eq!(decision.annotation("period"), Some("2"));
        assert_eq!(decision.annotation("dueDate"), Some("2026-03-15"));

        // Earlier charges in other windows are no duplicates, nor are
        // those just outside this one.
        cx.charge.as_mut().unwrap().previous = vec![
            ts("2026-02-15T10:00:00Z"),
            ts("2026-03-11T23:59:59Z"),
            ts("2026-03-21T00:00:00Z"),
        ];
        assert!(decide(&cx).is_approve());
        // The same instant is a duplicate.
        cx.charge.as_mut().unwrap().previous = vec![ts("2026-03-16T10:00:00Z")];
        assert_eq!(decide(&cx).codes, ["duplicate-charge"]);
    }

    #[test]
    fn checks_the_amount_within_the_tolerance() {
        let charged = |cents: u64, bps: u32| {
            let mut t = terms(Cadence::Monthly, 3, 5);
            t.amount_tolerance_bps = bps;
            let mut cx = context(t, MONTHLY_START, MONTHLY_START);
            cx.charge.as_mut().unwrap().amount = Money::eur(cents);
            decide(&cx)
        };
        // 10 % of 10.00 EUR.
        for cents in [9_00, 10_00, 11_00] {
            assert!(charged(cents, 1000).is_approve(), "{cents}");
        }
        for cents in [8_99, 11_01, 0, u64::MAX] {
            let decision = charged(cents, 1000);
            assert!(decision.is_deny(), "{cents}");
            assert_eq!(decision.codes, ["amount-beyond-tolerance"]);
        }
        assert_eq!(
            charged(12_50, 1000).reason(),
            Some(
                "the charge of 12.50 EUR differs from the expected 10.00 EUR by 2.50 EUR, more \
                 than the tolerance of 10.00% (1.00 EUR)"
            )
        );
        // No tolerance: the exact amount only.
        assert!(charged(10_00, 0).is_approve());
        assert_eq!(charged(10_01, 0).codes, ["amount-beyond-tolerance"]);
        assert_eq!(charged(9_99, 0).codes, ["amount-beyond-tolerance"]);
        // 0.25 %: 2.5 cents of 10.00 EUR.
        assert!(charged(10_02, 25).is_approve());
        assert!(charged(10_03, 25).is_deny());
        assert!(
            charged(10_03, 25)
                .reason()
                .unwrap()
                .contains("tolerance of 0.25% (0.02 EUR)")
        );
    }

    #[test]
    fn checks_amounts_at_the_edge_of_u64() {
        let mut t = terms(Cadence::Monthly, 3, 5);
        t.amount_tolerance_bps = u32::MAX;
        let mut cx = context(t, MONTHLY_START, MONTHLY_START);
        cx.intent.amount = Some(Money::eur(u64::MAX));
        cx.charge.as_mut().unwrap().amount = Money::eur(0);
        assert!(decide(&cx).is_approve());
        cx.intent.recurring.as_mut().unwrap().amount_tolerance_bps = 9_999;
        let decision = decide(&cx);
        assert_eq!(decision.codes, ["amount-beyond-tolerance"]);
        // An expected amount of zero tolerates nothing but zero.
        cx.intent.amount = Some(Money::eur(0));
        cx.intent.recurring.as_mut().unwrap().amount_tolerance_bps = u32::MAX;
        assert!(decide(&cx).is_approve());
        cx.charge.as_mut().unwrap().amount = Money::eur(1);
        assert_eq!(decide(&cx).codes, ["amount-beyond-tolerance"]);
    }

    #[test]
    fn flags_a_missing_amount_or_another_currency() {
        let mut cx = context(terms(Cadence::Monthly, 3, 5), MONTHLY_START, MONTHLY_START);
        cx.intent.amount = None;
        let decision = decide(&cx);
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["no-amount"]);
        assert_eq!(
            decision.reason(),
            Some("the intent has no amount, so the charge's amount cannot be checked")
        );
        assert_eq!(decision.annotation("period"), Some("0"));

        cx.intent.amount = Some(Money::new(10_00, "USD"));
        let decision = decide(&cx);
        assert_eq!(decision.codes, ["currency-mismatch"]);
        assert_eq!(
            decision.reason(),
            Some("the charge is in EUR and the intent in USD")
        );
    }

    #[test]
    fn checks_the_merchant_when_the_terms_ask_for_it() {
        let mut cx = context(terms(Cadence::Monthly, 3, 5), MONTHLY_START, MONTHLY_START);
        cx.charge.as_mut().unwrap().merchant = "Hetzner.COM".into();
        assert!(decide(&cx).is_approve());

        cx.charge.as_mut().unwrap().merchant = "evilhetzner.com".into();
        let decision = decide(&cx);
        assert!(decision.is_deny());
        assert_eq!(decision.codes, ["merchant-mismatch"]);
        assert_eq!(
            decision.reason(),
            Some(
                "the charge comes from `evilhetzner.com`, not from the intent's merchant \
                 `hetzner.com`"
            )
        );

        cx.intent.merchant = None;
        let decision = decide(&cx);
        assert_eq!(decision.codes, ["merchant-mismatch"]);
        assert_eq!(
            decision.reason(),
            Some(
                "the charge comes from `evilhetzner.com` and the intent names no merchant to \
                 match it with"
            )
        );

        // Terms that do not ask for the merchant accept any.
        cx.intent.recurring.as_mut().unwrap().merchant_match = false;
        assert!(decide(&cx).is_approve());
    }

    #[test]
    fn names_every_problem_in_order() {
        let mut cx = context(
            terms(Cadence::Monthly, 3, 5),
            MONTHLY_START,
            "2026-03-01T00:00:00Z",
        );
        cx.intent.amount = Some(Money::new(10_00, "USD"));
        cx.charge.as_mut().unwrap().merchant = "other.example".into();
        let decision = decide(&cx);
        assert_eq!(
            decision.codes,
            ["outside-window", "currency-mismatch", "merchant-mismatch"]
        );
        assert_eq!(decision.reason().unwrap().matches("; ").count(), 3);
        assert_eq!(decision.annotation("period"), None);

        let mut cx = context(
            terms(Cadence::Monthly, 3, 5),
            MONTHLY_START,
            "2026-03-15T10:00:00Z",
        );
        cx.intent.amount = None;
        cx.intent.merchant = None;
        cx.charge.as_mut().unwrap().previous = vec![ts("2026-03-14T10:00:00Z")];
        assert_eq!(
            decide(&cx).codes,
            ["duplicate-charge", "no-amount", "merchant-mismatch"]
        );

        cx.intent.amount = Some(Money::eur(20_00));
        assert_eq!(
            decide(&cx).codes,
            [
                "duplicate-charge",
                "amount-beyond-tolerance",
                "merchant-mismatch"
            ]
        );
    }

    #[test]
    fn far_dates_are_found_quickly() {
        let t = || terms(Cadence::Monthly, 3, 5);
        assert_eq!(
            period(t(), MONTHLY_START, "9999-11-15T10:00:00Z"),
            accepted(95_686, "9999-11-15")
        );
        let t = || terms(Cadence::Daily, 0, 0);
        assert_eq!(
            period(t(), MONTHLY_START, "9999-12-30T10:00:00Z"),
            accepted(2_912_427, "9999-12-30")
        );
        // Beyond the calendar, for every cadence, at both ends of time.
        for cadence in [
            Cadence::Daily,
            Cadence::Weekly,
            Cadence::Monthly,
            Cadence::Yearly,
        ] {
            for (seconds, nanoseconds) in [(i64::MAX, 999_999_999), (i64::MIN, 0)] {
                let mut cx = context(terms(cadence, 3, 5), MONTHLY_START, MONTHLY_START);
                cx.charge.as_mut().unwrap().at = Timestamp {
                    seconds,
                    nanoseconds,
                };
                let decision = decide(&cx);
                assert_eq!(decision.codes, ["outside-window"], "{seconds}");
            }
        }
        let mut cx = context(t(), MONTHLY_START, MONTHLY_START);
        cx.charge.as_mut().unwrap().at.seconds = i64::MAX;
        assert!(
            decide(&cx)
                .reason()
                .unwrap()
                .contains("the charge on a date after the year 9999")
        );
        // A series started beyond the calendar has only its first due date.
        let mut cx = context(terms(Cadence::Monthly, 0, 0), MONTHLY_START, MONTHLY_START);
        let charge = cx.charge.as_mut().unwrap();
        charge.series_start.seconds = i64::MAX / 2;
        charge.at.seconds = i64::MAX / 2;
        assert_eq!(decide(&cx).annotation("period"), Some("0"));
        cx.charge.as_mut().unwrap().at.seconds += 86_400 * 31;
        assert_eq!(decide(&cx).codes, ["outside-window"]);
    }

    #[test]
    fn refuses_invalid_configurations() {
        let cx = context(terms(Cadence::Monthly, 3, 5), MONTHLY_START, MONTHLY_START);
        assert!(testing::evaluate(evaluate, &cx, " {} ").is_ok());
        for config in [
            r#"{"strict": true}"#,
            r#"{"cadence": "monthly"}"#,
            "[]",
            "null",
            "1",
            r#""{}""#,
            "{} {}",
            "not json",
        ] {
            let error = testing::evaluate(evaluate, &cx, config).unwrap_err();
            assert_eq!(error.code, "invalid-config", "{config}");
        }
    }
}
