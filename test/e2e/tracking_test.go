package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOrphanRace is issue 16's race: b.service's daemon loses its intermediate parent (which
// had left b's session) at the very moment a.service's main process exits, so that flint
// reaps a's main process with b's daemon just reparented to it. Both exits are released by
// one write to a FIFO both processes read. a's stop (its main process is gone) must never
// kill b's daemon, and b's stop must. Many trials, each a fresh pair of starts.
func TestOrphanRace(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "go")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Held open for reading and writing: readers never block in open(2), and what is written
	// waits in the FIFO until both have read their line.
	release, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release.Close()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// a's main process waits for its line, then exits.
	aStart := script("a.sh", `echo $$ >"$1/a.pid"; read x <"$1/go"`+"\n")
	// b's main process starts an intermediate that leaves the session (setsid), starts the
	// daemon (sleep), writes its pid, waits for its line and exits; b's main process runs on.
	bStart := script("b.sh", `setsid /bin/sh -c 'sleep 1000 & echo $! >"$1/d.pid"; read x <"$1/go"' sh "$1" &`+"\nexec sleep 1000\n")
	// The units are written for each trial (its own directory), then daemon-reload.
	units := writeUnits(t, map[string]string{})
	m := startManager(t, units)
	c := on(t, m)
	const trials = 20
	for i := 0; i < trials; i++ {
		trial := filepath.Join(dir, fmt.Sprintf("t%d", i))
		if err := os.Mkdir(trial, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(fifo, filepath.Join(trial, "go")); err != nil {
			t.Fatal(err)
		}
		for _, u := range []struct{ name, script string }{{"a", aStart}, {"b", bStart}} {
			body := unitFile("Service", "ExecStart="+u.script+" "+trial)
			if err := os.WriteFile(filepath.Join(units, u.name+".service"), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c.run(0, "daemon-reload")
		c.start("a.service")
		c.start("b.service")
		daemon := pidFromFile(t, filepath.Join(trial, "d.pid"))
		pidFromFile(t, filepath.Join(trial, "a.pid"))
		killAtEnd(t, daemon)
		if _, err := release.WriteString("go\ngo\n"); err != nil {
			t.Fatal(err)
		}
		c.waitState("a.service", "inactive/dead")
		if !alive(daemon) {
			t.Fatalf("trial %d: a's stop killed b's daemon %d", i, daemon)
		}
		// b's intermediate has exited: the daemon is flint's child now.
		if !waitFor(10*time.Second, func() bool { return parentPID(daemon) == m.cmd.Process.Pid }) {
			t.Fatalf("trial %d: daemon %d never reparented to flint (parent %d)", i, daemon, parentPID(daemon))
		}
		c.run(0, "stop", "b.service")
		c.waitState("b.service", "inactive/dead")
		if alive(daemon) {
			t.Fatalf("trial %d: b's stop left its daemon %d running", i, daemon)
		}
	}
	if out := m.out.String(); strings.Contains(out, "leaving it alone") {
		t.Errorf("flint left a process alone:\n%s", out)
	}
}

// TestMainPIDOfAnotherUnit is issue 16's MAINPID= case: a root service names another unit's
// main process as its own. Its stop kills that process, and the other unit, which still has it
// as its main process, sees it exit and goes down as systemd 252's does (inactive, MainPID=0;
// internal/difftest's mainpid-other-unit compares it with systemd), instead of staying active
// with a dead main process (whose stop then waited TimeoutStopSec= in stop-sigterm).
func TestMainPIDOfAnotherUnit(t *testing.T) {
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"victim.service": unitFile("Service", "TimeoutStopSec=60\nExecStart=/bin/sh -c 'echo $$$$ >"+dir+"/victim.pid; exec sleep 1000'"),
		"thief.service": unitFile("Service", "Type=notify\nNotifyAccess=all\nExecStart=/bin/sh -c '/bin/systemd-notify --ready MAINPID=$$(cat "+
			dir+"/victim.pid); exec sleep 1000'"),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("victim.service")
	victim := pidFromFile(t, filepath.Join(dir, "victim.pid"))
	killAtEnd(t, victim)
	c.start("thief.service")
	c.waitProps("thief.service", map[string]string{"ActiveState": "active", "MainPID": fmt.Sprint(victim)})
	c.waitProps("victim.service", map[string]string{"ActiveState": "active", "MainPID": fmt.Sprint(victim)})
	c.run(0, "stop", "thief.service")
	c.waitProps("thief.service", map[string]string{"ActiveState": "inactive", "MainPID": "0", "Result": "success"})
	c.waitProps("victim.service", map[string]string{"ActiveState": "inactive", "SubState": "dead", "MainPID": "0", "Result": "success"})
	if alive(victim) {
		t.Errorf("the victim's process %d outlived the stop of the unit that took it", victim)
	}
}
