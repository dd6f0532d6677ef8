// Package e2e holds end-to-end tests of the real flint binary: TestMain builds bin/flint (and the
// seed example's servers) once, each test writes unit files under t.TempDir(), starts
// `flint run --units DIR --control SOCK` as a child process, connects to real sockets and drives
// the CLI exactly as a user would.
//
// The test binary doubles as a service program: run as `e2e.test __e2e_envdump OUT MODE` it
// records the environment and open fds it was started with (see envdump_test.go); as
// `e2e.test __e2e_fdstore COUNT` it fills its fd store (fdstore_test.go).
package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/testproc"
)

// Paths of the binaries TestMain builds; the directory is removed when the tests end.
var (
	flintBin    string // cmd/flint
	foobardC    string // examples/foobar/server.c, gcc -lsystemd
	foobardGo   string // examples/foobar/goserver
	selfBin     string // this test binary, used as a service program
	repoRootDir string
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case envdumpVerb:
			os.Exit(envdumpMain(os.Args[2:]))
		case fdstoreVerb:
			os.Exit(fdstoreMain(os.Args[2:]))
		case hostileVerb:
			os.Exit(hostileMain(os.Args[2:]))
		}
	}
	if len(os.Args) > 1 && os.Args[1] == floodVerb {
		os.Exit(floodMain(os.Args[2:]))
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "flint-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build:", err)
		return 1
	}
	// A system manager makes /run/systemd/system unless told --no-booted, and serves
	// journald's sockets unless told --no-journal-sockets (launchManager does both): a test
	// that forgot it outside a private mount namespace would leave the host looking booted
	// with systemd, or take its /dev/log and /run/systemd/journal.
	_, err = os.Lstat(sdBootedDir)
	absent := err != nil
	before, beforeRun := testproc.HostJournalState(), hostSandboxState()
	code := m.Run()
	if _, err := os.Lstat(sdBootedDir); absent && err == nil {
		fmt.Fprintf(os.Stderr, "e2e: a test left %s on the host: flint run without --no-booted outside a private /run\n", sdBootedDir)
		os.Remove(sdBootedDir)
		return 1
	}
	if after := testproc.HostJournalState(); after != before {
		fmt.Fprintf(os.Stderr, "e2e: a test changed the host's journal sockets (%s, was %s): flint run without --no-journal-sockets outside a private mount namespace\n", after, before)
		return 1
	}
	if after := hostSandboxState(); after != beforeRun {
		fmt.Fprintf(os.Stderr, "e2e: a test changed the host's sandbox directories:\nbefore:\n%safter:\n%s(a manager whose runtime directory is the host's /run/flint, or another flint on this host)\n", beforeRun, after)
		return 1
	}
	return code
}

