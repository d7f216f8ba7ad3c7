"""Unit tests of the recurring-match plugin, the Rust built-in's tests in
Python, with the SDK's test contexts (see README.md for the command)."""

import re
import unittest
from datetime import datetime, timedelta, timezone

from warrant_sdk import PluginError, testing

from .recurring_match import ZONES, evaluate

Cadence = testing.Cadence
U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
MONTHLY_START = "2026-01-15T10:00:00Z"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def ts(text):
    """An RFC 3339 instant in UTC as the contract's timestamp."""
    match = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z", text)
    fields = [int(part) for part in match.groups()[:6]]
    seconds = (datetime(*fields, tzinfo=timezone.utc) - _EPOCH) // timedelta(seconds=1)
    return testing.Timestamp(seconds, int((match[7] or "0").ljust(9, "0")))


def terms(cadence, before, after):
    return testing.RecurringTerms(
        cadence=cadence,
        window_start_days_before=before,
        window_end_days_after=after,
        amount_tolerance_bps=1000,
        merchant_match=True,
    )


def context(terms, start, at):
    """A context checking a charge of 10.00 EUR from `hetzner.com` at `at`
    against an intent for 10.00 EUR at `hetzner.com`, recurring with
    `terms` since `start`."""
    cx = testing.context()
    cx.intent.amount = testing.Money(10_00, "EUR")
    cx.intent.merchant = "hetzner.com"
    cx.intent.recurring = terms
    cx.charge = testing.Charge(
        amount=testing.Money(10_00, "EUR"),
        merchant="hetzner.com",
        at=ts(at),
        series_start=ts(start),
        previous=[],
    )
    return cx


def decide(cx):
    return evaluate(cx, "{}")


def in_zone(zone, start, at):
    """The charge at `at` of a monthly series without windows, declared at
    `start`, with the policy in `zone`."""
    cx = context(terms(Cadence.MONTHLY, 0, 0), start, at)
    cx.usage.timezone = zone
    return decide(cx)


def accepted(k, due):
    return (str(k), due)


