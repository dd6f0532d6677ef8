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

	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/internal/difftest"
)

// cgroupDiffUnits run under systemd 252 (scripts/systemd-ns) and under a flint with cgroups.
var cgroupDiffUnits = map[string]string{
	"flintdiff-plain.service":  "[Unit]\nDescription=Plain\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n",
	"flintdiff-nested.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1001\nSlice=flintdiff-a-b.slice\n",
	"flintdiff-limits.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1002\nMemoryMax=64M\nTasksMax=9\n",
}

// cgroupDiff is a flint with cgroups (cgroupManager) and systemd 252 (difftest.Boot) over the
// same unit files, for the tests that compare their cgroups.
type cgroupDiff struct {
	c         ctl
	l         *cgroup.Layout
	ctx       context.Context
	sd        *difftest.Systemd
	sdRoot    string // systemd's cgroup root: its init.scope's parent
	flintRoot string // flint's: its base in the tracking hierarchy
}

// startCgroupDiff writes files, starts flint, then boots systemd, and starts each unit of
// start in both. Flint comes first: systemd trims the empty groups it finds below its root,
// which the test's subtree is until flint is in it. When the test ends, systemd stops and
// the groups it made at systemdGroups go (removeSystemdCgroups).
func startCgroupDiff(t *testing.T, files map[string]string, start []string, systemdGroups ...string) *cgroupDiff {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	units := writeUnits(t, files)
	m, l := cgroupManager(t, units)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	sd, err := difftest.Boot(ctx, filepath.Dir(units), units+":")
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	t.Cleanup(func() { removeSystemdCgroups(t, systemdGroups...) })
	t.Cleanup(func() { sd.Stop() })
	d := &cgroupDiff{c: on(t, m), l: l, ctx: ctx, sd: sd, flintRoot: filepath.Join("/", l.Tracking.Base)}
	for _, u := range start {
		d.systemctl(t, "start", u)
		d.c.start(u)
	}
	d.sdRoot = strings.TrimSuffix(strings.TrimSpace(d.systemctl(t, "show", "-P", "ControlGroup", "init.scope")), "/init.scope")
	return d
}

// systemctl runs systemctl in systemd's namespaces and returns its output and errors; only
// a systemctl that could not run fails t.
func (d *cgroupDiff) systemctl(t *testing.T, args ...string) string {
	t.Helper()
	out, errb, err := d.sd.SystemctlOutput(d.ctx, args...)
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("systemctl %v: %v", args, err)
	}
	return string(out) + string(errb)
}

// belowRoot is the cgroup path p below root, without the leading "/".
func belowRoot(root, p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
}

// TestCgroupMatchesSystemctl compares the ControlGroup paths (below each manager's root) and
// the cgroup lines of status (Tasks:, Memory:, CPU:, CGroup: and its process) with systemd
// 252's, figures and pids aside.
func TestCgroupMatchesSystemctl(t *testing.T) {
	d := startCgroupDiff(t, cgroupDiffUnits, []string{"flintdiff-plain", "flintdiff-nested", "flintdiff-limits"},
		"system.slice/flintdiff-plain.service", "system.slice/flintdiff-limits.service", "flintdiff.slice")
	cgroupLines := regexp.MustCompile(`(?m)^\s+(Tasks|Memory|CPU|CGroup): .*\n|^\s+[├└]─.*\n`)
	normal := regexp.MustCompile(`\d+(\.\d+)?[KMGB]?|\d+ms|\d+(\.\d+)?s`)
	for _, u := range []string{"flintdiff-plain.service", "flintdiff-nested.service", "flintdiff-limits.service"} {
		t.Run(u, func(t *testing.T) {
			want := belowRoot(d.sdRoot, strings.TrimSpace(d.systemctl(t, "show", "-P", "ControlGroup", u)))
			got := belowRoot(d.flintRoot, d.c.prop(u, "ControlGroup"))
			if want != got || want == "" {
				t.Errorf("ControlGroup below the root: systemd %q, flint %q", want, got)
			}
			sdStatus := strings.Join(cgroupLines.FindAllString(d.systemctl(t, "status", "-n", "0", u), -1), "")
			st, _ := d.c.flint("status", "-n", "0", u)
			flStatus := strings.Join(cgroupLines.FindAllString(st, -1), "")
			sdStatus = strings.Replace(sdStatus, "CGroup: "+d.sdRoot+"/", "CGroup: ROOT/", 1)
			flStatus = strings.Replace(flStatus, "CGroup: "+d.flintRoot+"/", "CGroup: ROOT/", 1)
			if u != "flintdiff-limits.service" && d.l.Kind == cgroup.Hybrid {
				// On v1 a unit without memory settings is in no memory hierarchy in flint
				// (docs/compatibility.md): no Memory: line.
				sdStatus = regexp.MustCompile(`(?m)^\s+Memory: .*\n`).ReplaceAllString(sdStatus, "")
			}
			if w, g := normal.ReplaceAllString(sdStatus, "N"), normal.ReplaceAllString(flStatus, "N"); w != g {
				t.Errorf("status, cgroup lines:\nsystemd:\n%s\nflint:\n%s", sdStatus, flStatus)
			}
		})
	}
}

// removeSystemdCgroups removes the groups the namespace's systemd made for the test's units
// (names of this test's own): it shares the host's cgroup tree, rooted at the test's own
// cgroup in each hierarchy or, where that is not below the mount (memory here), at its root.
func removeSystemdCgroups(t *testing.T, rels ...string) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return
	}
	base := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[1] == "" {
			base["unified"] = f[2]
		}
		for _, c := range strings.Split(f[1], ",") {
			base[strings.TrimPrefix(c, "name=")] = f[2]
		}
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, d := range dirs {
		b, ok := base[filepath.Base(d)]
		if !ok {
			continue
		}
		for _, rel := range append(rels, rels...) {
			top := filepath.Join(d, b, rel)
			if _, err := os.Stat(top); err != nil {
				top = filepath.Join(d, rel)
			}
			var tree []string
			filepath.WalkDir(top, func(p string, e os.DirEntry, err error) error {
				if err == nil && e.IsDir() {
					tree = append(tree, p)
				}
				return nil
			})
			for i := len(tree) - 1; i >= 0; i-- {
				waitFor(5*time.Second, func() bool { err := os.Remove(tree[i]); return err == nil || os.IsNotExist(err) })
			}
		}
	}
}
