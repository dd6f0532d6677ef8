package e2e

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShutdownOrder: on SIGTERM units stop in reverse start order, services before the sockets
// that activate them, and flint exits 0.
func TestShutdownOrder(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "stops.log")
	stopPost := func(name string) string {
		return "ExecStopPost=/bin/sh -c 'echo " + name + " >> " + log + "'\n"
	}
	units := writeUnits(t, map[string]string{
		"db.service":   "[Unit]\nDescription=db\n[Service]\nExecStart=/bin/sleep 60\n" + stopPost("db"),
		"app.service":  "[Unit]\nDescription=app\nRequires=db.service\nAfter=db.service\n[Service]\nExecStart=/bin/sleep 60\n" + stopPost("app"),
		"web.service":  "[Unit]\nDescription=web\nWants=app.service\nAfter=app.service\n[Service]\nExecStart=/bin/sleep 60\n" + stopPost("web"),
		"web.socket":   "[Unit]\nDescription=web socket\n[Socket]\nListenStream=" + filepath.Join(dir, "web.sk") + "\n" + stopPost("web.socket"),
		"stack.target": "[Unit]\nDescription=stack\nWants=web.service web.socket\n",
	})
	m := startManager(t, units)
	if out, code := m.flint("start", "stack.target"); code != 0 {
		t.Fatalf("start: %d %s", code, out)
	}
	for _, u := range []string{"db.service", "app.service", "web.service", "web.socket"} {
		if out, code := m.flint("is-active", u); code != 0 {
			t.Fatalf("%s not active: %s", u, out)
		}
	}
	if code := m.terminate(); code != 0 {
		t.Fatalf("flint run exited %d after SIGTERM", code)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(data))
	want := []string{"web", "app", "db"}
	var services []string
	for _, g := range got {
		if g != "web.socket" {
			services = append(services, g)
		}
	}
	if strings.Join(services, " ") != strings.Join(want, " ") {
		t.Errorf("services stopped in order %v, want %v", services, want)
	}
	if indexOf(got, "web.socket") < indexOf(got, "web") {
		t.Errorf("web.socket stopped before web.service: %v", got)
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// TestDependencyVerbs: list-dependencies, analyze critical-chain/plot/dot against a running
// manager.
func TestDependencyVerbs(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"base.service":  "[Unit]\nDescription=base\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sleep 0.2\n",
		"top.service":   "[Unit]\nDescription=top\nRequires=base.service\nAfter=base.service\nWants=extra.service\n[Service]\nExecStart=/bin/sleep 60\n",
		"extra.service": "[Unit]\nDescription=extra\n[Service]\nExecStart=/bin/sleep 60\n",
		"all.target":    "[Unit]\nDescription=all\nWants=top.service\nAfter=top.service\n",
	})
	m := startManager(t, units)
	if out, code := m.flint("start", "all.target"); code != 0 {
		t.Fatalf("start: %d %s", code, out)
	}
	out, code := m.flint("list-dependencies", "top.service")
	if code != 0 || !strings.Contains(out, "base.service") || !strings.Contains(out, "extra.service") {
		t.Errorf("list-dependencies top.service (%d):\n%s", code, out)
	}
	out, code = m.flint("list-dependencies", "--reverse", "base.service")
	if code != 0 || !strings.Contains(out, "top.service") {
		t.Errorf("list-dependencies --reverse base.service (%d):\n%s", code, out)
	}
	out, code = m.flint("analyze", "critical-chain", "all.target")
	if code != 0 {
		t.Fatalf("critical-chain (%d): %s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	chain := strings.Join(lines[3:], "\n")
	// all.target <- top.service <- base.service (which took >= 200ms: a "+" time).
	if !strings.HasPrefix(lines[3], "all.target @") || !strings.Contains(chain, "└─top.service @") || !strings.Contains(chain, "base.service @") {
		t.Errorf("critical chain:\n%s", out)
	}
	for _, l := range lines[3:] {
		if strings.Contains(l, "base.service") && !strings.Contains(l, " +") {
			t.Errorf("base.service should show its start time with '+': %q", l)
		}
	}
	out, code = m.flint("analyze", "plot")
	if code != 0 {
		t.Fatalf("plot (%d): %s", code, out)
	}
	var svg struct {
		XMLName xml.Name
		Texts   []string `xml:"text"`
	}
	if err := xml.Unmarshal([]byte(out), &svg); err != nil || svg.XMLName.Local != "svg" {
		t.Fatalf("plot is not an SVG document: %v\n%.300s", err, out)
	}
	if !strings.Contains(out, "top.service") || !strings.Contains(out, "base.service") {
		t.Errorf("plot lacks the started units")
	}
	out, code = runFlint(t, "--units", units, "analyze", "dot", "top.service")
	if code != 0 || !strings.Contains(out, `"top.service"->"base.service" [color="black"]`) || !strings.Contains(out, `"top.service"->"base.service" [color="green"]`) {
		t.Errorf("dot (%d):\n%s", code, out)
	}
	_ = time.Second
}

// TestFailurePropagation: a failing required unit fails its dependents' jobs with result
// "dependency", and OnFailure= units start: the failed unit's, and (as systemd's
// job_finish_and_invalidate) the dependent's, whose job failed without the unit failing.
func TestFailurePropagation(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "onfailure.ran")
	marker2 := filepath.Join(dir, "needy-onfailure.ran")
	units := writeUnits(t, map[string]string{
		"broken.service":       "[Unit]\nDescription=broken\nOnFailure=rescue.service\n[Service]\nType=oneshot\nExecStart=/bin/false\n",
		"rescue.service":       "[Unit]\nDescription=rescue\n[Service]\nType=oneshot\nExecStart=/bin/touch " + marker + "\n",
		"needy.service":        "[Unit]\nDescription=needy\nRequires=broken.service\nAfter=broken.service\nOnFailure=needy-rescue.service\n[Service]\nExecStart=/bin/sleep 60\n",
		"needy-rescue.service": "[Unit]\nDescription=needy rescue\n[Service]\nType=oneshot\nExecStart=/bin/touch " + marker2 + "\n",
	})
	m := startManager(t, units)
	out, code := m.flint("start", "needy.service")
	if code == 0 {
		t.Fatalf("start needy.service succeeded although its requirement failed:\n%s", out)
	}
	if !strings.Contains(out, "dependency") {
		t.Errorf("start output should name the failed dependency:\n%s", out)
	}
	if o, _ := m.flint("is-active", "needy.service"); strings.TrimSpace(o) != "inactive" {
		t.Errorf("needy.service is %q", o)
	}
	if o, _ := m.flint("is-failed", "broken.service"); strings.TrimSpace(o) != "failed" {
		t.Errorf("broken.service is %q, want failed", o)
	}
	if !waitFor(10*time.Second, func() bool { _, err := os.Stat(marker); return err == nil }) {
		t.Errorf("OnFailure=rescue.service did not run")
	}
	if !waitFor(10*time.Second, func() bool { _, err := os.Stat(marker2); return err == nil }) {
		t.Errorf("needy.service's OnFailure=needy-rescue.service did not run after its dependency failure")
	}
}

