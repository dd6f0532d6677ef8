package unit

import (
	"slices"
	"strings"
	"testing"

	"github.com/flint-init/flint/unit/internal/fuzztree"
)

// FuzzLoaderTree builds a tree of unit directories from the fuzzer's bytes (fuzzTree: unit
// files, aliases, linked files, masks, FIFOs, sockets, devices, directories, drop-ins,
// .wants/ entries, symlink loops) and runs the loader over it (unit/install's FuzzInstallTree
// runs the install verbs over the same trees). Nothing may panic or block; every diagnostic
// names its file and holds no control character; list-unit-files' names are the tree's.
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
		ft := fuzztree.Build(t, data)
		l := NewLoader(System, []string{ft.Etc, ft.Lib})
		var listed []string
		fuzztree.Within(t, "List", func() { listed = l.List() })
		for _, n := range listed {
			if !slices.Contains(fuzztree.Names, n) {
				t.Errorf("List: %q is none of the tree's names", n)
			}
		}
		for _, name := range fuzztree.Names {
			var u *Unit
			fuzztree.Within(t, "Load "+name, func() { u = l.Load(name) })
			checkLoaded(t, name, u)
			fuzztree.Within(t, "Cat "+name, func() { _, _ = Cat(l, name) })
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
