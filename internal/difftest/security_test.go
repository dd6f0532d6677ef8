package difftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/textdiff"
)

// TestAnalyzeSecurity runs systemd-analyze security --offline=yes and flint analyze
// security --offline=yes on every service unit of this machine's /lib/systemd/system and
// on testdata/security (units that cover each assessed directive: lists built over several
// lines, resets, drop-ins, templates, refused values, a socket), under several locales and
// options, and expects the same output and exit status. $SYSTEMD_ANALYZE_DEBUG adds each
// row's weight, badness and range, which the rounded exposures alone would hide.
func TestAnalyzeSecurity(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no systemd-analyze")
		}
		t.Skip("no systemd-analyze")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	work := t.TempDir()
	flint := filepath.Join(work, "flint")
	build := exec.CommandContext(ctx, "go", "build", "-o", flint, "./cmd/flint")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flint: %v\n%s", err, out)
	}
	testdata, err := filepath.Abs("testdata/security")
	if err != nil {
		t.Fatal(err)
	}
	own, _ := filepath.Glob(filepath.Join(testdata, "*.service"))
	for _, ext := range []string{"socket", "target", "timer"} {
		more, _ := filepath.Glob(filepath.Join(testdata, "*."+ext))
		own = append(own, more...)
	}
	if len(own) < 10 {
		t.Fatalf("testdata/security has %d units", len(own))
	}
	machine, _ := filepath.Glob("/lib/systemd/system/*.service")
	if len(machine) == 0 && os.Getenv("CI") != "" {
		t.Fatal("no units in /lib/systemd/system")
	}

	compare := func(t *testing.T, env []string, args ...string) {
		t.Helper()
		sysOut, sysStatus := runAnalyze(ctx, t, env, sa, append([]string{"security"}, args...))
		flOut, flStatus := runAnalyze(ctx, t, env, flint, append([]string{"analyze", "security"}, args...))
		if sysStatus != flStatus {
			t.Errorf("%s: exit status %d, systemd-analyze %d", strings.Join(args, " "), flStatus, sysStatus)
		}
		if sysOut != flOut {
			t.Errorf("%s: output differs\n%s%s", strings.Join(args, " "),
				textdiff.Lines(sysOut, flOut, "- systemd-analyze: ", "+ flint:           "), firstDifference(sysOut, flOut))
		}
	}
	utf8 := []string{"LANG=C.UTF-8", "TERM=xterm"}
	t.Run("machine", func(t *testing.T) {
		debug := append([]string{"SYSTEMD_ANALYZE_DEBUG=1"}, utf8...) // weights, badness, ranges too
		for _, f := range machine {
			compare(t, utf8, "--offline=yes", f)
			compare(t, debug, "--offline=yes", f)
		}
	})
	t.Run("testdata", func(t *testing.T) {
		policy := filepath.Join(testdata, "perfect.policy")
		for _, f := range own {
			t.Run(filepath.Base(f), func(t *testing.T) {
				compare(t, utf8, "--offline=yes", f)
				compare(t, []string{"LC_ALL=C", "TERM=xterm"}, "--offline=yes", f)
				compare(t, []string{"LANG=C.UTF-8"}, "--offline=yes", f) // no TERM: no emoji
				compare(t, utf8, "--offline=yes", "--json=short", f)
				compare(t, utf8, "--offline=yes", "--json=pretty", f)
				compare(t, utf8, "--offline=yes", "--threshold=50", f)
				compare(t, utf8, "--offline=yes", "--security-policy="+policy, f)
				// the user manager's services keep the keyring they inherit
				compare(t, append([]string{"XDG_RUNTIME_DIR=" + work}, utf8...), "--user", "--offline=yes", f)
				debug := append([]string{"SYSTEMD_ANALYZE_DEBUG=1"}, utf8...)
				compare(t, debug, "--offline=yes", f)
				compare(t, debug, "--offline=yes", "--json=pretty", "--security-policy="+policy, f)
			})
		}
	})
	t.Run("default-policy", func(t *testing.T) {
		// systemd-analyze-security.policy from /usr/local/lib/systemd, in a mount namespace
		// of its own with a tmpfs there
		if _, err := os.Stat("/usr/local/lib"); err != nil || os.Geteuid() != 0 {
			t.Skip("needs root and /usr/local/lib")
		}
		const script = `mount -t tmpfs tmpfs /usr/local/lib && mkdir /usr/local/lib/systemd &&
cp "$1" /usr/local/lib/systemd/systemd-analyze-security.policy && shift && exec "$@"`
		for _, policy := range []string{filepath.Join(testdata, "perfect.policy"), filepath.Join(testdata, "sec-full.service")} {
			for _, f := range own[:4] {
				ns := []string{"-m", "sh", "-c", script, "sh", policy}
				sysOut, sysStatus := runAnalyze(ctx, t, utf8, "unshare", append(ns, sa, "security", "--offline=yes", f))
				flOut, flStatus := runAnalyze(ctx, t, utf8, "unshare", append(ns, flint, "analyze", "security", "--offline=yes", f))
				if sysStatus != flStatus || sysOut != flOut {
					t.Errorf("policy %s, %s: exit %d, systemd-analyze %d\n%s", filepath.Base(policy), filepath.Base(f), flStatus, sysStatus,
						textdiff.Lines(sysOut, flOut, "- systemd-analyze: ", "+ flint:           "))
				}
			}
		}
	})
	t.Run("several", func(t *testing.T) {
		compare(t, utf8, append([]string{"--offline=yes"}, own...)...)
		compare(t, utf8, "--offline=yes", own[0], filepath.Join(testdata, "does-not-exist.service"), own[1])
		compare(t, utf8, "--offline=yes")
		// what cannot be analyzed is said alike on standard error
		args := []string{"--offline=yes", filepath.Join(testdata, "does-not-exist.service"), filepath.Join(testdata, "sec-refused.service")}
		_, sysErr, _ := runAnalyzeErr(ctx, t, utf8, sa, append([]string{"security"}, args...))
		_, flErr, _ := runAnalyzeErr(ctx, t, utf8, flint, append([]string{"analyze", "security"}, args...))
		if sysErr != flErr {
			t.Errorf("standard error differs\n%s", textdiff.Lines(sysErr, flErr, "- systemd-analyze: ", "+ flint:           "))
		}
	})
}

