// Warrant's reference policy, the same in every language of examples/.
//
// Configuration: {"maxAmountEuros": n, "reviewAboveEuros": n?, "allow": [merchant, …]?}.
//
// Findings, checked in this order:
//   - no amount: review, `no-amount`;
//   - an amount in another currency than EUR: review, `currency-mismatch`;
//   - an amount over maxAmountEuros: deny, `amount-over-max`;
//   - an amount over reviewAboveEuros: review, `amount-over-review-threshold`;
//   - with a non-empty allow: no merchant: review, `no-merchant`; a merchant
//     not in it (exact, ignoring ASCII letter case): deny,
//     `merchant-not-allowed`.
//
// Any deny finding denies, with the codes of the deny findings; else any
// review finding reviews, with the codes of the review findings; else the
// intent is approved. Every answer carries the annotation maxAmount
// (`100.00 EUR`). An invalid configuration is the plugin's own error
// (`invalid-config`), never an approval.
package main

import (
	"fmt"
	"strings"

	warrant "warrant.dev/sdk/go"
	"warrant.dev/sdk/go/policy"
)

// Config is the rule's configuration. The amounts are warrant.Amount, read
// from the JSON text itself: a float64 would round 92233720368547758.07.
type Config struct {
	MaxAmountEuros   warrant.Amount  `json:"maxAmountEuros" warrant:"required"`
	ReviewAboveEuros *warrant.Amount `json:"reviewAboveEuros"`
	Allow            []string        `json:"allow"`
}

func init() { policy.Export(evaluate) }

// main is never called: the host calls evaluate.
func main() {}

// finding is one reason to deny or review.
type finding struct {
	code, reason string
}

// evaluate decides on one intent, as the package comment describes.
func evaluate(cx *warrant.Context, config Config) (warrant.Decision, error) {
	limit, err := cents(config.MaxAmountEuros, "maxAmountEuros")
	if err != nil {
		return warrant.Decision{}, err
	}
	var reviewAbove *uint64
	if config.ReviewAboveEuros != nil {
		threshold, err := cents(*config.ReviewAboveEuros, "reviewAboveEuros")
		if err != nil {
			return warrant.Decision{}, err
		}
		if threshold > limit {
			return warrant.Decision{}, warrant.InvalidConfig("`reviewAboveEuros` is above `maxAmountEuros`")
		}
		reviewAbove = &threshold
	}
	for _, merchant := range config.Allow {
		// strings.TrimSpace trims Unicode White_Space, as Rust's str::trim
		// does: U+2003 and U+0085, not U+FEFF.
		if strings.TrimSpace(merchant) == "" {
			return warrant.Decision{}, warrant.InvalidConfig("`allow` must list merchants, not empty strings")
		}
	}

	var denies, reviews []finding
	switch amount := cx.Intent.Amount; {
	case amount == nil:
		reviews = append(reviews, finding{"no-amount", "the intent has no amount"})
	case amount.Currency != "EUR":
		reviews = append(reviews, finding{"currency-mismatch", "the limits are in EUR, the intent in " + amount.Currency})
	case amount.MinorUnits > limit:
		denies = append(denies, finding{"amount-over-max",
			fmt.Sprintf("%s is over the limit of %s", euros(amount.MinorUnits), euros(limit))})
	case reviewAbove != nil && amount.MinorUnits > *reviewAbove:
		reviews = append(reviews, finding{"amount-over-review-threshold",
			fmt.Sprintf("%s is above the review threshold of %s", euros(amount.MinorUnits), euros(*reviewAbove))})
	}
	if len(config.Allow) > 0 {
		switch merchant := cx.Intent.Merchant; {
		case merchant == nil:
			reviews = append(reviews, finding{"no-merchant", "the intent names no merchant"})
		case !allowed(config.Allow, *merchant):
			denies = append(denies, finding{"merchant-not-allowed", "`" + *merchant + "` is not an allowed merchant"})
		}
	}

	var decision warrant.Decision
	var findings []finding
	switch {
	case len(denies) > 0:
		decision, findings = warrant.Deny(denies[0].reason), denies
	case len(reviews) > 0:
		decision, findings = warrant.Review(reviews[0].reason), reviews
	default:
		decision = warrant.Approve()
	}
	for _, f := range findings {
		decision = decision.WithCode(f.code)
	}
	return decision.WithAnnotation("maxAmount", euros(limit)), nil
}

// allowed reports whether merchant is in the list, ignoring the case of
// ASCII letters only: strings.EqualFold would also fold `Ü` into `ü` and
// the Kelvin sign into `k`.
func allowed(list []string, merchant string) bool {
	for _, entry := range list {
		if warrant.EqualFoldASCII(entry, merchant) {
			return true
		}
	}
	return false
}

// cents is an amount of euros in cents, or the error for one with a
// fraction of a cent or beyond 2^64 - 1 cents.
func cents(amount warrant.Amount, field string) (uint64, error) {
	units, ok := amount.MinorUnits(2)
	if !ok {
		return 0, warrant.InvalidConfig("`" + field + "` must be a euro amount with at most 2 decimals")
	}
	return units, nil
}

func euros(cents uint64) string {
	return fmt.Sprintf("%d.%02d EUR", cents/100, cents%100)
}
