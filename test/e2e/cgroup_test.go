package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/cgroup"
)

// cgroupManager starts `flint run` in a cgroup subtree of its own, made in every hierarchy of
// this machine for the test and removed after it (what a test's flint may touch), and
// returns it with the layout below that subtree. Skips where no cgroup is writable.
func cgroupManager(t *testing.T, units string) (*manager, *cgroup.Layout) {
	t.Helper()
	l := cgroup.Detect()
	if l.Kind == cgroup.None {
		t.Skip(l.Describe())
	}
	rel := fmt.Sprintf("flint-e2e-%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), os.Getpid())
	top := cgroupSubtree(t, l, rel)
	script := ""
	for _, f := range top.ProcsFiles() {
		script += "echo $$ >" + f + " || exit 1; "
	}
	m := launchManager(t, units, launchOptions{stopWait: 10 * time.Second, wrap: []string{"/bin/sh", "-c", script + `exec "$@"`, "sh"}})
	return m, l.Sub(rel)
}

// cgroupSubtree makes the group rel in every hierarchy of l for a test. When the test ends
// (after the managers started in it have stopped: cleanups run last-in first-out), whatever
// is left in it is killed, and it goes.
func cgroupSubtree(t *testing.T, l *cgroup.Layout, rel string) *cgroup.Group {
	t.Helper()
	top := &cgroup.Group{L: l, Rel: rel}
	if err := top.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		waitFor(10*time.Second, func() bool {
			pids, _ := top.PIDs()
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGKILL)
			}
			return top.Remove() == nil
		})
	})
	return top
}

// TestCgroupDoubleForkKilledOnStop: a daemon that double-forked and left the unit's session
// (setsid) is in the unit's cgroup, listed by status, and killed by the stop; the unit's
// group and its slices go with it.
func TestCgroupDoubleForkKilledOnStop(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "daemon.pid")
	units := writeUnits(t, map[string]string{
		"d.service": unitFile("Service", `ExecStart=/bin/sh -c 'setsid /bin/sh -c "sleep 1000 & echo \$! >`+pidFile+`" ; exec sleep 1001'`+"\nSlice=a-b.slice"),
	})
	m, l := cgroupManager(t, units)
	c := on(t, m)
	c.start("d.service")
	daemon := pidFromFile(t, pidFile)
	killAtEnd(t, daemon)
	path := filepath.Join("/", l.Tracking.Base, "a.slice/a-b.slice/d.service")
	if got := c.prop("d.service", "ControlGroup"); got != path {
		t.Fatalf("ControlGroup %q, want %q", got, path)
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", daemon))
	if err != nil {
		t.Fatal(err)
	}
	// The tracking hierarchy only: a unit without settings joins no v1 hierarchy.
	want := 1
	if n := strings.Count(string(cg), "/a.slice/a-b.slice/d.service\n"); n != want {
		t.Fatalf("daemon in the unit's group in %d hierarchies, want %d:\n%s", n, want, cg)
	}
	st, _ := c.flint("status", "d.service")
	for _, w := range []string{"     CGroup: " + path + "\n", "─" + strconv.Itoa(daemon) + " sleep 1000\n", "      Tasks: 2 (limit: "} {
		if !strings.Contains(st, w) {
			t.Errorf("status lacks %q:\n%s", w, st)
		}
	}
	c.run(0, "stop", "d.service")
	if !waitFor(10*time.Second, func() bool { return !alive(daemon) }) {
		t.Fatalf("daemon %d survived the stop", daemon)
	}
	if got := c.prop("d.service", "ControlGroup"); got != "" {
		t.Errorf("ControlGroup %q of the stopped unit", got)
	}
	// The empty group is kept for the next start, and goes with the manager.
	if code := m.terminate(); code != 0 {
		t.Errorf("flint run exited %d", code)
	}
	for _, h := range l.All {
		if _, err := os.Stat(h.Dir("a.slice")); !os.IsNotExist(err) {
			t.Errorf("%s left after the manager's end (%v)", h.Dir("a.slice"), err)
		}
	}
}

// TestCgroupMemoryMaxOOMKill: a service allocating past MemoryMax= is killed by the kernel's
// OOM killer in its group and ends with Result=oom-kill.
func TestCgroupMemoryMaxOOMKill(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"hog.service": unitFile("Service", "ExecStart=/usr/bin/python3 -c 'b = b\"x\" * (400 << 20); import time; time.sleep(100)'\nMemoryMax=40M"),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	c.flint("start", "hog.service")
	got := c.waitState("hog.service", "failed/failed")
	_ = got
	if r := c.prop("hog.service", "Result"); r != "oom-kill" {
		st, _ := c.flint("status", "hog.service")
		t.Fatalf("Result=%s, want oom-kill\n%s", r, st)
	}
	if v := c.prop("hog.service", "MemoryMax"); v != strconv.Itoa(40<<20) {
		t.Errorf("MemoryMax=%s", v)
	}
}

