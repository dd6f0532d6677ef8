// Package fuzztree turns a fuzzer's bytes into a small tree of unit directories (Tree) for the
// fuzz targets of unit and unit/install: two search path directories (etc, the config directory,
// then lib) and one outside the path (opt), holding unit files, aliases, linked unit files,
// masks, FIFOs, sockets, devices, directories, drop-ins and .wants/.requires entries.
package fuzztree

import (
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Names are the only unit names a tree uses: few enough that files collide, alias each
// other and enable each other.
var Names = []string{"a.service", "b.service", "c.socket", "t.target", "u@.service", "u@x.service",
	"d-e.service", "multi-user.target"}

// fuzzSnippets are the pieces unit file contents are made of, with the fuzzer's own bytes.
var fuzzSnippets = []string{
	"[Unit]\nDescription=x\n", "[Service]\nExecStart=/bin/true\n", "[Socket]\nListenStream=/run/fz.sock\n",
	"[Install]\nWantedBy=multi-user.target\n", "[Install]\nRequiredBy=t.target\n", "[Install]\nAlias=b.service\n",
	"[Install]\nAlso=b.service\n", "[Install]\nAlso=a.service c.socket\n", "[Install]\nDefaultInstance=x\n",
	"[Install]\nWantedBy=%p.target t.target\n", "[Install]\nAlias=u@y.service\n", "[Install]\nWantedBy=\n",
	"[Install\n", "\xff\xfe\n", "\x1b[2J=1\n", "[Unit]\nDescription=\x1b]0;title\x07\n", "[Unit]\nRequires=b.service\n",
}

// Reader hands out the fuzzer's bytes; past the end it gives zeros.
type Reader struct{ data []byte }

func (r *Reader) byte() byte {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

func (r *Reader) Pick(n int) int { return int(r.byte()) % n }

func (r *Reader) Bytes(max int) []byte {
	n := min(r.Pick(max+1), len(r.data))
	b := r.data[:n]
	r.data = r.data[n:]
	return b
}

func (r *Reader) Content() []byte {
	var b []byte
	for i, n := 0, r.Pick(4); i < n; i++ {
		b = append(b, fuzzSnippets[r.Pick(len(fuzzSnippets))]...)
	}
	return append(b, r.Bytes(48)...)
}

// Tree is a tree built in a temporary directory.
type Tree struct {
	Root           string
	Etc, Lib, Opt  string // the config directory, the other search path directory, one outside the path
	closers        []func()
	HasSpecialFile bool // a FIFO, socket or device somewhere
}

// Build makes the tree that data describes (at most 24 operations). Operations that
// fail (a name already taken) are skipped: any tree is a valid input.
func Build(t *testing.T, data []byte) *Tree {
	t.Helper()
	root := t.TempDir()
	ft := &Tree{Root: root, Etc: filepath.Join(root, "etc"), Lib: filepath.Join(root, "lib"), Opt: filepath.Join(root, "opt")}
	for _, d := range []string{ft.Etc, ft.Lib, ft.Opt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, c := range ft.closers {
			c()
		}
	})
	r := NewReader(data)
	dirs := []string{ft.Etc, ft.Lib}
	for op := 0; op < 24 && len(r.data) > 0; op++ {
		dir := dirs[r.Pick(2)]
		name := Names[r.Pick(len(Names))]
		p := filepath.Join(dir, name)
		switch r.Pick(10) {
		case 0, 1: // a unit file
			writeNew(p, r.Content())
		case 2: // an alias: a symlink to another name, in this directory or the other one
			other := Names[r.Pick(len(Names))]
			target := other
			if r.Pick(2) == 1 {
				target = filepath.Join(dirs[r.Pick(2)], other)
			}
			_ = os.Symlink(target, p)
		case 3: // a symlink out of the path: linked unit file, mask, device, dangling, loop
			ft.special(r, p, name)
		case 4:
			ft.fifo(p)
		case 5:
			_ = os.Mkdir(p, 0o755)
		case 6:
			ft.socket(p)
		case 7: // a drop-in
			d := p + ".d"
			if r.Pick(4) == 0 {
				d = filepath.Join(dir, strings.TrimPrefix(filepath.Ext(name), ".")+".d") // service.d, ...
			}
			_ = os.MkdirAll(d, 0o755)
			ft.dropIn(r, filepath.Join(d, []string{"a.conf", "b.conf", "z.conf"}[r.Pick(3)]))
		case 8: // a .wants/ or .requires/ entry
			d := filepath.Join(dir, Names[r.Pick(len(Names))]+[]string{".wants", ".requires"}[r.Pick(2)])
			_ = os.MkdirAll(d, 0o755)
			target := filepath.Join("..", name)
			if r.Pick(3) == 0 {
				target = "/nonexistent/" + name
			}
			_ = os.Symlink(target, filepath.Join(d, name))
		case 9: // a character device in the unit directory itself
			if syscall.Mknod(p, syscall.S_IFCHR|0o644, 1<<8|5) == nil {
				ft.HasSpecialFile = true
			}
		}
	}
	return ft
}

// writeNew creates p with data unless the name is taken: os.WriteFile would block on a FIFO
// made there before, or write through a symlink.
func writeNew(p string, data []byte) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return
	}
	f.Write(data)
	f.Close()
}

