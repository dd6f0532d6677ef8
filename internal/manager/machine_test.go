package manager

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/listen"
	"github.com/flint-init/flint/internal/notify"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// The state machines' table tests: a unit in a manager whose system is fakeSys, so that no
// process starts and no clock runs. Each row drives a unit with events (a job, a process
// exit, a timer firing, a notification) and compares the trace — the states entered and the
// requests made to the system, in order — the final sub-state and the result.

// fakeSys is a system that records: spawn gives pids from 1000 up, kill and the timers only
// note what was asked, a process exits when the test says so.
type fakeSys struct {
	t      *testing.T
	trace  *[]string
	next   int
	procs  map[int]*fakeProc // live processes
	timers []*fakeTimer
	execs  []func(error) // pending Type=exec results
	clock  time.Time
	fail   map[string]bool // commands (their path) whose spawn fails
	queued []func()        // what runs on the next turn of the loop
	dir    string          // the row's directory, @DIR@ in its units and events
	// watches are the live inotify watches, by path.
	watches map[string]*fakeWatch
}

type fakeProc struct {
	u    *Unit
	path string
}

type fakeTimer struct {
	at            time.Time // when it is due
	d             time.Duration
	fn            func()
	stopped, done bool
}

func (t *fakeTimer) Stop() bool {
	live := !t.stopped && !t.done
	t.stopped = true
	return live
}

func (f *fakeSys) note(format string, a ...any) {
	*f.trace = append(*f.trace, fmt.Sprintf(format, a...))
}

func (f *fakeSys) spawn(m *Manager, u *Unit, cmd unit.ExecCommand, ec *unit.ExecContext, p *execParams) (*spawn.Process, error) {
	if f.fail[cmd.Path] {
		f.note("spawn %s: failed", cmd.Path)
		return nil, &spawn.ExecError{Status: 203, Err: syscall.ENOENT}
	}
	f.next++
	pid := 1000 + f.next
	f.procs[pid] = &fakeProc{u: u, path: cmd.Path}
	f.note("spawn %s", cmd.Path)
	return &spawn.Process{Pid: pid}, nil
}

func (f *fakeSys) afterExec(m *Manager, sp *spawn.Process, fn func(error)) {
	f.execs = append(f.execs, fn)
}

func (f *fakeSys) kill(pid int, sig syscall.Signal) {
	if sig == syscall.SIGCONT {
		return // sent after every other signal but SIGKILL: not worth a line
	}
	p := f.procs[pid]
	if p == nil {
		f.note("kill %d %s: no such process", pid, unixSignalName(sig))
		return
	}
	f.note("kill %s %s", p.path, unixSignalName(sig))
}

