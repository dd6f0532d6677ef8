package spawn

import (
	"sync/atomic"
	"syscall"
	"unsafe"
)

// execState is how a vfork-path child reports: pending is 1 until the kernel clears it at the
// child's execve or exit; a failing step first stores {status, errno, step} in report. It is
// its own allocation, kept by the Process, so that the report outlives the reuse of the
// child's spawnMem. The vfork path exists on amd64 only; elsewhere every Process comes from
// the shim and its st is nil.
type execState struct {
	pending uint32
	_       uint32
	report  [3]uint64
}

// wait blocks until pending is 0 (FUTEX_WAIT, not private: the kernel's wake at exec or exit
// is a shared-futex wake) and returns the child's report.
func (s *execState) wait() error {
	for {
		v := atomic.LoadUint32(&s.pending)
		if v == 0 {
			break
		}
		syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(&s.pending)), 0 /* FUTEX_WAIT */, uintptr(v), 0, 0, 0)
	}
	if s.report[2] != 0 { // the step: a report of status 0 (Config.SkipMissing) is one too
		return reportError(s.report[0], s.report[1], s.report[2])
	}
	return nil
}
