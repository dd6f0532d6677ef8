package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPathUnits: path units start their service when the path appears (PathExists=), a file
// matches (PathExistsGlob=), a directory fills (DirectoryNotEmpty=, MakeDirectory= creates it)
// or a file is written (PathChanged=, PathModified=); the service learns TRIGGER_UNIT= and
// TRIGGER_PATH=; while the service runs the path unit is running and watches nothing, and
// once the service stopped it waits again (or starts it again at once while the condition
// holds); status and show tell its state.
func TestPathUnits(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	watch := filepath.Join(dir, "watch")
	record := "Type=oneshot\nExecStart=/bin/sh -c 'echo \"%n $$TRIGGER_UNIT $$TRIGGER_PATH\" >>" + log + "'"
	units := writeUnits(t, map[string]string{
		"exists.path":     unitFile("Unit", "Description=exists watcher", "Path", "PathExists="+watch+"/a/flag"),
		"exists.service":  unitFile("Service", record+"\nExecStart=/bin/rm -f "+watch+"/a/flag"),
		"glob.path":       unitFile("Path", "PathExistsGlob="+watch+"/*.job\nUnit=globjob.service"),
		"globjob.service": unitFile("Service", record+"\nExecStart=/bin/sh -c 'rm -f "+watch+"/*.job'"),
		"queue.path":      unitFile("Path", "DirectoryNotEmpty="+watch+"/queue\nMakeDirectory=yes\nDirectoryMode=0700"),
		"queue.service":   unitFile("Service", record+"\nExecStart=/bin/sh -c 'rm -f "+watch+"/queue/*'"),
		"conf.path":       unitFile("Path", "PathChanged="+watch+"/conf"),
		"conf.service":    unitFile("Service", record),
		"mod.path":        unitFile("Path", "PathModified="+watch+"/mod"),
		"mod.service":     unitFile("Service", record),
		// witness.path watches what exists.path watched once exists.path is stopped: when it
		// has seen the change, a stopped exists.path that still watched would have too.
		"witness.path":    unitFile("Path", "PathExists="+watch+"/a/flag"),
		"witness.service": unitFile("Service", record+"\nRemainAfterExit=yes"),
	})
	if err := os.MkdirAll(watch, 0o755); err != nil {
		t.Fatal(err)
	}
	m := startManager(t, units)
	c := on(t, m)
	for _, u := range []string{"exists.path", "glob.path", "queue.path", "conf.path", "mod.path"} {
		c.start(u)
		c.waitState(u, "active/waiting")
	}
	if st, err := os.Stat(filepath.Join(watch, "queue")); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("MakeDirectory=yes DirectoryMode=0700: %v %v", st, err)
	}
	if got := fileLines(log); len(got) != 0 {
		t.Fatalf("services ran before any change: %q", got)
	}
	seen := 0
	expect := func(line string) {
		t.Helper()
		if !waitFor(15*time.Second, func() bool { return len(fileLines(log)) > seen }) {
			t.Fatalf("no service ran, want %q; log %q", line, fileLines(log))
		}
		if got := fileLines(log)[seen]; got != line {
			t.Errorf("service log line %d: %q, want %q", seen+1, got, line)
		}
		seen++
	}
	write := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// PathExists= of a path whose directory does not exist yet: the watches follow it down.
	write(filepath.Join(watch, "a", "flag"), "x")
	expect("exists.service exists.path " + filepath.Join(watch, "a", "flag"))
	c.waitState("exists.service", "inactive/dead")
	c.waitState("exists.path", "active/waiting")

	write(filepath.Join(watch, "x.job"), "x")
	expect("globjob.service glob.path " + filepath.Join(watch, "x.job"))

	write(filepath.Join(watch, "queue", "item"), "x")
	expect("queue.service queue.path " + filepath.Join(watch, "queue"))

	write(filepath.Join(watch, "conf"), "1")
	expect("conf.service conf.path " + filepath.Join(watch, "conf"))
	c.waitState("conf.path", "active/waiting")
	write(filepath.Join(watch, "conf"), "2") // closed after writing: PathChanged=
	expect("conf.service conf.path " + filepath.Join(watch, "conf"))

	// PathModified= sees a write before the close.
	c.waitState("mod.path", "active/waiting")
	f, err := os.Create(filepath.Join(watch, "mod"))
	if err != nil {
		t.Fatal(err)
	}
	expect("mod.service mod.path " + filepath.Join(watch, "mod"))
	c.waitState("mod.path", "active/waiting")
	f.Write([]byte("more"))
	expect("mod.service mod.path " + filepath.Join(watch, "mod"))
	// Waiting again, it watches anew: the close (IN_CLOSE_WRITE) triggers once more.
	c.waitState("mod.path", "active/waiting")
	f.Close()
	expect("mod.service mod.path " + filepath.Join(watch, "mod"))
	c.waitState("mod.path", "active/waiting")

	st, _ := c.flint("status", "exists.path")
	for _, want := range []string{"● exists.path - exists watcher", "Active: active (waiting)", "Triggers: ● exists.service"} {
		if !strings.Contains(st, want) {
			t.Errorf("flint status exists.path lacks %q:\n%s", want, st)
		}
	}
	if st, _ := c.flint("status", "exists.service"); !strings.Contains(st, "TriggeredBy: ● exists.path") {
		t.Errorf("flint status exists.service lacks TriggeredBy: ● exists.path:\n%s", st)
	}
	out, _ := c.flint("show", "queue.path", "-p", "Paths,MakeDirectory,DirectoryMode,Unit,Result")
	for _, want := range []string{"Paths=" + filepath.Join(watch, "queue") + " (DirectoryNotEmpty)", "MakeDirectory=yes", "DirectoryMode=0700", "Unit=queue.service", "Result=success"} {
		if !strings.Contains(out, want) {
			t.Errorf("flint show queue.path lacks %q:\n%s", want, out)
		}
	}

	// Stopped, it watches nothing.
	c.run(0, "stop", "exists.path")
	c.waitState("exists.path", "inactive/dead")
	c.start("witness.path")
	c.waitState("witness.path", "active/waiting")
	write(filepath.Join(watch, "a", "flag"), "x")
	expect("witness.service witness.path " + filepath.Join(watch, "a", "flag")) // not exists.service first
	c.waitJobsDone()
	if got := fileLines(log); len(got) != seen {
		t.Errorf("a stopped path unit started its service: %q", got[seen:])
	}
	c.run(0, "stop", "witness.path")
	// Started while the path exists, it starts the service at once.
	c.start("exists.path")
	expect("exists.service exists.path " + filepath.Join(watch, "a", "flag"))
}

