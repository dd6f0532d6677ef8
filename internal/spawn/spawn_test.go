package spawn

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func ptrTo[T any](v T) *T { return &v }

// TestFdsExactly has ls list its own fds (a Go child would see its runtime's fds too); the one
// ls opened to read the directory is left out.
func TestFdsExactly(t *testing.T) {
	shims(t, func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		f := tempFileIn(t, "extra")
		// A file of ours opened without close-on-exec must not leak either.
		leak := tempFileIn(t, "leak")
		leakFD, _ := fileFD(leak)
		if _, err := unixClearCloexec(leakFD); err != nil {
			t.Fatal(err)
		}
		rOut, out, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer rOut.Close()
		// A source far up (as the manager's listening sockets are): the child gets it at 6.
		high, err := unix.FcntlInt(uintptr(leakFD), unix.F_DUPFD_CLOEXEC, 900)
		if err != nil {
			t.Fatal(err)
		}
		hf := os.NewFile(uintptr(high), "high")
		defer hf.Close()
		ours := func() (ids [3]string) {
			for fd := range ids {
				var st syscall.Stat_t
				syscall.Fstat(fd, &st)
				ids[fd] = fmt.Sprint(st.Dev, st.Ino)
			}
			return ids
		}
		before := ours()
		p, err := Start(&Config{Path: "/bin/ls", Argv: []string{"ls", "-l", "/proc/self/fd/"},
			Env: []string{"LC_ALL=C"}, Stdout: out, ExtraFiles: []*os.File{pr, f, pr, hf}})
		out.Close()
		// The child's dup3 onto 0, 1, 2 happened in its own table, not in ours.
		if after := ours(); after != before {
			t.Errorf("our fds 0-2 changed by the start: %v, were %v", after, before)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rOut)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ExecResult(); err != nil {
			t.Fatal(err)
		}
		if ws := waitPid(t, p.Pid); ws.ExitStatus() != 0 {
			t.Fatalf("ls exit %v", ws)
		}
		pipeID := func(f *os.File) string {
			var st syscall.Stat_t
			fd, _ := fileFD(f)
			syscall.Fstat(fd, &st)
			return fmt.Sprintf("pipe:[%d]", st.Ino)
		}
		want := []string{"0 -> /dev/null", "1 -> " + pipeID(rOut), "2 -> /dev/null",
			"3 -> " + pipeID(pr), "4 -> " + f.Name(), "5 -> " + pipeID(pr), "6 -> " + leak.Name()}
		var fds []string
		for _, line := range strings.Split(string(got), "\n") {
			fs := strings.Fields(line)
			if len(fs) < 3 || fs[len(fs)-2] != "->" {
				continue
			}
			entry := strings.Join(fs[len(fs)-3:], " ")
			if strings.HasPrefix(fs[len(fs)-1], "/proc/") && strings.HasSuffix(fs[len(fs)-1], "/fd") {
				continue // ls's own directory fd
			}
			fds = append(fds, entry)
		}
		if !slices.Equal(fds, want) {
			t.Fatalf("child fds:\n%s\nwant:\n%s", strings.Join(fds, "\n"), strings.Join(want, "\n"))
		}
	})
}

