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
