// Package procnet reads socket state from /proc/net for the benchmarks.
package procnet

import (
	"os"
	"strings"
)

// UnixListening reports whether a unix socket bound to path is listening, from /proc/net/unix
// (the file exists between bind and listen, and connecting to find out would activate it).
func UnixListening(path string) bool {
	return countUnix(func(p string) bool { return p == path }) > 0
}

// CountUnixListening counts the listening unix sockets whose path starts with prefix.
func CountUnixListening(prefix string) int {
	return countUnix(func(p string) bool { return strings.HasPrefix(p, prefix) })
}

// countUnix counts the listening unix sockets of /proc/net/unix whose path match accepts.
func countUnix(match func(path string) bool) int {
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		// Num RefCount Protocol Flags Type St Inode Path; Flags has __SO_ACCEPTCON (1<<16) when listening.
		f := strings.Fields(line)
		if len(f) == 8 && f[3] == "00010000" && match(f[7]) {
			n++
		}
	}
	return n
}
