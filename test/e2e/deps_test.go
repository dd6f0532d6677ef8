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
	// fail: the handler's transaction was refused, busy's job goes on.
	time.Sleep(300 * time.Millisecond)
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
