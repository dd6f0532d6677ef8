package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fileUnits are the units of the file-verb tests: good can be enabled, web cannot, vendor
// gets overridden and reverted, app.target becomes the default target.
var fileUnits = map[string]string{
	"good.service":   unitFile("Unit", "DefaultDependencies=no", "Service", "ExecStart=/bin/sleep 1000", "Install", "WantedBy=multi-user.target"),
	"web.service":    unitFile("Unit", "Description=Web\nDefaultDependencies=no", "Service", "ExecStart=/bin/sleep 1000"),
	"vendor.service": unitFile("Unit", "Description=Vendor\nDefaultDependencies=no", "Service", "ExecStart=/bin/sleep 1000"),
	"app.target":     unitFile("Unit", "Description=App"),
}

// TestFileVerbsOnManager: with a manager running on --units ETC --units LIB, the file verbs
// work on its files (ETC, the first directory, is its configuration directory), answer as
// systemctl does through systemd, and reload it: a masked unit no longer starts, an
// unmasked one starts again, without a daemon-reload of one's own.
func TestFileVerbsOnManager(t *testing.T) {
	etc, lib := t.TempDir(), writeUnits(t, fileUnits)
	m := startManagerDirs(t, etc, lib)
	c := on(t, m)
	expect := func(want string, code int, args ...string) {
		t.Helper()
		out, got := c.flint(args...)
		want = strings.NewReplacer("ETC", etc, "LIB", lib).Replace(want)
		if out != want || got != code {
			t.Errorf("flint %s: exit %d\n%s\nwant exit %d\n%s", strings.Join(args, " "), got, out, code, want)
		}
	}
	expect("Created symlink ETC/multi-user.target.wants/good.service → LIB/good.service.\n", 0, "enable", "--now", "good.service")
	if st := c.prop("good.service", "ActiveState"); st != "active" {
		t.Errorf("enable --now: good.service is %s", st)
	}
	expect("enabled\n", 0, "is-enabled", "good")
	expect("good.service enabled enabled\n", 0, "list-unit-files", "--no-legend", "good*")

	expect("Created symlink ETC/web.service → /dev/null.\n", 0, "mask", "web")
	expect("Failed to start web.service: Unit web.service is masked.\n", 1, "start", "web")
	expect("masked\n", 1, "is-enabled", "web")
	expect("Removed \"ETC/web.service\".\n", 0, "unmask", "web")
	expect("", 0, "start", "web")
	// --no-reload: the files change, the manager goes on with what it loaded
	expect("Created symlink ETC/web.service → /dev/null.\n", 0, "mask", "--no-reload", "web")
	if ls := c.prop("web.service", "LoadState"); ls != "loaded" {
		t.Errorf("mask --no-reload reloaded the manager: LoadState=%s", ls)
	}
	expect("Removed \"ETC/web.service\".\n", 0, "unmask", "web")

	expect("Unit nope.service does not exist, proceeding anyway.\nCreated symlink ETC/nope.service → /dev/null.\n", 0, "mask", "nope")
	expect("Removed \"ETC/nope.service\".\n", 0, "unmask", "nope") // masked, so it exists
	expect("Failed to disable unit: Unit file nope.service does not exist.\n", 1, "disable", "nope")
	expect("Failed to enable unit: Unit file nope.service does not exist.\n", 1, "enable", "nope")
	expect("Failed to mask unit: File LIB/web.service already exists.\n", 1, "--units", lib, "mask", "web")

	expect("Removed \"ETC/multi-user.target.wants/good.service\".\nCreated symlink ETC/multi-user.target.wants/good.service → LIB/good.service.\n", 0, "reenable", "good")
	expect("Removed \"ETC/multi-user.target.wants/good.service\".\n", 0, "disable", "good")
	// no preset file names good.service: the presets enable it
	expect("Created symlink ETC/multi-user.target.wants/good.service → LIB/good.service.\n", 0, "preset", "good")
	expect("", 0, "preset", "--preset-mode=enable-only", "good")

	expect("Created symlink ETC/multi-user.target.wants/web.service → LIB/web.service.\n", 0, "add-wants", "multi-user", "web")
	if w := c.prop("multi-user.target", "Wants"); !strings.Contains(w, "web.service") {
		t.Errorf("add-wants: multi-user.target wants %q after the reload", w)
	}
	expect("Created symlink ETC/basic.target.requires/web.service → LIB/web.service.\n", 0, "add-requires", "basic.target", "web.service")

	expect("Failed to get default target: No such file or directory\n", 1, "get-default")
	expect("Created symlink ETC/default.target → LIB/app.target.\n", 0, "set-default", "app")
	expect("app.target\n", 0, "get-default")
	expect("Failed to set default target: Invalid argument\n", 1, "set-default", "web.service")

	// revert: the drop-ins of the configuration directory go, and its copy of a unit that
	// has a vendor file
	os.MkdirAll(filepath.Join(etc, "vendor.service.d"), 0o755)
	os.WriteFile(filepath.Join(etc, "vendor.service.d", "override.conf"), []byte("[Unit]\nDescription=Dropped\n"), 0o644)
	os.WriteFile(filepath.Join(etc, "vendor.service"), []byte(unitFile("Unit", "Description=Copy", "Service", "ExecStart=/bin/sleep 1000")), 0o644)
	c.run(0, "daemon-reload")
	if d := c.prop("vendor.service", "Description"); d != "Dropped" {
		t.Fatalf("vendor.service before revert: Description=%s", d)
	}
	expect("Removed \"ETC/vendor.service.d/override.conf\".\nRemoved \"ETC/vendor.service.d\".\nRemoved \"ETC/vendor.service\".\n", 0, "revert", "vendor")
	if p := c.props("vendor.service", "Description", "FragmentPath"); p["Description"] != "Vendor" || p["FragmentPath"] != filepath.Join(lib, "vendor.service") {
		t.Errorf("after revert: %v", p)
	}
	expect("", 0, "revert", "web")

	expect("# LIB/good.service\n"+fileUnits["good.service"], 0, "cat", "good")

	// The same directories named with --units: the manager reads them, and is reloaded.
	expect("Created symlink ETC/web.service → /dev/null.\n", 0, "--units", etc, "--units", lib, "mask", "web.service")
	expect("masked\n", 0, "show", "-P", "LoadState", "web")
	// Other directories: another manager's business, which it does not reload.
	other := writeUnits(t, map[string]string{"web.service": fileUnits["web.service"]})
	expect("Created symlink "+other+"/multi-user.target.wants/good.service → "+lib+"/good.service.\n", 0, "--units", other, "--units", lib, "enable", "good")
	if w := c.prop("multi-user.target", "Wants"); strings.Count(w, "good.service") != 1 {
		t.Errorf("multi-user.target wants %q", w)
	}
}

