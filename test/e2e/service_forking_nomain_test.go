package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestForkingWithoutMainPID: a Type=forking service with GuessMainPID=no and no PIDFile= (the
// units systemd-sysv-generator makes, postfix@.service) has no main process; as under systemd
// it is active (running) while the daemon it forked runs, and stops (ExecStop=) once that
// daemon is gone.
func TestForkingWithoutMainPID(t *testing.T) {
	dir := t.TempDir()
	pidFile, stopped := filepath.Join(dir, "daemon.pid"), filepath.Join(dir, "stopped")
	units := writeUnits(t, map[string]string{
		"nomain.service": unitFile("Service", `Type=forking
GuessMainPID=no
ExecStart=/bin/sh -c 'setsid sleep 600 >/dev/null 2>&1 </dev/null & echo $! >`+pidFile+`'
ExecStop=/bin/sh -c 'echo stop >`+stopped+`'
`),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("nomain.service")
	c.waitState("nomain.service", "active/running")
	if p := c.props("nomain.service", "MainPID", "ControlPID"); p["MainPID"] != "0" || p["ControlPID"] != "0" {
		t.Errorf("nomain.service: %v, want no main or control process", p)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readWait(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the daemon (pid %d): %v", pid, err)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	c.waitState("nomain.service", "inactive/dead")
	if got := strings.TrimSpace(readWait(t, stopped)); got != "stop" {
		t.Errorf("ExecStop= after the daemon went: %q", got)
	}
	if r := c.prop("nomain.service", "Result"); r != "success" {
		t.Errorf("Result=%s, want success", r)
	}
}

// TestPermissionsStartOnly: with PermissionsStartOnly=yes the control commands run as root
// without the unit's User= and CapabilityBoundingSet= (as with '+'), ExecStart= with them.
func TestPermissionsStartOnly(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for User=nobody")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	line := func(name string) string {
		return `/bin/sh -c 'echo $(id -u) $(grep CapBnd /proc/self/status | cut -f2) >` + filepath.Join(dir, name) + `'`
	}
	units := writeUnits(t, map[string]string{
		"pso.service": unitFile("Service", `Type=oneshot
RemainAfterExit=yes
User=nobody
PermissionsStartOnly=yes
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
ExecStartPre=`+line("pre")+`
ExecStart=`+line("main")+`
ExecStartPost=`+line("post")+`
`),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("pso.service")
	c.waitState("pso.service", "active/exited")
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	self := ""
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			self = strings.TrimSpace(v)
		}
	}
	for name, want := range map[string]string{"pre": "0 " + self, "main": "65534 0000000000000400", "post": "0 " + self} {
		if got := strings.TrimSpace(readWait(t, filepath.Join(dir, name))); got != want {
			t.Errorf("%s: uid and CapBnd %q, want %q", name, got, want)
		}
	}
}
