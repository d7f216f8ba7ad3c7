//go:build warrant_wit_0_1_0

package abi

import warrant "warrant.dev/sdk/go"

// The layouts of WIT 0.1.0 (wit/warrant.wit) that differ from 0.3.0's.

// returnAreaSize is the size of result<decision, plugin-error>, the largest
// answer: the discriminant, then the decision at 4 (28 bytes).
const returnAreaSize = 32

// readArguments reads `(context, config)`. The context's fields: intent at
// 0 (104 bytes), agent at 104 (100 bytes), usage at 208 (8-byte aligned,
// 136 bytes), risk at 344 (16 bytes), now at 360 (16 bytes); 376 bytes in
// all. The config string follows at 376.
func readArguments(r record) (warrant.Context, string) {
	cx := warrant.Context{
		Intent: readIntent(r.field(0)),
		Agent:  readAgent(r.field(104)),
		Usage:  readUsage(r.field(208)),
		Risk:   readRisk(r.field(344)),
		Now:    readTimestamp(r.field(360)),
	}
	return cx, r.string(376)
}

// readUsage reads usage: currency at 0, then the eight windows from 8, 16
// bytes each (count, spend).
func readUsage(r record) warrant.Usage {
	window := func(offset uint32) warrant.WindowUsage {
		return warrant.WindowUsage{Count: r.u64(offset), Spend: r.u64(offset + 8)}
	}
	return warrant.Usage{
		Currency:          r.string(0),
		LastMinute:        window(8),
		LastHour:          window(24),
		LastDay:           window(40),
		LastWeek:          window(56),
		LastMonth:         window(72),
		CalendarDay:       window(88),
		CalendarMonth:     window(104),
		MerchantLastMonth: window(120),
	}
}

// writeActions writes nothing: a 0.1.0 decision has no actions, and
// warrant.Decision has none to write.
func writeActions(record, warrant.Decision) {}
