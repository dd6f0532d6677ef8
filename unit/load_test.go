package unit

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// describeUnit renders the loading-relevant fields of u, with paths relative to root.
func describeUnit(u *Unit, root string) string {
	rel := func(p string) string {
		if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	var b strings.Builder
	fmt.Fprintf(&b, "== %s\n", u.Name)
	fmt.Fprintf(&b, "Names=%s\n", strings.Join(u.Names, " "))
	fmt.Fprintf(&b, "LoadState=%s\n", u.LoadState)
	if u.LoadError != "" {
		fmt.Fprintf(&b, "LoadError=%s\n", strings.ReplaceAll(u.LoadError, root+"/", ""))
	}
	if u.Prefix != "" || u.Instance != "" || u.Template != "" {
		fmt.Fprintf(&b, "Prefix=%s Instance=%s Template=%s\n", u.Prefix, u.Instance, u.Template)
	}
	if u.FragmentPath != "" {
		fmt.Fprintf(&b, "FragmentPath=%s\n", rel(u.FragmentPath))
	}
	for _, p := range u.DropInPaths {
		fmt.Fprintf(&b, "DropIn=%s\n", rel(p))
	}
	if u.LoadState == Loaded {
		fmt.Fprintf(&b, "Description=%s\n", u.Unit.Description)
	}
	for _, l := range []struct {
		k string
		v []string
	}{
		{"Wants", u.Unit.Wants}, {"Requires", u.Unit.Requires}, {"Conflicts", u.Unit.Conflicts},
		{"Before", u.Unit.Before}, {"After", u.Unit.After},
		{"Triggers", u.Triggers}, {"TriggeredBy", u.TriggeredBy},
	} {
		if len(l.v) > 0 {
			fmt.Fprintf(&b, "%s=%s\n", l.k, strings.Join(l.v, " "))
		}
	}
	return b.String()
}

// TestLoadGolden loads the units listed in testdata/load/*/cases from the scenario's
// etc, run and lib directories (in that priority) and compares with golden.txt.
func TestLoadGolden(t *testing.T) {
	scen, _ := filepath.Glob("testdata/load/*/cases")
	if len(scen) == 0 {
		t.Fatal("no scenarios")
	}
	for _, c := range scen {
		dir := filepath.Dir(c)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			root, err := filepath.Abs(dir)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(c)
			if err != nil {
				t.Fatal(err)
			}
			l := NewLoader(System, []string{root + "/etc", root + "/run", root + "/lib"})
			var out strings.Builder
			for _, name := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				u := l.Load(name)
				if u == nil {
					t.Fatalf("Load(%q) = nil", name)
				}
				fmt.Fprintf(&out, "# Load(%q)\n%s\n", name, describeUnit(u, root))
			}
			fmt.Fprintf(&out, "# List()\n%s\n", strings.Join(l.List(), "\n"))
			golden := filepath.Join(dir, "golden.txt")
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if out.String() != string(want) {
				t.Errorf("mismatch with %s (run go test -run TestLoadGolden -update and diff):\n%s", golden, out.String())
			}
		})
	}
}
