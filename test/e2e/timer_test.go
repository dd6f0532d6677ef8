package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fileLines returns the non-empty lines of path (none if it does not exist).
func fileLines(path string) []string {
	data, _ := os.ReadFile(path)
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// TestTimerRepeats: an enabled timer starts with the manager (timers.target), starts its
// service at OnActiveSec= and again OnUnitActiveSec= after each start, never earlier; the
// service learns from TRIGGER_UNIT= and TRIGGER_TIMER_*_USEC= which timer started it and when;
// status, show and list-timers tell the timer's state; once stopped it starts nothing more.
func TestTimerRepeats(t *testing.T) {
	dir := t.TempDir()
	log, tock := filepath.Join(dir, "log"), filepath.Join(dir, "tock")
	units := writeUnits(t, map[string]string{
		"tick.timer": unitFile("Unit", "Description=tick timer",
			"Timer", "OnActiveSec=200ms\nOnUnitActiveSec=300ms\nAccuracySec=1ms",
			"Install", "WantedBy=timers.target"),
		"tick.service": unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo \"$$TRIGGER_UNIT $$TRIGGER_TIMER_REALTIME_USEC $$TRIGGER_TIMER_MONOTONIC_USEC\" >>"+log+"'"),
		// tock.timer, started when tick.timer stops, elapses once after more than two of
		// tick's periods: until it has, tick.timer would have fired had it stayed armed.
		"tock.timer": unitFile("Unit", "Description=tock timer",
			"Timer", "OnActiveSec=700ms\nAccuracySec=1ms\nRemainAfterElapse=no"),
		"tock.service": unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo tock >>"+tock+"'"),
	})
	if out, code := runFlint(t, "--units", units, "enable", "tick.timer"); code != 0 {
		t.Fatalf("flint enable tick.timer: exit %d: %s", code, out)
	}
	m := startManager(t, units)
	c := on(t, m)
	if !waitFor(15*time.Second, func() bool { return len(fileLines(log)) >= 3 }) {
		st, _ := c.flint("status", "tick.timer", "tick.service")
		t.Fatalf("the service ran %d times, want 3:\n%s", len(fileLines(log)), st)
	}
	var prevReal, prevMono int64
	for i, l := range fileLines(log)[:3] {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "tick.timer" {
			t.Fatalf("line %d of the service's environment log: %q, want \"tick.timer REALTIME MONOTONIC\"", i+1, l)
		}
		real, err1 := strconv.ParseInt(f[1], 10, 64)
		mono, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || mono <= 0 {
			t.Fatalf("line %d: %q: bad TRIGGER_TIMER_*_USEC", i+1, l)
		}
		if d := time.Since(time.UnixMicro(real)); d < 0 || d > time.Minute {
			t.Errorf("line %d: TRIGGER_TIMER_REALTIME_USEC is %v from now", i+1, d)
		}
		// OnUnitActiveSec=300ms counts from the service's last activation, which follows the
		// trigger: the next trigger is never sooner than 300 ms after the last.
		if i > 0 && (mono-prevMono < 300000 || real <= prevReal) {
			t.Errorf("triggers %d and %d are %d µs apart (monotonic), want at least 300000", i, i+1, mono-prevMono)
		}
		prevReal, prevMono = real, mono
	}

	st, _ := c.flint("status", "tick.timer")
	for _, want := range []string{"● tick.timer - tick timer", "Loaded: loaded (" + units + "/tick.timer; enabled", "    Trigger: ", "   Triggers: "} {
		if !strings.Contains(st, want) {
			t.Errorf("flint status tick.timer lacks %q:\n%s", want, st)
		}
	}
	if !strings.Contains(st, "Active: active (waiting)") && !strings.Contains(st, "Active: active (running)") {
		t.Errorf("flint status tick.timer: not waiting or running:\n%s", st)
	}
	if st, _ := c.flint("status", "tick.service"); !strings.Contains(st, "TriggeredBy: ● tick.timer") {
		t.Errorf("flint status tick.service lacks TriggeredBy: ● tick.timer:\n%s", st)
	}
	p := c.props("tick.timer", "Unit", "TimersMonotonic", "LastTriggerUSec", "Result", "AccuracyUSec")
	if p["Unit"] != "tick.service" || p["Result"] != "success" || p["AccuracyUSec"] != "1ms" || p["LastTriggerUSec"] == "" {
		t.Errorf("flint show tick.timer: %v", p)
	}
	out, _ := c.flint("show", "tick.timer", "-p", "TimersMonotonic")
	if !strings.Contains(out, "TimersMonotonic={ OnUnitActiveUSec=300ms ; next_elapse=") ||
		!strings.Contains(out, "TimersMonotonic={ OnActiveUSec=200ms ; next_elapse=") {
		t.Errorf("flint show -p TimersMonotonic:\n%s", out)
	}
	lt := c.run(0, "list-timers")
	if !strings.Contains(lt, "NEXT") || !strings.Contains(lt, "ACTIVATES") || !strings.Contains(lt, "tick.timer") ||
		!strings.Contains(lt, "tick.service") || !strings.Contains(lt, "1 timers listed.") {
		t.Errorf("flint list-timers:\n%s", lt)
	}

	c.run(0, "stop", "tick.timer")
	c.waitState("tick.timer", "inactive/dead")
	c.waitState("tick.service", "inactive")
	n := len(fileLines(log))
	c.start("tock.timer")
	if !waitFor(15*time.Second, func() bool { return len(fileLines(tock)) > 0 }) {
		t.Fatal("tock.timer did not start tock.service")
	}
	c.waitState("tock.timer", "inactive/dead")
	c.waitJobsDone() // a start of tick.service queued before tock's elapse has ended
	if got := len(fileLines(log)); got != n {
		t.Errorf("the stopped timer started its service %d more times", got-n)
	}
	if lt := c.run(0, "list-timers"); !strings.Contains(lt, "0 timers listed.") {
		t.Errorf("flint list-timers after the stop:\n%s", lt)
	}
	if lt := c.run(0, "list-timers", "--all"); !strings.Contains(lt, "tick.timer") {
		t.Errorf("flint list-timers --all after the stop:\n%s", lt)
	}
}

