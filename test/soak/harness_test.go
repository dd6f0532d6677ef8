package soak

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/testproc"
)

// nobody is the unprivileged uid (and gid) the hostile clients run as.
const nobody = 65534

// openDir returns a new directory that every uid can search (the hostile clients, running as
// nobody, reach the control socket in it), removed when the test ends.
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "flint-soak-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeFiles writes name -> content under dir (names may hold subdirectories; a content
// "-> TARGET" makes a symlink) and returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(body, "-> "); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(body), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// logFile is a child process's output, kept in a file of the test's: the child writes it
// directly, the test reads it at any time.
type logFile struct{ path string }

func newLogFile(t *testing.T, name string) (*logFile, *os.File) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &logFile{f.Name()}, f
}

func (l *logFile) String() string {
	data, _ := os.ReadFile(l.path)
	return string(data)
}

// manager is one `flint run` process on a unit directory, with its control socket in a
// directory open to every uid.
type manager struct {
	control string
	cmd     *exec.Cmd
	out     *logFile
	exited  chan struct{}
}

// startManager runs `flint run --units units` with a control socket of its own and waits
// until the socket answers. The manager is stopped (SIGTERM, then SIGKILL after 10s) when
// the test ends.
func startManager(t *testing.T, units string) *manager {
	t.Helper()
	return launch(t, units, filepath.Join(openDir(t), "control.sock"))
}

// launch runs `flint run` on units with the control socket at control.
func launch(t *testing.T, units, control string) *manager {
	t.Helper()
	out, w := newLogFile(t, "flint-run")
	m := &manager{control: control, out: out, exited: make(chan struct{})}
	m.cmd = exec.Command(flintBin, "run", "--no-booted", "--no-journal-sockets", "--units", units, "--control", control)
	m.cmd.Stdout, m.cmd.Stderr = w, w
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("flint run: %v", err)
	}
	go func() { m.cmd.Wait(); close(m.exited) }()
	t.Cleanup(func() {
		if m.running() {
			m.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-m.exited:
			case <-time.After(10 * time.Second):
				m.cmd.Process.Kill()
				<-m.exited
			}
		}
		if t.Failed() {
			out := m.out.String()
			if len(out) > 20000 {
				out = "...\n" + out[len(out)-20000:]
			}
			t.Logf("flint run (pid %d) output:\n%s", m.cmd.Process.Pid, out)
		}
	})
	if !waitUntil(15*time.Second, func() bool {
		_, err := request(control, `{"verb":"ping"}`, time.Second)
		return err == nil || !m.running()
	}) || !m.running() {
		t.Fatalf("flint run did not answer on %s:\n%s", control, m.out.String())
	}
	return m
}

func (m *manager) pid() int { return m.cmd.Process.Pid }

func (m *manager) running() bool {
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// kill9 kills the manager with SIGKILL and waits for it to be gone.
func (m *manager) kill9() {
	m.cmd.Process.Kill()
	<-m.exited
}

// flint runs a CLI verb against the manager (30s at most) and returns its output and exit code.
func (m *manager) flint(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(flintBin, append([]string{"--control", m.control}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("flint %v: %v", args, err)
	}
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	cmd.Wait()
	return out.String(), cmd.ProcessState.ExitCode()
}

// mustFlint is flint that fails the test unless the verb exits 0.
func (m *manager) mustFlint(t *testing.T, args ...string) string {
	t.Helper()
	out, code := m.flint(t, args...)
	if code != 0 {
		t.Fatalf("flint %s: exit %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// props returns properties of a unit as `flint show -p A,B,...` gives them.
func (m *manager) props(t *testing.T, unit string, names ...string) map[string]string {
	t.Helper()
	out, _ := m.flint(t, "show", unit, "-p", strings.Join(names, ","))
	r := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			r[k] = v
		}
	}
	return r
}

func (m *manager) prop(t *testing.T, unit, name string) string {
	t.Helper()
	return m.props(t, unit, name)[name]
}

// waitProps waits (30s at most) until the unit's properties have the wanted values, and
// fails the test with the values last seen otherwise.
func (m *manager) waitProps(t *testing.T, unit string, want map[string]string) map[string]string {
	t.Helper()
	names := make([]string, 0, len(want))
	for k := range want {
		names = append(names, k)
	}
	sort.Strings(names)
	var got map[string]string
	if waitUntil(30*time.Second, func() bool {
		got = m.props(t, unit, names...)
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	}) {
		return got
	}
	st, _ := m.flint(t, "status", unit)
	t.Fatalf("%s: properties %v, want %v\n%s", unit, got, want, st)
	return nil
}

// usage is what the manager process holds.
type usage struct {
	rssKiB, fds, threads int
}

func (u usage) String() string {
	return fmt.Sprintf("RSS %.1f MiB, %d fds, %d threads", float64(u.rssKiB)/1024, u.fds, u.threads)
}

// procUsage reads a process's resident memory, descriptors and threads from /proc.
func procUsage(pid int) usage {
	var u usage
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		u.fds = len(ents)
	}
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			u.rssKiB, _ = strconv.Atoi(f[0])
		case "Threads":
			u.threads, _ = strconv.Atoi(f[0])
		}
	}
	return u
}

