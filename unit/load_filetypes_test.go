package unit

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flint-init/flint/internal/difftest"
	"github.com/flint-init/flint/unit/internal/fuzztree"
)

// fileTypeTree makes a unit directory holding every kind of file under a unit name, and a
// directory outside the search path for the targets of linked unit files
// (difftest.FileTypeTree, all of it). The outcomes the tests expect are systemd 252's
// (internal/difftest.TestFileTypesDifferential compares those systemd does not block on),
// except where systemd blocks (a FIFO) or reads a device (a block device).
func fileTypeTree(t *testing.T) (units, opt string) {
	t.Helper()
	root := t.TempDir()
	units, opt = filepath.Join(root, "units"), filepath.Join(root, "opt")
	closeAll, err := difftest.FileTypeTree(units, opt, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAll)
	return units, opt
}

// TestLoadFileTypes: each kind of file as a unit file, a linked unit file and a drop-in, and
// as a .wants/ directory or entry: the loader never blocks or reads a device, gives systemd's load
// state, and names the file it could not use.
func TestLoadFileTypes(t *testing.T) {
	units, _ := fileTypeTree(t)
	l := NewLoader(System, []string{units})
	for _, tc := range []struct {
		name     string
		state    LoadState
		fragment bool   // FragmentPath set
		msg      string // in a diagnostic (not-found) or LoadError (error)
	}{
		{"ft-ok.service", Loaded, true, ""},
		{"ft-fifo.service", NotFound, false, ""},
		{"ft-sock.service", NotFound, false, ""},
		{"ft-chr.service", NotFound, false, ""},
		{"ft-blk.service", NotFound, false, ""},
		{"ft-dir.service", NotFound, false, ""},
		{"ft-lzero.service", Masked, true, ""},
		{"ft-lnull.service", Masked, true, ""},
		{"ft-lfifo.service", NotFound, false, "Failed to open " + units + "/ft-lfifo.service: Not a regular file (a FIFO)"},
		{"ft-lsock.service", NotFound, false, "Failed to open " + units + "/ft-lsock.service: No such device or address"},
		{"ft-lblk.service", NotFound, false, "Failed to open " + units + "/ft-lblk.service: Not a regular file (a block device)"},
		{"ft-ldir.service", LoadError, true, units + "/ft-ldir.service: Is a directory"},
		{"ft-loopa.service", NotFound, false, ""},
		{"ft-loopout.service", NotFound, false, "Failed to open " + units + "/ft-loopout.service: Too many levels of symbolic links"},
		{"ft-dangling.service", NotFound, false, "Failed to open " + units + "/ft-dangling.service: No such file or directory"},
		{"ft-chain.service", Loaded, true, ""},
		{"ft-big.service", LoadError, true, units + "/ft-big.service: File larger than 64 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var u *Unit
			fuzztree.Within(t, "Load", func() { u = l.Load(tc.name) })
			if u.LoadState != tc.state || (u.FragmentPath != "") != tc.fragment {
				t.Fatalf("LoadState %s, FragmentPath %q; want %s, fragment %v (%v)", u.LoadState, u.FragmentPath, tc.state, tc.fragment, u.Diagnostics)
			}
			if tc.msg == "" {
				return
			}
			found := strings.Contains(u.LoadError, tc.msg)
			for _, d := range u.Diagnostics {
				found = found || d.Msg == tc.msg
			}
			if !found {
				t.Errorf("no message %q: LoadError %q, diagnostics %v", tc.msg, u.LoadError, u.Diagnostics)
			}
		})
	}
	t.Run("drop-ins", func(t *testing.T) {
		var u *Unit
		fuzztree.Within(t, "Load", func() { u = l.Load("ft-drop.service") })
		if u.LoadState != Loaded || u.Unit.Description != "from-good" {
			t.Fatalf("LoadState %s, Description %q; want loaded with the good drop-in applied", u.LoadState, u.Unit.Description)
		}
		if len(u.DropInPaths) != 9 {
			t.Errorf("DropInPaths %q: systemd lists all 9", u.DropInPaths)
		}
		d := filepath.Join(units, "ft-drop.service.d")
		for conf, why := range map[string]string{
			"10-fifo.conf": "Not a regular file (a FIFO)", "20-zero.conf": "Not a regular file (a character device)",
			"30-dir.conf": "Is a directory", "40-dangling.conf": "No such file or directory",
			"45-loop.conf": "Too many levels of symbolic links", "70-blk.conf": "Not a regular file (a block device)",
			"80-sock.conf": "No such device or address",
		} {
			want := "Failed to read " + filepath.Join(d, conf) + ", ignoring: " + why
			if !slices.ContainsFunc(u.Diagnostics, func(x Diagnostic) bool { return x.Msg == want && x.Severity == Warning }) {
				t.Errorf("no warning %q in %v", want, u.Diagnostics)
			}
		}
		for _, x := range u.Diagnostics {
			if strings.Contains(x.Msg, "60-null.conf") {
				t.Errorf("/dev/null is an empty drop-in: %v", x)
			}
		}
	})
	t.Run("wants", func(t *testing.T) {
		var a, b *Unit
		fuzztree.Within(t, "Load", func() { a, b = l.Load("ft-wants.target"), l.Load("ft-wants2.target") })
		if a.LoadState != Loaded || len(a.Unit.Wants) != 0 {
			t.Errorf("ft-wants.target with a FIFO as .wants: %s, Wants=%q", a.LoadState, a.Unit.Wants)
		}
		// only symlinks count, as in systemd: the FIFO entry is not a dependency
		if b.LoadState != Loaded || !slices.Equal(b.Unit.Wants, []string{"ft-ok.service"}) {
			t.Errorf("ft-wants2.target: %s, Wants=%q", b.LoadState, b.Unit.Wants)
		}
		want := "Wants dependency dropin " + filepath.Join(units, "ft-wants2.target.wants/ft-fifo.service") + " is not a symlink, ignoring."
		if !slices.ContainsFunc(b.Diagnostics, func(d Diagnostic) bool { return d.Msg == want }) {
			t.Errorf("ft-wants2.target: no warning %q in %v", want, b.Diagnostics)
		}
	})
	t.Run("cat", func(t *testing.T) {
		var err error
		fuzztree.Within(t, "Cat", func() { _, err = Cat(l, "ft-drop.service") })
		if err == nil || !strings.Contains(err.Error(), "10-fifo.conf: Not a regular file (a FIFO)") {
			t.Errorf("Cat of a unit with a FIFO drop-in: %v", err)
		}
	})
}
