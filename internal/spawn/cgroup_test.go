package spawn

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/cgroup"
)

// TestCgroupPlacement starts a shell in a scratch cgroup of this machine's hierarchies: the
// shell, and what it forked at once, are in it in every hierarchy by the time it runs.
func TestCgroupPlacement(t *testing.T) {
	l := cgroup.Detect()
	if l.Kind == cgroup.None {
		t.Skip(l.Describe())
	}
	rel := "flint-spawn-test-" + strconv.Itoa(os.Getpid())
	g := &cgroup.Group{L: l, Rel: rel}
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	shims(t, func(t *testing.T) {
		out := runShell(t, Config{CgroupProcs: g.ProcsFiles()}, "cat /proc/self/cgroup; echo; cat /proc/$$/cgroup")
		self, parent, _ := strings.Cut(out, "\n\n")
		for _, lines := range []string{self, parent} {
			n := 0
			for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
				if strings.HasSuffix(line, "/"+rel) {
					n++
				}
			}
			if n != len(l.All) {
				t.Errorf("in %d hierarchies of %d:\n%s", n, len(l.All), lines)
			}
		}
	})
}

func TestCgroupPlacementFails(t *testing.T) {
	shims(t, func(t *testing.T) {
		p, err := Start(&Config{Path: "/bin/true", Argv: []string{"true"},
			CgroupProcs: []string{filepath.Join(t.TempDir(), "gone", "cgroup.procs")}})
		if err != nil {
			t.Fatal(err)
		}
		err = p.ExecResult()
		ws := waitPid(t, p.Pid)
		var ee *ExecError
		if !errors.As(err, &ee) || ee.Status != StatusCgroup || ee.Step != "cgroup.procs" || ee.Err != syscall.ENOENT {
			t.Fatalf("got %v", err)
		}
		if ws.ExitStatus() != StatusCgroup {
			t.Errorf("exit status %v", ws)
		}
	})
}

// BenchmarkStartCgroup is BenchmarkStart's default path without and with placement in a
// cgroup of every hierarchy of this machine (time to /bin/echo's first byte).
func BenchmarkStartCgroup(b *testing.B) {
	l := cgroup.Detect()
	if l.Kind == cgroup.None {
		b.Skip(l.Describe())
	}
	g := &cgroup.Group{L: l, Rel: "flint-spawn-bench-" + strconv.Itoa(os.Getpid())}
	if err := g.Create(); err != nil {
		b.Fatal(err)
	}
	defer g.Remove()
	for _, procs := range [][]string{nil, g.ProcsFiles()} {
		name := "none"
		if procs != nil {
			name = "cgroup-" + strconv.Itoa(len(procs))
		}
		b.Run(name, func(b *testing.B) {
			var first []int64
			buf := make([]byte, 16)
			for b.Loop() {
				r, w, _ := os.Pipe()
				t0 := nanotime()
				p, err := Start(&Config{Path: "/bin/echo", Argv: []string{"echo", "x"}, NewSession: true, Stdout: w, CgroupProcs: procs})
				w.Close()
				if err != nil {
					b.Fatal(err)
				}
				r.Read(buf)
				first = append(first, nanotime()-t0)
				r.Close()
				waitPid(b, p.Pid)
			}
			slices.Sort(first)
			b.ReportMetric(float64(first[len(first)/2]), "median-ns-to-first-byte")
		})
	}
}

func nanotime() int64 { return time.Now().UnixNano() }

// TestCgroupDirFD: a child started with CgroupDirFD is in that cgroup2 group, whichever
// interpreter starts it (the clone path places it at the clone, the shims write the file).
func TestCgroupDirFD(t *testing.T) {
	l := cgroup.Detect()
	if l.Kind == cgroup.None || !l.Tracking.V2 {
		t.Skip("no writable cgroup2 hierarchy")
	}
	rel := "flint-spawn-dirfd-" + strconv.Itoa(os.Getpid())
	g := &cgroup.Group{L: &cgroup.Layout{Kind: l.Kind, Tracking: l.Tracking, All: []*cgroup.Hierarchy{l.Tracking}}, Rel: rel}
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	fd := g.OpenTracking()
	if fd < 0 {
		t.Fatal("cannot open the group")
	}
	defer syscall.Close(fd)
	shims(t, func(t *testing.T) {
		out := runShell(t, Config{CgroupDirFD: fd, CgroupDirProcs: g.ProcsFiles()[0]}, "grep '^0::' /proc/self/cgroup")
		if !strings.HasSuffix(strings.TrimSpace(out), "/"+rel) {
			t.Errorf("child in %q, want the group %s", out, rel)
		}
	})
	if noIntoCgroup {
		t.Error("this kernel refused CLONE_INTO_CGROUP")
	}
}
