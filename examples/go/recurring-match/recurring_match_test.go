package main

import (
	"archive/zip"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	warrant "warrant.dev/sdk/go"
	"warrant.dev/sdk/go/policy"
	"warrant.dev/sdk/go/warranttest"
)

// These tests are those of the built-in plugin (plugins/recurring-match),
// with the same cases and the same expected answers.

// ts is an RFC 3339 instant as the contract's timestamp.
func ts(t *testing.T, text string) warrant.Timestamp {
	t.Helper()
	parsed, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		t.Fatal(err)
	}
	return warrant.Timestamp{Seconds: parsed.Unix(), Nanoseconds: uint32(parsed.Nanosecond())}
}

func terms(cadence warrant.Cadence, before, after uint32) warrant.RecurringTerms {
	return warrant.RecurringTerms{
		Cadence:               cadence,
		WindowStartDaysBefore: before,
		WindowEndDaysAfter:    after,
		AmountToleranceBps:    1000,
		MerchantMatch:         true,
	}
}

func eur(cents uint64) *warrant.Money {
	return &warrant.Money{MinorUnits: cents, Currency: "EUR"}
}

// context checks a charge of 10.00 EUR from `hetzner.com` at at against an
// intent for 10.00 EUR at `hetzner.com`, recurring with terms since start.
func context(t *testing.T, terms warrant.RecurringTerms, start, at string) *warrant.Context {
	t.Helper()
	cx := warranttest.Context()
	cx.Intent.Amount = eur(10_00)
	merchant := "hetzner.com"
	cx.Intent.Merchant = &merchant
	cx.Intent.Recurring = &terms
	cx.Charge = &warrant.Charge{
		Amount:      *eur(10_00),
		Merchant:    "hetzner.com",
		At:          ts(t, at),
		SeriesStart: ts(t, start),
	}
	return cx
}

func decide(t *testing.T, cx *warrant.Context) warrant.Decision {
	t.Helper()
	decision, err := policy.Run(evaluate, cx, "{}")
	if err != nil {
		t.Fatal(err)
	}
	return decision
}

func annotation(d warrant.Decision, key string) string {
	value, _ := d.Annotation(key)
	return value
}

// accepted is the period and the due date of a charge in a window.
type accepted struct{ period, due string }

// period is the period and due date of the charge at at of a series with
// terms since start; the zero value when the charge is outside every
// window.
func period(t *testing.T, terms warrant.RecurringTerms, start, at string) accepted {
	t.Helper()
	decision := decide(t, context(t, terms, start, at))
	if decision.Verdict == warrant.VerdictApprove {
		return accepted{annotation(decision, "period"), annotation(decision, "dueDate")}
	}
	if !slices.Equal(decision.Codes, []string{"outside-window"}) {
		t.Fatalf("%s: got %v", at, decision.Codes)
	}
	if _, ok := decision.Annotation("period"); ok {
		t.Fatalf("%s: a period outside every window", at)
	}
	return accepted{}
}

func expectPeriod(t *testing.T, terms warrant.RecurringTerms, start, at string, want accepted) {
	t.Helper()
	if got := period(t, terms, start, at); got != want {
		t.Errorf("%s from %s: got %+v, want %+v", at, start, got, want)
	}
}

var outside = accepted{}

const monthlyStart = "2026-01-15T10:00:00Z"

func TestApprovesTheDeclarationOfAnIntent(t *testing.T) {
	cx := context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, monthlyStart)
	cx.Charge = nil
	if d := decide(t, cx); d.Verdict != warrant.VerdictApprove || annotation(d, "recurring") != "monthly" {
		t.Errorf("got %+v", d)
	}
	cx.Intent.Recurring = nil
	if d := decide(t, cx); d.Verdict != warrant.VerdictApprove || annotation(d, "recurring") != "no" {
		t.Errorf("got %+v", d)
	}
	for cadence, name := range map[warrant.Cadence]string{
		warrant.CadenceDaily: "daily", warrant.CadenceWeekly: "weekly", warrant.CadenceYearly: "yearly",
	} {
		terms := terms(cadence, 0, 0)
		cx.Intent.Recurring = &terms
		if got := annotation(decide(t, cx), "recurring"); got != name {
			t.Errorf("%s: got %s", name, got)
		}
	}
}

