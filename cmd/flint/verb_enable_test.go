package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallVerbs drives enable, is-enabled, cat, disable, mask and unmask on a --units
// directory and checks output, exit codes and symlinks.
func TestInstallVerbs(t *testing.T) {
	// the first --units dir receives the symlinks; the unit files live in the second
	dir, lib := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(lib, "foo.socket"), []byte("[Socket]\nListenStream=20160\n[Install]\nWantedBy=sockets.target\n"), 0o644)
	os.WriteFile(filepath.Join(lib, "foo.service"), []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
	os.WriteFile(filepath.Join(lib, "sockets.target"), []byte("[Unit]\nDescription=Sockets\n"), 0o644)
	type res struct {
		rc       int
		out, err string
	}
	call := func(f func(*globals, []string, *bytes.Buffer, *bytes.Buffer) int, args ...string) res {
		var o, e bytes.Buffer
		g, ops := parseCtl(t, args...)
		g.units = []string{dir, lib}
		rc := f(g, ops, &o, &e)
		return res{rc, o.String(), e.String()}
	}
	install := func(op string) func(*globals, []string, *bytes.Buffer, *bytes.Buffer) int {
		return func(g *globals, a []string, o, e *bytes.Buffer) int { return runInstallVerb(g, op, a, o, e) }
	}
	isEnabled := func(g *globals, a []string, o, e *bytes.Buffer) int { return runIsEnabled(g, a, o, e) }
	cat := func(g *globals, a []string, o, e *bytes.Buffer) int { return runCat(g, a, o, e) }
	link := filepath.Join(dir, "sockets.target.wants/foo.socket")
	for _, c := range []struct {
		name string
		f    func(*globals, []string, *bytes.Buffer, *bytes.Buffer) int
		args []string
		want res
	}{
		{"is-enabled before", isEnabled, []string{"foo.socket", "foo"}, res{0, "disabled\nstatic\n", ""}},
		{"is-enabled disabled only", isEnabled, []string{"foo.socket"}, res{1, "disabled\n", ""}},
		{"enable", install("enable"), []string{"foo.socket"}, res{0, "", "Created symlink " + link + " → " + lib + "/foo.socket.\n"}},
		{"enable again", install("enable"), []string{"foo.socket"}, res{0, "", ""}},
		{"is-enabled after", isEnabled, []string{"foo.socket"}, res{0, "enabled\n", ""}},
		{"is-enabled quiet", isEnabled, []string{"-q", "foo.socket"}, res{0, "", ""}},
		{"enable missing", install("enable"), []string{"nope.socket"}, res{1, "", "Failed to enable unit, unit nope.socket does not exist.\n"}},
		{"is-enabled missing", isEnabled, []string{"nope"}, res{1, "", "Failed to get unit file state for nope.service: No such file or directory\n"}},
		{"cat", cat, []string{"foo.socket"}, res{0, "# " + lib + "/foo.socket\n[Socket]\nListenStream=20160\n[Install]\nWantedBy=sockets.target\n", ""}},
		{"cat missing", cat, []string{"nope.socket"}, res{1, "", "No files found for nope.socket.\n"}},
		{"disable", install("disable"), []string{"foo.socket"}, res{0, "", "Removed \"" + link + "\".\n"}},
		{"mask a target", install("mask"), []string{"sockets.target"}, res{0, "", "Created symlink " + dir + "/sockets.target → /dev/null.\n"}},
		{"unmask it", install("unmask"), []string{"sockets.target"}, res{0, "", "Removed \"" + dir + "/sockets.target\".\n"}},
		{"mask", install("mask"), []string{"foo.service"}, res{0, "", "Created symlink " + dir + "/foo.service → /dev/null.\n"}},
		{"is-enabled masked", isEnabled, []string{"foo.service"}, res{1, "masked\n", ""}},
		{"unmask", install("unmask"), []string{"foo.service"}, res{0, "", "Removed \"" + dir + "/foo.service\".\n"}},
		{"no args", install("enable"), nil, res{1, "", "Too few arguments.\n"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := call(c.f, c.args...)
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("%s still exists after disable", link)
	}
	if !strings.HasSuffix(mangleName("foo"), ".service") || mangleName("foo.socket") != "foo.socket" {
		t.Error("mangleName")
	}
}
