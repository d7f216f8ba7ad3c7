//go:build wasip1

package warrant

import (
	"runtime"
	"strings"
	"unsafe"
)

func hostLog(level LogLevel, message string) {
	// A WIT string is UTF-8: the host traps on anything else, so bytes
	// that are not UTF-8 become U+FFFD.
	message = strings.ToValidUTF8(message, "\uFFFD")
	importedLog(uint32(level), unsafe.Pointer(unsafe.StringData(message)), uint32(len(message)))
	// The host reads the text during the call.
	runtime.KeepAlive(message)
}
