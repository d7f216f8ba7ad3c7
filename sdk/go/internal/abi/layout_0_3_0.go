//go:build !warrant_wit_0_1_0

package abi

import warrant "warrant.dev/sdk/go"

// The layouts of WIT 0.3.0 (wit/0.3.0/warrant.wit) that differ from
// 0.1.0's.

// returnAreaSize is the size of result<decision, plugin-error>, the largest
// answer: the discriminant, then the decision at 4 (36 bytes).
const returnAreaSize = 40

// readArguments reads `(context, config)`. The context's fields: intent at
// 0 (104 bytes), agent at 104 (176 bytes, 8-byte aligned for its
// baseline's u64s), usage at 280 (272 bytes), risk at 552 (16 bytes), now
// at 568 (16 bytes), charge at 584 (72 bytes); 656 bytes in all. The
// config string follows at 656.
func readArguments(r record) (warrant.Context, string) {
	cx := warrant.Context{
		Intent: readIntent(r.field(0)),
		Agent:  readAgent(r.field(104)),
		Usage:  readUsage(r.field(280)),
		Risk:   readRisk(r.field(552)),
		Now:    readTimestamp(r.field(568)),
	}
	// The agent's baseline (option<baseline>) follows its metadata, at
	// 104 of the agent: its payload at 112.
	if agent := r.field(104); agent.u8(104) != 0 {
		cx.Agent.Baseline = readBaseline(agent.field(112))
	}
	// option<charge>: its payload at 8.
	if r.u8(584) != 0 {
		cx.Charge = readCharge(r.field(592))
	}
	return cx, r.string(656)
}

// readBaseline reads a baseline: currency at 0, amount-mean at 8,
// amount-std-dev at 16, intents-per-day at 24, active-hours (list<u8>) at
// 28, merchants at 36, set-at at 48; 64 bytes, 8-byte aligned.
func readBaseline(r record) *warrant.Baseline {
	return &warrant.Baseline{
		Currency:      r.string(0),
		AmountMean:    r.u64(8),
		AmountStdDev:  r.u64(16),
		IntentsPerDay: r.u32(24),
		ActiveHours:   list(r, 28, 1, readU8),
		Merchants:     list(r, 36, 8, readString),
		SetAt:         readTimestamp(r.field(48)),
	}
}

// readUsage reads usage: currency at 0, timezone at 8, then the eight
// windows from 16, 32 bytes each (count, spend, flagged-count,
// flagged-spend).
func readUsage(r record) warrant.Usage {
	window := func(offset uint32) warrant.WindowUsage {
		return warrant.WindowUsage{
			Count:        r.u64(offset),
			Spend:        r.u64(offset + 8),
			FlaggedCount: r.u64(offset + 16),
			FlaggedSpend: r.u64(offset + 24),
		}
	}
	return warrant.Usage{
		Currency:          r.string(0),
		Timezone:          r.string(8),
		LastMinute:        window(16),
		LastHour:          window(48),
		LastDay:           window(80),
		LastWeek:          window(112),
		LastMonth:         window(144),
		CalendarDay:       window(176),
		CalendarMonth:     window(208),
		MerchantLastMonth: window(240),
	}
}

// readCharge reads a charge: amount at 0, merchant at 16, at at 24,
// series-start at 40, previous (list<timestamp>) at 56; 64 bytes, 8-byte
// aligned.
func readCharge(r record) *warrant.Charge {
	return &warrant.Charge{
		Amount:      readMoney(r.field(0)),
		Merchant:    r.string(16),
		At:          readTimestamp(r.field(24)),
		SeriesStart: readTimestamp(r.field(40)),
		Previous:    list(r, 56, 16, readTimestamp),
	}
}

// writeActions writes the decision's actions, a list at 32 of the result
// (28 of the decision), of (kind, message), 16 bytes each.
func writeActions(r record, d warrant.Decision) {
	r.putList(32, uint32(len(d.Actions)), 16, func(i int, element record) {
		element.putString(0, d.Actions[i].Kind)
		element.putString(8, d.Actions[i].Message)
	})
}
