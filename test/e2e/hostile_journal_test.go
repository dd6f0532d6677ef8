package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/journal"
)

// TestJournalFlood: nobody attacks the journal sockets of a manager that serves them (in a
// private mount namespace). Its entries that claim root's pid, uid and a unit carry its own
// credentials and no unit. Then it holds as many stream connections as it can get and sends
// 100,000 syslog datagrams: root's own logging goes on (systemd-cat's stream is taken and
// its line stored, logger's datagram is stored, a unit's output is stored), the manager
// answers root, nobody's lines are in no unit's log and nobody reads none of them, and the
// manager's fds stay within its budget and come back when nobody's process ends.
func TestJournalFlood(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("a private mount namespace needs root")
	}
	base := t.TempDir()
	units := writeUnits(t, map[string]string{
		"rootsvc.service": unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo rootsvc line'"),
	})
	m := launchManager(t, units, launchOptions{journal: true, stopWait: 15 * time.Second, wrap: containerNS(base, "")})
	c := on(t, m)
	reachable(t, filepath.Dir(m.control))
	pid := m.cmd.Process.Pid
	baseFDs := fdCount(t, pid)
	soft, _ := nofileLimit(t, pid)

	// Fields a client may not set (_PID=, _UID=, _SYSTEMD_UNIT=, ...) are dropped, and a
	// stream's unit is taken from its header only from root: nobody's entries carry its own
	// credentials and no unit.
	forge := hostileInNS(t, pid, "forge", "/run/systemd/journal")
	sent := forge.line(t)
	fpid, _ := strings.CutPrefix(sent, "sent ")
	for _, msg := range []string{"forged native", "forged stream"} {
		e := waitLog(t, c, []string{"-t", "forged"}, func(e map[string]any) bool { return str(e, "MESSAGE") == msg })
		if str(e, "_PID") != fpid || str(e, "_UID") != strconv.Itoa(nobodyUID) || str(e, "_GID") != strconv.Itoa(nobodyUID) ||
			str(e, "_SYSTEMD_UNIT") != "" || str(e, "_COMM") == "systemd" {
			t.Errorf("nobody's %q (pid %s): %v", msg, fpid, e)
		}
	}
	if out, _ := c.flint("logs", "-u", "rootsvc.service"); strings.Contains(out, "forged") {
		t.Errorf("nobody's forged lines are in rootsvc.service's log:\n%s", out)
	}

	// Streams: nobody takes what it can.
	streams := hostileInNS(t, pid, "streams", "/run/systemd/journal/stdout", "6000")
	opened := streams.line(t)
	t.Logf("nobody: %s of 6000 streams", opened)
	var held int
	if !waitFor(20*time.Second, func() bool {
		held = fdCount(t, pid) - baseFDs
		return held >= journal.DefaultStreamLimits(soft).PerUID
	}) {
		t.Logf("the manager holds %d more fds than before", held)
	}
	if lim := journal.DefaultStreamLimits(soft).PerUID; held > lim+16 {
		t.Errorf("the manager holds %d more fds for nobody's streams, want at most %d", held, lim)
	}
	// Root's stream is taken.
	out, err := nsCommand(pid, "systemd-cat", "-t", "rootcat", "/bin/echo", "root's cat line").CombinedOutput()
	if err != nil {
		t.Errorf("systemd-cat as root under nobody's streams: %v\n%s", err, out)
	}
	waitLog(t, c, []string{"-t", "rootcat"}, func(e map[string]any) bool { return str(e, "MESSAGE") == "root's cat line" })

	// Datagrams: nobody floods /dev/log while root logs.
	flood := hostileInNS(t, pid, "syslog", "/dev/log", "100000")
	out, err = nsCommand(pid, "logger", "-t", "rootlog", "root's logger line").CombinedOutput()
	if err != nil {
		t.Errorf("logger as root under nobody's flood: %v\n%s", err, out)
	}
	c.run(0, "start", "rootsvc.service")
	t.Logf("nobody: %s", flood.line(t))
	waitLog(t, c, []string{"-t", "rootlog"}, func(e map[string]any) bool { return str(e, "MESSAGE") == "root's logger line" })
	waitEntry(t, c, "rootsvc.service", "rootsvc line")
	if st, code := c.flint("status", "rootsvc.service"); code != 3 || !strings.Contains(st, "rootsvc line") {
		t.Errorf("root's status under the flood: exit %d\n%s", code, st)
	}
	// nobody's lines are its own: in no unit's log, with its uid; nobody reads none.
	e := waitLog(t, c, []string{"-t", "flood"}, func(e map[string]any) bool { return strings.HasPrefix(str(e, "MESSAGE"), "nobody's line") })
	if str(e, "_UID") != strconv.Itoa(nobodyUID) || str(e, "_SYSTEMD_UNIT") != "" {
		t.Errorf("nobody's line: %v", e)
	}
	if out, code := flintAs(t, nobodyFlint(t), &syscall.Credential{Uid: nobodyUID, Gid: nobodyUID, Groups: []uint32{}},
		"--control", m.control, "logs", "-t", "rootlog"); code != 1 || out != logHint+logDenied {
		t.Errorf("nobody's flint logs: exit %d\n%s", code, out)
	}

	// nobody's process ends: its streams are let go.
	streams.stdin.Close()
	streams.cmd.Wait()
	if !waitFor(20*time.Second, func() bool { return fdCount(t, pid) <= baseFDs+2 }) {
		t.Errorf("the manager holds %d fds after nobody's streams ended, %d before", fdCount(t, pid), baseFDs)
	}
}
