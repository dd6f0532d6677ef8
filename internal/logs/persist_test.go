package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fileSizes(t *testing.T, dir string) (n int, total int64) {
	t.Helper()
	files, err := listFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		total += f.size
	}
	return len(files), total
}

// Two runs write to one directory; the files rotate and stay within MaxUse, the newest
// lines kept; Runs lists both runs with their lines, Select reads them.
func TestPersistRunsAndRotation(t *testing.T) {
	dir := t.TempDir()
	opt := DiskOptions{MaxUse: 64 << 10, MaxFileBytes: 8 << 10}
	first := NewStore(10, "")
	if err := first.Persist(dir, opt); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		first.Append(Line{Unit: "a.service", Stream: "stdout", Priority: 6, Text: fmt.Sprintf("first %d %s", i, strings.Repeat("x", 100)),
			Source: &Source{Ident: "a"}})
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if n, total := fileSizes(t, dir); n < 2 || total > opt.MaxUse {
		t.Errorf("%d files of %d bytes, bound %d", n, total, opt.MaxUse)
	}
	second := NewStore(10, "")
	if err := second.Persist(dir, opt); err != nil {
		t.Fatal(err)
	}
	second.Append(Line{Unit: "b.service", Stream: "stdout", Priority: 3, Text: "second run", Source: &Source{Ident: "b"}})
	second.Close()
	// A line cut short (a manager killed while writing) is skipped.
	files, _ := listFiles(dir)
	last := filepath.Join(dir, files[len(files)-1].name)
	f, _ := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"t":1,"x":"cut`)
	f.Close()

	runs, err := Runs(dir, filepath.Join(dir, "absent"))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != first.ID() || runs[1].ID != second.ID() {
		t.Fatalf("runs %+v", runs)
	}
	ls, err := runs[0].Select(&Filter{Units: []string{"a.service"}}, Range{Lines: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) == 0 || len(ls) == 1000 || !strings.HasPrefix(ls[len(ls)-1].Text, "first 999 ") || ls[len(ls)-1].Source.Ident != "a" {
		t.Errorf("%d lines of the first run, the last %+v", len(ls), ls[len(ls)-1])
	}
	for i := 1; i < len(ls); i++ {
		if ls[i].Seq != ls[i-1].Seq+1 {
			t.Fatalf("line %d is number %d after %d: the oldest lines go first", i, ls[i].Seq, ls[i-1].Seq)
		}
	}
	ls, _ = runs[1].Select(&Filter{Priorities: 1 << 3}, Range{Lines: -1})
	if len(ls) != 1 || ls[0].Text != "second run" || ls[0].Unit != "b.service" || runs[1].First.IsZero() {
		t.Errorf("second run: %+v", ls)
	}
	if u := runs[1].Units(); len(u) != 1 || u[0] != "b.service" {
		t.Errorf("units of the second run: %q", u)
	}
}

// A store whose directory cannot be made keeps its lines in memory.
func TestPersistFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	s := NewStore(10, "")
	if err := s.Persist(filepath.Join(file, "journal"), DiskOptions{}); err == nil {
		t.Error("a journal under a file")
	}
	s.Append(Line{Unit: "x", Text: "kept"})
	if ls := s.Select(nil, Range{Lines: -1}); len(ls) != 1 {
		t.Errorf("lines %+v", ls)
	}
	s.Close()
}
