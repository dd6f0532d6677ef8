package unit

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// describeUnit renders the loading-relevant fields of u, with paths relative to root.
func describeUnit(u *Unit, root string) string {
	rel := func(p string) string {
		if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	var b strings.Builder
	fmt.Fprintf(&b, "== %s\n", u.Name)
	fmt.Fprintf(&b, "Names=%s\n", strings.Join(u.Names, " "))
	fmt.Fprintf(&b, "LoadState=%s\n", u.LoadState)
	if u.LoadError != "" {
		fmt.Fprintf(&b, "LoadError=%s\n", strings.ReplaceAll(u.LoadError, root+"/", ""))
	}
	if u.Prefix != "" || u.Instance != "" || u.Template != "" {
		fmt.Fprintf(&b, "Prefix=%s Instance=%s Template=%s\n", u.Prefix, u.Instance, u.Template)
	}
	if u.FragmentPath != "" {
		fmt.Fprintf(&b, "FragmentPath=%s\n", rel(u.FragmentPath))
	}
	for _, p := range u.DropInPaths {
		fmt.Fprintf(&b, "DropIn=%s\n", rel(p))
	}
	if u.LoadState == Loaded {
		fmt.Fprintf(&b, "Description=%s\n", u.Unit.Description)
	}
	for _, l := range []struct {
		k string
		v []string
	}{
		{"Wants", u.Unit.Wants}, {"Requires", u.Unit.Requires}, {"Conflicts", u.Unit.Conflicts},
		{"Before", u.Unit.Before}, {"After", u.Unit.After},
		{"Triggers", u.Triggers}, {"TriggeredBy", u.TriggeredBy}, {"WantedBy", u.Unit.WantedByImplicit},
	} {
		if len(l.v) > 0 {
			fmt.Fprintf(&b, "%s=%s\n", l.k, strings.Join(l.v, " "))
		}
	}
	return b.String()
}

// TestLoadGolden loads the units listed in testdata/load/*/cases from the scenario's
// etc, run and lib directories (in that priority) and compares with golden.txt.
func TestLoadGolden(t *testing.T) {
	scen, _ := filepath.Glob("testdata/load/*/cases")
	if len(scen) == 0 {
		t.Fatal("no scenarios")
	}
	for _, c := range scen {
		dir := filepath.Dir(c)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			root, err := filepath.Abs(dir)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(c)
			if err != nil {
				t.Fatal(err)
			}
			l := NewLoader(System, []string{root + "/etc", root + "/run", root + "/lib"})
			var out strings.Builder
			for _, name := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				u := l.Load(name)
				if u == nil {
					t.Fatalf("Load(%q) = nil", name)
				}
				fmt.Fprintf(&out, "# Load(%q)\n%s\n", name, describeUnit(u, root))
			}
			fmt.Fprintf(&out, "# List()\n%s\n", strings.Join(l.List(), "\n"))
			golden := filepath.Join(dir, "golden.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if out.String() != string(want) {
				t.Errorf("mismatch with %s (run go test -run TestLoadGolden -update and diff):\n%s", golden, out.String())
			}
		})
	}
}

// TestCat checks Cat against golden files: fragment, then drop-ins, each under "# path",
// separated by blank lines, as systemctl cat prints them (format checked against systemd 252).
func TestCat(t *testing.T) {
	root, _ := filepath.Abs("testdata/load/basic")
	l := NewLoader(System, []string{root + "/etc", root + "/run", root + "/lib"})
	for _, c := range []struct {
		name, golden, err string
	}{
		{"foo.service", "cat-foo.service.txt", ""},
		{"bar.socket", "cat-bar.socket.txt", ""},
		{"getty@tty1.service", "cat-getty@tty1.service.txt", ""},
		{"nope.service", "", "No files found for nope.service."},
		{"masked.service", "cat-masked.service.txt", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Cat(l, c.name)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("Cat error = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got = strings.ReplaceAll(got, root, "ROOT")
			golden := filepath.Join("testdata/load/basic", c.golden)
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("Cat(%s):\n%s\nwant:\n%s", c.name, got, want)
			}
		})
	}
}

