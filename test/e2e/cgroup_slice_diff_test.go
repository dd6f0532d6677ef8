package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestCgroupSlicesMatchSystemctl compares slices with systemd 252's: the implicit parent and
// a slice with settings (their properties, ControlGroup below the root), a template
// instance's default slice, the perpetual slices, and status of a slice (its cgroup tree,
// pids aside).
func TestCgroupSlicesMatchSystemctl(t *testing.T) {
	d := startCgroupDiff(t, map[string]string{
		"flintsl-a-b.slice":    "[Unit]\nDescription=Slice AB\n[Slice]\nMemoryMax=200M\nTasksMax=33\nCPUWeight=70\n",
		"flintsl-x.service":    "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1003\nSlice=flintsl-a-b.slice\n",
		"flintsl-tpl@.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1004\n",
		"flintsl-y.service":    "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1005\nSlice=flintsl.slice\n",
	}, []string{"flintsl-x.service", "flintsl-y.service", "flintsl-tpl@i.service"},
		"flintsl.slice", "system.slice/system-flintsl\\x2dtpl.slice")
	c := d.c
	props := []string{"ActiveState", "SubState", "LoadState", "Description", "Slice", "MemoryMax", "TasksMax", "CPUWeight", "Perpetual", "CanStop"}
	for _, u := range []string{"flintsl.slice", "flintsl-a-b.slice", `system-flintsl\x2dtpl.slice`, "-.slice", "system.slice"} {
		t.Run(u, func(t *testing.T) {
			for _, p := range props {
				want := strings.TrimSpace(d.systemctl(t, "show", "-P", p, "--", u))
				got, _ := c.flint("show", "-p", p, "--value", "--", u)
				if got = strings.TrimSpace(got); got != want {
					t.Errorf("%s: systemd %q, flint %q", p, want, got)
				}
			}
			if u == "-.slice" {
				return
			}
			want := belowRoot(d.sdRoot, strings.TrimSpace(d.systemctl(t, "show", "-P", "ControlGroup", "--", u)))
			got, _ := c.flint("show", "-p", "ControlGroup", "--value", "--", u)
			if got = belowRoot(d.flintRoot, strings.TrimSpace(got)); got != want {
				t.Errorf("ControlGroup below the root: systemd %q, flint %q", want, got)
			}
		})
	}
	tree := regexp.MustCompile(`(?m)^\s+CGroup: .*\n|^\s+[│ ]*[├└]─.*\n`)
	pids := regexp.MustCompile(`─\d+ `)
	sdStatus := strings.Join(tree.FindAllString(d.systemctl(t, "status", "-n", "0", "flintsl.slice"), -1), "")
	st, _ := c.flint("status", "-n", "0", "flintsl.slice")
	flStatus := strings.Join(tree.FindAllString(st, -1), "")
	sdStatus = pids.ReplaceAllString(strings.Replace(sdStatus, d.sdRoot+"/", "ROOT/", 1), "─PID ")
	flStatus = pids.ReplaceAllString(strings.Replace(flStatus, d.flintRoot+"/", "ROOT/", 1), "─PID ")
	if !strings.Contains(flStatus, "flintsl-a-b.slice\n") || !strings.Contains(flStatus, "flintsl-y.service\n") {
		t.Errorf("status flintsl.slice without the tree:\n%s", st)
	}
	if sdStatus != flStatus {
		t.Errorf("status flintsl.slice, tree:\nsystemd:\n%s\nflint:\n%s", sdStatus, flStatus)
	}
}