func TestDeniesAChargeAgainstAnIntentThatIsNotRecurring(t *testing.T) {
	cx := context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, monthlyStart)
	cx.Intent.Recurring = nil
	d := decide(t, cx)
	if d.Verdict != warrant.VerdictDeny || !slices.Equal(d.Codes, []string{"not-recurring"}) ||
		d.Reason != "the intent is not recurring, so no charge can be accepted against it" {
		t.Errorf("got %+v", d)
	}
}

func TestAcceptsAMonthlyChargeOnItsDueDate(t *testing.T) {
	d := decide(t, context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, "2026-03-15T10:00:00Z"))
	if d.Verdict != warrant.VerdictApprove || len(d.Codes) != 0 ||
		annotation(d, "period") != "2" || annotation(d, "dueDate") != "2026-03-15" {
		t.Errorf("got %+v", d)
	}
	// The first charge, at the start of the series, is period 0.
	expectPeriod(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, monthlyStart, accepted{"0", "2026-01-15"})
}

func TestTheWindowIncludesBothEnds(t *testing.T) {
	terms := terms(warrant.CadenceMonthly, 3, 5)
	due := accepted{"2", "2026-03-15"}
	// Whole days: from the first instant of the 12th to the last of the
	// 20th, whatever the series' time of day.
	expectPeriod(t, terms, monthlyStart, "2026-03-12T00:00:00Z", due)
	expectPeriod(t, terms, monthlyStart, "2026-03-11T23:59:59.999999999Z", outside)
	expectPeriod(t, terms, monthlyStart, "2026-03-20T23:59:59.999999999Z", due)
	expectPeriod(t, terms, monthlyStart, "2026-03-21T00:00:00Z", outside)
}

// inZone is the decision on the charge at at of a monthly series without
// windows, declared at start, with the policy in zone.
func inZone(t *testing.T, zone, start, at string) warrant.Decision {
	t.Helper()
	cx := context(t, terms(warrant.CadenceMonthly, 0, 0), start, at)
	cx.Usage.Timezone = zone
	return decide(t, cx)
}

func TestAChargeAnyTimeOnTheDueDateIsInAWindowOfNoDays(t *testing.T) {
	// Declared on 5 December 2026 at 10:00 in Berlin (09:00 UTC).
	start := "2026-12-05T09:00:00Z"
	// Seconds later, the same day: period 0.
	if d := inZone(t, "Europe/Berlin", start, "2026-12-05T09:00:05Z"); d.Verdict != warrant.VerdictApprove ||
		annotation(d, "dueDate") != "2026-12-05" {
		t.Errorf("got %+v", d)
	}
	// 00:00, 12:00 and 23:59 in Berlin on the due date, 5 January.
	for _, at := range []string{"2027-01-04T23:00:00Z", "2027-01-05T11:00:00Z", "2027-01-05T22:59:00Z"} {
		if d := inZone(t, "Europe/Berlin", start, at); d.Verdict != warrant.VerdictApprove ||
			annotation(d, "period") != "1" || annotation(d, "dueDate") != "2027-01-05" {
			t.Errorf("%s: got %+v", at, d)
		}
	}
	// A minute before and after the day, in Berlin.
	for _, at := range []string{"2027-01-04T22:59:00Z", "2027-01-05T23:00:00Z"} {
		if d := inZone(t, "Europe/Berlin", start, at); !slices.Equal(d.Codes, []string{"outside-window"}) {
			t.Errorf("%s: got %+v", at, d)
		}
	}
	// 23:00 on 4 January in New York is the 5th in UTC: not the due date
	// in New York.
	d := inZone(t, "America/New_York", start, "2027-01-05T04:00:00Z")
	if !slices.Equal(d.Codes, []string{"outside-window"}) || d.Reason != "the charge on 2027-01-04 falls in no window "+
		"of the monthly series; the nearest due date is 2027-01-05, and a charge may come from 0 days before to "+
		"0 days after a due date" {
		t.Errorf("got %+v", d)
	}
}

