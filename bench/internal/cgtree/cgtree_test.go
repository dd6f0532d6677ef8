package cgtree

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestWrapAndRemove runs a process through Wrap: it must be in the subtree in every
// hierarchy it lists in /proc/self/cgroup; Remove takes the subtree away with a process
// still in it.
func TestWrapAndRemove(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	tree, err := New("flint-cgtree-test")
	if err != nil {
		t.Skip(err)
	}
	removed := false
	defer func() {
		if !removed {
			tree.Remove()
		}
	}()
	dirs := tree.top.ProcsFiles()
	if len(dirs) == 0 {
		t.Fatal("no hierarchy")
	}
	argv := append(tree.Wrap(), "/bin/sh", "-c", "cat /proc/self/cgroup; echo end; exec sleep 60")
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	want := "/" + tree.top.Rel
	var seen []string
	in := 0
	for sc := bufio.NewScanner(out); sc.Scan() && sc.Text() != "end"; {
		seen = append(seen, sc.Text())
		if f := strings.SplitN(sc.Text(), ":", 3); len(f) == 3 && strings.HasSuffix(f[2], want) {
			in++
		}
	}
	t.Logf("in %s in %d hierarchies", want, in)
	if in != len(dirs) {
		t.Errorf("in %s in %d hierarchies, want %d (%v):\n%s", want, in, len(dirs), dirs, strings.Join(seen, "\n"))
	}

	tree.Remove()
	removed = true
	for _, f := range dirs {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s after Remove: %v", f, err)
		}
	}
	if err := cmd.Wait(); err == nil {
		t.Error("the process in the subtree was not killed")
	}
}
