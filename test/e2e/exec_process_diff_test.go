package e2e

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// processDiffProbe writes what the service's own process ($$) was given to OUT/%n: allowed
// CPUs, ignored signals, nice level, scheduling, I/O priority, timer slack, core dump filter,
// memory policy and PATH.
const processDiffProbe = `/bin/sh -c 'exec >%s/%n; grep -E "^(Cpus_allowed_list|SigIgn):" /proc/$$$$/status; ` +
	`echo "nice: $(cut -d" " -f19 /proc/$$$$/stat)"; echo "slack: $(cat /proc/$$$$/timerslack_ns)"; ` +
	`echo "coredump: $(cat /proc/$$$$/coredump_filter)"; chrt -p $$$$ | sed "s/^pid [0-9]*.s //"; ` +
	`echo "ionice: $(ionice -p $$$$)"; echo "numa: $(head -1 /proc/$$$$/numa_maps | cut -d" " -f2)"; echo "path: $$PATH"'`

// TestProcessSettingsDifferential runs the probe under each of the process settings on
// systemd 252 (PID 1 of a private namespace) and on flint, and compares what it saw; for
// settings the kernel or systemd refuses, the unit's exit status.
func TestProcessSettingsDifferential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir, err := os.MkdirTemp("/srv", "flint-process-diff-")
	if err != nil {
		t.Skipf("no shared directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	last := strconv.Itoa(runtime.NumCPU() - 1)
	cases := []struct{ name, body string }{
		{"plain", ""},
		{"rr", "CPUSchedulingPolicy=rr\nCPUSchedulingPriority=7\nCPUSchedulingResetOnFork=yes\n"},
		{"fifo-default-priority", "CPUSchedulingPolicy=fifo\n"},
		{"batch-nice", "CPUSchedulingPolicy=batch\nNice=5\n"},
		{"priority-alone", "CPUSchedulingPriority=0\nNice=3\n"},
		{"reset-on-fork-alone", "CPUSchedulingResetOnFork=yes\n"},
		{"io-be", "IOSchedulingClass=best-effort\nIOSchedulingPriority=6\n"},
		{"io-idle", "IOSchedulingPriority=2\nIOSchedulingClass=idle\n"},
		{"io-none", "IOSchedulingClass=none\n"},
		{"io-rt", "IOSchedulingClass=realtime\nIOSchedulingPriority=1\n"},
		{"slack", "TimerSlackNSec=123us\n"},
		{"affinity", "CPUAffinity=" + last + "\n"},
		{"affinity-reset", "CPUAffinity=0\nCPUAffinity=\n"},
		{"affinity-numa", "CPUAffinity=numa\nNUMAMask=0\nNUMAPolicy=bind\n"},
		{"numa-interleave", "NUMAPolicy=interleave\nNUMAMask=0\n"},
		{"numa-mask-only", "NUMAMask=0\n"},
		{"numa-local", "NUMAPolicy=local\n"},
		{"coredump", "CoredumpFilter=default private-file-backed\n"},
		{"coredump-all", "CoredumpFilter=all\n"},
		{"sigpipe", "IgnoreSIGPIPE=no\n"},
		{"search-path", "ExecSearchPath=/usr/local/bin:/usr/bin:/bin\n"},
		{"search-path-env", "ExecSearchPath=/usr/bin:/bin\nEnvironment=PATH=/opt/x\n"},
	}
	failing := []struct{ name, body string }{
		{"numa-bind-no-mask", "NUMAPolicy=bind\n"},
		{"numa-preferred-two", "NUMAPolicy=preferred\nNUMAMask=0-1\n"},
		{"affinity-numa-no-mask", "CPUAffinity=numa\n"},
		{"affinity-absent", "CPUAffinity=4000\n"},
	}
	files := map[string]string{}
	for _, c := range cases {
		files["proc-"+c.name+".service"] = "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\n" +
			"ExecStart=" + strings.Replace(processDiffProbe, "%s", dir, 1) + "\n" + c.body
	}
	for _, c := range failing {
		files["fail-"+c.name+".service"] = "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=/bin/true\n" + c.body
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, _, _, sd, m := bootWithConfig(t, ctx, files)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "proc-" + c.name + ".service"
			report := filepath.Join(dir, name)
			if b, err := sd.Systemctl(ctx, "start", name); err != nil {
				t.Fatalf("systemd: %v %s", err, b)
			}
			want, err := os.ReadFile(report)
			if err != nil {
				t.Fatalf("systemd's report: %v", err)
			}
			os.Remove(report)
			if o, code := m.flint("start", name); code != 0 {
				t.Fatalf("flint start: exit %d %s", code, o)
			}
			got, err := os.ReadFile(report)
			if err != nil {
				t.Fatalf("flint's report: %v", err)
			}
			if string(got) != string(want) {
				t.Errorf("flint:\n%s\nsystemd 252:\n%s", got, want)
			}
		})
	}
	for _, c := range failing {
		t.Run(c.name, func(t *testing.T) {
			name := "fail-" + c.name + ".service"
			sd.SystemctlOutput(ctx, "start", name)
			want, _ := sd.Systemctl(ctx, "show", name, "-p", "ActiveState,Result,ExecMainCode,ExecMainStatus")
			m.flint("start", name)
			got, _ := m.flint("show", name, "-p", "ActiveState,Result,ExecMainCode,ExecMainStatus")
			if sortedLines(got) != sortedLines(string(want)) {
				t.Errorf("flint:\n%s\nsystemd 252:\n%s", got, want)
			}
		})
	}
}