func unixClearCloexec(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func TestListenPIDAndEnv(t *testing.T) {
	shims(t, func(t *testing.T) {
		tests := []struct {
			name      string
			env       []string
			listen    bool
			wantNames []string // env in order, with "LISTEN_PID=*" for the filled slot
		}{
			{"no listen pid", []string{"A=1", "B=two words", "EMPTY="}, false, []string{"A=1", "B=two words", "EMPTY="}},
			{"appended", []string{"A=1", "LISTEN_FDS=2"}, true, []string{"A=1", "LISTEN_FDS=2", "LISTEN_PID=*"}},
			{"replaced in place", []string{"LISTEN_PID=1", "A=1", "LISTEN_PID=7"}, true, []string{"LISTEN_PID=*", "A=1"}},
			{"empty env", nil, true, []string{"LISTEN_PID=*"}},
			{"kept when not asked", []string{"LISTEN_PID=5"}, false, []string{"LISTEN_PID=5"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rep := runChild(t, &Config{Env: tt.env, SetListenPID: tt.listen})
				want := slices.Clone(tt.wantNames)
				for i, w := range want {
					if w == "LISTEN_PID=*" {
						want[i] = "LISTEN_PID=" + strconv.Itoa(rep.Pid)
					}
				}
				if !slices.Equal(rep.Env, want) {
					t.Errorf("env %q, want %q", rep.Env, want)
				}
				if !slices.Equal(rep.Argv, []string{"svc-name", "__child"}) {
					t.Errorf("argv %q", rep.Argv)
				}
			})
		}
	})
}

// TestPIDVariables: WATCHDOG_PID= and SYSTEMD_EXEC_PID= get the child's pid as LISTEN_PID=
// does, each in its own slot, alone or together.
func TestPIDVariables(t *testing.T) {
	shims(t, func(t *testing.T) {
		tests := []struct {
			name                   string
			env                    []string
			listen, watchdog, exec bool
			want                   []string // env in order, "*" standing for the child's pid
		}{
			{"appended", []string{"A=1", "WATCHDOG_USEC=5000000"}, false, true, false, []string{"A=1", "WATCHDOG_USEC=5000000", "WATCHDOG_PID=*"}},
			{"replaced in place", []string{"WATCHDOG_PID=1", "A=1"}, false, true, false, []string{"WATCHDOG_PID=*", "A=1"}},
			{"with LISTEN_PID", []string{"LISTEN_PID=3", "A=1"}, true, true, false, []string{"LISTEN_PID=*", "A=1", "WATCHDOG_PID=*"}},
			{"kept when not asked", []string{"WATCHDOG_PID=5"}, true, false, false, []string{"WATCHDOG_PID=5", "LISTEN_PID=*"}},
			{"exec pid alone", []string{"A=1"}, false, false, true, []string{"A=1", "SYSTEMD_EXEC_PID=*"}},
			{"exec pid replaced in place", []string{"SYSTEMD_EXEC_PID=1", "A=1", "SYSTEMD_EXEC_PID=2"}, false, false, true, []string{"SYSTEMD_EXEC_PID=*", "A=1"}},
			{"all three", []string{"A=1"}, true, true, true, []string{"A=1", "LISTEN_PID=*", "WATCHDOG_PID=*", "SYSTEMD_EXEC_PID=*"}},
			{"exec pid kept when not asked", []string{"SYSTEMD_EXEC_PID=9"}, false, false, false, []string{"SYSTEMD_EXEC_PID=9"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rep := runChild(t, &Config{Env: tt.env, SetListenPID: tt.listen, SetWatchdogPID: tt.watchdog, SetExecPID: tt.exec})
				want := make([]string, len(tt.want))
				for i, w := range tt.want {
					want[i] = strings.Replace(w, "*", strconv.Itoa(rep.Pid), 1)
				}
				if !slices.Equal(rep.Env, want) {
					t.Errorf("env %q, want %q", rep.Env, want)
				}
			})
		}
	})
}

func TestSettings(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	dir, err := os.MkdirTemp("", "flint-spawn-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	// The service must be executable by nobody: copy the test binary into the public dir.
	exe, err := os.ReadFile(SelfPath)
	if err != nil {
		t.Fatal(err)
	}
	svc := filepath.Join(dir, "svc")
	if err := os.WriteFile(svc, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	shims(t, func(t *testing.T) {
		rep := runChild(t, &Config{
			Path:           svc,
			Argv:           []string{"svc-name", "__child"},
			Dir:            dir,
			Umask:          ptrTo(uint32(0o027)),
			Nice:           ptrTo(7),
			OOMScoreAdjust: ptrTo(345),
			Rlimits: []Rlimit{
				{Resource: unix.RLIMIT_MSGQUEUE, Soft: 123, Hard: 456},
				{Resource: syscall.RLIMIT_CORE, Soft: 0, Hard: ^uint64(0)},
			},
			Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{4242, 4343}},
			NewSession: true,
		})
		checks := []struct {
			name      string
			got, want any
		}{
			{"cwd", rep.Cwd, dir},
			{"umask", rep.Umask, "0027"},
			{"nice", rep.Nice, 7},
			{"oom_score_adj", rep.OOM, "345"},
			{"MSGQUEUE", rep.Rlimits["MSGQUEUE"], [2]uint64{123, 456}},
			{"CORE", rep.Rlimits["CORE"], [2]uint64{0, ^uint64(0)}},
			{"uid", rep.Uid, uid},
			{"gid", rep.Gid, gid},
			{"groups", slices.Sorted(slices.Values(rep.Groups)), []int{4242, 4343}},
			{"sid", rep.Sid, rep.Pid},
			{"pgid", rep.Pgid, rep.Pid},
			{"SigBlk", rep.SigBlk, "0000000000000000"},
		}
		for _, c := range checks {
			if !equalAny(c.got, c.want) {
				t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
			}
		}
	})
}

func equalAny(a, b any) bool {
	switch x := a.(type) {
	case []int:
		return slices.Equal(x, b.([]int))
	}
	return a == b
}

func TestDefaults(t *testing.T) {
	shims(t, func(t *testing.T) {
		rep := runChild(t, &Config{})
		if rep.Cwd != "/" {
			t.Errorf("cwd %q, want /", rep.Cwd)
		}
		if rep.Sid == rep.Pid {
			t.Error("new session without NewSession")
		}
		if rep.Uid != os.Getuid() {
			t.Errorf("uid %d", rep.Uid)
		}
	})
}

// sigLine runs grep in the child (a Go child's runtime would install its own handlers) and
// returns its "SigIgn:" and "SigBlk:" lines.
func sigLines(t *testing.T, c *Config) string {
	t.Helper()
	c.Path, c.Argv = "/bin/grep", []string{"grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"}
	return strings.Join(strings.Fields(commandOutput(t, c)), " ")
}

func TestSignals(t *testing.T) {
	// A signal the manager ignores must not stay ignored in the service, nor a blocked one
	// blocked.
	ign := [4]uint64{1, 0, 0, 0}
	var prev [4]uint64
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGTTOU),
		uintptrOf(&ign), uintptrOf(&prev), 8, 0, 0); e != 0 {
		t.Fatal(e)
	}
	defer syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGTTOU), uintptrOf(&prev), 0, 8, 0, 0)
	// One the Go runtime handles, ignored through os/signal (as the manager ignores SIGPIPE).
	signal.Ignore(syscall.SIGUSR2)
	defer signal.Reset(syscall.SIGUSR2)
	shims(t, func(t *testing.T) {
		tests := []struct {
			name string
			c    Config
			want string
		}{
			{"defaults", Config{}, "SigBlk: 0000000000000000 SigIgn: 0000000000000000"},
			{"IgnoreSIGPIPE", Config{IgnoreSIGPIPE: true}, "SigBlk: 0000000000000000 SigIgn: 0000000000001000"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := sigLines(t, &tt.c); got != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			})
		}
	})
}

