package unit

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestReadFile: readFile returns what os.ReadFile returns, for sizes around its buffer's
// growth steps, and errors that name the file and satisfy the same checks.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 1023, 1024, 1025, 2048, 4097, 100 << 10} {
		p := filepath.Join(dir, "f")
		data := bytes.Repeat([]byte("[Unit]\nA=b\n"), size/11+1)[:size]
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readFile(p)
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
		_, err := readFile(tc.path)
		_, want := os.ReadFile(tc.path)
		var pe *fs.PathError
		if !tc.check(err) || !errors.As(err, &pe) || pe.Path != tc.path || err.Error() != want.Error() {
			t.Errorf("%s: readFile error %v, os.ReadFile's %v", tc.name, err, want)
		}
	}
}
