package manager

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
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
