package spawn

import (
	"encoding/binary"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Process settings of systemd.exec(5) made between fork and exec: core dump filter, CPU
// scheduling, CPU affinity, NUMA memory policy, I/O priority and timer slack. They are
// steps of the program like the others, so the vfork path, the Go shim and the sandboxed
// helper all make them, in the order of systemd 252's exec_child: OOM score, core dump
// filter, scheduling, nice, affinity, memory policy, I/O priority, timer slack. Each
// affects the calling thread (or the process's memory, for the filter), which is the one
// that execs the service.

// Exit statuses of these steps (systemd's exit-status.h). A core dump filter that cannot be
// written fails with 205/LIMITS, as in systemd.
const (
	StatusIOPrio       = 211
	StatusTimerSlack   = 212
	StatusSetScheduler = 214
	StatusCPUAffinity  = 215
	StatusNUMAPolicy   = 242
)

// Sched is a CPU scheduling policy (sched_setattr(2)): SCHED_OTHER 0, SCHED_FIFO 1,
// SCHED_RR 2, SCHED_BATCH 3, SCHED_IDLE 5, its static priority (1-99 for FIFO and RR, else
// 0), and SCHED_FLAG_RESET_ON_FORK.
type Sched struct {
	Policy, Priority int
	ResetOnFork      bool
}

// NUMA is a memory policy (set_mempolicy(2)): MPOL_DEFAULT 0, MPOL_PREFERRED 1, MPOL_BIND 2,
// MPOL_INTERLEAVE 3, MPOL_LOCAL 4, and its node mask (bit i%64 of word i/64; nil: none).
type NUMA struct {
	Mode  int
	Nodes []uint64
}

// ProcessSettings are the optional per-process settings of a Config; nil fields are left
// as the manager's.
type ProcessSettings struct {
	// CoredumpFilter is written to /proc/self/coredump_filter (CoredumpFilter=); refused
	// for want of privilege it is left, any other failure is 205/LIMITS. It belongs to the
	// process's memory: such a child is never started on the CLONE_VM path.
	CoredumpFilter *uint64
	// Sched is CPUSchedulingPolicy=/Priority=/ResetOnFork=; refused, 214/SETSCHEDULER. As
	// in systemd it comes before Nice= (sched_setattr sets the nice level to 0 for the
	// normal policies).
	Sched *Sched
	// CPUAffinity is the CPU mask of CPUAffinity= (bit i%64 of word i/64); refused (no CPU
	// of the mask is usable), 215/CPUAFFINITY.
	CPUAffinity []uint64
	// NUMA is NUMAPolicy=/NUMAMask=; refused, 242/NUMA_POLICY (a kernel without NUMA support,
	// ENOSYS, is ignored).
	NUMA *NUMA
	// IOPrio is the ioprio_set(2) value of IOSchedulingClass=/IOSchedulingPriority=
	// (class << 13 | level); refused, 211/IOPRIO.
	IOPrio *int
	// TimerSlackNSec is TimerSlackNSec= (prctl PR_SET_TIMERSLACK); refused, 212/TIMERSLACK.
	TimerSlackNSec *uint64
	// ControllingTTY makes the terminal on fd 0 the process's controlling terminal right
	// after setsid (TIOCSCTTY), as systemd's acquire_terminal for StandardInput=tty: CTTYTry
	// goes on when it is another session's, CTTYFail fails with 208/STDIN then, CTTYForce
	// steals it (and fails with 208/STDIN if that is refused).
	ControllingTTY int
}

// ControllingTTY modes.
const (
	CTTYNone = iota
	CTTYTry
	CTTYFail
	CTTYForce
)

// controllingTTY adds the TIOCSCTTY step of ps.
func (p *program) controllingTTY(ps *ProcessSettings) {
	if ps == nil || ps.ControllingTTY == CTTYNone {
		return
	}
	force, flags := 0, uint64(0)
	switch ps.ControllingTTY {
	case CTTYTry:
		flags = opIgnoreError
	case CTTYForce:
		force = 1
	}
	p.add(stepCTTY, StatusStdin, flags, syscall.SYS_IOCTL, 0, syscall.TIOCSCTTY, force)
}

const coredumpFilterPath = "/proc/self/coredump_filter"

// sched_setattr's struct sched_attr, SCHED_ATTR_SIZE_VER0.
const schedAttrSize = 48

const schedFlagResetOnFork = 1

// processEarly adds the steps that come before the nice level: core dump filter, scheduling.
func (p *program) processEarly(ps *ProcessSettings) {
	if ps == nil {
		return
	}
	if ps.CoredumpFilter != nil {
		val := "0x" + strconv.FormatUint(*ps.CoredumpFilter, 16)
		path := p.cstring(coredumpFilterPath, 0)
		buf := p.cstring(val, 0)
		p.add(stepCoredumpFilter, StatusLimits, opSaveResult|tolerate(2, syscall.EPERM, syscall.EACCES), syscall.SYS_OPENAT,
			atFDCWD, path, syscall.O_WRONLY|syscall.O_CLOEXEC)
		p.add(stepCoredumpFilter, StatusLimits, opUseSaved|tolerate(0, syscall.EPERM, syscall.EACCES), syscall.SYS_WRITE, 0, buf, len(val))
		p.add(stepCoredumpFilter, StatusLimits, opUseSaved|opIgnoreError, syscall.SYS_CLOSE, 0)
	}
	if s := ps.Sched; s != nil {
		attr := make([]byte, schedAttrSize)
		binary.LittleEndian.PutUint32(attr[0:], schedAttrSize)
		binary.LittleEndian.PutUint32(attr[4:], uint32(s.Policy))
		if s.ResetOnFork {
			binary.LittleEndian.PutUint64(attr[8:], schedFlagResetOnFork)
		}
		binary.LittleEndian.PutUint32(attr[20:], uint32(s.Priority)) // sched_nice (16) stays 0
		p.add(stepSched, StatusSetScheduler, 0, unix.SYS_SCHED_SETATTR, 0, p.bytesData(attr), 0)
	}
}

// processLate adds the steps after the nice level: affinity, memory policy, I/O priority,
// timer slack.
func (p *program) processLate(ps *ProcessSettings) {
	if ps == nil {
		return
	}
	if ps.CPUAffinity != nil {
		mask := ps.CPUAffinity
		if len(mask) == 0 {
			mask = []uint64{0} // no CPU at all: the kernel refuses it (EINVAL), as systemd's empty set
		}
		p.add(stepAffinity, StatusCPUAffinity, 0, unix.SYS_SCHED_SETAFFINITY, 0, 8*len(mask), p.words(mask...))
	}
	if n := ps.NUMA; n != nil {
		// set_mempolicy's maxnode counts one bit more than the mask holds, as systemd passes it.
		var nodes any = 0
		maxnode := 0
		if len(n.Nodes) > 0 {
			nodes = p.words(n.Nodes...)
			maxnode = 64*len(n.Nodes) + 1
		}
		p.add(stepNUMA, StatusNUMAPolicy, tolerate(0, syscall.ENOSYS), unix.SYS_SET_MEMPOLICY, n.Mode, nodes, maxnode)
	}
	if ps.IOPrio != nil {
		p.add(stepIOPrio, StatusIOPrio, 0, unix.SYS_IOPRIO_SET, 1 /* IOPRIO_WHO_PROCESS */, 0, *ps.IOPrio)
	}
	if ps.TimerSlackNSec != nil {
		p.add(stepTimerSlack, StatusTimerSlack, 0, syscall.SYS_PRCTL, unix.PR_SET_TIMERSLACK, *ps.TimerSlackNSec)
	}
}

// gateFD is the child's fd of Config.Gate: after the standard streams and ExtraFiles.
func gateFD(c *Config) int { return 3 + len(c.ExtraFiles) }

// gate adds the wait for Config.Gate: read one byte (or EOF; errors are ignored), then close
// the fd, which is below the ones close_range marked close-on-exec. The read blocks: the
// pipe may be non-blocking in the parent (os.Pipe's are), and its flags are the open file
// description's, which the parent no longer reads from. On the clone path (closeAbove >= 0)
// the fds above the child's own are closed first, not only marked: a copy of the gate's
// write end among them would keep the pipe from ever reaching EOF.
func (p *program) gate(c *Config, closeAbove int) {
	if c.Gate == nil {
		return
	}
	fd := gateFD(c)
	if closeAbove >= 0 {
		p.add(stepFDs, StatusFDs, opIgnoreError, unix.SYS_CLOSE_RANGE, closeAbove, uint64(^uint32(0)), 0)
	}
	p.add(stepFDs, StatusFDs, opIgnoreError, syscall.SYS_FCNTL, fd, syscall.F_SETFL, 0)
	p.add(stepFDs, StatusFDs, opIgnoreError, syscall.SYS_READ, fd, p.words(0), 1)
	p.add(stepFDs, StatusFDs, opIgnoreError, syscall.SYS_CLOSE, fd)
}
