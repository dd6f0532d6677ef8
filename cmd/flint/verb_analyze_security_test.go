package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flint-init/flint/internal/security"
)

// TestAnalyzeSecurityOptions checks systemd-analyze's options of the security verb: bad
// values and options given to another verb are refused with exit status 1.
func TestAnalyzeSecurityOptions(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
	}{
		{[]string{"analyze", "--offline=maybe", "security"}, 1},
		{[]string{"analyze", "--threshold=101", "security", "--offline=yes"}, 1},
		{[]string{"analyze", "--threshold=-1", "security", "--offline=yes"}, 1},
		{[]string{"analyze", "--json=bogus", "security", "--offline=yes"}, 1},
		{[]string{"analyze", "--offline=yes", "verify", "x.service"}, 1},
		{[]string{"analyze", "security", "--offline=yes"}, 0}, // no files: nothing to do
		{[]string{"analyze", "--offline=no", "security", "x.socket"}, 1},
	} {
		if got := run(append([]string{"flint"}, tc.args...)); got != tc.status {
			t.Errorf("flint %s: exit %d, want %d", strings.Join(tc.args, " "), got, tc.status)
		}
	}
}

// TestAnalyzeSecurityOffline runs the offline verb on files: the report of each, errors on
// stderr with exit status 1, and --threshold=.
func TestAnalyzeSecurityOffline(t *testing.T) {
	dir := t.TempDir()
	hard := writeUnit(t, dir, "hard.service", "[Service]\nExecStart=/bin/true\nDynamicUser=yes\nPrivateNetwork=yes\n"+
		"CapabilityBoundingSet=\nSystemCallFilter=@system-service\nRestrictAddressFamilies=none\n")
	plain := writeUnit(t, dir, "plain.service", "[Service]\nExecStart=/bin/true\n")
	bad := writeUnit(t, dir, "bad.service", "[Service]\nUser=x\n")
	runs := func(threshold uint64, files ...string) (string, string, int) {
		var out, errs bytes.Buffer
		a := &securityRun{g: &globals{units: []string{dir}}, threshold: threshold,
			opts: security.Options{Offline: true}, out: &out, errs: &errs}
		st := a.offline(files)
		return out.String(), errs.String(), st
	}
	out, errs, st := runs(100, hard, plain)
	if st != 0 || errs != "" || !strings.Contains(out, "-> Overall exposure level for hard.service: 3.4 OK :-)\n") ||
		!strings.HasSuffix(out, "-> Overall exposure level for plain.service: 9.6 UNSAFE :-{\n") {
		t.Errorf("exit %d, stderr %q, output:\n%s", st, errs, out)
	}
	if _, _, st := runs(50, hard); st != 0 {
		t.Errorf("exposure 34, threshold 50: exit %d", st)
	}
	if _, _, st := runs(50, hard, plain); st != 1 {
		t.Errorf("exposure 96, threshold 50: exit %d", st)
	}
	out, errs, st = runs(100, bad, filepath.Join(dir, "nothere.service"), hard)
	if st != 1 || !strings.Contains(errs, "Unit bad.service has a bad unit file setting.") ||
		!strings.Contains(errs, "Unit nothere.service not found.\n") ||
		!strings.Contains(out, "hard.service: 3.4") {
		t.Errorf("exit %d, stderr %q, output:\n%s", st, errs, out)
	}
}
