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

// TestEdit: flint edit on a terminal, with the manager's configuration directory: a drop-in
// written between the markers is installed and the manager reloaded; a file left empty
// cancels; --full copies the unit file; --force --full creates a unit; without a terminal,
// for a missing unit or without an editor it fails as systemctl does.
func TestEdit(t *testing.T) {
	etc, lib := t.TempDir(), writeUnits(t, fileUnits)
	m := startManagerDirs(t, etc, lib)
	c := on(t, m)
	edit := func(editor string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(flintBin, append([]string{"--control", m.control, "edit"}, args...)...)
		cmd.Env = append(os.Environ(), "SYSTEMD_EDITOR="+editor)
		return runOnTTY(t, cmd, "")
	}
	// what the editor is given: the drop-in between the markers, the unit's files below
	seen := filepath.Join(t.TempDir(), "seen")
	out, code := edit(writeEditor(t, `cat "$1" > `+seen+`; sed -i 's/^### Lines below this comment/[Unit]\nDescription=Edited\n&/' "$1"`), "web")
	if code != 0 || out != "" {
		t.Fatalf("edit web: exit %d %q", code, out)
	}
	dropIn := filepath.Join(etc, "web.service.d", "override.conf")
	want := "### Editing " + dropIn + "\n" +
		"### Anything between here and the comment below will become the new contents of the file\n\n\n\n" +
		"### Lines below this comment will be discarded\n\n" +
		"### " + filepath.Join(lib, "web.service") + "\n# [Unit]\n# Description=Web\n# DefaultDependencies=no\n# \n# [Service]\n# ExecStart=/bin/sleep 1000"
	if got, _ := os.ReadFile(seen); string(got) != want {
		t.Errorf("the editor got:\n%s\nwant:\n%s", got, want)
	}
	if got, _ := os.ReadFile(dropIn); string(got) != "[Unit]\nDescription=Edited" {
		t.Errorf("override.conf: %q", got)
	}
	if d := c.prop("web.service", "Description"); d != "Edited" {
		t.Errorf("after edit: Description=%s (the manager was not reloaded?)", d)
	}
	// editing again starts from the drop-in as it is; leaving it empty cancels
	out, code = edit(writeEditor(t, `cat "$1" > `+seen+`; printf '' > "$1"`), "web")
	if code != 0 || out != "Editing \""+dropIn+"\" canceled: temporary file is empty.\n" {
		t.Errorf("edit web, emptied: exit %d %q", code, out)
	}
	if got, _ := os.ReadFile(seen); !strings.Contains(string(got), "file\n\n[Unit]\nDescription=Edited\n\n### Lines") {
		t.Errorf("the editor got:\n%s", got)
	}
	if got, _ := os.ReadFile(dropIn); string(got) != "[Unit]\nDescription=Edited" {
		t.Errorf("override.conf after a canceled edit: %q", got)
	}
	// a canceled new drop-in leaves no directory behind
	if out, code := edit("true", "good"); code != 0 || !strings.Contains(out, "canceled") {
		t.Errorf("edit good, unchanged: exit %d %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(etc, "good.service.d")); !os.IsNotExist(err) {
		t.Errorf("good.service.d left behind: %v", err)
	}
	// --full: a copy of the unit file in the configuration directory, installed as edited
	if out, code := edit(writeEditor(t, `sed -i 's/^Description=Vendor/Description=Full/' "$1"`), "--full", "vendor"); code != 0 || out != "" {
		t.Errorf("edit --full vendor: exit %d %q", code, out)
	}
	if got, _ := os.ReadFile(filepath.Join(etc, "vendor.service")); !strings.Contains(string(got), "Description=Full\n") {
		t.Errorf("edit --full wrote %q", got)
	}
	if d := c.prop("vendor.service", "FragmentPath"); d != filepath.Join(etc, "vendor.service") {
		t.Errorf("after edit --full: FragmentPath=%s", d)
	}
	// a unit that does not exist: only with --force
	if out, code := edit("true", "new"); code != 1 || out != "No files found for new.service.\nRun 'flint edit --force --full new.service' to create a new unit.\n" {
		t.Errorf("edit new: exit %d %q", code, out)
	}
	created := writeEditor(t, `printf '[Service]\nExecStart=/bin/sleep 1000\n' > "$1"`)
	if out, code := edit(created, "--force", "--full", "new"); code != 0 || out != "" {
		t.Errorf("edit --force --full new: exit %d %q", code, out)
	}
	c.start("new.service")
	// the editor's failure, no editor at all, no terminal, a masked unit
	if out, code := edit("false", "web"); code != 1 || out != "(editor) failed with exit status 1.\n" {
		t.Errorf("edit with a failing editor: exit %d %q", code, out)
	}
	cmd := exec.Command(flintBin, "--control", m.control, "edit", "web")
	cmd.Env = []string{"PATH=" + t.TempDir()}
	if out, code := runOnTTY(t, cmd, ""); code != 1 || out != "Cannot edit units, no editor available. Please set either $SYSTEMD_EDITOR, $EDITOR or $VISUAL.\n" {
		t.Errorf("edit without an editor: exit %d %q", code, out)
	}
	if out, code := c.flint("edit", "web"); code != 1 || out != "Cannot edit units if not on a tty.\n" {
		t.Errorf("edit without a terminal: exit %d %q", code, out)
	}
	c.run(0, "mask", "good")
	if out, code := edit("true", "good"); code != 1 || out != "Cannot edit good.service: unit is masked.\n" {
		t.Errorf("edit masked: exit %d %q", code, out)
	}
}

// TestEnvironmentVerbs: the manager's environment block is what every service starts with;
// set-environment, unset-environment and import-environment change it for the services
// started afterwards; show-environment prints it as systemctl does.
func TestEnvironmentVerbs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "env")
	units := writeUnits(t, map[string]string{
		"dump.service": unitFile("Unit", "DefaultDependencies=no", "Service", "Type=oneshot\nExecStart=/bin/sh -c 'env > "+out+"'"),
	})
	m := startManager(t, units)
	c := on(t, m)
	before := c.run(0, "show-environment")
	if !strings.Contains(before, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n") {
		t.Fatalf("show-environment: %q", before)
	}
	c.run(0, "set-environment", "A=hello world", "B=it's", "C=plain", "D=tab\tnew\nline")
	if got := c.run(0, "show-environment"); got != before+"A=$'hello world'\nB=$'it\\'s'\nC=plain\nD=$'tab\\tnew\\nline'\n" {
		t.Errorf("show-environment after set-environment:\n%s", got)
	}
	if got := c.run(0, "show-environment", "-o", "json"); !strings.HasSuffix(got, `,"A":"hello world","B":"it's","C":"plain","D":"tab\tnew\nline"}`+"\n") {
		t.Errorf("show-environment -o json: %s", got)
	}
	dump := func() string {
		t.Helper()
		os.Remove(out)
		c.run(0, "restart", "dump")
		data, _ := os.ReadFile(out)
		return "\n" + string(data) // every variable on a line after a newline
	}
	if env := dump(); !strings.Contains(env, "\nA=hello world\n") || !strings.Contains(env, "\nC=plain\n") {
		t.Errorf("the service's environment lacks the manager's:\n%s", env)
	}
	c.run(0, "unset-environment", "A", "C=other", "NOPE")
	if env := dump(); strings.Contains(env, "\nA=") || !strings.Contains(env, "\nC=plain\n") {
		t.Errorf("after unset-environment A C=other:\n%s", env)
	}
	if out, code := c.flint("set-environment", "1A=x"); code != 1 || out != "Failed to set environment: Invalid environment assignments\n" {
		t.Errorf("set-environment 1A=x: exit %d %q", code, out)
	}
	if out, code := c.flint("unset-environment", "X Y"); code != 1 || out != "Failed to set environment: Invalid environment variable names or assignments\n" {
		t.Errorf("unset-environment 'X Y': exit %d %q", code, out)
	}
	if out, code := c.flint("set-environment"); code != 1 || out != "Too few arguments.\n" {
		t.Errorf("set-environment: exit %d %q", code, out)
	}
	imp := exec.Command(flintBin, "--control", m.control, "import-environment", "IMPORTED", "MISSING")
	imp.Env = append(os.Environ(), "IMPORTED=from the client")
	if got, err := imp.CombinedOutput(); err != nil || string(got) != "Environment variable $MISSING not set, ignoring.\n" {
		t.Errorf("import-environment: %v %q", err, got)
	}
	if env := dump(); !strings.Contains(env, "\nIMPORTED=from the client\n") {
		t.Errorf("after import-environment:\n%s", env)
	}
	if out, code := c.flint("import-environment", "1x"); code != 1 || out != "Not a valid environment variable name: 1x\n" {
		t.Errorf("import-environment 1x: exit %d %q", code, out)
	}
}