// TestTimerPersistent: Persistent=yes keeps the last trigger in a stamp file (under
// $FLINT_STATE_DIR/timers); a calendar event missed while the timer was not running (the stamp
// is older than it) starts the service as soon as the timer starts, and only then. Without
// Persistent= the missed event is forgotten.
func TestTimerPersistent(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	ran := filepath.Join(dir, "ran")
	units := writeUnits(t, map[string]string{
		"p.timer":    unitFile("Timer", "OnCalendar=2020-01-01 00:00:00\nPersistent=yes"),
		"p.service":  unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo %n >>"+ran+"'"),
		"n.timer":    unitFile("Timer", "OnCalendar=2020-01-01 00:00:00\nUnit=p2.service"),
		"p2.service": unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo %n >>"+ran+"'"),
	})
	m := launchManager(t, units, launchOptions{stopWait: 10 * time.Second, env: append(os.Environ(), "FLINT_STATE_DIR="+state)})
	c := on(t, m)
	stamp := filepath.Join(state, "timers", "stamp-p.timer")

	// Never run: the event is long past and nothing was missed; the stamp now exists.
	c.start("p.timer")
	c.start("n.timer")
	c.waitState("p.timer", "active/elapsed")
	c.waitState("n.timer", "active/elapsed")
	st, err := os.Stat(stamp)
	if err != nil {
		t.Fatalf("no stamp file after the first start: %v", err)
	}
	if d := time.Since(st.ModTime()); d < 0 || d > time.Minute {
		t.Errorf("the new stamp's time is %v from now", d)
	}
	if got := fileLines(ran); len(got) != 0 {
		t.Fatalf("services ran without a missed event: %q", got)
	}

	// The stamp says the timer last ran before the event: it is missed, so it runs now.
	c.run(0, "stop", "p.timer", "n.timer")
	old := time.Date(2019, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(stamp, old, old); err != nil {
		t.Fatal(err)
	}
	c.start("p.timer")
	c.start("n.timer")
	if !waitFor(15*time.Second, func() bool { return len(fileLines(ran)) >= 1 }) {
		s, _ := c.flint("status", "p.timer", "p.service")
		t.Fatalf("the missed event did not start p.service:\n%s", s)
	}
	c.waitState("p.service", "inactive/dead")
	c.waitState("p.timer", "active/elapsed")
	if got := fileLines(ran); len(got) != 1 || got[0] != "p.service" {
		t.Errorf("services run: %q, want [p.service] (n.timer has no Persistent=)", got)
	}
	st, err = os.Stat(stamp)
	if err != nil || time.Since(st.ModTime()) > time.Minute {
		t.Errorf("the stamp was not moved to the trigger: %v %v", st.ModTime(), err)
	}
	if v := c.prop("p.timer", "LastTriggerUSec"); v == "" {
		t.Error("LastTriggerUSec is empty after the trigger")
	}
}

// TestTimerBadUnits: a timer without any value does not load (the error names the reason) and
// cannot start; a timer whose unit is missing cannot start; neither disturbs a good timer.
func TestTimerBadUnits(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"novalue.timer": unitFile("Timer", "Persistent=yes\nOnActiveSec=bogus"),
		"orphan.timer":  unitFile("Timer", "OnActiveSec=1h\nUnit=missing.service"),
		"good.timer":    unitFile("Timer", "OnActiveSec=1h"),
		"good.service":  unitFile("Service", "ExecStart=/bin/sleep 30"),
	})
	if out, code := runFlint(t, "--units", units, "analyze", "verify", filepath.Join(units, "novalue.timer")); code == 0 ||
		!strings.Contains(out, "novalue.timer:3: Failed to parse timer value, ignoring: bogus") ||
		!strings.Contains(out, "Timer unit lacks value setting. Refusing.") {
		t.Errorf("flint analyze verify novalue.timer: exit %d:\n%s", code, out)
	}
	m := startManager(t, units)
	c := on(t, m)
	c.start("good.timer")
	if out, code := c.flint("start", "novalue.timer"); code == 0 {
		t.Errorf("flint start novalue.timer: exit 0: %s", out)
	}
	if p := c.props("novalue.timer", "LoadState", "ActiveState"); p["LoadState"] != "bad-setting" || p["ActiveState"] != "inactive" {
		t.Errorf("novalue.timer: %v", p)
	}
	if out, code := c.flint("start", "orphan.timer"); code == 0 {
		t.Errorf("flint start orphan.timer: exit 0: %s", out)
	}
	if st, _ := c.flint("status", "orphan.timer"); !strings.Contains(st, "Refusing to start, unit missing.service to trigger not loaded.") {
		t.Errorf("flint status orphan.timer does not say why it did not start:\n%s", st)
	}
	c.waitState("orphan.timer", "inactive/dead")
	c.waitState("good.timer", "active/waiting")
}

