// Package abi is the component model's canonical ABI for Warrant's worlds,
// written by hand: the host passes the arguments of `evaluate` and `assess`
// through the plugin's linear memory and takes their answers from it, laid
// out as the canonical ABI lays out the types of the WIT contract. Its
// rules, which give every offset here: a field sits at the next multiple of
// its own alignment, and a record's alignment is its largest field's; a
// string or a list is a pointer and a length, two u32; an option, a result
// or a variant is a one-byte discriminant followed by its payload at the
// payload's alignment; enums and bools are one byte.
//
// The layouts of the contract the SDK targets are in layout_0_3_0.go, those
// of WIT 0.1.0 (the tag warrant_wit_0_1_0) in layout_0_1_0.go. In
// WebAssembly, addresses are those of linear memory (memory_wasip1.go);
// elsewhere, as in this package's tests, offsets into a byte slice that
// stands for it (memory_other.go).
package abi

import (
	"errors"
	"fmt"
	"strings"

	warrant "warrant.dev/sdk/go"
)

// Reading the arguments.

// record is the address of a value in linear memory.
type record uint32

func (r record) u8(offset uint32) uint8     { return load8(uint32(r) + offset) }
func (r record) u32(offset uint32) uint32   { return load32(uint32(r) + offset) }
func (r record) u64(offset uint32) uint64   { return load64(uint32(r) + offset) }
func (r record) field(offset uint32) record { return r + record(offset) }

// string copies a string (address, length) into Go's memory.
func (r record) string(offset uint32) string {
	address, length := r.u32(offset), r.u32(offset+4)
	if length == 0 {
		return ""
	}
	return string(bytesAt(address, length))
}

// optionalString reads an option<string>: its payload is at offset 4.
func (r record) optionalString(offset uint32) *string {
	if r.u8(offset) == 0 {
		return nil
	}
	s := r.string(offset + 4)
	return &s
}

// list reads a list whose elements are size bytes each.
func list[T any](r record, offset, size uint32, read func(record) T) []T {
	address, length := r.u32(offset), r.u32(offset+4)
	items := make([]T, length)
	for i := range items {
		items[i] = read(record(address + uint32(i)*size))
	}
	return items
}

func readString(r record) string { return r.string(0) }

func readU8(r record) uint8 { return r.u8(0) }

// readTimestamp reads a timestamp: seconds (s64) at 0, nanoseconds (u32)
// at 8; 16 bytes, 8-byte aligned.
func readTimestamp(r record) warrant.Timestamp {
	return warrant.Timestamp{Seconds: int64(r.u64(0)), Nanoseconds: r.u32(8)}
}

// readMoney reads money: minor units (u64) at 0, the currency at 8; 16
// bytes, 8-byte aligned.
func readMoney(r record) warrant.Money {
	return warrant.Money{MinorUnits: r.u64(0), Currency: r.string(8)}
}

// ReadArguments reads the arguments `(context, config)` of `evaluate` and
// `assess` from address, then lets the memory they occupied go.
func ReadArguments(address uint32) (warrant.Context, string) {
	cx, config := readArguments(record(address))
	releaseArguments()
	return cx, config
}

// readIntent reads an intent, the same in every contract: id at 0, amount
// (option<money>) at 8, its payload at 16; merchant (option<string>) at
// 32; card (variant) at 44, its string at 48; purpose at 56; recurring
// (option<recurring-terms>) at 64, its payload at 68; client-intent-id at
// 88; ttl-minutes at 100. 104 bytes, 8-byte aligned.
func readIntent(r record) warrant.Intent {
	intent := warrant.Intent{
		ID:             r.string(0),
		Merchant:       r.optionalString(32),
		Card:           warrant.Card{Kind: warrant.CardKind(r.u8(44)), Value: r.string(48)},
		Purpose:        r.string(56),
		ClientIntentID: r.optionalString(88),
		TTLMinutes:     r.u32(100),
	}
	if r.u8(8) != 0 {
		amount := readMoney(r.field(16))
		intent.Amount = &amount
	}
	if r.u8(64) != 0 {
		intent.Recurring = &warrant.RecurringTerms{
			Cadence:               warrant.Cadence(r.u8(68)),
			WindowStartDaysBefore: r.u32(72),
			WindowEndDaysAfter:    r.u32(76),
			AmountToleranceBps:    r.u32(80),
			MerchantMatch:         r.u8(84) != 0,
		}
	}
	return intent
}

