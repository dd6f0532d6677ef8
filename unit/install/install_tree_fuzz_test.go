package install

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/internal/fuzztree"
)

// FuzzInstallTree runs is-enabled, enable and disable over the trees of unit's
// FuzzLoaderTree (fuzztree: unit files, aliases, linked files, masks, FIFOs, sockets, devices,
// directories, drop-ins, .wants/ entries, symlink loops). Nothing may panic or block; a unit
// file state is one of systemctl's, "bad" only with the reason; and enable followed by
// disable leaves no symlink that was not there before.
func FuzzInstallTree(f *testing.F) {
	// Seeds: op bytes as buildFuzzTree reads them (dir, name, op, then the op's own bytes).
	f.Add([]byte{0, 0, 0, 2, 1, 3, 0})                      // etc/a.service: [Unit] + [Service]
	f.Add([]byte{0, 0, 4, 1, 0, 4})                         // FIFOs as etc/a.service and lib/a.service
	f.Add([]byte{0, 0, 0, 1, 3, 0, 0, 7, 0, 2, 0})          // a.service, its drop-in a FIFO
	f.Add([]byte{0, 0, 0, 1, 3, 0, 0, 7, 0, 3})             // a.service, its drop-in -> /dev/zero
	f.Add([]byte{1, 0, 3, 1, 1, 3, 4})                      // lib/a.service -> /dev/zero, lib/b.service -> opt/fifo
	f.Add([]byte{0, 0, 3, 5, 0, 1, 3, 6, 1, 2, 3, 2})       // a loop, a directory, a dangling link
	f.Add([]byte{0, 0, 0, 2, 3, 1, 0, 0, 2, 4, 5, 2, 6, 2}) // a.service with WantedBy=, b.service with Alias=
	f.Add([]byte{0, 3, 9, 0, 3, 6, 1, 7, 8, 0, 0, 0})       // char device, socket, .wants entry
	f.Add([]byte{1, 4, 0, 1, 8, 0, 0, 5, 0, 2, 3, 0})       // u@.service with DefaultInstance=
	f.Fuzz(func(t *testing.T, data []byte) {
		ft := fuzztree.Build(t, data)
		l := unit.NewLoader(unit.System, []string{ft.Etc, ft.Lib})
		for _, name := range fuzztree.Names {
			var st string
			var err error
			fuzztree.Within(t, "IsEnabled "+name, func() { st, err = IsEnabled(l, name) })
			checkState(t, name, st, err)
		}
		for _, name := range fuzztree.Names {
			checkEnableDisable(t, ft, l, name)
		}
	})
}

var unitFileStates = []string{StateEnabled, StateEnabledRuntime, StateLinked, StateLinkedRuntime, StateAlias,
	StateMasked, StateMaskedRuntime, StateStatic, StateIndirect, StateDisabled, StateGenerated, StateTransient}

// checkState: is-enabled gives one of systemctl's states, or an error saying why; "bad"
// only with an error, and the error never holds a control character.
func checkState(t *testing.T, name, st string, err error) {
	t.Helper()
	if err != nil {
		if st != "" && st != StateBad {
			t.Errorf("IsEnabled(%s) = %q with error %v", name, st, err)
		}
		if !strings.HasPrefix(err.Error(), "Failed to get unit file state for "+name+": ") &&
			!strings.Contains(err.Error(), "\nFailed to get unit file state for "+name+": ") {
			t.Errorf("IsEnabled(%s): error %q is not systemctl's", name, err)
		}
		if unit.Printable(strings.ReplaceAll(err.Error(), "\n", " ")) != strings.ReplaceAll(err.Error(), "\n", " ") {
			t.Errorf("IsEnabled(%s): error with control characters: %q", name, err)
		}
		return
	}
	if !slices.Contains(unitFileStates, st) {
		t.Errorf("IsEnabled(%s) = %q", name, st)
	}
}

// checkEnableDisable: after a first disable, enable then disable leaves no symlink that was
// not there before (disable may take away more: a dangling link to what enable made); after a successful enable that linked the
// unit into a .wants/ or .requires/ directory under its own name, is-enabled says enabled.
func checkEnableDisable(t *testing.T, ft *fuzztree.Tree, l *unit.Loader, name string) {
	t.Helper()
	fuzztree.Within(t, "Disable "+name, func() { _, _ = Disable(l, []string{name}) })
	before := fuzztree.SymlinkSet(ft.Root)
	var changes []Change
	var err error
	fuzztree.Within(t, "Enable "+name, func() { changes, err = Enable(l, []string{name}) })
	for _, c := range changes {
		if c.Type == ChangeSymlink && !strings.HasPrefix(c.Path, ft.Etc+"/") {
			t.Errorf("Enable(%s) made a symlink outside the config directory: %s", name, c.Path)
		}
	}
	if err == nil && !unit.IsTemplate(name) {
		for _, c := range changes {
			dir := filepath.Dir(c.Path)
			if c.Type == ChangeSymlink && filepath.Base(c.Path) == name &&
				(strings.HasSuffix(dir, ".wants") || strings.HasSuffix(dir, ".requires")) {
				var st string
				fuzztree.Within(t, "IsEnabled "+name, func() { st, _ = IsEnabled(l, name) })
				if st != StateEnabled {
					t.Errorf("Enable(%s) linked %s, then IsEnabled = %q", name, c.Path, st)
				}
				break
			}
		}
	}
	var dchanges []Change
	var derr error
	fuzztree.Within(t, "Disable "+name, func() { dchanges, derr = Disable(l, []string{name}) })
	for _, s := range fuzztree.SymlinkSet(ft.Root) {
		if !slices.Contains(before, s) {
			t.Errorf("enable+disable of %s left %s (enable: %v, %v; disable: %v, %v)", name, s, changes, err, dchanges, derr)
		}
	}
}