// TestIgnoredSignals: the signals a CLONE_CLEAR_SIGHAND child would keep ignored are exactly
// those the kernel has as SIG_IGN for us, whether inherited, set by os/signal or set raw on a
// signal the runtime leaves alone.
// TestEverySignal checks the literal list: every signal 1-64 whose disposition can be set
// (rt_sigaction accepts a query of it), i.e. all but SIGKILL and SIGSTOP, each once, in order.
func TestEverySignal(t *testing.T) {
	var want []int
	for sig := 1; sig <= 64; sig++ {
		var old [4]uint64
		act := [4]uint64{0, 0, 0, 0} // SIG_DFL
		// Setting SIG_DFL on a signal the test process has at SIG_DFL changes nothing; the
		// kernel refuses SIGKILL and SIGSTOP with EINVAL.
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptrOf(&old), 8, 0, 0); e != 0 {
			t.Fatalf("query signal %d: %v", sig, e)
		}
		if old[0] != 0 {
			want = append(want, sig) // has a handler or is ignored: settable
			continue
		}
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptrOf(&act), 0, 8, 0, 0); e == 0 {
			want = append(want, sig)
		}
	}
	if fmt.Sprint(everySignal) != fmt.Sprint(want) {
		t.Errorf("everySignal = %v, want %v", everySignal, want)
	}
}