// runAnalyze runs an analyze command with env (and PATH) only, and returns its standard
// output and exit status.
func runAnalyze(ctx context.Context, t *testing.T, env []string, bin string, args []string) (string, int) {
	t.Helper()
	out, _, st := runAnalyzeErr(ctx, t, env, bin, args)
	return out, st
}

// runAnalyzeErr is runAnalyze that returns standard error too.
func runAnalyzeErr(ctx context.Context, t *testing.T, env []string, bin string, args []string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errs.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", bin, err)
	}
	return out.String(), errs.String(), 0
}

// TestAnalyzeSecurityManager compares flint analyze security without --offline (the unit
// files on the search path) with systemd-analyze security asking a systemd 252 booted in
// private namespaces for the same units: several at once, so the summary table follows, a
// template (analyzed as its test-instance), and a unit that does not exist.
func TestAnalyzeSecurityManager(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("boots systemd in namespaces")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	work := t.TempDir()
	units := filepath.Join(work, "units")
	if err := os.CopyFS(units, os.DirFS("testdata/security")); err != nil {
		t.Fatal(err)
	}
	s := bootOrSkip(t, ctx, work, units+":")
	flint := filepath.Join(work, "flint")
	build := exec.CommandContext(ctx, "go", "build", "-o", flint, "./cmd/flint")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flint: %v\n%s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(units, "*.service"))
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	env := []string{"LANG=C.UTF-8", "TERM=xterm"}
	for _, args := range [][]string{
		{"sec-deny.service"},
		names,
		{"sec-full", "difftest-does-not-exist.service", "sec-reset.service"},
		append([]string{"--json=short"}, names[:3]...),
		{"--threshold=60", "sec-full.service", "sec-deny.service"},
	} {
		sysOut, sysStatus := runAnalyze(ctx, t, env, "nsenter",
			append([]string{"-t", strconv.Itoa(s.Pid), "-m", "-p", "-u", "systemd-analyze", "security"}, args...))
		flEnv := append([]string{"SYSTEMD_UNIT_PATH=" + units + ":", "FLINT_CONTROL=" + filepath.Join(work, "no-manager.sock")}, env...)
		flOut, flStatus := runAnalyze(ctx, t, flEnv, flint, append([]string{"analyze", "security"}, args...))
		what := strings.Join(args, " ")
		if sysStatus != flStatus {
			t.Errorf("%s: exit status %d, systemd-analyze %d", what, flStatus, sysStatus)
		}
		if sysOut != flOut {
			t.Errorf("%s: output differs\n%s%s", what, textdiff.Lines(sysOut, flOut, "- systemd-analyze: ", "+ flint:           "), firstDifference(sysOut, flOut))
		}
	}
}

// firstDifference shows where two outputs part, for long lines (JSON) that a line diff
// shows whole.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("first difference at byte %d:\n- systemd-analyze: %q\n+ flint:           %q\n",
		i, a[from:min(len(a), i+80)], b[from:min(len(b), i+80)])
}
