package unit

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
		{"directory", dir, func(err error) bool { return errors.Is(err, syscall.EISDIR) }},
	} {
		_, _, err := readFileInto(tc.path, nil)
		var pe *fs.PathError
		if !tc.check(err) || !errors.As(err, &pe) || pe.Path != tc.path {
			t.Errorf("%s: readFileInto error %v", tc.name, err)
		}
	}
}

// TestReadFileTypes: ReadFile reads regular files and /dev/null (empty) and refuses every
// other file type at once, naming the file: a FIFO without a writer (which would block
// open(2)), a socket (ENXIO, as systemd), /dev/zero and a block device (which never end or
// read a disk), through a symlink as well; a file over MaxFileSize is refused unread.
func TestReadFileTypes(t *testing.T) {
	dir := t.TempDir()
	tree := buildFileTypes(t, dir)
	for _, tc := range []struct {
		name string
		want error // nil: read; else errors.Is
		kind string
	}{
		{"regular", nil, ""},
		{"null", nil, ""},
		{"link-null", nil, ""},
		{"fifo", ErrNotRegular, "a FIFO"},
		{"link-fifo", ErrNotRegular, "a FIFO"},
		{"socket", syscall.ENXIO, ""},
		{"zero", ErrNotRegular, "a character device"},
		{"link-zero", ErrNotRegular, "a character device"},
		{"block", ErrNotRegular, "a block device"},
		{"dir", syscall.EISDIR, ""},
		{"loop", syscall.ELOOP, ""},
		{"dangling", fs.ErrNotExist, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tree[tc.name]
			data, err := ReadFile(p)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("ReadFile(%s): %v", p, err)
				}
				if tc.name == "regular" && string(data) != "[Unit]\n" {
					t.Errorf("read %q", data)
				}
				return
			}
			var pe *fs.PathError
			if !errors.Is(err, tc.want) || !errors.As(err, &pe) || pe.Path != p {
				t.Fatalf("ReadFile(%s) = %q, %v; want an error naming the file that is %v", p, data, err, tc.want)
			}
			if tc.kind != "" && !strings.Contains(err.Error(), tc.kind) {
				t.Errorf("error %q does not say %q", err, tc.kind)
			}
			if errors.Is(tc.want, ErrNotRegular) && !errors.Is(err, syscall.EBADFD) {
				t.Errorf("error %v does not match EBADFD", err)
			}
		})
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, MaxFileSize+1); err != nil { // sparse: nothing is written
		t.Fatal(err)
	}
	if _, err := ReadFile(big); !errors.Is(err, ErrTooLarge) || !errors.Is(err, syscall.E2BIG) || !strings.Contains(err.Error(), big) {
		t.Errorf("ReadFile of a file over MaxFileSize: %v", err)
	}
	if err := os.Truncate(big, MaxFileSize); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(big); err != nil || len(data) != MaxFileSize {
		t.Errorf("ReadFile of a file of MaxFileSize bytes: %d bytes, %v", len(data), err)
	}
}

// buildFileTypes makes one file of every type under dir and returns their paths by name.
// Device nodes need root (CAP_MKNOD): without it the test fails, as a missing tool would.
func buildFileTypes(t *testing.T, dir string) map[string]string {
	t.Helper()
	p := func(n string) string { return filepath.Join(dir, n) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(p("regular"), []byte("[Unit]\n"), 0o644))
	must(syscall.Mkfifo(p("fifo"), 0o644))
	ln, err := net.Listen("unix", p("socket"))
	must(err)
	t.Cleanup(func() { ln.Close() })
	must(syscall.Mknod(p("zero"), syscall.S_IFCHR|0o644, 1<<8|5))
	must(syscall.Mknod(p("null"), syscall.S_IFCHR|0o644, 1<<8|3))
	must(syscall.Mknod(p("block"), syscall.S_IFBLK|0o600, 7<<8|0)) // loop0's numbers
	must(os.Mkdir(p("dir"), 0o755))
	must(os.Symlink(p("fifo"), p("link-fifo")))
	must(os.Symlink("/dev/zero", p("link-zero")))
	must(os.Symlink("/dev/null", p("link-null")))
	must(os.Symlink("loop", p("loop")))
	must(os.Symlink("/nonexistent/x", p("dangling")))
	names := []string{"regular", "fifo", "socket", "zero", "null", "block", "dir", "link-fifo", "link-zero", "link-null", "loop", "dangling"}
	out := map[string]string{}
	for _, n := range names {
		out[n] = p(n)
	}
	return out
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
	if err != nil || string(got) != "[Unit]\nDescription=x\n" || !mt.modTime().Equal(st.ModTime()) {
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
