//go:build wasip1

package warrant

import (
	"runtime"
	"unsafe"
)

//go:wasmimport warrant:policy/host@0.1.0 log
func importedLog(level uint32, message unsafe.Pointer, length uint32)

func hostLog(level LogLevel, message string) {
	importedLog(uint32(level), unsafe.Pointer(unsafe.StringData(message)), uint32(len(message)))
	// The host reads the text during the call.
	runtime.KeepAlive(message)
}
