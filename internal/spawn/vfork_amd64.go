//go:build linux && amd64

package spawn

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

const vforkAvailable = true

// rawSpawn is in vfork_amd64.s.
func rawSpawn(ops, nops, report, stack uintptr) (pid, errno uintptr)

// childStackWords sizes the child's stack: the interpreter needs a few dozen bytes.
const childStackWords = 1024

// startVfork is Start without a shim: the child is created with clone(CLONE_VM|CLONE_VFORK), as
// posix_spawn does, runs the program in assembly on its own small stack, and execs the service
// directly — one fork and one exec, the same as systemd-socket-activate. The parent thread waits
// (inside clone) until that exec or the child's failure, so the outcome is known when Start
// returns and no helper process or goroutine is involved.
func startVfork(c *Config, fds []int) (*Process, error) {
	n := len(fds)
	// Copies of the sources above every target, so that the child's dup3 onto 0..n-1 never
	// overwrites a source it still needs. Close-on-exec: the service never sees them.
	tmp := make([]int, 0, n)
	defer func() {
		for _, fd := range tmp {
			syscall.Close(fd)
		}
	}()
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	for _, fd := range fds {
		t, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, uintptr(n))
		if e != 0 {
			return nil, fmt.Errorf("spawn %s: dup fd %d: %w", c.Path, fd, e)
		}
		tmp = append(tmp, int(t))
	}
	block := compile(c, -1, tmp)
	w := make([]uint64, (len(block)+7)/8+3) // the last 3 words receive the failure report
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(block)), block)
	ops, nops := relocate(w)
	report := w[len(w)-3:]
	stack := make([]uint64, childStackWords)
	top := uintptr(unsafe.Pointer(&stack[childStackWords-2])) &^ 15

	pid, errno := rawSpawn(ops, nops, uintptr(unsafe.Pointer(&report[0])), top)
	runtime.KeepAlive(w)
	runtime.KeepAlive(stack)
	if errno != 0 {
		return nil, fmt.Errorf("spawn %s: clone: %w", c.Path, syscall.Errno(errno))
	}
	ch := make(chan error, 1)
	if report[0] != 0 {
		ch <- reportError(report[0], report[1], report[2])
	} else {
		ch <- nil
	}
	close(ch)
	return &Process{Pid: int(pid), Exec: ch}, nil
}