func TestDueDatesAreDatesInThePolicysTimeZone(t *testing.T) {
	// Declared at 20:00 on 4 December in New York (01:00 UTC on the 5th):
	// due on the 4th of every month there.
	start := "2026-12-05T01:00:00Z"
	for _, at := range []string{"2027-01-04T05:00:00Z", "2027-01-04T17:00:00Z", "2027-01-05T04:59:00Z"} {
		if d := inZone(t, "America/New_York", start, at); d.Verdict != warrant.VerdictApprove ||
			annotation(d, "dueDate") != "2027-01-04" {
			t.Errorf("%s: got %+v", at, d)
		}
	}
	if d := inZone(t, "America/New_York", start, "2027-01-05T05:00:00Z"); !slices.Equal(d.Codes, []string{"outside-window"}) {
		t.Errorf("got %+v", d)
	}
	// The same instants in UTC: due on the 5th.
	if d := inZone(t, "UTC", start, "2027-01-05T04:59:00Z"); annotation(d, "dueDate") != "2027-01-05" {
		t.Errorf("got %+v", d)
	}
	// A 0.1.0 context names no time zone: UTC.
	if d := inZone(t, "", start, "2027-01-05T23:59:00Z"); annotation(d, "dueDate") != "2027-01-05" {
		t.Errorf("got %+v", d)
	}
	// Names are matched ignoring ASCII letter case, as Warrant does.
	if d := inZone(t, "america/NEW_york", start, "2027-01-04T05:00:00Z"); annotation(d, "dueDate") != "2027-01-04" {
		t.Errorf("got %+v", d)
	}
	// An unknown zone fails closed, and so do names that Go alone would
	// take.
	for _, zone := range []string{"Mars/Olympus", "Local", "Etc/Unknown", "../UTC", "/UTC", "America/New_York/",
		"Europe/\u212Aiev", "CET\x00"} {
		cx := context(t, terms(warrant.CadenceMonthly, 0, 0), start, start)
		cx.Usage.Timezone = zone
		_, err := policy.Run(evaluate, cx, "{}")
		var pluginError *warrant.PluginError
		if !errors.As(err, &pluginError) || pluginError.Code != "invalid-timezone" ||
			pluginError.Message != "the policy's time zone `"+zone+"` is not a known IANA time zone" {
			t.Errorf("%q: got %v", zone, err)
		}
	}
}

