package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/difftest"
)

// debUnits are the unit files of TestDebHelpersMatchSystemd, installed as a package
// installs them, in /lib/systemd/system.
var debUnits = map[string]string{
	"pkg.service":       "[Unit]\nDescription=Packaged\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n",
	"static.service":    "[Unit]\nDescription=Static helper\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n",
	"multi-user.target": "[Unit]\nDescription=Multi-User System\n",
	difftest.BootTarget: "[Unit]\nDescription=difftest boot target\nDefaultDependencies=no\n",
	// /run is private to each namespace
	"pkgsock.socket":  "[Unit]\nDescription=Packaged socket\nDefaultDependencies=no\n[Socket]\nListenStream=/run/pkgsock.sk\n[Install]\nWantedBy=sockets.target\n",
	"pkgsock.service": "[Unit]\nDescription=Packaged socket service\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/true\n",
}

// debUserUnits are user units, installed in /usr/lib/systemd/user (dh_installsystemduser's
// scripts enable them for every user: --global).
var debUserUnits = map[string]string{
	"pkg-agent.socket":  "[Unit]\nDescription=Agent socket\n[Socket]\nListenStream=%t/pkg-agent\n[Install]\nWantedBy=sockets.target\n",
	"pkg-agent.service": "[Unit]\nDescription=Agent\n[Service]\nExecStart=/bin/sleep 1000\n",
	"pkg-user.service":  "[Unit]\nDescription=Per-user\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=default.target\nAlso=pkg-agent.socket\n",
}

// debSteps are what dh_installsystemd's maintainer scripts run (postinst, prerm, postrm,
// and a second installation), and the other verbs of the two tools.
var debSteps = [][]string{
	{"deb-systemd-helper", "unmask", "pkg.service"},
	{"deb-systemd-helper", "--quiet", "was-enabled", "pkg.service"},
	{"deb-systemd-helper", "enable", "pkg.service"},
	{"deb-systemd-helper", "--quiet", "was-enabled", "pkg.service"},
	{"deb-systemd-helper", "is-enabled", "pkg.service"},
	{"deb-systemd-helper", "debian-installed", "pkg.service"},
	{"deb-systemd-helper", "update-state", "static.service"},
	{"systemctl", "--system", "daemon-reload"},
	{"deb-systemd-invoke", "start", "pkg.service"},
	{"deb-systemd-invoke", "start", "static.service"},
	{"deb-systemd-invoke", "restart", "pkg.service"},
	{"deb-systemd-invoke", "restart", "static.service"},
	{"systemctl", "start", "static.service"},
	{"deb-systemd-invoke", "restart", "static.service"},
	{"deb-systemd-invoke", "stop", "pkg.service", "static.service"},
	{"deb-systemd-invoke", "try-restart", "pkg.service"},
	{"deb-systemd-invoke", "start", "nope.service"},
	{"deb-systemd-helper", "disable", "pkg.service"},
	{"systemctl", "--system", "daemon-reload"},
	{"deb-systemd-helper", "mask", "pkg.service"},
	{"deb-systemd-invoke", "start", "pkg.service"},
	{"deb-systemd-helper", "purge", "pkg.service"},
	{"deb-systemd-helper", "unmask", "pkg.service"},
	{"deb-systemd-helper", "--quiet", "was-enabled", "pkg.service"},
	{"deb-systemd-helper", "enable", "pkg.service"},
	{"deb-systemd-invoke", "restart", "pkg.service"},
	// service(8) and invoke-rc.d(8), which turn init script actions into systemctl's
	{"service", "pkgsock", "start"},
	{"service", "pkgsock", "stop"},
	{"service", "pkgsock", "restart"},
	{"service", "pkgsock", "reload"},
	{"service", "pkgsock", "force-reload"},
	{"service", "pkg", "force-reload"},
	{"service", "pkg", "try-restart"},
	{"service", "pkg", "force-stop"},
	{"service", "pkg", "start"},
	{"service", "nope", "start"},
	{"invoke-rc.d", "pkg", "restart"},
	{"invoke-rc.d", "pkg", "stop"},
	{"invoke-rc.d", "pkgsock", "start"},
	{"invoke-rc.d", "nope", "start"},
	// a package's user units (dh_installsystemduser)
	{"deb-systemd-helper", "--user", "unmask", "pkg-agent.socket"},
	{"deb-systemd-helper", "--quiet", "--user", "was-enabled", "pkg-agent.socket"},
	{"deb-systemd-helper", "--user", "enable", "pkg-agent.socket"},
	{"deb-systemd-helper", "--user", "enable", "pkg-user.service"},
	{"deb-systemd-helper", "--user", "is-enabled", "pkg-user.service"},
	{"systemctl", "--global", "is-enabled", "pkg-agent.socket", "pkg-user.service", "pkg-agent.service"},
	{"systemctl", "--global", "list-unit-files", "pkg-*"},
	{"deb-systemd-helper", "--user", "disable", "pkg-user.service"},
	{"deb-systemd-helper", "--user", "mask", "pkg-agent.socket"},
	{"systemctl", "--global", "is-enabled", "pkg-agent.socket"},
	{"deb-systemd-helper", "--user", "purge", "pkg-agent.socket"},
	{"deb-systemd-helper", "--user", "unmask", "pkg-agent.socket"},
	{"systemctl", "--global", "enable", "pkg-user.service"},
	{"systemctl", "--global", "disable", "pkg-user.service"},
}

