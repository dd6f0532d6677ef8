package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyBPFUnavailable: on a machine that cannot attach cgroup BPF programs, verify warns
// at each line of a directive that needs them, and says nothing of them where it can.
func TestVerifyBPFUnavailable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.service")
	os.WriteFile(file, []byte("[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\nIPAddressDeny=any\nDevicePolicy=closed\nUser=root\n"), 0o644)
	run := func() string {
		var out bytes.Buffer
		if st := verifyUnits(&out, &globals{units: []string{dir}}, []string{file}, false); st != 0 {
			t.Errorf("exit status %d for warnings alone\n%s", st, out.String())
		}
		return out.String()
	}
	saved := bpfUnavailable
	defer func() { bpfUnavailable = saved }()
	bpfUnavailable = func() string { return "no cgroup2 hierarchy (cgroup v1 only)" }
	out := run()
	for _, want := range []string{
		file + ":5: IPAddressDeny= cannot be enforced here (no cgroup2 hierarchy (cgroup v1 only)): flint refuses to start the unit.\n",
		file + ":6: DevicePolicy= cannot be enforced here",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	bpfUnavailable = func() string { return "" }
	if out := run(); strings.Contains(out, "cannot be enforced") {
		t.Errorf("warned where the programs can be attached:\n%s", out)
	}
}