func TestIgnoredSignals(t *testing.T) {
	kernel := func() []int {
		var ign []int
		for sig := 1; sig <= 64; sig++ {
			var old [4]uint64
			if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptrOf(&old), 8, 0, 0); e == 0 && old[0] == 1 {
				ign = append(ign, sig)
			}
		}
		return ign
	}
	check := func(what string) {
		t.Helper()
		got, want := ignoredSignals(), kernel()
		if fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: ignoredSignals() = %v, the kernel says %v", what, got, want)
		}
	}
	check("as started")
	signal.Ignore(syscall.SIGUSR1)
	defer signal.Reset(syscall.SIGUSR1)
	check("after signal.Ignore(SIGUSR1)")
	ign := [4]uint64{1, 0, 0, 0}
	var prev [4]uint64
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGTSTP), uintptrOf(&ign), uintptrOf(&prev), 8, 0, 0); e != 0 {
		t.Fatal(e)
	}
	defer syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGTSTP), uintptrOf(&prev), 0, 8, 0, 0)
	check("after SIGTSTP set to SIG_IGN")
	if !slices.Contains(ignoredSignals(), int(syscall.SIGUSR1)) || !slices.Contains(ignoredSignals(), int(syscall.SIGTSTP)) {
		t.Errorf("ignoredSignals() = %v, want SIGUSR1 and SIGTSTP in it", ignoredSignals())
	}
}

func TestPgid(t *testing.T) {
	shims(t, func(t *testing.T) {
		rep := runChild(t, &Config{Pgid: syscall.Getpgrp()})
		if rep.Pgid != syscall.Getpgrp() {
			t.Errorf("pgid %d, want %d", rep.Pgid, syscall.Getpgrp())
		}
	})
}

func TestExecErrors(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644)
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("\x00\x01not an executable"), 0o755)
	shims(t, func(t *testing.T) {
		tests := []struct {
			name   string
			c      Config
			status int
			step   string
			errno  syscall.Errno
		}{
			{"missing binary", Config{Path: filepath.Join(dir, "nope")}, 203, "execve", syscall.ENOENT},
			{"not executable", Config{Path: noexec}, 203, "execve", syscall.EACCES},
			{"bad format", Config{Path: garbage}, 203, "execve", syscall.ENOEXEC},
			{"directory", Config{Path: dir}, 203, "execve", syscall.EACCES},
			// A '-' command: what cannot be executed exits 0, as systemd's exec_child.
			{"missing binary, skipped", Config{Path: filepath.Join(dir, "nope"), SkipMissing: true}, 0, "access", syscall.ENOENT},
			{"not executable, skipped", Config{Path: noexec, SkipMissing: true}, 0, "access", syscall.EACCES},
			{"bad format, not skipped", Config{Path: garbage, SkipMissing: true}, 203, "execve", syscall.ENOEXEC},
			{"missing dir", Config{Path: "/bin/true", Dir: filepath.Join(dir, "nope")}, 200, "chdir", syscall.ENOENT},
			{"bad pgid", Config{Path: "/bin/true", Pgid: 1}, 220, "setsid", syscall.EPERM},
			{"nice too high without privilege", Config{Path: "/bin/true", Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Rlimits: []Rlimit{{Resource: syscall.RLIMIT_NOFILE, Soft: 10, Hard: 5}}}, 205, "setrlimit", syscall.EINVAL},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := tt.c
				c.Argv = []string{"x"}
				p, err := Start(&c)
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				err = p.ExecResult()
				var ee *ExecError
				if !errors.As(err, &ee) {
					t.Fatalf("Exec = %v, want ExecError", err)
				}
				if ee.Status != tt.status || ee.Step != tt.step || !errors.Is(err, tt.errno) {
					t.Errorf("got %v, want status %d step %s errno %v", ee, tt.status, tt.step, tt.errno)
				}
				ws := waitPid(t, p.Pid)
				if !ws.Exited() || ws.ExitStatus() != tt.status {
					t.Errorf("child wait status %v, want exit %d", ws, tt.status)
				}
				if again := p.ExecResult(); again != err {
					t.Errorf("ExecResult after the exit = %v, want the same %v", again, err)
				}
			})
		}
	})
}