// readAgent reads the fields of an agent that every contract has: id at 0,
// name at 8, status at 16, agent-type at 17, profile at 20 (64 bytes), tags
// at 84, metadata at 92.
func readAgent(r record) warrant.Agent {
	profile := r.field(20)
	return warrant.Agent{
		ID:     r.string(0),
		Name:   r.string(8),
		Status: warrant.AgentStatus(r.u8(16)),
		Type:   warrant.AgentType(r.u8(17)),
		Profile: warrant.AgentProfile{
			Purpose:      profile.string(0),
			Framework:    profile.optionalString(8),
			Capabilities: list(profile, 20, 8, readString),
			Description:  profile.optionalString(28),
			Department:   profile.optionalString(40),
			OwnerContact: profile.optionalString(52),
		},
		Tags:     list(r, 84, 8, readString),
		Metadata: r.string(92),
	}
}

// readRisk reads an option<risk-summary>: the score at 4, the signals at 8;
// 16 bytes, 4-byte aligned.
func readRisk(r record) *warrant.RiskSummary {
	if r.u8(0) == 0 {
		return nil
	}
	return &warrant.RiskSummary{Score: r.u8(4), Signals: list(r, 8, 20, readSignal)}
}

// readSignal reads a signal: name at 0, score at 8, detail at 12; 20
// bytes.
func readSignal(r record) warrant.Signal {
	return warrant.Signal{Name: r.string(0), Score: r.u8(8), Detail: r.string(12)}
}

// Writing the answer.

func (r record) put8(offset uint32, value uint8)   { store8(uint32(r)+offset, value) }
func (r record) put32(offset uint32, value uint32) { store32(uint32(r)+offset, value) }

func (r record) putString(offset uint32, s string) {
	// The host refuses a string that is not UTF-8.
	s = strings.ToValidUTF8(s, "\uFFFD")
	r.put32(offset, stringAddress(s))
	r.put32(offset+4, uint32(len(s)))
}

// putList writes a list of n elements of size bytes, each by write.
func (r record) putList(offset, n, size uint32, write func(i int, element record)) {
	elements := record(newBlock(n * size))
	for i := range n {
		write(int(i), elements.field(i*size))
	}
	r.put32(offset, uint32(elements))
	r.put32(offset+4, n)
}

// WriteDecision writes result<decision, plugin-error> and returns its
// address: the result's discriminant at 0, the decision at 4 (the verdict's
// discriminant at 4, its reason at 8; codes at 16; annotations at 24; and
// in 0.3.0, actions at 32).
func WriteDecision(d warrant.Decision, err error) uint32 {
	if err != nil {
		return writeError(err)
	}
	r := returnArea()
	r.put8(0, 0)
	r.put8(4, uint8(d.Verdict))
	if d.Verdict != warrant.VerdictApprove {
		r.putString(8, d.Reason)
	}
	r.putList(16, uint32(len(d.Codes)), 8, func(i int, element record) {
		element.putString(0, d.Codes[i])
	})
	r.putList(24, uint32(len(d.Annotations)), 16, func(i int, element record) {
		element.putString(0, d.Annotations[i].Key)
		element.putString(8, d.Annotations[i].Value)
	})
	writeActions(r, d)
	return uint32(r)
}

// WriteAssessment writes result<assessment, plugin-error> and returns its
// address: the discriminant at 0, the score at 4, the signals at 8.
func WriteAssessment(a warrant.Assessment, err error) uint32 {
	if err != nil {
		return writeError(err)
	}
	r := returnArea()
	r.put8(0, 0)
	r.put8(4, a.Score)
	r.putList(8, uint32(len(a.Signals)), 20, func(i int, element record) {
		element.putString(0, a.Signals[i].Name)
		element.put8(8, a.Signals[i].Score)
		element.putString(12, a.Signals[i].Detail)
	})
	return uint32(r)
}

// writeError writes the error case of a result: the discriminant at 0, the
// code at 4, the message at 12. An error that is not a
// *warrant.PluginError is reported with the code `internal-error`.
func writeError(err error) uint32 {
	var pluginError *warrant.PluginError
	if !errors.As(err, &pluginError) || pluginError == nil {
		pluginError = warrant.NewPluginError("internal-error", err.Error())
	}
	r := returnArea()
	r.put8(0, 1)
	r.putString(4, pluginError.Code)
	r.putString(12, pluginError.Message)
	return uint32(r)
}

// LogPanic, deferred, writes a panic's message to the host's log before
// the panic goes on and ends the call; the host reports the failure, and
// the log says why.
func LogPanic() {
	if r := recover(); r != nil {
		warrant.Log(warrant.LogError, fmt.Sprint("panic: ", r))
		panic(r)
	}
}
