package manager

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// TestReadProcs checks the /proc fields tracking relies on against this test process and a
// child in its own session.
func TestReadProcs(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	before := bootTick()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	procs := readProcs()
	self, ok := procs[os.Getpid()]
	if !ok || self.ppid != os.Getppid() || self.zombie {
		t.Errorf("self: %+v (found %v), want ppid %d", self, ok, os.Getppid())
	}
	child, ok := procs[cmd.Process.Pid]
	if !ok || child.ppid != os.Getpid() || child.sid != cmd.Process.Pid {
		t.Errorf("child: %+v (found %v), want ppid %d and its own session", child, ok, os.Getpid())
	}
	// Start times and bootTick are the same clock (CLOCK_BOOTTIME), rounded down alike.
	if after := bootTick(); child.start < before || child.start > after {
		t.Errorf("child start %d ticks, not between bootTick() before (%d) and after (%d) its start", child.start, before, after)
	}
}

// TestCollectProcsReparented: /proc is read one file at a time. A daemon read while its
// parent still ran, the parent then exiting (and reaped) before its own file was read, names a
// parent that is gone: collectProcs reads it again and finds the subreaper (flint) as its
// parent, as the kernel has it by then. Chains of such exits settle too.
func TestCollectProcsReparented(t *testing.T) {
	const self, sh, parent, daemon, grand, other = 100, 200, 300, 400, 500, 600
	reads := map[int]int{}
	// What each read of a pid returns, in order; the last repeats.
	script := map[int][]procInfo{
		self:   {{ppid: 1, sid: 1}},
		sh:     {{ppid: self, sid: sh}},
		parent: {}, // exited and reaped between the reads: no file
		daemon: {{ppid: parent, sid: daemon}, {ppid: self, sid: daemon}},
		// a grandchild whose parent (the daemon) is listed: read once
		grand: {{ppid: daemon, sid: daemon}},
		// a process whose parent is outside our view (another pid namespace) and one whose
		// parent vanished and which itself vanished too
		other: {{ppid: 0, sid: 0}},
	}
	read := func(pid int) (procInfo, bool) {
		s := script[pid]
		if len(s) == 0 {
			return procInfo{}, false
		}
		i := reads[pid]
		reads[pid]++
		if i >= len(s) {
			i = len(s) - 1
		}
		return s[i], true
	}
	got := collectProcs([]int{self, sh, parent, daemon, grand, other}, read, self)
	if _, ok := got[parent]; ok {
		t.Error("the reaped parent is listed")
	}
	if got[daemon].ppid != self {
		t.Errorf("daemon: ppid %d, want %d (re-read after its parent vanished)", got[daemon].ppid, self)
	}
	if got[grand].ppid != daemon || reads[grand] != 1 {
		t.Errorf("grandchild: %+v after %d reads, want ppid %d, one read", got[grand], reads[grand], daemon)
	}
	if reads[sh] != 1 || reads[other] != 1 {
		t.Errorf("reads: %v; processes with a listed parent (or none) are read once", reads)
	}
	// A process whose parent vanished and which then vanished itself is dropped.
	script2 := map[int][]procInfo{daemon: {{ppid: parent, sid: daemon}}}
	n := 0
	got = collectProcs([]int{parent, daemon}, func(pid int) (procInfo, bool) {
		if s := script2[pid]; len(s) > 0 && n == 0 {
			n++
			return s[0], true
		}
		return procInfo{}, false
	}, self)
	if len(got) != 0 {
		t.Errorf("got %v, want nothing: the daemon is gone by its second read", got)
	}
}