// TestSetProperty: set-property changes Description= of a loaded unit through a drop-in in
// the configuration directory (kept across a daemon-reload) and refuses what flint does not
// enforce or know.
func TestSetProperty(t *testing.T) {
	etc, lib := t.TempDir(), writeUnits(t, fileUnits)
	m := startManagerDirs(t, etc, lib)
	c := on(t, m)
	c.start("web")
	c.run(0, "set-property", "web", "Description=New web")
	if d := c.prop("web.service", "Description"); d != "New web" {
		t.Errorf("Description=%s", d)
	}
	dropIn := filepath.Join(etc, "web.service.d", "50-Description.conf")
	if got, _ := os.ReadFile(dropIn); string(got) != "# This is a drop-in unit file extension, created via \"systemctl set-property\"\n# or an equivalent operation. Do not edit.\n[Unit]\nDescription=New web\n" {
		t.Errorf("%s: %q", dropIn, got)
	}
	// A resource setting: the loaded unit's at once, and a drop-in in the unit's section.
	c.run(0, "set-property", "web", "CPUQuota=20%")
	if q := c.prop("web.service", "CPUQuotaPerSecUSec"); q != "200ms" {
		t.Errorf("CPUQuotaPerSecUSec=%s after set-property CPUQuota=20%%", q)
	}
	quota := filepath.Join(etc, "web.service.d", "50-CPUQuota.conf")
	if got, _ := os.ReadFile(quota); !strings.HasSuffix(string(got), "Do not edit.\n[Service]\nCPUQuota=20%\n") {
		t.Errorf("%s: %q", quota, got)
	}
	c.run(0, "daemon-reload")
	if p := c.props("web.service", "Description", "DropInPaths", "CPUQuotaPerSecUSec"); p["Description"] != "New web" || p["DropInPaths"] != quota+" "+dropIn || p["CPUQuotaPerSecUSec"] != "200ms" {
		t.Errorf("after daemon-reload: %v", p)
	}
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"web", "IPIngressFilterPath=/sys/fs/bpf/x"}, "Failed to set unit properties on web.service: Cannot set property IPIngressFilterPath: flint does not enforce it.\n"},
		{[]string{"web", "MemoryMax=bogus"}, "Failed to set unit properties on web.service: Cannot set property MemoryMax=bogus: Invalid memory limit 'bogus', ignoring: Invalid argument\n"},
		{[]string{"web", "ExecStart=/bin/true"}, "Failed to set unit properties on web.service: Cannot set property ExecStart, or unknown property.\n"},
		{[]string{"web", "Bogus=1"}, "Unknown assignment: Bogus=1\n"},
		{[]string{"web", "Description"}, "Not an assignment: Description\n"},
		{[]string{"web"}, "Too few arguments.\n"},
		{[]string{"nope", "Description=x"}, "Failed to set unit properties on nope.service: Unit nope.service not found.\n"},
		{[]string{"--runtime", "web", "Description=x"}, "Failed to set unit properties on web.service: Cannot set properties at runtime: the unit search path (--units) has no runtime directory.\n"},
	} {
		if out, code := c.flint(append([]string{"set-property"}, tc.args...)...); code != 1 || out != tc.out {
			t.Errorf("set-property %q: exit %d %q, want 1 %q", tc.args, code, out, tc.out)
		}
	}
}

