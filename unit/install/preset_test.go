package install

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flint-init/flint/unit"
)

// TestPresetRules: systemd.preset(5) lines as read_presets reads them, and which rule
// decides for a unit (query_presets): the first that matches; none enables.
func TestPresetRules(t *testing.T) {
	ps := &Presets{}
	for _, l := range []string{
		"# a comment", "; another", "", "   ",
		"enable foo.service",
		"disable foo*",
		"enable getty@.service tty1 tty2",
		"disable getty@.service",
		"enable\tbar.socket",
		"disable baz\\x.service",
		"enable plain.service extra", // instances need a template: ignored
		"enablefoo.service",          // no whitespace after the word
		"frobnicate x.service",
		"disable",
	} {
		if w := ps.parseLine(l); w != "" && !strings.HasPrefix(w, "Couldn't parse line '") {
			t.Errorf("%q: %s", l, w)
		}
	}
	if n := len(ps.rules); n != 6 {
		t.Fatalf("%d rules: %+v", n, ps.rules)
	}
	for _, c := range []struct {
		name      string
		instances bool
		enable    bool
		inst      []string
	}{
		{"foo.service", false, true, nil},
		{"foobar.service", false, false, nil},
		{"bar.socket", false, true, nil},
		{"other.service", false, true, nil},
		{"baz\\x.service", false, false, nil},
		{"getty@.service", true, true, []string{"getty@tty1.service", "getty@tty2.service"}},
		{"getty@.service", false, true, nil}, // the pattern itself matches the template
		{"getty@tty2.service", true, true, nil},
		// not among the instances, and "disable getty@.service" is a glob that does not
		// match an instance: no rule, enabled
		{"getty@tty3.service", true, true, nil},
	} {
		enable, inst := ps.query(c.name, c.instances)
		if enable != c.enable || !reflect.DeepEqual(inst, c.inst) {
			t.Errorf("query(%s, %v) = %v %v, want %v %v", c.name, c.instances, enable, inst, c.enable, c.inst)
		}
	}
}

// TestLoadPresets: files from every preset directory under a root, in file-name order, a
// name in an earlier directory hiding the same name in a later one, /dev/null masking.
func TestLoadPresets(t *testing.T) {
	root := t.TempDir()
	write := func(dir, name, content string) {
		d := filepath.Join(root, dir)
		os.MkdirAll(d, 0o755)
		if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/lib/systemd/system-preset", "90-default.preset", "disable *\n")
	write("usr/lib/systemd/system-preset", "50-vendor.preset", "enable vendor.service\nenable hidden.service\nbogus line\n")
	write("etc/systemd/system-preset", "50-vendor.preset", "enable local.service\n")
	write("lib/systemd/system-preset", "10-masked.preset", "enable masked.service\n")
	os.MkdirAll(filepath.Join(root, "etc/systemd/system-preset"), 0o755)
	os.Symlink("/dev/null", filepath.Join(root, "etc/systemd/system-preset/10-masked.preset"))
	ps := LoadPresets(unit.System, root)
	for name, want := range map[string]string{
		"local.service": "enabled", "vendor.service": "disabled", "hidden.service": "disabled",
		"masked.service": "disabled", "other.socket": "disabled",
	} {
		if got := ps.State(name); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	if len(ps.Warnings) != 0 {
		t.Errorf("warnings from a hidden file: %v", ps.Warnings)
	}
	write("run/systemd/system-preset", "20-bad.preset", "\nbogus line\n")
	ps = LoadPresets(unit.System, root)
	want := filepath.Join(root, "run/systemd/system-preset/20-bad.preset") + ":2: Couldn't parse line 'bogus line'. Ignoring."
	if !reflect.DeepEqual(ps.Warnings, []string{want}) {
		t.Errorf("warnings %q, want %q", ps.Warnings, want)
	}
}