// TestTimerReload: daemon-reload gives a waiting timer its new values at once (its next
// elapse is computed anew), as systemd's coldplug after a reload.
func TestTimerReload(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"r.timer":   unitFile("Timer", "OnActiveSec=2h"),
		"r.service": unitFile("Service", "Type=oneshot\nExecStart=/bin/true"),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("r.timer")
	before, _ := c.flint("status", "r.timer")
	if !strings.Contains(before, "; 1h 59min left") {
		t.Fatalf("flint status r.timer before the reload:\n%s", before)
	}
	if err := os.WriteFile(filepath.Join(units, "r.timer"), []byte(unitFile("Timer", "OnActiveSec=3h")), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run(0, "daemon-reload")
	after, _ := c.flint("status", "r.timer")
	if !strings.Contains(after, "; 2h 59min left") || !strings.Contains(after, "Active: active (waiting)") {
		t.Errorf("flint status r.timer after the reload (OnActiveSec=3h from the timer's start):\n%s", after)
	}
	if out, _ := c.flint("show", "r.timer", "-p", "TimersMonotonic", "--value"); !strings.HasPrefix(out, "{ OnActiveUSec=3h ; next_elapse=") {
		t.Errorf("TimersMonotonic after the reload: %s", out)
	}
}

// touchLocaltime replaces /etc/localtime by an identical copy (the same symlink, or a file
// of the same content), renamed over it: for the kernel and for systemd's check of its
// modification time a time zone change, for everyone else no change.
func touchLocaltime(t *testing.T) {
	t.Helper()
	const lt = "/etc/localtime"
	tmp := lt + ".flint-test"
	os.Remove(tmp)
	if target, err := os.Readlink(lt); err == nil {
		if err := os.Symlink(target, tmp); err != nil {
			t.Skipf("cannot replace %s: %v", lt, err)
		}
	} else {
		data, err := os.ReadFile(lt)
		if err != nil {
			t.Skipf("no %s: %v", lt, err)
		}
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			t.Skipf("cannot replace %s: %v", lt, err)
		}
	}
	if err := os.Rename(tmp, lt); err != nil {
		os.Remove(tmp)
		t.Skipf("cannot replace %s: %v", lt, err)
	}
}