// TestFileVerbsRuntimeDirs: a manager on systemd's directories (here in a private mount
// namespace, with empty /etc/systemd and /run/systemd) has the CLI write the persistent
// configuration to /etc/systemd/system, --runtime to /run/systemd/system, set-property to
// the .control directories, and revert clears them all.
func TestFileVerbsRuntimeDirs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a private mount namespace needs root")
	}
	lib := writeUnits(t, fileUnits)
	path := "/etc/systemd/system.control:/run/systemd/system.control:/etc/systemd/system:/run/systemd/system:" + lib
	m := launchManager(t, lib, launchOptions{
		noUnits:  true,
		env:      append(os.Environ(), "SYSTEMD_UNIT_PATH="+path),
		stopWait: 10 * time.Second,
		wrap: []string{"unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
			`mount -t tmpfs -o mode=0755 tmpfs /etc/systemd && mount -t tmpfs -o mode=0755 tmpfs /run/systemd && exec "$0" "$@"`},
	})
	nsenter := []string{"nsenter", "-t", strconv.Itoa(m.cmd.Process.Pid), "-m"}
	inNS := func(args ...string) *exec.Cmd {
		full := append(append(nsenter[1:], flintBin, "--control", m.control), args...)
		return exec.Command(nsenter[0], full...)
	}
	fileInNS := func(path string) string {
		t.Helper()
		out, err := exec.Command(nsenter[0], append(nsenter[1:], "cat", path)...).CombinedOutput()
		if err != nil {
			t.Errorf("cat %s: %v %s", path, err, out)
		}
		return string(out)
	}
	expect := func(want string, code int, args ...string) {
		t.Helper()
		out, err := inNS(args...).CombinedOutput()
		got := exitCode(t, err)
		want = strings.ReplaceAll(want, "LIB", lib)
		if string(out) != want || got != code {
			t.Errorf("flint %s: exit %d\n%s\nwant exit %d\n%s", strings.Join(args, " "), got, out, code, want)
		}
	}
	absent := "Unit LIB/good.service is added as a dependency to a non-existent unit multi-user.target.\n"
	expect("Created symlink /run/systemd/system/multi-user.target.wants/good.service → LIB/good.service.\n"+absent, 0, "enable", "--runtime", "good")
	expect("enabled-runtime\n", 0, "is-enabled", "good")
	expect("Removed \"/run/systemd/system/multi-user.target.wants/good.service\".\n", 0, "disable", "--runtime", "good")
	expect("Created symlink /etc/systemd/system/multi-user.target.wants/good.service → LIB/good.service.\n"+absent, 0, "enable", "good")
	expect("enabled\n", 0, "is-enabled", "good")

	expect("Created symlink /run/systemd/system/web.service → /dev/null.\n", 0, "mask", "--runtime", "web")
	expect("masked-runtime\n", 1, "is-enabled", "web")
	expect("Failed to start web.service: Unit web.service is masked.\n", 1, "start", "web")
	expect("Removed \"/run/systemd/system/web.service\".\n", 0, "unmask", "--runtime", "web")

	expect("", 0, "start", "web") // loaded from now on: set-property changes the loaded unit
	expect("", 0, "set-property", "web", "Description=Persistent")
	expect("", 0, "set-property", "--runtime", "web", "Description=Runtime 100%")
	expect("Runtime 100%\n", 0, "show", "-P", "Description", "web")
	if got := fileInNS("/run/systemd/system.control/web.service.d/50-Description.conf"); got != `# This is a drop-in unit file extension, created via "systemctl set-property"
# or an equivalent operation. Do not edit.
[Unit]
Description=Runtime 100%%
` {
		t.Errorf("the runtime drop-in of set-property:\n%s", got)
	}
	expect("", 0, "daemon-reload")
	// both drop-ins are 50-Description.conf: the persistent control directory comes first
	expect("Persistent\n", 0, "show", "-P", "Description", "web")

	editor := writeEditor(t, `sed -i 's/^### Lines below this comment/[Unit]\nDescription=Edited\n&/' "$@"`)
	cmd := inNS("edit", "--runtime", "web")
	cmd.Env = append(os.Environ(), "SYSTEMD_EDITOR="+editor)
	if out, code := runOnTTY(t, cmd, ""); code != 0 || out != "" {
		t.Errorf("edit --runtime: exit %d %q", code, out)
	}
	if got := fileInNS("/run/systemd/system/web.service.d/override.conf"); got != "[Unit]\nDescription=Edited" {
		t.Errorf("edit --runtime wrote %q", got)
	}
	expect("Edited\n", 0, "show", "-P", "Description", "web")

	expect(`Removed "/etc/systemd/system.control/web.service.d/50-Description.conf".
Removed "/etc/systemd/system.control/web.service.d".
Removed "/run/systemd/system.control/web.service.d/50-Description.conf".
Removed "/run/systemd/system.control/web.service.d".
Removed "/run/systemd/system/web.service.d/override.conf".
Removed "/run/systemd/system/web.service.d".
`, 0, "revert", "web")
	expect("Web\n", 0, "show", "-P", "Description", "web")
}

// writeEditor writes an editor script (sh, its body run with the files as "$@") and returns
// its path.
func writeEditor(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "editor")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// exitCode is the exit status of a finished command (0 for err nil).
func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}