func (ft *Tree) fifo(p string) {
	if syscall.Mkfifo(p, 0o644) == nil {
		ft.HasSpecialFile = true
	}
}

func (ft *Tree) socket(p string) {
	if ln, err := net.Listen("unix", p); err == nil {
		ft.closers = append(ft.closers, func() { ln.Close() })
		ft.HasSpecialFile = true
	}
}

// special makes p a symlink out of the search path.
func (ft *Tree) special(r *Reader, p, name string) {
	var target string
	switch r.Pick(8) {
	case 0:
		target = "/dev/null"
	case 1:
		target = "/dev/zero"
	case 2:
		target = filepath.Join(ft.Opt, "missing", name)
	case 3: // a linked unit file
		target = filepath.Join(ft.Opt, name)
		writeNew(target, r.Content())
	case 4:
		target = filepath.Join(ft.Opt, "fifo")
		ft.fifo(target)
	case 5: // a loop outside the path
		target = filepath.Join(ft.Opt, "loop1")
		_ = os.Symlink(filepath.Join(ft.Opt, "loop2"), target)
		_ = os.Symlink(target, filepath.Join(ft.Opt, "loop2"))
	case 6:
		target = filepath.Join(ft.Opt, "dir.service")
		_ = os.Mkdir(target, 0o755)
	case 7: // a chain: opt/chain -> opt/<name>
		target = filepath.Join(ft.Opt, "chain")
		writeNew(filepath.Join(ft.Opt, name), r.Content())
		_ = os.Symlink(filepath.Join(ft.Opt, name), target)
	}
	_ = os.Symlink(target, p)
}

// dropIn makes p a drop-in of some kind.
func (ft *Tree) dropIn(r *Reader, p string) {
	switch r.Pick(7) {
	case 0, 1:
		writeNew(p, r.Content())
	case 2:
		ft.fifo(p)
	case 3:
		_ = os.Symlink("/dev/zero", p)
	case 4:
		_ = os.Symlink("/dev/null", p)
	case 5:
		_ = os.Mkdir(p, 0o755)
	case 6:
		_ = os.Symlink("/nonexistent/x.conf", p)
	}
}

// SymlinkSet lists every symlink under dir as "path -> target".
func SymlinkSet(dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink != 0 {
			t, _ := os.Readlink(p)
			out = append(out, p+" -> "+t)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// Within runs f and fails the test if it does not return in time: whatever a tree holds, no
// loader or install call may block (a FIFO opened without O_NONBLOCK blocks for ever).
func Within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not return Within 20s: blocked", what)
	}
}

// NewReader returns a Reader of data.
func NewReader(data []byte) *Reader { return &Reader{data: data} }

// Left is the number of bytes not yet handed out.
func (r *Reader) Left() int { return len(r.data) }
