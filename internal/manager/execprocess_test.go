package manager

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

func decodeExec(t *testing.T, body string) *unit.Unit {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.service"), []byte("[Service]\nExecStart=/bin/true\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	u := unit.NewLoader(unit.System, []string{dir}).Load("p.service")
	if u.LoadState != unit.Loaded {
		t.Fatalf("load: %s %s", u.LoadState, u.LoadError)
	}
	return u
}

// TestRuntimeExtra: RuntimeRandomizedExtraSec= adds a random delay in [0, it).
func TestRuntimeExtra(t *testing.T) {
	u := decodeExec(t, "RuntimeMaxSec=1s\nRuntimeRandomizedExtraSec=10ms\n")
	seen := map[time.Duration]bool{}
	for range 200 {
		d := runtimeExtra(u.Service)
		if d < 0 || d >= 10*time.Millisecond {
			t.Fatalf("extra %v outside [0, 10ms)", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Errorf("extra always %v", seen)
	}
	if d := runtimeExtra(decodeExec(t, "").Service); d != 0 {
		t.Errorf("extra %v without the setting", d)
	}
}

// TestProcessSettingsOf: what spawn gets of the unit's settings, and systemd's refusals made
// before the fork.
func TestProcessSettingsOf(t *testing.T) {
	ps, err := processSettings(decodeExec(t, "").Service.Exec)
	if ps != nil || err != nil {
		t.Errorf("no settings: %+v %v", ps, err)
	}
	ps, err = processSettings(decodeExec(t, "CPUAffinity=1 3\nNUMAMask=0\nIOSchedulingClass=idle\nStandardInput=tty-force\nCoredumpFilter=0x3\n").Service.Exec)
	if err != nil || len(ps.CPUAffinity) != 1 || ps.CPUAffinity[0] != 0b1010 || ps.NUMA == nil || ps.NUMA.Mode != mpolPreferred ||
		len(ps.NUMA.Nodes) != 1 || ps.NUMA.Nodes[0] != 1 || *ps.IOPrio != 3<<13|4 || ps.ControllingTTY != spawn.CTTYForce || *ps.CoredumpFilter != 3 {
		t.Errorf("settings %+v %v", ps, err)
	}
	for body, status := range map[string]int{
		"NUMAPolicy=bind\n":                    spawn.StatusNUMAPolicy, // bind needs nodes
		"NUMAPolicy=preferred\nNUMAMask=0-1\n": spawn.StatusNUMAPolicy, // preferred takes one
	} {
		_, err := processSettings(decodeExec(t, body).Service.Exec)
		if ee, ok := err.(*spawn.ExecError); !ok || ee.Status != status {
			t.Errorf("%q: %v, want status %d", body, err, status)
		}
	}
	old := nodeDir
	nodeDir = t.TempDir()
	defer func() { nodeDir = old }()
	os.MkdirAll(filepath.Join(nodeDir, "node1"), 0o755)
	os.WriteFile(filepath.Join(nodeDir, "node1", "cpulist"), []byte("2-3,6\n"), 0o644)
	ps, err = processSettings(decodeExec(t, "CPUAffinity=numa\nNUMAMask=1\nNUMAPolicy=bind\n").Service.Exec)
	if err != nil || len(ps.CPUAffinity) != 1 || ps.CPUAffinity[0] != 0b1001100 || ps.NUMA.Mode != mpolBind {
		t.Errorf("numa affinity %+v %v", ps, err)
	}
	_, err = processSettings(decodeExec(t, "CPUAffinity=numa\nNUMAMask=2\n").Service.Exec)
	if ee, ok := err.(*spawn.ExecError); !ok || ee.Status != spawn.StatusCPUAffinity || !errors.Is(ee.Err, os.ErrNotExist) {
		t.Errorf("a node without a CPU list: %v", err)
	}
}

func TestResolveSearchPath(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "plain"), []byte("x"), 0o644)
	for _, c := range []struct {
		name   string
		search []string
		want   string
	}{
		{"tool", []string{"/nonexistent", dir}, filepath.Join(dir, "tool")},
		{"plain", []string{dir}, filepath.Join(dir, "plain")}, // not executable: the first directory's, which fails
		{"sh", []string{"/nonexistent"}, "/nonexistent/sh"},   // only ExecSearchPath= is searched
		{"/bin/sh", []string{dir}, "/bin/sh"},
	} {
		if got, err := resolveSearchPath(c.name, c.search); err != nil || got != c.want {
			t.Errorf("%s in %q: %q %v, want %q", c.name, c.search, got, err, c.want)
		}
	}
	if got, _ := resolveSearchPath("sh", nil); got != "/usr/bin/sh" && got != "/bin/sh" {
		t.Errorf("sh on the default path: %q", got)
	}
}

// TestLogOutputRateLimit: a unit's LogRateLimitIntervalSec= and LogRateLimitBurst= over
// journald's default, field by field; 0 is the default too (systemd 252 passes journald
// only values above 0), and a unit without any log setting has the default as well.
func TestLogOutputRateLimit(t *testing.T) {
	def := logs.DefaultRateLimit
	for _, c := range []struct {
		name      string
		interval  *time.Duration
		burst     *int
		want      logs.RateLimit
		nilOutput bool
	}{
		{"none", nil, nil, def, true},
		{"interval", ptr(time.Hour), nil, logs.RateLimit{Interval: time.Hour, Burst: def.Burst}, false},
		{"burst", nil, ptr(5), logs.RateLimit{Interval: def.Interval, Burst: 5}, false},
		{"zero interval", ptr(time.Duration(0)), ptr(5), logs.RateLimit{Interval: def.Interval, Burst: 5}, false},
		{"zero burst", ptr(time.Second), ptr(0), logs.RateLimit{Interval: time.Second, Burst: def.Burst}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ec := &unit.ExecContext{}
			if c.interval != nil {
				ec.LogRateLimitInterval, ec.LogRateLimitIntervalSet = *c.interval, true
			}
			if c.burst != nil {
				ec.LogRateLimitBurst, ec.LogRateLimitBurstSet = *c.burst, true
			}
			o := logOutput(ec)
			if (o == nil) != c.nilOutput || o.RateLimit() != c.want {
				t.Errorf("logOutput: %v, limit %+v; want nil %v, %+v", o, o.RateLimit(), c.nilOutput, c.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
