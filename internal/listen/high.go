package listen

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Listening sockets live in the upper half of the descriptor numbers (below RLIMIT_NOFILE),
// the manager's other descriptors in the lower half, where the kernel puts every new one.
// A child cloned with a shared descriptor table then takes a copy of the lower half only
// (close_range(2) with CLOSE_RANGE_UNSHARE, internal/spawn): its start costs the same among
// 10 listening sockets as among 10,000, where copying the table and closing the copies at
// exec costs milliseconds.

var (
	highOnce sync.Once
	highBase int // 0: sockets stay where the kernel put them
)

// moveHigh returns fd moved to the upper half (the old number closed), or fd itself when the
// upper half is full or the limit too low to split.
func moveHigh(fd int) int {
	highOnce.Do(func() {
		var rl unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Cur >= 2048 && rl.Cur <= 1<<30 {
			highBase = int(rl.Cur / 2)
		}
	})
	if highBase == 0 || fd >= highBase {
		return fd
	}
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, highBase)
	if err != nil {
		return fd // EMFILE: the upper half is full
	}
	unix.Close(fd)
	return nfd
}
