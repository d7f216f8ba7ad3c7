"""`recurring-match` in Python: checks each charge reported against a
recurring intent: that it comes in the window of a due date, once per due
date, for about the expected amount, from the intent's merchant. The same
logic as Warrant's built-in plugin (`plugins/recurring-match`), with the
same codes, reasons and annotations.

Configuration: `{}`. The terms are the intent's own (`intent.recurring`).

When an intent is being declared (`context.charge` is None) the rule
approves, annotating `recurring` with the cadence (`monthly`) or `no`.

When a charge is being checked:

- an intent without recurring terms: deny (`not-recurring`).
- Dates are whole days in the policy's time zone (`usage.timezone`; an
  empty name is UTC), looked up in the IANA time zone database of PyPI's
  `tzdata`, which the component carries: the series starts on the date it
  was declared, and a charge falls on the date it was made. A name the
  database does not know is the plugin's error `invalid-timezone`.
- Due dates: due(k) = the series' first date plus k periods, for
  k = 0, 1, 2, …: k days (daily), 7k days (weekly), k months on the same
  day of the month (monthly), k years (yearly). A day past the end of a
  month is clamped to its last day: a series started on 31 January is
  due on 28 (or 29) February and on 31 March; one started on 29
  February is due on 28 February in common years.
- The window of due(k) runs from the terms' `windowStartDaysBefore` days
  before it to `windowEndDaysAfter` days after it, both days included:
  with both at 0, a charge at any time of the due date is in it. A charge
  in several windows belongs to the one whose due date is nearest.
- The calendar ends with the year 9999: a series has no due dates after
  it.

A charge is flagged, with every code that applies, in this order:

- `outside-window`: it is in no window (the reason names the nearest due
  date); this includes any charge before the first window;
- `duplicate-charge`: an earlier accepted charge (`charge.previous`) is in
  the same window;
- `no-amount`: the intent has no amount to compare with;
- `currency-mismatch`: the charge is in another currency than the
  intent's amount;
- `amount-beyond-tolerance`: |charge - expected| x 10 000 > expected x
  `amountToleranceBps`;
- `merchant-mismatch`: the terms require the intent's merchant and the
  charge comes from another one (ignoring letter case), or the intent
  names none.

A flagged charge is denied; any other is approved. When the charge is in
a window, the decision is annotated with the period k (`period`) and its
due date (`dueDate`, `YYYY-MM-DD`).

Time is counted here in nanoseconds since 1970 (Python's ints do not
overflow), and dates with the proleptic Gregorian calendar's arithmetic,
not `datetime`, whose years end at 1 and 9999: the calendar is the Rust
plugin's, years -9999 to 9999.
"""

import io
import os
import zoneinfo
from datetime import datetime, timedelta

import tzdata
from warrant_sdk import (
    PluginError,
    approve,
    ascii_lowercase,
    deny,
    enum_name,
    equals_ignore_ascii_case,
    export_policy,
    read_config,
    trim,
)

# The rule's configuration: nothing.
CONFIG = {}

NANOS = 1_000_000_000
# Nanoseconds in a day.
DAY = 86_400 * NANOS

# The instants the calendar holds (those of Rust's `jiff::Timestamp`): from
# -009999-01-02T01:59:59Z to 9999-12-30T22:00:00.999999999Z, so that any
# UTC offset keeps their dates within the years -9999 to 9999.
MIN_INSTANT = -377_705_023_201 * NANOS
MAX_INSTANT = 253_402_207_200 * NANOS + 999_999_999
MAX_YEAR = 9999
# The most months, and years, a period can add (those of `jiff::Span`).
MAX_MONTHS = 239_976
MAX_YEARS = 19_998


