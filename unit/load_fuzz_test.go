package unit

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzLoaderTree builds a tree of unit directories from the fuzzer's bytes (fuzzTree: unit
// files, aliases, linked files, masks, FIFOs, sockets, devices, directories, drop-ins,
// .wants/ entries, symlink loops) and runs the loader and the install verbs over it. Nothing
// may panic or block; every diagnostic names its file and holds no control character; a
// unit file state is one of systemctl's, "bad" only with the reason; list-unit-files' names
// are the tree's; and enable followed by disable leaves no symlink that was not there before.
func FuzzLoaderTree(f *testing.F) {
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
		ft := buildFuzzTree(t, data)
		l := NewLoader(System, []string{ft.etc, ft.lib})
		var listed []string
		within(t, "List", func() { listed = l.List() })
		for _, n := range listed {
			if !slices.Contains(fuzzNames, n) {
				t.Errorf("List: %q is none of the tree's names", n)
			}
		}
		for _, name := range fuzzNames {
			var u *Unit
			within(t, "Load "+name, func() { u = l.Load(name) })
			checkLoaded(t, name, u)
			within(t, "Cat "+name, func() { _, _ = Cat(l, name) })
			var st string
			var err error
			within(t, "IsEnabled "+name, func() { st, err = IsEnabled(l, name) })
			checkState(t, name, st, err)
		}
		for _, name := range fuzzNames {
			checkEnableDisable(t, ft, l, name)
		}
	})
}

var loadStates = []LoadState{Loaded, NotFound, Masked, LoadError, BadSetting}

// checkLoaded: a unit is never nil, its state is one of systemd's, its messages name a file
// and are printable.
func checkLoaded(t *testing.T, name string, u *Unit) {
	t.Helper()
	if u == nil {
		t.Fatalf("Load(%s) = nil", name)
	}
	if !slices.Contains(loadStates, u.LoadState) {
		t.Errorf("Load(%s): LoadState %q", name, u.LoadState)
	}
	for _, d := range u.Diagnostics {
		if d.File == "" {
			t.Errorf("Load(%s): diagnostic without a file: %q", name, d.Msg)
		}
		if Printable(d.Msg) != d.Msg || Printable(d.String()) != d.String() {
			t.Errorf("Load(%s): diagnostic with control characters: %q", name, d.String())
		}
	}
	if Printable(u.LoadError) != u.LoadError {
		t.Errorf("Load(%s): LoadError with control characters: %q", name, u.LoadError)
	}
	switch u.LoadState {
	case LoadError, BadSetting:
		if u.LoadError == "" {
			t.Errorf("Load(%s): %s without LoadError", name, u.LoadState)
		}
		if u.LoadState == LoadError && !IsTemplate(name) && !strings.Contains(u.LoadError, "/") {
			t.Errorf("Load(%s): LoadError %q does not name the file", name, u.LoadError)
		}
	case Loaded:
		if u.FragmentPath == "" {
			t.Errorf("Load(%s): loaded without a fragment", name)
		}
	}
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
		if Printable(strings.ReplaceAll(err.Error(), "\n", " ")) != strings.ReplaceAll(err.Error(), "\n", " ") {
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
func checkEnableDisable(t *testing.T, ft *fuzzTree, l *Loader, name string) {
	t.Helper()
	within(t, "Disable "+name, func() { _, _ = Disable(l, []string{name}) })
	before := symlinkSet(ft.root)
	var changes []Change
	var err error
	within(t, "Enable "+name, func() { changes, err = Enable(l, []string{name}) })
	for _, c := range changes {
		if c.Type == ChangeSymlink && !strings.HasPrefix(c.Path, ft.etc+"/") {
			t.Errorf("Enable(%s) made a symlink outside the config directory: %s", name, c.Path)
		}
	}
	if err == nil && !IsTemplate(name) {
		for _, c := range changes {
			dir := filepath.Dir(c.Path)
			if c.Type == ChangeSymlink && filepath.Base(c.Path) == name &&
				(strings.HasSuffix(dir, ".wants") || strings.HasSuffix(dir, ".requires")) {
				var st string
				within(t, "IsEnabled "+name, func() { st, _ = IsEnabled(l, name) })
				if st != StateEnabled {
					t.Errorf("Enable(%s) linked %s, then IsEnabled = %q", name, c.Path, st)
				}
				break
			}
		}
	}
	var dchanges []Change
	var derr error
	within(t, "Disable "+name, func() { dchanges, derr = Disable(l, []string{name}) })
	for _, s := range symlinkSet(ft.root) {
		if !slices.Contains(before, s) {
			t.Errorf("enable+disable of %s left %s (enable: %v, %v; disable: %v, %v)", name, s, changes, err, dchanges, derr)
		}
	}
}
