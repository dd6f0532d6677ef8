package install

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/internal/fuzztree"
)

// installKeys and installValues are what FuzzInstall writes [Install] sections from, with
// the fuzzer's own bytes as further values.
var (
	installKeys   = []string{"WantedBy", "RequiredBy", "Alias", "Also", "DefaultInstance"}
	installValues = []string{"multi-user.target", "t.target", "a.service", "b.service", "c.socket", "u@.service",
		"u@x.service", "u@y.service", "%p.target", "%n", "%i", "%j-x.target", "", "x", "bad name", "a.service b.service",
		"../etc/a.service", "d-e.service", "%z", "u@%i.service", "t@.target", "t@x.target"}
)

// FuzzInstall writes unit files whose [Install] sections the fuzzer composes (WantedBy=,
// RequiredBy=, Alias=, Also=, DefaultInstance= with unit names, templates, specifiers,
// invalid names), then runs a sequence of enable, disable, mask, unmask, link and
// is-enabled. Nothing may panic or block; every change reported is in the config directory
// and is true of the tree when the call returns; is-enabled gives systemctl's states;
// enable then disable leaves no symlink that was not there before; mask makes a unit masked
// and unmask takes away exactly the link mask made.
func FuzzInstall(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1, 0})                   // a.service WantedBy=multi-user.target; enable a
	f.Add([]byte{4, 2, 0, 1, 6, 3, 0, 1, 4})                // u@.service Alias=u@x... DefaultInstance=x
	f.Add([]byte{0, 1, 3, 3, 1, 1, 2, 1, 0, 1, 1, 2, 0, 3}) // a Also=b, b WantedBy= ; enable, mask, unmask
	f.Add([]byte{1, 2, 2, 2, 0, 0, 0, 5, 1})                // b.service Alias=b.service; link
	f.Add([]byte{0, 1, 0, 8, 0, 1, 0, 1, 0})                // WantedBy=%p.target
	f.Add([]byte{5, 2, 2, 0, 2, 4, 0, 0, 5, 1, 5})          // an instance aliased as a plain name
	f.Fuzz(func(t *testing.T, data []byte) {
		r := fuzztree.NewReader(data)
		root := t.TempDir()
		etc, lib, opt := filepath.Join(root, "etc"), filepath.Join(root, "lib"), filepath.Join(root, "opt")
		for _, d := range []string{etc, lib, opt} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for i, n := 0, 1+r.Pick(4); i < n; i++ {
			name := fuzztree.Names[r.Pick(len(fuzztree.Names))]
			var b strings.Builder
			switch unit.TypeOf(name) {
			case unit.TypeSocket:
				b.WriteString("[Socket]\nListenStream=/run/fz.sock\n")
			case unit.TypeService:
				b.WriteString("[Service]\nExecStart=/bin/true\n")
			}
			b.WriteString("[Install]\n")
			for j, m := 0, r.Pick(5); j < m; j++ {
				v := installValues[r.Pick(len(installValues))]
				if r.Pick(8) == 0 {
					v = string(r.Bytes(12))
				}
				b.WriteString(installKeys[r.Pick(len(installKeys))] + "=" + v + "\n")
			}
			dir := lib
			if r.Pick(4) == 0 {
				dir = opt // a unit file to link
			}
			_ = os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
		}
		l := unit.NewLoader(unit.System, []string{etc, lib})
		for op := 0; op < 8 && r.Left() > 0; op++ {
			name := fuzztree.Names[r.Pick(len(fuzztree.Names))]
			before := fuzztree.SymlinkSet(root)
			var changes []Change
			var err error
			switch r.Pick(6) {
			case 0:
				checkEnableDisable(t, &fuzztree.Tree{Root: root, Etc: etc}, l, name)
				continue
			case 1:
				fuzztree.Within(t, "Enable "+name, func() { changes, err = Enable(l, []string{name}) })
			case 2:
				fuzztree.Within(t, "Disable "+name, func() { changes, err = Disable(l, []string{name}) })
			case 3:
				fuzztree.Within(t, "Mask "+name, func() { changes, err = Mask(l, []string{name}) })
				if err == nil {
					checkChanges(t, etc, changes)
					changes = nil
					checkMasked(t, l, root, name, before)
				}
			case 4:
				fuzztree.Within(t, "Unmask "+name, func() { changes, err = Unmask(l, []string{name}) })
			case 5:
				fuzztree.Within(t, "Link "+name, func() { changes, err = Link(l, []string{filepath.Join(opt, name)}) })
			}
			checkChanges(t, etc, changes)
			var st string
			fuzztree.Within(t, "IsEnabled "+name, func() { st, err = IsEnabled(l, name) })
			checkState(t, name, st, err)
		}
	})
}

// checkChanges: the symlinks a call reports it made are in the config directory and are
// there, pointing where it says, unless the same call removed them again; what it reports
// removed is gone unless it was made again.
func checkChanges(t *testing.T, config string, changes []Change) {
	t.Helper()
	last := map[string]Change{}
	for _, c := range changes {
		if c.Type == ChangeSymlink || c.Type == ChangeUnlink {
			if !strings.HasPrefix(c.Path, config+"/") {
				t.Errorf("%v is outside the config directory %s", c, config)
			}
			last[c.Path] = c
		}
	}
	for p, c := range last {
		dest, err := os.Readlink(p)
		switch c.Type {
		case ChangeSymlink:
			if err != nil || dest != c.Source {
				t.Errorf("reported %q, but %s -> %q (%v)", c, p, dest, err)
			}
		case ChangeUnlink:
			if err == nil {
				t.Errorf("reported %q, but %s -> %q is there", c, p, dest)
			}
		}
	}
}

// checkMasked: after a successful mask the unit is masked, and unmask removes what mask
// made and nothing else.
func checkMasked(t *testing.T, l *unit.Loader, root, name string, before []string) {
	t.Helper()
	var st string
	fuzztree.Within(t, "IsEnabled "+name, func() { st, _ = IsEnabled(l, name) })
	if st != StateMasked {
		t.Errorf("Mask(%s) succeeded, then IsEnabled = %q", name, st)
	}
	masked := fuzztree.SymlinkSet(root)
	fuzztree.Within(t, "Unmask "+name, func() { _, _ = Unmask(l, []string{name}) })
	after := fuzztree.SymlinkSet(root)
	for _, s := range masked {
		if slices.Contains(before, s) && !slices.Contains(after, s) {
			t.Errorf("Unmask(%s) removed %s, which mask did not make", name, s)
		}
	}
	for _, s := range after {
		if !slices.Contains(before, s) {
			t.Errorf("Unmask(%s) kept %s, made by mask", name, s)
		}
	}
}