func TestEveryZoneNameLoads(t *testing.T) {
	names := strings.Split(zoneNames, "\n")
	for _, name := range names {
		if _, err := time.LoadLocation(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The names are those of the toolchain's database, which time/tzdata
	// embeds.
	database := filepath.Join(runtime.GOROOT(), "lib", "time", "zoneinfo.zip")
	if _, err := os.Stat(database); err != nil {
		t.Skipf("no database to compare with: %v", err)
	}
	archive, err := zip.OpenReader(database)
	if err != nil {
		t.Fatal(err)
	}
	defer archive.Close()
	var files []string
	for _, file := range archive.File {
		if !strings.HasSuffix(file.Name, "/") {
			files = append(files, file.Name)
		}
	}
	slices.Sort(files)
	if !slices.Equal(names, files) {
		t.Errorf("zones.go lists %d names, %s has %d others: write zones.go anew", len(names), database, len(files))
	}
}

func TestDeniesAChargeOutsideEveryWindow(t *testing.T) {
	d := decide(t, context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, "2026-04-02T08:00:00Z"))
	if d.Verdict != warrant.VerdictDeny || !slices.Equal(d.Codes, []string{"outside-window"}) ||
		d.Reason != "the charge on 2026-04-02 falls in no window of the monthly series; the nearest due date is "+
			"2026-04-15, and a charge may come from 3 days before to 5 days after a due date" {
		t.Errorf("got %+v", d)
	}
	d = decide(t, context(t, terms(warrant.CadenceMonthly, 1, 1), monthlyStart, "2026-03-20T08:00:00Z"))
	if !strings.Contains(d.Reason, "the nearest due date is 2026-03-15, and a charge may come from 1 day before to 1 day after") {
		t.Errorf("got %+v", d)
	}
}

func TestAChargeBeforeTheFirstWindowIsOutside(t *testing.T) {
	monthly := terms(warrant.CadenceMonthly, 3, 5)
	expectPeriod(t, monthly, monthlyStart, "2026-01-12T00:00:00Z", accepted{"0", "2026-01-15"})
	expectPeriod(t, monthly, monthlyStart, "2026-01-11T23:59:59Z", outside)
	d := decide(t, context(t, monthly, monthlyStart, "2025-06-01T00:00:00Z"))
	if !slices.Equal(d.Codes, []string{"outside-window"}) || !strings.Contains(d.Reason, "the nearest due date is 2026-01-15") {
		t.Errorf("got %+v", d)
	}
	// Without a window before the due date, nothing before the start.
	daily := terms(warrant.CadenceDaily, 0, 0)
	expectPeriod(t, daily, monthlyStart, "2026-01-14T23:59:59Z", outside)
	// But the whole first day.
	expectPeriod(t, daily, monthlyStart, "2026-01-15T00:00:00Z", accepted{"0", "2026-01-15"})
}

func TestMonthlyDueDatesAreClampedToTheEndOfTheMonth(t *testing.T) {
	start := "2026-01-31T10:00:00Z"
	monthly := terms(warrant.CadenceMonthly, 0, 0)
	expectPeriod(t, monthly, start, "2026-02-28T10:00:00Z", accepted{"1", "2026-02-28"})
	// Not the 28th of every later month: each period counts from the start.
	expectPeriod(t, monthly, start, "2026-03-28T10:00:00Z", outside)
	expectPeriod(t, monthly, start, "2026-03-31T10:00:00Z", accepted{"2", "2026-03-31"})
	expectPeriod(t, monthly, start, "2026-04-30T10:00:00Z", accepted{"3", "2026-04-30"})
	expectPeriod(t, monthly, start, "2027-02-28T10:00:00Z", accepted{"13", "2027-02-28"})
	expectPeriod(t, monthly, start, "2028-02-29T10:00:00Z", accepted{"25", "2028-02-29"})
	// Any time of the due date; not the day after.
	expectPeriod(t, monthly, start, "2026-02-28T23:59:59Z", accepted{"1", "2026-02-28"})
	expectPeriod(t, monthly, start, "2026-03-01T00:00:00Z", outside)
}

func TestYearlyDueDatesClampThe29thOfFebruary(t *testing.T) {
	start := "2024-02-29T12:00:00Z"
	yearly := terms(warrant.CadenceYearly, 0, 0)
	expectPeriod(t, yearly, start, "2025-02-28T12:00:00Z", accepted{"1", "2025-02-28"})
	expectPeriod(t, yearly, start, "2025-03-01T12:00:00Z", outside)
	expectPeriod(t, yearly, start, "2027-02-28T12:00:00Z", accepted{"3", "2027-02-28"})
	expectPeriod(t, yearly, start, "2028-02-29T12:00:00Z", accepted{"4", "2028-02-29"})
	expectPeriod(t, yearly, start, "2028-02-28T12:00:00Z", outside)
	expectPeriod(t, terms(warrant.CadenceYearly, 10, 10), start, "2026-03-05T00:00:00Z", accepted{"2", "2026-02-28"})
}

func TestDailyAndWeeklyDueDates(t *testing.T) {
	start := "2026-01-01T00:00:00Z"
	daily := terms(warrant.CadenceDaily, 0, 0)
	expectPeriod(t, daily, start, "2026-01-11T00:00:00Z", accepted{"10", "2026-01-11"})
	expectPeriod(t, daily, start, "2026-01-11T23:00:00Z", accepted{"10", "2026-01-11"})
	// On the 12th: in the windows of the 11th and the 12th, nearest the
	// 12th.
	expectPeriod(t, terms(warrant.CadenceDaily, 0, 1), start, "2026-01-12T03:00:00Z", accepted{"11", "2026-01-12"})
	weekly := terms(warrant.CadenceWeekly, 1, 1)
	expectPeriod(t, weekly, start, "2026-01-15T00:00:00Z", accepted{"2", "2026-01-15"})
	expectPeriod(t, weekly, start, "2026-01-16T00:00:00Z", accepted{"2", "2026-01-15"})
	expectPeriod(t, weekly, start, "2026-01-17T00:00:00Z", outside)
	expectPeriod(t, weekly, start, "2026-01-21T00:00:00Z", accepted{"3", "2026-01-22"})
}

func TestAChargeInOverlappingWindowsBelongsToTheNearestDueDate(t *testing.T) {
	start := "2026-01-01T00:00:00Z"
	weekly := terms(warrant.CadenceWeekly, 5, 5)
	// Day 3 is 3 days after due(0) and 4 before due(1).
	expectPeriod(t, weekly, start, "2026-01-04T00:00:00Z", accepted{"0", "2026-01-01"})
	expectPeriod(t, weekly, start, "2026-01-05T00:00:00Z", accepted{"1", "2026-01-08"})
	// Any time of the 4th is its day: 3 days after due(0).
	expectPeriod(t, weekly, start, "2026-01-04T23:00:00Z", accepted{"0", "2026-01-01"})
	// Windows much longer than the period: the due date is the day.
	daily := terms(warrant.CadenceDaily, 400, 400)
	expectPeriod(t, daily, start, "2026-01-04T13:00:00Z", accepted{"3", "2026-01-04"})
	expectPeriod(t, daily, start, "2025-01-01T00:00:00Z", accepted{"0", "2026-01-01"})
}

func TestAChargeBelongsToTheWindowThatHoldsItNotTheNearestDueDate(t *testing.T) {
	// Charges come up to 20 days late, never early: on 20 January the
	// nearest due date is 1 February, but only January's window holds it.
	start := "2026-01-01T00:00:00Z"
	late := terms(warrant.CadenceMonthly, 0, 20)
	expectPeriod(t, late, start, "2026-01-20T00:00:00Z", accepted{"0", "2026-01-01"})
	expectPeriod(t, late, start, "2026-01-25T00:00:00Z", outside)
	if d := decide(t, context(t, late, start, "2026-01-25T00:00:00Z")); !strings.Contains(d.Reason, "the nearest due date is 2026-02-01") {
		t.Errorf("got %+v", d)
	}
	// And charges up to 20 days early.
	early := terms(warrant.CadenceMonthly, 20, 0)
	expectPeriod(t, early, start, "2026-01-12T00:00:00Z", accepted{"1", "2026-02-01"})
	expectPeriod(t, early, start, "2026-01-05T00:00:00Z", outside)
}

func TestFlagsASecondChargeInTheSameWindow(t *testing.T) {
	cx := context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, "2026-03-16T10:00:00Z")
	cx.Charge.Previous = []warrant.Timestamp{
		ts(t, "2026-01-15T10:00:00Z"), ts(t, "2026-02-15T10:00:00Z"), ts(t, "2026-03-13T08:00:00Z"),
	}
	d := decide(t, cx)
	if d.Verdict != warrant.VerdictDeny || !slices.Equal(d.Codes, []string{"duplicate-charge"}) ||
		d.Reason != "a charge on 2026-03-13 was already accepted for the payment due 2026-03-15 (period 2)" ||
		annotation(d, "period") != "2" || annotation(d, "dueDate") != "2026-03-15" {
		t.Errorf("got %+v", d)
	}
	// Earlier charges in other windows are no duplicates, nor are those
	// just outside this one.
	cx.Charge.Previous = []warrant.Timestamp{
		ts(t, "2026-02-15T10:00:00Z"), ts(t, "2026-03-11T23:59:59Z"), ts(t, "2026-03-21T00:00:00Z"),
	}
	if d := decide(t, cx); d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v", d)
	}
	// The same instant is a duplicate.
	cx.Charge.Previous = []warrant.Timestamp{ts(t, "2026-03-16T10:00:00Z")}
	if d := decide(t, cx); !slices.Equal(d.Codes, []string{"duplicate-charge"}) {
		t.Errorf("got %+v", d)
	}
}

