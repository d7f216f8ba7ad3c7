// recurring-match: checks each charge reported against a recurring intent:
// that it comes in the window of a due date, once per due date, for about
// the expected amount, from the intent's merchant. A port of Warrant's
// built-in plugin of the same name (plugins/recurring-match), with the
// same codes, reasons and annotations.
//
// Configuration: `{}`. The terms are the intent's own (Intent.Recurring).
//
// When an intent is being declared (Context.Charge is nil) the rule
// approves, annotating `recurring` with the cadence (`monthly`) or `no`.
//
// When a charge is being checked:
//
//   - an intent without recurring terms: deny (`not-recurring`).
//   - Dates are whole days in the policy's time zone (Usage.Timezone, UTC
//     when empty, as in a 0.1.0 context): the series starts on the date it
//     was declared, and a charge falls on the date it was made. The time
//     zones are those of Go's own database, embedded in the component
//     (time/tzdata); a name it does not know is the plugin's error
//     `invalid-timezone`.
//   - Due dates: due(k) = the series' first date plus k periods, for k = 0,
//     1, 2, …: k days (daily), 7k days (weekly), k months on the same day
//     of the month (monthly), k years (yearly). A day past the end of a
//     month is clamped to its last day: a series started on 31 January is
//     due on 28 (or 29) February and on 31 March; one started on 29
//     February is due on 28 February in common years.
//   - The window of due(k) runs from windowStartDaysBefore days before it
//     to windowEndDaysAfter days after it, both days included: with both at
//     0 (the default), a charge at any time of the due date is in it. A
//     charge in several windows belongs to the one whose due date is
//     nearest.
//   - The calendar ends with the year 9999: a series has no due dates after
//     it.
//
// A charge is flagged, with every code that applies, in this order:
//
//   - `outside-window`: it is in no window (the reason names the nearest due
//     date); this includes any charge before the first window;
//   - `duplicate-charge`: an earlier accepted charge (Charge.Previous) is in
//     the same window;
//   - `no-amount`: the intent has no amount to compare with;
//   - `currency-mismatch`: the charge is in another currency than the
//     intent's amount;
//   - `amount-beyond-tolerance`: |charge − expected| × 10 000 > expected ×
//     amountToleranceBps;
//   - `merchant-mismatch`: the terms require the intent's merchant and the
//     charge comes from another one (ignoring letter case), or the intent
//     names none.
//
// A flagged charge is denied; any other is approved. When the charge is in
// a window, the decision is annotated with the period k (`period`) and its
// due date (`dueDate`, YYYY-MM-DD).
package main

import (
	"cmp"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
	// The IANA time zone database, compiled in: the plugin can read no
	// files.
	_ "time/tzdata"
	"unicode"

	warrant "warrant.dev/sdk/go"
	"warrant.dev/sdk/go/policy"
)

// Config is the rule's configuration: nothing.
type Config struct{}

func init() { policy.Export(evaluate) }

// main is never called: the host calls evaluate.
func main() {}