// setClock sets the system clock to the time it shows: still a change for the kernel
// (TFD_TIMER_CANCEL_ON_SET), none for anyone else.
func setClock(t *testing.T) {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &ts); err != nil {
		t.Fatal(err)
	}
	if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
		t.Skipf("cannot set the clock: %v", err)
	}
}

// TestTimerClockAndZoneChanges: OnClockChange=yes starts the unit when the system clock is
// set, OnTimezoneChange=yes when /etc/localtime changes (both done here without changing
// the time or the zone); a timer without the option computes its next elapse anew and starts
// nothing. A second change is seen as well (the watches follow).
func TestTimerClockAndZoneChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("setting the clock and replacing /etc/localtime need root")
	}
	for _, tc := range []struct {
		name, option string
		change       func(t *testing.T)
	}{
		{"clock", "OnClockChange=yes", setClock},
		{"zone", "OnTimezoneChange=yes", touchLocaltime},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ran := filepath.Join(dir, "ran")
			units := writeUnits(t, map[string]string{
				"on.timer":      unitFile("Timer", tc.option+"\nOnCalendar=2199-01-01"),
				"on.service":    unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo %n >>"+ran+"'"),
				"calm.timer":    unitFile("Timer", "OnCalendar=2199-01-01\nUnit=calm2.service"),
				"calm2.service": unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo %n >>"+ran+"'"),
			})
			m := startManager(t, units)
			c := on(t, m)
			c.start("on.timer")
			c.start("calm.timer")
			c.waitState("on.timer", "active/waiting")
			next := c.prop("calm.timer", "NextElapseUSecRealtime")
			if !strings.HasPrefix(next, "Tue 2199-01-01 ") {
				t.Errorf("calm.timer's NextElapseUSecRealtime=%q, want Tue 2199-01-01 ...", next)
			}
			for n := 1; n <= 2; n++ {
				tc.change(t)
				if !waitFor(15*time.Second, func() bool { return len(fileLines(ran)) >= n }) {
					s, _ := c.flint("status", "on.timer")
					t.Fatalf("change %d did not start on.service:\n%s", n, s)
				}
				c.waitState("on.timer", "active/waiting")
			}
			// A start a change caused was queued when the manager handled the change, which
			// it did (on.service ran): once no job is left, any such start has run.
			c.waitJobsDone()
			if got := fileLines(ran); len(got) != 2 || got[0] != "on.service" || got[1] != "on.service" {
				t.Errorf("services run: %q, want on.service twice", got)
			}
			if v := c.prop("calm.timer", "NextElapseUSecRealtime"); v != next {
				t.Errorf("calm.timer's next elapse moved from %q to %q", next, v)
			}
		})
	}
}
