//go:build linux && amd64

package spawn

import (
	"fmt"

	"golang.org/x/sys/unix"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

const vforkAvailable = true

// rawSpawn is in vfork_amd64.s: clone3(cargs) when cargs is not 0, else clone(flags, stack)
// with tid as the child's clear-tid word.
func rawSpawn(ops, nops, report, stack, flags, tid, cargs uintptr) (pid, errno uintptr)

// Both clones share our memory until the child's exec (CLONE_VM, as with vfork, but without
// CLONE_VFORK the calling thread does not wait for that exec), and have the kernel clear the
// execState's pending word and wake its futex when the child execs or exits
// (CLONE_CHILD_CLEARTID). clone3 also resets every signal handler in the child
// (CLONE_CLEAR_SIGHAND, Linux 5.5), so the program need not: only ignored signals are left.
const (
	cloneFlags  = syscall.CLONE_VM | syscall.CLONE_CHILD_CLEARTID | uintptr(syscall.SIGCHLD)
	clone3Flags = syscall.CLONE_VM | syscall.CLONE_CHILD_CLEARTID | 0x100000000 // CLONE_CLEAR_SIGHAND
)

// cloneArgs is struct clone_args up to cgroup (CLONE_ARGS_SIZE_VER2, 88 bytes; a kernel that
// knows less takes it while the fields it does not know are zero).
type cloneArgs struct {
	flags, pidfd, childTID, parentTID, exitSignal, stack, stackSize, tls uint64
	setTID, setTIDSize, cgroup                                           uint64
}

// cloneIntoCgroup is CLONE_INTO_CGROUP (Linux 5.7).
const cloneIntoCgroup = 0x200000000

// childStackWords sizes the child's stack: the interpreter makes no calls and needs a few
// dozen bytes (getpid's digits); with every signal blocked the kernel writes no frame there.
const childStackWords = 256

// spawnMem is the memory a child uses until its exec: the compiled program and the child's
// stack. It is reused rather than allocated per spawn: on a virtual machine, first touches of
// fresh heap pages cost more than the rest of Start.
type spawnMem struct {
	prog  program
	w     []uint64
	args  cloneArgs
	st    *execState // the child using this memory, until st.pending is 0
	stack [childStackWords]uint64
}

// spawnMems: memory no child uses (a sync.Pool, so that a GC may drop it) and memory whose
// child has not exec'd or exited yet (busy; moved back to the pool by the next spawn that
// finds its pending word cleared).
var (
	spawnMemPool = sync.Pool{New: func() any { return new(spawnMem) }}
	spawnMemBusy struct {
		sync.Mutex
		mems []*spawnMem
	}
)

func getSpawnMem() *spawnMem {
	spawnMemBusy.Lock()
	b := spawnMemBusy.mems
	for i := 0; i < len(b); {
		if atomic.LoadUint32(&b[i].st.pending) != 0 {
			i++
			continue
		}
		b[i].st = nil
		spawnMemPool.Put(b[i])
		b[i] = b[len(b)-1]
		b[len(b)-1] = nil
		b = b[:len(b)-1]
	}
	spawnMemBusy.mems = b
	spawnMemBusy.Unlock()
	return spawnMemPool.Get().(*spawnMem)
}

func busySpawnMem(mem *spawnMem) {
	spawnMemBusy.Lock()
	spawnMemBusy.mems = append(spawnMemBusy.mems, mem)
	spawnMemBusy.Unlock()
}

// startVfork is Start without a shim: the child is created with clone3 (or clone) and
// CLONE_VM, as posix_spawn does, runs the program in assembly on its own small stack, and
// execs the service directly — one fork, one exec, the same as systemd-socket-activate. Start
// returns as soon as the child exists: its exec (about a millisecond of the kernel's on a
// virtual machine) runs while the manager goes on, in parallel with other children's. Nothing
// waits for it: the kernel clears the execState's word when the child is done with our memory
// (ExecResult and the next spawn look at it).
func startVfork(c *Config, fds []int) (*Process, error) {
	n := len(fds)
	if sharedTable() {
		return startShared(c, fds)
	}
	// A source below n could be overwritten by the child's dup3 onto 0..n-1 before it is
	// used: then every source is first copied above the targets (close-on-exec, so the service
	// never sees the copies). Sources at n or above are used as they are: the child has its own
	// descriptor table from the clone on.
	src := fds
	var tmp []int
	for _, fd := range fds {
		if fd < n {
			tmp = make([]int, 0, n)
			break
		}
	}
	defer func() {
		for _, fd := range tmp {
			syscall.Close(fd)
		}
	}()
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	if tmp != nil {
		for _, fd := range fds {
			t, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, uintptr(n))
			if e != 0 {
				return nil, fmt.Errorf("spawn %s: dup fd %d: %w", c.Path, fd, e)
			}
			tmp = append(tmp, int(t))
		}
		src = tmp
	}
	return startClone(c, src, 0)
}