func TestChecksTheAmountWithinTheTolerance(t *testing.T) {
	charged := func(cents uint64, bps uint32) warrant.Decision {
		terms := terms(warrant.CadenceMonthly, 3, 5)
		terms.AmountToleranceBps = bps
		cx := context(t, terms, monthlyStart, monthlyStart)
		cx.Charge.Amount = *eur(cents)
		return decide(t, cx)
	}
	// 10 % of 10.00 EUR.
	for _, cents := range []uint64{9_00, 10_00, 11_00} {
		if d := charged(cents, 1000); d.Verdict != warrant.VerdictApprove {
			t.Errorf("%d: got %+v", cents, d)
		}
	}
	for _, cents := range []uint64{8_99, 11_01, 0, math.MaxUint64} {
		if d := charged(cents, 1000); d.Verdict != warrant.VerdictDeny || !slices.Equal(d.Codes, []string{"amount-beyond-tolerance"}) {
			t.Errorf("%d: got %+v", cents, d)
		}
	}
	if d := charged(12_50, 1000); d.Reason != "the charge of 12.50 EUR differs from the expected 10.00 EUR by 2.50 EUR, "+
		"more than the tolerance of 10.00% (1.00 EUR)" {
		t.Errorf("got %q", d.Reason)
	}
	// No tolerance: the exact amount only.
	if d := charged(10_00, 0); d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v", d)
	}
	for _, cents := range []uint64{10_01, 9_99} {
		if d := charged(cents, 0); !slices.Equal(d.Codes, []string{"amount-beyond-tolerance"}) {
			t.Errorf("%d: got %+v", cents, d)
		}
	}
	// 0.25 %: 2.5 cents of 10.00 EUR.
	if d := charged(10_02, 25); d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v", d)
	}
	if d := charged(10_03, 25); d.Verdict != warrant.VerdictDeny || !strings.Contains(d.Reason, "tolerance of 0.25% (0.02 EUR)") {
		t.Errorf("got %+v", d)
	}
}