func (m *manager) usage() usage { return procUsage(m.pid()) }

// fdsBackTo waits (timeout at most) until the manager holds no more descriptors than base
// did, and returns its usage then; ok is false if it never came back.
func (m *manager) fdsBackTo(base usage, timeout time.Duration) (u usage, ok bool) {
	ok = waitUntil(timeout, func() bool {
		u = m.usage()
		return u.fds <= base.fds
	})
	return u, ok
}

// waitUntil polls cond every 20ms until it holds or timeout passes.
func waitUntil(timeout time.Duration, cond func() bool) bool { return testproc.WaitFor(timeout, cond) }

// reply is the last line of a control reply.
type reply struct {
	Done  bool            `json:"done"`
	Error string          `json:"error"`
	Code  string          `json:"code"`
	Data  json.RawMessage `json:"data"`
}

// request sends one raw request line on the control socket and reads the reply up to its
// Done line, all within timeout.
func request(control, line string, timeout time.Duration) (*reply, error) {
	c, err := net.DialTimeout("unix", control, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(c)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r reply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("reply %q: %w", sc.Bytes(), err)
		}
		if r.Done {
			if r.Error != "" {
				return &r, fmt.Errorf("%s: %s", r.Code, r.Error)
			}
			return &r, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, io.ErrUnexpectedEOF
}

// probe asks the manager for a unit's status, as root, over and over while a case runs, and
// times each answer.
type probe struct {
	stopc    chan struct{}
	done     chan struct{}
	mu       sync.Mutex // guards lat, failures and firstErr while the probe runs
	lat      []time.Duration
	failures int
	firstErr error
}

// probeTimeout is how long one status request of a probe may take before it counts as
// unanswered: a liveness bound (the manager answers root), not a speed target.
const probeTimeout = 10 * time.Second

func (m *manager) startProbe(unit string) *probe {
	p := &probe{stopc: make(chan struct{}), done: make(chan struct{})}
	line := fmt.Sprintf(`{"verb":"status","units":[%q]}`, unit)
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stopc:
				return
			default:
			}
			start := time.Now()
			_, err := request(m.control, line, probeTimeout)
			took := time.Since(start)
			p.mu.Lock()
			if err != nil {
				p.failures++
				if p.firstErr == nil {
					p.firstErr = err
				}
			} else {
				p.lat = append(p.lat, took)
			}
			p.mu.Unlock()
			select {
			case <-p.stopc:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return p
}

// waitRequests waits (timeout at most) until the probe has made n requests: it has seen the
// case's load for a while.
func (p *probe) waitRequests(n int, timeout time.Duration) {
	waitUntil(timeout, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.lat)+p.failures >= n
	})
}

// latencies is a probe's outcome.
type latencies struct {
	n, failures   int
	firstErr      error
	p50, p99, max time.Duration
}

func (l latencies) String() string {
	return fmt.Sprintf("p50 %s, p99 %s, max %s (%d requests)", ms(l.p50), ms(l.p99), ms(l.max), l.n)
}

func (p *probe) stop() latencies {
	close(p.stopc)
	<-p.done
	l := latencies{n: len(p.lat), failures: p.failures, firstErr: p.firstErr}
	if len(p.lat) > 0 {
		sort.Slice(p.lat, func(i, j int) bool { return p.lat[i] < p.lat[j] })
		l.p50, l.p99, l.max = p.lat[len(p.lat)/2], p.lat[len(p.lat)*99/100], p.lat[len(p.lat)-1]
	}
	return l
}