def evaluate(context, config_text):
    """Decides on `context.intent`, or on the charge `context.charge`."""
    read_config(config_text, CONFIG)
    terms = context.intent.recurring
    charge = context.charge
    if charge is None:
        return approve().with_annotation(
            "recurring", "no" if terms is None else enum_name(terms.cadence)
        )
    if terms is None:
        return deny(
            "the intent is not recurring, so no charge can be accepted against it"
        ).with_code("not-recurring")

    zone = time_zone(context.usage.timezone)

    def day(t):
        return day_of(nanos(t), zone)

    cadence = enum_name(terms.cadence)
    series = Series(cadence, day(charge.series_start))
    before = terms.window_start_days_before * DAY
    after = terms.window_end_days_after * DAY
    at = day(charge.at)

    codes = []
    reasons = []
    period = series.window_containing(at, before, after)
    if period is None:
        nearest = series.nearest(at)
        codes.append("outside-window")
        reasons.append(
            f"the charge on {date(at)} falls in no window of the {cadence} series; the "
            f"nearest due date is {date(nearest)}, and a charge may come from "
            f"{days(terms.window_start_days_before)} before to "
            f"{days(terms.window_end_days_after)} after a due date"
        )
    else:
        k, due = period
        earlier = next((p for p in charge.previous if due - before <= day(p) <= due + after), None)
        if earlier is not None:
            codes.append("duplicate-charge")
            reasons.append(
                f"a charge on {date(day(earlier))} was already accepted for the payment due "
                f"{date(due)} (period {k})"
            )

    expected = context.intent.amount
    if expected is None:
        codes.append("no-amount")
        reasons.append("the intent has no amount, so the charge's amount cannot be checked")
    elif not equals_ignore_ascii_case(expected.currency, charge.amount.currency):
        codes.append("currency-mismatch")
        reasons.append(
            f"the charge is in {charge.amount.currency} and the intent in {expected.currency}"
        )
    else:
        charged = charge.amount.minor_units
        diff = abs(charged - expected.minor_units)
        bps = terms.amount_tolerance_bps
        if diff * 10_000 > expected.minor_units * bps:
            currency = expected.currency
            tolerance = expected.minor_units * bps // 10_000
            codes.append("amount-beyond-tolerance")
            reasons.append(
                f"the charge of {money(charged, currency)} differs from the expected "
                f"{money(expected.minor_units, currency)} by {money(diff, currency)}, more "
                f"than the tolerance of {bps // 100}.{bps % 100:02}% "
                f"({money(tolerance, currency)})"
            )

    if terms.merchant_match:
        charged_by = trim(charge.merchant)
        merchant = context.intent.merchant
        if merchant is None:
            codes.append("merchant-mismatch")
            reasons.append(
                f"the charge comes from `{charged_by}` and the intent names no merchant to "
                "match it with"
            )
        else:
            merchant = trim(merchant)
            # All of Unicode's letters fold here, as Rust's `to_lowercase`
            # folds them in the built-in plugin.
            if merchant.lower() != charged_by.lower():
                codes.append("merchant-mismatch")
                reasons.append(
                    f"the charge comes from `{charged_by}`, not from the intent's merchant "
                    f"`{merchant}`"
                )

    if codes:
        decision = deny("; ".join(reasons))
        for code in codes:
            decision.with_code(code)
    else:
        decision = approve()
    if period is not None:
        k, due = period
        decision.with_annotation("period", k).with_annotation("dueDate", date(due))
    return decision


# ---------------------------------------------------------------------------
# Time zones

# The IANA time zone database, read from the `tzdata` package while the
# component is built (it can read no files when it runs): the TZif data of
# each zone, by its name in lower case, for a lookup that ignores ASCII
# case, as the Rust plugin's does. Links share their target's bytes.
ZONES = {}


def _load_zones():
    folder = os.path.dirname(tzdata.__file__)
    with open(os.path.join(folder, "zones"), encoding="ascii") as listing:
        names = listing.read().split()
    shared = {}
    for name in names:
        with open(os.path.join(folder, "zoneinfo", *name.split("/")), "rb") as file:
            data = file.read()
        ZONES[ascii_lowercase(name)] = (name, shared.setdefault(data, data))


_load_zones()

# The instants Python's `datetime` holds, less two days, so that a UTC
# offset added to them stays within its years 1 to 9999. Beyond them the
# offset of the nearest one is taken: before the year 1 every zone has
# kept the offset of its first time type since the start of its records,
# and no zone changes its offset in the last two days of 9999.
_FIRST_SECOND = -62_135_596_800 + 2 * 86_400
_LAST_SECOND = 253_402_300_799 - 2 * 86_400
_EPOCH = datetime(1970, 1, 1)


def time_zone(name):
    """The policy's time zone: None for UTC (or an empty name), else a
    `zoneinfo.ZoneInfo`."""
    if name == "" or name == "UTC":
        return None
    found = ZONES.get(ascii_lowercase(name))
    if found is None:
        raise PluginError(
            "invalid-timezone",
            f"the policy's time zone `{name}` is not a known IANA time zone",
        )
    key, data = found
    return zoneinfo.ZoneInfo.from_file(io.BytesIO(data), key=key)