// TestStatusPID: status PID shows the unit the process belongs to; a process of no unit is
// an error, the other arguments are shown all the same.
func TestStatusPID(t *testing.T) {
	m := startManager(t, writeUnits(t, fileUnits))
	c := on(t, m)
	c.start("web")
	pid := c.prop("web.service", "MainPID")
	// The start job is done once the process is forked: wait for it to run sleep.
	waitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile("/proc/" + pid + "/comm")
		return string(b) == "sleep\n"
	})
	out := c.run(0, "status", "-n0", pid)
	if !strings.HasPrefix(out, "● web.service - Web\n") || !strings.Contains(out, "Main PID: "+pid+" (sleep)") {
		t.Errorf("status %s:\n%s", pid, out)
	}
	self := strconv.Itoa(os.Getpid())
	out, code := c.flint("status", "-n0", self, "web")
	if code != 1 || !strings.HasPrefix(out, "Failed to get unit for PID "+self+": PID "+self+" does not belong to any loaded unit.\n● web.service") {
		t.Errorf("status %s web: exit %d\n%s", self, code, out)
	}
}

// TestDaemonReexec: daemon-reexec reads the unit files anew and keeps the running services.
func TestDaemonReexec(t *testing.T) {
	units := writeUnits(t, fileUnits)
	m := startManager(t, units)
	c := on(t, m)
	c.start("web")
	pid := c.prop("web.service", "MainPID")
	os.WriteFile(filepath.Join(units, "web.service"), []byte(strings.Replace(fileUnits["web.service"], "Description=Web", "Description=Re-read", 1)), 0o644)
	c.run(0, "daemon-reexec")
	if p := c.props("web.service", "Description", "MainPID", "ActiveState"); p["Description"] != "Re-read" || p["MainPID"] != pid || p["ActiveState"] != "active" {
		t.Errorf("after daemon-reexec: %v, want Re-read, MainPID %s, active", p, pid)
	}
	if out, code := c.flint("daemon-reexec", "x"); code != 1 || out != "Too many arguments.\n" {
		t.Errorf("daemon-reexec x: exit %d %q", code, out)
	}
}