// TestOnFailureAfterRestarts: with Restart=on-failure, OnFailure= runs once, when the start
// limit ends the restarts (as systemd 252: the unit enters failed only then), not at each
// failure.
func TestOnFailureAfterRestarts(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "handler.runs")
	units := writeUnits(t, map[string]string{
		"flaky.service": "[Unit]\nDescription=flaky\nOnFailure=handler.service\nStartLimitIntervalSec=60\nStartLimitBurst=3\n" +
			"[Service]\nRestart=on-failure\nRestartSec=100ms\nExecStart=/bin/sh -c 'sleep 0.1; exit 1'\n",
		"handler.service": "[Unit]\nDescription=handler\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>" + runs + "'\n",
	})
	m := startManager(t, units)
	c := on(t, m)
	if out, code := m.flint("start", "flaky.service"); code != 0 {
		t.Fatalf("start flaky.service: %d %s", code, out)
	}
	c.waitState("flaky.service", "failed/failed")
	if !waitFor(10*time.Second, func() bool { _, err := os.Stat(runs); return err == nil }) {
		t.Fatalf("OnFailure=handler.service did not run once the restarts ended")
	}
	// Every failure of flaky.service queued its OnFailure= job (if any) by the time it entered
	// failed for good; once no job is left, every handler run queued has ended.
	c.waitJobsDone()
	data, _ := os.ReadFile(runs)
	if n := strings.Count(string(data), "\n"); n != 1 {
		t.Errorf("OnFailure=handler.service ran %d times, want once", n)
	}
}