// evaluate decides on one intent, as the package comment describes.
func evaluate(cx *warrant.Context, _ Config) (warrant.Decision, error) {
	terms := cx.Intent.Recurring
	charge := cx.Charge
	if charge == nil {
		recurring := "no"
		if terms != nil {
			recurring = cadenceName(terms.Cadence)
		}
		return warrant.Approve().WithAnnotation("recurring", recurring), nil
	}
	if terms == nil {
		return warrant.Deny("the intent is not recurring, so no charge can be accepted against it").
			WithCode("not-recurring"), nil
	}

	zone, err := timeZone(cx.Usage.Timezone)
	if err != nil {
		return warrant.Decision{}, err
	}
	day := func(t warrant.Timestamp) instant { return dayOf(fromTimestamp(t), zone) }
	s := newSeries(terms.Cadence, day(charge.SeriesStart))
	before := int64(terms.WindowStartDaysBefore)
	after := int64(terms.WindowEndDaysAfter)
	at := day(charge.At)

	var codes, reasons []string
	k, due, inWindow := s.windowContaining(at, before, after)
	if !inWindow {
		codes = append(codes, "outside-window")
		reasons = append(reasons, fmt.Sprintf(
			"the charge on %s falls in no window of the %s series; the nearest due date is %s, "+
				"and a charge may come from %s before to %s after a due date",
			date(at), cadenceName(terms.Cadence), date(s.nearest(at)),
			days(terms.WindowStartDaysBefore), days(terms.WindowEndDaysAfter)))
	} else {
		from, to := due.addDays(-before), due.addDays(after)
		for _, p := range charge.Previous {
			if earlier := day(p); earlier.cmp(from) >= 0 && earlier.cmp(to) <= 0 {
				codes = append(codes, "duplicate-charge")
				reasons = append(reasons, fmt.Sprintf(
					"a charge on %s was already accepted for the payment due %s (period %d)",
					date(earlier), date(due), k))
				break
			}
		}
	}

	switch expected := cx.Intent.Amount; {
	case expected == nil:
		codes = append(codes, "no-amount")
		reasons = append(reasons, "the intent has no amount, so the charge's amount cannot be checked")
	case !warrant.EqualFoldASCII(expected.Currency, charge.Amount.Currency):
		codes = append(codes, "currency-mismatch")
		reasons = append(reasons, fmt.Sprintf("the charge is in %s and the intent in %s",
			charge.Amount.Currency, expected.Currency))
	default:
		charged := charge.Amount.MinorUnits
		diff := max(charged, expected.MinorUnits) - min(charged, expected.MinorUnits)
		bps := terms.AmountToleranceBps
		allowed := mul64(expected.MinorUnits, uint64(bps))
		if mul64(diff, 10_000).cmp(allowed) > 0 {
			currency := expected.Currency
			tolerance, _ := allowed.divmod(10_000)
			codes = append(codes, "amount-beyond-tolerance")
			reasons = append(reasons, fmt.Sprintf(
				"the charge of %s differs from the expected %s by %s, more than the tolerance of %d.%02d%% (%s)",
				money(u128{lo: charged}, currency), money(u128{lo: expected.MinorUnits}, currency),
				money(u128{lo: diff}, currency), bps/100, bps%100, money(tolerance, currency)))
		}
	}

	if terms.MerchantMatch {
		chargedBy := strings.TrimSpace(charge.Merchant)
		switch merchant := cx.Intent.Merchant; {
		case merchant == nil:
			codes = append(codes, "merchant-mismatch")
			reasons = append(reasons, fmt.Sprintf(
				"the charge comes from `%s` and the intent names no merchant to match it with", chargedBy))
		case lowercase(strings.TrimSpace(*merchant)) != lowercase(chargedBy):
			codes = append(codes, "merchant-mismatch")
			reasons = append(reasons, fmt.Sprintf(
				"the charge comes from `%s`, not from the intent's merchant `%s`",
				chargedBy, strings.TrimSpace(*merchant)))
		}
	}

	decision := warrant.Approve()
	if len(codes) > 0 {
		decision = warrant.Deny(strings.Join(reasons, "; "))
		for _, code := range codes {
			decision = decision.WithCode(code)
		}
	}
	if inWindow {
		decision = decision.
			WithAnnotation("period", strconv.FormatUint(k, 10)).
			WithAnnotation("dueDate", date(due))
	}
	return decision, nil
}

// Time zones.

// timeZone is the policy's time zone; an empty name (a 0.1.0 context) is
// UTC. Names are matched ignoring ASCII letter case, as Warrant matches
// them when it accepts a policy's time zone.
func timeZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	for _, known := range strings.Split(zoneNames, "\n") {
		if warrant.EqualFoldASCII(known, name) {
			if zone, err := time.LoadLocation(known); err == nil {
				return zone, nil
			}
			break
		}
	}
	return nil, warrant.NewPluginError("invalid-timezone",
		fmt.Sprintf("the policy's time zone `%s` is not a known IANA time zone", name))
}

// Instants.

// dayNanos is the number of nanoseconds in a day.
const dayNanos = 86_400 * 1_000_000_000

