package difftest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cleanUnits are the units of TestCleanDifferential; @DIR@ is a directory name of one side.
var cleanUnits = map[string]string{
	"dc-c.service": "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nRemainAfterExit=yes\n" +
		"RuntimeDirectory=@DIR@\nRuntimeDirectoryPreserve=yes\nStateDirectory=@DIR@ @DIR@-2/x\nCacheDirectory=@DIR@\n" +
		"LogsDirectory=@DIR@\nConfigurationDirectory=@DIR@\n" +
		"ExecStart=/bin/sh -c 'for d in $RUNTIME_DIRECTORY $CACHE_DIRECTORY $LOGS_DIRECTORY $CONFIGURATION_DIRECTORY /var/lib/@DIR@; do mkdir -p $d/sub && touch $d/sub/f; done'\n",
	"dc-fail.service": "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nStateDirectory=@DIR@-f\nExecStart=/bin/false\n",
	"dc-none.service": "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=/bin/true\n",
	"dc-dyn.service": "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nDynamicUser=yes\nStateDirectory=@DIR@-d\n" +
		"ExecStart=/bin/sh -c 'touch $STATE_DIRECTORY/f'\n",
	"dc-t.timer":  "[Unit]\nDefaultDependencies=no\n[Timer]\nOnCalendar=2099-01-01\nPersistent=yes\nUnit=dc-none.service\n",
	"dc-a.target": "[Unit]\nDefaultDependencies=no\n",
}

// cleanSteps are the commands run on both sides, in order: "ls" lists what is left of the
// scenario's directories on the host instead (systemd's /run is its own).
var cleanSteps = [][]string{
	{"start", "dc-c.service"},
	{"show", "-p", "CanClean", "dc-c.service", "dc-none.service", "dc-a.target", "dc-t.timer", "dc-dyn.service"},
	{"clean", "dc-c.service"},
	{"clean", "--what=bogus", "dc-c.service"},
	{"clean", "--what=help"},
	{"clean", "dc-a.target"},
	{"clean", "dc-none.service"},
	{"clean", "--what=all", "dc-none.service"},
	{"clean", "dc-nosuch.service"},
	// (systemctl 252 clean --no-block of a unit that does not exist prints flint's message,
	// then aborts on an assertion: bus_wait_for_units_run without a waiter.)
	{"clean", "dc-t.timer"},
	{"clean"},
	{"stop", "dc-c.service"},
	{"ls"},
	{"clean", "dc-c.service"},
	{"ls"},
	{"clean", "--what=state", "--what=logs", "dc-c.service"},
	{"ls"},
	{"clean", "--what=all", "dc-c.service"},
	{"ls"},
	{"clean", "--what=all", "dc-c.service"},
	{"start", "dc-fail.service"},
	{"clean", "--what=state", "dc-fail.service"},
	{"reset-failed", "dc-fail.service"},
	{"clean", "--what=state", "dc-fail.service"},
	{"start", "dc-dyn.service"},
	{"ls"},
	{"clean", "--what=state", "dc-dyn.service"},
	{"ls"},
	{"show", "-p", "ActiveState,SubState,Result,CleanResult", "dc-c.service", "dc-fail.service", "dc-dyn.service"},
}

// TestCleanDifferential runs cleanSteps on systemd 252 (with its D-Bus, which systemctl clean
// needs: the machine's dbus.service) and on flint run, on the same units with a directory
// name of each side's own (they share the host's /var/lib, /var/cache, /var/log and /etc),
// and compares each step's exit status and output, and what is left on disk.
func TestCleanDifferential(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("boots systemd")
	}
	for _, f := range []string{"/lib/systemd/system/dbus.service", "/lib/systemd/system/dbus.socket"} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("systemctl clean needs the system bus: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	work := t.TempDir()
	os.Chmod(work, 0o755)
	names := map[string]string{"s": fmt.Sprintf("difftest-clean%ds", os.Getpid()), "f": fmt.Sprintf("difftest-clean%df", os.Getpid())}
	t.Cleanup(func() {
		for _, n := range names {
			for _, base := range []string{"/run", "/var/lib", "/var/cache", "/var/log", "/etc", "/var/lib/private"} {
				matches, _ := filepath.Glob(filepath.Join(base, n) + "*")
				for _, m := range matches {
					os.RemoveAll(m)
				}
			}
		}
	})
	unitDirs := map[string]string{}
	for side, n := range names {
		dir := filepath.Join(work, side+"-units")
		os.MkdirAll(dir, 0o755)
		for name, body := range cleanUnits {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(body, "@DIR@", n)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		unitDirs[side] = dir
	}
	// The machine's dbus.socket and dbus.service, copied without their default dependencies:
	// with the machine's whole unit path, sysinit.target would start journald's sockets, and
	// systemd-journald-dev-log.socket would link /dev/log on the host (the namespace shares
	// its /dev).
	for _, name := range []string{"dbus.service", "dbus.socket"} {
		b, err := os.ReadFile("/lib/systemd/system/" + name)
		if err != nil {
			t.Fatal(err)
		}
		dir := unitDirs["s"]
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, name+".d"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name+".d", "nodefault.conf"), []byte("[Unit]\nDefaultDependencies=no\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sd := bootOrSkip(t, ctx, work, unitDirs["s"])
	if _, err := sd.Systemctl(ctx, "start", "dbus.socket", "dbus.service"); err != nil {
		t.Skipf("no system bus in the namespace: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "flint")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/flint")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flint: %v\n%s", err, out)
	}
	fl := startFlint(t, bin, unitDirs["f"])
	sides := map[string]jobSide{"s": systemdSide{sd}, "f": fl}
	ls := func(n string) string {
		var b strings.Builder
		for _, base := range []string{"/var/lib", "/var/lib/private", "/var/cache", "/var/log", "/etc"} {
			matches, _ := filepath.Glob(filepath.Join(base, n) + "*")
			for _, m := range matches {
				fi, err := os.Lstat(m)
				if err != nil {
					continue
				}
				kind := "dir"
				if fi.Mode()&os.ModeSymlink != 0 {
					kind = "link"
				}
				fmt.Fprintf(&b, "%s %s\n", kind, m)
			}
		}
		return b.String()
	}
	for i, step := range cleanSteps {
		got := map[string]string{}
		for side, d := range sides {
			if step[0] == "ls" {
				// systemd's /run is its own: only what lives on the host's file systems.
				got[side] = strings.ReplaceAll(ls(names[side]), names[side], "@DIR@")
				continue
			}
			code, out := d.run(ctx, step...)
			if step[0] != "clean" && step[0] != "show" {
				out = "" // the job verbs' hints name systemctl and journalctl, or flint
			}
			got[side] = fmt.Sprintf("exit %d: %s", code, strings.TrimSpace(strings.ReplaceAll(out, names[side], "@DIR@")))
		}
		if got["s"] != got["f"] {
			t.Errorf("step %d %q:\nsystemd 252: %s\nflint:       %s", i, step, got["s"], got["f"])
		}
	}
}
