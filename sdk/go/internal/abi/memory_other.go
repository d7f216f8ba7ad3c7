//go:build !wasip1

package abi

import "encoding/binary"

// Outside WebAssembly, as in this package's tests, linear memory is a byte
// slice and an address is an offset into it, so that the layouts can be
// checked natively. Every allocation is appended to it; address 0 is never
// handed out.

// memory stands for linear memory. Bytes that nothing wrote to hold 0xA5,
// so that reading padding, or the payload of an absent option, shows.
var memory = []byte{0xA5, 0xA5, 0xA5, 0xA5, 0xA5, 0xA5, 0xA5, 0xA5}

// allocate is the address of size new bytes aligned to align.
func allocate(size, align uint32) uint32 {
	for uint32(len(memory))%align != 0 {
		memory = append(memory, 0xA5)
	}
	address := uint32(len(memory))
	for range size {
		memory = append(memory, 0xA5)
	}
	return address
}

func load8(address uint32) uint8 { return memory[address] }
func load32(address uint32) uint32 {
	return binary.LittleEndian.Uint32(memory[address : address+4])
}
func load64(address uint32) uint64 {
	return binary.LittleEndian.Uint64(memory[address : address+8])
}
func store8(address uint32, value uint8) { memory[address] = value }
func store32(address uint32, value uint32) {
	binary.LittleEndian.PutUint32(memory[address:address+4], value)
}
func bytesAt(address, length uint32) []byte { return memory[address : address+length] }

func releaseArguments() {}

func returnArea() record { return record(allocate(returnAreaSize, 4)) }

func stringAddress(s string) uint32 {
	address := allocate(uint32(len(s)), 1)
	copy(memory[address:], s)
	return address
}

func newBlock(size uint32) uint32 { return allocate(size, 8) }

// ReleaseAnswer does nothing: the memory is the tests'.
func ReleaseAnswer() {}