// TestPathUnitLimits: a path unit whose condition stays true after its service ran (the
// service does not remove the file) starts it again and again, until the trigger limit
// (TriggerLimitBurst= within TriggerLimitIntervalSec=) fails the path unit.
func TestPathUnitLimits(t *testing.T) {
	dir := t.TempDir()
	flag := filepath.Join(dir, "flag")
	count := filepath.Join(dir, "count")
	coolCount := filepath.Join(dir, "cool-count")
	units := writeUnits(t, map[string]string{
		"loop.path":    unitFile("Path", "PathExists="+flag+"\nTriggerLimitBurst=3\nTriggerLimitIntervalSec=1h"),
		"loop.service": unitFile("Unit", "StartLimitBurst=100", "Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo x >>"+count+"'"),
		"none.path":    unitFile("Path", "MakeDirectory=yes"),
		// The same with a cooldown: it comes back after 1s, runs its service 3 more times
		// and fails again.
		"cool.path":    unitFile("Path", "PathExists="+flag+"\nTriggerLimitBurst=3\nTriggerLimitIntervalSec=1h\nX-Flint-TriggerLimitCooldownSec=1s\nUnit=cool.service"),
		"cool.service": unitFile("Unit", "StartLimitBurst=100", "Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo x >>"+coolCount+"'"),
	})
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	m := startManager(t, units)
	c := on(t, m)
	if out, code := c.flint("start", "loop.path"); code != 0 {
		t.Fatalf("flint start loop.path: %d %s", code, out)
	}
	c.waitProps("loop.path", map[string]string{"ActiveState": "failed", "Result": "trigger-limit-hit"})
	if got := fileLines(count); len(got) != 3 {
		t.Errorf("loop.service ran %d times, want 3 (TriggerLimitBurst=3)", len(got))
	}
	if st, _ := c.flint("status", "loop.path"); !strings.Contains(st, "Trigger limit hit, refusing further activation.") {
		t.Errorf("flint status loop.path does not say why it failed:\n%s", st)
	}
	// X-Flint-TriggerLimitCooldownSec=: failed, then started again after the cooldown with a
	// fresh trigger limit window (the event waited for); loop.path, without it, stays failed.
	c.start("cool.path")
	if !waitFor(15*time.Second, func() bool { return len(fileLines(coolCount)) >= 6 }) {
		st, _ := c.flint("status", "cool.path")
		t.Fatalf("cool.path did not come back after its cooldown (%d runs):\n%s", len(fileLines(coolCount)), st)
	}
	// The message comes before the unit leaves the failed state again, so status (which shows
	// the lines since then, as systemctl's) does not have it; the unit's log does.
	if lg, _ := c.flint("logs", "-u", "cool.path"); !strings.Contains(lg, "Trigger limit cooldown of 1s over, re-arming.") {
		t.Errorf("flint logs -u cool.path does not say it re-armed:\n%s", lg)
	}
	if p := c.props("loop.path", "ActiveState", "Result"); p["ActiveState"] != "failed" || len(fileLines(count)) != 3 {
		t.Errorf("loop.path (no cooldown) came back: %v, %d runs", p, len(fileLines(count)))
	}
	c.run(0, "stop", "cool.path")
	if p := c.props("none.path", "LoadState"); p["LoadState"] != "bad-setting" {
		t.Errorf("a path unit without a path: %v", p)
	}
	if st, _ := c.flint("status", "none.path"); !strings.Contains(st, "bad-setting") {
		t.Errorf("flint status none.path:\n%s", st)
	}
}
