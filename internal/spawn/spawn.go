package spawn

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// Rlimit is one resource limit to set in the child (prlimit64; unit.Infinity is RLIM_INFINITY).
type Rlimit struct {
	Resource int // syscall.RLIMIT_*
	Soft     uint64
	Hard     uint64
}

// Config describes one process to start. Start only reads it.
type Config struct {
	Path string   // executable; execve(2) semantics, no $PATH search
	Argv []string // Argv[0] as the program sees it
	Env  []string // the complete environment, KEY=VALUE
	// SkipMissing: a Path the child cannot execute (faccessat X_OK fails) ends the child with
	// status 0 before its execve, reported as an *ExecError of Status 0 and Step "access":
	// systemd's exec_child for a command with the '-' prefix ("Executable ... missing,
	// skipping").
	SkipMissing bool

	Dir         string // working directory; "" means "/"
	DirOptional bool   // a failing chdir is ignored (WorkingDirectory=-DIR)

	// Standard streams; nil means /dev/null. They may be the same file (an inetd-style
	// connection). The caller keeps ownership: Start neither closes them nor changes their
	// blocking mode; close them after Start returns.
	Stdin, Stdout, Stderr *os.File
	// ExtraFiles become fds 3, 4, ... in order, without close-on-exec. No other fd of the
	// manager reaches the child. Same ownership rule as the standard streams.
	ExtraFiles []*os.File

	SetListenPID   bool // the environment gets LISTEN_PID=<the child's pid> (replacing any given)
	SetWatchdogPID bool // the environment gets WATCHDOG_PID=<the child's pid> (replacing any given)
	SetExecPID     bool // the environment gets SYSTEMD_EXEC_PID=<the child's pid> (replacing any given)
	IgnoreSIGPIPE  bool // SIGPIPE ignored in the child (systemd's IgnoreSIGPIPE=, default yes)

	Credential     *syscall.Credential // nil keeps the manager's; Groups are the supplementary groups
	Umask          *uint32
	Nice           *int
	OOMScoreAdjust *int
	Rlimits        []Rlimit
	// Gate, when not nil, is the read end of a pipe the child reads a byte (or EOF) from
	// right before its execve: the caller does what must precede the service's start but
	// needs its pid (utmp records), then writes a byte to the pipe or closes its write end.
	// The service never sees the fd. The child makes the pipe end blocking: close Gate after
	// Start, as any file of a Config.
	Gate *os.File
	// Process holds the scheduling, affinity, memory policy, I/O priority, timer slack and
	// core dump filter settings (process.go); nil: all the manager's.
	Process *ProcessSettings
	// Mounts, when not empty, are made in a mount namespace of the child's own before its
	// credentials change (mounts.go); a failure is 226/NAMESPACE.
	Mounts []Mount
	// NoNewPrivs sets no_new_privs (prctl PR_SET_NO_NEW_PRIVS, systemd's NoNewPrivileges=)
	// once in the working directory; refused, it is 227/NO_NEW_PRIVILEGES.
	NoNewPrivs bool
	// Keyring, when not nil, is the session keyring the child joins (keyring.go).
	Keyring *Keyring
	// UserNS, when not nil, clones the child into a user namespace of its own (userns.go).
	UserNS *UserNS
	// JoinNS are namespaces (network, IPC: ones a thread may join) the child is cloned in:
	// the fork happens on a thread of its own that joins them first and ends after it
	// (userns.go). Same ownership rule as the standard streams.
	JoinNS []*os.File
	// HelperFiles reach the sandboxed spawn helper (Sandbox set) as fds HelperFD(c, 0),
	// ...: for its set-up only, closed by the service's execve. Same ownership rule as
	// the standard streams.
	HelperFiles []*os.File
	// Sandbox, when not nil, is an internal/sandbox spec: the child is then flint re-executed
	// as `flint __sandbox FD` (sandbox.go), which applies it at systemd's points of exec_child.
	Sandbox []byte

	// CgroupProcs are cgroup.procs files (one per hierarchy) the child writes itself into
	// first, before any other step, so that nothing it forks is outside its unit's cgroup
	// (cgroup.go); a failure is 219/CGROUP.
	CgroupProcs []string
	// CgroupDirFD, when > 0, is an open directory of a cgroup2 group the child starts in
	// (clone3's CLONE_INTO_CGROUP, Linux 5.7, on the clone path); where that cannot be used,
	// the child writes CgroupDirProcs (that group's cgroup.procs) first, as CgroupProcs.
	CgroupDirFD    int
	CgroupDirProcs string

	NewSession bool // setsid(): own session and process group (every unit process in systemd)
	Pgid       int  // without NewSession: join this process group (0: stay in the manager's)
}

// Process is a started child. The manager reaps it (wait4); this package never waits.
type Process struct {
	Pid int

	st   *execState   // the vfork path's report (vfork_amd64.go)
	ch   <-chan error // the shims' report, read from their control socket
	once sync.Once
	err  error
}

