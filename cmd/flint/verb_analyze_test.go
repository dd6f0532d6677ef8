package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/flint-init/flint/internal/textdiff"
)

func writeUnit(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAnalyzeVerify(t *testing.T) {
	dir := t.TempDir()
	ok := writeUnit(t, dir, "ok.service", "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\nExecStartPre=-/nonexistent/ignored\n")
	warn := writeUnit(t, dir, "warn.service", "[Unit]\nFoo=1\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\nRestart=sometimes\n")
	bad := writeUnit(t, dir, "bad.service", "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=bin/relative\n")
	noexec := writeUnit(t, dir, "noexec.service", "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/nonexistent/prog\n")
	missing := writeUnit(t, dir, "missing.service", "[Unit]\nDefaultDependencies=no\nRequires=nope.service\nWants=nope2.service\n[Service]\nExecStart=/bin/true\n")
	bare := writeUnit(t, dir, "bare.service", "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=true\n")
	tpl := writeUnit(t, dir, "tpl@.service", "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/nonexistent/tpl %i\n")
	if err := os.Symlink("/dev/null", filepath.Join(dir, "masked.service")); err != nil {
		t.Fatal(err)
	}
	needsMasked := writeUnit(t, dir, "needs-masked.service", "[Unit]\nDefaultDependencies=no\nRequires=masked.service\n[Service]\nExecStart=/bin/true\n")
	lonelyBad := writeUnit(t, dir, "lonely-bad.socket", "[Unit]\nDefaultDependencies=no\n[Socket]\nAccept=yes\n")
	lonely := writeUnit(t, dir, "lonely.socket", "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=/run/lonely.sk\n")
	withSvc := writeUnit(t, dir, "ok.socket", "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=/run/ok.sk\n")
	g := &globals{units: []string{t.TempDir()}}
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		want   []string // regexps, each must match a line
	}{
		{"clean", []string{ok}, 0, nil},
		{"bare name on the search path", []string{bare}, 0, nil},
		{"warnings only", []string{warn}, 0, []string{`^` + regexp.QuoteMeta(warn) + `:2: .*Foo`, `^` + regexp.QuoteMeta(warn) + `:6: .*sometimes`}},
		{"bad setting", []string{bad}, 1, []string{`^` + regexp.QuoteMeta(bad) + `:4: `, `^bad.service: Unit configuration has fatal error`, `^Unit bad.service has a bad unit file setting\.$`}},
		{"not executable", []string{noexec}, 1, []string{`^noexec.service: Command /nonexistent/prog is not executable: No such file or directory$`}},
		{"masked requirement", []string{needsMasked}, 1, []string{`^needs-masked.service: Failed to create needs-masked.service/start: Unit masked.service is masked\.$`}},
		{"refused as a whole", []string{lonelyBad}, 1, []string{`^lonely-bad.socket: Unit has no Listen setting`, `^Unit lonely-bad.socket has a bad unit file setting\.$`}},
		{"missing requirement", []string{missing}, 1, []string{`^missing.service: Failed to create missing.service/start: Unit nope.service not found\.$`}},
		{"not found", []string{"nothere.service"}, 1, []string{`^Unit nothere.service not found\.$`}},
		{"invalid name", []string{filepath.Join(dir, "bad.name")}, 1, []string{`^Failed to prepare filename .*bad.name: Invalid argument$`}},
		{"several", []string{ok, noexec}, 1, []string{`noexec.service: Command`}},
		{"template checked as instance i", []string{tpl}, 1, []string{`^tpl@i.service: Command /nonexistent/tpl is not executable: No such file or directory$`}},
		{"socket without service", []string{lonely}, 1, []string{`^lonely.socket: service lonely.service not loaded, socket cannot be started\.$`}},
		{"socket with service", []string{withSvc}, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			st := verifyUnits(&out, g, tc.args, false)
			if st != tc.status {
				t.Errorf("status %d, want %d; output:\n%s", st, tc.status, out.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if tc.want == nil && strings.TrimSpace(out.String()) != "" {
				t.Errorf("unexpected output:\n%s", out.String())
			}
			for _, re := range tc.want {
				found := false
				for _, l := range lines {
					if regexp.MustCompile(re).MatchString(l) {
						found = true
					}
				}
				if !found {
					t.Errorf("no line matches %s in:\n%s", re, out.String())
				}
			}
		})
	}
}

// TestAnalyzeVerifyLikeSystemd runs the real systemd-analyze verify and flint on all units of
// the differential corpus (one call each) and expects the same file:line places flagged and
// the same whole-unit lines ("Unit x not found.", "x.service: Command ... is not executable",
// ...). The wording of per-line warnings is not compared. Files in knownVerifyDifferences
// are left out.
func TestAnalyzeVerifyLikeSystemd(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	corpus, err := filepath.Abs("../../internal/difftest/testdata/units")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	skip := map[string]bool{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.Contains(n, "@") || e.Type()&os.ModeSymlink != 0 || !strings.Contains(n, ".") ||
			n == "svc-specifiers.service" {
			continue
		}
		if knownVerifyDifferences[n] != "" {
			skip[n] = true
			continue
		}
		files = append(files, filepath.Join(corpus, n))
	}
	cmd := exec.Command(sa, append([]string{"verify", "--man=no"}, files...)...)
	var sysOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &sysOut, &sysOut
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	verifyUnits(&out, &globals{}, files, false) // the default search path, as systemd-analyze
	place := regexp.MustCompile(`^(/[^:]+:\d+):`)
	summarize := func(s string) []string {
		seen := map[string]bool{}
		var l []string
		for _, line := range strings.Split(s, "\n") {
			if line == "" {
				continue
			}
			if m := place.FindStringSubmatch(line); m != nil {
				line = m[1]
			}
			if !seen[line] {
				seen[line] = true
				l = append(l, line)
			}
		}
		sort.Strings(l)
		return l
	}
	f, sys := summarize(withoutNotEnforced(out.String())), summarize(sysOut.String())
	if strings.Join(f, "\n") != strings.Join(sys, "\n") {
		t.Errorf("verify of %d corpus units differs (%d files skipped as known differences)\n%s",
			len(files), len(skip), textdiff.Lines(strings.Join(sys, "\n"), strings.Join(f, "\n"), "- systemd-analyze: ", "+ flint:           "))
	}
}

// knownVerifyDifferences are corpus units where flint's verify legitimately differs from
// systemd-analyze verify, with the reason.
var knownVerifyDifferences = map[string]string{}

// TestAnalyzeVerifyMachineUnits verifies all of /lib/systemd/system's units in one call of
// flint and of systemd-analyze and expects the same lines (in any order).
func TestAnalyzeVerifyMachineUnits(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	var files []string
	for _, pat := range []string{"*.service", "*.socket", "*.target"} {
		m, _ := filepath.Glob(filepath.Join("/lib/systemd/system", pat))
		for _, f := range m {
			if !strings.Contains(filepath.Base(f), "@.") {
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		t.Skip("no units in /lib/systemd/system")
	}
	cmd := exec.Command(sa, append([]string{"verify", "--man=no"}, files...)...)
	var sysOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &sysOut, &sysOut
	sysStatus := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		sysStatus = ee.ExitCode()
	}
	var out bytes.Buffer
	st := verifyUnits(&out, &globals{}, files, false)
	sorted := func(s string) []string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		sort.Strings(l)
		return l
	}
	if st != sysStatus {
		t.Errorf("exit status %d, systemd-analyze %d", st, sysStatus)
	}
	if f, s := sorted(withoutNotEnforced(out.String())), sorted(sysOut.String()); strings.Join(f, "\n") != strings.Join(s, "\n") {
		t.Errorf("verify of %d units differs\nflint:\n%s\nsystemd-analyze:\n%s", len(files), strings.Join(f, "\n"), strings.Join(s, "\n"))
	}
}
