package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// vacuumDir writes journal files: two of an earlier run (a, b), then the current run's two
// (c, the active d), each 8 KiB, and an empty one of the earlier run; a file that is no
// journal file stays whatever happens.
func vacuumDir(t *testing.T) (dir string, names map[string]string) {
	t.Helper()
	dir = t.TempDir()
	id1, id2 := strings.Repeat("1", 32), strings.Repeat("2", 32)
	names = map[string]string{
		"a":     fmt.Sprintf("run-%020d-%s-0.jsonl", 1000, id1),
		"b":     fmt.Sprintf("run-%020d-%s-1.jsonl", 1000, id1),
		"empty": fmt.Sprintf("run-%020d-%s-2.jsonl", 1000, id1),
		"c":     fmt.Sprintf("run-%020d-%s-0.jsonl", 2000, id2),
		"d":     fmt.Sprintf("run-%020d-%s-1.jsonl", 2000, id2),
	}
	old := time.Now().Add(-48 * time.Hour)
	for k, n := range names {
		data := []byte(strings.Repeat("x", 8<<10))
		if k == "empty" {
			data = nil
		}
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, data, 0o640); err != nil {
			t.Fatal(err)
		}
		if k == "a" || k == "b" {
			os.Chtimes(p, old, old)
		}
	}
	os.WriteFile(filepath.Join(dir, "other.txt"), []byte("keep"), 0o644)
	return dir, names
}

func TestVacuum(t *testing.T) {
	for _, tc := range []struct {
		name string
		lim  VacuumLimits
		gone []string // besides the empty file, which always goes
	}{
		{"no limits", VacuumLimits{}, nil},
		{"size holds", VacuumLimits{MaxUse: 1 << 30}, nil},
		{"size: oldest first, never the active file", VacuumLimits{MaxUse: 10 << 10}, []string{"a", "b"}},
		{"size 1 byte", VacuumLimits{MaxUse: 1}, []string{"a", "b", "c"}},
		{"files, the active one counted", VacuumLimits{MaxFiles: 2}, []string{"a", "b"}},
		{"files 3", VacuumLimits{MaxFiles: 3}, []string{"a"}},
		{"time", VacuumLimits{Before: time.Now().Add(-24 * time.Hour)}, []string{"a", "b"}},
		{"time, all", VacuumLimits{Before: time.Now().Add(time.Hour)}, []string{"a", "b", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, names := vacuumDir(t)
			before, err := Usage(dir)
			if err != nil || before == 0 {
				t.Fatalf("Usage: %d %v", before, err)
			}
			removed, err := Vacuum(dir, tc.lim)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var freed int64
			for _, r := range removed {
				freed += r.Usage
				for k, n := range names {
					if filepath.Join(dir, n) == r.Path {
						got = append(got, k)
						if r.Empty != (k == "empty") {
							t.Errorf("%s: Empty %v", k, r.Empty)
						}
					}
				}
			}
			want := append([]string{"empty"}, tc.gone...)
			if !slices.Equal(got, want) {
				t.Errorf("removed %v, want %v (in this order)", got, want)
			}
			for k, n := range names {
				_, err := os.Stat(filepath.Join(dir, n))
				if slices.Contains(want, k) == (err == nil) {
					t.Errorf("%s: exists %v", k, err == nil)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "other.txt")); err != nil {
				t.Errorf("a file that is no journal file: %v", err)
			}
			if after, _ := Usage(dir); after != before-freed {
				t.Errorf("usage %d after freeing %d of %d", after, freed, before)
			}
		})
	}
	if r, err := Vacuum(filepath.Join(t.TempDir(), "none"), VacuumLimits{MaxUse: 1}); r != nil || err != nil {
		t.Errorf("a directory that does not exist: %v %v", r, err)
	}
}