// TestBindsToAutoRestart: a service that dies and restarts by itself (Restart=always) stops
// the units bound to it (BindsTo=), which stay down after its restart, as in systemd 252;
// those that require it are restarted with it.
func TestBindsToAutoRestart(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"dies.service":  "[Unit]\nDescription=dies\n[Service]\nRestart=always\nRestartSec=100ms\nExecStart=/bin/sleep 60\n",
		"bound.service": "[Unit]\nDescription=bound\nBindsTo=dies.service\nAfter=dies.service\n[Service]\nExecStart=/bin/sleep 60\n",
		"needy.service": "[Unit]\nDescription=needy\nRequires=dies.service\nAfter=dies.service\n[Service]\nExecStart=/bin/sleep 60\n",
	})
	m := startManager(t, units)
	c := on(t, m)
	c.run(0, "start", "bound.service", "needy.service")
	c.waitState("bound.service", "active/running")
	c.run(0, "kill", "--signal=KILL", "dies.service")
	c.waitProps("dies.service", map[string]string{"ActiveState": "active", "NRestarts": "1"})
	c.waitState("bound.service", "inactive/dead")
	c.waitState("needy.service", "active/running")
}

// TestStartWhileStopping: a start of a unit that is still stopping (ExecStop= takes 1 s)
// waits for the stop to end, as systemd's does: the old process is gone before the new one
// starts, and a unit ordered after it starts after that.
func TestStartWhileStopping(t *testing.T) {
	dir := t.TempDir()
	order := filepath.Join(dir, "order")
	units := writeUnits(t, map[string]string{
		"slow.service": "[Unit]\nDescription=slow\n[Service]\nExecStartPre=/bin/sh -c 'echo start slow >>" + order + "'\n" +
			"ExecStart=/bin/sleep 60\nExecStop=/bin/sh -c '/bin/sleep 1; echo stop slow >>" + order + "'\n",
		"after.service": "[Unit]\nDescription=after\nRequires=slow.service\nAfter=slow.service\n[Service]\n" +
			"ExecStartPre=/bin/sh -c 'echo start after >>" + order + "'\nExecStart=/bin/sleep 60\n",
	})
	m := startManager(t, units)
	c := on(t, m)
	c.run(0, "start", "slow.service")
	c.run(0, "stop", "--no-block", "slow.service")
	c.waitState("slow.service", "deactivating")
	c.run(0, "start", "after.service")
	c.waitState("after.service", "active/running")
	data, _ := os.ReadFile(order)
	if want := "start slow\nstop slow\nstart slow\nstart after\n"; string(data) != want {
		t.Errorf("order of starts and stops:\n%s\nwant:\n%s", data, want)
	}
}

// TestOnFailureJobMode: OnFailure= units start in the failed unit's OnFailureJobMode=. The
// handler conflicts with a unit whose start job is still running: mode fail refuses the
// handler's transaction (it would cancel that job), replace replaces the job.
func TestOnFailureJobMode(t *testing.T) {
	files := map[string]string{}
	for _, mode := range []string{"fail", "replace"} {
		files["busy-"+mode+".service"] = "[Unit]\nDescription=busy\n[Service]\nType=oneshot\nExecStart=/bin/sleep 30\n"
		files["handler-"+mode+".service"] = "[Unit]\nDescription=handler\nConflicts=busy-" + mode + ".service\n[Service]\nExecStart=/bin/sleep 60\n"
		files["broken-"+mode+".service"] = "[Unit]\nDescription=broken\nOnFailure=handler-" + mode + ".service\nOnFailureJobMode=" + mode + "\n[Service]\nType=oneshot\nExecStart=/bin/false\n"
	}
	m := startManager(t, writeUnits(t, files))
	c := on(t, m)
	for _, mode := range []string{"fail", "replace"} {
		if out, code := m.flint("start", "--no-block", "busy-"+mode+".service"); code != 0 {
			t.Fatalf("start busy: %d %s", code, out)
		}
		c.waitState("busy-"+mode+".service", "activating/start")
		m.flint("start", "broken-"+mode+".service")
	}
	c.waitState("handler-replace.service", "active/running")
	// Stopped by the conflict while it ran: a oneshot killed by SIGTERM has failed (as systemd).
	c.waitState("busy-replace.service", "failed/failed")
	// fail: the handler's transaction was refused (the manager says so), busy's job goes on.
	m.waitOutput("broken-fail.service: Failed to enqueue OnFailure= job, ignoring:")
	if got := c.prop("handler-fail.service", "ActiveState"); got != "inactive" {
		t.Errorf("handler-fail.service is %s, want inactive (OnFailureJobMode=fail)", got)
	}
	if got := c.prop("busy-fail.service", "ActiveState"); got != "activating" {
		t.Errorf("busy-fail.service is %s, want still activating", got)
	}
}

