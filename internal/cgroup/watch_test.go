package cgroup

import (
	"os/exec"
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