// startClone clones the child that runs c's program with the descriptors src moved onto 0,
// 1, 2, ...; with below > 0 it shares our descriptor table until its first op takes its own
// with the fds below below only, and startClone returns once it has.
func startClone(c *Config, src []int, below int) (*Process, error) {
	st := &execState{}
	mem := getSpawnMem()
	for {
		mode.Lock()
		clone3 := useClone3
		into := clone3 && c.CgroupDirFD > 0 && !noIntoCgroup
		mode.Unlock()
		resetSigs := everySignal
		if clone3 {
			resetSigs = ignoredSignals()
		}
		// CLONE_INTO_CGROUP places the child in its cgroup2 group at the clone: no write to
		// cgroup.procs, which would wait for an RCU grace period (milliseconds on a busy
		// machine) to take the cgroup's write lock.
		mem.prog.intoCgroup = into
		mem.prog.unshareBelow = below
		block := mem.prog.compile(c, -1, src, resetSigs)
		need := (len(block) + 7) / 8
		if cap(mem.w) < need {
			mem.w = make([]uint64, need)
		}
		w := mem.w[:need]
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(block)), block)
		ops, nops := relocate(w)
		st.pending = 1
		report := uintptr(unsafe.Pointer(&st.report[0]))
		tid := uintptr(unsafe.Pointer(&st.pending))
		base := uintptr(unsafe.Pointer(&mem.stack[0]))
		top := uintptr(unsafe.Pointer(&mem.stack[childStackWords-2])) &^ 15
		var cargs uintptr
		flags, flags3 := uintptr(cloneFlags), uint64(clone3Flags)
		if below > 0 {
			flags |= syscall.CLONE_FILES
			flags3 |= syscall.CLONE_FILES
		}
		if clone3 {
			mem.args = cloneArgs{flags: flags3, childTID: uint64(tid), exitSignal: uint64(syscall.SIGCHLD),
				stack: uint64(base), stackSize: uint64(top - base)}
			if into {
				mem.args.flags |= cloneIntoCgroup
				mem.args.cgroup = uint64(c.CgroupDirFD)
			}
			cargs = uintptr(unsafe.Pointer(&mem.args))
		}
		pid, errno := rawSpawn(ops, nops, report, top, flags, tid, cargs)
		if errno == 0 {
			if below > 0 {
				// The unshared word, in the data after the header and the ops.
				data := int(w[3]) + int(w[4])*opWords*8
				waitUnshared(&w[(data+int(mem.prog.unshared))/8], &st.pending)
			}
			mem.st = st
			busySpawnMem(mem)
			return &Process{Pid: int(pid), st: st}, nil
		}
		if into {
			// Refused into the group (a kernel before 5.7: E2BIG; a group that may not hold
			// processes: EBUSY, ...): the child writes cgroup.procs instead, and so does every
			// later one whose kernel does not know the flag.
			if errno == uintptr(syscall.E2BIG) || errno == uintptr(syscall.EINVAL) {
				mode.Lock()
				noIntoCgroup = true
				mode.Unlock()
			}
			c = withoutCgroupFD(c)
			continue
		}
		if clone3 && (errno == uintptr(syscall.ENOSYS) || errno == uintptr(syscall.EINVAL) || errno == uintptr(syscall.EPERM)) {
			// No clone3 (before Linux 5.3, or refused by a seccomp filter, as in some container
			// runtimes) or no CLONE_CLEAR_SIGHAND (5.3, 5.4): clone, and reset every handler in
			// the child, from now on.
			mode.Lock()
			useClone3 = false
			mode.Unlock()
			continue
		}
		spawnMemPool.Put(mem)
		return nil, fmt.Errorf("spawn %s: clone: %w", c.Path, syscall.Errno(errno))
	}
}

// sharedTable says whether children are cloned with CLONE_FILES and take their own table with
// close_range(2)'s CLOSE_RANGE_UNSHARE (Linux 5.9), asked once of the kernel with an empty
// range (flags 0: an unshare here would give this thread a table of its own).
func sharedTable() bool {
	sharedOnce.Do(func() {
		_, _, e := syscall.RawSyscall(unix.SYS_CLOSE_RANGE, 1<<30, 1<<30, 0)
		sharedOK = e == 0
	})
	mode.Lock()
	defer mode.Unlock()
	return sharedOK && !noSharedTable
}

var (
	sharedOnce sync.Once
	sharedOK   bool
)

// startShared is startVfork with a shared descriptor table: every source is first copied to
// the lowest free number at n or above (close-on-exec, closed again once the child has its
// own table), so that the child keeps only the fds below the highest copy: the manager's
// listening sockets sit above them (internal/listen), and neither the clone nor the exec pays
// for them.
func startShared(c *Config, fds []int) (*Process, error) {
	n := len(fds)
	tmp := make([]int, 0, n)
	defer func() {
		for _, fd := range tmp {
			syscall.Close(fd)
		}
	}()
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	below := max(n, 3)
	for _, fd := range fds {
		t, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, uintptr(n))
		if e != 0 {
			return nil, fmt.Errorf("spawn %s: dup fd %d: %w", c.Path, fd, e)
		}
		tmp = append(tmp, int(t))
		below = max(below, int(t)+1)
	}
	if c.CgroupDirFD > 0 {
		below = max(below, c.CgroupDirFD+1) // a child that writes cgroup.procs itself
	}
	return startClone(c, tmp, below)
}

// waitUnshared waits until the child has written word (after its own table was made) or is
// gone (pending 0: it exited, or exec'd).
func waitUnshared(word *uint64, pending *uint32) {
	ts := syscall.Timespec{Nsec: 200_000}
	for atomic.LoadUint64(word) == 0 && atomic.LoadUint32(pending) != 0 {
		syscall.Syscall6(syscall.SYS_FUTEX, uintptr(unsafe.Pointer(word)), 0 /* FUTEX_WAIT */, 0, uintptr(unsafe.Pointer(&ts)), 0, 0)
	}
}
