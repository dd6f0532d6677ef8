package unit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSliceUnits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("web.slice", "[Unit]\nDescription=Web\n[Slice]\nMemoryMax=1G\nCPUWeight=20\nTasksMax=30\nBogus=1\n")
	write("db-x.slice.d/10-limit.conf", "[Slice]\nMemoryHigh=100M\n")
	l := NewLoader(System, []string{dir})

	web := l.Load("web.slice")
	if web.LoadState != Loaded || web.Slice == nil {
		t.Fatalf("web.slice %s %v", web.LoadState, web.Diagnostics)
	}
	r := web.Slice.Resources
	if r.MemoryMax != 1<<30 || r.CPUWeight != 20 || r.TasksMax != 30 {
		t.Errorf("web.slice resources %d %d %d", r.MemoryMax, r.CPUWeight, r.TasksMax)
	}
	if len(web.Diagnostics) != 1 || !strings.Contains(web.Diagnostics[0].String(), "web.slice:7: warning: Unknown key 'Bogus' in section [Slice]") {
		t.Errorf("diagnostics %v", web.Diagnostics)
	}
	if !contains(web.Unit.Conflicts, "shutdown.target") || !contains(web.Unit.Before, "shutdown.target") {
		t.Errorf("default dependencies: %v %v", web.Unit.Conflicts, web.Unit.Before)
	}

	tests := []struct {
		name, desc string
		ok         bool
	}{
		{"db-x.slice", "Slice /db/x", true},
		{"-.slice", "Root Slice", true},
		{"system.slice", "System Slice", true},
		{"user.slice", "User and Session Slice", true},
		{`a\x2db.slice`, "Slice /a-b", true},
		{"a--b.slice", "", false},
		{"-a.slice", "", false},
		{"t@i.slice", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := l.Load(tc.name)
			if (u.LoadState == Loaded) != tc.ok {
				t.Fatalf("LoadState %s (%s)", u.LoadState, u.LoadError)
			}
			if tc.ok && u.Unit.Description != tc.desc {
				t.Errorf("Description %q, want %q", u.Unit.Description, tc.desc)
			}
		})
	}
	if u := l.Load("db-x.slice"); u.Slice.Resources.MemoryHigh != 100<<20 || len(u.DropInPaths) != 1 {
		t.Errorf("implicit slice's drop-in not applied: %d %v", u.Slice.Resources.MemoryHigh, u.DropInPaths)
	}
	if u := l.Load("-.slice"); u.Unit.DefaultDependencies || len(u.Unit.Conflicts) != 0 {
		t.Errorf("-.slice has default dependencies")
	}
	ec := ExecContext{}
	if sec, err := SetResource(TypeSlice, &ec, "MemoryMax", "5M"); err != nil || sec != "Slice" || ec.MemoryMax != 5<<20 {
		t.Errorf("SetResource on a slice: %q %v %d", sec, err, ec.MemoryMax)
	}
	for _, n := range []string{"a-b-c.slice", "a.slice", "-.slice"} {
		if got, want := SliceParent(n), map[string]string{"a-b-c.slice": "a-b.slice", "a.slice": "-.slice", "-.slice": ""}[n]; got != want {
			t.Errorf("SliceParent(%s) %q, want %q", n, got, want)
		}
	}
}
