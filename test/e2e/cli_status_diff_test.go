package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/difftest"
)

// statusUnits are units whose status and show TestStatusShowMatchSystemctl compares: the
// commands that ran (a failed ExecStartPre=, an exit status, a signal, an executable that is
// not there), a service waiting to restart, Documentation=, a preset, a unit file changed or
// deleted under a running unit.
var statusUnits = map[string]string{
	"prefail.service": "[Unit]\nDescription=Pre fails\nDefaultDependencies=no\n[Service]\nExecStartPre=/bin/sh -c 'exit 1'\nExecStart=/bin/sleep 1000\n",
	"three.service": "[Unit]\nDescription=Exits 3\nDefaultDependencies=no\n[Service]\nExecStartPre=/bin/true\n" +
		"ExecStart=/bin/sh -c 'sleep 0.2; exit 3'\nExecStopPost=/bin/true\n",
	"exits64.service": "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'exit 64'\n",
	"killed.service":  "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sh -c 'sleep 0.2; kill -9 $$$$'\n",
	"noexec.service":  "[Unit]\nDescription=No exec\nDefaultDependencies=no\n[Service]\nExecStart=/nonexistent/binary\n",
	"waits.service": "[Unit]\nDescription=Waits to restart\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sh -c 'exit 2'\n" +
		"Restart=on-failure\nRestartSec=1h\n",
	"docs.service": "[Unit]\nDescription=With docs\nDocumentation=man:true(1) https://example.com/doc\nDefaultDependencies=no\n" +
		"[Service]\nType=oneshot\nExecStart=/bin/true\n",
	"preset.service":  "[Unit]\nDescription=Enableable\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n",
	"changed.service": "[Unit]\nDescription=Changed on disk\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n",
	"gone.service":    "[Unit]\nDescription=Gone soon\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n",
	"st.socket":       "[Unit]\nDescription=Socket\nDefaultDependencies=no\n[Socket]\nListenStream=/run/flint-status-diff.sk\n",
	"st.service":      "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n",
	"st.target":       "[Unit]\nDescription=Target\nDefaultDependencies=no\n",
	"st.timer":        "[Unit]\nDescription=Timer\nDefaultDependencies=no\n[Timer]\nOnActiveSec=1h\nUnit=docs.service\n",
	"st.path":         "[Unit]\nDescription=Path\nDefaultDependencies=no\n[Path]\nPathExists=/nonexistent\nUnit=exits64.service\n",
	"usr.service":     "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\nUser=daemon\n",
	"sandbox.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\nPrivateTmp=yes\nProtectSystem=full\n" +
		"MemoryMax=64M\nCPUQuota=20%\nTasksAccounting=no\nSyslogLevel=debug\nSyslogFacility=local0\nPrivateDevices=yes\n",
	// Failed conditions and assertions (status: Condition:, Assert:), kept loaded by a target.
	"cond.service": "[Unit]\nDefaultDependencies=no\nConditionPathExists=/nonexistent/x\nConditionPathExists=!/etc\n" +
		"ConditionPathExists=|/nonexistent/y\n[Service]\nExecStart=/bin/sleep 1000\n",
	"asrt.service": "[Unit]\nDefaultDependencies=no\nAssertPathExists=/nonexistent/z\n[Service]\nExecStart=/bin/sleep 1000\n",
	"asrt2.service": "[Unit]\nDefaultDependencies=no\nAssertPathExists=|/nonexistent/a\nAssertPathExists=|!/etc\n" +
		"[Service]\nExecStart=/bin/sleep 1000\n",
	"condkeep.target": "[Unit]\nDefaultDependencies=no\nWants=cond.service asrt.service asrt2.service\n",
}