// TestTransactionErrors: contradictory requirements and unbreakable ordering cycles fail the
// start with a clear message (never a hang), and start nothing.
func TestTransactionErrors(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"x.service":   "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/sleep 60\n",
		"bad.service": "[Unit]\nDescription=bad\nRequires=x.service\nConflicts=x.service\n[Service]\nExecStart=/bin/sleep 60\n",
		"a.service":   "[Unit]\nDescription=a\nRequires=b.service\nAfter=b.service\n[Service]\nExecStart=/bin/sleep 60\n",
		"b.service":   "[Unit]\nDescription=b\nRequires=a.service\nAfter=a.service\n[Service]\nExecStart=/bin/sleep 60\n",
		"c.service":   "[Unit]\nDescription=c\nWants=d.service\nAfter=d.service\n[Service]\nExecStart=/bin/sleep 60\n",
		"d.service":   "[Unit]\nDescription=d\nAfter=c.service\n[Service]\nExecStart=/bin/sleep 60\n",
	})
	m := startManager(t, units)
	out, code := m.flint("start", "bad.service")
	if code == 0 || !strings.Contains(out, "conflicting jobs") {
		t.Errorf("start bad.service: exit %d\n%s", code, out)
	}
	out, code = m.flint("start", "a.service")
	if code == 0 || !strings.Contains(out, "cyclic") {
		t.Errorf("start a.service: exit %d\n%s", code, out)
	}
	for _, u := range []string{"x.service", "a.service", "b.service"} {
		if o, _ := m.flint("is-active", u); strings.TrimSpace(o) != "inactive" {
			t.Errorf("%s is %q after a failed transaction", u, o)
		}
	}
	// A cycle through a Wants= job is broken by dropping that job.
	if out, code := m.flint("start", "c.service"); code != 0 {
		t.Errorf("start c.service: exit %d\n%s", code, out)
	}
	if o, _ := m.flint("is-active", "c.service"); strings.TrimSpace(o) != "active" {
		t.Errorf("c.service is %q", o)
	}
}

// TestRuntimeMaxSec: a running service is stopped with Result=timeout when it reaches
// RuntimeMaxSec= (0 is a limit of zero, as in systemd 252), and left alone without one.
func TestRuntimeMaxSec(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"zero.service":  "[Unit]\nDescription=zero\n[Service]\nRuntimeMaxSec=0\nExecStart=/bin/sleep 60\n",
		"short.service": "[Unit]\nDescription=short\n[Service]\nRuntimeMaxSec=300ms\nExecStart=/bin/sleep 60\n",
		"none.service":  "[Unit]\nDescription=none\n[Service]\nExecStart=/bin/sleep 60\n",
	})
	m := startManager(t, units)
	for _, u := range []string{"zero.service", "short.service", "none.service"} {
		m.flint("start", "--no-block", u)
	}
	for _, u := range []string{"zero.service", "short.service"} {
		if !waitFor(10*time.Second, func() bool {
			out, _ := m.flint("show", u, "-p", "ActiveState,Result")
			return strings.Contains(out, "ActiveState=failed\n") && strings.Contains(out, "Result=timeout\n")
		}) {
			out, _ := m.flint("show", u, "-p", "ActiveState,Result")
			t.Errorf("%s: %s, want failed/timeout", u, out)
		}
	}
	if out, _ := m.flint("is-active", "none.service"); strings.TrimSpace(out) != "active" {
		t.Errorf("none.service is %q", out)
	}
}

// TestShutdownDuringStartPost: SIGTERM while a socket's ExecStartPost= hangs stops the socket,
// kills the command, and flint exits 0 (the last reap completes the shutdown).
func TestShutdownDuringStartPost(t *testing.T) {
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"h.socket":  "[Unit]\nDescription=h\n[Socket]\nListenStream=" + filepath.Join(dir, "h.sk") + "\nExecStartPost=/bin/sleep 1000\n",
		"h.service": "[Service]\nExecStart=/bin/cat\n",
	})
	wantedBy(t, units, "sockets.target", "h.socket")
	m := startManager(t, units)
	if !waitFor(5*time.Second, func() bool {
		out, _ := m.flint("show", "h.socket", "-p", "SubState", "--value")
		return strings.TrimSpace(out) == "start-post"
	}) {
		t.Fatal("h.socket never reached start-post")
	}
	if code := m.terminate(); code != 0 {
		t.Fatalf("flint run exited %d", code)
	}
}