func TestChecksAmountsAtTheEdgeOfUint64(t *testing.T) {
	terms := terms(warrant.CadenceMonthly, 3, 5)
	terms.AmountToleranceBps = math.MaxUint32
	cx := context(t, terms, monthlyStart, monthlyStart)
	cx.Intent.Amount = eur(math.MaxUint64)
	cx.Charge.Amount = *eur(0)
	if d := decide(t, cx); d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v", d)
	}
	cx.Intent.Recurring.AmountToleranceBps = 9_999
	if d := decide(t, cx); !slices.Equal(d.Codes, []string{"amount-beyond-tolerance"}) ||
		d.Reason != "the charge of 0.00 EUR differs from the expected 184467440737095516.15 EUR by "+
			"184467440737095516.15 EUR, more than the tolerance of 99.99% (184448993993021806.59 EUR)" {
		t.Errorf("got %+v", d)
	}
	// A tolerance beyond a uint64 of cents is written out exactly.
	cx.Intent.Recurring.AmountToleranceBps = math.MaxUint32
	cx.Charge.Amount = *eur(math.MaxUint64)
	cx.Intent.Amount = eur(1)
	if d := decide(t, cx); d.Reason != "the charge of 184467440737095516.15 EUR differs from the expected 0.01 EUR by "+
		"184467440737095516.14 EUR, more than the tolerance of 42949672.95% (4294.96 EUR)" {
		t.Errorf("got %q", d.Reason)
	}
	cx.Intent.Amount = eur(math.MaxUint64 - 1)
	cx.Charge.Amount = *eur(math.MaxUint64)
	cx.Intent.Recurring.AmountToleranceBps = 0
	if d := decide(t, cx); d.Reason != "the charge of 184467440737095516.15 EUR differs from the expected "+
		"184467440737095516.14 EUR by 0.01 EUR, more than the tolerance of 0.00% (0.00 EUR)" {
		t.Errorf("got %q", d.Reason)
	}
	// An expected amount of zero tolerates nothing but zero.
	cx.Intent.Amount = eur(0)
	cx.Charge.Amount = *eur(0)
	cx.Intent.Recurring.AmountToleranceBps = math.MaxUint32
	if d := decide(t, cx); d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v", d)
	}
	cx.Charge.Amount = *eur(1)
	if d := decide(t, cx); !slices.Equal(d.Codes, []string{"amount-beyond-tolerance"}) {
		t.Errorf("got %+v", d)
	}
}

func TestMoneyIsWrittenInTheCurrencysDecimals(t *testing.T) {
	huge := mul64(math.MaxUint64, math.MaxUint32)
	for _, c := range []struct {
		amount   u128
		currency string
		want     string
	}{
		{u128{lo: 4500}, "EUR", "45.00 EUR"},
		{u128{lo: 5}, "EUR", "0.05 EUR"},
		{u128{lo: 4500}, "JPY", "4500 JPY"},
		{u128{lo: 1500}, "KWD", "1.500 KWD"},
		{u128{lo: 7}, "KWD", "0.007 KWD"},
		{u128{lo: 4500}, "eur", "45.00 eur"},
		{huge, "EUR", "792281624958175935155394314.25 EUR"},
		{huge, "JPY", "79228162495817593515539431425 JPY"},
		{u128{hi: math.MaxUint64, lo: math.MaxUint64}, "JPY", "340282366920938463463374607431768211455 JPY"},
	} {
		if got := money(c.amount, c.currency); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}

func TestFlagsAMissingAmountOrAnotherCurrency(t *testing.T) {
	cx := context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, monthlyStart)
	cx.Intent.Amount = nil
	d := decide(t, cx)
	if d.Verdict != warrant.VerdictDeny || !slices.Equal(d.Codes, []string{"no-amount"}) ||
		d.Reason != "the intent has no amount, so the charge's amount cannot be checked" || annotation(d, "period") != "0" {
		t.Errorf("got %+v", d)
	}
	cx.Intent.Amount = &warrant.Money{MinorUnits: 10_00, Currency: "USD"}
	d = decide(t, cx)
	if !slices.Equal(d.Codes, []string{"currency-mismatch"}) || d.Reason != "the charge is in EUR and the intent in USD" {
		t.Errorf("got %+v", d)
	}
	// Currencies compare ignoring ASCII letter case.
	cx.Intent.Amount = &warrant.Money{MinorUnits: 10_00, Currency: "eur"}
	if d := decide(t, cx); d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v", d)
	}
}

