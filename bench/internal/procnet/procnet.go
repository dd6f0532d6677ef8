// Package procnet reads socket state from /proc/net for the benchmarks.
package procnet

import (
	"os"
	"strings"
)

// UnixListening reports whether a unix socket bound to path is listening, from /proc/net/unix
// (the file exists between bind and listen, and connecting to find out would activate it).
func UnixListening(path string) bool {
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		// Num RefCount Protocol Flags Type St Inode Path; Flags has __SO_ACCEPTCON (1<<16) when listening.
		f := strings.Fields(line)
		if len(f) == 8 && f[7] == path && f[3] == "00010000" {
			return true
		}
	}
	return false
}
