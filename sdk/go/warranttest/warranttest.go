// Package warranttest helps test a plugin natively, with `go test`: a
// context to start from, to change as a test needs. Run the plugin's
// function on it with policy.Run or risk.Run, which read the configuration
// as the host's call does.
//
//	cx := warranttest.Context()
//	cx.Intent.Amount = &warrant.Money{MinorUnits: 15_000, Currency: "EUR"}
//	decision, err := policy.Run(evaluate, cx, `{"maxAmountEuros": 100}`)
package warranttest

import warrant "warrant.dev/sdk/go"

// Now is 2026-01-01T00:00:00Z, the time of Context.
var Now = warrant.Timestamp{Seconds: 1_767_225_600}

// Context is a new context to start a test from: an intent with no amount
// and no merchant, paid with the card named `main`, from an active
// supervised agent with no baseline and no history (every window of its
// usage is zero, flagged ones included, in EUR and the time zone `UTC`),
// with no risk summary and no charge, at Now.
func Context() *warrant.Context {
	return &warrant.Context{
		Intent: warrant.Intent{
			ID:         "int_test",
			Card:       warrant.Card{Kind: warrant.CardByName, Value: "main"},
			Purpose:    "test",
			TTLMinutes: 1440,
		},
		Agent: warrant.Agent{
			ID:       "ag_test",
			Name:     "test agent",
			Status:   warrant.AgentActive,
			Type:     warrant.AgentSupervised,
			Profile:  warrant.AgentProfile{Purpose: "testing", Capabilities: []string{}},
			Tags:     []string{},
			Metadata: "{}",
			Baseline: nil, // until its tenant sets one
		},
		Usage: warrant.Usage{Currency: "EUR", Timezone: "UTC"},
		Now:   Now,
	}
}