// check fails the test if any status request of the probe went unanswered.
func (l latencies) check(t *testing.T, during string) {
	t.Helper()
	if l.failures > 0 {
		t.Errorf("while %s: %d status requests of root unanswered (first: %v)", during, l.failures, l.firstErr)
	}
	if l.n == 0 && l.failures == 0 {
		t.Errorf("while %s: the probe made no request", during)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// hostile is one run of the hostile helper.
type hostile struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	result map[string]any
	stderr *logFile
	exited chan struct{}
}

// startHostile runs the helper (as nobody unless asRoot) and waits for its JSON report line;
// modes that hold connections keep them until release.
func startHostile(t *testing.T, asRoot bool, args ...string) *hostile {
	t.Helper()
	var cred *syscall.Credential
	if !asRoot {
		cred = &syscall.Credential{Uid: nobody, Gid: nobody}
	}
	return launchHostile(t, cred, args...)
}

// startHostileIn runs the helper as nobody with the supplementary groups named (adm: one who
// may read every unit's log).
func startHostileIn(t *testing.T, groups []string, args ...string) *hostile {
	t.Helper()
	cred := &syscall.Credential{Uid: nobody, Gid: nobody}
	for _, name := range groups {
		g, err := user.LookupGroup(name)
		if err != nil {
			t.Fatal(err)
		}
		gid, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		cred.Groups = append(cred.Groups, uint32(gid))
	}
	return launchHostile(t, cred, args...)
}

func launchHostile(t *testing.T, cred *syscall.Credential, args ...string) *hostile {
	t.Helper()
	stderr, w := newLogFile(t, "hostile")
	h := &hostile{t: t, cmd: exec.Command(hostileBin, args...), stderr: stderr, exited: make(chan struct{})}
	if cred != nil {
		h.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	h.cmd.Env = []string{"PATH=/usr/bin:/bin"}
	h.cmd.Stderr = w
	var err error
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	// A pipe of our own rather than StdoutPipe, which Wait (below, at any time) closes.
	stdout, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	h.cmd.Stdout = w
	err = h.cmd.Start()
	w.Close()
	if err != nil {
		t.Fatalf("hostile %v: %v", args, err)
	}
	go func() { h.cmd.Wait(); close(h.exited) }()
	t.Cleanup(func() {
		h.stdin.Close()
		select {
		case <-h.exited:
		case <-time.After(10 * time.Second):
			h.cmd.Process.Kill()
			<-h.exited
		}
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("hostile %v: no report (%v):\n%s", args, err, h.stderr.String())
	}
	if err := json.Unmarshal(line, &h.result); err != nil {
		t.Fatalf("hostile %v: report %q: %v", args, line, err)
	}
	return h
}

// runHostile runs a helper mode that ends by itself and returns its report.
func runHostile(t *testing.T, asRoot bool, args ...string) map[string]any {
	t.Helper()
	h := startHostile(t, asRoot, args...)
	h.release()
	return h.result
}

// count is a number from the report.
func (h *hostile) count(key string) int {
	n, _ := h.result[key].(float64)
	return int(n)
}

// release closes the helper's stdin (it then exits, and the kernel closes its connections)
// and waits for it to be gone.
func (h *hostile) release() {
	h.stdin.Close()
	select {
	case <-h.exited:
	case <-time.After(30 * time.Second):
		h.t.Fatalf("hostile helper still running 30s after release:\n%s", h.stderr.String())
	}
}

// copyFile copies an executable to dir (a per-test copy: processes running it are this
// test's, see pidsOf).
func copyFile(t *testing.T, src, dir string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// pidsOf lists the processes running the executable at path (zombies have none).
func pidsOf(path string) []int { return testproc.PidsOf(path) }

// killLeftovers kills, when the test ends, every process still running one of the given
// per-test executables (this test's processes only: nobody else runs those copies).
func killLeftovers(t *testing.T, exes ...string) {
	t.Cleanup(func() {
		for _, exe := range exes {
			for _, pid := range pidsOf(exe) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

// figures are one case's numbers for the report.
type figures struct {
	t       *testing.T
	name    string
	verdict string
	rows    [][2]string
}

var (
	figuresMu sync.Mutex
	figList   []*figures
)

// newFigures starts the figures of the running (sub)test; its verdict is filled in when
// it ends.
func newFigures(t *testing.T) *figures {
	f := &figures{t: t, name: t.Name(), verdict: "running"}
	figuresMu.Lock()
	figList = append(figList, f)
	figuresMu.Unlock()
	t.Cleanup(func() {
		figuresMu.Lock()
		defer figuresMu.Unlock()
		f.verdict = "passed"
		if t.Failed() {
			f.verdict = "FAILED"
		}
	})
	return f
}

// add records a figure (also logged, so that -v shows it).
func (f *figures) add(name string, format string, args ...any) {
	f.t.Helper()
	v := fmt.Sprintf(format, args...)
	f.t.Logf("%s: %s", name, v)
	figuresMu.Lock()
	f.rows = append(f.rows, [2]string{name, v})
	figuresMu.Unlock()
}

// brief writes a report or a set of properties as "key value, ...", sorted, leaving out
// zeros, false and empty values.
func brief[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		switch v := any(m[k]).(type) {
		case float64:
			if v != 0 {
				parts = append(parts, fmt.Sprintf("%s %v", k, v))
			}
		case bool:
			if v {
				parts = append(parts, k)
			}
		default:
			if s := fmt.Sprint(v); s != "" {
				parts = append(parts, k+"="+s)
			}
		}
	}
	return strings.Join(parts, ", ")
}

func allFigures() []*figures {
	figuresMu.Lock()
	defer figuresMu.Unlock()
	return append([]*figures(nil), figList...)
}
