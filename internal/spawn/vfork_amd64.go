//go:build linux && amd64

package spawn

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

const vforkAvailable = true

// rawSpawn is in vfork_amd64.s.
func rawSpawn(ops, nops, report, stack, flags uintptr) (pid, errno uintptr)

// cloneFlags: CLONE_VM|SIGCHLD. The child shares our memory until its exec, as with vfork,
// but without CLONE_VFORK the calling thread does not wait for that exec.
const cloneFlags = syscall.CLONE_VM | uintptr(syscall.SIGCHLD)

// childStackWords sizes the child's stack: the interpreter needs a few dozen bytes.
const childStackWords = 1024

// spawnMem is the memory a child uses until its exec: the compiled program (with the report
// words) and the child's stack. It is reused (a sync.Pool) rather than allocated per spawn:
// on a virtual machine, first touches of fresh heap pages cost more than the rest of Start.
type spawnMem struct {
	prog  program
	w     []uint64
	stack [childStackWords]uint64
}

var spawnMemPool = sync.Pool{New: func() any { return new(spawnMem) }}

// startVfork is Start without a shim: the child is created with clone(CLONE_VM), as
// posix_spawn does, runs the program in assembly on its own small stack, and execs the service
// directly — one fork, one exec, the same as systemd-socket-activate. Start returns as soon as
// the child exists: its exec (about a millisecond of the kernel's on a virtual machine) runs
// while the manager goes on, in parallel with other children's. A close-on-exec pipe tells
// when the child is done with our memory: its write end, the child's alone, closes at the
// child's exec or exit; then Exec delivers the outcome and the program's memory is released.
func startVfork(c *Config, fds []int) (*Process, error) {
	n := len(fds)
	// Copies of the sources above every target, so that the child's dup3 onto 0..n-1 never
	// overwrites a source it still needs. Close-on-exec: the service never sees them.
	tmp := make([]int, 0, n+1)
	defer func() {
		for _, fd := range tmp {
			syscall.Close(fd)
		}
	}()
	var done [2]int
	if err := syscall.Pipe2(done[:], syscall.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("spawn %s: pipe: %w", c.Path, err)
	}
	if err := syscall.SetNonblock(done[0], true); err != nil {
		syscall.Close(done[0])
		syscall.Close(done[1])
		return nil, fmt.Errorf("spawn %s: pipe: %w", c.Path, err)
	}
	r := os.NewFile(uintptr(done[0]), "spawn "+c.Path)
	syscall.ForkLock.Lock()
	// The write end goes above the targets too; closed here once the child has its copy, and
	// before ForkLock is released, so that no other child inherits it.
	wfd, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(done[1]), syscall.F_DUPFD_CLOEXEC, uintptr(n))
	syscall.Close(done[1])
	if e != 0 {
		syscall.ForkLock.Unlock()
		r.Close()
		return nil, fmt.Errorf("spawn %s: dup pipe: %w", c.Path, e)
	}
	tmp = append(tmp, int(wfd))
	for _, fd := range fds {
		t, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, uintptr(n))
		if e != 0 {
			syscall.ForkLock.Unlock()
			r.Close()
			return nil, fmt.Errorf("spawn %s: dup fd %d: %w", c.Path, fd, e)
		}
		tmp = append(tmp, int(t))
	}
	mem := spawnMemPool.Get().(*spawnMem)
	block := mem.prog.compile(c, -1, tmp[1:])
	need := (len(block)+7)/8 + 3 // the last 3 words receive the failure report
	if cap(mem.w) < need {
		mem.w = make([]uint64, need)
	}
	w := mem.w[:need]
	clear(w[len(w)-3:])
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(block)), block)
	ops, nops := relocate(w)
	report := w[len(w)-3:]
	top := uintptr(unsafe.Pointer(&mem.stack[childStackWords-2])) &^ 15

	pid, errno := rawSpawn(ops, nops, uintptr(unsafe.Pointer(&report[0])), top, cloneFlags)
	syscall.Close(int(wfd))
	tmp = tmp[1:]
	syscall.ForkLock.Unlock()
	if errno != 0 {
		r.Close()
		spawnMemPool.Put(mem)
		return nil, fmt.Errorf("spawn %s: clone: %w", c.Path, syscall.Errno(errno))
	}
	ch := make(chan error, 1)
	go func() {
		// EOF (the child's exec or exit closed the last write end); a read error cannot
		// come from a pipe we own, but would end the wait the same way.
		var b [1]byte
		for {
			if _, err := r.Read(b[:]); err != nil {
				break
			}
		}
		r.Close()
		// Only now may the program, the report and the child's stack be reused.
		var err error
		if report[0] != 0 {
			err = reportError(report[0], report[1], report[2])
		}
		spawnMemPool.Put(mem)
		ch <- err
		close(ch)
	}()
	return &Process{Pid: int(pid), Exec: ch}, nil
}
