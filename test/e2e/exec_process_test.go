package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// processProbe is a command that writes what its own process ($$, the one flint started)
// was given to the file %s: allowed CPUs, scheduling, I/O priority, timer slack, core dump
// filter, memory policy, ignored signals and PATH.
const processProbe = `/bin/sh -c 'exec >%s; grep -E "^(Cpus_allowed_list|SigIgn):" /proc/$$$$/status; ` +
	`echo "slack: $(cat /proc/$$$$/timerslack_ns)"; echo "coredump: $(cat /proc/$$$$/coredump_filter)"; ` +
	`echo "policy: $(chrt -p $$$$ | head -1 | sed "s/.*: //")"; echo "priority: $(chrt -p $$$$ | tail -1 | sed "s/.*: //")"; ` +
	`echo "ionice: $(ionice -p $$$$)"; echo "numa: $(head -1 /proc/$$$$/numa_maps | cut -d" " -f2)"; echo "path: $$PATH"'`

func readProcProbe(t *testing.T, path string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readWait(t, path)), "\n") {
		k, v, _ := strings.Cut(line, ":")
		got[k] = strings.TrimSpace(v)
	}
	return got
}

func checkProbe(t *testing.T, name string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q (all: %q)", name, k, got[k], v, got)
		}
	}
}

// TestExecProcessSettings: CPUAffinity=, CPUSchedulingPolicy=/Priority=/ResetOnFork=,
// IOSchedulingClass=/Priority=, TimerSlackNSec=, CoredumpFilter=, NUMAPolicy=/NUMAMask=,
// IgnoreSIGPIPE= and ExecSearchPath= as a service's process sees them, on the fast path and
// on the sandboxed one (a sandbox setting sends the start through `flint __sandbox`).
func TestExecProcessSettings(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: real-time scheduling")
	}
	for _, tool := range []string{"chrt", "ionice"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(err)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "probe-true"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	lastCPU := strconv.Itoa(runtime.NumCPU() - 1)
	rt := "Type=oneshot\nCPUAffinity=" + lastCPU + "\nCPUSchedulingPolicy=rr\nCPUSchedulingPriority=7\n" +
		"CPUSchedulingResetOnFork=yes\nIOSchedulingClass=idle\nCoredumpFilter=default private-file-backed\n" +
		"NUMAPolicy=interleave\nNUMAMask=0\n"
	other := "Type=oneshot\nCPUSchedulingPolicy=batch\nIOSchedulingClass=best-effort\nIOSchedulingPriority=6\n" +
		"TimerSlackNSec=123us\nIgnoreSIGPIPE=no\nNUMAMask=0\nExecSearchPath=" + bin + ":/usr/bin:/bin\n" +
		"ExecStartPre=probe-true\n"
	units := writeUnits(t, map[string]string{
		"rt.service": unitFile("Service", rt+"ExecStart="+sprintfProbe(dir, "rt")),
		"rt-sandbox.service": unitFile("Service", rt+"NoNewPrivileges=yes\nRestrictRealtime=no\nExecStart="+
			sprintfProbe(dir, "rt-sandbox")),
		"other.service":         unitFile("Service", other+"ExecStart="+sprintfProbe(dir, "other")),
		"other-sandbox.service": unitFile("Service", other+"NoNewPrivileges=yes\nExecStart="+sprintfProbe(dir, "other-sandbox")),
		"defaults.service":      unitFile("Service", "Type=oneshot\nExecStart="+sprintfProbe(dir, "defaults")),
		"bad-numa.service":      unitFile("Service", "Type=oneshot\nNUMAPolicy=bind\nExecStart=/bin/true"),
		"bad-affinity.service":  unitFile("Service", "Type=oneshot\nCPUSchedulingPolicy=fifo\nCPUAffinity=8000\nExecStart=/bin/true"),
	})
	m := startManager(t, units)
	c := on(t, m)
	for _, name := range []string{"rt", "rt-sandbox"} {
		c.start(name + ".service")
		checkProbe(t, name, readProcProbe(t, filepath.Join(dir, name)), map[string]string{
			"Cpus_allowed_list": lastCPU,
			"coredump":          "00000037",
			"policy":            "SCHED_RR|SCHED_RESET_ON_FORK",
			"priority":          "7",
			"ionice":            "idle",
			"numa":              "interleave:0",
			"SigIgn":            "0000000000001000",
		})
	}
	for _, name := range []string{"other", "other-sandbox"} {
		c.start(name + ".service")
		checkProbe(t, name, readProcProbe(t, filepath.Join(dir, name)), map[string]string{
			"policy":   "SCHED_BATCH",
			"priority": "0",
			"ionice":   "best-effort: prio 6",
			"slack":    "123000",
			"numa":     "prefer:0", // NUMAMask= alone: the preferred policy
			"SigIgn":   "0000000000000000",
			"path":     bin + ":/usr/bin:/bin",
		})
	}
	c.start("defaults.service")
	checkProbe(t, "defaults", readProcProbe(t, filepath.Join(dir, "defaults")), map[string]string{
		"policy": "SCHED_OTHER",
		"numa":   "default",
		"SigIgn": "0000000000001000",
	})
	// A setting the kernel (or systemd's own check) refuses fails the unit with systemd's
	// exit status.
	for unitName, status := range map[string]string{"bad-numa.service": "242", "bad-affinity.service": "215"} {
		c.run(1, "start", unitName)
		got := c.waitState(unitName, "failed")
		if p := c.prop(unitName, "ExecMainStatus"); p != status {
			t.Errorf("%s: ExecMainStatus=%s, want %s (%v)", unitName, p, status, got)
		}
	}
}

