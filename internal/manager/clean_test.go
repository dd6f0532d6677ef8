package manager

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/unit"
)

// TestCleanMask: --what='s words, all, and systemd's message for another.
func TestCleanMask(t *testing.T) {
	for _, c := range []struct {
		what []string
		mask uint8
		err  string
	}{
		{[]string{"runtime"}, 1, ""},
		{[]string{"cache", "runtime"}, 1 | 4, ""},
		{[]string{"state", "logs", "configuration"}, 2 | 8 | 16, ""},
		{[]string{"all"}, 31, ""},
		{[]string{"state", "fdstore"}, 0, "Invalid resource type: fdstore"}, // systemd 254's, not 252's
		{nil, 0, ""},
	} {
		mask, err := cleanMask(c.what)
		if mask != c.mask || (err == nil) != (c.err == "") || err != nil && err.Error() != c.err {
			t.Errorf("cleanMask(%q) = %d, %v; want %d, %q", c.what, mask, err, c.mask, c.err)
		}
	}
}

// TestCleanPaths: each name of the kinds asked for, and but for configuration its private
// directory too (DynamicUser='s, whether or not the unit has it now).
func TestCleanPaths(t *testing.T) {
	ec := &unit.ExecContext{RuntimeDirectory: []string{"r"}, StateDirectory: []string{"s/t", "s"},
		CacheDirectory: []string{"c"}, LogsDirectory: []string{"l"}, ConfigurationDirectory: []string{"e"}}
	dirs := execDirsAt([5]string{"/R", "/S", "/C", "/L", "/E"}, ec, false)
	for _, c := range []struct {
		mask uint8
		want []string
	}{
		{1 | 4, []string{"/R/r", "/R/private/r", "/C/c", "/C/private/c"}},
		{2, []string{"/S/s", "/S/private/s", "/S/s/t", "/S/private/s/t"}},
		{16, []string{"/E/e"}},
		{8, []string{"/L/l", "/L/private/l"}},
	} {
		if got := cleanPaths(dirs, c.mask); !slices.Equal(got, c.want) {
			t.Errorf("cleanPaths(mask %b) = %q, want %q", c.mask, got, c.want)
		}
	}
	if got := cleanPaths(execDirsAt([5]string{"", "/S", "/C", "/L", "/E"}, ec, false), 1); len(got) != 0 {
		t.Errorf("no runtime base: %q", got)
	}
}

// TestRemoveTree: a tree goes with everything in it; a symlink inside it, or in its place,
// is removed itself and its target left; a missing path is fine; a done context stops it.
func TestRemoveTree(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	os.MkdirAll(filepath.Join(outside, "keep"), 0o755)
	tree := filepath.Join(dir, "tree")
	os.MkdirAll(filepath.Join(tree, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(tree, "a", "b", "f"), []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(tree, "a", "link"))
	os.Chmod(filepath.Join(tree, "a", "b"), 0o500) // not writable: root removes it anyway
	if err := removeTree(context.Background(), tree); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tree); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tree left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("the link's target went: %v", err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(outside, link)
	if err := removeTree(context.Background(), link); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "keep")); err != nil {
		t.Errorf("the link's target went: %v", err)
	}
	if err := removeTree(context.Background(), filepath.Join(dir, "missing", "x")); err != nil {
		t.Errorf("missing path: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := removeTree(ctx, outside); !errors.Is(err, context.Canceled) {
		t.Errorf("done context: %v", err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("removed despite the done context: %v", err)
	}
}

// TestCleanStates: a clean puts the service in maintenance (cleaning) until its removal
// is over; a start asked meanwhile waits and runs after it; a stop ends the clean at
// once, the unit dead, not failed; a clean of a unit with a job is refused.
// The removal is the test's, held until the test lets it go.
func TestCleanStates(t *testing.T) {
	base := t.TempDir()
	for _, v := range []string{"HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"} {
		d := filepath.Join(base, v)
		os.MkdirAll(d, 0o700)
		t.Setenv(v, d)
	}
	units := filepath.Join(base, "units")
	os.MkdirAll(units, 0o755)
	os.WriteFile(filepath.Join(units, "c.service"), []byte("[Service]\nType=oneshot\nRemainAfterExit=yes\nCacheDirectory=c\nExecStart=/bin/true\n"), 0o644)
	os.WriteFile(filepath.Join(units, "idle.target"), []byte("[Unit]\n"), 0o644)
	m, err := New(Options{Scope: unit.User, UnitDirs: []string{units}, ControlPath: filepath.Join(base, "control.sock"),
		Target: "idle.target", Console: &consoleWatch{}})
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan string, 4)
	release := make(chan error)
	m.cleanRemove = func(ctx context.Context, p string) error {
		entered <- p
		select {
		case err := <-release:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	state := func() (string, string, string) {
		var a, s, r string
		m.call(func() {
			u := m.load("c.service")
			a, s, r = u.activeState().String(), u.sub.String(), u.cleanResult.String()
		})
		return a, s, r
	}
	clean := func() []string {
		var msgs []string
		m.call(func() { _, msgs = m.clean(&api.Request{Units: []string{"c.service"}, NoBlock: true}) })
		return msgs
	}

	if msgs := clean(); len(msgs) != 0 {
		t.Fatal(msgs)
	}
	if p := <-entered; p != filepath.Join(base, "XDG_RUNTIME_DIR", "c") && p != filepath.Join(base, "XDG_CACHE_HOME", "c") {
		t.Errorf("removing %s", p)
	}
	if a, s, _ := state(); a != "maintenance" || s != "cleaning" {
		t.Fatalf("while cleaning: %s (%s)", a, s)
	}
	res, err := m.runJobs(&api.Request{Verb: api.VerbStart, Units: []string{"c.service"}, NoBlock: true})
	if err != nil || len(res) != 1 || res[0].Error != "" {
		t.Fatalf("start: %+v %v", res, err)
	}
	if msgs := clean(); len(msgs) != 1 || msgs[0] != "Failed to clean unit c.service: Unit is not inactive or has pending job." {
		t.Errorf("clean with a job: %q", msgs)
	}
	if a, _, _ := state(); a != "maintenance" {
		t.Fatalf("the start did not wait: %s", a)
	}
	release <- nil
	<-entered // the other path of the default kinds
	release <- nil
	if !waitForCond(func() bool { a, _, _ := state(); return a == "active" }) {
		a, s, _ := state()
		t.Fatalf("after the clean the start did not run: %s (%s)", a, s)
	}

	res, err = m.runJobs(&api.Request{Verb: api.VerbStop, Units: []string{"c.service"}})
	if err != nil || res[0].Result != "done" {
		t.Fatalf("stop: %+v %v", res, err)
	}
	if msgs := clean(); len(msgs) != 0 {
		t.Fatal(msgs)
	}
	<-entered
	res, err = m.runJobs(&api.Request{Verb: api.VerbStop, Units: []string{"c.service"}})
	if err != nil || res[0].Result != "done" {
		t.Fatalf("stop while cleaning: %+v %v", res, err)
	}
	// (A dead unit may be collected at once: CleanResult= is then no more.)
	if a, s, r := state(); a != "inactive" || s != "dead" || r != "success" && r != "" {
		t.Errorf("after a stop while cleaning: %s (%s), CleanResult=%s", a, s, r)
	}
}

// waitForCond polls cond for up to 10 s.
func waitForCond(cond func() bool) bool {
	for range 2000 {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}