// hostSandboxState is what the host has where a system manager with the default runtime
// directory builds its units' sandboxes: /run/flint's unit-root, inaccessible, empty and
// credentials, and /run/credentials. The tests' managers have runtime directories of their
// own (next to their control sockets).
func hostSandboxState() string {
	var b strings.Builder
	for _, d := range []string{"/run/flint/unit-root", "/run/flint/inaccessible", "/run/flint/empty", "/run/flint/credentials", "/run/credentials"} {
		es, err := os.ReadDir(d)
		fmt.Fprintf(&b, "%s exists: %v;", d, err == nil)
		for _, e := range es {
			fmt.Fprintf(&b, " %s", e.Name())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// sdBootedDir is what sd_booted() looks for.
const sdBootedDir = "/run/systemd/system"

func buildAll(dir string) error {
	_, file, _, _ := runtime.Caller(0)
	repoRootDir = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	var err error
	if selfBin, err = os.Executable(); err != nil {
		return err
	}
	flintBin = filepath.Join(dir, "flint")
	foobardC = filepath.Join(dir, "foobard")
	foobardGo = filepath.Join(dir, "goserver")
	steps := [][]string{
		// As README builds it: static, without cgo (users and groups from /etc/passwd and
		// /etc/group, no dynamic loader at each start of the command).
		{"env", "CGO_ENABLED=0", "go", "build", "-o", flintBin, "./cmd/flint"},
		{"go", "build", "-o", foobardGo, "./examples/foobar/goserver"},
		// A missing compiler or libsystemd-dev is a failure, not a skip: .ci/run installs them.
		{"gcc", "-O2", "-Wall", "-o", foobardC, "examples/foobar/server.c", "-lsystemd"},
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Dir = repoRootDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(s, " "), err, out)
		}
	}
	return nil
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// manager is one `flint run` child process.
type manager struct {
	t       *testing.T
	units   string
	control string
	cmd     *exec.Cmd
	out     *syncBuffer
	done    chan struct{} // closed when the process has exited; then err is set
	err     error
}

// startManager starts `flint run --units units --control SOCK` and waits until its control socket
// accepts connections. The process is stopped (SIGTERM, then SIGKILL) when the test ends unless
// the test stopped it itself.
func startManager(t *testing.T, units string) *manager {
	t.Helper()
	return launchManager(t, units, launchOptions{stopWait: 10 * time.Second})
}

// launchOptions vary how launchManager starts `flint run`.
type launchOptions struct {
	global   []string      // global flags before "run" (--user)
	runFlags []string      // flags after "run" (--log-to-stdout)
	more     []string      // further unit directories, after the first (--units each)
	env      []string      // the manager's environment; nil = the test's
	stopWait time.Duration // SIGTERM to SIGKILL at cleanup
	control  string        // the control socket; "" = a new one under t.TempDir()
	// wrap runs flint through a command that execs it (unshare ... sh -c '... exec "$@"'):
	// the process started is flint's, whatever namespaces wrap gave it.
	wrap []string
	// noUnits starts flint run without --units (on $SYSTEMD_UNIT_PATH or systemd's path).
	noUnits bool
	// command, when set, is started instead of flint: it execs `flint run` itself with the
	// arguments it chooses, which serves the control socket control (a container's PID 1
	// behind a bind mount). cloneflags are the namespaces it starts in.
	command    []string
	cloneflags uintptr
	// cgroupDir, when set, is a cgroup2 directory the process is cloned into
	// (CLONE_INTO_CGROUP): with CLONE_NEWCGROUP, the root of its cgroup namespace.
	cgroupDir string
	// booted lets flint run create /run/systemd/system (sd_booted()): only in a private
	// mount namespace (wrap) with a /run of its own; otherwise --no-booted keeps the host's
	// /run as it is.
	booted bool
	// journal lets a system manager serve journald's sockets (/run/systemd/journal, /dev/log):
	// only in a private mount namespace (wrap) with a /run and /dev/log of its own; otherwise
	// --no-journal-sockets keeps the host's as they are.
	journal bool
}

// launchManager starts `flint run` and waits for its control socket; see startManager.
func launchManager(t *testing.T, units string, o launchOptions) *manager {
	t.Helper()
	m := &manager{
		t:       t,
		units:   units,
		control: o.control,
		out:     &syncBuffer{},
		done:    make(chan struct{}),
	}
	if m.control == "" {
		m.control = filepath.Join(t.TempDir(), "control.sock")
	}
	args := append(append([]string(nil), o.global...), "run", "--control", m.control)
	if !o.booted {
		args = append(args, "--no-booted")
	}
	args = append(args, o.runFlags...)
	if !o.journal {
		args = append(args, "--no-journal-sockets")
	}
	if !o.noUnits {
		args = append(args, "--units", units)
	}
	for _, d := range o.more {
		args = append(args, "--units", d)
	}
	m.cmd = exec.Command(flintBin, args...)
	if len(o.wrap) > 0 {
		m.cmd = exec.Command(o.wrap[0], append(append(o.wrap[1:], flintBin), args...)...)
	}
	if len(o.command) > 0 {
		m.cmd = exec.Command(o.command[0], o.command[1:]...)
	}
	if o.env != nil {
		m.cmd.Env = o.env
	}
	m.cmd.Stdout = m.out
	m.cmd.Stderr = m.out
	// Own process group, so that a stray service cannot outlive the test through it.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Cloneflags: o.cloneflags}
	if o.cgroupDir != "" {
		dir, err := os.Open(o.cgroupDir)
		if err != nil {
			t.Fatal(err)
		}
		defer dir.Close()
		m.cmd.SysProcAttr.UseCgroupFD, m.cmd.SysProcAttr.CgroupFD = true, int(dir.Fd())
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start flint run: %v", err)
	}
	go func() {
		m.err = m.cmd.Wait()
		close(m.done)
	}()
	t.Cleanup(func() {
		if !m.exited() {
			m.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-m.done:
			case <-time.After(o.stopWait):
				m.cmd.Process.Kill()
				<-m.done
			}
		}
		if t.Failed() {
			t.Logf("flint run output:\n%s", m.out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m.exited() {
			t.Fatalf("flint run exited early (%v):\n%s", m.err, m.out.String())
		}
		if listening(m.control) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("flint run: no control socket %s after 10s:\n%s", m.control, m.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (m *manager) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// terminate sends SIGTERM and returns the exit code (see stopWith).
func (m *manager) terminate() int {
	m.t.Helper()
	return m.stopWith(syscall.SIGTERM)
}

// stopWith sends sig to flint and returns its exit code; it fails the test if flint takes more
// than 15 seconds.
func (m *manager) stopWith(sig syscall.Signal) int {
	m.t.Helper()
	if err := m.cmd.Process.Signal(sig); err != nil {
		m.t.Fatalf("%v to flint: %v", sig, err)
	}
	select {
	case <-m.done:
	case <-time.After(15 * time.Second):
		m.t.Fatalf("flint run still running 15s after %v:\n%s\n%s", sig, m.out.String(), m.stuck())
	}
	return m.cmd.ProcessState.ExitCode()
}

// stuck describes a manager that does not finish: its jobs, its units that are not inactive
// and the processes under it.
func (m *manager) stuck() string {
	var b strings.Builder
	for _, args := range [][]string{{"list-jobs"}, {"list-units", "--state=active,activating,deactivating,reloading,failed"}} {
		cmd := exec.Command(flintBin, append([]string{"--control", m.control}, args...)...)
		out, _ := cmd.CombinedOutput()
		fmt.Fprintf(&b, "flint %s:\n%s\n", strings.Join(args, " "), out)
	}
	b.WriteString("processes under it:\n")
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 {
				if f := strings.Fields(string(st[i+1:])); len(f) > 1 {
					parent[pid], _ = strconv.Atoi(f[1])
				}
			}
		}
	}
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == m.cmd.Process.Pid {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
				var state string
				for _, l := range strings.Split(string(status), "\n") {
					if strings.HasPrefix(l, "State:") || strings.HasPrefix(l, "SigCgt:") || strings.HasPrefix(l, "SigBlk:") || strings.HasPrefix(l, "SigPnd:") || strings.HasPrefix(l, "ShdPnd:") {
						state += " " + strings.Join(strings.Fields(l), " ")
					}
				}
				fmt.Fprintf(&b, "  %d (parent %d) %s:%s\n", pid, parent[pid], bytes.ReplaceAll(bytes.TrimRight(cmdline, "\x00"), []byte{0}, []byte{' '}), state)
				break
			}
		}
	}
	return b.String()
}

// flint runs one CLI verb against this manager and returns its combined output and exit code.
func (m *manager) flint(args ...string) (string, int) {
	m.t.Helper()
	return runFlint(m.t, append([]string{"--control", m.control}, args...)...)
}

// runFlint runs the flint binary with args (30s limit) and returns combined output and exit code.
func runFlint(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(flintBin, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("flint %s: %v", strings.Join(args, " "), err)
	}
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("flint %s: %v", strings.Join(args, " "), err)
		}
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// writeUnits writes name -> content files into a new unit directory and returns it.
func writeUnits(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "units")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantedBy links unit into DIR/target.wants/ the way `flint enable` does, for tests that are
// not about enable.
func wantedBy(t *testing.T, dir, target, unit string) {
	t.Helper()
	wants := filepath.Join(dir, target+".wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, unit), filepath.Join(wants, unit)); err != nil {
		t.Fatal(err)
	}
}

// copyExecutable copies a built binary to a per-test path, so that processes running it can be
// told apart from other tests' (see pidsOf).
// builds are the programs buildOnce built (or failed to build), by name.
var builds sync.Map // string -> *builtProgram

type builtProgram struct {
	once sync.Once
	path string
	err  error
}

// buildOnce builds the test program name once per test run, next to flint's binary, with the
// command argv run in the repository's root ("{}" in it stands for the program's path), and
// returns its path. A failed build fails every test that asks for the program.
func buildOnce(t *testing.T, name string, argv ...string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, &builtProgram{})
	b := v.(*builtProgram)
	b.once.Do(func() {
		b.path = filepath.Join(filepath.Dir(flintBin), name)
		args := make([]string, len(argv))
		for i, a := range argv {
			args[i] = strings.ReplaceAll(a, "{}", b.path)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = repoRootDir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build %s (%s): %w\n%s", name, strings.Join(args, " "), err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func copyExecutable(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// pidsOf lists the processes whose executable is path.
func pidsOf(path string) []int { return testproc.PidsOf(path) }

// waitFor polls cond every 20ms until it is true or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool { return testproc.WaitFor(timeout, cond) }

// listening reports whether a process accepts connections on the unix socket path (a socket
// file that a killed manager left does not count).
func listening(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// isSocket reports whether path exists and is a socket.
func isSocket(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// isSymlink reports whether path is a symbolic link (what enable creates).
func isSymlink(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode()&os.ModeSymlink != 0
}