// TestDirOptional: an optional working directory is entered when it can be; when it cannot,
// the process is in "/" (where systemd's manager is), not in the manager's working directory
// (the package directory in tests).
func TestDirOptional(t *testing.T) {
	there := t.TempDir()
	shims(t, func(t *testing.T) {
		for dir, want := range map[string]string{"/nonexistent/flint": "/", there: there} {
			rep := runChild(t, &Config{Dir: dir, DirOptional: true})
			if rep.Cwd != want {
				t.Errorf("WorkingDirectory=-%s: cwd %q, want %q", dir, rep.Cwd, want)
			}
		}
	})
}

// TestSkipMissingRuns: SkipMissing changes nothing for an executable that is there.
func TestSkipMissingRuns(t *testing.T) {
	shims(t, func(t *testing.T) {
		rep := runChild(t, &Config{SkipMissing: true, Env: []string{"A=1"}})
		if !slices.Contains(rep.Env, "A=1") {
			t.Errorf("env %q", rep.Env)
		}
	})
}

func TestConcurrentStarts(t *testing.T) {
	shims(t, func(t *testing.T) {
		const n = 40
		var wg sync.WaitGroup
		stop := make(chan struct{})
		defer close(stop)
		go func() { // collections and stack growth while children are being set up
			for {
				select {
				case <-stop:
					return
				default:
					runtime.GC()
				}
			}
		}()
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				f, err := os.Open("/dev/null")
				if err != nil {
					errs <- err
					return
				}
				defer f.Close()
				p, err := Start(&Config{Path: "/bin/sh", Argv: []string{"sh", "-c", `[ "$LISTEN_PID" = $$ ] && [ "$I" = ` + strconv.Itoa(i) + ` ] && [ -e /proc/self/fd/3 ] && [ ! -e /proc/self/fd/4 ]`},
					Env: []string{"I=" + strconv.Itoa(i)}, SetListenPID: true, ExtraFiles: []*os.File{f}})
				if err != nil {
					errs <- err
					return
				}
				if err := p.ExecResult(); err != nil {
					errs <- err
				}
				var ws syscall.WaitStatus
				if _, err := syscall.Wait4(p.Pid, &ws, 0, nil); err != nil {
					errs <- err
				} else if ws.ExitStatus() != 0 {
					errs <- errors.New("child " + strconv.Itoa(i) + " saw wrong LISTEN_PID, env or fds: " + strconv.Itoa(ws.ExitStatus()))
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

func TestLargeEnvironment(t *testing.T) {
	shims(t, func(t *testing.T) {
		big := make([]byte, 100<<10)
		for i := range big {
			big[i] = 'a' + byte(i%26)
		}
		rep := runChild(t, &Config{Env: []string{"BIG=" + string(big)}, SetListenPID: true})
		if len(rep.Env) != 2 || rep.Env[0] != "BIG="+string(big) || rep.ListenPID != strconv.Itoa(rep.Pid) {
			t.Errorf("env not passed intact (%d entries)", len(rep.Env))
		}
	})
}

func TestExitStatusName(t *testing.T) {
	for code, want := range map[int]string{0: "SUCCESS", 1: "FAILURE", 200: "CHDIR", 203: "EXEC", 205: "LIMITS", 206: "OOM_ADJUST", 217: "USER", 216: "GROUP", 255: "EXCEPTION", 77: "NOPERM", 100: "", -1: "", 256: "", 1 << 20: ""} {
		if got := ExitStatusName(code); got != want {
			t.Errorf("ExitStatusName(%d) = %q, want %q", code, got, want)
		}
	}
}
