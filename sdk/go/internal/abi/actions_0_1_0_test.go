//go:build !wasip1 && warrant_wit_0_1_0

package abi

import warrant "warrant.dev/sdk/go"

// withActions is d: a 0.1.0 decision has no actions.
func withActions(d warrant.Decision) warrant.Decision { return d }
