package manager

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

// globMatch is fnmatch with FNM_NOESCAPE, as systemctl matches unit names.
func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"a@*", "a@x.service", true},
		{"a@*.service", "a@x.service", true},
		{"a@*.service", "a@x.socket", false},
		{"*@x.service", "b@x.service", true},
		{"a@[xy].service", "a@y.service", true},
		{"a@[xy].service", "a@z.service", false},
		{"a@?.service", "a@xy.service", false},
		{`a@foo\x2d*`, `a@foo\x2dbar.service`, true},
		{`a@foo\x2dbar.service`, `a@foo\x2dbar.service`, true},
		{`a@foo\x2dbar.service`, `a@foox2dbar.service`, false},
	} {
		if got := globMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func loadedNames(m *Manager) []string {
	var out []string
	for _, u := range m.order {
		out = append(out, u.Name)
	}
	sort.Strings(out)
	return out
}

// collectGarbage unloads what systemd's unit_gc_sweep unloads: inactive units that no kept
// unit refers to; an active unit keeps what it refers to, a failed one itself.
func TestCollectGarbage(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"top.target":     target("Top", "Wants=wanted.target", "After=ordered.target"),
		"wanted.target":  target("Wanted", "Wants=deep.target"),
		"ordered.target": target("Ordered"),
		"deep.target":    target("Deep"),
		"alone.target":   target("Alone"),
		"a@.target":      target("A %i"),
	})
	for _, n := range []string{"top.target", "alone.target", "a@x.target", "a@y.target", "ordered.target"} {
		m.load(n)
	}
	if err := m.enqueueErr("start", m.load("top.target"), "replace", nil); err != nil {
		t.Fatal(err)
	}
	if err := m.enqueueErr("start", m.load("a@x.target"), "replace", nil); err != nil {
		t.Fatal(err)
	}
	m.collectGarbage()
	want := []string{"a@x.target", "deep.target", "ordered.target", "top.target", "wanted.target"}
	if got := loadedNames(m); !slices.Equal(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
	if got := m.expandUnits([]string{"a@*", "alone"}); !slices.Equal(got, []string{"alone.service", "a@x.target"}) {
		t.Errorf("expandUnits = %v", got)
	}
	// Stopped, a@x goes, and so does ordered.target, which only top referred to; the
	// wanted ones stay, active.
	for _, n := range []string{"a@x.target", "top.target"} {
		if err := m.enqueueErr("stop", m.units[n], "replace", nil); err != nil {
			t.Fatal(err)
		}
	}
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"deep.target", "wanted.target"}) {
		t.Errorf("loaded after the stops: %v", got)
	}
	// A unit loaded anew starts from scratch.
	if u := m.load("top.target"); u.activeState() != Inactive {
		t.Errorf("top.target reloaded as %s", u.activeState())
	}
}

// TestCollectGarbageQueue: the sweep runs only when a unit that changed may go, yet misses
// nothing: a unit kept by a reference goes once a daemon-reload drops the reference, and a
// unit loaded for a look goes at the end of that event.
func TestCollectGarbageQueue(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"top.target":     target("Top", "After=ordered.target"),
		"ordered.target": target("Ordered"),
		"look.target":    target("Look"),
	})
	if err := m.enqueueErr("start", m.load("top.target"), "replace", nil); err != nil {
		t.Fatal(err)
	}
	m.load("ordered.target")
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"ordered.target", "top.target"}) {
		t.Fatalf("loaded %v", got)
	}
	// An event on the active unit: nothing may go, nothing goes.
	m.gcEnqueue(m.units["top.target"])
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"ordered.target", "top.target"}) {
		t.Fatalf("loaded after an event on top.target: %v", got)
	}
	m.load("look.target")
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"ordered.target", "top.target"}) {
		t.Fatalf("loaded after a look at look.target: %v", got)
	}
	// top.target no longer refers to ordered.target: after the reload, it goes.
	dir := m.loader.Paths()[0]
	if err := os.WriteFile(filepath.Join(dir, "top.target"), []byte(target("Top")), 0o644); err != nil {
		t.Fatal(err)
	}
	m.daemonReload()
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"top.target"}) {
		t.Fatalf("loaded after the reload: %v", got)
	}
}