class RecurringMatchTest(unittest.TestCase):
    def period(self, terms, start, at):
        """The charge at `at` of a series with `terms` since `start`: its
        period and due date when accepted, None when outside every
        window."""
        decision = decide(context(terms, start, at))
        if decision.verdict == "approve":
            return (decision.annotation("period"), decision.annotation("dueDate"))
        self.assertEqual(decision.codes, ["outside-window"], at)
        self.assertIsNone(decision.annotation("period"))
        return None

    def test_approves_the_declaration_of_an_intent(self):
        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, MONTHLY_START)
        cx.charge = None
        decision = decide(cx)
        self.assertEqual(decision.verdict, "approve")
        self.assertEqual(decision.annotations, [("recurring", "monthly")])
        cx.intent.recurring = None
        decision = decide(cx)
        self.assertEqual(decision.verdict, "approve")
        self.assertEqual(decision.annotations, [("recurring", "no")])
        for cadence, name in [
            (Cadence.DAILY, "daily"),
            (Cadence.WEEKLY, "weekly"),
            (Cadence.YEARLY, "yearly"),
        ]:
            cx.intent.recurring = terms(cadence, 0, 0)
            self.assertEqual(decide(cx).annotation("recurring"), name)

    def test_denies_a_charge_against_an_intent_that_is_not_recurring(self):
        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, MONTHLY_START)
        cx.intent.recurring = None
        decision = decide(cx)
        self.assertEqual(decision.verdict, "deny")
        self.assertEqual(decision.codes, ["not-recurring"])
        self.assertEqual(
            decision.reason,
            "the intent is not recurring, so no charge can be accepted against it",
        )

    def test_accepts_a_monthly_charge_on_its_due_date(self):
        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, "2026-03-15T10:00:00Z")
        decision = decide(cx)
        self.assertEqual(decision.verdict, "approve")
        self.assertEqual(decision.codes, [])
        self.assertEqual(decision.annotations, [("period", "2"), ("dueDate", "2026-03-15")])
        # The first charge, at the start of the series, is period 0.
        self.assertEqual(
            self.period(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, MONTHLY_START),
            accepted(0, "2026-01-15"),
        )

    def test_the_window_includes_both_ends(self):
        t = terms(Cadence.MONTHLY, 3, 5)
        due = accepted(2, "2026-03-15")
        # Whole days: from the first instant of the 12th to the last of
        # the 20th, whatever the series' time of day.
        self.assertEqual(self.period(t, MONTHLY_START, "2026-03-12T00:00:00Z"), due)
        self.assertIsNone(self.period(t, MONTHLY_START, "2026-03-11T23:59:59.999999999Z"))
        self.assertEqual(self.period(t, MONTHLY_START, "2026-03-20T23:59:59.999999999Z"), due)
        self.assertIsNone(self.period(t, MONTHLY_START, "2026-03-21T00:00:00Z"))

    def test_a_charge_any_time_on_the_due_date_is_in_a_window_of_no_days(self):
        # Declared on 5 December 2026 at 10:00 in Berlin (09:00 UTC).
        start = "2026-12-05T09:00:00Z"
        # Seconds later, the same day: period 0.
        decision = in_zone("Europe/Berlin", start, "2026-12-05T09:00:05Z")
        self.assertEqual(decision.verdict, "approve", decision.reason)
        self.assertEqual(decision.annotation("dueDate"), "2026-12-05")
        # 00:00, 12:00 and 23:59 in Berlin on the due date, 5 January.
        for at in ["2027-01-04T23:00:00Z", "2027-01-05T11:00:00Z", "2027-01-05T22:59:00Z"]:
            decision = in_zone("Europe/Berlin", start, at)
            self.assertEqual(decision.verdict, "approve", f"{at}: {decision.reason}")
            self.assertEqual(decision.annotation("period"), "1", at)
            self.assertEqual(decision.annotation("dueDate"), "2027-01-05", at)
        # A minute before and after the day, in Berlin.
        for at in ["2027-01-04T22:59:00Z", "2027-01-05T23:00:00Z"]:
            self.assertEqual(in_zone("Europe/Berlin", start, at).codes, ["outside-window"], at)
        # 23:00 on 4 January in New York is the 5th in UTC: not the due
        # date in New York.
        decision = in_zone("America/New_York", start, "2027-01-05T04:00:00Z")
        self.assertEqual(decision.codes, ["outside-window"])
        self.assertEqual(
            decision.reason,
            "the charge on 2027-01-04 falls in no window of the monthly series; the nearest "
            "due date is 2027-01-05, and a charge may come from 0 days before to 0 days after "
            "a due date",
        )

    def test_due_dates_are_dates_in_the_policys_time_zone(self):
        # Declared at 20:00 on 4 December in New York (01:00 UTC on the 5th):
        # due on the 4th of every month there.
        start = "2026-12-05T01:00:00Z"
        for at in ["2027-01-04T05:00:00Z", "2027-01-04T17:00:00Z", "2027-01-05T04:59:00Z"]:
            decision = in_zone("America/New_York", start, at)
            self.assertEqual(decision.verdict, "approve", f"{at}: {decision.reason}")
            self.assertEqual(decision.annotation("dueDate"), "2027-01-04", at)
        self.assertEqual(
            in_zone("America/New_York", start, "2027-01-05T05:00:00Z").codes,
            ["outside-window"],
        )
        # The same instants in UTC: due on the 5th.
        decision = in_zone("UTC", start, "2027-01-05T04:59:00Z")
        self.assertEqual(decision.annotation("dueDate"), "2027-01-05")
        # A context that names no time zone: UTC.
        decision = in_zone("", start, "2027-01-05T23:59:00Z")
        self.assertEqual(decision.annotation("dueDate"), "2027-01-05")
        # An unknown zone fails closed.
        cx = context(terms(Cadence.MONTHLY, 0, 0), start, start)
        cx.usage.timezone = "Mars/Olympus"
        with self.assertRaises(PluginError) as raised:
            decide(cx)
        self.assertEqual(raised.exception.code, "invalid-timezone")
        self.assertEqual(
            raised.exception.message,
            "the policy's time zone `Mars/Olympus` is not a known IANA time zone",
        )

    def test_time_zones_are_found_whatever_their_ascii_case(self):
        # Declared on 4 December in New York, 5 December in UTC.
        start = "2026-12-05T01:00:00Z"
        for zone in ["america/new_york", "AMERICA/NEW_YORK", "US/Eastern"]:
            decision = in_zone(zone, start, "2027-01-04T17:00:00Z")
            self.assertEqual(decision.annotation("dueDate"), "2027-01-04", zone)
        for zone in ["utc", "Etc/UTC", "Europe/London"]:
            decision = in_zone(zone, start, "2027-01-05T17:00:00Z")
            self.assertEqual(decision.annotation("dueDate"), "2027-01-05", zone)
        # Every zone of the database, and only those.
        self.assertGreater(len(ZONES), 500)
        for zone in ["Europe/Berlin", "Asia/Kolkata", "Pacific/Chatham", "Factory"]:
            self.assertEqual(in_zone(zone, start, start).verdict, "approve", zone)
        for zone in ["Europe", "Europe/", "/Europe/Berlin", "../zoneinfo/UTC", "zone.tab", " UTC"]:
            with self.assertRaises(PluginError, msg=zone):
                in_zone(zone, start, start)

    def test_offsets_of_a_quarter_hour_and_far_dates_in_a_time_zone(self):
        # Kathmandu is 5:45 ahead: 18:15 UTC on the 4th is the 5th there.
        start = "2026-12-05T06:00:00Z"
        decision = in_zone("Asia/Kathmandu", start, "2027-01-04T18:15:00Z")
        self.assertEqual(decision.annotation("dueDate"), "2027-01-05")
        self.assertEqual(
            in_zone("Asia/Kathmandu", start, "2027-01-04T18:14:59Z").codes, ["outside-window"]
        )
        # At the ends of the calendar, in zones far from UTC.
        for zone in ["Pacific/Kiritimati", "Pacific/Niue", "America/St_Johns"]:
            for at in ["9999-12-30T21:00:00Z", "0001-01-01T00:00:00Z"]:
                self.assertEqual(in_zone(zone, start, at).codes, ["outside-window"], zone)
            cx = context(terms(Cadence.DAILY, 0, 0), start, start)
            cx.usage.timezone = zone
            cx.charge.at = testing.Timestamp(I64_MIN, 0)
            self.assertEqual(decide(cx).codes, ["outside-window"], zone)
            cx.charge.at = testing.Timestamp(-377_705_023_201, 0)
            self.assertEqual(decide(cx).codes, ["outside-window"], zone)

    def test_denies_a_charge_outside_every_window(self):
        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, "2026-04-02T08:00:00Z")
        decision = decide(cx)
        self.assertEqual(decision.verdict, "deny")
        self.assertEqual(decision.codes, ["outside-window"])
        self.assertEqual(
            decision.reason,
            "the charge on 2026-04-02 falls in no window of the monthly series; the nearest "
            "due date is 2026-04-15, and a charge may come from 3 days before to 5 days after "
            "a due date",
        )
        cx = context(terms(Cadence.MONTHLY, 1, 1), MONTHLY_START, "2026-03-20T08:00:00Z")
        self.assertIn(
            "the nearest due date is 2026-03-15, and a charge may come from 1 day before to "
            "1 day after",
            decide(cx).reason,
        )

    def test_a_charge_before_the_first_window_is_outside(self):
        t = terms(Cadence.MONTHLY, 3, 5)
        self.assertEqual(
            self.period(t, MONTHLY_START, "2026-01-12T00:00:00Z"), accepted(0, "2026-01-15")
        )
        self.assertIsNone(self.period(t, MONTHLY_START, "2026-01-11T23:59:59Z"))
        decision = decide(context(t, MONTHLY_START, "2025-06-01T00:00:00Z"))
        self.assertEqual(decision.codes, ["outside-window"])
        self.assertIn("the nearest due date is 2026-01-15", decision.reason)
        # Without a window before the due date, nothing before the start.
        t = terms(Cadence.DAILY, 0, 0)
        self.assertIsNone(self.period(t, MONTHLY_START, "2026-01-14T23:59:59Z"))
        # But the whole first day.
        self.assertEqual(
            self.period(t, MONTHLY_START, "2026-01-15T00:00:00Z"), accepted(0, "2026-01-15")
        )

    def test_monthly_due_dates_are_clamped_to_the_end_of_the_month(self):
        start = "2026-01-31T10:00:00Z"
        t = terms(Cadence.MONTHLY, 0, 0)
        self.assertEqual(self.period(t, start, "2026-02-28T10:00:00Z"), accepted(1, "2026-02-28"))
        # Not the 28th of every later month: each period counts from the start.
        self.assertIsNone(self.period(t, start, "2026-03-28T10:00:00Z"))
        self.assertEqual(self.period(t, start, "2026-03-31T10:00:00Z"), accepted(2, "2026-03-31"))
        self.assertEqual(self.period(t, start, "2026-04-30T10:00:00Z"), accepted(3, "2026-04-30"))
        self.assertEqual(self.period(t, start, "2027-02-28T10:00:00Z"), accepted(13, "2027-02-28"))
        self.assertEqual(self.period(t, start, "2028-02-29T10:00:00Z"), accepted(25, "2028-02-29"))
        # Any time of the due date; not the day after.
        self.assertEqual(self.period(t, start, "2026-02-28T23:59:59Z"), accepted(1, "2026-02-28"))
        self.assertIsNone(self.period(t, start, "2026-03-01T00:00:00Z"))

    def test_yearly_due_dates_clamp_the_29th_of_february(self):
        start = "2024-02-29T12:00:00Z"
        t = terms(Cadence.YEARLY, 0, 0)
        self.assertEqual(self.period(t, start, "2025-02-28T12:00:00Z"), accepted(1, "2025-02-28"))
        self.assertIsNone(self.period(t, start, "2025-03-01T12:00:00Z"))
        self.assertEqual(self.period(t, start, "2027-02-28T12:00:00Z"), accepted(3, "2027-02-28"))
        self.assertEqual(self.period(t, start, "2028-02-29T12:00:00Z"), accepted(4, "2028-02-29"))
        self.assertIsNone(self.period(t, start, "2028-02-28T12:00:00Z"))
        t = terms(Cadence.YEARLY, 10, 10)
        self.assertEqual(self.period(t, start, "2026-03-05T00:00:00Z"), accepted(2, "2026-02-28"))

    def test_daily_and_weekly_due_dates(self):
        start = "2026-01-01T00:00:00Z"
        daily = terms(Cadence.DAILY, 0, 0)
        self.assertEqual(
            self.period(daily, start, "2026-01-11T00:00:00Z"), accepted(10, "2026-01-11")
        )
        self.assertEqual(
            self.period(daily, start, "2026-01-11T23:00:00Z"), accepted(10, "2026-01-11")
        )
        late = terms(Cadence.DAILY, 0, 1)
        # On the 12th: in the windows of the 11th and the 12th, nearest
        # the 12th.
        self.assertEqual(
            self.period(late, start, "2026-01-12T03:00:00Z"), accepted(11, "2026-01-12")
        )
        weekly = terms(Cadence.WEEKLY, 1, 1)
        self.assertEqual(
            self.period(weekly, start, "2026-01-15T00:00:00Z"), accepted(2, "2026-01-15")
        )
        self.assertEqual(
            self.period(weekly, start, "2026-01-16T00:00:00Z"), accepted(2, "2026-01-15")
        )
        self.assertIsNone(self.period(weekly, start, "2026-01-17T00:00:00Z"))
        self.assertEqual(
            self.period(weekly, start, "2026-01-21T00:00:00Z"), accepted(3, "2026-01-22")
        )

    def test_a_charge_in_overlapping_windows_belongs_to_the_nearest_due_date(self):
        start = "2026-01-01T00:00:00Z"
        t = terms(Cadence.WEEKLY, 5, 5)
        # Day 3 is 3 days after due(0) and 4 before due(1).
        self.assertEqual(self.period(t, start, "2026-01-04T00:00:00Z"), accepted(0, "2026-01-01"))
        self.assertEqual(self.period(t, start, "2026-01-05T00:00:00Z"), accepted(1, "2026-01-08"))
        # Any time of the 4th is its day: 3 days after due(0).
        self.assertEqual(self.period(t, start, "2026-01-04T23:00:00Z"), accepted(0, "2026-01-01"))
        # Windows much longer than the period: the due date is the day.
        t = terms(Cadence.DAILY, 400, 400)
        self.assertEqual(self.period(t, start, "2026-01-04T13:00:00Z"), accepted(3, "2026-01-04"))
        self.assertEqual(self.period(t, start, "2025-01-01T00:00:00Z"), accepted(0, "2026-01-01"))

    def test_a_charge_belongs_to_the_window_that_holds_it_not_the_nearest_due_date(self):
        # Charges come up to 20 days late, never early: on 20 January the
        # nearest due date is 1 February, but only January's window holds it.
        start = "2026-01-01T00:00:00Z"
        t = terms(Cadence.MONTHLY, 0, 20)
        self.assertEqual(self.period(t, start, "2026-01-20T00:00:00Z"), accepted(0, "2026-01-01"))
        self.assertIsNone(self.period(t, start, "2026-01-25T00:00:00Z"))
        decision = decide(context(t, start, "2026-01-25T00:00:00Z"))
        self.assertIn("the nearest due date is 2026-02-01", decision.reason)
        # And charges up to 20 days early.
        t = terms(Cadence.MONTHLY, 20, 0)
        self.assertEqual(self.period(t, start, "2026-01-12T00:00:00Z"), accepted(1, "2026-02-01"))
        self.assertIsNone(self.period(t, start, "2026-01-05T00:00:00Z"))

    def test_flags_a_second_charge_in_the_same_window(self):
        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, "2026-03-16T10:00:00Z")
        cx.charge.previous = [
            ts("2026-01-15T10:00:00Z"),
            ts("2026-02-15T10:00:00Z"),
            ts("2026-03-13T08:00:00Z"),
        ]
        decision = decide(cx)
        self.assertEqual(decision.verdict, "deny")
        self.assertEqual(decision.codes, ["duplicate-charge"])
        self.assertEqual(
            decision.reason,
            "a charge on 2026-03-13 was already accepted for the payment due 2026-03-15 "
            "(period 2)",
        )
        self.assertEqual(decision.annotations, [("period", "2"), ("dueDate", "2026-03-15")])

        # Earlier charges in other windows are no duplicates, nor are
        # those just outside this one.
        cx.charge.previous = [
            ts("2026-02-15T10:00:00Z"),
            ts("2026-03-11T23:59:59Z"),
            ts("2026-03-21T00:00:00Z"),
        ]
        self.assertEqual(decide(cx).verdict, "approve")
        # The same instant is a duplicate.
        cx.charge.previous = [ts("2026-03-16T10:00:00Z")]
        self.assertEqual(decide(cx).codes, ["duplicate-charge"])

    def test_checks_the_amount_within_the_tolerance(self):
        def charged(cents, bps):
            t = terms(Cadence.MONTHLY, 3, 5)
            t.amount_tolerance_bps = bps
            cx = context(t, MONTHLY_START, MONTHLY_START)
            cx.charge.amount = testing.Money(cents, "EUR")
            return decide(cx)

        # 10 % of 10.00 EUR.
        for cents in [9_00, 10_00, 11_00]:
            self.assertEqual(charged(cents, 1000).verdict, "approve", cents)
        for cents in [8_99, 11_01, 0, U64_MAX]:
            decision = charged(cents, 1000)
            self.assertEqual(decision.verdict, "deny", cents)
            self.assertEqual(decision.codes, ["amount-beyond-tolerance"])
        self.assertEqual(
            charged(12_50, 1000).reason,
            "the charge of 12.50 EUR differs from the expected 10.00 EUR by 2.50 EUR, more "
            "than the tolerance of 10.00% (1.00 EUR)",
        )
        # No tolerance: the exact amount only.
        self.assertEqual(charged(10_00, 0).verdict, "approve")
        self.assertEqual(charged(10_01, 0).codes, ["amount-beyond-tolerance"])
        self.assertEqual(charged(9_99, 0).codes, ["amount-beyond-tolerance"])
        # 0.25 %: 2.5 cents of 10.00 EUR.
        self.assertEqual(charged(10_02, 25).verdict, "approve")
        self.assertEqual(charged(10_03, 25).verdict, "deny")
        self.assertIn("tolerance of 0.25% (0.02 EUR)", charged(10_03, 25).reason)

    def test_writes_amounts_in_the_currencys_decimals(self):
        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, MONTHLY_START)
        for currency, expected, charged, text in [
            ("JPY", 4500, 5000, "the charge of 5000 JPY differs from the expected 4500 JPY by "
             "500 JPY, more than the tolerance of 10.00% (450 JPY)"),
            ("KWD", 1500, 1700, "the charge of 1.700 KWD differs from the expected 1.500 KWD by "
             "0.200 KWD, more than the tolerance of 10.00% (0.150 KWD)"),
        ]:  # fmt: skip
            cx.intent.amount = testing.Money(expected, currency)
            cx.charge.amount = testing.Money(charged, currency)
            self.assertEqual(decide(cx).reason, text)
        # Currencies compare ignoring ASCII case; the intent's is written.
        cx.intent.amount = testing.Money(10_00, "eur")
        cx.charge.amount = testing.Money(20_00, "EUR")
        self.assertEqual(decide(cx).codes, ["amount-beyond-tolerance"])

    def test_checks_amounts_at_the_edge_of_u64(self):
        t = terms(Cadence.MONTHLY, 3, 5)
        t.amount_tolerance_bps = 2**32 - 1
        cx = context(t, MONTHLY_START, MONTHLY_START)
        cx.intent.amount = testing.Money(U64_MAX, "EUR")
        cx.charge.amount = testing.Money(0, "EUR")
        self.assertEqual(decide(cx).verdict, "approve")
        cx.intent.recurring.amount_tolerance_bps = 9_999
        self.assertEqual(decide(cx).codes, ["amount-beyond-tolerance"])
        # An expected amount of zero tolerates nothing but zero.
        cx.intent.amount = testing.Money(0, "EUR")
        cx.intent.recurring.amount_tolerance_bps = 2**32 - 1
        self.assertEqual(decide(cx).verdict, "approve")
        cx.charge.amount = testing.Money(1, "EUR")
        self.assertEqual(decide(cx).codes, ["amount-beyond-tolerance"])

    def test_flags_a_missing_amount_or_another_currency(self):
        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, MONTHLY_START)
        cx.intent.amount = None
        decision = decide(cx)
        self.assertEqual(decision.verdict, "deny")
        self.assertEqual(decision.codes, ["no-amount"])
        self.assertEqual(
            decision.reason, "the intent has no amount, so the charge's amount cannot be checked"
        )
        self.assertEqual(decision.annotation("period"), "0")

        cx.intent.amount = testing.Money(10_00, "USD")
        decision = decide(cx)
        self.assertEqual(decision.codes, ["currency-mismatch"])
        self.assertEqual(decision.reason, "the charge is in EUR and the intent in USD")

    def test_checks_the_merchant_when_the_terms_ask_for_it(self):
        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, MONTHLY_START)
        cx.charge.merchant = "Hetzner.COM"
        self.assertEqual(decide(cx).verdict, "approve")
        # White space around either is no difference, nor is the case of
        # any letter.
        cx.charge.merchant = "\u3000Hetzner.com \n"
        self.assertEqual(decide(cx).verdict, "approve")
        cx.intent.merchant = "BÜCHER.example"
        cx.charge.merchant = "bücher.EXAMPLE"
        self.assertEqual(decide(cx).verdict, "approve")
        cx.intent.merchant = "hetzner.com"

        cx.charge.merchant = " evilhetzner.com"
        decision = decide(cx)
        self.assertEqual(decision.verdict, "deny")
        self.assertEqual(decision.codes, ["merchant-mismatch"])
        self.assertEqual(
            decision.reason,
            "the charge comes from `evilhetzner.com`, not from the intent's merchant "
            "`hetzner.com`",
        )

        cx.intent.merchant = None
        decision = decide(cx)
        self.assertEqual(decision.codes, ["merchant-mismatch"])
        self.assertEqual(
            decision.reason,
            "the charge comes from `evilhetzner.com` and the intent names no merchant to match "
            "it with",
        )

        # Terms that do not ask for the merchant accept any.
        cx.intent.recurring.merchant_match = False
        self.assertEqual(decide(cx).verdict, "approve")

    def test_names_every_problem_in_order(self):
        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, "2026-03-01T00:00:00Z")
        cx.intent.amount = testing.Money(10_00, "USD")
        cx.charge.merchant = "other.example"
        decision = decide(cx)
        self.assertEqual(
            decision.codes, ["outside-window", "currency-mismatch", "merchant-mismatch"]
        )
        self.assertEqual(decision.reason.count("; "), 3)
        self.assertIsNone(decision.annotation("period"))

        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, "2026-03-15T10:00:00Z")
        cx.intent.amount = None
        cx.intent.merchant = None
        cx.charge.previous = [ts("2026-03-14T10:00:00Z")]
        self.assertEqual(decide(cx).codes, ["duplicate-charge", "no-amount", "merchant-mismatch"])

        cx.intent.amount = testing.Money(20_00, "EUR")
        self.assertEqual(
            decide(cx).codes,
            ["duplicate-charge", "amount-beyond-tolerance", "merchant-mismatch"],
        )

    def test_far_dates_are_found_quickly(self):
        t = terms(Cadence.MONTHLY, 3, 5)
        self.assertEqual(
            self.period(t, MONTHLY_START, "9999-11-15T10:00:00Z"), accepted(95_686, "9999-11-15")
        )
        t = terms(Cadence.DAILY, 0, 0)
        self.assertEqual(
            self.period(t, MONTHLY_START, "9999-12-30T10:00:00Z"),
            accepted(2_912_427, "9999-12-30"),
        )
        # Beyond the calendar, for every cadence, at both ends of time.
        for cadence in Cadence:
            for seconds, nanoseconds in [(I64_MAX, 999_999_999), (I64_MIN, 0)]:
                cx = context(terms(cadence, 3, 5), MONTHLY_START, MONTHLY_START)
                cx.charge.at = testing.Timestamp(seconds, nanoseconds)
                self.assertEqual(decide(cx).codes, ["outside-window"], (cadence, seconds))
        cx = context(t, MONTHLY_START, MONTHLY_START)
        cx.charge.at.seconds = I64_MAX
        self.assertIn("the charge on a date after the year 9999", decide(cx).reason)
        cx.charge.at.seconds = I64_MIN
        self.assertIn("the charge on a date before the year -9999", decide(cx).reason)
        # A series started beyond the calendar has only its first due date.
        cx = context(terms(Cadence.MONTHLY, 0, 0), MONTHLY_START, MONTHLY_START)
        cx.charge.series_start.seconds = I64_MAX // 2
        cx.charge.at.seconds = I64_MAX // 2
        self.assertEqual(decide(cx).annotation("period"), "0")
        cx.charge.at.seconds += 86_400 * 31
        self.assertEqual(decide(cx).codes, ["outside-window"])

    def test_the_calendar_ends_with_the_year_9999_and_begins_with_9999_bc(self):
        # A yearly series due on the last day the calendar has a midnight
        # of: its next due date would be after the year 9999.
        t = terms(Cadence.YEARLY, 0, 0)
        self.assertEqual(
            self.period(t, "9998-12-30T00:00:00Z", "9999-12-30T12:00:00Z"),
            accepted(1, "9999-12-30"),
        )
        decision = decide(context(t, "9998-12-31T00:00:00Z", "9999-12-30T12:00:00Z"))
        self.assertEqual(decision.codes, ["outside-window"])
        self.assertIn("the nearest due date is 9998-12-31", decision.reason)
        # A series begun 12 003 years ago, on 7 May 9978 BC (the year
        # -9977), written as the Rust plugin writes years before 0.
        cx = context(terms(Cadence.YEARLY, 0, 0), MONTHLY_START, MONTHLY_START)
        cx.charge.series_start = testing.Timestamp(-377_000_000_000, 0)
        decision = decide(cx)
        self.assertEqual(decision.codes, ["outside-window"])
        self.assertIn("the nearest due date is 2026-05-07", decision.reason)
        cx.charge.at = ts("2026-05-07T23:00:00Z")
        self.assertEqual(decide(cx).annotations, [("period", "12003"), ("dueDate", "2026-05-07")])
        cx.charge.at = testing.Timestamp(-377_000_000_000 + 3600, 0)
        self.assertEqual(decide(cx).annotations, [("period", "0"), ("dueDate", "-009977-05-07")])
        # The calendar's first instant, 01:59:59 UTC on 2 January of the
        # year -9999, whose day has no midnight on the calendar: its date
        # is the instant itself.
        cx.charge.series_start = testing.Timestamp(-377_705_023_201, 0)
        cx.charge.at = testing.Timestamp(-377_705_023_201, 0)
        self.assertEqual(decide(cx).annotations, [("period", "0"), ("dueDate", "-009999-01-02")])
        cx.charge.at.seconds -= 1
        self.assertIn("the charge on a date before the year -9999", decide(cx).reason)

    def test_refuses_invalid_configurations(self):
        cx = context(terms(Cadence.MONTHLY, 3, 5), MONTHLY_START, MONTHLY_START)
        self.assertEqual(evaluate(cx, " {} ").verdict, "approve")
        for config in [
            '{"strict": true}',
            '{"cadence": "monthly"}',
            "[]",
            "null",
            "1",
            '"{}"',
            "{} {}",
            "not json",
        ]:
            with self.subTest(config):
                with self.assertRaises(PluginError) as raised:
                    evaluate(cx, config)
                self.assertEqual(raised.exception.code, "invalid-config")


if __name__ == "__main__":
    unittest.main()
