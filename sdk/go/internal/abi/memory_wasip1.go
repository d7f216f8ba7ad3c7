//go:build wasip1

package abi

import (
	"runtime/debug"
	"unsafe"
)

// In WebAssembly, an address is one of linear memory, which starts at 0.

// at is the Go pointer for an address in linear memory. The host only
// hands over addresses of memory that cabi_realloc allocated or of the
// answer that this package keeps, and Go's collector never moves objects,
// so the pointer stays valid.
func at(address uint32) unsafe.Pointer {
	return unsafe.Add(nil, address)
}

func addressOf(p unsafe.Pointer) uint32 {
	return uint32(uintptr(p))
}

func load8(address uint32) uint8            { return *(*uint8)(at(address)) }
func load32(address uint32) uint32          { return *(*uint32)(at(address)) }
func load64(address uint32) uint64          { return *(*uint64)(at(address)) }
func store8(address uint32, value uint8)    { *(*uint8)(at(address)) = value }
func store32(address uint32, value uint32)  { *(*uint32)(at(address)) = value }
func bytesAt(address, length uint32) []byte { return unsafe.Slice((*byte)(at(address)), length) }

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

// releaseArguments lets the memory of the arguments go once they are read.
func releaseArguments() {
	arguments = nil
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

// The answer.

// answer is the return area of `evaluate` and `assess`: a
// result<T, plugin-error>, 4-byte aligned.
var answer [returnAreaSize / 4]uint32

// answerMemory keeps what the answer points to reachable until the host
// has read it.
var answerMemory []any

func returnArea() record {
	answerMemory = nil
	answer = [returnAreaSize / 4]uint32{}
	return record(addressOf(unsafe.Pointer(&answer)))
}

// stringAddress is the address of s, which stays reachable until the host
// has read the answer.
func stringAddress(s string) uint32 {
	answerMemory = append(answerMemory, s)
	return addressOf(unsafe.Pointer(unsafe.StringData(s)))
}

// newBlock is the address of size bytes, 8-byte aligned, that stay
// reachable until the host has read the answer.
func newBlock(size uint32) uint32 {
	// At least one word, so that &block[0] is valid for a size of 0.
	block := make([]uint64, size/8+1)
	answerMemory = append(answerMemory, block)
	return addressOf(unsafe.Pointer(&block[0]))
}

// ReleaseAnswer lets the answer's memory go once the host has read it.
func ReleaseAnswer() {
	answerMemory = nil
}
