//go:build wasip1

// Package abi is the component model's canonical ABI for Warrant's worlds,
// written by hand: the host passes the arguments of `evaluate` and `assess`
// through the plugin's linear memory and takes their answers from it, laid
// out as the canonical ABI lays out the types of wit/warrant.wit. Its rules,
// which give every offset below: a field sits at the next multiple of its
// own alignment; a string or a list is a pointer and a length, two u32; an
// option, a result or a variant is a one-byte discriminant followed by its
// payload at the payload's alignment; enums and bools are one byte.
package abi

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"unsafe"

	"warrant"
)

// at is the Go pointer for an address in linear memory, which starts at
// 0. The host only hands over addresses of memory that cabi_realloc
// allocated or of the answer that this package keeps, and Go's collector
// never moves objects, so the pointer stays valid.
func at(address uint32) unsafe.Pointer {
	return unsafe.Add(nil, address)
}

func addressOf(p unsafe.Pointer) uint32 {
	return uint32(uintptr(p))
}

// Allocation.

// started becomes true when the Go runtime has started, before any
// package's init function runs.
var started bool

func init() {
	started = true
	// The collector runs only inside exports: see Enter.
	gcPercent = debug.SetGCPercent(-1)
}

// early is the memory for what is allocated before that: on the runtime's
// first WASI call, while it is still starting and cannot allocate, the WASI
// adapter asks cabi_realloc for its state and stack (128 KiB).
var (
	early     [256 << 10]byte
	earlyUsed uint32
)

// arguments keeps what cabi_realloc allocated for the host's arguments
// reachable, so that the collector does not free it while the host writes
// into it.
var arguments [][]uint64

// cabiRealloc is the allocator through which the host and the WASI adapter
// put values into the plugin's memory.
//
// Its first calls come before the Go runtime has started, so it must not
// allocate or grow its stack until started is true. Its later calls
// allocate Go memory while the collector is off (see Enter).
//
//go:wasmexport cabi_realloc
//go:nosplit
func cabiRealloc(oldAddress, oldSize, align, size uint32) uint32 {
	if started {
		return allocate(oldAddress, oldSize, size)
	}
	start := (earlyUsed + align - 1) &^ (align - 1)
	// Out of range, the slice expression panics, which traps at this stage.
	_ = early[start : start+size]
	earlyUsed = start + size
	return addressOf(unsafe.Add(unsafe.Pointer(&early), start))
}

func allocate(oldAddress, oldSize, size uint32) uint32 {
	// A []uint64 is 8-byte aligned, the largest alignment of the canonical
	// ABI; size/8+1 words hold size bytes, and at least one, so that
	// &block[0] is valid for a size of 0.
	block := make([]uint64, size/8+1)
	arguments = append(arguments, block)
	if oldAddress != 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&block[0])), size),
			unsafe.Slice((*byte)(at(oldAddress)), min(oldSize, size)))
	}
	return addressOf(unsafe.Pointer(&block[0]))
}

// The collector.

// gcPercent is the collector's setting while an export runs (GOGC, 100
// by default).
var gcPercent int

// The collector runs only while an export runs, between Enter and Leave;
// init turns it off.
//
// Any allocation may start a collection, and a collection reads the
// clock, a WASI import. But the canonical ABI forbids a component to call
// an import while the host writes the arguments into it (through
// cabi_realloc) and once it has taken the answer (cabi_post_*): such a
// call traps with "cannot leave component instance". With the collector
// on all the time, the first calls on an instance pass, and a later one,
// whose arguments' allocation finds the heap over its goal, traps.

// Enter starts an export's call: the collector may run, and collects
// what the arguments' allocation left over its goal.
func Enter() {
	debug.SetGCPercent(gcPercent)
}

// Leave ends an export's call: the collector stops, once any collection
// under way has finished its marking, so that cabi_realloc and
// cabi_post_* never start one.
func Leave() {
	debug.SetGCPercent(-1)
}

// Reading the arguments.

// record is the address of a value in linear memory.
type record uint32

func (r record) u8(offset uint32) uint8     { return *(*uint8)(at(uint32(r) + offset)) }
func (r record) u32(offset uint32) uint32   { return *(*uint32)(at(uint32(r) + offset)) }
func (r record) u64(offset uint32) uint64   { return *(*uint64)(at(uint32(r) + offset)) }
func (r record) field(offset uint32) record { return r + record(offset) }

// string copies a string (address, length) into Go's memory.
func (r record) string(offset uint32) string {
	address, length := r.u32(offset), r.u32(offset+4)
	if length == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(at(address)), length))
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

// ReadArguments reads the arguments `(context, config)` of `evaluate` and
// `assess` from address, then lets the memory they occupied go. The
// context's fields: intent at 0 (104 bytes), agent at 104 (100 bytes),
// usage at 208 (8-byte aligned, 136 bytes), risk at 344 (16 bytes), now at
// 360 (16 bytes); the config string follows at 376.
func ReadArguments(address uint32) (warrant.Context, string) {
	r := record(address)
	cx := warrant.Context{
		Intent: readIntent(r.field(0)),
		Agent:  readAgent(r.field(104)),
		Usage:  readUsage(r.field(208)),
		Now:    warrant.Timestamp{Seconds: int64(r.u64(360)), Nanoseconds: r.u32(368)},
	}
	if r.u8(344) != 0 {
		cx.Risk = &warrant.RiskSummary{
			Score:   r.u8(348),
			Signals: list(r, 352, 20, readSignal),
		}
	}
	config := r.string(376)
	arguments = nil
	return cx, config
}

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
		intent.Amount = &warrant.Money{MinorUnits: r.u64(16), Currency: r.string(24)}
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

func readSignal(r record) warrant.Signal {
	return warrant.Signal{Name: r.string(0), Score: r.u8(8), Detail: r.string(12)}
}

// Writing the answer.

// answer is the return area of `evaluate` and `assess`, both
// result<T, plugin-error> of at most 32 bytes, 4-byte aligned.
var answer [8]uint32

// answerMemory keeps what the answer points to reachable until the host
// has read it.
var answerMemory []any

func (r record) put8(offset uint32, value uint8)   { *(*uint8)(at(uint32(r) + offset)) = value }
func (r record) put32(offset uint32, value uint32) { *(*uint32)(at(uint32(r) + offset)) = value }

func (r record) putString(offset uint32, s string) {
	// The host refuses a string that is not UTF-8.
	s = strings.ToValidUTF8(s, "\uFFFD")
	answerMemory = append(answerMemory, s)
	r.put32(offset, addressOf(unsafe.Pointer(unsafe.StringData(s))))
	r.put32(offset+4, uint32(len(s)))
}

// putList writes a list of n elements of size bytes, each by write.
func (r record) putList(offset, n, size uint32, write func(i int, element record)) {
	// []uint32 gives the 4-byte alignment of every element type here.
	block := make([]uint32, (n*size+3)/4+1)
	answerMemory = append(answerMemory, block)
	elements := record(addressOf(unsafe.Pointer(&block[0])))
	for i := range n {
		write(int(i), elements.field(i*size))
	}
	r.put32(offset, uint32(elements))
	r.put32(offset+4, n)
}

func returnArea() record {
	answerMemory = nil
	return record(addressOf(unsafe.Pointer(&answer)))
}

// WriteDecision writes result<decision, plugin-error> and returns its
// address.
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
	return uint32(r)
}

// WriteAssessment writes result<assessment, plugin-error> and returns its
// address.
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

// writeError writes the error case of a result. An error that is not a
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

// ReleaseAnswer lets the answer's memory go once the host has read it.
func ReleaseAnswer() {
	answerMemory = nil
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
