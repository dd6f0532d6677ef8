package spawn

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"
)

// The program block is what the parent sends the shim over the control socket: a list of raw
// system calls ("ops") and the data they point to. Both interpreters — the assembly of the
// clone path (vfork_amd64.s) and the re-executed shim (ShimMain) — run exactly the same block,
// so the order of the steps and the status codes are decided here, in one place.
//
// Layout, all little-endian 64-bit words, offsets from the start of the block:
//
//	word 0  total length in bytes
//	word 1  offset of the relocation table
//	word 2  number of relocations
//	word 3  offset of the ops
//	word 4  number of ops
//	ops     10 words each: nr, arg0..arg5, status, flags, step
//	data    strings, pointer arrays, structs
//	relocs  one word each: offset of a word that holds a block offset and must become an address
//
// An op whose result is an error (-4095..-1) ends the program: the shim writes
// {status, errno, step} (three words) to the control socket and exits with status, unless the op
// has opIgnoreError or the errno is one the op tolerates. The last op is always execve.
//
// The flags word: bits 0-6 the op flags below; bits 8-15 a skip count; bits 16-47 four
// errnos the op tolerates, a byte each (0: none). After a tolerated error the program goes on past the
// next skip ops (the rest of a step that cannot be done), or, with opSkipOnOK, with the next
// op: then it is after a success that the next skip ops are passed over (a fallback that runs
// only when the op failed, as systemd's setrlimit_closest tries the closest value).
const (
	headerWords = 5
	opWords     = 10
	reportBytes = 24
)

// Op flags, shared with the shims.
const (
	opIgnoreError = 1 // go on after an error
	opSaveResult  = 2 // keep the result (a file descriptor) for a later opUseSaved
	opUseSaved    = 4 // arg0 is the saved result
	opListenPID   = 8 // not a syscall: write getpid() in decimal, NUL-terminated, at arg0
	opSkipOnOK    = 16
	opSandbox     = 32 // not a syscall: the sandboxed path's stage arg0 (sandbox.go); Go shim only
	opUseSaved1   = 64 // arg1 is the saved result
)

// tolerate returns the flags of an op after whose errors es (at most four errnos) the program
// goes on, past the next skip ops.
func tolerate(skip int, es ...syscall.Errno) uint64 {
	if skip > 255 || len(es) > 4 {
		panic("spawn: bad tolerance")
	}
	f := uint64(skip) << 8
	for i, e := range es {
		f |= uint64(e&0xff) << (16 + 8*i)
	}
	return f
}

// fallback returns the flags of an op that is followed by its fallback: after a success the
// fallback op is passed over; after an error in es the program goes on with it.
func fallback(es ...syscall.Errno) uint64 { return tolerate(1, es...) | opSkipOnOK }

// Step identifiers reported by the shims; see stepNames.
const (
	stepSession = iota + 1
	stepOOMScoreAdjust
	stepNice
	stepRlimit
	stepUmask
	stepGroups
	stepGID
	stepUID
	stepChdir
	stepSignals
	stepSignalMask
	stepFDs
	stepListenPID
	stepExec
	stepAccess
	stepNamespace
	stepNoNewPrivs
	stepCgroup
	stepCoredumpFilter
	stepSched
	stepAffinity
	stepNUMA
	stepIOPrio
	stepTimerSlack
	stepCTTY
)

// stepNames is an array, not a map: static data rather than work at every start of the
// binary (the CLI's too).
var stepNames = [...]string{
	stepSession:        "setsid",
	stepOOMScoreAdjust: "oom_score_adj",
	stepNice:           "setpriority",
	stepRlimit:         "setrlimit",
	stepUmask:          "umask",
	stepGroups:         "setgroups",
	stepGID:            "setgid",
	stepUID:            "setuid",
	stepChdir:          "chdir",
	stepSignals:        "sigaction",
	stepSignalMask:     "sigprocmask",
	stepFDs:            "fcntl",
	stepListenPID:      "getpid",
	stepExec:           "execve",
	stepAccess:         "access",
	stepNamespace:      "mount",
	stepNoNewPrivs:     "prctl",
	stepCgroup:         "cgroup.procs",
	stepCoredumpFilter: "coredump_filter",
	stepSched:          "sched_setattr",
	stepAffinity:       "sched_setaffinity",
	stepNUMA:           "set_mempolicy",
	stepIOPrio:         "ioprio_set",
	stepTimerSlack:     "prctl",
	stepCTTY:           "TIOCSCTTY",
}

