package manager

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

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

// TestCleanPaths: each name of the kinds asked for, and for state, cache and logs its
// private directory too (DynamicUser='s, whether or not the unit has it now).
func TestCleanPaths(t *testing.T) {
	ec := &unit.ExecContext{RuntimeDirectory: []string{"r"}, StateDirectory: []string{"s/t", "s"},
		CacheDirectory: []string{"c"}, LogsDirectory: []string{"l"}, ConfigurationDirectory: []string{"e"}}
	dirs := execDirsAt([5]string{"/R", "/S", "/C", "/L", "/E"}, ec, false)
	for _, c := range []struct {
		mask uint8
		want []string
	}{
		{1 | 4, []string{"/R/r", "/C/c", "/C/private/c"}},
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
