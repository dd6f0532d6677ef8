package cgroup

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestWatcherTellsEmptied: the watch of a cgroup2 group's cgroup.events fires when its last
// process exits, with the group then unpopulated.
func TestWatcherTellsEmptied(t *testing.T) {
	l := scratch(t)
	g := &Group{L: l, Rel: "w.service"}
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	file := g.EventsFile()
	if file == "" {
		t.Skip("no cgroup2 tracking hierarchy")
	}
	cmd := exec.Command("/bin/sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if err := g.Attach(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	w, err := NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fired := make(chan bool, 16)
	if err := w.Watch(file, func() { fired <- g.Populated() }); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	select {
	case populated := <-fired:
		for populated {
			populated = <-fired
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no event after the group emptied")
	}
	w.Unwatch(file)
	w.Unwatch(file) // twice: nothing
}

// TestWatchOOMUnifiedScratch: on a unified layout (a scratch cgroupfs: inotify sees a write
// to a plain file as the kernel's modification of memory.events) the OOM watch fires at each
// change of the group's memory.events, and not after stop.
func TestWatchOOMUnifiedScratch(t *testing.T) {
	v2 := []string{"cgroup.procs=", "cgroup.events=populated 0\n"}
	root := fakeFS(t, map[string][]string{
		"":                           append(v2, "cgroup.controllers=cpu io memory pids", "cgroup.subtree_control="),
		"ctr":                        append(v2, "cgroup.subtree_control=", "cgroup.controllers=memory pids"),
		"ctr/system.slice/x.service": append(v2, "memory.events=low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"),
	})
	l := DetectAt(root, selfFile(t, "0::/ctr\n"))
	if l.Kind != Unified {
		t.Fatalf("kind %v (%s)", l.Kind, l.Why)
	}
	g := &Group{L: l, Rel: "system.slice/x.service"}
	w, err := NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fired := make(chan struct{}, 4)
	stop, err := w.WatchOOM(g, func() { fired <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "ctr/system.slice/x.service/memory.events")
	os.WriteFile(file, []byte("low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n"), 0o644)
	select {
	case <-fired:
	case <-time.After(30 * time.Second):
		t.Fatal("no call after memory.events changed")
	}
	if st := g.Stats(); !st.HasOOM || st.OOMKills != 1 {
		t.Errorf("stats %+v", st)
	}
	// A watch of another file is the barrier: the watcher calls in the order of the events,
	// so once it fired, every call for the events before it was made.
	other := filepath.Join(root, "ctr/cgroup.events")
	seen := make(chan struct{}, 4)
	if err := w.Watch(other, func() { seen <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	barrier := func() {
		os.WriteFile(other, []byte("populated 1\n"), 0o644)
		<-seen
		for len(seen) > 0 {
			<-seen
		}
	}
	barrier()
	for len(fired) > 0 {
		<-fired
	}
	stop()
	os.WriteFile(file, []byte("oom_kill 2\n"), 0o644)
	barrier()
	select {
	case <-fired:
		t.Fatal("called after stop")
	default:
	}
}