// ptr marks an op argument or array element that is an offset into the data area.
type ptr int

type op struct {
	nr     uintptr
	args   [6]uint64
	ptrs   uint8 // bit i: args[i] is a data offset
	status int
	flags  uint64
	step   int
}

// program accumulates ops and data; bytes() lays the block out. Its buffers are reused by
// the next compile on the same program (see startVfork's pool).
type program struct {
	intoCgroup bool // the clone places the child in Config.CgroupDirFD's group (vfork path)
	// unshareBelow, when not 0, makes the child's first op take its own descriptor table
	// with only the fds below it (cloned with CLONE_FILES, vfork path): close_range(2) with
	// CLOSE_RANGE_UNSHARE, then a clock_gettime into unshared (a data offset) and a futex
	// wake on it, for the parent that waits for it before it may close anything.
	unshareBelow int
	unshared     ptr
	ops          []op
	data         []byte
	dataPtrs     []int // offsets within data of words holding data offsets
	rel          []uint64
	out          []byte
}

// add appends an op; each argument is an integer type or a ptr.
func (p *program) add(step, status int, flags uint64, nr uintptr, args ...any) {
	o := op{nr: nr, status: status, flags: flags, step: step}
	for i, a := range args {
		switch v := a.(type) {
		case ptr:
			o.args[i] = uint64(v)
			o.ptrs |= 1 << i
		case int:
			o.args[i] = uint64(v)
		case uint32:
			o.args[i] = uint64(v)
		case uint64:
			o.args[i] = v
		case uintptr:
			o.args[i] = uint64(v)
		default:
			panic("spawn: bad op argument type")
		}
	}
	p.ops = append(p.ops, o)
}

func (p *program) align() {
	for len(p.data)%8 != 0 {
		p.data = append(p.data, 0)
	}
}

// cstring stores s NUL-terminated, with extra spare bytes after it, and returns its offset.
func (p *program) cstring(s string, spare int) ptr {
	off := len(p.data)
	p.data = append(p.data, s...)
	for i := 0; i <= spare; i++ {
		p.data = append(p.data, 0)
	}
	return ptr(off)
}

// bytesData stores raw bytes (8-byte aligned) and returns their offset.
func (p *program) bytesData(b []byte) ptr {
	p.align()
	off := len(p.data)
	p.data = append(p.data, b...)
	return ptr(off)
}

// words stores 64-bit words (8-byte aligned) and returns their offset.
func (p *program) words(w ...uint64) ptr {
	p.align()
	off := len(p.data)
	for _, v := range w {
		p.data = binary.LittleEndian.AppendUint64(p.data, v)
	}
	return ptr(off)
}

// ptrArray stores a NULL-terminated array of pointers to the given data offsets.
func (p *program) ptrArray(elems []ptr) ptr {
	p.align()
	off := len(p.data)
	for _, e := range elems {
		p.dataPtrs = append(p.dataPtrs, len(p.data))
		p.data = binary.LittleEndian.AppendUint64(p.data, uint64(e))
	}
	p.data = binary.LittleEndian.AppendUint64(p.data, 0)
	return ptr(off)
}

