package difftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSearchPathDifferential: names, aliases and drop-ins come from the manager's search path
// alone. systemd 252 runs with SYSTEMD_UNIT_PATH=units, flint with --units units; a second
// directory, other, is on neither path but is where the client's own default path points
// ($SYSTEMD_UNIT_PATH=other in the environment of the flint and systemctl commands, as a
// host's /etc/systemd/system would be): it holds syslog.service -> rsyslog.service, a unit
// of its own and a drop-in for a.service. show, cat and is-enabled must answer from units
// only, as systemctl does.
func TestSearchPathDifferential(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("boots systemd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	work := t.TempDir()
	units, other := filepath.Join(work, "units"), filepath.Join(work, "other")
	const svc = "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 30\n"
	for p, body := range map[string]string{
		"units/a.service":          svc,
		"units/b-alias.service":    "->a.service",
		"other/rsyslog.service":    svc,
		"other/syslog.service":     "->rsyslog.service",
		"other/c.service":          svc,
		"other/a.service.d/x.conf": "[Unit]\nDescription=leaked\n",
		"other/d-alias.service":    "->" + filepath.Join(units, "a.service"),
	} {
		full := filepath.Join(work, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(body, "->"); ok {
			err = os.Symlink(target, full)
		} else {
			err = os.WriteFile(full, []byte(body), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every command of the test, flint run included, has other as its default unit path.
	t.Setenv("SYSTEMD_UNIT_PATH", other)
	s := bootOrSkip(t, ctx, work, units)
	bin := filepath.Join(t.TempDir(), "flint")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/flint")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flint: %v\n%s", err, out)
	}
	sys, fl := systemdSide{s}, startFlint(t, bin, units)

	names := []string{"a.service", "b-alias.service", "syslog.service", "rsyslog.service", "c.service", "d-alias.service"}
	props := []string{"Id", "Names", "LoadState", "FragmentPath", "DropInPaths", "Description"}
	sShow, err := sys.show(ctx, names, props)
	if err != nil {
		t.Fatal(err)
	}
	fShow, err := fl.show(ctx, names, props)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		for _, p := range props {
			sv, fv := sShow[i][p], fShow[i][p]
			if p == "Names" {
				sv, fv = strings.Join(sortedCopy(SplitStrv(sv)), " "), strings.Join(sortedCopy(SplitStrv(fv)), " ")
			}
			if sv != fv {
				t.Errorf("show %s: %s: systemd %q, flint %q", n, p, sv, fv)
			}
		}
	}
	for _, args := range [][]string{{"cat", "a.service"}, {"cat", "syslog.service"}, {"is-enabled", "syslog.service"},
		{"is-enabled", "b-alias.service"}, {"is-enabled", "c.service"}} {
		sCode, sOut := sys.run(ctx, args...)
		fCode, fOut := fl.run(ctx, args...)
		if sCode != fCode {
			t.Errorf("%s: systemd exit %d %q, flint exit %d %q", strings.Join(args, " "), sCode, sOut, fCode, fOut)
		}
		if args[0] == "cat" && sCode == 0 && strings.TrimSpace(sOut) != strings.TrimSpace(fOut) {
			t.Errorf("%s:\nsystemctl:\n%s\nflint:\n%s", strings.Join(args, " "), sOut, fOut)
		}
	}
}