func TestChecksTheMerchantWhenTheTermsAskForIt(t *testing.T) {
	cx := context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, monthlyStart)
	cx.Charge.Merchant = "Hetzner.COM"
	if d := decide(t, cx); d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v", d)
	}
	cx.Charge.Merchant = "evilhetzner.com"
	d := decide(t, cx)
	if d.Verdict != warrant.VerdictDeny || !slices.Equal(d.Codes, []string{"merchant-mismatch"}) ||
		d.Reason != "the charge comes from `evilhetzner.com`, not from the intent's merchant `hetzner.com`" {
		t.Errorf("got %+v", d)
	}
	cx.Intent.Merchant = nil
	d = decide(t, cx)
	if !slices.Equal(d.Codes, []string{"merchant-mismatch"}) ||
		d.Reason != "the charge comes from `evilhetzner.com` and the intent names no merchant to match it with" {
		t.Errorf("got %+v", d)
	}
	// Terms that do not ask for the merchant accept any.
	cx.Intent.Recurring.MerchantMatch = false
	if d := decide(t, cx); d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v", d)
	}
}

func TestMerchantsCompareInLowerCaseAsRustHasIt(t *testing.T) {
	for _, c := range []struct {
		intent, charge string
		same           bool
	}{
		{" hetzner.com\u2003", "HETZNER.COM\u0085", true},
		{"bücher.example", "BÜCHER.EXAMPLE", true},
		// İ is i and a combining dot above in lower case: not i.
		{"İnfo.example", "info.example", false},
		{"İnfo.example", "i\u0307nfo.example", true},
		// A word-final capital sigma is ς, any other σ.
		{"ΟΔΟΣ.example", "οδοσ.example", true},
		{"ΟΔΟΣ.example", "οδος.example", false},
		{"ΟΔΟΣ", "οδος", true},
		{"ΟΔΟΣ", "οδοσ", false},
		{"ΣΟΣ", "σος", true},
		{"Σ", "σ", true},
		{"AΣ'", "aς'", true},
		{"AΣ'B", "aσ'b", true},
		// The Kelvin sign is k in lower case; the merchant compares with
		// itself only in Unicode's eyes.
		{"\u212A.example", "k.example", true},
	} {
		cx := context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, monthlyStart)
		cx.Intent.Merchant = &c.intent
		cx.Charge.Merchant = c.charge
		if d := decide(t, cx); (d.Verdict == warrant.VerdictApprove) != c.same {
			t.Errorf("%q vs %q: got %+v", c.intent, c.charge, d)
		}
	}
	for text, want := range map[string]string{
		"ΟΔΟΣ": "οδος", "ΟΔΟΣ.": "οδος.", "ΟΔΟΣ.GR": "οδοσ.gr", "Σ": "σ", "AΣ": "aς", "AΣ\u0301": "aς\u0301",
		"AΣ\u0301B": "aσ\u0301b", "İ": "i\u0307", "ẞ": "ß", "ǅ": "ǆ",
	} {
		if got := lowercase(text); got != want {
			t.Errorf("%q: got %q, want %q", text, got, want)
		}
	}
}

func TestNamesEveryProblemInOrder(t *testing.T) {
	cx := context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, "2026-03-01T00:00:00Z")
	cx.Intent.Amount = &warrant.Money{MinorUnits: 10_00, Currency: "USD"}
	cx.Charge.Merchant = "other.example"
	d := decide(t, cx)
	if !slices.Equal(d.Codes, []string{"outside-window", "currency-mismatch", "merchant-mismatch"}) ||
		strings.Count(d.Reason, "; ") != 3 || annotation(d, "period") != "" {
		t.Errorf("got %+v", d)
	}

	cx = context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, "2026-03-15T10:00:00Z")
	cx.Intent.Amount = nil
	cx.Intent.Merchant = nil
	cx.Charge.Previous = []warrant.Timestamp{ts(t, "2026-03-14T10:00:00Z")}
	if d := decide(t, cx); !slices.Equal(d.Codes, []string{"duplicate-charge", "no-amount", "merchant-mismatch"}) {
		t.Errorf("got %+v", d)
	}
	cx.Intent.Amount = eur(20_00)
	if d := decide(t, cx); !slices.Equal(d.Codes, []string{"duplicate-charge", "amount-beyond-tolerance", "merchant-mismatch"}) {
		t.Errorf("got %+v", d)
	}
}

