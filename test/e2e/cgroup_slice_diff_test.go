package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/difftest"
)

// TestCgroupSlicesMatchSystemctl compares slices with systemd 252's: the implicit parent and
// a slice with settings (their properties, ControlGroup below the root), a template
// instance's default slice, the perpetual slices, and status of a slice (its cgroup tree,
// pids aside).
func TestCgroupSlicesMatchSystemctl(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	units := writeUnits(t, map[string]string{
		"flintsl-a-b.slice":    "[Unit]\nDescription=Slice AB\n[Slice]\nMemoryMax=200M\nTasksMax=33\nCPUWeight=70\n",
		"flintsl-x.service":    "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1003\nSlice=flintsl-a-b.slice\n",
		"flintsl-tpl@.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1004\n",
		"flintsl-y.service":    "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1005\nSlice=flintsl.slice\n",
	})
	m, l := cgroupManager(t, units)
	c := on(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sd, err := difftest.Boot(ctx, filepath.Dir(units), units+":")
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	defer removeSystemdCgroups(t, "flintsl.slice", "system.slice/system-flintsl\\x2dtpl.slice")
	defer sd.Stop()
	systemctl := func(args ...string) string {
		out, errb, err := sd.SystemctlOutput(ctx, args...)
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("systemctl %v: %v", args, err)
		}
		return string(out) + string(errb)
	}
	for _, u := range []string{"flintsl-x.service", "flintsl-y.service", "flintsl-tpl@i.service"} {
		systemctl("start", u)
		c.start(u)
	}
	sdRoot := strings.TrimSuffix(strings.TrimSpace(systemctl("show", "-P", "ControlGroup", "init.scope")), "/init.scope")
	flintRoot := filepath.Join("/", l.Tracking.Base)
	rel := func(root, p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, root), "/") }
	props := []string{"ActiveState", "SubState", "LoadState", "Description", "Slice", "MemoryMax", "TasksMax", "CPUWeight", "Perpetual", "CanStop"}
	for _, u := range []string{"flintsl.slice", "flintsl-a-b.slice", `system-flintsl\x2dtpl.slice`, "-.slice", "system.slice"} {
		t.Run(u, func(t *testing.T) {
			for _, p := range props {
				want := strings.TrimSpace(systemctl("show", "-P", p, "--", u))
				got, _ := c.flint("show", "-p", p, "--value", "--", u)
				if got = strings.TrimSpace(got); got != want {
					t.Errorf("%s: systemd %q, flint %q", p, want, got)
				}
			}
			if u == "-.slice" {
				return
			}
			want := rel(sdRoot, strings.TrimSpace(systemctl("show", "-P", "ControlGroup", "--", u)))
			got, _ := c.flint("show", "-p", "ControlGroup", "--value", "--", u)
			if got = rel(flintRoot, strings.TrimSpace(got)); got != want {
				t.Errorf("ControlGroup below the root: systemd %q, flint %q", want, got)
			}
		})
	}
	tree := regexp.MustCompile(`(?m)^\s+CGroup: .*\n|^\s+[│ ]*[├└]─.*\n`)
	pids := regexp.MustCompile(`─\d+ `)
	sdStatus := strings.Join(tree.FindAllString(systemctl("status", "-n", "0", "flintsl.slice"), -1), "")
	st, _ := c.flint("status", "-n", "0", "flintsl.slice")
	flStatus := strings.Join(tree.FindAllString(st, -1), "")
	sdStatus = pids.ReplaceAllString(strings.Replace(sdStatus, sdRoot+"/", "ROOT/", 1), "─PID ")
	flStatus = pids.ReplaceAllString(strings.Replace(flStatus, flintRoot+"/", "ROOT/", 1), "─PID ")
	if !strings.Contains(flStatus, "flintsl-a-b.slice\n") || !strings.Contains(flStatus, "flintsl-y.service\n") {
		t.Errorf("status flintsl.slice without the tree:\n%s", st)
	}
	if sdStatus != flStatus {
		t.Errorf("status flintsl.slice, tree:\nsystemd:\n%s\nflint:\n%s", sdStatus, flStatus)
	}
}