func sprintfProbe(dir, name string) string {
	return strings.Replace(processProbe, "%s", filepath.Join(dir, name), 1)
}

// TestExecLogSettings: SyslogFacility=, SyslogLevel=, SyslogLevelPrefix=, LogLevelMax= and
// LogExtraFields= as journalctl -o json shows a service's output lines.
func TestExecLogSettings(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"logs.service": unitFile("Service", "Type=oneshot\nSyslogFacility=local3\nSyslogLevel=warning\n"+
			"LogLevelMax=notice\nLogExtraFields=FOO=bar \"BAZ=with space\"\n"+
			`ExecStart=/bin/sh -c 'echo plain; echo "<7>debug"; echo "<2>crit"; echo "<06>info"'`),
		"noprefix.service": unitFile("Service", "Type=oneshot\nSyslogLevelPrefix=no\nSyslogFacility=kern\n"+
			`ExecStart=/bin/sh -c 'echo "<3>kept"'`),

		"ratelimited.service": unitFile("Service", "Type=oneshot\nLogRateLimitIntervalSec=1h\nLogRateLimitBurst=2\n"+
			`ExecStart=/bin/sh -c 'for i in $$(seq 200); do echo line$$i; done'`),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("logs.service")
	c.start("noprefix.service")
	type entry map[string]any
	entries := func(unitName string) []entry {
		out := c.run(0, "logs", "-u", unitName, "-o", "json", "--no-pager")
		var es []entry
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var e entry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			if e["_TRANSPORT"] == "stdout" {
				es = append(es, e)
			}
		}
		return es
	}
	got := entries("logs.service")
	var msgs []string
	for _, e := range got {
		msgs = append(msgs, e["MESSAGE"].(string))
		want := map[string]string{"SYSLOG_FACILITY": "19", "FOO": "bar", "BAZ": "with space"}
		for k, v := range want {
			if e[k] != v {
				t.Errorf("%q: %s=%v, want %s", e["MESSAGE"], k, e[k], v)
			}
		}
		wantPrio := map[string]string{"plain": "4", "crit": "2"}[e["MESSAGE"].(string)]
		if e["PRIORITY"] != wantPrio {
			t.Errorf("%q: PRIORITY=%v, want %s", e["MESSAGE"], e["PRIORITY"], wantPrio)
		}
	}
	// debug (7) and info (6) are above LogLevelMax=notice: dropped.
	if strings.Join(msgs, ",") != "plain,crit" {
		t.Errorf("lines %q, want plain and crit", msgs)
	}
	np := entries("noprefix.service")
	if len(np) != 1 || np[0]["MESSAGE"] != "<3>kept" || np[0]["PRIORITY"] != "6" || np[0]["SYSLOG_FACILITY"] != nil {
		t.Errorf("SyslogLevelPrefix=no, SyslogFacility=kern: %v", np)
	}
	// LogRateLimitBurst= (scaled by journald's rule with the free space, at most a few
	// times) lets the first lines of the interval through.
	c.start("ratelimited.service")
	if n := len(entries("ratelimited.service")); n < 2 || n >= 200 {
		t.Errorf("%d of 200 lines kept with LogRateLimitBurst=2", n)
	}
	// LogLevelMax= drops the manager's messages about the unit above it too: "Finished" and
	// "Deactivated successfully." are info.
	out := c.run(0, "logs", "-u", "logs.service", "--no-pager")
	if strings.Contains(out, "Deactivated successfully") || strings.Contains(out, "Finished") {
		t.Errorf("manager's info messages kept despite LogLevelMax=notice:\n%s", out)
	}
}

// TestRuntimeRandomizedExtraSec: with RuntimeRandomizedExtraSec= the service still reaches its
// (later) runtime limit, and show reports the setting.
func TestRuntimeRandomizedExtraSec(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"extra.service": unitFile("Service", "RuntimeMaxSec=100ms\nRuntimeRandomizedExtraSec=200ms\nExecStart=/bin/sleep 60"),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("extra.service")
	if got := c.prop("extra.service", "RuntimeRandomizedExtraUSec"); got != "200ms" {
		t.Errorf("RuntimeRandomizedExtraUSec=%s", got)
	}
	c.waitProps("extra.service", map[string]string{"ActiveState": "failed", "Result": "timeout"})
}