// An instant is a point in time, exactly: day days and nano nanoseconds
// after 1970-01-01T00:00:00Z, with 0 <= nano < dayNanos. Any timestamp the
// host gives is one (its seconds, an int64, overflow an int64 of
// nanoseconds), and so is any window of up to 2^32 - 1 days around it.
type instant struct {
	day  int64
	nano int64
}

// fromTimestamp is the instant of a timestamp.
func fromTimestamp(t warrant.Timestamp) instant {
	day, second := t.Seconds/86_400, t.Seconds%86_400
	if second < 0 {
		day, second = day-1, second+86_400
	}
	// Nanoseconds beyond a second (the host never sends them) count too.
	nano := second*1_000_000_000 + int64(t.Nanoseconds)
	return instant{day + nano/dayNanos, nano % dayNanos}
}

func (t instant) addDays(n int64) instant { return instant{t.day + n, t.nano} }

func (t instant) cmp(u instant) int {
	switch {
	case t.day != u.day:
		return cmp.Compare(t.day, u.day)
	default:
		return cmp.Compare(t.nano, u.nano)
	}
}

// distance is |t - u|.
func (t instant) distance(u instant) instant {
	if t.cmp(u) < 0 {
		t, u = u, t
	}
	d := instant{t.day - u.day, t.nano - u.nano}
	if d.nano < 0 {
		d.day, d.nano = d.day-1, d.nano+dayNanos
	}
	return d
}

// The calendar: the instants the Rust plugin's calendar (jiff) has, from
// -009999-01-02T01:59:59Z to 9999-12-30T22:00:00.999999999Z, so that every
// one of them has a date in any time zone between -9999-01-01 and
// 9999-12-31.
var (
	firstInstant = fromTimestamp(warrant.Timestamp{Seconds: -377_705_023_201})
	lastInstant  = fromTimestamp(warrant.Timestamp{Seconds: 253_402_207_200, Nanoseconds: 999_999_999})
)

func onCalendar(t instant) bool {
	return t.cmp(firstInstant) >= 0 && t.cmp(lastInstant) <= 0
}

// utc is t, on the calendar, as a time in UTC.
func (t instant) utc() time.Time {
	return time.Unix(t.day*86_400+t.nano/1_000_000_000, t.nano%1_000_000_000).UTC()
}

// midnight is the instant a date starts in UTC.
func midnight(year int, month time.Month, day int) instant {
	return instant{day: time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix() / 86_400}
}

// dayOf is the date t falls on in zone, as its midnight in UTC (so that
// dates compare and add as instants do); instants beyond the calendar, and
// dates whose midnight is, stay as they are.
func dayOf(t instant, zone *time.Location) instant {
	if !onCalendar(t) {
		return t
	}
	d := midnight(t.utc().In(zone).Date())
	if !onCalendar(d) {
		return t
	}
	return d
}

// Due dates.

// series holds the due dates of a series, as the instants of each date's
// midnight in UTC.
type series struct {
	cadence warrant.Cadence
	// start is due(0).
	start instant
	// civil is due(0) in UTC, for months and years; valid only when
	// onCalendar(start).
	civil time.Time
}

func newSeries(cadence warrant.Cadence, start instant) series {
	s := series{cadence: cadence, start: start}
	if onCalendar(start) {
		s.civil = start.utc()
	}
	return s
}

// The longest spans the Rust plugin's calendar adds: 19 998 years, in
// years or in months.
const (
	maxSpanYears  = 19_998
	maxSpanMonths = maxSpanYears * 12
)