// TestJobModes: systemctl's --job-mode= and isolate, as systemd's transactions apply them.
func TestJobModes(t *testing.T) {
	svc := func(extra string) string {
		return "[Unit]\nDescription=x\n" + extra + "[Service]\nExecStart=/bin/sleep 60\n"
	}
	slow := "[Unit]\nDescription=slow\n[Service]\nType=oneshot\nExecStart=/bin/sleep 60\n"
	m := startManager(t, writeUnits(t, map[string]string{
		"iso.target":     "[Unit]\nDescription=iso\nAllowIsolate=yes\nWants=in.service\n",
		"plain.target":   "[Unit]\nDescription=plain\nWants=in.service\n",
		"in.service":     svc(""),
		"out.service":    svc(""),
		"keep.service":   svc("IgnoreOnIsolate=yes\n"),
		"req.service":    svc("Requires=dep.service\nAfter=dep.service\n"),
		"dep.service":    svc(""),
		"slow.service":   slow,
		"slow2.service":  slow,
		"probe.service":  "[Unit]\nDescription=probe\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"after.service":  svc("After=slow.service\n"),
		"after2.service": svc("After=slow2.service\n"),
	}))
	c := on(t, m)

	t.Run("isolate", func(t *testing.T) {
		c := on(t, m)
		if out, code := c.flint("start", "out.service", "keep.service"); code != 0 {
			t.Fatalf("start: %d %s", code, out)
		}
		if out, code := c.flint("isolate", "plain"); code != 4 || !strings.Contains(out, "Failed to start plain.target: Operation refused, unit may not be isolated.") {
			t.Errorf("isolate plain: exit %d\n%s", code, out)
		}
		if out, code := c.flint("stop", "--job-mode=isolate", "iso.target"); code != 1 || !strings.Contains(out, "Isolate is only valid for start.") {
			t.Errorf("stop --job-mode=isolate: exit %d\n%s", code, out)
		}
		if out, code := c.flint("isolate", "iso"); code != 0 {
			t.Fatalf("isolate iso: exit %d\n%s", code, out)
		}
		for unit, want := range map[string]string{"in.service": "active", "out.service": "inactive", "keep.service": "active", "iso.target": "active"} {
			if got := c.prop(unit, "ActiveState"); got != want {
				t.Errorf("after isolate: %s is %s, want %s", unit, got, want)
			}
		}
	})

	t.Run("ignore-dependencies", func(t *testing.T) {
		c := on(t, m)
		if out, code := c.flint("start", "--job-mode=ignore-requirements", "req.service"); code != 0 {
			t.Fatalf("start: %d %s", code, out)
		}
		if got := c.prop("dep.service", "ActiveState"); got != "inactive" {
			t.Errorf("dep.service is %s, want inactive: its requirement was ignored", got)
		}
		// slow's start job runs for a minute: after.service's waits behind it, unless the job
		// ignores ordering.
		for _, u := range []string{"slow.service", "slow2.service"} {
			if out, code := c.flint("start", "--no-block", u); code != 0 {
				t.Fatalf("start %s: %d %s", u, code, out)
			}
			c.waitState(u, "activating/start")
		}
		if out, code := c.flint("start", "--ignore-dependencies", "after.service"); code != 0 {
			t.Fatalf("start --ignore-dependencies: %d %s", code, out)
		}
		if out, code := c.flint("start", "--no-block", "--job-mode=ignore-requirements", "after2.service"); code != 0 {
			t.Fatalf("start --job-mode=ignore-requirements: %d %s", code, out)
		}
		// probe.service's job is queued after after2's and runs to its end: the dispatch
		// passes that ran it would have run after2's job too, were it runnable.
		c.start("probe.service")
		if got := c.prop("after2.service", "Job"); got == "" {
			t.Errorf("after2.service has no job: ignore-requirements still orders the job after slow2.service")
		}
		if got := c.prop("after2.service", "ActiveState"); got != "inactive" {
			t.Errorf("after2.service is %s, want inactive behind slow2.service", got)
		}
	})

	t.Run("flush", func(t *testing.T) {
		c := on(t, m)
		// after2's and the slow services' jobs are queued or running: flush cancels them all.
		if out, code := c.flint("start", "--job-mode=flush", "dep.service"); code != 0 {
			t.Fatalf("start --job-mode=flush: %d %s", code, out)
		}
		out, _ := c.flint("list-jobs")
		for _, u := range []string{"after2.service", "slow.service", "slow2.service"} {
			if strings.Contains(out, u) {
				t.Errorf("%s still has a job after a flush:\n%s", u, out)
			}
		}
		// The canceled start job of a running ExecStart= leaves the process be, as systemd.
		if got := c.prop("slow.service", "ActiveState"); got != "activating" {
			t.Errorf("slow.service is %s, want still activating", got)
		}
	})

	if out, code := c.flint("start", "--job-mode=bogus", "dep.service"); code != 1 || !strings.Contains(out, "Failed to start dep.service: Job mode bogus invalid") {
		t.Errorf("--job-mode=bogus: exit %d\n%s", code, out)
	}
}