func (f *fakeSys) unitPIDs(m *Manager, u *Unit) []int {
	var pids []int
	for pid, p := range f.procs {
		if p.u == u {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids) // in spawn order
	return pids
}

func (f *fakeSys) afterFunc(m *Manager, d time.Duration, fn func()) stopper {
	t := &fakeTimer{at: f.clock.Add(d), d: d, fn: fn}
	f.timers = append(f.timers, t)
	return t
}

func (f *fakeSys) later(m *Manager, fn func()) { f.queued = append(f.queued, fn) }

// fakeWatch is an inotify watch on a path: the test says when it reports.
type fakeWatch struct {
	f      *fakeSys
	path   string
	got    func(primary bool)
	closed bool
}

func (w *fakeWatch) Close() error {
	if !w.closed && w.f.watches[w.path] == w {
		delete(w.f.watches, w.path)
		w.f.note("unwatch %s", w.f.rel(w.path))
	}
	w.closed = true
	return nil
}

func (f *fakeSys) watchPath(m *Manager, spec unit.PathSpec, got func(primary bool)) (io.Closer, error) {
	if f.fail["watch "+spec.Path] {
		f.note("watch %s: failed", f.rel(spec.Path))
		return nil, &os.PathError{Op: "inotify_add_watch", Path: spec.Path, Err: syscall.ENOSPC}
	}
	w := &fakeWatch{f: f, path: spec.Path, got: got}
	f.watches[spec.Path] = w
	f.note("watch %s", f.rel(spec.Path))
	return w, nil
}

// rel is path with the row's directory cut.
func (f *fakeSys) rel(path string) string {
	if f.dir != "" {
		if r, ok := strings.CutPrefix(path, f.dir); ok {
			return "@DIR@" + r
		}
	}
	return path
}

func (f *fakeSys) now() time.Time { return f.clock }

func (f *fakeSys) monoNow() time.Duration { return monoOf(f.clock) }

// machine is one unit under test in a manager of its own.
type machine struct {
	t     *testing.T
	m     *Manager
	u     *Unit
	sys   *fakeSys
	trace []string
}

func newMachine(t *testing.T, name string, files map[string]string) *machine {
	t.Helper()
	m, _ := testManager(t, files)
	mc := &machine{t: t, m: m}
	// The clock moves a millisecond at each event, and to a timer's time when it fires.
	mc.sys = &fakeSys{t: t, trace: &mc.trace, procs: map[int]*fakeProc{}, clock: time.Now(), fail: map[string]bool{},
		watches: map[string]*fakeWatch{}}
	m.osys = mc.sys
	m.traceState = func(u *Unit, sub subState) {
		if u == mc.u {
			mc.trace = append(mc.trace, "→"+sub.String())
		} else {
			mc.trace = append(mc.trace, u.Name+"→"+sub.String())
		}
	}
	mc.u = m.load(name)
	if !mc.u.loaded() {
		t.Fatalf("%s: %s", name, mc.u.cfg.LoadState)
	}
	return mc
}

// pidOf is the live process running path.
func (mc *machine) pidOf(path string) int {
	for pid, p := range mc.sys.procs {
		if p.path == path {
			return pid
		}
	}
	mc.t.Fatalf("no process runs %s; trace:\n%s", path, strings.Join(mc.trace, "\n"))
	return 0
}

// exit makes the process running path exit with ws, as the reaper would see it.
func (mc *machine) exit(path string, ws syscall.WaitStatus) {
	pid := mc.pidOf(path)
	owner := mc.sys.procs[pid].u
	delete(mc.sys.procs, pid)
	p := mc.m.procs[pid]
	delete(mc.m.procs, pid)
	if s := owner.svcState(); s != nil && s.mainPID == pid {
		serviceMachine{mc.m}.mainExited(owner, pid, ws)
		return
	}
	if p == nil || p.onExit == nil {
		mc.t.Fatalf("%s (%d) is no process the manager waits for", path, pid)
	}
	p.onExit(ws)
}

// fire runs the timer t, which must be armed.
func (mc *machine) fire(what string, t stopper) {
	ft, _ := t.(*fakeTimer)
	if ft == nil || ft.stopped || ft.done {
		mc.t.Fatalf("no %s timer armed; trace:\n%s", what, strings.Join(mc.trace, "\n"))
	}
	ft.done = true
	if ft.at.After(mc.sys.clock) {
		mc.sys.clock = ft.at
	}
	mc.trace = append(mc.trace, "timer "+what+" "+ft.d.String())
	ft.fn()
}

// exitStatus and killedBy are wait statuses.
func exitStatus(code int) syscall.WaitStatus         { return syscall.WaitStatus(code << 8) }
func killedBy(sig syscall.Signal) syscall.WaitStatus { return syscall.WaitStatus(sig) }

// do applies one event:
//
//	start, stop, reload, restart   a job of that type (mode replace)
//	exit PATH [STATUS|SIGNAME]     the process running PATH exits (default status 0)
//	timeout                        the state timer fires
//	watchdog                       the watchdog timer fires
//	restart-timer                  the RestartSec= timer fires
//	elapse                         the timer's monotonic elapse is due
//	connect                        the socket's first listener is readable
//	exec-ok                        the pending Type=exec execve succeeded
//	notify KEY=VALUE...            the main process sends a notification
//	fail PATH                      spawning PATH fails from now on
//	oom                            the OOM killer killed a process of the service's cgroup
//	fail watch PATH                watching PATH fails from now on
//	touch PATH, mkdir PATH, rm PATH  the file system changes (no event yet)
//	inotify PATH [primary]         the watch on PATH reports (on the path itself: primary)
//
// Then what was left for a later turn of the loop runs. PATH may start with @DIR@, the
// row's directory.
func (mc *machine) do(ev string) {
	mc.t.Helper()
	if mc.sys.dir != "" {
		ev = strings.ReplaceAll(ev, "@DIR@", mc.sys.dir)
	}
	f := strings.Fields(ev)
	defer mc.runLater()
	mc.trace = append(mc.trace, "# "+ev)
	mc.sys.clock = mc.sys.clock.Add(time.Millisecond) // events are moments apart
	switch f[0] {
	case "start", "stop", "reload", "restart":
		if err := mc.m.enqueueErr(f[0], mc.u, "replace", nil); err != nil {
			mc.trace = append(mc.trace, "job: "+err.Error())
		}
	case "exit":
		ws := exitStatus(0)
		if len(f) > 2 {
			if n, err := strconv.Atoi(f[2]); err == nil {
				ws = exitStatus(n)
			} else {
				ws = killedBy(signum(mc.t, f[2]))
			}
		}
		mc.exit(f[1], ws)
	case "timeout":
		if mc.u.isService() {
			mc.fire("state", mc.u.service().timer)
			break
		}
		// A socket's control command timer: the last one armed.
		var last stopper
		for _, t := range mc.sys.timers {
			if !t.stopped && !t.done {
				last = t
			}
		}
		mc.fire("control", last)
	case "elapse":
		mc.fire("elapse", mc.u.mo().tmr.monoTimer)
	case "connect":
		mc.m.socketReady(mc.u.sock.socks[0].key)
	case "watchdog":
		mc.fire("watchdog", mc.u.service().watchdog)
	case "restart-timer":
		mc.fire("restart", mc.u.service().restartTimer)
	case "exec-ok":
		fn := mc.sys.execs[0]
		mc.sys.execs = mc.sys.execs[1:]
		fn(nil)
	case "notify":
		msg := &notify.Message{PID: mc.u.service().mainPID}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			msg.Fields = append(msg.Fields, notify.Field{Key: k, Value: v})
		}
		mc.m.notifyUnit(mc.u, msg, nil)
	case "fail":
		mc.sys.fail[strings.Join(f[1:], " ")] = true
	case "oom":
		mc.m.svcOOMKilled(mc.u) // cgroup_events.go
	case "touch":
		if err := os.WriteFile(f[1], nil, 0o644); err != nil {
			mc.t.Fatal(err)
		}
	case "mkdir":
		if err := os.Mkdir(f[1], 0o755); err != nil {
			mc.t.Fatal(err)
		}
	case "rm":
		if err := os.RemoveAll(f[1]); err != nil {
			mc.t.Fatal(err)
		}
	case "inotify":
		w := mc.sys.watches[f[1]]
		if w == nil {
			mc.t.Fatalf("%s is not watched; trace:\n%s", f[1], strings.Join(mc.trace, "\n"))
		}
		mc.trace = append(mc.trace, "inotify "+mc.sys.rel(f[1]))
		w.got(len(f) > 2 && f[2] == "primary")
	default:
		mc.t.Fatalf("unknown event %q", ev)
	}
}