func TestFarDatesAreFoundQuickly(t *testing.T) {
	expectPeriod(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, "9999-11-15T10:00:00Z", accepted{"95686", "9999-11-15"})
	expectPeriod(t, terms(warrant.CadenceDaily, 0, 0), monthlyStart, "9999-12-30T10:00:00Z", accepted{"2912427", "9999-12-30"})
	// The calendar's last date has no instant of its own: no due date on
	// it.
	expectPeriod(t, terms(warrant.CadenceDaily, 0, 0), monthlyStart, "9999-12-31T10:00:00Z", outside)
	// Beyond the calendar, for every cadence, at both ends of time.
	for _, cadence := range []warrant.Cadence{warrant.CadenceDaily, warrant.CadenceWeekly, warrant.CadenceMonthly, warrant.CadenceYearly} {
		for _, at := range []warrant.Timestamp{{Seconds: math.MaxInt64, Nanoseconds: 999_999_999}, {Seconds: math.MinInt64}} {
			cx := context(t, terms(cadence, 3, 5), monthlyStart, monthlyStart)
			cx.Charge.At = at
			if d := decide(t, cx); !slices.Equal(d.Codes, []string{"outside-window"}) {
				t.Errorf("%v at %d: got %+v", cadence, at.Seconds, d)
			}
		}
	}
	cx := context(t, terms(warrant.CadenceDaily, 0, 0), monthlyStart, monthlyStart)
	cx.Charge.At.Seconds = math.MaxInt64
	if d := decide(t, cx); !strings.Contains(d.Reason, "the charge on a date after the year 9999") {
		t.Errorf("got %q", d.Reason)
	}
	cx.Charge.At.Seconds = math.MinInt64
	if d := decide(t, cx); !strings.Contains(d.Reason, "the charge on a date before the year -9999") ||
		!strings.Contains(d.Reason, "the nearest due date is 2026-01-15") {
		t.Errorf("got %q", d.Reason)
	}
	// A series started beyond the calendar has only its first due date.
	cx = context(t, terms(warrant.CadenceMonthly, 0, 0), monthlyStart, monthlyStart)
	cx.Charge.SeriesStart.Seconds = math.MaxInt64 / 2
	cx.Charge.At.Seconds = math.MaxInt64 / 2
	if d := decide(t, cx); annotation(d, "period") != "0" {
		t.Errorf("got %+v", d)
	}
	cx.Charge.At.Seconds += 86_400 * 31
	if d := decide(t, cx); !slices.Equal(d.Codes, []string{"outside-window"}) {
		t.Errorf("got %+v", d)
	}
	// Dates before the year 0 are written as the calendar writes them.
	cx = context(t, terms(warrant.CadenceYearly, 0, 0), monthlyStart, monthlyStart)
	cx.Charge.SeriesStart.Seconds = time.Date(-1, 3, 1, 12, 0, 0, 0, time.UTC).Unix()
	cx.Charge.At.Seconds = time.Date(1, 3, 1, 0, 0, 0, 0, time.UTC).Unix()
	if d := decide(t, cx); annotation(d, "period") != "2" || annotation(d, "dueDate") != "0001-03-01" {
		t.Errorf("got %+v", d)
	}
	cx.Charge.At.Seconds = time.Date(-1, 3, 2, 0, 0, 0, 0, time.UTC).Unix()
	if d := decide(t, cx); !strings.Contains(d.Reason, "the charge on -000001-03-02 ") ||
		!strings.Contains(d.Reason, "the nearest due date is -000001-03-01") {
		t.Errorf("got %+v", d)
	}
}

func TestRefusesInvalidConfigurations(t *testing.T) {
	cx := context(t, terms(warrant.CadenceMonthly, 3, 5), monthlyStart, monthlyStart)
	if _, err := policy.Run(evaluate, cx, " {} "); err != nil {
		t.Error(err)
	}
	for _, config := range []string{`{"strict": true}`, `{"cadence": "monthly"}`, "[]", "null", "1", `"{}"`, "{} {}", "not json"} {
		_, err := policy.Run(evaluate, cx, config)
		var pluginError *warrant.PluginError
		if !errors.As(err, &pluginError) || pluginError.Code != "invalid-config" {
			t.Errorf("%s: got %v", config, err)
		}
	}
}
