package warrant

import (
	"strconv"
	"strings"
)

// Amount is a non-negative amount in major units (euros, dollars) from a
// rule's configuration, such as `"maxAmountEuros": 100.5`, kept exact.
//
// An Amount is read from the JSON number's text itself, never through a
// float64, so every digit the configuration's author wrote counts, however
// large the amount: a float64 cannot tell 90071992547409.93 from
// 90071992547409.92, an Amount can. The zero value is zero.
type Amount struct {
	// digits are the significant digits, without leading or trailing
	// zeros; empty for zero.
	digits string
	// exponent places them: the amount is digits × 10^exponent.
	exponent int
}

// maxDigits bounds both the integer digits and the decimals of an Amount,
// so that a hostile exponent such as 1e999999999 costs nothing: the
// exponent is clamped, never written out.
const maxDigits = 40

// amountError says what is wrong with an amount; its text completes a
// sentence that starts with the amount's name.
type amountError string

func (e amountError) Error() string { return string(e) }

const (
	errNotANumber amountError = "must be a decimal number"
	errNegative   amountError = "must not be negative"
	errTooLarge   amountError = "is too large"
	errTooPrecise amountError = "has too many decimals"
	errString     amountError = "must be a number, not a string"
)

// ParseAmount reads the text of a JSON number exactly, exponent included:
// `4.51`, `100`, `1e2`, `2.5E-1`.
func ParseAmount(text string) (Amount, error) {
	if strings.HasPrefix(text, "-") {
		return Amount{}, errNegative
	}
	mantissa, exponentText, hasExponent := strings.Cut(strings.ToLower(text), "e")
	whole, fraction, hasPoint := strings.Cut(mantissa, ".")
	if !allDigits(whole) || (hasPoint && !allDigits(fraction)) || (hasExponent && !signedDigits(exponentText)) {
		return Amount{}, errNotANumber
	}
	digits := strings.TrimLeft(whole+fraction, "0")
	if digits == "" {
		return Amount{}, nil
	}
	exponent := 0
	if hasExponent {
		exponent = clampedExponent(exponentText)
	}
	// Trailing zeros cancel against the exponent before the range checks,
	// so that `1` followed by 90 zeros and `e-85` is exactly 100000.
	exponent -= len(fraction)
	trimmed := strings.TrimRight(digits, "0")
	exponent += len(digits) - len(trimmed)
	a := Amount{digits: trimmed, exponent: exponent}
	if a.exponent < -maxDigits {
		return Amount{}, errTooPrecise
	}
	if len(a.digits)+a.exponent > maxDigits {
		return Amount{}, errTooLarge
	}
	return a, nil
}

// AmountFromMinorUnits is the amount of units minor units of a currency
// with decimals decimals: AmountFromMinorUnits(451, 2) is 4.51.
func AmountFromMinorUnits(units uint64, decimals int) Amount {
	if units == 0 {
		return Amount{}
	}
	digits := strconv.FormatUint(units, 10)
	trimmed := strings.TrimRight(digits, "0")
	return Amount{digits: trimmed, exponent: len(digits) - len(trimmed) - decimals}
}

// MinorUnits is the amount in minor units of a currency with decimals
// decimals (2 for EUR): 4.51 is 451. It is false when the amount has digits
// below the minor unit, such as 1.001 EUR, or does not fit in a uint64.
func (a Amount) MinorUnits(decimals int) (uint64, bool) {
	if a.digits == "" {
		return 0, true
	}
	// digits has no trailing zeros: a negative exponent here means a
	// fraction of a minor unit.
	exponent := a.exponent + decimals
	if exponent < 0 || len(a.digits)+exponent > len("18446744073709551615") {
		return 0, false
	}
	units, err := strconv.ParseUint(a.digits+strings.Repeat("0", exponent), 10, 64)
	return units, err == nil
}

// Cmp compares two amounts: -1 if a < b, 0 if they are equal, +1 if a > b.
func (a Amount) Cmp(b Amount) int {
	switch {
	case a.digits == "" || b.digits == "":
		return strings.Compare(a.digits, b.digits) // only zero is empty
	case len(a.digits)+a.exponent != len(b.digits)+b.exponent:
		// The one with more digits before the point is larger.
		if len(a.digits)+a.exponent < len(b.digits)+b.exponent {
			return -1
		}
		return 1
	default:
		// Aligned on their first digit; without trailing zeros, a prefix
		// is the smaller amount.
		return strings.Compare(a.digits, b.digits)
	}
}

// String is the shortest exact decimal: `100`, `4.51`, `0.05`.
func (a Amount) String() string {
	switch point := len(a.digits) + a.exponent; {
	case a.digits == "":
		return "0"
	case a.exponent >= 0:
		return a.digits + strings.Repeat("0", a.exponent)
	case point > 0:
		return a.digits[:point] + "." + a.digits[point:]
	default:
		return "0." + strings.Repeat("0", -point) + a.digits
	}
}

// UnmarshalJSON reads a JSON number exactly. A string such as `"100"` is
// refused: an amount is a number. As encoding/json expects, null leaves
// the amount as it is.
func (a *Amount) UnmarshalJSON(data []byte) error {
	text := strings.TrimSpace(string(data))
	switch {
	case text == "null":
		return nil
	case strings.HasPrefix(text, `"`):
		return errString
	}
	parsed, err := ParseAmount(text)
	if err != nil {
		return err
	}
	*a = parsed
	return nil
}

// maxExponent bounds the exponent that ParseAmount reads: far beyond any
// amount it accepts, yet far from overflowing an int once the number's
// digits are counted in, so that `1e100000000000000000000` is refused as
// too large, like `1e500`, instead of being read wrong.
const maxExponent = 1_000_000_000

// clampedExponent is the value of an exponent's text, such as `-85`, `+2`
// or `007`, clamped to ±maxExponent.
func clampedExponent(text string) int {
	digits := strings.TrimLeft(strings.TrimLeft(text, "+-"), "0")
	exponent := maxExponent
	switch {
	case digits == "":
		exponent = 0
	case len(digits) < len("1000000000"): // below maxExponent
		exponent, _ = strconv.Atoi(digits)
	}
	if strings.HasPrefix(text, "-") {
		return -exponent
	}
	return exponent
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func signedDigits(s string) bool {
	return allDigits(strings.TrimLeft(s, "+-")) && len(strings.TrimLeft(s, "+-")) >= len(s)-1
}