// TestDebHelpersMatchSystemd runs Debian's maintainer-script helpers (init-system-helpers:
// deb-systemd-helper, deb-systemd-invoke, service, invoke-rc.d), which look at /run/systemd/system, read and write
// /etc/systemd/system and /var/lib/systemd and call systemctl, against systemd 252 (booted
// in private namespaces) and against a booted flint (in a private mount namespace, systemctl
// a symlink to flint first on PATH), each with its own empty /etc/systemd and /var/lib/systemd
// and the units in /lib/systemd/system and /usr/lib/systemd/user, and compares each step's output and exit code, the
// files in those directories and the units' states after it.
func TestDebHelpersMatchSystemd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	for _, tool := range []string{"deb-systemd-helper", "deb-systemd-invoke"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s (package init-system-helpers): %v", tool, err)
		}
	}
	if _, err := os.Stat(difftest.SystemdBinary); err != nil {
		t.Skipf("no %s", difftest.SystemdBinary)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	lib := filepath.Join(work, "lib")
	os.MkdirAll(lib, 0o755)
	userLib := filepath.Join(work, "user")
	os.MkdirAll(userLib, 0o755)
	for dir, files := range map[string]map[string]string{lib: debUnits, userLib: debUserUnits} {
		for n, c := range files {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Both namespaces: empty /etc/systemd/system and /var/lib/systemd, the units over
	// /usr/lib/systemd/system (/lib/systemd/system on a merged /usr), and a policy-rc.d
	// that allows every action (a container's denies them all).
	policy := filepath.Join(work, "policy-rc.d")
	os.WriteFile(policy, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	private := "mount -t tmpfs -o mode=0755 tmpfs /var/lib/systemd && mount --bind " + lib + " /usr/lib/systemd/system && " +
		"mount --bind " + userLib + " /usr/lib/systemd/user && " +
		"if [ -e /usr/sbin/policy-rc.d ]; then mount --bind " + policy + " /usr/sbin/policy-rc.d; fi"
	sd, err := difftest.BootWith(ctx, work, "/etc/systemd/system:/run/systemd/system:/usr/lib/systemd/system", difftest.BootOptions{PrivateConfig: true})
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	defer sd.Stop()
	sdNS := []string{"nsenter", "-t", strconv.Itoa(sd.Pid), "-m", "-p", "-u"}
	if out, err := exec.CommandContext(ctx, sdNS[0], append(sdNS[1:], "sh", "-c", "mkdir -p /etc/systemd/system && "+private+" && systemctl daemon-reload")...).CombinedOutput(); err != nil {
		t.Fatalf("systemd's namespace: %v: %s", err, out)
	}
	holder := privateRun(t)
	flNS := []string{"nsenter", "-t", strconv.Itoa(holder), "-m"}
	inNS(t, holder, "mount -t tmpfs -o mode=0755 tmpfs /etc/systemd && mkdir /etc/systemd/system && "+private)
	m := launchManager(t, "", launchOptions{noUnits: true, booted: true, wrap: flNS, stopWait: 10 * time.Second,
		runFlags: []string{"--target", difftest.BootTarget}})
	if !waitFor(10*time.Second, func() bool {
		return exec.Command(flNS[0], append(flNS[1:], "test", "-d", "/run/systemd/system")...).Run() == nil
	}) {
		t.Fatal("no /run/systemd/system in flint's namespace")
	}
	bin := filepath.Join(work, "bin")
	os.MkdirAll(bin, 0o755)
	if err := os.Symlink(flintBin, filepath.Join(bin, "systemctl")); err != nil {
		t.Fatal(err)
	}
	// as dpkg runs a maintainer script
	base := append(os.Environ(), "LC_ALL=C", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "DPKG_MAINTSCRIPT_PACKAGE=pkg", "DPKG_MAINTSCRIPT_NAME=postinst")
	sides := []struct {
		name string
		ns   []string
		env  []string
	}{
		{"systemd", sdNS, base},
		{"flint", flNS, append(append([]string(nil), base...), "PATH="+bin+":"+os.Getenv("PATH"), "FLINT_CONTROL="+m.control)},
	}
	run := func(i int, args ...string) (string, string, int) {
		cmd := exec.CommandContext(ctx, sides[i].ns[0], append(sides[i].ns[1:], args...)...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr, cmd.Env = &o, &e, sides[i].env
		cmd.Run()
		return o.String(), e.String(), cmd.ProcessState.ExitCode()
	}
	// What a step leaves: the links and state files, and the units' states.
	state := func(i int) string {
		files, _, _ := run(i, "sh", "-c", "find /etc/systemd/system /etc/systemd/user /var/lib/systemd -mindepth 1 -printf '%p %y %l\\n' 2>/dev/null | sort")
		active, _, _ := run(i, "systemctl", "is-active", "pkg.service", "static.service", "pkgsock.socket", "pkgsock.service")
		enabled, _, _ := run(i, "systemctl", "is-enabled", "pkg.service", "static.service")
		return files + active + enabled
	}
	for _, args := range debSteps {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			wo, we, wc := run(0, args...)
			fo, fe, fc := run(1, args...)
			if slices.Contains(args, "disable") {
				we, fe = sortedLines(we), sortedLines(fe) // systemctl removes in readdir order
			}
			if wo != fo || we != fe || wc != fc {
				t.Errorf("%q:\nsystemd exit %d\nstdout %q\nstderr %q\nflint exit %d\nstdout %q\nstderr %q", args, wc, wo, we, fc, fo, fe)
			}
			if ws, fs := state(0), state(1); ws != fs {
				t.Errorf("after %q: systemd\n%s\nflint\n%s", args, ws, fs)
			}
		})
	}
}
