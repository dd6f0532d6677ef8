package e2e

import (
	"fmt"
	"os/exec"
	"testing"
)

// TestForeignMainPIDExit: a root service names as its main process (MAINPID=) a process that
// is not flint's child, here one of the test's own; when that process exits, flint notices
// (through its pidfd) and the service goes down as one whose main process exited: its other
// process (the shell's sleep) is stopped, and it ends inactive, MainPID=0.
func TestForeignMainPIDExit(t *testing.T) {
	foreign := exec.Command("/bin/sleep", "1000")
	if err := foreign.Start(); err != nil {
		t.Fatal(err)
	}
	pid := foreign.Process.Pid
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			foreign.Process.Kill()
			foreign.Wait()
		}
	})
	units := writeUnits(t, map[string]string{
		"daemon.service": unitFile("Service", fmt.Sprintf("Type=notify\nNotifyAccess=all\nExecStart=/bin/sh -c '/bin/systemd-notify --ready MAINPID=%d; exec sleep 1000'", pid)),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("daemon.service")
	c.waitProps("daemon.service", map[string]string{"ActiveState": "active", "MainPID": fmt.Sprint(pid)})
	if err := foreign.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	foreign.Wait()
	reaped = true
	c.waitProps("daemon.service", map[string]string{"ActiveState": "inactive", "SubState": "dead", "MainPID": "0"})
}