// TestHelpVerb: help UNIT runs man for the man: pages of Documentation= and names the
// others it cannot show.
func TestHelpVerb(t *testing.T) {
	m := startManager(t, writeUnits(t, map[string]string{
		"doc.service":   unitFile("Unit", "Documentation=man:systemd.service(5) https://example.com/doc", "Service", "ExecStart=/bin/true"),
		"nodoc.service": unitFile("Service", "ExecStart=/bin/true"),
	}))
	c := on(t, m)
	cmd := exec.Command(flintBin, "--control", m.control, "help", "doc")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil || !strings.Contains(string(stdout), "systemd.service - Service unit configuration") || !strings.HasSuffix(stderr.String(), "Can't show: https://example.com/doc\n") {
		t.Errorf("help doc: %v\nstdout: %.300s\nstderr: %s", err, stdout, stderr.String())
	}
	if out, code := c.flint("help", "nodoc"); code != 0 || out != "Documentation for nodoc.service not known.\n" {
		t.Errorf("help nodoc: exit %d %q", code, out)
	}
	if out, code := c.flint("help", "nope"); code != 1 || out != "Unit nope.service could not be found.\n" {
		t.Errorf("help nope: exit %d %q", code, out)
	}
	// flint help is flint's usage; systemctl help wants units
	if out, code := c.flint("help"); code != 0 || !strings.HasPrefix(out, "usage: flint") {
		t.Errorf("flint help: exit %d %.100q", code, out)
	}
	link := filepath.Join(t.TempDir(), "systemctl")
	os.Symlink(flintBin, link)
	got, err := exec.Command(link, "--control", m.control, "help").CombinedOutput()
	if exitCode(t, err) != 1 || string(got) != "'help' command expects one or more unit names.\n(Alternatively, help for systemctl itself may be shown with --help)\n" {
		t.Errorf("systemctl help: %v %q", err, got)
	}
}