// runLater runs what was left for a later turn of the loop, until nothing is.
func (mc *machine) runLater() {
	for len(mc.sys.queued) > 0 {
		fn := mc.sys.queued[0]
		mc.sys.queued = mc.sys.queued[1:]
		fn()
	}
}

func signum(t *testing.T, name string) syscall.Signal {
	for s := syscall.Signal(1); s < 32; s++ {
		if unixSignalName(s) == name {
			return s
		}
	}
	t.Fatalf("unknown signal %s", name)
	return 0
}

// machineRow is one row of a state machine's table.
type machineRow struct {
	name   string
	unit   string            // the [Service] (or [Socket]) lines
	files  map[string]string // other units
	events []string          // after which
	state  string            // the sub-state
	result string            // Result=
	trace  []string          // the states entered (→state) and the system requests, in order; nil: not checked
}

func runMachineRows(t *testing.T, typ string, rows []machineRow) {
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			files := map[string]string{}
			for n, f := range r.files {
				files[n] = f
			}
			name := "x." + typ
			section := map[string]string{"service": "Service", "socket": "Socket", "timer": "Timer", "path": "Path"}[typ]
			files[name] = "[Unit]\nDefaultDependencies=no\n[" + section + "]\n" + r.unit + "\n"
			if _, ok := files["x.service"]; !ok && typ != "service" {
				files["x.service"] = "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/daemon\n"
			}
			dir := t.TempDir()
			for n, f := range files {
				files[n] = strings.ReplaceAll(f, "@DIR@", dir)
			}
			mc := newMachine(t, name, files)
			mc.sys.dir = dir
			if typ == "socket" {
				p, err := listen.NewPoller()
				if err != nil {
					t.Fatal(err)
				}
				mc.m.poller = p
				t.Cleanup(func() { socketMachine{mc.m}.sockClose(mc.u); p.Close() })
			}
			before := bugs.Load()
			for _, ev := range r.events {
				mc.do(ev)
			}
			var got []string
			for _, l := range mc.trace {
				if !strings.HasPrefix(l, "# ") {
					got = append(got, l)
				}
			}
			if os.Getenv("MACHINE_PRINT") != "" {
				fmt.Printf("ROW %s -> %s %s\n\t\ttrace: []string{%s},\n", r.name, mc.u.sub, mc.u.result, quoteAll(got))
			}
			if r.trace != nil && strings.Join(got, "\n") != strings.Join(r.trace, "\n") {
				t.Errorf("trace:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(r.trace, "\n\t"))
			}
			if s := mc.u.sub.String(); s != r.state {
				t.Errorf("state %s, want %s; trace:\n\t%s", s, r.state, strings.Join(mc.trace, "\n\t"))
			}
			if res := mc.u.result.String(); res != r.result {
				t.Errorf("result %s, want %s", res, r.result)
			}
			if n := bugs.Load() - before; n != 0 {
				t.Errorf("%d internal errors", n)
			}
		})
	}
}

func quoteAll(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
