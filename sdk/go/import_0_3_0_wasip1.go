//go:build !warrant_wit_0_1_0

package warrant

import "unsafe"

// importedLog is the host's `log` of WIT 0.3.0.
//
//go:wasmimport warrant:policy/host@0.3.0 log
func importedLog(level uint32, message unsafe.Pointer, length uint32)