// ExecResult waits until the child's execve succeeded (nil) or a step before it failed (an
// *ExecError; the child then exits with ExecError.Status, which the manager collects like any
// exit). Once the child has exited — after the manager reaped it — it returns at once. A child
// killed before its exec reports nil; its exit status tells the truth. It may be called any
// number of times, from any goroutine.
func (p *Process) ExecResult() error {
	p.once.Do(func() {
		if p.st != nil {
			p.err = p.st.wait()
		} else {
			p.err = <-p.ch
		}
	})
	return p.err
}

// ExecError is a failure in the child between fork and the service's execve.
type ExecError struct {
	Status int    // systemd exit status the child exits with (StatusExec, StatusChdir, ...)
	Step   string // the failing system call: "execve", "chdir", "setuid", ...
	Err    error  // a syscall.Errno
}

func (e *ExecError) Error() string {
	return fmt.Sprintf("%s: %v (exit status %d/%s)", e.Step, e.Err, e.Status, ExitStatusName(e.Status))
}

func (e *ExecError) Unwrap() error { return e.Err }

// SelfPath is the flint binary re-executed as the portable shim (argv[1] "__spawn", see
// ShimMain). Tests point it at the test binary.
var SelfPath = "/proc/self/exe"

// ShimVerb is argv[1] of the re-executed shim.
const ShimVerb = "__spawn"

// How Start creates the child: useVfork selects the shim-less clone(CLONE_VM) path
// (amd64); otherwise flint re-executes itself as the shim. useClone3 (vfork path) clones with
// clone3 and CLONE_CLEAR_SIGHAND; switched off for good when the kernel refuses it. Tests
// switch useVfork off to run the re-executed shim on amd64 too; noSharedTable, for tests,
// has the vfork path clone with a copy of the descriptor table (vfork_amd64.go).
var (
	mode          sync.Mutex
	useVfork      = vforkAvailable
	useClone3     = vforkAvailable
	noSharedTable bool
)

// ignoredSignals lists the signals whose disposition is SIG_IGN in this process: the ones a
// child cloned with CLONE_CLEAR_SIGHAND still has ignored (the kernel resets only handlers)
// and whose reset the program must do itself. The Go runtime has a handler on every signal
// but those it leaves as inherited (SIGHUP and SIGINT when ignored at start, the job-control
// signals while os/signal does not watch them): their dispositions are read here; the others
// are ignored only through signal.Ignore, which os/signal knows.
func ignoredSignals() []int {
	var sigs []int
	for sig := 1; sig <= 64; sig++ {
		switch syscall.Signal(sig) {
		case syscall.SIGKILL, syscall.SIGSTOP:
		case syscall.SIGHUP, syscall.SIGINT, syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
			var old [4]uint64 // struct sigaction: handler, flags, restorer, mask
			_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old[0])), 8, 0, 0)
			if e != 0 || old[0] == 1 { // SIG_IGN (or unknown: reset it)
				sigs = append(sigs, sig)
			}
		default:
			if signal.Ignored(syscall.Signal(sig)) {
				sigs = append(sigs, sig)
			}
		}
	}
	return sigs
}

var devNull struct {
	once sync.Once
	fd   int
	err  error
}

func nullFD() (int, error) {
	devNull.once.Do(func() {
		devNull.fd, devNull.err = syscall.Open("/dev/null", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if devNull.err != nil {
			devNull.err = fmt.Errorf("open /dev/null: %w", devNull.err)
		}
	})
	return devNull.fd, devNull.err
}

// fileFD returns f's descriptor without switching it to blocking mode (unlike f.Fd()).
func fileFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("%s: %w", f.Name(), err)
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return fd, nil
}

