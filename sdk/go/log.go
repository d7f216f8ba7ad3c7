package warrant

// LogLevel is how much a log line matters.
type LogLevel uint8

const (
	LogDebug LogLevel = iota
	LogInfo
	LogWarn
	LogError
)

// Log writes a line to the host's log and to the decision's trace. The
// host caps the lines in number and length; nothing logged changes the
// decision. Bytes of message that are not UTF-8 are logged as U+FFFD.
// Outside WebAssembly, as in unit tests, the line goes to standard error.
func Log(level LogLevel, message string) {
	hostLog(level, message)
}
