//go:build !wasip1

package warrant

import "os"

var levelNames = [...]string{LogDebug: "debug", LogInfo: "info", LogWarn: "warn", LogError: "error"}

func hostLog(level LogLevel, message string) {
	os.Stderr.WriteString("[" + levelNames[level] + "] " + message + "\n")
}