// TestStatusShowMatchSystemctl compares status and show with systemctl 252's for the units
// and states above (no journal in these namespaces: status -n 0), and the list of properties
// a full show prints for each unit type.
func TestStatusShowMatchSystemctl(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	units := writeUnits(t, statusUnits)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sd, err := difftest.Boot(ctx, filepath.Dir(units), units+":")
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	defer sd.Stop()
	m := startManager(t, units)
	systemctl := func(args ...string) (string, int) {
		out, errb, err := sd.SystemctlOutput(ctx, args...)
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return string(out) + string(errb), code
	}
	both := func(args ...string) {
		systemctl(args...)
		m.flint(args...)
	}
	settle := func(u, state string) {
		for _, f := range []func(...string) (string, int){systemctl, m.flint} {
			if !waitFor(20*time.Second, func() bool {
				out, _ := f("show", "-P", "SubState", u)
				return strings.TrimSpace(out) == state
			}) {
				t.Fatalf("%s did not become %s", u, state)
			}
		}
	}
	// Times and pids; and what systemd says of a running unit's cgroup (Tasks: with its
	// limit, Memory:, CGroup: and its process tree), where flint lists the unit's processes
	// (docs/compatibility.md).
	variable := regexp.MustCompile(`(since|failed at) .*; .* ago|Duration: .*|\b\d{2,}\b|\[[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+\]`)
	cgroupLines := regexp.MustCompile(`(?m)^\s+((Tasks|Memory|CPU|CGroup): .*|└─.*)\n`)
	compare := func(t *testing.T, args ...string) {
		t.Helper()
		want, wantCode := systemctl(args...)
		got, gotCode := m.flint(args...)
		want = cgroupLines.ReplaceAllString(want, "")
		got = cgroupLines.ReplaceAllString(got, "")
		want = strings.ReplaceAll(variable.ReplaceAllString(want, "X"), "systemctl", "flint")
		got = variable.ReplaceAllString(got, "X")
		if want != got || wantCode != gotCode {
			t.Errorf("systemctl %s: exit %d\n%s\nflint: exit %d\n%s", strings.Join(args, " "), wantCode, want, gotCode, got)
		}
	}
	for _, n := range []string{"prefail", "three", "exits64", "killed", "noexec", "waits", "docs", "preset", "changed", "gone", "sandbox",
		"usr", "st.socket", "st.target", "st.timer", "st.path", "condkeep.target"} {
		both("start", n)
	}
	settle("three.service", "failed")
	settle("killed.service", "failed")
	settle("noexec.service", "failed")
	settle("waits.service", "auto-restart")
	for _, args := range [][]string{
		{"status", "prefail", "-n", "0"},
		{"show", "prefail", "-p", "ExecStartPre,ExecStart,ExecStartPreEx,Result,ExecMainCode,ExecMainStatus"},
		{"status", "three", "-n", "0"},
		{"show", "three", "-p", "ExecStartPre,ExecStart,ExecStopPost,ExecStopPostEx,Result"},
		{"status", "exits64", "-n", "0"},
		{"status", "killed", "-n", "0"},
		{"show", "killed", "-p", "ExecStart,ExecMainCode,ExecMainStatus"},
		{"status", "noexec", "-n", "0"},
		{"status", "waits", "-n", "0"},
		{"show", "waits", "-p", "Result,ActiveState,SubState,NRestarts"},
		{"status", "docs", "-n", "0"},
		{"status", "preset", "-n", "0"},
		{"show", "preset", "-p", "UnitFileState,UnitFilePreset"},
		{"show", "docs", "-p", "ControlGroup,WatchdogTimestamp,Id,StatusText,ExecMainStartTimestampMonotonic"},
		{"show", "sandbox", "-p", "PrivateTmp,ProtectSystem,MemoryMax,CPUQuotaPerSecUSec,TasksAccounting,SyslogLevel,SyslogFacility,SyslogPriority,DevicePolicy,IOSchedulingClass,KeyringMode,TasksCurrent,CPUUsageNSec,FreezerState,ConditionResult,AssertResult"},
		{"show", "exits64", "-p", "TasksCurrent,MemoryCurrent,UID,GID,IPIngressBytes,IOReadBytes,CleanResult,ConditionResult,AssertResult"},
		{"status", "cond", "-n", "0"},
		{"status", "asrt", "-n", "0"},
		{"status", "asrt2", "-n", "0"},
		{"show", "cond", "-p", "ConditionResult,AssertResult,ActiveState"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) { compare(t, args...) })
	}
	// A unit file changed under a running unit: status warns; deleted and reloaded: the
	// unit is not-found and keeps running, then, stopped, goes away.
	if err := os.WriteFile(filepath.Join(units, "changed.service"), []byte(statusUnits["changed.service"]+"# changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The file's time in systemd's namespace is the same file's: both see it changed.
	t.Run("changed_on_disk", func(t *testing.T) { compare(t, "status", "changed", "-n", "0") })
	os.Remove(filepath.Join(units, "gone.service"))
	both("daemon-reload")
	for _, args := range [][]string{
		{"status", "gone", "-n", "0"},
		{"show", "gone", "-p", "LoadState,ActiveState,SubState,Description,FragmentPath,UnitFileState,LoadError,NeedDaemonReload"},
		{"is-active", "gone"},
		{"list-units", "gone*", "--all"},
		{"status", "changed", "-n", "0"},
	} {
		t.Run("reloaded_"+strings.Join(args, "_"), func(t *testing.T) { compare(t, args...) })
	}
	both("stop", "gone")
	t.Run("gone_stopped", func(t *testing.T) { compare(t, "status", "gone", "-n", "0") })

	// A full show: the properties systemd 252 lists for each unit type and their values, in
	// every state above, but those of cgroups flint does not have (knownLacking,
	// knownValues).
	for _, u := range []string{"three.service", "preset.service", "sandbox.service", "usr.service", "exits64.service", "killed.service",
		"noexec.service", "waits.service", "docs.service", "prefail.service", "st.service", "st.socket", "st.target",
		"st.timer", "st.path"} {
		t.Run("show_all_"+u, func(t *testing.T) {
			want, _ := systemctl("show", u)
			got, _ := m.flint("show", u)
			if d := missingNames(want, got); d != "" {
				t.Error(d)
			}
			if d := showValueDiffs(want, got); d != "" {
				t.Errorf("%s: values differ (normalised: times, pids, ids)\n%s", u, d)
			}
		})
	}
}

// knownLacking are the properties systemd shows and flint does not: its cgroup and slice
// (flint runs no unit in a cgroup of its own; docs/compatibility.md).
var knownLacking = []string{"Slice", "ControlGroup", "ControlGroupId", "Requires", "After",
	// the mount PrivateTmp= wants (tmp.mount): flint has no mount units
	"Wants"}

// missingNames says which property names one show output has and the other lacks.
func missingNames(systemd, flint string) string {
	names := func(s string) []string {
		var out []string
		for _, p := range difftest.ParseShow([]byte(s)) {
			for _, x := range p {
				if !slices.Contains(out, x.Name) {
					out = append(out, x.Name)
				}
			}
		}
		return out
	}
	w, g := names(systemd), names(flint)
	var d []string
	for _, n := range w {
		if !slices.Contains(g, n) && !slices.Contains(knownLacking, n) {
			d = append(d, "flint lacks "+n)
		}
	}
	for _, n := range g {
		if !slices.Contains(w, n) && !strings.HasPrefix(n, "Flint") {
			d = append(d, "flint has "+n)
		}
	}
	return strings.Join(d, "\n")
}

// knownValues are the properties whose values differ because flint keeps no cgroup for a
// unit: systemd's counters of it (docs/compatibility.md).
var knownValues = map[string]bool{"MemoryCurrent": true, "MemoryAvailable": true, "CPUUsageNSec": true,
	"IOReadBytes": true, "IOReadOperations": true, "IOWriteBytes": true, "IOWriteOperations": true}

// showValueDiffs says which properties both show outputs have with different values, once
// times, pids and ids are set aside; dependency lists are compared as sets without the
// units systemd adds that flint has not (slices, mounts), and the
// differences difftest accepts for every unit are accepted.
func showValueDiffs(systemd, flint string) string {
	stamp := regexp.MustCompile(`[A-Z][a-z]{2} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z]+|pid=\d+`)
	deps := map[string]bool{"Requires": true, "Wants": true, "After": true, "Before": true, "WantedBy": true,
		"RequiredBy": true, "Triggers": true, "TriggeredBy": true, "Conflicts": true, "ConflictedBy": true}
	known := map[string]bool{}
	for _, k := range difftest.KnownDifferences {
		if k.Units == "*" && k.LoadState == "" {
			known[k.Property] = true
		}
	}
	values := func(s string) map[string]string {
		r := map[string]string{}
		for _, b := range difftest.ParseShow([]byte(s)) {
			for _, p := range b {
				v := stamp.ReplaceAllString(p.Value, "T")
				switch {
				case (strings.HasSuffix(p.Name, "Monotonic") || strings.HasSuffix(p.Name, "PID") ||
					p.Name == "InvocationID") && v != "0" && v != "":
					v = "N"
				case deps[p.Name]:
					var l []string
					for _, d := range strings.Fields(v) {
						if !strings.HasSuffix(d, ".slice") && !strings.HasSuffix(d, ".mount") {
							l = append(l, d)
						}
					}
					slices.Sort(l)
					v = strings.Join(l, " ")
				}
				r[p.Name] = v
			}
		}
		return r
	}
	w, g := values(systemd), values(flint)
	var d []string
	for n, v := range w {
		if gv, ok := g[n]; ok && gv != v && !knownValues[n] && !known[n] {
			d = append(d, n+":\n\tsystemd "+v+"\n\tflint   "+gv)
		}
	}
	slices.Sort(d)
	return strings.Join(d, "\n")
}
