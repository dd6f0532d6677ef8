package unit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReloadKeepsUnchanged checks the reload cache: a Reload with no unit file changed keeps
// the decoded units (the same *Unit comes back, nothing is parsed), and each kind of change
// to what a unit is decoded from makes the next Load parse the files again.
func TestReloadKeepsUnchanged(t *testing.T) {
	const svc = "[Unit]\nDescription=one\n[Service]\nExecStart=/bin/true\n"
	type env struct {
		dir, outside string
		write        func(name, content string)
	}
	cases := []struct {
		name   string
		change func(t *testing.T, e env) // nil: nothing changes
		check  func(t *testing.T, l *Loader, u *Unit)
	}{
		{"nothing", nil, func(t *testing.T, l *Loader, u *Unit) {}},
		{"fragment rewritten in place, same size and mtime", func(t *testing.T, e env) {
			p := filepath.Join(e.dir, "a.service")
			st, _ := os.Stat(p)
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt([]byte("two"), int64(strings.Index(svc, "one")))
			f.Close()
			os.Chtimes(p, st.ModTime(), st.ModTime()) // touch -r: only the change time tells
		}, func(t *testing.T, l *Loader, u *Unit) {
			if u.Unit.Description != "two" {
				t.Errorf("Description = %q", u.Unit.Description)
			}
		}},
		{"new drop-in in an existing directory", func(t *testing.T, e env) {
			e.write("a.service.d/20-x.conf", "[Unit]\nDescription=dropin\n")
		}, func(t *testing.T, l *Loader, u *Unit) {
			if u.Unit.Description != "dropin" || len(u.DropInPaths) != 2 {
				t.Errorf("Description = %q, drop-ins %v", u.Unit.Description, u.DropInPaths)
			}
		}},
		{"drop-in rewritten in place", func(t *testing.T, e env) {
			p := filepath.Join(e.dir, "a.service.d/10-doc.conf")
			if err := os.WriteFile(p, []byte("[Unit]\nDocumentation=man:y(1)\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, l *Loader, u *Unit) {
			if !slices.Equal(u.Unit.Documentation, []string{"man:y(1)"}) {
				t.Errorf("Documentation = %v", u.Unit.Documentation)
			}
		}},
		{"new .wants link", func(t *testing.T, e env) {
			os.MkdirAll(filepath.Join(e.dir, "t.target.wants"), 0o755)
			os.Symlink("../b.service", filepath.Join(e.dir, "t.target.wants/b.service"))
		}, func(t *testing.T, l *Loader, u *Unit) {
			if w := l.Load("t.target").Unit.Wants; !slices.Contains(w, "b.service") {
				t.Errorf("t.target Wants = %v", w)
			}
		}},
		{"linked unit file outside the path edited", func(t *testing.T, e env) {
			p := filepath.Join(e.outside, "linked.service")
			if err := os.WriteFile(p, []byte("[Unit]\nDescription=linked2\n[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, l *Loader, u *Unit) {
			if d := l.Load("linked.service").Unit.Description; d != "linked2" {
				t.Errorf("linked Description = %q", d)
			}
		}},
		{"empty file mask filled in place", func(t *testing.T, e env) {
			p := filepath.Join(e.dir, "m.service")
			if err := os.WriteFile(p, []byte(svc), 0o644); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, l *Loader, u *Unit) {
			if s := l.Load("m.service").LoadState; s != Loaded {
				t.Errorf("m.service %s", s)
			}
		}},
		{"new unit file", func(t *testing.T, e env) {
			e.write("c.service", svc)
		}, func(t *testing.T, l *Loader, u *Unit) {
			if s := l.Load("c.service").LoadState; s != Loaded {
				t.Errorf("c.service %s", s)
			}
		}},
		{"alias added", func(t *testing.T, e env) {
			os.Symlink("a.service", filepath.Join(e.dir, "alias.service"))
		}, func(t *testing.T, l *Loader, u *Unit) {
			if !slices.Contains(u.Names, "alias.service") {
				t.Errorf("Names = %v", u.Names)
			}
		}},
		{"socket's service changed", func(t *testing.T, e env) {
			p := filepath.Join(e.dir, "s.socket")
			if err := os.WriteFile(p, []byte("[Socket]\nListenStream=/run/s.sk\nService=b.service\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, l *Loader, u *Unit) {
			if !slices.Contains(l.Load("b.service").TriggeredBy, "s.socket") || slices.Contains(u.TriggeredBy, "s.socket") {
				t.Errorf("TriggeredBy a %v, b %v", u.TriggeredBy, l.Load("b.service").TriggeredBy)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			write := func(name, content string) {
				p := filepath.Join(dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("a.service", svc)
			write("a.service.d/10-doc.conf", "[Unit]\nDocumentation=man:x(1)\n")
			write("b.service", "[Service]\nExecStart=/bin/true\n")
			write("s.socket", "[Socket]\nListenStream=/run/s.sk\nService=a.service\n")
			write("t.target", "[Unit]\nDescription=t\n")
			write("m.service", "")
			if err := os.WriteFile(filepath.Join(outside, "linked.service"), []byte("[Unit]\nDescription=linked\n[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			os.Symlink(filepath.Join(outside, "linked.service"), filepath.Join(dir, "linked.service"))
			l := NewLoader(System, []string{dir})
			var before []*Unit
			for _, n := range []string{"a.service", "b.service", "s.socket", "t.target", "m.service", "linked.service", "nope.service"} {
				before = append(before, l.Load(n))
			}
			if before[0].Unit.Description != "one" || before[4].LoadState != Masked || before[5].Unit.Description != "linked" {
				t.Fatalf("set-up: %+v", before)
			}
			// Timestamps of a fast file system can be equal for writes close together: the
			// change must be told by more than the modification time.
			time.Sleep(0)
			if tc.change != nil {
				tc.change(t, env{dir, outside, write})
			}
			l.Reload()
			u := l.Load("a.service")
			kept := u == before[0]
			if want := tc.change == nil; kept != want || (l.reused == 1) != want {
				t.Fatalf("kept the decoded units: %v (reused %d), want %v", kept, l.reused, want)
			}
			tc.check(t, l, u)
			// A second reload with nothing changed since keeps what the first one loaded.
			l.Load("b.service")
			l.Reload()
			if l.Load("a.service") != u {
				t.Error("second reload without a change parsed again")
			}
		})
	}
}

// TestReloadUnreadable checks that a unit loaded from a file that could not be read makes
// every reload parse again (the file may become readable without its directory changing),
// and that Accept=yes instances are not remembered by the reload cache.
func TestReloadUnreadable(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "later.service")
	os.Symlink(target, filepath.Join(dir, "later.service")) // dangling: not found
	os.WriteFile(filepath.Join(dir, "e.socket"), []byte("[Socket]\nListenStream=127.0.0.1:1\nAccept=yes\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "e@.service"), []byte("[Service]\nExecStart=/bin/cat\nStandardInput=socket\n"), 0o644)
	l := NewLoader(System, []string{dir})
	if s := l.Load("later.service").LoadState; s != NotFound {
		t.Fatalf("dangling: %s", s)
	}
	sock := l.Load("e.socket")
	n := len(l.sums)
	for i := range 50 {
		if _, err := l.AcceptInstance(sock, "x"+strings.Repeat("y", i)); err != nil {
			t.Fatal(err)
		}
	}
	if len(l.sums) != n {
		t.Errorf("sums grew with Accept=yes instances: %d -> %d", n, len(l.sums))
	}
	os.WriteFile(target, []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
	l.Reload()
	if s := l.Load("later.service").LoadState; s != Loaded || l.reused != 0 {
		t.Errorf("after the target appeared: %s (reused %d)", s, l.reused)
	}
}
