package unit

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestReadFile: readFileInto returns what os.ReadFile returns, for sizes around its buffer's
// growth steps, and errors that name the file and satisfy the same checks.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 1023, 1024, 1025, 2048, 4097, 100 << 10} {
		p := filepath.Join(dir, "f")
		data := bytes.Repeat([]byte("[Unit]\nA=b\n"), size/11+1)[:size]
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, _, err := readFileInto(p, nil)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("size %d: got %d bytes, err %v", size, len(got), err)
		}
	}
	for _, tc := range []struct {
		name  string
		path  string
		check func(error) bool
	}{
		{"missing", filepath.Join(dir, "nope"), func(err error) bool { return os.IsNotExist(err) && errors.Is(err, fs.ErrNotExist) }},
		{"directory", dir, func(err error) bool { return err != nil }},
	} {
		_, _, err := readFileInto(tc.path, nil)
		_, want := os.ReadFile(tc.path)
		var pe *fs.PathError
		if !tc.check(err) || !errors.As(err, &pe) || pe.Path != tc.path || err.Error() != want.Error() {
			t.Errorf("%s: readFileInto error %v, os.ReadFile's %v", tc.name, err, want)
		}
	}
}

// TestReadFileInto: the scratch buffer is reused when it is large enough and replaced when
// not, the modification time is os.Stat's, and files whose size fstat does not know (procfs)
// are read to their end.
func TestReadFileInto(t *testing.T) {
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small"), filepath.Join(dir, "big")
	if err := os.WriteFile(small, []byte("[Unit]\nDescription=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bigData := bytes.Repeat([]byte("# comment line\n"), 500)
	if err := os.WriteFile(big, bigData, 0o644); err != nil {
		t.Fatal(err)
	}
	scratch := make([]byte, 0, 4096)
	got, mt, err := readFileInto(small, scratch)
	st, _ := os.Stat(small)
	if err != nil || string(got) != "[Unit]\nDescription=x\n" || !mt.Equal(st.ModTime()) {
		t.Fatalf("small: %q, %v (stat %v), %v", got, mt, st.ModTime(), err)
	}
	if &got[:1][0] != &scratch[:1][0] {
		t.Error("small: the scratch buffer was not reused")
	}
	got, _, err = readFileInto(big, scratch)
	if err != nil || !bytes.Equal(got, bigData) {
		t.Fatalf("big: %d bytes, %v", len(got), err)
	}
	want, _ := os.ReadFile("/proc/self/status")
	got, _, err = readFileInto("/proc/self/status", nil)
	if err != nil || len(got) == 0 || !bytes.HasPrefix(got, []byte("Name:")) || len(got) < len(want)/2 {
		t.Errorf("/proc/self/status: %d bytes (os.ReadFile %d), %v", len(got), len(want), err)
	}
	if _, _, err := readFileInto(filepath.Join(dir, "nope"), scratch); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
