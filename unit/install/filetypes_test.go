package install

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flint-init/flint/internal/difftest"
	"github.com/flint-init/flint/unit"
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

// TestUnitFileStatesFileTypes: list-unit-files lists regular files and symlinks only, and
// is-enabled answers each kind of file as systemctl 252 does (a character device masks;
// what cannot be read fails with the reason), without blocking.
func TestUnitFileStatesFileTypes(t *testing.T) {
	units, _ := fileTypeTree(t)
	l := unit.NewLoader(unit.System, []string{units})
	var listed []string
	fuzztree.Within(t, "List", func() { listed = l.List() })
	want := []string{"ft-big.service", "ft-chain.service", "ft-dangling.service", "ft-drop.service", "ft-ldir.service", "ft-lblk.service",
		"ft-lfifo.service", "ft-lnull.service", "ft-loopa.service", "ft-loopb.service", "ft-loopout.service", "ft-lsock.service",
		"ft-lzero.service", "ft-ok.service", "ft-wants.target", "ft-wants2.target", "ft-chained.service", "ft.target"}
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("List:\n%q\nwant\n%q", listed, want)
	}
	for name, want := range map[string]string{
		"ft-ok.service":       StateEnabled, // ft-wants2.target.wants/ft-ok.service
		"ft-chain.service":    StateAlias,
		"ft-chr.service":      StateMasked,
		"ft-lzero.service":    StateMasked,
		"ft-lnull.service":    StateMasked,
		"ft-fifo.service":     "Not a regular file (a FIFO)",
		"ft-lfifo.service":    "Not a regular file (a FIFO)",
		"ft-sock.service":     "No such device or address",
		"ft-lsock.service":    "No such device or address",
		"ft-blk.service":      "Not a regular file (a block device)",
		"ft-lblk.service":     "Not a regular file (a block device)",
		"ft-dir.service":      "Is a directory",
		"ft-ldir.service":     "Is a directory",
		"ft-loopa.service":    "Too many levels of symbolic links",
		"ft-loopout.service":  "Too many levels of symbolic links",
		"ft-dangling.service": "No such file or directory",
		"ft-big.service":      "File larger than 64 MiB",
		"ft-drop.service":     "Not a regular file (a FIFO)", // its first drop-in
	} {
		var st string
		var err error
		fuzztree.Within(t, "IsEnabled", func() { st, err = IsEnabled(l, name) })
		if strings.Contains(want, " ") {
			msg := "Failed to get unit file state for " + name + ": " + want
			if err == nil || err.Error() != msg {
				t.Errorf("IsEnabled(%s) = %q, %v; want the error %q", name, st, err, msg)
			}
			if name != "ft-dangling.service" && st != StateBad {
				t.Errorf("IsEnabled(%s) = %q with its error, want bad (list-unit-files)", name, st)
			}
			continue
		}
		if err != nil || st != want {
			t.Errorf("IsEnabled(%s) = %q, %v; want %s", name, st, err, want)
		}
	}
}
