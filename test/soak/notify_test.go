package soak

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifySocketOf reads the NOTIFY_SOCKET a running process was given.
func notifySocketOf(t *testing.T, pid string) string {
	t.Helper()
	env, err := os.ReadFile("/proc/" + pid + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(string(env), "\x00") {
		if v, ok := strings.CutPrefix(kv, "NOTIFY_SOCKET="); ok {
			return v
		}
	}
	t.Fatalf("process %s has no NOTIFY_SOCKET", pid)
	return ""
}

// TestNotifyForgery: processes that belong to no unit, as nobody and as root, send to the
// notify socket what only a unit's main process may send (MAINPID= naming the main process
// or a root process of theirs, READY=1, STOPPING=1, RELOADING=1, STATUS=, ERRNO=, WATCHDOG=,
// FDSTORE=1 with a descriptor, ...), credentials naming the main process, floods of small
// messages, oversized ones and messages carrying 253 descriptors each. The two notify
// services (NotifyAccess=main and all) are unchanged afterwards, the foreign process lives,
// the real main process is still heard, another notify service still starts, root's status
// answers throughout and every passed descriptor is closed.
func TestNotifyForgery(t *testing.T) {
	dir := openDir(t)
	bin := copyFile(t, hostileBin, dir)
	killLeftovers(t, bin)
	svc := func(access string) string {
		return "[Service]\nType=notify\nNotifyAccess=" + access + "\nFileDescriptorStoreMax=16\nWatchdogSec=1h\nExecStart=" + bin + " notify-main\n"
	}
	units := writeFiles(t, filepath.Join(dir, "units"), map[string]string{
		"victim.service": svc("main"),
		"open.service":   svc("all"),
		"later.service":  svc("main"),
	})
	m := startManager(t, units)
	f := newFigures(t)
	m.mustFlint(t, "start", "victim.service", "open.service")
	watched := []string{"MainPID", "ActiveState", "SubState", "Result", "StatusText", "StatusErrno", "NRestarts", "NFileDescriptorStore", "WatchdogUSec"}
	before := map[string]map[string]string{}
	for _, u := range []string{"victim.service", "open.service"} {
		before[u] = m.waitProps(t, u, map[string]string{"ActiveState": "active", "SubState": "running", "StatusText": "main 0"})
		before[u] = m.props(t, u, watched...)
	}
	mainPID := before["victim.service"]["MainPID"]
	addr := notifySocketOf(t, mainPID)
	// A root process that nobody's MAINPID= names: it must not become anybody's main process.
	foreign := exec.Command(bin, "sleep")
	if err := foreign.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { foreign.Process.Kill(); foreign.Wait() }()
	foreignPID := strconv.Itoa(foreign.Process.Pid)

	base := m.usage()
	p := m.startProbe("victim.service")
	start := time.Now()
	for _, asRoot := range []bool{false, true} {
		who := map[bool]string{false: "nobody", true: "root"}[asRoot]
		for _, a := range []struct {
			kind string
			n    int
		}{
			{"forge", pick(20, 500)},
			{"creds", 1},
			{"flood", pick(5000, 200000)},
			{"huge", pick(200, 5000)},
			{"fds", pick(100, 2000)},
		} {
			if a.kind == "creds" && asRoot {
				continue // root may name any process in its credentials: nothing to refuse
			}
			r := runHostile(t, asRoot, "notify", addr, a.kind, strconv.Itoa(a.n), mainPID, foreignPID)
			f.add(fmt.Sprintf("%s as %s (×%d)", a.kind, who, a.n), "%s", brief(r))
			if a.kind == "creds" && r["creds_refused"] != true {
				t.Errorf("nobody sent credentials naming the main process %s: %v", mainPID, r)
			}
		}
	}
	peak := m.usage()
	p.waitRequests(20, 10*time.Second)
	lat := p.stop()
	lat.check(t, "the notify socket is flooded")
	took := time.Since(start)

	// Every message above is processed (or dropped) before one sent after it: the real main
	// process's next status shows that the manager has read them all.
	if err := syscall.Kill(atoi(t, mainPID), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	m.waitProps(t, "victim.service", map[string]string{"StatusText": "main 1"})
	before["victim.service"]["StatusText"] = "main 1"
	for _, u := range []string{"victim.service", "open.service"} {
		after := m.props(t, u, watched...)
		for _, k := range watched {
			if after[k] != before[u][k] {
				t.Errorf("%s: %s=%q after the forgeries, was %q", u, k, after[k], before[u][k])
			}
		}
	}
	if err := syscall.Kill(foreign.Process.Pid, 0); err != nil {
		t.Errorf("the foreign root process %s is gone: %v", foreignPID, err)
	}
	after, ok := m.fdsBackTo(base, 20*time.Second)
	if !ok {
		t.Errorf("manager descriptors: %d before the floods, %d 20s after", base.fds, after.fds)
	}
	m.mustFlint(t, "start", "later.service")
	m.waitProps(t, "later.service", map[string]string{"ActiveState": "active", "StatusText": "main 0"})
	f.add("duration", "%s", took.Round(time.Millisecond))
	f.add("manager before", "%s", base)
	f.add("manager after the floods", "%s", peak)
	f.add("manager settled", "%s", after)
	f.add("root's status latency", "%s", lat)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