// bytes returns the block.
func (p *program) bytes() []byte {
	p.align()
	opsOff := headerWords * 8
	dataOff := opsOff + len(p.ops)*opWords*8
	relOff := dataOff + len(p.data)
	rel := p.rel[:0]
	out := p.out[:0]
	if cap(out) < dataOff {
		out = make([]byte, 0, relOff+8*(len(p.dataPtrs)+2*len(p.ops)))
	}
	out = out[:dataOff]
	for i, o := range p.ops {
		w := out[opsOff+i*opWords*8:]
		binary.LittleEndian.PutUint64(w[0:], uint64(o.nr))
		for j, a := range o.args {
			if o.ptrs&(1<<j) != 0 {
				a += uint64(dataOff)
				rel = append(rel, uint64(opsOff+i*opWords*8+8+j*8))
			}
			binary.LittleEndian.PutUint64(w[8+j*8:], a)
		}
		binary.LittleEndian.PutUint64(w[56:], uint64(o.status))
		binary.LittleEndian.PutUint64(w[64:], o.flags)
		binary.LittleEndian.PutUint64(w[72:], uint64(o.step))
	}
	out = append(out, p.data...)
	for _, d := range p.dataPtrs {
		w := out[dataOff+d:]
		binary.LittleEndian.PutUint64(w, binary.LittleEndian.Uint64(w)+uint64(dataOff))
		rel = append(rel, uint64(dataOff+d))
	}
	for _, r := range rel {
		out = binary.LittleEndian.AppendUint64(out, r)
	}
	binary.LittleEndian.PutUint64(out[0:], uint64(len(out)))
	binary.LittleEndian.PutUint64(out[8:], uint64(relOff))
	binary.LittleEndian.PutUint64(out[16:], uint64(len(rel)))
	binary.LittleEndian.PutUint64(out[24:], uint64(opsOff))
	binary.LittleEndian.PutUint64(out[32:], uint64(len(p.ops)))
	p.rel, p.out = rel, out
	return out
}

// listenPIDSlot is the room left after "LISTEN_PID=" (or "WATCHDOG_PID=", "SYSTEMD_EXEC_PID=")
// for the decimal pid (pid_max <= 2^22, but a 64-bit value fits).
const listenPIDSlot = 20

// compile turns a Config into the shim's program. ctl is the control socket's fd number in the
// child, or -1 when there is none (the vfork path); dupFrom, when not nil, lists the fds the
// child must dup onto 0, 1, 2, ... first (when nil they are already in place). The order
// follows systemd's exec_child: fds, cgroup placement, session, OOM score, core dump filter,
// scheduling, nice, affinity, memory policy, I/O priority, timer slack (process.go), limits,
// mount namespace, umask, credentials, working directory, no_new_privs, signals, then exec.
func compile(c *Config, ctl int, dupFrom []int) []byte {
	return (&program{}).compile(c, ctl, dupFrom, everySignal)
}

// everySignal is every signal whose disposition can be set: 1 to 64 but SIGKILL (9) and
// SIGSTOP (19). A literal, so that no slice is built at every start of the binary.
var everySignal = []int{1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18,
	20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64}