// TestOnFailureIsolate: OnFailureJobMode=isolate isolates to the OnFailure= unit; more than
// one OnFailure= unit with it does not load. OnSuccessJobMode= defaults to fail (systemd 252).
func TestOnFailureIsolate(t *testing.T) {
	m := startManager(t, writeUnits(t, map[string]string{
		"rescue2.target":  "[Unit]\nDescription=rescue\nAllowIsolate=yes\nWants=r.service\n",
		"r.service":       "[Unit]\nDescription=r\n[Service]\nExecStart=/bin/sleep 60\n",
		"other.service":   "[Unit]\nDescription=other\n[Service]\nExecStart=/bin/sleep 60\n",
		"broken.service":  "[Unit]\nDescription=broken\nOnFailure=rescue2.target\nOnFailureJobMode=isolate\n[Service]\nExecStart=/bin/false\n",
		"two.service":     "[Unit]\nDescription=two\nOnFailure=r.service other.service\nOnFailureIsolate=yes\n[Service]\nExecStart=/bin/false\n",
		"busy.service":    "[Unit]\nDescription=busy\n[Service]\nType=oneshot\nExecStart=/bin/sleep 60\n",
		"h-fail.service":  "[Unit]\nDescription=h\nConflicts=busy.service\n[Service]\nExecStart=/bin/sleep 60\n",
		"h-repl.service":  "[Unit]\nDescription=h\nConflicts=busy.service\n[Service]\nExecStart=/bin/sleep 60\n",
		"ok-fail.service": "[Unit]\nDescription=ok\nOnSuccess=h-fail.service\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"ok-repl.service": "[Unit]\nDescription=ok\nOnSuccess=h-repl.service\nOnSuccessJobMode=replace\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
	}))
	c := on(t, m)
	if out, code := c.flint("start", "other.service"); code != 0 {
		t.Fatalf("start other: %d %s", code, out)
	}
	c.flint("start", "broken.service")
	c.waitState("r.service", "active/running")
	c.waitState("other.service", "inactive")
	if got := c.prop("two.service", "LoadState"); got != "bad-setting" {
		t.Errorf("two.service (OnFailureIsolate=yes, two OnFailure= units) is %s, want bad-setting", got)
	}
	if out, _ := c.flint("status", "two.service"); !strings.Contains(out, "More than one OnFailure= dependencies specified but OnFailureJobMode=isolate set") {
		t.Errorf("status two.service does not say why it did not load:\n%s", out)
	}

	// busy's start job runs; h-fail's Conflicts= would replace it: mode fail refuses.
	if out, code := c.flint("start", "--no-block", "busy.service"); code != 0 {
		t.Fatalf("start busy: %d %s", code, out)
	}
	c.waitState("busy.service", "activating/start")
	c.flint("start", "ok-fail.service")
	m.waitOutput("ok-fail.service: Failed to enqueue OnSuccess= job, ignoring:")
	if got := c.prop("h-fail.service", "ActiveState"); got != "inactive" {
		t.Errorf("h-fail.service is %s, want inactive (OnSuccessJobMode= defaults to fail)", got)
	}
	c.flint("start", "ok-repl.service")
	c.waitState("h-repl.service", "active/running")
}
