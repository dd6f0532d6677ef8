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
)

// TestReadProcs checks the /proc fields tracking relies on against this test process and a
// child in its own session.
func TestReadProcs(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	before := bootTicks(time.Now())
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
	// bootTicks is one second early: a process started after the call is not older.
	if child.start < before {
		t.Errorf("child start %d ticks < bootTicks(before its start) %d", child.start, before)
	}
	if later := bootTicks(time.Now().Add(time.Hour)); child.start >= later {
		t.Errorf("child start %d ticks >= bootTicks(an hour later) %d", child.start, later)
	}
	if bootTicks(time.Time{}) != 0 {
		t.Error("bootTicks(zero) != 0")
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
	// The orphan's parent (sh) has exited; wait for the reparenting to be visible.
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, ok := leaderChildren(nil)
		if !ok {
			t.Fatal("leaderChildren: cannot read the children file")
		}
		if slices.Contains(pids, orphan) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphan %d not among the leader's children %v", orphan, pids)
		}
		time.Sleep(10 * time.Millisecond)
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