// due is due(k); false beyond the calendar (after the year 9999), where a
// series ends.
func (s series) due(k uint64) (instant, bool) {
	if k == 0 {
		return s.start, true
	}
	// More days than any instant is from another: beyond the calendar.
	const far = 1 << 60
	switch s.cadence {
	case warrant.CadenceDaily, warrant.CadenceWeekly:
		if k > far/7 {
			return instant{}, false
		}
		n := int64(k)
		if s.cadence == warrant.CadenceWeekly {
			n *= 7
		}
		due := s.start.addDays(n)
		return due, due.cmp(lastInstant) <= 0
	default: // monthly, yearly
		monthly := s.cadence == warrant.CadenceMonthly
		if !onCalendar(s.start) || (monthly && k > maxSpanMonths) || (!monthly && k > maxSpanYears) {
			return instant{}, false
		}
		year, month, day := s.civil.Date()
		if monthly {
			// Months since the year -10000, before any series: never negative.
			months := (int64(year)+10_000)*12 + int64(month-1) + int64(k)
			year, month = int(months/12)-10_000, time.Month(months%12+1)
		} else {
			year += int(k)
		}
		if year > 9999 {
			return instant{}, false
		}
		// Clamped to the month's last day.
		day = min(day, time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day())
		due := midnight(year, month, day)
		due.nano = s.start.nano
		return due, onCalendar(due)
	}
}

// lastDueBy is the last period due at or before t; false before the
// series.
func (s series) lastDueBy(t instant) (uint64, bool) {
	if t.cmp(s.start) < 0 {
		return 0, false
	}
	// No due date but the first comes after the calendar's end.
	limit := lastInstant
	if s.start.cmp(limit) > 0 {
		limit = s.start
	}
	if t.cmp(limit) > 0 {
		t = limit
	}
	elapsed := t.distance(s.start)
	switch s.cadence {
	case warrant.CadenceDaily:
		return uint64(elapsed.day), true
	case warrant.CadenceWeekly:
		return uint64(elapsed.day / 7), true
	default: // monthly, yearly
		if !onCalendar(s.start) {
			// Only due(0) is on the calendar.
			return 0, true
		}
		then := t.utc()
		estimate := int64(then.Year() - s.civil.Year())
		if s.cadence == warrant.CadenceMonthly {
			estimate = estimate*12 + int64(then.Month()) - int64(s.civil.Month())
		}
		// The estimate is the period due in the same month (or year) as
		// t, which is at most one period late.
		k := uint64(max(estimate, 0))
		for k > 0 {
			if due, ok := s.due(k); ok && due.cmp(t) <= 0 {
				break
			}
			k--
		}
		for {
			if due, ok := s.due(k + 1); !ok || due.cmp(t) > 0 {
				break
			}
			k++
		}
		return k, true
	}
}

// windowContaining is the period whose window, from before days before its
// due date to after days after it, holds at, and its due date; the nearest
// due date when several windows do.
func (s series) windowContaining(at instant, before, after int64) (uint64, instant, bool) {
	// The windows that hold at are those due from at - after to at +
	// before: periods first..=last.
	last, ok := s.lastDueBy(at.addDays(before))
	if !ok {
		return 0, instant{}, false
	}
	earliest := at.addDays(-after)
	var first uint64
	if k, ok := s.lastDueBy(earliest); ok {
		first = k + 1
		if due, ok := s.due(k); ok && due == earliest {
			first = k
		}
	}
	if first > last {
		return 0, instant{}, false
	}
	var below, above uint64
	if k, ok := s.lastDueBy(at); ok {
		below, above = k, k+1
	}
	var best uint64
	var bestDue instant
	found := false
	for _, k := range [...]uint64{below, above} {
		k = min(max(k, first), last)
		due, ok := s.due(k)
		if !ok {
			continue
		}
		// The earlier one on a tie.
		if !found || due.distance(at).cmp(bestDue.distance(at)) < 0 ||
			(due.distance(at) == bestDue.distance(at) && k < best) {
			best, bestDue, found = k, due, true
		}
	}
	return best, bestDue, found
}

// nearest is the due date nearest to at, the earlier one on a tie.
func (s series) nearest(at instant) instant {
	candidates := []uint64{0}
	if k, ok := s.lastDueBy(at); ok {
		candidates = []uint64{k, k + 1}
	}
	best, found := s.start, false
	for _, k := range candidates {
		due, ok := s.due(k)
		if !ok {
			continue
		}
		if !found || due.distance(at).cmp(best.distance(at)) < 0 ||
			(due.distance(at) == best.distance(at) && due.cmp(best) < 0) {
			best, found = due, true
		}
	}
	return best
}

// Text.