// compile is compile on p's buffers (the block returned is p's until its next compile).
// resetSigs are the signals whose disposition the child resets: everySignal, or where the
// kernel has reset the handlers (clone3's CLONE_CLEAR_SIGHAND) only the ignored ones.
func (p *program) compile(c *Config, ctl int, dupFrom []int, resetSigs []int) []byte {
	p.ops, p.data, p.dataPtrs = p.ops[:0], p.data[:0], p.dataPtrs[:0]
	if p.unshareBelow > 0 {
		// Not tolerated: a child that could not unshare must not dup3 onto 0, 1, 2 of a
		// table it shares with the manager.
		p.add(stepFDs, StatusFDs, 0, unix.SYS_CLOSE_RANGE, p.unshareBelow, uint64(^uint32(0)), unix.CLOSE_RANGE_UNSHARE)
		p.unshared = p.words(0, 0)
		p.add(stepFDs, StatusFDs, opIgnoreError, unix.SYS_CLOCK_GETTIME, unix.CLOCK_REALTIME, p.unshared)
		p.add(stepFDs, StatusFDs, opIgnoreError, unix.SYS_FUTEX, p.unshared, 1 /* FUTEX_WAKE */, 1)
	}
	for i, from := range dupFrom {
		p.add(stepFDs, StatusFDs, 0, syscall.SYS_DUP3, from, i, 0)
	}
	p.cgroup(c)
	keep := max(ctl+1, len(dupFrom))
	// Only fds 0..keep-1 survive: whatever the manager inherited without close-on-exec must not
	// reach the service (systemd closes all other fds too). They are marked close-on-exec rather
	// than closed, because the Go shim's runtime has fds of its own up there. Kernels before 5.11
	// lack CLOSE_RANGE_CLOEXEC; there only the manager's own close-on-exec discipline protects.
	p.add(stepFDs, StatusFDs, opIgnoreError, unix.SYS_CLOSE_RANGE, keep, uint64(^uint32(0)), unix.CLOSE_RANGE_CLOEXEC)
	if c.NewSession {
		p.add(stepSession, StatusSetsid, 0, syscall.SYS_SETSID)
	} else if c.Pgid != 0 {
		p.add(stepSession, StatusSetsid, 0, syscall.SYS_SETPGID, 0, c.Pgid)
	}
	p.controllingTTY(c.Process)
	if c.OOMScoreAdjust != nil {
		// As systemd: a privilege error (lowering the score without CAP_SYS_RESOURCE, a user
		// namespace's file that cannot be opened) is ignored, "assuming containerized
		// execution"; any other error fails with 206/OOM_ADJUST.
		path := p.cstring(oomScoreAdjPath, 0)
		val := itoa(*c.OOMScoreAdjust)
		buf := p.cstring(val, 0)
		p.add(stepOOMScoreAdjust, StatusOOMAdjust, opSaveResult|tolerate(2, syscall.EPERM, syscall.EACCES), syscall.SYS_OPENAT,
			atFDCWD, path, syscall.O_WRONLY|syscall.O_CLOEXEC)
		p.add(stepOOMScoreAdjust, StatusOOMAdjust, opUseSaved|tolerate(0, syscall.EPERM, syscall.EACCES), syscall.SYS_WRITE, 0, buf, len(val))
		p.add(stepOOMScoreAdjust, StatusOOMAdjust, opUseSaved|opIgnoreError, syscall.SYS_CLOSE, 0)
	}
	p.processEarly(c.Process)
	if c.Nice != nil {
		// systemd's setpriority_closest: refused for want of privilege, the nice level goes as
		// low as RLIMIT_NICE allows, or stays.
		want := *c.Nice
		cur, rlimNice := ownNice()
		switch next, how := closestNice(want, cur, rlimNice); how {
		case niceFallback:
			p.add(stepNice, StatusNice, fallback(syscall.EPERM, syscall.EACCES), syscall.SYS_SETPRIORITY, syscall.PRIO_PROCESS, 0, uint64(int64(want)))
			p.add(stepNice, StatusNice, 0, syscall.SYS_SETPRIORITY, syscall.PRIO_PROCESS, 0, uint64(int64(next)))
		case niceTolerated:
			p.add(stepNice, StatusNice, tolerate(0, syscall.EPERM, syscall.EACCES), syscall.SYS_SETPRIORITY, syscall.PRIO_PROCESS, 0, uint64(int64(want)))
		default:
			p.add(stepNice, StatusNice, 0, syscall.SYS_SETPRIORITY, syscall.PRIO_PROCESS, 0, uint64(int64(want)))
		}
	}
	p.processLate(c.Process)
	for _, r := range c.Rlimits {
		// systemd's setrlimit_closest: a limit refused with EPERM (a hard limit above the one
		// the manager has, without CAP_SYS_RESOURCE, or RLIMIT_NOFILE above fs.nr_open) is
		// lowered to that hard limit.
		lim := p.words(r.Soft, r.Hard)
		if fixed, ok := closestRlimit(r, hardLimit(r.Resource)); ok {
			p.add(stepRlimit, StatusLimits, fallback(syscall.EPERM), syscall.SYS_PRLIMIT64, 0, r.Resource, lim, 0)
			p.add(stepRlimit, StatusLimits, 0, syscall.SYS_PRLIMIT64, 0, r.Resource, p.words(fixed.Soft, fixed.Hard), 0)
			continue
		}
		p.add(stepRlimit, StatusLimits, 0, syscall.SYS_PRLIMIT64, 0, r.Resource, lim, 0)
	}
	p.keyring(c)
	p.namespace(c)
	p.sandbox(c, SandboxStageNamespace)
	if c.Umask != nil {
		p.add(stepUmask, StatusFailure, 0, syscall.SYS_UMASK, *c.Umask)
	}
	if cr := c.Credential; cr != nil {
		if !cr.NoSetGroups {
			b := make([]byte, 4*len(cr.Groups)+4)
			for i, g := range cr.Groups {
				binary.LittleEndian.PutUint32(b[4*i:], g)
			}
			p.add(stepGroups, StatusGroup, 0, syscall.SYS_SETGROUPS, len(cr.Groups), p.bytesData(b))
		}
		p.add(stepGID, StatusGroup, 0, syscall.SYS_SETGID, cr.Gid)
		p.add(stepUID, StatusUser, 0, syscall.SYS_SETUID, cr.Uid)
	}
	p.sandbox(c, SandboxStageUser)
	dir := c.Dir
	if dir == "" {
		dir = "/"
	}
	var dirFlags uint64
	if c.DirOptional {
		// An optional directory that cannot be entered leaves the process in "/": systemd's
		// manager has made "/" its own working directory at start, where its exec_child
		// stays when the chdir fails; flint's may be anywhere.
		p.add(stepChdir, StatusChdir, opIgnoreError, syscall.SYS_CHDIR, p.cstring("/", 0))
		dirFlags = opIgnoreError
	}
	p.add(stepChdir, StatusChdir, dirFlags, syscall.SYS_CHDIR, p.cstring(dir, 0))
	p.noNewPrivs(c)
	// Dispositions set to SIG_IGN survive execve (handlers do not, but until the exec the
	// manager's would run in the child): reset them all, as systemd does, then ignore SIGPIPE
	// if asked. Errors are ignored.
	dfl := p.words(0, 0, 0, 0)
	for _, sig := range resetSigs {
		p.add(stepSignals, StatusSignalMask, opIgnoreError, syscall.SYS_RT_SIGACTION, sig, dfl, 0, 8)
	}
	if c.IgnoreSIGPIPE {
		ign := p.words(1, 0, 0, 0) // SIG_IGN
		p.add(stepSignals, StatusSignalMask, 0, syscall.SYS_RT_SIGACTION, int(syscall.SIGPIPE), ign, 0, 8)
	}
	p.add(stepSignalMask, StatusSignalMask, 0, syscall.SYS_RT_SIGPROCMASK, 2 /* SIG_SETMASK */, p.words(0), 0, 8)
	if ctl >= 0 {
		// The control socket was placed without close-on-exec; the final execve must close it.
		p.add(stepFDs, StatusFDs, 0, syscall.SYS_FCNTL, ctl, syscall.F_SETFD, syscall.FD_CLOEXEC)
	}

	path := p.cstring(c.Path, 0)
	argv := make([]ptr, len(c.Argv))
	for i, a := range c.Argv {
		argv[i] = p.cstring(a, 0)
	}
	// LISTEN_PID=, WATCHDOG_PID= and SYSTEMD_EXEC_PID= get the child's pid, written by an op
	// into a slot of their own (in place of any value given).
	pidVars := [3]string{"LISTEN_PID=", "WATCHDOG_PID=", "SYSTEMD_EXEC_PID="}
	pidWanted := [3]bool{c.SetListenPID, c.SetWatchdogPID, c.SetExecPID}
	pidSlot := [3]ptr{-1, -1, -1}
	var env []ptr
envs:
	for _, e := range c.Env {
		for k, v := range pidVars {
			if pidWanted[k] && len(e) >= len(v) && e[:len(v)] == v {
				if pidSlot[k] < 0 {
					pidSlot[k] = p.cstring(v, listenPIDSlot)
					env = append(env, pidSlot[k])
				}
				continue envs
			}
		}
		env = append(env, p.cstring(e, 0))
	}
	for k, v := range pidVars {
		if pidWanted[k] && pidSlot[k] < 0 {
			pidSlot[k] = p.cstring(v, listenPIDSlot)
			env = append(env, pidSlot[k])
		}
	}
	for k, v := range pidVars {
		if pidSlot[k] >= 0 {
			p.add(stepListenPID, StatusFailure, opListenPID, 0, pidSlot[k]+ptr(len(v)))
		}
	}
	argvp := p.ptrArray(argv)
	envp := p.ptrArray(env)
	if c.SkipMissing {
		p.add(stepAccess, 0, 0, syscall.SYS_FACCESSAT, atFDCWD, path, unix.X_OK)
	}
	closeAbove := -1
	if ctl < 0 {
		closeAbove = keep // the clone path: no shim runtime with fds of its own up there
	}
	p.gate(c, closeAbove)
	p.sandbox(c, SandboxStageFinal)
	p.add(stepExec, StatusExec, 0, syscall.SYS_EXECVE, path, argvp, envp)
	return p.bytes()
}

const atFDCWD = -100

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [24]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