def offset(zone, instant):
    """The UTC offset of `zone` at `instant`, in nanoseconds."""
    if zone is None:
        return 0
    second = min(max(instant // NANOS, _FIRST_SECOND), _LAST_SECOND)
    utc = (_EPOCH + timedelta(seconds=second)).replace(tzinfo=zone)
    return int(zone.fromutc(utc).utcoffset().total_seconds()) * NANOS


def day_of(instant, zone):
    """The date `instant` falls on in `zone`, as its midnight in UTC (so
    that dates compare and add as instants do); instants beyond the
    calendar, and dates whose midnight is, stay as they are."""
    if not on_calendar(instant):
        return instant
    year, month, day, _ = civil(instant + offset(zone, instant))
    midnight = instant_of(year, month, day)
    return instant if midnight is None else midnight


# ---------------------------------------------------------------------------
# The calendar


def on_calendar(instant):
    return MIN_INSTANT <= instant <= MAX_INSTANT


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date, any year."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def civil_from_days(days):
    """The proleptic Gregorian date `days` after 1970-01-01."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def civil(instant):
    """`(year, month, day, nanoseconds into the day)` of `instant` in UTC."""
    days, into_day = divmod(instant, DAY)
    return (*civil_from_days(days), into_day)


def instant_of(year, month, day, into_day=0):
    """The instant of a date and time in UTC; None beyond the calendar."""
    instant = days_from_civil(year, month, day) * DAY + into_day
    return instant if on_calendar(instant) else None


def days_in_month(year, month):
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


class Series:
    """The due dates of a series, as nanoseconds since 1970 of each date's
    midnight in UTC."""

    def __init__(self, cadence, start):
        self.cadence = cadence
        # due(0).
        self.start = start
        # due(0) as a civil date and time in UTC, for months and years;
        # None beyond the calendar.
        self.civil = civil(start) if on_calendar(start) else None

    def due(self, k):
        """due(k); None beyond the calendar (after the year 9999), where a
        series ends."""
        if k == 0:
            return self.start
        if self.cadence in ("daily", "weekly"):
            due = self.start + k * (DAY if self.cadence == "daily" else 7 * DAY)
            return due if due <= MAX_INSTANT else None
        if self.civil is None:
            return None
        year, month, day, into_day = self.civil
        if self.cadence == "monthly":
            if k > MAX_MONTHS:
                return None
            year, month = divmod(year * 12 + month - 1 + k, 12)
            month += 1
        else:
            if k > MAX_YEARS:
                return None
            year += k
        if year > MAX_YEAR:
            return None
        return instant_of(year, month, min(day, days_in_month(year, month)), into_day)

    def last_due_by(self, t):
        """The last period due at or before `t`; None before the series."""
        if t < self.start:
            return None
        # No due date but the first comes after the calendar's end.
        t = min(t, max(MAX_INSTANT, self.start))
        elapsed = t - self.start
        if self.cadence == "daily":
            return elapsed // DAY
        if self.cadence == "weekly":
            return elapsed // (7 * DAY)
        if self.civil is None:
            # Only due(0) is on the calendar.
            return 0
        then = civil(t)
        years = then[0] - self.civil[0]
        if self.cadence == "monthly":
            estimate = years * 12 + then[1] - self.civil[1]
        else:
            estimate = years
        # The estimate is the period due in the same month (or year) as
        # `t`, which is at most one period late.
        k = max(estimate, 0)
        while k > 0 and (self.due(k) is None or self.due(k) > t):
            k -= 1
        while (following := self.due(k + 1)) is not None and following <= t:
            k += 1
        return k

    def window_containing(self, at, before, after):
        """The period whose window, from `before` before its due date to
        `after` after it, holds `at`, and its due date, as `(k, due)`; the
        nearest due date when several windows do; None when none does."""
        # The windows that hold `at` are those due from `at - after` to
        # `at + before`: periods `first..=last`.
        last = self.last_due_by(at + before)
        if last is None:
            return None
        earliest = at - after
        k = self.last_due_by(earliest)
        if k is None:
            first = 0
        elif self.due(k) == earliest:
            first = k
        else:
            first = k + 1
        if first > last:
            return None
        k = self.last_due_by(at)
        below, above = (0, 0) if k is None else (k, k + 1)
        candidates = []
        for k in (below, above):
            k = min(max(k, first), last)
            due = self.due(k)
            if due is not None:
                candidates.append((k, due))
        # The earlier one on a tie.
        return min(candidates, key=lambda c: (abs(c[1] - at), c[0]), default=None)

    def nearest(self, at):
        """The due date nearest to `at`, the earlier one on a tie."""
        k = self.last_due_by(at)
        candidates = [0] if k is None else [k, k + 1]
        dues = [due for due in map(self.due, candidates) if due is not None]
        return min(dues, key=lambda due: (abs(due - at), due), default=self.start)


def nanos(t):
    return t.seconds * NANOS + t.nanoseconds


def date(instant):
    """`2026-04-01`, the date in UTC, as the Rust plugin writes it (years
    before 0 as `-002024`)."""
    if on_calendar(instant):
        year, month, day, _ = civil(instant)
        year_text = f"-00{-year:04}" if year < 0 else f"{year:04}"
        return f"{year_text}-{month:02}-{day:02}"
    if instant > 0:
        return "a date after the year 9999"
    return "a date before the year -9999"


def days(n):
    return "1 day" if n == 1 else f"{n} days"


# The ISO 4217 currencies with no minor unit, and with three decimals; the
# others have two.
NO_DECIMALS = {
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
    "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
}  # fmt: skip
THREE_DECIMALS = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}


def money(minor_units, currency):
    """`45.00 EUR`, `4500 JPY`, `1.500 KWD`: minor units in the currency's
    usual decimals."""
    if currency in NO_DECIMALS:
        return f"{minor_units} {currency}"
    decimals = 3 if currency in THREE_DECIMALS else 2
    whole, fraction = divmod(minor_units, 10**decimals)
    return f"{whole}.{fraction:0{decimals}} {currency}"


# The name componentize-py looks for in the app module.
WitWorld = export_policy(evaluate)