// date is `2026-04-01`, the date of t in UTC.
func date(t instant) string {
	switch {
	case onCalendar(t):
		year, month, day := t.utc().Date()
		sign := ""
		if year < 0 {
			sign, year = "-00", -year
		}
		return fmt.Sprintf("%s%04d-%02d-%02d", sign, year, int(month), day)
	case t.day >= 0:
		return "a date after the year 9999"
	default:
		return "a date before the year -9999"
	}
}

func days(n uint32) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func cadenceName(cadence warrant.Cadence) string {
	switch cadence {
	case warrant.CadenceDaily:
		return "daily"
	case warrant.CadenceWeekly:
		return "weekly"
	case warrant.CadenceMonthly:
		return "monthly"
	default:
		return "yearly"
	}
}

// Money.

// u128 is an unsigned 128-bit number: an amount times basis points
// overflows a uint64.
type u128 struct{ hi, lo uint64 }

func mul64(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi, lo}
}

func (x u128) cmp(y u128) int {
	if x.hi != y.hi {
		return cmp.Compare(x.hi, y.hi)
	}
	return cmp.Compare(x.lo, y.lo)
}

// divmod is x / d and x % d.
func (x u128) divmod(d uint64) (u128, uint64) {
	hi, r := x.hi/d, x.hi%d
	lo, r := bits.Div64(r, x.lo, d)
	return u128{hi, lo}, r
}

func (x u128) String() string {
	if x.hi == 0 {
		return strconv.FormatUint(x.lo, 10)
	}
	var digits []byte
	for x != (u128{}) {
		var digit uint64
		x, digit = x.divmod(10)
		digits = append(digits, byte('0'+digit))
	}
	for i, j := 0, len(digits)-1; i < j; i, j = i+1, j-1 {
		digits[i], digits[j] = digits[j], digits[i]
	}
	return string(digits)
}

// money is `45.00 EUR`, `4500 JPY`, `1.500 KWD`: minor units in the
// currency's usual decimals.
func money(minorUnits u128, currency string) string {
	decimals := decimals(currency)
	if decimals == 0 {
		return minorUnits.String() + " " + currency
	}
	unit := uint64(1)
	for range decimals {
		unit *= 10
	}
	whole, fraction := minorUnits.divmod(unit)
	return fmt.Sprintf("%s.%0*d %s", whole, decimals, fraction, currency)
}

// decimals are the decimals of an ISO 4217 currency: 2 but for the few
// with none or three.
func decimals(currency string) int {
	switch currency {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
		"VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	default:
		return 2
	}
}

// Letter case.

// lowercase is s in lower case as Rust's str::to_lowercase, which the
// built-in plugin compares merchants with, has it: strings.ToLower maps
// each character alone, but `İ` becomes `i̇` (i and a combining dot above)
// and a capital sigma at the end of a word becomes `ς`, not `σ`.
func lowercase(s string) string {
	runes := []rune(s)
	var b strings.Builder
	for i, r := range runes {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(runes, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma reports whether the sigma at runes[i] ends a word: a cased
// letter comes before it and none after it, skipping case-ignorable
// characters (Unicode's Final_Sigma condition).
func finalSigma(runes []rune, i int) bool {
	casedBefore := false
	for j := i - 1; j >= 0; j-- {
		if !caseIgnorable(runes[j]) {
			casedBefore = cased(runes[j])
			break
		}
	}
	for _, r := range runes[i+1:] {
		if !caseIgnorable(r) {
			return casedBefore && !cased(r)
		}
	}
	return casedBefore
}

// cased is Unicode's Cased property.
func cased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// caseIgnorable is Unicode's Case_Ignorable property.
func caseIgnorable(r rune) bool {
	switch r {
	// Word_Break MidLetter, MidNumLet and Single_Quote.
	case '\u0027', '\u002E', '\u003A', '\u00B7', '\u0387', '\u055F', '\u05F4', '\u2018', '\u2019',
		'\u2024', '\u2027', '\uFE13', '\uFE52', '\uFE55', '\uFF07', '\uFF0E', '\uFF1A':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
