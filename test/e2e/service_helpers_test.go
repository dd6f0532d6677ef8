package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file holds what the service_*, faults_* and accept_* tests share: the svchelper program
// (testdata/svchelper.c, built once with gcc next to flint) and polling of runtime properties.

// svcHelper returns the path of a per-test copy of testdata/svchelper.c's binary (a copy, so
// that pidsOf tells this test's processes apart).
func svcHelper(t *testing.T) string {
	t.Helper()
	return copyExecutable(t, buildOnce(t, "svchelper", "gcc", "-O2", "-Wall", "-o", "{}", "test/e2e/testdata/svchelper.c"))
}

// ctl drives one manager from one (sub)test: failures are reported on t, not on the test that
// started the manager.
type ctl struct {
	t *testing.T
	m *manager
}

func on(t *testing.T, m *manager) ctl { return ctl{t, m} }

// flint runs one CLI verb against the manager.
func (c ctl) flint(args ...string) (string, int) {
	c.t.Helper()
	return runFlint(c.t, append([]string{"--control", c.m.control}, args...)...)
}

// prop returns one property of unit as `flint show -p NAME --value` prints it.
func (c ctl) prop(unit, name string) string {
	c.t.Helper()
	out, _ := c.flint("show", unit, "-p", name, "--value")
	return strings.TrimRight(out, "\n")
}

// props returns several properties of unit (`flint show -p A,B`) as a map.
func (c ctl) props(unit string, names ...string) map[string]string {
	c.t.Helper()
	out, _ := c.flint("show", unit, "-p", strings.Join(names, ","))
	r := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			r[k] = v
		}
	}
	return r
}

// waitProps polls unit's properties until every one has its wanted value (15s), else fails the
// test with the last values seen and `flint status`.
func (c ctl) waitProps(unit string, want map[string]string) map[string]string {
	c.t.Helper()
	var names []string
	for k := range want {
		names = append(names, k)
	}
	var got map[string]string
	ok := waitFor(15*time.Second, func() bool {
		got = c.props(unit, names...)
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	})
	if !ok {
		st, _ := c.flint("status", unit)
		c.t.Fatalf("%s: properties %v, want %v\n%s", unit, got, want, st)
	}
	return got
}

// waitState waits until unit's ActiveState/SubState are active/sub ("failed/failed" etc.).
func (c ctl) waitState(unit, state string) map[string]string {
	c.t.Helper()
	a, s, _ := strings.Cut(state, "/")
	want := map[string]string{"ActiveState": a}
	if s != "" {
		want["SubState"] = s
	}
	return c.waitProps(unit, want)
}

// waitJobsDone waits until the manager has no job queued or running (15s), else fails the
// test with the jobs left.
func (c ctl) waitJobsDone() {
	c.t.Helper()
	var out string
	if !waitFor(15*time.Second, func() bool {
		out, _ = c.flint("list-jobs")
		return strings.TrimSpace(out) == "No jobs running."
	}) {
		c.t.Fatalf("jobs left:\n%s", out)
	}
}

// run runs one CLI verb and fails the test unless it exits with code; it returns the output.
func (c ctl) run(code int, args ...string) string {
	c.t.Helper()
	out, got := c.flint(args...)
	if got != code {
		c.t.Errorf("flint %s: exit %d, want %d: %s", strings.Join(args, " "), got, code, out)
	}
	return out
}

// mustStart runs `flint start unit` and fails the test if it does not exit 0.
func (c ctl) start(unit string) {
	c.t.Helper()
	if out, code := c.flint("start", unit); code != 0 {
		st, _ := c.flint("status", unit)
		c.t.Fatalf("flint start %s: exit %d: %s\n%s", unit, code, out, st)
	}
}

// readWait waits until path exists and is non-empty and returns its content.
func readWait(t *testing.T, path string) string {
	t.Helper()
	var data []byte
	if !waitFor(15*time.Second, func() bool {
		var err error
		data, err = os.ReadFile(path)
		return err == nil && len(data) > 0
	}) {
		t.Fatalf("%s: not written within 15s", path)
	}
	return string(data)
}

// pidFromFile reads a decimal pid written by a service.
func pidFromFile(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readWait(t, path)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] != 'Z'
}

// killAtEnd kills pid (SIGKILL) when the test ends, for processes a test leaves behind on purpose.
func killAtEnd(t *testing.T, pid int) {
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil && alive(pid) {
			p.Kill()
		}
	})
}

// unitFile joins [Section] bodies into a unit file: unitFile("Unit", "Description=x", "Service", "...").
func unitFile(sections ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(sections); i += 2 {
		fmt.Fprintf(&b, "[%s]\n%s\n\n", sections[i], strings.TrimSpace(sections[i+1]))
	}
	return b.String()
}
