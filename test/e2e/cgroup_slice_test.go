package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCgroupSliceUnits: a slice unit's own settings are written into its group, which holds
// the groups of its units (a-b.slice nested in its implicit parent a.slice); the slices are
// listed active, status draws the tree, set-property changes a slice's limit, and stopping
// a slice stops the units in it, its child slices' included.
func TestCgroupSliceUnits(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"a-b.slice":    "[Unit]\nDescription=Slice B\n[Slice]\nTasksMax=50\nMemoryMax=300M\nCPUWeight=50\n",
		"x.service":    unitFile("Service", "ExecStart=/bin/sleep 1000\nSlice=a-b.slice"),
		"y.service":    unitFile("Service", "ExecStart=/bin/sleep 1001\nSlice=a.slice"),
		"tpl@.service": unitFile("Service", "ExecStart=/bin/sleep 1002"),
	})
	m, l := cgroupManager(t, units)
	c := on(t, m)
	c.start("x.service")
	c.start("y.service")
	c.start("tpl@i.service")
	for _, s := range []string{"-.slice", "system.slice", "a.slice", "a-b.slice", "system-tpl.slice"} {
		if got := dashProp(c, s, "ActiveState"); got != "active" {
			t.Errorf("%s ActiveState=%s", s, got)
		}
	}
	lu, _ := c.flint("list-units", "--type=slice")
	for _, w := range []string{"a-b.slice", "a.slice", "-.slice", "system.slice", "system-tpl.slice"} {
		if !strings.Contains(lu, w) {
			t.Errorf("list-units lacks %s:\n%s", w, lu)
		}
	}
	if got := c.prop("a.slice", "Description"); got != "Slice /a" {
		t.Errorf("implicit a.slice Description=%q", got)
	}
	if got := c.prop("tpl@i.service", "ControlGroup"); got != filepath.Join("/", l.Tracking.Base, "system.slice/system-tpl.slice/tpl@i.service") {
		t.Errorf("instance ControlGroup %q", got)
	}
	if got := dashProp(c, "-.slice", "Perpetual"); got != "yes" {
		t.Errorf("-.slice Perpetual=%s", got)
	}
	p := c.props("a-b.slice", "ControlGroup", "Slice", "TasksMax", "MemoryMax", "CPUWeight")
	want := map[string]string{"ControlGroup": filepath.Join("/", l.Tracking.Base, "a.slice/a-b.slice"), "Slice": "a.slice",
		"TasksMax": "50", "MemoryMax": "314572800", "CPUWeight": "50"}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("a-b.slice %s=%q, want %q", k, p[k], v)
		}
	}
	read := func(ctrl, rel, file string) string {
		h := l.Controller(ctrl)
		if h == nil {
			return "-"
		}
		b, err := os.ReadFile(filepath.Join(h.Dir(rel), file))
		if err != nil {
			return err.Error()
		}
		return strings.TrimSpace(string(b))
	}
	if l.Controller("pids") != nil {
		if got := read("pids", "a.slice/a-b.slice", "pids.max"); got != "50" {
			t.Errorf("a-b.slice pids.max %q", got)
		}
		// The unit joins the pids hierarchy for its slice's limit, though it sets none.
		if got := read("pids", "a.slice/a-b.slice/x.service", "pids.current"); got != "1" {
			t.Errorf("x.service pids.current %q (not under its slice's limit)", got)
		}
	}
	if h := l.Controller("memory"); h != nil {
		file := "memory.max"
		if !h.V2 {
			file = "memory.limit_in_bytes"
		}
		if got := read("memory", "a.slice/a-b.slice", file); got != "314572800" {
			t.Errorf("a-b.slice %s %q", file, got)
		}
	}
	st, _ := c.flint("status", "a.slice")
	for _, w := range []string{"● a.slice - Slice /a\n", "     CGroup: " + filepath.Join("/", l.Tracking.Base, "a.slice") + "\n",
		"             ├─a-b.slice\n", "             │ └─x.service\n", "             │   └─", " /bin/sleep 1000\n",
		"             └─y.service\n", "               └─"} {
		if !strings.Contains(st, w) {
			t.Errorf("status a.slice lacks %q:\n%s", w, st)
		}
	}
	c.run(0, "set-property", "a-b.slice", "TasksMax=40")
	if l.Controller("pids") != nil {
		if got := read("pids", "a.slice/a-b.slice", "pids.max"); got != "40" {
			t.Errorf("pids.max %q after set-property", got)
		}
	}
	if out, code := c.flint("stop", "--", "-.slice"); code == 0 || !strings.Contains(out, "Job type stop is not applicable for unit -.slice.") {
		t.Errorf("stop -.slice: %d %q", code, out)
	}
	c.run(0, "stop", "a.slice")
	waitFor(10*time.Second, func() bool { return c.prop("x.service", "ActiveState") == "inactive" })
	for _, u := range []string{"x.service", "y.service", "a-b.slice", "a.slice"} {
		if got := c.prop(u, "ActiveState"); got != "inactive" {
			t.Errorf("%s ActiveState=%s after stop a.slice", u, got)
		}
	}
	if got := c.prop("tpl@i.service", "ActiveState"); got != "active" {
		t.Errorf("tpl@i.service stopped with a.slice: %s", got)
	}
}

// dashProp is c.prop for a unit whose name may start with '-' (-.slice).
func dashProp(c ctl, unit, name string) string {
	out, _ := c.flint("show", "-p", name, "--value", "--", unit)
	return strings.TrimRight(out, "\n")
}
