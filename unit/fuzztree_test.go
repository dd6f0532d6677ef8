package unit

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

// This file turns a fuzzer's bytes into a small tree of unit directories (fuzzTree) for the
// loader and install fuzz targets: two search path directories (etc, the config directory,
// then lib) and one outside the path (opt), holding unit files, aliases, linked unit files,
// masks, FIFOs, sockets, devices, directories, drop-ins and .wants/.requires entries.

// fuzzNames are the only unit names a tree uses: few enough that files collide, alias each
// other and enable each other.
var fuzzNames = []string{"a.service", "b.service", "c.socket", "t.target", "u@.service", "u@x.service",
	"d-e.service", "multi-user.target"}

// fuzzSnippets are the pieces unit file contents are made of, with the fuzzer's own bytes.
var fuzzSnippets = []string{
	"[Unit]\nDescription=x\n", "[Service]\nExecStart=/bin/true\n", "[Socket]\nListenStream=/run/fz.sock\n",
	"[Install]\nWantedBy=multi-user.target\n", "[Install]\nRequiredBy=t.target\n", "[Install]\nAlias=b.service\n",
	"[Install]\nAlso=b.service\n", "[Install]\nAlso=a.service c.socket\n", "[Install]\nDefaultInstance=x\n",
	"[Install]\nWantedBy=%p.target t.target\n", "[Install]\nAlias=u@y.service\n", "[Install]\nWantedBy=\n",
	"[Install\n", "\xff\xfe\n", "\x1b[2J=1\n", "[Unit]\nDescription=\x1b]0;title\x07\n", "[Unit]\nRequires=b.service\n",
}

// fuzzReader hands out the fuzzer's bytes; past the end it gives zeros.
type fuzzReader struct{ data []byte }

func (r *fuzzReader) byte() byte {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

func (r *fuzzReader) pick(n int) int { return int(r.byte()) % n }

func (r *fuzzReader) bytes(max int) []byte {
	n := min(r.pick(max+1), len(r.data))
	b := r.data[:n]
	r.data = r.data[n:]
	return b
}

func (r *fuzzReader) content() []byte {
	var b []byte
	for i, n := 0, r.pick(4); i < n; i++ {
		b = append(b, fuzzSnippets[r.pick(len(fuzzSnippets))]...)
	}
	return append(b, r.bytes(48)...)
}

// fuzzTree is a tree built in a temporary directory.
type fuzzTree struct {
	root           string
	etc, lib, opt  string
	closers        []func()
	hasSpecialFile bool // a FIFO, socket or device somewhere
}

// buildFuzzTree makes the tree that data describes (at most 24 operations). Operations that
// fail (a name already taken) are skipped: any tree is a valid input.
func buildFuzzTree(t *testing.T, data []byte) *fuzzTree {
	t.Helper()
	root := t.TempDir()
	ft := &fuzzTree{root: root, etc: filepath.Join(root, "etc"), lib: filepath.Join(root, "lib"), opt: filepath.Join(root, "opt")}
	for _, d := range []string{ft.etc, ft.lib, ft.opt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, c := range ft.closers {
			c()
		}
	})
	r := &fuzzReader{data: data}
	dirs := []string{ft.etc, ft.lib}
	for op := 0; op < 24 && len(r.data) > 0; op++ {
		dir := dirs[r.pick(2)]
		name := fuzzNames[r.pick(len(fuzzNames))]
		p := filepath.Join(dir, name)
		switch r.pick(10) {
		case 0, 1: // a unit file
			writeNew(p, r.content())
		case 2: // an alias: a symlink to another name, in this directory or the other one
			other := fuzzNames[r.pick(len(fuzzNames))]
			target := other
			if r.pick(2) == 1 {
				target = filepath.Join(dirs[r.pick(2)], other)
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
			if r.pick(4) == 0 {
				d = filepath.Join(dir, strings.TrimPrefix(filepath.Ext(name), ".")+".d") // service.d, ...
			}
			_ = os.MkdirAll(d, 0o755)
			ft.dropIn(r, filepath.Join(d, []string{"a.conf", "b.conf", "z.conf"}[r.pick(3)]))
		case 8: // a .wants/ or .requires/ entry
			d := filepath.Join(dir, fuzzNames[r.pick(len(fuzzNames))]+[]string{".wants", ".requires"}[r.pick(2)])
			_ = os.MkdirAll(d, 0o755)
			target := filepath.Join("..", name)
			if r.pick(3) == 0 {
				target = "/nonexistent/" + name
			}
			_ = os.Symlink(target, filepath.Join(d, name))
		case 9: // a character device in the unit directory itself
			if syscall.Mknod(p, syscall.S_IFCHR|0o644, 1<<8|5) == nil {
				ft.hasSpecialFile = true
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

func (ft *fuzzTree) fifo(p string) {
	if syscall.Mkfifo(p, 0o644) == nil {
		ft.hasSpecialFile = true
	}
}

func (ft *fuzzTree) socket(p string) {
	if ln, err := net.Listen("unix", p); err == nil {
		ft.closers = append(ft.closers, func() { ln.Close() })
		ft.hasSpecialFile = true
	}
}

// special makes p a symlink out of the search path.
func (ft *fuzzTree) special(r *fuzzReader, p, name string) {
	var target string
	switch r.pick(8) {
	case 0:
		target = "/dev/null"
	case 1:
		target = "/dev/zero"
	case 2:
		target = filepath.Join(ft.opt, "missing", name)
	case 3: // a linked unit file
		target = filepath.Join(ft.opt, name)
		writeNew(target, r.content())
	case 4:
		target = filepath.Join(ft.opt, "fifo")
		ft.fifo(target)
	case 5: // a loop outside the path
		target = filepath.Join(ft.opt, "loop1")
		_ = os.Symlink(filepath.Join(ft.opt, "loop2"), target)
		_ = os.Symlink(target, filepath.Join(ft.opt, "loop2"))
	case 6:
		target = filepath.Join(ft.opt, "dir.service")
		_ = os.Mkdir(target, 0o755)
	case 7: // a chain: opt/chain -> opt/<name>
		target = filepath.Join(ft.opt, "chain")
		writeNew(filepath.Join(ft.opt, name), r.content())
		_ = os.Symlink(filepath.Join(ft.opt, name), target)
	}
	_ = os.Symlink(target, p)
}

// dropIn makes p a drop-in of some kind.
func (ft *fuzzTree) dropIn(r *fuzzReader, p string) {
	switch r.pick(7) {
	case 0, 1:
		writeNew(p, r.content())
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

// symlinks lists every symlink under dir as "path -> target".
func symlinkSet(dir string) []string {
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

// within runs f and fails the test if it does not return in time: whatever a tree holds, no
// loader or install call may block (a FIFO opened without O_NONBLOCK blocks for ever).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not return within 20s: blocked", what)
	}
}