// TestLoaderCache checks that units are cached until Reload and that aliases share a Unit.
func TestLoaderCache(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.service", "[Unit]\nDescription=one\n[Service]\nExecStart=/bin/true\n")
	if err := os.Symlink("a.service", filepath.Join(dir, "b.service")); err != nil {
		t.Fatal(err)
	}
	l := NewLoader(System, []string{dir})
	u1 := l.Load("a.service")
	if u1.Unit.Description != "one" || l.Load("b.service") != u1 || l.Load("a.service") != u1 {
		t.Fatalf("alias or cache broken: %+v", u1)
	}
	write("a.service", "[Unit]\nDescription=two\n[Service]\nExecStart=/bin/true\n")
	if l.Load("a.service").Unit.Description != "one" {
		t.Error("cache not used before Reload")
	}
	l.Reload()
	if d := l.Load("b.service").Unit.Description; d != "two" {
		t.Errorf("after Reload: %q", d)
	}
	if l.Scope() != System || len(l.Paths()) != 1 {
		t.Errorf("Scope/Paths: %v %v", l.Scope(), l.Paths())
	}
	if got := strings.Join(l.List(), " "); got != "a.service b.service" {
		t.Errorf("List = %s", got)
	}
}

// TestLinkedFragment: a linked unit file keeps the symlink as FragmentPath (as systemctl
// show reports) while %y names the real file.
func TestLinkedFragment(t *testing.T) {
	root, _ := filepath.Abs("testdata/load/basic")
	l := NewLoader(System, []string{root + "/etc", root + "/run", root + "/lib"})
	u := l.Load("linked.service")
	if u.FragmentPath != root+"/etc/linked.service" {
		t.Errorf("FragmentPath = %s", u.FragmentPath)
	}
	for in, want := range map[string]string{"%y": root + "/opt/linked.service", "%Y": root + "/opt"} {
		if got, err := l.Expander(u)(in); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %s", in, got, err, want)
		}
	}
}

func TestAcceptInstance(t *testing.T) {
	root, _ := filepath.Abs("testdata/load/basic")
	l := NewLoader(System, []string{root + "/etc", root + "/run", root + "/lib"})
	sock := l.Load("acc.socket")
	u, err := l.AcceptInstance(sock, "3-127.0.0.1:20101-127.0.0.1:40000")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "acc@3-127.0.0.1:20101-127.0.0.1:40000.service" || u.LoadState != Loaded || u.Template != "acc@.service" {
		t.Fatalf("instance %s %s %s", u.Name, u.LoadState, u.LoadError)
	}
	if !contains(u.Unit.After, "acc.socket") || !contains(u.TriggeredBy, "acc.socket") || !contains(u.Unit.Requires, "sysinit.target") {
		t.Errorf("deps: After=%v TriggeredBy=%v Requires=%v", u.Unit.After, u.TriggeredBy, u.Unit.Requires)
	}
	u2, err := l.AcceptInstance(sock, "3-127.0.0.1:20101-127.0.0.1:40000")
	if err != nil || u2 == u {
		t.Errorf("second instance of the same name: %v, shared=%v", err, u2 == u)
	}
	if _, err := l.AcceptInstance(l.Load("foo.socket"), "x"); err == nil {
		t.Error("Accept=no socket accepted")
	}
}