// Start forks the shim, which sets the child up as c says and execs c.Path keeping its pid (so
// LISTEN_PID is right). It returns as soon as the child exists; Process.ExecResult tells how
// the execve went. The error is non-nil only when no child was created.
func Start(c *Config) (*Process, error) {
	if c.Path == "" || len(c.Argv) == 0 {
		return nil, errors.New("spawn: empty Path or Argv")
	}
	if err := checkNUL(c); err != nil {
		return nil, err
	}
	files := make([]uintptr, 0, 4+len(c.ExtraFiles))
	for _, f := range []*os.File{c.Stdin, c.Stdout, c.Stderr} {
		fd := -1
		var err error
		if f == nil {
			fd, err = nullFD()
		} else {
			fd, err = fileFD(f)
		}
		if err != nil {
			return nil, fmt.Errorf("spawn %s: %w", c.Path, err)
		}
		files = append(files, uintptr(fd))
	}
	for _, f := range c.ExtraFiles {
		fd, err := fileFD(f)
		if err != nil {
			return nil, fmt.Errorf("spawn %s: %w", c.Path, err)
		}
		files = append(files, uintptr(fd))
	}
	if c.Gate != nil { // fd 3+len(ExtraFiles) in the child (gateFD)
		fd, err := fileFD(c.Gate)
		if err != nil {
			return nil, fmt.Errorf("spawn %s: %w", c.Path, err)
		}
		files = append(files, uintptr(fd))
	}
	mode.Lock()
	vfork := useVfork
	mode.Unlock()
	if c.Sandbox != nil || c.UserNS != nil || len(c.JoinNS) > 0 ||
		c.Process != nil && c.Process.CoredumpFilter != nil {
		// A sandbox, a user namespace or namespaces to join need the portable path. The
		// core dump filter belongs to the memory, which a CLONE_VM child shares with the
		// manager until its exec: it is written by a child of its own memory.
		vfork = false
	}
	if vfork {
		ints := make([]int, len(files))
		for i, fd := range files {
			ints[i] = int(fd)
		}
		p, err := startVfork(c, ints)
		runtime.KeepAlive(c)
		return p, err
	}
	ctl := len(files)
	block := compile(c, ctl, nil)
	if c.Sandbox != nil {
		block = append(block, make([]byte, 8)...)
		putLE64(block[len(block)-8:], uint64(len(c.Sandbox)))
		block = append(block, c.Sandbox...)
	}

	// sp[0] stays here: we write the program and read the report. sp[1] becomes fd ctl in the
	// child, closed here after the fork and in the child by its final execve.
	sp, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("spawn %s: socketpair: %w", c.Path, err)
	}
	files = append(files, uintptr(sp[1]))
	if c.Sandbox != nil {
		for _, f := range c.HelperFiles {
			fd, err := fileFD(f)
			if err != nil {
				syscall.Close(sp[0])
				syscall.Close(sp[1])
				return nil, fmt.Errorf("spawn %s: %w", c.Path, err)
			}
			files = append(files, uintptr(fd))
		}
	}
	// The whole program normally fits the socket buffer: write it before the fork so the
	// child never waits. A huge environment is written concurrently instead.
	written := 0
	if len(block) <= 64<<10 {
		n, err := syscall.Write(sp[0], block)
		if err != nil {
			syscall.Close(sp[0])
			syscall.Close(sp[1])
			return nil, fmt.Errorf("spawn %s: write program: %w", c.Path, err)
		}
		written = n
	}

	verb := ShimVerb
	if c.Sandbox != nil {
		verb = SandboxVerb
	}
	pid, err := forkShimIn(c.JoinNS, files, ctl, verb, c.UserNS.sysProcAttr())
	syscall.Close(sp[1])
	runtime.KeepAlive(c)
	if err != nil {
		syscall.Close(sp[0])
		return nil, fmt.Errorf("spawn %s: start shim: %w", c.Path, err)
	}
	ch := make(chan error, 1)
	go func() {
		if written < len(block) {
			writeAll(sp[0], block[written:])
		}
		ch <- readReport(sp[0])
		syscall.Close(sp[0])
	}()
	return &Process{Pid: pid, ch: ch}, nil
}

// HelperFD is the fd number HelperFiles[i] has in the sandboxed spawn helper: after the
// standard streams, the ExtraFiles and the control socket.
func HelperFD(c *Config, i int) int { return 3 + len(c.ExtraFiles) + 1 + i }

// checkNUL rejects strings that cannot pass through execve or chdir whole.
func checkNUL(c *Config) error {
	bad := func(what, s string) error {
		if strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("spawn %s: %s %q contains NUL: %w", c.Path, what, s, syscall.EINVAL)
		}
		return nil
	}
	if err := bad("path", c.Path); err != nil {
		return err
	}
	if err := bad("working directory", c.Dir); err != nil {
		return err
	}
	for _, a := range c.Argv {
		if err := bad("argument", a); err != nil {
			return err
		}
	}
	for _, e := range c.Env {
		if err := bad("environment entry", e); err != nil {
			return err
		}
	}
	return nil
}

// forkShim starts flint itself as the shim (argv[1] verb: ShimVerb, or SandboxVerb), the
// program to come on fd ctl.
func forkShim(files []uintptr, ctl int, verb string, sys *syscall.SysProcAttr) (int, error) {
	attr := &syscall.ProcAttr{Env: []string{}, Files: files, Sys: sys}
	return syscall.ForkExec(SelfPath, []string{SelfPath, verb, strconv.Itoa(ctl)}, attr)
}

func writeAll(fd int, b []byte) {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return // the child died; its exit status tells why
		}
		b = b[n:]
	}
}

// readReport reads the control socket to EOF: nothing means the final execve succeeded (or the
// shim died without a word, which its exit status then shows); a report is an ExecError.
func readReport(fd int) error {
	var buf [reportBytes]byte
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m == 0 {
			break
		}
		n += m
	}
	if n < reportBytes {
		return nil
	}
	return reportError(le64(buf[0:]), le64(buf[8:]), le64(buf[16:]))
}

// reportError makes the ExecError of a shim's report {status, errno, step}.
func reportError(status, errno, step uint64) error {
	name := stepName(step)
	if name == "" {
		name = "step " + strconv.FormatUint(step, 10)
	}
	return &ExecError{Status: int(status), Step: name, Err: syscall.Errno(errno)}
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func putLE64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}