// TestCgroupTasksMax: a fork bomb stops at TasksMax=.
func TestCgroupTasksMax(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	units := writeUnits(t, map[string]string{
		// Forks until refused (40 at most), counts the refusals, then waits.
		"bomb.service": unitFile("Service", `ExecStart=/usr/bin/python3 -c '`+
			`import os, time\nrefused = 0\nfor i in range(40):\n  try:\n    if os.fork() == 0:\n      time.sleep(1000); os._exit(0)\n  except OSError:\n    refused += 1\n`+
			`open("`+done+`", "w").write(str(refused))\ntime.sleep(1000)'`+"\nTasksMax=8"),
	})
	m, l := cgroupManager(t, units)
	c := on(t, m)
	c.start("bomb.service")
	if refused, _ := strconv.Atoi(readWait(t, done)); refused < 30 {
		t.Errorf("only %d of 40 forks refused under TasksMax=8", refused)
	}
	n, err := strconv.Atoi(c.prop("bomb.service", "TasksCurrent"))
	if err != nil || n > 8 || n < 2 {
		t.Fatalf("TasksCurrent %d (%v), want 2..8 under TasksMax=8", n, err)
	}
	if h := l.Controller("pids"); h != nil {
		b, _ := os.ReadFile(h.Dir("system.slice/bomb.service/pids.max"))
		if strings.TrimSpace(string(b)) != "8" {
			t.Errorf("pids.max %q", b)
		}
	}
	c.run(0, "stop", "bomb.service")
}

// TestCgroupCPUQuota: CPUQuota=20% holds a busy loop near a fifth of a CPU; usage is measured
// from the group's CPU counter over 5 s, with a wide margin (the machine is shared).
func TestCgroupCPUQuota(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"busy.service": unitFile("Service", "ExecStart=/bin/sh -c 'while :; do :; done'\nCPUQuota=20%\nCPUAccounting=yes"),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	c.start("busy.service")
	read := func() (time.Time, uint64) {
		v, err := strconv.ParseUint(c.prop("busy.service", "CPUUsageNSec"), 10, 64)
		if err != nil {
			t.Fatalf("CPUUsageNSec: %v", err)
		}
		return time.Now(), v
	}
	t0, u0 := read()
	time.Sleep(5 * time.Second) // the measurement window, not a wait for an event
	t1, u1 := read()
	share := float64(u1-u0) / float64(t1.Sub(t0).Nanoseconds())
	t.Logf("busy loop under CPUQuota=20%%: %.1f%% of a CPU over %v", share*100, t1.Sub(t0).Round(time.Millisecond))
	if share > 0.30 {
		t.Errorf("%.1f%% of a CPU, want at most about 20%%", share*100)
	}
	if share < 0.02 {
		t.Errorf("%.1f%% of a CPU: the loop barely ran", share*100)
	}
	c.run(0, "stop", "busy.service")
}

// TestCgroupSetProperty: set-property changes a running unit's limits in its cgroup at once.
func TestCgroupSetProperty(t *testing.T) {
	units := writeUnits(t, map[string]string{"s.service": unitFile("Service", "ExecStart=/bin/sleep 1000\nTasksMax=20")})
	m, l := cgroupManager(t, units)
	c := on(t, m)
	c.start("s.service")
	h := l.Controller("pids")
	if h == nil {
		t.Skip("no pids controller")
	}
	file := h.Dir("system.slice/s.service/pids.max")
	read := func() string { b, _ := os.ReadFile(file); return strings.TrimSpace(string(b)) }
	if got := read(); got != "20" {
		t.Fatalf("pids.max %q before", got)
	}
	c.run(0, "set-property", "s.service", "TasksMax=7")
	if got := read(); got != "7" {
		t.Errorf("pids.max %q after set-property TasksMax=7", got)
	}
	if got := c.prop("s.service", "TasksMax"); got != "7" {
		t.Errorf("TasksMax=%s", got)
	}
}

// TestCgroupKillModes: a daemon that left the session and ignores SIGTERM, under each
// KillMode=: control-group kills it (SIGTERM to the group, ignored, then SIGKILL after
// TimeoutStopSec=, 1 s here), mixed too (SIGTERM to the main process only, the SIGKILL to the
// group once it is gone, without waiting for the timeout: 60 s), process leaves it in the
// group.
func TestCgroupKillModes(t *testing.T) {
	dir := t.TempDir()
	daemonSh := filepath.Join(dir, "daemon.sh")
	if err := os.WriteFile(daemonSh, []byte("trap '' TERM\necho $$ >\"$1\"\nexec sleep 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, mode := range []string{"control-group", "mixed", "process"} {
		timeout := "60"
		if mode == "control-group" {
			timeout = "1"
		}
		files[mode+".service"] = unitFile("Service", "ExecStart=/bin/sh -c 'setsid /bin/sh "+daemonSh+" "+filepath.Join(dir, mode)+
			"; exec sleep 1001'\nKillMode="+mode+"\nTimeoutStopSec="+timeout)
	}
	m, _ := cgroupManager(t, writeUnits(t, files))
	c := on(t, m)
	for _, mode := range []string{"mixed", "process", "control-group"} {
		t.Run(mode, func(t *testing.T) {
			c.start(mode + ".service")
			daemon := pidFromFile(t, filepath.Join(dir, mode))
			killAtEnd(t, daemon)
			waitFor(10*time.Second, func() bool { return comm(daemon) == "sleep" }) // past its trap
			t0 := time.Now()
			c.run(0, "stop", mode+".service")
			t.Logf("stop took %v", time.Since(t0).Round(time.Millisecond))
			if mode == "process" {
				if !alive(daemon) {
					t.Fatal("KillMode=process killed the daemon")
				}
				if n := c.prop(mode+".service", "ControlGroup"); n == "" {
					t.Errorf("ControlGroup empty with a process left in it")
				}
				return
			}
			if !waitFor(10*time.Second, func() bool { return !alive(daemon) }) {
				t.Fatalf("daemon %d survived", daemon)
			}
		})
	}
}

// comm is a process's name from /proc ("" when gone).
func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}
