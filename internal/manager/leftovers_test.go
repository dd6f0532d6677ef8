package manager

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/listen"
	"github.com/flint-init/flint/internal/runstate"
	"github.com/flint-init/flint/unit"
)

// TestSocketRecord: the state file records a listening socket by the inode and the address
// that the kernel's /proc/net table lists it with, which is what the next manager compares
// (runstate.TableAddress); kinds no address conflict can come from are not recorded.
func TestSocketRecord(t *testing.T) {
	dir := t.TempDir()
	abstract := "@flint-test-record-" + strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		kind   unit.ListenKind
		value  string
		family string
		addr   string // "" : not recorded
	}{
		{unit.ListenStream, "127.0.0.1:21610", "tcp", "127.0.0.1:21610"},
		{unit.ListenStream, "[::1]:21611", "tcp6", "[::1]:21611"},
		{unit.ListenDatagram, "127.0.0.1:21612", "udp", "127.0.0.1:21612"},
		{unit.ListenStream, dir + "/stream sock", "unix", dir + "/stream sock"},
		{unit.ListenDatagram, dir + "/dgram.sock", "unix", dir + "/dgram.sock"},
		{unit.ListenSequentialPacket, abstract, "unix", abstract},
		{unit.ListenFIFO, dir + "/fifo", "", ""},
		{unit.ListenNetlink, "route 0", "", ""},
	} {
		t.Run(tc.value, func(t *testing.T) {
			spec, err := unit.ParseListen(tc.kind, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			ls, err := listen.Open(spec, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ls.Close(nil)
			k := socketRecord(ls)
			if k.Family != tc.family || k.Address != tc.addr {
				t.Fatalf("socketRecord = %+v, want family %q address %q", k, tc.family, tc.addr)
			}
			if tc.family == "" {
				return
			}
			// getsockname into the stack: the address's string is the one allocation.
			if a := testing.AllocsPerRun(10, func() { socketRecord(ls) }); a > 1 {
				t.Errorf("socketRecord allocates %v times, want 1", a)
			}
			var st syscall.Stat_t
			if err := syscall.Fstat(ls.Fd(), &st); err != nil || st.Ino != k.Inode {
				t.Errorf("inode %d, fstat says %d (%v)", k.Inode, st.Ino, err)
			}
			table, err := os.ReadFile("/proc/self/net/" + k.Family)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := runstate.TableAddress(table, k.Family, k.Inode); !ok || got != k.Address {
				t.Errorf("/proc/self/net/%s lists inode %d as %q (%v), recorded %q", k.Family, k.Inode, got, ok, k.Address)
			}
		})
	}
}

// TestStopSettings: the stop settings recorded per unit are the unit's, with systemd's
// defaults where the unit has none.
func TestStopSettings(t *testing.T) {
	svc := &Unit{cfg: &unit.Unit{Service: &unit.ServiceSection{ServiceTimeouts: &unit.ServiceTimeouts{TimeoutStopSec: 5 * time.Second},
		Kill: &unit.KillContext{KillMode: "mixed", KillSignal: syscall.SIGINT, SendSIGKILL: false}}}, svc: &serviceRT{}}
	mode, sig, sigkill, timeout := stopSettings(svc)
	if mode != "mixed" || sig != syscall.SIGINT || sigkill || timeout != 5*time.Second {
		t.Errorf("service: %s %v %v %v", mode, sig, sigkill, timeout)
	}
	sock := &Unit{cfg: &unit.Unit{Socket: &unit.SocketSection{SocketCommands: &unit.SocketCommands{TimeoutSec: 0}, Kill: &unit.KillContext{SendSIGKILL: true}}}, sock: &socketRT{}}
	mode, sig, sigkill, timeout = stopSettings(sock)
	if mode != "control-group" || sig != syscall.SIGTERM || !sigkill || timeout != 0 {
		t.Errorf("socket: %s %v %v %v", mode, sig, sigkill, timeout)
	}
}

// stateManager is a manager with nothing but its state file, in dir.
func stateManager(tb testing.TB, dir string) *Manager {
	tb.Helper()
	self, boot, pidns, err := runstate.Self()
	if err != nil {
		tb.Fatal(err)
	}
	return &Manager{procs: map[int]*proc{}, adopted: map[int]adoptee{}, rs: &stateFile{dir: dir, on: true, self: self, boot: boot, pidns: pidns, starts: map[int]uint64{}}}
}

// socketServiceCfg is a unit configuration with a socket and a service section, systemd's
// stop defaults.
func socketServiceCfg() *unit.Unit {
	kill := &unit.KillContext{KillSignal: syscall.SIGTERM, SendSIGKILL: true}
	return &unit.Unit{Socket: &unit.SocketSection{SocketCommands: &unit.SocketCommands{TimeoutSec: 90 * time.Second}, Kill: kill},
		Service: &unit.ServiceSection{ServiceTimeouts: &unit.ServiceTimeouts{TimeoutStopSec: 90 * time.Second}, Kill: kill}}
}

// TestWriteState: what the state file says of the units, and when it is written. A unit's
// processes with start times and roles (pid 1 and a pid that is neither flint's process nor
// its child are left out; a foreign main process counts once stateAdopted saw it), its
// sockets; a unit with neither is not listed. A write without a change since the last
// leaves the file alone; a reap removes the pid, through the file's log.
func TestWriteState(t *testing.T) {
	dir := t.TempDir()
	m := stateManager(t, dir)
	self, boot, pidns := m.rs.self, m.rs.boot, m.rs.pidns
	cfg := &unit.Unit{Service: &unit.ServiceSection{ServiceTimeouts: &unit.ServiceTimeouts{TimeoutStopSec: 90 * time.Second},
		Kill: &unit.KillContext{KillSignal: syscall.SIGTERM, SendSIGKILL: true}}}
	a := &Unit{Name: "a.service", h: &unitHist{invocationID: "0123456789abcdef0123456789abcdef"}, cfg: cfg, svc: &serviceRT{}}
	b := &Unit{Name: "b.service", cfg: cfg, svc: &serviceRT{}}
	idle := &Unit{Name: "idle.service", cfg: cfg, svc: &serviceRT{}}
	m.order = []*Unit{a, b, idle}

	// a: a child of the test registered as its main process, pid 1 as an adopted orphan, the
	// test's parent as its control process (neither registered nor a child: left out).
	child := startChild(t)
	a.service().mainPID = child
	a.service().controlPID = os.Getppid()
	m.adopted[1] = adoptee{u: a, exact: true}
	m.procs[child] = &proc{pid: child, u: a, kind: "main"}
	// b: a main process that is not flint's child, adopted.
	foreign := os.Getppid()
	b.service().mainPID = foreign
	m.stateAdopted(b, foreign)
	m.writeState()

	read := func() string {
		t.Helper()
		s, err := runstate.Read(dir)
		if err != nil || s == nil {
			t.Fatalf("state file: %v, %v", s, err)
		}
		if s.Manager != self || s.BootID != boot || s.PIDNS != pidns || s.Written == 0 {
			t.Errorf("header: %+v", s)
		}
		var units []byte
		for i := range s.Units {
			units = runstate.AppendUnit(units, &s.Units[i])
		}
		return string(units)
	}
	cp, _ := runstate.ReadProcess(child)
	fp, _ := runstate.ReadProcess(foreign)
	want := "unit a.service 0123456789abcdef0123456789abcdef control-group 15 90000000 yes\n" +
		"proc " + strconv.Itoa(child) + " " + strconv.FormatUint(cp.Start, 10) + " main\n" +
		"unit b.service - control-group 15 90000000 yes\n" +
		"proc " + strconv.Itoa(foreign) + " " + strconv.FormatUint(fp.Start, 10) + " main\n"
	if got := read(); got != want {
		t.Errorf("state:\n%s\nwant:\n%s", got, want)
	}

	// Nothing changed: no write (the file is the same inode).
	before, _ := os.Stat(runstate.Path(dir))
	m.stateChanged(idle)
	m.writeState()
	after, _ := os.Stat(runstate.Path(dir))
	if !os.SameFile(before, after) {
		t.Errorf("the state file was written again without a change")
	}

	// The child is reaped: its line goes at the next write.
	delete(m.procs, child)
	a.service().mainPID = 0
	m.stateReaped(child, a)
	m.writeState()
	want = "unit b.service - control-group 15 90000000 yes\n" +
		"proc " + strconv.Itoa(foreign) + " " + strconv.FormatUint(fp.Start, 10) + " main\n"
	if got := read(); got != want {
		t.Errorf("after the reap:\n%s\nwant:\n%s", got, want)
	}
	// ... appended to the log: the file itself is not written again.
	if reaped, _ := os.Stat(runstate.Path(dir)); !os.SameFile(before, reaped) {
		t.Errorf("the whole state file was written again for one unit's change")
	}
	if log, err := os.ReadFile(runstate.LogPath(dir)); err != nil || !strings.Contains(string(log), "gone a.service\n") {
		t.Errorf("the log: %q, %v", log, err)
	}
	if _, ok := m.rs.starts[child]; ok {
		t.Errorf("the start time of a reaped pid is kept")
	}

	// A reload rebuilds every unit's lines: b's new KillMode= shows.
	b.cfg = &unit.Unit{Service: &unit.ServiceSection{ServiceTimeouts: &unit.ServiceTimeouts{TimeoutStopSec: 90 * time.Second},
		Kill: &unit.KillContext{KillMode: "process", KillSignal: syscall.SIGTERM, SendSIGKILL: true}}}
	m.stateReloaded()
	m.writeState()
	if got := read(); !strings.HasPrefix(got, "unit b.service - process 15 90000000 yes\n") {
		t.Errorf("after the reload:\n%s", got)
	}
}

// startChild starts a sleeping child of the test, killed and reaped at the end.
func startChild(t testing.TB) int {
	t.Helper()
	p, err := os.StartProcess("/bin/sleep", []string{"sleep", "1000"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill(); p.Wait() })
	return p.Pid
}

// BenchmarkWriteState: one write of the state file after a change of one service, on a
// manager with 1000 listening socket units (the idle benchmark's), in a tmpfs as /run: the
// cost a burst of activations pays at most once per stateDelay.
func BenchmarkWriteState(b *testing.B) {
	dir, err := os.MkdirTemp("/dev/shm", "flint-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	m := stateManager(b, dir)
	cfg := socketServiceCfg()
	for i := 0; i < 1000; i++ {
		spec, err := unit.ParseListen(unit.ListenStream, fmt.Sprintf("%s/s%d.sock", dir, i))
		if err != nil {
			b.Fatal(err)
		}
		ls, err := listen.Open(spec, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer ls.Close(nil)
		m.order = append(m.order, &Unit{Name: fmt.Sprintf("s%d.socket", i), h: &unitHist{invocationID: "0123456789abcdef0123456789abcdef"}, cfg: cfg,
			sock: &socketRT{socks: []openSocket{{Socket: ls}}}})
	}
	svc := &Unit{Name: "echo.service", h: &unitHist{invocationID: "0123456789abcdef0123456789abcdef"}, cfg: cfg, svc: &serviceRT{}}
	m.order = append(m.order, svc)
	child := startChild(b)
	m.procs[child] = &proc{pid: child, u: svc, kind: "main"}
	m.writeState()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// The service's main process comes and goes, as at each activation.
		if i%2 == 0 {
			svc.service().mainPID = child
		} else {
			svc.service().mainPID = 0
		}
		m.stateChanged(svc)
		m.writeState()
	}
}

// TestStateLogPerChange: among 200 listening socket units, a service whose main process comes
// and goes 40 times costs 40 appends of its own lines to the log, not 40 writes of every
// unit's; what Read gives back follows each change.
func TestStateLogPerChange(t *testing.T) {
	dir := t.TempDir()
	m := stateManager(t, dir)
	cfg := socketServiceCfg()
	for i := 0; i < 200; i++ {
		spec, err := unit.ParseListen(unit.ListenStream, fmt.Sprintf("%s/s%d.sock", dir, i))
		if err != nil {
			t.Fatal(err)
		}
		ls, err := listen.Open(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ls.Close(nil)
		u := &Unit{Name: fmt.Sprintf("s%d.socket", i), cfg: cfg, sock: &socketRT{socks: []openSocket{{Socket: ls}}}}
		m.order = append(m.order, u)
		m.stateChanged(u)
	}
	svc := &Unit{Name: "echo.service", h: &unitHist{invocationID: "0123456789abcdef0123456789abcdef"}, cfg: cfg, svc: &serviceRT{}}
	m.order = append(m.order, svc)
	child := startChild(t)
	m.procs[child] = &proc{pid: child, u: svc, kind: "main"}
	m.writeState()
	base, _ := os.Stat(runstate.Path(dir))
	for i := 0; i < 40; i++ {
		running := i%2 == 0
		svc.service().mainPID = 0
		delete(m.procs, child)
		if running {
			svc.service().mainPID = child
			m.procs[child] = &proc{pid: child, u: svc, kind: "main"}
		}
		m.stateChanged(svc)
		m.writeState()
		s, err := runstate.Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		listed := slices.ContainsFunc(s.Units, func(u runstate.Unit) bool { return u.Name == "echo.service" })
		if listed != running || len(s.Units) != 200+btoi(running) {
			t.Fatalf("change %d: echo.service listed %v with %d units, want %v", i, listed, len(s.Units), running)
		}
	}
	if now, _ := os.Stat(runstate.Path(dir)); !os.SameFile(base, now) {
		t.Errorf("the whole state file was written again for one unit's changes")
	}
	if st, err := os.Stat(runstate.LogPath(dir)); err != nil || st.Size() > 40*200 {
		t.Errorf("log after 40 changes of one unit: %v bytes, %v (want its lines only)", st.Size(), err)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
