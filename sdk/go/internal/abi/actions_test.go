//go:build !wasip1 && !warrant_wit_0_1_0

package abi

import warrant "warrant.dev/sdk/go"

// withActions is d asking for actions of every kind.
func withActions(d warrant.Decision) warrant.Decision {
	return d.WithSuspendAgent("spent 3 times its usual amount").WithAlert("a new merchant").WithAction("page", "now")
}
