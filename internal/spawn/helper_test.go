package spawn

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// The test binary plays both the shim (argv[1] "__spawn", as flint would) and the service
// (argv[1] "__child": it reports what it sees as JSON on stdout).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case ShimVerb:
			os.Exit(ShimMain(os.Args[2:]))
		case "__child":
			os.Exit(childMain())
		case "__clone3_refused":
			os.Exit(clone3RefusedMain())
		}
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	SelfPath = exe
	os.Exit(m.Run())
}

type fdInfo struct {
	Fd  int
	Dev uint64
	Ino uint64
}

type childReport struct {
	Argv      []string
	Pid       int
	Sid       int
	Pgid      int
	Env       []string
	Cwd       string
	Fds       []fdInfo
	Umask     string
	Nice      int
	OOM       string
	Uid, Gid  int
	Groups    []int
	Rlimits   map[string][2]uint64
	SigIgn    string
	SigBlk    string
	ListenPID string
}

// childMain lists its fds first, before the Go runtime or this code opens anything else.
func childMain() int {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return 90
	}
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return 91
	}
	self, _ := fileFD(dir)
	var r childReport
	for _, n := range names {
		fd, _ := strconv.Atoi(n)
		if fd == self {
			continue
		}
		if os.Getenv("SPAWN_DEBUG") != "" {
			l, _ := os.Readlink("/proc/self/fd/" + n)
			fmt.Fprintln(os.Stderr, "fd", n, l)
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			return 92
		}
		r.Fds = append(r.Fds, fdInfo{fd, st.Dev, st.Ino})
	}
	dir.Close()
	sort.Slice(r.Fds, func(i, j int) bool { return r.Fds[i].Fd < r.Fds[j].Fd })
	r.Argv = os.Args
	r.Pid = os.Getpid()
	sid, _, _ := syscall.RawSyscall(syscall.SYS_GETSID, 0, 0, 0)
	r.Sid = int(sid)
	r.Pgid = syscall.Getpgrp()
	r.Env = os.Environ()
	r.ListenPID = os.Getenv("LISTEN_PID")
	r.Cwd, _ = os.Getwd()
	prio, _ := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	r.Nice = 20 - prio // the raw syscall returns 20-nice
	oom, _ := os.ReadFile("/proc/self/oom_score_adj")
	r.OOM = strings.TrimSpace(string(oom))
	r.Uid, r.Gid = os.Getuid(), os.Getgid()
	r.Groups, _ = os.Getgroups()
	r.Rlimits = map[string][2]uint64{}
	for name, res := range map[string]int{"NOFILE": syscall.RLIMIT_NOFILE, "CORE": syscall.RLIMIT_CORE, "MSGQUEUE": 12} {
		var l syscall.Rlimit
		syscall.Getrlimit(res, &l)
		r.Rlimits[name] = [2]uint64{l.Cur, l.Max}
	}
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimSpace(v)
		switch k {
		case "Umask":
			r.Umask = v
		case "SigIgn":
			r.SigIgn = v
		case "SigBlk":
			r.SigBlk = v
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(&r); err != nil {
		return 93
	}
	return 0
}

// waitPid reaps one child of the test (the manager's job in flint) and returns its wait status.
func waitPid(t testing.TB, pid int) syscall.WaitStatus {
	t.Helper()
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("wait4 %d: %v", pid, err)
		}
		return ws
	}
}

// startModes are the ways Start can create a child.
type startMode struct {
	name   string
	vfork  bool
	clone3 bool // vfork path: clone3 with CLONE_CLEAR_SIGHAND (else clone, handlers reset by the program)
	copyFD bool // vfork path: a copy of the descriptor table at the clone (else shared, then unshared)
}

func startModes() []startMode {
	var m []startMode
	if vforkAvailable {
		m = append(m, startMode{"vfork", true, true, false}, startMode{"vfork-clone", true, false, false},
			startMode{"vfork-copyfd", true, true, true})
	}
	return append(m, startMode{"go", false, false, false})
}

// shims runs f once per way of starting a child.
func shims(t *testing.T, f func(t *testing.T)) {
	for _, m := range startModes() {
		t.Run(m.name, func(t *testing.T) {
			setMode(t, m)
			f(t)
		})
	}
}

func setMode(t testing.TB, m startMode) {
	mode.Lock()
	oldV, oldC, oldF := useVfork, useClone3, noSharedTable
	useVfork, useClone3, noSharedTable = m.vfork, m.clone3, m.copyFD
	mode.Unlock()
	t.Cleanup(func() {
		mode.Lock()
		useVfork, useClone3, noSharedTable = oldV, oldC, oldF
		mode.Unlock()
	})
}

// runChild starts the test binary as a service with c (Path/Argv filled in), collects its report
// and reaps it.
func runChild(t *testing.T, c *Config) childReport {
	t.Helper()
	if c.Path == "" {
		c.Path = SelfPath
		c.Argv = []string{"svc-name", "__child"}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c.Stdout = w
	if os.Getenv("SPAWN_DEBUG") != "" {
		c.Stderr = os.Stderr
	}
	p, err := Start(c)
	w.Close()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := p.ExecResult(); err != nil {
		t.Fatalf("exec: %v", err)
	}
	var rep childReport
	dec := json.NewDecoder(r)
	decErr := dec.Decode(&rep)
	ws := waitPid(t, p.Pid)
	if decErr != nil || ws.ExitStatus() != 0 {
		t.Fatalf("child: exit %v, report: %v", ws, decErr)
	}
	if rep.Pid != p.Pid {
		t.Errorf("child pid %d, Start said %d", rep.Pid, p.Pid)
	}
	return rep
}

// commandOutput runs c (a command that is not the test binary) and returns its standard
// output; it must exit 0.
func commandOutput(t *testing.T, c *Config) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c.Stdout = w
	p, err := Start(c)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(r)
	if err := p.ExecResult(); err != nil {
		t.Fatalf("exec: %v", err)
	}
	if ws := waitPid(t, p.Pid); ws.ExitStatus() != 0 {
		t.Fatalf("%s: %v", c.Path, ws)
	}
	return string(out)
}

func tempFileIn(t *testing.T, name string) *os.File {
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func uintptrOf(p *[4]uint64) uintptr { return uintptr(unsafe.Pointer(p)) }
