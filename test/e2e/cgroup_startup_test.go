package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCgroupStartupCPUWeight: StartupCPUWeight= is the unit's weight while the boot's jobs
// run (a oneshot holds the boot until the test lets it end), CPUWeight= once they are done.
func TestCgroupStartupCPUWeight(t *testing.T) {
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	units := writeUnits(t, map[string]string{
		"w.service":     unitFile("Service", "ExecStart=/bin/sleep 1000\nCPUWeight=100\nStartupCPUWeight=300"),
		"block.service": unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'while [ ! -e "+release+" ]; do sleep 0.05; done'"),
	})
	wantedBy(t, units, "multi-user.target", "w.service")
	wantedBy(t, units, "multi-user.target", "block.service")
	m, l := cgroupManager(t, units)
	c := on(t, m)
	h := l.Controller("cpu")
	if h == nil {
		t.Skip("no cpu controller")
	}
	file, startup, after := "cpu.shares", "3072", "1024"
	if h.V2 {
		file, startup, after = "cpu.weight", "300", "100"
	}
	read := func() string {
		b, _ := os.ReadFile(filepath.Join(h.Dir("system.slice/w.service"), file))
		return strings.TrimSpace(string(b))
	}
	if !waitFor(10*time.Second, func() bool { return read() == startup }) {
		t.Fatalf("%s %q during the boot, want %s", file, read(), startup)
	}
	if got := c.prop("w.service", "StartupCPUWeight"); got != "300" {
		t.Errorf("StartupCPUWeight=%s", got)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return read() == after }) {
		t.Fatalf("%s %q after the boot, want %s", file, read(), after)
	}
}
