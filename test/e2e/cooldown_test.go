package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTriggerLimitCooldown: X-Flint-TriggerLimitCooldownSec= (docs/compatibility.md). Sockets
// flooded past TriggerLimitBurst= fail with trigger-limit-hit as in systemd; with the
// setting, the socket listens again after the cooldown, with a fresh trigger limit window,
// and activates its service; without it the socket stays failed. A stop, reset-failed or a
// daemon-reload that removes the setting cancel the re-arm; an Accept=no socket whose
// service still runs when the cooldown ends re-arms once the service has stopped.
func TestTriggerLimitCooldown(t *testing.T) {
	dir := t.TempDir()
	sk := func(name string) string { return filepath.Join(dir, name+".sk") }
	logOf := func(name string) string { return filepath.Join(dir, name+".log") }
	const cool = "X-Flint-TriggerLimitCooldownSec=3s\n"
	accept := func(name, extra string) string {
		return unitFile("Socket", "ListenStream="+sk(name)+"\nAccept=yes\nTriggerLimitBurst=2\nTriggerLimitIntervalSec=1h\n"+extra)
	}
	instance := func(name string) string {
		return unitFile("Service", "StandardInput=socket\nExecStart=/bin/sh -c 'echo conn >>"+logOf(name)+"'")
	}
	hold := filepath.Join(dir, "hold")
	files := map[string]string{
		"cool.socket":    accept("cool", cool+"ExecStopPost=/bin/sh -c 'echo stop-post >>"+logOf("cool-stops")+"'"),
		"plain.socket":   accept("plain", ""),
		"stopped.socket": accept("stopped", cool),
		"reset.socket":   accept("reset", cool),
		"dropped.socket": accept("dropped", cool),
		// Accept=no: the service exits without taking the connection, so the socket triggers
		// it again and again; with the hold file it runs (and holds the sockets) instead.
		"busy.socket":  unitFile("Socket", "ListenStream="+sk("busy")+"\nTriggerLimitBurst=2\nTriggerLimitIntervalSec=1h\nX-Flint-TriggerLimitCooldownSec=1s"),
		"busy.service": unitFile("Unit", "StartLimitBurst=100", "Service", "ExecStart=/bin/sh -c 'test -e "+hold+" && exec /bin/sleep 60; echo x >>"+logOf("busy")+"'"),
	}
	for _, n := range []string{"cool", "plain", "stopped", "reset", "dropped"} {
		files[n+"@.service"] = instance(n)
	}
	units := writeUnits(t, files)
	m := startManager(t, units)
	c := on(t, m)
	connect := func(name string) {
		t.Helper()
		conn, err := net.Dial("unix", sk(name))
		if err != nil {
			t.Fatalf("connect to %s: %v", name, err)
		}
		conn.Close()
	}
	// flood makes TriggerLimitBurst=2 connections and one more, which the socket refuses: it
	// fails with trigger-limit-hit.
	flood := func(name string) {
		t.Helper()
		c.waitState(name+".socket", "active/listening")
		for i := 0; i < 3; i++ {
			connect(name)
		}
		c.waitProps(name+".socket", map[string]string{"ActiveState": "failed", "Result": "trigger-limit-hit"})
	}
	lines := func(name string) int {
		data, _ := os.ReadFile(logOf(name))
		return strings.Count(string(data), "\n")
	}
	for _, n := range []string{"cool", "plain", "stopped", "reset", "dropped"} {
		c.start(n + ".socket")
	}
	// The others first: their re-arms, had they one, would be due before cool's.
	for _, n := range []string{"plain", "stopped", "reset", "dropped", "cool"} {
		flood(n)
	}
	if got := c.prop("cool.socket", "FlintTriggerLimitCooldownUSec"); got != "3s" {
		t.Errorf("cool.socket FlintTriggerLimitCooldownUSec=%q, want 3s", got)
	}
	if got := c.prop("plain.socket", "FlintTriggerLimitRearmTimestamp"); got != "" {
		t.Errorf("plain.socket (no cooldown) has a re-arm due: %q", got)
	}
	if got := c.prop("cool.socket", "FlintTriggerLimitRearmTimestamp"); got == "" {
		t.Errorf("cool.socket: no FlintTriggerLimitRearmTimestamp while it cools down")
	}
	if st, _ := c.flint("status", "cool.socket"); !strings.Contains(st, "failed (Result: trigger-limit-hit, re-arming in ") {
		t.Errorf("flint status cool.socket does not say when it re-arms:\n%s", st)
	}
	c.run(0, "stop", "stopped.socket")
	c.run(0, "reset-failed", "reset.socket")
	if err := os.WriteFile(filepath.Join(units, "dropped.socket"), []byte(accept("dropped", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run(0, "daemon-reload")
	if got := c.prop("cool.socket", "FlintTriggerLimitRearmTimestamp"); got == "" {
		t.Errorf("cool.socket: the re-arm is gone after daemon-reload")
	}
	for _, n := range []string{"stopped", "reset", "dropped"} {
		if got := c.prop(n+".socket", "FlintTriggerLimitRearmTimestamp"); got != "" {
			t.Errorf("%s.socket: a re-arm is still due (%s)", n, got)
		}
	}

	// The event: cool.socket listens again and a connection starts its service.
	c.waitState("cool.socket", "active/listening")
	if got := lines("cool-stops"); got != 1 {
		t.Errorf("cool.socket: ExecStopPost= ran %d times, want 1 (the failure)", got)
	}
	connect("cool")
	if !waitFor(15*time.Second, func() bool { return lines("cool") == 3 }) {
		t.Fatalf("cool.socket re-armed, but the connection did not start cool@.service (%d lines)", lines("cool"))
	}
	// By now the others' re-arms would have been due: each stays as it was left.
	for n, want := range map[string]map[string]string{
		"plain":   {"ActiveState": "failed", "Result": "trigger-limit-hit", "FlintTriggerLimitRearmTimestamp": ""},
		"stopped": {"ActiveState": "failed", "Result": "trigger-limit-hit", "FlintTriggerLimitRearmTimestamp": ""},
		"reset":   {"ActiveState": "inactive", "SubState": "dead", "FlintTriggerLimitRearmTimestamp": ""},
		"dropped": {"ActiveState": "failed", "Result": "trigger-limit-hit", "FlintTriggerLimitRearmTimestamp": ""},
	} {
		var names []string
		for k := range want {
			names = append(names, k)
		}
		got := c.props(n+".socket", names...)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s.socket after cool.socket re-armed: %s=%q, want %q", n, k, got[k], v)
			}
		}
	}
	// A fresh window: TriggerLimitBurst=2 connections pass (the one above and this one), the
	// next fails the socket again, which cools down again.
	connect("cool")
	if !waitFor(15*time.Second, func() bool { return lines("cool") == 4 }) {
		t.Fatalf("the second connection after the re-arm was not served (%d lines)", lines("cool"))
	}
	c.waitState("cool.socket", "active/listening")
	connect("cool")
	c.waitProps("cool.socket", map[string]string{"ActiveState": "failed", "Result": "trigger-limit-hit"})
	if got := c.prop("cool.socket", "FlintTriggerLimitRearmTimestamp"); got == "" {
		t.Errorf("cool.socket failed again but does not cool down again")
	}

	// Accept=no: the cooldown ends while the service runs; the socket waits for its stop.
	c.start("busy.socket")
	connect("busy")
	c.waitProps("busy.socket", map[string]string{"ActiveState": "failed", "Result": "trigger-limit-hit"})
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c.start("busy.service")
	if !waitFor(15*time.Second, func() bool {
		st, _ := c.flint("status", "busy.socket")
		return strings.Contains(st, "Cooldown over; re-arming once busy.service has stopped.")
	}) {
		st, _ := c.flint("status", "busy.socket")
		t.Fatalf("busy.socket does not wait for busy.service:\n%s", st)
	}
	if st, _ := c.flint("status", "busy.socket"); !strings.Contains(st, "failed (Result: trigger-limit-hit, re-arming when busy.service has stopped)") {
		t.Errorf("flint status busy.socket:\n%s", st)
	}
	if p := c.props("busy.socket", "ActiveState"); p["ActiveState"] != "failed" {
		t.Errorf("busy.socket re-armed while busy.service runs: %v", p)
	}
	c.run(0, "stop", "busy.service")
	c.waitState("busy.socket", "active/listening")
	connect("busy")
	c.waitState("busy.service", "active/running")
	c.waitState("busy.socket", "active/running")
}