// TestLeaderChildren: an orphan reparented to a subreaper is listed in its leader's
// children file, whichever thread started the orphan's parent.
func TestLeaderChildren(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot become a subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	// Start the parent from a thread that is not the leader, so that only the reparenting
	// puts the orphan in the leader's list.
	out := make(chan []byte, 1)
	go func() {
		runtime.LockOSThread() // this thread exits with the goroutine
		b, err := exec.Command("/bin/sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!").Output()
		if err != nil {
			t.Error(err)
		}
		out <- b
	}()
	orphan, err := strconv.Atoi(strings.TrimSpace(string(<-out)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(orphan, syscall.SIGKILL)
		var ws syscall.WaitStatus
		syscall.Wait4(orphan, &ws, 0, nil)
	}()
	// The orphan's parent (sh) was reaped (Output waits for it): the kernel reparented the
	// orphan when sh exited, before sh could be reaped.
	pids, ok := leaderChildren(nil)
	if !ok {
		t.Fatal("leaderChildren: cannot read the children file")
	}
	if !slices.Contains(pids, orphan) {
		t.Fatalf("orphan %d not among the leader's children %v", orphan, pids)
	}
	m := &Manager{procs: map[int]*proc{}}
	if !m.hasUnknownChild() {
		t.Error("hasUnknownChild = false with an unknown orphan")
	}
	m.procs[orphan] = &proc{pid: orphan}
	if m.hasUnknownChild() {
		t.Error("hasUnknownChild = true when the only orphan is known")
	}
}

// TestDescendants: a process tree found from its root through the children lists, with a
// child of another thread of a multi-threaded process (this test binary) and without zombies.
func TestDescendants(t *testing.T) {
	// sh runs two sleeps and a quick child it does not reap for a while (a zombie).
	cmd := exec.Command("/bin/sh", "-c", "sleep 30 & sleep 30 & (exit 0) & sleep 30; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Process.Kill(); cmd.Wait() }()
	sh := cmd.Process.Pid
	var got []int
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = descendants(map[int]bool{sh: true})
		if len(got) == 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != 4 || !slices.Contains(got, sh) {
		t.Fatalf("descendants of sh %d = %v, want sh and its three sleeps", sh, got)
	}
	for _, pid := range got {
		if st, _, ok := procStat(pid); !ok || st == 'Z' {
			t.Errorf("pid %d: state %c (ok %v), want a live process", pid, st, ok)
		}
	}

	// A child started from a thread other than the leader is found from this process.
	out := make(chan int, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		c := exec.Command("/bin/sleep", "30")
		if err := c.Start(); err != nil {
			t.Error(err)
			out <- 0
			return
		}
		out <- c.Process.Pid
	}()
	child := <-out
	if child == 0 {
		return
	}
	defer func() { syscall.Kill(child, syscall.SIGKILL); syscall.Wait4(child, nil, 0, nil) }()
	if self := descendants(map[int]bool{os.Getpid(): true}); !slices.Contains(self, child) || !slices.Contains(self, sh) {
		t.Errorf("descendants of this process %v lack the child %d or sh %d", self, child, sh)
	}
	if got := descendants(map[int]bool{999999999: true}); len(got) != 0 {
		t.Errorf("descendants of a pid that does not exist = %v", got)
	}
}

// TestAttribution runs the attribution rules (tracking.go) over synthetic process tables: no
// process is started. Among them the case of issue 16: a unit's main process is being reaped
// (a zombie still) at the moment another unit's daemon loses its intermediate parent; the
// daemon is never placed in the unit being reaped.
func TestAttribution(t *testing.T) {
	const self = 100
	a := &Unit{Name: "a.service", h: &unitHist{invocationID: "aaaa"}, sub: svcRunning, cfg: &unit.Unit{Type: unit.TypeService}}
	b := &Unit{Name: "b.service", h: &unitHist{invocationID: "bbbb"}, sub: svcRunning, cfg: &unit.Unit{Type: unit.TypeService}}
	nobodyUnit := &Unit{Name: "n.service", h: &unitHist{invocationID: "nnnn"}, sub: svcRunning, cfg: &unit.Unit{Type: unit.TypeService}}
	deadUnit := &Unit{Name: "d.service", h: &unitHist{invocationID: "dddd"}, sub: svcDead, cfg: &unit.Unit{Type: unit.TypeService}}
	units := []*Unit{a, b, nobodyUnit, deadUnit}
	uid := map[*Unit]int{a: 0, b: 0, nobodyUnit: 65534, deadUnit: 0}
	type knownProc struct {
		u            *Unit
		child, exact bool
		sid          int // recorded session (rule 4)
	}
	type inv struct {
		id   string
		ruid int
	}
	for _, tc := range []struct {
		name     string
		view     map[int]procInfo
		known    map[int]knownProc
		sessions map[int]sessionEnd
		env      map[int]inv
		pid      int
		want     *Unit
		rule     string
	}{
		{name: "known", known: map[int]knownProc{200: {a, true, true, 200}}, view: map[int]procInfo{200: {ppid: self, sid: 200}},
			pid: 200, want: a, rule: "known"},
		{name: "parent chain", known: map[int]knownProc{200: {a, true, true, 200}},
			view: map[int]procInfo{200: {ppid: self, sid: 200}, 201: {ppid: 200, sid: 201}, 202: {ppid: 201, sid: 201}},
			pid:  202, want: a, rule: "parent"},
		{name: "orphan of a zombie leader", known: map[int]knownProc{400: {a, true, true, 400}},
			view: map[int]procInfo{400: {ppid: self, sid: 400, zombie: true}, 401: {ppid: self, sid: 400}},
			pid:  401, want: a, rule: "leader"},
		{name: "orphan of a live leader placed by its parent", known: map[int]knownProc{400: {a, true, true, 400}},
			view: map[int]procInfo{400: {ppid: self, sid: 400}, 410: {ppid: 400, sid: 410}, 411: {ppid: self, sid: 410}},
			pid:  411, want: a, rule: "leader"},
		// Issue 16: a's main (500) is a zombie being reaped; b's daemon (601) just lost its
		// intermediate (600, gone, which had left b's session). It carries b's INVOCATION_ID.
		{name: "the race: another unit's daemon", known: map[int]knownProc{500: {a, true, true, 500}, 550: {b, true, true, 550}},
			view: map[int]procInfo{500: {ppid: self, sid: 500, zombie: true}, 550: {ppid: self, sid: 550}, 601: {ppid: self, sid: 600}},
			env:  map[int]inv{601: {"bbbb", 0}}, pid: 601, want: b, rule: "invocation"},
		{name: "the race, environment cleared: nobody's", known: map[int]knownProc{500: {a, true, true, 500}, 550: {b, true, true, 550}},
			view: map[int]procInfo{500: {ppid: self, sid: 500, zombie: true}, 550: {ppid: self, sid: 550}, 601: {ppid: self, sid: 600}},
			pid:  601, want: nil},
		{name: "the race, still in its unit's session", known: map[int]knownProc{500: {a, true, true, 500}, 550: {b, true, true, 550}},
			view: map[int]procInfo{500: {ppid: self, sid: 500, zombie: true}, 550: {ppid: self, sid: 550}, 601: {ppid: self, sid: 550}},
			env:  map[int]inv{601: {"aaaa", 0}}, pid: 601, want: b, rule: "leader"},
		{name: "member of an adopted process's session", known: map[int]knownProc{700: {a, true, true, 650}},
			view: map[int]procInfo{700: {ppid: self, sid: 650}, 701: {ppid: self, sid: 650}},
			pid:  701, want: a, rule: "member"},
		{name: "member placed by invocation only: no rule for others", known: map[int]knownProc{710: {a, true, false, 660}},
			view: map[int]procInfo{710: {ppid: self, sid: 660}, 711: {ppid: self, sid: 660}},
			pid:  711, want: nil},
		{name: "member that left the session", known: map[int]knownProc{720: {a, true, true, 670}},
			view: map[int]procInfo{720: {ppid: self, sid: 720}, 721: {ppid: self, sid: 670}},
			pid:  721, want: nil},
		{name: "session noted at a reap, started before", sessions: map[int]sessionEnd{680: {a, 1000}},
			view: map[int]procInfo{731: {ppid: self, sid: 680, start: 999}},
			pid:  731, want: a, rule: "session"},
		{name: "session noted at a reap, started at the reap's tick", sessions: map[int]sessionEnd{680: {a, 1000}},
			view: map[int]procInfo{732: {ppid: self, sid: 680, start: 1000}},
			pid:  732, want: nil},
		{name: "pid of the session id is not its leader", sessions: map[int]sessionEnd{},
			known: map[int]knownProc{800: {a, true, true, 800}},
			view:  map[int]procInfo{800: {ppid: self, sid: 900}, 801: {ppid: self, sid: 800}},
			pid:   801, want: a, rule: "leader"},
		{name: "session id held by a process that is not its leader", view: map[int]procInfo{810: {ppid: 1, sid: 900}, 811: {ppid: self, sid: 810}},
			known: map[int]knownProc{}, pid: 811, want: nil},
		{name: "invocation of a User=nobody unit, run as nobody", view: map[int]procInfo{820: {ppid: self, sid: 820}},
			env: map[int]inv{820: {"nnnn", 65534}}, pid: 820, want: nobodyUnit, rule: "invocation"},
		{name: "invocation of a User=nobody unit, run as root", view: map[int]procInfo{821: {ppid: self, sid: 821}},
			env: map[int]inv{821: {"nnnn", 0}}, pid: 821, want: nobodyUnit, rule: "invocation"},
		{name: "invocation of a root unit forged by nobody", view: map[int]procInfo{822: {ppid: self, sid: 822}},
			env: map[int]inv{822: {"aaaa", 65534}}, pid: 822, want: nil},
		{name: "invocation of an inactive unit", view: map[int]procInfo{823: {ppid: self, sid: 823}},
			env: map[int]inv{823: {"dddd", 0}}, pid: 823, want: nil},
		{name: "invocation of a process that is no orphan", view: map[int]procInfo{830: {ppid: 1, sid: 830}, 831: {ppid: 830, sid: 830}},
			env: map[int]inv{831: {"aaaa", 0}}, pid: 831, want: nil},
		{name: "invocation of a zombie", view: map[int]procInfo{832: {ppid: self, sid: 832, zombie: true}},
			env: map[int]inv{832: {"aaaa", 0}}, pid: 832, want: nil},
		{name: "parent loop in a view read over time", view: map[int]procInfo{950: {ppid: 951, sid: 950}, 951: {ppid: 950, sid: 950}},
			pid: 950, want: nil},
		{name: "descendant of a polled main process", known: map[int]knownProc{990: {b, false, false, 990}},
			view: map[int]procInfo{990: {ppid: 1, sid: 990}, 991: {ppid: 990, sid: 990}},
			pid:  991, want: b, rule: "parent"},
		{name: "flint itself and init", view: map[int]procInfo{self: {ppid: 1, sid: 1}}, pid: self, want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := &attributor{
				self:     self,
				stat:     func(pid int) (procInfo, bool) { pi, ok := tc.view[pid]; return pi, ok },
				sessions: tc.sessions,
				known: func(pid int) (*Unit, bool, bool) {
					k, ok := tc.known[pid]
					if !ok {
						return nil, false, false
					}
					return k.u, k.child, k.exact
				},
				members: func(sid int) []int {
					var out []int
					for pid, k := range tc.known {
						if k.exact && k.child && k.sid == sid && pid != sid {
							out = append(out, pid)
						}
					}
					return out
				},
				invocation: func(pid int) (string, int, bool) { e, ok := tc.env[pid]; return e.id, e.ruid, ok },
				byInvocation: func(id string) *Unit {
					for _, u := range units {
						if u.hs().invocationID == id && !isInactiveOrFailed(u.activeState()) {
							return u
						}
					}
					return nil
				},
				mayRunAs: func(u *Unit, ruid int) bool { return ruid == 0 || ruid == uid[u] },
				memo:     map[int]ownership{},
			}
			o := at.owner(tc.pid)
			if o.u != tc.want || tc.want != nil && o.rule != tc.rule {
				name := func(u *Unit) string {
					if u == nil {
						return "nobody"
					}
					return u.Name
				}
				t.Errorf("owner(%d) = %s by %q, want %s by %q", tc.pid, name(o.u), o.rule, name(tc.want), tc.rule)
			}
		})
	}
}

// TestSessionNotes: rule 5's notes. A reaped process placed exactly notes its session while
// the session's process group has members left; one taken on trust, or whose group is empty,
// notes nothing. A look at every process forgets the notes of sessions nobody is in, and an
// unloaded unit's notes go with it.
func TestSessionNotes(t *testing.T) {
	group := exec.Command("/bin/sleep", "100") // leads a process group of its own
	group.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := group.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { group.Process.Kill(); group.Wait() }()
	g := group.Process.Pid
	a := &Unit{Name: "a.service"}
	b := &Unit{Name: "b.service"}
	m := &Manager{procs: map[int]*proc{}, adopted: map[int]adoptee{}, alone: map[int]bool{}}
	// Fake children: pids that are not real processes of this test.
	m.procs[1<<22+1] = &proc{u: a, sid: g}
	m.procs[1<<22+2] = &proc{u: b, sid: g, trusted: true}
	m.adopted[1<<22+3] = adoptee{u: b, sid: 1<<22 + 9, exact: true} // a session whose group is empty
	m.reaped(1<<22+1, 500)
	m.reaped(1<<22+2, 600)
	m.reaped(1<<22+3, 700)
	if len(m.sessions) != 1 || m.sessions[g] != (sessionEnd{a, 500}) {
		t.Fatalf("notes %v, want only session %d of a.service until 500", m.sessions, g)
	}
	if _, ok := m.adopted[1<<22+3]; ok {
		t.Error("a reaped adopted process is still adopted")
	}
	m.reaped(1<<22+1, 800) // a later reap moves the end
	if m.sessions[g].end != 800 {
		t.Errorf("end %d, want 800", m.sessions[g].end)
	}
	m.placeOrphans(&attributor{self: os.Getpid()}, map[int]procInfo{g: {ppid: 1, sid: 1}})
	if len(m.sessions) != 0 || len(m.sessionOrder) != 0 {
		t.Errorf("notes %v, order %v after a look that shows nobody in session %d", m.sessions, m.sessionOrder, g)
	}
	m.sessions = map[int]sessionEnd{g: {a, 1}, g + 1: {b, 2}}
	m.sessionOrder = []sessionNote{{g, 1}, {g + 1, 2}}
	m.forgetTracking(a)
	if _, ok := m.sessions[g]; ok || len(m.sessionOrder) != 1 {
		t.Errorf("notes %v, order %v after a.service was forgotten", m.sessions, m.sessionOrder)
	}
}
