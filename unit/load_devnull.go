package unit

import (
	"io/fs"
	"syscall"
)

// isDevNull reports whether a character device is /dev/null (major 1, minor 3).
func isDevNull(st fs.FileInfo) bool {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return s.Rdev == 1<<8|3
}