// TestLoadPartialBeforeFatal: the lines before a fatal syntax error are still decoded for
// their warnings (systemd applies them, then fails the unit with LoadState=error), and no
// drop-in after the broken file is read.
func TestLoadPartialBeforeFatal(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("broken.service", "[Service]\nExecStart=/bin/true\nRestart=bogus\n[Unit\nFoo=1\n")
	write("dropin.service", "[Service]\nExecStart=/bin/true\n")
	write("dropin.service.d/10-bad.conf", "[Service]\nType=bogus\n[Unit\n")
	write("dropin.service.d/20-later.conf", "[Service]\nRestart=bogus-later\n")
	l := NewLoader(System, []string{dir})
	for _, tc := range []struct {
		name, warning, notWarning, fatal string
	}{
		{"broken.service", "broken.service:3: warning: Failed to parse service restart specifier, ignoring: bogus", "", "broken.service:4:"},
		{"dropin.service", "10-bad.conf:2: warning: Failed to parse service type, ignoring: bogus", "bogus-later", "10-bad.conf:3:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := l.Load(tc.name)
			if u.LoadState != LoadError || !strings.Contains(u.LoadError, tc.fatal) {
				t.Errorf("LoadState %s (%s), want error at %s", u.LoadState, u.LoadError, tc.fatal)
			}
			all := ""
			for _, d := range u.Diagnostics {
				all += d.String() + "\n"
			}
			if !strings.Contains(all, tc.warning) {
				t.Errorf("diagnostics lack %q:\n%s", tc.warning, all)
			}
			if tc.notWarning != "" && strings.Contains(all, tc.notWarning) {
				t.Errorf("a drop-in after the fatal error was read:\n%s", all)
			}
		})
	}
}

// NeedDaemonReload is systemd's unit_need_daemon_reload: each change below, made to files
// loaded at the start, is reported until Reload; a drop-in directory made after the last
// scan is not (systemd's unit path cache).
func TestNeedDaemonReload(t *testing.T) {
	later := time.Now().Add(2 * time.Second)
	for _, tc := range []struct {
		name   string
		change func(dir string) error
		want   bool
	}{
		{"nothing", func(string) error { return nil }, false},
		{"fragment_touched", func(dir string) error { return os.Chtimes(filepath.Join(dir, "a.service"), later, later) }, true},
		{"fragment_removed", func(dir string) error { return os.Remove(filepath.Join(dir, "a.service")) }, true},
		{"dropin_touched", func(dir string) error { return os.Chtimes(filepath.Join(dir, "a.service.d/x.conf"), later, later) }, true},
		{"dropin_removed", func(dir string) error { return os.Remove(filepath.Join(dir, "a.service.d/x.conf")) }, true},
		{"dropin_added", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "a.service.d/y.conf"), []byte("[Unit]\n"), 0o644)
		}, true},
		{"dropin_not_conf", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "a.service.d/y.txt"), []byte("[Unit]\n"), 0o644)
		}, false},
		{"new_dropin_directory", func(dir string) error {
			if err := os.Mkdir(filepath.Join(dir, "service.d"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "service.d/z.conf"), []byte("[Unit]\n"), 0o644)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "a.service.d"), 0o755); err != nil {
				t.Fatal(err)
			}
			for name, text := range map[string]string{
				"a.service":          "[Service]\nExecStart=/bin/true\n",
				"a.service.d/x.conf": "[Unit]\nDescription=x\n",
			} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			l := NewLoader(System, []string{dir})
			u := l.Load("a.service")
			if l.NeedDaemonReload(u) {
				t.Fatal("NeedDaemonReload right after loading")
			}
			if err := tc.change(dir); err != nil {
				t.Fatal(err)
			}
			if got := l.NeedDaemonReload(u); got != tc.want {
				t.Errorf("NeedDaemonReload = %v, want %v", got, tc.want)
			}
			l.Reload()
			if u := l.Load("a.service"); l.NeedDaemonReload(u) {
				t.Errorf("NeedDaemonReload after Reload")
			}
		})
	}
}

// A masked unit needs a reload once its file is no longer a mask.
func TestNeedDaemonReloadMasked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.service")
	if err := os.Symlink("/dev/null", p); err != nil {
		t.Fatal(err)
	}
	l := NewLoader(System, []string{dir})
	u := l.Load("m.service")
	if u.LoadState != Masked || l.NeedDaemonReload(u) {
		t.Fatalf("masked unit: %s, NeedDaemonReload %v", u.LoadState, l.NeedDaemonReload(u))
	}
	os.Remove(p)
	if err := os.WriteFile(p, []byte("[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !l.NeedDaemonReload(u) {
		t.Error("unmasked unit: NeedDaemonReload no")
	}
}
